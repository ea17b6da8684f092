/**
 * Which tablets' fresh reports the running ops wait on, as data for the shell's chase timer.
 * A kCheckBinlogSyncProgress task is done only on a tablet report that shows the new replica
 * caught up, and the status poller reports every `get_table_status_interval` (seconds by
 * default): a move that caught up at once would still wait for the next poll. While such a task
 * is current, the engine emits `chaseReports { endpoints }` — the task's replica and the
 * partition's alive leader, the two reports syncLagEntries reads — and the shell polls those
 * tablets every few tens of milliseconds; when no such task is current it emits
 * `chaseReports { endpoints: [] }` and the shell's timer stops. The effect goes out only when the
 * set changed, so a burst of events costs one pass over the running ops each, and nothing while
 * no op waits on a report. No I/O, no clock.
 */
import type { Endpoint, TableInfo, Tid } from '@tessera/common';
import type { EngineEffect } from './events.js';
import { currentTask, type Op } from './op.js';
import { aliveLeader, partitionOf } from './partition.js';

/** Tasks that complete on a report. */
const REPORT_WAITING_TASKS: ReadonlySet<string> = new Set(['kCheckBinlogSyncProgress']);

/** The tablets whose report a current task of `ops` waits on, sorted. */
export function endpointsAwaited(ops: Iterable<Op>, table: (tid: Tid) => TableInfo | undefined): Endpoint[] {
  const out = new Set<Endpoint>();
  for (const op of ops) {
    if (op.status !== 'kDoing') continue;
    const task = currentTask(op);
    if (task === undefined || !REPORT_WAITING_TASKS.has(task.kind) || !('endpoint' in task) || typeof task.endpoint !== 'string') continue;
    out.add(task.endpoint);
    const t = table(op.tid);
    const partition = t === undefined ? undefined : partitionOf(t, op.pid);
    const leader = partition === undefined ? undefined : aliveLeader(partition);
    if (leader !== undefined) out.add(leader);
  }
  return [...out].sort();
}

/** The set last emitted; `update` says when it changed. */
export class ReportChase {
  private armed: string[] = [];

  /** The effect to emit for the set now, or null when the shell already chases exactly it. */
  update(ops: Iterable<Op>, table: (tid: Tid) => TableInfo | undefined): EngineEffect | null {
    return this.set(endpointsAwaited(ops, table));
  }

  /** Leadership lost: nothing is chased any more (the effect to stop, if anything was armed). */
  disarm(): EngineEffect | null {
    return this.set([]);
  }

  private set(endpoints: Endpoint[]): EngineEffect | null {
    if (endpoints.length === this.armed.length && endpoints.every((e, i) => e === this.armed[i])) return null;
    this.armed = endpoints;
    return { kind: 'chaseReports', endpoints: [...endpoints] };
  }
}
