/**
 * `drift`: the schema drift gate. Compares SOURCE's schema with TARGET's (diffSchemas), then,
 * when TARGET is live, settles data-aware findings by querying it (applyDataChecks: are there
 * NULLs, orphans, duplicates, used enum values?). Written through the public plugin API, so a
 * `gate run` pipeline composes it like any other gate; `db-harness drift` runs it too.
 */
import * as Effect from "effect/Effect"
import { applyDataChecks } from "../engine/drift-data-checks.ts"
import { badInput } from "../engine/errors.ts"
import { definePlugin, Schema } from "../engine/plugin.ts"
import { diffSchemas } from "../engine/schema-diff.ts"

export default definePlugin({
  name: "drift",
  kind: "gate",
  description: "Schema drift between SOURCE and TARGET, classified breaking / hazard / performance / info.",
  options: Schema.Struct({
    /** Compare grants (table, column, schema, routine); off by default, as environments often differ on purpose. */
    includePrivileges: Schema.optionalKey(Schema.Boolean),
    includeOwners: Schema.optionalKey(Schema.Boolean),
    includeComments: Schema.optionalKey(Schema.Boolean),
    /** `schema.table` globs (or a bare name, any schema) whose findings are left out. */
    exclude: Schema.optionalKey(Schema.Array(Schema.String))
  }),
  make: (options) => {
    const driftOptions = {
      includePrivileges: options.includePrivileges ?? false,
      includeOwners: options.includeOwners ?? false,
      includeComments: options.includeComments ?? false,
      exclude: options.exclude ?? []
    }
    return {
      run: ({ source, target }) =>
        Effect.gen(function* () {
          if (source === null) return yield* badInput("the drift gate compares two databases: it needs a SOURCE")
          const findings = diffSchemas(source.catalog, target.catalog, driftOptions)
          // Data-aware checks need TARGET's rows; a snapshot file has none, so its findings stay as classified.
          if (target.query === null) return findings
          return yield* applyDataChecks(findings, source.catalog, target.catalog, target.query)
        })
    }
  }
})
