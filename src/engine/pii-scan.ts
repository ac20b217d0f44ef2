/**
 * Sampling a live database for `detect-pii`, honestly. Per table a random sample of
 * `sampleSize` rows: `TABLESAMPLE BERNOULLI(p) REPEATABLE(seed)` with `p` sized from the
 * planner's row estimate so that about 1.3 × sampleSize rows come back (`SYSTEM`, which reads
 * whole pages, above 5 million rows), then a seeded reservoir draw of exactly `sampleSize` of
 * them: never `LIMIT`, which would keep the first rows in physical order. Tables no bigger than
 * the sample are read whole, and `full` reads every row of every table. Rows are fetched through
 * a cursor in a READ ONLY transaction, only the columns some detector can judge, all tables in
 * parallel on a bounded number of connections. The seed is reported; the same seed on unchanged
 * data draws the same rows.
 *
 * What a clean sample proves is stated with the result: no detected PII in n random rows puts
 * the share of rows holding it below about 3/n at 95% confidence (the rule of three); it does not
 * prove there is none.
 */
import * as Effect from "effect/Effect"
import { createHash, randomInt } from "node:crypto"
import type pg from "pg"
import { leafTables, quoteIdent, tableKey, withoutInternalSchema, type Catalog, type Table } from "./catalog.ts"
import { readCatalog } from "./catalog-reader.ts"
import { pgClient, sqlClientLayer, type Endpoint } from "./connection.ts"
import { HarnessError } from "./errors.ts"
import type { Finding } from "./findings.ts"
import { matchesTableGlob } from "./glob.ts"
import { mapArrayLiteral } from "./mask-kit.ts"
import { columnScan, decisionFinding, detectColumn, isIntegerKey, type ColumnDecision, type ColumnScan, type NamedDetector } from "./pii-detect.ts"

export interface PiiScanOptions {
  readonly endpoint: Endpoint
  readonly sampleSize: number
  readonly seed: number
  readonly full: boolean
  readonly include: ReadonlyArray<string>
  readonly exclude: ReadonlyArray<string>
  readonly detectors: ReadonlyArray<NamedDetector>
  /** Tables read at the same time, each on its own connection. */
  readonly concurrency: number
  readonly applicationName?: string
}

export type SampleMethod = "full" | "all rows" | "bernoulli" | "system"

export interface TableScan {
  readonly table: string
  readonly method: SampleMethod
  /** TABLESAMPLE percentage, for bernoulli and system. */
  readonly percent: number | null
  readonly estimatedRows: number
  /** Rows the detectors looked at. */
  readonly rowsSampled: number
  readonly columnsScanned: ReadonlyArray<string>
  readonly decisions: ReadonlyArray<ColumnDecision>
  readonly durationMs: number
}

export interface PiiScanResult {
  readonly seed: number
  readonly sampleSize: number
  readonly full: boolean
  readonly tables: ReadonlyArray<TableScan>
  /** Tables with no column any detector can judge (only keys, booleans, ...). */
  readonly tablesWithoutCandidates: ReadonlyArray<string>
  readonly findings: ReadonlyArray<Finding>
  readonly durationMs: number
}

/** A random seed for a run that was not given one: positive, fits REPEATABLE and JSON. */
export const newSeed = (): number => randomInt(1, 2_147_483_647)

/** Mulberry32: a small seeded generator for the reservoir draw. */
const seededRandom = (seed: number) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const tableSeed = (seed: number, table: string) => (seed ^ createHash("sha256").update(table).digest().readUInt32BE(0)) >>> 0

const selected = (table: Table, include: ReadonlyArray<string>, exclude: ReadonlyArray<string>) => {
  const names = [table, ...(table.partitionOf ? [table.partitionOf] : [])]
  const hit = (patterns: ReadonlyArray<string>) => names.some((n) => patterns.some((p) => matchesTableGlob(p, n.schema, n.name)))
  return (include.length === 0 || hit(include)) && !hit(exclude)
}

/** What to read of one table, planned from the catalog before any row is read. */
interface TablePlan {
  readonly label: string
  readonly table: Table
  readonly scans: ReadonlyArray<{ readonly name: string; readonly isArray: boolean; readonly scan: ColumnScan }>
}

