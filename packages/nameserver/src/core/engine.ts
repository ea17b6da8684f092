/**
 * The nameserver engine: a deterministic state machine in the style of etcd raft's RawNode.
 * `step(event) → effects`: events in (leadership, tablet membership and reports, task results,
 * admin commands, write confirmations, ticks carrying the time), effects out (tablet commands,
 * ZooKeeper writes, replies). No I/O, no timers, no clock, no Math.random(): time arrives in
 * events and randomness through the injected `Random`. This file is the short front (event
 * dispatch and the read surface) over three layers and the pure parts they call:
 *   engine-admin.ts            admin commands carried out (the one planner view)
 *   engine-drive.ts            the run loop: schedule, then drive each op (drive.ts decides)
 *   engine-ops.ts              the state and the moves on one op (start, send, apply, finish)
 *   admin.ts, admin-direct.ts  admin commands → ops to create / direct actions
 *   schedule.ts                which waiting op starts
 *   plan.ts, tasks.ts          an op's tasks, and what each task does
 *   drive.ts                   a running op's next action (the flag table)
 *   op-steps.ts                status edits of an op (task done, rollback, end)
 *   repair.ts                  the reconciler after a tablet report
 *   writes.ts                  the ZooKeeper write pipeline (one write in flight per op / table)
 *   replies.ts                 replies held until their writes are confirmed
 *   checkers.ts                failover, in-sync and role checkers (failover-check.ts, in-sync.ts,
 *                              role-check.ts) and the notices that wait for a table write
 *   report-chase.ts            the tablets whose reports a current task waits on (chaseReports)
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
import type { Endpoint, Pid, TableInfo, Tid } from '@tessera/common';
import { Checkers, TableNotices } from './checkers.js';
import { EngineAdmin } from './engine-admin.js';
import type { EngineOptions } from './engine-ops.js';
import type { EngineEffect, EngineEvent, PersistTarget, TabletNotice } from './events.js';
import type { ObservedView } from './observed.js';
import { cloneJson, currentTask, isTerminal, newTask, partitionKey, type Op, type OpData, type OpStatus, type OpType, type Task } from './op.js';
import { appendError } from './op-steps.js';
import { partitionOf } from './partition.js';
import { reconcileAfterReport } from './repair.js';
import { heldKeys, holdsPartition, isBulkOp } from './bulk-failover.js';
import { roleNoticeUnder } from './role-hold.js';
import { replyError } from './replies.js';
import { ReportChase } from './report-chase.js';
import { newRuntime } from './runtime.js';

/** An op at a glance. */
export interface OpSummary {
  id: number;
  type: OpType;
  tid: Tid;
  pid: Pid;
  status: OpStatus;
  currentTask: Task['kind'] | null;
}

export type { EngineOptions } from './engine-ops.js';

function summaryOf(o: Op): OpSummary {
  return { id: o.id, type: o.type, tid: o.tid, pid: o.pid, status: o.status, currentTask: currentTask(o)?.kind ?? null };
}

export class NameserverEngine extends EngineAdmin {
  /** set_in_sync notices waiting for their table's write. */
  private readonly notices = new TableNotices();
  /** Failover, in-sync and role-assignment checkers (checkers.ts). */
  private readonly checkers: Checkers;
  /** The tablets the shell is asked to chase for reports (report-chase.ts); kept across leaderships. */
  private readonly chase = new ReportChase();

  constructor(options: EngineOptions) {
    super(options);
    this.checkers = new Checkers({
      config: this.config,
      observed: this.observedCluster,
      nowMs: () => this.nowMs,
      tables: () => this.tableMap.values(),
      table: (tid) => this.tableMap.get(tid),
      createOps: (command) => this.createOpsQuietly(command),
      failoverEndpoint: (endpoint) => this.createBulkFailover(endpoint),
      recordInSync: (tid, pid, inSync, after) => {
        const table = this.tableMap.get(tid);
        const p = table === undefined ? undefined : partitionOf(table, pid);
        if (table === undefined || p === undefined) return;
        this.tableMap.set(tid, { ...table, partitions: table.partitions.map((x) => (x.pid === pid ? { ...p, inSync: [...inSync] } : x)) });
        if (after !== undefined) this.notices.add(tid, after);
        this.requestTableWrite(tid, null);
      },
      noticePending: (tid, pid) => this.notices.pending(tid, pid),
      busyNow: () => this.busyPartitions(),
      bulkHeldNow: () => this.busyPartitions(isBulkOp),
      roleNotice: (endpoint, notice) => {
        const key = partitionKey(notice.tid, notice.pid);
        return roleNoticeUnder([...this.liveOps.values()].filter((op) => holdsPartition(op, key)), endpoint, notice);
      },
      notify: (endpoint, notice) => this.notify(endpoint, notice),
      log: (level, message) => this.effects.push({ kind: 'log', level, message }),
    });
  }

