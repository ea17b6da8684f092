/**
 * The drive step of a running op as a pure decision (etcd raft's `Ready` in small): the engine
 * gathers a few flags about the op's current task (`DriveFacts`), `decideDrive` names the one
 * thing to do next (`DriveAction`), the engine does it and asks again until the answer is a wait.
 * The order of the checks is the policy:
 *   1. nothing moves while the op's own write or its metadata write is unconfirmed;
 *   2. an op with no task left finishes (kDone, or kFailed/kCanceled after its undo);
 *   3. a spawned child must be confirmed created before the parent's task is done;
 *   4. a task is stamped started once, then needs its table;
 *   5. a dead tablet fails a task once its grace is over (or the task's timeout), else waits;
 *   6. a resumed task is re-checked against a fresh report before anything is re-sent;
 *   7. a cancel takes effect between tasks or while a task waits, never with a command in flight;
 *   8. a command is sent, re-sent after the resend interval, and given up after the timeout
 *      (with one resend interval of grace for the last send to answer);
 *   9. a metadata change is applied; a check task is observed (done, stalled, timed out).
 * `DRIVE_ORDER` lists the rules for the table test (core-drive.test.ts).
 */
import type { EngineConfig } from './config.js';
import { isCommitted, type Op, type Task } from './op.js';
import type { OpRuntime } from './runtime.js';
import type { TaskSpec } from './tasks.js';

export interface DriveFacts {
  /** kDoing and not finishing. */
  running: boolean;
  /** A write of the op is in flight or queued. */
  writePending: boolean;
  /** The current task's metadata change waits for its table write. */
  applyWaiting: boolean;
  /** A current task exists (else every task is behind). */
  hasTask: boolean;
  /** The current task spawned a child op: none, not yet confirmed created, or created. */
  spawnWait: 'none' | 'uncreated' | 'created';
  taskStarted: boolean;
  tableExists: boolean;
  /** The task commands a tablet that is not healthy and has not answered ok. */
  tabletDown: boolean;
  /** That tablet has been down longer than the grace a forward or undo task gives it. */
  tabletDownGraceOver: boolean;
  /** The task ran for its timeout. */
  timedOut: boolean;
  /** The task must be re-checked against a fresh report first. */
  recheck: boolean;
  /** The re-check still waits for the tablet's first report (bounded by reportWaitMs). */
  reportAwaited: boolean;
  /** A cancel was asked, no rollback runs and the commit task is not done. */
  cancelRequested: boolean;
  /** A command was sent and not answered. */
  inFlight: boolean;
  /** The task has a tablet command that has not been answered ok. */
  commandPending: boolean;
  /** The last send was less than one resend interval ago. */
  lastSendRecent: boolean;
  /** The retry time after a retryable failure has come. */
  retryDue: boolean;
  /** The task is a metadata change (TaskSpec.apply). */
  hasApply: boolean;
}

/** Why a running op is not moving; named for the operator (blocked_because). */
export type DriveWait = 'opWrite' | 'metadataWrite' | 'childCreated' | 'tabletDown' | 'report' | 'answer' | 'retry';

export type DriveAction =
  | { kind: 'idle' }
  | { kind: 'wait'; reason: DriveWait }
  /** No task left: end the op (kDone, or the rollback's status). */
  | { kind: 'finishOp' }
  | { kind: 'completeTask' }
  /** Stamp the task started; then decide again. */
  | { kind: 'startTask' }
  | { kind: 'failOp'; error: string }
  | { kind: 'failTask'; reason: 'tabletDown' | 'commandTimeout' }
  /** Ask the task's isDone: done → complete it; else clear the re-check and decide again. */
  | { kind: 'recheck' }
  /** Start the undo of a canceled op. */
  | { kind: 'cancel' }
  | { kind: 'send' }
  /** Run the task's metadata change (TaskSpec.apply). */
  | { kind: 'apply' }
  /** A check task, or a command answered ok: done, stalled or timed out? */
  | { kind: 'observe' };

/** The rules of decideDrive in order, as the table test names them. */
export const DRIVE_ORDER = [
  'not running → idle',
  'write pending → wait opWrite',
  'metadata write pending → wait metadataWrite',
  'no task left → finishOp',
  'child not created → wait childCreated; created → completeTask',
  'task not started → startTask',
  'table gone → failOp',
  'tablet down: grace over or timed out → failTask tabletDown; else wait tabletDown',
  'recheck: report awaited → wait report; else recheck',
  'cancel requested, nothing in flight → cancel',
  'command pending: timed out → wait answer (last send recent) or failTask commandTimeout; due → send; else wait',
  'metadata change → apply',
  'otherwise → observe',
] as const;

