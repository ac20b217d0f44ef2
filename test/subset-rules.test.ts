/**
 * Bad subset rule files, each kind, through the real CLI: one message naming the file, line and
 * key, exit 1, and the target untouched. And `plan`: SQL, estimates, exact counts and order,
 * with nothing written to the source (which is made read-only for the test).
 */
import { spawn } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { adminUrl, freshDatabase, runSql } from "./support/database.ts"
import { projectRoot, runCli } from "./support/cli.ts"
import { tidBelowFraction } from "../src/engine/subset-source.ts"
import { digest } from "./fixtures/subset/checks.ts"

const SCHEMA = readFileSync(new URL("./fixtures/subset/graph.sql", import.meta.url), "utf8")
const ROWS = readFileSync(new URL("./fixtures/subset/graph-rows.sql", import.meta.url), "utf8")
const dir = mkdtempSync(join(tmpdir(), "dbh-subset-rules-"))
let files = 0
const rulesFile = (yaml: string) => {
  const path = join(dir, `rules-${files++}.yaml`)
  writeFileSync(path, yaml)
  return path
}

let source = ""
let target = ""
beforeAll(async () => {
  source = await freshDatabase("sr_src")
  target = await freshDatabase("sr_dst")
  await runSql(source, SCHEMA)
  await runSql(source, ROWS)
  await runSql(target, SCHEMA)
  await runSql(target, "INSERT INTO region VALUES (77, 'kept')")
})

const HEAD = `version: "1.0"\nstrategy: percentage\npercentage: { sample_percentage: 0.2 }\n`

