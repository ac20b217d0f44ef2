#!/usr/bin/env node
// The installed `db-harness` command: hands over to the TypeScript entry point, which Node (>= 22.18
// strips types by default), Bun and Deno run unbuilt.
import "../src/cli/main.ts"
