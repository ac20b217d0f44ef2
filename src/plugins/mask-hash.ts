/**
 * `hash`: a keyed hash of the value (SipHash under the run's mask key, never a bare digest that
 * anyone could recompute from a guessed value), written as `hex`, `base32` or `numeric` digits of
 * `length` characters.
 *
 * A truncated hash can collide, so it is never claimed unique. The one unique form is
 * `format: numeric` without `length` on an integer column: a keyed Feistel permutation of the
 * type's range (smallint, integer, bigint), sign kept, so primary keys stay distinct, stay valid
 * for their type and every foreign key that follows them maps the same way.
 */
import {
  hashWords,
  integerBits,
  makeIntegerPermutation,
  maskOptions,
  requireFamily,
  requireLength,
  typeFamily
} from "../engine/mask-kit.ts"
import { definePlugin, Schema } from "../engine/plugin.ts"

const HEX = "0123456789abcdef"
const BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
const NUMERIC_DIGITS_PER_BLOCK = 15
const TEN_POW_15 = 10n ** 15n

/** Digits a value of an integer type can always hold. */
const INTEGER_DIGITS = { 16: 4, 32: 9, 64: 18 } as const

export default definePlugin({
  name: "hash",
  kind: "mask",
  description: "Keyed hash of the value (hex, base32 or numeric); unique as a permutation of integer keys.",
  options: maskOptions({
    length: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 128 }))),
    format: Schema.optional(Schema.Literals(["hex", "base32", "numeric"]))
  }),
  make: (options, context) => {
    const format = options.format ?? "hex"
    const permutes = format === "numeric" && options.length === undefined
    const length = options.length ?? (format === "hex" ? 16 : format === "base32" ? 12 : 18)
    const purposes = Array.from({ length: Math.ceil(length / 12) + 1 }, (_, i) => `hash\u0000${format}\u0000${i}`)

    /** `length` characters from as many PRF blocks as they need. */
    const digest = (value: string): string => {
      let out = ""
      for (let block = 0; out.length < length; block++) {
        const hash = context.prf(purposes[block]!, value)
        if (format === "numeric") {
          out += (hash % TEN_POW_15).toString().padStart(NUMERIC_DIGITS_PER_BLOCK, "0")
        } else {
          const [low, high] = hashWords(hash)
          if (format === "hex") {
            for (let i = 28; i >= 0; i -= 4) out += HEX[(high >>> i) & 15]
            for (let i = 28; i >= 0; i -= 4) out += HEX[(low >>> i) & 15]
          } else {
            for (let i = 0; i < 6; i++) out += BASE32[(low >>> (5 * i)) & 31]
            for (let i = 0; i < 6; i++) out += BASE32[(high >>> (5 * i)) & 31]
          }
        }
      }
      return out.length === length ? out : out.slice(0, length)
    }

    return {
      deterministic: true,
      unique: permutes,
      mayReturnNull: false,
      check: (column) => {
        const family = typeFamily(column)
        if (permutes) {
          return family === "integer"
            ? undefined
            : `format numeric without length permutes integers, and the column is ${column.type}; give a length for digits as text`
        }
        if (format === "numeric" && family === "integer") {
          const digits = INTEGER_DIGITS[integerBits(column)]
          return length > digits ? `length ${length} is more digits than ${column.type} holds (${digits})` : undefined
        }
        return requireFamily(column, ["text"], `${format} text`) ?? requireLength(column, length)
      },
      compile: (column) => {
        if (!permutes) return digest
        const permutation = makeIntegerPermutation(context.prf, "hash\u0000permutation", integerBits(column))
        return (value) => permutation.forward(BigInt(value)).toString()
      }
    }
  }
})
