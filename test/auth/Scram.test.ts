import { pbkdf2 } from "node:crypto"
import { promisify } from "node:util"
import { assert, describe, it } from "vitest"
import { AuthMathError } from "../../src/auth/AuthMathError.ts"
import { scramPasswordBytes } from "../../src/auth/SaslPrep.ts"
import {
  type ClientFinalOptions,
  clientFinal,
  clientFinalFromSaltedPassword,
  clientFirst,
  parseServerFirst,
  type ScramChannelBinding,
  type ScramClientFinalSent,
  type ScramClientFirstSent,
  scramSecret,
  verifyServerFinal
} from "../../src/auth/Scram.ts"

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)
const ok = <A>(result: A | AuthMathError): A => {
  if (result instanceof AuthMathError) throw new Error(`unexpected ${result.reason}: ${result.message}`)
  return result
}

// RFC 7677 section 3: user "user", password "pencil".
const rfc = {
  clientNonce: "rOprNGfwEbeRWgbNEkqO",
  clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
  serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
  clientFinal:
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
}
const rfcFirst = () =>
  ok(clientFirst({ channelBinding: { type: "none" }, username: "user", nonce: rfc.clientNonce }))
const rfcFinal = () => ok(clientFinal(rfcFirst().state, rfc.serverFirst, "pencil"))

describe("SCRAM-SHA-256, RFC 7677 example", () => {
  it("produces the RFC's client-first and client-final messages and accepts its server-final", () => {
    const first = rfcFirst()
    assert.strictEqual(text(first.message), rfc.clientFirst)
    const final = ok(clientFinal(first.state, new TextEncoder().encode(rfc.serverFirst), "pencil"))
    assert.strictEqual(text(final.message), rfc.clientFinal)
    assert.deepStrictEqual(verifyServerFinal(final.state, rfc.serverFinal), {
      _tag: "ScramVerified",
      mechanism: "SCRAM-SHA-256",
      channelBound: false
    })
  })

  it("gives the same client-final when split around an asynchronous PBKDF2 (as the Auth service runs it)", async () => {
    const first = rfcFirst()
    const serverFirst = ok(parseServerFirst(first.state, rfc.serverFirst))
    assert.strictEqual(serverFirst.iterations, 4096)
    const password = ok(scramPasswordBytes("pencil"))
    const salted = await promisify(pbkdf2)(password, serverFirst.salt, serverFirst.iterations, 32, "sha256")
    const final = ok(clientFinalFromSaltedPassword(first.state, serverFirst, new Uint8Array(salted)))
    assert.strictEqual(text(final.message), rfc.clientFinal)
    assert.deepStrictEqual(final.state, rfcFinal().state)
    const short = clientFinalFromSaltedPassword(first.state, serverFirst, new Uint8Array(31))
    assert.strictEqual((short as AuthMathError).reason, "InvalidInput")
  })

  it("keeps nothing secret in the states but the expected server signature", () => {
    assert.deepStrictEqual(Object.keys(rfcFinal().state).sort(), [
      "_tag",
      "expectedServerSignature",
      "mechanism"
    ])
  })
})

