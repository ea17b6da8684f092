/**
 * Which waiting ops start now (pure):
 * - one op at a time per partition; at most `taskConcurrency` ops running (parent ops, which
 *   hold no partition and send nothing, start at once and are not counted; nor are bulk failover
 *   ops, each a lost tablet's failover of up to BULK_PARTS_MAX partitions);
 * - priority: repairs of lost redundancy (failover, recovery, the reconciler) before operator
 *   ops (migrate, addreplica, changeleader, a scale-in's moves, ...) before rebalance moves
 *   (`apply` of a scaleout/rebalance plan); within a class in (parent id, id) order, so that a
 *   chain of ops (a leader migrate, a recovery's child) runs in the order it was made;
 * - move limits: a move (an op that copies a replica: migrate, addreplica, re-add, recovery)
 *   starts only while fewer than `maxMovesPerCluster` moves run and fewer than
 *   `maxMovesPerTablet` moves run on each tablet it copies from or to. A move held by a limit
 *   does not hold back ops behind it that need no slot.
 * `blocked` says why each waiting op did not start (for the operator).
 */
import { heldKeys } from './bulk-failover.js';
import { BULK_TID, PARENT_TID, type Op, type OpOrigin } from './op.js';

export interface ScheduledOp {
  op: Op;
  /** Its creation is confirmed in ZooKeeper. */
  created: boolean;
  /** It reached a terminal status; its last write is pending. */
  finishing: boolean;
}

export interface ScheduleLimits {
  taskConcurrency: number;
  maxMovesPerTablet: number;
  maxMovesPerCluster: number;
}

export const PRIORITY_ORDER: readonly OpOrigin[] = ['repair', 'operator', 'rebalance'];

/** Running: kDoing, or finishing after it had started (its partition stays held until its last write). */
export function isRunningOp(s: ScheduledOp): boolean {
  return s.op.status === 'kDoing' || (s.finishing && s.op.startMs > 0);
}

export function isParentOp(op: Op): boolean {
  return op.tid === PARENT_TID;
}

/** The priority class of an op. */
export function priorityOf(op: Op): OpOrigin {
  if (op.origin !== undefined) return op.origin;
  switch (op.type) {
    case 'kRecoverTableOP':
    case 'kReAddReplicaOP':
    case 'kReAddReplicaNoSendOP':
    case 'kReAddReplicaWithDropOP':
    case 'kReAddReplicaSimplifyOP':
    case 'kReLoadTableOP':
    case 'kOfflineReplicaOP':
    case 'kUpdatePartitionStatusOP':
    case 'kRepairPartitionOP':
    case 'kFailoverEndpointOP':
      return 'repair';
    case 'kChangeLeaderOP':
      return op.data.kind === 'changeLeader' && (op.data.request === 'deadLeader' || op.data.request === 'offline') ? 'repair' : 'operator';
    default:
      return 'operator';
  }
}

/** The tablets a move copies from or to; null when the op is no move. */
export function moveEndpoints(op: Op): string[] | null {
  switch (op.type) {
    case 'kMigrateOP':
      return op.data.kind === 'migrate' ? [op.data.src, op.data.des] : [];
    case 'kAddReplicaOP':
    case 'kReAddReplicaOP':
    case 'kReAddReplicaWithDropOP':
      // (kRecoverTableOP only decides: its child re-add is the move.)
      return op.data.kind === 'replica' ? [op.data.endpoint] : [];
    default:
      return null;
  }
}

export interface ScheduleResult {
  start: Op[];
  /** Why a waiting op did not start, by op id. */
  blocked: Map<number, string>;
}

/** The waiting ops to start now, in order, and why the others wait. */
export function schedule(live: readonly ScheduledOp[], limits: ScheduleLimits): ScheduleResult {
  // Nothing waits (the usual case on every engine event): no index of held partitions to build.
  if (!live.some((s) => s.op.status === 'kInited' && s.created && !s.finishing)) return { start: [], blocked: new Map() };
  const runningOps = live.filter((s) => isRunningOp(s) && !isParentOp(s.op));
  // A bulk failover op (one per lost tablet and BULK_PARTS_MAX partitions) takes no slot: the ops
  // of one lost tablet run side by side, and a failover never queues behind moves.
  let running = runningOps.filter((s) => s.op.tid !== BULK_TID).length;
  const busy = new Set(runningOps.flatMap((s) => heldKeys(s.op)));
  let moves = 0;
  const movesOn = new Map<string, number>();
  const countMove = (op: Op): void => {
    const eps = moveEndpoints(op);
    if (eps === null) return;
    moves += 1;
    for (const e of eps) movesOn.set(e, (movesOn.get(e) ?? 0) + 1);
  };
  for (const s of runningOps) countMove(s.op);
  const rank = (op: Op): number => PRIORITY_ORDER.indexOf(priorityOf(op));
  const waiting = live
    .filter((s) => s.op.status === 'kInited' && s.created && !s.finishing)
    .map((s) => s.op)
    .sort((a, b) => rank(a) - rank(b) || (a.parentId ?? a.id) - (b.parentId ?? b.id) || a.id - b.id);
  const start: Op[] = [];
  const blocked = new Map<number, string>();
  for (const op of waiting) {
    if (isParentOp(op)) {
      start.push(op);
      continue;
    }
    const keys = heldKeys(op);
    if (keys.some((k) => busy.has(k))) {
      blocked.set(op.id, 'another op holds the partition');
      continue;
    }
    const bulk = op.tid === BULK_TID;
    if (!bulk && running >= limits.taskConcurrency) {
      blocked.set(op.id, `task concurrency ${limits.taskConcurrency} reached`);
      continue;
    }
    const eps = moveEndpoints(op);
    if (eps !== null) {
      if (moves >= limits.maxMovesPerCluster) {
        blocked.set(op.id, `max_moves_per_cluster ${limits.maxMovesPerCluster} reached`);
        continue;
      }
      const full = eps.find((e) => (movesOn.get(e) ?? 0) >= limits.maxMovesPerTablet);
      if (full !== undefined) {
        blocked.set(op.id, `max_moves_per_tablet ${limits.maxMovesPerTablet} reached on ${full}`);
        continue;
      }
    }
    start.push(op);
    for (const k of keys) busy.add(k);
    if (!bulk) running += 1;
    countMove(op);
  }
  return { start, blocked };
}

/** The waiting ops to start now, in order (without move limits). */
export function opsToStart(live: readonly ScheduledOp[], taskConcurrency: number): Op[] {
  return schedule(live, { taskConcurrency, maxMovesPerTablet: Infinity, maxMovesPerCluster: Infinity }).start;
}