export function decideDrive(f: DriveFacts): DriveAction {
  if (!f.running) return { kind: 'idle' };
  if (f.writePending) return { kind: 'wait', reason: 'opWrite' };
  if (f.applyWaiting) return { kind: 'wait', reason: 'metadataWrite' };
  if (!f.hasTask) return { kind: 'finishOp' };
  if (f.spawnWait === 'uncreated') return { kind: 'wait', reason: 'childCreated' };
  if (f.spawnWait === 'created') return { kind: 'completeTask' };
  if (!f.taskStarted) return { kind: 'startTask' };
  if (!f.tableExists) return { kind: 'failOp', error: 'table does not exist' };
  if (f.tabletDown) return f.tabletDownGraceOver || f.timedOut ? { kind: 'failTask', reason: 'tabletDown' } : { kind: 'wait', reason: 'tabletDown' };
  if (f.recheck) return f.reportAwaited ? { kind: 'wait', reason: 'report' } : { kind: 'recheck' };
  if (f.cancelRequested && !f.inFlight) return { kind: 'cancel' };
  if (f.commandPending) {
    if (f.timedOut) return f.inFlight && f.lastSendRecent ? { kind: 'wait', reason: 'answer' } : { kind: 'failTask', reason: 'commandTimeout' };
    if ((!f.inFlight && f.retryDue) || (f.inFlight && !f.lastSendRecent)) return { kind: 'send' };
    return { kind: 'wait', reason: f.inFlight ? 'answer' : 'retry' };
  }
  if (f.hasApply) return { kind: 'apply' };
  return { kind: 'observe' };
}

export interface DriveInput {
  op: Op;
  rt: OpRuntime;
  task: Task | undefined;
  spec: TaskSpec<Task> | undefined;
  nowMs: number;
  config: EngineConfig;
  writePending: boolean;
  /** The spawned child's creation is confirmed (only read while the task waits for one). */
  childCreated: boolean;
  tableExists: boolean;
  healthy(endpoint: string): boolean;
  hasReported(endpoint: string): boolean;
  /** Since when the endpoint is in its current health state, if known. */
  healthSinceMs(endpoint: string): number | undefined;
}

/** The facts of one op at `nowMs`, read from the op, its runtime and what the engine observes. */
export function driveFacts(i: DriveInput): DriveFacts {
  const { op, rt, task, spec, nowMs, config } = i;
  const endpoint = task === undefined || spec === undefined ? null : spec.endpoint(task, op);
  const startMs = rt.taskStartMs ?? nowMs;
  const timeoutMs = task === undefined || spec === undefined ? Infinity : spec.timeoutMs(task, config);
  const tabletDown = endpoint !== null && !rt.commandDone && !i.healthy(endpoint);
  const downSinceMs = endpoint === null ? startMs : Math.max(i.healthSinceMs(endpoint) ?? startMs, startMs);
  return {
    running: op.status === 'kDoing' && !rt.finishing,
    writePending: i.writePending,
    applyWaiting: rt.applyWaitTid !== null,
    hasTask: task !== undefined,
    spawnWait: rt.spawnWaitOpId === null ? 'none' : i.childCreated ? 'created' : 'uncreated',
    taskStarted: rt.taskStartMs !== null,
    tableExists: i.tableExists,
    tabletDown,
    // A forward task gives up on a dead tablet after the grace period (the op is undone), and so
    // does an undo step (skipped). A post-commit step waits for the tablet until its own timeout.
    tabletDownGraceOver: tabletDown && (task?.undo === true || !isCommitted(op)) && nowMs - downSinceMs >= config.tabletDownTaskGraceMs,
    timedOut: nowMs - startMs >= timeoutMs,
    recheck: rt.recheck,
    reportAwaited: endpoint !== null && !i.hasReported(endpoint) && nowMs - (rt.recheckSinceMs ?? nowMs) < config.reportWaitMs,
    cancelRequested: op.cancelRequested && op.rollback === undefined && !isCommitted(op),
    inFlight: rt.inFlight,
    commandPending: spec?.command !== undefined && !rt.commandDone,
    lastSendRecent: rt.inFlight && nowMs - rt.lastSendMs < config.taskResendIntervalMs,
    retryDue: nowMs >= rt.retryAtMs,
    hasApply: spec?.apply !== undefined,
  };
}
