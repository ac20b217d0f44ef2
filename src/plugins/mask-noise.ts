/**
 * `noise`: add keyed random noise of up to `percent` percent to numbers, keeping their form:
 * integers stay integers within their type, numeric keeps its scale (`12.50` → `13.07`) and its
 * declared precision, floats stay floats; `min` / `max` clamp the result. Arithmetic on integers
 * and numerics is exact (BigInt on the scaled digits), so huge numerics lose nothing. The noise
 * is a keyed hash of the value: equal values get equal noise. Zero stays zero, NaN and infinities
 * stay as they are.
 */
import type { Buffer } from "node:buffer"
import { columnCodec } from "../engine/binary-values.ts"
import { hashUnit, integerBits, maskOptions, numericTypmod, requireFamily, typeFamily, unitOfWords } from "../engine/mask-kit.ts"
import { type BinaryMask, type BinaryWriter, definePlugin, Schema } from "../engine/plugin.ts"

/** Resolution of the noise factor: parts per billion. */
const PPB = 1_000_000_000n

const roundDiv = (numerator: bigint, denominator: bigint): bigint => {
  const half = denominator / 2n
  return numerator >= 0n ? (numerator + half) / denominator : -((-numerator + half) / denominator)
}

const clamp = (value: bigint, low: bigint | undefined, high: bigint | undefined) =>
  low !== undefined && value < low ? low : high !== undefined && value > high ? high : value

/** `text` (a decimal without exponent) as an integer count of 10^-scale units. */
const scaled = (text: string, scale: number): bigint => {
  const negative = text.startsWith("-")
  const [whole = "0", fraction = ""] = (negative || text.startsWith("+") ? text.slice(1) : text).split(".")
  const units = BigInt(whole + fraction.padEnd(scale, "0").slice(0, scale))
  return negative ? -units : units
}

const formatScaled = (units: bigint, scale: number): string => {
  if (scale === 0) return units.toString()
  const negative = units < 0n
  const digits = (negative ? -units : units).toString().padStart(scale + 1, "0")
  return `${negative ? "-" : ""}${digits.slice(0, -scale)}.${digits.slice(-scale)}`
}

/** Plain decimal text of a JS number (no exponent), for the clamps. */
const decimal = (n: number): string => (Number.isInteger(n) ? BigInt(n).toString() : n.toFixed(20).replace(/0+$/, ""))

// ---------------------------------------------------------------------------------------------
// numeric in binary: int16 ndigits, int16 weight, uint16 sign, int16 dscale, then ndigits
// base-10000 digits, the first weighing 10000^weight.

const NUMERIC_NEG = 0x4000
/** PostgreSQL's text of a binary numeric, as ASCII bytes (what `prf` hashes for the text path too). */
const numericText = new Uint8Array(256)
const POW10 = [1, 10, 100, 1000]

/**
 * Writes the text of a finite numeric into `numericText` and returns its length, leaving the value
 * in scaled units (value × 10^dscale) in `scaledValue` when that is a safe integer (else NaN).
 * -1 when the text would not fit the scratch buffer.
 */
let scaledValue = 0
const readNumeric = (b: Uint8Array, s: number, ndigits: number, weight: number, negative: boolean, dscale: number): number => {
  if (ndigits + Math.max(weight, 0) + dscale > 60) return -1
  let at = 0
  let units = 0
  if (negative) numericText[at++] = 0x2d
  if (weight < 0) {
    numericText[at++] = 0x30
  } else {
    for (let d = 0; d <= weight; d++) {
      const digit = d < ndigits ? (b[s + 8 + 2 * d]! << 8) | b[s + 9 + 2 * d]! : 0
      for (let k = 3; k >= 0; k--) {
        const c = Math.floor(digit / POW10[k]!) % 10
        // The first group prints without leading zeros.
        if (d === 0 && c === 0 && k > 0 && at === (negative ? 1 : 0)) continue
        numericText[at++] = 0x30 + c
        units = units * 10 + c
      }
    }
  }
  if (dscale > 0) {
    numericText[at++] = 0x2e
    for (let f = 0; f < dscale; f++) {
      const d = weight + 1 + (f >> 2)
      const digit = d >= 0 && d < ndigits ? (b[s + 8 + 2 * d]! << 8) | b[s + 9 + 2 * d]! : 0
      const c = Math.floor(digit / POW10[3 - (f & 3)]!) % 10
      numericText[at++] = 0x30 + c
      units = units * 10 + c
    }
  }
  scaledValue = Number.isSafeInteger(units) ? (negative ? -units : units) : Number.NaN
  return at
}

