/**
 * The engine's run loop, between its state (engine-ops.ts) and the front (engine.ts): after each
 * event, schedule waiting ops (schedule.ts) and move every running op forward as far as it can go
 * now, carrying out the next action drive.ts decides for it (or parent.ts for a parent op); also
 * what a task result or a lost tablet means for the op in flight. No I/O, no clock.
 */
import { checkTaskAnswer } from './checksum-check.js';
import type { Endpoint } from '@tessera/common';
import { decideDrive, driveFacts, type DriveAction } from './drive.js';
import { EngineOps } from './engine-ops.js';
import type { AdminView } from './admin.js';
import type { EngineEvent } from './events.js';
import { currentTask, isCommitted, transitionTask, type Op } from './op.js';
import { appendError, finalStatus } from './op-steps.js';
import { decideParent } from './parent.js';
import { partitionOf } from './partition.js';
import type { OpRuntime } from './runtime.js';
import { isParentOp, schedule } from './schedule.js';
import { specOf } from './tasks.js';
import { BulkDriver, isBulkOp } from './bulk-failover.js';

/** Passes over the running ops per event; progress beyond this is a livelock bug. */
const PUMP_ROUNDS_MAX = 10_000;

/** Decisions per op per pass (a drive step that keeps asking again is a bug). */
const DRIVE_STEPS_MAX = 100;

export abstract class EngineDrive extends EngineOps {
  /** The planners' view of the engine (admin.ts, parent.ts). */
  protected abstract adminView(): AdminView;

  /** Runs bulk failover ops (bulk-failover.ts). */
  protected readonly bulk = new BulkDriver({
    config: this.config,
    observed: this.observedCluster,
    random: this.random,
    nowMs: () => this.nowMs,
    nsEpoch: () => this.nsEpoch,
    table: (tid) => this.tableMap.get(tid),
    tableDrops: () => this.tableDrops,
    setPartition: (tid, p) => this.setPartition(tid, p),
    writeTable: (tid) => this.requestTableWrite(tid, null),
    tableSettled: (tid) => this.writes.tableSettled(tid),
    reservedTerms: (exceptOpId) => this.reservedTerms(exceptOpId),
    opWritten: (opId) => !this.writes.opPending(opId),
    writeOp: (op) => this.requestWrite(op, 'op'),
    finish: (op, status, error) => {
      if (error !== undefined) op.error = appendError(op.error, error);
      this.bulk.forget(op.id);
      this.finishOp(op, this.runtime.get(op.id)!, status);
    },
    emit: (effect) => this.effects.push(effect),
    log: (level, message) => this.effects.push({ kind: 'log', level, message }),
  });

  protected override resetState(): void {
    super.resetState();
    // Called from the base's constructor-time resets before this field exists.
    this.bulk?.clear();
  }

  /** Schedules and drives until nothing moves, then lets out the replies whose writes are confirmed. */
  protected pump(): void {
    for (let round = 0; ; round++) {
      if (round >= PUMP_ROUNDS_MAX) throw new Error(`engine did not settle after ${PUMP_ROUNDS_MAX} rounds`);
      let progressed = this.schedule();
      for (const op of [...this.liveOps.values()].sort((a, b) => a.id - b.id)) {
        if (this.drive(op)) progressed = true;
      }
      if (!progressed) break;
    }
    this.flushReplies();
    this.checkInvariants();
  }

  /** A command sent to a tablet that went away or restarted will not be answered: send it again later. */
  protected forgetInFlight(endpoint: Endpoint): void {
    for (const op of this.liveOps.values()) {
      const rt = this.runtime.get(op.id)!;
      const task = currentTask(op);
      if (op.status !== 'kDoing' || task === undefined || rt.finishing) continue;
      if (specOf(task).endpoint(task, op) !== endpoint) continue;
      rt.inFlight = false;
      if (!rt.commandDone) {
        rt.recheck = true;
        rt.recheckSinceMs = null;
      }
    }
  }

  protected onTaskResult(event: Extract<EngineEvent, { type: 'taskResult' }>): void {
    const op = this.liveOps.get(event.opId);
    const rt = this.runtime.get(event.opId);
    if (op === undefined || rt === undefined || op.status !== 'kDoing' || rt.finishing) return;
    if (op.taskIndex !== event.taskIndex || rt.taskStartMs === null || rt.commandDone) return;
    const task = currentTask(op)!;
    rt.inFlight = false;
    // A move's checksum comparison is stored in the op; a mismatch fails it (checksum-check.ts).
    const answer = checkTaskAnswer(op, op.taskIndex, task, event);
    if (answer.ok) {
      rt.commandDone = true;
      return;
    }
    const error = answer.error ?? 'task failed on the tablet';
    // After the commit point and for undo steps there is no way back: insist until the timeout.
    const retryable = answer.retryable === true || task.undo === true || isCommitted(op);
    if (retryable) {
      task.error = error;
      rt.retryAtMs = this.nowMs + (answer.resendAfterMs ?? this.config.taskResendIntervalMs);
      return;
    }
    this.failTask(op, rt, `${task.kind} failed: ${error}`);
  }

