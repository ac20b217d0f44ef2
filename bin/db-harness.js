#!/usr/bin/env -S node --max-semi-space-size=1
// The installed `db-harness` command: hands over to the TypeScript entry point, which Node
// (>= 22.18 strips types by default) runs unbuilt.
//
// --max-semi-space-size=1: a copy moves gigabytes through short-lived buffers, and V8's default
// young generation (which grows to tens of MB) raised peak memory by ~50 MB for no speed gain,
// as measured by bench/propagate.bench.ts. The npm scripts pass the same flag.
import "../src/cli/main.ts"
