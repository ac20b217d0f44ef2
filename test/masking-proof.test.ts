/**
 * The masking proof end to end: the real `propagate --mask-pii` CLI writes the record into the
 * target, and `verifyMaskingProof` checks the target alone. A clean masked copy passes; source
 * values written back into a masked column (3% of it, or all of it) fail naming the column; a
 * target without a record, a run without a key and a verifier without the key never pass; the
 * record holds no source value; reruns keep the latest; a target user who may not create the
 * proof schema is refused before any write; the proof schema is neither copied nor drift.
 */
import * as Effect from "effect/Effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { resolveEndpoint } from "../src/engine/connection.ts"
import { failsAt, PROOF_SAMPLE_ROWS, verifyMaskingProof, type ProofVerification } from "../src/engine/masking-proof.ts"
import { runCli, type CliRun } from "./support/cli.ts"
import { adminUrl, freshDatabase, runSql } from "./support/database.ts"

const KEY_TEXT = "masking-proof-test-key"
const KEY = { DB_HARNESS_MASK_KEY: KEY_TEXT }
const NO_KEY = { DB_HARNESS_MASK_KEY: "" }
const keyBytes = new TextEncoder().encode(KEY_TEXT)

const ROWS = 3000
/** people: primary key, masked name / e-mail / birth date, a kept note. contacts: no primary key. */
const SCHEMA = `
  CREATE TABLE people (id bigint PRIMARY KEY, full_name text NOT NULL, email text, birth_date date, note text);
  CREATE TABLE contacts (email text, phone text);`
const DATA = `
  INSERT INTO people SELECT i, 'Srcname Person' || i, 'src.person' || i || '@corp-source.test',
         date '1950-01-01' + (i * 7 % 18000), 'note ' || i FROM generate_series(1, ${ROWS}) i;
  INSERT INTO contacts SELECT 'src.contact' || i || '@corp-source.test', '+1 202 555 ' || lpad(i::text, 4, '0')
    FROM generate_series(1, 500) i;`

const tempDir = () => mkdtempSync(join(tmpdir(), "dbh-proof-"))

let rulesFile = ""
let source = ""

const propagate = (from: string, to: string, env: Readonly<Record<string, string>> = KEY, extra: ReadonlyArray<string> = [], rules = rulesFile) =>
  runCli(["propagate", from, to, "--quiet", "--json", "--mask-pii", "--rules", rules, "--evidence-dir", tempDir(), ...extra], env)

const expectSuccess = (run: CliRun) => expect(run.code, `${run.stderr}\n${run.stdout}`).toBe(0)

const maskedTarget = async (env: Readonly<Record<string, string>> = KEY) => {
  const target = await freshDatabase("proof_t")
  await runSql(target, SCHEMA)
  const run = await propagate(source, target, env)
  expectSuccess(run)
  return { target, run }
}

const verify = async (target: string, options: Partial<{ key: Uint8Array | undefined; sampleSize: number; seed: number; full: boolean }> = {}) =>
  Effect.runPromise(
    Effect.flatMap(resolveEndpoint(target, {}), (endpoint) =>
      verifyMaskingProof(endpoint, { key: keyBytes, sampleSize: 1000, seed: 7, full: false, ...options })
    )
  )

const survived = (result: ProofVerification) => result.findings.filter((f) => f.rule === "pii/source-value-survived")

beforeAll(async () => {
  source = await freshDatabase("proof_s")
  await runSql(source, SCHEMA + DATA)
  const dir = tempDir()
  rulesFile = join(dir, "rules.yaml")
  writeFileSync(
    rulesFile,
    [
      'version: "1.0"',
      'extends: "baseline"',
      "project_overrides:",
      '  - { table: "people", column: "note", masking_strategy: "keep", reason: "internal test note" }',
      ""
    ].join("\n")
  )
})

