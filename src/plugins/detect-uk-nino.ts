/**
 * `uk-nino`: UK National Insurance numbers: two prefix letters from the allowed set (and none of
 * the never-issued prefixes), six digits, a suffix A–D; spaces allowed.
 */
import { identifierDetector, ninoValid } from "../engine/pii-kit.ts"
import { definePlugin, Schema } from "../engine/plugin.ts"

export default definePlugin({
  name: "detect-uk-nino",
  kind: "detect",
  description: "UK National Insurance numbers (prefix rules, suffix A-D)",
  options: Schema.Struct({}),
  make: () =>
    identifierDetector({
      entity: "uk-nino",
      evidence: "format" as const,
      numeric: false,
      patterns: { strong: ["nino", "ni number", "national insurance", "ni no", "insurance number"], weak: ["national id"] },
      candidate: /\b[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b/g,
      test: (value) => (ninoValid(value) ? 2 : 0)
    })
})
