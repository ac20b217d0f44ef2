/**
 * A plugin is one file that Node, Bun and Deno load unchanged: the README's example plugin
 * (test/fixtures/plugins/initials.ts, importing `db-harness/plugin`) is imported and used under
 * each runtime, and through the real plugin host in Node, where its options are decoded by its
 * schema. Bun comes from the `bun` npm package; Deno from its Linux x64 npm package (the registry
 * this project installs from serves no other platform of Deno, which breaks `npm ci` for the
 * `deno` wrapper package).
 */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"
import { makeMaskContext } from "../src/engine/mask-kit.ts"
import { instantiate, makeRegistry } from "../src/engine/plugin-host.ts"
import { projectRoot } from "./support/cli.ts"

const plugin = fileURLToPath(new URL("./fixtures/plugins/initials.ts", import.meta.url))
const loader = fileURLToPath(new URL("./fixtures/plugins/load-in-runtime.ts", import.meta.url))

const run = (command: string, args: ReadonlyArray<string>) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(command, [...args], { cwd: projectRoot }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr })
    )
  })

const RUNTIMES: ReadonlyArray<readonly [string, string, ReadonlyArray<string>]> = [
  ["node", process.execPath, [loader, plugin]],
  ["bun", `${projectRoot}node_modules/.bin/bun`, [loader, plugin]],
  ["deno", `${projectRoot}node_modules/@deno/linux-x64-glibc/deno`, ["run", "--allow-read", "--allow-env", loader, plugin]]
]

describe("one plugin file, three runtimes", () => {
  it.each(RUNTIMES)("%s loads the plugin unchanged and masks with it", async (_name, command, args) => {
    const result = await run(command, args)
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual({ name: "initials", kind: "mask", masked: "A. L." })
  })

  it("the host loads it by path, decodes its options and names a bad one", async () => {
    const registry = await Effect.runPromise(makeRegistry([], [plugin]))
    const loaded = registry.get("initials")!
    const context = makeMaskContext({ locale: "en" })
    const strategy = await Effect.runPromise(instantiate(loaded, "mask", { separator: "" }, context, "rules.yaml:3"))
    const column = { name: "n", type: "text", typeOid: 25, baseType: "text", isArray: false, notNull: true, table: "public.t", maxLength: null, unique: false }
    expect(strategy.compile(column)("Grace Brewster Hopper")).toBe("G.B.H.")
    const bad = await Effect.runPromiseExit(instantiate(loaded, "mask", { separator: 7 }, context, "rules.yaml:3"))
    expect(JSON.stringify(bad)).toContain('rules.yaml:3: plugin \\"initials\\": option separator: Expected string | undefined')
  })
})
