import { X509Certificate } from "node:crypto"
import { assert, beforeAll, describe, it } from "vitest"
import { AuthMathError } from "../../src/auth/AuthMathError.ts"
import {
  certificateBindingHash,
  readSignatureAlgorithm,
  tlsServerEndPoint
} from "../../src/auth/ChannelBinding.ts"
import {
  type CertificateName,
  hasOpenssl,
  makeCertificates,
  opensslDigest,
  type TestCertificate
} from "./certificates.ts"

const reasonOf = (u: unknown) => (u instanceof AuthMathError ? u.reason : "no error")

describe.skipIf(!hasOpenssl)("tls-server-end-point (certificates made by openssl)", () => {
  let certs: Record<CertificateName, TestCertificate>
  beforeAll(() => {
    certs = makeCertificates()
  })

  it("hashes each certificate as openssl dgst does, with the RFC 5929 hash", () => {
    for (const [name, cert] of Object.entries(certs)) {
      if (cert.hash === undefined) continue
      assert.strictEqual<unknown>(certificateBindingHash(cert.der), cert.hash, name)
      assert.deepStrictEqual(tlsServerEndPoint(cert.der), opensslDigest(cert.der, cert.hash), name)
    }
  })

  it("RSA SHA-256 and ECDSA P-384 SHA-384 give 32 and 48 bytes", () => {
    assert.strictEqual((tlsServerEndPoint(certs["rsa-sha256"].der) as Uint8Array).length, 32)
    assert.strictEqual((tlsServerEndPoint(certs["ecdsa-p384-sha384"].der) as Uint8Array).length, 48)
  })

  it("reads the same signature algorithm OID as Node's X509Certificate", () => {
    for (const [name, cert] of Object.entries(certs)) {
      const x509 = new X509Certificate(cert.der) as X509Certificate & { signatureAlgorithmOid?: string }
      if (x509.signatureAlgorithmOid === undefined) return // Node < 24.9 does not expose it
      const read = readSignatureAlgorithm(cert.der)
      assert.notInstanceOf(read, AuthMathError, name)
      assert.strictEqual((read as { oid: string }).oid, x509.signatureAlgorithmOid, name)
    }
  })

  it("refuses Ed25519: it has no hash, so tls-server-end-point is undefined (as in libpq)", () => {
    const result = tlsServerEndPoint(certs.ed25519.der)
    assert.strictEqual(reasonOf(result), "CertificateUnsupported")
    assert.match((result as AuthMathError).message, /Ed25519.*channel_binding=disable/)
  })

  it("refuses an unknown signature algorithm OID", () => {
    const der = Uint8Array.from(certs["rsa-sha256"].der)
    // The outer signatureAlgorithm OID ends 01 01 0b (sha256WithRSAEncryption); make it ...1.1.127.
    const oid = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b]
    let at = -1
    for (let i = der.length - oid.length; i >= 0 && at < 0; i--) {
      if (oid.every((b, j) => der[i + j] === b)) at = i
    }
    der[at + oid.length - 1] = 0x7f
    const result = certificateBindingHash(der)
    assert.strictEqual(reasonOf(result), "CertificateUnsupported")
    assert.include((result as AuthMathError).message, "1.2.840.113549.1.1.127")
  })

  it("refuses every truncation and trailing bytes, without throwing", () => {
    const der = certs["ecdsa-p384-sha384"].der
    for (let length = 0; length < der.length; length++) {
      assert.strictEqual(
        reasonOf(tlsServerEndPoint(der.subarray(0, length))),
        "CertificateUnsupported",
        `${length}`
      )
    }
    const trailing = new Uint8Array([...der, 0])
    assert.strictEqual(
      (tlsServerEndPoint(trailing) as AuthMathError).message,
      "certificate has trailing bytes"
    )
  })

  it("never throws on corrupted certificates", () => {
    const der = certs["rsa-pss-sha512"].der
    let seed = 12345
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      return seed
    }
    for (let round = 0; round < 2000; round++) {
      const copy = Uint8Array.from(der)
      for (let k = 0; k < 3; k++) copy[random() % Math.min(copy.length, 64 + (round % 400))] = random() & 0xff
      const result = tlsServerEndPoint(copy)
      assert.isTrue(result instanceof Uint8Array || result instanceof AuthMathError)
    }
  })
})

describe("DER reader on hand-made inputs", () => {
  const fails = (bytes: ReadonlyArray<number>, message: string) =>
    assert.strictEqual((tlsServerEndPoint(new Uint8Array(bytes)) as AuthMathError).message, message)

  it("refuses non-SEQUENCE, indefinite and over-long lengths", () => {
    fails([], "certificate is truncated (Certificate)")
    fails([0x31, 0x00], "certificate is not a DER SEQUENCE")
    fails([0x30, 0x80, 0x00, 0x00], "certificate has an unsupported length form (Certificate)")
    fails([0x30, 0x85, 0, 0, 0, 0, 1], "certificate has an unsupported length form (Certificate)")
    fails([0x30, 0x84, 0xff, 0xff, 0xff, 0xff], "certificate is truncated (Certificate)")
    fails([0x3f, 0x00], "certificate uses a high tag number (Certificate)")
  })

  const cert = (algorithm: ReadonlyArray<number>) => [
    0x30,
    2 + algorithm.length + 3,
    0x30,
    0x00, // empty tbsCertificate
    ...algorithm,
    0x03,
    0x01,
    0x00 // empty BIT STRING
  ]
  const oid = (bytes: ReadonlyArray<number>) => [0x06, bytes.length, ...bytes]
  const sequence = (...items: ReadonlyArray<ReadonlyArray<number>>) => {
    const body = items.flat()
    return [0x30, body.length, ...body]
  }
  const pss = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a]
  const sha384 = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02]

  it("reads RSASSA-PSS parameters: explicit hash, absent parameters, empty SEQUENCE, NULL", () => {
    const hashAlgorithm = sequence(oid(sha384), [0x05, 0x00])
    const hashParam = [0xa0, hashAlgorithm.length, ...hashAlgorithm]
    const hash = (params: ReadonlyArray<number> | undefined) =>
      certificateBindingHash(new Uint8Array(cert(sequence(oid(pss), ...(params ? [params] : [])))))
    assert.strictEqual(hash(sequence(hashParam)), "sha384")
    assert.strictEqual(hash(undefined), "sha256") // absent → SHA-1 → SHA-256
    assert.strictEqual(hash(sequence()), "sha256")
    assert.strictEqual(hash([0x05, 0x00]), "sha256")
    assert.strictEqual(reasonOf(hash([0x04, 0x00])), "CertificateUnsupported")
  })

  it("refuses malformed OIDs", () => {
    assert.strictEqual(
      (tlsServerEndPoint(new Uint8Array(cert(sequence(oid([0x2a, 0x86]))))) as AuthMathError).message,
      "signatureAlgorithm has a malformed OID"
    )
    assert.strictEqual(
      (tlsServerEndPoint(new Uint8Array(cert(sequence(oid([0x80, 0x01]))))) as AuthMathError).message,
      "signatureAlgorithm has a malformed OID"
    )
  })

  it("refuses fields after signatureValue", () => {
    const bytes = cert(sequence(oid(sha384)))
    bytes[1]! += 2
    fails([...bytes, 0x05, 0x00], "certificate has fields after signatureValue")
  })
})
