/**
 * `noise`: add keyed random noise of up to `percent` percent to numbers, keeping their form:
 * integers stay integers within their type, numeric keeps its scale (`12.50` → `13.07`) and its
 * declared precision, floats stay floats; `min` / `max` clamp the result. Arithmetic on integers
 * and numerics is exact (BigInt on the scaled digits), so huge numerics lose nothing. The noise
 * is a keyed hash of the value: equal values get equal noise. Zero stays zero, NaN and infinities
 * stay as they are.
 */
import { hashUnit, integerBits, maskOptions, numericTypmod, requireFamily, typeFamily } from "../engine/mask-kit.ts"
import { definePlugin, Schema } from "../engine/plugin.ts"

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
        return (value) => {
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
  }
})
