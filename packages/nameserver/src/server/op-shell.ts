/**
 * The I/O shell around the pure op engine (core/engine.ts): turns ZooKeeper, tablet reports,
 * timers and admin requests into engine events, one at a time, and carries out the effects it
 * returns — tablet commands (with the nameserver epoch), op and table writes to ZooKeeper,
 * replies — feeding each outcome back as an event. It holds no op logic of its own.
 */
import {
  TesseraError, isErrorCode, type Logger, type ReplicaStatus, type TableInfo, type TableSchema,
} from '@tessera/common';
import type { Coord, ZkLayout } from '@tessera/coord';
import { NameserverEngine } from '../core/engine.js';
import type { AdminCommand, EngineEffect, EngineEvent, EngineSettings, PersistTarget, ReplicaReport, ReplyError, TabletNotice } from '../core/events.js';
import type { Op, TabletCommand } from '../core/op.js';
import type { Random } from '../core/random.js';
import type { MetadataStore } from './metadata.js';
import type { StatusPoller } from './status-poller.js';
import type { CreateReplicaCommand, TabletControl } from './tablet-client.js';
import type { TabletTracker } from './tablets.js';
import { readMoveLimits } from './move-limits.js';
import { AsyncLocalStorage } from 'node:async_hooks';
import type { OpIssuer } from '@tessera/common';
import { OpLog } from './op-log.js';
import { sendControlBatch } from './control-batch.js';
import { ReportChaser } from './report-chaser.js';
import type { Clock } from './clock.js';

/** Replicas in one change report event fed to the engine (postReport). */
const REPORT_EVENT_REPLICAS_MAX = 1_000;

/** Who sent the admin request being handled (set by the route, read when the command is posted). */
export const issuerContext = new AsyncLocalStorage<OpIssuer>();

export interface OpShellOptions {
  taskConcurrency: number;
  syncDeltaEntriesMax: number;
  /** EngineConfig.syncStallTimeoutMs (`--sync_stall_timeout`). */
  syncStallTimeoutMs?: number;
  /** EngineConfig.tabletDownTaskGraceMs: the failover's heartbeat timeout (a tablet lost that long is failed over). */
  tabletDownTaskGraceMs?: number;
  /** EngineConfig.inSyncLagEntriesMax / inSyncSilentMsMax (`--in_sync_lag_entries`, `--in_sync_silent_ms`). */
  inSyncLagEntriesMax?: number;
  inSyncSilentMsMax?: number;
  tickIntervalMs: number;
  /** Stamps every event posted to the engine (`nowMs`). */
  clock: Clock;
}

/** The tablet route and body of each engine command. */
function route(cmd: TabletCommand): { path: string; body: Record<string, unknown> } {
  const base = { tid: cmd.tid, pid: cmd.pid };
  switch (cmd.type) {
    case 'PauseSnapshot':
      return { path: '/v1/control/pause_snapshot', body: base };
    case 'RecoverSnapshot':
      return { path: '/v1/control/recover_snapshot', body: base };
    case 'SendSnapshot':
      return { path: '/v1/control/send_snapshot', body: { ...base, des: cmd.des } };
    case 'LoadTable':
      return { path: '/v1/control/change_role', body: { ...base, role: cmd.role, term: cmd.term } };
    case 'AddReplica':
      return { path: '/v1/control/add_replica', body: { ...base, follower: cmd.follower } };
    case 'DelReplica':
      return { path: '/v1/control/del_replica', body: { ...base, follower: cmd.follower } };
    case 'ChangeRole':
      return { path: '/v1/control/change_role', body: { ...base, role: cmd.role, term: cmd.term, followers: cmd.followers } };
    case 'FenceLeader':
      return { path: '/v1/control/fence_leader', body: { ...base, term: cmd.term } };
    case 'DropTable':
      return { path: '/v1/control/drop_replica', body: base };
    case 'MakeSnapshot':
      return { path: '/v1/control/make_snapshot', body: cmd.endOffset === null ? base : { ...base, endOffset: cmd.endOffset } };
    case 'CompareChecksum':
      return { path: '/v1/control/compare_checksum', body: { ...base, replica: cmd.replica, opId: cmd.opId } };
  }
}

/** The tablet route and body of a notice. */
function noticeRoute(n: TabletNotice): { path: string; body: Record<string, unknown> } {
  const { type, ...body } = n;
  return { path: type === 'SetInSync' ? '/v1/control/set_in_sync' : '/v1/control/change_role', body };
}

