/**
 * A background job that brings ZooKeeper state in line with what its owner wants (the election
 * node, the tablet registration). Runs of the job never overlap; kicks during a run coalesce into
 * one more run; a failed run is retried with backoff until the next success or stop(). The job
 * must be idempotent: it looks at ZooKeeper and does whatever is still missing.
 */
import { backoffMs } from '@tessera/common';

export interface SerialRunnerOptions {
  retryBaseMs: number;
  retryMaxMs: number;
  onError: (err: unknown) => void;
}

export class SerialRunner {
  private running = false;
  private again = false;
  private stopped = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly job: () => Promise<void>,
    private readonly opts: SerialRunnerOptions,
  ) {}

  /** Asks for one more run as soon as the current one (if any) ends. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.loop();
  }

  /** No more runs start after this; a run in progress finishes on its own. */
  stop(): void {
    this.stopped = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.again = false;
        if (this.stopped) return;
        try {
          await this.job();
          this.attempt = 0;
        } catch (err) {
          this.opts.onError(err);
          this.scheduleRetry();
        }
      } while (this.again && !this.stopped);
    } finally {
      this.running = false;
    }
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer !== undefined) return;
    const delayMs = backoffMs(this.attempt++, this.opts.retryBaseMs, this.opts.retryMaxMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, delayMs);
  }
}
