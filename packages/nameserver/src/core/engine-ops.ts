/**
 * The engine's state and the moves it makes on one op, below the front in engine.ts: the tables,
 * the ops (unfinished and finished) with their runtimes, the ZooKeeper write pipeline (writes.ts
 * says when, this builds the effects), the replies held for their writes (replies.ts), the start
 * of an op (re-planned by plan.ts), the steps of a task (send, metadata change, observe) and an
 * op's status changes (op-steps.ts). Which step comes next is decided in drive.ts; what the
 * engine does with events and admin commands is in engine.ts. No I/O, no clock.
 */
import type { ErrorCode, OpIssuer, PartitionMeta, Pid, TableInfo, Term, Tid } from '@tessera/common';
import type { OpRequest } from './admin.js';
import { engineConfig, MOVES_LIMIT_MAX, type EngineConfig } from './config.js';
import type { EngineEffect, PersistTarget, RequestId } from './events.js';
import { ObservedCluster } from './observed.js';
import { BULK_TID, cloneJson, currentTask, isCommitted, PARENT_TID, partitionKey, transitionOp, type Op, type OpData, type OpStatus, type OpType } from './op.js';
import { heldKeys } from './bulk-failover.js';
import { advanceTask, beginRollback, endOp, failCommittedTask, skipUndoStep } from './op-steps.js';
import { partitionOf, samePartition } from './partition.js';
import { planOp } from './plan.js';
import type { Random } from './random.js';
import { RepairGate } from './repair-gate.js';
import { PendingReplies, replyError, replyOk } from './replies.js';
import { newRuntime, resetTaskRuntime, type OpRuntime } from './runtime.js';
import { specOf, syncLagEntries, type TaskContext } from './tasks.js';
import { WriteTracker, type WriteKind } from './writes.js';

export interface EngineOptions {
  random: Random;
  config?: Parameters<typeof engineConfig>[0];
}

export abstract class EngineOps {
  readonly config: EngineConfig;
  protected readonly random: Random;
  protected readonly observedCluster = new ObservedCluster();
  protected leader = false;
  protected nsEpoch = 0;
  protected nowMs = 0;
  protected opIndex = 0;
  protected readonly tableMap = new Map<Tid, TableInfo>();
  /** Tables dropped so far (a bulk op checks its parts' tables again only when this moved). */
  protected tableDrops = 0;
  /** The running ops (ids) checkInvariants last checked. */
  private invariantsCheckedFor = '';
  /** Unfinished ops (and finished ones whose last write is pending), by id. */
  protected readonly liveOps = new Map<number, Op>();
  /** Finished ops kept for showopstatus, oldest first. */
  protected doneOps: Op[] = [];
  protected readonly runtime = new Map<number, OpRuntime>();
  protected readonly writes: WriteTracker;
  protected readonly replies = new PendingReplies();
  /** When the reconciler may judge each partition (after ops end; repair-gate.ts). */
  protected readonly repairGate = new RepairGate();
  protected effects: EngineEffect[] = [];
  /** The move limits now (config, then `settingsChanged`). */
  protected moveLimits: { maxMovesPerTablet: number; maxMovesPerCluster: number };
  /** Why each waiting op did not start at the last scheduling pass (schedule.ts). */
  protected blocked = new Map<number, string>();
  /** Who sent the admin command being handled (stamped on the ops it creates). */
  protected issuer: OpIssuer | undefined;

  constructor(options: EngineOptions) {
    this.random = options.random;
    this.config = engineConfig(options.config);
    this.writes = new WriteTracker(this.config.persistRetryIntervalMs);
    this.moveLimits = { maxMovesPerTablet: this.config.maxMovesPerTablet, maxMovesPerCluster: this.config.maxMovesPerCluster };
  }

  /** Applies the limits given (`confset`); a value out of 1..MOVES_LIMIT_MAX is ignored (the shell checks first). */
  protected setMoveLimits(limits: { maxMovesPerTablet?: number; maxMovesPerCluster?: number }): void {
    for (const key of ['maxMovesPerTablet', 'maxMovesPerCluster'] as const) {
      const v = limits[key];
      if (v !== undefined && Number.isSafeInteger(v) && v >= 1 && v <= MOVES_LIMIT_MAX) this.moveLimits[key] = v;
    }
  }

