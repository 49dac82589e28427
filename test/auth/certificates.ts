/**
 * Test helper: self-signed certificates made with the `openssl` CLI, one per signature algorithm the
 * channel-binding code must handle, plus openssl's own digest of each DER (the expected
 * tls-server-end-point data, computed outside the code under test).
 *
 * Not a test file (no `.test.ts`): imported by ChannelBinding.test.ts and ScramNegotiation.test.ts.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export const hasOpenssl = spawnSync("openssl", ["version"]).status === 0

export interface TestCertificate {
  readonly der: Uint8Array
  /** The hash RFC 5929 prescribes for it, as `openssl dgst` names it (undefined: none exists). */
  readonly hash: string | undefined
}

/** name → [key, extra `openssl req` arguments, expected hash] */
const recipes = {
  "rsa-sha256": ["rsa", ["-sha256"], "sha256"],
  "rsa-sha1": ["rsa", ["-sha1"], "sha256"], // SHA-1 → SHA-256 (RFC 5929 4.1)
  "rsa-sha224": ["rsa", ["-sha224"], "sha224"],
  "rsa-sha512": ["rsa", ["-sha512"], "sha512"],
  "rsa-pss-sha512": ["rsa", ["-sha512", "-sigopt", "rsa_padding_mode:pss"], "sha512"],
  // PSS with SHA-1: DER omits the DEFAULT hashAlgorithm, so the reader must apply the default.
  "rsa-pss-sha1": ["rsa", ["-sha1", "-sigopt", "rsa_padding_mode:pss"], "sha256"],
  "ecdsa-p256-sha256": ["p256", ["-sha256"], "sha256"],
  "ecdsa-p384-sha384": ["p384", ["-sha384"], "sha384"],
  "ecdsa-p384-sha1": ["p384", ["-sha1"], "sha256"],
  ed25519: ["ed25519", [], undefined]
} as const

export type CertificateName = keyof typeof recipes

const keyArgs: Record<string, ReadonlyArray<string>> = {
  rsa: ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
  p256: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
  p384: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
  ed25519: ["-algorithm", "ED25519"]
}

/** Generates every certificate in a temporary directory (removed before returning). */
export const makeCertificates = (): Record<CertificateName, TestCertificate> => {
  const dir = mkdtempSync(join(tmpdir(), "effect-pg-certs-"))
  try {
    for (const [name, args] of Object.entries(keyArgs)) {
      execFileSync("openssl", ["genpkey", ...args, "-out", join(dir, `${name}.key`)], { stdio: "ignore" })
    }
    const out = {} as Record<CertificateName, TestCertificate>
    for (const [name, [key, args, hash]] of Object.entries(recipes) as Array<
      [CertificateName, (typeof recipes)[CertificateName]]
    >) {
      const pem = join(dir, `${name}.pem`)
      execFileSync(
        "openssl",
        [
          "req",
          "-new",
          "-x509",
          "-days",
          "2",
          "-subj",
          `/CN=${name}`,
          "-key",
          join(dir, `${key}.key`),
          ...args,
          "-out",
          pem
        ],
        { stdio: "ignore" }
      )
      out[name] = {
        der: new Uint8Array(execFileSync("openssl", ["x509", "-in", pem, "-outform", "der"])),
        hash
      }
    }
    return out
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** `openssl x509 -outform der | openssl dgst -<hash> -binary`, the pipeline run on the DER bytes. */
export const opensslDigest = (der: Uint8Array, hash: string): Uint8Array =>
  new Uint8Array(execFileSync("openssl", ["dgst", `-${hash}`, "-binary"], { input: der }))