const BAD: ReadonlyArray<readonly [string, string, RegExp]> = [
  ["an unknown key", `${HEAD}cascade_selecton: true\n`, /:4:1: cascade_selecton: unknown key/],
  ["a wrong type", `${HEAD}max_cascade_depth: "three"\n`, /:4:\d+: max_cascade_depth: Expected (an integer|number)/],
  ["a fraction above 1", `version: "1.0"\nstrategy: percentage\npercentage: { sample_percentage: 20 }\n`, /:3:\d+: percentage\.sample_percentage: /],
  ["a missing strategy block", `version: "1.0"\nstrategy: date_range\n`, /:2:1: strategy: strategy "date_range" needs a date_range block/],
  ["an unknown table", `${HEAD}critical_tables: [regin]\n`, /:4:\d+: critical_tables\[0\]: table "regin" does not exist \(did you mean "region"\?\)/],
  ["an unknown column", `${HEAD}tables:\n  orders:\n    date_column: created\n`, /:6:5: tables\.orders\.date_column: column "created" does not exist in public\.orders/],
  ["an unknown virtual key column", `${HEAD}virtual_foreign_keys:\n  - { table: comment, columns: [subject], references: { table: orders, columns: [id] } }\n`, /:5:\d+: virtual_foreign_keys\[0\]\.columns\[0\]: column "subject" does not exist/],
  ["a bad WHERE clause", `${HEAD}tables:\n  orders:\n    where: "status = 'paid' AND nope > 3"\n`, /:6:5: tables\.orders\.where: PostgreSQL cannot use this WHERE clause on public\.orders: column "nope" does not exist/],
  ["a WHERE syntax error", `${HEAD}tables:\n  orders:\n    where: "id >>> 3"\n`, /:6:5: tables\.orders\.where: PostgreSQL cannot use this WHERE clause/],
  ["an excluded table a NOT NULL key needs", `${HEAD}excluded_tables: [customer]\n`, /:4:1: excluded_tables: public\.customer is excluded but public\.orders\.customer_id .* is NOT NULL/],
  ["NULLing a NOT NULL key", `${HEAD}foreign_keys:\n  - { table: orders, columns: [shop_id], null_unselected_parent: true }\n`, /:5:\d+: foreign_keys\[0\]\.null_unselected_parent: public\.orders\.shop_id is NOT NULL/],
  ["a table-qualified WHERE clause", `${HEAD}tables:\n  orders:\n    where: "orders.id < 10"\n`, /:6:5: tables\.orders\.where: PostgreSQL cannot use this WHERE clause on public\.orders: .*name the table's columns unqualified/],
  ["a virtual key between types PostgreSQL cannot compare", `${HEAD}virtual_foreign_keys:\n  - { table: comment, columns: [body], references: { table: orders, columns: [id] } }\n`, /:5:\d+: virtual_foreign_keys\[0\]: PostgreSQL cannot compare public\.comment \(body\) with public\.orders \(id\): operator does not exist/],
  ["a date range over a column that holds no dates", `version: "1.0"\nstrategy: date_range\ndate_range: { column: qty, days: 3 }\nroots: [order_line]\n`, /:3:\d+: date_range\.column: public\.order_line\.qty is integer, not a date or timestamp/],
  ["an until that is no day", `version: "1.0"\nstrategy: date_range\ndate_range: { column: created_at, days: 3, until: "2024-02-30" }\n`, /:3:\d+: date_range\.until: not a date or timestamp: "2024-02-30"/],
  ["an until that is a bare number", `version: "1.0"\nstrategy: date_range\ndate_range: { column: created_at, days: 3, until: "1" }\n`, /:3:\d+: date_range\.until: not a date or timestamp: "1"/],
  // Passes the WHERE check (its alias), but no SELECT the planner writes has that alias: the EXPLAIN of every SELECT stops it.
  ["a WHERE clause naming the check's own alias", `${HEAD}tables:\n  orders:\n    where: "db_harness_row.id < 10"\n`, /PostgreSQL cannot plan the SELECT of (a table|\d+ tables), so nothing was copied:\npublic\.\w+: missing FROM-clause entry for table "db_harness_row"/],
  ["a YAML syntax error", `${HEAD}roots: [orders\n`, /:\d+:\d+: YAML syntax error in the subset rules/]
]

describe("subset rules: bad files", () => {
  for (const [what, yaml, message] of BAD) {
    it(`rejects ${what} with file, line and key, writing nothing`, async () => {
      const before = await digest(target, "region")
      const path = rulesFile(yaml)
      const evidence = mkdtempSync(join(tmpdir(), "dbh-ev-"))
      const run = await runCli(["propagate", source, target, "--subset", path, "--evidence-dir", evidence, "--quiet"])
      expect(run.code).toBe(1)
      expect(run.stderr).toContain(path)
      expect(run.stderr).toMatch(message)
      expect(await digest(target, "region")).toBe(before)
      // No evidence file: only the audit log's record of the refused run (audit-record.ts).
      expect(readdirSync(evidence).filter((f) => !f.startsWith("audit.log."))).toEqual([])
      expect(readFileSync(join(evidence, "audit.log.jsonl"), "utf8")).toContain('"status":"failed"')
      // plan reports the same problem.
      const plan = await runCli(["plan", source, "--subset", path])
      expect(plan.code).toBe(1)
      expect(plan.stderr).toMatch(message)
    })
  }

  it("refuses to exclude a table a NOT NULL virtual key of a partitioned table needs, naming that table once", async () => {
    const db = await freshDatabase("sr_virtual_part")
    const schema = `CREATE TABLE vendor (id int PRIMARY KEY);
      CREATE TABLE sale (id int, vendor_ref int NOT NULL, PRIMARY KEY (id)) PARTITION BY HASH (id);
      CREATE TABLE sale_0 PARTITION OF sale FOR VALUES WITH (MODULUS 2, REMAINDER 0);
      CREATE TABLE sale_1 PARTITION OF sale FOR VALUES WITH (MODULUS 2, REMAINDER 1);`
    await runSql(db, `${schema} INSERT INTO vendor VALUES (1); INSERT INTO sale SELECT g, 1 FROM generate_series(1, 20) g;`)
    const copyTarget = await freshDatabase("sr_virtual_part_dst")
    await runSql(copyTarget, `${schema} INSERT INTO vendor VALUES (5); INSERT INTO sale VALUES (1, 5);`)
    const path = rulesFile(`${HEAD}roots: [sale]\nexcluded_tables: [vendor]\nvirtual_foreign_keys:\n  - { table: sale, columns: [vendor_ref], references: { table: vendor, columns: [id] } }\n`)
    const run = await runCli(["propagate", db, copyTarget, "--subset", path, "--evidence-dir", mkdtempSync(join(tmpdir(), "dbh-ev-")), "--quiet"])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`${path}:5:1: excluded_tables: public.vendor is excluded but public.sale.vendor_ref (virtual_foreign_keys[0]) references it and is NOT NULL`)
    expect(run.stderr).toContain("(1 problem)")
    expect(await runSql(copyTarget, "SELECT id, vendor_ref FROM sale")).toStrictEqual([{ id: 1, vendor_ref: 5 }])
    expect(await runSql(copyTarget, "SELECT id FROM vendor")).toStrictEqual([{ id: 5 }])
  })

  it("refuses to exclude some partitions of a table a key references, and not the others", async () => {
    const db = await freshDatabase("sr_part_excl")
    const schema = `CREATE TABLE ledger (id int PRIMARY KEY) PARTITION BY RANGE (id);
      CREATE TABLE ledger_lo PARTITION OF ledger FOR VALUES FROM (1) TO (101);
      CREATE TABLE ledger_hi PARTITION OF ledger FOR VALUES FROM (101) TO (201);
      CREATE TABLE entry (id int PRIMARY KEY, ledger_id int REFERENCES ledger);`
    await runSql(db, `${schema} INSERT INTO ledger SELECT generate_series(1, 200); INSERT INTO entry SELECT g, g FROM generate_series(1, 200) g;`)
    const copyTarget = await freshDatabase("sr_part_excl_dst")
    await runSql(copyTarget, `${schema} INSERT INTO ledger VALUES (150); INSERT INTO entry VALUES (9, 150);`)
    const path = rulesFile(`${HEAD}roots: [entry]\nexcluded_tables: [ledger_lo]\n`)
    const run = await runCli(["propagate", db, copyTarget, "--subset", path, "--evidence-dir", mkdtempSync(join(tmpdir(), "dbh-ev-")), "--quiet"])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`${path}:5:1: excluded_tables: public.entry (entry_ledger_id_fkey) references public.ledger, of which some partitions are excluded and public.ledger_hi not`)
    expect(await runSql(copyTarget, "SELECT id, ledger_id FROM entry")).toStrictEqual([{ id: 9, ledger_id: 150 }])
    // Excluding all of it is fine: every key into it becomes NULL.
    const whole = rulesFile(`${HEAD}roots: [entry]\nexcluded_tables: [ledger_lo, ledger_hi]\n`)
    const ok = await runCli(["propagate", db, copyTarget, "--subset", whole, "--evidence-dir", mkdtempSync(join(tmpdir(), "dbh-ev-")), "--quiet"])
    expect(ok.code, ok.stderr).toBe(0)
    expect(await runSql(copyTarget, "SELECT count(*)::int AS n FROM entry WHERE ledger_id IS NOT NULL")).toStrictEqual([{ n: 0 }])
  })

  for (const flag of ["--include", "--exclude"]) {
    it(`refuses ${flag} with --subset, writing nothing`, async () => {
      const tables = ["region", "customer", "orders"]
      const before = await Promise.all(tables.map((t) => digest(target, t)))
      const evidence = mkdtempSync(join(tmpdir(), "dbh-ev-"))
      const run = await runCli(["propagate", source, target, "--subset", rulesFile(`${HEAD}roots: [orders]\n`), flag, "public.region", "--evidence-dir", evidence, "--quiet"])
      expect(run.code).toBe(1)
      expect(run.stderr).toContain("--include/--exclude do not combine with --subset")
      expect(await Promise.all(tables.map((t) => digest(target, t)))).toEqual(before)
      expect(readdirSync(evidence).filter((f) => !f.startsWith("audit.log."))).toEqual([])
    })
  }

  it("names a missing rules file", async () => {
    const run = await runCli(["plan", source, "--subset", join(dir, "missing.yaml")])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain("cannot read subset rules")
  })
})