  protected resetState(): void {
    this.leader = false;
    this.tableMap.clear();
    this.liveOps.clear();
    this.doneOps = [];
    this.runtime.clear();
    this.writes.clear();
    this.replies.clear();
    this.repairGate.clear();
    this.effects = [];
  }

  protected createOp(req: OpRequest, parentId: number | null): Op {
    this.opIndex += 1;
    const op: Op = {
      id: this.opIndex,
      type: req.type,
      db: req.db,
      name: req.name,
      tid: req.tid,
      pid: req.pid,
      tasks: req.tasks,
      taskIndex: 0,
      commitTaskIndex: req.commitTaskIndex,
      status: 'kInited',
      createdMs: this.nowMs,
      startMs: 0,
      endMs: 0,
      nsEpoch: this.nsEpoch,
      parentId,
      data: req.data,
      progress: { tasksDone: 0, tasksTotal: req.tasks.length },
      cancelRequested: false,
      ...(req.origin !== undefined ? { origin: req.origin } : {}),
      ...(this.issuer === undefined ? {} : { issuedBy: { ...this.issuer } }),
    };
    this.liveOps.set(op.id, op);
    this.runtime.set(op.id, newRuntime(false));
    this.requestWrite(op, 'op');
    return op;
  }

  protected reply(requestId: RequestId, message: string, data: unknown): void {
    this.effects.push(replyOk(requestId, message, data));
  }

  protected replyError(requestId: RequestId, code: ErrorCode, message: string): void {
    this.effects.push(replyError(requestId, code, message));
  }

  /** Replies whose ops' and table's writes are all confirmed go out. */
  protected flushReplies(): void {
    const out = this.replies.flush((p) => {
      const opsSettled = p.opIds.every((id) => {
        const rt = this.runtime.get(id);
        return rt === undefined || (rt.created && !this.writes.opPending(id));
      });
      return opsSettled && (p.tid === undefined || this.writes.tableSettled(p.tid));
    });
    this.effects.push(...out);
  }

  protected requestWrite(op: Op, kind: WriteKind): void {
    const send = this.writes.requestOp(op.id, kind);
    if (send !== null) this.emitWrite(op, send);
  }

  protected emitWrite(op: Op, kind: WriteKind): void {
    if (kind === 'op') this.effects.push({ kind: 'persistOp', op: cloneJson(op), opIndex: this.opIndex });
    else this.effects.push({ kind: 'deleteOp', opId: op.id });
  }

  /** Writes the table (again); `waiterOpId`'s task completes when the write is confirmed. */
  protected requestTableWrite(tid: Tid, waiterOpId: number | null): void {
    if (this.writes.requestTable(tid, waiterOpId)) this.emitTableWrite(tid);
  }

  protected emitTableWrite(tid: Tid): void {
    const table = this.tableMap.get(tid);
    if (table === undefined) return;
    this.writes.tableSent(tid);
    this.effects.push({ kind: 'persistTable', table: cloneJson(table) });
  }

  protected onPersisted(what: PersistTarget, ok: boolean): void {
    if (what.kind === 'table') {
      const outcome = this.writes.onTablePersisted(what.tid, ok, this.nowMs);
      if (outcome === null) return;
      for (const opId of outcome.confirmed) this.onApplyConfirmed(opId, what.tid);
      if (outcome.sendAgain) this.emitTableWrite(what.tid);
      return;
    }
    const op = this.liveOps.get(what.opId);
    const rt = this.runtime.get(what.opId);
    if (op === undefined || rt === undefined) return;
    const outcome = this.writes.onOpPersisted(op.id, what.kind === 'op' ? 'op' : 'delete', ok, this.nowMs);
    if (outcome.kind !== 'confirmed') return;
    rt.created = true;
    if (outcome.send !== null) this.emitWrite(op, outcome.send);
    else if (rt.finishing) this.moveToDone(op);
  }

  protected retryWrites(): void {
    for (const op of this.liveOps.values()) {
      const send = this.writes.retryOpDue(op.id, this.nowMs);
      if (send !== null) this.emitWrite(op, send);
    }
    for (const tid of this.writes.tablesDue(this.nowMs)) this.emitTableWrite(tid);
  }

