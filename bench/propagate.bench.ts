/**
 * The whole-pipeline benchmark: how fast does one table move from a source database to a target,
 * by the baselines people use today and by `db-harness propagate`, on this machine, reproducibly.
 *
 *   node bench/propagate.bench.ts [--rows 2000000] [--runs 3] [--methods a,d,e] [--keep] [--json]
 *
 * It starts its own PostgreSQL (embedded, on loopback), makes `bench_src` with one table of N rows
 * and ten mixed columns (made by the server from the row number, so every run copies the same
 * bytes), then times each method into a fresh target table: (a) psql `\copy` binary piped into
 * psql, (b) the same in text format, (c) pg_dump --data-only piped into psql (only with a pg_dump
 * that accepts the server's version), (d) `db-harness propagate` as a child process, (e) the same
 * with `--rules` masking 5 of the 10 columns (MASKING_RULES, written to a temporary file, with a
 * fixed DB_HARNESS_MASK_KEY; it keeps the masking proof), (f) (e) with `--skip-masking-proof`,
 * so (e) ÷ (f) is what recording the proof costs, (g) (e) with `--mask-pii` (in-stream PII detection
 * too), so (g) ÷ (e) is what detection costs. Each method runs `--runs` times, the methods taking
 * turns (run 1 of each, then run 2 of each, ...), and reports the median; every run is checked to
 * have copied N rows. A
 * method that fails or cannot run is reported as such and the others go on. Only the child
 * processes are timed: generation, verification and truncation happen outside the intervals.
 */
import { execFile, spawn } from "node:child_process"
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs, promisify } from "node:util"
import pg from "pg"
import { redactUrl } from "../src/engine/connection.ts"
import { startEmbeddedPostgres } from "../src/engine/embedded-postgres.ts"

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..")
const TABLE = "bench_rows"
const SOURCE_DB = "bench_src"
const TARGET_DB = "bench_dst"
/** propagate writes an evidence file per run; the benchmark keeps them out of the repository. */
const EVIDENCE_DIR = join(tmpdir(), "db-harness-bench-evidence")
/** Rows per generating INSERT: big enough to amortize a statement, small enough to keep the server's memory flat. */
const GENERATION_CHUNK = 1_000_000
const GENERATION_WORKERS = 2

const CREATE_TABLE = `CREATE TABLE ${TABLE} (
  id bigint NOT NULL,
  name text NOT NULL,
  email text NOT NULL,
  quantity integer NOT NULL,
  amount numeric(12,2) NOT NULL,
  created_at timestamptz NOT NULL,
  birth_date date,
  active boolean NOT NULL,
  attributes jsonb NOT NULL,
  external_id uuid NOT NULL
)`
/**
 * Method (e)'s rules: the five columns a real project would mask (name, email, birth date, the
 * timestamp and the amount), each with the strategy the baseline or a project would pick; id,
 * quantity, active, attributes and external_id pass through as bytes.
 */
const MASKING_RULES = `version: "1.0"
project_overrides:
  - { table: ${TABLE}, column: name, masking_strategy: faker, faker_provider: person.fullName, deterministic: true }
  - { table: ${TABLE}, column: email, masking_strategy: email, domain: replace }
  - { table: ${TABLE}, column: birth_date, masking_strategy: date_shift, max_days: 180 }
  - { table: ${TABLE}, column: created_at, masking_strategy: date_shift, max_days: 30 }
  - { table: ${TABLE}, column: amount, masking_strategy: noise, percent: 10 }
`
/** Added after the rows on the source (one index build), before them on targets (as a real target has it). */
const ADD_PRIMARY_KEY = `ALTER TABLE ${TABLE} ADD PRIMARY KEY (id)`

const FIRST = ["Ada", "José", "Zoë", "Łukasz", "Grace", "Linus", "Émilie", "Søren", "Wei", "Priya", "Noah", "Olga", "Kenji", "Fatima", "Björn", "Ana"]
const LAST = ["Lovelace", "García", "Müller", "Nowak", "Hopper", "Torvalds", "Dubois", "Jensen", "李", "Patel", "Smith", "Ivanova", "Sato", "Khan", "Andersson", "Silva"]
const quoted = (values: ReadonlyArray<string>) => `ARRAY[${values.map((v) => `'${v.replaceAll("'", "''")}'`).join(",")}]`
/** Every attributes document, indexed by id % 70 (70 = 5 tiers × 2 × 7 tags): picking a constant costs a tenth of building one. */
const ATTRIBUTES = Array.from({ length: 70 }, (_, i) =>
  JSON.stringify({ tier: i % 5, newsletter: i % 2 === 0, tags: [`t${i % 7}`] })
)

