/**
 * `db-harness detect-pii` and the in-stream detection of `propagate --mask-pii`, through the real
 * command line against the real PostgreSQL: exit 0 on a clean database, 4 when PII is found, 1 on
 * a bad URL, a wrong password or a bad flag (with nothing written); the `--json` findings shape;
 * the evidence file; no raw value in any output; and a propagate whose rules miss a free-text
 * column full of e-mail addresses failing with exit 4 and that table rolled back.
 */
import * as Effect from "effect/Effect"
import { mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { createDemoShopSchema, loadDemoShop } from "../src/engine/demo-shop.ts"
import { runCli } from "./support/cli.ts"
import { freshDatabase, runSql } from "./support/database.ts"

const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), `dbh-pii-${prefix}-`))
const piiFiles = (dir: string) => {
  try {
    return readdirSync(dir).filter((f) => f.startsWith("pii_") && f.endsWith(".json"))
  } catch {
    return []
  }
}

let clean: string
let personal: string
const LEAKED_EMAIL = "margaret.thompson@gmail.com"

beforeAll(async () => {
  clean = await freshDatabase("pii_clean")
  await runSql(
    clean,
    `CREATE TABLE products (id serial PRIMARY KEY, name text, sku text, price numeric(8,2), created_epoch bigint);
     INSERT INTO products (name, sku, price, created_epoch)
       SELECT 'Widget ' || g, 'SKU-' || lpad(g::text, 6, '0'), g * 1.5, 1700000000 + g FROM generate_series(1, 400) g;`
  )
  personal = await freshDatabase("pii_personal")
  await runSql(
    personal,
    `CREATE TABLE users (id serial PRIMARY KEY, "contactEmail" text, ssn text, note text);
     INSERT INTO users ("contactEmail", ssn, note)
       SELECT CASE WHEN g = 1 THEN '${LEAKED_EMAIL}' ELSE 'person' || g || '@gmail.com' END,
              lpad((100 + g)::text, 3, '0') || '-45-' || lpad((1000 + g)::text, 4, '0'), 'nothing here'
         FROM generate_series(1, 300) g;
     CREATE TABLE orders (id serial PRIMARY KEY, user_id int REFERENCES users(id), total numeric(8,2));
     INSERT INTO orders (user_id, total) SELECT 1 + g % 300, g FROM generate_series(1, 300) g;`
  )
})

