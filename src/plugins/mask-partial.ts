/**
 * `partial`: keep the first `keep_first` and last `keep_last` characters and replace the rest
 * with `mask_char`, keeping the length (`4111********1111`). Characters are code points, as
 * PostgreSQL counts them for `varchar(n)`, so the output always fits where the input did and an
 * emoji is never cut in half. A value too short to hide anything is masked entirely.
 */
import { codePointLength, maskOptions, requireFamily } from "../engine/mask-kit.ts"
import { definePlugin, Schema } from "../engine/plugin.ts"

const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

export default definePlugin({
  name: "partial",
  kind: "mask",
  description: "Keep the first and last characters, mask the middle, keep the length.",
  options: maskOptions({
    keep_first: Schema.optional(Count),
    keep_last: Schema.optional(Count),
    mask_char: Schema.optional(
      Schema.String.check(
        Schema.makeFilter((c) => (codePointLength(c) === 1 ? undefined : `mask_char must be one character, not ${JSON.stringify(c)}`))
      )
    )
  }),
  make: (options) => {
    const first = options.keep_first ?? 0
    const last = options.keep_last ?? 0
    const maskChar = options.mask_char ?? "*"
    const simpleMask = maskChar.length === 1
    const mask = (value: string): string => {
      // Fast path: no surrogate pairs, so UTF-16 units are code points.
      if (simpleMask && !/[\uD800-\uDFFF]/.test(value)) {
        const n = value.length
        if (n <= first + last) return maskChar.repeat(n)
        return value.slice(0, first) + maskChar.repeat(n - first - last) + value.slice(n - last)
      }
      const chars = Array.from(value)
      const n = chars.length
      if (n <= first + last) return maskChar.repeat(n)
      return chars.slice(0, first).join("") + maskChar.repeat(n - first - last) + chars.slice(n - last).join("")
    }
    return {
      deterministic: true,
      unique: false,
      mayReturnNull: false,
      check: (column) => requireFamily(column, ["text"], "text"),
      compile: () => mask
    }
  }
})
