/**
 * Subset rule files: which rows of production a smaller copy keeps. The format (documented in
 * README.md and rules/examples/subset.yaml) is the one teams already write (`strategy`,
 * `percentage.sample_percentage`, `date_range.column/days`, `critical_tables`,
 * `cascade_selection`, `max_cascade_depth`) plus per-table roots by WHERE clause, excluded
 * tables, virtual foreign keys, per-FK options (NULL an unselected parent, fan-out caps) and a
 * row limit.
 *
 * Three steps, each failing with every problem named by `file:line:column: key: reason` and
 * nothing written: `loadSubsetRules` (YAML syntax and shape), `resolveSubsetRules` (tables and
 * columns against the source's catalog), `checkSubsetRulesOnSource` (each WHERE clause and virtual key planned by
 * PostgreSQL itself, with EXPLAIN in the read-only snapshot transaction, so a typo is caught
 * before any COPY starts).
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import { createHash } from "node:crypto"
import { readFile } from "node:fs/promises"
import * as NodePath from "node:path"
import { domainsOf, findTable, isTemporalForeignKey, leavesOf, quoteIdent, tableKey, type Catalog, type Column, type Table } from "./catalog.ts"
import { didYouMean } from "./column-names.ts"
import { badInput, type HarnessError } from "./errors.ts"
import { locateInYaml, parseYaml, yamlPathText } from "./yaml-locations.ts"

// ---------------------------------------------------------------------------------------------
// The file format

const Fraction = Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1, exclusiveMinimum: true }))
const Count = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }))
const Strict = { onExcessProperty: "error" } as const

const TableRule = Schema.Struct({
  where: Schema.optional(Schema.NonEmptyString),
  date_column: Schema.optional(Schema.NonEmptyString),
  sample_percentage: Schema.optional(Fraction)
})

const ForeignKeyRef = Schema.Struct({ table: Schema.NonEmptyString, columns: Schema.NonEmptyArray(Schema.NonEmptyString) })

const VirtualForeignKey = Schema.Struct({
  table: Schema.NonEmptyString,
  columns: Schema.NonEmptyArray(Schema.NonEmptyString),
  references: ForeignKeyRef,
  null_unselected_parent: Schema.optional(Schema.Boolean),
  max_children_per_parent: Schema.optional(Count)
})

const ForeignKeyOption = Schema.Struct({
  table: Schema.NonEmptyString,
  columns: Schema.NonEmptyArray(Schema.NonEmptyString),
  null_unselected_parent: Schema.optional(Schema.Boolean),
  max_children_per_parent: Schema.optional(Count)
})

const SubsetFile = Schema.Struct({
  version: Schema.Literal("1.0"),
  strategy: Schema.Literals(["percentage", "date_range", "hybrid"]),
  seed: Schema.optional(Schema.Union([Schema.Int, Schema.NonEmptyString])),
  percentage: Schema.optional(Schema.Struct({ sample_percentage: Fraction })),
  date_range: Schema.optional(
    Schema.Struct({
      column: Schema.NonEmptyString,
      days: Count,
      until: Schema.optional(Schema.NonEmptyString)
    })
  ),
  critical_tables: Schema.optional(Schema.Array(Schema.NonEmptyString)),
  excluded_tables: Schema.optional(Schema.Array(Schema.NonEmptyString)),
  roots: Schema.optional(Schema.Array(Schema.NonEmptyString)),
  cascade_selection: Schema.optional(Schema.Boolean),
  max_cascade_depth: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 20 }))),
  null_unselected_parents: Schema.optional(Schema.Boolean),
  max_children_per_parent: Schema.optional(Count),
  row_limit: Schema.optional(Count),
  tables: Schema.optional(Schema.Record(Schema.String, TableRule)),
  virtual_foreign_keys: Schema.optional(Schema.Array(VirtualForeignKey)),
  foreign_keys: Schema.optional(Schema.Array(ForeignKeyOption))
})
type SubsetFile = typeof SubsetFile.Type

/** The file as read: content plus where each key is, for messages. */
export interface SubsetRuleFile {
  readonly path: string
  /** SHA-256 (hex) of the file's bytes. */
  readonly digest: string
  readonly content: SubsetFile
  /** `file:line:column: key` of a path of the file, e.g. `["tables", "rental", "where"]`. */
  readonly at: (path: ReadonlyArray<PropertyKey>) => string
}

