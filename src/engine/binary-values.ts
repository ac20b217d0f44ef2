/**
 * Converters between PostgreSQL's binary send/recv format and its canonical text form, so a
 * stage sees the same string for a value whether the table is streamed with `COPY ... (FORMAT
 * binary)` or in text format. "Canonical" is what the type's output function prints in a session
 * with `DateStyle=ISO`, `IntervalStyle=postgres`, `TimeZone=UTC`, `extra_float_digits=1` and
 * `bytea_output=hex` (see `CANONICAL_SESSION_SETTINGS`); that is `SELECT col::text` except for
 * `character(n)` (the cast trims the padding) and `inet` (the cast always adds the mask).
 *
 * Decoding must reproduce PostgreSQL byte for byte; encoding accepts the canonical form and the
 * common spellings PostgreSQL accepts, and throws `ValueError` (without echoing the value, which
 * may be personal data) on anything else. Types without a converter make the engine stream that
 * table in text format instead (`hasBinaryTextCodec`).
 */
import type { Buffer } from "node:buffer"
import { type ByteWriter, decodeUtf8 } from "./byte-writer.ts"
import type { StageColumn } from "./stage.ts"

/** Session settings under which text-format COPY prints exactly what these converters print. */
export const CANONICAL_SESSION_SETTINGS: Readonly<Record<string, string>> = {
  DateStyle: "ISO",
  IntervalStyle: "postgres",
  TimeZone: "UTC",
  extra_float_digits: "1",
  bytea_output: "hex"
}

/** A value that the column's type does not accept; the message names the type, never the value. */
export class ValueError extends Error {
  override readonly name = "ValueError"
}

/** One type's converter; offsets address the value bytes without their length word. */
export interface ValueCodec {
  readonly decode: (bytes: Buffer, start: number, length: number) => string
  /** Append the binary form of `text`; throws `ValueError` when the type rejects it. */
  readonly encode: (text: string, out: ByteWriter) => void
}

// ---------------------------------------------------------------------------------------------
// Byte reading (big-endian, no bounds checks: the row codec has validated every length word).

const int16 = (b: Buffer, p: number) => ((b[p]! << 24) | (b[p + 1]! << 16)) >> 16
const uint16 = (b: Buffer, p: number) => (b[p]! << 8) | b[p + 1]!
const int32 = (b: Buffer, p: number) => (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!
const uint32 = (b: Buffer, p: number) => int32(b, p) >>> 0

const TWO_32 = 4294967296
/** An int64 as an exact number when |value| < 2^52, else as a bigint. */
const int64 = (b: Buffer, p: number): number | bigint => {
  const high = int32(b, p)
  const low = uint32(b, p + 4)
  return high >= -0x100000 && high < 0x100000 ? high * TWO_32 + low : (BigInt(high) << 32n) + BigInt(low)
}
const isInt64Max = (b: Buffer, p: number) => int32(b, p) === 0x7fffffff && int32(b, p + 4) === -1
const isInt64Min = (b: Buffer, p: number) => int32(b, p) === -0x80000000 && int32(b, p + 4) === 0

const writeInt64 = (out: ByteWriter, value: number | bigint) =>
  typeof value === "number" ? out.i64n(value) : out.i64(value)

/** Floor division of an int64 by a positive unit: [quotient, remainder >= 0], both numbers. */
const floorDivide = (value: number | bigint, unit: number): [number, number] => {
  if (typeof value === "number") {
    const quotient = Math.floor(value / unit)
    return [quotient, value - quotient * unit]
  }
  const big = BigInt(unit)
  let quotient = value / big
  let remainder = value % big
  if (remainder < 0n) {
    quotient -= 1n
    remainder += big
  }
  return [Number(quotient), Number(remainder)]
}

/** int64 from a sum that may exceed 2^53: exact via bigint only when needed. */
const toInt64 = (value: number, exactParts: () => bigint): number | bigint =>
  Number.isSafeInteger(value) && Math.abs(value) < 2 ** 52 ? value : exactParts()

// ---------------------------------------------------------------------------------------------
// Text helpers

const invalid = (type: string, detail = "") =>
  new ValueError(`invalid input syntax for type ${type}${detail === "" ? "" : `: ${detail}`}`)
const outOfRange = (type: string) => new ValueError(`value out of range for type ${type}`)

/** PostgreSQL's isspace set for input parsing. */
const SPACE = "[ \\t\\n\\v\\f\\r]"
const trimPg = (text: string) => text.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, "")

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n))
const padYear = (year: number) => (year >= 1000 ? String(year) : String(year).padStart(4, "0"))
/** ".ffffff" without trailing zeros, or "" for a whole second. */
const fraction = (micros: number) => (micros === 0 ? "" : `.${String(micros).padStart(6, "0").replace(/0+$/, "")}`)

/** C's rint(): round half to even, as PostgreSQL rounds fractional seconds. */
const rint = (x: number) => {
  const r = Math.round(x)
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r
}
/** Microseconds of a fractional-second digit string, as PostgreSQL's ParseFractionalSecond. */
const fractionMicros = (digits: string | undefined) => (digits ? rint(Number(`0.${digits}`) * 1_000_000) : 0)

// ---------------------------------------------------------------------------------------------
// Text-like types: the binary form is the UTF-8 text (text, varchar, bpchar, name, citext, json,
// enum labels).

const textCodec: ValueCodec = {
  decode: (b, s, n) => decodeUtf8(b, s, s + n),
  encode: (text, out) => {
    out.utf8(text)
  }
}

const jsonbCodec: ValueCodec = {
  decode: (b, s, n) => {
    if (b[s] !== 1) throw new ValueError(`unsupported jsonb version number ${b[s]}`)
    return decodeUtf8(b, s + 1, s + n)
  },
  encode: (text, out) => {
    out.u8(1)
    out.utf8(text)
  }
}

// ---------------------------------------------------------------------------------------------
// bytea

const HEX_DIGITS = /^[0-9a-fA-F]*$/
const byteaCodec: ValueCodec = {
  decode: (b, s, n) => `\\x${b.toString("hex", s, s + n)}`,
  encode: (text, out) => {
    if (text.startsWith("\\x")) {
      const hex = text.length > 2 && /[ \t\n\r]/.test(text) ? text.slice(2).replace(/[ \t\n\r]/g, "") : text.slice(2)
      if (hex.length % 2 !== 0 || !HEX_DIGITS.test(hex)) throw invalid("bytea", "bad hexadecimal digits")
      out.ensure(hex.length / 2)
      out.pos += out.buf.write(hex, out.pos, "hex")
      return
    }
    // Escape format: \\ is a backslash, \ooo an octal byte, anything else is itself (as UTF-8).
    const start = out.pos
    out.utf8(text)
    const end = out.pos
    let write = start
    for (let read = start; read < end; ) {
      const c = out.buf[read]!
      if (c !== 0x5c) {
        out.buf[write++] = c
        read++
      } else if (out.buf[read + 1] === 0x5c) {
        out.buf[write++] = 0x5c
        read += 2
      } else {
        const d0 = out.buf[read + 1]! - 0x30
        const d1 = out.buf[read + 2]! - 0x30
        const d2 = out.buf[read + 3]! - 0x30
        if (!(read + 3 < end && d0 >= 0 && d0 <= 3 && d1 >= 0 && d1 <= 7 && d2 >= 0 && d2 <= 7)) {
          out.pos = start
          throw invalid("bytea", "bad escape sequence")
        }
        out.buf[write++] = (d0 << 6) | (d1 << 3) | d2
        read += 4
      }
    }
    out.pos = write
  }
}

