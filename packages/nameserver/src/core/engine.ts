/**
 * The nameserver engine: a deterministic state machine in the style of etcd raft's RawNode.
 * `step(event)` takes one event (leadership, tablet membership and reports, task results, admin
 * commands, write confirmations, ticks carrying the time) and returns the effects to carry out
 * (tablet commands, ZooKeeper writes, replies). No I/O, no timers, no clock, no Math.random():
 * time arrives in events and randomness through the injected `Random`.
 *
 * Rules it keeps:
 * - one op at a time per partition (tid, pid); at most `taskConcurrency` ops running; waiting ops
 *   start in (parent id, id) order, each re-planned against current metadata when it starts;
 * - an op is written after every task and at every status change, and does not move past a task
 *   until ZooKeeper confirmed the write; a metadata change is confirmed before its task is done;
 * - a tablet task is done when the tablet answers ok; a task resumed by a new leader is first
 *   re-checked against fresh tablet reports (isDone) and re-sent if not visibly done;
 * - a failure or cancel before the op's commit task runs the undo steps, then ends the op
 *   kFailed / kCanceled; after the commit task the op only goes forward (failures are retried
 *   until the task's timeout); undo steps are retried until their timeout, then skipped;
 * - a task does not start its undo while its command is in flight: the answer (or the timeout)
 *   comes first, so an undo never overtakes the command it undoes.
 */
import { openmldbText, TesseraError } from '@tessera/common';
import type { Endpoint, ErrorCode, PartitionMeta, Pid, TableInfo, Term, Tid } from '@tessera/common';
import { planAdminCommand, OP_CREATING_COMMANDS, type OpCreatingCommand, type OpRequest } from './admin.js';
import { engineConfig, type EngineConfig } from './config.js';
import type { AdminCommand, EngineEffect, EngineEvent, PersistTarget, ReplyError, RequestId } from './events.js';
import { ObservedCluster, type ObservedView } from './observed.js';
import {
  cloneJson,
  currentTask,
  isCommitted,
  isTerminal,
  newTask,
  partitionKey,
  transitionOp,
  transitionTask,
  type Op,
  type OpData,
  type OpStatus,
  type OpType,
  type Task,
} from './op.js';
import { opStatusRows } from './opstatus.js';
import { aliveLeader, partitionOf, samePartition } from './partition.js';
import { planOp } from './plan.js';
import type { Random } from './random.js';
import { repairPlan } from './repair.js';
import { RepairGate } from './repair-gate.js';
import { planTableAlive } from './table-alive.js';
import { planSetTablePartition } from './table-partition.js';
import { buildUndo, specOf, syncLagEntries, type TaskContext } from './tasks.js';

/** Passes over the running ops per event; progress beyond this is a livelock bug. */
const PUMP_ROUNDS_MAX = 10_000;

type WriteKind = 'op' | 'delete';

/** What the engine tracks about an op besides the op itself; never persisted. */
interface OpRuntime {
  /** The op's creation is confirmed in ZooKeeper (or it was loaded from there): it may start. */
  created: boolean;
  /** Engine time the current task began; null until it does. */
  taskStartMs: number | null;
  /** Report sequence number when the current task began: later reports are fresh for it. */
  taskStartReportSeq: number;
  /** A command for the current task has been sent and not answered. */
  inFlight: boolean;
  lastSendMs: number;
  /** Earliest time to send (again) after a retryable failure. */
  retryAtMs: number;
  /** The tablet answered ok for the current task's command. */
  commandDone: boolean;
  /** The current task's metadata change waits for this table's write. */
  applyWaitTid: Tid | null;
  /** The current task created this child op and waits for its creation to be confirmed. */
  spawnWaitOpId: number | null;
  /** The current task must first be re-checked against fresh reports (resumed or tablet restarted). */
  recheck: boolean;
  /** When the re-check began waiting for a report; null until the op is next driven. */
  recheckSinceMs: number | null;
  /** Since when the current check task has been stalled without a break (TaskSpec.stalled); null while it is not. */
  stalledSinceMs: number | null;
  writeInFlight: WriteKind | null;
  writeNext: WriteKind | null;
  writeRetryAtMs: number | null;
  /** The op reached a terminal status; its last write is pending. */
  finishing: boolean;
}

interface TableWrite {
  inFlight: boolean;
  dirty: boolean;
  retryAtMs: number | null;
  waitersInFlight: number[];
  waitersNext: number[];
}

interface PendingReply {
  requestId: RequestId;
  /** Ops whose writes must be confirmed before the reply goes out. */
  opIds: number[];
  /** A table whose writes must be confirmed before the reply goes out. */
  tid?: Tid;
  message: string;
  data: unknown;
}

/** An op at a glance. */
export interface OpSummary {
  id: number;
  type: OpType;
  tid: Tid;
  pid: Pid;
  status: OpStatus;
  currentTask: Task['kind'] | null;
}

export interface EngineOptions {
  random: Random;
  config?: Parameters<typeof engineConfig>[0];
}

function newRuntime(created: boolean): OpRuntime {
  return {
    created,
    taskStartMs: null,
    taskStartReportSeq: 0,
    inFlight: false,
    lastSendMs: 0,
    retryAtMs: 0,
    commandDone: false,
    applyWaitTid: null,
    spawnWaitOpId: null,
    recheck: false,
    recheckSinceMs: null,
    stalledSinceMs: null,
    writeInFlight: null,
    writeNext: null,
    writeRetryAtMs: null,
    finishing: false,
  };
}

