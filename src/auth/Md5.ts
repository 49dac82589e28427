/**
 * PostgreSQL's MD5 password authentication, client side.
 *
 * Does: compute the PasswordMessage payload that answers AuthenticationMD5Password:
 * `"md5" + md5hex(md5hex(password ‖ user) ‖ salt)`, where `salt` is the 4 bytes of the request and
 * `user` is the user name sent in the StartupMessage; and the stored secret
 * `"md5" + md5hex(password ‖ user)` (what `pg_authid.rolpassword` holds, libpq's PQencryptPassword).
 * Does NOT: send anything, apply SASLprep (MD5 hashes the raw bytes), or decide whether MD5 is
 * acceptable (channel_binding=require refuses it: see ScramNegotiation.ts).
 *
 * Invariants: strings are hashed as UTF-8, byte arrays as given; the result is always 35 ASCII
 * characters (`md5` + 32 lowercase hex digits); the password never appears in an error.
 *
 * @see https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-START-UP
 * @see https://www.postgresql.org/docs/current/auth-password.html
 */
import { createHash } from "node:crypto"
import { AuthMathError } from "./AuthMathError.ts"
import { concatBytes, secretBytes } from "./Bytes.ts"

const md5Hex = (bytes: Uint8Array): string => createHash("md5").update(bytes).digest("hex")

const passwordAndUser = (
  password: string | Uint8Array,
  user: string | Uint8Array
): Uint8Array | AuthMathError => {
  const passwordBytes = secretBytes(password, "password")
  if (passwordBytes instanceof AuthMathError) return passwordBytes
  if (passwordBytes.length === 0) return new AuthMathError("InvalidInput", "no password supplied (empty)")
  const userBytes = secretBytes(user, "user name")
  if (userBytes instanceof AuthMathError) return userBytes
  if (userBytes.length === 0) return new AuthMathError("InvalidInput", "user name is empty")
  return concatBytes(passwordBytes, userBytes)
}

/**
 * The stored MD5 secret of a role: `"md5" + md5hex(password ‖ user)`.
 * Equal to `pg_authid.rolpassword` for a role whose password was set under password_encryption=md5.
 */
export const md5PasswordSecret = (
  password: string | Uint8Array,
  user: string | Uint8Array
): string | AuthMathError => {
  const input = passwordAndUser(password, user)
  if (input instanceof AuthMathError) return input
  return "md5" + md5Hex(input)
}

/**
 * The PasswordMessage payload answering AuthenticationMD5Password (request code 5).
 * `salt` must be exactly the 4 salt bytes of that request; `user` is the StartupMessage user name.
 */
export const md5PasswordResponse = (
  password: string | Uint8Array,
  user: string | Uint8Array,
  salt: Uint8Array
): string | AuthMathError => {
  if (salt.length !== 4) {
    return new AuthMathError("InvalidInput", `MD5 salt must be 4 bytes, got ${salt.length}`)
  }
  const input = passwordAndUser(password, user)
  if (input instanceof AuthMathError) return input
  const inner = new TextEncoder().encode(md5Hex(input))
  return "md5" + md5Hex(concatBytes(inner, salt))
}