describe("detect-pii exit codes and output", () => {
  it("exits 0 on a clean database, says what a clean sample proves, and writes pii_<timestamp>.json", async () => {
    const evidence = tempDir("clean")
    const run = await runCli(["detect-pii", clean, "--evidence-dir", evidence, "--seed", "5"])
    // Only the audit log's line (every run records itself, src/cli/audit-record.ts).
    expect(run.stderr).toMatch(/^audit: entry seq 1 in .*UNSIGNED/)
    expect(run.stderr.replace(/^audit: .*\n/gm, "")).toBe("")
    expect(run.code).toBe(0)
    expect(run.stdout).toContain("PASS detect-pii")
    expect(run.stdout).toMatch(/seed 5/)
    expect(run.stdout).toMatch(/was read: the detectors found no PII/)
    expect(piiFiles(evidence)).toHaveLength(1)
  })

  it("exits 4 when PII is found, with a readable report by table and column and no raw value", async () => {
    const evidence = tempDir("personal")
    const run = await runCli(["detect-pii", personal, "--evidence-dir", evidence])
    expect(run.code).toBe(4)
    expect(run.stdout).toContain("public.users")
    expect(run.stdout).toMatch(/contactEmail\s+email\s+100\.0% \(300\/300\)\s+high\s+[a-z]\*\*\*@g\*\*\*\.com/)
    expect(run.stdout).toMatch(/ssn\s+us-ssn/)
    expect(run.stdout).not.toContain("user_id")
    expect(run.stderr).toMatch(/PII found in 2 column\(s\): public\.users\.contactEmail \(pii\/email\), public\.users\.ssn \(pii\/us-ssn\)/)
    const file = piiFiles(evidence)
    expect(file).toHaveLength(1)
    const text = readFileSync(join(evidence, file[0]!), "utf8")
    for (const output of [run.stdout, run.stderr, text]) {
      expect(output).not.toContain(LEAKED_EMAIL)
      expect(output).not.toMatch(/person\d+@gmail\.com/)
      expect(output).not.toMatch(/\d{3}-45-\d{4}/)
    }
  })

  it("prints the shared findings shape with --json", async () => {
    const run = await runCli(["detect-pii", personal, "--json", "--seed", "1234", "--evidence-dir", tempDir("json")])
    expect(run.code).toBe(4)
    const report = JSON.parse(run.stdout)
    expect(report.status).toBe("fail")
    expect(report.summary.seed).toBe(1234)
    expect(report.summary.proof).toMatch(/read/)
    const email = report.findings.find((f: { rule: string }) => f.rule === "pii/email")
    expect(email).toMatchObject({
      rule: "pii/email",
      severity: "breaking",
      object: { kind: "column", schema: "public", table: "users", column: "contactEmail" },
      details: { entity: "email", ratio: 1, hits: 300, sampled: 300, confidence: "high", inText: false }
    })
    expect(email.fingerprint).toMatch(/^[0-9a-f]{16}$/)
    expect(typeof email.message).toBe("string")
    expect(Object.keys(email).slice(0, 7)).toEqual(["rule", "severity", "object", "before", "after", "message", "fingerprint"])
    // Fingerprints are stable from run to run.
    const again = JSON.parse((await runCli(["detect-pii", personal, "--json", "--evidence-dir", tempDir("json2")])).stdout)
    expect(again.findings.map((f: { fingerprint: string }) => f.fingerprint)).toEqual(report.findings.map((f: { fingerprint: string }) => f.fingerprint))
  })

  it("exits 1 with one clear line and writes nothing on bad input", async () => {
    const evidence = tempDir("bad")
    const url = new URL(personal)
    const wrongPassword = new URL(personal)
    wrongPassword.password = "not-the-password"
    const cases: Array<[ReadonlyArray<string>, RegExp]> = [
      [["detect-pii", "not a url"], /neither a postgres:\/\/ URL nor an environment name/],
      [["detect-pii", "nosuchenv"], /unknown environment "nosuchenv": set DB_NOSUCHENV_CONN/],
      [["detect-pii", wrongPassword.toString()], /authentication failed/],
      [["detect-pii", `${url.protocol}//${url.username}:${url.password}@${url.host}/no_such_database`], /database "no_such_database" does not exist/],
      [["detect-pii", personal, "--sample-size", "0"], /--sample-size must be at least 1/],
      [["detect-pii", personal, "--sample-size", "many"], /sample-size/],
      [["detect-pii", personal, "--seed", "-3"], /--seed must be a positive integer/]
    ]
    for (const [args, message] of cases) {
      const run = await runCli([...args, "--evidence-dir", evidence])
      expect(run.code, args.join(" ")).toBe(1)
      expect(run.stderr + run.stdout).toMatch(message)
      expect(run.stderr).not.toContain("not-the-password")
    }
    expect(piiFiles(evidence)).toHaveLength(0)
  })
})

describe("propagate --mask-pii with in-stream detection", () => {
  const load = (effect: Effect.Effect<unknown, unknown>) => Effect.runPromise(effect as Effect.Effect<unknown>)

  it("fails with exit 4 when a free-text column no rule covers carries e-mail addresses, and rolls that table back", async () => {
    const source = await freshDatabase("pii_leak_src")
    const target = await freshDatabase("pii_leak_dst")
    const schema = `CREATE TABLE tickets (id int PRIMARY KEY, subject text, body text);`
    await runSql(source, `${schema}
      INSERT INTO tickets SELECT g, 'Order question ' || g,
        CASE WHEN g % 5 = 0 THEN 'Please answer to customer' || g || '@gmail.com, thanks' ELSE 'Where is my parcel?' END
        FROM generate_series(1, 3000) g;`)
    await runSql(target, `${schema} INSERT INTO tickets VALUES (1, 'kept', 'target row before the run');`)
    const run = await runCli(["propagate", source, target, "--mask-pii", "--quiet", "--evidence-dir", tempDir("leak")], { DB_HARNESS_MASK_KEY: "k" })
    expect(run.code).toBe(4)
    expect(run.stderr).toMatch(/PII survived masking in public\.tickets\.body: email inside/)
    expect(run.stderr).not.toMatch(/customer\d+@gmail\.com/)
    // The table's load was rolled back: the target still holds what it had.
    expect(await runSql(target, "SELECT id, body FROM tickets")).toEqual([{ id: 1, body: "target row before the run" }])
  })

  it("passes a clean masked copy of the demo shop (no false alarm on masked or ordinary columns)", async () => {
    const source = await freshDatabase("pii_shop_src")
    const target = await freshDatabase("pii_shop_dst")
    await load(loadDemoShop(source, { rows: 2000 }))
    await load(createDemoShopSchema(target))
    const run = await runCli(["propagate", source, target, "--mask-pii", "--quiet", "--json", "--evidence-dir", tempDir("shop")], { DB_HARNESS_MASK_KEY: "k" })
    expect(run.stderr.replace(/^warning.*\n/gm, "")).toBe("")
    expect(run.code).toBe(0)
    const result = JSON.parse(run.stdout)
    expect(result.piiDetection.detectors.length).toBeGreaterThan(10)
    const scanned = result.tables.flatMap((t: { stages: Array<{ stage: string; summary?: { sampledValues: number } }> }) =>
      t.stages.filter((s) => s.stage === "pii-detect").map((s) => s.summary?.sampledValues ?? 0)
    )
    expect(scanned.length).toBeGreaterThan(0)
  })
})

