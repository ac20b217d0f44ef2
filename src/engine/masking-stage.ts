/**
 * Masking as a stage of the one streaming pass. From the resolved column rules it compiles, once
 * per column, a plain synchronous function (the strategy plugin's `compile`), checks before any
 * row moves that every strategy can write valid values into its column (type, NOT NULL, length,
 * uniqueness on key columns), gives every foreign-key column the mapping of the key it references
 * (so joins on masked keys still hold), and then masks rows batch by batch: NULL stays NULL,
 * arrays are masked element by element, untouched columns are never decoded.
 */
import * as Effect from "effect/Effect"
import type { Catalog, Column, Table } from "./catalog.ts"
import { badInput, type HarnessError } from "./errors.ts"
import type { ColumnRule } from "./masking-rules.ts"
import { mapArrayLiteral } from "./mask-kit.ts"
import type { ProofRecorder } from "./masking-proof.ts"
import type { BinaryMask, MaskColumn, MaskContext, MaskStrategy } from "./plugin.ts"
import { instantiate, type PluginRegistry } from "./plugin-host.ts"
import { stageColumn } from "./propagate-plan.ts"
import { REWRITE_CHANGED, REWRITE_UNCHANGED, type Stage } from "./stage.ts"

/** What the evidence file says about one masked column: never a value. */
export interface MaskedColumnReport {
  readonly table: string
  readonly column: string
  readonly strategy: string
  readonly origin: string
  /** Set when the rule was given to this column because it references a masked key. */
  readonly followsForeignKey?: string
}

export interface MaskingPlan {
  readonly stage: Stage
  readonly columns: ReadonlyArray<MaskedColumnReport>
}

const qualified = (schema: string, name: string) => `${schema}.${name}`

/** `character varying(80)` → 80, `character(2)[]` → 2; null when unbounded. */
const maxLengthOf = (type: string): number | null => {
  const match = /^(?:character varying|character|varchar|char|bit varying|bit)\((\d+)\)/.exec(type)
  return match ? Number(match[1]) : null
}

/** Columns that belong to a primary key, a unique constraint or a unique index of `table`. */
const uniqueColumns = (table: Table): ReadonlySet<string> => {
  const names = new Set<string>()
  for (const key of [...(table.primaryKey ? [table.primaryKey] : []), ...table.uniqueConstraints]) {
    for (const column of key.columns) names.add(column)
  }
  for (const index of table.indexes) if (index.unique) for (const key of index.keys) names.add(key)
  return names
}

const maskColumn = (catalog: Catalog, table: Table, column: Column, unique: boolean): MaskColumn => {
  const domain = catalog.domains.find((d) => d.schema === column.typeSchema && d.name === column.typeName)
  return {
    ...stageColumn(column, catalog),
    table: qualified(table.schema, table.name),
    maxLength: maxLengthOf(column.isArray ? column.type.replace(/(\[\])+$/, "") : domain?.baseType ?? column.type),
    unique
  }
}

/**
 * Build the masking stage. Every problem (an option the strategy refuses, a strategy that cannot
 * write the column's type, NULL into NOT NULL, a non-unique strategy on a key column, two rules
 * for one foreign key) is collected, and the whole set is reported at once: nothing is copied
 * when rules are bad.
 */
export const planMasking = (
  catalog: Catalog,
  rules: ReadonlyArray<ColumnRule>,
  registry: PluginRegistry,
  context: MaskContext,
  proof?: ProofRecorder
): Effect.Effect<MaskingPlan, HarnessError> =>
  Effect.flatMap(planMaskingCollecting(catalog, rules, registry, context, proof), ({ problems, ...plan }) =>
    problems.length > 0
      ? Effect.fail(badInput(`masking rules cannot be applied; nothing was written:\n  - ${problems.join("\n  - ")}`))
      : Effect.succeed(plan)
  )