function resetTaskRuntime(rt: OpRuntime): void {
  rt.taskStartMs = null;
  rt.inFlight = false;
  rt.lastSendMs = 0;
  rt.retryAtMs = 0;
  rt.commandDone = false;
  rt.applyWaitTid = null;
  rt.spawnWaitOpId = null;
  rt.recheck = false;
  rt.recheckSinceMs = null;
  rt.stalledSinceMs = null;
}

function appendError(before: string | undefined, more: string): string {
  return before === undefined || before === '' ? more : `${before}; ${more}`;
}

export class NameserverEngine {
  readonly config: EngineConfig;
  private readonly random: Random;
  private readonly observedCluster = new ObservedCluster();
  private leader = false;
  private nsEpoch = 0;
  private nowMs = 0;
  private opIndex = 0;
  private readonly tableMap = new Map<Tid, TableInfo>();
  /** Unfinished ops (and finished ones whose last write is pending), by id. */
  private readonly liveOps = new Map<number, Op>();
  /** Finished ops kept for showopstatus, oldest first. */
  private doneOps: Op[] = [];
  private readonly runtime = new Map<number, OpRuntime>();
  private readonly tableWrites = new Map<Tid, TableWrite>();
  private pendingReplies: PendingReply[] = [];
  /** When the reconciler may judge each partition (after ops end; repair-gate.ts). */
  private readonly repairGate = new RepairGate();
  private effects: EngineEffect[] = [];

  constructor(options: EngineOptions) {
    this.random = options.random;
    this.config = engineConfig(options.config);
  }

  // -------------------------------------------------------------------------------------------
  // Public surface
  // -------------------------------------------------------------------------------------------

  /** Processes one event and returns the effects it produced, in the order to carry them out. */
  step(event: EngineEvent): EngineEffect[] {
    this.handle(event);
    if (this.leader) this.pump();
    return this.drainEffects();
  }

  /** Effects produced so far and not yet drained (step() drains them itself). */
  drainEffects(): EngineEffect[] {
    const out = this.effects;
    this.effects = [];
    return out;
  }

  isLeader(): boolean {
    return this.leader;
  }

  epoch(): number {
    return this.nsEpoch;
  }

  /** Every op the engine knows, unfinished and finished, by id (copies). */
  ops(): Op[] {
    return [...this.doneOps, ...this.liveOps.values()].sort((a, b) => a.id - b.id).map(cloneJson);
  }

  /** One line per op, by id, without copying whole ops (cheap enough to call after every event). */
  opSummaries(): OpSummary[] {
    return this.allOps()
      .map((o) => ({ id: o.id, type: o.type, tid: o.tid, pid: o.pid, status: o.status, currentTask: currentTask(o)?.kind ?? null }))
      .sort((a, b) => a.id - b.id);
  }

  op(id: number): Op | undefined {
    const op = this.liveOps.get(id) ?? this.doneOps.find((o) => o.id === id);
    return op === undefined ? undefined : cloneJson(op);
  }

  /** Table metadata as the engine holds it (including changes whose write is in flight). */
  tables(): TableInfo[] {
    return [...this.tableMap.values()].sort((a, b) => a.tid - b.tid).map(cloneJson);
  }

  table(tid: Tid): TableInfo | undefined {
    const t = this.tableMap.get(tid);
    return t === undefined ? undefined : cloneJson(t);
  }

  /** What the engine observes of the tablets. */
  observed(): ObservedView {
    return this.observedCluster;
  }

  // -------------------------------------------------------------------------------------------
  // Events
  // -------------------------------------------------------------------------------------------

  private handle(event: EngineEvent): void {
    if ('nowMs' in event && typeof event.nowMs === 'number') this.nowMs = Math.max(this.nowMs, event.nowMs);
    switch (event.type) {
      case 'becameLeader':
        this.onBecameLeader(event);
        return;
      case 'lostLeadership':
        this.onLostLeadership();
        return;
      case 'adminCommand':
        if (!this.leader) {
          this.replyError(event.requestId, 'NS_NOT_LEADER', 'nameserver is not leader');
          return;
        }
        this.onAdminCommand(event.requestId, event.command);
        return;
      default:
        break;
    }
    if (!this.leader) return;
    switch (event.type) {
      case 'tabletUp':
        this.observedCluster.setHealthy(event.endpoint, true, this.nowMs, event.startup);
        if (event.startup) this.forgetInFlight(event.endpoint);
        return;
      case 'tabletDown':
        this.observedCluster.setHealthy(event.endpoint, false, this.nowMs, false);
        this.forgetInFlight(event.endpoint);
        return;
      case 'tabletReport':
        this.observedCluster.setReport(event.endpoint, event.replicas);
        this.repairGate.reported(event.endpoint);
        this.reconcile(event.endpoint, event.replicas);
        return;
      case 'taskResult':
        this.onTaskResult(event);
        return;
      case 'tick':
        this.retryWrites();
        return;
      case 'persisted':
        this.onPersisted(event.what, event.ok);
        return;
      case 'tableCreated':
        if (!this.tableMap.has(event.table.tid)) this.tableMap.set(event.table.tid, cloneJson(event.table));
        return;
      case 'schemaChanged': {
        const t = this.tableMap.get(event.tid);
        if (t) this.tableMap.set(event.tid, { ...t, schema: cloneJson(event.schema) });
        return;
      }
      case 'inSyncChanged': {
        const t = this.tableMap.get(event.tid);
        if (t) {
          this.tableMap.set(event.tid, {
            ...t,
            partitions: t.partitions.map((p) => {
              if (p.pid !== event.pid) return p;
              const alive = new Set(p.replicas.filter((r) => !r.isLeader && r.isAlive).map((r) => r.endpoint));
              return { ...p, inSync: event.inSync.filter((e) => alive.has(e)) };
            }),
          });
        }
        return;
      }
      case 'tableDropped':
        this.onTableDropped(event.tid);
        return;
    }
  }

