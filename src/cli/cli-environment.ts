/**
 * What the command handlers may know of the process they run in: environment variables, the
 * working directory, whether stdout/stderr are terminals and whether colour is wanted. Filled in
 * by main.ts (the only module that touches `process`), replaced by plain values in tests.
 */
import * as Context from "effect/Context"

export interface CliEnvironmentShape {
  readonly env: Readonly<Record<string, string | undefined>>
  readonly cwd: string
  readonly stdoutIsTTY: boolean
  readonly stderrIsTTY: boolean
  /** Colour only on a TTY and never with NO_COLOR. */
  readonly colour: boolean
  readonly writeStdout: (text: string) => void
  readonly writeStderr: (text: string) => void
  /** Columns of the terminal, for the live progress display. */
  readonly columns: () => number
}

export class CliEnvironment extends Context.Service<CliEnvironment, CliEnvironmentShape>()("db-harness/CliEnvironment") {}
