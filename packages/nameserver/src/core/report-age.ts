/**
 * How old a tablet's status report may be and still be read: the rules behind the shell's status
 * poller (server/status-poller.ts). Pure: the shell passes the times it keeps and its clock's now.
 */

/** A report older than this many poll intervals is not read as current (the tablet stopped answering). */
export const STALE_AFTER_INTERVALS = 5;

/** Whether a report taken at `reportAtMs` may still be read at `nowMs`, polls running every `intervalMs`. */
export function reportIsFresh(reportAtMs: number, nowMs: number, intervalMs: number): boolean {
  return nowMs - reportAtMs <= intervalMs * STALE_AFTER_INTERVALS;
}

/** Whether the poll that ended at `lastPollMs` is older than `maxAgeMs` at `nowMs` (0: never polled). */
export function pollIsOlderThan(lastPollMs: number, nowMs: number, maxAgeMs: number): boolean {
  return nowMs - lastPollMs > maxAgeMs;
}