  private notify(endpoint: Endpoint, notice: TabletNotice): void {
    this.effects.push({ kind: 'notifyTablet', endpoint, nsEpoch: this.nsEpoch, notice });
  }

  protected override resetState(): void {
    super.resetState();
    // Called from the base's own resets only after construction.
    this.notices?.clear();
    this.checkers?.reset();
    this.tableJobs?.clear();
  }

  protected override emitTableWrite(tid: Tid): void {
    super.emitTableWrite(tid);
    this.notices.sent(tid);
  }

  protected override onPersisted(what: PersistTarget, ok: boolean): void {
    // Notices riding with this table write go out once it is confirmed (before a next write is sent).
    if (what.kind === 'table') for (const n of this.notices.persisted(what.tid, ok)) this.notify(n.endpoint, n.notice);
    super.onPersisted(what, ok);
  }

  // -------------------------------------------------------------------------------------------
  // Public surface
  // -------------------------------------------------------------------------------------------

  /** Processes one event and returns the effects it produced, in the order to carry them out. */
  step(event: EngineEvent): EngineEffect[] {
    this.handle(event);
    if (this.leader) {
      this.pump();
      this.pushChase(this.chase.update(this.liveOps.values(), (tid) => this.tableMap.get(tid), this.observedCluster));
    }
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
    return this.allOps().map(summaryOf).sort((a, b) => a.id - b.id);
  }

  /** opSummaries of the unfinished ops only (no pass over up to doneOpsMax finished ones). */
  liveOpSummaries(): OpSummary[] {
    return [...this.liveOps.values()].map(summaryOf).sort((a, b) => a.id - b.id);
  }

  op(id: number): Op | undefined {
    const op = this.peekOp(id);
    return op === undefined ? undefined : cloneJson(op);
  }

  /**
   * The op itself, not a copy, for a reader that looks at it now and keeps nothing of it (the op
   * log, the op view's sampling): a bulk failover's op lists up to 1,000 partitions, and copying
   * each of them at every status poll and engine drain was ~6 % of the nameserver's CPU during a
   * failover at 8,000 replicas a tablet. Never modified, never kept past the call.
   */
  peekOp(id: number): Readonly<Op> | undefined {
    return this.liveOps.get(id) ?? this.doneOps.find((o) => o.id === id);
  }

  /** Table metadata as the engine holds it (including changes whose write is in flight). */
  tables(): TableInfo[] {
    return [...this.tableMap.values()].sort((a, b) => a.tid - b.tid).map(cloneJson);
  }

  table(tid: Tid): TableInfo | undefined {
    const t = this.tableMap.get(tid);
    return t === undefined ? undefined : cloneJson(t);
  }

  /** Why a waiting op has not started (a limit, a busy partition), as of the last scheduling pass. */
  blockedBecause(opId: number): string | undefined {
    return this.blocked.get(opId);
  }