/** Rows lo..hi, each a pure function of its id (no random()), so the table is the same on every machine. */
const insertRange = (lo: number, hi: number) => `
  INSERT INTO ${TABLE}
  SELECT g,
         (${quoted(FIRST)})[1 + g % 16] || ' ' || (${quoted(LAST)})[1 + (g / 16) % 16],
         'user' || g || '@example.com',
         (g * 7919 % 1000)::int,
         (g * 104729 % 10000000) / 100.0,
         timestamptz '2020-01-01 00:00+00' + (g * 7919 % 157680000) * interval '1 second',
         CASE WHEN g % 10 = 0 THEN NULL ELSE date '1950-01-01' + (g * 31 % 20000)::int END,
         g % 3 <> 0,
         (${quoted(ATTRIBUTES)}::jsonb[])[1 + g % 70],
         md5(g::text)::uuid
  FROM generate_series(${lo}::bigint, ${hi}::bigint) AS g`

// ---------------------------------------------------------------------------------------------
// Arguments

const { values: flags } = parseArgs({
  options: {
    rows: { type: "string", default: "2000000" },
    runs: { type: "string", default: "3" },
    json: { type: "boolean", default: false },
    /** Only these methods (ids, comma-separated); (a) always runs as the baseline of the ratios. */
    methods: { type: "string" },
    /** Leave the server and the generated source running at the end, and print their URLs (for profiling). */
    keep: { type: "boolean", default: false },
    help: { type: "boolean", default: false }
  }
})
if (flags.help) {
  process.stdout.write("usage: node bench/propagate.bench.ts [--rows 2000000] [--runs 3] [--methods a,d,e] [--keep] [--json]\n")
  process.exit(0)
}
const positiveInteger = (name: string, text: string) => {
  const value = Number(text.replaceAll("_", ""))
  if (!Number.isSafeInteger(value) || value < 1) {
    process.stderr.write(`--${name} must be a positive integer, got "${text}"\n`)
    process.exit(1)
  }
  return value
}
const ROWS = positiveInteger("rows", flags.rows)
const RUNS = positiveInteger("runs", flags.runs)
const METHODS = flags.methods === undefined ? undefined : new Set(["a", ...flags.methods.split(",").map((id) => id.trim())])

const progress = (line: string) => void process.stderr.write(`${line}\n`)
/** Milliseconds to seconds, to the millisecond. */
const seconds = (ms: number) => Math.round(ms) / 1000

// ---------------------------------------------------------------------------------------------
// Child processes, timed, with their peak resident memory

/** How to start one copy from the source URL to the target URL. */
interface Invocation {
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly env?: Readonly<Record<string, string>>
}

interface Measured {
  readonly exitCode: number
  readonly seconds: number
  /** Largest resident set of the process or any of its descendants, in bytes; undefined if unknown. */
  readonly peakRssBytes: number | undefined
  /** The end of the child's stderr, for failure messages. */
  readonly stderrTail: string
}

const execFileText = promisify(execFile)

/** GNU time's `%M` reports the largest resident set of the child and of every descendant it waited for. */
const gnuTimeWorks = async () => {
  try {
    const { stderr } = await execFileText("/usr/bin/time", ["-f", "%M", "true"])
    return /^\d+\s*$/.test(stderr)
  } catch {
    return false
  }
}