/** floor((x·d + 5·10^8) / 10^9) in magnitude, signed: roundDiv(x·d, 10^9) exactly, or NaN when it might not be. */
const noiseDelta = (x: number, d: number): number => {
  const negative = x < 0 !== d < 0
  const X = Math.abs(x)
  const D = Math.abs(d)
  const a = Math.floor(X / 1e9)
  const b = X - a * 1e9
  const high = a * D
  if (high > Number.MAX_SAFE_INTEGER || D > 1e10) return Number.NaN
  // b·D split so that every product stays exact: b = bh·10^5 + bl.
  const bh = Math.floor(b / 1e5)
  const bl = b - bh * 1e5
  const p = bh * D
  const q1 = Math.floor(p / 1e4)
  const r1 = p - q1 * 1e4
  const n = r1 * 1e5 + bl * D + 5e8
  let q = Math.floor(n / 1e9)
  if (q * 1e9 > n) q--
  else if ((q + 1) * 1e9 <= n) q++
  const magnitude = high + q1 + q
  return negative ? -magnitude : magnitude
}

/** A numeric of `units` × 10^-dscale (a safe integer, dscale ≤ 12), normalized as PostgreSQL stores it. */
const digitGroups = new Int32Array(16)
const writeNumeric = (out: BinaryWriter, units: number, dscale: number): void => {
  const magnitude = Math.abs(units)
  const scale = 10 ** dscale
  let integer = Math.floor(magnitude / scale)
  // The fraction, padded to whole base-10000 digits.
  const fractionGroups = (dscale + 3) >> 2
  let fraction = (magnitude - integer * scale) * 10 ** (fractionGroups * 4 - dscale)
  let integerGroups = 0
  for (let rest = integer; rest > 0; rest = Math.floor(rest / 10000)) integerGroups++
  const total = integerGroups + fractionGroups
  for (let g = total - 1; g >= integerGroups; g--) {
    digitGroups[g] = fraction % 10000
    fraction = Math.floor(fraction / 10000)
  }
  for (let g = integerGroups - 1; g >= 0; g--) {
    digitGroups[g] = integer % 10000
    integer = Math.floor(integer / 10000)
  }
  let first = 0
  while (first < total && digitGroups[first] === 0) first++
  let last = total
  while (last > first && digitGroups[last - 1] === 0) last--
  if (last === first) {
    out.i16(0)
    out.i16(0)
    out.i16(0)
    out.i16(dscale)
    return
  }
  out.i16(last - first)
  out.i16(integerGroups - 1 - first)
  out.i16(units < 0 ? NUMERIC_NEG : 0)
  out.i16(dscale)
  for (let g = first; g < last; g++) out.i16(digitGroups[g]!)
}

const INTEGER_RANGE = {
  16: [-32768n, 32767n],
  32: [-2147483648n, 2147483647n],
  64: [-9223372036854775808n, 9223372036854775807n]
} as const