describe("clientFirst", () => {
  it("sends an empty user name and a 24-character base64 nonce from 18 random bytes", () => {
    const first = ok(clientFirst({ channelBinding: { type: "none" } }))
    assert.match(text(first.message), /^n,,n=,r=[A-Za-z0-9+/]{24}$/)
    const other = ok(clientFirst({ channelBinding: { type: "none" } }))
    assert.notStrictEqual(first.state.clientNonce, other.state.clientNonce)
  })

  it("takes its randomness from the injected source", () => {
    const sizes: Array<number> = []
    const first = ok(
      clientFirst({
        channelBinding: { type: "none" },
        randomBytes: (size) => {
          sizes.push(size)
          return new Uint8Array(size).fill(0xff)
        }
      })
    )
    assert.deepStrictEqual(sizes, [18])
    assert.strictEqual(text(first.message), `n,,n=,r=${"/".repeat(24)}`)
    const short = clientFirst({ channelBinding: { type: "none" }, randomBytes: () => new Uint8Array(4) })
    assert.strictEqual((short as AuthMathError).message, "random source returned 4 bytes, not 18")
  })

  it("writes the gs2 header of each channel-binding choice and the matching mechanism", () => {
    const cases: Array<[ScramChannelBinding, string, string]> = [
      [{ type: "none" }, "n,,", "SCRAM-SHA-256"],
      [{ type: "client-supports-server-not" }, "y,,", "SCRAM-SHA-256"],
      [
        { type: "tls-server-end-point", data: new Uint8Array([1, 2, 3]) },
        "p=tls-server-end-point,,",
        "SCRAM-SHA-256-PLUS"
      ]
    ]
    for (const [channelBinding, header, mechanism] of cases) {
      const first = ok(clientFirst({ channelBinding, nonce: "abc" }))
      assert.strictEqual(text(first.message), `${header}n=,r=abc`)
      assert.strictEqual(first.state.mechanism, mechanism)
    }
  })

  it("SASLprep's and escapes an explicit user name", () => {
    const first = ok(clientFirst({ channelBinding: { type: "none" }, username: "a=b,c\u00AD", nonce: "n" }))
    assert.strictEqual(text(first.message), "n,,n=a=3Db=2Cc,r=n")
    assert.strictEqual(
      (clientFirst({ channelBinding: { type: "none" }, username: "\u0007" }) as AuthMathError).reason,
      "SaslPrepFailed"
    )
  })

  it("refuses an invalid test nonce and empty channel-binding data", () => {
    for (const nonce of ["", "a,b", "caf\u00E9", "a b"]) {
      assert.strictEqual(
        (clientFirst({ channelBinding: { type: "none" }, nonce }) as AuthMathError).reason,
        "InvalidInput"
      )
    }
    const empty = clientFirst({ channelBinding: { type: "tls-server-end-point", data: new Uint8Array(0) } })
    assert.strictEqual((empty as AuthMathError).message, "tls-server-end-point channel binding data is empty")
  })
})