/** Answers that mean "already so": the command is idempotent, so they count as success. */
function alreadyDone(cmd: TabletCommand, err: TesseraError): boolean {
  return cmd.type === 'DropTable' && err.code === 'TABLE_NOT_FOUND';
}

/** Engine work per turn of the event loop before the rest of the queue yields to other work. */
const ENGINE_SLICE_MS = 20;

/** Finished ops kept in ZooKeeper for showopstatus across leader changes (OpenMLDB's max_op_num). */
const FINISHED_OPS_KEPT_MAX = 10_000;

type Pending = { resolve: (data: unknown) => void; reject: (err: unknown) => void };

export class OpShell {
  private engine: NameserverEngine;
  private readonly queue: EngineEvent[] = [];
  private processing = false;
  private readonly pending = new Map<number, Pending>();
  private nextRequestId = 1;
  private tickTimer: NodeJS.Timeout | undefined;
  private leading = false;
  private readonly opLog: OpLog;
  /** Current task of each running op when last looked at (the op log's cue to look again). */
  private readonly lastTask = new Map<number, string | null>();
  /** Fresh reports of the tablets a current check task waits on (report-chaser.ts). */
  private readonly chaser: ReportChaser;

  constructor(
    private readonly session: Coord,
    private readonly layout: ZkLayout,
    private readonly meta: MetadataStore,
    private readonly tablets: TabletTracker,
    private readonly poller: StatusPoller,
    private readonly control: TabletControl,
    private readonly random: Random,
    private readonly options: OpShellOptions,
    private readonly log: Logger,
  ) {
    this.engine = this.newEngine();
    this.opLog = new OpLog(log);
    this.chaser = new ReportChaser(async (ep) => {
      const replicas = await poller.pollOne(ep);
      if (replicas && this.leading && tablets.isHealthy(ep)) this.postReport(ep);
    });
    tablets.on('up', (t) => {
      this.post({ type: 'tabletUp', endpoint: t.endpoint, nowMs: this.nowMs(), startup: t.registration?.startup === true });
      // Its report at once (not at the next poll): a restarted tablet serves nothing until the
      // engine's role assignment has seen its unassigned replicas.
      if (this.leading) {
        void poller.pollOne(t.endpoint).then((replicas) => {
          if (replicas && this.leading && tablets.isHealthy(t.endpoint)) this.postReport(t.endpoint);
        });
      }
    });
    tablets.on('down', (t) => this.post({ type: 'tabletDown', endpoint: t.endpoint, nowMs: this.nowMs() }));
    poller.onPolled(() => {
      if (!this.leading) return;
      for (const ep of tablets.healthy()) {
        // No report yet since it came up: say nothing rather than "it holds no replica".
        if (poller.hasReport(ep)) this.postReport(ep);
      }
    });
  }

  /**
   * The tablet's report as the poller has it: the changes since the engine's last one, or
   * everything (status-poller.ts). Changes go in events of at most REPORT_EVENT_REPLICAS_MAX
   * replicas (the patrol carries every one: 8,000 judged in one engine step held the event loop
   * for most of a second), all but the last marked `more` so that no op takes the report as fresh
   * before the whole of it is in.
   */
  private postReport(endpoint: string): void {
    const r = this.poller.takeReport(endpoint);
    if (r === undefined) return;
    if (r.full) {
      this.post({ type: 'tabletReport', endpoint, replicas: r.replicas.map(toReport) });
      return;
    }
    const n = REPORT_EVENT_REPLICAS_MAX;
    for (let i = 0; i === 0 || i < r.replicas.length; i += n) {
      const more = i + n < r.replicas.length;
      this.post({ type: 'tabletReport', endpoint, replicas: r.replicas.slice(i, i + n).map(toReport), removed: i === 0 ? r.removed : [], ...(more ? { more } : {}) });
    }
  }

  private newEngine(): NameserverEngine {
    return new NameserverEngine({
      random: this.random,
      config: { taskConcurrency: this.options.taskConcurrency, syncDeltaEntriesMax: this.options.syncDeltaEntriesMax,
        ...(this.options.syncStallTimeoutMs === undefined ? {} : { syncStallTimeoutMs: this.options.syncStallTimeoutMs }),
        ...(this.options.tabletDownTaskGraceMs === undefined ? {} : { tabletDownTaskGraceMs: this.options.tabletDownTaskGraceMs, tabletHeartbeatTimeoutMs: this.options.tabletDownTaskGraceMs }),
        ...(this.options.inSyncLagEntriesMax === undefined ? {} : { inSyncLagEntriesMax: this.options.inSyncLagEntriesMax }),
        ...(this.options.inSyncSilentMsMax === undefined ? {} : { inSyncSilentMsMax: this.options.inSyncSilentMsMax }) },
    });
  }

