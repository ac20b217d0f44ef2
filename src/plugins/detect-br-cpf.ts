/**
 * `br-cpf`: the Brazilian individual taxpayer number (CPF): eleven digits, often `###.###.###-##`,
 * with two check digits (validator's `isTaxID(pt-BR)`; one random number in a hundred passes).
 */
import validator from "validator"
import { identifierDetector, padDigits, repeatedDigits } from "../engine/pii-kit.ts"
import { definePlugin, Schema } from "../engine/plugin.ts"

export default definePlugin({
  name: "detect-br-cpf",
  kind: "detect",
  description: "Brazilian CPF numbers (two check digits)",
  options: Schema.Struct({}),
  make: () =>
    identifierDetector({
      entity: "br-cpf",
      numeric: true,
      patterns: { strong: ["cpf", "cadastro pessoa", "cadastro de pessoas fisicas"], weak: ["tax id", "documento"] },
      candidate: /\b\d{3}\.\d{3}\.\d{3}-\d{2}\b/g,
      test: (value, column) => {
        const match = /^(\d{3})\.?(\d{3})\.?(\d{3})-?(\d{2})$/.exec(value)
        const digits = match !== null ? match.slice(1).join("") : padDigits(value, column, 11)
        return /^\d{11}$/.test(digits) && !repeatedDigits(digits) && validator.isTaxID(digits, "pt-BR") ? 2 : 0
      }
    })
})
