/**
 * `propagate`: copy a source database into a target in one streaming pass.
 *
 * Order of work, and why:
 * 1. Refusals that need no data: a protected target name; then, connected, a target that is the
 *    source itself.
 * 2. One exported snapshot on the source; both catalogs read; the plan made and checked. Any
 *    problem stops the run here, before the first write.
 * 3. Foreign keys touching the copied tables are dropped on the target (recorded first in a
 *    journal file), so tables can load in parallel in any order without superuser rights, as
 *    pg_restore does; they are re-added at the end, whatever happened, and a rerun re-adds any a
 *    crashed run left in the journal.
 * 4. Tables load in parallel (`jobs` workers, largest first), each emptied and loaded in one
 *    target transaction, so a failed table is rolled back, never half copied. A source filter's
 *    evidence queries run beside them on a session of their own, at the same snapshot.
 * 5. Sequences are set to the source's values; materialized views refreshed; evidence written.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { createHash } from "node:crypto"
import { mkdir, readFile, rm, writeFile } from "node:fs/promises"
import { join, resolve } from "node:path"
import type pg from "pg"
import { quoteIdent, tableKey, withoutInternalSchema, type Catalog } from "./catalog.ts"
import { readCatalogAt } from "./catalog-reader.ts"
import { pgClient, sqlClientLayer, type Endpoint } from "./connection.ts"
import { HarnessError } from "./errors.ts"
import { writeEvidence, type WrittenEvidence } from "./evidence.ts"
import { planPropagation, type PropagatePlan, type TablePlan } from "./propagate-plan.ts"
import { openSourceSnapshot } from "./source-snapshot.ts"
import type { Stage, StageColumn } from "./stage.ts"
import { copyTable, newTableProgress, type RowTransform, type TableCopyResult, type TableProgress } from "./table-copy.ts"
import { databaseIdentity, refuseProtectedTarget, refuseSelfCopy, type DatabaseIdentity } from "./target-safety.ts"

/**
 * By default no table is split into ranges: a table's one target COPY is what limits a copy, and
 * extra source readers only compete with it for the cores. Measured on the 2-core build machine
 * (source and target on one server), 20M rows: 42.9 s unsplit against 58.1 s in two ranges, the
 * psql binary pipe 44.0 s. `--split-rows N` turns splitting on where reading is the bottleneck
 * (a remote or slow source, cores to spare).
 */
export const DEFAULT_SPLIT_ROWS = Number.POSITIVE_INFINITY

export interface PropagateOptions {
  readonly source: Endpoint
  readonly target: Endpoint
  readonly jobs: number
  /** Tables with at least this many estimated rows are read in `jobs` ctid ranges in parallel. */
  readonly splitRows: number
  readonly include: ReadonlyArray<string>
  readonly exclude: ReadonlyArray<string>
  readonly stages: ReadonlyArray<Stage>
  /**
   * More stages made from the source's catalog once it is read (masking compiles its rules
   * against it), with what they want recorded in the evidence file under `name`.
   */
  readonly stageFactories?: ReadonlyArray<StageFactory>
  /**
   * Replaces the SELECT some tables are read with (e.g. a subset), decided from the source's
   * catalog at the run's snapshot; what it records goes into the evidence file under `name`.
   */
  readonly sourceFilter?: SourceFilter
  readonly dryRun: boolean
  readonly protectedTargets: ReadonlyArray<string>
  readonly allowProtectedTarget: boolean
  readonly evidenceDir: string
  /** Builds the per-table row transform (codec + stages) for a planned table. */
  readonly transformFor: (table: TablePlan) => () => RowTransform
  readonly hasBinaryConverter: (column: StageColumn) => boolean
  /** Called once the plan is known and loading starts, with a progress object per table. */
  readonly onStart?: (tables: ReadonlyArray<{ readonly plan: TablePlan; readonly progress: TableProgress }>) => void
  readonly onTableDone?: (table: { readonly plan: TablePlan; readonly progress: TableProgress }) => void
  readonly toolVersion: string
}