  /** The engine, for read-only queries (showopstatus rows, ops). */
  get core(): NameserverEngine {
    return this.engine;
  }

  /** Takes over: reads every op from ZooKeeper and hands the engine the cluster as it is. */
  async becomeLeader(nsEpoch: number): Promise<void> {
    const ops: Op[] = [];
    await this.session.ensurePath(this.layout.opDataDir);
    for (const name of await this.session.children(this.layout.opDataDir)) {
      const id = Number(name);
      if (!Number.isSafeInteger(id)) continue;
      const node = await this.session.getJson<Op>(this.layout.opData(id));
      if (node) ops.push(node.value);
    }
    const kept = await this.trimFinishedOps(ops, FINISHED_OPS_KEPT_MAX);
    ops.length = 0;
    ops.push(...kept);
    const indexNode = await this.session.get(this.layout.opIndex);
    const opIndex = indexNode ? Number(indexNode.data.toString('utf8')) || 0 : 0;
    const settings = await readMoveLimits(this.session, this.layout);
    // Events of the leadership before (still queued behind a slice) go to the engine they were for.
    if (this.queue.length > 0) this.drain(Infinity);
    this.engine = this.newEngine();
    for (const op of ops) this.opLog.remember(op);
    this.leading = true;
    // The new engine has no report yet: each tablet's next one carries every replica.
    this.poller.wantFull();
    this.post({
      type: 'becameLeader', nsEpoch, nowMs: this.nowMs(), tables: this.meta.allTables(), ops, opIndex, settings,
      tablets: this.tablets.all().map((t) => ({ endpoint: t.endpoint, healthy: t.state === 'kTabletHealthy', sinceMs: t.sinceMs })),
    });
    this.tickTimer = setInterval(() => this.post({ type: 'tick', nowMs: this.nowMs() }), this.options.tickIntervalMs);
    this.tickTimer.unref();
    this.log.info(`op engine leading: ${ops.length} op(s) loaded from ZooKeeper`);
  }

  /** `confset` of an engine setting (move limits): applied by the leading engine at once. */
  settings(settings: EngineSettings): void {
    if (this.leading) this.post({ type: 'settingsChanged', ...settings });
  }

  lostLeadership(): void {
    this.leading = false;
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.chaser.stop();
    this.post({ type: 'lostLeadership' });
    for (const [, p] of this.pending) p.reject(new TesseraError('NS_NOT_LEADER', 'nameserver is not leader'));
    this.pending.clear();
  }

  /** Sends an admin command to the engine and resolves with its reply's data. */
  admin(command: AdminCommand): Promise<unknown> {
    const requestId = this.nextRequestId++;
    return new Promise((resolve, reject) => {
      this.pending.set(requestId, { resolve, reject });
      const issuedBy = issuerContext.getStore();
      this.post({ type: 'adminCommand', requestId, command, nowMs: this.nowMs(), ...(issuedBy === undefined ? {} : { issuedBy }) });
    });
  }

  /** setttl changed a table's schema: the engine records it (its copy, then ZooKeeper). */
  async schemaChanged(tid: number, schema: TableSchema): Promise<void> {
    await this.admin({ type: 'setschema', tid, schema });
  }

  /** The failover timer: the engine's failover checker runs with `/config/auto_failover` as read now. */
  failoverCheck(enabled: boolean): void {
    if (this.leading) this.post({ type: 'failoverCheck', nowMs: this.nowMs(), enabled });
  }

  /** Engine's view of a table (it may hold changes being written). */
  table(tid: number): TableInfo | undefined {
    return this.engine.table(tid);
  }

  // ---------------------------------------------------------------- the event loop

  /** The time every event is stamped with (the injected clock). */
  private nowMs(): number {
    return this.options.clock.nowMs();
  }

  private post(event: EngineEvent): void {
    this.queue.push(event);
    if (!this.processing) this.drain();
  }

  /**
   * Feeds queued events to the engine in order. After ENGINE_SLICE_MS of it, the rest waits for
   * the next turn of the event loop (setImmediate), so that timers, sockets and the ZooKeeper
   * client's pings are served between slices of a burst (thousands of write confirmations and
   * reports in a bulk failover) instead of starving behind it and losing the session.
   */
  private drain(sliceMs = ENGINE_SLICE_MS): void {
    this.processing = true;
    const sliceStartMs = performance.now();
    try {
      while (this.queue.length > 0) {
        if (performance.now() - sliceStartMs >= sliceMs) {
          setImmediate(() => this.drain());
          return;
        }
        const e = this.queue.shift()!;
        let effects: EngineEffect[];
        try {
          effects = this.engine.step(e);
        } catch (err) {
          this.log.error(`op engine failed on ${e.type}: ${(err as Error).stack ?? String(err)}`);
          continue;
        }
        for (const effect of effects) this.execute(effect);
      }
      if (this.leading) {
        this.logTaskChanges();
      }
      this.processing = false;
    } catch (err) {
      this.processing = false;
      throw err;
    }
  }

