/**
 * `db-harness demo`: the first thing a newcomer runs. Starts the embedded PostgreSQL, builds a
 * realistic shop as "prod" and an empty "dev" with the same schema, runs `propagate --mask-pii`
 * with the example project rules (rules/examples/masking_rules.yaml, the shipped file that covers
 * every personal column of the shop, card_last4 included) and a fixed demo key, with its live
 * progress, then shows a few customers before and after masking and which rule masked which
 * column. Everything is thrown away at the end unless --keep is given (then the server keeps
 * running until Ctrl-C).
 */
import * as Effect from "effect/Effect"
import { Command, Flag } from "effect/cli"
import { availableParallelism } from "node:os"
import { fileURLToPath } from "node:url"
import { resolveEndpoint } from "../../engine/connection.ts"
import { createDemoShopSchema, loadDemoShop } from "../../engine/demo-shop.ts"
import { embeddedPostgres } from "../../engine/embedded-postgres.ts"
import { badInput } from "../../engine/errors.ts"
import { DEFAULT_EVIDENCE_DIR } from "../../engine/evidence.ts"
import { DEFAULT_SPLIT_ROWS } from "../../engine/propagate.ts"
import { DEFAULT_PROTECTED_TARGETS } from "../../engine/target-safety.ts"
import { CliEnvironment } from "../cli-environment.ts"
import { formatTable, logLine, printLine, style } from "../output.ts"
import { formatCount } from "../progress.ts"
import { maskingFactory, runPropagate } from "./propagate.ts"
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

const DEMO_RULES = fileURLToPath(new URL("../../../rules/examples/masking_rules.yaml", import.meta.url))
/** A fixed key, so the demo masks the same way every time; real runs bring their own secret. */
const DEMO_MASK_KEY = "db-harness demo key (not a secret)"
const SAMPLE_CUSTOMERS = 4
const SAMPLE_COLUMNS = ["name", "email", "phone", "city", "birth_date", "signup_ip"] as const
type SampleRow = Readonly<Record<"id" | (typeof SAMPLE_COLUMNS)[number], string | null>>

/** The first customers (by id, which is not masked, so the same rows are found in dev) as text. */
const sampleCustomers = (url: string) =>
  Effect.promise(async () => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      const result = await client.query<SampleRow>(
        `SELECT id::text, first_name || ' ' || last_name AS name, email::text, phone, city, birth_date::text, host(signup_ip) AS signup_ip
         FROM customers ORDER BY id LIMIT ${SAMPLE_CUSTOMERS}`
      )
      return result.rows
    } finally {
      await client.end()
    }
  })

interface MaskedColumn {
  readonly table: string
  readonly column: string
  readonly strategy: string
  readonly origin: string
}

/** One line per rule and column name (a partitioned table's partitions share their parent's line). */
const ruleLines = (columns: ReadonlyArray<MaskedColumn>): ReadonlyArray<ReadonlyArray<string>> => {
  const groups = new Map<string, Array<MaskedColumn>>()
  for (const column of columns) {
    const key = `${column.column}\u0000${column.strategy}\u0000${column.origin}`
    groups.set(key, [...(groups.get(key) ?? []), column])
  }
  return [...groups.values()].map((group) => {
    const [first] = [...group].sort((a, b) => a.table.length - b.table.length || a.table.localeCompare(b.table))
    const more = group.length > 1 ? ` (+${group.length - 1} partitions)` : ""
    return [`${first!.table.replace(/^public\./, "")}.${first!.column}${more}`, first!.strategy, first!.origin]
  })
}

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
      yield* logLine(s.bold(`\n$ DB_HARNESS_MASK_KEY=... db-harness propagate shop_prod shop_dev --mask-pii --rules rules/examples/masking_rules.yaml`))
      yield* logLine(s.dim("(demo key; set DB_HARNESS_MASK_KEY in real runs)"))
      // The demo's key goes to this run only, never into the process environment.
      const masking = yield* maskingFactory(DEMO_RULES, true).pipe(
        Effect.provideService(CliEnvironment, { ...cli, env: { ...cli.env, DB_HARNESS_MASK_KEY: DEMO_MASK_KEY } })
      )
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
        stages: [],
        stageFactories: masking === undefined ? [] : [masking]
      })
      const before = yield* sampleCustomers(server.urlFor("shop_prod"))
      const after = new Map((yield* sampleCustomers(server.urlFor("shop_dev"))).map((row) => [row.id, row]))
      yield* printLine("")
      yield* printLine(s.bold("customers before (shop_prod) and after masking (shop_dev), demo key; set DB_HARNESS_MASK_KEY in real runs:"))
      yield* printLine(
        formatTable(
          ["id", "", ...SAMPLE_COLUMNS],
          before.flatMap((row) => [
            [row.id ?? "", "before", ...SAMPLE_COLUMNS.map((c) => row[c] ?? "NULL")],
            ["", "after", ...SAMPLE_COLUMNS.map((c) => after.get(row.id)?.[c] ?? "NULL")]
          ])
        )
      )
      const evidence = result.stageEvidence["masking"] as { readonly columns: ReadonlyArray<MaskedColumn> } | undefined
      if (evidence !== undefined) {
        yield* printLine("")
        yield* printLine(s.bold("which rule masked which column:"))
        yield* printLine(formatTable(["column", "strategy", "rule (file:line)"], ruleLines(evidence.columns)))
      }
      yield* printLine("")
      yield* printLine(
        `Every table of shop_prod was copied into shop_dev at snapshot ${result.snapshotId}, personal data masked on the way, ` +
          `foreign keys re-validated, sequences set. The evidence file lists rows, bytes and a digest per table, and every masked column with its rule.`
      )
      if (flags.keep) {
        yield* printLine(`prod: ${server.urlFor("shop_prod")}\ndev:  ${server.urlFor("shop_dev")}\n(Ctrl-C to stop the server)`)
        yield* Effect.never
      }
    })
  )
).pipe(Command.withDescription("Run propagate on a demo shop in an embedded PostgreSQL (nothing to install)"))
