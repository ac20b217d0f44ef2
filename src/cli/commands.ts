/**
 * The commands db-harness lists: only commands that work are here. Each lives in its own file
 * under src/cli/commands/.
 */
import { inspect } from "./commands/inspect.ts"
import { auditCommand } from "./commands/audit.ts"
import { demoCommand } from "./commands/demo.ts"
import { driftCommand } from "./commands/drift.ts"
import { propagateCommand } from "./commands/propagate.ts"
import { rulesCommand } from "./commands/rules-check.ts"

export const commands = [auditCommand, demoCommand, driftCommand, inspect, propagateCommand, rulesCommand] as const
