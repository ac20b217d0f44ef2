/**
 * Subsets of pagila (partitioned payment, store <-> staff references, film/actor many-to-many)
 * through the real CLI: several sample percentages and date ranges, every key of the target
 * validated and free of orphans (checked on the target), the sampled roots within the stated
 * tolerance, date ranges exact, the evidence's `subset` section, and subset + masking in one pass.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { freshDatabase, loadPagila, runSql } from "./support/database.ts"
import { runCli } from "./support/cli.ts"
import { count, foreignKeyChecks } from "./fixtures/subset/checks.ts"
import { sampleTolerance } from "../src/engine/subset-source.ts"

const PAGILA_ROWS = readFileSync(new URL("./fixtures/pagila-rows.sql", import.meta.url), "utf8")
const dir = mkdtempSync(join(tmpdir(), "dbh-subset-pagila-"))
let files = 0
const rulesFile = (yaml: string) => {
  const path = join(dir, `rules-${files++}.yaml`)
  writeFileSync(path, yaml)
  return path
}

let source = ""
beforeAll(async () => {
  source = await freshDatabase("sp_src")
  await loadPagila(source)
  await runSql(source, PAGILA_ROWS)
  await runSql(source, "ANALYZE")
})

const subsetCopy = async (yaml: string, extra: ReadonlyArray<string> = [], env: Record<string, string> = {}) => {
  const target = await freshDatabase("sp_dst")
  await loadPagila(target)
  const evidenceDir = mkdtempSync(join(tmpdir(), "dbh-ev-"))
  const run = await runCli(["propagate", source, target, "--subset", rulesFile(yaml), "--evidence-dir", evidenceDir, "--quiet", ...extra], env)
  expect(run.code, run.stderr).toBe(0)
  const file = readdirSync(evidenceDir).find((f) => f.startsWith("propagate_"))!
  return { target, evidence: JSON.parse(readFileSync(join(evidenceDir, file), "utf8")) }
}

const expectIntact = async (target: string) => {
  const checks = await foreignKeyChecks(target)
  expect(checks.length).toBeGreaterThan(30)
  for (const check of checks) {
    expect(check.validated, check.key).toBe(true)
    expect(check.orphans, check.key).toBe(0)
  }
}

describe("subset: pagila", () => {
  for (const fraction of [0.1, 0.25, 0.5]) {
    it(`samples ${fraction * 100}% of rentals and customers, with every key valid and the roots within tolerance`, async () => {
      const { target, evidence } = await subsetCopy(`
version: "1.0"
strategy: percentage
seed: 2026
percentage: { sample_percentage: ${fraction} }
roots: [rental, customer]
critical_tables: [language, category, country, city]
cascade_selection: true
max_cascade_depth: 2
`)
      await expectIntact(target)
      for (const table of ["language", "category", "country", "city"]) expect(await count(target, table)).toBe(await count(source, table))
      const subset = evidence.subset
      expect(subset.rulesDigest).toMatch(/^[0-9a-f]{64}$/)
      expect(subset.seed).toBe(2026)
      expect(subset.allForeignKeysValid).toBe(true)
      expect(subset.foreignKeys.length).toBeGreaterThan(30)
      for (const name of ["public.rental", "public.customer"]) {
        const entry = subset.tables.find((t: { table: string }) => t.table === name)
        expect(entry.role).toBe("root")
        expect(entry.sourceRows).toBe(await count(source, name))
        expect(entry.expectedRoots).toBeCloseTo(fraction * entry.sourceRows, 6)
        expect(Math.abs(entry.roots - entry.expectedRoots)).toBeLessThanOrEqual(sampleTolerance(entry.sourceRows, fraction))
        expect(entry.withinTolerance).toBe(true)
        // Rows copied = rows in the target, and at least the roots.
        expect(entry.rowsSelected).toBe(await count(target, name))
        expect(entry.rowsSelected).toBeGreaterThanOrEqual(entry.roots)
      }
      // Copies grow with the fraction but stay a subset.
      expect(await count(target, "rental")).toBeLessThan(500)
    })
  }

  it("states the exact roots of a table only its roots fill and of one other tables add rows to, in a copy and in a dry run", async () => {
    // No cascade: rental holds just its roots (the copy counts them); customer also gets the
    // customers of the sampled rentals (counted with its root predicate).
    const yaml = `
version: "1.0"
strategy: percentage
seed: 77
percentage: { sample_percentage: 0.3 }
roots: [rental, customer]
cascade_selection: false
`
    const { target, evidence } = await subsetCopy(yaml)
    await expectIntact(target)
    // The documented sample, written out here: the key's keyed hash under the fraction.
    const sampled = (key: string) => `(hashint8extended(${key}::bigint, 77) & 4294967295) < ${Math.round(0.3 * 4294967296)}`
    const expected = {
      "public.rental": { sourceRows: await count(source, "rental"), roots: await count(source, "rental", sampled("rental_id")) },
      "public.customer": { sourceRows: await count(source, "customer"), roots: await count(source, "customer", sampled("customer_id")) }
    }
    interface Entry { readonly table: string; readonly sourceRows: number; readonly roots: number; readonly rowsSelected: number | null }
    const entry = (tables: Array<Entry>, name: string) => tables.find((t) => t.table === name)!
    for (const [name, want] of Object.entries(expected)) {
      const got = entry(evidence.subset.tables, name)
      expect({ sourceRows: got.sourceRows, roots: got.roots }, name).toEqual(want)
      expect(got.rowsSelected, name).toBe(await count(target, name))
    }
    expect(entry(evidence.subset.tables, "public.rental").rowsSelected).toBe(expected["public.rental"].roots)
    expect(entry(evidence.subset.tables, "public.customer").rowsSelected).toBeGreaterThan(expected["public.customer"].roots)
    // A dry run copies nothing, so it counts every table's roots on the source: the same numbers.
    const dry = await runCli(["propagate", source, target, "--subset", rulesFile(yaml), "--dry-run", "--json", "--quiet"])
    expect(dry.code, dry.stderr).toBe(0)
    const dryRun = JSON.parse(dry.stdout)
    const tables = dryRun.subset.tables
    for (const [name, want] of Object.entries(expected)) {
      const got = entry(tables, name)
      expect({ sourceRows: got.sourceRows, roots: got.roots }, name).toEqual(want)
      expect(got.rowsSelected, name).toBeNull()
    }
    // The plan's estimate is of the rows the subset reads (30% of rental), not of the whole table
    // nor PostgreSQL's third for a hash test.
    const rental = dryRun.plan.find((t: { table: string }) => t.table === "public.rental")
    expect(Math.abs(rental.estimatedRows - 0.3 * expected["public.rental"].sourceRows)).toBeLessThanOrEqual(0.02 * expected["public.rental"].sourceRows)
  })

  for (const [days, until] of [[30, "2022-03-01"], [60, "2022-05-31"]] as const) {
    it(`keeps the rentals of the ${days} days up to ${until} exactly, with their payments and every parent`, async () => {
      const { target } = await subsetCopy(`
version: "1.0"
strategy: date_range
date_range: { column: rental_date, days: ${days}, until: "${until}" }
roots: [rental]
cascade_selection: true
max_cascade_depth: 1
`)
      await expectIntact(target)
      const range = `rental_date > timestamptz '${until}' - interval '${days} days' AND rental_date <= timestamptz '${until}'`
      const inRange = await count(source, "rental", range)
      expect(inRange).toBeGreaterThan(10)
      expect(await count(target, "rental")).toBe(inRange)
      expect(await count(target, "rental", `NOT (${range})`)).toBe(0)
      // Payments of those rentals came along (cascade), all of them.
      const rentals = (await runSql<{ id: number }>(target, "SELECT rental_id AS id FROM rental")).map((r) => r.id)
      expect(await count(target, "payment")).toBe(await count(source, "payment", `rental_id = ANY('{${rentals.join(",")}}'::int[])`))
    })
  }

  it("hybrid: a date range where the column exists, the percentage elsewhere", async () => {
    const { target, evidence } = await subsetCopy(`
version: "1.0"
strategy: hybrid
seed: 1
percentage: { sample_percentage: 0.2 }
date_range: { column: rental_date, days: 30, until: "2022-04-01" }
roots: [rental, film]
`)
    await expectIntact(target)
    const film = evidence.subset.tables.find((t: { table: string }) => t.table === "public.film")
    expect(film.expectedRoots).toBeCloseTo(0.2 * film.sourceRows, 6)
    const rental = evidence.subset.tables.find((t: { table: string }) => t.table === "public.rental")
    expect(rental.roots).toBe(await count(source, "rental", "rental_date > timestamptz '2022-04-01' - interval '30 days' AND rental_date <= timestamptz '2022-04-01'"))
  })

  it("subsets and masks in the same pass", async () => {
    const masking = rulesFile(`
version: "1.0"
project_overrides:
  - { table: customer, column: email, masking_strategy: email }
  - { table: customer, column: last_name, masking_strategy: redact, value: "X" }
`)
    const { target, evidence } = await subsetCopy(`
version: "1.0"
strategy: percentage
seed: 4
percentage: { sample_percentage: 0.3 }
roots: [customer]
`, ["--rules", masking], { DB_HARNESS_MASK_KEY: "subset-mask-key" })
    await expectIntact(target)
    const copied = await count(target, "customer")
    const entry = evidence.subset.tables.find((t: { table: string }) => t.table === "public.customer")
    expect(copied).toBe(entry.rowsSelected)
    expect(copied).toBeGreaterThan(10)
    expect(copied).toBeLessThan(100)
    expect(await count(target, "customer", "last_name <> 'X'")).toBe(0)
    const emails = await runSql<{ customer_id: number; email: string | null }>(target, "SELECT customer_id, email FROM customer ORDER BY 1")
    const original = new Map((await runSql<{ customer_id: number; email: string | null }>(source, "SELECT customer_id, email FROM customer")).map((r) => [r.customer_id, r.email]))
    for (const row of emails) {
      if (row.email !== null) expect(row.email).not.toBe(original.get(row.customer_id))
    }
    expect(evidence.masking).toBeDefined()
  })
})