/** Read-only queries on the source at the run's snapshot, for factories that look at data. */
export type SourceQuery = (sql: string) => Effect.Effect<ReadonlyArray<Record<string, unknown>>, HarnessError>

export interface StageFactory {
  readonly name: string
  readonly make: (
    source: Catalog,
    query: SourceQuery
  ) => Effect.Effect<
    {
      readonly stage: Stage
      readonly evidence: unknown
      /** Run on the target before its first write (not in dry runs); a failure stops the run with nothing written. */
      readonly beforeLoad?: (target: pg.Client) => Effect.Effect<void, HarnessError>
      /** Run on the target once every table is loaded; what it returns is added to the factory's evidence. */
      readonly afterLoad?: (target: pg.Client) => Effect.Effect<Readonly<Record<string, unknown>> | undefined, HarnessError>
    },
    HarnessError
  >
}

/** What a source filter sees of a finished run, for its evidence. */
export interface SourceFilterRun {
  readonly tables: ReadonlyArray<TableOutcome>
  readonly foreignKeys: ReadonlyArray<ForeignKeyValidation>
}

export interface SourceFilter {
  readonly name: string
  readonly make: (
    source: Catalog,
    query: SourceQuery
  ) => Effect.Effect<{
    /** Full `SELECT <the plan's copied columns, in order> ...` by table label (`schema.table`). */
    readonly selects: ReadonlyMap<string, string>
    /** The rows each SELECT is expected to return, by label (else the table's own estimate is shown). */
    readonly estimatedRows?: ReadonlyMap<string, number>
    /**
     * What the evidence needs from the source besides the copy itself. It runs at the snapshot on
     * a session of its own while the tables load, so it does not hold back the first row (in a
     * dry run, before the run returns); `loading` names the tables the run copies (none in a dry
     * run), whose outcomes the finished run will report. Yields what turns that run into the
     * evidence.
     */
    readonly evidence: (query: SourceQuery, loading: ReadonlySet<string>) => Effect.Effect<(run: SourceFilterRun) => unknown, HarnessError>
  }, HarnessError>
}

/** One foreign key touching the copied tables, as the target has it after the run. */
export interface ForeignKeyValidation {
  readonly table: string
  readonly name: string
  readonly validated: boolean
  /** Set on a key declared `NOT ENFORCED` (PostgreSQL 18), which is never validated. */
  readonly notEnforced?: true
}

export interface TableOutcome {
  readonly table: string
  readonly format: "binary" | "text"
  /** How many ctid ranges the table was read in (1: not split). */
  readonly ranges: number
  readonly rowsRead: number
  readonly rowsWritten: number
  readonly bytes: number
  readonly durationMs: number
  readonly digest: string
  readonly stages: ReadonlyArray<{ readonly stage: string; readonly columns: ReadonlyArray<string>; readonly summary?: unknown }>
}

export interface PropagateResult {
  readonly status: "ok" | "dry-run"
  readonly snapshotId: string
  readonly plan: PropagatePlan
  /** Per table, the ctid ranges it is (or would be) read in, as WHERE suffixes; `[""]` for whole. */
  readonly ranges: ReadonlyMap<string, ReadonlyArray<string>>
  /** What each stage factory recorded (e.g. `mask`: which rule masked which column). */
  readonly stageEvidence: Readonly<Record<string, unknown>>
  readonly tables: ReadonlyArray<TableOutcome>
  readonly foreignKeys: {
    readonly dropped: number
    readonly restored: number
    readonly notValidated: ReadonlyArray<string>
    /** Every re-added key and whether the target validated it (empty in a dry run). */
    readonly validation?: ReadonlyArray<ForeignKeyValidation>
  }
  readonly sequences: number
  readonly durationMs: number
  readonly evidence: WrittenEvidence | undefined
}

interface ForeignKeyDefinition {
  readonly table: string // quoted, schema-qualified
  readonly name: string
  readonly definition: string
}

