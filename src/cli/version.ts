/**
 * The tool's version, read from package.json at start-up. Read rather than imported as JSON so
 * the compiled build (dist/, see tsconfig.build.json) finds the same file from the same depth.
 */
import { readFileSync } from "node:fs"

export const TOOL_VERSION: string = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version