/** Without GNU time: the largest VmHWM seen among the process and its descendants, polled from /proc. */
const pollPeakRss = (rootPid: number) => {
  const peaks = new Map<number, number>()
  const poll = async () => {
    const parents = new Map<number, Array<number>>()
    for (const entry of await readdir("/proc").catch(() => [])) {
      if (!/^\d+$/.test(entry)) continue
      const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "")
      // Field 4 (ppid) follows the command name, which is in parentheses and may hold spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
      const children = parents.get(ppid) ?? []
      children.push(Number(entry))
      parents.set(ppid, children)
    }
    const tree = [rootPid]
    for (let i = 0; i < tree.length; i++) tree.push(...(parents.get(tree[i] ?? -1) ?? []))
    for (const pid of tree) {
      const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "")
      const kb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0)
      peaks.set(pid, Math.max(peaks.get(pid) ?? 0, kb * 1024))
    }
  }
  let polling = poll()
  const timer = setInterval(() => {
    polling = polling.then(poll)
  }, 100)
  return async () => {
    clearInterval(timer)
    await polling
    return peaks.size === 0 ? undefined : Math.max(...peaks.values())
  }
}

const measure = async ({ command, args, env }: Invocation, useGnuTime: boolean): Promise<Measured> => {
  const scratch = await mkdtemp(join(tmpdir(), "db-harness-bench-"))
  const timeFile = join(scratch, "time")
  const [file, argv] = useGnuTime
    ? ["/usr/bin/time", ["-f", "%M", "-o", timeFile, command, ...args]]
    : [command, [...args]]
  try {
    let stderrTail = ""
    const started = performance.now()
    const child = spawn(file, argv, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] })
    const stopPolling = useGnuTime || child.pid === undefined ? undefined : pollPeakRss(child.pid)
    child.stderr.setEncoding("utf8")
    child.stderr.on("data", (text: string) => {
      stderrTail = (stderrTail + text).slice(-4000)
    })
    const exitCode = await new Promise<number>((resolve) => {
      child.on("error", (error) => {
        stderrTail += String(error)
        resolve(127)
      })
      child.on("close", (code) => resolve(code ?? 1))
    })
    const elapsed = seconds(performance.now() - started)
    let peakRssBytes: number | undefined
    if (stopPolling !== undefined) {
      peakRssBytes = await stopPolling()
    } else {
      // GNU time writes "Command exited with non-zero status N" first when the command fails.
      const last = (await readFile(timeFile, "utf8").catch(() => "")).trim().split("\n").pop() ?? ""
      peakRssBytes = /^\d+$/.test(last) ? Number(last) * 1024 : undefined
    }
    return { exitCode, seconds: elapsed, peakRssBytes, stderrTail }
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------------
// The methods

type Method = {
  readonly id: string
  readonly name: string
} & ({ readonly invocation: (source: string, target: string) => Invocation } | { readonly skipped: string })

const PSQL = "psql -X -q -v ON_ERROR_STOP=1"
/** A shell pipeline that fails if any side fails; it reads the URLs from $SRC and $DST. */
const pipeline = (text: string) => ({
  invocation: (source: string, target: string): Invocation => ({
    command: "bash",
    args: ["-c", `set -o pipefail; ${text}`],
    env: { SRC: source, DST: target }
  })
})
const psqlCopy = (format: "binary" | "text") =>
  pipeline(
    `${PSQL} "$SRC" -c '\\copy ${TABLE} TO pstdout (FORMAT ${format})'` +
      ` | ${PSQL} "$DST" -c '\\copy ${TABLE} FROM pstdin (FORMAT ${format})'`
  )

const majorOf = (versionText: string) => Number(/(\d+)(?:\.\d+)?/.exec(versionText)?.[1] ?? Number.NaN)

/** Every pg_dump on this machine (PATH and Debian's per-version directories), newest first. */
const findPgDumps = async () => {
  const candidates = new Set(["pg_dump"])
  for (const version of await readdir("/usr/lib/postgresql").catch(() => [])) {
    candidates.add(`/usr/lib/postgresql/${version}/bin/pg_dump`)
  }
  const found: Array<{ path: string; version: string; major: number }> = []
  for (const path of candidates) {
    try {
      const { stdout } = await execFileText(path, ["--version"])
      const version = /\(PostgreSQL\)\s+(\S+)/.exec(stdout)?.[1] ?? stdout.trim()
      found.push({ path, version, major: majorOf(version) })
    } catch {
      // not installed at this path
    }
  }
  return found.sort((a, b) => b.major - a.major)
}

/**
 * `db-harness propagate` as the installed command runs it (bin/db-harness.js, with the bin's and
 * npm scripts' Node flag; BENCH_SEMI_SPACE overrides the young generation's size to compare),
 * with a fixed masking key for the masked methods.
 */
