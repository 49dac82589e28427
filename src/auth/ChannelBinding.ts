/**
 * tls-server-end-point channel binding data (RFC 5929 section 4): the hash of the server's DER
 * certificate, for SCRAM-SHA-256-PLUS.
 *
 * Does: read the certificate's outer `signatureAlgorithm` with a tiny bounds-checked DER reader,
 * pick the hash as RFC 5929 4.1 and PostgreSQL (libpq `pgtls_get_peer_certificate_hash`, backend
 * `be_tls_get_certificate_hash`) do, and hash the whole certificate with it:
 * - MD5 or SHA-1 signatures → SHA-256;
 * - any other signature → the signature's own hash (SHA-224/256/384/512, SHA-512/224, SHA-512/256,
 *   SHA3-*), for RSA PKCS#1 v1.5, ECDSA and DSA;
 * - RSASSA-PSS → the `hashAlgorithm` of its parameters, SHA-1 when absent (the ASN.1 DEFAULT), and so
 *   SHA-256 by the first rule. This is what OpenSSL's X509_get_signature_info reports to libpq.
 * - Ed25519, Ed448 (and any other signature without a separate hash, or an unknown OID) → error.
 *   libpq fails the same way ("could not find digest for NID UNDEF"), and so does the server, so
 *   SCRAM-SHA-256-PLUS cannot work with such a certificate: use channel_binding=disable there.
 * Does NOT: verify the certificate, its chain or its host name (the TLS layer does), parse anything
 * but the three top-level fields and the PSS parameters, or support high-tag-number ASN.1 forms.
 *
 * Invariants: every read is checked against the enclosing element's end; the certificate must be
 * exactly one DER SEQUENCE of tbsCertificate, AlgorithmIdentifier and BIT STRING with no trailing
 * bytes; nothing throws.
 *
 * @see https://www.rfc-editor.org/rfc/rfc5929#section-4
 * @see https://www.rfc-editor.org/rfc/rfc5280#section-4.1 Certificate
 * @see https://www.rfc-editor.org/rfc/rfc4055#section-3.1 RSASSA-PSS-params
 */
import { createHash } from "node:crypto"
import { AuthMathError } from "./AuthMathError.ts"

/** Hash names as `node:crypto` spells them. */
export type CertificateHash =
  | "sha224"
  | "sha256"
  | "sha384"
  | "sha512"
  | "sha512-224"
  | "sha512-256"
  | "sha3-224"
  | "sha3-256"
  | "sha3-384"
  | "sha3-512"

/** Hash algorithm OIDs (RFC 3279, RFC 5754, NIST CSOR). */
const hashOids: Readonly<Record<string, CertificateHash | "md5" | "sha1">> = {
  "1.2.840.113549.2.5": "md5",
  "1.3.14.3.2.26": "sha1",
  "2.16.840.1.101.3.4.2.4": "sha224",
  "2.16.840.1.101.3.4.2.1": "sha256",
  "2.16.840.1.101.3.4.2.2": "sha384",
  "2.16.840.1.101.3.4.2.3": "sha512",
  "2.16.840.1.101.3.4.2.5": "sha512-224",
  "2.16.840.1.101.3.4.2.6": "sha512-256",
  "2.16.840.1.101.3.4.2.7": "sha3-224",
  "2.16.840.1.101.3.4.2.8": "sha3-256",
  "2.16.840.1.101.3.4.2.9": "sha3-384",
  "2.16.840.1.101.3.4.2.10": "sha3-512"
}

