/**
 * The commands db-harness lists: only commands that work are here. Each lives in its own file
 * under src/cli/commands/.
 */
export const commands = [] as const
