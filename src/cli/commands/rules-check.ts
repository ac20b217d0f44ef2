/**
 * `db-harness rules check --rules FILE TARGET [--json]`: every masking check of a masked propagate,
 * run alone against TARGET's schema (and a sample of its values), copying nothing. It prints the
 * coverage (per table, each column with the rule that masks or keeps it, or why it is left as it
 * is, and the personal-looking columns no rule covers, with a rule to paste) and every problem a
 * run would stop on: exit 0 when a `propagate --mask-pii --rules FILE` would pass them, 1 if not.
 */
import * as Effect from "effect/Effect"
import * as SqlClient from "effect/sql/SqlClient"
import { Argument, Command, Flag } from "effect/cli"
import { homedir } from "node:os"
import { basename } from "node:path"
import { withoutInternalSchema, type Catalog } from "../../engine/catalog.ts"
import { readCatalog } from "../../engine/catalog-reader.ts"
import { resolveEndpoint, sqlClientLayer } from "../../engine/connection.ts"
import { HarnessError } from "../../engine/errors.ts"
import { prepareMaskingCheck, type MaskingCheck } from "../../engine/masking.ts"
import type { SourceQuery } from "../../engine/propagate.ts"
import { CliEnvironment } from "../cli-environment.ts"
import { CommandExit, ExitCode } from "../exit-codes.ts"
import { formatTable, logLine, printJson, printLine, style } from "../output.ts"

const target = Argument.String("target").pipe(
  Argument.withDescription("database whose schema the rules are checked against: a postgres:// URL or an environment name")
)
const rules = Flag.String("rules").pipe(
  Flag.withDescription("masking rules: a YAML file, or a shipped profile (baseline, gdpr_ccpa, hipaa)")
)
const json = Flag.Boolean("json").pipe(Flag.withDescription("print the coverage and problems as JSON on stdout"), Flag.withDefault(false))

type ColumnStatus = "masked" | "kept" | "uncovered" | "not-personal" | "generated"

interface CoverageColumn {
  readonly column: string
  readonly type: string
  readonly status: ColumnStatus
  readonly strategy?: string
  readonly origin?: string
  readonly reason?: string
  readonly followsForeignKey?: string
  readonly signal?: string
  readonly suggestion?: string
}

interface CoverageTable {
  readonly table: string
  /** Partitions, which follow this table's rules and are not listed. */
  readonly partitions: number
  readonly columns: ReadonlyArray<CoverageColumn>
}

/** One entry per column of every table that is not a partition, in catalog order. */
const coverageOf = (catalog: Catalog, check: MaskingCheck): ReadonlyArray<CoverageTable> => {
  const key = (table: string, column: string) => `${table}\u0000${column}`
  const reports = new Map(check.columns.map((c) => [key(c.table, c.column), c]))
  const reasons = new Map(check.rules.map((r) => [key(`${r.schema}.${r.table}`, r.column), r.options["reason"]]))
  const uncovered = new Map(check.uncovered.map((c) => [key(c.table, c.column), c]))
  return catalog.tables
    .filter((table) => table.partitionOf === null)
    .map((table) => {
      const name = `${table.schema}.${table.name}`
      const columns = table.columns.map((column): CoverageColumn => {
        const base = { column: column.name, type: column.type }
        if (column.generated !== null) return { ...base, status: "generated" }
        const report = reports.get(key(name, column.name))
        if (report !== undefined) {
          const reason = reasons.get(key(name, column.name))
          return {
            ...base,
            status: report.strategy === "keep" ? "kept" : "masked",
            strategy: report.strategy,
            origin: report.origin,
            ...(report.strategy === "keep" && typeof reason === "string" ? { reason } : {}),
            ...(report.followsForeignKey !== undefined ? { followsForeignKey: report.followsForeignKey } : {})
          }
        }
        const open = uncovered.get(key(name, column.name))
        if (open !== undefined) return { ...base, status: "uncovered", signal: open.signal, suggestion: open.suggestion }
        return { ...base, status: "not-personal" }
      })
      const partitions = catalog.tables.filter((t) => t.partitionOf?.schema === table.schema && t.partitionOf.name === table.name).length
      return { table: name, partitions, columns }
    })
}

const totalsOf = (tables: ReadonlyArray<CoverageTable>) => {
  const count = (status: ColumnStatus) => tables.reduce((n, t) => n + t.columns.filter((c) => c.status === status).length, 0)
  return { masked: count("masked"), kept: count("kept"), notPersonal: count("not-personal"), uncovered: count("uncovered"), generated: count("generated") }
}

/** What the fourth column of the coverage table says about a column. */
const detail = (column: CoverageColumn): string => {
  switch (column.status) {
    case "masked":
      return column.followsForeignKey === undefined ? column.origin ?? "" : `references a masked key (${column.followsForeignKey}); ${column.origin}`
    case "kept":
      return column.reason === undefined ? column.origin ?? "" : `${column.origin}: ${column.reason}`
    case "uncovered":
      return `looks personal by ${column.signal}; add e.g. ${column.suggestion}`
    case "generated":
      return "generated: the target computes it from the masked columns"
    case "not-personal":
      return "not personal: copied as it is"
  }
}

