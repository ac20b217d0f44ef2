/**
 * `iban`: international bank account numbers: the country's length and BBAN format and the ISO
 * 7064 mod-97 check, by `validator`. About one random string in 97 passes the check, and the
 * country format removes most of the rest, so hits are strong evidence; also found inside text.
 */
import validator from "validator"
import { findValidated, holdsFreeText, maskExample, nameSignal } from "../engine/pii-kit.ts"
import { definePlugin, Schema } from "../engine/plugin.ts"

const signal = nameSignal({
  strong: ["iban", "bank account", "account number", "konto", "rib", "kontonummer", "cuenta"],
  weak: ["account", "bank"],
  veto: ["type", "count", "bic", "swift"]
})

export const isIban = (value: string): boolean => {
  const compact = value.replace(/[\s-]+/g, "").toUpperCase()
  return compact.length >= 15 && compact.length <= 34 && /^[A-Z]{2}\d{2}/.test(compact) && validator.isIBAN(compact)
}

const CANDIDATE = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g

export default definePlugin({
  name: "detect-iban",
  kind: "detect",
  description: "IBANs: country format and mod-97 check; also inside free text",
  options: Schema.Struct({}),
  make: () => ({
    entity: "iban",
    evidence: "checksum" as const,
    maskExample,
    compile: (column) => {
      if (!holdsFreeText(column)) return undefined
      const columnSignal = signal(column)
      if (columnSignal === undefined) return undefined
      return {
        signal: columnSignal,
        test: (value) => (isIban(value.trim()) ? 2 : 0),
        find: (text) => findValidated(CANDIDATE, text, isIban)
      }
    }
  })
})
