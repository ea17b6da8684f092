/**
 * Which tablets' fresh reports the running ops wait on, as data for the shell's chase timer.
 * A kCheckBinlogSyncProgress task is done only on a tablet report that shows the new replica
 * caught up, and the status poller reports every `get_table_status_interval` (seconds by
 * default): a move that caught up at once would still wait for the next poll. While such a task
 * is current, the engine emits `chaseReports { endpoints }` — the task's replica and the
 * partition's alive leader, the two reports syncLagEntries reads — and the shell polls those
 * tablets every `intervalMs`: CHASE_INTERVAL_MS, or CHASE_SNAPSHOT_INTERVAL_MS while every such
 * replica is being sent a snapshot (its leader's report says so): the task cannot pass before the
 * copy ended, and a status call every 40 ms to the leader sending it and to the replica loading
 * it cost both for nothing during a copy of tens of seconds. When no such task is current it
 * emits `chaseReports { endpoints: [] }` and the shell's timer stops. The effect goes out only
 * when the set or the interval changed, so a burst of events costs one pass over the running ops
 * each, and nothing while no op waits on a report. No I/O, no clock.
 */
import type { Endpoint, TableInfo, Tid } from '@tessera/common';
import type { EngineEffect } from './events.js';
import type { ObservedView } from './observed.js';
import { currentTask, type Op } from './op.js';
import { aliveLeader, partitionOf } from './partition.js';

/** Pause between two polls of the tablets a waiting task reads. */
export const CHASE_INTERVAL_MS = 40;
/** The same while every replica waited for is being sent a snapshot. */
export const CHASE_SNAPSHOT_INTERVAL_MS = 500;

/** Tasks that complete on a report. */
const REPORT_WAITING_TASKS: ReadonlySet<string> = new Set(['kCheckBinlogSyncProgress']);

export interface ChaseTargets {
  /** The tablets whose report a current task waits on, sorted. */
  endpoints: Endpoint[];
  intervalMs: number;
}

/** What to chase for the current tasks of `ops`. */
export function chaseTargets(ops: Iterable<Op>, table: (tid: Tid) => TableInfo | undefined, observed: ObservedView): ChaseTargets {
  const out = new Set<Endpoint>();
  let copying = true;
  for (const op of ops) {
    if (op.status !== 'kDoing') continue;
    const task = currentTask(op);
    if (task === undefined || !REPORT_WAITING_TASKS.has(task.kind) || !('endpoint' in task) || typeof task.endpoint !== 'string') continue;
    out.add(task.endpoint);
    const t = table(op.tid);
    const partition = t === undefined ? undefined : partitionOf(t, op.pid);
    const leader = partition === undefined ? undefined : aliveLeader(partition);
    if (leader !== undefined) out.add(leader);
    const stream = leader === undefined ? undefined : observed.replica(leader, op.tid, op.pid)?.replication?.followers.find((f) => f.endpoint === task.endpoint);
    if (stream?.state !== 'snapshot') copying = false;
  }
  return { endpoints: [...out].sort(), intervalMs: copying ? CHASE_SNAPSHOT_INTERVAL_MS : CHASE_INTERVAL_MS };
}

/** The targets last emitted; `update` says when they changed. */
export class ReportChase {
  private armed: ChaseTargets = { endpoints: [], intervalMs: CHASE_INTERVAL_MS };

  /** The effect to emit for the targets now, or null when the shell already chases exactly them. */
  update(ops: Iterable<Op>, table: (tid: Tid) => TableInfo | undefined, observed: ObservedView): EngineEffect | null {
    return this.set(chaseTargets(ops, table, observed));
  }

  /** Leadership lost: nothing is chased any more (the effect to stop, if anything was armed). */
  disarm(): EngineEffect | null {
    return this.set({ endpoints: [], intervalMs: CHASE_INTERVAL_MS });
  }

  private set(next: ChaseTargets): EngineEffect | null {
    const { endpoints } = next;
    const same = endpoints.length === this.armed.endpoints.length && endpoints.every((e, i) => e === this.armed.endpoints[i]);
    // With nothing to chase, the interval means nothing.
    if (same && (endpoints.length === 0 || next.intervalMs === this.armed.intervalMs)) return null;
    this.armed = next;
    return { kind: 'chaseReports', endpoints: [...endpoints], intervalMs: next.intervalMs };
  }
}
