/**
 * `postal-code`: postal codes of the scan's regions (validator's `isPostalCode`). Five digits or
 * `SW1A 1AA` are far too common to mean anything alone, so a value counts only where the
 * column's name says zip or postal code.
 */
import validator from "validator"
import { familyOf, maskExample, nameSignal } from "../engine/pii-kit.ts"
import { definePlugin, Schema } from "../engine/plugin.ts"

const signal = nameSignal({
  strong: ["zip", "zipcode", "zip code", "postal", "postal code", "postcode", "post code", "plz", "postleitzahl", "code postal", "codigo postal", "cap", "cep", "pin code", "postnummer", "postcode nl"],
  weak: []
})

const LOCALES = new Set<string>(validator.isPostalCodeLocales as ReadonlyArray<string>)

export default definePlugin({
  name: "detect-postal-code",
  kind: "detect",
  description: "postal codes (validator's isPostalCode for the scan's regions), only in columns named for them",
  options: Schema.Struct({}),
  make: (_options, context) => {
    const locales = [...context.regions.filter((region) => LOCALES.has(region)), "any"] as Array<validator.PostalCodeLocale>
    return {
      entity: "postal-code",
      evidence: "shape" as const,
      maskExample,
      compile: (column) => {
        const family = familyOf(column)
        if (family !== "text" && family !== "integer") return undefined
        const columnSignal = signal(column)
        if (columnSignal === undefined || columnSignal === "none") return undefined
        return {
          signal: columnSignal,
          test: (raw) => {
            const value = raw.trim()
            if (value.length < 3 || value.length > 10) return 0
            return locales.some((locale) => validator.isPostalCode(value, locale)) ? 1 : 0
          }
        }
      }
    }
  }
})
