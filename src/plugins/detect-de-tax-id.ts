/**
 * `de-tax-id`: the German Steuerliche Identifikationsnummer: eleven digits, no leading zero, the
 * digit-frequency rule and the ISO 7064 mod 11,10 check digit (validator's `isTaxID(de-DE)`).
 */
import validator from "validator"
import { identifierDetector, isEpochLike } from "../engine/pii-kit.ts"
import { definePlugin, Schema } from "../engine/plugin.ts"

export default definePlugin({
  name: "detect-de-tax-id",
  kind: "detect",
  description: "German tax identification numbers (Steuer-IdNr, mod 11,10 check)",
  options: Schema.Struct({}),
  make: () =>
    identifierDetector({
      entity: "de-tax-id",
      numeric: true,
      patterns: { strong: ["steuer id", "steuerid", "steuer idnr", "idnr", "steuernummer", "steueridentifikationsnummer", "tax id", "tin"], weak: ["tax number"] },
      candidate: /\b[1-9]\d{10}\b/g,
      test: (value) => {
        const digits = value.replace(/[ /]/g, "")
        return /^[1-9]\d{10}$/.test(digits) && !isEpochLike(digits) && validator.isTaxID(digits, "de-DE") ? 2 : 0
      }
    })
})
