/**
 * What a propagate run will do, decided before anything is written: which source tables are
 * copied into which target tables, with which columns, in which COPY format, with which stages,
 * and every reason the target cannot take the source's rows (a missing table, a missing column,
 * a column whose type differs). A plan with problems is refused as a whole, so a bad target is
 * never half written.
 */
import * as Effect from "effect/Effect"
import { hasBinaryTextCodec } from "./binary-values.ts"
import { copyableColumns, tableKey, quoteIdent, type Catalog, type Column, type Table } from "./catalog.ts"
import type { CopyFormat } from "./copy-codec.ts"
import { HarnessError } from "./errors.ts"
import { matchesTableGlob } from "./glob.ts"
import type { Stage, StageColumn, StageTable, TableStage } from "./stage.ts"

export interface TablePlan {
  /** `schema.table`, unquoted, for people. */
  readonly label: string
  readonly source: Table
  readonly target: Table
  /** Copied columns in COPY order (the source's non-generated columns). */
  readonly columns: ReadonlyArray<Column>
  readonly stageTable: StageTable
  readonly stages: ReadonlyArray<{ readonly name: string; readonly table: TableStage }>
  readonly format: CopyFormat
  /** Why the table is copied as text rather than binary, when it is. */
  readonly formatReason: string | undefined
  readonly estimatedRows: number
  /** `SELECT <columns> FROM ONLY <table>`: what is read; ranges add a ctid condition. */
  readonly sourceSelect: string
  readonly targetCopySql: string
  /** Enabled user triggers on the target table, switched off during the load and restored after. */
  readonly targetTriggers: ReadonlyArray<{ readonly name: string; readonly enabled: "origin" | "always" | "replica" }>
}

export interface PropagatePlan {
  readonly tables: ReadonlyArray<TablePlan>
  /** Source tables left out by --include/--exclude. */
  readonly skipped: ReadonlyArray<string>
}

export interface PlanOptions {
  readonly include: ReadonlyArray<string>
  readonly exclude: ReadonlyArray<string>
  readonly stages: ReadonlyArray<Stage>
  /** Whether a column a stage touches may stay in binary format (else the table goes as text). */
  readonly hasBinaryConverter: (column: StageColumn) => boolean
  /** A SELECT (of the copied columns, in order) to read a table with instead of the whole table, by label. */
  readonly sourceSelects?: ReadonlyMap<string, string>
  /** The rows each of those SELECTs is expected to return, by label (shown, not planned by). */
  readonly sourceEstimates?: ReadonlyMap<string, number>
}

const label = (table: { readonly schema: string; readonly name: string }) => `${table.schema}.${table.name}`

/** `character varying(80)` → `character varying`; `timestamp(3) with time zone` → `timestamp with time zone`. */
const withoutModifiers = (type: string) => type.replace(/\(\s*\d+(\s*,\s*-?\d+)?\s*\)/g, "").replace(/\s+/g, " ").trim()

const isBuiltin = (schema: string) => schema === "pg_catalog"

/**
 * Binary COPY embeds type OIDs inside array and composite values, and OIDs of user-defined types
 * differ between databases, so such columns can only travel in text format.
 */
const embedsUserTypeOid = (column: Column, catalog: Catalog): boolean => {
  if (column.isArray) return column.elementType === null || !isBuiltin(column.elementType.schema)
  if (isBuiltin(column.typeSchema)) return false
  if (catalog.enums.some((e) => e.schema === column.typeSchema && e.name === column.typeName)) return false
  const domain = catalog.domains.find((d) => d.schema === column.typeSchema && d.name === column.typeName)
  if (domain !== undefined) return !isBuiltin(domain.baseTypeName.schema) || domain.baseType.endsWith("]")
  // Composite types, extension types and user ranges: not known to be OID-free.
  return true
}

/** A catalog column as stages see it (base type of domains and arrays, without modifiers). */
export const stageColumn = (column: Column, catalog: Catalog): StageColumn => {
  const domain = catalog.domains.find((d) => d.schema === column.typeSchema && d.name === column.typeName)
  const baseType = column.isArray
    ? withoutModifiers(column.type.replace(/(\[\])+$/, ""))
    : domain !== undefined
      ? withoutModifiers(domain.baseType)
      : withoutModifiers(column.type)
  return {
    name: column.name,
    type: column.type,
    typeOid: column.typeOid,
    baseType,
    isArray: column.isArray,
    isEnum: catalog.enums.some((e) => e.schema === column.typeSchema && e.name === column.typeName),
    notNull: column.notNull
  }
}

const selected = (table: Table, options: PlanOptions) => {
  const names = [table, ...(table.partitionOf ? [table.partitionOf] : [])]
  const hit = (patterns: ReadonlyArray<string>) =>
    names.some((n) => patterns.some((p) => matchesTableGlob(p, n.schema, n.name)))
  return (options.include.length === 0 || hit(options.include)) && !hit(options.exclude)
}

