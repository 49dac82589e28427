/**
 * Byte helpers shared by the auth maths: password/user encoding, strict base64, concatenation.
 *
 * Does: turn caller strings into the exact bytes libpq would send (UTF-8), refusing what libpq
 * cannot represent (a NUL, which ends a C string, and lone UTF-16 surrogates, which have no UTF-8
 * form); decode base64 strictly (canonical RFC 4648 only, no whitespace, no URL alphabet).
 * Does NOT: normalise (that is SaslPrep.ts) or hash anything.
 *
 * Invariants: returned arrays are fresh copies, never views of the caller's buffer; errors never
 * echo the secret they were given.
 */
import { Buffer } from "node:buffer"
import { AuthMathError } from "./AuthMathError.ts"

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** `true` when `s` has an unpaired UTF-16 surrogate (such a string has no UTF-8 encoding). */
export const hasLoneSurrogate = (s: string): boolean => loneSurrogate.test(s)

/**
 * The bytes of a secret or name as libpq would send them: UTF-8 for a string, a copy for bytes.
 * `what` names the value in the error ("password", "user name"); the value itself is never quoted.
 */
export const secretBytes = (value: string | Uint8Array, what: string): Uint8Array | AuthMathError => {
  if (typeof value === "string") {
    if (value.includes("\u0000")) {
      return new AuthMathError(
        "InvalidInput",
        `${what} contains a NUL character, which PostgreSQL cannot store`
      )
    }
    if (hasLoneSurrogate(value)) {
      return new AuthMathError("InvalidInput", `${what} is not well-formed Unicode (lone surrogate)`)
    }
    return new Uint8Array(Buffer.from(value, "utf8"))
  }
  if (value.includes(0)) {
    return new AuthMathError("InvalidInput", `${what} contains a NUL byte, which PostgreSQL cannot store`)
  }
  return Uint8Array.from(value)
}

/** Concatenates byte arrays into a fresh array. */
export const concatBytes = (...parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  let length = 0
  for (const part of parts) length += part.length
  const out = new Uint8Array(length)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/** Standard base64 (RFC 4648 section 4) with padding. */
export const toBase64 = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("base64")

const base64Shape = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/**
 * Decodes canonical base64, or returns `undefined`. Node's decoder silently skips invalid
 * characters, so the shape is checked first and the result re-encoded to reject non-zero pad bits.
 */
export const fromBase64Strict = (text: string): Uint8Array | undefined => {
  if (!base64Shape.test(text)) return undefined
  const bytes = Buffer.from(text, "base64")
  if (bytes.toString("base64") !== text) return undefined
  return new Uint8Array(bytes)
}

/** Bytes of a protocol string that is ASCII by construction (SCRAM messages); one byte per char. */
export const asciiBytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, "latin1"))
