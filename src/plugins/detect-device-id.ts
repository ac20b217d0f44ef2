/**
 * `device-id`: device identifiers (HIPAA Safe Harbor (M)). An IMEI (15 digits, Luhn, by
 * `validator`) validates on its own; advertising and vendor ids (IDFA, GAID, Android ID: UUIDs or
 * 16 hex digits) look like any machine identifier, so they count only where the column's name
 * says device.
 */
import validator from "validator"
import { familyOf, isUuidLike, maskExample, nameSignal, repeatedDigits } from "../engine/pii-kit.ts"
import { definePlugin, Schema, type DetectHit } from "../engine/plugin.ts"

const signal = nameSignal({
  strong: ["imei", "device id", "deviceid", "idfa", "idfv", "gaid", "aaid", "advertising id", "ad id", "android id", "udid", "device identifier", "device serial", "push token"],
  weak: ["device", "handset"],
  veto: ["type", "model", "count", "name", "os", "brand", "vendor"]
})

export const imeiHit = (digits: string): boolean => /^\d{15}$/.test(digits) && !repeatedDigits(digits) && validator.isIMEI(digits)

export default definePlugin({
  name: "detect-device-id",
  kind: "detect",
  description: "device identifiers: IMEI (Luhn); advertising/vendor ids with a name signal",
  options: Schema.Struct({}),
  make: () => ({
    entity: "device-id",
    evidence: "checksum" as const,
    maskExample,
    compile: (column) => {
      const family = familyOf(column)
      if (family !== "text" && family !== "uuid" && family !== "integer" && family !== "numeric") return undefined
      const columnSignal = signal(column)
      if (columnSignal === undefined) return undefined
      return {
        signal: columnSignal,
        test: (raw): DetectHit => {
          const value = raw.trim()
          const digits = value.replace(/[ -]/g, "")
          if (imeiHit(digits)) return 2
          return isUuidLike(value) || /^[0-9a-f]{16}$/i.test(value) ? 1 : 0
        }
      }
    }
  })
})