// ---------------------------------------------------------------------------------------------
// bool

const boolCodec: ValueCodec = {
  decode: (b, s) => (b[s] !== 0 ? "t" : "f"),
  encode: (text, out) => {
    const value = parseBool(trimPg(text).toLowerCase())
    if (value === undefined) throw invalid("boolean")
    out.u8(value ? 1 : 0)
  }
}

/** PostgreSQL's parse_bool: unique prefixes of true/false/yes/no, on/off/of, 1/0. */
const parseBool = (v: string): boolean | undefined => {
  if (v === "") return undefined
  if ("true".startsWith(v) || "yes".startsWith(v) || v === "on" || v === "1") return true
  if ("false".startsWith(v) || "no".startsWith(v) || v === "off" || v === "of" || v === "0") return false
  return undefined
}

// ---------------------------------------------------------------------------------------------
// Integers

const PLAIN_INTEGER = /^-?\d{1,15}$/
const INTEGER = new RegExp(
  `^${SPACE}*([+-]?)(?:0[xX]((?:_?[0-9a-fA-F])+)|0[oO]((?:_?[0-7])+)|0[bB]((?:_?[01])+)|(\\d(?:_?\\d)*))${SPACE}*$`
)

/** An integer literal as pg_strtoint reads it (PG 16+: underscores, 0x/0o/0b prefixes), or undefined. */
const integerLiteral = (text: string): bigint | undefined => {
  const m = INTEGER.exec(text)
  if (m === null) return undefined
  const [, sign, hex, octal, binary, decimal] = m
  const prefix = hex !== undefined ? "0x" : octal !== undefined ? "0o" : binary !== undefined ? "0b" : ""
  const magnitude = BigInt(prefix + (hex ?? octal ?? binary ?? decimal ?? "").replaceAll("_", ""))
  return sign === "-" ? -magnitude : magnitude
}

const parseInteger = (text: string, type: string, min: bigint, max: bigint): number | bigint => {
  if (PLAIN_INTEGER.test(text)) {
    const n = Number(text)
    if (n < Number(min) || n > Number(max)) throw outOfRange(type)
    return n
  }
  const value = integerLiteral(text)
  if (value === undefined) throw invalid(type)
  if (value < min || value > max) throw outOfRange(type)
  return value
}

const int2Codec: ValueCodec = {
  decode: (b, s) => String(int16(b, s)),
  encode: (text, out) => out.i16(Number(parseInteger(text, "smallint", -32768n, 32767n)))
}
const int4Codec: ValueCodec = {
  decode: (b, s) => String(int32(b, s)),
  encode: (text, out) => out.i32(Number(parseInteger(text, "integer", -2147483648n, 2147483647n)))
}
const int8Codec: ValueCodec = {
  decode: (b, s) => String(int64(b, s)),
  encode: (text, out) => {
    const value = parseInteger(text, "bigint", -(2n ** 63n), 2n ** 63n - 1n)
    typeof value === "bigint" ? out.i64(value) : out.i64n(value)
  }
}
const oidCodec: ValueCodec = {
  decode: (b, s) => String(uint32(b, s)),
  // oidin also takes negative input down to -2^31 and wraps it, as the C strtoul it uses.
  encode: (text, out) => out.u32(Number(parseInteger(text, "oid", -2147483648n, 4294967295n)) >>> 0)
}

// ---------------------------------------------------------------------------------------------
// Floats: PostgreSQL (extra_float_digits > 0) prints the shortest string that reads back as the
// same value, in %g-like layout: fixed notation for decimal exponents in [-4, 15) (float8) or
// [-4, 6) (float4), else d.ddde+XX with at least two exponent digits.

/** Lay out significant `digits` whose first digit has decimal exponent `exponent`. */
const layoutFloat = (negative: boolean, digits: string, exponent: number, fixedBelow: number) => {
  const sign = negative ? "-" : ""
  if (exponent < -4 || exponent >= fixedBelow) {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits
    const e = Math.abs(exponent)
    return `${sign}${mantissa}e${exponent < 0 ? "-" : "+"}${e < 10 ? `0${e}` : e}`
  }
  if (exponent < 0) return `${sign}0.${"0".repeat(-exponent - 1)}${digits}`
  if (digits.length <= exponent + 1) return sign + digits + "0".repeat(exponent + 1 - digits.length)
  return `${sign}${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`
}

const floatSpecial = (v: number): string | undefined =>
  v !== v ? "NaN" : v === Infinity ? "Infinity" : v === -Infinity ? "-Infinity" : v === 0 ? (1 / v < 0 ? "-0" : "0") : undefined

/** "d.ddde±x" (JavaScript exponential notation) split into sign, digit string and exponent. */
const splitExponential = (text: string): [boolean, string, number] => {
  const negative = text.charCodeAt(0) === 45
  const e = text.indexOf("e")
  const digits = text.slice(negative ? 1 : 0, e).replace(".", "")
  return [negative, digits, Number(text.slice(e + 1))]
}

const bitsView = new DataView(new ArrayBuffer(8))

/**
 * Whether `digits × 10^scale` lies exactly halfway between |v| and a neighbouring float. Such a
 * decimal reads back as v (ties go to even), so JavaScript may print it, but PostgreSQL's Ryu
 * never does (it is built without acceptBounds): it prints a longer string instead.
 */
const isHalfway = (digits: bigint, scale: number, v: number, float4: boolean): boolean => {
  let mantissa: bigint
  let exponent: number
  let powerOfTwo: boolean
  if (float4) {
    bitsView.setFloat32(0, v)
    const bits = bitsView.getUint32(0)
    const e = (bits >>> 23) & 0xff
    const m = bits & 0x7fffff
    mantissa = BigInt(e === 0 ? m : m + 0x800000)
    exponent = e === 0 ? -149 : e - 150
    powerOfTwo = m === 0 && e > 1
  } else {
    bitsView.setFloat64(0, v)
    const high = bitsView.getUint32(0)
    const e = (high >>> 20) & 0x7ff
    const m = (BigInt(high & 0xfffff) << 32n) + BigInt(bitsView.getUint32(4))
    mantissa = e === 0 ? m : m + (1n << 52n)
    exponent = e === 0 ? -1074 : e - 1075
    powerOfTwo = m === 0n && e > 1
  }
  // In units of a quarter ulp (2^(exponent - 2)), v is 4M and its midpoints 4M + 2 and 4M - 2
  // (4M - 1 below a power of two, where the spacing halves).
  const quarter = exponent - 2
  let numerator = scale >= 0 ? digits * 10n ** BigInt(scale) : digits
  let denominator = scale >= 0 ? 1n : 10n ** BigInt(-scale)
  if (quarter >= 0) denominator *= 1n << BigInt(quarter)
  else numerator <<= BigInt(-quarter)
  if (numerator % denominator !== 0n) return false
  const units = numerator / denominator
  return units === 4n * mantissa + 2n || units === 4n * mantissa - (powerOfTwo ? 1n : 2n)
}

/**
 * PostgreSQL's Ryu output: the shortest digits strictly inside v's rounding interval, the one
 * nearest v among equally short ones. Searches lengths from `fromPrecision` on.
 */
