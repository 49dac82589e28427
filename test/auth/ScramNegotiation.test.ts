import { assert, beforeAll, describe, it } from "vitest"
import { AuthMathError } from "../../src/auth/AuthMathError.ts"
import { tlsServerEndPoint } from "../../src/auth/ChannelBinding.ts"
import type { ScramState } from "../../src/auth/Scram.ts"
import {
  type AuthenticationRequestKind,
  type ChannelBindingMode,
  checkAuthenticationOk,
  checkAuthenticationRequest,
  selectScramMechanism
} from "../../src/auth/ScramNegotiation.ts"
import { type CertificateName, hasOpenssl, makeCertificates, type TestCertificate } from "./certificates.ts"

const PLUS = "SCRAM-SHA-256-PLUS"
const PLAIN = "SCRAM-SHA-256"

/** A compact view of the outcome: "MECHANISM/gs2-type" or "error Reason: message". */
const outcome = (u: ReturnType<typeof selectScramMechanism>) =>
  u instanceof AuthMathError ? `error ${u.reason}: ${u.message}` : `${u.mechanism}/${u.channelBinding.type}`

describe("selectScramMechanism without TLS", () => {
  const select = (serverMechanisms: ReadonlyArray<string>, channelBinding: ChannelBindingMode) =>
    outcome(selectScramMechanism({ serverMechanisms, channelBinding, tls: undefined }))

  it("uses SCRAM-SHA-256 with gs2 'n' unless channel binding is required", () => {
    assert.strictEqual(select([PLAIN], "prefer"), "SCRAM-SHA-256/none")
    assert.strictEqual(select([PLAIN], "disable"), "SCRAM-SHA-256/none")
    assert.strictEqual(
      select([PLAIN], "require"),
      "error ChannelBindingRequired: channel binding required, but SSL not in use"
    )
  })

  it("refuses SCRAM-SHA-256-PLUS offered over a connection without TLS, in every mode", () => {
    for (const mode of ["disable", "prefer"] as const) {
      assert.strictEqual(
        select([PLUS, PLAIN], mode),
        "error MechanismUnsupported: server offered SCRAM-SHA-256-PLUS authentication over a non-SSL connection"
      )
    }
  })

  it("refuses a list without a SCRAM mechanism", () => {
    for (const list of [[], ["OAUTHBEARER"], ["scram-sha-256"]]) {
      assert.strictEqual(
        select(list, "prefer"),
        "error MechanismUnsupported: none of the server's SASL authentication mechanisms are supported"
      )
    }
  })
})

describe.skipIf(!hasOpenssl)("selectScramMechanism over TLS", () => {
  let certs: Record<CertificateName, TestCertificate>
  beforeAll(() => {
    certs = makeCertificates()
  })
  const select = (
    serverMechanisms: ReadonlyArray<string>,
    channelBinding: ChannelBindingMode,
    cert: CertificateName = "ecdsa-p384-sha384"
  ) => selectScramMechanism({ serverMechanisms, channelBinding, tls: { serverCertificate: certs[cert].der } })

  it("prefers SCRAM-SHA-256-PLUS whatever the order, with the certificate's tls-server-end-point data", () => {
    for (const list of [
      [PLUS, PLAIN],
      [PLAIN, PLUS]
    ]) {
      for (const mode of ["prefer", "require"] as const) {
        const selection = select(list, mode)
        assert.strictEqual(outcome(selection), "SCRAM-SHA-256-PLUS/tls-server-end-point")
        const binding = (selection as { channelBinding: { data: Uint8Array } }).channelBinding
        assert.deepStrictEqual(binding.data, tlsServerEndPoint(certs["ecdsa-p384-sha384"].der))
      }
    }
  })

  it("uses SCRAM-SHA-256 with 'y' when the server does not offer PLUS, 'n' when disabled", () => {
    assert.strictEqual(outcome(select([PLAIN], "prefer")), "SCRAM-SHA-256/client-supports-server-not")
    assert.strictEqual(outcome(select([PLUS, PLAIN], "disable")), "SCRAM-SHA-256/none")
    assert.strictEqual(outcome(select([PLAIN], "disable")), "SCRAM-SHA-256/none")
  })

  it("refuses require when the server does not offer PLUS, and PLUS-only lists when disabled", () => {
    assert.strictEqual(
      outcome(select([PLAIN], "require")),
      "error ChannelBindingRequired: channel binding is required, but server did not offer an authentication method that supports channel binding"
    )
    assert.strictEqual(
      outcome(select([PLUS], "disable")),
      "error MechanismUnsupported: none of the server's SASL authentication mechanisms are supported"
    )
  })

  it("fails with an Ed25519 certificate unless channel binding is disabled (libpq behaves the same)", () => {
    assert.match(
      outcome(select([PLUS, PLAIN], "prefer", "ed25519")),
      /^error CertificateUnsupported: .*Ed25519/
    )
    assert.strictEqual(outcome(select([PLUS, PLAIN], "disable", "ed25519")), "SCRAM-SHA-256/none")
  })
})