const q = (client: pg.Client, sql: string, params: ReadonlyArray<unknown> = [], what = "target") =>
  Effect.tryPromise({
    try: () => client.query(sql, params as Array<unknown>),
    catch: (cause) =>
      new HarnessError({ reason: "CopyFailed", message: `${what}: ${(cause as Error).message ?? String(cause)}`, cause })
  })

/** The source's catalog is read at the run's exported snapshot: the schema of the rows copied. */
const readCatalogOf = (endpoint: Endpoint, snapshotId?: string) =>
  readCatalogAt(snapshotId).pipe(Effect.provide(sqlClientLayer(endpoint, "db-harness catalog", 2)))

/** Where a run records the foreign keys it dropped on a target, until it has re-added them. */
const journalPath = (evidenceDir: string, target: DatabaseIdentity) =>
  join(resolve(evidenceDir), "..", "state", `dropped-foreign-keys-${createHash("sha256").update(`${target.cluster}/${target.databaseOid}`).digest("hex").slice(0, 16)}.json`)

const readJournal = (path: string) =>
  Effect.promise(async () => {
    try {
      return JSON.parse(await readFile(path, "utf8")) as Array<ForeignKeyDefinition>
    } catch {
      return [] as Array<ForeignKeyDefinition>
    }
  })

/** Quoted names of the copied tables and of every partitioned table above them (FKs may live there). */
const tablesWithAncestors = (plan: PropagatePlan, catalog: Catalog): Array<string> => {
  const names = new Set<string>()
  for (const t of plan.tables) {
    let current: { schema: string; name: string } | null = t.target
    while (current !== null) {
      names.add(tableKey(current.schema, current.name))
      const parent: { schema: string; name: string } | null =
        catalog.tables.find((x) => x.schema === current!.schema && x.name === current!.name)?.partitionOf ?? null
      current = parent
    }
  }
  return [...names]
}

const listForeignKeys = (target: pg.Client, tables: ReadonlyArray<string>) =>
  q(
    target,
    `SELECT format('%I.%I', n.nspname, cl.relname) AS "table", c.conname AS name, pg_get_constraintdef(c.oid) AS definition
       FROM pg_constraint c JOIN pg_class cl ON cl.oid = c.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
      WHERE c.contype = 'f' AND c.conparentid = 0
        AND (c.conrelid = ANY($1::regclass[]) OR c.confrelid = ANY($1::regclass[]))
      ORDER BY 1, 2`,
    [tables]
  ).pipe(Effect.map((r) => r.rows as Array<ForeignKeyDefinition>))

/**
 * Re-add foreign keys; one whose rows do not hold is added NOT VALID and reported. A key the
 * target had NOT VALID comes back NOT VALID, unless `validateAll` (a filtered copy, such as a
 * subset, promises keys that hold): then it is validated like any other.
 */
const restoreForeignKeys = (target: pg.Client, keys: ReadonlyArray<ForeignKeyDefinition>, validateAll: boolean) =>
  Effect.gen(function* () {
    const notValidated: Array<string> = []
    let restored = 0
    for (const key of keys) {
      const exists = yield* q(
        target,
        "SELECT 1 FROM pg_constraint WHERE conname = $1 AND conrelid = $2::regclass",
        [key.name, key.table]
      ).pipe(Effect.map((r) => r.rowCount! > 0), Effect.orElseSucceed(() => false))
      if (exists) continue
      const definition = validateAll ? key.definition.replace(/ NOT VALID$/, "") : key.definition
      const add = `ALTER TABLE ${key.table} ADD CONSTRAINT "${key.name.replaceAll('"', '""')}" ${definition}`
      const ok = yield* q(target, add).pipe(Effect.as(true), Effect.orElseSucceed(() => false))
      if (ok) {
        restored++
        continue
      }
      const withoutValidation = definition.endsWith(" NOT VALID") ? add : `${add} NOT VALID`
      yield* q(target, withoutValidation)
      restored++
      notValidated.push(`${key.table}.${key.name}`)
    }
    return { restored, notValidated }
  })

