/**
 * Fresh reports for the ops that wait on them. A kCheckBinlogSyncProgress task is done only on
 * a tablet report that shows the new replica caught up, and the status poller reports every
 * `get_table_status_interval` (seconds by default): a move that caught up at once still waited
 * for the next poll (most of an empty-partition migrate). While such a task is current, this
 * asks the two tablets it looks at (the follower and the partition's leader) for their status
 * every CHASE_INTERVAL_MS — one chase in flight at a time, nothing while no task waits.
 */
import type { Endpoint } from '@tessera/common';
import type { NameserverEngine } from '../core/engine.js';
import { aliveLeader } from '../core/partition.js';

/** Pause between two chases of the same waiting task. */
export const CHASE_INTERVAL_MS = 40;
/** Tasks that complete on a report. */
const REPORT_WAITING_TASKS = new Set(['kCheckBinlogSyncProgress']);

/** The tablets whose report a current task waits on. */
export function endpointsAwaited(engine: NameserverEngine): Endpoint[] {
  const out = new Set<Endpoint>();
  for (const s of engine.opSummaries()) {
    if (s.status !== 'kDoing' || s.currentTask === null || !REPORT_WAITING_TASKS.has(s.currentTask)) continue;
    const op = engine.op(s.id);
    const task = op?.tasks[op.taskIndex];
    if (op === undefined || task === undefined || !('endpoint' in task) || typeof task.endpoint !== 'string') continue;
    out.add(task.endpoint);
    const partition = engine.table(op.tid)?.partitions.find((p) => p.pid === op.pid);
    const leader = partition === undefined ? undefined : aliveLeader(partition);
    if (leader !== undefined) out.add(leader);
  }
  return [...out];
}

export class ReportChaser {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  /** `report` polls one tablet and hands its report to the engine. */
  constructor(private readonly report: (endpoint: Endpoint) => Promise<void>) {}

  /** Called after the engine stepped: chases while `awaited()` names tablets. */
  check(awaited: () => Endpoint[]): void {
    if (this.timer !== undefined || this.running) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const endpoints = awaited();
      if (endpoints.length === 0) return;
      this.running = true;
      void Promise.allSettled(endpoints.map((ep) => this.report(ep))).then(() => {
        this.running = false;
        this.check(awaited);
      });
    }, CHASE_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
