#!/usr/bin/env -S node --max-semi-space-size=2
// The installed `db-harness` command: hands over to the TypeScript entry point, which Node
// (>= 22.18 strips types by default) runs unbuilt.
//
// --max-semi-space-size=2: a copy moves gigabytes through short-lived buffers and strings. With
// V8's default young generation (which grows to tens of MB) an unmasked 2M-row copy peaked ~50 MB
// higher; with 1 MB, values of masked columns were promoted to the old generation (masked copy
// 265 MB); with 4 MB a 20M-row copy read in two ranges reached 169 MB; 2 MB kept both down
// (measured with bench/propagate.bench.ts and the README's figures). The npm scripts pass it too.
import "../src/cli/main.ts"
