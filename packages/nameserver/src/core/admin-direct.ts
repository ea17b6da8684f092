/**
 * Admin commands that make no op, as pure planners next to admin.ts's op-creating ones:
 * showopstatus, cancelop, deleteop (op bookkeeping) and updatetablealive, settablepartition
 * (metadata written directly, table-alive.ts and table-partition.ts). Each returns what the
 * engine is to do: refuse, reply now, cancel ops, forget finished ops, or write a table and reply
 * once the write is confirmed. Texts are OpenMLDB's where OpenMLDB has one.
 */
import { openmldbText, type ErrorCode, type Pid, type TableInfo } from '@tessera/common';
import type { AdminCommand } from './events.js';
import type { ObservedView } from './observed.js';
import { bulkCancelable, isBulkOp } from './bulk-failover.js';
import { isCommitted, PARENT_TID, type Op, type OpStatus } from './op.js';
import { opStatusRows } from './opstatus.js';
import { planTableAlive } from './table-alive.js';
import { planSetTablePartition } from './table-partition.js';

export type DirectCommand = Extract<AdminCommand, { type: 'showopstatus' | 'cancelop' | 'deleteop' | 'updatetablealive' | 'settablepartition' }>;

export const DIRECT_COMMANDS: ReadonlySet<AdminCommand['type']> = new Set(['showopstatus', 'cancelop', 'deleteop', 'updatetablealive', 'settablepartition']);

/** An unfinished op as the planner sees it. */
export interface LiveOpView {
  op: Op;
  /** It reached a terminal status and only its last write is pending. */
  finishing: boolean;
  /** Its commit task's metadata change is being written (it can no longer be canceled). */
  committing: boolean;
}

export interface DirectView {
  tables: Iterable<TableInfo>;
  observed: ObservedView;
  busy(tid: number, pid: Pid): boolean;
  /** Every op known, unfinished and finished. */
  ops(): Iterable<Op>;
  live(opId: number): LiveOpView | undefined;
  /** Finished ops kept for showopstatus. */
  done(): readonly Op[];
}

/** One op to cancel: `drop` ends a waiting op at once, `request` asks a running one to undo. */
export interface CancelTarget {
  opId: number;
  mode: 'drop' | 'request';
}

export type DirectPlan =
  | { kind: 'refuse'; code: ErrorCode; message: string }
  | { kind: 'reply'; message: string; data: unknown }
  /** Cancel the targets; reply once their writes are confirmed. */
  | { kind: 'cancel'; targets: CancelTarget[]; message: string }
  /** Forget these finished ops (and delete them from ZooKeeper); reply now. */
  | { kind: 'deleteOps'; opIds: number[]; message: string }
  /** Write this table; reply once the write is confirmed. */
  | { kind: 'writeTable'; table: TableInfo; message: string; data: unknown };

const refuse = (code: ErrorCode, message: string): DirectPlan => ({ kind: 'refuse', code, message });

export function planDirectCommand(command: DirectCommand, view: DirectView): DirectPlan {
  switch (command.type) {
    case 'showopstatus':
      return { kind: 'reply', message: '', data: { ops: opStatusRows(view.ops(), command) } };
    case 'cancelop':
      return planCancel(command.opId, view);
    case 'deleteop':
      return planDeleteOps(command, view);
    case 'updatetablealive': {
      const plan = planTableAlive(command, view);
      if (!plan.ok) return refuse(plan.error.code, plan.error.message);
      if (plan.table === undefined) return { kind: 'reply', message: 'update ok', data: { pids: plan.pids } };
      return { kind: 'writeTable', table: plan.table, message: 'update ok', data: { pids: plan.pids } };
    }
    case 'settablepartition': {
      const plan = planSetTablePartition(command, view);
      if (!plan.ok) return refuse(plan.error.code, plan.error.message);
      if (plan.table === undefined) return { kind: 'reply', message: 'set table partition ok', data: {} };
      return { kind: 'writeTable', table: plan.table, message: 'set table partition ok', data: {} };
    }
  }
}

/** cancelop: a waiting op ends at once; a running one undoes what it did unless past its commit task. */
export function planCancel(opId: number, view: DirectView): DirectPlan {
  const live = view.live(opId);
  if (live === undefined || live.finishing) {
    if (live !== undefined || view.done().some((o) => o.id === opId)) return refuse('OP_STATE', 'op status is not kDoing or kInited');
    // OpenMLDB's CancelOP says the same for an id it does not know.
    return refuse('OP_NOT_FOUND', openmldbText('opNotCancelable'));
  }
  const { op } = live;
  if (op.status === 'kInited') return { kind: 'cancel', targets: [{ opId, mode: 'drop' }], message: 'Cancel op ok' };
  if (op.tid === PARENT_TID) return planCancelParent(op, view);
  if (isBulkOp(op) && !bulkCancelable(op)) return refuse('OP_STATE', `op is past its commit task and can no longer be canceled. op_id[${opId}]`);
  if (op.rollback !== undefined) return refuse('OP_STATE', `op is already rolling back. op_id[${opId}]`);
  if (isCommitted(op) || live.committing) return refuse('OP_STATE', `op is past its commit task and can no longer be canceled. op_id[${opId}]`);
  return { kind: 'cancel', targets: [{ opId, mode: 'request' }], message: 'Cancel op ok' };
}

/**
 * cancelop of a parent: the parent stops making children, and each unfinished child is canceled
 * as cancelop would (waiting: dropped; running: undone unless past its commit task, in which case
 * it finishes and its move stays). The parent ends kCanceled once they all ended.
 */
function planCancelParent(parent: Op, view: DirectView): DirectPlan {
  if (parent.cancelRequested) return refuse('OP_STATE', `op is already being canceled. op_id[${parent.id}]`);
  const targets: CancelTarget[] = [{ opId: parent.id, mode: 'request' }];
  for (const child of view.ops()) {
    if (child.parentId !== parent.id) continue;
    const live = view.live(child.id);
    if (live === undefined || live.finishing) continue;
    if (child.status === 'kInited') targets.push({ opId: child.id, mode: 'drop' });
    else if (!child.cancelRequested && child.rollback === undefined && !isCommitted(child) && !live.committing) targets.push({ opId: child.id, mode: 'request' });
  }
  return { kind: 'cancel', targets, message: 'Cancel op ok' };
}

function planDeleteOps(command: Extract<AdminCommand, { type: 'deleteop' }>, view: DirectView): DirectPlan {
  if ('opId' in command) {
    if (view.live(command.opId) !== undefined) return refuse('OP_STATE', `cannot delete a running op. cancel it first. op_id[${command.opId}]`);
    if (!view.done().some((o) => o.id === command.opId)) return refuse('OP_NOT_FOUND', 'op id does not exist');
    return { kind: 'deleteOps', opIds: [command.opId], message: 'Delete op ok' };
  }
  const statusByWord: Record<string, OpStatus> = { done: 'kDone', failed: 'kFailed', canceled: 'kCanceled' };
  const status = statusByWord[command.status];
  if (status === undefined) return refuse('INVALID_ARGUMENT', 'cannot delete the Inited OP');
  return { kind: 'deleteOps', opIds: view.done().filter((o) => o.status === status).map((o) => o.id), message: 'Delete op ok' };
}
