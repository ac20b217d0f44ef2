/**
 * `db-harness consistency` as users and CI run it (the real CLI in a child process) on a real
 * PostgreSQL: orphan rows through every way they get in (a NOT VALID key, a key TARGET lost, rows
 * loaded with triggers bypassed, a self reference, composite keys with MATCH SIMPLE and MATCH
 * FULL NULL rules, partitioned tables, a logical key from the config), each next to a clean twin
 * that must pass; row counts inside and outside the tolerance, per-table overrides, tables on one
 * side only, estimates labelled when a count times out; exit codes, the JSON shape and evidence.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import pg from "pg"
import * as Effect from "effect/Effect"
import { readCatalog } from "../src/engine/catalog-reader.ts"
import { resolveEndpoint, sqlClientLayer } from "../src/engine/connection.ts"
import { orphanCondition, planOrphanChecks, runOrphanChecks, unknownLeavesQuery, type OrphanCheck } from "../src/engine/consistency-orphans.ts"
import { openReadOnlySessions } from "../src/engine/consistency-sessions.ts"
import { ORPHAN_SESSION_SETTINGS } from "../src/engine/consistency.ts"
import type { GateQuery } from "../src/engine/plugin.ts"
import { runCli } from "./support/cli.ts"
import { adminUrl, freshDatabase, loadPagila, runSql } from "./support/database.ts"

interface JsonFinding {
  readonly rule: string
  readonly severity: string
  readonly object: { readonly kind: string; readonly schema?: string; readonly table?: string; readonly name?: string }
  readonly before: string | null
  readonly after: string | null
  readonly message: string
  readonly fingerprint: string
  readonly hint?: string
  readonly details?: Record<string, unknown>
}

interface JsonForeignKeyCheck {
  readonly name: string
  readonly declaredIn: string
  readonly table: string
  readonly columns: ReadonlyArray<string>
  readonly match: string
  readonly validated: boolean | null
  readonly orphans: number | null
  readonly skipped?: string
}

interface JsonRowCount {
  readonly table: string
  readonly source: number | null
  readonly target: number | null
  readonly sourceMethod: string
  readonly targetMethod: string
  readonly status: string
  readonly tolerance: number
}

interface JsonReport {
  readonly gate: string
  readonly status: string
  readonly findings: ReadonlyArray<JsonFinding>
  readonly checks: {
    readonly foreignKeys: ReadonlyArray<JsonForeignKeyCheck>
    readonly rowCounts: ReadonlyArray<JsonRowCount>
    readonly tablesOnOneSide: ReadonlyArray<{ readonly table: string; readonly presentIn: string; readonly partitionOf: string | null }>
  }
  readonly summary: Record<string, unknown>
}

const parse = (stdout: string): JsonReport => JSON.parse(stdout) as JsonReport

/** The same tables and rows on both sides; `side` decides only the keys TARGET lost. */
const orphanScenario = (side: "source" | "target") => `
  CREATE TABLE p1 (id int PRIMARY KEY);
  INSERT INTO p1 SELECT generate_series(1, 10);

  -- a NOT VALID key over an orphan, and a clean twin
  CREATE TABLE nv_bad (id int PRIMARY KEY, pid int);
  CREATE TABLE nv_good (id int PRIMARY KEY, pid int);
  INSERT INTO nv_bad VALUES (1, 1), (2, 2), (3, 99);
  INSERT INTO nv_good VALUES (1, 1), (2, NULL);
  ALTER TABLE nv_bad ADD CONSTRAINT nv_bad_pid_fkey FOREIGN KEY (pid) REFERENCES p1 NOT VALID;
  ALTER TABLE nv_good ADD CONSTRAINT nv_good_pid_fkey FOREIGN KEY (pid) REFERENCES p1 NOT VALID;

  -- keys SOURCE has and TARGET lost; and one TARGET kept under another name (not lost)
  CREATE TABLE lost_bad (id int PRIMARY KEY, pid int);
  CREATE TABLE lost_good (id int PRIMARY KEY, pid int);
  CREATE TABLE renamed (id int PRIMARY KEY, pid int);
  INSERT INTO lost_bad VALUES (1, 3), (2, 77);
  INSERT INTO lost_good VALUES (1, 3);
  INSERT INTO renamed VALUES (1, 4);
  ${side === "source"
    ? `ALTER TABLE lost_bad ADD CONSTRAINT lost_bad_pid_fkey FOREIGN KEY (pid) REFERENCES p1 NOT VALID;
       ALTER TABLE lost_good ADD CONSTRAINT lost_good_pid_fkey FOREIGN KEY (pid) REFERENCES p1;
       ALTER TABLE renamed ADD CONSTRAINT renamed_old FOREIGN KEY (pid) REFERENCES p1;`
    : `ALTER TABLE renamed ADD CONSTRAINT renamed_new FOREIGN KEY (pid) REFERENCES p1;`}

  -- validated keys whose triggers were bypassed: replication role, disabled triggers
  CREATE TABLE rep_bad (id int PRIMARY KEY, pid int REFERENCES p1);
  CREATE TABLE rep_good (id int PRIMARY KEY, pid int REFERENCES p1);
  CREATE TABLE dis_bad (id int PRIMARY KEY, pid int REFERENCES p1);
  INSERT INTO rep_good VALUES (1, 5);
  INSERT INTO rep_bad VALUES (1, 5);
  SET session_replication_role = replica;
  INSERT INTO rep_bad VALUES (2, 55), (3, 56);
  SET session_replication_role = DEFAULT;
  ALTER TABLE dis_bad DISABLE TRIGGER ALL;
  INSERT INTO dis_bad VALUES (1, 66);
  ALTER TABLE dis_bad ENABLE TRIGGER ALL;

  -- self references
  CREATE TABLE emp_bad (id int PRIMARY KEY, manager_id int REFERENCES emp_bad);
  CREATE TABLE emp_good (id int PRIMARY KEY, manager_id int REFERENCES emp_good);
  INSERT INTO emp_bad VALUES (1, NULL), (2, 1);
  INSERT INTO emp_good VALUES (1, NULL), (2, 1), (3, 2);
  SET session_replication_role = replica;
  INSERT INTO emp_bad VALUES (3, 999);
  SET session_replication_role = DEFAULT;

  -- composite keys: MATCH SIMPLE (a NULL part is no orphan), MATCH FULL (a NULL part is a violation)
  CREATE TABLE cp (a int, b int, PRIMARY KEY (a, b));
  INSERT INTO cp VALUES (1, 1), (2, 2);
  CREATE TABLE cc_simple_bad (id int PRIMARY KEY, a int, b int, FOREIGN KEY (a, b) REFERENCES cp);
  CREATE TABLE cc_simple_good (id int PRIMARY KEY, a int, b int, FOREIGN KEY (a, b) REFERENCES cp);
  CREATE TABLE cc_full_bad (id int PRIMARY KEY, a int, b int, FOREIGN KEY (a, b) REFERENCES cp MATCH FULL);
  CREATE TABLE cc_full_good (id int PRIMARY KEY, a int, b int, FOREIGN KEY (a, b) REFERENCES cp MATCH FULL);
  INSERT INTO cc_simple_bad VALUES (1, 1, 1), (2, 1, NULL), (3, NULL, 9);
  INSERT INTO cc_simple_good VALUES (1, 1, 1), (2, 9, NULL), (3, NULL, NULL);
  INSERT INTO cc_full_good VALUES (1, 1, 1), (2, NULL, NULL);
  INSERT INTO cc_full_bad VALUES (1, 2, 2);
  SET session_replication_role = replica;
  INSERT INTO cc_simple_bad VALUES (4, 9, 9);
  INSERT INTO cc_full_bad VALUES (2, 1, NULL), (3, NULL, NULL);
  SET session_replication_role = DEFAULT;

  -- partitioned child tables: the key is checked once, on the partitioned table
  CREATE TABLE ev_bad (id int, pid int REFERENCES p1, at date NOT NULL) PARTITION BY RANGE (at);
  CREATE TABLE ev_bad_2025 PARTITION OF ev_bad FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
  CREATE TABLE ev_bad_2026 PARTITION OF ev_bad FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
  CREATE TABLE ev_good (id int, pid int REFERENCES p1, at date NOT NULL) PARTITION BY RANGE (at);
  CREATE TABLE ev_good_2025 PARTITION OF ev_good FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
  INSERT INTO ev_bad VALUES (1, 1, '2025-03-01'), (2, 2, '2026-03-01');
  INSERT INTO ev_good VALUES (1, 1, '2025-03-01');
  SET session_replication_role = replica;
  INSERT INTO ev_bad VALUES (3, 42, '2026-05-01'), (4, 43, '2025-05-01');
  SET session_replication_role = DEFAULT;

  -- for logical keys (config): personal text keys, and a clean integer one
  CREATE TABLE people (email text PRIMARY KEY);
  INSERT INTO people VALUES ('ada@example.com');
  CREATE TABLE mail_log (id int PRIMARY KEY, recipient_email text);
  INSERT INTO mail_log VALUES (1, 'ada@example.com'), (2, 'ghost@example.com');
  CREATE TABLE audit_ok (id int PRIMARY KEY, p1_ref int);
  INSERT INTO audit_ok VALUES (1, 10);
  ANALYZE;`

/** Evidence files in `dir` (none if it does not exist), leaving out the audit log, which records every run, failed ones too. */
const evidenceFiles = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith("audit.log.")) : [])

