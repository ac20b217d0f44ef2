/**
 * `nl-bsn`: the Dutch citizen service number (burgerservicenummer): nine digits passing the
 * "11-proef" (validator's `isTaxID(nl-NL)`). One random nine-digit number in eleven passes.
 */
import validator from "validator"
import { identifierDetector, padDigits, repeatedDigits } from "../engine/pii-kit.ts"
import { definePlugin, Schema } from "../engine/plugin.ts"

export default definePlugin({
  name: "detect-nl-bsn",
  kind: "detect",
  description: "Dutch BSN numbers (11-proof)",
  options: Schema.Struct({}),
  make: () =>
    identifierDetector({
      entity: "nl-bsn",
      numeric: true,
      patterns: { strong: ["bsn", "burgerservicenummer", "sofinummer", "sofi"], weak: ["citizen number"] },
      test: (value, column) => {
        const digits = padDigits(value.replace(/[ .]/g, ""), column, 9)
        return /^\d{9}$/.test(digits) && !repeatedDigits(digits) && validator.isTaxID(digits, "nl-NL") ? 2 : 0
      }
    })
})
