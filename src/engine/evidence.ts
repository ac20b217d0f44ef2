/**
 * Evidence files: one JSON document per command run (`propagate_<timestamp>.json`, later
 * `drift_...`, `pii_...`), written into the evidence directory so CI can keep them as artifacts
 * and the audit log can point at them by digest. Never a password, never a data value: callers
 * pass display forms of endpoints (connection.ts) and counts.
 */
import * as Effect from "effect/Effect"
import { createHash, randomBytes } from "node:crypto"
import { mkdir, rename, writeFile } from "node:fs/promises"
import { join, resolve } from "node:path"
import { redactUrl } from "./connection.ts"
import { HarnessError } from "./errors.ts"

export const DEFAULT_EVIDENCE_DIR = ".db-harness/evidence"

/** `2026-11-21T20-40-00-123Z`: sortable, and safe in file names on every OS. */
export const fileTimestamp = (date: Date) => date.toISOString().replaceAll(":", "-").replace(".", "-")

export interface WrittenEvidence {
  readonly path: string
  /** SHA-256 of the file's bytes. */
  readonly digest: string
}

/** Write `<dir>/<kind>_<timestamp>.json` atomically (temp file + rename). */
export const writeEvidence = (
  directory: string,
  kind: string,
  document: unknown,
  now: Date = new Date()
): Effect.Effect<WrittenEvidence, HarnessError> =>
  Effect.tryPromise({
    try: async () => {
      const dir = resolve(directory)
      await mkdir(dir, { recursive: true })
      const path = join(dir, `${kind}_${fileTimestamp(now)}.json`)
      // A last line of defence: no URL password may reach a file, whatever a caller passed.
      const text = redactUrl(JSON.stringify(document, null, 2)) + "\n"
      const temp = `${path}.${randomBytes(4).toString("hex")}.tmp`
      await writeFile(temp, text, { mode: 0o644 })
      await rename(temp, path)
      return { path, digest: createHash("sha256").update(text).digest("hex") }
    },
    catch: (cause) =>
      new HarnessError({
        reason: "BadInput",
        message: `cannot write the evidence file into ${directory}: ${(cause as Error).message ?? String(cause)}`,
        cause
      })
  })
