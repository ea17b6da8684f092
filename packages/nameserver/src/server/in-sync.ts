/**
 * The nameserver's half of the in-sync set (Kafka's ISR with the nameserver as controller; the
 * rule is in docs/replication.md). After every status poll, for each partition it compares the
 * set recorded in ZooKeeper with the leader's report: a follower that lags past
 * `lagEntriesMax`, stays silent while behind for `silentMsMax`, is being rebuilt from a snapshot
 * (or has confirmed nothing since), or whose tablet is offline leaves the set; a follower the leader already waits for (it reached every acknowledged write)
 * joins it. ZooKeeper is written first; only then is the leader told, so the leader stops
 * waiting for a follower only after ZooKeeper no longer counts it — and a new leader is only
 * ever chosen from a set whose every member holds every acknowledged write.
 */
import type { Logger, PartitionMeta, ReplicationReport, TableInfo } from '@tessera/common';
import type { MetadataStore } from './metadata.js';
import type { StatusPoller } from './status-poller.js';
import type { TabletControl } from './tablet-client.js';
import type { TabletTracker } from './tablets.js';

export interface InSyncOptions {
  lagEntriesMax: number;
  silentMsMax: number;
  /** Told after every recorded change (the op engine keeps a copy for elections). */
  onChanged: (tid: number, pid: number, inSync: string[]) => void;
}

/**
 * Whether the leader's report rules `endpoint` out of the in-sync set: no stream to it, being
 * rebuilt from a snapshot or nothing confirmed since it was told to be (it holds nothing writes
 * may count on), more than `lagEntriesMax` behind, or behind and silent for `silentMsMax`.
 */
export function notInSync(report: ReplicationReport, endpoint: string, limits: { lagEntriesMax: number; silentMsMax: number }): boolean {
  const f = report.followers.find((x) => x.endpoint === endpoint);
  if (!f || f.state === 'snapshot' || f.ackedOffset < 0) return true;
  const behind = report.offset - f.ackedOffset;
  return behind > limits.lagEntriesMax || (behind > 0 && report.nowMs - f.lastAckMs > limits.silentMsMax);
}

function sameSet(a: readonly string[], b: ReadonlySet<string>): boolean {
  return a.length === b.size && a.every((x) => b.has(x));
}

export class InSyncManager {
  private running = false;

  constructor(
    private readonly meta: MetadataStore,
    private readonly tablets: TabletTracker,
    private readonly poller: StatusPoller,
    private readonly control: TabletControl,
    private readonly options: InSyncOptions,
    private readonly log: Logger,
  ) {}

  /** One pass over every partition; skipped when the previous pass is still running. */
  async reconcile(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (const table of this.meta.allTables()) {
        for (const p of table.partitions) {
          try {
            await this.reconcilePartition(table.tid, p.pid);
          } catch (err) {
            this.log.warn(`in-sync set of ${table.schema.name} pid ${p.pid}: ${(err as Error).message}`);
          }
        }
      }
    } finally {
      this.running = false;
    }
  }

  private lagging(report: ReplicationReport, endpoint: string): boolean {
    return notInSync(report, endpoint, this.options);
  }

  private async reconcilePartition(tid: number, pid: number): Promise<void> {
    const table = this.meta.table(tid);
    const p = table?.partitions.find((x) => x.pid === pid);
    if (!table || !p) return;
    const leader = p.replicas.find((r) => r.isLeader && r.isAlive);
    if (!leader || !this.tablets.isHealthy(leader.endpoint)) return;
    const report = this.poller.replica(leader.endpoint, tid, pid)?.replication;
    const term = p.termOffsets[p.termOffsets.length - 1]?.term ?? 0;
    if (!report || report.term !== term) return;
    const aliveFollowers = new Set(p.replicas.filter((r) => !r.isLeader && r.isAlive).map((r) => r.endpoint));
    const next = new Set<string>();
    for (const f of p.inSync) {
      if (aliveFollowers.has(f) && this.tablets.isHealthy(f) && !this.lagging(report, f)) next.add(f);
    }
    for (const f of report.waitingFor) {
      if (aliveFollowers.has(f) && this.tablets.isHealthy(f) && !this.lagging(report, f)) next.add(f);
    }
    if (!sameSet(p.inSync, next)) {
      const removed = p.inSync.filter((f) => !next.has(f));
      const added = [...next].filter((f) => !p.inSync.includes(f));
      await this.meta.updateTable(withInSync(table, pid, [...next]));
      this.options.onChanged(tid, pid, [...next]);
      this.log.info(`${table.schema.name} pid ${pid}: in-sync set ${[...next].join(',') || '(empty)'}${removed.length ? `; removed ${removed.join(',')}` : ''}${added.length ? `; added ${added.join(',')}` : ''}`);
    }
    if (!sameSet(report.inSync, next)) {
      await this.control.command(leader.endpoint, '/v1/control/set_in_sync', { tid, pid, term, inSync: [...next] });
    }
  }
}

function withInSync(table: TableInfo, pid: number, inSync: string[]): TableInfo {
  return {
    ...table,
    partitions: table.partitions.map((x: PartitionMeta) => (x.pid === pid ? { ...x, inSync } : x)),
  };
}