const planTables = (catalog: Catalog, options: PiiScanOptions) => {
  const plans: Array<TablePlan> = []
  const without: Array<string> = []
  for (const table of leafTables(catalog)) {
    if (!selected(table, options.include, options.exclude)) continue
    const label = `${table.schema}.${table.name}`
    const scans = []
    for (const column of table.columns) {
      const detect = detectColumn(catalog, table, column)
      const scan = columnScan(options.detectors, detect, { integerKey: isIntegerKey(table, column, detect) })
      if (scan !== undefined) scans.push({ name: column.name, isArray: column.isArray, scan })
    }
    if (scans.length === 0) without.push(label)
    else plans.push({ label, table, scans })
  }
  return { plans, without }
}

const FETCH_ROWS = 2000
/** Tables above this estimate are sampled by page (SYSTEM) rather than by row (BERNOULLI). */
const SYSTEM_ABOVE_ROWS = 5_000_000

const query = (client: pg.Client, sql: string, label: string) =>
  Effect.tryPromise({
    try: () => client.query({ text: sql, rowMode: "array" }),
    catch: (cause) =>
      new HarnessError({
        reason: "Connection",
        message: `reading ${label} failed: ${(cause as Error)?.message ?? String(cause)}`,
        cause
      })
  })

/** Read one table's sample and feed its columns' scans. */
const scanTable = (client: pg.Client, plan: TablePlan, options: PiiScanOptions) =>
  Effect.gen(function* () {
    const started = Date.now()
    const name = tableKey(plan.table.schema, plan.table.name)
    const list = plan.scans.map((s) => `${quoteIdent(s.name)}::text`).join(", ")
    const n = options.sampleSize
    let estimate = plan.table.rowEstimate
    yield* query(client, "BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", plan.label)
    const body = Effect.gen(function* () {
      if (!options.full && estimate < 0) {
        // Never analysed: count, but stop counting well past the sample size.
        const cap = n * 4
        const counted = yield* query(client, `SELECT count(*)::int FROM (SELECT 1 FROM ONLY ${name} LIMIT ${cap}) s`, plan.label)
        estimate = Number((counted.rows[0] as Array<unknown>)[0])
        if (estimate >= cap) {
          const exact = yield* query(client, `SELECT count(*)::float8 FROM ONLY ${name}`, plan.label)
          estimate = Number((exact.rows[0] as Array<unknown>)[0])
        }
      }
      let method: SampleMethod
      let percent: number | null = null
      let source = `ONLY ${name}`
      if (options.full) method = "full"
      else if (estimate <= n * 1.3) method = "all rows"
      else {
        method = estimate > SYSTEM_ABOVE_ROWS ? "system" : "bernoulli"
        // SYSTEM reads whole pages, whose rows were often written together: take more of them.
        const wanted = method === "system" ? n * 5 : n * 1.3
        percent = Math.min(100, Number(((wanted * 100) / estimate).toPrecision(6)))
        source += ` TABLESAMPLE ${method.toUpperCase()} (${percent}) REPEATABLE (${options.seed})`
      }
      yield* query(client, `DECLARE pii_sample NO SCROLL CURSOR FOR SELECT ${list} FROM ${source}`, plan.label)
      const random = seededRandom(tableSeed(options.seed, plan.label))
      // Reservoir of row value arrays when sampling; rows feed the scans directly otherwise.
      const reservoir: Array<Array<unknown>> = []
      const sampling = method === "bernoulli" || method === "system"
      let seen = 0
      const feed = (row: Array<unknown>) => {
        for (let c = 0; c < plan.scans.length; c++) {
          const value = row[c]
          if (typeof value !== "string") continue
          const { scan, isArray } = plan.scans[c]!
          if (isArray) {
            try {
              mapArrayLiteral(value, (element) => {
                scan.add(element)
                return element
              })
            } catch {
              scan.add(value)
            }
          } else scan.add(value)
        }
      }
      for (;;) {
        const batch = yield* query(client, `FETCH ${FETCH_ROWS} FROM pii_sample`, plan.label)
        const rows = batch.rows as Array<Array<unknown>>
        for (const row of rows) {
          seen++
          if (!sampling) feed(row)
          else if (reservoir.length < n) reservoir.push(row)
          else {
            const j = Math.floor(random() * seen)
            if (j < n) reservoir[j] = row
          }
        }
        if (rows.length < FETCH_ROWS) break
      }
      for (const row of reservoir) feed(row)
      yield* query(client, "CLOSE pii_sample", plan.label)
      const decisions = plan.scans.flatMap(({ scan }) => {
        const decision = scan.decide()
        return decision === undefined ? [] : [decision]
      })
      return {
        table: plan.label,
        method,
        percent,
        estimatedRows: Math.max(0, Math.round(estimate)),
        rowsSampled: sampling ? reservoir.length : seen,
        columnsScanned: plan.scans.map((s) => s.name),
        decisions,
        durationMs: Date.now() - started
      } satisfies TableScan
    })
    return yield* body.pipe(
      Effect.ensuring(Effect.promise(() => client.query("ROLLBACK").catch(() => undefined)))
    )
  })