  /** The move limits in force (`confset max_moves_per_tablet|max_moves_per_cluster`). */
  limits(): { maxMovesPerTablet: number; maxMovesPerCluster: number } {
    return { ...this.moveLimits };
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
          this.effects.push(replyError(event.requestId, 'NS_NOT_LEADER', 'nameserver is not leader'));
          return;
        }
        this.issuer = event.issuedBy;
        try {
          this.onAdminCommand(event.requestId, event.command);
        } finally {
          this.issuer = undefined;
        }
        return;
      default:
        break;
    }
    if (!this.leader) return;
    switch (event.type) {
      case 'tabletUp':
        this.observedCluster.setHealthy(event.endpoint, true, this.nowMs, event.startup);
        if (event.startup) this.forgetInFlight(event.endpoint);
        this.checkers.onTabletUp(event.endpoint);
        return;
      case 'tabletDown':
        this.observedCluster.setHealthy(event.endpoint, false, this.nowMs, false);
        this.forgetInFlight(event.endpoint);
        return;
      case 'tabletReport':
        if (event.removed === undefined) this.observedCluster.setReport(event.endpoint, event.replicas);
        else if (!this.observedCluster.mergeReport(event.endpoint, event.replicas, event.removed, event.more !== true)) return;
        if (event.more !== true) this.repairGate.reported(event.endpoint);
        // A report of changes is judged by what it carries (and the partitions of replicas gone);
        // a whole one also every partition the tablet leads in metadata.
        this.reconcile(event.endpoint, event.removed === undefined ? event.replicas : [...event.replicas, ...event.removed], event.removed !== undefined);
        this.checkers.onReport(event.endpoint, event.replicas);
        return;
      case 'failoverCheck':
        this.checkers.onFailoverCheck(event.enabled);
        return;
      case 'taskResult':
        this.onTaskResult(event);
        return;
      case 'batchResult':
        this.bulk.onResult(event.opId, event.batch, event.results);
        return;
      case 'tick':
        this.retryWrites();
        return;
      case 'persisted':
        this.onPersisted(event.what, event.ok);
        return;
      case 'tableIdsAllocated':
      case 'tableCallResult':
      case 'tableNodeWritten':
        this.tableJobs.onEvent(event);
        return;
      case 'settingsChanged':
        this.setMoveLimits(event);
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
    if (event.settings !== undefined) this.setMoveLimits(event.settings);
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
      // A bulk failover holds every partition it lists (two of them, for one lost tablet, run side by side).
      const keys = heldKeys(op);
      if (keys.some((key) => busy.has(key))) {
        // Cannot come from a correct leader; stop the later op rather than run two at once.
        op.error = appendError(op.error, 'another op was running on the partition at resume');
        this.finishOp(op, rt, 'kFailed');
        continue;
      }
      for (const key of keys) busy.add(key);
      rt.recheck = true;
    }
    this.trimDoneOps();
  }

  private onLostLeadership(): void {
    const replies = [...this.effects.filter((e) => e.kind === 'reply'), ...this.replies.notLeader()];
    this.resetState();
    this.effects = replies;
    this.pushChase(this.chase.disarm());
  }

  private pushChase(effect: EngineEffect | null): void {
    if (effect !== null) this.effects.push(effect);
  }


  /** The reconciler (repair.ts); the partition is then left alone for repairBackoffMs after the repair ends. */
  private reconcile(endpoint: Endpoint, replicas: readonly { tid: Tid; pid: Pid }[], changesOnly: boolean): void {
    if (changesOnly && replicas.length === 0) return;
    const busy = new Set([...this.liveOps.values()].flatMap(heldKeys));
    const healthy = this.observedCluster.healthyEndpoints();
    const repairs = reconcileAfterReport(endpoint, replicas, changesOnly, {
      tables: this.tableMap,
      observed: this.observedCluster,
      busy: (key) => busy.has(key),
      mayJudge: (key) => this.repairGate.mayJudge(key, healthy, this.nowMs),
    });
    for (const { table, pid, plan } of repairs) {
      const data: OpData = { kind: 'repair', reasons: plan.reasons };
      this.createOp({ type: 'kRepairPartitionOP', tid: table.tid, pid, db: table.schema.db, name: table.schema.name, data, tasks: plan.tasks.map(newTask), commitTaskIndex: plan.tasks.length - 1 }, null);
    }
  }

  protected override onTableDropped(tid: Tid): void {
    this.tableDrops += 1;
    this.tableMap.delete(tid);
    this.writes.dropTable(tid);
    this.notices.drop(tid);
    for (const op of [...this.liveOps.values()]) {
      if (op.tid !== tid) continue;
      const rt = this.runtime.get(op.id)!;
      if (rt.finishing) continue;
      op.error = appendError(op.error, 'table dropped');
      this.finishOp(op, rt, 'kCanceled');
    }
  }
}
