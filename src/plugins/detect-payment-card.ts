/**
 * `payment-card`: card numbers (PAN). 12–19 digits, optionally grouped by spaces or dashes, with a
 * known issuer prefix and length (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay) and a
 * valid Luhn digit, by `validator`. Luhn alone passes one random number in ten, so the issuer
 * rules and the column's share of hits do the rest; repeated digits and epoch timestamps never
 * count. Numeric columns are scanned too: a PAN stored as bigint is still a PAN.
 */
import validator from "validator"
import { familyOf, findValidated, isEpochLike, maskExample, nameSignal, repeatedDigits, separatedDigits } from "../engine/pii-kit.ts"
import { definePlugin, Schema } from "../engine/plugin.ts"

const signal = nameSignal({
  strong: ["card", "card number", "cc", "cc num", "cc number", "credit card", "pan", "kreditkarte", "carte", "tarjeta", "cardnumber", "creditcard"],
  weak: ["payment", "account"],
  veto: ["type", "brand", "expiry", "exp", "cvv", "cvc", "holder", "count", "last four", "last4", "token"]
})

export const isCardNumber = (value: string): boolean => {
  const digits = separatedDigits(value.trim())
  if (digits === undefined || digits.length < 12 || digits.length > 19) return false
  if (repeatedDigits(digits) || isEpochLike(digits)) return false
  return validator.isCreditCard(digits)
}

const CANDIDATE = /\b\d(?:[ -]?\d){11,18}\b/g

export default definePlugin({
  name: "detect-payment-card",
  kind: "detect",
  description: "payment card numbers: issuer prefix and length, Luhn; also inside free text and in numeric columns",
  options: Schema.Struct({}),
  make: () => ({
    entity: "payment-card",
    evidence: "checksum" as const,
    maskExample,
    compile: (column) => {
      const family = familyOf(column)
      if (family !== "text" && family !== "json" && family !== "integer" && family !== "numeric") return undefined
      const columnSignal = signal(column)
      if (columnSignal === undefined) return undefined
      return {
        signal: columnSignal,
        test: (value) => (isCardNumber(value) ? 2 : 0),
        ...(family === "text" || family === "json" ? { find: (text: string) => findValidated(CANDIDATE, text, isCardNumber) } : {})
      }
    }
  })
})
