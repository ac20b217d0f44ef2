/**
 * `phone`: telephone and fax numbers, valid for their region by libphonenumber's full metadata.
 * A number written with `+` or `00` is checked for its own country; one written nationally with
 * separators (`(415) 555-0132`, `030 1234567`) is tried in the regions the scan names, the region
 * that matched last first. Bare digit strings count only when the column's name says phone: on
 * their own they are as likely order numbers or timestamps.
 */
import { parsePhoneNumberFromString, type CountryCode } from "libphonenumber-js/max"
import { familyOf, findValidated, isEpochLike, maskExample, nameSignal, repeatedDigits } from "../engine/pii-kit.ts"
import { definePlugin, Schema, type DetectHit } from "../engine/plugin.ts"

const signal = nameSignal({
  strong: ["phone", "telephone", "tel", "mobile", "cell", "cellphone", "fax", "msisdn", "telefon", "telefono", "téléphone", "handy", "portable", "gsm", "phonenumber", "phone number", "whatsapp"],
  weak: ["contact"],
  veto: ["type", "count", "verified", "prefix", "extension", "ext", "country code", "model", "brand", "version", "ver", "release", "build"]
})

const PHONE_CHARS = /^\+?[\d\s().\/-]{7,24}$/
const CANDIDATE = /(?:\+|\b)\d[\d\s().\/-]{6,20}\d\b/g

export default definePlugin({
  name: "detect-phone",
  kind: "detect",
  description: "phone and fax numbers valid for their region (libphonenumber), also inside free text",
  options: Schema.Struct({}),
  make: (_options, context) => ({
    entity: "phone",
    evidence: "format" as const,
    maskExample,
    compile: (column) => {
      const family = familyOf(column)
      if (family !== "text" && family !== "json" && family !== "integer" && family !== "numeric") return undefined
      const columnSignal = signal(column)
      if (columnSignal === undefined) return undefined
      const regions = [...context.regions] as Array<CountryCode>
      let preferred = 0
      /** Valid in one of the regions; remembers which, since a column is usually one country. */
      const validNationally = (value: string): boolean => {
        for (let i = 0; i < regions.length; i++) {
          const index = (preferred + i) % regions.length
          if (parsePhoneNumberFromString(value, regions[index]!)?.isValid() === true) {
            preferred = index
            return true
          }
        }
        return false
      }
      const test = (raw: string): DetectHit => {
        const value = raw.trim()
        if (!PHONE_CHARS.test(value)) return 0
        const digits = value.replace(/\D/g, "")
        if (digits.length < 7 || digits.length > 15 || repeatedDigits(digits)) return 0
        if (value.startsWith("+") || value.startsWith("00")) {
          const international = value.startsWith("00") ? `+${value.slice(2)}` : value
          return parsePhoneNumberFromString(international)?.isValid() === true ? 2 : 0
        }
        // `7.14.22.199` is a version, not a number someone dials.
        if (/^\d\./.test(value)) return 0
        const bare = digits.length === value.length
        if (bare) {
          // Bare digits are a phone number only where the column says so.
          if (columnSignal === "none" || isEpochLike(digits)) return 0
          return validNationally(value) || parsePhoneNumberFromString(`+${value}`)?.isValid() === true ? 1 : 0
        }
        return validNationally(value) ? 2 : 0
      }
      return {
        signal: columnSignal,
        test,
        ...(family === "text" || family === "json"
          ? { find: (text: string) => findValidated(CANDIDATE, text, (match) => !/^\d+$/.test(match.trim()) && test(match) === 2) }
          : {})
      }
    }
  })
})
