/**
 * Create and drop table carried out by the engine (the planners are in table-create.ts): each is a
 * short job held by request id, driven by its answers. Create: allocate a tid and a term (the
 * shell's ZooKeeper counters), place, create the replicas stage by stage, write the new table's
 * node; on any failure drop every replica created, then refuse with the first failure. Drop:
 * drop the replicas on healthy tablets (a failure other than "not there" is logged), delete the
 * node, then the table is gone from the engine. Jobs are not written anywhere: a leader change
 * loses them (its caller is refused NS_NOT_LEADER) and replicas left by a half-made create are
 * unknown to metadata, dropped when their tablet reports them. No I/O, no clock.
 */
import { TesseraError, type Endpoint, type TableInfo, type Tid } from '@tessera/common';
import type { EngineEffect, ReplyError, RequestId, TableJobEvent } from './events.js';
import type { Random } from './random.js';
import { checkCreateTable, createStages, dropCalls, newTableInfo, undoCreate, type CreateDraft, type ReplicaCall, type TableDefaults } from './table-create.js';

type Job =
  | { kind: 'create'; draft: CreateDraft; phase: 'alloc' }
  | { kind: 'create'; draft: CreateDraft; phase: 'replicas'; table: TableInfo; stages: ReplicaCall[][]; calls: ReplicaCall[]; answered: Set<number>; created: ReplicaCall[]; failure?: ReplyError }
  | { kind: 'create'; draft: CreateDraft; phase: 'write'; table: TableInfo; created: ReplicaCall[] }
  | { kind: 'create'; draft: CreateDraft; phase: 'undo'; failure: ReplyError; calls: ReplicaCall[]; answered: Set<number> }
  | { kind: 'drop'; table: TableInfo; phase: 'replicas'; calls: ReplicaCall[]; answered: Set<number> }
  | { kind: 'drop'; table: TableInfo; phase: 'write' };

/** What the engine lends the jobs. */
export interface TableJobHost {
  tables(): Iterable<TableInfo>;
  healthy(): Endpoint[];
  isHealthy(endpoint: Endpoint): boolean;
  random: Random;
  nowMs(): number;
  nsEpoch(): number;
  emit(effect: EngineEffect): void;
  /** The new table's node is written: the engine takes it into its metadata. */
  created(table: TableInfo): void;
  /** The table's node is deleted: the engine forgets it (and cancels its ops). */
  dropped(tid: Tid): void;
}

const asReplyError = (err: unknown): ReplyError => {
  if (err instanceof TesseraError) return { code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) };
  if (err instanceof TypeError) return { code: 'INVALID_ARGUMENT', message: `malformed command: ${err.message}` };
  throw err;
};

export class TableJobs {
  private readonly jobs = new Map<RequestId, Job>();

  constructor(private readonly host: TableJobHost) {}

  clear(): void {
    this.jobs.clear();
  }

  /** createtable: checked at once (refused with OpenMLDB's text), then the ids are asked for. */
  create(requestId: RequestId, request: Parameters<typeof checkCreateTable>[0], dbExists: boolean, defaults: TableDefaults): void {
    let draft: CreateDraft;
    try {
      const view = { tables: this.host.tables(), dbExists, healthy: this.host.healthy(), defaults, random: this.host.random };
      draft = checkCreateTable(request, view, (db, name) => this.creating(db, name));
    } catch (err) {
      return this.refuse(requestId, asReplyError(err));
    }
    this.jobs.set(requestId, { kind: 'create', draft, phase: 'alloc' });
    this.host.emit({ kind: 'allocTableIds', requestId });
  }

  /** droptable: the table by name (OpenMLDB's text when absent or already being dropped). */
  drop(requestId: RequestId, db: string, name: string): void {
    const table = [...this.host.tables()].find((t) => t.schema.db === db && t.schema.name === name);
    const dropping = table !== undefined && [...this.jobs.values()].some((j) => j.kind === 'drop' && j.table.tid === table.tid);
    if (table === undefined || dropping) return this.refuse(requestId, { code: 'TABLE_NOT_FOUND', message: `table ${name} does not exist`, details: { db, name } });
    const calls = dropCalls(table, (e) => this.host.isHealthy(e));
    this.jobs.set(requestId, { kind: 'drop', table, phase: 'replicas', calls, answered: new Set() });
    if (calls.length === 0) return this.deleteNode(requestId, table);
    this.sendCalls(requestId, calls);
  }

