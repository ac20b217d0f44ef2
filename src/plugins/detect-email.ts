/**
 * `email`: e-mail addresses, as whole values or inside free text and JSON. A value counts when
 * `validator` accepts it as an address with a top-level domain. Addresses at domains reserved for
 * documentation and testing (RFC 2606 / RFC 6761: example.com, *.test, *.invalid, ...) are not
 * anyone's address, so they never count: that is also what masking writes.
 */
import validator from "validator"
import { findValidated, holdsFreeText, maskEmail, nameSignal } from "../engine/pii-kit.ts"
import { definePlugin, Schema } from "../engine/plugin.ts"

const signal = nameSignal({
  strong: ["email", "e mail", "mail", "email address", "mail address", "courriel", "correo", "emailaddress"],
  weak: ["contact", "login", "recipient", "sender"],
  veto: ["template", "domain", "server", "provider", "count", "status", "type", "verified"]
})

const RESERVED = /(^|\.)(example\.(com|net|org)|example|test|invalid|localhost|local)$/i

export const isPersonalEmail = (value: string): boolean => {
  if (value.length < 6 || value.length > 254 || !value.includes("@")) return false
  if (!validator.isEmail(value, { require_tld: true, allow_ip_domain: false, allow_display_name: false })) return false
  return !RESERVED.test(value.slice(value.lastIndexOf("@") + 1))
}

const CANDIDATE = /[^\s@<>"'(),;:[\]{}\\]+@[^\s@<>"'(),;:[\]{}\\]+\.[a-z]{2,}/gi

export default definePlugin({
  name: "detect-email",
  kind: "detect",
  description: "e-mail addresses (validated, reserved example domains excluded), also inside free text",
  options: Schema.Struct({}),
  make: () => ({
    entity: "email",
    evidence: "format" as const,
    maskExample: maskEmail,
    compile: (column) => {
      if (!holdsFreeText(column)) return undefined
      const columnSignal = signal(column)
      if (columnSignal === undefined) return undefined
      return {
        signal: columnSignal,
        test: (value) => (isPersonalEmail(value.trim()) ? 2 : 0),
        find: (text) => (text.includes("@") ? findValidated(CANDIDATE, text, isPersonalEmail) : undefined)
      }
    }
  })
})