export const planPropagation = (
  source: Catalog,
  target: Catalog,
  options: PlanOptions
): Effect.Effect<PropagatePlan, HarnessError> =>
  Effect.gen(function* () {
    const problems: Array<string> = []
    const tables: Array<TablePlan> = []
    const skipped: Array<string> = []
    const targetTables = new Map(target.tables.map((t) => [label(t), t]))
    for (const sourceTable of source.tables) {
      if (sourceTable.relkind !== "r") continue // partitioned parents hold no rows; their partitions do
      if (!selected(sourceTable, options)) {
        skipped.push(label(sourceTable))
        continue
      }
      const targetTable = targetTables.get(label(sourceTable))
      if (targetTable === undefined) {
        problems.push(`table ${label(sourceTable)} is missing in the target`)
        continue
      }
      if (targetTable.relkind !== "r") {
        problems.push(`table ${label(sourceTable)} is a partitioned table in the target but holds rows in the source`)
        continue
      }
      const columns = copyableColumns(sourceTable)
      const targetColumns = new Map(targetTable.columns.map((c) => [c.name, c]))
      for (const column of columns) {
        const other = targetColumns.get(column.name)
        if (other === undefined) {
          problems.push(`column ${label(sourceTable)}.${column.name} is missing in the target: its data would be lost`)
        } else if (other.generated !== null) {
          problems.push(`column ${label(sourceTable)}.${column.name} is generated in the target and cannot take the source's values`)
        } else if (other.type !== column.type) {
          problems.push(
            `column ${label(sourceTable)}.${column.name} is ${column.type} in the source but ${other.type} in the target`
          )
        }
      }
      for (const other of targetTable.columns) {
        if (other.notNull && other.default === null && other.identity === null && other.generated === null &&
          !columns.some((c) => c.name === other.name)) {
          problems.push(`column ${label(sourceTable)}.${other.name} exists only in the target, is NOT NULL and has no default`)
        }
      }
      const stageTable: StageTable = {
        schema: sourceTable.schema,
        name: sourceTable.name,
        columns: columns.map((c) => stageColumn(c, source))
      }
      const stages: Array<{ name: string; table: TableStage }> = []
      for (const stage of options.stages) {
        const table = stage.forTable(stageTable)
        if (table !== undefined) stages.push({ name: stage.name, table })
      }
      const touched = new Set(stages.flatMap((s) => s.table.columns))
      for (const name of touched) {
        if (!columns.some((c) => c.name === name)) {
          problems.push(`a stage uses column ${label(sourceTable)}.${name}, which is not copied`)
        }
      }
      const oidColumn = columns.find((c) => embedsUserTypeOid(c, source))
      // A column no stage sets only needs decoding from binary, not converting back; nor does one
      // that every stage setting it rewrites in binary itself (TableStage.binaryWrites).
      const writtenAsText = new Set(
        stages.flatMap((s) =>
          s.table.columns.filter((name) => !(s.table.readOnly ?? []).includes(name) && !(s.table.binaryWrites ?? []).includes(name))
        )
      )
      const unconvertible = stageTable.columns.find((c) =>
        touched.has(c.name) && (!hasBinaryTextCodec(c) || (writtenAsText.has(c.name) && !options.hasBinaryConverter(c)))
      )
      const format: CopyFormat = oidColumn === undefined && unconvertible === undefined ? "binary" : "text"
      const formatReason =
        oidColumn !== undefined
          ? `column ${oidColumn.name} (${oidColumn.type}) embeds type OIDs in binary form`
          : unconvertible !== undefined
            ? `a stage reads column ${unconvertible.name} (${unconvertible.type}), which is cheaper to convert as text`
            : undefined
      const columnList = columns.map((c) => quoteIdent(c.name)).join(", ")
      const sourceName = tableKey(sourceTable.schema, sourceTable.name)
      const targetName = tableKey(targetTable.schema, targetTable.name)
      tables.push({
        label: label(sourceTable),
        source: sourceTable,
        target: targetTable,
        columns,
        stageTable,
        stages,
        format,
        formatReason,
        estimatedRows: Math.max(0, options.sourceEstimates?.get(label(sourceTable)) ?? sourceTable.rowEstimate),
        sourceSelect: options.sourceSelects?.get(label(sourceTable)) ?? `SELECT ${columnList} FROM ONLY ${sourceName}`,
        // No FREEZE: it made a 2M-row load 1.2 s slower (6.1 -> 7.3 s, bench/propagate.bench.ts),
        // and a dev copy gains little from rows frozen up front.
        targetCopySql: `COPY ${targetName} (${columnList}) FROM STDIN (FORMAT ${format})`,
        targetTriggers: targetTable.triggers
          .filter((t) => t.enabled !== "disabled" && t.events.includes("INSERT"))
          .map((t) => ({ name: t.name, enabled: t.enabled as "origin" | "always" | "replica" }))
      })
    }
    if (problems.length > 0) {
      return yield* new HarnessError({
        reason: "SchemaMismatch",
        message: `the target cannot take the source's rows; nothing was written:\n  - ${problems.join("\n  - ")}`
      })
    }
    // Largest first, so the longest table starts early and the workers finish together. By the
    // table's own size, which a filtered read (a subset) scans whole too, so the order does not
    // hang on whether the filter estimated its rows.
    tables.sort((a, b) => b.source.rowEstimate - a.source.rowEstimate || a.label.localeCompare(b.label))
    return { tables, skipped }
  })
