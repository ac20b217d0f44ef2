/**
 * Runs the real `db-harness` command line as a child process (the pinned Node, the TypeScript
 * entry point), the way users and CI run it, and returns its exit code and output.
 */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"

export const projectRoot = fileURLToPath(new URL("../../", import.meta.url))

export interface CliRun {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

export const runCli = (args: ReadonlyArray<string>, env: Readonly<Record<string, string>> = {}): Promise<CliRun> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      ["src/cli/main.ts", ...args],
      { cwd: projectRoot, env: { ...process.env, NO_COLOR: "1", ...env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1
        resolve({ code, stdout, stderr })
      }
    )
  })
