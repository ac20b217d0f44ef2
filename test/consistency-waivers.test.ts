/**
 * `db-harness consistency --waivers FILE` through the real CLI on a real PostgreSQL: TARGET has
 * one orphan row (a NOT VALID key) and one table that lost half its rows. Waiving a finding by
 * its fingerprint moves it to `waived` (JSON, evidence, the readable report) and out of the exit
 * code; what stays open still exits 3. A waiver file that is wrong (a rule that is not the
 * finding's, an expired or malformed entry) is exit 1, the expired one before any connection;
 * an entry that matches nothing is warned about and listed, and does not block.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { AuditEntry } from "../src/engine/audit-log.ts"
import { runCli } from "./support/cli.ts"
import { freshDatabase, runSql } from "./support/database.ts"

interface JsonFinding {
  readonly rule: string
  readonly severity: string
  readonly object: { readonly table?: string }
  readonly fingerprint: string
  readonly details?: Record<string, unknown>
}

interface JsonWaived extends JsonFinding {
  readonly waiver: { readonly reason: string; readonly expires: string; readonly at: string; readonly rule?: string }
}

interface JsonReport {
  readonly gate: string
  readonly status: string
  readonly findings: ReadonlyArray<JsonFinding>
  readonly waived: ReadonlyArray<JsonWaived>
  readonly summary: Record<string, unknown>
}

const parse = (stdout: string): JsonReport => JSON.parse(stdout) as JsonReport

/** Both sides have the same tables; TARGET's child row 3 is an orphan under a NOT VALID key, and TARGET has half of `shrunk`'s rows. */
const scenario = (side: "source" | "target") => `
  CREATE TABLE parent (id int PRIMARY KEY);
  INSERT INTO parent SELECT generate_series(1, 10);
  CREATE TABLE child (id int PRIMARY KEY, parent_id int);
  INSERT INTO child VALUES (1, 1), (2, 2), (3, ${side === "source" ? 3 : 99});
  ALTER TABLE child ADD CONSTRAINT child_parent_fkey FOREIGN KEY (parent_id) REFERENCES parent NOT VALID;
  CREATE TABLE shrunk (id int PRIMARY KEY);
  INSERT INTO shrunk SELECT generate_series(1, ${side === "source" ? 100 : 50});
  ANALYZE;`

const ORPHAN = "consistency/orphan-rows"
const ROW_COUNT = "consistency/row-count"

/** Files in an evidence directory besides the audit log (which records failed runs too). */
const evidenceFiles = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith("audit.log.")) : [])

