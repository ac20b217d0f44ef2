/**
 * `db-harness rules check` through the real CLI, against the demo-shop schema: the coverage of
 * good rules (exit 0), every problem of a bad rule file at once (exit 1), a personal-looking
 * column no rule covers (exit 1), the `--json` shape, and its help.
 */
import * as Effect from "effect/Effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { createDemoShopSchema } from "../src/engine/demo-shop.ts"
import { runCli } from "./support/cli.ts"
import { freshDatabase, runSql } from "./support/database.ts"

const EXAMPLE_RULES = "rules/examples/masking_rules.yaml"
let shop: string
let rulesDir: string

beforeAll(async () => {
  shop = await freshDatabase("rules_check")
  await Effect.runPromise(createDemoShopSchema(shop))
  rulesDir = mkdtempSync(join(tmpdir(), "dbh-rules-check-"))
})

const rulesFile = (name: string, text: string) => {
  const path = join(rulesDir, name)
  writeFileSync(path, text)
  return path
}

describe("rules check", () => {
  it("passes the example rules against demo-shop and prints the coverage", async () => {
    const run = await runCli(["rules", "check", "--rules", EXAMPLE_RULES, shop])
    expect(run.code, run.stderr + run.stdout).toBe(0)
    expect(run.stdout).toMatch(/with masking_rules\.yaml <- gdpr_ccpa\.yaml <- baseline_masking_rules\.yaml \(profile gdpr_ccpa\)/)
    expect(run.stdout).toMatch(/public\.customers\s+id\s+-\s+not personal/)
    expect(run.stdout).toMatch(/\s+email\s+email\s+baseline_masking_rules\.yaml:\d+ rules\[\d+\] \(names: email/)
    expect(run.stdout).toMatch(/\s+birth_date\s+date_shift\s+masking_rules\.yaml:\d+ project_overrides\[0\]/)
    expect(run.stdout).toMatch(/\s+description\s+keep\s+masking_rules\.yaml:\d+ project_overrides\[3\]: public catalogue text/)
    expect(run.stdout).toMatch(/public\.payments \(\+9 partitions\)/)
    expect(run.stdout).toMatch(/\s+card_last4\s+redact\s+masking_rules\.yaml/)
    expect(run.stdout).toMatch(/11 columns masked, 2 kept by rule, 24 not personal, 1 generated, 0 personal but uncovered/)
    expect(run.stdout).toContain("ok: a masked propagate with these rules would pass every masking check")
  }, 60_000)

  it("lists every problem of a bad rule file at once and exits 1", async () => {
    const path = rulesFile(
      "bad.yaml",
      `version: "1.0"
extends: baseline
rules:
  - match: { names: [no column has this name] }
    masking_strategy: hash
    length: 0
project_overrides:
  - { table: customers, column: first_name, masking_strategy: "null" }
  - { table: customers, column: email, masking_strategy: redact, value: "x" }
  - { table: customers, column: nope, masking_strategy: hash }
  - { table: customers, column: city, masking_strategy: scramble }
  - { table: customers, column: country, masking_strategy: redact, value: "too long" }
  - { table: products, column: description, masking_strategy: keep }
  - { table: payments, column: card_last4, masking_strategy: partial, keep_lastt: 2 }
`
    )
    const run = await runCli(["rules", "check", "--rules", path, shop])
    expect(run.code).toBe(1)
    const problems = run.stdout.slice(run.stdout.indexOf("8 problems:"))
    for (const expected of [
      /bad\.yaml:4 rules\[0\]: plugin "hash": option length: Expected a value between 1 and 128/,
      /bad\.yaml:8 project_overrides\[0\]: public\.customers\.first_name \(text\) is NOT NULL, but strategy null can return NULL/,
      /bad\.yaml:9 project_overrides\[1\]: public\.customers\.email .* primary key or unique constraint, but strategy redact/,
      /bad\.yaml:10 project_overrides\[2\]: column "nope" does not exist in public\.customers/,
      /bad\.yaml:11 project_overrides\[3\]: unknown masking strategy "scramble"/,
      /bad\.yaml:12 project_overrides\[4\]: public\.customers\.country \(character\(2\)\): strategy redact cannot mask it/,
      /bad\.yaml:13 project_overrides\[5\]: keep needs a reason/,
      /bad\.yaml:14 project_overrides\[6\]: plugin "partial": option keep_lastt: unknown option/
    ]) {
      expect(problems).toMatch(expected)
    }
    expect(run.stderr).toContain("would stop before copying anything")
  }, 60_000)

  it("reports a rule file that does not load as problems, exit 1", async () => {
    const path = rulesFile("broken.yaml", `version: "1.0"\nrules:\n  - match: { names: [email] }\n    strategy: email\n`)
    const run = await runCli(["rules", "check", "--rules", path, shop])
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(/problems?:\n {2}- .*broken\.yaml:\d+:\d+: rules\[0\]/)
  }, 60_000)

  it("fails on a column that looks personal and no rule covers, suggesting a rule", async () => {
    const url = await freshDatabase("rules_check_uncovered")
    await Effect.runPromise(createDemoShopSchema(url))
    await runSql(url, "ALTER TABLE orders ADD COLUMN contact_phone bigint, ADD COLUMN note_to_courier text")
    await runSql(url, "INSERT INTO products (name, sku, price) VALUES ('x', 'sku-1', 1)")
    await runSql(url, "ALTER TABLE products ADD COLUMN supplier text")
    await runSql(url, "UPDATE products SET supplier = 'orders@acme-supplies.example.com'")
    const run = await runCli(["rules", "check", "--rules", EXAMPLE_RULES, url])
    expect(run.code).toBe(1)
    // By name (the phone rule only covers text types) and by sampled values (e-mail addresses).
    expect(run.stdout).toMatch(/\s+contact_phone\s+UNCOVERED\s+looks personal by its name; add e\.g\. \{ table: "public\.orders", column: "contact_phone"/)
    expect(run.stdout).toMatch(/\s+supplier\s+UNCOVERED\s+looks personal by e-mail addresses in its values/)
    expect(run.stdout).toMatch(/2 personal but uncovered/)
    expect(run.stdout).toMatch(/2 problems:\n {2}- privacy by default: public\.orders\.contact_phone .*\n {2}- privacy by default: public\.products\.supplier/)
  }, 60_000)

  it("--json prints coverage, totals and problems", async () => {
    const run = await runCli(["rules", "check", "--rules", EXAMPLE_RULES, shop, "--json"])
    expect(run.code, run.stderr).toBe(0)
    const report = JSON.parse(run.stdout)
    expect(report.ok).toBe(true)
    expect(report.problems).toEqual([])
    expect(report.profile).toBe("gdpr_ccpa")
    expect(report.rulesFiles.map((file: string) => file.split("/").pop())).toEqual([
      "masking_rules.yaml",
      "gdpr_ccpa.yaml",
      "baseline_masking_rules.yaml"
    ])
    expect(report.totals).toEqual({ masked: 11, kept: 2, notPersonal: 24, uncovered: 0, generated: 1 })
    const customers = report.tables.find((t: { table: string }) => t.table === "public.customers")
    expect(customers.partitions).toBe(0)
    expect(customers.columns.find((c: { column: string }) => c.column === "signup_ip")).toMatchObject({
      column: "signup_ip",
      type: "inet",
      status: "masked",
      strategy: "null",
      origin: expect.stringMatching(/^gdpr_ccpa\.yaml:\d+ rules\[0\] \(types: inet\)$/)
    })
    expect(customers.columns.find((c: { column: string }) => c.column === "tags")).toMatchObject({
      status: "kept",
      strategy: "keep",
      reason: expect.stringContaining("segment labels")
    })
    expect(report.tables.find((t: { table: string }) => t.table === "public.payments").partitions).toBe(9)
    expect(report.tables.some((t: { table: string }) => t.table === "public.payments_2023")).toBe(false)
  }, 60_000)

  it("--json carries the problems of failing rules", async () => {
    const path = rulesFile("one-bad.yaml", `version: "1.0"\nextends: baseline\nproject_overrides:\n  - { table: customers, column: first_name, masking_strategy: "null" }\n`)
    const run = await runCli(["rules", "check", "--rules", path, shop, "--json"])
    expect(run.code).toBe(1)
    const report = JSON.parse(run.stdout)
    expect(report.ok).toBe(false)
    expect(report.problems).toEqual([expect.stringMatching(/^one-bad\.yaml:4 project_overrides\[0\]: .*first_name .*NOT NULL/)])
  }, 60_000)

  it("rules check --help exits 0", async () => {
    const run = await runCli(["rules", "check", "--help"])
    expect(run.code).toBe(0)
    expect(run.stdout).toContain("--rules")
    expect(run.stdout).toContain("--json")
  }, 30_000)
})
