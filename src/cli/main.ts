/**
 * The db-harness entry point: the only module that touches `process` (argv, env, TTYs, exit code).
 * It runs the command tree and maps the outcome to an exit code from exit-codes.ts: a
 * `CommandExit` carries its own code, a `HarnessError` or a bad flag is 1.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { Command } from "effect/cli"
import { redactUrl } from "../engine/connection.ts"
import { CliEnvironment } from "./cli-environment.ts"
import { commands } from "./commands.ts"
import { ExitCode } from "./exit-codes.ts"
import { styleFor } from "./output.ts"
import { TOOL_VERSION } from "./version.ts"

const app = Command.make("db-harness").pipe(
  Command.withDescription(
    "Move PostgreSQL data between environments safely and gate database deployments in CI."
  ),
  Command.withSubcommands(commands)
)

const colour = process.stderr.isTTY === true && !("NO_COLOR" in process.env) && process.env["TERM"] !== "dumb"

/**
 * A writer to stdout or stderr that outlives its reader: when the reader goes away
 * (`db-harness plan ... | head`), the rest of that output is dropped and the command still
 * finishes (its evidence, its audit record, its exit code) instead of dying of an EPIPE.
 */
const writerTo = (stream: NodeJS.WriteStream) => {
  let closed = false
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE" && !closed) throw error
    closed = true
  })
  return (text: string) => void (closed || stream.write(text))
}

const cliEnvironment = Layer.succeed(CliEnvironment, {
  env: process.env,
  cwd: process.cwd(),
  stdoutIsTTY: process.stdout.isTTY === true,
  stderrIsTTY: process.stderr.isTTY === true,
  colour,
  writeStdout: writerTo(process.stdout),
  writeStderr: writerTo(process.stderr),
  columns: () => process.stderr.columns ?? 100
})

const program = Command.runWith(app, { version: TOOL_VERSION })(process.argv.slice(2)).pipe(
  Effect.provide(Layer.mergeAll(NodeServices.layer, cliEnvironment))
)

const exit = await Effect.runPromiseExit(program)
const style = styleFor(colour)

/** PII that survived masking fails a run from inside a table's copy, wrapped by it: look down the causes. */
const piiDetectedIn = (error: unknown): boolean => {
  for (let e = error as { _tag?: string; reason?: string; cause?: unknown } | undefined, depth = 0; e && depth < 8; e = e.cause as typeof e, depth++) {
    if (e._tag === "HarnessError" && e.reason === "PiiDetected") return true
  }
  return false
}

const exitCodeOf = (result: typeof exit): number => {
  if (Exit.isSuccess(result)) return ExitCode.Success
  const failure = Cause.findErrorOption(result.cause)
  if (failure._tag === "Some") {
    const error = failure.value as { _tag?: string; code?: number; message?: string }
    if (error._tag === "CommandExit") {
      if (error.message) process.stderr.write(`${error.message}\n`)
      return error.code ?? ExitCode.Error
    }
    if (error._tag === "HarnessError") {
      process.stderr.write(`${style.red("error:")} ${redactUrl(error.message ?? "")}\n`)
      return piiDetectedIn(error) ? ExitCode.PiiDetected : ExitCode.Error
    }
    // Parse errors of the CLI itself were already shown by the CLI's presenter.
    return ExitCode.Error
  }
  if (!Cause.hasInterruptsOnly(result.cause)) {
    process.stderr.write(`${style.red("internal error:")} ${redactUrl(Cause.pretty(result.cause))}\n`)
  }
  return ExitCode.Error
}

process.exitCode = exitCodeOf(exit)
