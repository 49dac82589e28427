import { assert, describe, it } from "vitest"
import { AuthMathError } from "../../src/auth/AuthMathError.ts"
import { md5PasswordResponse, md5PasswordSecret } from "../../src/auth/Md5.ts"

// Vectors computed outside this code:
// - "md5e473…" is pg_authid.rolpassword of role md5_user, PASSWORD 'md5_pass', set on PostgreSQL 15
//   under password_encryption = md5 (auth.integration.test.ts re-checks it against a live server);
// - the responses are `printf '%s\x01\x02\x03\x04' $(printf md5_passmd5_user | openssl md5) | openssl md5`
//   and the same for the UTF-8 password 'pässwörd' of umlaut_user with salt de ad be ef.
const vectors = [
  {
    password: "md5_pass",
    user: "md5_user",
    secret: "md5e473002ecaa9bfd0c982506b1bc2fe0b",
    salt: [0x01, 0x02, 0x03, 0x04],
    response: "md5c6ee6bd10a7adf513019b25f24df0925"
  },
  {
    password: "pässwörd",
    user: "umlaut_user",
    secret: "md585011236cd68818a1375ed506604ab8d",
    salt: [0xde, 0xad, 0xbe, 0xef],
    response: "md53c1d8effd462ca5c0bf8ac2c9418ae5b"
  }
]

describe("MD5 password authentication", () => {
  it("matches the stored secret and the salted response of the vectors", () => {
    for (const v of vectors) {
      assert.strictEqual(md5PasswordSecret(v.password, v.user), v.secret)
      assert.strictEqual(md5PasswordResponse(v.password, v.user, new Uint8Array(v.salt)), v.response)
    }
  })

  it("hashes byte arrays as given and strings as UTF-8", () => {
    const v = vectors[1]!
    const bytes = new TextEncoder().encode(v.password)
    assert.strictEqual(md5PasswordResponse(bytes, v.user, new Uint8Array(v.salt)), v.response)
    // The same characters in Latin-1 are other bytes, hence another response (no SASLprep in MD5).
    const latin1 = Uint8Array.from(v.password, (c) => c.charCodeAt(0))
    assert.notStrictEqual(md5PasswordResponse(latin1, v.user, new Uint8Array(v.salt)), v.response)
  })

  it("depends on every input: salt, user and password", () => {
    const salt = new Uint8Array([1, 2, 3, 4])
    const base = md5PasswordResponse("md5_pass", "md5_user", salt)
    assert.notStrictEqual(md5PasswordResponse("md5_pass", "md5_user", new Uint8Array([1, 2, 3, 5])), base)
    assert.notStrictEqual(md5PasswordResponse("md5_pass", "md5_usex", salt), base)
    assert.notStrictEqual(md5PasswordResponse("md5_pasx", "md5_user", salt), base)
    assert.match(base as string, /^md5[0-9a-f]{32}$/)
  })

  it("refuses a salt that is not 4 bytes, an empty password, NUL and lone surrogates", () => {
    const salt = new Uint8Array(4)
    const cases: Array<[unknown, string]> = [
      [md5PasswordResponse("x", "u", new Uint8Array(3)), "MD5 salt must be 4 bytes, got 3"],
      [md5PasswordResponse("x", "u", new Uint8Array(5)), "MD5 salt must be 4 bytes, got 5"],
      [md5PasswordResponse("", "u", salt), "no password supplied (empty)"],
      [md5PasswordResponse("x", "", salt), "user name is empty"],
      [
        md5PasswordResponse("sec\u0000ret", "u", salt),
        "password contains a NUL character, which PostgreSQL cannot store"
      ],
      [
        md5PasswordResponse(new Uint8Array([115, 0]), "u", salt),
        "password contains a NUL byte, which PostgreSQL cannot store"
      ],
      [md5PasswordSecret("sec\uD800ret", "u"), "password is not well-formed Unicode (lone surrogate)"],
      [md5PasswordSecret("x", "u\u0000"), "user name contains a NUL character, which PostgreSQL cannot store"]
    ]
    for (const [result, message] of cases) {
      assert.instanceOf(result, AuthMathError)
      assert.deepStrictEqual(
        [(result as AuthMathError).reason, (result as AuthMathError).message],
        ["InvalidInput", message]
      )
      assert.notInclude((result as AuthMathError).message, "sec")
    }
  })
})