describe("db-harness consistency", () => {
  let dir = ""
  let evidenceDir = ""
  let orphanSource = ""
  let orphanTarget = ""
  let pagila = ""
  let pagilaCopy = ""
  let pagilaOrphans = ""
  let countSource = ""
  let countTarget = ""
  let configPath = ""

  beforeAll(async () => {
    ;[orphanSource, orphanTarget, pagila, pagilaCopy, pagilaOrphans, countSource, countTarget] = await Promise.all([
      freshDatabase("cons_os"),
      freshDatabase("cons_ot"),
      freshDatabase("cons_pa"),
      freshDatabase("cons_pb"),
      freshDatabase("cons_pc"),
      freshDatabase("cons_cs"),
      freshDatabase("cons_ct")
    ])
    const rows = readFileSync(new URL("./fixtures/pagila-rows.sql", import.meta.url), "utf8")
    await Promise.all([
      runSql(orphanSource, orphanScenario("source")),
      runSql(orphanTarget, orphanScenario("target")),
      ...[pagila, pagilaCopy, pagilaOrphans].map(async (url) => {
        await loadPagila(url)
        await runSql(url, rows)
      })
    ])
    // A payment (partitioned by date) and a rental whose customer is gone, deleted with triggers off.
    await runSql(pagilaOrphans, "SET session_replication_role = replica; DELETE FROM public.customer WHERE customer_id = (SELECT min(customer_id) FROM public.payment)")

    const counts = (side: "source" | "target") => `
      CREATE TABLE stable (id int PRIMARY KEY);
      INSERT INTO stable SELECT generate_series(1, 100);
      CREATE TABLE shrunk (id int PRIMARY KEY);
      INSERT INTO shrunk SELECT generate_series(1, ${side === "source" ? 100 : 90});
      CREATE TABLE grown (id int PRIMARY KEY);
      INSERT INTO grown SELECT generate_series(1, ${side === "source" ? 100 : 104});
      CREATE TABLE halved (id int PRIMARY KEY);
      INSERT INTO halved SELECT generate_series(1, ${side === "source" ? 100 : 50});
      CREATE TABLE ${side === "source" ? "only_in_source" : "only_in_target"} (id int);
      CREATE TABLE pt (id int, at date NOT NULL) PARTITION BY RANGE (at);
      CREATE TABLE pt_2025 PARTITION OF pt FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
      CREATE TABLE ${side === "source" ? "pt_2026" : "pt_rest"} PARTITION OF pt FOR VALUES FROM ('2026-01-01') TO (${side === "source" ? "'2027-01-01'" : "MAXVALUE"});
      INSERT INTO pt SELECT i, date '2025-06-01' + (i % 400) FROM generate_series(1, 300) i;
      CREATE TABLE locked (id int);
      INSERT INTO locked SELECT generate_series(1, 1000);
      ANALYZE;`
    await Promise.all([runSql(countSource, counts("source")), runSql(countTarget, counts("target"))])

    dir = mkdtempSync(join(tmpdir(), "db-harness-consistency-"))
    evidenceDir = join(dir, "evidence")
    configPath = join(dir, "consistency.yaml")
    writeFileSync(
      configPath,
      [
        "logical_foreign_keys:",
        "  - name: mail_log_recipient",
        "    table: public.mail_log",
        "    columns: [recipient_email]",
        "    references: { table: people, columns: [email] }",
        "  - table: audit_ok",
        "    columns: [p1_ref]",
        "    references: { table: p1, columns: [id] }",
        ""
      ].join("\n")
    )
  })

  afterAll(() => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true })
  })

  const consistency = (...args: ReadonlyArray<string>) => runCli(["consistency", ...args, "--evidence-dir", evidenceDir])

  describe("orphans", () => {
    let report: JsonReport
    let code = 0
    let stderr = ""

    beforeAll(async () => {
      const run = await consistency(orphanSource, orphanTarget, "--json", "--config", configPath)
      code = run.code
      stderr = run.stderr
      report = parse(run.stdout)
    })

    const check = (table: string) => report.checks.foreignKeys.filter((c) => c.table === `public.${table}`)
    const orphansOf = (table: string) => {
      const found = check(table)
      expect(found, `one check of ${table}`).toHaveLength(1)
      return found[0]?.orphans
    }
    const findingOf = (table: string) => report.findings.find((f) => f.rule === "consistency/orphan-rows" && f.object.table === table)

    it("exits 3 with status fail", () => {
      expect(code, stderr).toBe(3)
      expect(report.status).toBe("fail")
      expect(stderr).toMatch(/consistency violation/)
    })

    it("a NOT VALID key: orphans found; its clean twin passes", () => {
      expect(orphansOf("nv_bad")).toBe(1)
      expect(check("nv_bad")[0]?.validated).toBe(false)
      expect(findingOf("nv_bad")?.message).toMatch(/NOT VALID on TARGET/)
      expect(findingOf("nv_bad")?.details?.["samples"]).toStrictEqual([{ pid: "99" }])
      expect(orphansOf("nv_good")).toBe(0)
      expect(findingOf("nv_good")).toBeUndefined()
    })

    it("a key TARGET lost: checked from SOURCE's declaration; a clean one and a renamed one pass", () => {
      expect(check("lost_bad")[0]).toMatchObject({ declaredIn: "source", name: "lost_bad_pid_fkey", orphans: 1 })
      expect(findingOf("lost_bad")?.message).toMatch(/TARGET lost this key/)
      expect(check("lost_good")[0]).toMatchObject({ declaredIn: "source", orphans: 0 })
      // Same columns and parent under a new name: matched by what it constrains, checked once, as TARGET's.
      expect(check("renamed").map((c) => [c.name, c.declaredIn])).toStrictEqual([["renamed_new", "target"]])
    })

    it("a validated key whose triggers were bypassed (replication role, disabled triggers)", () => {
      expect(check("rep_bad")[0]).toMatchObject({ validated: true, orphans: 2 })
      expect(findingOf("rep_bad")?.message).toMatch(/bypassed/)
      expect(findingOf("rep_bad")?.details?.["samples"]).toStrictEqual([{ pid: "55" }, { pid: "56" }])
      expect(orphansOf("dis_bad")).toBe(1)
      expect(orphansOf("rep_good")).toBe(0)
    })

    it("a self reference", () => {
      expect(orphansOf("emp_bad")).toBe(1)
      expect(findingOf("emp_bad")?.details?.["samples"]).toStrictEqual([{ manager_id: "999" }])
      expect(orphansOf("emp_good")).toBe(0)
    })

    it("composite keys: MATCH SIMPLE skips a key with a NULL part; MATCH FULL counts it", () => {
      // (1, NULL) and (NULL, 9) are no orphans under MATCH SIMPLE; (9, 9) is.
      expect(orphansOf("cc_simple_bad")).toBe(1)
      expect(findingOf("cc_simple_bad")?.details?.["samples"]).toStrictEqual([{ a: "9", b: "9" }])
      expect(orphansOf("cc_simple_good")).toBe(0)
      // (1, NULL) violates MATCH FULL; (NULL, NULL) does not.
      expect(check("cc_full_bad")[0]).toMatchObject({ match: "full", orphans: 1 })
      expect(findingOf("cc_full_bad")?.details?.["samples"]).toStrictEqual([{ a: "1", b: null }])
      expect(orphansOf("cc_full_good")).toBe(0)
    })

    it("partitioned tables: checked once on the partitioned table, orphans in every partition counted", () => {
      expect(orphansOf("ev_bad")).toBe(2)
      expect(orphansOf("ev_good")).toBe(0)
      expect(report.checks.foreignKeys.filter((c) => /ev_(bad|good)_/.test(c.table))).toStrictEqual([])
    })

    it("logical keys from the config: orphans found with personal values masked; a clean one passes", () => {
      const logical = report.checks.foreignKeys.filter((c) => c.declaredIn === "config")
      expect(logical.map((c) => [c.table, c.orphans])).toStrictEqual([
        ["public.mail_log", 1],
        ["public.audit_ok", 0]
      ])
      const found = findingOf("mail_log")
      expect(found?.object).toStrictEqual({ kind: "logical foreign key", schema: "public", table: "mail_log", name: "mail_log_recipient" })
      expect(found?.details?.["samples"]).toStrictEqual([{ recipient_email: "***" }])
      expect(found?.details?.["maskedColumns"]).toStrictEqual(["recipient_email"])
      expect(JSON.stringify(report)).not.toContain("ghost@example.com")
    })

    it("only the violations are findings, with the shared finding shape", () => {
      const tables = report.findings.map((f) => f.object.table).sort()
      expect(tables).toStrictEqual(["cc_full_bad", "cc_simple_bad", "dis_bad", "emp_bad", "ev_bad", "lost_bad", "mail_log", "nv_bad", "rep_bad"])
      for (const f of report.findings) {
        expect(Object.keys(f)).toStrictEqual(["rule", "severity", "object", "before", "after", "message", "fingerprint", "hint", "details"])
        expect(f.severity).toBe("breaking")
        expect(f.fingerprint).toMatch(/^[0-9a-f]{16}$/)
      }
      // Same data: no row-count findings.
      expect(report.summary["rowCountViolations"]).toBe(0)
    })

    it("the listing query of a finding returns exactly the orphan rows", async () => {
      const query = String(findingOf("cc_simple_bad")?.details?.["query"])
      const rows = await runSql(orphanTarget, query)
      expect(rows).toStrictEqual([{ id: 4, a: 9, b: 9 }])
    })

    it("readable output names constraint, tables, columns, counts and sample keys", async () => {
      const run = await consistency(orphanSource, orphanTarget, "--config", configPath)
      expect(run.code, run.stderr).toBe(3)
      expect(run.stdout).toContain("orphan rows (9):")
      expect(run.stdout).toContain("2 row(s) of public.rep_bad reference no row of public.p1 (pid → id)")
      expect(run.stdout).toContain("sample keys: (a=1, b=NULL)")
      expect(run.stdout).toMatch(/FAIL consistency .* 9 with orphans/)
      expect(run.stdout).toMatch(/evidence: .*consistency_.*\.json/)
    })
  })

  it("pagila with rows against itself: exit 0, every key checked and clean", async () => {
    const run = await consistency(pagila, pagilaCopy, "--json")
    expect(run.code, run.stderr).toBe(0)
    const report = parse(run.stdout)
    expect(report.status).toBe("pass")
    expect(report.findings).toStrictEqual([])
    expect(report.checks.foreignKeys.length).toBeGreaterThan(15)
    expect(report.checks.foreignKeys.every((c) => c.orphans === 0)).toBe(true)
    expect(report.checks.rowCounts.every((c) => c.status === "ok" && c.sourceMethod === "exact")).toBe(true)
    // pagila declares payment's keys on each partition (not on the partitioned table): each is checked there.
    expect(report.checks.foreignKeys.filter((c) => c.name === "payment_p2022_01_customer_id_fkey").map((c) => c.table)).toStrictEqual([
      "public.payment_p2022_01"
    ])
  })

  it("pagila with a customer deleted behind the triggers: orphans in every payment partition and in rental", async () => {
    const run = await consistency(pagila, pagilaOrphans, "--json", "--tolerance", "0.5")
    expect(run.code, run.stderr).toBe(3)
    const report = parse(run.stdout)
    const toCustomer = report.findings.filter(
      (f) => f.rule === "consistency/orphan-rows" && (f.details?.["references"] as { table?: string } | undefined)?.table === "customer"
    )
    const payments = toCustomer.filter((f) => f.object.table?.startsWith("payment_p") === true)
    const [expected] = await runSql(
      pagila,
      "SELECT count(*)::int AS n, count(DISTINCT tableoid)::int AS partitions FROM public.payment WHERE customer_id = (SELECT min(customer_id) FROM public.payment)"
    )
    expect(expected.n).toBeGreaterThan(0)
    expect(payments).toHaveLength(expected.partitions)
    expect(payments.reduce((total, f) => total + Number(f.details?.["orphans"]), 0)).toBe(expected.n)
    expect(toCustomer.some((f) => f.object.table === "rental")).toBe(true)
    // The lost customer is 1 row of many: within the 50% tolerance.
    expect(report.findings.filter((f) => f.rule === "consistency/row-count")).toStrictEqual([])
  })

  it("pagila with the customer deleted, checked by key range wherever it applies: the same orphans, samples and counts as the anti-join", async () => {
    const config = join(dir, "pagila-parent-keys.yaml")
    writeFileSync(config, "key_range_min_rows: 0\n")
    const [byKeys, byJoin] = await Promise.all([
      consistency(pagila, pagilaOrphans, "--json", "--tolerance", "0.5", "--config", config),
      consistency(pagila, pagilaOrphans, "--json", "--tolerance", "0.5")
    ])
    expect(byKeys.code, byKeys.stderr).toBe(3)
    const [keys, join_] = [parse(byKeys.stdout), parse(byJoin.stdout)]
    const methods = new Set(keys.checks.foreignKeys.map((k) => (k as { method?: { kind: string } }).method?.kind))
    // Every pagila key is an integer onto a unique integer column, its parent's keys in a range of
    // less than 2^23; a child with an index on its key column is checked by the index's gaps.
    expect([...methods].sort()).toStrictEqual(["index gaps", "key range"])
    const byGaps = keys.checks.foreignKeys.filter((k) => (k as { method?: { kind: string } }).method?.kind === "index gaps")
    // The deleted customer's payments: one gap between neighbouring customers, read through the partition's index.
    expect(byGaps.find((k) => k.name === "payment_p2022_05_customer_id_fkey")).toMatchObject({
      orphans: 2,
      method: { kind: "index gaps", index: "idx_fk_payment_p2022_05_customer_id", orphanGaps: 1 }
    })
    const orphans = (report: JsonReport) => report.checks.foreignKeys.map((k) => [k.table, k.name, k.orphans])
    expect(orphans(keys)).toStrictEqual(orphans(join_))
    const samples = (report: JsonReport) => report.findings.map((f) => [f.object.table, f.object.name, f.details?.["samples"]])
    expect(samples(keys)).toStrictEqual(samples(join_))
    expect(keys.checks.rowCounts).toStrictEqual(join_.checks.rowCounts)
  })

  describe("row counts", () => {
    it("default tolerance (5%): 10% fewer rows and a table lost fail; 4% more rows pass; a new table is reported", async () => {
      const run = await consistency(countSource, countTarget, "--json")
      expect(run.code, run.stderr).toBe(3)
      const report = parse(run.stdout)
      const byTable = new Map(report.checks.rowCounts.map((c) => [c.table, c]))
      expect(byTable.get("public.stable")).toMatchObject({ source: 100, target: 100, status: "ok", tolerance: 0.05 })
      expect(byTable.get("public.grown")).toMatchObject({ source: 100, target: 104, status: "ok" })
      expect(byTable.get("public.shrunk")).toMatchObject({ source: 100, target: 90, status: "out-of-tolerance" })
      expect(byTable.get("public.halved")).toMatchObject({ source: 100, target: 50, status: "out-of-tolerance" })
      // pt's partitions differ (2026 vs rest) but its rows are the same: compared as the sum.
      expect(byTable.get("public.pt")).toMatchObject({ source: 300, target: 300, status: "ok" })
      const rowCount = report.findings.filter((f) => f.rule === "consistency/row-count")
      expect(rowCount.map((f) => f.object.table).sort()).toStrictEqual(["halved", "shrunk"])
      const shrunk = rowCount.find((f) => f.object.table === "shrunk")
      expect(shrunk?.details).toMatchObject({ source: 100, target: 90, difference: -10, fraction: 0.1, tolerance: 0.05, sourceMethod: "exact", targetMethod: "exact" })
      expect(shrunk?.message).toBe("public.shrunk: SOURCE 100 rows, TARGET 90 (−10, 10.0%), over the tolerance of 5.0%")

      const missing = report.findings.filter((f) => f.rule === "consistency/table-missing")
      expect(missing.map((f) => [f.object.table, f.severity])).toStrictEqual([
        ["only_in_source", "breaking"],
        ["pt_2026", "hazard"]
      ])
      const added = report.findings.filter((f) => f.rule === "consistency/table-added")
      expect(added.map((f) => [f.object.table, f.severity])).toStrictEqual([
        ["only_in_target", "info"],
        ["pt_rest", "info"]
      ])
    })

    it("--tolerance 0.2 plus a per-table override and an exclusion: exit 0 (a repartitioning only warns)", async () => {
      const config = join(dir, "counts.yaml")
      writeFileSync(config, ["tolerances:", "  - table: public.halved", "    tolerance: 0.6", "exclude: [only_in_source]", ""].join("\n"))
      const run = await consistency(countSource, countTarget, "--json", "--tolerance", "0.2", "--config", config)
      expect(run.code, run.stderr).toBe(0)
      const report = parse(run.stdout)
      expect(report.status).toBe("warn") // pt_2026 is gone, its rows are in pt_rest: a hazard
      const halved = report.checks.rowCounts.find((c) => c.table === "public.halved")
      expect(halved).toMatchObject({ status: "ok", tolerance: 0.6 })
      expect(report.checks.rowCounts.find((c) => c.table === "public.shrunk")).toMatchObject({ status: "ok", tolerance: 0.2 })
      expect(report.findings.map((f) => [f.rule, f.object.table, f.severity])).toStrictEqual([
        ["consistency/table-missing", "pt_2026", "hazard"],
        ["consistency/table-added", "only_in_target", "info"],
        ["consistency/table-added", "pt_rest", "info"]
      ])
    })

    it("the override alone, without --tolerance: only shrunk is out of the 5% default", async () => {
      const config = join(dir, "halved.yaml")
      writeFileSync(config, "tolerances:\n  - table: halved\n    tolerance: 0.5\n")
      const run = await consistency(countSource, countTarget, "--json", "--config", config)
      expect(run.code).toBe(3)
      const report = parse(run.stdout)
      expect(report.findings.filter((f) => f.rule === "consistency/row-count").map((f) => f.object.table)).toStrictEqual(["shrunk"])
    })

    describe("a count that hits the statement timeout", () => {
      let locker: pg.Client
      beforeAll(async () => {
        locker = new pg.Client({ connectionString: countTarget })
        await locker.connect()
        await locker.query("BEGIN; LOCK TABLE public.locked IN ACCESS EXCLUSIVE MODE")
      })
      afterAll(async () => {
        await locker.query("ROLLBACK").catch(() => {})
        await locker.end()
      })

      it("fails (exit 1) naming the table and the way out, and writes nothing", async () => {
        const evidence = join(dir, "timeout-evidence")
        const run = await runCli(["consistency", countSource, countTarget, "--statement-timeout", "500", "--tolerance", "1", "--evidence-dir", evidence])
        expect(run.code).toBe(1)
        expect(run.stderr).toMatch(/counting the rows of public\.locked on TARGET hit the statement timeout/)
        expect(run.stderr).toMatch(/--estimates/)
        expect(evidenceFiles(evidence)).toEqual([])
      })

      it("with --estimates: falls back to the catalog estimate, labelled as such", async () => {
        const run = await consistency(countSource, countTarget, "--statement-timeout", "500", "--tolerance", "1", "--estimates", "--json")
        expect(run.code, run.stderr).toBe(3) // only_in_source is still missing
        const report = parse(run.stdout)
        expect(report.checks.rowCounts.find((c) => c.table === "public.locked")).toMatchObject({
          source: 1000,
          target: 1000,
          sourceMethod: "exact",
          targetMethod: "estimate",
          status: "ok"
        })
        expect(report.summary["estimatedCounts"]).toBe(1)
        const readable = await consistency(countSource, countTarget, "--statement-timeout", "500", "--tolerance", "1", "--estimates")
        expect(readable.stdout).toMatch(/1 on catalog estimates/)
      })
    })
  })

  describe("tables with keys: exact counts, a non-unique logical parent, many orphans", () => {
    const scenario = (side: "source" | "target") => `
      CREATE TABLE parent (id int PRIMARY KEY);
      INSERT INTO parent SELECT generate_series(1, 100);
      CREATE TABLE kid (id int PRIMARY KEY, pid int REFERENCES parent);
      INSERT INTO kid SELECT i, 1 + i % 100 FROM generate_series(1, ${side === "source" ? 100 : 80}) i;
      CREATE TABLE kid_same (id int PRIMARY KEY, pid int REFERENCES parent);
      INSERT INTO kid_same SELECT i, CASE WHEN i % 10 = 0 THEN NULL ELSE 1 + i % 100 END FROM generate_series(1, 70) i;
      -- a logical key onto a column with duplicates: each child row must still count once
      CREATE TABLE codes (code int NOT NULL);
      INSERT INTO codes SELECT 1 + i % 25 FROM generate_series(1, 50) i;
      CREATE TABLE coded (id int PRIMARY KEY, code int);
      INSERT INTO coded SELECT i, 1 + i % 25 FROM generate_series(1, 60) i;
      -- many orphans: the samples stay few, the smallest key first
      CREATE TABLE many (id int PRIMARY KEY, pid int);
      INSERT INTO many SELECT i, ${side === "source" ? "1" : "1000 + i"} FROM generate_series(1, 2000) i;
      ALTER TABLE many ADD CONSTRAINT many_pid_fkey FOREIGN KEY (pid) REFERENCES parent NOT VALID;
      ANALYZE;`
    let source = ""
    let target = ""
    let report: JsonReport
    let code = 0
    beforeAll(async () => {
      ;[source, target] = await Promise.all([freshDatabase("cons_ks"), freshDatabase("cons_kt")])
      await Promise.all([runSql(source, scenario("source")), runSql(target, scenario("target"))])
      const config = join(dir, "coded.yaml")
      writeFileSync(config, ["logical_foreign_keys:", "  - table: coded", "    columns: [code]", "    references: { table: codes, columns: [code] }", ""].join("\n"))
      const run = await consistency(source, target, "--json", "--config", config)
      code = run.code
      report = parse(run.stdout)
    })

    it("tables that keys point at or from are counted exactly, in and out of tolerance; a logical key onto a non-unique column finds no orphans", () => {
      expect(code).toBe(3)
      const byTable = new Map(report.checks.rowCounts.map((c) => [c.table, c]))
      expect(byTable.get("public.kid")).toMatchObject({ source: 100, target: 80, targetMethod: "exact", status: "out-of-tolerance" })
      expect(byTable.get("public.kid_same")).toMatchObject({ source: 70, target: 70, targetMethod: "exact", status: "ok" })
      expect(byTable.get("public.coded")).toMatchObject({ source: 60, target: 60, status: "ok" })
      expect(byTable.get("public.many")).toMatchObject({ source: 2000, target: 2000, status: "ok" })
      const keys = new Map(report.checks.foreignKeys.map((k) => [k.table, k]))
      expect(keys.get("public.coded")?.orphans).toBe(0)
      expect(keys.get("public.kid")?.orphans).toBe(0)
      expect(keys.get("public.kid_same")?.orphans).toBe(0)
    })

    it("2,000 orphans: all counted, five distinct sample keys in order, all of them orphans", () => {
      const many = report.findings.find((f) => f.rule === "consistency/orphan-rows" && f.object.table === "many")
      expect(many?.details?.["orphans"]).toBe(2000)
      const samples = many?.details?.["samples"] as ReadonlyArray<{ pid: string }>
      expect(samples).toHaveLength(5)
      expect(samples[0]).toStrictEqual({ pid: "1001" })
      expect(new Set(samples.map((s) => s.pid)).size).toBe(5)
      for (const sample of samples) expect(Number(sample.pid)).toBeGreaterThan(1000)
    })
  })

  describe("keys over types PostgreSQL compares with one another, temporal keys, NOT ENFORCED keys", () => {
    // Every key here is one PostgreSQL accepts; each *_good table holds only rows it validated, each
    // *_bad one also rows loaded behind its triggers. No pair may be compared as text: a date is
    // not the text of the timestamp it equals, nor 2.5 the text of 2.50.
    const scenario = `
      CREATE EXTENSION btree_gist;
      CREATE TABLE ts_parent (t timestamp PRIMARY KEY);
      INSERT INTO ts_parent VALUES ('2024-01-01'), ('2024-01-02');
      CREATE TABLE date_good (d date REFERENCES ts_parent (t));
      CREATE TABLE date_bad (d date REFERENCES ts_parent (t));
      INSERT INTO date_good VALUES ('2024-01-01'), ('2024-01-02');
      INSERT INTO date_bad VALUES ('2024-01-01');
      CREATE TABLE day_parent (d date PRIMARY KEY);
      INSERT INTO day_parent VALUES ('2024-01-01');
      CREATE TABLE stamp_good (t timestamptz REFERENCES day_parent (d));
      INSERT INTO stamp_good VALUES ('2024-01-01 00:00');
      CREATE DOMAIN "Amount" AS numeric;
      CREATE TABLE amounts (v numeric PRIMARY KEY);
      INSERT INTO amounts VALUES (1.0), (2.50);
      CREATE TABLE amount_good (v "Amount" REFERENCES amounts);
      CREATE TABLE amount_bad (v "Amount" REFERENCES amounts);
      INSERT INTO amount_good VALUES (1), (2.5);
      INSERT INTO amount_bad VALUES (2.5);
      CREATE TABLE mixed_parent (a numeric, b timestamp, PRIMARY KEY (a, b));
      INSERT INTO mixed_parent VALUES (1.0, '2024-01-01'), (2.0, '2024-01-02');
      CREATE TABLE mixed_good (a int, b date, FOREIGN KEY (a, b) REFERENCES mixed_parent);
      CREATE TABLE mixed_bad (a int, b date, FOREIGN KEY (a, b) REFERENCES mixed_parent);
      INSERT INTO mixed_good VALUES (1, '2024-01-01'), (2, '2024-01-02');
      INSERT INTO mixed_bad VALUES (1, '2024-01-01');
      CREATE TABLE periods (id int, valid daterange, PRIMARY KEY (id, valid WITHOUT OVERLAPS));
      INSERT INTO periods VALUES (1, '[2024-01-01,2024-02-01)'), (1, '[2024-02-01,2024-03-01)'), (2, '[2024-01-01,2024-01-10)');
      CREATE TABLE period_good (pid int, valid daterange, FOREIGN KEY (pid, PERIOD valid) REFERENCES periods (id, PERIOD valid));
      CREATE TABLE period_bad (pid int, valid daterange, FOREIGN KEY (pid, PERIOD valid) REFERENCES periods (id, PERIOD valid));
      -- within one parent range, across two adjacent ones, and a NULL key
      INSERT INTO period_good VALUES (2, '[2024-01-02,2024-01-05)'), (1, '[2024-01-15,2024-02-15)'), (NULL, '[2024-01-01,2024-01-02)');
      INSERT INTO period_bad VALUES (1, '[2024-01-01,2024-03-01)');
      CREATE TABLE tenant_periods (tenant int, id int, valid daterange, PRIMARY KEY (tenant, id, valid WITHOUT OVERLAPS));
      INSERT INTO tenant_periods VALUES (1, 1, '[2024-01-01,2024-02-01)'), (1, 1, '[2024-02-01,2024-03-01)'), (2, 1, '[2024-03-01,2024-04-01)');
      CREATE TABLE tenant_period_child (tenant int, pid int, valid daterange, FOREIGN KEY (tenant, pid, PERIOD valid) REFERENCES tenant_periods (tenant, id, PERIOD valid));
      -- across tenant 1's two adjacent ranges; a NULL tenant references nothing
      INSERT INTO tenant_period_child VALUES (1, 1, '[2024-01-15,2024-02-15)'), (2, 1, '[2024-03-05,2024-03-10)'), (NULL, 1, '[2020-01-01,2020-01-02)');
      CREATE TABLE unenforced (pid int);
      INSERT INTO unenforced VALUES (1.0), (7);
      ALTER TABLE unenforced ADD CONSTRAINT unenforced_pid_fkey FOREIGN KEY (pid) REFERENCES amounts NOT ENFORCED;
      SET session_replication_role = replica;
      INSERT INTO date_bad VALUES ('2024-01-03');
      INSERT INTO amount_bad VALUES (2.51), (3);
      INSERT INTO mixed_bad VALUES (2, '2024-01-01');
      -- past its parent's range, an id with no parent, an empty range (PostgreSQL refuses it too)
      INSERT INTO period_bad VALUES (2, '[2024-01-05,2024-01-20)'), (3, '[2024-01-01,2024-01-02)'), (1, 'empty');
      -- tenant 1's ranges and tenant 2's together would cover the first two, but they are other keys; tenant 1's alone the third
      INSERT INTO tenant_period_child VALUES (1, 1, '[2024-02-15,2024-03-15)'), (2, 1, '[2024-02-15,2024-03-15)'), (2, 1, '[2024-01-10,2024-01-20)');
      SET session_replication_role = DEFAULT;
      ANALYZE;`
    let db = ""
    let report: JsonReport
    beforeAll(async () => {
      db = await freshDatabase("cons_types")
      await runSql(db, scenario)
      report = parse((await consistency(db, db, "--json")).stdout)
    })
    const orphansOf = (table: string) => report.checks.foreignKeys.find((c) => c.table === `public.${table}`)?.orphans
    const findingOf = (table: string) => report.findings.find((f) => f.rule === "consistency/orphan-rows" && f.object.table === table)

    it("date against timestamp (either way) and timestamptz: compared as PostgreSQL compares them", () => {
      expect(orphansOf("date_good")).toBe(0)
      expect(orphansOf("stamp_good")).toBe(0)
      expect(orphansOf("date_bad")).toBe(1)
      expect(findingOf("date_bad")?.details?.["samples"]).toStrictEqual([{ d: "2024-01-03" }])
      expect(findingOf("date_bad")?.details?.["comparedAsText"]).toBeUndefined()
    })

    it("a domain whose name needs quoting is compared as its base type", () => {
      expect(orphansOf("amount_good")).toBe(0)
      expect(orphansOf("amount_bad")).toBe(2)
    })

    it("a composite key pairing int with numeric and date with timestamp", () => {
      expect(orphansOf("mixed_good")).toBe(0)
      expect(orphansOf("mixed_bad")).toBe(1)
      expect(findingOf("mixed_bad")?.details?.["samples"]).toStrictEqual([{ a: "2", b: "2024-01-01" }])
    })

    it("a temporal key: a row's range must lie within the ranges of its parent rows, as PostgreSQL checks it", async () => {
      expect(orphansOf("period_good")).toBe(0)
      expect(orphansOf("period_bad")).toBe(3)
      const finding = findingOf("period_bad")!
      expect(finding.before).toBe('FOREIGN KEY ("pid", PERIOD "valid") REFERENCES "public"."periods"("id", PERIOD "valid")')
      // The listing query returns exactly those rows.
      const rows = await runSql<{ pid: number; valid: string }>(db, `${finding.details?.["query"]} ORDER BY 1`)
      expect(rows.map((r) => `${r.pid} ${r.valid}`)).toStrictEqual(["1 empty", "2 [2024-01-05,2024-01-20)", "3 [2024-01-01,2024-01-02)"])
    })

    it("a temporal key of several columns: only the parent rows equal on every other column cover a row's range", () => {
      expect(orphansOf("tenant_period_child")).toBe(3)
      expect(findingOf("tenant_period_child")?.details?.["samples"]).toStrictEqual([
        { tenant: "1", pid: "1", valid: "[2024-02-15,2024-03-15)" },
        { tenant: "2", pid: "1", valid: "[2024-01-10,2024-01-20)" },
        { tenant: "2", pid: "1", valid: "[2024-02-15,2024-03-15)" }
      ])
    })

    it("a NOT ENFORCED key is checked too, and said to be not enforced", () => {
      expect(orphansOf("unenforced")).toBe(1)
      expect(findingOf("unenforced")?.message).toContain("the key is NOT ENFORCED on TARGET")
      expect(findingOf("unenforced")?.hint).toContain("ENFORCED")
    })
  })

  describe("orphans by the parent's keys: key range (an integer key onto a unique integer column), key list (a small parent)", () => {
    // Each child is checked by the parent's keys (key_range_min_rows: 0) and by the anti-join (the
    // default on tables this small): the two must agree on every count and sample.
    const scenario = `
      -- keys -5, 1..49, 53..100: 8 integers of -5..100 missing (-4..0, 50..52): a bitmap of the keys
      CREATE TABLE kr_parent (id bigint PRIMARY KEY);
      INSERT INTO kr_parent VALUES (-5);
      INSERT INTO kr_parent SELECT generate_series(1, 49);
      INSERT INTO kr_parent SELECT generate_series(53, 100);
      CREATE TABLE kr_child (id int PRIMARY KEY, pid bigint);
      INSERT INTO kr_child VALUES (1, 1), (2, 49), (3, 50), (4, 52), (5, 53), (6, 100), (7, 101), (8, -5), (9, -6), (10, 0), (11, NULL);
      ALTER TABLE kr_child ADD CONSTRAINT kr_child_pid_fkey FOREIGN KEY (pid) REFERENCES kr_parent NOT VALID;
      -- no gaps: the range alone
      CREATE TABLE dense_parent (id int PRIMARY KEY);
      INSERT INTO dense_parent SELECT generate_series(1, 10);
      CREATE TABLE dense_child (id int PRIMARY KEY, pid int);
      INSERT INTO dense_child VALUES (1, 1), (2, 10), (3, 11), (4, 0), (5, NULL);
      ALTER TABLE dense_child ADD CONSTRAINT dense_child_pid_fkey FOREIGN KEY (pid) REFERENCES dense_parent NOT VALID;
      -- a smallint child of a bigint parent whose range goes beyond smallint
      CREATE TABLE wide_parent (id bigint PRIMARY KEY);
      INSERT INTO wide_parent SELECT g FROM generate_series(32760, 32780) g WHERE g NOT IN (32765, 32770);
      CREATE TABLE small_child (id int PRIMARY KEY, pid smallint);
      INSERT INTO small_child VALUES (1, 32760), (2, 32767), (3, 32765), (4, -1);
      ALTER TABLE small_child ADD CONSTRAINT small_child_pid_fkey FOREIGN KEY (pid) REFERENCES wide_parent NOT VALID;
      -- an empty parent, and one whose range is too wide for a bitmap: the anti-join; a sparse one: a bitmap
      CREATE TABLE wide_gap_parent (id bigint PRIMARY KEY);
      INSERT INTO wide_gap_parent VALUES (1), (8388609);
      CREATE TABLE wide_gap_child (id int PRIMARY KEY, pid bigint);
      INSERT INTO wide_gap_child VALUES (1, 1), (2, 2), (3, 8388609);
      ALTER TABLE wide_gap_child ADD CONSTRAINT wide_gap_child_pid_fkey FOREIGN KEY (pid) REFERENCES wide_gap_parent NOT VALID;
      CREATE TABLE empty_parent (id int PRIMARY KEY);
      CREATE TABLE empty_child (id int PRIMARY KEY, pid int);
      INSERT INTO empty_child VALUES (1, 1), (2, NULL);
      ALTER TABLE empty_child ADD CONSTRAINT empty_child_pid_fkey FOREIGN KEY (pid) REFERENCES empty_parent NOT VALID;
      CREATE TABLE sparse_parent (id int PRIMARY KEY);
      INSERT INTO sparse_parent VALUES (1), (20000);
      CREATE TABLE sparse_child (id int PRIMARY KEY, pid int);
      INSERT INTO sparse_child VALUES (1, 1), (2, 2), (3, 20000);
      ALTER TABLE sparse_child ADD CONSTRAINT sparse_child_pid_fkey FOREIGN KEY (pid) REFERENCES sparse_parent NOT VALID;
      -- key lists: text keys with characters an array literal must escape (a varchar child), uuid keys;
      -- a non-default collation and a key holding the list's dollar quote keep the anti-join
      CREATE TABLE code_parent (code text PRIMARY KEY);
      INSERT INTO code_parent VALUES ('a''b'), ('c\\d'), ('{x,y}'), ('NULL'), ('"q"'), ('plain'), (' spaced '), ('');
      CREATE TABLE code_child (id int PRIMARY KEY, code varchar(20));
      INSERT INTO code_child VALUES (1, 'a''b'), (2, 'c\\d'), (3, '{x,y}'), (4, 'NULL'), (5, '"q"'), (6, 'plain'), (7, ' spaced '), (8, ''),
        (9, NULL), (10, 'ab'), (11, 'x'), (12, 'null'), (13, 'spaced');
      ALTER TABLE code_child ADD CONSTRAINT code_child_code_fkey FOREIGN KEY (code) REFERENCES code_parent NOT VALID;
      CREATE TABLE account (id uuid PRIMARY KEY);
      INSERT INTO account SELECT ('00000000-0000-0000-0000-' || lpad(g::text, 12, '0'))::uuid FROM generate_series(1, 20) g;
      CREATE TABLE login (id int PRIMARY KEY, account_id uuid);
      INSERT INTO login SELECT g, ('00000000-0000-0000-0000-' || lpad((g % 22 + 1)::text, 12, '0'))::uuid FROM generate_series(1, 100) g;
      INSERT INTO login VALUES (101, NULL);
      ALTER TABLE login ADD CONSTRAINT login_account_id_fkey FOREIGN KEY (account_id) REFERENCES account NOT VALID;
      CREATE TABLE c_parent (code text COLLATE "C" PRIMARY KEY);
      INSERT INTO c_parent VALUES ('a'), ('b');
      CREATE TABLE c_child (id int PRIMARY KEY, code text COLLATE "C");
      INSERT INTO c_child VALUES (1, 'a'), (2, 'z');
      ALTER TABLE c_child ADD CONSTRAINT c_child_code_fkey FOREIGN KEY (code) REFERENCES c_parent NOT VALID;
      CREATE TABLE tag_parent (code text PRIMARY KEY);
      INSERT INTO tag_parent VALUES ('$db_harness_keys$'), ('ok');
      CREATE TABLE tag_child (id int PRIMARY KEY, code text);
      INSERT INTO tag_child VALUES (1, '$db_harness_keys$'), (2, 'nope'), (3, 'ok');
      ALTER TABLE tag_child ADD CONSTRAINT tag_child_code_fkey FOREIGN KEY (code) REFERENCES tag_parent NOT VALID;
      -- 100,001 keys 100 apart (a range wider than 2^23): too many for a list
      CREATE TABLE many_parent (id bigint PRIMARY KEY);
      INSERT INTO many_parent SELECT g * 100 FROM generate_series(1, 100001) g;
      CREATE TABLE many_child (id int PRIMARY KEY, pid bigint);
      INSERT INTO many_child VALUES (1, 100), (2, 150), (3, 10000100);
      ALTER TABLE many_child ADD CONSTRAINT many_child_pid_fkey FOREIGN KEY (pid) REFERENCES many_parent NOT VALID;
      -- at the default sizes: 100,000 rows onto 1,000 codes (100 a code) take a key list, onto 10,000 (10 a code) the anti-join
      CREATE TABLE code_1k (code text PRIMARY KEY);
      INSERT INTO code_1k SELECT 'K' || g FROM generate_series(1, 1000) g;
      CREATE TABLE code_10k (code text PRIMARY KEY);
      INSERT INTO code_10k SELECT 'K' || g FROM generate_series(1, 10000) g;
      CREATE TABLE many_per_code (id int PRIMARY KEY, code text);
      INSERT INTO many_per_code SELECT g, 'K' || (1 + g % 1001) FROM generate_series(1, 100000) g;
      ALTER TABLE many_per_code ADD CONSTRAINT many_per_code_code_fkey FOREIGN KEY (code) REFERENCES code_1k NOT VALID;
      CREATE TABLE few_per_code (id int PRIMARY KEY, code text);
      INSERT INTO few_per_code SELECT g, 'K' || (1 + g % 10001) FROM generate_series(1, 100000) g;
      ALTER TABLE few_per_code ADD CONSTRAINT few_per_code_code_fkey FOREIGN KEY (code) REFERENCES code_10k NOT VALID;
      -- a partitioned child (a partition partitioned again) with two keys, orphans in three partitions
      CREATE TABLE part_child (id int, a int REFERENCES dense_parent, b bigint REFERENCES kr_parent, at date NOT NULL) PARTITION BY RANGE (at);
      CREATE TABLE part_child_2025 PARTITION OF part_child FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
      CREATE TABLE part_child_2026 PARTITION OF part_child FOR VALUES FROM ('2026-01-01') TO ('2027-01-01') PARTITION BY RANGE (at);
      CREATE TABLE part_child_2026_h1 PARTITION OF part_child_2026 FOR VALUES FROM ('2026-01-01') TO ('2026-07-01');
      CREATE TABLE part_child_2026_h2 PARTITION OF part_child_2026 FOR VALUES FROM ('2026-07-01') TO ('2027-01-01');
      INSERT INTO part_child SELECT g, 1 + g % 10, 1 + g % 49, date '2025-01-01' + g % 700 FROM generate_series(1, 3000) g;
      SET session_replication_role = replica;
      INSERT INTO part_child VALUES (3001, 11, 1, '2025-03-01'), (3002, 0, 50, '2026-08-01'), (3003, 1, 52, '2026-02-01');
      SET session_replication_role = DEFAULT;
      -- composite integer keys: 18 of the 20 keys of 1..5 x 1..4 (a bitmap of encoded keys), all 9 of 1..3 x 1..3
      -- (the ranges alone), 3 keys over 2 x 10,000,000 (a list of encoded keys); MATCH FULL counts a partly NULL key
      CREATE TABLE comp_parent (a int, b smallint, PRIMARY KEY (a, b));
      INSERT INTO comp_parent SELECT a, b FROM generate_series(1, 5) a, generate_series(1, 4) b WHERE (a, b) NOT IN ((2, 3), (4, 1));
      CREATE TABLE comp_child (id int PRIMARY KEY, a bigint, b int);
      INSERT INTO comp_child VALUES (1, 1, 1), (2, 5, 4), (3, 2, 3), (4, 4, 1), (5, 0, 1), (6, 6, 1), (7, 1, 5), (8, 1, 0), (9, NULL, 99), (10, 99, NULL), (11, 2, 4);
      ALTER TABLE comp_child ADD CONSTRAINT comp_child_a_b_fkey FOREIGN KEY (a, b) REFERENCES comp_parent NOT VALID;
      CREATE TABLE comp_full_child (id int PRIMARY KEY, a int, b int);
      INSERT INTO comp_full_child VALUES (1, 1, 1), (2, NULL, NULL), (3, NULL, 1), (4, 1, NULL), (5, 2, 3), (6, 9, NULL);
      ALTER TABLE comp_full_child ADD CONSTRAINT comp_full_child_a_b_fkey FOREIGN KEY (a, b) REFERENCES comp_parent MATCH FULL NOT VALID;
      CREATE TABLE comp_dense_parent (a int, b int, PRIMARY KEY (a, b));
      INSERT INTO comp_dense_parent SELECT a, b FROM generate_series(1, 3) a, generate_series(1, 3) b;
      CREATE TABLE comp_dense_child (id int PRIMARY KEY, a int, b int);
      INSERT INTO comp_dense_child VALUES (1, 1, 1), (2, 3, 3), (3, 3, 4), (4, 0, 2), (5, NULL, 7);
      ALTER TABLE comp_dense_child ADD CONSTRAINT comp_dense_child_a_b_fkey FOREIGN KEY (a, b) REFERENCES comp_dense_parent NOT VALID;
      CREATE TABLE comp_wide_parent (tenant int, id bigint, PRIMARY KEY (tenant, id));
      INSERT INTO comp_wide_parent VALUES (1, 1), (1, 10000000), (2, 5);
      CREATE TABLE comp_wide_child (id int PRIMARY KEY, tenant int, parent_id bigint);
      INSERT INTO comp_wide_child VALUES (1, 1, 1), (2, 1, 10000000), (3, 2, 5), (4, 2, 1), (5, 1, 5), (6, 3, 5), (7, 2, 10000000);
      ALTER TABLE comp_wide_child ADD CONSTRAINT comp_wide_child_fkey FOREIGN KEY (tenant, parent_id) REFERENCES comp_wide_parent NOT VALID;
      -- a partitioned child with a two-column key: orphans (2, 3) in both partitions, (6, 2) in the second
      CREATE TABLE comp_part_child (id int, a int, b int, FOREIGN KEY (a, b) REFERENCES comp_parent) PARTITION BY RANGE (id);
      CREATE TABLE comp_part_child_1 PARTITION OF comp_part_child FOR VALUES FROM (1) TO (100);
      CREATE TABLE comp_part_child_2 PARTITION OF comp_part_child FOR VALUES FROM (100) TO (200);
      INSERT INTO comp_part_child SELECT g, 1 + g % 5, 2 FROM generate_series(1, 199) g;
      SET session_replication_role = replica;
      UPDATE comp_part_child SET b = 3 WHERE id IN (6, 151);
      UPDATE comp_part_child SET a = 6 WHERE id = 120;
      SET session_replication_role = DEFAULT;
      -- index gaps: children with a btree index on the key column, checked through it. Text keys
      -- (a varchar child) with characters a literal must escape, NULL, and an orphan row deleted
      -- since (its index entry stays until vacuum); integer keys below, between and above the
      -- parent's; an empty parent; 2,000 gaps with orphans (too many: the key range decides);
      -- indexes that cannot answer (another operator class, a partial index)
      CREATE TABLE gap_parent (code text PRIMARY KEY);
      INSERT INTO gap_parent VALUES ('a''b'), ('c\\d'), ('{x,y}'), ('NULL'), ('plain'), (''), ('m'), ('zz');
      CREATE TABLE gap_child (id int PRIMARY KEY, code varchar(20));
      INSERT INTO gap_child VALUES (1, 'a''b'), (2, 'c\\d'), (3, ''), (4, 'NULL'), (5, 'plain'), (6, 'zz'), (7, NULL), (8, ' '), (9, 'mm'),
        (10, 'zzz'), (11, 'plain'), (12, 'mm'), (13, 'm'), (14, 'gone');
      -- enough rows for the planner to probe the index rather than read the table per gap
      INSERT INTO gap_child SELECT 100 + g, (ARRAY['a''b', 'plain', 'm', 'zz'])[1 + g % 4] FROM generate_series(1, 3000) g;
      CREATE INDEX ON gap_child (code);
      DELETE FROM gap_child WHERE id = 14;
      ALTER TABLE gap_child ADD CONSTRAINT gap_child_code_fkey FOREIGN KEY (code) REFERENCES gap_parent NOT VALID;
      CREATE TABLE gap_int_parent (id int PRIMARY KEY);
      INSERT INTO gap_int_parent SELECT g * 10 FROM generate_series(1, 100) g;
      CREATE TABLE gap_int_child (id int PRIMARY KEY, pid bigint);
      INSERT INTO gap_int_child SELECT g, 10 * (1 + g % 100) FROM generate_series(1, 1000) g;
      INSERT INTO gap_int_child VALUES (1001, 5), (1002, 1005), (1003, 15), (1004, 15), (1005, NULL), (1006, -3);
      CREATE INDEX ON gap_int_child (pid);
      ALTER TABLE gap_int_child ADD CONSTRAINT gap_int_child_pid_fkey FOREIGN KEY (pid) REFERENCES gap_int_parent NOT VALID;
      CREATE TABLE gap_empty_child (id int PRIMARY KEY, pid int);
      INSERT INTO gap_empty_child VALUES (1, 1), (2, NULL), (3, 7);
      INSERT INTO gap_empty_child SELECT 3 + g, NULL FROM generate_series(1, 3000) g;
      CREATE INDEX ON gap_empty_child (pid);
      ALTER TABLE gap_empty_child ADD CONSTRAINT gap_empty_child_pid_fkey FOREIGN KEY (pid) REFERENCES empty_parent NOT VALID;
      CREATE TABLE gap_even_parent (id int PRIMARY KEY);
      INSERT INTO gap_even_parent SELECT g * 2 FROM generate_series(1, 2000) g;
      CREATE TABLE gap_many_child (id int PRIMARY KEY, pid int);
      INSERT INTO gap_many_child SELECT g, g FROM generate_series(1, 4000) g;
      CREATE INDEX ON gap_many_child (pid);
      ALTER TABLE gap_many_child ADD CONSTRAINT gap_many_child_pid_fkey FOREIGN KEY (pid) REFERENCES gap_even_parent NOT VALID;
      -- a partitioned child indexed on its key (the index cascades to the partitions), orphans in both partitions;
      -- its twin with the index on one partition only
      CREATE TABLE gap_part_child (id int, pid int, at date NOT NULL) PARTITION BY RANGE (at);
      CREATE TABLE gap_part_child_a PARTITION OF gap_part_child FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
      CREATE TABLE gap_part_child_b PARTITION OF gap_part_child FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
      INSERT INTO gap_part_child SELECT g, 10 * (1 + g % 100), date '2025-01-01' + g % 700 FROM generate_series(1, 4000) g;
      INSERT INTO gap_part_child VALUES (4001, 25, '2025-03-01'), (4002, 2000, '2026-03-01'), (4003, NULL, '2026-04-01');
      CREATE INDEX ON gap_part_child (pid);
      ALTER TABLE gap_part_child ADD CONSTRAINT gap_part_child_pid_fkey FOREIGN KEY (pid) REFERENCES gap_int_parent NOT VALID;
      CREATE TABLE gap_half_child (id int, pid int, at date NOT NULL) PARTITION BY RANGE (at);
      CREATE TABLE gap_half_child_a PARTITION OF gap_half_child FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
      CREATE TABLE gap_half_child_b PARTITION OF gap_half_child FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
      INSERT INTO gap_half_child SELECT * FROM gap_part_child;
      CREATE INDEX ON gap_half_child_a (pid);
      ALTER TABLE gap_half_child ADD CONSTRAINT gap_half_child_pid_fkey FOREIGN KEY (pid) REFERENCES gap_int_parent NOT VALID;
      CREATE TABLE gap_pattern_child (id int PRIMARY KEY, code text);
      INSERT INTO gap_pattern_child VALUES (1, 'plain'), (2, 'nope');
      CREATE INDEX ON gap_pattern_child (code text_pattern_ops);
      ALTER TABLE gap_pattern_child ADD CONSTRAINT gap_pattern_child_code_fkey FOREIGN KEY (code) REFERENCES gap_parent NOT VALID;
      CREATE TABLE gap_partial_child (id int PRIMARY KEY, pid int);
      INSERT INTO gap_partial_child VALUES (1, 10), (2, 11);
      CREATE INDEX ON gap_partial_child (pid) WHERE pid > 0;
      ALTER TABLE gap_partial_child ADD CONSTRAINT gap_partial_child_pid_fkey FOREIGN KEY (pid) REFERENCES gap_int_parent NOT VALID;
      -- index gaps over a key of two columns, a text and an integer: orphans below the parent's smallest
      -- key (alpha), between two keys of a region (east 15), past a region's last key (east 60), in a
      -- region the parent lacks (middle), before a region's first key (north 5), past the largest region
      -- (zulu) and the largest key (west 55); keys with a NULL part, no orphans. Its twins: the index's
      -- columns the other way round; an index on the first column only, and a MATCH FULL key (the anti-join decides)
      CREATE TABLE gap_pair_parent (region text, seq int, PRIMARY KEY (region, seq));
      INSERT INTO gap_pair_parent SELECT r, s FROM unnest(ARRAY['east', 'north', 'west']) r, generate_series(10, 50, 10) s;
      CREATE TABLE gap_pair_child (id int PRIMARY KEY, region text, seq int);
      INSERT INTO gap_pair_child SELECT g, (ARRAY['east', 'north', 'west'])[1 + g % 3], 10 * (1 + g % 5) FROM generate_series(1, 3000) g;
      INSERT INTO gap_pair_child VALUES (3001, 'alpha', 10), (3002, 'east', 15), (3003, 'east', 60), (3004, 'middle', 30), (3005, 'north', 5),
        (3006, 'zulu', 1), (3007, 'west', 55), (3008, 'east', NULL), (3009, NULL, 12), (3010, NULL, NULL);
      CREATE TABLE gap_pair_rev_child AS SELECT * FROM gap_pair_child;
      CREATE TABLE gap_pair_first_child AS SELECT * FROM gap_pair_child;
      CREATE TABLE gap_pair_full_child AS SELECT * FROM gap_pair_child;
      CREATE INDEX ON gap_pair_child (region, seq);
      CREATE INDEX ON gap_pair_rev_child (seq, region);
      CREATE INDEX ON gap_pair_first_child (region);
      CREATE INDEX ON gap_pair_full_child (region, seq);
      ALTER TABLE gap_pair_child ADD CONSTRAINT gap_pair_child_fkey FOREIGN KEY (region, seq) REFERENCES gap_pair_parent NOT VALID;
      ALTER TABLE gap_pair_rev_child ADD CONSTRAINT gap_pair_rev_child_fkey FOREIGN KEY (region, seq) REFERENCES gap_pair_parent NOT VALID;
      ALTER TABLE gap_pair_first_child ADD CONSTRAINT gap_pair_first_child_fkey FOREIGN KEY (region, seq) REFERENCES gap_pair_parent NOT VALID;
      ALTER TABLE gap_pair_full_child ADD CONSTRAINT gap_pair_full_child_fkey FOREIGN KEY (region, seq) REFERENCES gap_pair_parent MATCH FULL NOT VALID;
      -- a key of three columns (text, integer, date), indexed: orphans in gaps where the neighbouring keys first
      -- differ in the third column, the second, the first, below the smallest and above the largest; NULL parts
      CREATE TABLE gap_triple_parent (a text, b int, c date, PRIMARY KEY (a, b, c));
      INSERT INTO gap_triple_parent SELECT a, b, c FROM unnest(ARRAY['x', 'y']) a, generate_series(1, 2) b, unnest(ARRAY[date '2025-01-01', date '2025-01-03']) c;
      CREATE TABLE gap_triple_child (id int PRIMARY KEY, a text, b int, c date);
      INSERT INTO gap_triple_child SELECT g, p.a, p.b, p.c FROM generate_series(1, 800) g JOIN (SELECT row_number() OVER () - 1 AS n, * FROM gap_triple_parent) p ON p.n = g % 8;
      INSERT INTO gap_triple_child VALUES (801, 'x', 1, '2025-01-02'), (802, 'x', 1, '2025-01-05'), (803, 'x', 2, '2024-12-31'), (804, 'x', 3, '2025-01-01'),
        (805, 'xx', 1, '2025-01-01'), (806, 'y', 0, '2025-01-01'), (807, 'y', 1, '2024-12-31'), (808, 'a', 9, '2025-01-01'), (809, 'z', 0, '2025-01-01'),
        (810, 'y', 2, '2025-01-04'), (811, 'x', NULL, '2025-01-02'), (812, 'x', 1, NULL), (813, 'xx', NULL, '2025-01-01'), (814, 'xy', 1, NULL);
      CREATE INDEX ON gap_triple_child (a, b, c);
      ALTER TABLE gap_triple_child ADD CONSTRAINT gap_triple_child_fkey FOREIGN KEY (a, b, c) REFERENCES gap_triple_parent NOT VALID;
      -- the same rows in two partitions, indexed on the partitioned table (the index cascades); and with each
      -- partition's index in another column order (no one order to walk, and a walk in either order would
      -- not probe the other's index without a sort, which the plan check refuses too: the anti-join decides)
      CREATE TABLE gap_pair_part_child (id int, region text, seq int) PARTITION BY RANGE (id);
      CREATE TABLE gap_pair_part_child_a PARTITION OF gap_pair_part_child FOR VALUES FROM (1) TO (3004);
      CREATE TABLE gap_pair_part_child_b PARTITION OF gap_pair_part_child FOR VALUES FROM (3004) TO (4000);
      INSERT INTO gap_pair_part_child SELECT * FROM gap_pair_child;
      CREATE INDEX ON gap_pair_part_child (region, seq);
      ALTER TABLE gap_pair_part_child ADD CONSTRAINT gap_pair_part_child_fkey FOREIGN KEY (region, seq) REFERENCES gap_pair_parent NOT VALID;
      CREATE TABLE gap_pair_mixed_child (id int, region text, seq int) PARTITION BY RANGE (id);
      CREATE TABLE gap_pair_mixed_child_a PARTITION OF gap_pair_mixed_child FOR VALUES FROM (1) TO (3004);
      CREATE TABLE gap_pair_mixed_child_b PARTITION OF gap_pair_mixed_child FOR VALUES FROM (3004) TO (4000);
      INSERT INTO gap_pair_mixed_child SELECT * FROM gap_pair_child;
      CREATE INDEX ON gap_pair_mixed_child_a (region, seq);
      CREATE INDEX ON gap_pair_mixed_child_b (seq, region);
      ALTER TABLE gap_pair_mixed_child ADD CONSTRAINT gap_pair_mixed_child_fkey FOREIGN KEY (region, seq) REFERENCES gap_pair_parent NOT VALID;
      -- three keys of one table over some 300 pages, checked by one scan that counts the table too; the
      -- orphans of each lie in one place: a's in the first rows, b's in the last, c's in the middle
      CREATE TABLE three_key_child (id int PRIMARY KEY, a int, b bigint, c int, pad text);
      INSERT INTO three_key_child
        SELECT g, CASE WHEN g <= 3 THEN 10 + g ELSE 1 + g % 10 END, CASE WHEN g > 19997 THEN 50 + g - 19998 ELSE 1 + g % 49 END,
               CASE WHEN g BETWEEN 9000 AND 9009 THEN 8999 - g ELSE 1 + g % 10 END, repeat('x', 100)
        FROM generate_series(1, 20000) g;
      ALTER TABLE three_key_child ADD CONSTRAINT three_key_child_a_fkey FOREIGN KEY (a) REFERENCES dense_parent NOT VALID;
      ALTER TABLE three_key_child ADD CONSTRAINT three_key_child_b_fkey FOREIGN KEY (b) REFERENCES kr_parent NOT VALID;
      ALTER TABLE three_key_child ADD CONSTRAINT three_key_child_c_fkey FOREIGN KEY (c) REFERENCES dense_parent NOT VALID;
      ANALYZE;
      -- a big partitioned child analysed partition by partition only, as autovacuum does: the partitioned table's own estimate stays -1
      CREATE TABLE big_part_child (id int, pid int REFERENCES dense_parent, at date NOT NULL) PARTITION BY RANGE (at);
      CREATE TABLE big_part_child_a PARTITION OF big_part_child FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
      CREATE TABLE big_part_child_b PARTITION OF big_part_child FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
      INSERT INTO big_part_child SELECT g, 1 + g % 10, date '2025-01-01' + g % 700 FROM generate_series(1, 120000) g;
      SET session_replication_role = replica;
      INSERT INTO big_part_child VALUES (120001, 12, '2026-03-01');
      SET session_replication_role = DEFAULT;
      ANALYZE big_part_child_a, big_part_child_b;`
    let url = ""
    const runs: Record<"keyRange" | "antiJoin", { code: number; report: JsonReport }> = {} as never
    beforeAll(async () => {
      url = await freshDatabase("cons_kr")
      await runSql(url, scenario)
      const config = join(dir, "key-range.yaml")
      writeFileSync(config, "key_range_min_rows: 0\n")
      const [byRange, byJoin] = await Promise.all([consistency(url, url, "--json", "--config", config), consistency(url, url, "--json")])
      runs.keyRange = { code: byRange.code, report: parse(byRange.stdout) }
      runs.antiJoin = { code: byJoin.code, report: parse(byJoin.stdout) }
    })
    const keyOf = (run: "keyRange" | "antiJoin", table: string, name?: string) =>
      runs[run].report.checks.foreignKeys.find((k) => k.table === `public.${table}` && (name === undefined || k.name === name)) as
        | (JsonForeignKeyCheck & { method?: Record<string, unknown> })
        | undefined
    const samplesOf = (run: "keyRange" | "antiJoin", table: string, name?: string) =>
      runs[run].report.findings.find(
        (f) => f.rule === "consistency/orphan-rows" && f.object.table === table && (name === undefined || f.object.name === name)
      )?.details?.["samples"]

    it("counts the orphans below, above and inside the gaps of the range, and no NULL key", () => {
      expect(runs.keyRange.code).toBe(3)
      expect(keyOf("keyRange", "kr_child")).toMatchObject({ orphans: 5, method: { kind: "key range", low: "-5", high: "100", missingKeys: 8 } })
      expect(samplesOf("keyRange", "kr_child")).toStrictEqual([{ pid: "-6" }, { pid: "0" }, { pid: "50" }, { pid: "52" }, { pid: "101" }])
      expect(keyOf("keyRange", "dense_child")).toMatchObject({ orphans: 2, method: { kind: "key range", low: "1", high: "10", missingKeys: 0 } })
      expect(samplesOf("keyRange", "dense_child")).toStrictEqual([{ pid: "0" }, { pid: "11" }])
    })

    it("a narrower child type than the parent's, and a sparse parent (2 keys in 1..20000)", () => {
      expect(keyOf("keyRange", "small_child")).toMatchObject({ orphans: 2, method: { kind: "key range", low: "32760", high: "32780", missingKeys: 2 } })
      expect(samplesOf("keyRange", "small_child")).toStrictEqual([{ pid: "-1" }, { pid: "32765" }])
      expect(keyOf("keyRange", "sparse_child")).toMatchObject({ orphans: 1, method: { kind: "key range", missingKeys: 19998 } })
      expect(samplesOf("keyRange", "sparse_child")).toStrictEqual([{ pid: "2" }])
    })

    it("an empty parent, and gaps in a range wider than 2^23 keys, take a key list; more than 100,000 such keys the anti-join", () => {
      expect(keyOf("keyRange", "empty_child")).toMatchObject({ orphans: 1, method: { kind: "key list", keys: 0 } })
      expect(keyOf("keyRange", "wide_gap_child")).toMatchObject({ orphans: 1, method: { kind: "key list", keys: 2 } })
      expect(keyOf("keyRange", "many_child")).toMatchObject({ orphans: 1, method: { kind: "anti-join" } })
      expect(samplesOf("keyRange", "many_child")).toStrictEqual([{ pid: "150" }])
    })

    it("key lists of text and uuid keys: quotes, backslashes, braces, commas, 'NULL' and the empty string are keys like any other", () => {
      expect(keyOf("keyRange", "code_child")).toMatchObject({ orphans: 4, method: { kind: "key list", keys: 8 } })
      expect(samplesOf("keyRange", "code_child")).toStrictEqual([{ code: "ab" }, { code: "null" }, { code: "spaced" }, { code: "x" }])
      expect(keyOf("keyRange", "login")).toMatchObject({ orphans: 8, method: { kind: "key list", keys: 20 } })
      expect(samplesOf("keyRange", "login")).toStrictEqual([
        { account_id: "00000000-0000-0000-0000-000000000021" },
        { account_id: "00000000-0000-0000-0000-000000000022" }
      ])
    })

    it("at the default sizes a partitioned child never analysed as a whole is sized by its partitions: by key range", async () => {
      const [own] = await runSql(url, "SELECT reltuples::int AS n FROM pg_class WHERE relname = 'big_part_child'")
      expect(own.n).toBe(-1)
      expect(keyOf("antiJoin", "big_part_child")).toMatchObject({ orphans: 1, method: { kind: "key range", missingKeys: 0 } })
      expect(samplesOf("antiJoin", "big_part_child")).toStrictEqual([{ pid: "12" }])
    })

    it("at the default sizes a key list only for 25 or more child rows a parent key; the same orphans either way", () => {
      expect(keyOf("antiJoin", "many_per_code")).toMatchObject({ method: { kind: "key list", keys: 1000 } })
      expect(keyOf("antiJoin", "few_per_code")).toMatchObject({ method: { kind: "anti-join" } })
      // 'K1001' and 'K10001' are the codes missing: every 1,001st and 10,001st row.
      expect(keyOf("antiJoin", "many_per_code")?.orphans).toBe(Math.floor(100000 / 1001))
      expect(keyOf("antiJoin", "few_per_code")?.orphans).toBe(Math.floor(100000 / 10001))
      for (const table of ["many_per_code", "few_per_code"]) {
        expect(keyOf("keyRange", table)?.method?.["kind"], table).toBe("key list")
        expect(keyOf("keyRange", table)?.orphans, table).toBe(keyOf("antiJoin", table)?.orphans)
        expect(samplesOf("keyRange", table), table).toStrictEqual(samplesOf("antiJoin", table))
      }
    })

    it("a key under a non-default collation, and a parent key holding the list's quote, keep the anti-join", () => {
      expect(keyOf("keyRange", "c_child")).toMatchObject({ orphans: 1, method: { kind: "anti-join" } })
      expect(keyOf("keyRange", "tag_child")).toMatchObject({ orphans: 1, method: { kind: "anti-join" } })
      expect(samplesOf("keyRange", "tag_child")).toStrictEqual([{ code: "nope" }])
    })

    it("composite integer keys by their encoded key range: bitmap, ranges alone, list; MATCH SIMPLE and FULL; partitioned; as the anti-join finds them", () => {
      const expected = [
        ["comp_child", 6, { kind: "key range", low: "(1,1)", high: "(5,4)", missingKeys: 2 }],
        ["comp_full_child", 4, { kind: "key range", low: "(1,1)", high: "(5,4)", missingKeys: 2 }],
        ["comp_dense_child", 2, { kind: "key range", low: "(1,1)", high: "(3,3)", missingKeys: 0 }],
        ["comp_wide_child", 4, { kind: "key list", keys: 3 }],
        ["comp_part_child", 3, { kind: "key range", low: "(1,1)", high: "(5,4)", missingKeys: 2 }]
      ] as const
      for (const [table, orphans, method] of expected) {
        expect(keyOf("keyRange", table), table).toMatchObject({ orphans, method })
        expect(keyOf("antiJoin", table), table).toMatchObject({ orphans, method: { kind: "anti-join" } })
        // comp_child has 6 orphans for 5 samples, which each way may pick differently.
        if (table !== "comp_child") expect(samplesOf("keyRange", table), table).toStrictEqual(samplesOf("antiJoin", table))
      }
      const compOrphans = ["0,1", "1,0", "1,5", "2,3", "4,1", "6,1"]
      for (const run of ["keyRange", "antiJoin"] as const) {
        const samples = (samplesOf(run, "comp_child") as ReadonlyArray<{ a: string; b: string }>).map((k) => `${k.a},${k.b}`)
        expect(samples, run).toHaveLength(5)
        expect(compOrphans, run).toEqual(expect.arrayContaining(samples))
      }
      expect(samplesOf("keyRange", "comp_wide_child")).toStrictEqual([
        { tenant: "1", parent_id: "5" },
        { tenant: "2", parent_id: "1" },
        { tenant: "2", parent_id: "10000000" },
        { tenant: "3", parent_id: "5" }
      ])
      expect(samplesOf("keyRange", "comp_part_child")).toStrictEqual([
        { a: "2", b: "3" },
        { a: "6", b: "2" }
      ])
      // The partitions' counts come from the shared scan by key range, and equal the counts' own.
      const partCounts = (run: "keyRange" | "antiJoin") =>
        runs[run].report.checks.rowCounts.filter((r) => r.table.startsWith("public.comp_part_child")).map((r) => [r.table, r.target, r.targetMethod])
      expect(partCounts("keyRange")).toStrictEqual([
        ["public.comp_part_child", 199, "exact"],
        ["public.comp_part_child_1", 99, "exact"],
        ["public.comp_part_child_2", 100, "exact"]
      ])
      expect(partCounts("keyRange")).toStrictEqual(partCounts("antiJoin"))
      expect(samplesOf("keyRange", "comp_full_child")).toStrictEqual([
        { a: "1", b: null },
        { a: "2", b: "3" },
        { a: "9", b: null },
        { a: null, b: "1" }
      ])
    })

    it("index gaps: orphans below, between and above the parent's keys, through the child's index, as the anti-join finds them", () => {
      const expected = [
        ["gap_child", 4, { kind: "index gaps", index: "gap_child_code_idx" }, [{ code: " " }, { code: "mm" }, { code: "zzz" }]],
        ["gap_int_child", 5, { kind: "index gaps", index: "gap_int_child_pid_idx", orphanGaps: 3 }, [{ pid: "-3" }, { pid: "5" }, { pid: "15" }, { pid: "1005" }]],
        ["gap_empty_child", 2, { kind: "index gaps", orphanGaps: 1 }, [{ pid: "1" }, { pid: "7" }]],
        ["gap_part_child", 2, { kind: "index gaps", index: "gap_part_child_pid_idx", orphanGaps: 2 }, [{ pid: "25" }, { pid: "2000" }]]
      ] as const
      for (const [table, orphans, method, samples] of expected) {
        expect(keyOf("keyRange", table), table).toMatchObject({ orphans, method })
        expect(keyOf("antiJoin", table), table).toMatchObject({ orphans, method: { kind: "anti-join" } })
        expect(samplesOf("keyRange", table), table).toStrictEqual(samples)
        expect(samplesOf("antiJoin", table), table).toStrictEqual(samples)
      }
    })

    it("index gaps over keys of two and three columns: every kind of gap, NULL parts, the index's columns either way round, partitions; an index on one column, MATCH FULL, mixed orders: the anti-join", () => {
      const orphanKeys = ["alpha,10", "east,15", "east,60", "middle,30", "north,5", "west,55", "zulu,1"]
      for (const table of ["gap_pair_child", "gap_pair_rev_child"]) {
        expect(keyOf("keyRange", table), table).toMatchObject({ orphans: 7, method: { kind: "index gaps", index: `${table}_${table === "gap_pair_child" ? "region_seq" : "seq_region"}_idx` } })
        expect(keyOf("antiJoin", table), table).toMatchObject({ orphans: 7, method: { kind: "anti-join" } })
        for (const run of ["keyRange", "antiJoin"] as const) {
          const samples = (samplesOf(run, table) as ReadonlyArray<{ region: string; seq: string }>).map((k) => `${k.region},${k.seq}`)
          expect(samples, `${run} ${table}`).toHaveLength(5)
          expect(orphanKeys, `${run} ${table}`).toEqual(expect.arrayContaining(samples))
        }
      }
      // Walked in the index's order. (region, seq): below the smallest, inside east, from east's last to north's
      // first, above the largest. (seq, region): below the smallest, (10, west) to (20, east), (30, east) to (30, north), above.
      expect(keyOf("keyRange", "gap_pair_child")?.method).toMatchObject({ orphanGaps: 4 })
      expect(keyOf("keyRange", "gap_pair_rev_child")?.method).toMatchObject({ orphanGaps: 4 })
      // Partitioned: orphans in both partitions (alpha, east 15 and east 60 in the first, the rest in the second), one walk per partition's index.
      expect(keyOf("keyRange", "gap_pair_part_child")).toMatchObject({ orphans: 7, method: { kind: "index gaps", index: "gap_pair_part_child_region_seq_idx", orphanGaps: 4 } })
      expect(keyOf("antiJoin", "gap_pair_part_child")).toMatchObject({ orphans: 7, method: { kind: "anti-join" } })
      expect(samplesOf("keyRange", "gap_pair_part_child")).toHaveLength(5)
      expect(keyOf("keyRange", "gap_pair_mixed_child")).toMatchObject({ orphans: 7, method: { kind: "anti-join" } })
      expect(keyOf("keyRange", "gap_pair_first_child")).toMatchObject({ orphans: 7, method: { kind: "anti-join" } })
      // Three columns: below the smallest, (x,1,01)-(x,1,03), (x,1,03)-(x,2,01), (x,2,03)-(y,1,01) and above the largest.
      expect(keyOf("keyRange", "gap_triple_child")).toMatchObject({ orphans: 10, method: { kind: "index gaps", orphanGaps: 5 } })
      expect(keyOf("antiJoin", "gap_triple_child")).toMatchObject({ orphans: 10, method: { kind: "anti-join" } })
      // MATCH FULL: the keys with one NULL part are violations too.
      expect(keyOf("keyRange", "gap_pair_full_child")).toMatchObject({ orphans: 9, method: { kind: "anti-join" } })
    })

    it("index gaps: more than 1,000 gaps with orphans, another operator class, a partial index, a partition without the index: the other methods decide", () => {
      expect(keyOf("keyRange", "gap_many_child")).toMatchObject({ orphans: 2000, method: { kind: "key range", missingKeys: 1999 } })
      expect(keyOf("antiJoin", "gap_many_child")?.orphans).toBe(2000)
      expect(keyOf("keyRange", "gap_pattern_child")).toMatchObject({ orphans: 1, method: { kind: "key list", keys: 8 } })
      expect(samplesOf("keyRange", "gap_pattern_child")).toStrictEqual([{ code: "nope" }])
      expect(keyOf("keyRange", "gap_partial_child")).toMatchObject({ orphans: 1, method: { kind: "key range", missingKeys: 891 } })
      // A partition without the index: the key range, the same orphans.
      expect(keyOf("keyRange", "gap_half_child")).toMatchObject({ orphans: 2, method: { kind: "key range", missingKeys: 891 } })
      expect(samplesOf("keyRange", "gap_half_child")).toStrictEqual([{ pid: "25" }, { pid: "2000" }])
    })

    it("index gaps only when the planner probes the index: with index scans off, the key range decides", async () => {
      const methodWith = (settings: Record<string, string>) =>
        Effect.runPromise(
          Effect.scoped(
            Effect.gen(function* () {
              const endpoint = yield* resolveEndpoint(url, {})
              const catalog = yield* readCatalog.pipe(Effect.provide(sqlClientLayer(endpoint, "test", 1)))
              const sessions = yield* openReadOnlySessions(endpoint, "test", { sessions: 1, statementTimeoutMs: 0, settings })
              const check = (yield* planOrphanChecks(null, catalog, [], [])).find((c) => c.table === "gap_int_child")!
              return (yield* orphanCondition(check, sessions, 0)).method
            })
          )
        )
      expect(await methodWith({})).toMatchObject({ kind: "index gaps", orphanGaps: 3 })
      const noIndex = { enable_indexscan: "off", enable_indexonlyscan: "off", enable_bitmapscan: "off" }
      expect(await methodWith(noIndex)).toMatchObject({ kind: "key range", missingKeys: 891 })
    })

    it("three keys of one table: each one's orphans and samples, wherever in the table they lie, and the table's exact count", () => {
      const name = (column: string) => `three_key_child_${column}_fkey`
      expect(keyOf("keyRange", "three_key_child", name("a"))).toMatchObject({ orphans: 3, method: { kind: "key range", missingKeys: 0 } })
      expect(samplesOf("keyRange", "three_key_child", name("a"))).toStrictEqual([{ a: "11" }, { a: "12" }, { a: "13" }])
      expect(keyOf("keyRange", "three_key_child", name("b"))).toMatchObject({ orphans: 3, method: { kind: "key range", missingKeys: 8 } })
      expect(samplesOf("keyRange", "three_key_child", name("b"))).toStrictEqual([{ b: "50" }, { b: "51" }, { b: "52" }])
      expect(keyOf("keyRange", "three_key_child", name("c"))).toMatchObject({ orphans: 10, method: { kind: "key range", missingKeys: 0 } })
      expect(samplesOf("keyRange", "three_key_child", name("c"))).toHaveLength(5)
      for (const sample of samplesOf("keyRange", "three_key_child", name("c")) as ReadonlyArray<{ c: string }>) {
        expect(Number(sample.c)).toBeGreaterThanOrEqual(-10)
        expect(Number(sample.c)).toBeLessThanOrEqual(-1)
      }
      for (const run of ["keyRange", "antiJoin"] as const) {
        expect(runs[run].report.checks.rowCounts.find((r) => r.table === "public.three_key_child"), run).toMatchObject({
          source: 20000,
          target: 20000,
          targetMethod: "exact",
          status: "ok"
        })
      }
    })

    it("a partitioned child: both keys by key range in one scan of its partitions, the same orphans, samples and counts as the anti-join", async () => {
      for (const [column, missingKeys, samples] of [["a", 0, [{ a: "0" }, { a: "11" }]], ["b", 8, [{ b: "50" }, { b: "52" }]]] as const) {
        const name = `part_child_${column}_fkey`
        expect(keyOf("keyRange", "part_child", name), name).toMatchObject({ orphans: 2, method: { kind: "key range", missingKeys } })
        expect(samplesOf("keyRange", "part_child", name), name).toStrictEqual(samples)
        expect(keyOf("antiJoin", "part_child", name)?.orphans, name).toBe(2)
        expect(samplesOf("antiJoin", "part_child", name), name).toStrictEqual(samples)
      }
      const counts = (run: "keyRange" | "antiJoin") => runs[run].report.checks.rowCounts.filter((r) => r.table.startsWith("public.part_child"))
      const [exact] = await runSql(
        url,
        `SELECT (SELECT count(*) FROM part_child)::int AS whole, (SELECT count(*) FROM ONLY part_child_2025)::int AS y2025,
                (SELECT count(*) FROM ONLY part_child_2026_h1)::int AS h1, (SELECT count(*) FROM ONLY part_child_2026_h2)::int AS h2`
      )
      expect(counts("keyRange").map((r) => [r.table, r.target, r.targetMethod])).toStrictEqual([
        ["public.part_child", exact.whole, "exact"],
        ["public.part_child_2025", exact.y2025, "exact"],
        ["public.part_child_2026", exact.h1 + exact.h2, "exact"],
        ["public.part_child_2026_h1", exact.h1, "exact"],
        ["public.part_child_2026_h2", exact.h2, "exact"]
      ])
      expect(exact.whole).toBe(3003)
      expect(counts("keyRange")).toStrictEqual(counts("antiJoin"))
    })

    it("the shared scan: one query reads the table for its three keys and its count; the counts then leave it out", async () => {
      const queries: Array<string> = []
      const run = await Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const endpoint = yield* resolveEndpoint(url, {})
            const catalog = yield* readCatalog.pipe(Effect.provide(sqlClientLayer(endpoint, "test", 1)))
            const sessions = yield* openReadOnlySessions(endpoint, "test", { sessions: 2, statementTimeoutMs: 0 })
            const query: GateQuery = (text) => {
              queries.push(text)
              return sessions(text)
            }
            const checks = (yield* planOrphanChecks(null, catalog, [], [])).filter((check) => check.table === "three_key_child" || check.table === "part_child")
            // A partition the catalog does not show (a foreign table is none of its tables) sends the child to the whole-table check.
            const partitioned = checks.find((check) => check.table === "part_child")!
            const unknown = (leaves: OrphanCheck["leaves"]) => Effect.map(sessions(unknownLeavesQuery({ ...partitioned, leaves })), (rows) => rows[0]?.["unknown"])
            expect(yield* unknown(partitioned.leaves)).toBe(0)
            expect(yield* unknown(partitioned.leaves.slice(1))).toBe(1)
            expect(yield* unknown([])).toBe(3)
            return yield* runOrphanChecks(checks, query, { jobs: 2, samples: 5, personalNames: [], keyRangeMinRows: 0 })
          })
        )
      )
      const scans = queries.filter((q) => q.includes(`FROM ONLY "public"."three_key_child" c`) && !q.includes("LIMIT"))
      expect(scans).toHaveLength(1)
      expect(scans[0]).toContain("AS orphans_2")
      const partitionScans = queries.filter((q) => q.includes(`FROM ONLY "public"."part_child_2026_h2" c`))
      expect(partitionScans).toHaveLength(1)
      expect(partitionScans[0]).toContain("AS orphans_1")
      expect(partitionScans[0]).toContain(`FROM ONLY "public"."part_child_2025" c`)
      const [exact] = await runSql(
        url,
        `SELECT (SELECT count(*) FROM ONLY part_child_2025)::int AS y2025, (SELECT count(*) FROM ONLY part_child_2026_h1)::int AS h1,
                (SELECT count(*) FROM ONLY part_child_2026_h2)::int AS h2`
      )
      // Keyed by the quoted name (tableKey), which no two tables share.
      expect(run.tableRows).toStrictEqual(
        new Map([
          ['"public"."three_key_child"', 20000],
          ['"public"."part_child_2025"', exact.y2025],
          ['"public"."part_child_2026_h1"', exact.h1],
          ['"public"."part_child_2026_h2"', exact.h2]
        ])
      )
      expect(run.results.map((r) => [r.check.table, r.orphans])).toStrictEqual([
        ["part_child", 2],
        ["part_child", 2],
        ["three_key_child", 3],
        ["three_key_child", 3],
        ["three_key_child", 10]
      ])
    })

    it("the anti-join (the default for small tables) finds the same orphans and samples", () => {
      expect(runs.antiJoin.code).toBe(3)
      for (const table of ["kr_child", "dense_child", "small_child", "empty_child", "sparse_child", "wide_gap_child", "code_child", "login", "c_child", "tag_child", "many_child"]) {
        expect(keyOf("antiJoin", table)?.method, table).toStrictEqual({ kind: "anti-join" })
        expect(keyOf("antiJoin", table)?.orphans, table).toBe(keyOf("keyRange", table)?.orphans)
        expect(samplesOf("antiJoin", table), table).toStrictEqual(samplesOf("keyRange", table))
      }
      for (const column of ["a", "b", "c"]) {
        const name = `three_key_child_${column}_fkey`
        expect(keyOf("antiJoin", "three_key_child", name)?.orphans, name).toBe(keyOf("keyRange", "three_key_child", name)?.orphans)
        if (column !== "c") expect(samplesOf("antiJoin", "three_key_child", name), name).toStrictEqual(samplesOf("keyRange", "three_key_child", name))
      }
    })
  })

  describe("names with a dot, collations, sample keys", () => {
    // Two tables whose `schema.name` reads the same, "s.x".t and s."x.t", each with a key onto s.p;
    // the orphans are s."x.t"'s alone. TARGET of the first run lost s."x.t".
    const dotted = (withXt: boolean) => `
      CREATE SCHEMA "s.x";
      CREATE SCHEMA s;
      CREATE TABLE s.p (id int PRIMARY KEY);
      INSERT INTO s.p SELECT generate_series(1, 10);
      CREATE TABLE "s.x".t (id int PRIMARY KEY, pid int REFERENCES s.p);
      INSERT INTO "s.x".t SELECT g, 1 + g % 10 FROM generate_series(1, 1000) g;
      ${withXt
        ? `CREATE TABLE s."x.t" (id int PRIMARY KEY, pid int REFERENCES s.p);
           INSERT INTO s."x.t" SELECT g, 1 + g % 10 FROM generate_series(1, 10) g;
           SET session_replication_role = replica;
           INSERT INTO s."x.t" VALUES (11, 98), (12, 99);
           SET session_replication_role = DEFAULT;`
        : ""}
      ANALYZE;`
    // Keys whose columns compare under a collation other than the database's default (C.UTF-8 on
    // the test server), carried by a domain or declared on the column, next to sample keys.
    const collated = `
      CREATE DOMAIN icu_text AS text COLLATE "und-x-icu";
      CREATE COLLATION case_blind (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
      CREATE DOMAIN blind_text AS text COLLATE case_blind;
      -- the domain's collation on the parent: ICU orders 'a' < 'B', the child's index (C.UTF-8) 'B' < 'a'
      CREATE TABLE dom_parent (k icu_text PRIMARY KEY);
      INSERT INTO dom_parent VALUES ('a'), ('B');
      CREATE TABLE dom_parent_child (id serial PRIMARY KEY, k text REFERENCES dom_parent);
      INSERT INTO dom_parent_child (k) SELECT CASE WHEN g % 2 = 0 THEN 'a' ELSE 'B' END FROM generate_series(1, 20000) g;
      CREATE INDEX ON dom_parent_child (k);
      -- the domain's collation on the child
      CREATE TABLE plain_parent (k text PRIMARY KEY);
      INSERT INTO plain_parent VALUES ('a'), ('B');
      CREATE TABLE dom_child (id serial PRIMARY KEY, k icu_text REFERENCES plain_parent);
      INSERT INTO dom_child (k) SELECT CASE WHEN g % 2 = 0 THEN 'a' ELSE 'B' END FROM generate_series(1, 2000) g;
      CREATE INDEX ON dom_child (k);
      -- a nondeterministic collation by a domain on the parent of a logical key: under it 'A' is 'a'
      CREATE TABLE blind_parent (k blind_text);
      INSERT INTO blind_parent VALUES ('a'), ('b');
      CREATE TABLE blind_child (id serial PRIMARY KEY, k text);
      INSERT INTO blind_child (k) SELECT CASE WHEN g % 2 = 0 THEN 'A' ELSE 'b' END FROM generate_series(1, 2000) g;
      -- two explicit collations: compared under the parent's, as PostgreSQL's own check does
      CREATE TABLE c_parent (k text COLLATE "C" PRIMARY KEY);
      INSERT INTO c_parent VALUES ('a'), ('b');
      CREATE TABLE icu_child (id serial PRIMARY KEY, k text COLLATE "und-x-icu" REFERENCES c_parent);
      INSERT INTO icu_child (k) VALUES ('a'), ('b');
      SET session_replication_role = replica;
      INSERT INTO dom_parent_child (k) VALUES ('b');
      INSERT INTO dom_child (k) VALUES ('A');
      INSERT INTO blind_child (k) VALUES ('zz');
      INSERT INTO icu_child (k) VALUES ('B');
      -- 14 orphan rows over 5 keys, key 500's ten rows first
      CREATE TABLE sample_parent (id int PRIMARY KEY);
      INSERT INTO sample_parent SELECT generate_series(1, 100);
      CREATE TABLE sample_child (id serial PRIMARY KEY, pid int REFERENCES sample_parent);
      INSERT INTO sample_child (pid) SELECT 1 + g % 100 FROM generate_series(1, 1000) g;
      INSERT INTO sample_child (pid) SELECT 500 FROM generate_series(1, 10);
      INSERT INTO sample_child (pid) VALUES (601), (602), (603), (604);
      SET session_replication_role = DEFAULT;
      ANALYZE;`
    const cleanCollated = `
      CREATE TABLE c_parent (k text COLLATE "C" PRIMARY KEY);
      INSERT INTO c_parent VALUES ('a'), ('b');
      CREATE TABLE icu_child (id serial PRIMARY KEY, k text COLLATE "und-x-icu" REFERENCES c_parent);
      INSERT INTO icu_child (k) VALUES ('a'), ('b');`
    type Run = { code: number; stderr: string; report: JsonReport }
    const runs: Record<"dotMissing" | "dotScan" | "byKeys" | "antiJoin" | "clean", Run> = {} as never
    beforeAll(async () => {
      const [dotSource, dotTarget, collations, clean] = await Promise.all([
        freshDatabase("cons_ds"),
        freshDatabase("cons_dt"),
        freshDatabase("cons_cl"),
        freshDatabase("cons_cc")
      ])
      await Promise.all([runSql(dotSource, dotted(true)), runSql(dotTarget, dotted(false)), runSql(collations, collated), runSql(clean, cleanCollated)])
      const byKeys = join(dir, "collated-by-keys.yaml")
      const logical = ["logical_foreign_keys:", "  - table: blind_child", "    columns: [k]", "    references: { table: blind_parent, columns: [k] }"]
      writeFileSync(byKeys, ["key_range_min_rows: 0", ...logical, ""].join("\n"))
      const antiJoin = join(dir, "collated.yaml")
      writeFileSync(antiJoin, [...logical, ""].join("\n"))
      const keyRangeAnySize = join(dir, "dotted.yaml")
      writeFileSync(keyRangeAnySize, "key_range_min_rows: 0\n")
      // A run that fails (exit 1) prints no report: its tests then fail on its exit code and stderr.
      const noReport = { findings: [], checks: { foreignKeys: [], rowCounts: [], tablesOnOneSide: [] } } as unknown as JsonReport
      const run = async (...args: ReadonlyArray<string>): Promise<Run> => {
        const { code, stderr, stdout } = await consistency(...args, "--json")
        return { code, stderr, report: stdout.trim() === "" ? noReport : parse(stdout) }
      }
      ;[runs.dotMissing, runs.dotScan, runs.byKeys, runs.antiJoin, runs.clean] = await Promise.all([
        run(dotSource, dotTarget),
        run(dotSource, dotSource, "--config", keyRangeAnySize),
        run(collations, collations, "--config", byKeys),
        run(collations, collations, "--config", antiJoin),
        run(clean, clean)
      ])
    })
    const keyOf = (run: keyof typeof runs, table: string) =>
      runs[run].report.checks.foreignKeys.find((k) => k.table === `public.${table}`) as (JsonForeignKeyCheck & { method?: Record<string, unknown> }) | undefined
    const samplesOf = (run: keyof typeof runs, table: string) =>
      runs[run].report.findings.find((f) => f.rule === "consistency/orphan-rows" && f.object.table === table)?.details?.["samples"]

    it('"s.x".t and s."x.t" are two tables: the one TARGET lost is missing, and a shared scan counts each one\'s orphans and rows', () => {
      expect(runs.dotMissing.code, runs.dotMissing.stderr).toBe(3)
      expect(runs.dotMissing.report.checks.tablesOnOneSide).toStrictEqual([{ table: "s.x.t", presentIn: "source", partitionOf: null }])
      expect(runs.dotMissing.report.findings.filter((f) => f.rule === "consistency/table-missing").map((f) => f.object)).toStrictEqual([
        { kind: "table", schema: "s", table: "x.t" }
      ])
      expect(runs.dotScan.code, runs.dotScan.stderr).toBe(3)
      const keys = runs.dotScan.report.checks.foreignKeys as ReadonlyArray<JsonForeignKeyCheck & { method?: Record<string, unknown> }>
      expect(keys.map((k) => [k.name, k.orphans, k.method?.["kind"]]).sort()).toStrictEqual([
        ["t_pid_fkey", 0, "key range"],
        ["x.t_pid_fkey", 2, "key range"]
      ])
      const orphans = runs.dotScan.report.findings.filter((f) => f.rule === "consistency/orphan-rows")
      expect(orphans.map((f) => [f.object.schema, f.object.table, f.details?.["samples"]])).toStrictEqual([["s", "x.t", [{ pid: "98" }, { pid: "99" }]]])
      expect(runs.dotScan.report.checks.rowCounts.map((c) => [c.table, c.source, c.target]).sort()).toStrictEqual([
        ["s.p", 10, 10],
        ["s.x.t", 1000, 1000],
        ["s.x.t", 12, 12]
      ])
    })

    it("a collation carried by a domain, on the parent or the child, nondeterministic on a logical key's parent: the anti-join, with the orphans PostgreSQL's equality finds", () => {
      expect(runs.byKeys.code, runs.byKeys.stderr).toBe(3)
      for (const run of ["byKeys", "antiJoin"] as const) {
        expect(keyOf(run, "dom_parent_child"), run).toMatchObject({ orphans: 1, method: { kind: "anti-join" } })
        expect(samplesOf(run, "dom_parent_child"), run).toStrictEqual([{ k: "b" }])
        expect(keyOf(run, "dom_child"), run).toMatchObject({ orphans: 1, method: { kind: "anti-join" } })
        expect(samplesOf(run, "dom_child"), run).toStrictEqual([{ k: "A" }])
        expect(keyOf(run, "blind_child"), run).toMatchObject({ orphans: 1, method: { kind: "anti-join" } })
        expect(samplesOf(run, "blind_child"), run).toStrictEqual([{ k: "zz" }])
      }
    })

    it("a key between columns of two explicit collations is compared under the parent's: a clean one passes, an orphan is found", () => {
      expect(runs.clean.code, runs.clean.stderr).toBe(0)
      expect(runs.antiJoin.code, runs.antiJoin.stderr).toBe(3)
      expect(runs.clean.report.checks.foreignKeys.map((k) => [k.table, k.orphans])).toStrictEqual([["public.icu_child", 0]])
      for (const run of ["byKeys", "antiJoin"] as const) {
        expect(keyOf(run, "icu_child"), run).toMatchObject({ orphans: 1, method: { kind: "anti-join" } })
        expect(samplesOf(run, "icu_child"), run).toStrictEqual([{ k: "B" }])
        const query = runs[run].report.findings.find((f) => f.object.table === "icu_child")?.details?.["query"]
        expect(query, run).toContain(`p."k" = c."k" COLLATE "C"`)
      }
    })

    it("sample keys are distinct keys: 14 orphan rows over 5 keys, ten of one key first, give all 5, by the stretch and by the search from the end", () => {
      expect(keyOf("antiJoin", "sample_child")).toMatchObject({ orphans: 14, method: { kind: "anti-join" } })
      expect(keyOf("byKeys", "sample_child")).toMatchObject({ orphans: 14, method: { kind: "key range" } })
      for (const run of ["byKeys", "antiJoin"] as const) {
        expect(samplesOf(run, "sample_child"), run).toStrictEqual([{ pid: "500" }, { pid: "601" }, { pid: "602" }, { pid: "603" }, { pid: "604" }])
      }
    })
  })

  it("TARGET's sessions take work_mem from the config for the orphan joins; 0 keeps the server's", async () => {
    const show = (workMemMb: number) =>
      Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const endpoint = yield* resolveEndpoint(countTarget, {})
            const query = yield* openReadOnlySessions(endpoint, "test", { sessions: 2, statementTimeoutMs: 0, workMemMb })
            const rows = yield* Effect.all([query("SHOW work_mem"), query("SHOW work_mem")], { concurrency: 2 })
            return rows.map((r) => String(r[0]?.["work_mem"]))
          })
        )
      )
    expect(await show(64)).toStrictEqual(["64MB", "64MB"])
    expect(await show(0)).toStrictEqual(["4MB", "4MB"])
  })

  it("TARGET's sessions take the planner settings the orphan checks need (no sort of a whole child, no merge join), and only for their transaction", async () => {
    expect(ORPHAN_SESSION_SETTINGS).toStrictEqual({ enable_sort: "off", enable_mergejoin: "off" })
    const shown = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const endpoint = yield* resolveEndpoint(countTarget, {})
          const query = yield* openReadOnlySessions(endpoint, "test", { sessions: 2, statementTimeoutMs: 0, settings: ORPHAN_SESSION_SETTINGS })
          const plain = yield* openReadOnlySessions(endpoint, "test", { sessions: 1, statementTimeoutMs: 0 })
          const rows = yield* Effect.all(
            [query("SHOW enable_sort"), query("SHOW enable_sort"), plain("SHOW enable_sort"), query("SHOW enable_mergejoin"), plain("SHOW enable_mergejoin")],
            { concurrency: 3 }
          )
          return rows.map((r) => String(Object.values(r[0] ?? {})[0]))
        })
      )
    )
    expect(shown).toStrictEqual(["off", "off", "on", "off", "on"])
  })

  it("the command gives TARGET's sessions those settings and SOURCE's none: a table visible only without sorts is counted on TARGET alone", async () => {
    // A row-level security policy shows the rows only to a session with enable_sort off; the
    // same database as SOURCE and TARGET, read by a role the policy applies to (not the owner).
    const db = await freshDatabase("cons_settings")
    const role = `cons_reader_${process.pid}`
    await runSql(adminUrl(), `DROP ROLE IF EXISTS ${role}; CREATE ROLE ${role} LOGIN PASSWORD 'reader-pw'`)
    try {
      await runSql(db, `CREATE TABLE seen (id int); INSERT INTO seen SELECT generate_series(1, 10);
        ALTER TABLE seen ENABLE ROW LEVEL SECURITY;
        CREATE POLICY only_without_sorts ON seen FOR SELECT USING (current_setting('enable_sort') = 'off');
        GRANT SELECT ON seen TO ${role};`)
      const url = new URL(db)
      url.username = role
      url.password = "reader-pw"
      const run = await consistency(url.toString(), url.toString(), "--json")
      expect(run.code, run.stderr).toBe(3)
      const report = parse(run.stdout)
      expect(report.checks.rowCounts.find((c) => c.table === "public.seen")).toMatchObject({ source: 0, target: 10, status: "out-of-tolerance" })
    } finally {
      await runSql(db, `DROP OWNED BY ${role}`)
      await runSql(adminUrl(), `DROP ROLE ${role}`)
    }
  })

  describe("exit codes and errors", () => {
    it("a clean run writes a consistency_<timestamp>.json evidence file with the report", async () => {
      const evidence = join(dir, "clean-evidence")
      const run = await runCli(["consistency", pagila, pagilaCopy, "--evidence-dir", evidence])
      expect(run.code, run.stderr).toBe(0)
      expect(run.stdout).toMatch(/^PASS consistency /m)
      const files = evidenceFiles(evidence)
      expect(files).toHaveLength(1)
      expect(files[0]).toMatch(/^consistency_\d{4}-\d\d-\d\dT[\d-]+Z\.json$/)
      const document = JSON.parse(readFileSync(join(evidence, files[0] as string), "utf8")) as Record<string, unknown>
      expect(document).toMatchObject({ tool: "db-harness", command: "consistency", gate: "consistency", status: "pass" })
      expect(JSON.stringify(document)).not.toMatch(/db-harness@/)
    })

    it("the same findings get the same fingerprints run after run", async () => {
      const [a, b] = await Promise.all([consistency(countSource, countTarget, "--json"), consistency(countSource, countTarget, "--json")])
      expect(parse(a.stdout).findings.map((f) => f.fingerprint)).toStrictEqual(parse(b.stdout).findings.map((f) => f.fingerprint))
    })

    const noEvidence = async (args: ReadonlyArray<string>) => {
      const evidence = join(dir, `none-${Math.random().toString(36).slice(2)}`)
      const run = await runCli(["consistency", ...args, "--evidence-dir", evidence])
      expect(evidenceFiles(evidence)).toEqual([])
      return run
    }

    it("a bad URL: exit 1, one line", async () => {
      const run = await noEvidence(["not a url", countTarget])
      expect(run.code).toBe(1)
      expect(run.stderr).toMatch(/neither a postgres:\/\/ URL nor an environment name/)
    })

    it("a wrong password: exit 1, the password never shown", async () => {
      const wrong = new URL(countTarget)
      wrong.password = "wrong-secret"
      const run = await noEvidence([countSource, wrong.toString()])
      expect(run.code).toBe(1)
      expect(run.stderr).toMatch(/authentication failed/)
      expect(run.stderr + run.stdout).not.toContain("wrong-secret")
    })

    it("a bad tolerance: exit 1 before connecting", async () => {
      for (const tolerance of ["5%", "-0.1", "abc"]) {
        const run = await noEvidence([countSource, countTarget, "--tolerance", tolerance])
        expect(run.code).toBe(1)
        expect(run.stderr).toContain(`--tolerance "${tolerance}" is not a fraction`)
      }
    })

    it("a bad config file: exit 1 with file:line, nothing written", async () => {
      const bad = join(dir, "bad.yaml")
      writeFileSync(bad, "tolerance: 0.1\nlogical_foreign_keys:\n  - table: orders\n    colums: [customer_id]\n    references: { table: customers, columns: [id] }\n")
      const run = await noEvidence([countSource, countTarget, "--config", bad])
      expect(run.code).toBe(1)
      expect(run.stderr).toContain(`${bad}:4:5: logical_foreign_keys[0].colums: unknown key`)
      expect(run.stderr).toContain(`${bad}:3:5: logical_foreign_keys[0].columns: Missing key`)
    })

    it("a logical key naming a table TARGET does not have: exit 1 with its file position", async () => {
      const bad = join(dir, "missing-table.yaml")
      writeFileSync(bad, "logical_foreign_keys:\n  - table: mail_logs\n    columns: [recipient_email]\n    references: { table: people, columns: [email] }\n")
      const run = await noEvidence([orphanSource, orphanTarget, "--config", bad])
      expect(run.code).toBe(1)
      expect(run.stderr).toContain(`${bad}:2:5: table: no table "mail_logs" on TARGET (did you mean "mail_log"?)`)
    })
  })
})
