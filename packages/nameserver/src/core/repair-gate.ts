/**
 * When the reconciler (repair.ts) may judge a partition. Reports are polled: one asked for before
 * an op's last command took effect can arrive after the op ended and show what the op just
 * changed (the migrated-away copy still there, the leader still replicating to it). Judged on
 * such a report, a clean op would be followed by a kRepairPartitionOP that finds nothing to do
 * (issue 17, bug 4). So after any op on a partition ends, the partition is judged only once every
 * healthy tablet has reported `REPORTS_AFTER_OP_MIN` times since: the shell polls all tablets per
 * round and starts a round only after the previous one finished, so the second report was asked
 * for after the op ended. After a repair op the partition is also left alone for
 * `repairBackoffMs` (a failing repair is not retried at once). Pure: time is passed in.
 */
import type { Endpoint } from '@tessera/common';

/** Reports per tablet after an op ended before its partition is judged (see above). */
export const REPORTS_AFTER_OP_MIN = 2;

export class RepairGate {
  /** Reports received per tablet since this engine leads. */
  private readonly reportCounts = new Map<Endpoint, number>();
  /** Per partition: each tablet's report count when the partition's last op ended. */
  private readonly countsAtOpEnd = new Map<string, Map<Endpoint, number>>();
  private readonly quietUntilMs = new Map<string, number>();

  reported(endpoint: Endpoint): void {
    this.reportCounts.set(endpoint, (this.reportCounts.get(endpoint) ?? 0) + 1);
  }

  /** An op on `partition` ended; `backoffMs` keeps the reconciler away that much longer (repair ops). */
  opEnded(partition: string, nowMs: number, backoffMs: number): void {
    this.countsAtOpEnd.set(partition, new Map(this.reportCounts));
    if (backoffMs > 0) this.quietUntilMs.set(partition, nowMs + backoffMs);
  }

  /** Whether `partition` may be judged now, with reports from `healthy` tablets. */
  mayJudge(partition: string, healthy: readonly Endpoint[], nowMs: number): boolean {
    if ((this.quietUntilMs.get(partition) ?? 0) > nowMs) return false;
    const atEnd = this.countsAtOpEnd.get(partition);
    if (atEnd === undefined) return true;
    for (const e of healthy) {
      if ((this.reportCounts.get(e) ?? 0) - (atEnd.get(e) ?? 0) < REPORTS_AFTER_OP_MIN) return false;
    }
    this.countsAtOpEnd.delete(partition);
    return true;
  }

  clear(): void {
    this.reportCounts.clear();
    this.countsAtOpEnd.clear();
    this.quietUntilMs.clear();
  }
}
