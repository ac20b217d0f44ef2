/**
 * The commands db-harness lists: only commands that work are here. Each lives in its own file
 * under src/cli/commands/.
 */
import { inspect } from "./commands/inspect.ts"
import { consistencyCommand } from "./commands/consistency.ts"
import { auditCommand } from "./commands/audit.ts"
import { demoCommand } from "./commands/demo.ts"
import { detectPiiCommand } from "./commands/detect-pii.ts"
import { driftCommand } from "./commands/drift.ts"
import { planCommand } from "./commands/plan.ts"
import { propagateCommand } from "./commands/propagate.ts"
import { rulesCommand } from "./commands/rules-check.ts"

export const commands = [auditCommand, consistencyCommand, demoCommand, detectPiiCommand, driftCommand, inspect, planCommand, propagateCommand, rulesCommand] as const