describe("detect-pii after propagate --mask-pii: the masking proof", () => {
  const load = (effect: Effect.Effect<unknown, unknown>) => Effect.runPromise(effect as Effect.Effect<unknown>)
  const KEY = { DB_HARNESS_MASK_KEY: "proof key of this test" }
  let source: string
  let target: string

  beforeAll(async () => {
    source = await freshDatabase("pii_proof_src")
    target = await freshDatabase("pii_proof_dst")
    await load(loadDemoShop(source, { rows: 2000 }))
    await load(createDemoShopSchema(target))
    const copy = await runCli(["propagate", source, target, "--mask-pii", "--quiet", "--evidence-dir", tempDir("proof-copy")], KEY)
    expect(copy.code, copy.stderr).toBe(0)
  })

  it("passes a masked copy although its fakes look personal: every flagged column is proven masked", async () => {
    const run = await runCli(["detect-pii", target, "--json", "--seed", "7", "--evidence-dir", tempDir("proof-clean")], KEY)
    expect(run.code, run.stderr).toBe(0)
    const report = JSON.parse(run.stdout)
    expect(report.status).toBe("pass")
    expect(report.maskingProof.present).toBe(true)
    // The detectors still see names and phone numbers (fakes), and the proof says they are masked.
    for (const column of ["first_name", "phone"]) {
      const found = report.findings.find((f: { object: { table: string; column: string } }) => f.object.table === "customers" && f.object.column === column)
      expect(found).toMatchObject({ severity: "info", details: { maskingProof: "masked" } })
    }
    expect(report.findings.filter((f: { severity: string }) => f.severity === "breaking")).toEqual([])
  })

  it("cannot pass without the key: the fakes are judged on their looks and the proof says why (exit 4)", async () => {
    const run = await runCli(["detect-pii", target, "--seed", "7", "--evidence-dir", tempDir("proof-nokey")])
    expect(run.code).toBe(4)
    expect(run.stdout).toMatch(/no proof possible/)
  })

  it("fails (exit 4) when a few percent of one masked column hold the source's values again, naming the column", async () => {
    const leaked = await freshDatabase("pii_proof_leak")
    await load(createDemoShopSchema(leaked))
    const copy = await runCli(["propagate", source, leaked, "--mask-pii", "--quiet", "--evidence-dir", tempDir("proof-copy2")], KEY)
    expect(copy.code, copy.stderr).toBe(0)
    // 4% of the customers get their real e-mail address back, as a bad sync job would write it.
    const real = await runSql<{ id: number; email: string }>(source, "SELECT id, email FROM customers WHERE id % 25 = 0")
    expect(real.length).toBeGreaterThan(10)
    for (const row of real) await runSql(leaked, "UPDATE customers SET email = $1 WHERE id = $2", [row.email, row.id])
    const run = await runCli(["detect-pii", leaked, "--json", "--seed", "7", "--evidence-dir", tempDir("proof-leak")], KEY)
    expect(run.code).toBe(4)
    const report = JSON.parse(run.stdout)
    const survived = report.findings.filter((f: { rule: string }) => f.rule === "pii/source-value-survived")
    expect(survived.map((f: { object: { table: string; column: string } }) => `${f.object.table}.${f.object.column}`)).toEqual(["customers.email"])
    expect(survived[0].severity).toBe("breaking")
    // The report names the column, never the leaked values.
    for (const row of real) expect(run.stdout).not.toContain(row.email)
  })
})
