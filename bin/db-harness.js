#!/usr/bin/env -S node --max-semi-space-size=1
// The installed `db-harness` command. Runs the compiled build (dist/, made by `npm run build`,
// which `npm install` runs through `prepare`) when it is at least as new as every source file,
// else the TypeScript sources, which Node (>= 22.18) runs unbuilt. The build saves the type
// stripper's memory and start-up: `--version` peaks at 97 MB compiled against 128 MB from source.
//
// --max-semi-space-size=1: a copy moves gigabytes through short-lived buffers. Peak memory of an
// unmasked copy, measured with bench/propagate.bench.ts (2M / 20M rows): V8's default young
// generation ~185 MB at 2M; 1 MB: 138 / 142 MB (flat); 2 MB: 147 / 164 MB; 4 MB: 147 / 169 MB
// (from source). The npm scripts pass the same flag.
import { existsSync, readdirSync, statSync } from "node:fs"
import module from "node:module"
import { fileURLToPath } from "node:url"

// V8's code cache on disk (Node >= 22.1; in the OS temp directory, or NODE_COMPILE_CACHE): later
// runs skip compiling the ~300 modules a command loads. Where it is missing (Bun, Deno) or the
// directory cannot be written, nothing changes.
module.enableCompileCache?.()

const root = fileURLToPath(new URL("../", import.meta.url))
const stamp = `${root}dist/.build-stamp`

/** Newest modification time of a file under `dir` (ms). */
const newest = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
    const path = `${dir}/${entry.name}`
    return Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs)
  }, 0)

const built = existsSync(stamp) && statSync(stamp).mtimeMs >= newest(`${root}src`)
await import(built ? "../dist/cli/main.js" : "../src/cli/main.ts")