const readText = (path: string) =>
  Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (cause) => badInput(`cannot read subset rules ${path}: ${cause instanceof Error ? cause.message : String(cause)}`, cause)
  })

/**
 * An ISO 8601 date or timestamp that names a real day (`2024-02-30` does not), with an optional
 * time and UTC offset: the forms PostgreSQL's `timestamptz` input reads the same in any setting.
 */
const isIsoInstant = (text: string): boolean => {
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$/.exec(text)
  if (match === null) return false
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])]
  const date = new Date(Date.UTC(year, month - 1, day))
  const inDay = match[4] === undefined || (Number(match[4]) < 24 && Number(match[5]) < 60 && Number(match[6] ?? 0) < 60)
  return inDay && date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day
}

/** Read and shape-check a subset rule file (`path` relative to `cwd`). */
export const loadSubsetRules = (file: string, cwd: string): Effect.Effect<SubsetRuleFile, HarnessError> =>
  Effect.gen(function* () {
    const path = NodePath.resolve(cwd, file)
    const text = yield* readText(path)
    const { doc, lineCounter } = yield* parseYaml(text, path, " in the subset rules")
    const at = (issuePath: ReadonlyArray<PropertyKey>) => {
      const { line, column } = locateInYaml(doc, lineCounter, issuePath)
      return `${path}:${line}:${column}: ${issuePath.length === 0 ? "(file)" : yamlPathText(issuePath)}`
    }
    const decoded = Schema.decodeUnknownResult(SubsetFile)(doc.toJS(), { errors: "all", ...Strict })
    if (decoded._tag === "Failure") {
      const issues = SchemaIssue.makeFormatterStandardSchemaV1()(decoded.failure.issue).issues
      const lines = issues.map((issue) => {
        const issuePath = (issue.path ?? []).map((segment) => (typeof segment === "object" ? segment.key : segment))
        const message = issue.message === "Expected no excess property" ? "unknown key" : issue.message.replace(/ \| undefined$/, "")
        return `${at(issuePath)}: ${message}`
      })
      return yield* Effect.fail(badInput(`invalid subset rules:\n${lines.join("\n")}`, decoded.failure))
    }
    const content = decoded.success
    const problems: Array<string> = []
    const needs = (block: "percentage" | "date_range") => {
      if (content[block] === undefined) problems.push(`${at(["strategy"])}: strategy "${content.strategy}" needs a ${block} block`)
    }
    if (content.strategy !== "date_range") needs("percentage")
    if (content.strategy !== "percentage") needs("date_range")
    const until = content.date_range?.until
    if (until !== undefined && !isIsoInstant(until))
      problems.push(`${at(["date_range", "until"])}: not a date or timestamp: "${until}" (write an ISO 8601 date, 2026-01-31, or timestamp, 2026-01-31T12:00:00Z)`)
    if (problems.length > 0) return yield* Effect.fail(badInput(`invalid subset rules:\n${problems.join("\n")}`))
    return { path, digest: createHash("sha256").update(text).digest("hex"), content, at }
  })

// ---------------------------------------------------------------------------------------------
// The resolved model the planner works on

/** Per-table root rules, by leaf table. */
export interface TableRootRule {
  readonly where: string | undefined
  readonly whereAt: string | undefined
  readonly dateColumn: string | undefined
  readonly dateColumnAt: string | undefined
  readonly samplePercentage: number | undefined
}

/** A foreign key the schema lacks, declared in the rules; the planner treats it like a real one. */
export interface VirtualForeignKey {
  readonly table: Table
  readonly columns: ReadonlyArray<string>
  readonly references: { readonly table: Table; readonly columns: ReadonlyArray<string> }
  readonly name: string
  /** `file:line:column: virtual_foreign_keys[i]`, for messages. */
  readonly at: string
}

export interface ForeignKeyRuleOptions {
  readonly nullUnselectedParent: boolean | undefined
  readonly maxChildrenPerParent: number | undefined
}

