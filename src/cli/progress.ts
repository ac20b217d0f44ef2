/**
 * Progress of a propagate run as people see it. On a TTY: a live display redrawn a few times a
 * second (overall rows, bytes, rows/s and ETA, then the tables being copied). In CI (no TTY): one
 * plain line per finished table. With --quiet: nothing. The copy only bumps counters in
 * `TableProgress` objects; this module reads them on a timer, so the hot path never waits for it.
 */
import type { TableProgress } from "../engine/table-copy.ts"
import type { Style } from "./output.ts"

export interface ProgressTable {
  readonly label: string
  readonly estimatedRows: number
  readonly progress: TableProgress
}

export type ProgressMode = "live" | "lines" | "quiet"

export interface ProgressReporter {
  readonly tableDone: (table: ProgressTable) => void
  readonly stop: () => void
}

export const formatCount = (n: number): string =>
  n >= 1e9 ? `${(n / 1e9).toFixed(2)}G` : n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : String(Math.round(n))

export const formatBytes = (n: number): string =>
  n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`

export const formatDuration = (ms: number): string => {
  const s = Math.max(0, Math.round(ms / 1000))
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`
}

const bar = (fraction: number, width: number) => {
  const full = Math.max(0, Math.min(width, Math.round(fraction * width)))
  return "█".repeat(full) + "░".repeat(width - full)
}

export const startProgress = (
  mode: ProgressMode,
  tables: ReadonlyArray<ProgressTable>,
  write: (text: string) => void,
  columns: () => number,
  style: Style,
  now: () => number = Date.now
): ProgressReporter => {
  const started = now()
  if (mode === "quiet") return { tableDone: () => {}, stop: () => {} }
  if (mode === "lines") {
    return {
      tableDone: (t) => {
        const p = t.progress
        const ms = (p.finishedAt ?? now()) - (p.startedAt ?? started)
        const rate = ms > 0 ? (p.rowsWritten * 1000) / ms : p.rowsWritten
        write(
          `${p.state === "done" ? "copied" : "FAILED"} ${t.label}: ${p.rowsWritten} rows, ${formatBytes(p.bytesWritten)} in ${(ms / 1000).toFixed(2)}s (${formatCount(rate)} rows/s)\n`
        )
      },
      stop: () => {}
    }
  }
  const totalEstimate = tables.reduce((sum, t) => sum + Math.max(0, t.estimatedRows), 0)
  let drawnLines = 0
  const render = () => {
    const width = Math.max(40, columns())
    const elapsed = now() - started
    let rows = 0
    let bytes = 0
    let done = 0
    for (const t of tables) {
      rows += t.progress.rowsRead
      bytes += t.progress.bytesWritten
      if (t.progress.state === "done") done++
    }
    const rate = elapsed > 0 ? (rows * 1000) / elapsed : 0
    const fraction = totalEstimate > 0 ? Math.min(1, rows / totalEstimate) : done / Math.max(1, tables.length)
    const eta = rate > 0 && totalEstimate > rows ? formatDuration(((totalEstimate - rows) / rate) * 1000) : "-"
    const lines = [
      `${style.bold("propagate")} ${bar(fraction, 24)} ${(fraction * 100).toFixed(0).padStart(3)}%  tables ${done}/${tables.length}  rows ${formatCount(rows)}  ${formatBytes(bytes)}  ${formatCount(rate)} rows/s  ETA ${eta}  ${style.dim(formatDuration(elapsed))}`
    ]
    const active = tables.filter((t) => t.progress.state === "copying").slice(0, 8)
    for (const t of active) {
      const p = t.progress
      const ms = now() - (p.startedAt ?? now())
      const tRate = ms > 0 ? (p.rowsRead * 1000) / ms : 0
      const tFraction = t.estimatedRows > 0 ? Math.min(1, p.rowsRead / t.estimatedRows) : 0
      lines.push(
        `  ${style.cyan(t.label.slice(0, 40).padEnd(40))} ${bar(tFraction, 12)} ${formatCount(p.rowsRead).padStart(7)} rows  ${formatBytes(p.bytesWritten).padStart(10)}  ${formatCount(tRate).padStart(6)} rows/s`
      )
    }
    let out = drawnLines > 0 ? `\u001b[${drawnLines}F` : ""
    for (const line of lines) out += `\u001b[2K${line.slice(0, width + 40)}\n`
    // Clear lines left over from a previous, taller frame.
    for (let i = lines.length; i < drawnLines; i++) out += "\u001b[2K\n"
    const extra = Math.max(0, drawnLines - lines.length)
    if (extra > 0) out += `\u001b[${extra}F`
    write(out)
    drawnLines = lines.length
  }
  const timer = setInterval(render, 200)
  render()
  return {
    tableDone: () => {},
    stop: () => {
      clearInterval(timer)
      render()
    }
  }
}