/** Signature algorithm OIDs whose hash is fixed by the OID (RFC 3279, 4055, 5758, NIST CSOR). */
const signatureOids: Readonly<Record<string, CertificateHash | "md5" | "sha1">> = {
  "1.2.840.113549.1.1.4": "md5", // md5WithRSAEncryption
  "1.2.840.113549.1.1.5": "sha1", // sha1WithRSAEncryption
  "1.3.14.3.2.29": "sha1", // sha1WithRSASignature (OIW)
  "1.2.840.113549.1.1.14": "sha224",
  "1.2.840.113549.1.1.11": "sha256",
  "1.2.840.113549.1.1.12": "sha384",
  "1.2.840.113549.1.1.13": "sha512",
  "1.2.840.113549.1.1.15": "sha512-224",
  "1.2.840.113549.1.1.16": "sha512-256",
  "1.2.840.10045.4.1": "sha1", // ecdsa-with-SHA1
  "1.2.840.10045.4.3.1": "sha224",
  "1.2.840.10045.4.3.2": "sha256",
  "1.2.840.10045.4.3.3": "sha384",
  "1.2.840.10045.4.3.4": "sha512",
  "1.2.840.10040.4.3": "sha1", // dsa-with-sha1
  "2.16.840.1.101.3.4.3.1": "sha224", // dsa-with-sha224
  "2.16.840.1.101.3.4.3.2": "sha256",
  "2.16.840.1.101.3.4.3.3": "sha384",
  "2.16.840.1.101.3.4.3.4": "sha512",
  "2.16.840.1.101.3.4.3.5": "sha3-224", // id-dsa-with-sha3-*
  "2.16.840.1.101.3.4.3.6": "sha3-256",
  "2.16.840.1.101.3.4.3.7": "sha3-384",
  "2.16.840.1.101.3.4.3.8": "sha3-512",
  "2.16.840.1.101.3.4.3.9": "sha3-224", // id-ecdsa-with-sha3-*
  "2.16.840.1.101.3.4.3.10": "sha3-256",
  "2.16.840.1.101.3.4.3.11": "sha3-384",
  "2.16.840.1.101.3.4.3.12": "sha3-512",
  "2.16.840.1.101.3.4.3.13": "sha3-224", // id-rsassa-pkcs1-v1_5-with-sha3-*
  "2.16.840.1.101.3.4.3.14": "sha3-256",
  "2.16.840.1.101.3.4.3.15": "sha3-384",
  "2.16.840.1.101.3.4.3.16": "sha3-512"
}

const rsassaPss = "1.2.840.113549.1.1.10"

/** Signatures that hash nothing separately: tls-server-end-point is undefined for them. */
const pureSignatures: Readonly<Record<string, string>> = {
  "1.3.101.112": "Ed25519",
  "1.3.101.113": "Ed448"
}

/** One DER element: its tag byte and the [start, end) of its contents. */
interface Element {
  readonly tag: number
  readonly start: number
  readonly end: number
}

const fail = (message: string) => new AuthMathError("CertificateUnsupported", message)

/** Reads the element at `offset`, which must end by `limit`. Single-byte tags, definite lengths. */
const readElement = (
  der: Uint8Array,
  offset: number,
  limit: number,
  what: string
): Element | AuthMathError => {
  if (offset + 2 > limit) return fail(`certificate is truncated (${what})`)
  const tag = der[offset]!
  if ((tag & 0x1f) === 0x1f) return fail(`certificate uses a high tag number (${what})`)
  const first = der[offset + 1]!
  let length = first
  let start = offset + 2
  if (first >= 0x80) {
    const count = first & 0x7f
    if (count === 0 || count > 4) return fail(`certificate has an unsupported length form (${what})`)
    if (start + count > limit) return fail(`certificate is truncated (${what})`)
    length = 0
    for (let i = 0; i < count; i++) length = length * 256 + der[start + i]!
    start += count
  }
  if (length > limit - start) return fail(`certificate is truncated (${what})`)
  return { tag, start, end: start + length }
}

/** Decodes an OBJECT IDENTIFIER's contents to dotted form, or `undefined` if malformed. */
const decodeOid = (der: Uint8Array, element: Element): string | undefined => {
  if (element.tag !== 0x06 || element.start === element.end) return undefined
  const arcs: Array<number> = []
  let value = 0
  for (let i = element.start; i < element.end; i++) {
    const byte = der[i]!
    if (value === 0 && byte === 0x80) return undefined // non-minimal encoding
    value = value * 128 + (byte & 0x7f)
    if (value > Number.MAX_SAFE_INTEGER / 128) return undefined
    if ((byte & 0x80) !== 0) {
      if (i === element.end - 1) return undefined // the last byte still says "more follows"
      continue
    }
    if (arcs.length > 0) arcs.push(value)
    else if (value < 80) arcs.push(Math.floor(value / 40), value % 40)
    else arcs.push(2, value - 80) // the first subidentifier packs two arcs: 40 * x + y
    value = 0
  }
  return arcs.join(".")
}

/** The certificate's signatureAlgorithm: its OID and the [start, end) of its parameters, if any. */
export interface SignatureAlgorithm {
  readonly oid: string
  readonly parameters: Element | undefined
}