describe("a clean masked copy", () => {
  it("writes a proof record that verifies with no finding, sampled and full", async () => {
    const { target, run } = await maskedTarget()
    const output = JSON.parse(run.stdout)
    expect(output.masking.proof.provable).toBe(true)
    expect(output.masking.proof.runId).toMatch(/^[0-9a-f-]{36}$/)

    for (const full of [false, true]) {
      const result = await verify(target, { full })
      expect(result.present).toBe(true)
      expect(result.findings, JSON.stringify(result.findings)).toEqual([])
      expect(result.runs[0]!.runId).toBe(output.masking.proof.runId)
      const byColumn = new Map(result.columns.map((c) => [`${c.table}.${c.column}`, c]))
      // Row-bound digests for the table with a key; every column masked, the kept one left out.
      for (const column of ["public.people.full_name", "public.people.email", "public.people.birth_date"]) {
        const verdict = byColumn.get(column)
        expect(verdict?.kind, column).toBe("row")
        expect(verdict!.matched).toBe(0)
        expect(verdict!.checked).toBe(full ? PROOF_SAMPLE_ROWS : 1000)
      }
      expect(byColumn.has("public.people.note")).toBe(false)
      expect(result.notes.join("\n")).toContain("kept by rule, not masked, so not part of the proof: public.people.note")
      // The table without a primary key is checked by value; every distinct value fits the sketch.
      expect(byColumn.get("public.contacts.email")?.kind).toBe("value")
      expect(byColumn.get("public.contacts.email")!.matched).toBe(0)
      expect(byColumn.get("public.contacts.email")!.checked).toBeGreaterThan(0)
    }
  })

  it("stores no source value in the proof tables, only digests and the target's own keys", async () => {
    const { target } = await maskedTarget()
    const [dump] = await runSql<{ text: string }>(
      target,
      `SELECT (SELECT string_agg(row_to_json(p)::text, E'\\n') FROM db_harness.masking_proof p) ||
              (SELECT string_agg(row_to_json(r)::text, E'\\n') FROM db_harness.masking_proof_runs r) AS text`
    )
    const text = dump!.text
    expect(text).toContain("full_name") // the record is there...
    const sourceValues = await runSql<{ v: string }>(
      source,
      `SELECT full_name AS v FROM people UNION ALL SELECT email FROM people UNION ALL SELECT birth_date::text FROM people
       UNION ALL SELECT email FROM contacts UNION ALL SELECT phone FROM contacts`
    )
    expect(sourceValues.length).toBe(3 * ROWS + 1000)
    const leaked = sourceValues.filter(({ v }) => text.includes(v))
    expect(leaked).toEqual([])
    for (const fragment of ["Srcname", "corp-source", "src.person", "src.contact", "+1 202 555"]) expect(text).not.toContain(fragment)
    expect(text).not.toContain(KEY_TEXT)
  })
})

describe("source values back in a masked column", () => {
  it("fails on a 3% leak of one column, naming it, and passes the others", async () => {
    const { target } = await maskedTarget()
    // 91 of 3,000 rows (3%) get their source e-mail back.
    await runSql(target, `UPDATE people SET email = 'src.person' || id || '@corp-source.test' WHERE id % 33 = 0`)
    for (const full of [false, true]) {
      const result = await verify(target, { full })
      const hits = survived(result)
      expect(hits, JSON.stringify(result.findings)).toHaveLength(1)
      const hit = hits[0]!
      expect(hit.severity).toBe("breaking")
      expect(hit.object).toEqual({ kind: "column", schema: "public", table: "people", column: "email" })
      expect(hit.message).toContain("public.people.email")
      const details = hit.details as { matched: number; checked: number; ratio: number }
      expect(details.matched).toBeGreaterThanOrEqual(failsAt(details.checked))
      // About 3% of the checked rows; binomial spread allowed.
      expect(details.ratio).toBeGreaterThan(0.01)
      expect(details.ratio).toBeLessThan(0.06)
    }
  })

  it("fails on a 100% leak, in a keyed table and in a table without a primary key", async () => {
    const { target } = await maskedTarget()
    await runSql(target, `UPDATE people SET full_name = 'Srcname Person' || id`)
    await runSql(target, `TRUNCATE contacts; INSERT INTO contacts SELECT 'src.contact' || i || '@corp-source.test', 'x' FROM generate_series(1, 500) i`)
    const result = await verify(target, { full: true })
    const hits = new Map(survived(result).map((f) => [`${f.object.table}.${f.object.column}`, f]))
    expect([...hits.keys()].sort()).toEqual(["contacts.email", "people.full_name"])
    expect((hits.get("people.full_name")!.details as { ratio: number }).ratio).toBe(1)
    expect((hits.get("contacts.email")!.details as { ratio: number; digestKind: string }).ratio).toBe(1)
    expect(hits.get("contacts.email")!.message).toContain("checked by value")
  })

  it("reports deleted recorded rows as inconclusive, not as clean", async () => {
    const { target } = await maskedTarget()
    await runSql(target, `DELETE FROM people WHERE id % 2 = 0`)
    const result = await verify(target, { full: true })
    expect(survived(result)).toEqual([])
    const inconclusive = result.findings.filter((f) => f.rule === "pii/masking-proof-inconclusive")
    expect(inconclusive.map((f) => f.object.column).sort()).toEqual(["birth_date", "email", "full_name"])
  })
})

