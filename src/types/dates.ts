/**
 * The calendar and the text forms of dates and times, shared by the value types (values.ts), the
 * codecs (datetime.ts) and ranges of them.
 *
 * Does: convert days since 1970-01-01 ⇄ (year, month, day) in the proleptic Gregorian calendar
 * with astronomical years (year 0 is 1 BC, as PostgreSQL counts: '0001-01-01 BC' is year 0);
 * print dates, times, zones and timestamps exactly as the server does with DateStyle ISO
 * (`EncodeDateOnly`, `EncodeTimeOnly`, `EncodeTimezone`, `EncodeDateTime`): four-digit years
 * (more when needed), " BC" last, fractional seconds without trailing zeros, zones as ±HH[:MM[:SS]].
 * Does NOT: know time zones other than fixed offsets, or parse (datetime.ts does).
 */

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n))

/** Four digits at least (the server's %04d). */
export const pad4 = (n: number): string => (n >= 1000 ? String(n) : `000${n}`.slice(-4))

/** Days since 1970-01-01 of a proleptic Gregorian date (astronomical year). */
export const daysFromCivil = (year: number, month: number, day: number): number => {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
}

/** A civil date; written into a reused object by {@link civilFromDays}. */
export interface Civil {
  year: number
  month: number
  day: number
}

/** The civil date of `days` since 1970-01-01, into `out` (astronomical year). */
export const civilFromDays = (days: number, out: Civil): Civil => {
  const z = days + 719468
  const era = Math.floor(z / 146097)
  const doe = z - era * 146097
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365
  )
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  out.day = doy - Math.floor((153 * mp + 2) / 5) + 1
  out.month = mp < 10 ? mp + 3 : mp - 9
  out.year = yoe + era * 400 + (out.month <= 2 ? 1 : 0)
  return out
}

/** Whether (year, month, day) is a real date (astronomical year). */
export const isValidDate = (year: number, month: number, day: number): boolean => {
  if (month < 1 || month > 12 || day < 1) return false
  if (month === 2) {
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
    return day <= (leap ? 29 : 28)
  }
  return day <= (month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31)
}

const scratch: Civil = { year: 0, month: 0, day: 0 }

/** "YYYY-MM-DD" for `days`, and whether it is BC (the " BC" goes at the very end of a timestamp). */
const datePart = (days: number): string => {
  const c = civilFromDays(days, scratch)
  return `${pad4(c.year > 0 ? c.year : 1 - c.year)}-${pad2(c.month)}-${pad2(c.day)}`
}

const isBC = (days: number): boolean => civilFromDays(days, scratch).year <= 0

/** date_out: "2024-02-29", "0044-03-15 BC", "infinity", "-infinity". */
export const formatDate = (days: number): string => {
  if (days === Infinity) return "infinity"
  if (days === -Infinity) return "-infinity"
  return isBC(days) ? `${datePart(days)} BC` : datePart(days)
}

/** Fractional seconds as the server prints them: "" for 0, else "." and up to 6 digits without trailing zeros. */
const fraction = (micros: number): string => {
  if (micros === 0) return ""
  let s = String(1000000 + micros).slice(1)
  let end = 6
  while (s.charCodeAt(end - 1) === 48) end--
  if (end < 6) s = s.slice(0, end)
  return `.${s}`
}

/** "HH:MM:SS[.ffffff]" for microseconds since midnight (0 .. 86400000000, 24:00:00 included). */
export const formatTime = (micros: number): string => {
  const secs = Math.floor(micros / 1e6)
  const h = Math.floor(secs / 3600)
  const m = Math.floor((secs - h * 3600) / 60)
  return `${pad2(h)}:${pad2(m)}:${pad2(secs - h * 3600 - m * 60)}${fraction(micros - secs * 1e6)}`
}

/** EncodeTimezone: an offset in seconds east of UTC as "+HH", "+HH:MM" or "+HH:MM:SS". */
export const formatZone = (offset: number): string => {
  const abs = Math.abs(offset)
  const h = Math.floor(abs / 3600)
  const m = Math.floor((abs - h * 3600) / 60)
  const s = abs - h * 3600 - m * 60
  const sign = offset < 0 ? "-" : "+"
  return s !== 0
    ? `${sign}${pad2(h)}:${pad2(m)}:${pad2(s)}`
    : m !== 0
      ? `${sign}${pad2(h)}:${pad2(m)}`
      : `${sign}${pad2(h)}`
}

/**
 * timestamp_out / timestamptz_out for seconds since the Unix epoch plus micros (0 .. 999999): with
 * `offset` (seconds east of UTC) the local time there and its zone, without it the UTC wall time.
 */
export const formatTimestamp = (seconds: number, micros: number, offset?: number): string => {
  if (seconds === Infinity) return "infinity"
  if (seconds === -Infinity) return "-infinity"
  const local = seconds + (offset ?? 0)
  const days = Math.floor(local / 86400)
  const time = formatTime((local - days * 86400) * 1e6 + micros)
  const zone = offset === undefined ? "" : formatZone(offset)
  return `${datePart(days)} ${time}${zone}${isBC(days) ? " BC" : ""}`
}

/**
 * ISO 8601 / RFC 3339 in UTC, as Date.prototype.toISOString writes it but with microseconds:
 * "2024-01-02T03:04:05.123456Z"; years outside 0000..9999 as ±YYYYYY (year 0 is 1 BC).
 */
export const formatIso = (seconds: number, micros: number): string => {
  if (seconds === Infinity) return "infinity"
  if (seconds === -Infinity) return "-infinity"
  const days = Math.floor(seconds / 86400)
  const c = civilFromDays(days, scratch)
  const y = c.year
  const year = y >= 0 && y <= 9999 ? pad4(y) : `${y < 0 ? "-" : "+"}${String(Math.abs(y)).padStart(6, "0")}`
  const time = formatTime((seconds - days * 86400) * 1e6 + micros)
  return `${year}-${pad2(c.month)}-${pad2(c.day)}T${time}Z`
}