  protected onApplyConfirmed(opId: number, tid: Tid): void {
    const op = this.liveOps.get(opId);
    const rt = this.runtime.get(opId);
    if (op === undefined || rt === undefined || rt.applyWaitTid !== tid || rt.finishing) return;
    rt.applyWaitTid = null;
    this.completeTask(op, rt);
  }

  protected startOp(op: Op): void {
    const rt = this.runtime.get(op.id)!;
    if (op.tid === PARENT_TID || op.tid === BULK_TID) {
      // A parent holds no partition and has no task: it runs until its children are done (parent.ts).
      // A bulk failover was planned when it was made and checks each partition as it goes (bulk-failover.ts).
      transitionOp(op, 'kDoing', this.nowMs);
      resetTaskRuntime(rt);
      this.requestWrite(op, 'op');
      return;
    }
    const table = this.tableMap.get(op.tid);
    const partition = table === undefined ? undefined : partitionOf(table, op.pid);
    if (table === undefined || partition === undefined) {
      op.error = 'table does not exist';
      this.finishOp(op, rt, 'kFailed');
      return;
    }
    const plan = planOp(op.type, op.data, {
      table,
      partition,
      observed: this.observedCluster,
      config: this.config,
      random: this.random,
      reservedTermMax: this.reservedTermMax(table.tid, partition.pid, op.id),
    });
    if (!plan.ok) {
      op.error = plan.error.message;
      this.finishOp(op, rt, 'kFailed');
      return;
    }
    op.tasks = plan.tasks;
    op.commitTaskIndex = plan.commitTaskIndex;
    op.data = plan.data;
    op.taskIndex = 0;
    op.progress = { tasksDone: 0, tasksTotal: plan.tasks.length };
    transitionOp(op, 'kDoing', this.nowMs);
    resetTaskRuntime(rt);
    this.requestWrite(op, 'op');
  }

  /** Every term a known op on the partition chose or sent, so that a new one goes above all of them. */
  protected reservedTermMax(tid: Tid, pid: Pid, exceptOpId?: number): Term {
    let term = 0;
    for (const op of this.allOps()) {
      if (op.id === exceptOpId || (op.data.kind !== 'bulkFailover' && (op.tid !== tid || op.pid !== pid))) continue;
      reservedTermsOf(op, (t, p, reserved) => {
        if (t === tid && p === pid) term = Math.max(term, reserved);
      });
    }
    return term;
  }

  /**
   * reservedTermMax of every partition at once (one pass over the ops), for a planner or a bulk
   * op's pass over thousands of partitions: asking per partition would scan every op each time.
   */
  protected reservedTerms(exceptOpId?: number): (tid: Tid, pid: Pid) => Term {
    const terms = new Map<string, Term>();
    for (const op of this.allOps()) {
      if (op.id === exceptOpId) continue;
      reservedTermsOf(op, (tid, pid, term) => {
        const key = partitionKey(tid, pid);
        if (term > (terms.get(key) ?? 0)) terms.set(key, term);
      });
    }
    return (tid, pid) => terms.get(partitionKey(tid, pid)) ?? 0;
  }

  protected taskContext(op: Op, rt: OpRuntime): TaskContext | undefined {
    const table = this.tableMap.get(op.tid);
    const partition = table === undefined ? undefined : partitionOf(table, op.pid);
    if (table === undefined || partition === undefined) return undefined;
    const observed = this.observedCluster;
    return {
      op,
      table,
      partition,
      observed,
      config: this.config,
      random: this.random,
      reservedTermMax: this.reservedTermMax(op.tid, op.pid),
      taskElapsedMs: rt.taskStartMs === null ? 0 : this.nowMs - rt.taskStartMs,
      reportedSinceTaskStart: (endpoint) => observed.lastReportSeq(endpoint) > rt.taskStartReportSeq,
    };
  }