export interface SubsetRules {
  readonly file: string
  readonly digest: string
  readonly strategy: "percentage" | "date_range" | "hybrid"
  /** The sampling hash's key (the seed of hashint8extended or hashtextextended), a signed 53-bit integer. */
  readonly seed: number
  readonly samplePercentage: number | undefined
  readonly dateRange: { readonly column: string; readonly days: number; readonly until: string | undefined } | undefined
  /** Leaf tables (partitions stand for their parent's name). */
  readonly critical: ReadonlySet<Table>
  readonly excluded: ReadonlySet<Table>
  /** Tables sampled by the strategy; `undefined`: every table that is not critical or excluded. */
  readonly roots: ReadonlySet<Table> | undefined
  readonly tableRules: ReadonlyMap<Table, TableRootRule>
  readonly cascade: boolean
  readonly maxCascadeDepth: number
  readonly nullUnselectedParents: boolean
  readonly maxChildrenPerParent: number | undefined
  readonly rowLimit: number | undefined
  readonly virtualForeignKeys: ReadonlyArray<VirtualForeignKey>
  /** Options of one foreign key, by `foreignKeyId(table, columns)`. */
  readonly foreignKeyOptions: ReadonlyMap<string, ForeignKeyRuleOptions>
}

/** How rules name one foreign key: its table and its columns, in order. */
export const foreignKeyId = (table: Table, columns: ReadonlyArray<string>) => `${tableKey(table.schema, table.name)}(${columns.join(",")})`

const DEFAULT_DEPTH = 3

/** A string seed becomes a 53-bit integer (sha-256), so any word can be a seed. */
const seedOf = (seed: number | string | undefined): number => {
  if (seed === undefined) return 0
  if (typeof seed === "number") return seed
  return Number(BigInt.asIntN(53, BigInt(`0x${createHash("sha256").update(seed).digest("hex").slice(0, 16)}`)))
}

const qualified = (table: { readonly schema: string; readonly name: string }) => `${table.schema}.${table.name}`

/**
 * Why the copy cannot write NULL into a column in place of its value (to drop a reference whose
 * parent is not copied), or undefined when it can: NOT NULL, a NOT NULL domain, or generated
 * (the target computes it; the copy does not write it).
 */
export const whyNotNullable = (catalog: Catalog, table: Table, name: string): string | undefined => {
  const column = table.columns.find((col) => col.name === name)
  if (column === undefined) return undefined
  if (column.notNull) return "is NOT NULL"
  if (column.generated !== null) return "is a generated column"
  const domain = domainsOf(catalog, column).find((d) => d.notNull)
  return domain === undefined ? undefined : `is of domain ${domain.schema}.${domain.name}, which is NOT NULL`
}

const DATE_TYPES = new Set(["date", "timestamp", "timestamptz"])
/** A date or timestamp column, or one of a domain over such a type. */
const isDateLike = (catalog: Catalog, column: Column): boolean => {
  if (column.typeSchema === "pg_catalog") return DATE_TYPES.has(column.typeName)
  const base = domainsOf(catalog, column).at(-1)?.baseTypeName
  return base !== undefined && base.schema === "pg_catalog" && DATE_TYPES.has(base.name)
}