/** `planMasking` for `rules check`: the plan and every problem, without failing. */
export const planMaskingCollecting = (
  catalog: Catalog,
  rules: ReadonlyArray<ColumnRule>,
  registry: PluginRegistry,
  context: MaskContext,
  /** Samples keyed digests of the source values for the masking proof (masking-proof.ts). */
  proof?: ProofRecorder
): Effect.Effect<MaskingPlan & { readonly problems: ReadonlyArray<string> }> =>
  Effect.gen(function* () {
    const problems: Array<string> = []
    const tables = new Map(catalog.tables.map((t) => [qualified(t.schema, t.name), t]))
    const strategies = new Map<string, MaskStrategy>()
    const strategyFor = (rule: ColumnRule) =>
      Effect.gen(function* () {
        const key = `${rule.strategy}\u0000${JSON.stringify(rule.options)}`
        const cached = strategies.get(key)
        if (cached !== undefined) return cached
        const plugin = registry.get(rule.strategy)
        if (plugin === undefined) return yield* badInput(`${rule.origin}: unknown masking strategy "${rule.strategy}"`)
        const strategy = yield* instantiate(plugin, "mask", rule.options, context, rule.origin)
        strategies.set(key, strategy)
        return strategy
      })

    // Rules by table and column; "keep" means: explicitly not personal, leave as is.
    const byColumn = new Map<string, { rule: ColumnRule; followsForeignKey?: string }>()
    for (const rule of rules) byColumn.set(`${qualified(rule.schema, rule.table)}\u0000${rule.column}`, { rule })

    // A masked key's mapping goes to every column that references it, so joins keep working;
    // repeated until nothing changes, so chains of keys (a -> b -> c) carry it all the way.
    for (let changed = true; changed; ) {
      changed = false
      for (const table of catalog.tables) {
        for (const fk of table.foreignKeys) {
          fk.columns.forEach((column, i) => {
            const parentColumn = fk.references.columns[i]!
            const parent = byColumn.get(`${qualified(fk.references.schema, fk.references.table)}\u0000${parentColumn}`)
            if (parent === undefined || parent.rule.strategy === "keep") return
            const childKey = `${qualified(table.schema, table.name)}\u0000${column}`
            const child = byColumn.get(childKey)
            if (child?.followsForeignKey !== undefined) return
            const via = `${qualified(table.schema, table.name)}.${column} -> ${qualified(fk.references.schema, fk.references.table)}.${parentColumn}`
            if (child !== undefined && child.rule.explicit === true &&
              (child.rule.strategy !== parent.rule.strategy || JSON.stringify(child.rule.options) !== JSON.stringify(parent.rule.options))) {
              problems.push(`${child.rule.origin}: ${via} references a masked key, so it is masked like that key (${parent.rule.strategy}); remove this override`)
              byColumn.set(childKey, { ...child, followsForeignKey: via })
              return
            }
            byColumn.set(childKey, {
              rule: { ...parent.rule, schema: table.schema, table: table.name, column },
              followsForeignKey: via
            })
            changed = true
          })
        }
      }
    }

    /** Per table and column: the text masking function, and the binary one when the strategy has it. */
    const compiled = new Map<string, Map<string, CompiledColumn>>()
    const reports: Array<MaskedColumnReport> = []
    for (const entry of byColumn.values()) {
      const { rule } = entry
      const tableName = qualified(rule.schema, rule.table)
      const table = tables.get(tableName)
      const column = table?.columns.find((c) => c.name === rule.column)
      if (table === undefined || column === undefined) {
        problems.push(`${rule.origin}: no column ${tableName}.${rule.column}`)
        continue
      }
      reports.push({
        table: tableName,
        column: rule.column,
        strategy: rule.strategy,
        origin: rule.origin,
        ...(entry.followsForeignKey ? { followsForeignKey: entry.followsForeignKey } : {})
      })
      if (rule.strategy === "keep") continue
      const result = yield* Effect.result(strategyFor(rule))
      if (result._tag === "Failure") {
        problems.push(result.failure.message)
        continue
      }
      const strategy = result.success
      // A column that references a key is masked as that key is (which is unique).
      const target = maskColumn(catalog, table, column, uniqueColumns(table).has(column.name) || entry.followsForeignKey !== undefined)
      const where = `${rule.origin}: ${tableName}.${column.name} (${column.type})`
      const refusal = strategy.check?.(target)
      if (refusal !== undefined) problems.push(`${where}: strategy ${rule.strategy} cannot mask it: ${refusal}`)
      if (column.notNull && strategy.mayReturnNull) problems.push(`${where} is NOT NULL, but strategy ${rule.strategy} can return NULL`)
      if (target.unique && !strategy.unique) {
        problems.push(`${where} is part of a primary key or unique constraint, but strategy ${rule.strategy} does not guarantee distinct outputs`)
      }
      if (refusal !== undefined) continue
      const mask = strategy.compile(target)
      const binary = column.isArray ? undefined : strategy.compileBinary?.(target)
      const perTable = compiled.get(tableName) ?? new Map<string, CompiledColumn>()
      perTable.set(column.name, { text: column.isArray ? maskArray(mask) : mask, binary })
      compiled.set(tableName, perTable)
    }
    reports.sort((a, b) => a.table.localeCompare(b.table) || a.column.localeCompare(b.column))

    const stage: Stage = {
      name: "mask",
      forTable: (table) => {
        const perTable = compiled.get(qualified(table.schema, table.name))
        if (perTable === undefined) return undefined
        const indexes: Array<number> = []
        const functions: Array<(value: string) => string | null> = []
        const binaryFunctions: Array<BinaryMask | undefined> = []
        for (const [name, fn] of perTable) {
          const index = table.columns.findIndex((c) => c.name === name)
          if (index >= 0) {
            indexes.push(index)
            functions.push(fn.text)
            binaryFunctions.push(fn.binary)
          }
        }
        if (indexes.length === 0) return undefined
        let masked = 0
        /** Per row of a batch, what `rewriteColumnBinary` did (reused from batch to batch). */
        let results = new Uint8Array(1024)
        const names = indexes.map((i) => table.columns[i]!.name)
        const sampler = proof?.forTable(table)
        const samples = names.map((name) => sampler?.column(name))
        // The proof reads the primary key after masking (the row's key as the target gets it).
        const keyColumns = (sampler?.keyColumns ?? []).filter((name) => !names.includes(name))
        return {
          columns: [...names, ...keyColumns],
          readOnly: keyColumns,
          binaryWrites: names.filter((_, c) => binaryFunctions[c] !== undefined),
          process: (batch) => {
            const rows = batch.rowCount
            for (let c = 0; c < indexes.length; c++) {
              const column = indexes[c]!
              const fn = functions[c]!
              const sample = samples[c]
              const binaryFn = batch.binary ? binaryFunctions[c] : undefined
              if (binaryFn !== undefined) {
                // Binary values in, binary values out: no text and no string unless the proof
                // takes the row, and then only the source value's text.
                if (results.length < rows) results = new Uint8Array(Math.max(rows, 2 * results.length))
                batch.rewriteColumnBinary(column, binaryFn, results)
                for (let r = 0; r < rows; r++) {
                  const result = results[r]
                  if (result === REWRITE_CHANGED) {
                    masked++
                    if (sample !== undefined && sample.takesChanged()) sample.offer(r, batch.originalText(r, column)!, null)
                  } else if (result === REWRITE_UNCHANGED) {
                    masked++
                    sample?.unchangedValue()
                  }
                }
                continue
              }
              for (let r = 0; r < rows; r++) {
                if (batch.isDropped(r)) continue
                const value = batch.getText(r, column)
                if (value === null) continue
                const output = fn(value)
                batch.setText(r, column, output)
                if (sample !== undefined) sample.offer(r, value, output)
                masked++
              }
            }
            sampler?.endBatch(batch)
          },
          finish: () => Effect.succeed({ maskedValues: masked })
        }
      }
    }
    return { stage, columns: reports, problems }
  })

interface CompiledColumn {
  readonly text: (value: string) => string | null
  readonly binary: BinaryMask | undefined
}

/** Mask an array literal element by element, any dimensions; NULL elements stay NULL. */
const maskArray = (mask: (value: string) => string | null) => (literal: string): string => mapArrayLiteral(literal, mask)