const propagateMethod = (id: string, name: string, flags: ReadonlyArray<string>): Method => ({
  id,
  name,
  invocation: (source, target) => ({
    command: process.execPath,
    args: [
      `--max-semi-space-size=${process.env["BENCH_SEMI_SPACE"] ?? "1"}`,
      "bin/db-harness.js",
      "propagate",
      source,
      target,
      ...flags,
      "--quiet",
      "--evidence-dir",
      EVIDENCE_DIR
    ],
    env: { DB_HARNESS_MASK_KEY: "bench key" }
  })
})

const methodsFor = async (serverMajor: number, rulesFile: string): Promise<ReadonlyArray<Method>> => {
  const dumps = await findPgDumps()
  const usable = dumps.find((dump) => dump.major >= serverMajor)
  const newest = dumps[0]
  const pgDump: Method = usable
    ? {
        id: "c",
        name: "pg_dump | psql",
        ...pipeline(`'${usable.path}' --data-only -t ${TABLE} "$SRC" | ${PSQL} "$DST"`)
      }
    : {
        id: "c",
        name: "pg_dump | psql",
        skipped: newest
          ? `pg_dump ${newest.version} cannot dump a PostgreSQL ${serverMajor} server`
          : "no pg_dump found"
      }
  return [
    { id: "a", name: "psql \\copy binary | psql", ...psqlCopy("binary") },
    { id: "b", name: "psql \\copy text | psql", ...psqlCopy("text") },
    pgDump,
    propagateMethod("d", "db-harness propagate", []),
    propagateMethod("e", "db-harness propagate --rules (5 of 10 columns masked)", ["--rules", rulesFile]),
    // (e) without the masking proof (src/engine/masking-proof.ts): (e) ÷ (f) is what recording costs.
    propagateMethod("f", "db-harness propagate --rules --skip-masking-proof", ["--rules", rulesFile, "--skip-masking-proof"]),
    // (e) with --mask-pii: privacy by default and in-stream PII detection on the columns masking
    // leaves alone (src/engine/pii-stream.ts): (g) ÷ (e) is what detection costs.
    propagateMethod("g", "db-harness propagate --rules --mask-pii (in-stream PII detection)", ["--rules", rulesFile, "--mask-pii"])
  ]
}

// ---------------------------------------------------------------------------------------------
// The databases

const withClient = async <A>(url: string, use: (client: pg.Client) => Promise<A>) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await use(client)
  } finally {
    await client.end()
  }
}

const generateSource = async (adminUrl: string, sourceUrl: string) => {
  await withClient(adminUrl, (admin) => admin.query(`CREATE DATABASE ${SOURCE_DB}`))
  await withClient(sourceUrl, (client) => client.query(CREATE_TABLE))
  const started = performance.now()
  let next = 1
  const worker = () =>
    withClient(sourceUrl, async (client) => {
      while (next <= ROWS) {
        const lo = next
        const hi = Math.min(ROWS, lo + GENERATION_CHUNK - 1)
        next = hi + 1
        await client.query(insertRange(lo, hi))
      }
    })
  await Promise.all(Array.from({ length: GENERATION_WORKERS }, worker))
  const inserted = performance.now()
  await withClient(sourceUrl, async (client) => {
    await client.query(ADD_PRIMARY_KEY)
    await client.query(`VACUUM ANALYZE ${TABLE}`)
  })
  const finished = performance.now()
  const tableBytes = await withClient(sourceUrl, async (client) =>
    Number((await client.query<{ bytes: string }>(`SELECT pg_table_size('${TABLE}') AS bytes`)).rows[0]?.bytes)
  )
  return {
    tableBytes,
    insertSeconds: seconds(inserted - started),
    keyAndVacuumSeconds: seconds(finished - inserted),
    generationSeconds: seconds(finished - started)
  }
}

// ---------------------------------------------------------------------------------------------
// Results

