/**
 * The timer behind the engine's `chaseReports` effect (core/report-chase.ts): while the engine
 * names tablets whose fresh reports a current task waits on (a kCheckBinlogSyncProgress: the new
 * replica and its leader), this polls them every `intervalMs` the effect carries, one chase in
 * flight at a time, instead of leaving the task to the next `get_table_status_interval` poll.
 * `[]` (no such task current) stops it: nothing runs while no op waits on a report.
 */
import type { Endpoint } from '@tessera/common';

export class ReportChaser {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private endpoints: Endpoint[] = [];
  private intervalMs = 0;

  /** `report` polls one tablet and hands its report to the engine. */
  constructor(private readonly report: (endpoint: Endpoint) => Promise<void>) {}

  /** The engine's `chaseReports`: chase these tablets from now on, every `intervalMs` (`[]`: stop). */
  chase(endpoints: Endpoint[], intervalMs: number): void {
    const sooner = intervalMs < this.intervalMs;
    this.endpoints = endpoints;
    this.intervalMs = intervalMs;
    if (endpoints.length === 0) {
      this.stop();
      return;
    }
    // A shorter interval (a copy ended) takes effect now, not after the longer wait armed.
    if (sooner && this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.arm();
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
    }, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.endpoints = [];
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