  private onBecameLeader(event: Extract<EngineEvent, { type: 'becameLeader' }>): void {
    this.resetState();
    this.leader = true;
    this.nsEpoch = event.nsEpoch;
    this.nowMs = event.nowMs;
    for (const t of event.tables) this.tableMap.set(t.tid, cloneJson(t));
    this.observedCluster.reset(event.tablets);
    this.opIndex = event.opIndex;
    const busy = new Set<string>();
    for (const loaded of [...event.ops].sort((a, b) => a.id - b.id)) {
      const op = cloneJson(loaded);
      this.opIndex = Math.max(this.opIndex, op.id);
      if (isTerminal(op.status)) {
        this.doneOps.push(op);
        continue;
      }
      const rt = newRuntime(true);
      this.liveOps.set(op.id, op);
      this.runtime.set(op.id, rt);
      if (op.status !== 'kDoing') continue;
      const key = partitionKey(op.tid, op.pid);
      if (busy.has(key)) {
        // Cannot come from a correct leader; stop the later op rather than run two at once.
        op.error = appendError(op.error, 'another op was running on the partition at resume');
        this.finishOp(op, rt, 'kFailed');
        continue;
      }
      busy.add(key);
      rt.recheck = true;
    }
    this.trimDoneOps();
  }

  private onLostLeadership(): void {
    for (const pending of this.pendingReplies) this.replyError(pending.requestId, 'NS_NOT_LEADER', 'nameserver is not leader');
    const replies = this.effects.filter((e) => e.kind === 'reply');
    this.resetState();
    this.effects = replies;
  }

  private resetState(): void {
    this.leader = false;
    this.tableMap.clear();
    this.liveOps.clear();
    this.doneOps = [];
    this.runtime.clear();
    this.tableWrites.clear();
    this.pendingReplies = [];
    this.repairGate.clear();
    this.effects = [];
  }

  /** A command sent to a tablet that went away or restarted will not be answered: send it again later. */
  private forgetInFlight(endpoint: Endpoint): void {
    for (const op of this.liveOps.values()) {
      const rt = this.runtime.get(op.id)!;
      const task = currentTask(op);
      if (op.status !== 'kDoing' || task === undefined || rt.finishing) continue;
      if (this.taskEndpoint(op, task) !== endpoint) continue;
      rt.inFlight = false;
      if (!rt.commandDone) {
        rt.recheck = true;
        rt.recheckSinceMs = null;
      }
    }
  }

  private onTaskResult(event: Extract<EngineEvent, { type: 'taskResult' }>): void {
    const op = this.liveOps.get(event.opId);
    const rt = this.runtime.get(event.opId);
    if (op === undefined || rt === undefined || op.status !== 'kDoing' || rt.finishing) return;
    if (op.taskIndex !== event.taskIndex || rt.taskStartMs === null || rt.commandDone) return;
    const task = currentTask(op)!;
    rt.inFlight = false;
    if (event.ok) {
      rt.commandDone = true;
      return;
    }
    const error = event.error ?? 'task failed on the tablet';
    // After the commit point and for undo steps there is no way back: insist until the timeout.
    const retryable = event.retryable === true || task.undo === true || isCommitted(op);
    if (retryable) {
      task.error = error;
      rt.retryAtMs = this.nowMs + this.config.taskResendIntervalMs;
      return;
    }
    this.failTask(op, rt, `${task.kind} failed: ${error}`);
  }

  /**
   * The reconciler (repair.ts): after a report, each idle partition the reporting tablet holds or
   * leads is compared with its metadata; a mismatch gets one kRepairPartitionOP, then the
   * partition is left alone for repairBackoffMs after that op ends.
   */
  private reconcile(endpoint: Endpoint, replicas: readonly { tid: Tid; pid: Pid }[]): void {
    if (!this.observedCluster.isHealthy(endpoint)) return;
    const busy = new Set([...this.liveOps.values()].map((o) => partitionKey(o.tid, o.pid)));
    const candidates = new Map<string, { tid: Tid; pid: Pid }>();
    for (const r of replicas) candidates.set(partitionKey(r.tid, r.pid), r);
    for (const table of this.tableMap.values()) {
      for (const p of table.partitions) if (aliveLeader(p) === endpoint) candidates.set(partitionKey(table.tid, p.pid), { tid: table.tid, pid: p.pid });
    }
    for (const [key, { tid, pid }] of candidates) {
      const table = this.tableMap.get(tid);
      const partition = table === undefined ? undefined : partitionOf(table, pid);
      if (table === undefined || partition === undefined || busy.has(key)) continue;
      if (!this.repairGate.mayJudge(key, this.observedCluster.healthyEndpoints(), this.nowMs)) continue;
      const repair = repairPlan(table, partition, this.observedCluster);
      if (repair.tasks.length === 0) continue;
      const data: OpData = { kind: 'repair', reasons: repair.reasons };
      this.createOp(
        { type: 'kRepairPartitionOP', tid, pid, db: table.schema.db, name: table.schema.name, data, tasks: repair.tasks.map(newTask), commitTaskIndex: repair.tasks.length - 1 },
        null,
      );
      busy.add(key);
    }
  }

