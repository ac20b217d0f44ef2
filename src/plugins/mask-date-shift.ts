/**
 * `date_shift`: move each date by a keyed offset of 1 to `max_days` days, earlier or later, on
 * date, timestamp and timestamptz columns. The time of day, fractional seconds and UTC offset are
 * kept exactly as PostgreSQL printed them, `infinity` stays `infinity`, and BC dates work.
 *
 * The offset is a keyed hash of the calendar day alone, not of the whole value: every value on
 * one day moves by the same offset, in every column and table, so a birth date and a timestamp of
 * the same day stay on one day and the order of events within a day is kept. (It also means the
 * offset reveals nothing beyond the day, which the output already shows shifted.)
 * `keep_year: true` keeps the shifted date in its year: an offset that would leave the year is
 * applied the other way, and clamped to the year's first or last day if that leaves it too.
 */
import { hashIndex, maskOptions, requireFamily, typeFamily } from "../engine/mask-kit.ts"
import { type BinaryMask, definePlugin, Schema } from "../engine/plugin.ts"

/** Days since 1970-01-01 of a proleptic Gregorian date (astronomical year: 1 BC is year 0). */
const daysFromCivil = (year: number, month: number, day: number): number => {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
}

const civilFromDays = (days: number): readonly [year: number, month: number, day: number] => {
  const z = days + 719468
  const era = Math.floor(z / 146097)
  const doe = z - era * 146097
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365)
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1
  const month = mp + (mp < 10 ? 3 : -9)
  return [era * 400 + yoe + (month <= 2 ? 1 : 0), month, day]
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n))

const DATE = /^(\d{4,})-(\d\d)-(\d\d)/

/** Distinct days remembered per strategy instance (a few MB at most). */
const DAY_CACHE_LIMIT = 50_000

/** Days from 1970-01-01 (our day numbers) to 2000-01-01 (PostgreSQL's epoch of binary dates). */
const PG_EPOCH_DAYS = 10957
const MICROS_PER_DAY = 86_400_000_000
const INT64_MAX = 0x7fffffffffffffffn
const INT64_MIN = -0x8000000000000000n
/** The binary path's direct table: 2^17 days (about 359 years) from 1800-01-01. */
const CACHE_DAYS = 1 << 17
const CACHE_FIRST_DAY = -62091
const NOT_CACHED = -0x80000000

