/**
 * How commands talk to people and to machines: data (and `--json`) on stdout, logs and progress on
 * stderr, ANSI colour only when the CliEnvironment says so.
 */
import * as Effect from "effect/Effect"
import type { Severity } from "../engine/findings.ts"
import { CliEnvironment } from "./cli-environment.ts"
import { displayWidth, padToWidth } from "./display-width.ts"

export interface Style {
  readonly bold: (s: string) => string
  readonly dim: (s: string) => string
  readonly red: (s: string) => string
  readonly green: (s: string) => string
  readonly yellow: (s: string) => string
  readonly cyan: (s: string) => string
}

const ansi = (open: number, close: number) => (s: string) => `\u001b[${open}m${s}\u001b[${close}m`
const plain = (s: string) => s

export const styleFor = (colour: boolean): Style =>
  colour
    ? { bold: ansi(1, 22), dim: ansi(2, 22), red: ansi(31, 39), green: ansi(32, 39), yellow: ansi(33, 39), cyan: ansi(36, 39) }
    : { bold: plain, dim: plain, red: plain, green: plain, yellow: plain, cyan: plain }

/** A finding's severity as gate reports print it, `[breaking]`, coloured by how much it matters. */
export const severityTag = (severity: Severity, s: Style): string => {
  const text = `[${severity}]`
  switch (severity) {
    case "breaking":
      return s.red(text)
    case "hazard":
      return s.yellow(text)
    case "performance":
      return s.cyan(text)
    case "info":
      return s.dim(text)
  }
}

/** A line of data on stdout. */
export const printLine = (line: string) => CliEnvironment.use((cli) => Effect.sync(() => cli.writeStdout(`${line}\n`)))

/** A log line on stderr (never mixed into `--json` output). */
export const logLine = (line: string) => CliEnvironment.use((cli) => Effect.sync(() => cli.writeStderr(`${line}\n`)))

/** A value as pretty JSON on stdout. */
export const printJson = (value: unknown) =>
  CliEnvironment.use((cli) => Effect.sync(() => cli.writeStdout(`${JSON.stringify(value, null, 2)}\n`)))

export const style = CliEnvironment.use((cli) => Effect.succeed(styleFor(cli.colour)))

/** Left-aligned text table with a header row, columns measured as a terminal draws them; numbers are right-aligned by the caller's padStart. */
export const formatTable = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[i] ?? ""))))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : padToWidth(c, widths[i] ?? 0))).join("  ").trimEnd()
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n")
}
