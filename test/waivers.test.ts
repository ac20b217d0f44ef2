/**
 * Waiver files: a valid file decodes; every malformed file (YAML error, unknown key, missing
 * reason, bad date, bad fingerprint, duplicate) fails with file:line:column; an expired entry
 * fails whether or not it matches; matching moves findings to `waived`, unmatched entries are
 * stale, and a `rule` that contradicts the matched finding is an error. No file: every finding
 * open. The JSON of a waived finding and of a stale entry, as gate reports print them.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { finding, findingJson, type Finding } from "../src/engine/findings.ts"
import { applyWaivers, checkExpiry, loadCheckedWaivers, parseWaivers, staleJson, waivedJson, type WaiverSet } from "../src/engine/waivers.ts"

const FILE = "waivers.yaml"
const TODAY = new Date("2026-06-15T12:00:00Z")

const dropped = finding({
  rule: "drift/column-dropped",
  severity: "breaking",
  object: { kind: "column", schema: "public", table: "actor", column: "nickname" },
  before: "text",
  after: null,
  message: "column public.actor.nickname is dropped"
})
const nullable = finding({
  rule: "drift/column-nullable",
  severity: "hazard",
  object: { kind: "column", schema: "public", table: "actor", column: "last_name" },
  before: "NOT NULL",
  after: "NULL",
  message: "column public.actor.last_name becomes nullable"
})

/** The error message of a failing parse (the test fails if it succeeds). */
const parseError = (text: string) => Effect.flip(parseWaivers(text, FILE)).pipe(Effect.map((error) => error.message))

const set = (text: string) => parseWaivers(text, FILE)

describe("parseWaivers", () => {
  it.effect("decodes entries, with and without rule, and records each entry's line", () =>
    Effect.gen(function* () {
      const parsed = yield* set(`# accepted drift
waivers:
  - fingerprint: ${dropped.fingerprint}
    rule: drift/column-dropped
    reason: legacy column, removed in DB-123
    expires: 2026-12-31
  - fingerprint: ${nullable.fingerprint}
    reason: "relaxed on purpose"
    expires: "2026-07-01"
`)
      expect(parsed).toStrictEqual({
        path: FILE,
        waivers: [
          { fingerprint: dropped.fingerprint, rule: "drift/column-dropped", reason: "legacy column, removed in DB-123", expires: "2026-12-31", at: `${FILE}:3` },
          { fingerprint: nullable.fingerprint, reason: "relaxed on purpose", expires: "2026-07-01", at: `${FILE}:7` }
        ]
      })
    })
  )

  it.effect("an empty list is valid", () =>
    Effect.gen(function* () {
      expect((yield* set("waivers: []\n")).waivers).toStrictEqual([])
    })
  )

  it.effect("a YAML syntax error names file, line and column", () =>
    Effect.gen(function* () {
      const message = yield* parseError(`waivers:\n  - fingerprint: "${dropped.fingerprint}\n    reason: x\n`)
      expect(message).toMatch(new RegExp(`^${FILE}:\\d+:\\d+: YAML syntax error`))
    })
  )

  it.effect("an unknown key is named at its line and column", () =>
    Effect.gen(function* () {
      const message = yield* parseError(`waivers:
  - fingerprint: ${dropped.fingerprint}
    reason: ok
    expires: 2026-12-31
    expiry: 2027-01-01
`)
      expect(message).toContain(`${FILE}:5:5: waivers[0].expiry: unknown key`)
    })
  )

  it.effect("a missing reason, an empty reason and a bad date are each reported with their place", () =>
    Effect.gen(function* () {
      const message = yield* parseError(`waivers:
  - fingerprint: ${dropped.fingerprint}
    expires: 2026-12-31
  - fingerprint: ${nullable.fingerprint}
    reason: "  "
    expires: 2026-02-30
`)
      expect(message).toContain(`${FILE}:2:5: waivers[0].reason: Missing key`)
      expect(message).toContain(`${FILE}:5:5: waivers[1].reason: reason must not be empty`)
      expect(message).toContain(`${FILE}:6:5: waivers[1].expires: expires must be a date YYYY-MM-DD, got "2026-02-30"`)
    })
  )

  it.effect("a date YAML reads as a number is refused", () =>
    Effect.gen(function* () {
      const message = yield* parseError(`waivers:\n  - fingerprint: ${dropped.fingerprint}\n    reason: r\n    expires: 20261231\n`)
      expect(message).toContain(`${FILE}:4:5: waivers[0].expires: Expected string`)
    })
  )

  it.effect("a fingerprint that is not 16 hex digits, a top level without waivers, duplicates", () =>
    Effect.gen(function* () {
      expect(yield* parseError(`waivers:\n  - fingerprint: XYZ\n    reason: r\n    expires: 2026-12-31\n`)).toContain(
        `${FILE}:2:5: waivers[0].fingerprint: a fingerprint is 16 lowercase hex digits`
      )
      expect(yield* parseError(`- fingerprint: ${dropped.fingerprint}\n`)).toContain(`${FILE}:1:1:`)
      expect(
        yield* parseError(`waivers:
  - { fingerprint: ${dropped.fingerprint}, reason: a, expires: 2026-12-31 }
  - { fingerprint: ${dropped.fingerprint}, reason: b, expires: 2026-12-31 }
`)
      ).toContain(`${FILE}:3: fingerprint ${dropped.fingerprint} is already waived at ${FILE}:2`)
    })
  )
})

