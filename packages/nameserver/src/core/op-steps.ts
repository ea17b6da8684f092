/**
 * The status changes of one op as pure edits of the op record (the engine persists the result):
 * a task done, an undo step skipped, a committed op failed, a rollback begun, the op ended.
 * Every status change goes through op.ts's transition table.
 */
import type { PartitionMeta } from '@tessera/common';
import { currentTask, transitionOp, transitionTask, type Op, type OpStatus } from './op.js';
import { buildUndo } from './tasks.js';

export function appendError(before: string | undefined, more: string): string {
  return before === undefined || before === '' ? more : `${before}; ${more}`;
}

/** The current task is done; the next one becomes current. */
export function advanceTask(op: Op, nowMs?: number): void {
  transitionTask(op, op.taskIndex, 'kDone', nowMs);
  op.taskIndex += 1;
  op.progress.tasksDone = op.tasks.filter((t) => t.status === 'kDone').length;
  op.progress.tasksTotal = op.tasks.length;
  delete op.progress.lagEntries;
}

/** An undo step that cannot succeed is skipped (recorded in the op's error); the next one runs. */
export function skipUndoStep(op: Op, error: string, nowMs?: number): void {
  const task = currentTask(op)!;
  task.error = error;
  transitionTask(op, op.taskIndex, 'kFailed', nowMs);
  op.error = appendError(op.error, `undo step ${task.kind} skipped: ${error}`);
  op.taskIndex += 1;
}

/** A committed op's task failed for good: the task and the op record why (the op then ends kFailed). */
export function failCommittedTask(op: Op, error: string, nowMs?: number): void {
  const task = currentTask(op)!;
  task.error = error;
  transitionTask(op, op.taskIndex, 'kFailed', nowMs);
  op.error = appendError(op.error, error);
}

/**
 * The op fails or is canceled before its commit task: the current task is marked, the tasks not
 * begun are canceled, and the undo steps of what was done (for `partition`, the metadata now)
 * are appended and become current.
 */
export function beginRollback(op: Op, partition: PartitionMeta | undefined, reason: 'failed' | 'canceled', error: string, nowMs?: number): void {
  const from = op.taskIndex;
  const task = op.tasks[from];
  if (task !== undefined) {
    if (reason === 'failed') task.error = error;
    transitionTask(op, from, reason === 'canceled' && task.error === undefined ? 'kCanceled' : 'kFailed', nowMs);
  }
  const undo = partition === undefined ? [] : buildUndo(op, partition);
  for (let i = from + 1; i < op.tasks.length; i++) {
    if (op.tasks[i]!.status === 'kInited') transitionTask(op, i, 'kCanceled');
  }
  const undoStartIndex = op.tasks.length;
  op.rollback = { reason, fromTaskIndex: from, undoStartIndex };
  op.error = appendError(op.error, error);
  op.tasks.push(...undo);
  op.taskIndex = undoStartIndex;
  op.progress.tasksTotal = op.tasks.length;
}

/** The status an op ends with once no task is left. */
export function finalStatus(op: Op): OpStatus {
  return op.rollback === undefined ? 'kDone' : op.rollback.reason === 'canceled' ? 'kCanceled' : 'kFailed';
}

/** The op ends with `status`; tasks still open are closed. */
export function endOp(op: Op, status: OpStatus, nowMs: number): void {
  for (let i = op.taskIndex; i < op.tasks.length; i++) {
    const t = op.tasks[i]!;
    if (t.status === 'kDoing') transitionTask(op, i, status === 'kDone' ? 'kCanceled' : status, nowMs);
    else if (t.status === 'kInited') transitionTask(op, i, 'kCanceled');
  }
  transitionOp(op, status, nowMs);
}
