/**
 * Proof after masking: how a gate can tell, on the target alone, that a masked column holds no
 * value of the source. A fake name still looks like a name, so detectors cannot tell masked data
 * from leaked data; this record can, without the source and without ever storing a source value.
 *
 * Recording (during `propagate` with masking): for every masked column, a bounded random sample
 * (reservoir, `PROOF_SAMPLE_ROWS` rows, flat memory whatever the table size) of the rows whose
 * masking changed the value. For each sampled row it keeps the row's key as the TARGET holds it
 * (the primary key after masking: a value already in that target table) and a keyed digest of
 * the SOURCE value bound to that key: the low 32 bits of a keyed PRF (SipHash-2-4 under a subkey
 * of the proof key per table and column) of key and value. At the end of a successful run the
 * record goes into the target, in the schema `db_harness` (tables `masking_proof_runs` and
 * `masking_proof`), in one transaction.
 *
 * Verifying (`verifyMaskingProof`): read the latest record, fetch the recorded rows by their key
 * (through the primary-key index: no scan), recompute the digest from the value the target holds
 * now, and count matches. A masked row matches only if its value is the source's again (or, with
 * probability 2^-32, by a digest collision), so a clean column gives 0 matches whatever the fakes
 * look like, and a fake that equals some other person's real value is no match (the digest is
 * bound to the row). Rows whose masking returned the value unchanged (a date shifted by 0 days,
 * a short value kept whole by `partial`) are not sampled, so they cannot count as survivals.
 *
 * Why it is safe to store: the proof key is derived from DB_HARNESS_MASK_KEY (HMAC with a fixed
 * label), which the target never holds, so nobody with the target alone can test a guess; and
 * with 32 bits per digest, even someone holding the key gets about 2^-32 × (guesses) false
 * confirmations, so a digest alone never confirms a value from a space larger than ~4 billion
 * (phone numbers, card numbers, e-mail addresses). For small spaces (first names) the key is what
 * protects. Kept columns (`masking_strategy: keep`) are not masked and are recorded as kept,
 * without digests: their values are the source's by decision.
 *
 * Tables without a primary key have no stable row to bind to: their columns are recorded by value
 * (a bottom-k sketch: the `PROOF_SAMPLE_ROWS` distinct source values with the smallest keyed
 * selection hash, so a target value is checkable exactly when its hash falls in that range), and
 * a fake that equals a real value somewhere in the column counts as a match. The report says so.
 *
 * Without DB_HARNESS_MASK_KEY the run masks with a random key that is gone when the run ends;
 * printing or storing a key would defeat the proof, so the run records itself as unprovable (the
 * masked columns, no digests) and the verifier reports that no proof is possible: never a pass.
 */
import * as Effect from "effect/Effect"
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto"
import type pg from "pg"
import { CANONICAL_SESSION_SETTINGS } from "./binary-values.ts"
import { INTERNAL_SCHEMA, quoteIdent, tableKey, type Catalog, type Table } from "./catalog.ts"

export { INTERNAL_SCHEMA }
import { pgClient, type Endpoint } from "./connection.ts"
import { HarnessError } from "./errors.ts"
import { finding, type Finding } from "./findings.ts"
import { makeMaskContext } from "./mask-kit.ts"
import type { RowBatch, StageTable } from "./stage.ts"

/** Rows (row digests) or distinct values (value digests) recorded per masked column. */
export const PROOF_SAMPLE_ROWS = 1024
/** Bytes kept of each digest: 32 bits (see the module comment). */
export const DIGEST_BYTES = 4
/** Version of the stored record's layout and digest inputs. */
const RECORD_FORMAT = 1
/** Runs kept in the target; older records are deleted when a new one is written. */
const RUNS_KEPT = 5

// ---------------------------------------------------------------------------------------------
// Keys and digests

/** The proof key: HMAC-SHA-256 of a fixed label under DB_HARNESS_MASK_KEY (never the mask key itself). */
export const proofKeyOf = (maskKey: Uint8Array): Buffer => createHmac("sha256", maskKey).update("db-harness masking proof v1").digest()

/** 32 bits that tell whether a verifier holds the run's key, and nothing about the key. */
const keyCheckOf = (proofKey: Uint8Array): Buffer => createHmac("sha256", proofKey).update("key check").digest().subarray(0, DIGEST_BYTES)

/**
 * The keyed functions of one proof key: SipHash-2-4 (mask-kit's PRF, a 128-bit-key PRF) with one
 * subkey per purpose and column. Digests are its low 32 bits; the selection hash of value mode is
 * all 64. HMAC-SHA-256 would do as well, but Node's costs tens of microseconds per call.
 */
const keyedFunctions = (proofKey: Uint8Array) => {
  const context = makeMaskContext({ key: proofKey, locale: "en" })
  // One purpose string per column: the context caches its subkey by this very string.
  const purpose = (kind: string, table: string, column: string) => `proof ${kind}\u0000${table}\u0000${column}`
  return {
    /** Digest of a value bound to its row's key (a JSON array, so no NUL inside: unambiguous). */
    row: (table: string, column: string) => {
      const p = purpose("row", table, column)
      return (rowKey: string, value: string): number => Number(context.prf(p, `${rowKey}\u0000${value}`) & 0xffffffffn)
    },
    value: (table: string, column: string) => {
      const p = purpose("value", table, column)
      return (value: string): number => Number(context.prf(p, value) & 0xffffffffn)
    },
    select: (table: string, column: string) => {
      const p = purpose("selection", table, column)
      return (value: string): bigint => context.prf(p, value)
    }
  }
}

