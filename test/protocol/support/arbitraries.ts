/**
 * fast-check arbitraries for protocol values: valid backend messages (for decode round trips) and
 * valid frontend encoder inputs (for encode round trips).
 */
import fc from "fast-check"
import type { BackendMessage, FieldDescription } from "../../../src/protocol/Backend.ts"
import type { ErrorFields } from "../../../src/protocol/ErrorFields.ts"
import type { FormatCode } from "../../../src/protocol/Types.ts"

/** Valid Unicode text without NUL (C strings). */
export const cstring: fc.Arbitrary<string> = fc
  .string({ unit: "grapheme", maxLength: 20 })
  .map((s) => s.replaceAll("\0", ""))
export const nonEmptyCstring: fc.Arbitrary<string> = cstring.filter((s) => s.length > 0)
export const bytes = (maxLength = 40): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength })
export const int16 = fc.integer({ min: -32768, max: 32767 })
export const int32 = fc.integer({ min: -0x80000000, max: 0x7fffffff })
export const uint32 = fc.integer({ min: 0, max: 0xffffffff })
export const format: fc.Arbitrary<FormatCode> = fc.constantFrom<FormatCode>(0, 1)

const optionalText = fc.option(cstring, { nil: undefined })

const errorFields: fc.Arbitrary<ErrorFields> = fc
  .record({
    severity: cstring,
    severityNonLocalized: optionalText,
    code: cstring,
    message: cstring,
    detail: optionalText,
    hint: optionalText,
    position: optionalText,
    internalPosition: optionalText,
    internalQuery: optionalText,
    where: optionalText,
    schema: optionalText,
    table: optionalText,
    column: optionalText,
    dataType: optionalText,
    constraint: optionalText,
    file: optionalText,
    line: optionalText,
    routine: optionalText,
    unknown: fc.option(
      fc.array(fc.record({ code: fc.constantFrom("x", "z", "Y", "Z", "1"), value: cstring }), {
        minLength: 1,
        maxLength: 3
      }),
      { nil: undefined }
    )
  })
  .map(
    (r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as unknown as ErrorFields
  )

const field: fc.Arbitrary<FieldDescription> = fc.record({
  name: cstring,
  tableOid: uint32,
  columnAttr: int16,
  typeOid: uint32,
  typeSize: int16,
  typeModifier: int32,
  format
})

const tagged = <T extends string>(_tag: T) => fc.constant({ _tag } as { readonly _tag: T })

/** Every backend message with valid random contents. */
export const backendMessage: fc.Arbitrary<BackendMessage> = fc.oneof(
  tagged("AuthenticationOk"),
  tagged("AuthenticationKerberosV5"),
  tagged("AuthenticationCleartextPassword"),
  fc.record({
    _tag: fc.constant("AuthenticationMD5Password" as const),
    salt: fc.uint8Array({ minLength: 4, maxLength: 4 })
  }),
  tagged("AuthenticationSCMCredential"),
  tagged("AuthenticationGSS"),
  fc.record({ _tag: fc.constant("AuthenticationGSSContinue" as const), data: bytes() }),
  tagged("AuthenticationSSPI"),
  fc.record({
    _tag: fc.constant("AuthenticationSASL" as const),
    mechanisms: fc.array(nonEmptyCstring, { maxLength: 4 })
  }),
  fc.record({ _tag: fc.constant("AuthenticationSASLContinue" as const), data: bytes() }),
  fc.record({ _tag: fc.constant("AuthenticationSASLFinal" as const), data: bytes() }),
  fc.record({
    _tag: fc.constant("AuthenticationUnknown" as const),
    // Codes the protocol does not define (1, 4: retired methods; 13 and up: not yet).
    code: fc.oneof(
      fc.constantFrom(1, 4),
      fc.integer({ min: 13, max: 0x7fffffff }),
      fc.integer({ min: -0x80000000, max: -1 })
    ),
    data: bytes()
  }),
  fc.record({
    _tag: fc.constant("BackendKeyData" as const),
    processId: int32,
    secretKey: fc.uint8Array({ minLength: 4, maxLength: 256 })
  }),
  tagged("BindComplete"),
  tagged("CloseComplete"),
  fc.record({ _tag: fc.constant("CommandComplete" as const), tag: cstring }),
  fc.record({
    _tag: fc.constantFrom("CopyInResponse" as const, "CopyOutResponse" as const, "CopyBothResponse" as const),
    format,
    columnFormats: fc.array(format, { maxLength: 10 })
  }),
  fc.record({ _tag: fc.constant("CopyData" as const), data: bytes(100) }),
  tagged("CopyDone"),
  fc.record({
    _tag: fc.constant("DataRow" as const),
    columns: fc.array(fc.option(bytes(), { nil: null }), { maxLength: 12 })
  }),
  tagged("EmptyQueryResponse"),
  fc.record({
    _tag: fc.constantFrom("ErrorResponse" as const, "NoticeResponse" as const),
    fields: errorFields
  }),
  fc.record({ _tag: fc.constant("FunctionCallResponse" as const), value: fc.option(bytes(), { nil: null }) }),
  fc.record({
    _tag: fc.constant("NegotiateProtocolVersion" as const),
    newestMajor: fc.integer({ min: 0, max: 0xffff }),
    newestMinor: fc.integer({ min: 0, max: 0xffff }),
    unrecognizedOptions: fc.array(cstring, { maxLength: 4 })
  }),
  tagged("NoData"),
  fc.record({
    _tag: fc.constant("NotificationResponse" as const),
    processId: int32,
    channel: cstring,
    payload: cstring
  }),
  fc.record({
    _tag: fc.constant("ParameterDescription" as const),
    oids: fc.array(uint32, { maxLength: 10 })
  }),
  fc.record({ _tag: fc.constant("ParameterStatus" as const), name: cstring, value: cstring }),
  tagged("ParseComplete"),
  tagged("PortalSuspended"),
  fc.record({
    _tag: fc.constant("ReadyForQuery" as const),
    status: fc.constantFrom("I" as const, "T" as const, "E" as const)
  }),
  fc.record({ _tag: fc.constant("RowDescription" as const), fields: fc.array(field, { maxLength: 6 }) })
)

/** A Bind / FunctionCall parameter. */
export const bindParam: fc.Arbitrary<Uint8Array | string | null> = fc.oneof(
  bytes(),
  fc.string({ unit: "grapheme", maxLength: 30 }),
  fc.constant(null)
)

/** Bind parameters with a consistent format code list (none, one for all, or one each). */
export const bindInput = fc.array(bindParam, { maxLength: 10 }).chain((params) =>
  fc.record({
    params: fc.constant(params),
    paramFormats: fc.oneof(
      fc.constant<Array<FormatCode>>([]),
      fc.array(format, { minLength: 1, maxLength: 1 }),
      fc.array(format, { minLength: params.length, maxLength: params.length })
    ),
    resultFormats: fc.array(format, { maxLength: 8 }),
    portal: cstring,
    statement: cstring
  })
)
