/**
 * The audit engine runs unchanged on Node, Bun and Deno: each runtime appends a signed entry to
 * one shared log (node:crypto Ed25519 signing, the O_EXCL lock, fsync) and verifies the whole log,
 * including the entries and checkpoints the other runtimes wrote; a tampered copy fails under
 * each. Runtimes are the pinned ones from node_modules, as in plugin-runtimes.test.ts.
 */
import { execFile } from "node:child_process"
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"
import { generateSigningKey } from "../src/engine/audit-checkpoint.ts"
import { projectRoot } from "./support/cli.ts"

const script = fileURLToPath(new URL("./fixtures/audit/verify-in-runtime.ts", import.meta.url))
const dir = mkdtempSync(join(tmpdir(), "dbh-audit-runtimes-"))
const pair = generateSigningKey()
const publicKey = join(dir, "audit.pub")
writeFileSync(publicKey, pair.publicPem)

const run = (command: string, args: ReadonlyArray<string>) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(command, [...args], { cwd: projectRoot, env: { ...process.env, DB_HARNESS_AUDIT_KEY: pair.seedBase64 } }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr })
    )
  })

const RUNTIMES: ReadonlyArray<readonly [string, string, (logDir: string) => ReadonlyArray<string>]> = [
  ["node", process.execPath, (logDir) => [script, logDir, publicKey]],
  ["bun", `${projectRoot}node_modules/.bin/bun`, (logDir) => [script, logDir, publicKey]],
  ["deno", `${projectRoot}node_modules/@deno/linux-x64-glibc/deno`, (logDir) => ["run", "--allow-read", "--allow-write", "--allow-env", script, logDir, publicKey]]
]

afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe("audit log on three runtimes", () => {
  const shared = join(dir, "shared")
  it.each(RUNTIMES.map((r, i) => [...r, i + 1] as const))("%s appends a signed entry and verifies the shared log", async (name, command, args, expected) => {
    const result = await run(command, args(shared))
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual({ runtime: name, status: "intact", entries: expected, signedThrough: expected, problem: null })
  })

  it.each(RUNTIMES)("%s catches an edited entry", async (name, command, args) => {
    const copy = join(dir, `tampered-${name}`)
    cpSync(shared, copy, { recursive: true })
    const log = join(copy, "audit.log.jsonl")
    writeFileSync(log, readFileSync(log, "utf8").replace('"user":"node"', '"user":"mallory"'))
    const result = await run(command, args(copy))
    expect(result.code, result.stderr).toBe(0)
    // The runtime's own append re-signs nothing over the edit, and verify names the edited entry.
    expect(JSON.parse(result.stdout)).toMatchObject({ runtime: name, status: "invalid", problem: "edited" })
  })
})