describe("clientFinal", () => {
  const channelBindingAttribute = (binding: ScramChannelBinding) => {
    const first = ok(clientFirst({ channelBinding: binding, nonce: "cn" }))
    const final = ok(clientFinal(first.state, "r=cnsn,s=c2FsdA==,i=4096", "pencil"))
    return /^c=([^,]*),r=cnsn,p=[A-Za-z0-9+/]{43}=$/.exec(text(final.message))?.[1]
  }

  it("puts base64(gs2 header + binding data) in c=", () => {
    assert.strictEqual(channelBindingAttribute({ type: "none" }), "biws") // "n,,"
    assert.strictEqual(channelBindingAttribute({ type: "client-supports-server-not" }), "eSws") // "y,,"
    const data = new Uint8Array([0xde, 0xad, 0xbe, 0xef])
    assert.strictEqual(
      channelBindingAttribute({ type: "tls-server-end-point", data }),
      Buffer.concat([Buffer.from("p=tls-server-end-point,,"), data]).toString("base64")
    )
  })

  const attempt = (serverFirst: string | Uint8Array, options?: ClientFinalOptions) =>
    clientFinal(rfcFirst().state, serverFirst, "hunter2-secret", options)
  const refused = (
    serverFirst: string | Uint8Array,
    reason: string,
    message: RegExp,
    options?: ClientFinalOptions
  ) => {
    const result = attempt(serverFirst, options)
    assert.instanceOf(result, AuthMathError, String(serverFirst))
    const error = result as AuthMathError
    assert.strictEqual(error.reason, reason, `${String(serverFirst)}: ${error.message}`)
    assert.match(error.message, message)
    assert.notInclude(error.message, "hunter2")
  }
  const n = rfc.clientNonce

  it("refuses a server nonce that does not extend the client nonce", () => {
    refused(`r=XOprNGfwEbeRWgbNEkqOabc,s=c2FsdA==,i=4096`, "NonceMismatch", /client nonce/)
    refused(`r=${n},s=c2FsdA==,i=4096`, "NonceMismatch", /server's part/) // no server part
    refused(`r=${n.slice(0, 5)},s=c2FsdA==,i=4096`, "NonceMismatch", /client nonce/)
    refused(`r=,s=c2FsdA==,i=4096`, "MalformedServerMessage", /nonce is empty/)
  })

  it("refuses zero, negative, non-decimal and absurd iteration counts", () => {
    for (const i of ["0", "-1", "abc", "01", "1e3", "4096 ", "", "99999999999999999999"]) {
      refused(`r=${n}x,s=c2FsdA==,i=${i}`, "IterationCountRefused", /is not a positive integer/)
    }
    refused(`r=${n}x,s=c2FsdA==,i=1000001`, "IterationCountRefused", /exceeds the limit of 1000000/)
    refused(`r=${n}x,s=c2FsdA==,i=5000`, "IterationCountRefused", /exceeds the limit of 4096/, {
      maxIterations: 4096
    })
    assert.notInstanceOf(attempt(`r=${n}x,s=c2FsdA==,i=4096`, { maxIterations: 4096 }), AuthMathError)
    refused(`r=${n}x,s=c2FsdA==,i=1`, "InvalidInput", /maxIterations/, { maxIterations: 0 })
  })

  it("refuses a salt that is empty or not canonical base64", () => {
    for (const salt of ["", "W22ZaJ0SNY7soEsUEjb6gQ", "!!!!", "QR==", "c2Fs dA==", "c2FsdA=", "c2-_dA=="]) {
      refused(`r=${n}x,s=${salt},i=4096`, "MalformedServerMessage", /salt is empty or not valid base64/)
    }
  })

  it("refuses extensions, unknown, missing, reordered and empty attributes", () => {
    refused(
      `m=ext,r=${n}x,s=c2FsdA==,i=4096`,
      "MalformedServerMessage",
      /mandatory extension "m=" is not supported/
    )
    refused(`r=${n}x,s=c2FsdA==,i=4096,x=1`, "MalformedServerMessage", /unexpected attribute "x"/)
    refused(`r=${n}x,s=c2FsdA==,i=4096,m=1`, "MalformedServerMessage", /mandatory extension/)
    refused(`r=${n}x,s=c2FsdA==`, "MalformedServerMessage", /missing attribute "i"/)
    refused(`s=c2FsdA==,r=${n}x,i=4096`, "MalformedServerMessage", /expected attribute "r" but got "s"/)
    refused(`r=${n}x,,s=c2FsdA==,i=4096`, "MalformedServerMessage", /attribute 2 is not of the form x=value/)
    refused(`r=${n}x,s=c2FsdA==,i=4096,`, "MalformedServerMessage", /attribute 4 is not of the form/)
    refused("", "MalformedServerMessage", /server-first-message is empty/)
    refused(new Uint8Array([0x72, 0x3d, 0xff]), "MalformedServerMessage", /non-printable or non-ASCII/)
    refused(`r=${n}x\u0000,s=c2FsdA==,i=4096`, "MalformedServerMessage", /non-printable/)
  })

  it("refuses passwords no server can hold, without echoing them", () => {
    const result = clientFinal(rfcFirst().state, rfc.serverFirst, "")
    assert.strictEqual((result as AuthMathError).message, "no password supplied (empty)")
  })
})

describe("verifyServerFinal", () => {
  const refused = (
    message: string | Uint8Array,
    reason: string,
    pattern: RegExp,
    state: ScramClientFinalSent = rfcFinal().state
  ) => {
    const result = verifyServerFinal(state, message)
    assert.instanceOf(result, AuthMathError, String(message))
    assert.strictEqual((result as AuthMathError).reason, reason)
    assert.match((result as AuthMathError).message, pattern)
  }

  it("refuses a forged signature (one bit off) and another session's signature", () => {
    const forged = Buffer.from(rfc.serverFinal.slice(2), "base64")
    forged[31]! ^= 1
    refused(
      `v=${forged.toString("base64")}`,
      "ServerSignatureMismatch",
      /did not prove it knows the password/
    )
    // Same password and salt, another nonce: the signature of the RFC session does not carry over.
    const first = ok(clientFirst({ channelBinding: { type: "none" }, username: "user", nonce: "other" }))
    const other = ok(clientFinal(first.state, "r=otherX,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "pencil"))
    refused(rfc.serverFinal, "ServerSignatureMismatch", /signature is incorrect/, other.state)
  })

  it("refuses a missing, empty, short or malformed signature", () => {
    refused("", "MalformedServerMessage", /is empty/)
    refused("v=", "MalformedServerMessage", /not 32 bytes of valid base64/)
    refused("v=AAAA", "MalformedServerMessage", /not 32 bytes/)
    refused("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4", "MalformedServerMessage", /valid base64/)
    refused("x=1", "MalformedServerMessage", /expected attribute "v" but got "x"/)
    refused(`${rfc.serverFinal},x=1`, "MalformedServerMessage", /unexpected attribute "x"/)
  })

  it("reports a server error attribute", () => {
    refused("e=invalid-proof", "ServerError", /server reported a SCRAM error: "invalid-proof"/)
  })

  it("marks a SCRAM-SHA-256-PLUS exchange as channel-bound", () => {
    const binding: ScramChannelBinding = { type: "tls-server-end-point", data: new Uint8Array(48).fill(7) }
    const first = ok(clientFirst({ channelBinding: binding, nonce: "cn" }))
    const final = ok(clientFinal(first.state as ScramClientFirstSent, "r=cnsn,s=c2FsdA==,i=4096", "pencil"))
    // Only the channelBound flag is under test here; the PLUS maths meet a real server in
    // auth.integration.test.ts.
    const signature = Buffer.from(final.state.expectedServerSignature).toString("base64")
    assert.deepStrictEqual(verifyServerFinal(final.state, `v=${signature}`), {
      _tag: "ScramVerified",
      mechanism: "SCRAM-SHA-256-PLUS",
      channelBound: true
    })
  })
})

describe("scramSecret", () => {
  // pg_authid.rolpassword values stored by PostgreSQL 15 for these passwords (the server ran its own
  // pg_saslprep and PBKDF2); auth.integration.test.ts re-checks the same property on a live server.
  const stored: ReadonlyArray<[string, string]> = [
    [
      "scram_pass",
      "SCRAM-SHA-256$4096:t1UeYTArqx7BEO2DbPbn7g==$th7eNmt14ouE83jPFuU5fu+/+tumPqO4yhmX5w/Us20=:KQs/ObE+k+NQn69njUl5KHQsvDW53VGA2LYhD+Xh5Ug="
    ],
    [
      "pässwörd",
      "SCRAM-SHA-256$4096:F6F9Q7lMRC4g8n363lNx4Q==$JtF/jS756NcBEeLGHg5GZyrYQE4yKIVRpX4uL5BKsuA=:Nxgs5sXFwS9zy0yQkmvjo62y3QF5SEYJQIexIDtPnTY="
    ],
    [
      "pass\u00A0word",
      "SCRAM-SHA-256$4096:6x72unVeW2CgNAiwQxARfg==$eVyt3D4CZkNalC2qx1Yp66UCP70gweaKBQ9j1o8nAHw=:lE6Mdzf/qMBDI4yYnFwKuaUZJpAXDb4CoWmo+CXOMYA="
    ],
    [
      "I\u00ADX",
      "SCRAM-SHA-256$4096:zYhEVzB80ZgbiokPC0dXoA==$E9/kp0S5mNOBCh5C7+M7m1LQsYAf2yFLzlfz9MfW008=:Jw9o/iYTw92V+iZZRjItctotUuXH04s+8XD+XZh6EAg="
    ],
    [
      "a\u0340",
      "SCRAM-SHA-256$4096:jFlFsFxOq1B6LXTuHQ6SvA==$PqG5VlZb4c2A2DzE3vh8OvtTgejPbi6DDGc3GPj4BAQ=:9+eDheYsf45v3ABtpN2zqnNtA5A5WLRVLCypW7YeQwM="
    ],
    [
      "\u05D0\uFB1D",
      "SCRAM-SHA-256$4096:bO6K1OtErVgaExoCaXYnBg==$RANlzYDEhNh4lrlwtg4gzDVoPh990r09KBiGERgYeVY=:Ov1q2Z0EosegQFGRTx1UZByNna7u5t4+S5jSlwhm6Rg="
    ],
    [
      "caf\u00E9\u0007",
      "SCRAM-SHA-256$4096:xHB1UdsQLWbVbC4EBlOS+w==$Q7kVy8IWX9TqF+6nIOBe56Cx851mu0MGRF8rpyrop3U=:4ZdhDs98EWUo0VNJ9LiDV5lkHQpPdmjw3eGBnn5DAx0="
    ]
  ]

  it("reproduces the secrets PostgreSQL stored", () => {
    for (const [password, secret] of stored) {
      const salt = Buffer.from(/:([^$]+)\$/.exec(secret)![1]!, "base64")
      assert.strictEqual(scramSecret(password, salt, 4096), secret, JSON.stringify(password))
    }
  })

  it("refuses an empty salt and a bad iteration count", () => {
    assert.strictEqual((scramSecret("x", new Uint8Array(0), 4096) as AuthMathError).message, "salt is empty")
    assert.strictEqual((scramSecret("x", new Uint8Array(16), 0) as AuthMathError).reason, "InvalidInput")
    assert.strictEqual((scramSecret("x", new Uint8Array(16), 1.5) as AuthMathError).reason, "InvalidInput")
  })
})
