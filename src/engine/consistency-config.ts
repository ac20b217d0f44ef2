/**
 * The consistency gate's config file (`db-harness consistency --config FILE`): logical foreign
 * keys (relations the application enforces but the schema does not declare), per-table row-count
 * tolerances, excluded tables, the statement timeout, the estimates fallback, the memory each
 * orphan check's join may take on TARGET and the smallest child checked by the parent's keys. YAML, decoded by
 * a Schema with unknown keys refused; every problem is reported as `file:line:column: path: what`
 * (yaml-locations.ts), all at once, before any connection is made. rules/examples/consistency.yaml
 * is a documented example.
 *
 * Table names are `schema.table` or a bare `table` (any schema); tolerance and exclude entries
 * are globs (`audit.*`, `events_*`), matched like `--exclude` of drift (glob.ts).
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import { readFile } from "node:fs/promises"
import { badInput, type HarnessError } from "./errors.ts"
import { locateInYaml, parseYaml, yamlPathText } from "./yaml-locations.ts"

const Fraction = Schema.Number.check(Schema.isFinite(), Schema.isGreaterThanOrEqualTo(0))
const ColumnList = Schema.Array(Schema.NonEmptyString).check(Schema.isMinLength(1))

const LogicalForeignKeyEntry = Schema.Struct({
  name: Schema.optional(Schema.NonEmptyString),
  table: Schema.NonEmptyString,
  columns: ColumnList,
  references: Schema.Struct({ table: Schema.NonEmptyString, columns: ColumnList }),
  match: Schema.optional(Schema.Literals(["simple", "full"]))
})

const ConfigFile = Schema.Struct({
  version: Schema.optional(Schema.Literal("1.0")),
  tolerance: Schema.optional(Fraction),
  statement_timeout_ms: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  estimates: Schema.optional(Schema.Boolean),
  // 2047 MB: PostgreSQL's ceiling for work_mem (INT_MAX kB), so a bad value fails here, before any connection.
  work_mem_mb: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0), Schema.isLessThanOrEqualTo(2047))),
  key_range_min_rows: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  exclude: Schema.optional(Schema.Array(Schema.NonEmptyString)),
  tolerances: Schema.optional(Schema.Array(Schema.Struct({ table: Schema.NonEmptyString, tolerance: Fraction }))),
  logical_foreign_keys: Schema.optional(Schema.Array(LogicalForeignKeyEntry))
})

/** A foreign key the schema does not declare, checked like a declared one. */
export interface LogicalForeignKey {
  readonly name?: string | undefined
  /** `schema.table` or a bare table name. */
  readonly table: string
  readonly columns: ReadonlyArray<string>
  readonly references: { readonly table: string; readonly columns: ReadonlyArray<string> }
  readonly match?: "simple" | "full" | undefined
  /** Where it was written (`file:line:column`), for messages. */
  readonly origin?: string | undefined
}

export interface ToleranceOverride {
  /** A table glob: `schema.table` or a table name in any schema. */
  readonly table: string
  readonly tolerance: number
  readonly origin?: string | undefined
}

/** What a config file says; every key is optional (flags and defaults fill in the rest). */
export interface ConsistencyConfig {
  readonly path: string
  readonly tolerance?: number
  readonly statementTimeoutMs?: number
  readonly estimates?: boolean
  /** `work_mem` of TARGET's sessions in MB; 0 keeps the server's own. */
  readonly workMemMb?: number
  /** Child tables estimated at fewer rows are checked by the anti-join alone, never by the parent's keys (key range, key list or the child index's gaps). */
  readonly keyRangeMinRows?: number
  readonly exclude: ReadonlyArray<string>
  readonly tolerances: ReadonlyArray<ToleranceOverride>
  readonly logicalForeignKeys: ReadonlyArray<LogicalForeignKey>
}

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

/** Read and validate a config file; fails with every problem, each as `file:line:column: ...`. */
export const loadConsistencyConfig = (path: string): Effect.Effect<ConsistencyConfig, HarnessError> =>
  Effect.gen(function* () {
    const text = yield* Effect.tryPromise({
      try: () => readFile(path, "utf8"),
      catch: (cause) => badInput(`cannot read the consistency config ${path}: ${cause instanceof Error ? cause.message : String(cause)}`, cause)
    })
    const { doc, lineCounter } = yield* parseYaml(text, path, " in the consistency config")
    const at = (issuePath: ReadonlyArray<PropertyKey>) => {
      const { line, column } = locateInYaml(doc, lineCounter, issuePath)
      return `${path}:${line}:${column}`
    }
    const raw: unknown = doc.toJS() ?? {}
    const decoded = Schema.decodeUnknownResult(ConfigFile)(raw, { errors: "all", onExcessProperty: "error" })
    if (decoded._tag === "Failure") {
      const lines = formatIssues(decoded.failure.issue).issues.map((issue) => {
        const issuePath = (issue.path ?? []).map((segment) => (typeof segment === "object" ? segment.key : segment))
        const where = issuePath.length === 0 ? "" : `${yamlPathText(issuePath)}: `
        const message = issue.message === "Expected no excess property" ? "unknown key" : issue.message.replace(/ \| undefined$/, "")
        return `${at(issuePath)}: ${where}${message}`
      })
      return yield* badInput(`invalid consistency config:\n${lines.join("\n")}`, decoded.failure)
    }
    const file = decoded.success
    const problems: Array<string> = []
    const logicalForeignKeys = (file.logical_foreign_keys ?? []).map((entry, index): LogicalForeignKey => {
      if (entry.columns.length !== entry.references.columns.length) {
        const p = ["logical_foreign_keys", index, "references", "columns"]
        problems.push(
          `${at(p)}: ${yamlPathText(p)}: ${entry.references.columns.length} column(s) referenced for ${entry.columns.length} column(s) in logical_foreign_keys[${index}].columns; they pair up by position`
        )
      }
      return {
        name: entry.name,
        table: entry.table,
        columns: entry.columns,
        references: entry.references,
        match: entry.match,
        origin: at(["logical_foreign_keys", index])
      }
    })
    const names = new Map<string, number>()
    for (const [index, key] of logicalForeignKeys.entries()) {
      if (key.name === undefined) continue
      const first = names.get(key.name)
      if (first !== undefined) {
        const p = ["logical_foreign_keys", index, "name"]
        problems.push(`${at(p)}: ${yamlPathText(p)}: "${key.name}" is already the name of logical_foreign_keys[${first}]`)
      } else names.set(key.name, index)
    }
    if (problems.length > 0) return yield* badInput(`invalid consistency config:\n${problems.join("\n")}`)
    return {
      path,
      ...(file.tolerance === undefined ? {} : { tolerance: file.tolerance }),
      ...(file.statement_timeout_ms === undefined ? {} : { statementTimeoutMs: file.statement_timeout_ms }),
      ...(file.estimates === undefined ? {} : { estimates: file.estimates }),
      ...(file.work_mem_mb === undefined ? {} : { workMemMb: file.work_mem_mb }),
      ...(file.key_range_min_rows === undefined ? {} : { keyRangeMinRows: file.key_range_min_rows }),
      exclude: file.exclude ?? [],
      tolerances: (file.tolerances ?? []).map((entry, index) => ({ ...entry, origin: at(["tolerances", index]) })),
      logicalForeignKeys
    }
  })