const shortestDigits = (v: number, float4: boolean, fromPrecision: number): [boolean, string, number] => {
  // Ties are only possible for |v| >= 2^22 (float4) or 2^53 (float8); below, skip the check.
  const tiesPossible = Math.abs(v) >= (float4 ? 4194304 : 9007199254740992)
  for (let precision = fromPrecision; precision <= 17; precision++) {
    const [negative, digits, exponent] = splitExponential(v.toExponential(precision - 1))
    const scale = exponent - precision + 1
    const nearest = BigInt(digits)
    // The correctly rounded candidate, or else a neighbour on the wider side of the interval.
    let best: bigint | undefined
    for (const candidate of [nearest, nearest - 1n, nearest + 1n]) {
      if (candidate <= 0n) continue
      const value = Number(`${negative ? "-" : ""}${candidate}e${scale}`)
      if ((float4 ? Math.fround(value) : value) !== v) continue
      if (tiesPossible && isHalfway(candidate, scale, Math.abs(v), float4)) continue
      best = candidate
      break
    }
    if (best !== undefined) {
      const text = String(best)
      return [negative, text.replace(/0+$/, ""), scale + text.length - 1]
    }
  }
  return splitExponential(v.toExponential())
}

const formatFloat8 = (v: number): string => {
  const special = floatSpecial(v)
  if (special !== undefined) return special
  const magnitude = Math.abs(v)
  // In this range JavaScript's shortest round-trip digits are PostgreSQL's (no ties are
  // possible), and its layout is the same.
  if (magnitude >= 1e-4 && magnitude < 1e15) return String(v)
  let [negative, digits, exponent] = splitExponential(v.toExponential())
  if (magnitude >= 9007199254740992 && isHalfway(BigInt(digits), exponent - digits.length + 1, magnitude, false)) {
    ;[negative, digits, exponent] = shortestDigits(v, false, digits.length + 1)
  }
  return layoutFloat(negative, digits, exponent, 15)
}

const formatFloat4 = (v: number): string => {
  const special = floatSpecial(v)
  if (special !== undefined) return special
  const [negative, digits, exponent] = shortestDigits(v, true, 1)
  return layoutFloat(negative, digits, exponent, 6)
}

const FLOAT = new RegExp(`^${SPACE}*[+-]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?${SPACE}*$`)
const FLOAT_SPECIAL: Readonly<Record<string, number>> = {
  nan: NaN, infinity: Infinity, "+infinity": Infinity, inf: Infinity, "+inf": Infinity,
  "-infinity": -Infinity, "-inf": -Infinity
}
const parseFloatText = (text: string, type: string, round: (v: number) => number): number => {
  if (FLOAT.test(text)) {
    const value = round(Number(text))
    // PostgreSQL rejects overflow, and underflow of a non-zero mantissa to zero.
    if (!Number.isFinite(value) || (value === 0 && /[1-9]/.test(text.replace(/[eE].*$/, "")))) throw outOfRange(type)
    return value
  }
  const special = FLOAT_SPECIAL[trimPg(text).toLowerCase()]
  if (special === undefined) throw invalid(type)
  return special
}

const float4Codec: ValueCodec = {
  decode: (b, s) => formatFloat4(b.readFloatBE(s)),
  encode: (text, out) => out.f32(parseFloatText(text, "real", Math.fround))
}
const float8Codec: ValueCodec = {
  decode: (b, s) => formatFloat8(b.readDoubleBE(s)),
  encode: (text, out) => out.f64(parseFloatText(text, "double precision", (v) => v))
}

// ---------------------------------------------------------------------------------------------
// numeric: int16 ndigits, int16 weight (of the first base-10000 digit), uint16 sign, int16
// dscale (decimal digits after the point), then the base-10000 digits.

const NUMERIC_POS = 0x0000
const NUMERIC_NEG = 0x4000
const NUMERIC_NAN = 0xc000
const NUMERIC_PINF = 0xd000
const NUMERIC_NINF = 0xf000
const NUMERIC_DSCALE_MAX = 0x3fff

const pad4 = (n: number) => (n >= 1000 ? String(n) : n >= 100 ? `0${n}` : n >= 10 ? `00${n}` : `000${n}`)

/** PostgreSQL's get_str_from_var. */
const decodeNumeric = (b: Buffer, s: number): string => {
  const ndigits = int16(b, s)
  const weight = int16(b, s + 2)
  const sign = uint16(b, s + 4)
  const dscale = int16(b, s + 6)
  if (sign === NUMERIC_NAN) return "NaN"
  if (sign === NUMERIC_PINF) return "Infinity"
  if (sign === NUMERIC_NINF) return "-Infinity"
  const digit = (d: number) => (d >= 0 && d < ndigits ? uint16(b, s + 8 + 2 * d) : 0)
  let text = sign === NUMERIC_NEG ? "-" : ""
  let d: number
  if (weight < 0) {
    d = weight + 1
    text += "0"
  } else {
    for (d = 0; d <= weight; d++) text += d === 0 ? String(digit(0)) : pad4(digit(d))
  }
  if (dscale > 0) {
    let decimals = ""
    for (let i = 0; i < dscale; d++, i += 4) decimals += pad4(digit(d))
    text += `.${decimals.slice(0, dscale)}`
  }
  return text
}

const NUMERIC = new RegExp(
  `^${SPACE}*([+-]?)(?:(\\d(?:_?\\d)*)(?:\\.((?:\\d(?:_?\\d)*)?))?|\\.(\\d(?:_?\\d)*))(?:[eE]([+-]?\\d+))?${SPACE}*$`
)
const NUMERIC_SPECIAL: Readonly<Record<string, number>> = {
  nan: NUMERIC_NAN, infinity: NUMERIC_PINF, "+infinity": NUMERIC_PINF, inf: NUMERIC_PINF, "+inf": NUMERIC_PINF,
  "-infinity": NUMERIC_NINF, "-inf": NUMERIC_NINF
}

/** PostgreSQL's set_var_from_str: decimal digits, optional point and exponent; no rounding here (the server applies the column's typmod). */
const encodeNumeric = (text: string, out: ByteWriter): void => {
  const m = NUMERIC.exec(text)
  if (m === null) {
    const special = NUMERIC_SPECIAL[trimPg(text).toLowerCase()]
    if (special !== undefined) {
      // PostgreSQL sends dscale 32 for the infinities (bits of its short header); recv ignores it.
      writeNumericHeader(out, 0, 0, special, special === NUMERIC_NAN ? 0 : 32)
      return
    }
    const integer = integerLiteral(text) // only 0x / 0o / 0b integers get here
    if (integer === undefined) throw invalid("numeric")
    encodeNumeric(String(integer), out)
    return
  }
  const [, sign, integerPart = "", fractionA, fractionB, exponentText] = m
  const fractionPart = (fractionA ?? fractionB ?? "").replaceAll("_", "")
  const exponent = exponentText === undefined ? 0 : Number(exponentText)
  if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > 2 * NUMERIC_DSCALE_MAX * 4) throw outOfRange("numeric")
  let digits = integerPart.replaceAll("_", "") + fractionPart
  // Decimal digits before the point, once the exponent is applied.
  let point = digits.length - fractionPart.length + exponent
  const dscale = Math.max(0, fractionPart.length - exponent)
  if (dscale > NUMERIC_DSCALE_MAX) throw outOfRange("numeric")
  const leading = digits.length - digits.replace(/^0+/, "").length
  digits = digits.slice(leading).replace(/0+$/, "")
  point -= leading
  if (digits === "") {
    writeNumericHeader(out, 0, 0, NUMERIC_POS, dscale)
    return
  }
  // Align to base-10000 groups: the first digit has decimal weight point - 1.
  const weight = Math.floor((point - 1) / 4)
  const padded = "0".repeat(weight * 4 + 3 - (point - 1)) + digits
  const ndigits = Math.ceil(padded.length / 4)
  if (weight > 0x7fff || weight < -0x8000 || ndigits > 0x7fff) throw outOfRange("numeric")
  writeNumericHeader(out, ndigits, weight, sign === "-" ? NUMERIC_NEG : NUMERIC_POS, dscale)
  out.ensure(ndigits * 2)
  for (let i = 0; i < ndigits; i++) {
    const group = padded.slice(i * 4, i * 4 + 4)
    out.i16(Number(group.length === 4 ? group : group.padEnd(4, "0")))
  }
}

