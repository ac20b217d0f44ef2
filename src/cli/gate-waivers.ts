/**
 * What the gate commands that take `--waivers` (drift, consistency) share, so the flag, the
 * report section and the warnings read the same in both: the flag, the readable section of waived
 * findings, and one stderr warning per stale entry. The JSON shapes are in the engine
 * (src/engine/waivers.ts), next to the matching.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Flag } from "effect/cli"
import { objectPath } from "../engine/findings.ts"
import { staleWarning, type WaivedFinding, type Waiver } from "../engine/waivers.ts"
import { logLine, severityTag, type Style } from "./output.ts"

export const waiversFlag = Flag.String("waivers").pipe(
  Flag.withDescription("YAML file of accepted findings: waivers: [{ fingerprint, reason, expires: YYYY-MM-DD, rule? }]"),
  Flag.optional,
  Flag.map(Option.getOrUndefined)
)

/** The readable report's section of waived findings (none without any): where each waiver is, until when, and why. */
export const waivedLines = (waived: ReadonlyArray<WaivedFinding>, s: Style): ReadonlyArray<string> =>
  waived.length === 0
    ? []
    : [
        s.bold(`waived (${waived.length}):`),
        ...waived.flatMap(({ finding, waiver }) => [
          `  ${severityTag(finding.severity, s)} ${finding.rule} ${objectPath(finding.object)}: ${finding.message}`,
          s.dim(`      fingerprint ${finding.fingerprint}, until ${waiver.expires} (${waiver.at}): ${waiver.reason}`)
        ])
      ]

/** One warning on stderr per entry that matched no finding. */
export const warnStale = (stale: ReadonlyArray<Waiver>) => Effect.forEach(stale, (waiver) => logLine(staleWarning(waiver)), { discard: true })