/** A row's key as text: the key columns' text forms as a JSON array (unambiguous for composite keys). */
const rowKeyText = (parts: ReadonlyArray<string>): string => JSON.stringify(parts)

// ---------------------------------------------------------------------------------------------
// Recording

/** What one masked column's sample holds at the end of a run: digests and row keys, never a value. */
export interface ColumnProof {
  readonly schema: string
  readonly table: string
  readonly column: string
  readonly kind: "row" | "value"
  readonly rowKeyColumns: ReadonlyArray<string>
  readonly rowKeyTypes: ReadonlyArray<string>
  /** Row mode: the target's key of each sampled row, same order as the digests. */
  readonly rowKeys: ReadonlyArray<ReadonlyArray<string>>
  readonly digests: Buffer
  /** Value mode: target values whose selection hash is below this were all recorded (2^64: every distinct value). */
  readonly valueThreshold: bigint | null
  /** Non-NULL values masking changed (the population sampled). */
  readonly eligible: number
  /** Non-NULL values masking returned unchanged (never sampled). */
  readonly unchanged: number
}

/** The masking stage feeds one of these per masked column: the source value and its masked output. */
export interface ColumnSampler {
  readonly offer: (row: number, source: string, masked: string | null) => void
  /**
   * For binary masking, which has no texts to compare: a value masking changed. True when it must
   * be offered (`offer(row, sourceText, null)`), false when it was counted and not taken, so its
   * text is never made.
   */
  readonly takesChanged: () => boolean
  /** For binary masking: a value masking returned unchanged (never sampled). */
  readonly unchangedValue: () => void
}

export interface TableSampler {
  /** Columns the stage must declare besides the masked ones (the primary key, read after masking). */
  readonly keyColumns: ReadonlyArray<string>
  readonly column: (name: string) => ColumnSampler
  /** After a batch is masked: reads the sampled rows' keys (now as the target gets them) and digests. */
  readonly endBatch: (batch: RowBatch) => void
}

export interface ProofRecorder {
  /** False without DB_HARNESS_MASK_KEY: nothing is sampled, and the record says the run is unprovable. */
  readonly provable: boolean
  readonly forTable: (table: StageTable) => TableSampler | undefined
  readonly results: () => ReadonlyArray<ColumnProof>
}

/** Samples one column by row: reservoir of rows, digests bound to the row's target key. */
class RowSample implements ColumnSampler {
  eligible = 0
  unchanged = 0
  readonly rowKeys: Array<ReadonlyArray<string>> = []
  readonly digests = Buffer.alloc(PROOF_SAMPLE_ROWS * DIGEST_BYTES)
  /** Chosen rows of the current batch: row, slot and the source value, until `endBatch`. */
  readonly pendingRows: Array<number> = []
  readonly pendingSlots: Array<number> = []
  readonly pendingValues: Array<string> = []
  /** Algorithm L's state: the count at which the next row is taken, and its weight. */
  next = 0
  weight = 1
  readonly name: string
  readonly digest: (rowKey: string, value: string) => number
  constructor(name: string, digest: (rowKey: string, value: string) => number) {
    this.name = name
    this.digest = digest
  }

  readonly takesChanged = (): boolean => {
    const seen = this.eligible + 1
    if (seen > PROOF_SAMPLE_ROWS && seen < this.next) {
      this.eligible = seen
      return false
    }
    return true
  }

  readonly unchangedValue = () => {
    this.unchanged++
  }

  readonly offer = (row: number, source: string, masked: string | null) => {
    if (masked === source) {
      this.unchanged++
      return
    }
    const seen = ++this.eligible
    let slot = seen - 1
    if (seen > PROOF_SAMPLE_ROWS) {
      // Algorithm L (Li 1994): once the reservoir is full, jump straight to the next row to take,
      // so a row not taken costs one comparison (the same distribution as drawing for every row).
      if (seen < this.next) return
      slot = Math.floor(Math.random() * PROOF_SAMPLE_ROWS)
      this.skipAhead()
    } else if (seen === PROOF_SAMPLE_ROWS) {
      this.skipAhead()
    }
    this.pendingRows.push(row)
    this.pendingSlots.push(slot)
    this.pendingValues.push(source)
  }

  private skipAhead() {
    // 1 - Math.random() is in (0, 1]: never log(0).
    this.weight *= Math.exp(Math.log(1 - Math.random()) / PROOF_SAMPLE_ROWS)
    this.next = this.eligible + Math.floor(Math.log(1 - Math.random()) / Math.log(1 - this.weight)) + 1
  }
}

/** Samples one column by value: the bottom-k distinct values by keyed selection hash. */
class ValueSample implements ColumnSampler {
  eligible = 0
  unchanged = 0
  readonly hashes: Array<bigint> = []
  readonly values: Array<string> = []
  readonly present = new Set<bigint>()
  max = -1n
  maxAt = -1
  private readonly hash: (value: string) => bigint
  constructor(hash: (value: string) => bigint) {
    this.hash = hash
  }

