/**
 * The tablet's own Prometheus metrics, computed when `/metrics` is scraped (nothing on the write
 * path). Always, the tablet's totals: its replicas by phase, their rows and bytes, the follower
 * links of the partitions it leads by whether writes wait for them, and the worst follower lag;
 * replication bytes sent (binlog appends, snapshot chunks) and the batching at each hop.
 *
 * Per replica (tid, pid; for followers also the follower's endpoint) only while the tablet holds at
 * most LIMITS.metricsReplicaSeriesMax replicas: a series per replica and per follower link made a
 * scrape of a tablet of thousands of replicas tens of thousands of series, seconds of one turn of
 * the event loop on a loaded machine (issue 16), and a Prometheus scraping every 15 s would hold
 * it there. Above the limit the per-replica view is the nameserver's (`showtable`, the status
 * page); TiKV and CockroachDB likewise export store totals, not one series per region or range.
 *
 * One histogram is observed as it happens, not at a scrape: how long exclusive work (a delete, a
 * step of binlog truncation or TTL GC, a snapshot load, a role change) held a replica's queue while
 * its writes waited (storage queue-holds.ts), by task.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import { LIMITS, type ServerMetrics } from '@tessera/common';
import type { ReplicaManager } from './replica-manager.js';
import { PHASES, type ReplicaPhase } from './replica-state.js';
import type { TabletReplication } from './replication/tablet-replication.js';

export function registerTabletMetrics(metrics: ServerMetrics, replicas: ReplicaManager, replication: TabletReplication): void {
  const registers = [metrics.registry];
  // Its collect refreshes every gauge below (it runs before any of them is read).
  const byPhase = new Gauge({ name: 'tessera_replicas', help: 'Replicas on this tablet, by phase (unassigned, loading, follower, leader, fenced)', labelNames: ['phase'], registers, collect: () => refresh() });
  const rowsTotal = new Gauge({ name: 'tessera_replicas_rows', help: 'Live rows of every replica on this tablet', registers });
  const bytesTotal = new Gauge({ name: 'tessera_replicas_bytes', help: 'Bytes of live rows of every replica on this tablet', registers });
  const links = new Gauge({ name: 'tessera_follower_links', help: 'Followers of the partitions this tablet leads, by whether writes wait for them (in_sync 1) or not (0)', labelNames: ['in_sync'], registers });
  const lagMax = new Gauge({ name: 'tessera_follower_lag_entries_max', help: 'Most binlog entries any follower of a partition this tablet leads has not confirmed', registers });
  const perReplica = new Gauge({ name: 'tessera_replica_series', help: `1 when the tessera_replica_* series list every replica (at most ${LIMITS.metricsReplicaSeriesMax} replicas), 0 when only totals are given`, registers });

  const rp = ['tid', 'pid'] as const;
  const offset = new Gauge({ name: 'tessera_replica_offset', help: 'Binlog offset of the replica (last entry applied)', labelNames: rp, registers });
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

  const queueHolds = new Histogram({
    name: 'tessera_storage_queue_hold_seconds',
    help: 'How long exclusive work held a replica\'s queue while its writes waited, by task (delete, purge, role, truncate, gc, load, close)',
    labelNames: ['task'],
    buckets: [0.001, 0.005, 0.025, 0.1, 0.5, 2.5],
    registers,
  });
  replicas.watchQueueHolds((task, seconds) => queueHolds.observe({ task }, seconds));

  let sentSeen = { binlog: 0, snapshot: 0 };
  let appendSeen = { requests: 0, parts: 0, appends: 0, entries: 0 };
  let batchSeen = { batches: 0, commits: 0 };
  const refresh = (): void => {
    for (const g of [offset, rows, bytes, leader, serving, lag, inSync]) g.reset();
    const all = replicas.all();
    const listEach = all.length <= LIMITS.metricsReplicaSeriesMax;
    perReplica.set(listEach ? 1 : 0);
    const phases = new Map<ReplicaPhase, number>(PHASES.map((p) => [p, 0]));
    let rowSum = 0;
    let byteSum = 0;
    let linksInSync = 0;
    let linksOut = 0;
    let worstLag = 0;
    for (const r of all) {
      const phase = r.machine.phase;
      phases.set(phase, phases.get(phase)! + 1);
      rowSum += r.store.recordCnt;
      byteSum += r.store.memUsed;
      const l = listEach ? { tid: String(r.tid), pid: String(r.pid) } : undefined;
      if (l !== undefined) {
        offset.set(l, r.store.offset);
        rows.set(l, r.store.recordCnt);
        bytes.set(l, r.store.memUsed);
        leader.set(l, r.role === 'leader' ? 1 : 0);
        serving.set(l, r.state === 'normal' ? 1 : 0);
      }
      const p = r.role === 'leader' ? replication.progress(r) : undefined;
      if (!p) continue;
      for (const f of p.followers) {
        const behind = f.ackedOffset < 0 ? p.offset + 1 : Math.max(0, p.offset - f.ackedOffset);
        const waits = p.waitingFor.includes(f.endpoint);
        if (waits) linksInSync++;
        else linksOut++;
        if (behind > worstLag) worstLag = behind;
        if (l === undefined) continue;
        const fl2 = { ...l, follower: f.endpoint };
        lag.set(fl2, behind);
        inSync.set(fl2, waits ? 1 : 0);
      }
    }
    for (const [phase, n] of phases) byPhase.set({ phase }, n);
    rowsTotal.set(rowSum);
    bytesTotal.set(byteSum);
    links.set({ in_sync: '1' }, linksInSync);
    links.set({ in_sync: '0' }, linksOut);
    lagMax.set(worstLag);
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