  protected failureText(op: Op, rt: OpRuntime, reason: 'tabletDown' | 'commandTimeout'): string {
    const task = currentTask(op)!;
    const spec = specOf(task);
    if (reason === 'tabletDown') return `tablet ${spec.endpoint(task, op)} is not healthy`;
    const timeoutMs = spec.timeoutMs(task, this.config);
    return `${task.kind} timed out after ${timeoutMs}ms${task.error === undefined ? '' : ` (${task.error})`}`;
  }

  protected send(op: Op, rt: OpRuntime): void {
    const task = currentTask(op)!;
    const spec = specOf(task);
    const endpoint = spec.endpoint(task, op);
    if (endpoint === null || spec.command === undefined) throw new Error(`${task.kind} has a command but no endpoint`);
    rt.inFlight = true;
    rt.lastSendMs = this.nowMs;
    this.effects.push({ kind: 'sendTask', opId: op.id, taskIndex: op.taskIndex, endpoint, nsEpoch: this.nsEpoch, command: spec.command(task, this.taskContext(op, rt)!) });
  }

  /** A metadata change (TaskSpec.apply): done, failed, a child to spawn, or wait; true if anything changed. */
  protected applyTask(op: Op, rt: OpRuntime): boolean {
    const task = currentTask(op)!;
    const spec = specOf(task);
    const ctx = this.taskContext(op, rt)!;
    const result = spec.apply!(task, ctx);
    if (result.status === 'wait') {
      const timeoutMs = spec.timeoutMs(task, this.config);
      if (this.nowMs - rt.taskStartMs! < timeoutMs) return false;
      this.failTask(op, rt, `${task.kind} timed out after ${timeoutMs}ms`);
      return true;
    }
    if (result.status === 'failed') {
      this.failTask(op, rt, result.error);
      return true;
    }
    if (result.data !== undefined) op.data = result.data;
    if (result.spawn !== undefined) {
      this.spawnChild(op, rt, result.spawn.type, result.spawn.data);
      return true;
    }
    if (result.partition !== undefined && !samePartition(result.partition, ctx.partition)) {
      this.setPartition(op.tid, result.partition);
      rt.applyWaitTid = op.tid;
      this.requestTableWrite(op.tid, op.id);
      return true;
    }
    this.completeTask(op, rt);
    return true;
  }

  /** A check task (or a command answered ok): done, stalled past its bound, or timed out; true if anything changed. */
  protected observeTask(op: Op, rt: OpRuntime): boolean {
    const task = currentTask(op)!;
    const spec = specOf(task);
    const ctx = this.taskContext(op, rt)!;
    if (spec.command !== undefined || spec.isDone(task, ctx)) {
      this.completeTask(op, rt);
      return true;
    }
    if (task.kind === 'kCheckBinlogSyncProgress') {
      const lag = syncLagEntries(task, ctx);
      if (lag !== undefined) op.progress.lagEntries = lag;
    }
    const stall = spec.stalled?.(task, ctx);
    rt.stalledSinceMs = stall === undefined ? null : (rt.stalledSinceMs ?? this.nowMs);
    if (stall !== undefined && this.nowMs - rt.stalledSinceMs! >= this.config.syncStallTimeoutMs) {
      this.failTask(op, rt, `${task.kind} stalled for ${this.config.syncStallTimeoutMs}ms: ${stall}`);
      return true;
    }
    const timeoutMs = spec.timeoutMs(task, this.config);
    if (this.nowMs - rt.taskStartMs! >= timeoutMs) {
      this.failTask(op, rt, `${task.kind} timed out after ${timeoutMs}ms`);
      return true;
    }
    return false;
  }

  protected spawnChild(op: Op, rt: OpRuntime, type: OpType, data: OpData): void {
    if (op.data.kind !== 'recoverTable') throw new Error(`op ${op.id} (${op.type}) cannot spawn a child`);
    // A resumed parent may have created its child already: adopt it instead of making a second.
    const existing = this.allOps().find((o) => o.parentId === op.id);
    if (existing !== undefined) {
      op.data = { ...op.data, childOpId: existing.id };
      this.completeTask(op, rt);
      return;
    }
    const table = this.tableMap.get(op.tid)!;
    const child = this.createOp({ type, tid: op.tid, pid: op.pid, db: table.schema.db, name: table.schema.name, data, tasks: [], commitTaskIndex: 0 }, op.id);
    op.data = { ...op.data, childOpId: child.id };
    rt.spawnWaitOpId = child.id;
  }