  /** An answer from the shell for a job. */
  onEvent(event: TableJobEvent): void {
    const job = this.jobs.get(event.requestId);
    if (job === undefined) return;
    switch (event.type) {
      case 'tableIdsAllocated':
        if (job.kind !== 'create' || job.phase !== 'alloc') return;
        if (!event.ok) return this.finishFailed(event.requestId, event.error ?? { code: 'COORD_ERROR', message: 'allocating a tid failed' });
        return this.placed(event.requestId, job.draft, event.tid!, event.term!);
      case 'tableCallResult':
        return this.onCallResult(event.requestId, job, event);
      case 'tableNodeWritten':
        if (job.phase !== 'write') return;
        if (job.kind === 'drop') {
          this.jobs.delete(event.requestId);
          if (!event.ok) return this.refuse(event.requestId, event.error ?? { code: 'COORD_ERROR', message: 'deleting the table failed' });
          this.host.dropped(job.table.tid);
          this.host.emit({ kind: 'log', level: 'info', message: `dropped table ${job.table.schema.db}.${job.table.schema.name} tid ${job.table.tid}` });
          return this.reply(event.requestId, {});
        }
        if (!event.ok) return this.undo(event.requestId, job.draft, job.created, event.error ?? { code: 'COORD_ERROR', message: 'writing the table failed' });
        this.jobs.delete(event.requestId);
        this.host.created(job.table);
        this.host.emit({ kind: 'log', level: 'info', message: `created table ${job.draft.schema.db}.${job.draft.schema.name} tid ${job.table.tid}: ${job.draft.partitionNum} partition(s) x ${job.draft.replicaNum} replica(s)` });
        return this.reply(event.requestId, { tid: job.table.tid });
    }
  }

  private creating(db: string, name: string): boolean {
    for (const j of this.jobs.values()) if (j.kind === 'create' && j.draft.schema.db === db && j.draft.schema.name === name) return true;
    return false;
  }

  private placed(requestId: RequestId, draft: CreateDraft, tid: Tid, term: number): void {
    let table: TableInfo;
    try {
      table = newTableInfo(draft, tid, term, this.host.nowMs(), { tables: this.host.tables(), healthy: this.host.healthy(), random: this.host.random });
    } catch (err) {
      return this.finishFailed(requestId, asReplyError(err));
    }
    const [first, ...rest] = createStages(table, term);
    this.jobs.set(requestId, { kind: 'create', draft, phase: 'replicas', table, stages: rest, calls: first!, answered: new Set(), created: [] });
    this.sendCalls(requestId, first!);
  }

  private onCallResult(requestId: RequestId, job: Job, event: Extract<TableJobEvent, { type: 'tableCallResult' }>): void {
    if (!('answered' in job) || job.answered.has(event.callIndex) || event.callIndex >= job.calls.length) return;
    job.answered.add(event.callIndex);
    const call = job.calls[event.callIndex]!;
    const notThere = event.error?.code === 'TABLE_NOT_FOUND';
    if (job.kind === 'create' && job.phase === 'replicas') {
      if (event.ok) job.created.push(call);
      else job.failure ??= event.error ?? { code: 'INTERNAL', message: 'create replica failed' };
    } else if (job.kind === 'drop' && !event.ok && !notThere) {
      this.host.emit({ kind: 'log', level: 'warn', message: `drop of ${call.tid}_${call.pid} on ${call.endpoint} failed: ${event.error?.message ?? 'failed'}` });
    }
    if (job.answered.size < job.calls.length) return;
    // Every call of the stage has answered.
    if (job.kind === 'drop') return this.deleteNode(requestId, job.table);
    if (job.phase === 'undo') return this.finishFailed(requestId, job.failure);
    if (job.failure !== undefined) return this.undo(requestId, job.draft, job.created, job.failure);
    const [next, ...rest] = job.stages;
    if (next === undefined) {
      this.jobs.set(requestId, { kind: 'create', draft: job.draft, phase: 'write', table: job.table, created: job.created });
      this.host.emit({ kind: 'writeTableNode', requestId, table: structuredClone(job.table) });
      return;
    }
    this.jobs.set(requestId, { ...job, stages: rest, calls: next, answered: new Set() });
    this.sendCalls(requestId, next);
  }

  private undo(requestId: RequestId, draft: CreateDraft, created: readonly ReplicaCall[], failure: ReplyError): void {
    this.host.emit({ kind: 'log', level: 'warn', message: `create table ${draft.schema.db}.${draft.schema.name} failed, dropping ${created.length} created replica(s): ${failure.message}` });
    if (created.length === 0) return this.finishFailed(requestId, failure);
    const calls = undoCreate(created);
    this.jobs.set(requestId, { kind: 'create', draft, phase: 'undo', failure, calls, answered: new Set() });
    this.sendCalls(requestId, calls);
  }

  private deleteNode(requestId: RequestId, table: TableInfo): void {
    this.jobs.set(requestId, { kind: 'drop', table, phase: 'write' });
    this.host.emit({ kind: 'deleteTableNode', requestId, tid: table.tid });
  }

  private sendCalls(requestId: RequestId, calls: readonly ReplicaCall[]): void {
    calls.forEach((call, callIndex) => this.host.emit({ kind: 'tableCall', requestId, callIndex, nsEpoch: this.host.nsEpoch(), call }));
  }

  private finishFailed(requestId: RequestId, error: ReplyError): void {
    this.jobs.delete(requestId);
    this.refuse(requestId, error);
  }

  private refuse(requestId: RequestId, error: ReplyError): void {
    this.host.emit({ kind: 'reply', requestId, ok: false, error });
  }

  private reply(requestId: RequestId, data: unknown): void {
    this.host.emit({ kind: 'reply', requestId, ok: true, message: 'ok', data });
  }
}