describe("checkAuthenticationRequest", () => {
  const all: ReadonlyArray<AuthenticationRequestKind> = [
    "ok",
    "kerberos-v5",
    "cleartext-password",
    "md5-password",
    "gss",
    "gss-continue",
    "sspi",
    "sasl",
    "sasl-continue",
    "sasl-final"
  ]

  it("with require, answers only the SASL family", () => {
    const allowed = all.filter((kind) => checkAuthenticationRequest(kind, "require") === undefined)
    assert.deepStrictEqual(allowed, ["ok", "sasl", "sasl-continue", "sasl-final"])
    assert.strictEqual(
      checkAuthenticationRequest("md5-password", "require")?.message,
      "channel binding required but not supported by server's authentication request"
    )
  })

  it("with prefer or disable, leaves every request to the caller", () => {
    for (const mode of ["prefer", "disable"] as const) {
      assert.isTrue(all.every((kind) => checkAuthenticationRequest(kind, mode) === undefined))
    }
  })
})

describe("checkAuthenticationOk", () => {
  const firstSent: ScramState = {
    _tag: "ScramClientFirstSent",
    mechanism: PLAIN,
    gs2Header: "n,,",
    channelBindingData: new Uint8Array(0),
    clientNonce: "n",
    clientFirstMessageBare: "n=,r=n"
  }
  const finalSent: ScramState = {
    _tag: "ScramClientFinalSent",
    mechanism: PLAIN,
    expectedServerSignature: new Uint8Array(32)
  }
  const verified: ScramState = { _tag: "ScramVerified", mechanism: PLAIN, channelBound: false }
  const bound: ScramState = { _tag: "ScramVerified", mechanism: PLUS, channelBound: true }
  const reason = (scram: ScramState | undefined, mode: ChannelBindingMode) =>
    checkAuthenticationOk(scram, mode)?.reason ?? "accepted"

  it("refuses AuthenticationOk in the middle of a SCRAM exchange, in every mode", () => {
    for (const mode of ["disable", "prefer", "require"] as const) {
      assert.strictEqual(reason(firstSent, mode), "ExchangeIncomplete")
      assert.strictEqual(reason(finalSent, mode), "ExchangeIncomplete")
    }
  })

  it("accepts a verified exchange, and no exchange at all (trust, MD5) unless binding is required", () => {
    assert.strictEqual(reason(verified, "prefer"), "accepted")
    assert.strictEqual(reason(undefined, "prefer"), "accepted")
    assert.strictEqual(reason(undefined, "disable"), "accepted")
  })

  it("with require, accepts only a verified channel-bound exchange", () => {
    assert.strictEqual(reason(undefined, "require"), "ChannelBindingRequired")
    assert.strictEqual(reason(verified, "require"), "ChannelBindingRequired")
    assert.strictEqual(reason(bound, "require"), "accepted")
  })
})