/** Check a subset rule file against the source's catalog: every table and column it names exists. */
export const resolveSubsetRules = (file: SubsetRuleFile, catalog: Catalog): Effect.Effect<SubsetRules, HarnessError> => {
  const problems: Array<string> = []
  const c = file.content
  const tableAt = (written: string, path: ReadonlyArray<PropertyKey>): Table | undefined => {
    const dot = written.indexOf(".")
    const schema = dot === -1 ? null : written.slice(0, dot)
    const name = dot === -1 ? written : written.slice(dot + 1)
    const candidates = catalog.tables.filter((t) => t.name === name && (schema === null || t.schema === schema))
    if (candidates.length === 1) return candidates[0]
    if (candidates.length === 0) {
      const names = schema === null ? catalog.tables.map((t) => t.name) : catalog.tables.map(qualified)
      problems.push(`${file.at(path)}: table "${written}" does not exist${didYouMean(written, names)}`)
    } else {
      problems.push(`${file.at(path)}: table "${written}" is in several schemas (${candidates.map((t) => t.schema).join(", ")}); write it schema-qualified`)
    }
    return undefined
  }
  const columnsAt = (table: Table, columns: ReadonlyArray<string>, path: ReadonlyArray<PropertyKey>): boolean => {
    let ok = true
    columns.forEach((column, i) => {
      if (!table.columns.some((col) => col.name === column)) {
        ok = false
        problems.push(
          `${file.at([...path, i])}: column "${column}" does not exist in ${qualified(table)}${didYouMean(column, table.columns.map((col) => col.name))}`
        )
      }
    })
    return ok
  }
  const leafSet = (key: string): Set<Table> => {
    const set = new Set<Table>()
    const list = (c as Record<string, unknown>)[key] as ReadonlyArray<string> | undefined
    ;(list ?? []).forEach((written, i) => {
      const table = tableAt(written, [key, i])
      if (table !== undefined) for (const leaf of leavesOf(catalog, table)) set.add(leaf)
    })
    return set
  }
  const critical = leafSet("critical_tables")
  const excluded = leafSet("excluded_tables")
  const roots = c.roots === undefined ? undefined : leafSet("roots")
  for (const table of critical) {
    if (excluded.has(table)) problems.push(`${file.at(["excluded_tables"])}: ${qualified(table)} is both critical and excluded`)
  }

  const tableRules = new Map<Table, TableRootRule>()
  for (const [written, rule] of Object.entries(c.tables ?? {})) {
    const table = tableAt(written, ["tables", written])
    if (table === undefined) continue
    if (rule.date_column !== undefined && !table.columns.some((col) => col.name === rule.date_column))
      problems.push(
        `${file.at(["tables", written, "date_column"])}: column "${rule.date_column}" does not exist in ${qualified(table)}${didYouMean(rule.date_column, table.columns.map((col) => col.name))}`
      )
    if (rule.date_column !== undefined && c.date_range === undefined)
      problems.push(`${file.at(["tables", written, "date_column"])}: date_column needs a date_range block (for days)`)
    for (const leaf of leavesOf(catalog, table)) {
      tableRules.set(leaf, {
        where: rule.where,
        whereAt: rule.where === undefined ? undefined : file.at(["tables", written, "where"]),
        dateColumn: rule.date_column,
        dateColumnAt: rule.date_column === undefined ? undefined : file.at(["tables", written, "date_column"]),
        samplePercentage: rule.sample_percentage
      })
    }
  }
  const dateRange = c.date_range
  if (dateRange !== undefined) {
    const hasColumn = (table: Table) => table.columns.some((col) => col.name === (tableRules.get(table)?.dateColumn ?? dateRange.column))
    const leaves = catalog.tables.filter((t) => t.relkind === "r")
    if (!leaves.some(hasColumn))
      problems.push(`${file.at(["date_range", "column"])}: no table has a column "${dateRange.column}"`)
    // The range compares with timestamptz: a root whose date column holds something else is refused, not sampled otherwise.
    if (c.strategy !== "percentage") {
      for (const table of leaves) {
        const rule = tableRules.get(table)
        const name = rule?.dateColumn ?? dateRange.column
        const column = table.columns.find((col) => col.name === name)
        const isRoot = !critical.has(table) && !excluded.has(table) && (roots === undefined || roots.has(table)) && rule?.where === undefined
        if (column === undefined || !isRoot || isDateLike(catalog, column)) continue
        problems.push(`${rule?.dateColumnAt ?? file.at(["date_range", "column"])}: ${qualified(table)}.${name} is ${column.type}, not a date or timestamp (give ${qualified(table)} a date_column or a where rule under tables)`)
      }
    }
    if (c.strategy === "date_range" && roots !== undefined) {
      for (const table of roots) {
        if (!hasColumn(table) && tableRules.get(table)?.where === undefined)
          problems.push(`${file.at(["roots"])}: root table ${qualified(table)} has no column "${dateRange.column}" (set tables.${table.name}.date_column)`)
      }
    }
  }

  const refuseNulling = (table: Table, columns: ReadonlyArray<string>, path: ReadonlyArray<PropertyKey>) => {
    for (const name of columns) {
      const why = whyNotNullable(catalog, table, name)
      if (why !== undefined) problems.push(`${file.at(path)}: ${qualified(table)}.${name} ${why}, so an unselected parent cannot be set to NULL`)
    }
  }
  const virtualForeignKeys: Array<VirtualForeignKey> = []
  const foreignKeyOptions = new Map<string, ForeignKeyRuleOptions>()
  ;(c.virtual_foreign_keys ?? []).forEach((v, i) => {
    const path = ["virtual_foreign_keys", i]
    const table = tableAt(v.table, [...path, "table"])
    const parent = tableAt(v.references.table, [...path, "references", "table"])
    if (table === undefined || parent === undefined) return
    const ok = columnsAt(table, v.columns, [...path, "columns"]) && columnsAt(parent, v.references.columns, [...path, "references", "columns"])
    if (!ok) return
    if (v.columns.length !== v.references.columns.length) {
      problems.push(`${file.at([...path, "references", "columns"])}: ${v.columns.length} column(s) reference ${v.references.columns.length}`)
      return
    }
    const parentKeys = [parent.primaryKey, ...parent.uniqueConstraints].filter((k) => k !== null)
    if (!parentKeys.some((k) => k.columns.length === v.references.columns.length && k.columns.every((col) => v.references.columns.includes(col))))
      problems.push(`${file.at([...path, "references", "columns"])}: (${v.references.columns.join(", ")}) is not a primary or unique key of ${qualified(parent)}`)
    virtualForeignKeys.push({ table, columns: v.columns, references: { table: parent, columns: v.references.columns }, name: `virtual_foreign_keys[${i}]`, at: file.at(path) })
    if (v.null_unselected_parent === true) refuseNulling(table, v.columns, [...path, "null_unselected_parent"])
    for (const leaf of leavesOf(catalog, table))
      foreignKeyOptions.set(foreignKeyId(leaf, v.columns), { nullUnselectedParent: v.null_unselected_parent, maxChildrenPerParent: v.max_children_per_parent })
  })
  ;(c.foreign_keys ?? []).forEach((f, i) => {
    const path = ["foreign_keys", i]
    const table = tableAt(f.table, [...path, "table"])
    if (table === undefined || !columnsAt(table, f.columns, [...path, "columns"])) return
    const real = [table, ...leavesOf(catalog, table)].flatMap((t) => t.foreignKeys).find((fk) => fk.columns.join(",") === f.columns.join(","))
    if (real === undefined) {
      const temporal = table.foreignKeys.find((fk) => isTemporalForeignKey(fk) && fk.columns.slice(0, -1).join(",") === f.columns.join(","))
      problems.push(
        temporal === undefined
          ? `${file.at([...path, "columns"])}: ${qualified(table)} has no foreign key on (${f.columns.join(", ")}) (declare it under virtual_foreign_keys)`
          : `${file.at([...path, "columns"])}: ${qualified(table)}'s key ${temporal.name} is temporal: name all its columns, PERIOD column last: [${temporal.columns.join(", ")}]`
      )
      return
    }
    if (f.null_unselected_parent === true) {
      // A temporal key's value holds only where the copied periods cover its range: it is followed, every period of its parent with it.
      if (isTemporalForeignKey(real))
        problems.push(`${file.at([...path, "null_unselected_parent"])}: ${qualified(table)}'s key ${real.name} is temporal: it is followed to every period of its parent, never set to NULL`)
      else refuseNulling(table, f.columns, [...path, "null_unselected_parent"])
    }
    for (const leaf of leavesOf(catalog, table))
      foreignKeyOptions.set(foreignKeyId(leaf, f.columns), { nullUnselectedParent: f.null_unselected_parent, maxChildrenPerParent: f.max_children_per_parent })
  })

  // A table whose rows are not copied can only be referenced by columns that can be NULL.
  // Keys as declared: a partitioned table's (real or virtual) once, not its partitions' clones.
  for (const child of catalog.tables) {
    if (leavesOf(catalog, child).every((leaf) => excluded.has(leaf))) continue
    const keys = [
      ...child.foreignKeys
        .filter((fk) => !fk.inherited)
        .map((fk) => ({ columns: fk.columns, parent: findTable(catalog, fk.references.schema, fk.references.table), name: fk.name })),
      ...virtualForeignKeys.filter((v) => v.table === child).map((v) => ({ columns: v.columns, parent: v.references.table as Table | undefined, name: v.name }))
    ]
    for (const key of keys) {
      if (key.parent === undefined || !leavesOf(catalog, key.parent).some((leaf) => excluded.has(leaf))) continue
      // A key into a partitioned table is NULLed or followed as one: all its partitions go, or none.
      const kept = leavesOf(catalog, key.parent).filter((leaf) => !excluded.has(leaf))
      if (kept.length > 0) {
        problems.push(
          `${file.at(["excluded_tables"])}: ${qualified(child)} (${key.name}) references ${qualified(key.parent)}, of which some partitions are excluded and ${kept.map(qualified).join(", ")} not; exclude all of ${qualified(key.parent)} or none of it`
        )
        continue
      }
      const blocked = key.columns.filter((name) => whyNotNullable(catalog, child, name) !== undefined)
      const reasons = [...new Set(blocked.map((name) => whyNotNullable(catalog, child, name)))]
      if (blocked.length > 0)
        problems.push(
          `${file.at(["excluded_tables"])}: ${qualified(key.parent)} is excluded but ${qualified(child)}.${blocked.join(", ")} (${key.name}) references it and ${reasons.join("; ")}; exclude ${qualified(child)} too, or keep ${qualified(key.parent)}`
        )
    }
  }

  if (problems.length > 0) return Effect.fail(badInput(`invalid subset rules (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.join("\n")}`))
  return Effect.succeed({
    file: file.path,
    digest: file.digest,
    strategy: c.strategy,
    seed: seedOf(c.seed),
    samplePercentage: c.percentage?.sample_percentage,
    dateRange: dateRange === undefined ? undefined : { column: dateRange.column, days: dateRange.days, until: dateRange.until },
    critical,
    excluded,
    roots,
    tableRules,
    cascade: c.cascade_selection ?? false,
    maxCascadeDepth: c.max_cascade_depth ?? DEFAULT_DEPTH,
    nullUnselectedParents: c.null_unselected_parents ?? false,
    maxChildrenPerParent: c.max_children_per_parent,
    rowLimit: c.row_limit,
    virtualForeignKeys,
    foreignKeyOptions
  })
}