  /** Every changed value is hashed for the sketch, so each is offered. */
  readonly takesChanged = (): boolean => true

  readonly unchangedValue = () => {
    this.unchanged++
  }

  readonly offer = (_row: number, source: string, masked: string | null) => {
    if (masked === source) {
      this.unchanged++
      return
    }
    this.eligible++
    const h = this.hash(source)
    if (this.hashes.length >= PROOF_SAMPLE_ROWS && h >= this.max) return
    if (this.present.has(h)) return
    if (this.hashes.length < PROOF_SAMPLE_ROWS) {
      this.hashes.push(h)
      this.values.push(source)
      this.present.add(h)
      if (h > this.max) {
        this.max = h
        this.maxAt = this.hashes.length - 1
      }
      return
    }
    // Replace the largest; then find the new largest (rare: about k·ln(n/k) times in all).
    this.present.delete(this.hashes[this.maxAt]!)
    this.hashes[this.maxAt] = h
    this.values[this.maxAt] = source
    this.present.add(h)
    this.max = -1n
    for (let i = 0; i < this.hashes.length; i++) {
      if (this.hashes[i]! > this.max) {
        this.max = this.hashes[i]!
        this.maxAt = i
      }
    }
  }
}

/**
 * The recorder of one masked run over the source's catalog. `key` is DB_HARNESS_MASK_KEY's bytes;
 * without it the recorder samples nothing (the run cannot be proven later). The masking stage asks
 * it for a sampler per table and per masked column.
 */
export const makeProofRecorder = (catalog: Catalog, key: Uint8Array | undefined): ProofRecorder => {
  const proofKey = key === undefined ? undefined : proofKeyOf(key)
  const tables = new Map(catalog.tables.map((t) => [`${t.schema}.${t.name}`, t]))
  const finished: Array<() => ColumnProof> = []
  const keyed = proofKey === undefined ? undefined : keyedFunctions(proofKey)
  return {
    provable: proofKey !== undefined,
    forTable: (stageTable) => {
      if (keyed === undefined) return undefined
      const label = `${stageTable.schema}.${stageTable.name}`
      const table = tables.get(label)
      if (table === undefined) return undefined
      const keyColumns = table.primaryKey?.columns ?? []
      const keyIndexes = keyColumns.map((name) => stageTable.columns.findIndex((c) => c.name === name))
      const byRow = keyColumns.length > 0 && keyIndexes.every((i) => i >= 0)
      const keyTypes = keyColumns.map((name) => table.columns.find((c) => c.name === name)?.type ?? "text")
      const rowSamples: Array<RowSample> = []
      const samplers = new Map<string, ColumnSampler>()
      return {
        keyColumns: byRow ? keyColumns : [],
        column: (name) => {
          const existing = samplers.get(name)
          if (existing !== undefined) return existing
          let sampler: ColumnSampler
          if (byRow) {
            const sample = new RowSample(name, keyed.row(label, name))
            rowSamples.push(sample)
            sampler = sample
            finished.push(() => ({
              schema: table.schema,
              table: table.name,
              column: name,
              kind: "row",
              rowKeyColumns: keyColumns,
              rowKeyTypes: keyTypes,
              rowKeys: sample.rowKeys,
              digests: sample.digests.subarray(0, sample.rowKeys.length * DIGEST_BYTES),
              valueThreshold: null,
              eligible: sample.eligible,
              unchanged: sample.unchanged
            }))
          } else {
            const sample = new ValueSample(keyed.select(label, name))
            const digest = keyed.value(label, name)
            sampler = sample
            finished.push(() => {
              const digests = Buffer.alloc(sample.values.length * DIGEST_BYTES)
              sample.values.forEach((value, i) => digests.writeUInt32BE(digest(value), i * DIGEST_BYTES))
              return {
                schema: table.schema,
                table: table.name,
                column: name,
                kind: "value",
                rowKeyColumns: [],
                rowKeyTypes: [],
                rowKeys: [],
                digests,
                // Fewer distinct values than the sketch holds: every one of them is recorded.
                valueThreshold: sample.values.length < PROOF_SAMPLE_ROWS ? 1n << 64n : sample.max,
                eligible: sample.eligible,
                unchanged: sample.unchanged
              }
            })
          }
          samplers.set(name, sampler)
          return sampler
        },
        endBatch: (batch) => {
          for (const sample of rowSamples) {
            const n = sample.pendingRows.length
            if (n === 0) continue
            for (let i = 0; i < n; i++) {
              const row = sample.pendingRows[i]!
              const slot = sample.pendingSlots[i]!
              const parts = keyIndexes.map((index) => batch.getText(row, index) ?? "")
              sample.digests.writeUInt32BE(sample.digest(rowKeyText(parts), sample.pendingValues[i]!), slot * DIGEST_BYTES)
              sample.rowKeys[slot] = parts
            }
            sample.pendingRows.length = 0
            sample.pendingSlots.length = 0
            sample.pendingValues.length = 0
          }
        }
      }
    },
    results: () => finished.map((f) => f())
  }
}

// ---------------------------------------------------------------------------------------------
// Storing the record in the target

