/**
 * Real runs record themselves: `propagate` and `drift` through the real CLI against the embedded
 * PostgreSQL, with DB_HARNESS_AUDIT_KEY set, each append an entry (successes, a blocked gate and
 * a refused run alike), and the log they leave verifies against the public key. The entries name
 * endpoints without passwords, carry the evidence file's digest, and hold no data value.
 */
import { createHash } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { generateSigningKey } from "../src/engine/audit-checkpoint.ts"
import type { AuditEntry } from "../src/engine/audit-log.ts"
import { runCli } from "./support/cli.ts"
import { freshDatabase, runSql } from "./support/database.ts"

const SECRET_VALUE = "Ada-Lovelace-7f3a91"

describe("every run appends a verifying audit entry", () => {
  let dir = ""
  let evidence = ""
  let publicKey = ""
  let source = ""
  let target = ""
  let drifted = ""
  const pair = generateSigningKey()
  const env = () => ({ DB_HARNESS_AUDIT_KEY: pair.seedBase64 })
  const entries = () =>
    readFileSync(join(evidence, "audit.log.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as AuditEntry)

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "dbh-audit-runs-"))
    evidence = join(dir, "evidence")
    publicKey = join(dir, "audit.pub")
    writeFileSync(publicKey, pair.publicPem)
    ;[source, target, drifted] = await Promise.all([freshDatabase("audit_src"), freshDatabase("audit_dst"), freshDatabase("audit_drift")])
    const ddl = "CREATE TABLE people (id integer PRIMARY KEY, full_name text NOT NULL, email text, city text)"
    await Promise.all([runSql(source, ddl), runSql(target, ddl), runSql(drifted, `${ddl}; ALTER TABLE people ADD COLUMN nickname text`)])
    await runSql(source, `INSERT INTO people SELECT i, '${SECRET_VALUE}' || i, 'user' || i || '@example.org', 'Springfield' FROM generate_series(1, 50) i`)
  })

  afterAll(() => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true })
  })

  it("propagate (plain and masked), drift (pass and blocked) and a refused run each leave one entry; the log verifies", async () => {
    const plain = await runCli(["propagate", source, target, "--evidence-dir", evidence], env())
    expect(plain.code, plain.stderr).toBe(0)
    expect(plain.stderr).toMatch(/audit: entry seq 1 in .*audit\.log\.jsonl \(checkpoint signed\)/)
    const masked = await runCli(["propagate", source, target, "--quiet", "--mask-pii", "--evidence-dir", evidence], { ...env(), DB_HARNESS_MASK_KEY: "k" })
    expect(masked.code, masked.stderr).toBe(0)
    const same = await runCli(["drift", source, target, "--json", "--evidence-dir", evidence], env())
    expect(same.code, same.stderr).toBe(0)
    const blocked = await runCli(["drift", source, drifted, "--fail-on-breaking", "--evidence-dir", evidence], env())
    expect(blocked.code, blocked.stdout).toBe(2)
    const refused = await runCli(["propagate", source, "nowhere", "--quiet", "--evidence-dir", evidence], env())
    expect(refused.code).toBe(1)

    const log = entries()
    expect(log.map((e) => [e.seq, e.kind, e.outcome.status, e.outcome.exitCode])).toEqual([
      [1, "propagate", "ok", 0],
      [2, "propagate", "ok", 0],
      [3, "drift", "ok", 0],
      [4, "drift", "blocked", 2],
      [5, "propagate", "failed", 1]
    ])
    const [copy, maskedCopy, pass, block, failed] = log as [AuditEntry, AuditEntry, AuditEntry, AuditEntry, AuditEntry]
    const password = decodeURIComponent(new URL(source).password)
    expect(copy.source).toContain(":***@")
    expect(copy.counts).toEqual({ tables: 1, rows: 50, columnsMasked: 0 })
    expect(maskedCopy.counts.columnsMasked).toBeGreaterThanOrEqual(2)
    expect(maskedCopy.config.rulesDigest).toMatch(/^[0-9a-f]{64}$/)
    expect(maskedCopy.config.digest).not.toBe(copy.config.digest)
    for (const entry of [copy, maskedCopy, pass, block]) {
      const evidenceText = readFileSync(join(evidence, entry.evidence!.file), "utf8")
      expect(createHash("sha256").update(evidenceText).digest("hex")).toBe(entry.evidence!.digest)
    }
    expect(block.counts.findingsByRule).toEqual({ "drift/column-dropped": 1 })
    expect(pass.counts).toEqual({ findings: 0, findingsByRule: {} })
    expect(failed.outcome.reason).toBe("BadInput")
    expect(failed.evidence).toBeNull()
    expect(copy.actor.gitCommit).toMatch(/^[0-9a-f]{40}$/)
    const text = readFileSync(join(evidence, "audit.log.jsonl"), "utf8")
    expect(text).not.toContain(SECRET_VALUE)
    expect(text).not.toContain("@example.org")
    if (password !== "") expect(text).not.toContain(`:${password}@`)

    const verified = await runCli(["audit", "verify", evidence, "--public-key", publicKey, "--json"])
    expect(verified.code, verified.stdout).toBe(0)
    expect(JSON.parse(verified.stdout)).toMatchObject({ status: "intact", entries: 5, signedThrough: 5 })
  })

  it("detect-pii and consistency record themselves too, blocked runs included, into the same verifying log", async () => {
    const gates = join(dir, "gate-evidence")
    const pii = await runCli(["detect-pii", source, "--json", "--evidence-dir", gates], env())
    expect(pii.code, pii.stderr).toBe(0) // names with digits and example.org addresses are not personal data
    const clean = await runCli(["consistency", source, source, "--json", "--evidence-dir", gates], env())
    expect(clean.code, clean.stderr).toBe(0)
    const lost = await runCli(["consistency", source, drifted, "--json", "--evidence-dir", gates], env())
    expect(lost.code, lost.stderr).toBe(3)
    const log = readFileSync(join(gates, "audit.log.jsonl"), "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line) as AuditEntry)
    expect(log.map((e) => [e.seq, e.kind, e.outcome.status, e.outcome.exitCode])).toEqual([
      [1, "detect-pii", "ok", 0],
      [2, "consistency", "ok", 0],
      [3, "consistency", "blocked", 3]
    ])
    expect(log[0]!.counts).toMatchObject({ tables: 1, findings: 0 })
    expect(log[0]!.target).toContain(":***@")
    expect(log[2]!.counts.findingsByRule).toEqual({ "consistency/row-count": 1 })
    for (const entry of log) {
      const evidenceText = readFileSync(join(gates, entry.evidence!.file), "utf8")
      expect(createHash("sha256").update(evidenceText).digest("hex")).toBe(entry.evidence!.digest)
    }
    const text = readFileSync(join(gates, "audit.log.jsonl"), "utf8")
    expect(text).not.toContain(SECRET_VALUE)
    expect(text).not.toContain("@example.org")
    const verified = await runCli(["audit", "verify", gates, "--public-key", publicKey, "--json"])
    expect(verified.code, verified.stdout).toBe(0)
    expect(JSON.parse(verified.stdout)).toMatchObject({ status: "intact", entries: 3, signedThrough: 3 })
  })

  it("records the CI job from GitLab variables, and says plainly when the run is unsigned", async () => {
    const ciEvidence = join(dir, "ci-evidence")
    const run = await runCli(["drift", source, target, "--evidence-dir", ciEvidence], {
      GITLAB_CI: "true",
      GITLAB_USER_LOGIN: "release-bot",
      CI_PROJECT_PATH: "team/app",
      CI_PIPELINE_ID: "4242",
      CI_JOB_ID: "99",
      CI_JOB_URL: "https://gitlab.example/team/app/-/jobs/99",
      CI_COMMIT_SHA: "0123456789abcdef0123456789abcdef01234567",
      DB_HARNESS_AUDIT_KEY: ""
    })
    expect(run.code, run.stderr).toBe(0)
    expect(run.stderr).toContain("UNSIGNED: DB_HARNESS_AUDIT_KEY is not set, the log is only hash-linked")
    const entry = JSON.parse(readFileSync(join(ciEvidence, "audit.log.jsonl"), "utf8")) as AuditEntry
    expect(entry.actor).toEqual({
      user: "release-bot",
      ci: { provider: "gitlab", project: "team/app", pipelineId: "4242", jobId: "99", url: "https://gitlab.example/team/app/-/jobs/99" },
      gitCommit: "0123456789abcdef0123456789abcdef01234567"
    })
    const verified = await runCli(["audit", "verify", ciEvidence])
    expect(verified.code).toBe(0)
    expect(verified.stdout).toContain("OK, UNSIGNED")
  })
})
