/**
 * `redact`: every value becomes one constant (`value`, default `REDACTED`). On a column that is
 * not text the constant must be a valid value of its type: there is no default, and values of
 * the common types are checked before any row moves.
 */
import { codePointLength, maskOptions, requireLength, typeFamily, type TypeFamily } from "../engine/mask-kit.ts"
import { definePlugin, Schema } from "../engine/plugin.ts"

/** How to tell a valid constant of a type family; families not listed are left to PostgreSQL. */
const VALID: Partial<Record<TypeFamily, (value: string) => boolean>> = {
  integer: (value) => /^[+-]?\d+$/.test(value.trim()),
  numeric: (value) => /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$|^nan$|^[+-]?infinity$/i.test(value.trim()),
  float: (value) => /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$|^nan$|^[+-]?infinity$/i.test(value.trim()),
  boolean: (value) => /^(t|f|true|false|yes|no|on|off|1|0)$/i.test(value.trim()),
  date: (value) => /^\d{4,}-\d\d-\d\d( BC)?$|^[+-]?infinity$/.test(value.trim()),
  timestamp: (value) => /^\d{4,}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?( BC)?$|^[+-]?infinity$/.test(value.trim()),
  timestamptz: (value) =>
    /^\d{4,}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d(:?\d\d)?|Z)?( BC)?$|^[+-]?infinity$/.test(value.trim()),
  uuid: (value) => /^\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$/i.test(value.trim()),
  json: (value) => {
    try {
      JSON.parse(value)
      return true
    } catch {
      return false
    }
  }
}

export default definePlugin({
  name: "redact",
  kind: "mask",
  description: "Replace every value with one constant (`value`, default REDACTED).",
  options: maskOptions({ value: Schema.optional(Schema.String) }),
  make: (options) => {
    const value = options.value ?? "REDACTED"
    return {
      deterministic: true,
      // A constant or a generalisation the rule spells out, not a code derived from the value.
      pseudonymous: false,
      unique: false,
      mayReturnNull: false,
      check: (column) => {
        const family = typeFamily(column)
        if (family === "text") return requireLength(column, codePointLength(value))
        if (options.value === undefined) return `the column is ${column.type}; give a \`value\` valid for that type`
        return VALID[family]?.(value) === false ? `value ${JSON.stringify(value)} is not a valid ${column.type}` : undefined
      },
      compile: () => () => value
    }
  }
})