const RUNS_TABLE = `${quoteIdent(INTERNAL_SCHEMA)}.masking_proof_runs`
const PROOF_TABLE = `${quoteIdent(INTERNAL_SCHEMA)}.masking_proof`

const CREATE_RUNS = `CREATE TABLE ${RUNS_TABLE} (
  run_id uuid PRIMARY KEY,
  created_at timestamptz NOT NULL,
  tool_version text NOT NULL,
  record_format integer NOT NULL,
  provable boolean NOT NULL,
  key_check bytea,
  digest_bits integer NOT NULL,
  sample_rows integer NOT NULL
)`
const CREATE_PROOF = `CREATE TABLE ${PROOF_TABLE} (
  run_id uuid NOT NULL,
  table_schema text NOT NULL,
  table_name text NOT NULL,
  column_name text NOT NULL,
  strategy text NOT NULL,
  follows_foreign_key text,
  digest_kind text NOT NULL CHECK (digest_kind IN ('row', 'value', 'kept', 'none')),
  row_key_columns text[],
  row_key_types text[],
  row_keys jsonb,
  digests bytea,
  value_threshold numeric(20, 0),
  eligible_values bigint,
  unchanged_values bigint,
  PRIMARY KEY (run_id, table_schema, table_name, column_name)
)`

const query = (client: pg.Client, sql: string, params: ReadonlyArray<unknown> = []) =>
  Effect.tryPromise({
    try: () => client.query(sql, params as Array<unknown>),
    catch: (cause) => cause as Error
  })

const refusal = (detail: string) =>
  new HarnessError({
    reason: "Refused",
    message:
      `cannot keep the masking proof in the target (schema ${INTERNAL_SCHEMA}): ${detail}; nothing was written. ` +
      `Let this user create it (GRANT CREATE ON DATABASE ...), create schema ${INTERNAL_SCHEMA} owned by this user, ` +
      `or run with --skip-masking-proof (detect-pii then cannot prove the masking)`
  })

/**
 * Before any write of a masked run: make sure the proof can be stored at the end, creating the
 * schema and tables when they are missing (only then: creating needs privileges that writing into
 * existing ones does not). Fails with a clear refusal, before the first row moves, otherwise.
 */
export const ensureProofTables = (client: pg.Client): Effect.Effect<void, HarnessError> =>
  Effect.gen(function* () {
    const state = yield* query(
      client,
      `SELECT to_regnamespace($1) IS NOT NULL AS has_schema, to_regclass($2) IS NOT NULL AS has_runs, to_regclass($3) IS NOT NULL AS has_proof`,
      [INTERNAL_SCHEMA, RUNS_TABLE, PROOF_TABLE]
    )
    const row = state.rows[0] as { has_schema: boolean; has_runs: boolean; has_proof: boolean }
    yield* query(client, "BEGIN")
    if (!row.has_schema) yield* query(client, `CREATE SCHEMA ${quoteIdent(INTERNAL_SCHEMA)}`)
    if (!row.has_runs) yield* query(client, CREATE_RUNS)
    if (!row.has_proof) yield* query(client, CREATE_PROOF)
    const privileges = yield* query(
      client,
      `SELECT has_table_privilege($1, 'SELECT, INSERT, DELETE') AND has_table_privilege($2, 'SELECT, INSERT, DELETE') AS ok`,
      [RUNS_TABLE, PROOF_TABLE]
    )
    if ((privileges.rows[0] as { ok: boolean }).ok !== true) {
      return yield* Effect.fail(new Error(`this user may not write ${RUNS_TABLE} and ${PROOF_TABLE}`))
    }
    yield* query(client, "COMMIT")
  }).pipe(
    Effect.catch((error) =>
      Effect.flatMap(
        Effect.promise(() => client.query("ROLLBACK").catch(() => {})),
        () => Effect.fail(refusal(error instanceof HarnessError ? error.message : (error as Error).message ?? String(error)))
      )
    )
  )

/** A column of the run as the masking evidence lists it (strategy `keep` included). */
export interface RecordedColumn {
  readonly table: string // schema.table
  readonly column: string
  readonly strategy: string
  readonly followsForeignKey?: string
}

export interface WrittenProof {
  readonly runId: string
  readonly provable: boolean
  readonly columns: number
  readonly sampledRows: number
  readonly digestKinds: Readonly<Record<string, number>>
}

/**
 * At the end of a successful masked run: write the record (one run row, one row per masked or
 * kept column) in one transaction, and drop records older than the last `RUNS_KEPT` runs.
 */
