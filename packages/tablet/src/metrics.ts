/**
 * The tablet's own Prometheus metrics, computed when `/metrics` is scraped (nothing on the write
 * path): per replica its offset, rows, bytes, leadership and serving state; per leader and
 * follower the lag in entries and whether the follower is in the set writes wait for; replication
 * bytes sent (binlog appends, snapshot chunks). Labels: tid, pid and, for followers, the
 * follower's endpoint — bounded by the replicas this tablet holds.
 */
import { Counter, Gauge } from 'prom-client';
import type { ServerMetrics } from '@tessera/common';
import type { ReplicaManager } from './replica-manager.js';
import type { TabletReplication } from './replication/tablet-replication.js';

export function registerTabletMetrics(metrics: ServerMetrics, replicas: ReplicaManager, replication: TabletReplication): void {
  const registers = [metrics.registry];
  const rp = ['tid', 'pid'] as const;
  // Its collect refreshes every per-replica gauge (it runs before any of them is read).
  const offset = new Gauge({ name: 'tessera_replica_offset', help: 'Binlog offset of the replica (last entry applied)', labelNames: rp, registers, collect: () => refresh() });
  const rows = new Gauge({ name: 'tessera_replica_rows', help: 'Live rows of the replica (record_cnt)', labelNames: rp, registers });
  const bytes = new Gauge({ name: 'tessera_replica_bytes', help: 'Bytes of live rows of the replica (memused)', labelNames: rp, registers });
  const leader = new Gauge({ name: 'tessera_replica_is_leader', help: '1 when the replica is its partition leader', labelNames: rp, registers });
  const serving = new Gauge({ name: 'tessera_replica_serving', help: '1 when the replica serves (state normal), 0 while unassigned or loading', labelNames: rp, registers });
  const fl = ['tid', 'pid', 'follower'] as const;
  const lag = new Gauge({ name: 'tessera_replica_follower_lag_entries', help: 'On a leader: binlog entries a follower has not confirmed', labelNames: fl, registers });
  const inSync = new Gauge({ name: 'tessera_replica_follower_in_sync', help: 'On a leader: 1 when writes wait for the follower (in-sync set)', labelNames: fl, registers });
  const sent = new Counter({ name: 'tessera_replication_sent_bytes_total', help: 'Replication bytes sent to followers, by kind (binlog, snapshot)', labelNames: ['kind'], registers });
  // The batching at each hop (issue 11; pnpm bench cluster prints it per phase).
  const appendCounters = {
    requests: new Counter({ name: 'tessera_replication_append_requests_total', help: 'Append requests sent to follower tablets (append_multi or append)', registers }),
    parts: new Counter({ name: 'tessera_replication_append_parts_total', help: 'Parts (one partition each) those requests carried', registers }),
    appends: new Counter({ name: 'tessera_replication_appends_total', help: 'Appends of follower streams those parts carried (a stream\'s pipelined appends merge into one part)', registers }),
    entries: new Counter({ name: 'tessera_replication_append_entries_total', help: 'Binlog entries those requests carried', registers }),
  };
  const batchCounters = {
    batches: new Counter({ name: 'tessera_storage_batches_total', help: 'LevelDB batches written for the replicas\' group commits (one per turn of the event loop)', registers }),
    commits: new Counter({ name: 'tessera_storage_commits_total', help: 'Replica group commits those batches carried', registers }),
  };

  let sentSeen = { binlog: 0, snapshot: 0 };
  let appendSeen = { requests: 0, parts: 0, appends: 0, entries: 0 };
  let batchSeen = { batches: 0, commits: 0 };
  const refresh = (): void => {
    for (const g of [offset, rows, bytes, leader, serving, lag, inSync]) g.reset();
    for (const r of replicas.all()) {
      const l = { tid: String(r.tid), pid: String(r.pid) };
      offset.set(l, r.store.offset);
      rows.set(l, r.store.recordCnt);
      bytes.set(l, r.store.memUsed);
      leader.set(l, r.role === 'leader' ? 1 : 0);
      serving.set(l, r.state === 'normal' ? 1 : 0);
      const p = r.role === 'leader' ? replication.progress(r) : undefined;
      if (!p) continue;
      for (const f of p.followers) {
        const fl2 = { ...l, follower: f.endpoint };
        lag.set(fl2, f.ackedOffset < 0 ? p.offset + 1 : Math.max(0, p.offset - f.ackedOffset));
        inSync.set(fl2, p.waitingFor.includes(f.endpoint) ? 1 : 0);
      }
    }
    const now = replication.sentBytes;
    sent.inc({ kind: 'binlog' }, now.binlog - sentSeen.binlog);
    sent.inc({ kind: 'snapshot' }, now.snapshot - sentSeen.snapshot);
    sentSeen = { ...now };
    const appends = replication.appendStats;
    for (const k of ['requests', 'parts', 'appends', 'entries'] as const) appendCounters[k].inc(appends[k] - appendSeen[k]);
    appendSeen = appends;
    const batches = replicas.sharedBatches;
    for (const k of ['batches', 'commits'] as const) batchCounters[k].inc(batches[k] - batchSeen[k]);
    batchSeen = batches;
  };
}