/** Parses `Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }`. */
export const readSignatureAlgorithm = (der: Uint8Array): SignatureAlgorithm | AuthMathError => {
  const certificate = readElement(der, 0, der.length, "Certificate")
  if (certificate instanceof AuthMathError) return certificate
  if (certificate.tag !== 0x30) return fail("certificate is not a DER SEQUENCE")
  if (certificate.end !== der.length) return fail("certificate has trailing bytes")
  const tbs = readElement(der, certificate.start, certificate.end, "tbsCertificate")
  if (tbs instanceof AuthMathError) return tbs
  if (tbs.tag !== 0x30) return fail("tbsCertificate is not a SEQUENCE")
  const algorithm = readElement(der, tbs.end, certificate.end, "signatureAlgorithm")
  if (algorithm instanceof AuthMathError) return algorithm
  if (algorithm.tag !== 0x30) return fail("signatureAlgorithm is not a SEQUENCE")
  const signature = readElement(der, algorithm.end, certificate.end, "signatureValue")
  if (signature instanceof AuthMathError) return signature
  if (signature.tag !== 0x03) return fail("signatureValue is not a BIT STRING")
  if (signature.end !== certificate.end) return fail("certificate has fields after signatureValue")
  const oidElement = readElement(der, algorithm.start, algorithm.end, "signatureAlgorithm OID")
  if (oidElement instanceof AuthMathError) return oidElement
  const oid = decodeOid(der, oidElement)
  if (oid === undefined) return fail("signatureAlgorithm has a malformed OID")
  if (oidElement.end === algorithm.end) return { oid, parameters: undefined }
  const parameters = readElement(der, oidElement.end, algorithm.end, "signatureAlgorithm parameters")
  if (parameters instanceof AuthMathError) return parameters
  if (parameters.end !== algorithm.end) return fail("signatureAlgorithm has trailing bytes")
  return { oid, parameters }
}

/** RSASSA-PSS-params: the hash OID under `[0] hashAlgorithm`, SHA-1 when absent. */
const pssHash = (der: Uint8Array, parameters: Element | undefined): string | AuthMathError => {
  const sha1 = "1.3.14.3.2.26"
  if (parameters === undefined || parameters.tag === 0x05) return sha1 // absent or NULL
  if (parameters.tag !== 0x30) return fail("RSASSA-PSS parameters are not a SEQUENCE")
  if (parameters.start === parameters.end) return sha1
  const first = readElement(der, parameters.start, parameters.end, "RSASSA-PSS parameters")
  if (first instanceof AuthMathError) return first
  if (first.tag !== 0xa0) return sha1 // hashAlgorithm omitted: DEFAULT sha1
  const hashAlgorithm = readElement(der, first.start, first.end, "RSASSA-PSS hashAlgorithm")
  if (hashAlgorithm instanceof AuthMathError) return hashAlgorithm
  if (hashAlgorithm.tag !== 0x30) return fail("RSASSA-PSS hashAlgorithm is not a SEQUENCE")
  const oidElement = readElement(der, hashAlgorithm.start, hashAlgorithm.end, "RSASSA-PSS hash OID")
  if (oidElement instanceof AuthMathError) return oidElement
  const oid = decodeOid(der, oidElement)
  return oid ?? fail("RSASSA-PSS hashAlgorithm has a malformed OID")
}

/**
 * The hash tls-server-end-point uses for this DER certificate (`node:crypto` name), or an error for
 * a malformed certificate or a signature algorithm without a usable hash.
 */
export const certificateBindingHash = (der: Uint8Array): CertificateHash | AuthMathError => {
  const algorithm = readSignatureAlgorithm(der)
  if (algorithm instanceof AuthMathError) return algorithm
  let hash: CertificateHash | "md5" | "sha1" | undefined
  if (algorithm.oid === rsassaPss) {
    const hashOid = pssHash(der, algorithm.parameters)
    if (hashOid instanceof AuthMathError) return hashOid
    hash = hashOids[hashOid]
    if (hash === undefined) return fail(`RSASSA-PSS certificate uses an unknown hash (OID ${hashOid})`)
  } else {
    const pure = pureSignatures[algorithm.oid]
    if (pure !== undefined) {
      return fail(
        `certificate is signed with ${pure}, which has no hash: tls-server-end-point channel binding is ` +
          "undefined for it (libpq and the server refuse it too); use channel_binding=disable"
      )
    }
    hash = signatureOids[algorithm.oid]
    if (hash === undefined) return fail(`unsupported certificate signature algorithm (OID ${algorithm.oid})`)
  }
  return hash === "md5" || hash === "sha1" ? "sha256" : hash
}

/**
 * The tls-server-end-point channel binding data: `hash(certificate DER)` with the hash chosen by
 * {@link certificateBindingHash}. `der` is the server's (leaf) certificate, e.g. Node's
 * `tlsSocket.getPeerCertificate().raw`.
 */
export const tlsServerEndPoint = (der: Uint8Array): Uint8Array | AuthMathError => {
  const hash = certificateBindingHash(der)
  if (hash instanceof AuthMathError) return hash
  return new Uint8Array(createHash(hash).update(der).digest())
}