const writeNumericHeader = (out: ByteWriter, ndigits: number, weight: number, sign: number, dscale: number) => {
  out.i16(ndigits)
  out.i16(weight)
  out.i16(sign) // DataView wraps 0xc000 and friends to int16
  out.i16(dscale)
}

const numericCodec: ValueCodec = { decode: (b, s) => decodeNumeric(b, s), encode: encodeNumeric }

// ---------------------------------------------------------------------------------------------
// Dates and times: days / microseconds since 2000-01-01, proleptic Gregorian, year 0 = 1 BC.

const POSTGRES_EPOCH_JDATE = 2451545
const USECS_PER_DAY = 86_400_000_000
const USECS_PER_HOUR = 3_600_000_000
const USECS_PER_MINUTE = 60_000_000
const UNIX_EPOCH_DAYS = -10957
const DATE_END = 0x7fffffff
const DATE_BEGIN = -0x80000000

/** PostgreSQL's j2date: Julian day to [year (0 = 1 BC), month, day]. */
const julianToDate = (jd: number): [number, number, number] => {
  let julian = jd + 32044
  let quad = Math.floor(julian / 146097)
  const extra = (julian - quad * 146097) * 4 + 3
  julian += 60 + quad * 3 + Math.floor(extra / 146097)
  quad = Math.floor(julian / 1461)
  julian -= quad * 1461
  let y = Math.floor((julian * 4) / 1461)
  julian = (y !== 0 ? (julian + 305) % 365 : (julian + 306) % 366) + 123
  y += quad * 4
  quad = Math.floor((julian * 2141) / 65536)
  return [y - 4800, ((quad + 10) % 12) + 1, julian - Math.floor((7834 * quad) / 256)]
}

/** PostgreSQL's date2j. */
const dateToJulian = (year: number, month: number, day: number): number => {
  let y = year
  let m = month
  if (m > 2) {
    m += 1
    y += 4800
  } else {
    m += 13
    y += 4799
  }
  const century = Math.trunc(y / 100)
  return y * 365 - 32167 + Math.trunc(y / 4) - century + Math.trunc(century / 4) + Math.trunc((7834 * m) / 256) + day
}

const isLeap = (y: number) => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0)
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/** The last day formatted: neighbouring rows often share a day, and formatting is the cost. */
let lastDay = Number.NaN
let lastDayText: [string, boolean] = ["", false]

/** "YYYY-MM-DD" and whether it is BC, for days since 2000-01-01. */
const formatDay = (days: number): [string, boolean] => {
  if (days === lastDay) return lastDayText
  const [year, month, day] = julianToDate(days + POSTGRES_EPOCH_JDATE)
  const bc = year <= 0
  lastDay = days
  lastDayText = [`${padYear(bc ? 1 - year : year)}-${pad2(month)}-${pad2(day)}`, bc]
  return lastDayText
}

/** "HH:MM:SS[.ffffff]" for microseconds since midnight. */
const formatTimeOfDay = (micros: number) => {
  const hours = Math.floor(micros / USECS_PER_HOUR)
  let rest = micros - hours * USECS_PER_HOUR
  const minutes = Math.floor(rest / USECS_PER_MINUTE)
  rest -= minutes * USECS_PER_MINUTE
  const seconds = Math.floor(rest / 1_000_000)
  return `${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}${fraction(rest - seconds * 1_000_000)}`
}

/** Days since 2000-01-01 of a validated calendar date; `bc` years count backwards from 1 BC. */
const daysOf = (type: string, yearText: string, monthText: string, dayText: string, era: string | undefined) => {
  let year = Number(yearText)
  const month = Number(monthText)
  const day = Number(dayText)
  if (era !== undefined && era.toUpperCase() === "BC") {
    if (year === 0) throw invalid(type)
    year = 1 - year
  } else if (year === 0) throw invalid(type)
  if (month < 1 || month > 12) throw new ValueError(`date/time field value out of range for type ${type}`)
  const monthDays = month === 2 && isLeap(year) ? 29 : DAYS_IN_MONTH[month - 1]!
  if (day < 1 || day > monthDays) throw new ValueError(`date/time field value out of range for type ${type}`)
  return dateToJulian(year, month, day) - POSTGRES_EPOCH_JDATE
}

/** Microseconds since midnight of validated clock fields (24:00:00 allowed, leap second 60 too). */
const timeOfDayOf = (type: string, h: string | undefined, m: string | undefined, s: string | undefined, f: string | undefined) => {
  const hours = Number(h ?? 0)
  const minutes = Number(m ?? 0)
  const seconds = Number(s ?? 0)
  const micros = fractionMicros(f)
  if (minutes > 59 || seconds > 60 || hours > 24 || (hours === 24 && (minutes > 0 || seconds > 0 || micros > 0))) {
    throw new ValueError(`date/time field value out of range for type ${type}`)
  }
  return ((hours * 60 + minutes) * 60 + seconds) * 1_000_000 + micros
}

const SPECIAL_TIME: Readonly<Record<string, "infinity" | "-infinity" | "epoch">> = {
  infinity: "infinity", "+infinity": "infinity", "-infinity": "-infinity", epoch: "epoch"
}

const DATE = new RegExp(`^${SPACE}*(\\d{1,7})-(\\d{1,2})-(\\d{1,2})(?:${SPACE}+(BC|AD))?${SPACE}*$`, "i")

const dateCodec: ValueCodec = {
  decode: (b, s) => {
    const days = int32(b, s)
    if (days === DATE_END) return "infinity"
    if (days === DATE_BEGIN) return "-infinity"
    const [text, bc] = formatDay(days)
    return bc ? `${text} BC` : text
  },
  encode: (text, out) => {
    const m = DATE.exec(text)
    if (m === null) {
      const special = SPECIAL_TIME[trimPg(text).toLowerCase()]
      if (special === undefined) throw invalid("date", "expected YYYY-MM-DD [BC]")
      out.i32(special === "infinity" ? DATE_END : special === "-infinity" ? DATE_BEGIN : UNIX_EPOCH_DAYS)
      return
    }
    out.i32(daysOf("date", m[1]!, m[2]!, m[3]!, m[4]))
  }
}