/** Whether the target holds each of these keys validated (after they were re-added). */
const validationOf = (target: pg.Client, keys: ReadonlyArray<ForeignKeyDefinition>) =>
  Effect.forEach(keys, (key) =>
    // conenforced exists from PostgreSQL 18 on; read through to_jsonb, older servers give NULL.
    q(target, "SELECT c.convalidated AS v, (to_jsonb(c) ->> 'conenforced') = 'false' AS unenforced FROM pg_constraint c WHERE c.conname = $1 AND c.conrelid = $2::regclass", [key.name, key.table]).pipe(
      Effect.map((r): ForeignKeyValidation => {
        const row = r.rows[0] as { v?: boolean; unenforced?: boolean } | undefined
        return { table: key.table, name: key.name, validated: row?.v === true, ...(row?.unenforced === true ? { notEnforced: true as const } : {}) }
      }),
      Effect.orElseSucceed((): ForeignKeyValidation => ({ table: key.table, name: key.name, validated: false }))
    )
  )

const syncSequences = (source: pg.Client, target: pg.Client, plan: PropagatePlan, sourceCatalog: Catalog, targetCatalog: Catalog) =>
  Effect.gen(function* () {
    const copied = new Set(plan.tables.map((t) => `${t.source.schema}.${t.source.name}`))
    const parents = new Set(plan.tables.flatMap((t) => (t.source.partitionOf ? [`${t.source.partitionOf.schema}.${t.source.partitionOf.name}`] : [])))
    const schemas = new Set(plan.tables.map((t) => t.source.schema))
    const wanted = sourceCatalog.sequences.filter((s) =>
      s.ownedBy !== null
        ? copied.has(`${s.ownedBy.schema}.${s.ownedBy.table}`) || parents.has(`${s.ownedBy.schema}.${s.ownedBy.table}`)
        : schemas.has(s.schema)
    )
    let count = 0
    for (const sequence of wanted) {
      if (!targetCatalog.sequences.some((t) => t.schema === sequence.schema && t.name === sequence.name)) continue
      const name = tableKey(sequence.schema, sequence.name)
      const value = yield* q(source, `SELECT last_value::text AS v, is_called FROM ${name}`, [], "source")
      const row = value.rows[0] as { v: string; is_called: boolean }
      yield* q(target, "SELECT setval($1::regclass, $2::bigint, $3)", [name, row.v, row.is_called])
      count++
    }
    return count
  })

/**
 * The ctid ranges each table is read in, as `WHERE` suffixes: `[""]` (the whole table) unless it
 * has at least `splitRows` estimated rows and there are several jobs; then `jobs` ranges of equal
 * page counts, the last one open-ended. TID range scans make each range read only its pages.
 */
const planRanges = (reader: pg.Client, plan: PropagatePlan, options: PropagateOptions, whole: ReadonlySet<string> = new Set()) =>
  Effect.gen(function* () {
    const ranges = new Map<string, ReadonlyArray<string>>(plan.tables.map((t) => [t.label, [""]]))
    // A table read through a filter's SELECT is read in one piece: a ctid condition cannot be
    // appended to an arbitrary query, and re-running its subqueries per range would cost more.
    const big = plan.tables.filter((t) => options.jobs >= 2 && t.estimatedRows >= options.splitRows && !whole.has(t.label))
    if (big.length === 0) return ranges
    const result = yield* q(
      reader,
      `SELECT (pg_relation_size(name::regclass) / current_setting('block_size')::int)::int AS pages
         FROM unnest($1::text[]) WITH ORDINALITY AS x(name, n) ORDER BY n`,
      [big.map((t) => tableKey(t.source.schema, t.source.name))],
      "source"
    )
    big.forEach((table, index) => {
      const pages = (result.rows[index] as { pages: number }).pages
      const count = Math.min(options.jobs, pages)
      if (count < 2) return
      const bounds = Array.from({ length: count - 1 }, (_, i) => Math.floor((pages * (i + 1)) / count))
      ranges.set(
        table.label,
        Array.from({ length: count }, (_, i) => {
          const conditions = [
            ...(i > 0 ? [`ctid >= '(${bounds[i - 1]},0)'::tid`] : []),
            ...(i < count - 1 ? [`ctid < '(${bounds[i]},0)'::tid`] : [])
          ]
          return ` WHERE ${conditions.join(" AND ")}`
        })
      )
    })
    return ranges
  })

