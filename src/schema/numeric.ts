/**
 * Effect Schemas from effect-pg's exact number values to JS numbers and bigints, refusing any
 * loss (decision 025): `numeric` (decoded as its canonical text, a string) to `number` or to
 * `bigint`, and `int8` (a bigint) to `number`.
 *
 * Does: `NumberFromNumeric` takes a numeric's text when the nearest double is that decimal's
 * value as JS prints it (`"12.50"` → 12.5, `"0.1"` → 0.1, `"NaN"` → NaN, `"Infinity"` →
 * Infinity), and refuses text whose digits a double cannot hold (`"12345678901234567.1"`).
 * `BigIntFromNumeric` takes integral values (`"42"`, `"42.000"`) and refuses fractions, NaN and
 * the infinities. `NumberFromBigInt` takes bigints within ±(2^53 − 1). Each encodes back.
 * Does NOT: round (for a lossy numeric → number, `Schema.NumberFromString` reads any numeric
 * text), or parse SQL number syntax beyond what numeric prints (no underscores or hex literals).
 */
import { Effect, Schema, type SchemaAST, SchemaIssue, SchemaTransformation } from "effect"

const refuse = (message: string, input: unknown, options: SchemaAST.ParseOptions) =>
  Effect.fail(new SchemaIssue.InvalidValue({ message }, input, options))

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/

/**
 * A decimal's value as a key, equal for equal values: "sign digits e exponent" with no leading or
 * trailing zero digits ("1.50" and "15e-1" are both "15e-1"; zero is "0"). undefined when the
 * text is no decimal.
 */
export const decimalKey = (text: string): string | undefined => {
  const m = DECIMAL.exec(text)
  if (m === null || (m[2] === "" && (m[3] === undefined || m[3] === ""))) return undefined
  const fraction = m[3] ?? ""
  let digits = (m[2] ?? "") + fraction
  let exponent = Number(m[4] ?? "0") - fraction.length
  digits = digits.replace(/^0+/, "")
  if (digits === "") return "0"
  const trailing = digits.length - digits.replace(/0+$/, "").length
  digits = digits.slice(0, digits.length - trailing)
  exponent += trailing
  return `${m[1] === "-" ? "-" : ""}${digits}e${exponent}`
}

const SPECIAL: Readonly<Record<string, number>> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  "-Infinity": Number.NEGATIVE_INFINITY
}

/**
 * A numeric as a JS number, when the number is exactly what the text says, as far as a double's
 * shortest printing goes: the text and `String(number)` are the same decimal value. NaN and
 * ±Infinity (PostgreSQL 14+) are kept. Encodes a number as its `String()`.
 */
export const NumberFromNumeric = Schema.String.pipe(
  Schema.decodeTo(
    Schema.Number,
    SchemaTransformation.transformEffect({
      decode: (text: string, options) => {
        const special = SPECIAL[text]
        if (special !== undefined) return Effect.succeed(special)
        const key = decimalKey(text)
        if (key === undefined) return refuse(`${JSON.stringify(text)} is not a numeric value`, text, options)
        const n = Number(text)
        if (decimalKey(String(n)) !== key)
          return refuse(
            `numeric ${text} cannot be a JS number without losing digits (the nearest is ${n})`,
            text,
            options
          )
        return Effect.succeed(n)
      },
      encode: (n: number) => Effect.succeed(String(n))
    })
  )
)

const INTEGRAL = /^([+-]?\d+)(?:\.0*)?$/

/** A numeric with no fraction as a bigint (`"42.000"` → 42n); fractions, NaN and ±Infinity refused. */
export const BigIntFromNumeric = Schema.String.pipe(
  Schema.decodeTo(
    Schema.BigInt,
    SchemaTransformation.transformEffect({
      decode: (text: string, options) => {
        const m = INTEGRAL.exec(text)
        if (m === null)
          return refuse(
            decimalKey(text) === undefined && SPECIAL[text] === undefined
              ? `${JSON.stringify(text)} is not a numeric value`
              : `numeric ${text} is not an integer: it cannot be a bigint`,
            text,
            options
          )
        return Effect.succeed(BigInt(m[1] as string))
      },
      encode: (n: bigint) => Effect.succeed(String(n))
    })
  )
)

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

/**
 * An int8 (a bigint) as a JS number, within ±(2^53 − 1), where every integer is exact; beyond, it
 * is refused. Encodes a safe integer back to a bigint and refuses any other number.
 */
export const NumberFromBigInt = Schema.BigInt.pipe(
  Schema.decodeTo(
    Schema.Number,
    SchemaTransformation.transformEffect({
      decode: (n: bigint, options) =>
        n > MAX_SAFE || n < -MAX_SAFE
          ? refuse(`${n} is beyond ±(2^53 - 1): it cannot be a JS number exactly`, n, options)
          : Effect.succeed(Number(n)),
      encode: (n: number, options) =>
        Number.isSafeInteger(n)
          ? Effect.succeed(BigInt(n))
          : refuse(`${n} is not a safe integer: it cannot be a bigint exactly`, n, options)
    })
  )
)
