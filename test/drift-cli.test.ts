/**
 * `db-harness drift` as users and CI run it (the real CLI in a child process) against pagila and
 * modified copies on a real PostgreSQL: exit codes by flag, the exact `--json` shape, waivers
 * (valid, expired, malformed, stale), snapshot files from `inspect --json` on either side, the
 * evidence file, --exclude, and the errors a user meets.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { runCli } from "./support/cli.ts"
import { freshDatabase, loadPagila, runSql } from "./support/database.ts"

interface JsonFinding {
  readonly rule: string
  readonly severity: string
  readonly object: { readonly kind: string; readonly schema?: string; readonly table?: string; readonly column?: string }
  readonly fingerprint: string
}

interface JsonReport {
  readonly gate: string
  readonly status: string
  readonly findings: ReadonlyArray<JsonFinding>
  readonly waived: ReadonlyArray<JsonFinding & { readonly waiver: { readonly reason: string } }>
  readonly summary: Record<string, unknown>
}

const parse = (stdout: string): JsonReport => JSON.parse(stdout) as JsonReport

describe("db-harness drift", () => {
  let pagila = ""
  let same = ""
  /** pagila plus public.actor.nickname: making it match pagila drops that column (breaking). */
  let extraColumn = ""
  /** pagila with public.actor.last_name nullable: as SOURCE against pagila, NOT NULL → nullable (hazard). */
  let relaxed = ""
  let dir = ""
  let evidenceDir = ""

  beforeAll(async () => {
    ;[pagila, same, extraColumn, relaxed] = await Promise.all([
      freshDatabase("drift_a"),
      freshDatabase("drift_b"),
      freshDatabase("drift_c"),
      freshDatabase("drift_d")
    ])
    await Promise.all([loadPagila(pagila), loadPagila(same), loadPagila(extraColumn), loadPagila(relaxed)])
    await runSql(extraColumn, "ALTER TABLE public.actor ADD COLUMN nickname text")
    await runSql(relaxed, "ALTER TABLE public.actor ALTER COLUMN last_name DROP NOT NULL")
    dir = mkdtempSync(join(tmpdir(), "db-harness-drift-"))
    evidenceDir = join(dir, "evidence")
  })

  afterAll(() => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true })
  })

  const drift = (...args: ReadonlyArray<string>) => runCli(["drift", ...args, "--evidence-dir", evidenceDir])

  /** The breaking finding of pagila → extraColumn: the dropped nickname column. */
  const droppedColumn = (report: JsonReport) =>
    report.findings.find((f) => f.severity === "breaking" && f.object.table === "actor" && f.object.column === "nickname")

  const writeWaivers = (name: string, text: string) => {
    const path = join(dir, name)
    writeFileSync(path, text)
    return path
  }

  it("identical schemas: exit 0, no findings, the exact --json shape", async () => {
    const run = await drift(pagila, same, "--json", "--fail-on-breaking", "--strict")
    expect(run.code, run.stderr).toBe(0)
    const report = parse(run.stdout)
    expect(Object.keys(report)).toStrictEqual(["gate", "status", "findings", "waived", "summary"])
    expect(report.gate).toBe("drift")
    expect(report.status).toBe("pass")
    expect(report.findings).toStrictEqual([])
    expect(report.waived).toStrictEqual([])
    expect(report.summary).toMatchObject({ breaking: 0, hazard: 0, performance: 0, info: 0, waived: 0, blocking: 0, dataChecks: "ran" })
    // Logs on stderr only, passwords hidden.
    expect(run.stderr).toMatch(/read SOURCE postgres:\/\/postgres:\*\*\*@/)
  })

  it("a column in TARGET but not in SOURCE is breaking: exit 2 with --fail-on-breaking, 0 without", async () => {
    const blocked = await drift(pagila, extraColumn, "--json", "--fail-on-breaking")
    expect(blocked.code, blocked.stderr).toBe(2)
    const report = parse(blocked.stdout)
    expect(report.status).toBe("fail")
    const finding = droppedColumn(report)
    expect(finding).toBeDefined()
    expect(Object.keys(finding!).slice(0, 7)).toStrictEqual(["rule", "severity", "object", "before", "after", "message", "fingerprint"])
    expect(finding!.fingerprint).toMatch(/^[0-9a-f]{16}$/)
    expect(blocked.stderr).toContain("unwaived breaking finding(s) block (--fail-on-breaking)")

    const reported = await drift(pagila, extraColumn)
    expect(reported.code, reported.stderr).toBe(0)
    expect(reported.stdout).toMatch(/^column public\.actor\.nickname$/m)
    expect(reported.stdout).toContain("[breaking]")
    expect(reported.stdout).toContain(`fingerprint ${finding!.fingerprint}`)
    expect(reported.stdout).toMatch(/^WARN drift .* → .*: [1-9]\d* breaking/m)
  })

  it("the reverse direction is not a drop", async () => {
    const run = await drift(extraColumn, pagila, "--json", "--fail-on-breaking")
    expect(droppedColumn(parse(run.stdout))).toBeUndefined()
  })

  it("a hazard alone exits 0, and 2 with --strict", async () => {
    const lenient = await drift(relaxed, pagila, "--json", "--fail-on-breaking")
    expect(lenient.code, lenient.stderr).toBe(0)
    const report = parse(lenient.stdout)
    expect(report.status).toBe("warn")
    expect(report.findings.some((f) => f.severity === "hazard" && f.object.column === "last_name")).toBe(true)
    expect(report.findings.filter((f) => f.severity === "breaking")).toStrictEqual([])
    const strict = await drift(relaxed, pagila, "--strict")
    expect(strict.code, strict.stderr).toBe(2)
    expect(strict.stderr).toContain("(--strict)")
  })

  it("--exclude hides a table's findings, by schema.table or by name", async () => {
    for (const pattern of ["public.actor", "act*"]) {
      const run = await drift(pagila, extraColumn, "--json", "--fail-on-breaking", "--exclude", pattern)
      expect(run.code, run.stderr).toBe(0)
      expect(parse(run.stdout).findings.filter((f) => f.object.table === "actor")).toStrictEqual([])
    }
  })

  describe("waivers", () => {
    let fingerprint = ""
    beforeAll(async () => {
      fingerprint = droppedColumn(parse((await drift(pagila, extraColumn, "--json")).stdout))!.fingerprint
    })

    it("a valid waiver moves the breaking finding to waived: exit 0", async () => {
      const file = writeWaivers("valid.yaml", `waivers:\n  - fingerprint: ${fingerprint}\n    reason: nickname goes in DB-42\n    expires: 2999-12-31\n`)
      const run = await drift(pagila, extraColumn, "--json", "--fail-on-breaking", "--waivers", file)
      expect(run.code, run.stderr).toBe(0)
      const report = parse(run.stdout)
      expect(report.findings.map((f) => f.fingerprint)).not.toContain(fingerprint)
      expect(report.waived.map((f) => [f.fingerprint, f.waiver.reason])).toStrictEqual([[fingerprint, "nickname goes in DB-42"]])
      expect(report.summary["waived"]).toBe(1)
      const readable = await drift(pagila, extraColumn, "--waivers", file)
      expect(readable.stdout).toContain("waived (1):")
    })

    it("an expired waiver is an error naming the entry: exit 1", async () => {
      const file = writeWaivers("expired.yaml", `waivers:\n  - fingerprint: ${fingerprint}\n    reason: was fine\n    expires: 2020-01-01\n`)
      const run = await drift(pagila, extraColumn, "--fail-on-breaking", "--waivers", file)
      expect(run.code).toBe(1)
      expect(run.stderr).toContain(`${file}:2: fingerprint ${fingerprint} expired on 2020-01-01`)
      expect(run.stdout).toBe("")
    })

    it("a malformed waiver file is an error with line:column: exit 1", async () => {
      const syntax = writeWaivers("syntax.yaml", `waivers:\n  - fingerprint: [${fingerprint}\n    reason: x\n`)
      const bad = await drift(pagila, extraColumn, "--waivers", syntax)
      expect(bad.code).toBe(1)
      expect(bad.stderr).toMatch(new RegExp(`${syntax.replaceAll(/[.\\/]/g, "\\$&")}:\\d+:\\d+: YAML syntax error`))
      const missing = writeWaivers("missing.yaml", `waivers:\n  - fingerprint: ${fingerprint}\n    expires: 2999-01-01\n`)
      const run = await drift(pagila, extraColumn, "--waivers", missing)
      expect(run.code).toBe(1)
      expect(run.stderr).toContain(`${missing}:2:5: waivers[0].reason: Missing key`)
    })

    it("a waiver that matches nothing is a stale warning, not an error", async () => {
      const file = writeWaivers("stale.yaml", `waivers:\n  - fingerprint: 0123456789abcdef\n    rule: drift/column-dropped\n    reason: long gone\n    expires: 2999-12-31\n`)
      const run = await drift(pagila, same, "--json", "--fail-on-breaking", "--waivers", file)
      expect(run.code, run.stderr).toBe(0)
      expect(run.stderr).toContain(`warning: stale waiver ${file}:2: fingerprint 0123456789abcdef (drift/column-dropped) matched no finding`)
      const report = parse(run.stdout)
      expect(report.status).toBe("warn")
      expect(report.summary["staleWaivers"]).toStrictEqual([{ fingerprint: "0123456789abcdef", at: `${file}:2` }])
    })
  })

  describe("snapshot files", () => {
    let pagilaFile = ""
    let extraFile = ""
    beforeAll(async () => {
      pagilaFile = join(dir, "pagila.json")
      extraFile = join(dir, "extra.json")
      for (const [url, file] of [[pagila, pagilaFile], [extraColumn, extraFile]] as const) {
        const run = await runCli(["inspect", url, "--json"])
        expect(run.code, run.stderr).toBe(0)
        writeFileSync(file, run.stdout)
      }
    })

    it("file against live: the same findings and fingerprints as live against live, data checks run", async () => {
      const live = parse((await drift(pagila, extraColumn, "--json")).stdout)
      const run = await drift(pagilaFile, extraColumn, "--json", "--fail-on-breaking")
      expect(run.code, run.stderr).toBe(2)
      const report = parse(run.stdout)
      expect(report.findings).toStrictEqual(live.findings)
      expect(report.summary).toMatchObject({ source: pagilaFile, dataChecks: "ran" })
    })

    it("live against file and file against file: data-aware checks skipped, and the report says so", async () => {
      const live = parse((await drift(pagila, extraColumn, "--json")).stdout)
      for (const source of [pagila, pagilaFile]) {
        const run = await drift(source, extraFile, "--json", "--fail-on-breaking")
        expect(run.code, run.stderr).toBe(2)
        const report = parse(run.stdout)
        expect(report.summary).toMatchObject({ target: extraFile, dataChecks: "skipped" })
        expect(report.findings.map((f) => f.fingerprint)).toContain(droppedColumn(live)!.fingerprint)
        expect(run.stderr).toContain("data-aware checks skipped: TARGET is a snapshot file")
      }
      const readable = await drift(pagilaFile, extraFile)
      expect(readable.code).toBe(0)
      expect(readable.stdout).toContain("data-aware checks skipped")
    })

    it("a malformed or missing snapshot file is an error naming the file: exit 1", async () => {
      const notJson = join(dir, "not.json")
      writeFileSync(notJson, "{ nope")
      const notCatalog = join(dir, "other.json")
      writeFileSync(notCatalog, JSON.stringify({ database: "x" }))
      for (const [file, message] of [
        [notJson, `snapshot file ${notJson} is not JSON`],
        [notCatalog, `snapshot file ${notCatalog}: not a db-harness catalog`],
        [join(dir, "absent.json"), `cannot read snapshot file ${join(dir, "absent.json")}`]
      ] as const) {
        const run = await drift(file, pagila)
        expect(run.code).toBe(1)
        expect(run.stderr).toContain(message)
      }
    })
  })

  it("writes drift_<timestamp>.json evidence with the report and no password", async () => {
    const evidence = join(dir, "evidence-only")
    const run = await runCli(["drift", pagila, extraColumn, "--json", "--evidence-dir", evidence])
    expect(run.code, run.stderr).toBe(0)
    const files = readdirSync(evidence).filter((f) => !f.startsWith("audit.log."))
    expect(files).toHaveLength(1)
    expect(files[0]).toMatch(/^drift_\d{4}-\d{2}-\d{2}T[\d-]+Z\.json$/)
    const text = readFileSync(join(evidence, files[0]!), "utf8")
    const document = JSON.parse(text) as JsonReport & { command: string }
    expect(document.command).toBe("drift")
    expect(document.findings).toStrictEqual(parse(run.stdout).findings)
    const password = decodeURIComponent(new URL(pagila).password)
    expect(password).not.toBe("")
    expect(text).not.toContain(`:${password}@`)
    expect(text).toContain("postgres://postgres:***@")
    expect(run.stderr).toContain(`evidence: ${join(evidence, files[0]!)}`)
  })

  it("an unreachable host, a missing database or an unknown name is exit 1 without the password", async () => {
    const unreachable = await drift(pagila, "postgres://me:s3cret@127.0.0.1:1/nowhere")
    expect(unreachable.code).toBe(1)
    expect(unreachable.stderr).toContain("cannot connect to postgres://me:***@127.0.0.1:1/nowhere")
    const missing = new URL(pagila)
    missing.pathname = "/no_such_database_here"
    const run = await drift(missing.toString(), pagila)
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('database "no_such_database_here" does not exist')
    const unknown = await drift("nosuchenv", pagila)
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain('unknown environment "nosuchenv"')
    for (const output of [unreachable.stderr, run.stderr, unknown.stderr]) {
      expect(output).not.toContain("s3cret")
      expect(output).not.toContain(`:${decodeURIComponent(new URL(pagila).password)}@`)
    }
  })

  it("an environment name resolves through DB_<NAME>_CONN", async () => {
    const run = await runCli(["drift", "prod", "staging", "--json", "--evidence-dir", evidenceDir], {
      DB_PROD_CONN: pagila,
      DB_STAGING_CONN: same
    })
    expect(run.code, run.stderr).toBe(0)
    expect(parse(run.stdout).findings).toStrictEqual([])
  })

  it("drift --help exits 0 and describes the flags", async () => {
    const run = await runCli(["drift", "--help"])
    expect(run.code).toBe(0)
    for (const flag of ["--fail-on-breaking", "--strict", "--waivers", "--exclude", "--privileges", "--owners", "--comments", "--evidence-dir"]) {
      expect(run.stdout).toContain(flag)
    }
  })
})