  private onTableDropped(tid: Tid): void {
    this.tableMap.delete(tid);
    this.tableWrites.delete(tid);
    for (const op of [...this.liveOps.values()]) {
      if (op.tid !== tid) continue;
      const rt = this.runtime.get(op.id)!;
      if (rt.finishing) continue;
      op.error = appendError(op.error, 'table dropped');
      this.finishOp(op, rt, 'kCanceled');
    }
  }

  // -------------------------------------------------------------------------------------------
  // Admin commands
  // -------------------------------------------------------------------------------------------

  private onAdminCommand(requestId: RequestId, command: AdminCommand): void {
    try {
      if (OP_CREATING_COMMANDS.has(command.type)) {
        this.createOpsFor(requestId, command as OpCreatingCommand);
        return;
      }
      switch (command.type) {
        case 'showopstatus':
          this.reply(requestId, '', { ops: opStatusRows(this.allOps(), command) });
          return;
        case 'cancelop':
          this.cancelOp(requestId, command.opId);
          return;
        case 'deleteop':
          this.deleteOps(requestId, command);
          return;
        case 'updatetablealive':
          this.updateTableAlive(requestId, command);
          return;
        case 'settablepartition':
          this.setTablePartition(requestId, command);
          return;
        default:
          this.replyError(requestId, 'INVALID_ARGUMENT', `unsupported cmd ${(command as { type: string }).type}`);
      }
    } catch (err) {
      // Malformed input that slipped past the shell's validation must not take the engine down.
      if (err instanceof TesseraError) this.replyError(requestId, err.code, err.message);
      else if (err instanceof TypeError) this.replyError(requestId, 'INVALID_ARGUMENT', `malformed command: ${err.message}`);
      else throw err;
    }
  }

  private createOpsFor(requestId: RequestId, command: OpCreatingCommand): void {
    const busy = new Set([...this.liveOps.values()].map((o) => partitionKey(o.tid, o.pid)));
    const plan = planAdminCommand(command, {
      tables: [...this.tableMap.values()],
      observed: this.observedCluster,
      config: this.config,
      random: this.random,
      reservedTermMax: (tid, pid) => this.reservedTermMax(tid, pid),
      busy: (tid, pid) => busy.has(partitionKey(tid, pid)),
    });
    if (!plan.ok) {
      this.replyError(requestId, plan.error.code, plan.error.message);
      return;
    }
    const ops = plan.ops.map((req) => this.createOp(req, null));
    const opIds = ops.map((o) => o.id);
    this.pendingReplies.push({ requestId, opIds, message: plan.message, data: { ...plan.data, opIds } });
  }

