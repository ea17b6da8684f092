/**
 * What the status page shows, as one JSON document built from the leader's own state: tablets
 * (state, age, replicas, leaders, disk), every table as a partition × tablet map (leader,
 * follower, not alive, not in sync, lag in binlog entries), and ops with their progress. Pure:
 * the caller passes the clock and the sources (server/status-page.ts serves it).
 */
import type { OpStatusRow, ReplicaStatus, TableInfo } from '@tessera/common';
import type { Op } from '../core/op.js';

/** Finished ops beyond this many (newest kept) are left off the page; unfinished ones always show. */
export const STATUS_FINISHED_OPS_MAX = 30;

export interface StatusTablet {
  endpoint: string;
  state: string;
  ageMs: number;
  /** Replicas the metadata places on this tablet. */
  replicas: number;
  /** Of which partition leaders. */
  leaders: number;
  /** Bytes on disk over the replicas it last reported; null while it has not reported. */
  diskBytes: number | null;
}

export interface StatusCell {
  role: 'leader' | 'follower';
  /** Alive in the metadata and on a healthy tablet. */
  alive: boolean;
  /** A follower in the partition's in-sync set (always true for the leader). */
  inSync: boolean;
  offset: number | null;
  /** Leader offset − this replica's offset, from the last reports; null while unknown. */
  lagEntries: number | null;
}

export interface StatusTable {
  tid: number;
  db: string;
  name: string;
  partitionNum: number;
  replicaNum: number;
  /** Columns of the map: every tablet holding a replica of the table. */
  endpoints: string[];
  partitions: Array<{ pid: number; healthy: boolean; cells: Record<string, StatusCell> }>;
}

export interface StatusOp {
  id: number;
  type: string;
  db: string;
  name: string;
  pid: number;
  status: OpStatusRow['status'];
  /** Epoch ms; 0 before it started / while it runs. */
  startMs: number;
  endMs: number;
  curTask: string | null;
  tasksDone: number;
  tasksTotal: number;
  lagEntries: number | null;
  error: string | null;
}

export interface StatusView {
  nowMs: number;
  leader: string;
  epoch: number;
  tablets: StatusTablet[];
  tables: StatusTable[];
  ops: StatusOp[];
}

export interface StatusSources {
  nowMs: number;
  leader: string;
  epoch: number;
  tablets: Array<{ endpoint: string; state: string; ageMs: number }>;
  tables: TableInfo[];
  /** The last fresh report of a replica, if any. */
  replica(endpoint: string, tid: number, pid: number): ReplicaStatus | undefined;
  /** Every replica a tablet reported last (for disk use). */
  replicasOf(endpoint: string): ReplicaStatus[];
  hasReport(endpoint: string): boolean;
  ops: Op[];
}

const FINISHED = new Set(['kDone', 'kFailed', 'kCanceled']);

export function statusView(s: StatusSources): StatusView {
  const healthy = new Set(s.tablets.filter((t) => t.state === 'kTabletHealthy').map((t) => t.endpoint));
  const placed = new Map<string, { replicas: number; leaders: number }>();
  const tables: StatusTable[] = [];
  for (const t of [...s.tables].sort((a, b) => a.schema.db.localeCompare(b.schema.db) || a.schema.name.localeCompare(b.schema.name))) {
    const endpoints = new Set<string>();
    const partitions: StatusTable['partitions'] = [];
    for (const p of [...t.partitions].sort((a, b) => a.pid - b.pid)) {
      // Only the alive leader leads: one that failed over stays flagged leader, not alive (`leader no`).
      const leader = p.replicas.find((r) => r.isLeader && r.isAlive);
      const leaderOffset = leader ? s.replica(leader.endpoint, t.tid, p.pid)?.offset : undefined;
      const cells: Record<string, StatusCell> = {};
      for (const r of p.replicas) {
        endpoints.add(r.endpoint);
        const c = placed.get(r.endpoint) ?? { replicas: 0, leaders: 0 };
        c.replicas++;
        const leads = r.isLeader && r.isAlive;
        if (leads) c.leaders++;
        placed.set(r.endpoint, c);
        const offset = s.replica(r.endpoint, t.tid, p.pid)?.offset;
        cells[r.endpoint] = {
          role: r.isLeader ? 'leader' : 'follower',
          alive: r.isAlive && healthy.has(r.endpoint),
          inSync: leads || p.inSync.includes(r.endpoint),
          offset: offset ?? null,
          lagEntries: offset !== undefined && leaderOffset !== undefined ? Math.max(0, leaderOffset - offset) : null,
        };
      }
      const cellList = Object.values(cells);
      const aliveInSync = cellList.filter((c) => c.alive && c.inSync).length;
      partitions.push({ pid: p.pid, healthy: cellList.some((c) => c.role === 'leader' && c.alive) && aliveInSync >= t.replicaNum, cells });
    }
    tables.push({ tid: t.tid, db: t.schema.db, name: t.schema.name, partitionNum: t.partitionNum, replicaNum: t.replicaNum, endpoints: [...endpoints].sort(), partitions });
  }
  const tablets: StatusTablet[] = [...s.tablets].sort((a, b) => a.endpoint.localeCompare(b.endpoint)).map((t) => ({
    endpoint: t.endpoint,
    state: t.state,
    ageMs: t.ageMs,
    replicas: placed.get(t.endpoint)?.replicas ?? 0,
    leaders: placed.get(t.endpoint)?.leaders ?? 0,
    diskBytes: s.hasReport(t.endpoint) ? s.replicasOf(t.endpoint).reduce((sum, r) => sum + r.diskUsed, 0) : null,
  }));
  const unfinished = s.ops.filter((o) => !FINISHED.has(o.status));
  const finished = s.ops.filter((o) => FINISHED.has(o.status)).sort((a, b) => b.id - a.id).slice(0, STATUS_FINISHED_OPS_MAX);
  const ops = [...unfinished, ...finished].sort((a, b) => b.id - a.id).map((o): StatusOp => ({
    id: o.id, type: o.type, db: o.db, name: o.name, pid: o.pid, status: o.status, startMs: o.startMs, endMs: o.endMs,
    curTask: FINISHED.has(o.status) ? null : (o.tasks[o.taskIndex]?.kind ?? null),
    tasksDone: o.progress.tasksDone, tasksTotal: o.progress.tasksTotal, lagEntries: o.progress.lagEntries ?? null, error: o.error ?? null,
  }));
  return { nowMs: s.nowMs, leader: s.leader, epoch: s.epoch, tablets, tables, ops };
}
