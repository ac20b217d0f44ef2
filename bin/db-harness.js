#!/usr/bin/env -S node --max-semi-space-size=1
// The installed `db-harness` command: hands over to the TypeScript entry point, which Node
// (>= 22.18 strips types by default) runs unbuilt.
//
// --max-semi-space-size=1: a copy moves gigabytes through short-lived buffers. Peak memory of an
// unmasked copy, measured with bench/propagate.bench.ts (2M / 20M rows): V8's default young
// generation ~185 MB at 2M; 1 MB: 138 / 142 MB (flat); 2 MB: 147 / 164 MB; 4 MB: 147 / 169 MB. The
// price: values of masked columns get promoted to the old generation sooner (a masked 2M-row copy
// peaks at ~265 MB with 1 MB against ~170 MB with 2-4 MB). The npm scripts pass the same flag.
import "../src/cli/main.ts"