export default definePlugin({
  name: "noise",
  kind: "mask",
  description: "Multiply numbers by a keyed factor within ±percent %, keeping integer-ness, scale and range.",
  options: maskOptions({
    percent: Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1000, exclusiveMinimum: true })),
    min: Schema.optional(Schema.Finite),
    max: Schema.optional(Schema.Finite)
  }).check(
    Schema.makeFilter((o) =>
      o.min !== undefined && o.max !== undefined && o.min > o.max
        ? { path: ["min"], issue: `min (${o.min}) is greater than max (${o.max})` }
        : undefined
    )
  ),
  make: (options, context) => {
    // The factor's deviation in parts per billion: percent% of a uniform value in [-1, 1).
    const deviation = (value: string): bigint =>
      BigInt(Math.round((hashUnit(context.prf("noise", value)) * 2 - 1) * options.percent * 1e7))
    return {
      deterministic: true,
      unique: false,
      mayReturnNull: false,
      check: (column) => requireFamily(column, ["integer", "numeric", "float"], "numbers"),
      compile: (column) => {
        const family = typeFamily(column)
        if (family === "float") {
          return (value) => {
            const x = Number(value)
            if (!Number.isFinite(x)) return value
            let y = x * (1 + Number(deviation(value)) / 1e9)
            if (options.min !== undefined && y < options.min) y = options.min
            if (options.max !== undefined && y > options.max) y = options.max
            return String(y)
          }
        }
        if (family === "integer") {
          const [low, high] = INTEGER_RANGE[integerBits(column)]
          const min = options.min === undefined ? low : clamp(BigInt(Math.ceil(options.min)), low, high)
          const max = options.max === undefined ? high : clamp(BigInt(Math.floor(options.max)), low, high)
          return (value) => {
            const x = BigInt(value)
            return clamp(x + roundDiv(x * deviation(value), PPB), min, max).toString()
          }
        }
        // numeric: in units of the value's own scale; a declared precision bounds the magnitude.
        const typmod = numericTypmod(column)
        return maskNumeric(typmod)
      },
      compileBinary: (column) => {
        if (typeFamily(column) !== "numeric" || column.baseType !== "numeric") return undefined
        const codec = columnCodec(column)
        if (codec === undefined) return undefined
        const typmod = numericTypmod(column)
        const text = maskNumeric(typmod)
        const words = new Uint32Array(2)
        const deviationOf = (length: number) => {
          context.prfBytesInto("noise", numericText, 0, length, words)
          return Math.round((unitOfWords(words[0]!, words[1]!) * 2 - 1) * options.percent * 1e7)
        }
        // Bounds in units of the last scale seen (a numeric column's values mostly share one).
        let boundsScale = -1
        let min = Number.NaN
        let max = Number.NaN
        let limit = Number.NaN
        const units = (bound: number | undefined, scale: number) =>
          bound === undefined ? Number.NaN : Number(scaled(decimal(bound), scale))
        const slow = (bytes: Uint8Array, start: number, length: number, out: BinaryWriter) =>
          codec.encode(text(codec.decode(bytes as Buffer, start, length))!, out as never)
        const mask: BinaryMask = (bytes, start, length, out) => {
          const ndigits = (bytes[start]! << 8) | bytes[start + 1]!
          const weight = ((bytes[start + 2]! << 24) | (bytes[start + 3]! << 16)) >> 16
          const sign = (bytes[start + 4]! << 8) | bytes[start + 5]!
          const dscale = (bytes[start + 6]! << 8) | bytes[start + 7]!
          if (sign !== 0 && sign !== NUMERIC_NEG) {
            out.bytes(bytes, start, start + length) // NaN and the infinities stay as they are
            return
          }
          const textLength = readNumeric(bytes, start, ndigits, weight, sign === NUMERIC_NEG, dscale)
          if (textLength < 0 || Number.isNaN(scaledValue) || dscale > 12) return slow(bytes, start, length, out)
          if (dscale !== boundsScale) {
            boundsScale = dscale
            min = units(options.min, dscale)
            max = units(options.max, dscale)
            limit = typmod !== undefined && typmod.scale === dscale && typmod.precision <= 15 ? 10 ** typmod.precision - 1 : Number.NaN
            if (typmod !== undefined && typmod.scale === dscale && typmod.precision > 15) boundsScale = -2 // bounds beyond doubles
          }
          if (boundsScale === -2 || !Number.isSafeInteger(min) && options.min !== undefined || !Number.isSafeInteger(max) && options.max !== undefined) {
            return slow(bytes, start, length, out)
          }
          const x = scaledValue
          const delta = noiseDelta(x, deviationOf(textLength))
          if (Number.isNaN(delta)) return slow(bytes, start, length, out)
          let y = x + delta
          if (!Number.isSafeInteger(y)) return slow(bytes, start, length, out)
          if (y < min) y = min
          if (y > max) y = max
          if (y < -limit) y = -limit
          if (y > limit) y = limit
          writeNumeric(out, y, dscale)
        }
        return mask
      }
    }
    function maskNumeric(typmod: { readonly precision: number; readonly scale: number } | undefined) {
        return (value: string) => {
          if (value === "NaN" || value.endsWith("Infinity")) return value
          const dot = value.indexOf(".")
          const scale = dot < 0 ? 0 : value.length - dot - 1
          const x = scaled(value, scale)
          const limit = typmod !== undefined && typmod.scale === scale ? 10n ** BigInt(typmod.precision) - 1n : undefined
          const min = options.min === undefined ? undefined : scaled(decimal(options.min), scale)
          const max = options.max === undefined ? undefined : scaled(decimal(options.max), scale)
          let y = clamp(x + roundDiv(x * deviation(value), PPB), min, max)
          if (limit !== undefined) y = clamp(y, -limit, limit)
          return formatScaled(y, scale)
        }
    }
  }
})
