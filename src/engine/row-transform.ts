/**
 * The per-table row transform: the table's COPY codec (binary or text) with the table's stages
 * between parser and encoder. Each stage gets a view of the batch limited to the columns it
 * declared, so it cannot read a field nobody asked the codec to find; a table with no stage still
 * goes through the parser, which only walks field lengths, so rows are counted exactly and
 * batches stay row-aligned at no measurable cost.
 */
import { hasBinaryTextCodec } from "./binary-values.ts"
import { makeCopyCodec } from "./copy-codec.ts"
import { HarnessError } from "./errors.ts"
import type { TablePlan } from "./propagate-plan.ts"
import { restrictColumns } from "./row-batch.ts"
import type { RowBatch, StageColumn } from "./stage.ts"
import type { RowTransform } from "./table-copy.ts"

/** Types whose binary form is their UTF-8 text, so a stage's text view of them costs nothing extra. */
const TEXT_IN_BINARY = new Set(["text", "character varying", "character", "bpchar", "citext", "name", "json", "jsonb"])

/**
 * Whether a column a stage touches may stay in binary format. Only when its binary form is its
 * text: other types (dates, timestamps, numerics, ...) would be converted binary -> text -> binary
 * in JavaScript for every value, which PostgreSQL's own text input does faster on the target
 * (a 500,000-row table with 5 masked columns: 9.5 s in binary, 7.2 s in text format).
 */
export const hasBinaryConverter = (column: StageColumn): boolean =>
  hasBinaryTextCodec(column) && (column.isEnum === true || TEXT_IN_BINARY.has(column.baseType))

export const rowTransformFor = (table: TablePlan) => (): RowTransform => {
  const position = new Map(table.stageTable.columns.map((column, index) => [column.name, index]))
  const declared = table.stages.map((stage) => new Set(stage.table.columns.map((name) => position.get(name)!)))
  const codec = makeCopyCodec(table.format, table.stageTable, new Set(declared.flatMap((set) => [...set])))
  const process = table.stages.map((stage) => stage.table.process)
  const runStage = (i: number, batch: RowBatch) => {
    try {
      process[i]!(batch)
    } catch (cause) {
      // A stage's bug or refusal must name the stage; the copy of this table is then rolled back.
      throw new HarnessError({
        reason: "Internal",
        message: `stage ${table.stages[i]!.name} failed on ${table.label}: ${(cause as Error)?.message ?? String(cause)}`,
        cause
      })
    }
  }
  // The codec hands out the same batch object every time, so the per-stage views are made once.
  let views: ReadonlyArray<RowBatch> | undefined
  return {
    push: (chunk) => {
      const batch = codec.push(chunk)
      if (batch === undefined) return undefined
      if (process.length > 0) {
        views ??= declared.map((columns) => restrictColumns(batch, table.stageTable, columns))
        for (let i = 0; i < process.length; i++) runStage(i, views[i]!)
      }
      return batch.encode()
    },
    end: () => codec.end(),
    rowsIn: () => codec.counts.rowsIn,
    rowsOut: () => codec.counts.rowsOut
  }
}