describe("binary format and composite keys", () => {
  it("keeps a table whose masked columns are all text in binary format, and proves it by its composite key", async () => {
    const ddl = `CREATE TABLE accounts (region text, id bigint, email text NOT NULL, PRIMARY KEY (region, id))`
    const from = await freshDatabase("proof_bin_s")
    const target = await freshDatabase("proof_bin_t")
    await runSql(from, `${ddl}; INSERT INTO accounts SELECT 'r' || (i % 3), i, 'acct' || i || '@corp-source.test' FROM generate_series(1, 2000) i`)
    await runSql(target, ddl)
    const plan = await propagate(from, target, KEY, ["--dry-run"], "baseline")
    expectSuccess(plan)
    // The proof reads the key columns (bigint among them) only, and in-stream detection (--mask-pii)
    // only text columns: no reason to leave binary format.
    expect(JSON.parse(plan.stdout).plan).toEqual([expect.objectContaining({ table: "public.accounts", format: "binary", stages: ["mask", "pii-detect"] })])
    expectSuccess(await propagate(from, target, KEY, [], "baseline"))
    expect(survived(await verify(target, { full: true }))).toEqual([])
    await runSql(target, `UPDATE accounts SET email = 'acct' || id || '@corp-source.test' WHERE id % 20 = 0`)
    const result = await verify(target, { full: true })
    expect(survived(result).map((f) => `${f.object.table}.${f.object.column}`)).toEqual(["accounts.email"])
    const details = survived(result)[0]!.details as { ratio: number; digestKind: string }
    expect(details.digestKind).toBe("row")
    expect(details.ratio).toBeGreaterThan(0.02)
    expect(details.ratio).toBeLessThan(0.09)
  })
})

describe("no proof possible", () => {
  it("says so when the target has no record", async () => {
    const target = await freshDatabase("proof_none")
    const result = await verify(target)
    expect(result.present).toBe(false)
    expect(result.findings).toEqual([])
    expect(result.notes[0]).toContain("no masking proof")
  })

  it("reports a run without DB_HARNESS_MASK_KEY as unverifiable, never as a pass", async () => {
    const { target, run } = await maskedTarget(NO_KEY)
    expect(run.stderr).toContain("DB_HARNESS_MASK_KEY is not set")
    expect(JSON.parse(run.stdout).masking.proof.provable).toBe(false)
    const result = await verify(target)
    expect(result.present).toBe(true)
    expect(result.findings.map((f) => f.rule)).toEqual(["pii/masking-proof-unverifiable"])
    expect(result.findings[0]!.message).toContain("had no DB_HARNESS_MASK_KEY")
    const [stored] = await runSql<{ n: string }>(target, `SELECT count(*) FILTER (WHERE digests IS NOT NULL) AS n FROM db_harness.masking_proof`)
    expect(stored!.n).toBe("0")
  })

  it("reports a verifier without the key, or with another key, as unverifiable, even over a real leak", async () => {
    const { target } = await maskedTarget()
    await runSql(target, `UPDATE people SET full_name = 'Srcname Person' || id`)
    const without = await verify(target, { key: undefined })
    expect(without.findings.map((f) => f.rule)).toEqual(["pii/masking-proof-unverifiable"])
    expect(without.findings[0]!.message).toContain("no DB_HARNESS_MASK_KEY was given")
    const wrong = await verify(target, { key: new TextEncoder().encode("another key") })
    expect(wrong.findings.map((f) => f.rule)).toEqual(["pii/masking-proof-unverifiable"])
    expect(wrong.findings[0]!.message).toContain("not the key that run masked with")
  })
})