/** Offset in seconds east of UTC of "+HH[:MM[:SS]]", "+HHMM[SS]", "Z" or "UTC". */
const zoneOffset = (zone: string): number => {
  const upper = zone.toUpperCase()
  if (upper === "Z" || upper === "UTC" || upper === "GMT") return 0
  const body = zone.slice(1)
  let fields: Array<string>
  if (body.includes(":")) fields = body.split(":")
  else {
    // Without colons the hour takes one digit when the length is odd: "530" is 5:30.
    const hourDigits = body.length % 2 === 1 ? 1 : 2
    fields = [body.slice(0, hourDigits), body.slice(hourDigits, hourDigits + 2), body.slice(hourDigits + 2)]
  }
  const [hours = 0, minutes = 0, seconds = 0] = fields.map((field) => Number(field || 0))
  if (hours > 15 || minutes > 59 || seconds > 59) throw new ValueError("time zone displacement out of range")
  return (zone[0] === "-" ? -1 : 1) * (hours * 3600 + minutes * 60 + seconds)
}

const ZONE = `(Z|UTC|GMT|[+-]\\d{1,2}(?::?\\d{2}(?::?\\d{2})?)?)`
const TIMESTAMP = new RegExp(
  `^${SPACE}*(\\d{1,7})-(\\d{1,2})-(\\d{1,2})(?:(?:T|${SPACE}+)(\\d{1,2}):(\\d{2})(?::(\\d{2})(?:\\.(\\d*))?)?)?${SPACE}*${ZONE}?(?:${SPACE}+(BC|AD))?${SPACE}*$`,
  "i"
)

const makeTimestampCodec = (withZone: boolean): ValueCodec => {
  const type = withZone ? "timestamp with time zone" : "timestamp without time zone"
  return {
    decode: (b, s) => {
      if (isInt64Max(b, s)) return "infinity"
      if (isInt64Min(b, s)) return "-infinity"
      const [days, micros] = floorDivide(int64(b, s), USECS_PER_DAY)
      const [date, bc] = formatDay(days)
      return `${date} ${formatTimeOfDay(micros)}${withZone ? "+00" : ""}${bc ? " BC" : ""}`
    },
    encode: (text, out) => {
      const m = TIMESTAMP.exec(text)
      if (m === null) {
        const special = SPECIAL_TIME[trimPg(text).toLowerCase()]
        if (special === undefined) throw invalid(type, "expected YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM]] [BC]")
        if (special === "epoch") out.i64n(UNIX_EPOCH_DAYS * USECS_PER_DAY)
        else out.i64(special === "infinity" ? 2n ** 63n - 1n : -(2n ** 63n))
        return
      }
      const days = daysOf(type, m[1]!, m[2]!, m[3]!, m[9])
      // Without a zone column type, PostgreSQL ignores a written zone.
      const shift = withZone && m[8] !== undefined ? zoneOffset(m[8]) * 1_000_000 : 0
      const time = timeOfDayOf(type, m[4], m[5], m[6], m[7]) - shift
      writeInt64(out, toInt64(days * USECS_PER_DAY + time, () => BigInt(days) * BigInt(USECS_PER_DAY) + BigInt(time)))
    }
  }
}

const TIME = new RegExp(`^${SPACE}*(\\d{1,2}):(\\d{2})(?::(\\d{2})(?:\\.(\\d*))?)?${SPACE}*$`)
const timeCodec: ValueCodec = {
  decode: (b, s) => formatTimeOfDay(Number(int64(b, s))),
  encode: (text, out) => {
    const m = TIME.exec(text)
    if (m === null) throw invalid("time without time zone", "expected HH:MM:SS[.ffffff]")
    out.i64n(timeOfDayOf("time without time zone", m[1], m[2], m[3], m[4]))
  }
}

/** PostgreSQL's EncodeTimezone for ISO style; `west` is seconds west of UTC as timetz stores it. */
const formatZone = (west: number) => {
  let seconds = Math.abs(west)
  let minutes = Math.floor(seconds / 60)
  seconds -= minutes * 60
  const hours = Math.floor(minutes / 60)
  minutes -= hours * 60
  const sign = west <= 0 ? "+" : "-"
  if (seconds !== 0) return `${sign}${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}`
  if (minutes !== 0) return `${sign}${pad2(hours)}:${pad2(minutes)}`
  return sign + pad2(hours)
}

const TIMETZ = new RegExp(
  `^${SPACE}*(\\d{1,2}):(\\d{2})(?::(\\d{2})(?:\\.(\\d*))?)?${SPACE}*${ZONE}${SPACE}*$`,
  "i"
)
const timetzCodec: ValueCodec = {
  decode: (b, s) => formatTimeOfDay(Number(int64(b, s))) + formatZone(int32(b, s + 8)),
  encode: (text, out) => {
    const m = TIMETZ.exec(text)
    if (m === null) throw invalid("time with time zone", "expected HH:MM:SS[.ffffff]+HH[:MM]")
    out.i64n(timeOfDayOf("time with time zone", m[1], m[2], m[3], m[4]))
    out.i32(-zoneOffset(m[5]!))
  }
}

// ---------------------------------------------------------------------------------------------
// interval: int64 microseconds, int32 days, int32 months; printed in IntervalStyle=postgres.

const INT32_MAX = 0x7fffffff
const INT32_MIN = -0x80000000

const intervalCodec: ValueCodec = {
  decode: (b, s) => {
    const days = int32(b, s + 8)
    const months = int32(b, s + 12)
    if (months === INT32_MAX && days === INT32_MAX && isInt64Max(b, s)) return "infinity"
    if (months === INT32_MIN && days === INT32_MIN && isInt64Min(b, s)) return "-infinity"
    let text = ""
    let isZero = true
    let isBefore = false
    const part = (value: number, unit: string) => {
      if (value === 0) return
      text += `${isZero ? "" : " "}${isBefore && value > 0 ? "+" : ""}${value} ${unit}${value !== 1 ? "s" : ""}`
      isBefore = value < 0
      isZero = false
    }
    part(Math.trunc(months / 12), "year")
    part(months % 12, "mon")
    part(days, "day")
    const time = int64(b, s)
    if (isZero || time !== 0) {
      // Truncating division, as C does, keeps every field's sign equal to the total's.
      const negative = time < 0
      const magnitude = typeof time === "number" ? Math.abs(time) : time < 0n ? -time : time
      const hours = typeof magnitude === "number" ? Math.floor(magnitude / USECS_PER_HOUR) : magnitude / BigInt(USECS_PER_HOUR)
      const rest = typeof magnitude === "number" ? magnitude % USECS_PER_HOUR : Number(magnitude % BigInt(USECS_PER_HOUR))
      const minutes = Math.floor(rest / USECS_PER_MINUTE)
      const micros = rest % USECS_PER_MINUTE
      const seconds = Math.floor(micros / 1_000_000)
      const hoursText = hours < 10 ? `0${hours}` : String(hours)
      text += `${isZero ? "" : " "}${negative ? "-" : isBefore ? "+" : ""}${hoursText}:${pad2(minutes)}:${pad2(seconds)}${fraction(micros % 1_000_000)}`
    }
    return text
  },
  encode: (text, out) => {
    const trimmed = trimPg(text).toLowerCase()
    if (trimmed === "infinity" || trimmed === "+infinity" || trimmed === "-infinity") {
      const end = trimmed !== "-infinity"
      out.i64(end ? 2n ** 63n - 1n : -(2n ** 63n))
      out.i32(end ? INT32_MAX : INT32_MIN)
      out.i32(end ? INT32_MAX : INT32_MIN)
      return
    }
    const [micros, days, months] = parseInterval(trimmed)
    writeInt64(out, micros)
    out.i32(days)
    out.i32(months)
  }
}