export const writeProof = (
  client: pg.Client,
  recorder: ProofRecorder,
  columns: ReadonlyArray<RecordedColumn>,
  key: Uint8Array | undefined,
  toolVersion: string
): Effect.Effect<WrittenProof, HarnessError> =>
  Effect.gen(function* () {
    const runId = randomUUID()
    const results = new Map(recorder.results().map((r) => [`${r.schema}.${r.table}\u0000${r.column}`, r]))
    const kinds: Record<string, number> = {}
    let sampledRows = 0
    yield* query(client, "BEGIN")
    yield* query(
      client,
      `INSERT INTO ${RUNS_TABLE} (run_id, created_at, tool_version, record_format, provable, key_check, digest_bits, sample_rows)
       VALUES ($1, clock_timestamp(), $2, $3, $4, $5, $6, $7)`,
      [runId, toolVersion, RECORD_FORMAT, recorder.provable, key === undefined ? null : keyCheckOf(proofKeyOf(key)), DIGEST_BYTES * 8, PROOF_SAMPLE_ROWS]
    )
    for (const column of columns) {
      const dot = column.table.indexOf(".")
      const schema = column.table.slice(0, dot)
      const table = column.table.slice(dot + 1)
      const result = results.get(`${column.table}\u0000${column.column}`)
      const kind = column.strategy === "keep" ? "kept" : result === undefined ? "none" : result.kind
      kinds[kind] = (kinds[kind] ?? 0) + 1
      sampledRows += result?.digests.length === undefined ? 0 : result.digests.length / DIGEST_BYTES
      yield* query(
        client,
        `INSERT INTO ${PROOF_TABLE} (run_id, table_schema, table_name, column_name, strategy, follows_foreign_key, digest_kind,
           row_key_columns, row_key_types, row_keys, digests, value_threshold, eligible_values, unchanged_values)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12::numeric, $13, $14)`,
        [
          runId,
          schema,
          table,
          column.column,
          column.strategy,
          column.followsForeignKey ?? null,
          kind,
          result?.kind === "row" ? result.rowKeyColumns : null,
          result?.kind === "row" ? result.rowKeyTypes : null,
          result?.kind === "row" ? JSON.stringify(result.rowKeys) : null,
          result?.digests ?? null,
          result?.valueThreshold == null ? null : result.valueThreshold.toString(),
          result?.eligible ?? null,
          result?.unchanged ?? null
        ]
      )
    }
    // No foreign key between the two tables: the target's own constraints stay exactly the source's.
    const old = `SELECT run_id FROM ${RUNS_TABLE} WHERE run_id NOT IN (SELECT run_id FROM ${RUNS_TABLE} ORDER BY created_at DESC LIMIT ${RUNS_KEPT})`
    yield* query(client, `DELETE FROM ${PROOF_TABLE} WHERE run_id IN (${old})`)
    yield* query(client, `DELETE FROM ${RUNS_TABLE} WHERE run_id IN (${old})`)
    yield* query(client, "COMMIT")
    return { runId, provable: recorder.provable, columns: columns.length, sampledRows, digestKinds: kinds }
  }).pipe(
    Effect.catch((error) =>
      Effect.flatMap(
        Effect.promise(() => client.query("ROLLBACK").catch(() => {})),
        () =>
          Effect.fail(
            new HarnessError({
              reason: "CopyFailed",
              message: `the tables were copied, but the masking proof could not be written into the target: ${(error as Error).message ?? String(error)}`,
              cause: error
            })
          )
      )
    )
  )

// ---------------------------------------------------------------------------------------------
// Verifying

export interface VerifyOptions {
  /** DB_HARNESS_MASK_KEY's bytes; without it nothing can be checked (reported, never a pass). */
  readonly key: Uint8Array | undefined
  /** Row mode: recorded rows checked per column; value mode: target rows sampled per table. */
  readonly sampleSize: number
  readonly seed: number
  /** Check every recorded row (row mode) and every target row (value mode). */
  readonly full: boolean
}

export interface ProofRun {
  readonly runId: string
  readonly createdAt: string
  readonly toolVersion: string
  readonly provable: boolean
}

export interface ColumnVerdict {
  readonly table: string // schema.table
  readonly column: string
  readonly strategy: string
  readonly kind: "row" | "value" | "kept" | "none"
  /** Recorded rows (row mode) or sampled target values in the recorded range (value mode) checked. */
  readonly checked: number
  readonly matched: number
  /** Row mode: recorded rows no longer in the target. */
  readonly missing: number
}

export interface ProofVerification {
  /** A masking proof record exists in the target. */
  readonly present: boolean
  /** Stored runs, newest first; the first is the one checked. */
  readonly runs: ReadonlyArray<ProofRun>
  readonly columns: ReadonlyArray<ColumnVerdict>
  readonly findings: ReadonlyArray<Finding>
  readonly notes: ReadonlyArray<string>
}

export const SURVIVED_RULE = "pii/source-value-survived"
export const UNVERIFIABLE_RULE = "pii/masking-proof-unverifiable"
export const INCONCLUSIVE_RULE = "pii/masking-proof-inconclusive"

/**
 * When a column fails: at least `max(1, ceil(0.5% of checked))` matches.
 * - Clean columns give no matches except by a 32-bit digest collision (2^-32 per checked row:
 *   below 1 in 4 million per column of 1,024 rows) or by masking that returned the row's own
 *   value in a different spelling (rare: unchanged values are not sampled at all).
 * - A leak of a share p of a column's rows gives about p × checked matches: with 1,024 recorded
 *   rows the bar is 6 matches, so a 2% leak (about 20 matches) fails with probability above
 *   0.999 and a 1% leak (about 10) with about 0.93; on a small table one surviving row fails.
 * Matches below the bar are reported as notes.
 */