describe("subset copies the rules could have broken a key in", () => {
  /** Copy `schema` + `rows` by `yaml`; the run must exit 0 with every key of the target validated. */
  const copyKeepsKeys = async (name: string, schema: string, rows: string, yaml: string) => {
    const [from, to] = [await freshDatabase(`${name}_src`), await freshDatabase(`${name}_dst`)]
    await runSql(from, `${schema}\n${rows}`)
    await runSql(to, schema)
    const run = await runCli(["propagate", from, to, "--subset", rulesFile(yaml), "--evidence-dir", mkdtempSync(join(tmpdir(), "dbh-ev-")), "--quiet"])
    expect(run.code, run.stderr).toBe(0)
    expect(await runSql(to, "SELECT conname FROM pg_constraint WHERE contype = 'f' AND NOT convalidated")).toStrictEqual([])
    return to
  }

  it("samples a table without a primary key by its whole row even when a column is named like the planner's alias", async () => {
    const to = await copyKeepsKeys(
      "sr_alias",
      "CREATE TABLE parent (id int PRIMARY KEY); CREATE TABLE log (x int, parent_id int NOT NULL REFERENCES parent);",
      "INSERT INTO parent SELECT generate_series(1, 1000); INSERT INTO log SELECT g, g FROM generate_series(1, 1000) g;",
      `version: "1.0"\nstrategy: percentage\nseed: 1\npercentage: { sample_percentage: 0.2 }\nroots: [log]\n`
    )
    const [{ n }] = await runSql(to, "SELECT count(*)::int AS n FROM log")
    expect(n).toBeGreaterThan(100)
    expect(n).toBeLessThan(300)
  })

  it("follows a key over a generated column instead of NULLing it (the copy does not write generated columns)", async () => {
    const to = await copyKeepsKeys(
      "sr_generated",
      "CREATE TABLE parent (id int PRIMARY KEY, code text UNIQUE NOT NULL); CREATE TABLE child (id int PRIMARY KEY, pid int, pcode text GENERATED ALWAYS AS ('P' || pid) STORED REFERENCES parent (code));",
      "INSERT INTO parent SELECT g, 'P' || g FROM generate_series(1, 500) g; INSERT INTO child (id, pid) SELECT g, g % 500 + 1 FROM generate_series(1, 2000) g;",
      `version: "1.0"\nstrategy: percentage\nseed: 5\npercentage: { sample_percentage: 0.1 }\nroots: [child]\nnull_unselected_parents: true\n`
    )
    expect(await runSql(to, "SELECT count(*)::int AS n FROM child WHERE pcode IS NULL")).toStrictEqual([{ n: 0 }])
    const [{ n }] = await runSql(to, "SELECT count(*)::int AS n FROM parent")
    expect(n).toBeGreaterThan(0)
  })

  it("copies a cycle through a column of a NOT NULL domain, and does not NULL that column", async () => {
    const schema = `CREATE DOMAIN ref_id AS int NOT NULL;
      CREATE TABLE a (id int PRIMARY KEY, b_id ref_id); CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a);
      ALTER TABLE a ADD FOREIGN KEY (b_id) REFERENCES b DEFERRABLE INITIALLY DEFERRED;`
    const rows = "BEGIN; SET CONSTRAINTS ALL DEFERRED; INSERT INTO b SELECT g, NULL FROM generate_series(1, 300) g; INSERT INTO a SELECT g, g FROM generate_series(1, 300) g; UPDATE b SET a_id = id WHERE id % 2 = 0; COMMIT;"
    const to = await copyKeepsKeys("sr_domain", schema, rows, `version: "1.0"\nstrategy: percentage\nseed: 1\npercentage: { sample_percentage: 0.2 }\n`)
    const [{ n }] = await runSql(to, "SELECT count(*)::int AS n FROM a")
    expect(n).toBeGreaterThan(0)
    // NULLing a.b_id explicitly is refused.
    const path = rulesFile(`${HEAD}foreign_keys:\n  - { table: a, columns: [b_id], null_unselected_parent: true }\n`)
    const run = await runCli(["plan", to, "--subset", path])
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/foreign_keys\[0\]\.null_unselected_parent: public\.a\.b_id is of domain public\.ref_id, which is NOT NULL/)
  })

  it("follows a temporal key to every period of its parent under null_unselected_parents, and refuses NULLing it by name", async () => {
    const schema = `CREATE EXTENSION IF NOT EXISTS btree_gist;
      CREATE TABLE room (id int, valid daterange, label text, PRIMARY KEY (id, valid WITHOUT OVERLAPS));
      CREATE TABLE booking (id int PRIMARY KEY, room_id int, during daterange, FOREIGN KEY (room_id, PERIOD during) REFERENCES room (id, PERIOD valid));`
    const rows = `INSERT INTO room SELECT g, daterange('2024-01-01', '2024-07-01'), 'a' FROM generate_series(1, 300) g;
      INSERT INTO room SELECT g, daterange('2024-07-01', '2025-01-01'), 'b' FROM generate_series(1, 300) g;
      INSERT INTO booking SELECT g, g % 300 + 1, daterange('2024-06-20', '2024-07-10') FROM generate_series(1, 1000) g;`
    const to = await copyKeepsKeys("sr_temporal", schema, rows, `version: "1.0"\nstrategy: percentage\nseed: 3\npercentage: { sample_percentage: 0.5 }\nnull_unselected_parents: true\n`)
    expect(await runSql(to, "SELECT count(*)::int AS n FROM booking WHERE room_id IS NULL")).toStrictEqual([{ n: 0 }])
    const path = rulesFile(`${HEAD}foreign_keys:\n  - { table: booking, columns: [room_id, during], null_unselected_parent: true }\n`)
    const run = await runCli(["plan", to, "--subset", path])
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/foreign_keys\[0\]\.null_unselected_parent: public\.booking's key booking_room_id_during_fkey is temporal/)
  })

  it("fixes a date range's open end to one instant for every table's SELECT", async () => {
    const path = rulesFile(`version: "1.0"\nstrategy: date_range\ndate_range: { column: created_at, days: 90 }\nroots: [orders]\n`)
    const run = await runCli(["plan", source, "--subset", path, "--json"])
    expect(run.code, run.stderr).toBe(0)
    const sql = (JSON.parse(run.stdout) as { tables: Array<{ table: string; sql: string }> }).tables.map((t) => t.sql).join("\n")
    expect(sql).toContain("created_at")
    expect(sql).not.toContain("now()")
    expect(sql).toMatch(/'\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[.\d]*[+-]\d{2}'::timestamptz/)
  })
})

