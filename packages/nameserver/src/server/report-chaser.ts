/**
 * The timer behind the engine's `chaseReports` effect (core/report-chase.ts): while the engine
 * names tablets whose fresh reports a current task waits on (a kCheckBinlogSyncProgress: the new
 * replica and its leader), this polls them every CHASE_INTERVAL_MS, one chase in flight at a
 * time, instead of leaving the task to the next `get_table_status_interval` poll. `[]` (no such
 * task current) stops it: nothing runs while no op waits on a report.
 */
import type { Endpoint } from '@tessera/common';

/** Pause between two chases of the same waiting task. */
export const CHASE_INTERVAL_MS = 40;

export class ReportChaser {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private endpoints: Endpoint[] = [];

  /** `report` polls one tablet and hands its report to the engine. */
  constructor(private readonly report: (endpoint: Endpoint) => Promise<void>) {}

  /** The engine's `chaseReports`: chase these tablets from now on (`[]`: stop). */
  chase(endpoints: Endpoint[]): void {
    this.endpoints = endpoints;
    if (endpoints.length === 0) this.stop();
    else this.arm();
  }

  private arm(): void {
    if (this.timer !== undefined || this.running) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.endpoints.length === 0) return;
      this.running = true;
      void Promise.allSettled(this.endpoints.map((ep) => this.report(ep))).then(() => {
        this.running = false;
        if (this.endpoints.length > 0) this.arm();
      });
    }, CHASE_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    this.endpoints = [];
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
