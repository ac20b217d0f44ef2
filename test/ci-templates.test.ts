/**
 * The CI templates (GitLab hidden jobs, the GitLab CI/CD component, the GitHub Action) call the
 * real command line: every command and flag they use must exist (each is checked against the
 * command's own `--help`), and the exit codes they treat as warnings must be the documented ones.
 * A renamed flag would otherwise break every pipeline that includes them, silently until run.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { parse } from "yaml"
import { ExitCode } from "../src/cli/exit-codes.ts"
import { projectRoot, runCli } from "./support/cli.ts"

const read = (path: string) => readFileSync(join(projectRoot, path), "utf8")

const helpCache = new Map<string, Promise<string>>()
/** `db-harness <command...> --help`, which must exit 0. */
const helpOf = (command: ReadonlyArray<string>) => {
  const key = command.join(" ")
  let help = helpCache.get(key)
  if (help === undefined) {
    help = runCli([...command, "--help"]).then((run) => {
      expect(run.code, `db-harness ${key} --help: ${run.stderr}`).toBe(0)
      return run.stdout
    })
    helpCache.set(key, help)
  }
  return help
}

/** The command words and `--flags` of a `$DB_HARNESS ...` script line. */
const invocation = (line: string) => {
  const words = line.replace(/^\$DB_HARNESS\s+/, "").split(/\s+/)
  const command = words.slice(0, words[0] === "audit" ? 2 : 1)
  const flags = words.filter((w) => w.startsWith("--"))
  return { command, flags }
}

describe("GitLab hidden jobs (ci/gitlab/db-harness.gitlab-ci.yml)", () => {
  const jobs = parse(read("ci/gitlab/db-harness.gitlab-ci.yml")) as Record<string, { script?: Array<string>; extends?: string; allow_failure?: { exit_codes: Array<number> } }>
  const gates = Object.entries(jobs).filter(([name, job]) => name.startsWith(".db-harness-") && job.script !== undefined)

  it("has a job for each gate and for a masked refresh, all extending the base job", () => {
    expect(gates.map(([name]) => name).sort()).toEqual([
      ".db-harness-audit-verify",
      ".db-harness-consistency",
      ".db-harness-detect-pii",
      ".db-harness-drift",
      ".db-harness-propagate"
    ])
    for (const [, job] of gates) expect(job.extends).toBe(".db-harness")
  })

  it("calls only commands and flags that exist", async () => {
    for (const [name, job] of gates) {
      for (const line of job.script ?? []) {
        const { command, flags } = invocation(line)
        const help = await helpOf(command)
        for (const flag of flags) expect(help, `${name}: ${command.join(" ")} has no ${flag}`).toContain(flag)
      }
    }
  }, 120_000)

  it("lets a broken audit chain warn (exit 5) and nothing else", () => {
    expect(jobs[".db-harness-audit-verify"]?.allow_failure).toEqual({ exit_codes: [ExitCode.AuditChainInvalid] })
    for (const [name, job] of gates) if (name !== ".db-harness-audit-verify") expect(job.allow_failure, name).toBeUndefined()
  })
})

describe("GitLab CI/CD component (templates/db-harness.yml)", () => {
  const [specText, jobText] = read("templates/db-harness.yml").split(/^---$/m) as [string, string]
  const spec = parse(specText) as { spec: { inputs: Record<string, { options?: Array<string>; default?: unknown }> } }

  it("offers only commands that exist", async () => {
    const commands = spec.spec.inputs["command"]?.options ?? []
    expect(commands.length).toBeGreaterThan(5)
    for (const command of commands) await helpOf(command.split(" "))
  }, 120_000)

  it("warns on exit 5 by default and keeps the default evidence directory", () => {
    expect(spec.spec.inputs["warn-on-exit-codes"]?.default).toEqual([ExitCode.AuditChainInvalid])
    expect(spec.spec.inputs["evidence-dir"]?.default).toBe(".db-harness/evidence")
    expect(() => parse(jobText)).not.toThrow()
  })
})

describe("GitHub Action (ci/github-action/action.yml)", () => {
  const action = parse(read("ci/github-action/action.yml")) as {
    inputs: Record<string, { description: string; default?: string }>
    runs: { using: string; steps: Array<{ run?: string; env?: Record<string, string> }> }
  }

  it("names only commands that exist, and passes inputs through the environment (no script injection)", async () => {
    const named = action.inputs["command"]?.description.split("|").map((c) => c.replace(/"/g, "").trim()) ?? []
    expect(named.length).toBeGreaterThan(5)
    for (const command of named) await helpOf(command.split(" "))
    const script = action.runs.steps.find((s) => s.run !== undefined)
    expect(script?.run).not.toMatch(/\$\{\{\s*inputs\./)
    expect(script?.env?.["DB_HARNESS_ARGUMENTS"]).toBe("${{ inputs.arguments }}")
  }, 120_000)

  it("warns on exit 5 by default and keeps the default evidence directory", () => {
    expect(action.runs.using).toBe("composite")
    expect(action.inputs["warn-on-exit-codes"]?.default).toBe(String(ExitCode.AuditChainInvalid))
    expect(action.inputs["evidence-dir"]?.default).toBe(".db-harness/evidence")
  })
})
