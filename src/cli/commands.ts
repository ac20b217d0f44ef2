/**
 * The commands db-harness lists: only commands that work are here. Each lives in its own file
 * under src/cli/commands/.
 */
import { inspect } from "./commands/inspect.ts"

export const commands = [inspect] as const
