/**
 * The engine's admin commands, between its run loop (engine-drive.ts) and the front (engine.ts):
 * the one planner view (admin.ts, admin-direct.ts, parent.ts all plan against it), commands that
 * create ops (answered once the ops are written), direct commands (cancel, delete, table edits;
 * answered once their writes are confirmed) and the checkers' commands (the same plans, no reply).
 * The decisions are the planners'; this only carries them out. No I/O, no clock.
 */
import { heldKeys, planBulkFailover } from './bulk-failover.js';
import { TesseraError, type Pid, type Tid } from '@tessera/common';
import { planAdminCommand, OP_CREATING_COMMANDS, type AdminView, type OpCreatingCommand } from './admin.js';
import { DIRECT_COMMANDS, planDirectCommand, type DirectCommand, type DirectView } from './admin-direct.js';
import { EngineDrive } from './engine-drive.js';
import type { AdminCommand, RequestId } from './events.js';
import { cloneJson, partitionKey, type Op } from './op.js';
import { TableJobs } from './table-jobs.js';

export abstract class EngineAdmin extends EngineDrive {
  /** Create and drop table jobs (table-jobs.ts): the engine writes every table's metadata. */
  protected readonly tableJobs = new TableJobs({
    tables: () => this.tableMap.values(),
    healthy: () => this.observedCluster.healthyEndpoints(),
    isHealthy: (endpoint) => this.observedCluster.isHealthy(endpoint),
    random: this.random,
    nowMs: () => this.nowMs,
    nsEpoch: () => this.nsEpoch,
    emit: (effect) => this.effects.push(effect),
    created: (table) => this.tableMap.set(table.tid, cloneJson(table)),
    dropped: (tid) => this.onTableDropped(tid),
  });

  /** A dropped table's node is deleted: forget it and cancel its ops (engine.ts). */
  protected abstract onTableDropped(tid: Tid): void;

  protected onAdminCommand(requestId: RequestId, command: AdminCommand): void {
    try {
      if (command.type === 'setschema') this.setSchema(requestId, command);
      else if (command.type === 'createtable') this.tableJobs.create(requestId, command.request, command.dbExists, command.defaults);
      else if (command.type === 'droptable') this.tableJobs.drop(requestId, command.db, command.name);
      else if (OP_CREATING_COMMANDS.has(command.type)) this.createOpsFor(requestId, command as OpCreatingCommand);
      else if (DIRECT_COMMANDS.has(command.type)) this.runDirect(requestId, command as DirectCommand);
      else this.replyError(requestId, 'INVALID_ARGUMENT', `unsupported cmd ${(command as { type: string }).type}`);
    } catch (err) {
      // Malformed input that slipped past the shell's validation must not take the engine down.
      if (err instanceof TesseraError) this.replyError(requestId, err.code, err.message);
      else if (err instanceof TypeError) this.replyError(requestId, 'INVALID_ARGUMENT', `malformed command: ${err.message}`);
      else throw err;
    }
  }

  /** Whether an unfinished op (of those `which` picks) holds the partition (as of this call). */
  protected busyPartitions(which: (op: Op) => boolean = () => true): (tid: Tid, pid: Pid) => boolean {
    const busy = new Set([...this.liveOps.values()].filter(which).flatMap(heldKeys));
    return (tid, pid) => busy.has(partitionKey(tid, pid));
  }

  /** The one view every planner of ops is given (admin commands, checkers, parent ops). */
  protected adminView(): AdminView {
    // Built at the first ask: a planner of many partitions (a bulk failover) asks for each.
    let reserved: ((tid: Tid, pid: Pid) => number) | undefined;
    return {
      tables: [...this.tableMap.values()],
      observed: this.observedCluster,
      config: this.config,
      random: this.random,
      reservedTermMax: (tid, pid) => (reserved ??= this.reservedTerms())(tid, pid),
      busy: this.busyPartitions(),
      ops: () => this.allOps(),
    };
  }

