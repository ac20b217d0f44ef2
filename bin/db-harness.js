#!/usr/bin/env -S node --max-semi-space-size=4
// The installed `db-harness` command: hands over to the TypeScript entry point, which Node
// (>= 22.18 strips types by default) runs unbuilt.
//
// --max-semi-space-size=4: a copy moves gigabytes through short-lived buffers and strings. With
// V8's default young generation (which grows to tens of MB) an unmasked 2M-row copy peaked
// ~50 MB higher; with 1 MB, values of masked columns were promoted to the old generation and a
// masked copy peaked at 265 MB; 4 MB gave 145 / 171 MB at the same speed (bench/propagate.bench.ts).
// The npm scripts pass the same flag.
import "../src/cli/main.ts"