export const failsAt = (checked: number): number => Math.max(1, Math.ceil(checked * 0.005))
/** Value mode needs this many checkable target values before a clean result means something. */
const MIN_CHECKABLE = 30
/** Row mode: a share of recorded rows missing in the target above this is reported. */
const MISSING_SHARE = 0.1

interface ProofRow {
  readonly table_schema: string
  readonly table_name: string
  readonly column_name: string
  readonly strategy: string
  readonly digest_kind: "row" | "value" | "kept" | "none"
  readonly row_key_columns: ReadonlyArray<string> | null
  readonly row_key_types: ReadonlyArray<string> | null
  readonly row_keys: ReadonlyArray<ReadonlyArray<string>> | null
  readonly digests: Buffer | null
  readonly value_threshold: string | null
}

/** A small seeded generator (mulberry32), so a sampled check is reproducible from its seed. */
const seeded = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** `count` distinct indexes of `[0, n)` chosen by the seed, in ascending order. */
const chooseIndexes = (n: number, count: number, seed: number): Array<number> => {
  const all = Array.from({ length: n }, (_, i) => i)
  if (count >= n) return all
  const random = seeded(seed)
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (n - i))
    const t = all[i]!
    all[i] = all[j]!
    all[j] = t
  }
  return all.slice(0, count).sort((a, b) => a - b)
}

const checkRowColumn = (client: pg.Client, proofKey: Buffer, row: ProofRow, options: VerifyOptions) =>
  Effect.gen(function* () {
    const label = `${row.table_schema}.${row.table_name}`
    const keys = row.row_keys ?? []
    const digests = row.digests ?? Buffer.alloc(0)
    const chosen = options.full ? keys.map((_, i) => i) : chooseIndexes(keys.length, options.sampleSize, options.seed)
    const digest = keyedFunctions(proofKey).row(label, row.column_name)
    const keyColumns = row.row_key_columns ?? []
    const keyTypes = row.row_key_types ?? []
    const join = keyColumns.map((name, i) => `t.${quoteIdent(name)} = (k.key->>${i})::${keyTypes[i]}`).join(" AND ")
    const result = yield* query(
      client,
      `SELECT k.n::int AS n, format('%s', t.${quoteIdent(row.column_name)}) AS v
         FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS k(key, n)
         JOIN ${tableKey(row.table_schema, row.table_name)} t ON ${join}`,
      [JSON.stringify(chosen.map((i) => keys[i]))]
    )
    let matched = 0
    for (const found of result.rows as Array<{ n: number; v: string | null }>) {
      if (found.v === null) continue
      const index = chosen[found.n - 1]!
      const expected = digests.subarray(index * DIGEST_BYTES, (index + 1) * DIGEST_BYTES)
      if (expected.length === DIGEST_BYTES && expected.readUInt32BE(0) === digest(rowKeyText(keys[index]!), found.v)) matched++
    }
    return { checked: result.rows.length, matched, missing: chosen.length - result.rows.length }
  })

const checkValueColumn = (client: pg.Client, proofKey: Buffer, row: ProofRow, options: VerifyOptions) =>
  Effect.gen(function* () {
    const label = `${row.table_schema}.${row.table_name}`
    const name = tableKey(row.table_schema, row.table_name)
    const column = quoteIdent(row.column_name)
    let from = name
    if (!options.full) {
      const estimate = yield* query(client, `SELECT greatest(reltuples, 0)::float8 AS n FROM pg_class WHERE oid = $1::regclass`, [name])
      let rows = (estimate.rows[0] as { n: number } | undefined)?.n ?? 0
      if (rows <= 0) rows = Number(((yield* query(client, `SELECT count(*) AS n FROM ${name}`)).rows[0] as { n: string }).n)
      const percent = Math.min(100, (100 * options.sampleSize) / Math.max(1, rows))
      from = `${name} TABLESAMPLE BERNOULLI (${percent}) REPEATABLE (${Math.trunc(options.seed)})`
    }
    const result = yield* query(client, `SELECT format('%s', ${column}) AS v FROM ${from} WHERE ${column} IS NOT NULL`)
    const threshold = BigInt(row.value_threshold ?? "0")
    const recorded = new Set<number>()
    const digests = row.digests ?? Buffer.alloc(0)
    for (let i = 0; i + DIGEST_BYTES <= digests.length; i += DIGEST_BYTES) recorded.add(digests.readUInt32BE(i))
    const keyed = keyedFunctions(proofKey)
    const select = keyed.select(label, row.column_name)
    const digest = keyed.value(label, row.column_name)
    let checked = 0
    let matched = 0
    for (const { v } of result.rows as Array<{ v: string }>) {
      if (select(v) > threshold) continue
      checked++
      if (recorded.has(digest(v))) matched++
    }
    return { checked, matched, missing: 0 }
  })

/**
 * Check the latest masking proof in `target`: read-only (one read-only transaction). Findings:
 * `pii/source-value-survived` (breaking) per column where source values are back;
 * `pii/masking-proof-unverifiable` (hazard) when the run had no key, no key is given, or it is
 * not the run's key; `pii/masking-proof-inconclusive` (hazard) when a recorded table or column is
 * gone, many recorded rows are missing, or a value-mode sample held too few checkable values.
 */