type Result = { readonly id: string; readonly name: string } & (
  | {
      readonly status: "ok"
      readonly runSeconds: ReadonlyArray<number>
      readonly medianSeconds: number
      readonly rowsPerSecond: number
      readonly megabytesPerSecond: number
      /** Median time over method (a)'s: 2 means twice as long as psql binary. */
      readonly timeVsPsqlBinary?: number
      readonly peakRssBytes: number | undefined
    }
  | { readonly status: "skipped"; readonly reason: string }
  | { readonly status: "failed"; readonly error: string; readonly runSeconds: ReadonlyArray<number> }
)

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2
}

const failureText = (measured: Measured) => {
  const lines = redactUrl(measured.stderrTail).trim().split("\n").filter((line) => line.trim() !== "")
  return `exit ${measured.exitCode}${lines.length > 0 ? `: ${lines.slice(-3).join(" / ")}` : ""}`
}

/**
 * Run every method `RUNS` times, round-robin (run 1 of each method, then run 2 of each, ...), so
 * that a machine that speeds up or slows down during the benchmark (a shared VM does) moves every
 * method's figures alike instead of biasing the ratios between them. Every run starts from an
 * empty table and a clean checkpoint, so no run pays for the last one's writes.
 */
const runMethods = async (
  methods: ReadonlyArray<Method>,
  server: { adminUrl: string; urlFor: (database: string) => string },
  tableBytes: number,
  useGnuTime: boolean
): Promise<Array<Result>> => {
  const targetUrl = server.urlFor(TARGET_DB)
  await withClient(server.adminUrl, async (admin) => {
    await admin.query(`DROP DATABASE IF EXISTS ${TARGET_DB} WITH (FORCE)`)
    await admin.query(`CREATE DATABASE ${TARGET_DB}`)
  })
  await withClient(targetUrl, async (client) => {
    await client.query(CREATE_TABLE)
    await client.query(ADD_PRIMARY_KEY)
  })
  const states = methods.map((method) => ({
    method,
    invocation: "skipped" in method ? undefined : method.invocation(server.urlFor(SOURCE_DB), targetUrl),
    runSeconds: [] as Array<number>,
    peaks: [] as Array<number>,
    error: undefined as string | undefined
  }))
  try {
    for (let run = 1; run <= RUNS; run++) {
      for (const state of states) {
        const { method, invocation } = state
        if (invocation === undefined || state.error !== undefined) continue
        await withClient(targetUrl, async (client) => {
          await client.query(`TRUNCATE ${TABLE}`)
          await client.query("CHECKPOINT")
        })
        const measured = await measure(invocation, useGnuTime)
        if (measured.exitCode !== 0) {
          state.error = failureText(measured)
          progress(`  (${method.id}) failed: ${state.error}`)
          continue
        }
        const copied = await withClient(targetUrl, async (client) =>
          Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${TABLE}`)).rows[0]?.n)
        )
        if (copied !== ROWS) {
          state.error = `run ${run} copied ${copied} rows, expected ${ROWS}`
          progress(`  (${method.id}) failed: ${state.error}`)
          continue
        }
        state.runSeconds.push(measured.seconds)
        if (measured.peakRssBytes !== undefined) state.peaks.push(measured.peakRssBytes)
        progress(`  (${method.id}) run ${run}/${RUNS}: ${measured.seconds.toFixed(2)} s`)
      }
    }
  } finally {
    await withClient(server.adminUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS ${TARGET_DB} WITH (FORCE)`))
  }
  return states.map(({ method, runSeconds, peaks, error }): Result => {
    const { id, name } = method
    if ("skipped" in method) return { id, name, status: "skipped", reason: method.skipped }
    if (error !== undefined) return { id, name, status: "failed", error, runSeconds }
    const medianSeconds = median(runSeconds)
    return {
      id,
      name,
      status: "ok",
      runSeconds,
      medianSeconds,
      rowsPerSecond: Math.round(ROWS / medianSeconds),
      megabytesPerSecond: Math.round((tableBytes / 1e6 / medianSeconds) * 10) / 10,
      peakRssBytes: peaks.length === RUNS ? Math.max(...peaks) : undefined
    }
  })
}

const withRatios = (results: ReadonlyArray<Result>): ReadonlyArray<Result> => {
  const baseline = results.find((r) => r.id === "a")
  if (baseline?.status !== "ok") return results
  return results.map((r) =>
    r.status === "ok" ? { ...r, timeVsPsqlBinary: Math.round((r.medianSeconds / baseline.medianSeconds) * 100) / 100 } : r
  )
}

const formatTable = (results: ReadonlyArray<Result>) => {
  const header = ["method", "median s", "rows/s", "MB/s", "time ÷ (a)", "peak RSS"]
  const rows = results.map((r) => {
    const label = `(${r.id}) ${r.name}`
    if (r.status === "skipped") return [label, `skipped: ${r.reason}`]
    if (r.status === "failed") return [label, `failed: ${r.error}`]
    return [
      label,
      r.medianSeconds.toFixed(2),
      r.rowsPerSecond.toLocaleString("en-US"),
      r.megabytesPerSecond.toFixed(1),
      r.timeVsPsqlBinary === undefined ? "-" : `${r.timeVsPsqlBinary.toFixed(2)}×`,
      r.peakRssBytes === undefined ? "-" : `${(r.peakRssBytes / 1024 / 1024).toFixed(0)} MiB`
    ]
  })
  const widths = header.map((h, column) =>
    Math.max(h.length, ...rows.filter((row) => row.length > 2).map((row) => (row[column] ?? "").length))
  )
  const line = (cells: ReadonlyArray<string>) =>
    cells.length === 2
      ? `${(cells[0] ?? "").padEnd(widths[0] ?? 0)}  ${cells[1]}`
      : cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[0] ?? 0) : cell.padStart(widths[column] ?? 0))).join("  ")
  return [line(header), ...rows.map(line)].join("\n")
}

