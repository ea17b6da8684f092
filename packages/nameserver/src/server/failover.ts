/**
 * The failover timer: the decisions are the engine's failover checker (core/failover-check.ts);
 * this shell only reads `/config/auto_failover` (so `confset` takes effect at the next check) and
 * feeds the engine a `failoverCheck` every `checkIntervalMs`, plus one right when a vanished
 * tablet's heartbeat timeout ends (not up to one interval later).
 */
import type { Logger } from '@tessera/common';
import type { Coord, ZkLayout } from '@tessera/coord';
import type { OpShell } from './op-shell.js';
import type { TabletTracker } from './tablets.js';

/** Added to the heartbeat timeout when scheduling a vanished tablet's check, so it is surely due. */
const DUE_SLACK_MS = 5;

export interface FailoverOptions {
  heartbeatTimeoutMs: number;
  checkIntervalMs: number;
}

export class FailoverTimer {
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(
    private readonly session: Coord,
    private readonly layout: ZkLayout,
    tablets: TabletTracker,
    private readonly ops: OpShell,
    private readonly options: FailoverOptions,
    private readonly log: Logger,
  ) {
    tablets.on('down', () => {
      if (this.timer) setTimeout(() => void this.check(), this.options.heartbeatTimeoutMs + DUE_SLACK_MS).unref();
    });
  }

  start(): void {
    this.timer = setInterval(() => void this.check(), this.options.checkIntervalMs);
    this.timer.unref();
    void this.check();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async check(): Promise<void> {
    if (this.checking || !this.timer) return;
    this.checking = true;
    try {
      const node = await this.session.get(this.layout.autoFailover).catch((err: Error) => {
        this.log.debug(`reading auto_failover: ${err.message}`);
        return undefined;
      });
      if (this.timer) this.ops.failoverCheck(node?.data.toString('utf8') === 'true');
    } finally {
      this.checking = false;
    }
  }
}