describe("plan", () => {
  it("prints each table's SQL, estimated and exact rows and the order, writing nothing", async () => {
    const rules = rulesFile(`${HEAD}seed: 8\nroots: [orders, employee]\ncritical_tables: [status]\ncascade_selection: true\nmax_cascade_depth: 1\n`)
    const tables = ["orders", "order_line", "customer", "employee", "status", "region"]
    const before = await Promise.all(tables.map((t) => digest(source, t)))
    await runSql(source, "ANALYZE")
    const [{ n: relations }] = await runSql(source, "SELECT count(*)::int AS n FROM pg_class")
    // A read-only source: any write plan attempted would fail the command.
    const name = new URL(source).pathname.slice(1)
    await runSql(adminUrl(), `ALTER DATABASE "${name}" SET default_transaction_read_only = on`)
    const cwd = mkdtempSync(join(tmpdir(), "dbh-plan-cwd-"))
    const run = await runCli(["plan", source, "--subset", rules, "--count", "--json"], { HOME: cwd })
    await runSql(adminUrl(), `ALTER DATABASE "${name}" RESET default_transaction_read_only`)
    expect(run.code, run.stderr).toBe(0)
    const plan = JSON.parse(run.stdout)
    expect(plan.order.length).toBe(16)
    // Parents before children.
    expect(plan.order.indexOf("public.region")).toBeLessThan(plan.order.indexOf("public.customer"))
    expect(plan.order.indexOf("public.customer")).toBeLessThan(plan.order.indexOf("public.orders"))
    expect(plan.order.indexOf("public.orders")).toBeLessThan(plan.order.indexOf("public.order_line"))
    const orders = plan.tables.find((t: { table: string }) => t.table === "public.orders")
    expect(orders.role).toBe("root")
    expect(orders.sql).toMatch(/^SELECT .* FROM ONLY "public"\."orders" x WHERE .*hashint8extended\(x."id"::bigint, 8\)/)
    // Estimates follow the fraction (PostgreSQL alone takes the hash test for a third of the rows):
    // the sampled roots, and order_line, cascaded from them through its key.
    expect(Math.abs(orders.estimatedRows - orders.rows) / orders.rows).toBeLessThan(0.1)
    const lines = plan.tables.find((t: { table: string }) => t.table === "public.order_line")
    expect(Math.abs(lines.estimatedRows - lines.rows) / lines.rows).toBeLessThan(0.1)
    // The exact count is what the SELECT returns, run here independently.
    const [{ n: exact }] = await runSql(source, `SELECT count(*)::int AS n FROM (${orders.sql}) s`)
    expect(orders.rows).toBe(exact)
    expect(orders.roots.roots).toBe(exact)
    const status = plan.tables.find((t: { table: string }) => t.table === "public.status")
    expect(status.role).toBe("critical")
    expect(status.rows).toBe(4)
    expect(plan.cycles.length).toBe(3)
    // Nothing changed on the source, and no file appeared.
    expect(await Promise.all(tables.map((t) => digest(source, t)))).toEqual(before)
    const [{ n: after }] = await runSql(source, "SELECT count(*)::int AS n FROM pg_class")
    expect(after).toBe(relations)
    expect(readdirSync(cwd)).toEqual([])
    // The text form shows the same.
    const text = await runCli(["plan", source, "--subset", rules])
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toContain("Subset plan (nothing written)")
    expect(text.stdout).toContain('-- public.orders (root)')
  })

  it("finishes its run when the reader of its output goes away early (`plan ... | head`)", async () => {
    const rules = rulesFile(`${HEAD}roots: [orders]\n`)
    const child = spawn(process.execPath, ["src/cli/main.ts", "plan", source, "--subset", rules], { cwd: projectRoot, env: { ...process.env, NO_COLOR: "1" } })
    // Closed before the command writes anything: every write it makes meets a closed pipe.
    child.stdout.destroy()
    let stderr = ""
    child.stderr.on("data", (chunk) => (stderr += chunk))
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve))
    expect(stderr).not.toContain("EPIPE")
    expect(code, stderr).toBe(0)
  })

  for (const analyzed of [false, true]) {
    it(`writes the TID range PostgreSQL estimates at a sample's fraction (${analyzed ? "an analyzed" : "a never analyzed"} table)`, async () => {
      const db = await freshDatabase("sr_tid")
      // Autovacuum off for them: its ANALYZE between the catalog read and the EXPLAIN made "never analyzed" a race (a failed run on 2026-12-07).
      await runSql(
        db,
        "CREATE TABLE t (id int, pad text) WITH (autovacuum_enabled = false); INSERT INTO t SELECT i, repeat('x', 40) FROM generate_series(1, 20000) i; CREATE TABLE one (id int) WITH (autovacuum_enabled = false); INSERT INTO one SELECT generate_series(1, 50)"
      )
      if (analyzed) await runSql(db, "ANALYZE")
      for (const table of ["t", "one"]) {
        const [size] = await runSql<{ blocks: number; relpages: number; reltuples: number }>(
          db,
          `SELECT pg_relation_size(oid)::int / current_setting('block_size')::int AS blocks, relpages, reltuples FROM pg_class WHERE relname = '${table}'`
        )
        const rowsOf = async (where: string) => {
          const [row] = await runSql<{ "QUERY PLAN": Array<{ Plan: { "Plan Rows": number } }> }>(db, `EXPLAIN (FORMAT JSON) SELECT * FROM ONLY ${table} x${where}`)
          return row!["QUERY PLAN"][0]!.Plan["Plan Rows"]
        }
        const all = await rowsOf("")
        for (const fraction of [0.01, 0.2, 0.5, 0.9]) {
          const tid = tidBelowFraction(size!.blocks, size!.relpages, size!.reltuples, fraction)
          const estimate = await rowsOf(` WHERE x.ctid < '${tid}'::tid`)
          // Never analyzed: whole blocks of at least ten (the planner's own guess of a small table's size).
          const slack = analyzed ? 1 : all / (Math.max(10, size!.blocks) - 0.5) / 2 + 1
          expect(Math.abs(estimate - fraction * all), `${table} at ${fraction}: ${tid}`).toBeLessThanOrEqual(slack)
        }
      }
    })
  }
})