export const verifyMaskingProof = (target: Endpoint, options: VerifyOptions): Effect.Effect<ProofVerification, HarnessError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const client = yield* pgClient(target, "db-harness masking proof")
      const failed = (error: unknown) =>
        new HarnessError({ reason: "Connection", message: `${target.label}: reading the masking proof failed: ${(error as Error).message ?? String(error)}`, cause: error })
      const run = <A>(effect: Effect.Effect<A, Error>) => Effect.mapError(effect, failed)
      yield* run(query(client, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
      yield* Effect.addFinalizer(() => Effect.promise(() => client.query("ROLLBACK").catch(() => {})))
      for (const [name, value] of Object.entries(CANONICAL_SESSION_SETTINGS)) yield* run(query(client, `SET LOCAL ${name} = '${value}'`))

      const exists = yield* run(query(client, `SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AS ok`, [RUNS_TABLE, PROOF_TABLE]))
      if ((exists.rows[0] as { ok: boolean }).ok !== true) {
        return {
          present: false,
          runs: [],
          columns: [],
          findings: [],
          notes: [`no masking proof in ${target.label}: it was not written by a masked propagate of this version (or the proof was skipped)`]
        } satisfies ProofVerification
      }
      const runRows = (yield* run(
        query(client, `SELECT run_id::text, created_at, tool_version, provable, key_check FROM ${RUNS_TABLE} ORDER BY created_at DESC`)
      )).rows as Array<{ run_id: string; created_at: Date; tool_version: string; provable: boolean; key_check: Buffer | null }>
      const runs: Array<ProofRun> = runRows.map((r) => ({
        runId: r.run_id,
        createdAt: r.created_at.toISOString(),
        toolVersion: r.tool_version,
        provable: r.provable
      }))
      const latest = runRows[0]
      if (latest === undefined) {
        return { present: false, runs, columns: [], findings: [], notes: [`no masking proof in ${target.label}: its proof tables are empty`] } satisfies ProofVerification
      }
      const proofRows = (yield* run(
        query(
          client,
          `SELECT table_schema, table_name, column_name, strategy, digest_kind, row_key_columns, row_key_types, row_keys, digests,
                  value_threshold::text AS value_threshold
             FROM ${PROOF_TABLE} WHERE run_id = $1 ORDER BY table_schema, table_name, column_name`,
          [latest.run_id]
        )
      )).rows as Array<ProofRow>
      const findings: Array<Finding> = []
      const notes: Array<string> = []
      const columns: Array<ColumnVerdict> = []
      const runText = `masking run ${latest.run_id} of ${latest.created_at.toISOString()}`
      const database = { kind: "database", name: target.database }
      const unverifiable = (why: string, after: string) => {
        findings.push(
          finding({
            rule: UNVERIFIABLE_RULE,
            severity: "hazard",
            object: database,
            before: null,
            after,
            message: `no proof possible that the masking of ${runText} holds: ${why}`,
            hint: "run propagate --mask-pii with DB_HARNESS_MASK_KEY set, and give the verifier the same key",
            details: { runId: latest.run_id, columns: proofRows.length }
          })
        )
      }
      const kept = proofRows.filter((r) => r.digest_kind === "kept")
      if (kept.length > 0) {
        notes.push(`kept by rule, not masked, so not part of the proof: ${kept.map((r) => `${r.table_schema}.${r.table_name}.${r.column_name}`).join(", ")}`)
      }
      if (!latest.provable) {
        unverifiable("that run had no DB_HARNESS_MASK_KEY (it masked with a random key), so it recorded no digests", "run without key")
        return { present: true, runs, columns, findings, notes } satisfies ProofVerification
      }
      if (options.key === undefined) {
        unverifiable("no DB_HARNESS_MASK_KEY was given to check it with", "no key given")
        return { present: true, runs, columns, findings, notes } satisfies ProofVerification
      }
      const proofKey = proofKeyOf(options.key)
      if (latest.key_check === null || !timingSafeEqual(latest.key_check, keyCheckOf(proofKey))) {
        unverifiable("the DB_HARNESS_MASK_KEY given is not the key that run masked with", "wrong key")
        return { present: true, runs, columns, findings, notes } satisfies ProofVerification
      }

      const present = yield* run(
        query(
          client,
          `SELECT n.nspname AS s, c.relname AS t, a.attname AS c
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE a.attnum > 0 AND NOT a.attisdropped AND (n.nspname, c.relname, a.attname) IN
                  (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))`,
          [proofRows.map((r) => r.table_schema), proofRows.map((r) => r.table_name), proofRows.map((r) => r.column_name)]
        )
      )
      const existing = new Set((present.rows as Array<{ s: string; t: string; c: string }>).map((r) => `${r.s}.${r.t}\u0000${r.c}`))
      for (const row of proofRows) {
        if (row.digest_kind === "kept") continue
        const label = `${row.table_schema}.${row.table_name}`
        const object = { kind: "column", schema: row.table_schema, table: row.table_name, column: row.column_name }
        if (row.digest_kind === "none") {
          notes.push(`${label}.${row.column_name}: masked by rule, but the run copied no rows of it (a partitioned parent, or a table left out by the filters): nothing recorded`)
          continue
        }
        if (!existing.has(`${label}\u0000${row.column_name}`)) {
          findings.push(
            finding({
              rule: INCONCLUSIVE_RULE,
              severity: "hazard",
              object,
              before: null,
              after: "missing",
              message: `${label}.${row.column_name} was masked by ${runText} but is no longer in the target, so it cannot be checked`
            })
          )
          continue
        }
        const counts = row.digest_kind === "row"
          ? yield* run(checkRowColumn(client, proofKey, row, options))
          : yield* run(checkValueColumn(client, proofKey, row, options))
        columns.push({ table: label, column: row.column_name, strategy: row.strategy, kind: row.digest_kind, ...counts })
        const ratio = counts.checked === 0 ? 0 : counts.matched / counts.checked
        const details = {
          matched: counts.matched,
          checked: counts.checked,
          ratio: Number(ratio.toFixed(4)),
          missing: counts.missing,
          digestKind: row.digest_kind,
          strategy: row.strategy,
          runId: latest.run_id,
          failsAt: failsAt(counts.checked)
        }
        const byValue = row.digest_kind === "value" ? " (checked by value: the table has no primary key, so a fake equal to a real value counts too)" : ""
        if (counts.matched > 0 && counts.matched >= failsAt(counts.checked)) {
          findings.push(
            finding({
              rule: SURVIVED_RULE,
              severity: "breaking",
              object,
              before: "masked",
              after: "source values",
              message: `${label}.${row.column_name}: ${counts.matched} of ${counts.checked} checked values (${(ratio * 100).toFixed(1)}%) are the source's values again, although ${runText} masked the column (${row.strategy})${byValue}`,
              hint: "rerun propagate --mask-pii and find what wrote source data into this target after the masked copy",
              details
            })
          )
        } else if (counts.matched > 0) {
          notes.push(`${label}.${row.column_name}: ${counts.matched} of ${counts.checked} checked values match the source, below the ${failsAt(counts.checked)} that fail a column`)
        }
        if (row.digest_kind === "row" && counts.missing > 0 && counts.missing >= MISSING_SHARE * (counts.checked + counts.missing)) {
          findings.push(
            finding({
              rule: INCONCLUSIVE_RULE,
              severity: "hazard",
              object,
              before: null,
              after: "rows missing",
              message: `${label}.${row.column_name}: ${counts.missing} of ${counts.checked + counts.missing} recorded rows are no longer in the target (deleted, or their key changed), so they cannot be checked`,
              details
            })
          )
        }
        if (row.digest_kind === "value" && counts.checked < MIN_CHECKABLE) {
          findings.push(
            finding({
              rule: INCONCLUSIVE_RULE,
              severity: "hazard",
              object,
              before: null,
              after: "too few checkable values",
              message: `${label}.${row.column_name}: only ${counts.checked} sampled values could be checked (the table has no primary key, so it is checked by value); check every row (full) or add a primary key`,
              details
            })
          )
        }
      }
      return { present: true, runs, columns, findings, notes } satisfies ProofVerification
    })
  )

