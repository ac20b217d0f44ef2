/**
 * Exit codes, from one place: the table in DESIGN.md. Commands never call `process.exit`; a
 * command that must end with a non-zero code fails with `CommandExit`, and the entry point
 * (main.ts) turns the outcome into the process's exit code.
 */
import * as Data from "effect/Data"

export const ExitCode = {
  Success: 0,
  /** Bad input, unreachable database, bad config, a refused or failed run. */
  Error: 1,
  BreakingDrift: 2,
  IntegrityViolation: 3,
  PiiDetected: 4,
  AuditChainInvalid: 5
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/** A command's request to end with `code`; `message` (if any) goes to stderr. */
export class CommandExit extends Data.TaggedError("CommandExit")<{
  readonly code: ExitCode
  readonly message?: string
}> {}
