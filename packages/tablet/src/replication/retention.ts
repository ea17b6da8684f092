/**
 * The retention timers of replication on one tablet: binlog retention (each replica keeps its
 * last `binlogRetentionEntries` entries, less what no follower still needs, more what a follower
 * being caught up or an op's pause still needs) and the pruning of leaders' expanding sets
 * (followers a leader waits for on its own that fell behind or went silent).
 */
import type { Logger } from '@tessera/common';
import type { ReplicaManager } from '../replica-manager.js';
import { REPLICATION } from './limits.js';
import { replicaKey as key, type LeaderRoles } from './roles.js';

export class RetentionTimers {
  private readonly retentionTimer: NodeJS.Timeout;
  private readonly pruneTimer: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly replicas: ReplicaManager,
    private readonly leaders: LeaderRoles,
    private readonly o: { binlogRetentionEntries: number; log: Logger },
  ) {
    this.retentionTimer = setInterval(() => void this.enforceRetention(), REPLICATION.retentionCheckIntervalMs);
    this.retentionTimer.unref();
    this.pruneTimer = setInterval(() => {
      const now = Date.now();
      for (const lr of this.leaders.all()) lr.pruneExpanding(now, REPLICATION.expandingLagEntriesMax, REPLICATION.expandingSilentMsMax);
    }, REPLICATION.expandingPruneIntervalMs);
    this.pruneTimer.unref();
  }

  async enforceRetention(): Promise<void> {
    if (this.stopped) return;
    for (const r of this.replicas.all()) {
      let below = r.store.offset - this.o.binlogRetentionEntries + 1;
      const floor = this.leaders.get(r)?.retentionFloor(Date.now(), REPLICATION.retentionPinActiveMsMax);
      if (floor !== undefined) below = Math.min(below, floor);
      // A paused replica keeps its binlog: an op is bringing a new replica up from it.
      if (below <= 1 || r.state === 'loading' || r.state === 'snapshotPaused') continue;
      try {
        if ((await r.store.firstBinlogOffset()) < below) await r.store.truncateBinlog(below);
      } catch (err) {
        this.o.log.warn(`binlog retention of ${key(r)} failed: ${(err as Error).message}`);
      }
    }
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.retentionTimer);
    clearInterval(this.pruneTimer);
  }
}