  protected setPartition(tid: Tid, partition: PartitionMeta): void {
    const table = this.tableMap.get(tid)!;
    this.tableMap.set(tid, { ...table, partitions: table.partitions.map((p) => (p.pid === partition.pid ? partition : p)) });
  }

  protected completeTask(op: Op, rt: OpRuntime): void {
    advanceTask(op, this.nowMs);
    resetTaskRuntime(rt);
    this.requestWrite(op, 'op');
  }

  protected failTask(op: Op, rt: OpRuntime, error: string): void {
    if (currentTask(op)!.undo === true) {
      skipUndoStep(op, error, this.nowMs);
      resetTaskRuntime(rt);
      this.requestWrite(op, 'op');
      return;
    }
    if (isCommitted(op)) {
      failCommittedTask(op, error, this.nowMs);
      this.finishOp(op, rt, 'kFailed');
      return;
    }
    this.startRollback(op, rt, op.cancelRequested ? 'canceled' : 'failed', error);
  }

  protected startRollback(op: Op, rt: OpRuntime, reason: 'failed' | 'canceled', error: string): void {
    const table = this.tableMap.get(op.tid);
    beginRollback(op, table === undefined ? undefined : partitionOf(table, op.pid), reason, error, this.nowMs);
    resetTaskRuntime(rt);
    this.requestWrite(op, 'op');
  }

  protected finishOp(op: Op, rt: OpRuntime, status: OpStatus): void {
    endOp(op, status, this.nowMs);
    rt.finishing = true;
    // Failed ops stay in ZooKeeper for the operator (deleteop); done and canceled ones go.
    this.requestWrite(op, status === 'kFailed' ? 'op' : 'delete');
  }

  protected moveToDone(op: Op): void {
    for (const key of heldKeys(op)) this.repairGate.opEnded(key, this.nowMs, op.type === 'kRepairPartitionOP' ? this.config.repairBackoffMs : 0);
    this.liveOps.delete(op.id);
    this.runtime.delete(op.id);
    this.writes.forgetOp(op.id);
    // A repair that found nothing left to do when it started did nothing: it is no op to keep.
    if (op.type === 'kRepairPartitionOP' && op.tasks.length === 0) return;
    this.doneOps.push(op);
    this.trimDoneOps();
  }

  protected trimDoneOps(): void {
    while (this.doneOps.length > this.config.doneOpsMax) {
      const dropped = this.doneOps.shift()!;
      if (dropped.status === 'kFailed') this.effects.push({ kind: 'deleteOp', opId: dropped.id });
    }
  }

  protected allOps(): Op[] {
    return [...this.doneOps, ...this.liveOps.values()];
  }

  /** Broken invariants are bugs: fail loudly rather than run two ops on one partition. */
  protected checkInvariants(): void {
    // An op's held partitions never change: the check can only fail when the running set did.
    const running = [...this.liveOps.values()].filter((op) => op.status === 'kDoing');
    const ids = running.map((op) => op.id).join(',');
    if (ids === this.invariantsCheckedFor) return;
    const seen = new Set<string>();
    for (const op of running) {
      for (const key of heldKeys(op)) {
        if (seen.has(key)) throw new Error(`two ops running on partition ${key}`);
        seen.add(key);
      }
    }
    this.invariantsCheckedFor = ids;
  }
}

/** The terms one op chose or sent, per partition it names (a bulk op: each of its parts). */
function reservedTermsOf(op: Op, visit: (tid: Tid, pid: Pid, term: Term) => void): void {
  if (op.data.kind === 'bulkFailover') {
    for (const p of op.data.parts) visit(p.tid, p.pid, Math.max(p.fenceTerm ?? 0, p.changeLeader?.selected?.restoreTerm ?? 0));
    return;
  }
  let term = 0;
  if (op.data.kind === 'changeLeader' && op.data.selected !== null) term = op.data.selected.restoreTerm;
  for (const t of op.tasks) if ('term' in t) term = Math.max(term, t.term);
  visit(op.tid, op.pid, term);
}