/** A failure to load the rules, as problem lines (its header line dropped when it has a list). */
const loadProblems = (message: string): ReadonlyArray<string> => {
  const lines = message.split("\n").filter((line) => line.trim() !== "")
  return lines.length > 1 && lines[0]!.endsWith(":") ? lines.slice(1).map((line) => line.replace(/^\s*- /, "")) : lines
}

const sampleQuery = (sql: SqlClient.SqlClient): SourceQuery => (text) =>
  sql.unsafe<Record<string, unknown>>(text).pipe(
    Effect.mapError((cause) => new HarnessError({ reason: "Connection", message: `sampling values failed: ${cause.message}`, cause }))
  )

const check = Command.make("check", { target, rules, json }, (flags) =>
  Effect.gen(function* () {
    const cli = yield* CliEnvironment
    const s = yield* style
    const endpoint = yield* resolveEndpoint(flags.target, cli.env)
    // Loaded only when checking masking: faker's locale data costs ~0.3 s of start-up.
    const { builtinPlugins } = yield* Effect.promise(() => import("../../plugins/index.ts"))
    const prepared = yield* Effect.result(
      prepareMaskingCheck({
        rules: flags.rules,
        privacyByDefault: true,
        builtins: builtinPlugins,
        key: undefined,
        locale: cli.env["DB_HARNESS_MASK_LOCALE"] ?? "en",
        home: homedir(),
        cwd: cli.cwd
      })
    )
    let report: { readonly rulesFiles: ReadonlyArray<string>; readonly profile: string | null; readonly tables: ReadonlyArray<CoverageTable>; readonly problems: ReadonlyArray<string> }
    if (prepared._tag === "Failure") {
      if (prepared.failure.reason !== "BadInput") return yield* prepared.failure
      report = { rulesFiles: [], profile: null, tables: [], problems: loadProblems(prepared.failure.message) }
    } else {
      const compile = prepared.success
      report = yield* Effect.gen(function* () {
        // db-harness's own records (schema db_harness) are never masked, so never reported as uncovered.
        const catalog = withoutInternalSchema(yield* readCatalog)
        const result = yield* compile(catalog, sampleQuery(yield* SqlClient.SqlClient))
        return { rulesFiles: result.rulesFiles, profile: result.profile, tables: coverageOf(catalog, result), problems: result.problems }
      }).pipe(Effect.provide(sqlClientLayer(endpoint, "db-harness rules check", 1)))
    }
    const totals = totalsOf(report.tables)
    const ok = report.problems.length === 0
    if (flags.json) {
      yield* printJson({ target: endpoint.display, ok, rulesFiles: report.rulesFiles, profile: report.profile, tables: report.tables, totals, problems: report.problems })
    } else {
      if (report.tables.length > 0) {
        yield* printLine(
          s.bold(`Masking coverage of ${endpoint.display}`) +
            ` with ${report.rulesFiles.map((file) => basename(file)).join(" <- ")}` +
            (report.profile === null ? "" : ` (profile ${report.profile})`)
        )
        const rows = report.tables.flatMap((table) =>
          table.columns.map((column, i) => [
            i === 0 ? table.table + (table.partitions > 0 ? ` (+${table.partitions} partitions)` : "") : "",
            column.column,
            column.status === "masked" || column.status === "kept" ? column.strategy ?? "" : column.status === "uncovered" ? "UNCOVERED" : "-",
            detail(column)
          ])
        )
        yield* printLine(formatTable(["table", "column", "strategy", "rule (file:line) / reason"], rows))
        yield* printLine(
          `${totals.masked} columns masked, ${totals.kept} kept by rule, ${totals.notPersonal} not personal` +
            (totals.generated > 0 ? `, ${totals.generated} generated` : "") +
            `, ${totals.uncovered} personal but uncovered` +
            (report.tables.some((t) => t.partitions > 0) ? "; partitions follow their parent's rules" : "")
        )
      }
      if (ok) yield* printLine(s.green("ok: a masked propagate with these rules would pass every masking check"))
      else {
        yield* printLine(s.red(`${report.problems.length} problem${report.problems.length === 1 ? "" : "s"}:`))
        for (const problem of report.problems) yield* printLine(`  - ${problem}`)
      }
    }
    if (!ok) {
      yield* logLine(s.dim("a propagate with these rules would stop before copying anything"))
      return yield* new CommandExit({ code: ExitCode.Error })
    }
  })
).pipe(
  Command.withDescription(
    "Run every masking check (rules and plugins load, a rule per column, strategy options, type, NOT NULL, length, " +
      "uniqueness, privacy by default) against TARGET's schema and print the coverage; copies nothing. Exit 1 on any problem."
  ),
  Command.withExamples([
    { command: "db-harness rules check --rules masking_rules.yaml staging", description: "check a project's rules against staging" },
    { command: "db-harness rules check --rules gdpr_ccpa dev --json", description: "the coverage as JSON" }
  ])
)

export const rulesCommand = Command.make("rules").pipe(
  Command.withDescription("Work with masking rule files"),
  Command.withSubcommands([check])
)
