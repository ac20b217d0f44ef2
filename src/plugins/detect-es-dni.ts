/**
 * `es-dni`: Spanish DNI and NIE numbers: eight digits (NIE: X, Y or Z and seven digits) and the
 * mod-23 control letter (validator's `isTaxID(es-ES)`).
 */
import validator from "validator"
import { identifierDetector } from "../engine/pii-kit.ts"
import { definePlugin, Schema } from "../engine/plugin.ts"

export default definePlugin({
  name: "detect-es-dni",
  kind: "detect",
  description: "Spanish DNI / NIE numbers (mod-23 control letter)",
  options: Schema.Struct({}),
  make: () =>
    identifierDetector({
      entity: "es-dni",
      numeric: false,
      patterns: { strong: ["dni", "nie", "nif", "documento identidad", "documento"], weak: ["national id", "id number"] },
      candidate: /\b[XYZ]?\d{7,8}-?[A-Z]\b/g,
      test: (value) => {
        const compact = value.replace(/[\s-]/g, "").toUpperCase()
        return /^([XYZ]\d{7}|\d{8})[A-Z]$/.test(compact) && validator.isTaxID(compact, "es-ES") ? 2 : 0
      }
    })
})
