/**
 * `mac-address`: hardware (MAC) addresses, EUI-48 and EUI-64, with `:`, `-` or `.` separators
 * (`validator`); the all-zero and broadcast addresses are not a device. A `macaddr` column is
 * itself a strong signal.
 */
import validator from "validator"
import { familyOf, findValidated, maskExample, nameSignal } from "../engine/pii-kit.ts"
import { definePlugin, Schema } from "../engine/plugin.ts"

const signal = nameSignal({
  strong: ["mac", "mac address", "macaddr", "hw addr", "hwaddr", "hardware address", "bssid", "ethernet address"],
  weak: ["device", "interface"]
})

export const isMacAddress = (raw: string): boolean => {
  const value = raw.trim()
  if (!/[:.-]/.test(value) || !validator.isMACAddress(value, { eui: "48" }) && !validator.isMACAddress(value, { eui: "64" })) return false
  const hex = value.replace(/[:.-]/g, "").toLowerCase()
  return !/^0+$/.test(hex) && !/^f+$/.test(hex)
}

const CANDIDATE = /\b[0-9a-f]{2}(?:[:-][0-9a-f]{2}){5,7}\b/gi

export default definePlugin({
  name: "detect-mac-address",
  kind: "detect",
  description: "MAC addresses (EUI-48/64) and macaddr columns; also inside free text",
  options: Schema.Struct({}),
  make: () => ({
    entity: "mac-address",
    evidence: "format" as const,
    maskExample,
    compile: (column) => {
      const family = familyOf(column)
      if (family === "mac") return { signal: "strong", test: (value) => (isMacAddress(value) ? 2 : 0) }
      if (family !== "text" && family !== "json") return undefined
      const columnSignal = signal(column)
      if (columnSignal === undefined) return undefined
      return {
        signal: columnSignal,
        test: (value) => (isMacAddress(value) ? 2 : 0),
        find: (text) => findValidated(CANDIDATE, text, isMacAddress)
      }
    }
  })
})
