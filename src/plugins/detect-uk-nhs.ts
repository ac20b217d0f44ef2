/**
 * `uk-nhs`: NHS numbers: ten digits (often written 3-3-4) with the mod-11 check digit. About one
 * random ten-digit number in eleven passes, so a column needs a high share of hits, or its name.
 */
import { identifierDetector, isEpochLike, nhsValid, padDigits } from "../engine/pii-kit.ts"
import { definePlugin, Schema } from "../engine/plugin.ts"

export default definePlugin({
  name: "detect-uk-nhs",
  kind: "detect",
  description: "UK NHS numbers (mod-11 check digit)",
  options: Schema.Struct({}),
  make: () =>
    identifierDetector({
      entity: "uk-nhs",
      numeric: true,
      patterns: { strong: ["nhs", "nhs number", "nhs no", "nhs id"], weak: ["patient number", "health number", "patient id"] },
      candidate: /\b\d{3}[ -]?\d{3}[ -]?\d{4}\b/g,
      test: (value, column) => {
        if (!/^\d{3}[ -]?\d{3}[ -]?\d{4}$/.test(value) && !/^\d{1,10}$/.test(value)) return 0
        const digits = padDigits(value.replace(/[ -]/g, ""), column, 10)
        return !isEpochLike(digits) && nhsValid(digits) ? 2 : 0
      }
    })
})
