/**
 * Per-table row transforms: the COPY codec for the table's format with the table's stages.
 * (Temporary pass-through until the codec lands.)
 */
import type { TablePlan } from "./propagate-plan.ts"
import type { StageColumn } from "./stage.ts"
import type { RowTransform } from "./table-copy.ts"

export const hasBinaryConverter = (_column: StageColumn) => false

export const rowTransformFor = (_table: TablePlan) => (): RowTransform => ({
  push: (chunk) => chunk,
  end: () => undefined,
  rowsIn: () => 0,
  rowsOut: () => 0
})
