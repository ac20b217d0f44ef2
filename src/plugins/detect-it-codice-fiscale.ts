/**
 * `it-codice-fiscale`: the Italian fiscal code: 16 characters coding surname, name, birth date,
 * sex and place, with a check character (validator's `isTaxID(it-IT)`).
 */
import validator from "validator"
import { identifierDetector } from "../engine/pii-kit.ts"
import { definePlugin, Schema } from "../engine/plugin.ts"

export default definePlugin({
  name: "detect-it-codice-fiscale",
  kind: "detect",
  description: "Italian codice fiscale (check character)",
  options: Schema.Struct({}),
  make: () =>
    identifierDetector({
      entity: "it-codice-fiscale",
      numeric: false,
      patterns: { strong: ["codice fiscale", "codicefiscale", "cf", "fiscal code"], weak: ["tax code"] },
      candidate: /\b[A-Z]{6}[0-9LMNP-V]{2}[A-EHLMPR-T][0-9LMNP-V]{2}[A-Z][0-9LMNP-V]{3}[A-Z]\b/gi,
      test: (value) => {
        const compact = value.toUpperCase()
        return compact.length === 16 && validator.isTaxID(compact, "it-IT") ? 2 : 0
      }
    })
})