const INTERVAL_UNITS: Readonly<Record<string, readonly [field: "months" | "days" | "micros", scale: number]>> = {
  millennium: ["months", 12000], millenniums: ["months", 12000], millennia: ["months", 12000],
  century: ["months", 1200], centuries: ["months", 1200],
  decade: ["months", 120], decades: ["months", 120],
  year: ["months", 12], years: ["months", 12], yr: ["months", 12], yrs: ["months", 12], y: ["months", 12],
  mon: ["months", 1], mons: ["months", 1], month: ["months", 1], months: ["months", 1],
  week: ["days", 7], weeks: ["days", 7], w: ["days", 7],
  day: ["days", 1], days: ["days", 1], d: ["days", 1],
  hour: ["micros", USECS_PER_HOUR], hours: ["micros", USECS_PER_HOUR], hr: ["micros", USECS_PER_HOUR],
  hrs: ["micros", USECS_PER_HOUR], h: ["micros", USECS_PER_HOUR],
  minute: ["micros", USECS_PER_MINUTE], minutes: ["micros", USECS_PER_MINUTE], min: ["micros", USECS_PER_MINUTE],
  mins: ["micros", USECS_PER_MINUTE], m: ["micros", USECS_PER_MINUTE],
  second: ["micros", 1_000_000], seconds: ["micros", 1_000_000], sec: ["micros", 1_000_000],
  secs: ["micros", 1_000_000], s: ["micros", 1_000_000],
  millisecond: ["micros", 1000], milliseconds: ["micros", 1000], ms: ["micros", 1000],
  microsecond: ["micros", 1], microseconds: ["micros", 1], us: ["micros", 1]
}
const INTERVAL_TOKEN = /\s*(?:([+-]?)(\d+):(\d{1,2})(?::(\d{1,2})(?:\.(\d*))?)?|([+-]?\d+(?:\.\d*)?|[+-]?\.\d+)\s*([a-z]+)|(ago))/y

/** Postgres-style interval input ("1 year 2 mons -3 days +04:05:06.5", "@ 1 day ago"): whole units above hours. */
const parseInterval = (text: string): [number | bigint, number, number] => {
  let micros = 0n
  let days = 0
  let months = 0
  let negate = false
  const body = text.startsWith("@") ? text.slice(1) : text
  INTERVAL_TOKEN.lastIndex = 0
  while (INTERVAL_TOKEN.lastIndex < body.length && !negate) {
    const m = INTERVAL_TOKEN.exec(body)
    if (m === null) throw invalid("interval", "expected postgres-style units such as 1 year 2 mons 3 days 04:05:06")
    if (m[8] !== undefined) {
      negate = true
    } else if (m[2] !== undefined) {
      const clock = BigInt(timeOfDayOf("interval", "0", m[3], m[4], m[5])) + BigInt(m[2]) * BigInt(USECS_PER_HOUR)
      micros += m[1] === "-" ? -clock : clock
    } else {
      const unit = INTERVAL_UNITS[m[7]!]
      if (unit === undefined) throw invalid("interval", "unknown unit")
      const [field, scale] = unit
      const amount = Number(m[6])
      if (field === "micros") micros += BigInt(Math.round(amount * scale))
      else if (!Number.isInteger(amount)) throw invalid("interval", "fractional years, months, weeks or days")
      else if (field === "days") days += amount * scale
      else months += amount * scale
    }
  }
  if (/\S/.test(body.slice(INTERVAL_TOKEN.lastIndex))) throw invalid("interval")
  const sign = negate ? -1 : 1
  if (Math.abs(days) > INT32_MAX || Math.abs(months) > INT32_MAX) throw outOfRange("interval")
  const total = negate ? -micros : micros
  return [total >= -(2n ** 52n) && total < 2n ** 52n ? Number(total) : total, sign * days || 0, sign * months || 0]
}

// ---------------------------------------------------------------------------------------------
// uuid

const UUID = /^\{?[0-9a-fA-F]{4}(?:-?[0-9a-fA-F]{4}){7}\}?$/
const uuidCodec: ValueCodec = {
  decode: (b, s) => {
    const h = b.toString("hex", s, s + 16)
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
  },
  encode: (text, out) => {
    if (!UUID.test(text) || text.startsWith("{") !== text.endsWith("}")) throw invalid("uuid")
    out.ensure(16)
    out.pos += out.buf.write(text.replace(/[{}-]/g, ""), out.pos, "hex")
  }
}

// ---------------------------------------------------------------------------------------------
// inet / cidr: family (2 = IPv4, 3 = IPv6), mask bits, is_cidr, address length, address bytes.

const PGSQL_AF_INET = 2
const PGSQL_AF_INET6 = 3

/** PostgreSQL's inet_net_ntop (without the mask). */
const formatAddress = (b: Buffer, s: number, family: number): string => {
  if (family === PGSQL_AF_INET) return `${b[s]}.${b[s + 1]}.${b[s + 2]}.${b[s + 3]}`
  const words: Array<number> = []
  for (let i = 0; i < 8; i++) words.push(uint16(b, s + 2 * i))
  // The longest run (two or more) of zero words becomes "::".
  let bestBase = -1
  let bestLength = 0
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && words[j] === 0) j++
    if (j - i > bestLength) {
      bestBase = i
      bestLength = j - i
    }
    i = j
  }
  if (bestLength < 2) bestBase = -1
  let text = ""
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLength) {
      if (i === bestBase) text += ":"
      continue
    }
    if (i !== 0) text += ":"
    // IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d) addresses.
    if (i === 6 && bestBase === 0 && (bestLength === 6 || (bestLength === 5 && words[5] === 0xffff))) {
      text += `${b[s + 12]}.${b[s + 13]}.${b[s + 14]}.${b[s + 15]}`
      break
    }
    text += words[i]!.toString(16)
  }
  if (bestBase !== -1 && bestBase + bestLength === 8) text += ":"
  return text
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/
const parseIpv4 = (text: string, into: Array<number>): boolean => {
  const m = IPV4.exec(text)
  if (m === null) return false
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i])
    if (octet > 255) return false
    into.push(octet)
  }
  return true
}

/** Sixteen bytes of an IPv6 address ("::" shorthand, optional trailing dotted IPv4), or undefined. */
const parseIpv6 = (text: string): Array<number> | undefined => {
  const halves = text.split("::")
  if (halves.length > 2) return undefined
  const groups = (half: string | undefined): Array<number> | undefined => {
    if (half === undefined || half === "") return []
    const bytes: Array<number> = []
    const parts = half.split(":")
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!
      if (i === parts.length - 1 && part.includes(".")) {
        if (!parseIpv4(part, bytes)) return undefined
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return undefined
        const word = parseInt(part, 16)
        bytes.push(word >> 8, word & 0xff)
      }
    }
    return bytes
  }
  const head = groups(halves[0])
  const tail = groups(halves[1])
  if (head === undefined || tail === undefined) return undefined
  const gap = 16 - head.length - tail.length
  if (halves.length === 1 ? gap !== 0 : gap < 2) return undefined
  return [...head, ...new Array<number>(gap).fill(0), ...tail]
}

const INET = new RegExp(`^${SPACE}*([0-9a-fA-F:.]+)(?:/(\\d{1,3}))?${SPACE}*$`)