const auditEntries = (dir: string) =>
  readFileSync(join(dir, "audit.log.jsonl"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditEntry)

describe("db-harness consistency --waivers", () => {
  let dir = ""
  let source = ""
  let target = ""
  let orphan = ""
  let rowCount = ""
  let runs = 0

  /** A run with its evidence directory given, so a test reads only its own files. */
  const consistency = (evidence: string, ...args: ReadonlyArray<string>) => runCli(["consistency", ...args, "--evidence-dir", evidence])

  beforeAll(async () => {
    ;[source, target] = await Promise.all([freshDatabase("cw_src"), freshDatabase("cw_dst")])
    await Promise.all([runSql(source, scenario("source")), runSql(target, scenario("target"))])
    dir = mkdtempSync(join(tmpdir(), "db-harness-consistency-waivers-"))
    const run = await consistency(join(dir, "fingerprints"), source, target, "--json")
    const findings = parse(run.stdout).findings
    orphan = findings.find((f) => f.rule === ORPHAN && f.object.table === "child")?.fingerprint ?? ""
    rowCount = findings.find((f) => f.rule === ROW_COUNT && f.object.table === "shrunk")?.fingerprint ?? ""
  })

  afterAll(() => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true })
  })

  const freshEvidence = () => join(dir, `evidence-${runs++}`)

  const writeWaivers = (name: string, entries: ReadonlyArray<Record<string, string>>) => {
    const path = join(dir, name)
    const lines = ["waivers:", ...entries.flatMap((entry) => Object.entries(entry).map(([key, value], i) => `${i === 0 ? "  - " : "    "}${key}: ${value}`))]
    writeFileSync(path, `${lines.join("\n")}\n`)
    return path
  }

  it("the scenario has exactly the two violations, each with a fingerprint in the readable report", async () => {
    expect(orphan).toMatch(/^[0-9a-f]{16}$/)
    expect(rowCount).toMatch(/^[0-9a-f]{16}$/)
    const json = await consistency(freshEvidence(), source, target, "--json")
    expect(json.code, json.stderr).toBe(3)
    const report = parse(json.stdout)
    expect(report.findings.map((f) => f.fingerprint)).toStrictEqual([orphan, rowCount])
    expect(report.waived).toStrictEqual([])
    expect(report.summary).toMatchObject({ waived: 0, staleWaivers: [], blocking: 2 })
    const readable = await consistency(freshEvidence(), source, target)
    expect(readable.code, readable.stderr).toBe(3)
    expect(readable.stdout).toContain(`fingerprint ${orphan}`)
    expect(readable.stdout).toContain(`fingerprint ${rowCount}`)
    expect(readable.stdout).not.toMatch(/^waived \(/m)
  })

  describe("an orphan finding waived by its fingerprint", () => {
    let file = ""
    beforeAll(() => {
      file = writeWaivers("orphan.yaml", [{ fingerprint: orphan, rule: ORPHAN, reason: "row 3 is fixed in DB-77", expires: "2999-12-31" }])
    })

    it("without the waiver the run exits 3", async () => {
      const run = await consistency(freshEvidence(), source, target, "--json", "--exclude", "shrunk")
      expect(run.code, run.stderr).toBe(3)
      expect(parse(run.stdout).findings.map((f) => f.fingerprint)).toStrictEqual([orphan])
    })

    it("with it: exit 0, status pass, the finding under waived with its waiver, in --json and the evidence file", async () => {
      const evidence = freshEvidence()
      const run = await consistency(evidence, source, target, "--json", "--exclude", "shrunk", "--waivers", file)
      expect(run.code, run.stderr).toBe(0)
      const report = parse(run.stdout)
      expect(Object.keys(report)).toStrictEqual(["gate", "status", "findings", "waived", "checks", "summary"])
      expect(report.status).toBe("pass")
      expect(report.findings).toStrictEqual([])
      expect(report.waived).toHaveLength(1)
      expect(report.waived[0]).toMatchObject({ rule: ORPHAN, fingerprint: orphan, details: { orphans: 1 } })
      expect(report.waived[0]?.waiver).toStrictEqual({ reason: "row 3 is fixed in DB-77", expires: "2999-12-31", at: `${file}:2`, rule: ORPHAN })
      expect(report.summary).toMatchObject({ waived: 1, staleWaivers: [], blocking: 0, orphanViolations: 0 })

      const files = evidenceFiles(evidence)
      expect(files).toHaveLength(1)
      expect(files[0]).toMatch(/^consistency_.*\.json$/)
      const document = JSON.parse(readFileSync(join(evidence, files[0] as string), "utf8")) as JsonReport & { waiverFile: string | null }
      expect(document.waiverFile).toBe(file)
      expect(document.status).toBe("pass")
      expect(document.waived.map((f) => [f.fingerprint, f.waiver.reason])).toStrictEqual([[orphan, "row 3 is fixed in DB-77"]])
    })

    it("the readable report lists it in its own section: fingerprint, expiry, where the waiver is, reason", async () => {
      const run = await consistency(freshEvidence(), source, target, "--exclude", "shrunk", "--waivers", file)
      expect(run.code, run.stderr).toBe(0)
      expect(run.stdout).not.toContain("orphan rows (")
      expect(run.stdout).toContain("waived (1):")
      expect(run.stdout).toContain(`[breaking] ${ORPHAN} public.child.child_parent_fkey: 1 row(s) of public.child reference no row of public.parent`)
      expect(run.stdout).toContain(`fingerprint ${orphan}, until 2999-12-31 (${file}:2): row 3 is fixed in DB-77`)
      expect(run.stdout).toMatch(/^PASS consistency .*; 1 waived/m)
    })

    it("the row-count violation it does not cover still exits 3", async () => {
      const run = await consistency(freshEvidence(), source, target, "--json", "--waivers", file)
      expect(run.code, run.stderr).toBe(3)
      const report = parse(run.stdout)
      expect(report.status).toBe("fail")
      expect(report.findings.map((f) => f.fingerprint)).toStrictEqual([rowCount])
      expect(report.waived.map((f) => f.fingerprint)).toStrictEqual([orphan])
      expect(run.stderr).toContain("1 unwaived consistency violation(s): 0 foreign key(s) with orphan rows, 1 row count(s) out of tolerance")
    })
  })

  it("a row-count finding waived too: both waived, exit 0; the audit entry records the run with its waiver file", async () => {
    const file = writeWaivers("both.yaml", [
      { fingerprint: orphan, reason: "row 3 is fixed in DB-77", expires: "2999-12-31" },
      { fingerprint: rowCount, rule: ROW_COUNT, reason: "shrunk was archived on purpose", expires: "2999-12-31" }
    ])
    const evidence = freshEvidence()
    const waived = await consistency(evidence, source, target, "--json", "--waivers", file)
    expect(waived.code, waived.stderr).toBe(0)
    const report = parse(waived.stdout)
    expect(report.findings).toStrictEqual([])
    expect(report.waived.map((f) => [f.rule, f.fingerprint, f.waiver.at])).toStrictEqual([
      [ORPHAN, orphan, `${file}:2`],
      [ROW_COUNT, rowCount, `${file}:5`]
    ])
    expect(report.waived[1]?.details).toMatchObject({ source: 100, target: 50 })
    expect(report.summary).toMatchObject({ waived: 2, blocking: 0, rowCountViolations: 0 })

    const plain = await consistency(evidence, source, target, "--json")
    expect(plain.code, plain.stderr).toBe(3)
    const [withFile, without] = auditEntries(evidence)
    expect(withFile?.outcome).toMatchObject({ status: "ok", exitCode: 0 })
    expect(without?.outcome).toMatchObject({ status: "blocked", exitCode: 3 })
    // Same databases and flags: only the waiver file tells the two runs' configurations apart.
    expect(withFile?.config.digest).not.toBe(without?.config.digest)
    expect(withFile?.counts).toMatchObject({ findings: 0 })
  })

  it("a waiver whose rule is not the finding's: exit 1 naming the entry, nothing written", async () => {
    const file = writeWaivers("wrong-rule.yaml", [{ fingerprint: orphan, rule: ROW_COUNT, reason: "mixed up", expires: "2999-12-31" }])
    const evidence = freshEvidence()
    const run = await consistency(evidence, source, target, "--json", "--waivers", file)
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`${file}:2: fingerprint ${orphan} is a ${ORPHAN} finding, but the entry says rule ${ROW_COUNT}`)
    expect(run.stdout).toBe("")
    expect(evidenceFiles(evidence)).toStrictEqual([])
  })

  describe("checked before connecting", () => {
    // Nothing listens on port 1: a run that got as far as connecting fails on that instead.
    const unreachable = "postgres://nobody:secret@127.0.0.1:1/nowhere"

    it("an expired waiver: exit 1 naming the entry, even with an unreachable database", async () => {
      const file = writeWaivers("expired.yaml", [{ fingerprint: orphan, reason: "was fine", expires: "2020-01-01" }])
      const run = await consistency(freshEvidence(), unreachable, unreachable, "--waivers", file)
      expect(run.code).toBe(1)
      expect(run.stderr).toContain(`${file}:2: fingerprint ${orphan} expired on 2020-01-01: was fine`)
      expect(run.stderr).not.toMatch(/cannot connect|unreachable|ECONNREFUSED/)
      // The control: a valid file lets the same run go on to connect, and fail there.
      const valid = writeWaivers("valid.yaml", [{ fingerprint: orphan, reason: "ok", expires: "2999-12-31" }])
      const connecting = await consistency(freshEvidence(), unreachable, unreachable, "--waivers", valid)
      expect(connecting.code).toBe(1)
      expect(connecting.stderr).toMatch(/cannot connect to postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/nowhere/)
      expect(connecting.stderr).not.toContain("expired")
      expect(connecting.stderr).not.toContain("secret")
    })

    it("a malformed waiver file: exit 1 with file:line:column", async () => {
      const file = join(dir, "malformed.yaml")
      writeFileSync(file, `waivers:\n  - fingerprint: ${orphan}\n    expires: 2999-12-31\n    reasn: typo\n`)
      const run = await consistency(freshEvidence(), unreachable, unreachable, "--waivers", file)
      expect(run.code).toBe(1)
      expect(run.stderr).toContain(`${file}:2:5: waivers[0].reason: Missing key`)
      expect(run.stderr).toContain(`${file}:4:5: waivers[0].reasn: unknown key`)
    })
  })

  it("a stale waiver: a warning on stderr and in summary.staleWaivers; it blocks nothing", async () => {
    const file = writeWaivers("stale.yaml", [
      { fingerprint: orphan, reason: "row 3 is fixed in DB-77", expires: "2999-12-31" },
      { fingerprint: "0123456789abcdef", rule: ORPHAN, reason: "long fixed", expires: "2999-12-31" }
    ])
    const run = await consistency(freshEvidence(), source, target, "--json", "--exclude", "shrunk", "--waivers", file)
    expect(run.code, run.stderr).toBe(0)
    expect(run.stderr).toContain(`warning: stale waiver ${file}:5: fingerprint 0123456789abcdef (${ORPHAN}) matched no finding; remove it`)
    const report = parse(run.stdout)
    expect(report.summary["staleWaivers"]).toStrictEqual([{ fingerprint: "0123456789abcdef", at: `${file}:5` }])
    expect(report.waived.map((f) => f.fingerprint)).toStrictEqual([orphan])
  })
})
