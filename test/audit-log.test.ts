/**
 * The audit log on its own: canonical JSON, the RFC 6962 tree, and `db-harness audit verify` (the
 * real CLI) catching each kind of tampering with its message and exit 5: a changed field, a
 * deleted entry, two entries swapped, the newest entries cut off (against a kept checkpoint), a
 * forged entry appended, the whole log rewritten without the key, a bad signature; an unsigned
 * log said to be unsigned; bad input exit 1; concurrent appends from several processes; archiving.
 */
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import { copyFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { canonicalJson } from "../src/engine/audit-canonical.ts"
import { formatCheckpoint, generateSigningKey, parseSigningKey, type SigningKey } from "../src/engine/audit-checkpoint.ts"
import { appendAuditEntry, AUDIT_LOG_FILE, logIdOf, originOf, type AuditDraft, type AuditEntry } from "../src/engine/audit-log.ts"
import { leafHash, merkleRootRecursive, MerkleFrontier } from "../src/engine/audit-merkle.ts"
import { projectRoot, runCli } from "./support/cli.ts"
import { draft } from "./fixtures/audit/append-entries.ts"

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")

describe("canonical JSON and the Merkle tree", () => {
  it("sorts keys, drops whitespace, writes numbers and strings as JSON, and refuses what has no single form", () => {
    expect(canonicalJson({ b: 1, a: [true, null, "é\n"], c: { z: 1e21, y: -0, x: 0.1 }, u: undefined })).toBe(
      '{"a":[true,null,"é\\n"],"b":1,"c":{"x":0.1,"y":0,"z":1e+21}}'
    )
    expect(() => canonicalJson({ a: Number.NaN })).toThrow("$.a: NaN has no JSON form")
    expect(() => canonicalJson({ a: "\uD800" })).toThrow("lone surrogate")
    expect(() => canonicalJson({ a: new Date(0) })).toThrow("plain objects")
  })

  it("the frontier's root is RFC 6962's MTH at every size, and resumes from its stored subtrees", () => {
    const leaves = Array.from({ length: 40 }, (_, i) => leafHash(`entry ${i}`))
    const frontier = new MerkleFrontier()
    expect(hex(frontier.root())).toBe(hex(merkleRootRecursive([])))
    for (let i = 0; i < leaves.length; i++) {
      frontier.push(leaves[i]!)
      expect(hex(frontier.root())).toBe(hex(merkleRootRecursive(leaves.slice(0, i + 1))))
      const resumed = new MerkleFrontier(frontier.size, frontier.subtrees)
      expect(hex(resumed.root())).toBe(hex(frontier.root()))
    }
    // RFC 6962 domain separation: a leaf is SHA-256(0x00 ‖ data).
    expect(hex(leafHash(""))).toBe("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
  })
})

describe("db-harness audit verify", () => {
  let dir = ""
  let keyFile = ""
  let publicKey = ""
  let signed = "" // a signed log of 6 entries
  let keptAt4 = "" // its checkpoint when it had 4 entries
  let keptAt6 = ""
  const seed = generateSigningKey()
  const key = parseSigningKey(seed.seedBase64)

  /** `signingKey` null: append without a key. */
  const append = (logDir: string, entry: AuditDraft, signingKey: SigningKey | null = key) =>
    Effect.runPromise(appendAuditEntry(join(logDir, AUDIT_LOG_FILE), entry, signingKey ?? undefined))

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "dbh-audit-"))
    keyFile = join(dir, "audit-key")
    publicKey = join(dir, "audit-key.pub")
    writeFileSync(keyFile, `${seed.seedBase64}\n`)
    writeFileSync(publicKey, seed.publicPem)
    signed = join(dir, "signed")
    for (let i = 1; i <= 6; i++) {
      await append(signed, draft(`run${i}`, i))
      if (i === 4) copyFileSync(join(signed, "audit.log.checkpoint"), (keptAt4 = join(dir, "kept-4.checkpoint")))
    }
    copyFileSync(join(signed, "audit.log.checkpoint"), (keptAt6 = join(dir, "kept-6.checkpoint")))
  })

  afterAll(() => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true })
  })

  let copies = 0
  /** A copy of the signed log to tamper with. */
  const copy = () => {
    const target = join(dir, `copy${copies++}`)
    cpSync(signed, target, { recursive: true })
    return target
  }
  const lines = (logDir: string) => readFileSync(join(logDir, AUDIT_LOG_FILE), "utf8").split("\n").filter(Boolean)
  const writeLines = (logDir: string, all: ReadonlyArray<string>) => writeFileSync(join(logDir, AUDIT_LOG_FILE), all.map((l) => `${l}\n`).join(""))
  const verify = async (logDir: string, ...extra: ReadonlyArray<string>) => {
    const run = await runCli(["audit", "verify", logDir, "--json", ...extra])
    return { ...run, report: run.stdout === "" ? undefined : (JSON.parse(run.stdout) as { status: string; problem: { kind: string; seq: number | null; message: string } | null; warnings: Array<string>; entries: number }) }
  }

  it("an intact signed log verifies against the public key: exit 0, and the human report says so", async () => {
    const result = await verify(signed, "--public-key", publicKey, "--checkpoint", keptAt4, "--checkpoint", keptAt6)
    expect(result.code, result.stderr).toBe(0)
    expect(result.report).toMatchObject({ status: "intact", entries: 6, problem: null })
    const human = await runCli(["audit", "verify", signed, "--public-key", publicKey])
    expect(human.code).toBe(0)
    expect(human.stdout).toContain("INTACT")
    expect(human.stdout).toContain("size 6, root matches, signature valid")
  })

  it("a changed field: the edited entry is named (exit 5)", async () => {
    const target = copy()
    const all = lines(target)
    const entry = JSON.parse(all[2]!) as AuditEntry
    all[2] = canonicalJson({ ...entry, counts: { ...entry.counts, rows: 0 } })
    writeLines(target, all)
    const result = await verify(target, "--public-key", publicKey)
    expect(result.code).toBe(5)
    expect(result.report!.problem).toMatchObject({ kind: "edited", seq: 3 })
    expect(result.report!.problem!.message).toContain("entry seq 3 was edited after it was written")
    expect(result.stderr).toContain("audit chain invalid at seq 3")
  })

  it("an edit of the newest entry (no later link) is caught by the checkpoint's root", async () => {
    const target = copy()
    const all = lines(target)
    all[5] = canonicalJson({ ...(JSON.parse(all[5]!) as AuditEntry), target: "dev" })
    writeLines(target, all)
    const result = await verify(target, "--public-key", publicKey)
    expect(result.code).toBe(5)
    expect(result.report!.problem).toMatchObject({ kind: "rewritten", seq: 6 })
  })

  it("a hand edit that only reformats (spaces, key order) breaks the canonical form", async () => {
    const target = copy()
    const all = lines(target)
    all[1] = JSON.stringify(JSON.parse(all[1]!), null, 1).replaceAll("\n", "")
    writeLines(target, all)
    const result = await verify(target)
    expect(result.code).toBe(5)
    expect(result.report!.problem).toMatchObject({ kind: "edited", seq: 2 })
    expect(result.report!.problem!.message).toContain("not the canonical JSON")
  })

  it("a deleted entry is reported missing", async () => {
    const target = copy()
    const all = lines(target)
    all.splice(2, 1)
    writeLines(target, all)
    const result = await verify(target, "--public-key", publicKey)
    expect(result.code).toBe(5)
    expect(result.report!.problem).toMatchObject({ kind: "missing", seq: 3 })
    expect(result.report!.problem!.message).toBe("entry seq 3 is missing: deleted before line 3 (seq 4)")
  })

  it("two swapped entries are reported out of order", async () => {
    const target = copy()
    const all = lines(target)
    ;[all[2], all[3]] = [all[3]!, all[2]!]
    writeLines(target, all)
    const result = await verify(target, "--public-key", publicKey)
    expect(result.code).toBe(5)
    expect(result.report!.problem).toMatchObject({ kind: "reordered", seq: 3 })
    expect(result.report!.problem!.message).toContain("seq 4 is at line 3, before seq 3")
  })

  it("the newest entries cut off: caught by the log's checkpoint, and by a kept one when the old checkpoint was put back", async () => {
    const target = copy()
    writeLines(target, lines(target).slice(0, 4))
    const own = await verify(target, "--public-key", publicKey)
    expect(own.code).toBe(5)
    expect(own.report!.problem).toMatchObject({ kind: "truncated", seq: 5 })
    expect(own.report!.problem!.message).toContain("covers 6 entries, the log ends at seq 4, so seq 5..6 were cut off")
    // The attacker also restores the checkpoint signed at size 4: only a checkpoint kept outside shows it.
    copyFileSync(keptAt4, join(target, "audit.log.checkpoint"))
    expect((await verify(target, "--public-key", publicKey)).code).toBe(0)
    const kept = await verify(target, "--public-key", publicKey, "--checkpoint", keptAt6)
    expect(kept.code).toBe(5)
    expect(kept.report!.problem).toMatchObject({ kind: "truncated", seq: 5 })
    expect(kept.report!.problem!.message).toContain(`checkpoint ${keptAt6} covers 6 entries`)
  })

  it("a forged entry appended with a correct hash link is an unsigned tail; without the public key it is a warning", async () => {
    const target = copy()
    const all = lines(target)
    const last = JSON.parse(all[5]!) as AuditEntry
    all.push(canonicalJson({ ...last, seq: 7, prev: hex(leafHash(all[5]!)), kind: "propagate", outcome: { status: "ok", exitCode: 0 } }))
    writeLines(target, all)
    const result = await verify(target, "--public-key", publicKey)
    expect(result.code).toBe(5)
    expect(result.report!.problem).toMatchObject({ kind: "unsigned-tail", seq: 7 })
    expect(result.report!.problem!.message).toContain("entries seq 7..7 are not covered by a signed checkpoint: appended without the signing key (forged")
    const unchecked = await verify(target)
    expect(unchecked.code).toBe(0)
    expect(unchecked.report!.warnings.join("\n")).toContain("entries seq 7..7 come after the last checkpoint (an unsigned tail)")
  })

  it("the whole log rewritten without the key: a checkpoint under another key, or none, fails; a kept checkpoint shows the rewrite", async () => {
    const target = copy()
    // The attacker rewrites every entry, re-links the chain, recomputes the root and signs with a key of their own.
    const forgedKey = parseSigningKey(generateSigningKey().seedBase64)
    const rewritten: Array<string> = []
    let prev: string | null = null
    const frontier = new MerkleFrontier()
    for (const line of lines(target)) {
      const entry = JSON.parse(line) as AuditEntry
      const text = canonicalJson({ ...entry, prev, target: "postgres://app:***@laptop:5432/copy" })
      rewritten.push(text)
      prev = hex(leafHash(text))
      frontier.push(leafHash(text))
    }
    writeLines(target, rewritten)
    const origin = originOf(logIdOf(hex(leafHash(rewritten[0]!))))
    writeFileSync(join(target, "audit.log.checkpoint"), formatCheckpoint({ origin, size: 6, root: frontier.root() }, forgedKey))
    const result = await verify(target, "--public-key", publicKey)
    expect(result.code).toBe(5)
    expect(result.report!.problem!.kind).toBe("bad-signature")
    expect(result.report!.problem!.message).toContain(`not by the given public key (${seed.keyId}): forged`)
    const kept = await verify(target, "--public-key", publicKey, "--checkpoint", keptAt4)
    expect(JSON.stringify(kept.report)).toContain(`checkpoint ${keptAt4} is for the log`)
    // With no checkpoint at all, the public key says the log is not signed.
    rmSync(join(target, "audit.log.checkpoint"))
    const bare = await verify(target, "--public-key", publicKey)
    expect(bare.code).toBe(5)
    expect(bare.report!.problem).toMatchObject({ kind: "unsigned-tail", seq: 1 })
    expect(bare.report!.problem!.message).toContain("the log is not signed")
    const keptOnly = await verify(target, "--checkpoint", keptAt6)
    expect(keptOnly.code).toBe(5)
    expect(keptOnly.report!.problem!.kind).toBe("rewritten")
  })

  it("a bad signature: a checkpoint whose body or signature was changed", async () => {
    const target = copy()
    const path = join(target, "audit.log.checkpoint")
    const note = readFileSync(path, "utf8")
    // Claim 5 entries with the size-6 signature (the root is left alone).
    writeFileSync(path, note.replace(/\n6\n/, "\n5\n"))
    const result = await verify(target, "--public-key", publicKey)
    expect(result.code).toBe(5)
    expect(result.report!.problem).toMatchObject({ kind: "bad-signature" })
    expect(result.report!.problem!.message).toContain("has a bad signature: the checkpoint or its signature was changed")
  })

  it("an unsigned log is said to be unsigned: exit 0 without a key, exit 5 when a public key is expected", async () => {
    const logDir = join(dir, "unsigned")
    for (let i = 0; i < 3; i++) await append(logDir, draft("nokey", i), null)
    expect(readdirSync(logDir).sort()).toEqual(["audit.log.jsonl", "audit.log.state.json"])
    const result = await verify(logDir)
    expect(result.code).toBe(0)
    expect(result.report!.status).toBe("unsigned")
    expect(result.report!.warnings[0]).toContain("the log is not signed")
    const human = await runCli(["audit", "verify", logDir])
    expect(human.stdout).toContain("OK, UNSIGNED")
    const expected = await verify(logDir, "--public-key", publicKey)
    expect(expected.code).toBe(5)
    expect(expected.report!.problem!.message).toContain("the log is not signed")
  })

  it("bad input is exit 1 with one line: no log, an unreadable key, a file that is not a checkpoint", async () => {
    const missing = await runCli(["audit", "verify", join(dir, "nope")])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain(`no audit log at ${join(dir, "nope")}`)
    writeFileSync(join(dir, "bad.pub"), "not a key\n")
    const badKey = await runCli(["audit", "verify", signed, "--public-key", join(dir, "bad.pub")])
    expect(badKey.code).toBe(1)
    expect(badKey.stderr).toContain(`the public key ${join(dir, "bad.pub")} is neither a PEM public key nor 32 bytes of base64`)
    const noKeyFile = await runCli(["audit", "verify", signed, "--public-key", join(dir, "absent.pub")])
    expect(noKeyFile.code).toBe(1)
    expect(noKeyFile.stderr).toContain("cannot read the public key")
    const notCheckpoint = await runCli(["audit", "verify", signed, "--checkpoint", publicKey])
    expect(notCheckpoint.code).toBe(1)
    expect(notCheckpoint.stderr).toContain("is not a checkpoint")
    const badSigningKey = await runCli(["audit", "checkpoint", signed, "--out", join(dir, "x.checkpoint")], { DB_HARNESS_AUDIT_KEY: "c2VjcmV0" })
    expect(badSigningKey.code).toBe(1)
    expect(badSigningKey.stderr).toContain("DB_HARNESS_AUDIT_KEY is neither a PKCS#8 PEM private key nor a base64 Ed25519 seed")
    expect(badSigningKey.stderr).not.toContain("c2VjcmV0")
  })

  it("concurrent appends from several processes stay one consistent, verifying chain", async () => {
    const logDir = join(dir, "concurrent")
    const log = join(logDir, AUDIT_LOG_FILE)
    const script = join(projectRoot, "test/fixtures/audit/append-entries.ts")
    const processes = ["p1", "p2", "p3", "p4"].map(
      (label) =>
        new Promise<number>((resolve) =>
          execFile(process.execPath, [script, log, "15", label], { env: { ...process.env, DB_HARNESS_AUDIT_KEY: seed.seedBase64 } }, (error) =>
            resolve(error === null ? 0 : 1)
          )
        )
    )
    expect(await Promise.all(processes)).toEqual([0, 0, 0, 0])
    const entries = lines(logDir).map((l) => JSON.parse(l) as AuditEntry)
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1))
    for (const label of ["p1", "p2", "p3", "p4"]) expect(entries.filter((e) => e.actor.user === label)).toHaveLength(15)
    const result = await verify(logDir, "--public-key", publicKey)
    expect(result.code, result.stdout).toBe(0)
    expect(result.report).toMatchObject({ status: "intact", entries: 60 })
  })

  it("archive moves old entries out with a signed checkpoint; the rest and the archive both verify, and appends continue", async () => {
    const logDir = join(dir, "archive")
    for (let i = 1; i <= 5; i++) await append(logDir, { ...draft("old", i), time: `2020-01-0${i}T00:00:00.000Z` })
    for (let i = 6; i <= 8; i++) await append(logDir, draft("new", i))
    const kept = join(dir, "before-archive.checkpoint")
    copyFileSync(join(logDir, "audit.log.checkpoint"), kept)
    const archived = await runCli(["audit", "archive", logDir, "--before", "2021-01-01"], { DB_HARNESS_AUDIT_KEY: seed.seedBase64 })
    expect(archived.code, archived.stderr).toBe(0)
    expect(archived.stdout).toContain("archived 5 entries to")
    expect(lines(logDir)).toHaveLength(4) // the base line + seq 6..8
    const rest = await verify(logDir, "--public-key", publicKey, "--checkpoint", kept)
    expect(rest.code, rest.stdout).toBe(0)
    expect(rest.report).toMatchObject({ status: "intact", entries: 3 })
    const archive = await verify(join(logDir, "audit.archive.1-5.jsonl"), "--public-key", publicKey)
    expect(archive.code, archive.stdout).toBe(0)
    expect(archive.report).toMatchObject({ status: "intact", entries: 5 })
    await append(logDir, draft("after", 9))
    expect((await verify(logDir, "--public-key", publicKey, "--checkpoint", kept)).code).toBe(0)
    // The base line stands for the archived entries: changing it is caught.
    const all = lines(logDir)
    all[0] = all[0]!.replace(/"frontier":\["[0-9a-f]/, (m) => m.slice(0, -1) + (m.endsWith("0") ? "1" : "0"))
    writeLines(logDir, all)
    const tampered = await verify(logDir, "--public-key", publicKey)
    expect(tampered.code).toBe(5)
    expect(tampered.report!.problem!.kind).toBe("rewritten")
    // Archiving a log that does not verify is refused.
    const refused = await runCli(["audit", "archive", logDir, "--before", "2030-01-01"], { DB_HARNESS_AUDIT_KEY: seed.seedBase64 })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain("it does not verify, so nothing was archived")
  })

  it("keygen writes a pair that signs and verifies, and never overwrites", async () => {
    const out = join(dir, "ci-key")
    const made = await runCli(["audit", "keygen", "--out", out])
    expect(made.code, made.stderr).toBe(0)
    const logDir = join(dir, "keygen")
    await append(logDir, draft("k", 1), parseSigningKey(readFileSync(out, "utf8")))
    expect((await verify(logDir, "--public-key", `${out}.pub`)).code).toBe(0)
    const again = await runCli(["audit", "keygen", "--out", out])
    expect(again.code).toBe(1)
    expect(again.stderr).toContain("exists; nothing was overwritten")
    const checkpointOut = join(dir, "exported.checkpoint")
    const exported = await runCli(["audit", "checkpoint", logDir, "--out", checkpointOut], { DB_HARNESS_AUDIT_KEY: readFileSync(out, "utf8") })
    expect(exported.code, exported.stderr).toBe(0)
    expect((await verify(logDir, "--public-key", `${out}.pub`, "--checkpoint", checkpointOut)).code).toBe(0)
  })
})
