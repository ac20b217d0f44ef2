/**
 * `ca-sin`: Canadian Social Insurance numbers: nine digits (often 3-3-3), first digit not 0 or 8,
 * Luhn check (validator's `isTaxID(en-CA)`).
 */
import validator from "validator"
import { identifierDetector, padDigits, repeatedDigits } from "../engine/pii-kit.ts"
import { definePlugin, Schema } from "../engine/plugin.ts"

export default definePlugin({
  name: "detect-ca-sin",
  kind: "detect",
  description: "Canadian Social Insurance numbers (Luhn)",
  options: Schema.Struct({}),
  make: () =>
    identifierDetector({
      entity: "ca-sin",
      numeric: true,
      patterns: { strong: ["sin", "social insurance", "social insurance number", "nas", "numero assurance sociale"], weak: [] },
      candidate: /\b\d{3}[ -]\d{3}[ -]\d{3}\b/g,
      test: (value, column) => {
        if (!/^\d{3}[ -]?\d{3}[ -]?\d{3}$/.test(value) && !/^\d{1,9}$/.test(value)) return 0
        const digits = padDigits(value.replace(/[ -]/g, ""), column, 9)
        return !/^[08]/.test(digits) && !repeatedDigits(digits) && validator.isTaxID(digits, "en-CA") ? 2 : 0
      }
    })
})
