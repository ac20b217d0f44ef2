/**
 * `db-harness demo`: the first thing a newcomer runs. Starts the embedded PostgreSQL, builds a
 * realistic shop as "prod" and an empty "dev" with the same schema, runs `propagate` with its live
 * progress, and tells what it did and where the evidence is. Everything is thrown away at the end
 * unless --keep is given (then the server keeps running until Ctrl-C).
 */
import * as Effect from "effect/Effect"
import { Command, Flag } from "effect/cli"
import { availableParallelism } from "node:os"
import { resolveEndpoint } from "../../engine/connection.ts"
import { createDemoShopSchema, loadDemoShop } from "../../engine/demo-shop.ts"
import { embeddedPostgres } from "../../engine/embedded-postgres.ts"
import { badInput } from "../../engine/errors.ts"
import { DEFAULT_EVIDENCE_DIR } from "../../engine/evidence.ts"
import { DEFAULT_SPLIT_ROWS } from "../../engine/propagate.ts"
import { DEFAULT_PROTECTED_TARGETS } from "../../engine/target-safety.ts"
import { CliEnvironment } from "../cli-environment.ts"
import { logLine, printLine, style } from "../output.ts"
import { formatCount } from "../progress.ts"
import { runPropagate } from "./propagate.ts"
import pg from "pg"

const rows = Flag.Int("rows").pipe(
  Flag.withDescription("orders in the demo shop (customers, items and payments scale with it; default 100000, about 470,000 rows in all)"),
  Flag.withDefault(100_000)
)
const evidenceDir = Flag.String("evidence-dir").pipe(
  Flag.withDescription(`where the evidence file goes (default ${DEFAULT_EVIDENCE_DIR})`),
  Flag.withDefault(DEFAULT_EVIDENCE_DIR)
)
const keep = Flag.Boolean("keep").pipe(
  Flag.withDescription("keep the embedded server running afterwards and print its URLs (stop with Ctrl-C)"),
  Flag.withDefault(false)
)

const createDatabase = (adminUrl: string, name: string) =>
  Effect.promise(async () => {
    const client = new pg.Client({ connectionString: adminUrl })
    await client.connect()
    try {
      await client.query(`CREATE DATABASE ${name}`)
    } finally {
      await client.end()
    }
  })

export const demoCommand = Command.make("demo", { rows, evidenceDir, keep }, (flags) =>
  Effect.scoped(
    Effect.gen(function* () {
      if (flags.rows < 1) return yield* badInput(`--rows must be at least 1, got ${flags.rows}`)
      const cli = yield* CliEnvironment
      const s = yield* style
      yield* logLine(s.bold("db-harness demo") + s.dim(": an embedded PostgreSQL, a shop as prod, an empty dev, one propagate"))
      const started = Date.now()
      const server = yield* embeddedPostgres()
      yield* logLine(`started PostgreSQL on 127.0.0.1:${server.port} in ${((Date.now() - started) / 1000).toFixed(1)}s`)
      yield* createDatabase(server.adminUrl, "shop_prod")
      yield* createDatabase(server.adminUrl, "shop_dev")
      const loading = Date.now()
      const counts = yield* loadDemoShop(server.urlFor("shop_prod"), { rows: flags.rows })
      yield* createDemoShopSchema(server.urlFor("shop_dev"))
      yield* logLine(
        `built shop_prod in ${((Date.now() - loading) / 1000).toFixed(1)}s: ` +
          Object.entries(counts).map(([table, n]) => `${table} ${formatCount(n)}`).join(", ") +
          "; shop_dev has the same schema and no rows"
      )
      yield* logLine(s.bold(`\n$ db-harness propagate shop_prod shop_dev`))
      const result = yield* runPropagate({
        source: yield* resolveEndpoint(server.urlFor("shop_prod"), cli.env),
        target: yield* resolveEndpoint(server.urlFor("shop_dev"), cli.env),
        jobs: availableParallelism(),
        splitRows: DEFAULT_SPLIT_ROWS,
        include: [],
        exclude: [],
        dryRun: false,
        json: false,
        quiet: false,
        evidenceDir: flags.evidenceDir,
        protectedTargets: DEFAULT_PROTECTED_TARGETS,
        allowProtectedTarget: false,
        stages: []
      })
      yield* printLine("")
      yield* printLine(
        `Every table of shop_prod was copied into shop_dev at snapshot ${result.snapshotId}, ` +
          `foreign keys re-validated, sequences set. The evidence file lists rows, bytes and a digest per table.`
      )
      if (flags.keep) {
        yield* printLine(`prod: ${server.urlFor("shop_prod")}\ndev:  ${server.urlFor("shop_dev")}\n(Ctrl-C to stop the server)`)
        yield* Effect.never
      }
    })
  )
).pipe(Command.withDescription("Run propagate on a demo shop in an embedded PostgreSQL (nothing to install)"))