export const propagate = (options: PropagateOptions): Effect.Effect<PropagateResult, HarnessError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const started = Date.now()
      yield* refuseProtectedTarget(options.target, options.protectedTargets, options.allowProtectedTarget)
      const control = yield* pgClient(options.target, "db-harness propagate")
      const probe = yield* pgClient(options.source, "db-harness propagate")
      const sourceId = yield* databaseIdentity(probe)
      const targetId = yield* databaseIdentity(control)
      yield* refuseSelfCopy(sourceId, targetId, options.target)

      const snapshot = yield* openSourceSnapshot(options.source)
      // db-harness's own records (schema db_harness, masking-proof.ts) are never copied or masked.
      const [sourceCatalog, targetCatalog] = (yield* Effect.all(
        [readCatalogOf(options.source, snapshot.snapshotId), readCatalogOf(options.target)],
        { concurrency: 2 }
      )).map(withoutInternalSchema) as [Catalog, Catalog]
      const queryOn = (reader: pg.Client): SourceQuery => (sql) =>
        Effect.map(q(reader, sql, [], "source"), (result) => result.rows as ReadonlyArray<Record<string, unknown>>)
      const made = yield* Effect.scoped(
        Effect.gen(function* () {
          if ((options.stageFactories ?? []).length === 0) return []
          const query = queryOn(yield* snapshot.reader("db-harness stages"))
          return yield* Effect.forEach(options.stageFactories ?? [], (factory) =>
            Effect.map(factory.make(sourceCatalog, query), (result) => ({ name: factory.name, ...result }))
          )
        })
      )
      const filter = options.sourceFilter === undefined
        ? undefined
        : yield* Effect.scoped(
            Effect.gen(function* () {
              const query = queryOn(yield* snapshot.reader("db-harness source filter"))
              return yield* options.sourceFilter!.make(sourceCatalog, query)
            })
          )
      const plan = yield* planPropagation(sourceCatalog, targetCatalog, {
        ...(filter === undefined ? {} : { sourceSelects: filter.selects, ...(filter.estimatedRows === undefined ? {} : { sourceEstimates: filter.estimatedRows }) }),
        include: options.include,
        exclude: options.exclude,
        stages: [...options.stages, ...made.map((m) => m.stage)],
        hasBinaryConverter: options.hasBinaryConverter
      })
      const rangesByTable = yield* Effect.scoped(
        Effect.flatMap(snapshot.reader("db-harness planner"), (reader) => planRanges(reader, plan, options, new Set(filter?.selects.keys())))
      )
      /** The source filter's evidence queries, on a session of their own; yields its evidence writer. */
      const filterEvidenceOf = (loading: ReadonlySet<string>) =>
        filter === undefined
          ? Effect.succeed((_: SourceFilterRun) => ({}))
          : Effect.scoped(
              Effect.gen(function* () {
                const write = yield* filter.evidence(queryOn(yield* snapshot.reader("db-harness source filter evidence")), loading)
                return (run: SourceFilterRun) => ({ [options.sourceFilter!.name]: write(run) })
              })
            )
      if (options.dryRun) {
        const filterEvidence = yield* filterEvidenceOf(new Set())
        return {
          status: "dry-run",
          snapshotId: snapshot.snapshotId,
          plan,
          ranges: rangesByTable,
          stageEvidence: { ...Object.fromEntries(made.map((m) => [m.name, m.evidence])), ...filterEvidence({ tables: [], foreignKeys: [] }) },
          tables: [],
          foreignKeys: { dropped: 0, restored: 0, notValidated: [] },
          sequences: 0,
          durationMs: Date.now() - started,
          evidence: undefined
        } satisfies PropagateResult
      }

      for (const m of made) if (m.beforeLoad !== undefined) yield* m.beforeLoad(control)

      // Foreign keys off (journalled), and back on at the end whatever happens.
      const journal = journalPath(options.evidenceDir, targetId)
      const pending = yield* readJournal(journal)
      const keys = yield* listForeignKeys(control, tablesWithAncestors(plan, targetCatalog))
      const toRestore = [...keys, ...pending.filter((p) => !keys.some((k) => k.table === p.table && k.name === p.name))]
      yield* Effect.tryPromise({
        try: async () => {
          await mkdir(join(journal, ".."), { recursive: true })
          await writeFile(journal, JSON.stringify(toRestore, null, 2))
        },
        catch: (cause) => new HarnessError({ reason: "BadInput", message: `cannot write ${journal}: ${String(cause)}`, cause })
      })
      yield* q(control, "BEGIN")
      for (const key of keys) yield* q(control, `ALTER TABLE ${key.table} DROP CONSTRAINT "${key.name.replaceAll('"', '""')}"`)
      yield* q(control, "COMMIT")

      const progress = plan.tables.map((table) => ({ plan: table, progress: newTableProgress() }))
      options.onStart?.(progress)
      const results = new Map<string, TableCopyResult & { readonly ranges: number }>()
      let next = 0
      const worker = (index: number) =>
        Effect.scoped(
          Effect.gen(function* () {
            const reader = yield* snapshot.reader(`db-harness reader ${index}`)
            const writer = yield* pgClient(options.target, `db-harness writer ${index}`)
            while (next < progress.length) {
              const item = progress[next++]!
              const table = item.plan
              const targetName = tableKey(table.target.schema, table.target.name)
              const ranges = rangesByTable.get(table.label) ?? [""]
              // A split table's other ranges get readers of their own, for this table only.
              const copied = yield* Effect.scoped(
                Effect.gen(function* () {
                  const extra = yield* Effect.forEach(ranges.slice(1), (_, i) => snapshot.reader(`db-harness reader ${index}.${i + 1}`))
                  return yield* copyTable([reader, ...extra], writer, {
                    label: table.label,
                    format: table.format,
                    sourceCopySql: ranges.map((where) => `COPY (${table.sourceSelect}${where}) TO STDOUT (FORMAT ${table.format})`),
                    prepareSql: [
                      ...table.targetTriggers.map((t) => `ALTER TABLE ${targetName} DISABLE TRIGGER ${quoteIdent(t.name)}`),
                      `TRUNCATE ONLY ${targetName}`
                    ],
                    targetCopySql: table.targetCopySql,
                    makeTransform: options.transformFor(table),
                    finishSql: table.targetTriggers.map(
                      (t) => `ALTER TABLE ${targetName} ENABLE ${t.enabled === "origin" ? "" : `${t.enabled.toUpperCase()} `}TRIGGER ${quoteIdent(t.name)}`
                    )
                  }, item.progress)
                })
              )
              results.set(table.label, { ...copied, ranges: ranges.length })
              options.onTableDone?.(item)
            }
          })
        )
      const jobs = Math.max(1, Math.min(options.jobs, progress.length))
      const loaded = yield* Effect.exit(
        Effect.all(
          [
            Effect.all(Array.from({ length: jobs }, (_, i) => worker(i)), { concurrency: "unbounded" }),
            filterEvidenceOf(new Set(plan.tables.map((t) => t.label)))
          ],
          { concurrency: "unbounded" }
        )
      )

      const restoredKeys = yield* restoreForeignKeys(control, toRestore, filter !== undefined)
      const validation = yield* validationOf(control, toRestore)
      yield* Effect.promise(() => rm(journal, { force: true }))
      if (Exit.isFailure(loaded)) return yield* Effect.failCause(loaded.cause)
      const filterEvidence = loaded.value[1]

      const sequences = yield* Effect.scoped(
        Effect.gen(function* () {
          const reader = yield* snapshot.reader("db-harness sequences")
          return yield* syncSequences(reader, control, plan, sourceCatalog, targetCatalog)
        })
      )
      // Materialized views the source has populated are refreshed from the copied rows.
      const populated = yield* Effect.scoped(
        Effect.gen(function* () {
          const reader = yield* snapshot.reader("db-harness matviews")
          const rows = yield* q(reader, "SELECT schemaname AS schema, matviewname AS name FROM pg_matviews WHERE ispopulated", [], "source")
          return rows.rows as Array<{ schema: string; name: string }>
        })
      )
      for (const view of targetCatalog.views) {
        if (view.materialized && populated.some((v) => v.schema === view.schema && v.name === view.name)) {
          yield* q(control, `REFRESH MATERIALIZED VIEW ${tableKey(view.schema, view.name)}`)
        }
      }

      const tables: Array<TableOutcome> = []
      for (const table of plan.tables) {
        const result = results.get(table.label)!
        const stages = []
        for (const s of table.stages) {
          const summary = s.table.finish ? yield* s.table.finish() : undefined
          stages.push({ stage: s.name, columns: s.table.columns, ...(summary !== undefined ? { summary } : {}) })
        }
        tables.push({
          table: table.label,
          format: table.format,
          ranges: result.ranges,
          rowsRead: result.rowsRead,
          rowsWritten: result.rowsWritten,
          bytes: result.bytesWritten,
          durationMs: result.durationMs,
          digest: result.digest,
          stages
        })
      }
      const stageEvidence: Record<string, unknown> = {}
      for (const m of made) {
        const after = m.afterLoad === undefined ? undefined : yield* m.afterLoad(control)
        stageEvidence[m.name] = after === undefined ? m.evidence : { ...(m.evidence as object), ...after }
      }
      const durationMs = Date.now() - started
      const foreignKeys = { dropped: keys.length, restored: restoredKeys.restored, notValidated: restoredKeys.notValidated, validation }
      const filtered = filterEvidence({ tables, foreignKeys: validation })
      const evidence = yield* writeEvidence(options.evidenceDir, "propagate", {
        kind: "propagate",
        tool: { name: "db-harness", version: options.toolVersion },
        startedAt: new Date(started).toISOString(),
        durationMs,
        source: { endpoint: options.source.display, database: sourceId.databaseName, serverVersion: sourceId.serverVersion },
        target: { endpoint: options.target.display, database: targetId.databaseName, serverVersion: targetId.serverVersion },
        snapshotId: snapshot.snapshotId,
        filters: { include: options.include, exclude: options.exclude },
        ...stageEvidence,
        ...filtered,
        tables,
        skippedTables: plan.skipped,
        foreignKeys,
        sequences,
        totals: {
          tables: tables.length,
          rows: tables.reduce((s, t) => s + t.rowsWritten, 0),
          bytes: tables.reduce((s, t) => s + t.bytes, 0)
        },
        // One digest over the per-table digests, in table-name order: the run's data fingerprint.
        digest: createHash("sha256").update([...tables].sort((a, b) => a.table.localeCompare(b.table)).map((t) => `${t.table}:${t.digest}`).join("\n")).digest("hex")
      })
      if (foreignKeys.notValidated.length > 0) {
        return yield* new HarnessError({
          reason: "CopyFailed",
          message: `foreign keys do not hold after the copy and were re-added NOT VALID: ${foreignKeys.notValidated.join(", ")}`
        })
      }
      return {
        status: "ok",
        snapshotId: snapshot.snapshotId,
        plan,
        ranges: rangesByTable,
        stageEvidence: { ...stageEvidence, ...filtered },
        tables,
        foreignKeys,
        sequences,
        durationMs,
        evidence
      } satisfies PropagateResult
    })
  )
