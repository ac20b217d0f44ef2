/**
 * The one error type of db-harness. Every failure a user can cause or meet (bad input, an
 * unreachable database, a refused target, a failed COPY) is a `HarnessError` with a `reason`,
 * so callers match on one tag and the CLI maps every reason to exit code 1 (except PiiDetected: 4). Gate results are
 * not errors: gates return findings, and the CLI turns blocking findings into their exit codes.
 */
import * as Data from "effect/Data"

export type HarnessErrorReason =
  | "BadInput" // a flag, URL, rules or config file that cannot be used as given
  | "Connection" // unreachable host, wrong password, missing database
  | "Refused" // a safety check said no (self-copy, protected target)
  | "SchemaMismatch" // the target cannot take the source's rows
  | "CopyFailed" // a table failed while streaming; it was rolled back
  | "PiiDetected" // personal data survived masking (propagate --mask-pii): exit 4, not 1
  | "Internal"

export class HarnessError extends Data.TaggedError("HarnessError")<{
  readonly reason: HarnessErrorReason
  readonly message: string
  readonly cause?: unknown
}> {}

export const badInput = (message: string, cause?: unknown) =>
  new HarnessError({ reason: "BadInput", message, cause })