// ---------------------------------------------------------------------------------------------

const rulesDirectory = await mkdtemp(join(tmpdir(), "db-harness-bench-rules-"))
const rulesFile = join(rulesDirectory, "masking_rules.yaml")
await writeFile(rulesFile, MASKING_RULES)
const server = await startEmbeddedPostgres()
const stopOnSignal = () => void server.stop().finally(() => process.exit(130))
process.once("SIGINT", stopOnSignal)
process.once("SIGTERM", stopOnSignal)
try {
  const serverVersion = await withClient(server.adminUrl, async (client) =>
    String((await client.query<{ server_version: string }>("SHOW server_version")).rows[0]?.server_version)
  )
  const useGnuTime = await gnuTimeWorks()
  progress(`PostgreSQL ${serverVersion} on 127.0.0.1:${server.port}; generating ${ROWS.toLocaleString("en-US")} rows in ${SOURCE_DB}.${TABLE} ...`)
  const source = await generateSource(server.adminUrl, server.urlFor(SOURCE_DB))
  progress(
    `generated in ${source.generationSeconds.toFixed(1)} s (rows ${source.insertSeconds.toFixed(1)} s, ` +
      `primary key + VACUUM ANALYZE ${source.keyAndVacuumSeconds.toFixed(1)} s); table ${(source.tableBytes / 1e6).toFixed(1)} MB`
  )
  const methods = (await methodsFor(majorOf(serverVersion), rulesFile)).filter((method) => METHODS === undefined || METHODS.has(method.id))
  for (const method of methods) progress(`(${method.id}) ${method.name}${"skipped" in method ? `: skipped: ${method.skipped}` : ""}`)
  const results = await runMethods(methods, server, source.tableBytes, useGnuTime)
  const reported = withRatios(results)
  const rssSource = useGnuTime ? "/usr/bin/time %M" : "VmHWM polled from /proc"
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify({ postgres: serverVersion, rows: ROWS, runs: RUNS, table: TABLE, ...source, rssSource, methods: reported }, null, 2)}\n`
    )
  } else {
    process.stdout.write(
      `\n${ROWS.toLocaleString("en-US")} rows, ${(source.tableBytes / 1e6).toFixed(1)} MB (pg_table_size), PostgreSQL ${serverVersion}, ` +
        `median of ${RUNS} run${RUNS === 1 ? "" : "s"}; peak RSS is the largest process (${rssSource})\n\n${formatTable(reported)}\n`
    )
  }
} finally {
  if (flags.keep) {
    progress(`kept running: source ${server.urlFor(SOURCE_DB)}, admin ${server.adminUrl}, rules ${rulesFile}; stop with Ctrl-C`)
    await new Promise(() => {})
  }
  await server.stop()
  await rm(rulesDirectory, { recursive: true, force: true })
}
