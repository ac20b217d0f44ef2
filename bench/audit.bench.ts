/**
 * How long `audit verify` takes on a big log: 100,000 realistic entries (about 600 bytes each,
 * signed checkpoint), verified by the engine function and by the real CLI (process start
 * included), medians of 3. Goal: under 2 s. `npm run bench:audit` (AUDIT_BENCH_ENTRIES to change
 * the size).
 */
import * as Effect from "effect/Effect"
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { canonicalJson } from "../src/engine/audit-canonical.ts"
import { formatCheckpoint, generateSigningKey, parseSigningKey } from "../src/engine/audit-checkpoint.ts"
import { AUDIT_LOG_FILE, logIdOf, originOf, type AuditEntry } from "../src/engine/audit-log.ts"
import { leafHash, MerkleFrontier } from "../src/engine/audit-merkle.ts"
import { verifyAuditLog } from "../src/engine/audit-verify.ts"

const count = Number(process.env["AUDIT_BENCH_ENTRIES"] ?? 100_000)
const dir = mkdtempSync(join(tmpdir(), "dbh-audit-bench-"))
const pair = generateSigningKey()
const publicKey = join(dir, "audit.pub")
writeFileSync(publicKey, pair.publicPem)

const lines: Array<string> = []
const frontier = new MerkleFrontier()
let prev: string | null = null
const start = Date.parse("2026-01-01T00:00:00Z")
for (let seq = 1; seq <= count; seq++) {
  const entry: AuditEntry = {
    v: 1,
    seq,
    prev,
    time: new Date(start + seq * 60_000).toISOString(),
    kind: seq % 3 === 0 ? "drift" : "propagate",
    actor: {
      user: "release-bot",
      ci: { provider: "gitlab", project: "platform/app", pipelineId: String(100000 + seq), jobId: String(900000 + seq), url: `https://gitlab.example.com/platform/app/-/jobs/${900000 + seq}` },
      gitCommit: "0123456789abcdef0123456789abcdef01234567"
    },
    tool: { name: "db-harness", version: "0.1.0" },
    source: "postgres://reader:***@prod-db.internal:5432/app",
    target: "staging",
    config: { digest: "a".repeat(64), rulesDigest: "b".repeat(64) },
    outcome: { status: "ok", exitCode: 0 },
    counts: { tables: 42, rows: 1_234_567 + seq, columnsMasked: 17, findings: seq % 5, findingsByRule: { "drift/column-dropped": seq % 5 } },
    evidence: { file: `propagate_2026-01-01T00-00-00-${seq}Z.json`, digest: "c".repeat(64) },
    durationMs: 61_000
  }
  const line = canonicalJson(entry)
  const leaf = leafHash(line)
  lines.push(line)
  frontier.push(leaf)
  prev = Buffer.from(leaf).toString("hex")
}
const log = join(dir, AUDIT_LOG_FILE)
const text = lines.map((l) => `${l}\n`).join("")
writeFileSync(log, text)
const origin = originOf(logIdOf(Buffer.from(leafHash(lines[0]!)).toString("hex")))
writeFileSync(join(dir, "audit.log.checkpoint"), formatCheckpoint({ origin, size: count, root: frontier.root() }, parseSigningKey(pair.seedBase64)))
console.log(`${count} entries, ${(text.length / 1e6).toFixed(1)} MB (${Math.round(text.length / count)} bytes each)`)

const median = (xs: Array<number>) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
// Wall time, and CPU time (user + system), which a busy shared machine inflates less.
const engine: Array<number> = []
const engineCpu: Array<number> = []
const cli: Array<number> = []
const cliCpu: Array<number> = []
for (let i = 0; i < 3; i++) {
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  const report = await Effect.runPromise(verifyAuditLog(log, { publicKey: { file: publicKey, text: pair.publicPem } }))
  const c1 = process.cpuUsage(c0)
  engine.push(performance.now() - t0)
  engineCpu.push((c1.user + c1.system) / 1000)
  if (report.status !== "intact") throw new Error(`expected intact, got ${report.status}: ${JSON.stringify(report.problems[0])}`)
  const t1 = performance.now()
  // GNU time prints the child's user and system seconds on stderr.
  const timed = spawnSync("/usr/bin/time", ["-f", "%U %S", process.execPath, "--max-semi-space-size=1", "bin/db-harness.js", "audit", "verify", dir, "--public-key", publicKey], { encoding: "utf8" })
  cli.push(performance.now() - t1)
  if (timed.status !== 0) throw new Error(`audit verify exited ${timed.status}: ${timed.stderr}`)
  const [user, system] = timed.stderr.trim().split("\n").at(-1)!.split(" ").map(Number)
  cliCpu.push((user! + system!) * 1000)
}
const show = (xs: Array<number>) => `median ${(median([...xs]) / 1000).toFixed(2)} s (${xs.map((x) => (x / 1000).toFixed(2)).join(", ")})`
console.log(`engine verifyAuditLog: wall ${show(engine)}; cpu ${show(engineCpu)}`)
console.log(`CLI audit verify (process start included): wall ${show(cli)}; cpu ${show(cliCpu)}`)
rmSync(dir, { recursive: true, force: true })