describe("expiry", () => {
  const entry = (expires: string) => set(`waivers:\n  - { fingerprint: ${dropped.fingerprint}, rule: drift/column-dropped, reason: known, expires: ${expires} }\n`)

  it.effect("a waiver holds through its expiry day (UTC) and fails the day after", () =>
    Effect.gen(function* () {
      yield* checkExpiry(yield* entry("2026-06-15"), TODAY)
      const message = (yield* Effect.flip(checkExpiry(yield* entry("2026-06-14"), TODAY))).message
      expect(message).toContain("today is 2026-06-15")
      expect(message).toContain(`${FILE}:2: fingerprint ${dropped.fingerprint} (drift/column-dropped) expired on 2026-06-14: known`)
    })
  )

  it.effect("an expired entry fails applyWaivers even when it matches nothing", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(applyWaivers([], yield* entry("2020-01-01"), TODAY))
      expect(error.message).toContain("expired on 2020-01-01")
    })
  )
})

describe("applyWaivers", () => {
  const findings: ReadonlyArray<Finding> = [dropped, nullable]

  it.effect("moves matched findings to waived and reports unmatched entries as stale", () =>
    Effect.gen(function* () {
      const waivers: WaiverSet = yield* set(`waivers:
  - { fingerprint: ${dropped.fingerprint}, reason: known, expires: 2026-12-31 }
  - { fingerprint: 0123456789abcdef, reason: gone, expires: 2026-12-31 }
`)
      const outcome = yield* applyWaivers(findings, waivers, TODAY)
      expect(outcome.open).toStrictEqual([nullable])
      expect(outcome.waived.map(({ finding, waiver }) => [finding.fingerprint, waiver.reason])).toStrictEqual([[dropped.fingerprint, "known"]])
      expect(outcome.stale.map((waiver) => [waiver.fingerprint, waiver.at])).toStrictEqual([["0123456789abcdef", `${FILE}:3`]])
    })
  )

  it.effect("a rule that is not the matched finding's rule is an error", () =>
    Effect.gen(function* () {
      const waivers = yield* set(`waivers:\n  - { fingerprint: ${dropped.fingerprint}, rule: drift/index-dropped, reason: r, expires: 2026-12-31 }\n`)
      const error = yield* Effect.flip(applyWaivers(findings, waivers, TODAY))
      expect(error.message).toContain(`${FILE}:2: fingerprint ${dropped.fingerprint} is a drift/column-dropped finding, but the entry says rule drift/index-dropped`)
    })
  )

  it.effect("without a waiver file every finding is open, and there is nothing to read", () =>
    Effect.gen(function* () {
      expect(yield* loadCheckedWaivers(undefined, TODAY)).toBeNull()
      expect(yield* applyWaivers(findings, null, TODAY)).toStrictEqual({ open: findings, waived: [], stale: [] })
    })
  )

  it.effect("the JSON of a waived finding (the finding, then its waiver) and of a stale entry", () =>
    Effect.gen(function* () {
      const waivers = yield* set(`waivers:
  - { fingerprint: ${dropped.fingerprint}, rule: drift/column-dropped, reason: known, expires: 2026-12-31 }
  - { fingerprint: ${nullable.fingerprint}, reason: relaxed, expires: 2026-12-31 }
  - { fingerprint: 0123456789abcdef, reason: gone, expires: 2026-12-31 }
`)
      const outcome = yield* applyWaivers(findings, waivers, TODAY)
      expect(outcome.waived.map(waivedJson)).toStrictEqual([
        { ...findingJson(dropped), waiver: { reason: "known", expires: "2026-12-31", at: `${FILE}:2`, rule: "drift/column-dropped" } },
        { ...findingJson(nullable), waiver: { reason: "relaxed", expires: "2026-12-31", at: `${FILE}:3` } }
      ])
      expect(outcome.stale.map(staleJson)).toStrictEqual([{ fingerprint: "0123456789abcdef", at: `${FILE}:4` }])
    })
  )
})