/** Scan a live database: catalog first (a bad URL or password fails here), then all tables in parallel. */
export const scanDatabase = (options: PiiScanOptions): Effect.Effect<PiiScanResult, HarnessError> =>
  Effect.gen(function* () {
    const started = Date.now()
    const applicationName = options.applicationName ?? "db-harness detect-pii"
    // db-harness's own records (the masking proof) hold digests, not personal data: never scanned.
    const catalog = withoutInternalSchema(yield* Effect.scoped(readCatalog.pipe(Effect.provide(sqlClientLayer(options.endpoint, applicationName, 2)))))
    const { plans, without } = planTables(catalog, options)
    // Largest first, so the slowest table does not start last.
    const queue = [...plans].sort((a, b) => b.table.rowEstimate - a.table.rowEstimate)
    const results: Array<TableScan> = []
    let next = 0
    const worker = Effect.scoped(
      Effect.gen(function* () {
        const client = yield* pgClient(options.endpoint, applicationName)
        while (next < queue.length) {
          const plan = queue[next++]!
          results.push(yield* scanTable(client, plan, options))
        }
      })
    )
    const workers = Math.max(1, Math.min(options.concurrency, queue.length))
    yield* Effect.all(Array.from({ length: workers }, () => worker), { concurrency: "unbounded" })
    results.sort((a, b) => a.table.localeCompare(b.table))
    const findings = results.flatMap((t) => t.decisions.map(decisionFinding))
    return {
      seed: options.seed,
      sampleSize: options.sampleSize,
      full: options.full,
      tables: results,
      tablesWithoutCandidates: without.sort(),
      findings,
      durationMs: Date.now() - started
    }
  })

/**
 * What a clean result does and does not prove, in words, from the smallest number of rows any
 * sampled table contributed: the rule of three (no event in n independent draws: the rate is
 * below 3/n with 95% confidence).
 */
export const cleanSampleStatement = (result: PiiScanResult): string => {
  const sampled = result.tables.filter((t) => t.method === "bernoulli" || t.method === "system")
  const whole = result.tables.length - sampled.length
  if (sampled.length === 0) {
    return `every row of the ${whole} scanned table(s) was read: the detectors found no PII of the kinds they recognise; ` +
      `that is not proof that no personal data exists (free-form values, kinds no detector knows)`
  }
  const smallest = Math.min(...sampled.map((t) => t.rowsSampled))
  const bound = smallest > 0 ? 3 / smallest : 1
  return (
    `${sampled.length} table(s) were sampled (at least ${smallest} random rows each, seed ${result.seed})` +
    (whole > 0 ? ` and ${whole} read whole` : "") +
    `: with no PII found in n random rows, the share of rows holding PII of the detected kinds is below about 3/n ` +
    `(here ${(bound * 100).toFixed(bound < 0.01 ? 2 : 1)}%) at 95% confidence. It does not prove that no row holds PII; --full reads every row`
  )
}
