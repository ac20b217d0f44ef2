/**
 * The installed `db-harness` command (bin/db-harness.js) starts the CLI whichever way it runs it:
 * the compiled build when `dist/` is fresh (after `npm install`), the TypeScript sources otherwise.
 */
import { execFile } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"
import { projectRoot } from "./support/cli.ts"

describe("bin/db-harness.js", () => {
  it("prints the package's version and lists the commands", async () => {
    const run = (args: ReadonlyArray<string>) =>
      promisify(execFile)(process.execPath, [join(projectRoot, "bin/db-harness.js"), ...args], { cwd: projectRoot, env: { ...process.env, NO_COLOR: "1" } })
    const version = JSON.parse(readFileSync(join(projectRoot, "package.json"), "utf8")).version as string
    expect((await run(["--version"])).stdout).toContain(version)
    const help = (await run(["--help"])).stdout
    for (const command of ["audit", "consistency", "detect-pii", "drift", "inspect", "plan", "propagate", "rules"]) expect(help).toContain(command)
  })
})