export default definePlugin({
  name: "date_shift",
  kind: "mask",
  description: "Shift dates by a keyed offset of up to max_days days (same day, same offset); keep_year keeps the year.",
  options: maskOptions({
    max_days: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 36500 }))),
    keep_year: Schema.optional(Schema.Boolean)
  }),
  make: (options, context) => {
    const maxDays = options.max_days ?? 30
    const keepYear = options.keep_year === true
    /** A non-zero offset in [-maxDays, maxDays] from the day's text. */
    const offsetOf = (day: string) => {
      const index = hashIndex(context.prf("date_shift", day), 2 * maxDays)
      return index < maxDays ? index - maxDays : index - maxDays + 1
    }
    /**
     * The shifted day (days since 1970-01-01) of a day given both ways: its number and its text as
     * PostgreSQL prints it without the era (`0044-03-15` for 44 BC), which keys the offset.
     */
    const shiftedDays = (days: number, year: number, dayText: string): number => {
      const offset = offsetOf(dayText)
      let shifted = days + offset
      if (keepYear && civilFromDays(shifted)[0] !== year) {
        shifted = days - offset
        if (civilFromDays(shifted)[0] !== year) {
          shifted = offset > 0 ? daysFromCivil(year, 12, 31) : daysFromCivil(year, 1, 1)
        }
      }
      return shifted
    }
    /** The shifted day of `day` (`YYYY-MM-DD`, BC or not), as `[new day text, " BC" or ""]`. */
    const shiftDay = (day: string, bc: boolean): readonly [string, string] => {
      const match = DATE.exec(day)!
      const printedYear = Number(match[1])
      const year = bc ? 1 - printedYear : printedYear
      const [y, m, d] = civilFromDays(shiftedDays(daysFromCivil(year, Number(match[2]), Number(match[3])), year, day))
      return [`${String(y <= 0 ? 1 - y : y).padStart(4, "0")}-${pad2(m)}-${pad2(d)}`, y <= 0 ? " BC" : ""]
    }
    // Days repeat (a table spans some thousands of them), so each day's result is kept: the hot
    // loop is then a match and a lookup. Bounded: cleared when it reaches DAY_CACHE_LIMIT.
    const ad = new Map<string, readonly [string, string]>()
    const bcDays = new Map<string, readonly [string, string]>()
    const shift = (value: string): string => {
      const match = DATE.exec(value)
      if (match === null) {
        if (value === "infinity" || value === "-infinity") return value
        throw new Error(`date_shift: not a date or timestamp as PostgreSQL prints one: ${JSON.stringify(value.slice(0, 40))}`)
      }
      const day = match[0]
      const bc = value.endsWith(" BC")
      const cache = bc ? bcDays : ad
      let shifted = cache.get(day)
      if (shifted === undefined) {
        if (cache.size >= DAY_CACHE_LIMIT) cache.clear()
        shifted = shiftDay(day, bc)
        cache.set(day, shifted)
      }
      if (value.length === day.length && shifted[1] === "") return shifted[0]
      const rest = value.slice(day.length, bc ? -3 : value.length)
      return shifted[0] + rest + shifted[1]
    }
    // The binary path works on day numbers: a direct table of the shifted days of CACHE_DAYS days
    // around today (no hashing once a day was seen), computed outside it.
    const cached = new Int32Array(CACHE_DAYS).fill(NOT_CACHED)
    const shiftDayNumber = (days: number): number => {
      const index = days - CACHE_FIRST_DAY
      if (index >= 0 && index < CACHE_DAYS) {
        const hit = cached[index]!
        if (hit !== NOT_CACHED) return hit
      }
      const [y, m, d] = civilFromDays(days)
      const shifted = shiftedDays(days, y, `${String(y <= 0 ? 1 - y : y).padStart(4, "0")}-${pad2(m)}-${pad2(d)}`)
      if (index >= 0 && index < CACHE_DAYS) cached[index] = shifted
      return shifted
    }
    /** date: int32 days since 2000-01-01; ±infinity are the int32 extremes. */
    const shiftDate: BinaryMask = (bytes, start, _length, out) => {
      const pgDays = (bytes[start]! << 24) | (bytes[start + 1]! << 16) | (bytes[start + 2]! << 8) | bytes[start + 3]!
      out.i32(pgDays === 0x7fffffff || pgDays === -0x80000000 ? pgDays : shiftDayNumber(pgDays + PG_EPOCH_DAYS) - PG_EPOCH_DAYS)
    }
    /** timestamp(tz): int64 microseconds since 2000-01-01 00:00 UTC; ±infinity are the int64 extremes. */
    const shiftTimestamp: BinaryMask = (bytes, start, length, out) => {
      const high = (bytes[start]! << 24) | (bytes[start + 1]! << 16) | (bytes[start + 2]! << 8) | bytes[start + 3]!
      const low = ((bytes[start + 4]! << 24) | (bytes[start + 5]! << 16) | (bytes[start + 6]! << 8) | bytes[start + 7]!) >>> 0
      // |value| < 2^52 µs (about 142 years either side of 2000) is exact in a double.
      if (high >= -0x100000 && high < 0x100000) {
        const micros = high * 0x100000000 + low
        const day = Math.floor(micros / MICROS_PER_DAY)
        out.i64n((shiftDayNumber(day + PG_EPOCH_DAYS) - PG_EPOCH_DAYS) * MICROS_PER_DAY + (micros - day * MICROS_PER_DAY))
        return
      }
      const micros = (BigInt(high) << 32n) | BigInt(low)
      if (micros === INT64_MAX || micros === INT64_MIN) {
        out.bytes(bytes, start, start + length)
        return
      }
      const perDay = BigInt(MICROS_PER_DAY)
      // BigInt division truncates; step a negative remainder back into the day.
      let day = micros / perDay
      if (micros - day * perDay < 0n) day -= 1n
      const shifted = BigInt(shiftDayNumber(Number(day) + PG_EPOCH_DAYS) - PG_EPOCH_DAYS)
      out.i64(shifted * perDay + (micros - day * perDay))
    }
    return {
      deterministic: true,
      unique: false,
      mayReturnNull: false,
      check: (column) => requireFamily(column, ["date", "timestamp", "timestamptz"], "dates"),
      compile: () => shift,
      compileBinary: (column) => {
        const family = typeFamily(column)
        return family === "date" ? shiftDate : family === "timestamp" || family === "timestamptz" ? shiftTimestamp : undefined
      }
    }
  }
})
