/**
 * Which waiting ops start now (pure): one op at a time per partition, at most `taskConcurrency`
 * running, waiting ops in (parent id, id) order so that a chain of ops (a leader migrate, a
 * recovery's child) runs in the order it was made.
 */
import { partitionKey, type Op } from './op.js';

export interface ScheduledOp {
  op: Op;
  /** Its creation is confirmed in ZooKeeper. */
  created: boolean;
  /** It reached a terminal status; its last write is pending. */
  finishing: boolean;
}

/** Running: kDoing, or finishing after it had started (its partition stays held until its last write). */
export function isRunningOp(s: ScheduledOp): boolean {
  return s.op.status === 'kDoing' || (s.finishing && s.op.startMs > 0);
}

/** The waiting ops to start now, in order. */
export function opsToStart(live: readonly ScheduledOp[], taskConcurrency: number): Op[] {
  const runningOps = live.filter(isRunningOp);
  let running = runningOps.length;
  const busy = new Set(runningOps.map((s) => partitionKey(s.op.tid, s.op.pid)));
  const waiting = live
    .filter((s) => s.op.status === 'kInited' && s.created && !s.finishing)
    .map((s) => s.op)
    .sort((a, b) => (a.parentId ?? a.id) - (b.parentId ?? b.id) || a.id - b.id);
  const start: Op[] = [];
  for (const op of waiting) {
    if (running >= taskConcurrency) break;
    const key = partitionKey(op.tid, op.pid);
    if (busy.has(key)) continue;
    start.push(op);
    busy.add(key);
    running += 1;
  }
  return start;
}