describe("reruns, other gates and chained copies", () => {
  it("keeps the latest record and checks it; drift ignores the proof schema; a copy of the target does not copy it", async () => {
    const { target, run: first } = await maskedTarget()
    const second = await propagate(source, target)
    expectSuccess(second)
    const latestId = JSON.parse(second.stdout).masking.proof.runId
    expect(latestId).not.toBe(JSON.parse(first.stdout).masking.proof.runId)
    await runSql(target, `UPDATE people SET birth_date = date '1950-01-01' + (id * 7 % 18000)::int`)
    const result = await verify(target)
    expect(result.runs.map((r) => r.runId)[0]).toBe(latestId)
    expect(result.runs).toHaveLength(2)
    expect(survived(result).map((f) => f.object.column)).toEqual(["birth_date"])

    const drift = await runCli(["drift", source, target, "--json", "--fail-on-breaking", "--evidence-dir", tempDir()])
    expect(drift.code, drift.stdout + drift.stderr).toBe(0)
    expect(drift.stdout).not.toContain("db_harness")

    // The masked target as a source of a further copy: its proof schema stays behind.
    const next = await freshDatabase("proof_next")
    await runSql(next, SCHEMA)
    const chained = await runCli(["propagate", target, next, "--quiet", "--json", "--evidence-dir", tempDir()], KEY)
    expectSuccess(chained)
    expect(JSON.parse(chained.stdout).tables.map((t: { table: string }) => t.table).sort()).toEqual(["public.contacts", "public.people"])
  })
})

describe("a target user who may not create the proof schema", () => {
  it("is refused before any write, and --skip-masking-proof copies without a proof", async () => {
    const target = await freshDatabase("proof_limited")
    await runSql(target, SCHEMA)
    const role = `proof_user_${process.pid}`
    await runSql(adminUrl(), `CREATE ROLE ${role} LOGIN PASSWORD 'secret-pw'`)
    try {
      await runSql(target, `ALTER TABLE people OWNER TO ${role}; ALTER TABLE contacts OWNER TO ${role}; REVOKE CREATE ON SCHEMA public FROM PUBLIC`)
      const url = new URL(target)
      url.username = role
      url.password = "secret-pw"
      const refused = await propagate(source, url.toString())
      expect(refused.code).toBe(1)
      expect(refused.stderr).toContain("cannot keep the masking proof in the target (schema db_harness)")
      expect(refused.stderr).toContain("--skip-masking-proof")
      expect(refused.stderr).not.toContain("secret-pw")
      const [count] = await runSql<{ n: string }>(target, `SELECT count(*) AS n FROM people`)
      expect(count!.n).toBe("0")

      const skipped = await propagate(source, url.toString(), KEY, ["--skip-masking-proof"])
      expectSuccess(skipped)
      expect(JSON.parse(skipped.stdout).masking.proof).toBeUndefined()
      const [after] = await runSql<{ n: string; schema: string | null }>(
        target,
        `SELECT (SELECT count(*) FROM people) AS n, to_regnamespace('db_harness')::text AS schema`
      )
      expect(after).toEqual({ n: String(ROWS), schema: null })
      const result = await verify(target)
      expect(result.present).toBe(false)
    } finally {
      await runSql(target, `ALTER TABLE people OWNER TO CURRENT_USER; ALTER TABLE contacts OWNER TO CURRENT_USER`)
      await runSql(adminUrl(), `DROP ROLE IF EXISTS ${role}`)
    }
  })
})