  private createOp(req: OpRequest, parentId: number | null): Op {
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
    };
    this.liveOps.set(op.id, op);
    this.runtime.set(op.id, newRuntime(false));
    this.requestWrite(op, 'op');
    return op;
  }

  private cancelOp(requestId: RequestId, opId: number): void {
    const op = this.liveOps.get(opId);
    const rt = this.runtime.get(opId);
    if (op === undefined || rt === undefined || rt.finishing) {
      if (this.doneOps.some((o) => o.id === opId) || op !== undefined) {
        this.replyError(requestId, 'OP_STATE', 'op status is not kDoing or kInited');
      } else {
        // OpenMLDB's CancelOP says the same for an id it does not know.
        this.replyError(requestId, 'OP_NOT_FOUND', openmldbText('opNotCancelable'));
      }
      return;
    }
    if (op.status === 'kInited') {
      op.error = 'canceled by admin';
      this.finishOp(op, rt, 'kCanceled');
      this.pendingReplies.push({ requestId, opIds: [opId], message: 'Cancel op ok', data: {} });
      return;
    }
    if (op.rollback !== undefined) {
      this.replyError(requestId, 'OP_STATE', `op is already rolling back. op_id[${opId}]`);
      return;
    }
    const committing = op.taskIndex === op.commitTaskIndex && rt.applyWaitTid !== null;
    if (isCommitted(op) || committing) {
      this.replyError(requestId, 'OP_STATE', `op is past its commit task and can no longer be canceled. op_id[${opId}]`);
      return;
    }
    op.cancelRequested = true;
    this.requestWrite(op, 'op');
    this.pendingReplies.push({ requestId, opIds: [opId], message: 'Cancel op ok', data: {} });
  }

  private deleteOps(requestId: RequestId, command: Extract<AdminCommand, { type: 'deleteop' }>): void {
    if ('opId' in command) {
      if (this.liveOps.has(command.opId)) {
        this.replyError(requestId, 'OP_STATE', `cannot delete a running op. cancel it first. op_id[${command.opId}]`);
        return;
      }
      const index = this.doneOps.findIndex((o) => o.id === command.opId);
      if (index < 0) {
        this.replyError(requestId, 'OP_NOT_FOUND', 'op id does not exist');
        return;
      }
      this.doneOps.splice(index, 1);
      this.effects.push({ kind: 'deleteOp', opId: command.opId });
      this.reply(requestId, 'Delete op ok', {});
      return;
    }
    const statusByWord: Record<string, OpStatus> = { done: 'kDone', failed: 'kFailed', canceled: 'kCanceled' };
    const status = statusByWord[command.status];
    if (status === undefined) {
      this.replyError(requestId, 'INVALID_ARGUMENT', 'cannot delete the Inited OP');
      return;
    }
    const removed = this.doneOps.filter((o) => o.status === status);
    this.doneOps = this.doneOps.filter((o) => o.status !== status);
    for (const op of removed) this.effects.push({ kind: 'deleteOp', opId: op.id });
    this.reply(requestId, 'Delete op ok', {});
  }

  /** Flips is_alive flags in metadata (no op); replies once the table write is confirmed. */
  private updateTableAlive(requestId: RequestId, command: Extract<AdminCommand, { type: 'updatetablealive' }>): void {
    const busy = new Set([...this.liveOps.values()].map((o) => partitionKey(o.tid, o.pid)));
    const plan = planTableAlive(command, { tables: this.tableMap.values(), observed: this.observedCluster, busy: (tid, pid) => busy.has(partitionKey(tid, pid)) });
    if (!plan.ok) {
      this.replyError(requestId, plan.error.code, plan.error.message);
      return;
    }
    if (plan.table === undefined) {
      this.reply(requestId, 'update ok', { pids: plan.pids });
      return;
    }
    this.tableMap.set(plan.table.tid, plan.table);
    this.requestTableWrite(plan.table.tid, null);
    this.pendingReplies.push({ requestId, opIds: [], tid: plan.table.tid, message: 'update ok', data: { pids: plan.pids } });
  }

  /** Writes a partition's metadata edited by hand (no op); replies once the table write is confirmed. */
  private setTablePartition(requestId: RequestId, command: Extract<AdminCommand, { type: 'settablepartition' }>): void {
    const busy = new Set([...this.liveOps.values()].map((o) => partitionKey(o.tid, o.pid)));
    const plan = planSetTablePartition(command, { tables: this.tableMap.values(), observed: this.observedCluster, busy: (tid, pid) => busy.has(partitionKey(tid, pid)) });
    if (!plan.ok) return this.replyError(requestId, plan.error.code, plan.error.message);
    if (plan.table === undefined) return this.reply(requestId, 'set table partition ok', {});
    this.tableMap.set(plan.table.tid, plan.table);
    this.requestTableWrite(plan.table.tid, null);
    this.pendingReplies.push({ requestId, opIds: [], tid: plan.table.tid, message: 'set table partition ok', data: {} });
  }

  private reply(requestId: RequestId, message: string, data: unknown): void {
    this.effects.push({ kind: 'reply', requestId, ok: true, message, data });
  }

  private replyError(requestId: RequestId, code: ErrorCode, message: string): void {
    const error: ReplyError = { code, message };
    this.effects.push({ kind: 'reply', requestId, ok: false, error });
  }

  /** Replies whose ops' writes are all confirmed go out. */
  private flushReplies(): void {
    const waiting: PendingReply[] = [];
    for (const pending of this.pendingReplies) {
      const settled = pending.opIds.every((id) => {
        const rt = this.runtime.get(id);
        return rt === undefined || (rt.created && rt.writeInFlight === null && rt.writeNext === null);
      }) && (pending.tid === undefined || this.tableWriteSettled(pending.tid));
      if (settled) this.reply(pending.requestId, pending.message, pending.data);
      else waiting.push(pending);
    }
    this.pendingReplies = waiting;
  }

  // -------------------------------------------------------------------------------------------
  // Writes to ZooKeeper
  // -------------------------------------------------------------------------------------------

  private requestWrite(op: Op, kind: WriteKind): void {
    const rt = this.runtime.get(op.id)!;
    if (rt.writeInFlight !== null || rt.writeRetryAtMs !== null) {
      rt.writeNext = rt.writeNext === 'delete' || kind === 'delete' ? 'delete' : 'op';
      return;
    }
    this.emitWrite(op, rt, kind);
  }

  private emitWrite(op: Op, rt: OpRuntime, kind: WriteKind): void {
    rt.writeInFlight = kind;
    rt.writeNext = null;
    rt.writeRetryAtMs = null;
    if (kind === 'op') this.effects.push({ kind: 'persistOp', op: cloneJson(op), opIndex: this.opIndex });
    else this.effects.push({ kind: 'deleteOp', opId: op.id });
  }

  /** No write of the table is in flight, waiting for a retry or still to be sent. */
  private tableWriteSettled(tid: Tid): boolean {
    const w = this.tableWrites.get(tid);
    return w === undefined || (!w.inFlight && !w.dirty && w.retryAtMs === null);
  }

  /** Writes the table (again); `waiterOpId`'s task completes when the write is confirmed. */
  private requestTableWrite(tid: Tid, waiterOpId: number | null): void {
    let w = this.tableWrites.get(tid);
    if (w === undefined) {
      w = { inFlight: false, dirty: false, retryAtMs: null, waitersInFlight: [], waitersNext: [] };
      this.tableWrites.set(tid, w);
    }
    if (waiterOpId !== null) w.waitersNext.push(waiterOpId);
    w.dirty = true;
    if (!w.inFlight && w.retryAtMs === null) this.emitTableWrite(tid, w);
  }

  private emitTableWrite(tid: Tid, w: TableWrite): void {
    const table = this.tableMap.get(tid);
    if (table === undefined) return;
    w.inFlight = true;
    w.dirty = false;
    w.retryAtMs = null;
    w.waitersInFlight = w.waitersNext;
    w.waitersNext = [];
    this.effects.push({ kind: 'persistTable', table: cloneJson(table) });
  }

  private onPersisted(what: PersistTarget, ok: boolean): void {
    if (what.kind === 'table') {
      const w = this.tableWrites.get(what.tid);
      if (w === undefined || !w.inFlight) return;
      w.inFlight = false;
      if (!ok) {
        w.dirty = true;
        w.waitersNext = [...w.waitersInFlight, ...w.waitersNext];
        w.waitersInFlight = [];
        w.retryAtMs = this.nowMs + this.config.persistRetryIntervalMs;
        return;
      }
      const confirmed = w.waitersInFlight;
      w.waitersInFlight = [];
      for (const opId of confirmed) this.onApplyConfirmed(opId, what.tid);
      if (w.dirty) this.emitTableWrite(what.tid, w);
      return;
    }
    const op = this.liveOps.get(what.opId);
    const rt = this.runtime.get(what.opId);
    const kind: WriteKind = what.kind === 'op' ? 'op' : 'delete';
    if (op === undefined || rt === undefined || rt.writeInFlight !== kind) return;
    rt.writeInFlight = null;
    if (!ok) {
      rt.writeNext = rt.writeNext ?? kind;
      rt.writeRetryAtMs = this.nowMs + this.config.persistRetryIntervalMs;
      return;
    }
    rt.created = true;
    if (rt.writeNext !== null) {
      this.emitWrite(op, rt, rt.writeNext);
      return;
    }
    if (rt.finishing) this.moveToDone(op);
  }

  private retryWrites(): void {
    for (const op of this.liveOps.values()) {
      const rt = this.runtime.get(op.id)!;
      if (rt.writeRetryAtMs !== null && rt.writeRetryAtMs <= this.nowMs && rt.writeNext !== null) this.emitWrite(op, rt, rt.writeNext);
    }
    for (const [tid, w] of this.tableWrites) {
      if (w.retryAtMs !== null && w.retryAtMs <= this.nowMs) this.emitTableWrite(tid, w);
    }
  }

  private onApplyConfirmed(opId: number, tid: Tid): void {
    const op = this.liveOps.get(opId);
    const rt = this.runtime.get(opId);
    if (op === undefined || rt === undefined || rt.applyWaitTid !== tid || rt.finishing) return;
    rt.applyWaitTid = null;
    this.completeTask(op, rt);
  }

  // -------------------------------------------------------------------------------------------
  // Scheduling and driving ops
  // -------------------------------------------------------------------------------------------

  private pump(): void {
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

  private isRunning(op: Op): boolean {
    return op.status === 'kDoing' || (this.runtime.get(op.id)?.finishing === true && op.startMs > 0);
  }

  private schedule(): boolean {
    const live = [...this.liveOps.values()];
    let running = live.filter((o) => this.isRunning(o)).length;
    const busy = new Set(live.filter((o) => this.isRunning(o)).map((o) => partitionKey(o.tid, o.pid)));
    const waiting = live
      .filter((o) => o.status === 'kInited' && this.runtime.get(o.id)!.created && !this.runtime.get(o.id)!.finishing)
      .sort((a, b) => (a.parentId ?? a.id) - (b.parentId ?? b.id) || a.id - b.id);
    let started = false;
    for (const op of waiting) {
      if (running >= this.config.taskConcurrency) break;
      const key = partitionKey(op.tid, op.pid);
      if (busy.has(key)) continue;
      this.startOp(op);
      busy.add(key);
      running += 1;
      started = true;
    }
    return started;
  }

  private startOp(op: Op): void {
    const rt = this.runtime.get(op.id)!;
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

  private taskEndpoint(op: Op, task: Task): Endpoint | null {
    return specOf(task).endpoint(task, op);
  }

  /** Every term a known op on the partition chose or sent, so that a new one goes above all of them. */
  private reservedTermMax(tid: Tid, pid: Pid, exceptOpId?: number): Term {
    let term = 0;
    for (const op of this.allOps()) {
      if (op.tid !== tid || op.pid !== pid || op.id === exceptOpId) continue;
      if (op.data.kind === 'changeLeader' && op.data.selected !== null) term = Math.max(term, op.data.selected.restoreTerm);
      for (const t of op.tasks) if ('term' in t) term = Math.max(term, t.term);
    }
    return term;
  }

  private taskContext(op: Op, rt: OpRuntime): TaskContext | undefined {
    const table = this.tableMap.get(op.tid);
    const partition = table === undefined ? undefined : partitionOf(table, op.pid);
    if (table === undefined || partition === undefined) return undefined;
    const observed = this.observedCluster;
    return {
      op,
      table,
      partition,
      observed: this.observedCluster,
      config: this.config,
      random: this.random,
      reservedTermMax: this.reservedTermMax(op.tid, op.pid),
      taskElapsedMs: rt.taskStartMs === null ? 0 : this.nowMs - rt.taskStartMs,
      reportedSinceTaskStart: (endpoint) => observed.lastReportSeq(endpoint) > rt.taskStartReportSeq,
    };
  }

  /** Moves one running op forward as far as it can go now; true if anything changed. */
  private drive(op: Op): boolean {
    const rt = this.runtime.get(op.id)!;
    if (op.status !== 'kDoing' || rt.finishing) return false;
    if (rt.writeInFlight !== null || rt.writeNext !== null) return false;
    if (rt.applyWaitTid !== null) return false;
    const task = currentTask(op);
    if (task === undefined) {
      const status: OpStatus = op.rollback === undefined ? 'kDone' : op.rollback.reason === 'canceled' ? 'kCanceled' : 'kFailed';
      this.finishOp(op, rt, status);
      return true;
    }
    if (rt.spawnWaitOpId !== null) {
      if (this.runtime.get(rt.spawnWaitOpId)?.created === false) return false;
      this.completeTask(op, rt);
      return true;
    }
    let changed = false;
    if (rt.taskStartMs === null) {
      rt.taskStartMs = this.nowMs;
      rt.taskStartReportSeq = this.observedCluster.reportSeq();
      if (task.status === 'kInited') transitionTask(op, op.taskIndex, 'kDoing');
      changed = true;
    }
    const ctx = this.taskContext(op, rt);
    if (ctx === undefined) {
      op.error = appendError(op.error, 'table does not exist');
      this.finishOp(op, rt, 'kFailed');
      return true;
    }
    const spec = specOf(task);
    const endpoint = spec.endpoint(task, op);
    const elapsedMs = this.nowMs - rt.taskStartMs;
    const timeoutMs = spec.timeoutMs(task, this.config);

    if (endpoint !== null && !rt.commandDone && !this.observedCluster.isHealthy(endpoint)) {
      // A forward task gives up on a dead tablet after the grace period (the op is undone), and so
      // does an undo step (skipped: a tablet only briefly away is cleaned up by waiting out the
      // grace, one lost for longer by the reconciler once it is back). A post-commit step waits
      // for the tablet until its own timeout.
      const downSinceMs = Math.max(this.observedCluster.healthSinceMs(endpoint) ?? rt.taskStartMs, rt.taskStartMs);
      const graceOver = (task.undo === true || !isCommitted(op)) && this.nowMs - downSinceMs >= this.config.tabletDownTaskGraceMs;
      if (graceOver || elapsedMs >= timeoutMs) {
        this.failTask(op, rt, `tablet ${endpoint} is not healthy`);
        return true;
      }
      return changed;
    }

    if (rt.recheck) {
      rt.recheckSinceMs ??= this.nowMs;
      const waitedMs = this.nowMs - rt.recheckSinceMs;
      const waitForReport = endpoint !== null && !this.observedCluster.hasReported(endpoint) && waitedMs < this.config.reportWaitMs;
      if (waitForReport) return changed;
      rt.recheck = false;
      if (spec.isDone(task, ctx)) {
        this.completeTask(op, rt);
        return true;
      }
      changed = true;
    }

    // A cancel takes effect between tasks or while a task waits; never while its command is in
    // flight (the undo must not overtake it) and never once the commit task is done. A resumed op
    // has re-checked its current task above, so a commit that already landed is not undone.
    if (op.cancelRequested && op.rollback === undefined && !rt.inFlight && !isCommitted(op)) {
      this.startRollback(op, rt, 'canceled', 'canceled by admin');
      return true;
    }

    if (spec.command !== undefined && !rt.commandDone) {
      if (endpoint === null) throw new Error(`${task.kind} has a command but no endpoint`);
      if (elapsedMs >= timeoutMs) {
        // No more sends; the last one gets one resend interval to answer, so that an undo never
        // overtakes a command that is merely slow.
        if (rt.inFlight && this.nowMs - rt.lastSendMs < this.config.taskResendIntervalMs) return changed;
        this.failTask(op, rt, `${task.kind} timed out after ${timeoutMs}ms${task.error === undefined ? '' : ` (${task.error})`}`);
        return true;
      }
      const resendDue = rt.inFlight && this.nowMs - rt.lastSendMs >= this.config.taskResendIntervalMs;
      if ((!rt.inFlight && this.nowMs >= rt.retryAtMs) || resendDue) {
        rt.inFlight = true;
        rt.lastSendMs = this.nowMs;
        this.effects.push({
          kind: 'sendTask',
          opId: op.id,
          taskIndex: op.taskIndex,
          endpoint,
          nsEpoch: this.nsEpoch,
          command: spec.command(task, ctx),
        });
        return true;
      }
      return changed;
    }

    if (spec.apply !== undefined) {
      const result = spec.apply(task, ctx);
      if (result.status === 'wait') {
        if (elapsedMs < timeoutMs) return changed;
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
    if (elapsedMs >= timeoutMs) {
      this.failTask(op, rt, `${task.kind} timed out after ${timeoutMs}ms`);
      return true;
    }
    return changed;
  }

  private spawnChild(op: Op, rt: OpRuntime, type: OpType, data: OpData): void {
    if (op.data.kind !== 'recoverTable') throw new Error(`op ${op.id} (${op.type}) cannot spawn a child`);
    // A resumed parent may have created its child already: adopt it instead of making a second.
    const existing = this.allOps().find((o) => o.parentId === op.id);
    if (existing !== undefined) {
      op.data = { ...op.data, childOpId: existing.id };
      this.completeTask(op, rt);
      return;
    }
    const table = this.tableMap.get(op.tid)!;
    const child = this.createOp(
      { type, tid: op.tid, pid: op.pid, db: table.schema.db, name: table.schema.name, data, tasks: [], commitTaskIndex: 0 },
      op.id,
    );
    op.data = { ...op.data, childOpId: child.id };
    rt.spawnWaitOpId = child.id;
  }

  private setPartition(tid: Tid, partition: PartitionMeta): void {
    const table = this.tableMap.get(tid)!;
    this.tableMap.set(tid, { ...table, partitions: table.partitions.map((p) => (p.pid === partition.pid ? partition : p)) });
  }

  private completeTask(op: Op, rt: OpRuntime): void {
    transitionTask(op, op.taskIndex, 'kDone');
    op.taskIndex += 1;
    op.progress.tasksDone = op.tasks.filter((t) => t.status === 'kDone').length;
    op.progress.tasksTotal = op.tasks.length;
    delete op.progress.lagEntries;
    resetTaskRuntime(rt);
    this.requestWrite(op, 'op');
  }

  private failTask(op: Op, rt: OpRuntime, error: string): void {
    const task = currentTask(op)!;
    if (task.undo === true) {
      task.error = error;
      transitionTask(op, op.taskIndex, 'kFailed');
      op.error = appendError(op.error, `undo step ${task.kind} skipped: ${error}`);
      op.taskIndex += 1;
      resetTaskRuntime(rt);
      this.requestWrite(op, 'op');
      return;
    }
    if (isCommitted(op)) {
      task.error = error;
      transitionTask(op, op.taskIndex, 'kFailed');
      op.error = appendError(op.error, error);
      this.finishOp(op, rt, 'kFailed');
      return;
    }
    this.startRollback(op, rt, op.cancelRequested ? 'canceled' : 'failed', error);
  }

  private startRollback(op: Op, rt: OpRuntime, reason: 'failed' | 'canceled', error: string): void {
    const from = op.taskIndex;
    const task = op.tasks[from];
    if (task !== undefined) {
      if (reason === 'failed') task.error = error;
      transitionTask(op, from, reason === 'canceled' && task.error === undefined ? 'kCanceled' : 'kFailed');
    }
    const table = this.tableMap.get(op.tid);
    const partition = table === undefined ? undefined : partitionOf(table, op.pid);
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
    resetTaskRuntime(rt);
    this.requestWrite(op, 'op');
  }

  private finishOp(op: Op, rt: OpRuntime, status: OpStatus): void {
    for (let i = op.taskIndex; i < op.tasks.length; i++) {
      const t = op.tasks[i]!;
      if (t.status === 'kDoing') transitionTask(op, i, status === 'kDone' ? 'kCanceled' : status);
      else if (t.status === 'kInited') transitionTask(op, i, 'kCanceled');
    }
    transitionOp(op, status, this.nowMs);
    rt.finishing = true;
    // Failed ops stay in ZooKeeper for the operator (deleteop); done and canceled ones go.
    this.requestWrite(op, status === 'kFailed' ? 'op' : 'delete');
  }

  private moveToDone(op: Op): void {
    this.repairGate.opEnded(partitionKey(op.tid, op.pid), this.nowMs, op.type === 'kRepairPartitionOP' ? this.config.repairBackoffMs : 0);
    this.liveOps.delete(op.id);
    this.runtime.delete(op.id);
    // A repair that found nothing left to do when it started did nothing: it is no op to keep.
    if (op.type === 'kRepairPartitionOP' && op.tasks.length === 0) return;
    this.doneOps.push(op);
    this.trimDoneOps();
  }

  private trimDoneOps(): void {
    while (this.doneOps.length > this.config.doneOpsMax) {
      const dropped = this.doneOps.shift()!;
      if (dropped.status === 'kFailed') this.effects.push({ kind: 'deleteOp', opId: dropped.id });
    }
  }

  private allOps(): Op[] {
    return [...this.doneOps, ...this.liveOps.values()];
  }

  /** Broken invariants are bugs: fail loudly rather than run two ops on one partition. */
  private checkInvariants(): void {
    const running = [...this.liveOps.values()].filter((o) => o.status === 'kDoing');
    const seen = new Set<string>();
    for (const op of running) {
      const key = partitionKey(op.tid, op.pid);
      if (seen.has(key)) throw new Error(`two ops running on partition ${key}`);
      seen.add(key);
    }
  }
}
