/**
 * PII detection inside `propagate --mask-pii`: a stage placed after masking that runs the detectors
 * on a sample of the rows as they stream, on the text columns no masking rule touched (a free-text
 * `notes` column full of e-mail addresses that the name-based pre-check could not see). Masked
 * columns are not scanned (their fake values look personal by design), nor columns a rule keeps
 * on purpose (`keep` is how a team says "not personal").
 *
 * Cost stays a few percent of the copy: only text-like columns are declared (so no table leaves
 * the binary COPY format for it), the first rows of a table and then one row in `every` are
 * tested, at most `perBatch` values per column and batch, and a column stops being sampled after
 * `maxValues`. The decision is the same as `detect-pii`'s (pii-detect.ts), re-taken after every
 * batch; once a column is flagged the stage throws, which rolls back that table's load (the
 * leaked rows never commit) and fails the run with exit 4 (a `PiiDetected` HarnessError).
 */
import * as Effect from "effect/Effect"
import { leafTables, type Catalog } from "./catalog.ts"
import { HarnessError } from "./errors.ts"
import { columnScan, decisionFinding, detectColumn, type ColumnScan, type NamedDetector } from "./pii-detect.ts"
import type { SourceQuery, StageFactory } from "./propagate.ts"
import type { RowBatch, Stage } from "./stage.ts"

export interface StreamDetectionOptions {
  /** Every row of a table's first `head` rows is tested. */
  readonly head: number
  /** After the head, one row in `every`. */
  readonly every: number
  /** At most this many values per column and batch. */
  readonly perBatch: number
  /** A column is not sampled further after this many values. */
  readonly maxValues: number
}

export const DEFAULT_STREAM_DETECTION: StreamDetectionOptions = { head: 500, every: 50, perBatch: 64, maxValues: 20_000 }

const TEXT_TYPES = new Set(["text", "character varying", "character", "bpchar", "citext", "json", "jsonb", "varchar"])

/** The evidence a masking factory records: which columns it masked or kept (masking.ts). */
interface MaskingColumns {
  readonly columns?: ReadonlyArray<{ readonly table: string; readonly column: string }>
}

/** The detection stage for one source catalog; `covered` holds `schema.table\0column` of masked and kept columns. */
export const makeDetectionStage = (
  catalog: Catalog,
  detectors: ReadonlyArray<NamedDetector>,
  covered: ReadonlySet<string>,
  options: StreamDetectionOptions = DEFAULT_STREAM_DETECTION
): Stage => {
  const tables = new Map(leafTables(catalog).map((t) => [`${t.schema}.${t.name}`, t]))
  return {
    name: "pii-detect",
    forTable: (stageTable) => {
      const label = `${stageTable.schema}.${stageTable.name}`
      const table = tables.get(label)
      if (table === undefined) return undefined
      const indexes: Array<number> = []
      const scans: Array<ColumnScan> = []
      stageTable.columns.forEach((column, index) => {
        if (!TEXT_TYPES.has(column.baseType) || covered.has(`${label}\u0000${column.name}`)) return
        const catalogColumn = table.columns.find((c) => c.name === column.name)
        if (catalogColumn === undefined) return
        const scan = columnScan(detectors, detectColumn(catalog, table, catalogColumn), { integerKey: false })
        if (scan === undefined) return
        indexes.push(index)
        scans.push(scan)
      })
      if (scans.length === 0) return undefined
      let row = 0 // rows of this table seen by the stage, across batches
      let nextSampled = 0
      const process = (batch: RowBatch) => {
        const taken = new Int32Array(scans.length)
        const rows = batch.rowCount
        for (let r = 0; r < rows; r++, row++) {
          if (row < nextSampled) continue
          nextSampled = row < options.head ? row + 1 : row + options.every
          if (batch.isDropped(r)) continue
          for (let c = 0; c < scans.length; c++) {
            const scan = scans[c]!
            if (taken[c]! >= options.perBatch || scan.seen() >= options.maxValues) continue
            const value = batch.getText(r, indexes[c]!)
            if (value === null || value === "") continue
            taken[c]!++
            scan.add(value)
          }
        }
        for (const scan of scans) {
          const decision = scan.decide()
          if (decision === undefined || decision.confidence === "low") continue
          const finding = decisionFinding(decision)
          throw new HarnessError({
            reason: "PiiDetected",
            message:
              `PII survived masking in ${label}.${decision.column}: ${finding.message}. ` +
              `No masking rule covers this column; add one (or a keep rule with a reason if it is not personal). ` +
              `The table's load was rolled back`,
            cause: finding
          })
        }
      }
      return {
        columns: indexes.map((i) => stageTable.columns[i]!.name),
        process,
        finish: () =>
          Effect.succeed({
            sampledValues: scans.reduce((sum, s) => sum + s.seen(), 0),
            columns: scans.map((s) => s.column.name)
          })
      }
    }
  }
}

/**
 * The masking factory and, after it, the detection factory: the second learns from the first
 * which columns masking covers, so it scans only the others. Stage order follows the list, so the
 * detectors see rows after masking.
 */
export const withLeakDetection = (
  masking: StageFactory,
  detectors: ReadonlyArray<NamedDetector>,
  options: StreamDetectionOptions = DEFAULT_STREAM_DETECTION
): ReadonlyArray<StageFactory> => {
  let covered: ReadonlySet<string> = new Set()
  return [
    {
      name: masking.name,
      make: (catalog: Catalog, query: SourceQuery) =>
        Effect.tap(masking.make(catalog, query), (made) =>
          Effect.sync(() => {
            const columns = (made.evidence as MaskingColumns | undefined)?.columns ?? []
            covered = new Set(columns.map((c) => `${c.table}\u0000${c.column}`))
          })
        )
    },
    {
      name: "piiDetection",
      make: (catalog: Catalog) =>
        Effect.succeed({
          stage: makeDetectionStage(catalog, detectors, covered, options),
          evidence: { sampling: options, detectors: detectors.map((d) => d.plugin) }
        })
    }
  ]
}