  /** Running ops whose current task changed since the last look go to the op log (task starts). */
  private logTaskChanges(): void {
    const running = new Set<number>();
    for (const s of this.engine.liveOpSummaries()) {
      if (s.status !== 'kDoing') continue;
      running.add(s.id);
      if (this.lastTask.get(s.id) === s.currentTask) continue;
      this.lastTask.set(s.id, s.currentTask);
      const op = this.engine.peekOp(s.id);
      if (op) this.opLog.observe(op);
    }
    for (const id of [...this.lastTask.keys()]) if (!running.has(id)) this.lastTask.delete(id);
  }

  private execute(effect: EngineEffect): void {
    switch (effect.kind) {
      case 'sendTask': {
        const { path, body } = route(effect.command);
        this.control.command(effect.endpoint, path, body).then(
          (detail) => this.post({ type: 'taskResult', opId: effect.opId, taskIndex: effect.taskIndex, ok: true, detail }),
          (err: TesseraError) => {
            if (alreadyDone(effect.command, err)) {
              this.post({ type: 'taskResult', opId: effect.opId, taskIndex: effect.taskIndex, ok: true });
              return;
            }
            this.log.debug(`op ${effect.opId} task ${effect.taskIndex} ${effect.command.type} on ${effect.endpoint}: ${err.message}`);
            this.post({ type: 'taskResult', opId: effect.opId, taskIndex: effect.taskIndex, ok: false, error: err.message, retryable: err.retryable === true, ...(typeof err.code === 'string' ? { code: err.code } : {}) });
          },
        );
        return;
      }
      case 'sendBatch': {
        const call = (endpoint: string, path: string, body: Record<string, unknown>) => this.control.command(endpoint, path, body);
        void sendControlBatch(call, effect.endpoint, effect.commands.map(route)).then((outcomes) => {
          const errors = outcomes.map((err, i) => (err === undefined || alreadyDone(effect.commands[i]!, err) ? undefined : err));
          const first = errors.find((err) => err !== undefined);
          if (first !== undefined) this.log.debug(`op ${effect.opId} batch of ${effect.commands.length} on ${effect.endpoint}: ${first.message}`);
          this.post({ type: 'batchResult', opId: effect.opId, batch: effect.batch, results: errors.map((err) =>
            err === undefined ? { ok: true } : { ok: false, error: err.message, retryable: err.retryable }) });
        });
        return;
      }
      case 'persistOp':
        this.opLog.observe(effect.op);
        this.confirmWrite(this.persistOp(effect.op, effect.opIndex), { kind: 'op', opId: effect.op.id }, `op ${effect.op.id}`);
        return;
      case 'deleteOp': {
        const op = this.engine.peekOp(effect.opId);
        if (op) this.opLog.observe(op);
        this.confirmWrite(this.deleteOrKeepOp(effect.opId), { kind: 'deleteOp', opId: effect.opId });
        return;
      }
      case 'notifyTablet': {
        const { path, body } = noticeRoute(effect.notice);
        this.control.command(effect.endpoint, path, body).catch((err: Error) => {
          this.log.warn(`${effect.notice.type} ${effect.notice.tid}_${effect.notice.pid} on ${effect.endpoint}: ${err.message}`);
        });
        return;
      }
      case 'requestReports':
        void this.poller.pollAfterCurrent();
        return;
      case 'chaseReports':
        if (this.leading || effect.endpoints.length === 0) this.chaser.chase(effect.endpoints, effect.intervalMs);
        return;
      case 'log':
        if (effect.level === 'warn') this.log.warn(effect.message);
        else this.log.info(effect.message);
        return;
      case 'persistTable':
        this.confirmWrite(this.meta.updateTable(effect.table), { kind: 'table', tid: effect.table.tid }, `table ${effect.table.tid}`);
        return;
      case 'reply': {
        const p = this.pending.get(effect.requestId as number);
        if (!p) return;
        this.pending.delete(effect.requestId as number);
        if (effect.ok) p.resolve(effect.data ?? {});
        else p.reject(new TesseraError(isErrorCode(effect.error.code) ? effect.error.code : 'INTERNAL', effect.error.message, effect.error.details));
        return;
      }
      case 'allocTableIds': {
        const { requestId } = effect;
        // Two counters, two znodes: asked together (one round trip of latency, not two).
        Promise.all([this.meta.allocTid(), this.meta.allocTerm()]).then(([tid, term]) => ({ tid, term })).then(
          ({ tid, term }) => this.post({ type: 'tableIdsAllocated', requestId, ok: true, tid, term }),
          (err) => this.post({ type: 'tableIdsAllocated', requestId, ok: false, error: replyErrorOf(err) }),
        );
        return;
      }
      case 'tableCall': {
        const { requestId, callIndex, call } = effect;
        const { type: _type, endpoint, ...body } = call;
        const done = call.type === 'CreateReplica'
          ? this.control.createReplica(endpoint, body as CreateReplicaCommand)
          : this.control.dropReplica(endpoint, call.tid, call.pid);
        done.then(
          () => this.post({ type: 'tableCallResult', requestId, callIndex, ok: true }),
          (err) => this.post({ type: 'tableCallResult', requestId, callIndex, ok: false, error: replyErrorOf(err) }),
        );
        return;
      }
      case 'writeTableNode':
      case 'deleteTableNode': {
        const { requestId } = effect;
        const write = effect.kind === 'writeTableNode' ? this.meta.addTable(effect.table) : this.meta.deleteTable(effect.tid);
        write.then(
          () => this.post({ type: 'tableNodeWritten', requestId, ok: true }),
          (err) => this.post({ type: 'tableNodeWritten', requestId, ok: false, error: replyErrorOf(err) }),
        );
        return;
      }
    }
  }