const makeInetCodec = (isCidr: boolean): ValueCodec => {
  const type = isCidr ? "cidr" : "inet"
  return {
    decode: (b, s) => {
      const family = b[s]!
      const bits = b[s + 1]!
      const address = formatAddress(b, s + 4, family)
      return isCidr || bits !== (family === PGSQL_AF_INET ? 32 : 128) ? `${address}/${bits}` : address
    },
    encode: (text, out) => {
      const m = INET.exec(text)
      if (m === null) throw invalid(type)
      const v4: Array<number> = []
      const bytes = parseIpv4(m[1]!, v4) ? v4 : parseIpv6(m[1]!)
      if (bytes === undefined) throw invalid(type, isCidr ? "abbreviated cidr addresses are not supported" : "")
      const maxBits = bytes.length * 8
      const bits = m[2] === undefined ? maxBits : Number(m[2])
      if (bits > maxBits) throw invalid(type, "mask too long")
      out.u8(bytes.length === 4 ? PGSQL_AF_INET : PGSQL_AF_INET6)
      out.u8(bits)
      out.u8(isCidr ? 1 : 0)
      out.u8(bytes.length)
      for (const byte of bytes) out.u8(byte)
    }
  }
}

// ---------------------------------------------------------------------------------------------
// macaddr, bit / varbit

const MACADDR = /^[0-9a-fA-F]{2}([:-]?)[0-9a-fA-F]{2}(?:\1[0-9a-fA-F]{2}){4}$|^[0-9a-fA-F]{6}[:-]?[0-9a-fA-F]{6}$|^(?:[0-9a-fA-F]{4}\.){2}[0-9a-fA-F]{4}$/
const macaddrCodec: ValueCodec = {
  decode: (b, s) => {
    const h = b.toString("hex", s, s + 6)
    return `${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}:${h.slice(6, 8)}:${h.slice(8, 10)}:${h.slice(10)}`
  },
  encode: (text, out) => {
    const trimmed = trimPg(text)
    if (!MACADDR.test(trimmed)) throw invalid("macaddr")
    out.ensure(6)
    out.pos += out.buf.write(trimmed.replace(/[:.-]/g, ""), out.pos, "hex")
  }
}

const bitCodec: ValueCodec = {
  decode: (b, s) => {
    const length = int32(b, s)
    let text = ""
    for (let i = 0; i < length; i++) text += (b[s + 4 + (i >> 3)]! >> (7 - (i & 7))) & 1 ? "1" : "0"
    return text
  },
  encode: (text, out) => {
    let bits = text
    if (/^[xX][0-9a-fA-F]*$/.test(bits)) {
      bits = [...bits.slice(1)].map((h) => parseInt(h, 16).toString(2).padStart(4, "0")).join("")
    } else if (/^[bB]/.test(bits)) bits = bits.slice(1)
    if (!/^[01]*$/.test(bits)) throw invalid("bit", "expected binary digits")
    out.i32(bits.length)
    for (let i = 0; i < bits.length; i += 8) out.u8(parseInt(bits.slice(i, i + 8).padEnd(8, "0"), 2))
  }
}

// ---------------------------------------------------------------------------------------------
// Arrays: int32 ndim, int32 has-nulls flag, uint32 element OID, per dimension int32 size and
// lower bound, then per element an int32 length (-1 = NULL) and the element's binary form.

/** array_out's rule: quote empty strings, NULL, and anything with "\{}, or whitespace. */
const quoteElement = (text: string): string => {
  let quote = text.length === 0 || (text.length === 4 && text.toUpperCase() === "NULL")
  let escapes = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22 || c === 0x5c) escapes = quote = true
    else if (c === 0x7b || c === 0x7d || c === 0x2c || c === 0x20 || (c >= 0x09 && c <= 0x0d)) quote = true
  }
  if (!quote) return text
  return `"${escapes ? text.replace(/["\\]/g, "\\$&") : text}"`
}

const decodeArray = (element: ValueCodec, b: Buffer, s: number): string => {
  const ndim = int32(b, s)
  if (ndim === 0) return "{}"
  const sizes: Array<number> = []
  let decoration = ""
  let customBounds = false
  let p = s + 12
  for (let d = 0; d < ndim; d++) {
    const size = int32(b, p)
    const lower = int32(b, p + 4)
    sizes.push(size)
    if (lower !== 1) customBounds = true
    decoration += `[${lower}:${lower + size - 1}]`
    p += 8
  }
  const level = (d: number): string => {
    let text = "{"
    const size = sizes[d]!
    for (let i = 0; i < size; i++) {
      if (i > 0) text += ","
      if (d + 1 < ndim) {
        text += level(d + 1)
        continue
      }
      const length = int32(b, p)
      p += 4
      if (length < 0) {
        text += "NULL"
      } else {
        text += quoteElement(element.decode(b, p, length))
        p += length
      }
    }
    return `${text}}`
  }
  const body = level(0)
  return customBounds ? `${decoration}=${body}` : body
}

interface ParsedArray {
  readonly sizes: Array<number>
  readonly lowerBounds: Array<number>
  readonly elements: Array<string | null>
}

const isArraySpace = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d)

/** array_in: optional "[lo:hi]..." bounds, nested braces, quoted or unquoted elements, NULL. */
const parseArrayText = (text: string): ParsedArray => {
  const fail = (detail: string) => invalid("array", detail)
  let p = 0
  const skipSpace = () => {
    while (p < text.length && isArraySpace(text.charCodeAt(p))) p++
  }
  const lowerBounds: Array<number> = []
  const declared: Array<number> = []
  skipSpace()
  while (text[p] === "[") {
    const m = /^\[\s*([+-]?\d+)\s*(?::\s*([+-]?\d+)\s*)?\]/.exec(text.slice(p))
    if (m === null) throw fail("bad dimension bounds")
    const lower = m[2] === undefined ? 1 : Number(m[1])
    const upper = Number(m[2] ?? m[1])
    lowerBounds.push(lower)
    declared.push(upper - lower + 1)
    p += m[0].length
    skipSpace()
  }
  if (lowerBounds.length > 0) {
    if (text[p] !== "=") throw fail("missing \"=\" after dimensions")
    p++
    skipSpace()
  }
  const sizes: Array<number> = []
  const elements: Array<string | null> = []
  let depthOfElements = -1
  const level = (depth: number): void => {
    if (text[p] !== "{") throw fail("expected \"{\"")
    p++
    skipSpace()
    let count = 0
    if (text[p] === "}") {
      p++
    } else {
      for (;;) {
        skipSpace()
        if (text[p] === "{") {
          if (depthOfElements !== -1 && depthOfElements <= depth) throw fail("multidimensional arrays must have sub-arrays with matching dimensions")
          level(depth + 1)
        } else {
          if (depthOfElements === -1) depthOfElements = depth
          else if (depthOfElements !== depth) throw fail("multidimensional arrays must have sub-arrays with matching dimensions")
          elements.push(element())
        }
        count++
        skipSpace()
        const c = text[p++]
        if (c === "}") break
        if (c !== ",") throw fail("expected \",\" or \"}\"")
      }
    }
    if (sizes[depth] === undefined) sizes[depth] = count
    else if (sizes[depth] !== count) throw fail("multidimensional arrays must have sub-arrays with matching dimensions")
  }
  const element = (): string | null => {
    let value = ""
    if (text[p] === "\"") {
      p++
      for (;;) {
        if (p >= text.length) throw fail("unterminated quoted element")
        const c = text[p++]!
        if (c === "\"") return value
        value += c === "\\" ? text[p++] ?? "" : c
      }
    }
    let escaped = false
    let kept = 0 // length of value up to its last escaped character (never trimmed)
    for (;;) {
      if (p >= text.length) throw fail("unexpected end of input")
      const c = text[p]!
      if (c === "," || c === "}") break
      if (c === "{" || c === "\"") throw fail("unexpected character")
      p++
      if (c === "\\") {
        value += text[p++] ?? ""
        escaped = true
        kept = value.length
      } else value += c
    }
    let end = value.length
    while (end > kept && isArraySpace(value.charCodeAt(end - 1))) end--
    value = value.slice(0, end)
    if (value === "") throw fail("empty unquoted element")
    return !escaped && value.length === 4 && value.toUpperCase() === "NULL" ? null : value
  }
  level(0)
  skipSpace()
  if (p !== text.length) throw fail("junk after closing right brace")
  if (elements.length === 0) return { sizes: [], lowerBounds: [], elements }
  if (lowerBounds.length > 0 && (lowerBounds.length !== sizes.length || declared.some((n, i) => n !== sizes[i]))) {
    throw fail("specified array dimensions do not match array contents")
  }
  return { sizes, lowerBounds: lowerBounds.length > 0 ? lowerBounds : sizes.map(() => 1), elements }
}

