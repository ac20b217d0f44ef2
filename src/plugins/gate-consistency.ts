/**
 * `consistency`: referential integrity and row counts of TARGET after a migration, against SOURCE
 * (the backup taken just before). Orphan rows for every foreign key TARGET declares, every key
 * SOURCE declares that TARGET lost, and every logical key of the options; row counts of every
 * table both sides have, within a tolerance. The logic is src/engine/consistency.ts; this file is
 * the gate as a plugin, so a `gate run` pipeline composes it like any other gate.
 *
 * Both sides must be live. The queries run through the sides' query functions: bounding them
 * (statement timeout) and running them at one snapshot is the caller's job, as
 * src/engine/consistency-sessions.ts does for `db-harness consistency`; with a single-session
 * query function the checks simply run one after another.
 */
import * as Effect from "effect/Effect"
import { DEFAULT_JOBS, DEFAULT_SAMPLES, DEFAULT_TOLERANCE, runConsistency } from "../engine/consistency.ts"
import { badInput } from "../engine/errors.ts"
import { definePlugin, Schema } from "../engine/plugin.ts"

const Fraction = Schema.Number.check(Schema.isFinite(), Schema.isGreaterThanOrEqualTo(0))
const Columns = Schema.Array(Schema.NonEmptyString).check(Schema.isMinLength(1))

export default definePlugin({
  name: "consistency",
  kind: "gate",
  description: "Orphan rows of every foreign key (declared, lost since SOURCE, logical) and row counts against SOURCE within a tolerance.",
  options: Schema.Struct({
    /** Row-count tolerance as a fraction (0.05 = 5%); default 0.05. */
    tolerance: Schema.optionalKey(Fraction),
    /** Per-table tolerances, first matching glob wins. */
    tolerances: Schema.optionalKey(Schema.Array(Schema.Struct({ table: Schema.NonEmptyString, tolerance: Fraction, origin: Schema.optionalKey(Schema.String) }))),
    /** `schema.table` globs (or a bare table name) left out of both checks. */
    exclude: Schema.optionalKey(Schema.Array(Schema.String)),
    logicalForeignKeys: Schema.optionalKey(
      Schema.Array(
        Schema.Struct({
          name: Schema.optionalKey(Schema.NonEmptyString),
          table: Schema.NonEmptyString,
          columns: Columns,
          references: Schema.Struct({ table: Schema.NonEmptyString, columns: Columns }),
          match: Schema.optionalKey(Schema.Literals(["simple", "full"])),
          origin: Schema.optionalKey(Schema.String)
        })
      )
    ),
    /** Fall back to catalog estimates when an exact count hits the statement timeout. */
    estimates: Schema.optionalKey(Schema.Boolean),
    jobs: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 64 }))),
    samples: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 100 }))),
    /** Column-name patterns, besides the shipped baseline's, whose sample values are masked. */
    personalNames: Schema.optionalKey(Schema.Array(Schema.NonEmptyString)),
    /** Child tables estimated at fewer rows are checked by the anti-join alone, never by the parent's keys (key range, key list or the child index's gaps). */
    keyRangeMinRows: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)))
  }),
  make: (options) => {
    const settings = {
      tolerance: options.tolerance ?? DEFAULT_TOLERANCE,
      tolerances: options.tolerances ?? [],
      exclude: options.exclude ?? [],
      logicalForeignKeys: options.logicalForeignKeys ?? [],
      estimates: options.estimates ?? false,
      jobs: options.jobs ?? DEFAULT_JOBS,
      samples: options.samples ?? DEFAULT_SAMPLES,
      personalNames: options.personalNames ?? [],
      ...(options.keyRangeMinRows === undefined ? {} : { keyRangeMinRows: options.keyRangeMinRows })
    }
    return {
      run: ({ source, target }) =>
        Effect.gen(function* () {
          if (source === null) return yield* badInput("the consistency gate compares TARGET with SOURCE: it needs a SOURCE")
          return (yield* runConsistency(source, target, settings)).findings
        })
    }
  }
})