  /**
   * Feeds a ZooKeeper write's outcome back to the engine (`persisted`, ok or not: the engine
   * retries a failed write); a failed write of a named thing is logged.
   */
  private confirmWrite(write: Promise<unknown>, what: PersistTarget, name?: string): void {
    write.then(
      () => this.post({ type: 'persisted', what, ok: true }),
      (err) => {
        if (name !== undefined) this.log.warn(`writing ${name} failed: ${(err as Error).message}`);
        this.post({ type: 'persisted', what, ok: false });
      },
    );
  }

  /**
   * A finished op the engine still lists stays in ZooKeeper (as finished), so that showopstatus
   * lists it on the next leader too; one the engine dropped (deleteop, trimming) is deleted.
   */
  private async deleteOrKeepOp(opId: number): Promise<void> {
    const op = this.engine.op(opId);
    if (op && (op.status === 'kDone' || op.status === 'kCanceled' || op.status === 'kFailed')) {
      await this.session.createOrSet(this.layout.opData(opId), op);
      return;
    }
    await this.session.delete(this.layout.opData(opId));
  }

  /** Deletes the oldest finished ops beyond `keep` from ZooKeeper (at takeover). */
  private async trimFinishedOps(ops: Op[], keep: number): Promise<Op[]> {
    const finished = ops.filter((o) => o.status === 'kDone' || o.status === 'kCanceled' || o.status === 'kFailed').sort((a, b) => a.id - b.id);
    const drop = finished.slice(0, Math.max(0, finished.length - keep));
    for (const o of drop) await this.session.delete(this.layout.opData(o.id)).catch(() => undefined);
    const dropped = new Set(drop.map((o) => o.id));
    return ops.filter((o) => !dropped.has(o.id));
  }

  private async persistOp(op: Op, opIndex: number): Promise<void> {
    await this.session.createOrSet(this.layout.opData(op.id), op);
    const current = await this.session.get(this.layout.opIndex);
    const value = current ? Number(current.data.toString('utf8')) || 0 : 0;
    if (opIndex > value) await this.session.createOrSet(this.layout.opIndex, String(opIndex));
  }

  stop(): void {
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.chaser.stop();
  }
}

/** A failed call's code, text and details, as the engine hands them back to the caller. */
function replyErrorOf(err: unknown): ReplyError {
  if (err instanceof TesseraError) return { code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) };
  return { code: 'INTERNAL', message: (err as Error).message ?? String(err) };
}

/** A tablet's status as the engine reads it. */
function toReport(s: ReplicaStatus & { followers?: string[]; fenced?: boolean }): ReplicaReport {
  const r: ReplicaReport = { ...s };
  if (s.followers) r.followers = s.followers;
  if (s.fenced !== undefined) r.fenced = s.fenced;
  // A follower at or past this offset can catch up from the leader's binlog.
  if (s.binlogFirstOffset !== undefined) r.snapshotOffset = Math.max(0, s.binlogFirstOffset - 1);
  return r;
}