  /** The failover monitor's op(s) for a lost tablet (bulk-failover.ts); the number of partitions they hold (0: none made). */
  protected createBulkFailover(endpoint: string): number {
    let parts = 0;
    for (const req of planBulkFailover(endpoint, this.adminView())) {
      this.createOp(req, null);
      parts += req.data.kind === 'bulkFailover' ? req.data.parts.length : 0;
    }
    return parts;
  }

  /** A checker's command (failover, recovery): the same plan as an admin's, without a reply. */
  protected createOpsQuietly(command: OpCreatingCommand): { ok: true; ops: number } | { ok: false; message: string } {
    const plan = planAdminCommand(command, this.adminView());
    if (!plan.ok) return { ok: false, message: plan.error.message };
    for (const req of plan.ops) this.createOp(req, null);
    return { ok: true, ops: plan.ops.length };
  }

  private createOpsFor(requestId: RequestId, command: OpCreatingCommand): void {
    const plan = planAdminCommand(command, this.adminView());
    if (!plan.ok) {
      this.replyError(requestId, plan.error.code, plan.error.message);
      return;
    }
    const opIds = plan.ops.map((req) => this.createOp(req, null).id);
    this.replies.add({ requestId, opIds, message: plan.message, data: { ...plan.data, opIds } });
  }

  /** setttl's schema: the engine's copy, then ZooKeeper; answered once the write is confirmed. */
  private setSchema(requestId: RequestId, command: Extract<AdminCommand, { type: 'setschema' }>): void {
    const t = this.tableMap.get(command.tid);
    if (t === undefined) return this.replyError(requestId, 'TABLE_NOT_FOUND', `table tid ${command.tid} does not exist`);
    this.tableMap.set(command.tid, { ...t, schema: cloneJson(command.schema) });
    this.requestTableWrite(command.tid, null);
    this.replies.add({ requestId, opIds: [], tid: command.tid, message: 'ok', data: {} });
  }

  private directView(): DirectView {
    return {
      tables: this.tableMap.values(),
      observed: this.observedCluster,
      busy: this.busyPartitions(),
      ops: () => this.allOps(),
      done: () => this.doneOps,
      live: (opId) => {
        const op = this.liveOps.get(opId);
        const rt = this.runtime.get(opId);
        if (op === undefined || rt === undefined) return undefined;
        return { op, finishing: rt.finishing, committing: op.taskIndex === op.commitTaskIndex && rt.applyWaitTid !== null };
      },
    };
  }

  private runDirect(requestId: RequestId, command: DirectCommand): void {
    const plan = planDirectCommand(command, this.directView());
    switch (plan.kind) {
      case 'refuse':
        return this.replyError(requestId, plan.code, plan.message);
      case 'reply':
        return this.reply(requestId, plan.message, plan.data);
      case 'cancel':
        for (const target of plan.targets) {
          const op = this.liveOps.get(target.opId)!;
          if (target.mode === 'drop') {
            op.error = 'canceled by admin';
            this.finishOp(op, this.runtime.get(op.id)!, 'kCanceled');
          } else {
            op.cancelRequested = true;
            this.requestWrite(op, 'op');
          }
        }
        this.replies.add({ requestId, opIds: plan.targets.map((t) => t.opId), message: plan.message, data: {} });
        return;
      case 'deleteOps': {
        const gone = new Set(plan.opIds);
        this.doneOps = this.doneOps.filter((o) => !gone.has(o.id));
        for (const opId of plan.opIds) this.effects.push({ kind: 'deleteOp', opId });
        return this.reply(requestId, plan.message, {});
      }
      case 'writeTable':
        this.tableMap.set(plan.table.tid, plan.table);
        this.requestTableWrite(plan.table.tid, null);
        this.replies.add({ requestId, opIds: [], tid: plan.table.tid, message: plan.message, data: plan.data });
        return;
    }
  }
}
