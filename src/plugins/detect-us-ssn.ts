/**
 * `us-ssn`: US Social Security numbers. There is no checksum, only rules (area not 000, 666 or
 * 900–999, group not 00, serial not 0000, published examples excluded), which most random
 * nine-digit numbers pass; so `123-45-6789`-style values validate on their own, while bare nine
 * digits (also from integer columns, leading zeros restored) count only where the column's name
 * says SSN.
 */
import { identifierDetector, padDigits, ssnValid } from "../engine/pii-kit.ts"
import { definePlugin, Schema } from "../engine/plugin.ts"

export default definePlugin({
  name: "detect-us-ssn",
  kind: "detect",
  description: "US Social Security numbers: SSA area/group/serial rules; bare digits only with a name signal",
  options: Schema.Struct({}),
  make: () =>
    identifierDetector({
      entity: "us-ssn",
      evidence: "format" as const,
      numeric: true,
      patterns: { strong: ["ssn", "social security", "social security number", "soc sec", "ss number", "ssn number"], weak: ["tin", "tax id", "taxpayer id"] },
      candidate: /\b\d{3}-\d{2}-\d{4}\b/g,
      test: (value, column) => {
        const formatted = /^(\d{3})[- ](\d{2})[- ](\d{4})$/.exec(value)
        if (formatted !== null) return ssnValid(`${formatted[1]}${formatted[2]}${formatted[3]}`) ? 2 : 0
        const digits = padDigits(value, column, 9)
        return /^\d{9}$/.test(digits) && ssnValid(digits) ? 1 : 0
      }
    })
})