const encodeArray = (element: ValueCodec, text: string, out: ByteWriter, elementOid: number): void => {
  const { sizes, lowerBounds, elements } = parseArrayText(text)
  out.i32(sizes.length)
  out.i32(elements.includes(null) ? 1 : 0)
  out.u32(elementOid)
  for (let d = 0; d < sizes.length; d++) {
    out.i32(sizes[d]!)
    out.i32(lowerBounds[d]!)
  }
  for (const value of elements) {
    if (value === null) {
      out.i32(-1)
      continue
    }
    const at = out.pos
    out.i32(0)
    element.encode(value, out)
    out.patchI32(at, out.pos - at - 4)
  }
}

// ---------------------------------------------------------------------------------------------
// Type lookup by StageColumn.baseType (format_type of the base or element type).

interface ScalarType {
  readonly codec: ValueCodec
  /** Built-in OID, written into array headers; undefined for enums and extension types. */
  readonly oid: number | undefined
}

const scalar = (codec: ValueCodec, oid: number | undefined): ScalarType => ({ codec, oid })
const TEXT = scalar(textCodec, 25)
const INT4 = scalar(int4Codec, 23)
const INT8 = scalar(int8Codec, 20)
const INT2 = scalar(int2Codec, 21)
const FLOAT4 = scalar(float4Codec, 700)
const FLOAT8 = scalar(float8Codec, 701)
const BOOL = scalar(boolCodec, 16)
const TIMESTAMP_TYPE = scalar(makeTimestampCodec(false), 1114)
const TIMESTAMPTZ_TYPE = scalar(makeTimestampCodec(true), 1184)
const TIME_TYPE = scalar(timeCodec, 1083)
const TIMETZ_TYPE = scalar(timetzCodec, 1266)
const VARCHAR = scalar(textCodec, 1043)
const BPCHAR = scalar(textCodec, 1042)
const NUMERIC_TYPE = scalar(numericCodec, 1700)
const BIT = scalar(bitCodec, 1560)

const SCALAR_TYPES: ReadonlyMap<string, ScalarType> = new Map([
  ["text", TEXT],
  ["character varying", VARCHAR], ["varchar", VARCHAR],
  ["character", BPCHAR], ["bpchar", BPCHAR],
  ["name", scalar(textCodec, 19)],
  ["citext", scalar(textCodec, undefined)],
  ["json", scalar(textCodec, 114)],
  ["jsonb", scalar(jsonbCodec, 3802)],
  ["bytea", scalar(byteaCodec, 17)],
  ["boolean", BOOL], ["bool", BOOL],
  ["smallint", INT2], ["int2", INT2],
  ["integer", INT4], ["int", INT4], ["int4", INT4],
  ["bigint", INT8], ["int8", INT8],
  ["oid", scalar(oidCodec, 26)],
  ["real", FLOAT4], ["float4", FLOAT4],
  ["double precision", FLOAT8], ["float8", FLOAT8],
  ["numeric", NUMERIC_TYPE], ["decimal", NUMERIC_TYPE],
  ["date", scalar(dateCodec, 1082)],
  ["timestamp without time zone", TIMESTAMP_TYPE], ["timestamp", TIMESTAMP_TYPE],
  ["timestamp with time zone", TIMESTAMPTZ_TYPE], ["timestamptz", TIMESTAMPTZ_TYPE],
  ["time without time zone", TIME_TYPE], ["time", TIME_TYPE],
  ["time with time zone", TIMETZ_TYPE], ["timetz", TIMETZ_TYPE],
  ["interval", scalar(intervalCodec, 1186)],
  ["uuid", scalar(uuidCodec, 2950)],
  ["inet", scalar(makeInetCodec(false), 869)],
  ["cidr", scalar(makeInetCodec(true), 650)],
  ["macaddr", scalar(macaddrCodec, 829)],
  ["bit", BIT], ["bit varying", scalar(bitCodec, 1562)], ["varbit", scalar(bitCodec, 1562)]
])

const ENUM = scalar(textCodec, undefined)

/** "pg_catalog.timestamp(3) with time zone[]" -> "timestamp with time zone". */
const normalizeTypeName = (name: string) =>
  name
    .replace(/\(\s*\d+(?:\s*,\s*-?\d+)?\s*\)/g, "")
    .replace(/(?:\[\])+$/, "")
    .replace(/^(?:"?[^".]+"?\.)+/, "")
    .replaceAll("\"", "")
    .replace(/\s+/g, " ")
    .trim()
    .toLowerCase()

const columnCodecs = new WeakMap<StageColumn, ValueCodec | null>()

const makeColumnCodec = (column: StageColumn): ValueCodec | undefined => {
  const type = column.isEnum === true ? ENUM : SCALAR_TYPES.get(normalizeTypeName(column.baseType))
  if (type === undefined) return undefined
  if (!column.isArray) return type.codec
  // An array value's header names its element type by OID, and the target checks it: only
  // built-in element types have OIDs known here (and equal in every database). A column typed
  // `d[]` whose `d` is a domain over a built-in type has the domain's OID as element type.
  const elementOid = type.oid
  const declared = column.type.endsWith("[]") ? normalizeTypeName(column.type) : undefined
  if (elementOid === undefined || (declared !== undefined && declared !== normalizeTypeName(column.baseType))) return undefined
  const element = type.codec
  return {
    decode: (b, s) => decodeArray(element, b, s),
    encode: (text, out) => encodeArray(element, text, out, elementOid)
  }
}

/** The converter for a column's values, or undefined when its type has none. */
export const columnCodec = (column: StageColumn): ValueCodec | undefined => {
  const cached = columnCodecs.get(column)
  if (cached !== undefined) return cached ?? undefined
  const codec = makeColumnCodec(column)
  columnCodecs.set(column, codec ?? null)
  return codec
}

/**
 * Whether a column's values can be converted between binary and text. When a stage touches a
 * column without a converter, the engine streams that table in text format. Arrays need a
 * built-in element type (not an enum, extension type or domain): binary array values carry the
 * element type's OID, which differs between databases for user-defined types.
 */
export const hasBinaryTextCodec = (column: StageColumn): boolean => columnCodec(column) !== undefined
