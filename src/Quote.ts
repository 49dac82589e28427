/**
 * Quoting for the SQL text you build yourself: identifiers (`"my ""table"""`) and string literals
 * (`'it''s'`), as the library quotes table names for COPY, LISTEN channels and the session store.
 *
 * `identifier` and `literal` return a `Result`: a NUL character cannot be sent to PostgreSQL in
 * any SQL text, so such input is a typed `PgProtocolError` (reason `InvalidValue`), never a throw.
 * `identifierUnsafe` / `literalUnsafe` throw instead (Effect's naming for throwing variants), for
 * constants you know are clean.
 *
 * It does NOT make user input safe to splice into SQL in general (prefer query parameters, `$1`);
 * literals assume `standard_conforming_strings = on` (the default since PostgreSQL 9.1).
 */
import { Result } from "effect"
import { quoteIdentifier, quoteLiteral } from "./copy/CopyText.ts"
import { PgProtocolError } from "./Errors.ts"

const nul = (what: string) =>
  PgProtocolError.notSent({ reason: "InvalidValue", message: `${what} cannot contain a NUL character` })

/** `my "table"` → `"my ""table"""`; a NUL character is an error. */
export const identifier = (name: string): Result.Result<string, PgProtocolError> =>
  name.includes("\0") ? Result.fail(nul("an identifier")) : Result.succeed(quoteIdentifier(name))

/** `it's` → `'it''s'`; a NUL character is an error. */
export const literal = (value: string): Result.Result<string, PgProtocolError> =>
  value.includes("\0") ? Result.fail(nul("a string literal")) : Result.succeed(quoteLiteral(value))

/** `identifier`, throwing a TypeError on a NUL character. */
export const identifierUnsafe = (name: string): string => quoteIdentifier(name)

/** `literal`, throwing a TypeError on a NUL character. */
export const literalUnsafe = (value: string): string => quoteLiteral(value)
