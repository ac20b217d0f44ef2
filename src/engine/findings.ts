/**
 * Findings: what every gate returns (data, never exceptions). One shape for all gates, so CI
 * reports, waivers and the audit log treat them alike:
 * `{ rule, severity, object, before, after, message, hint, fingerprint }`. The fingerprint is a
 * stable hash of the rule, the object and the change (never of wording or time), so a waiver
 * written for a finding keeps matching it run after run, and only it.
 */
import { createHash } from "node:crypto"

export type Severity = "breaking" | "hazard" | "performance" | "info"

/** What a finding is about: the kind and the qualified path (schema, table, column, ...). */
export interface FindingObject {
  /** e.g. `table`, `column`, `index`, `foreign key`, `enum`, `function`, `policy`. */
  readonly kind: string
  readonly schema?: string
  readonly table?: string
  readonly column?: string
  /** Name of the object itself when it is not a table or column (index, constraint, ...). */
  readonly name?: string
}

export interface Finding {
  /** Stable rule id, e.g. `drift/column-dropped`. */
  readonly rule: string
  readonly severity: Severity
  readonly object: FindingObject
  /** The state before and after the change (TARGET now, TARGET once it matches SOURCE), as text. */
  readonly before: string | null
  readonly after: string | null
  /** One line: what changes and why it matters. */
  readonly message: string
  /** How to make the change safely (e.g. expand/contract for a rename). */
  readonly hint?: string
  readonly fingerprint: string
  /** Extra facts a gate adds (e.g. `confidence` of a rename, counts of a data-aware check). */
  readonly details?: Readonly<Record<string, unknown>>
}

/** Dotted path of an object, e.g. `public.orders.customer_id` or `public.orders_pkey`. */
export const objectPath = (object: FindingObject): string =>
  [object.schema, object.table, object.column, object.name].filter((part) => part !== undefined && part !== "").join(".")

/** The fingerprint: SHA-256 (first 16 hex digits) of rule, object kind and path, before and after. */
export const fingerprintOf = (rule: string, object: FindingObject, before: string | null, after: string | null): string =>
  createHash("sha256")
    .update(JSON.stringify([rule, object.kind, objectPath(object), before, after]))
    .digest("hex")
    .slice(0, 16)

/** Build a finding, computing its fingerprint. */
export const finding = (fields: Omit<Finding, "fingerprint">): Finding => ({
  ...fields,
  fingerprint: fingerprintOf(fields.rule, fields.object, fields.before, fields.after)
})

/** A finding as gates print it in `--json` and evidence files: keys in the documented order, absent ones left out. */
export const findingJson = (finding: Finding) => ({
  rule: finding.rule,
  severity: finding.severity,
  object: finding.object,
  before: finding.before,
  after: finding.after,
  message: finding.message,
  fingerprint: finding.fingerprint,
  ...(finding.hint === undefined ? {} : { hint: finding.hint }),
  ...(finding.details === undefined ? {} : { details: finding.details })
})

export const SEVERITY_ORDER: ReadonlyArray<Severity> = ["breaking", "hazard", "performance", "info"]