/** PostgreSQL's message when `explain` of `sql` fails, else undefined. */
export const refusalOf = (explain: (sql: string) => Effect.Effect<unknown, HarnessError>, sql: string): Effect.Effect<string | undefined> =>
  Effect.flip(explain(sql)).pipe(
    Effect.map((error) => error.message.replace(/^source: /, "")),
    Effect.orElseSucceed(() => undefined)
  )

/**
 * Ask PostgreSQL to plan (EXPLAIN, never run) what the rules write into the SELECTs, on a
 * read-only connection: each WHERE clause on its table, under an alias as the planner places it
 * (so its columns are named unqualified; a table-qualified name would not resolve there), and
 * each virtual key's equality of child and parent columns. A syntax error, an unknown column or
 * a type error is reported with the rule's file, line and key.
 */
export const checkSubsetRulesOnSource = (
  rules: SubsetRules,
  explain: (sql: string) => Effect.Effect<unknown, HarnessError>
): Effect.Effect<void, HarnessError> =>
  Effect.gen(function* () {
    const problems: Array<string> = []
    const refusal = (sql: string) => refusalOf(explain, sql)
    const seen = new Set<string>()
    for (const [table, rule] of rules.tableRules) {
      if (rule.where === undefined || seen.has(rule.whereAt!)) continue
      seen.add(rule.whereAt!)
      const failed = yield* refusal(`EXPLAIN SELECT 1 FROM ONLY ${tableKey(table.schema, table.name)} AS db_harness_row WHERE (${rule.where})`)
      if (failed !== undefined)
        problems.push(
          `${rule.whereAt}: PostgreSQL cannot use this WHERE clause on ${qualified(table)}: ${failed}${/FROM-clause entry/.test(failed) ? " (name the table's columns unqualified: the clause is placed under an alias)" : ""}`
        )
    }
    for (const key of rules.virtualForeignKeys) {
      const equal = key.columns.map((column, i) => `c.${quoteIdent(column)} = p.${quoteIdent(key.references.columns[i]!)}`).join(" AND ")
      const failed = yield* refusal(
        `EXPLAIN SELECT 1 FROM ONLY ${tableKey(key.table.schema, key.table.name)} c JOIN ONLY ${tableKey(key.references.table.schema, key.references.table.name)} p ON ${equal}`
      )
      if (failed !== undefined) problems.push(`${key.at}: PostgreSQL cannot compare ${qualified(key.table)} (${key.columns.join(", ")}) with ${qualified(key.references.table)} (${key.references.columns.join(", ")}): ${failed}`)
    }
    if (problems.length > 0) return yield* Effect.fail(badInput(`invalid subset rules:\n${problems.join("\n")}`))
  })
