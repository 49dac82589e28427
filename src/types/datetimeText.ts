/**
 * The ISO text of dates, times and timestamps as the server prints them with DateStyle ISO —
 * "2024-02-29", "0044-03-15 BC", "24:00:00", "12:00:00+05:30", "2024-01-02 03:04:05.123456+00:17:30",
 * "infinity" — parsed into numbers, and the ISO 8601 forms ("T" separator, "Z") a caller may pass.
 *
 * Does: validate fields (real calendar dates, times up to 24:00:00), round fractions beyond the
 * microsecond, convert BC years to astronomical ones; write the results into `parsed`, one reused
 * object (no allocation per value).
 * Does NOT: read other DateStyles, zone names or abbreviations (a Malformed ValueError).
 */
import { daysFromCivil, isValidDate } from "./dates.ts"
import { malformed, quoted } from "./ValueError.ts"

/** The cursor of the parse in progress. */
let pos = 0

/** The last result: seconds since 1970 (UTC) and micros, or the zone of a time (seconds east). */
export const parsed = { seconds: 0, micros: 0, offset: 0, hasZone: false }

const digits = (type: string, s: string): number => {
  const start = pos
  let n = 0
  for (; pos < s.length; pos++) {
    const c = s.charCodeAt(pos)
    if (c < 48 || c > 57) break
    n = n * 10 + (c - 48)
  }
  if (pos === start) throw malformed(type, `${quoted(s)} is not in ISO format`)
  return n
}

const expectChar = (type: string, s: string, code: number): void => {
  if (s.charCodeAt(pos) !== code) throw malformed(type, `${quoted(s)} is not in ISO format`)
  pos++
}

/** "[YYYY]YYYY-MM-DD": days since 1970 of the (not yet BC-adjusted) year, checked. */
const dateFields = (type: string, s: string): [number, number, number] => {
  const year = digits(type, s)
  expectChar(type, s, 45)
  const month = digits(type, s)
  expectChar(type, s, 45)
  return [year, month, digits(type, s)]
}

const toDays = (
  type: string,
  s: string,
  [year, month, day]: [number, number, number],
  bc: boolean
): number => {
  const y = bc ? 1 - year : year
  if (!isValidDate(y, month, day)) throw malformed(type, `${quoted(s)} is not a valid date`)
  return daysFromCivil(y, month, day)
}

/** "HH:MM[:SS[.ffffff]]": microseconds since midnight; more than 6 fraction digits are rounded. */
const timeOfDay = (type: string, s: string): number => {
  const h = digits(type, s)
  expectChar(type, s, 58)
  const m = digits(type, s)
  let sec = 0
  let micros = 0
  if (s.charCodeAt(pos) === 58) {
    pos++
    sec = digits(type, s)
    if (s.charCodeAt(pos) === 46) {
      pos++
      let scale = 100000
      let round = 0
      const start = pos
      for (; pos < s.length; pos++) {
        const c = s.charCodeAt(pos)
        if (c < 48 || c > 57) break
        if (scale >= 1) micros += (c - 48) * scale
        else if (scale > 0.05) round = c >= 53 ? 1 : 0
        scale /= 10
      }
      if (pos === start) throw malformed(type, `${quoted(s)} has an empty fraction`)
      micros += round
    }
  }
  if (m > 59 || sec > 60 || h * 3600e6 + m * 60e6 + sec * 1e6 + micros > 86400e6)
    throw malformed(type, `${quoted(s)} is not a valid time`)
  return ((h * 60 + m) * 60 + sec) * 1e6 + micros
}

/** "+HH[:MM[:SS]]", "-HH…" or "Z": seconds east of UTC into `parsed`; nothing there leaves hasZone false. */
const zone = (type: string, s: string): void => {
  parsed.hasZone = false
  parsed.offset = 0
  const c = s.charCodeAt(pos)
  if (c === 90) {
    pos++
    parsed.hasZone = true
    return
  }
  if (c !== 43 && c !== 45) return
  pos++
  let offset = digits(type, s) * 3600
  if (s.charCodeAt(pos) === 58) {
    pos++
    offset += digits(type, s) * 60
    if (s.charCodeAt(pos) === 58) {
      pos++
      offset += digits(type, s)
    }
  }
  parsed.offset = c === 45 ? 0 - offset : offset
  parsed.hasZone = true
}

const endsBC = (s: string): boolean => s.endsWith(" BC")

/** Parses a timestamp text into `parsed` (seconds since 1970 in UTC, micros). */
export const parseTimestamp = (type: string, s: string, zoned: boolean): void => {
  if (s === "infinity" || s === "-infinity") {
    parsed.seconds = s === "infinity" ? Infinity : -Infinity
    parsed.micros = 0
    return
  }
  const bc = endsBC(s)
  const end = bc ? s.length - 3 : s.length
  pos = 0
  const fields = dateFields(type, s)
  let tod = 0
  const sep = s.charCodeAt(pos)
  if (pos < end && (sep === 32 || sep === 84)) {
    pos++
    tod = timeOfDay(type, s)
  }
  zone(type, s)
  if (pos !== end) throw malformed(type, `${quoted(s)} is not in ISO format`)
  if (zoned && !parsed.hasZone) throw malformed(type, `${quoted(s)} has no UTC offset`)
  if (!zoned && parsed.hasZone) throw malformed(type, `${quoted(s)} has a UTC offset`)
  const secs = Math.floor(tod / 1e6)
  parsed.seconds = toDays(type, s, fields, bc) * 86400 + secs - parsed.offset
  parsed.micros = tod - secs * 1e6
}

export const parseDate = (s: string): number => {
  if (s === "infinity") return Infinity
  if (s === "-infinity") return -Infinity
  const bc = endsBC(s)
  pos = 0
  const fields = dateFields("date", s)
  if (pos !== (bc ? s.length - 3 : s.length)) throw malformed("date", `${quoted(s)} is not in ISO format`)
  return toDays("date", s, fields, bc)
}

export const parseTime = (type: string, s: string, zoned: boolean): number => {
  pos = 0
  const micros = timeOfDay(type, s)
  zone(type, s)
  if (pos !== s.length || zoned !== parsed.hasZone) throw malformed(type, `${quoted(s)} is not in ISO format`)
  return micros
}