// ---------------------------------------------------------------------------------------------
// Detection and proof together

/**
 * The detectors' findings on a masked target, judged with the proof (`detect-pii` runs both).
 * Masked values look exactly like personal data (a fake name is still a name), so a detector's
 * finding on a column the proof checked and found clean is `info` ("masked, proven"); on a
 * column the rules kept it is a `hazard` (a documented decision, reported, not blocking). Every
 * other detector finding keeps its severity: a column the proof does not cover, or could not
 * check (no key, rows missing, a leak), is judged on its values alone. The proof's own findings
 * are appended.
 */
export const judgeWithProof = (detected: ReadonlyArray<Finding>, proof: ProofVerification): ReadonlyArray<Finding> => {
  const pathOf = (table: string | undefined, column: string | undefined) => `${table ?? ""}\u0000${column ?? ""}`
  const findingPath = (f: Finding) => pathOf(f.object.schema === undefined ? f.object.table : `${f.object.schema}.${f.object.table}`, f.object.column)
  // A proof finding on a column (or on the whole database: no key) leaves that column unproven.
  const unproven = new Set(proof.findings.map(findingPath))
  const databaseWide = proof.findings.some((f) => f.object.table === undefined)
  const verdicts = new Map(proof.columns.map((c) => [pathOf(c.table, c.column), c]))
  const judged = detected.map((f): Finding => {
    const verdict = verdicts.get(findingPath(f))
    if (verdict === undefined || f.severity !== "breaking") return f
    if (verdict.kind === "kept") {
      return {
        ...f,
        severity: "hazard",
        message: `${f.message}; kept unmasked by the masking rules (strategy ${verdict.strategy})`,
        details: { ...f.details, maskingProof: "kept" }
      }
    }
    if ((verdict.kind === "row" || verdict.kind === "value") && verdict.checked > 0 && !databaseWide && !unproven.has(findingPath(f))) {
      return {
        ...f,
        severity: "info",
        message: `${f.message}; masked (${verdict.strategy}): the masking proof found ${verdict.matched} of ${verdict.checked} checked values to be the source's`,
        details: { ...f.details, maskingProof: "masked", proofChecked: verdict.checked, proofMatched: verdict.matched }
      }
    }
    return f
  })
  return [...judged, ...proof.findings]
}