  private schedule(): boolean {
    const live = [...this.liveOps.values()].map((op) => {
      const rt = this.runtime.get(op.id)!;
      return { op, created: rt.created, finishing: rt.finishing };
    });
    const { start, blocked } = schedule(live, { taskConcurrency: this.config.taskConcurrency, ...this.moveLimits });
    this.blocked = blocked;
    for (const op of start) this.startOp(op);
    return start.length > 0;
  }

  /** A parent op (parent.ts): makes its children, ends when they did; true if anything changed. */
  private driveParent(op: Op): boolean {
    const rt = this.runtime.get(op.id)!;
    if (op.status !== 'kDoing' || rt.finishing) return false;
    const children = this.allOps().filter((o) => o.parentId === op.id);
    const action = decideParent(op, children, this.adminView());
    switch (action.kind) {
      case 'wait':
        return false;
      case 'spawn':
        for (const req of action.requests) this.createOp(req, op.id);
        return true;
      case 'finish':
        if (action.error !== undefined) op.error = appendError(op.error, action.error);
        this.finishOp(op, rt, action.status);
        return true;
    }
  }

  private nextAction(op: Op, rt: OpRuntime): DriveAction {
    const task = currentTask(op);
    const table = this.tableMap.get(op.tid);
    const observed = this.observedCluster;
    return decideDrive(
      driveFacts({
        op,
        rt,
        task,
        spec: task === undefined ? undefined : specOf(task),
        nowMs: this.nowMs,
        config: this.config,
        writePending: this.writes.opPending(op.id),
        childCreated: rt.spawnWaitOpId !== null && this.runtime.get(rt.spawnWaitOpId)?.created !== false,
        tableExists: table !== undefined && partitionOf(table, op.pid) !== undefined,
        healthy: (e) => observed.isHealthy(e),
        hasReported: (e) => observed.hasReported(e),
        healthSinceMs: (e) => observed.healthSinceMs(e),
      }),
    );
  }

  /** Moves one running op forward as far as it can go now (drive.ts decides each step); true if anything changed. */
  private drive(op: Op): boolean {
    if (isParentOp(op)) return this.driveParent(op);
    if (isBulkOp(op)) return this.bulk.drive(op);
    const rt = this.runtime.get(op.id)!;
    let changed = false;
    for (let step = 0; step < DRIVE_STEPS_MAX; step++) {
      const action = this.nextAction(op, rt);
      switch (action.kind) {
        case 'idle':
          return changed;
        case 'wait':
          if (action.reason === 'report') rt.recheckSinceMs ??= this.nowMs;
          return changed;
        case 'finishOp':
          this.finishOp(op, rt, finalStatus(op));
          return true;
        case 'completeTask':
          this.completeTask(op, rt);
          return true;
        case 'startTask':
          rt.taskStartMs = this.nowMs;
          rt.taskStartReportSeq = this.observedCluster.reportSeq();
          if (currentTask(op)!.status === 'kInited') transitionTask(op, op.taskIndex, 'kDoing', this.nowMs);
          changed = true;
          continue;
        case 'failOp':
          op.error = appendError(op.error, action.error);
          this.finishOp(op, rt, 'kFailed');
          return true;
        case 'failTask':
          this.failTask(op, rt, this.failureText(op, rt, action.reason));
          return true;
        case 'recheck': {
          rt.recheckSinceMs ??= this.nowMs;
          rt.recheck = false;
          const task = currentTask(op)!;
          if (specOf(task).isDone(task, this.taskContext(op, rt)!)) {
            this.completeTask(op, rt);
            return true;
          }
          changed = true;
          continue;
        }
        case 'cancel':
          this.startRollback(op, rt, 'canceled', 'canceled by admin');
          return true;
        case 'send':
          this.send(op, rt);
          return true;
        case 'apply':
          return this.applyTask(op, rt) || changed;
        case 'observe':
          return this.observeTask(op, rt) || changed;
      }
    }
    throw new Error(`op ${op.id}: drive did not settle after ${DRIVE_STEPS_MAX} steps`);
  }
}
