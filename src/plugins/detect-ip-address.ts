/**
 * `ip-address`: IPv4 and IPv6 addresses (GDPR recital 30: online identifiers), whole values, with
 * a prefix (`10.1.2.3/32`, as `inet` prints), or inside free text; parsed by `validator`. An
 * `inet` or `cidr` column is itself a strong signal. Version-like values whose every part is
 * below 10 (`1.2.3.4`) and the unspecified address count only with a name signal.
 */
import validator from "validator"
import { familyOf, findValidated, maskExample, nameSignal } from "../engine/pii-kit.ts"
import { definePlugin, Schema, type DetectHit } from "../engine/plugin.ts"

const signal = nameSignal({
  strong: ["ip", "ip address", "ip addr", "ipv4", "ipv6", "remote addr", "remote address", "client ip", "client address", "source ip", "ipaddress"],
  weak: ["address", "host", "origin", "remote"],
  veto: ["version", "ver", "release", "build", "count", "type", "email"]
})

export const ipHit = (raw: string): DetectHit => {
  const value = raw.trim()
  const slash = value.indexOf("/")
  const address = slash >= 0 ? value.slice(0, slash) : value
  if (slash >= 0 && !/^\d{1,3}$/.test(value.slice(slash + 1))) return 0
  if (address.includes(":")) {
    if (!validator.isIP(address, 6) || /^[:0]+$/.test(address)) return 0
    return 2
  }
  if (!validator.isIP(address, 4)) return 0
  if (address === "0.0.0.0") return 0
  return address.split(".").every((part) => part.length === 1) ? 1 : 2
}

const CANDIDATE = /\b(?:\d{1,3}\.){3}\d{1,3}\b|\b[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){2,7}\b/gi

export default definePlugin({
  name: "detect-ip-address",
  kind: "detect",
  description: "IPv4/IPv6 addresses and inet/cidr columns; also inside free text",
  options: Schema.Struct({}),
  make: () => ({
    entity: "ip-address",
    evidence: "format" as const,
    maskExample,
    compile: (column) => {
      const family = familyOf(column)
      if (family === "inet") return { signal: "strong", test: ipHit }
      if (family !== "text" && family !== "json") return undefined
      const columnSignal = signal(column)
      if (columnSignal === undefined) return undefined
      return { signal: columnSignal, test: ipHit, find: (text) => findValidated(CANDIDATE, text, (match) => ipHit(match) === 2) }
    }
  })
})
