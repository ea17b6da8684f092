/**
 * Test harness for the nameserver core: one engine wired to a fake cluster, a fake ZooKeeper
 * (tables, ops, op index) and a network of FIFO channels to the tablets, playing the server
 * shell's part. Effects are carried out as the shell would: ZooKeeper writes are applied in order
 * and confirmed with `persisted`; tablet commands travel to the fake tablets (optionally delayed,
 * failed or answered with a lost reply) and come back as `taskResult`; tablets report after each
 * command and on every tick. `killNameserver()` drops the engine mid-flight (pending writes are
 * applied or lost as a prefix, answers are lost, commands already on the wire still arrive) and
 * starts a new one from what ZooKeeper holds. Every line of what happened goes to `transcript`.
 */
import { currentTerm, isErrorCode } from '@tessera/common';
import type { Endpoint, TableInfo, TableSchema } from '@tessera/common';
import {
  BULK_TID,
  PARENT_TID,
  NameserverEngine,
  heldKeys,
  cloneJson,
  placePartitions,
  partitionKey,
  randomInt,
  seededRandom,
  type AdminCommand,
  type EngineConfig,
  type EngineEffect,
  type EngineEvent,
  type Op,
  type Random,
  type RequestId,
  type TabletCommand,
  type TabletNotice,
} from '../src/core/index.js';
import { FakeCluster, type CommandResult } from './core-fake-cluster.js';

type SendTask = Extract<EngineEffect, { kind: 'sendTask' | 'sendBatch' }>;
type Reply = Extract<EngineEffect, { kind: 'reply' }>;
type Write = Extract<EngineEffect, { kind: 'persistOp' | 'persistTable' | 'deleteOp' }>;

/** What the network and the tablet do with one command. */
export type CommandFault =
  | 'deliver'
  /** The tablet refuses before doing anything. */
  | 'failBefore'
  /** The tablet does it, but the answer says it failed (a lost or garbled reply). */
  | 'failAfter'
  /** The tablet does it and the answer is lost: the engine must re-send or time out. */
  | 'dropReply';

export interface HarnessFaults {
  /** Decides the fate of each command as it is delivered. */
  command?: (endpoint: Endpoint, command: TabletCommand) => CommandFault;
  /** Whether a failure injected by `command` is marked retryable. */
  retryable?: () => boolean;
  /** True = this ZooKeeper write fails (not applied, answered ok:false). */
  write?: (effect: Write) => boolean;
  /** Extra delay in ms for a command on the wire (FIFO per tablet is kept). */
  delayMs?: () => number;
  /** True = this notice (set_in_sync, a role assignment) is lost on the way. */
  notice?: (endpoint: Endpoint, notice: TabletNotice) => boolean;
}

interface WireMessage {
  effect: SendTask;
  engineGeneration: number;
  dueMs: number;
}

export interface HarnessOptions {
  tablets: Endpoint[];
  config?: ConstructorParameters<typeof NameserverEngine>[0]['config'];
  seed?: number;
  /** Start time, epoch ms. */
  startMs?: number;
  /** ZooKeeper writes are applied when the harness gets to them rather than at once (so a kill can lose them). */
  asyncWrites?: boolean;
  /** `/config/auto_failover`: every tick also feeds a failoverCheck carrying it. */
  autoFailover?: boolean;
}

export const TEST_CONFIG: Partial<Omit<EngineConfig, 'taskTimeoutMs'>> = {
  taskConcurrency: 2,
  syncDeltaEntriesMax: 2,
  taskResendIntervalMs: 1_000,
  persistRetryIntervalMs: 200,
  tabletDownTaskGraceMs: 3_000,
  reportWaitMs: 500,
  catchUpTimeoutMs: 5_000,
  repairBackoffMs: 1_000,
};

export class Harness {
  readonly cluster: FakeCluster;
  readonly zk = { tables: new Map<number, TableInfo>(), ops: new Map<number, Op>(), opIndex: 0 };
  readonly transcript: string[] = [];
  readonly replies = new Map<RequestId, Reply>();
  readonly random: Random;
  faults: HarnessFaults = {};
  engine!: NameserverEngine;
  nowMs: number;
  epoch = 0;
  /** Bumped on every kill: answers for an older generation are lost. */
  generation = 0;
  /** ZooKeeper writes applied so far. */
  writesApplied = 0;
  /** Acknowledged writes per partition: term of the entry at each offset − 1. */
  readonly acked = new Map<string, number[]>();
  private readonly inbox: EngineEvent[] = [];
  private readonly writes: Write[] = [];
  private wire: WireMessage[] = [];
  private nextRequestId = 1;
  private tid = 0;
  private options: HarnessOptions;
  /** The tablets the engine last asked to chase reports of (`chaseReports`). */
  chased: string[] = [];
  /** Called after every engine step with the effects it produced (simulation checks). */
  onStep: ((effects: EngineEffect[]) => void) | undefined;

  constructor(options: HarnessOptions) {
    this.options = options;
    this.cluster = new FakeCluster(options.tablets);
    this.random = seededRandom(options.seed ?? 1);
    this.nowMs = options.startMs ?? Date.UTC(2024, 0, 2, 3, 4, 5);
    this.startNameserver();
  }

  // --- nameserver lifecycle ---------------------------------------------------------------

  private startNameserver(): void {
    this.epoch += 1;
    this.engine = new NameserverEngine({ random: seededRandom(this.epoch * 7919 + (this.options.seed ?? 1)), config: { ...TEST_CONFIG, ...this.options.config } });
    this.log(`ns leader epoch=${this.epoch}`);
    this.feed({
      type: 'becameLeader',
      nsEpoch: this.epoch,
      nowMs: this.nowMs,
      tables: [...this.zk.tables.values()].map(cloneJson),
      ops: [...this.zk.ops.values()].map(cloneJson),
      tablets: [...this.cluster.tablets.values()].map((t) => ({ endpoint: t.endpoint, healthy: t.up, sinceMs: this.nowMs })),
      opIndex: this.zk.opIndex,
    });
    this.reportAll();
  }

  /** The nameserver dies: a prefix of its pending ZooKeeper writes lands, its answers are lost; a new one takes over. */
  killNameserver(landedWrites?: number): void {
    const landed = Math.min(landedWrites ?? randomInt(this.random, this.writes.length + 1), this.writes.length);
    for (const w of this.writes.splice(0).slice(0, landed)) this.applyWrite(w);
    this.inbox.length = 0;
    this.generation += 1;
    this.log(`ns killed (${landed} pending writes landed)`);
    this.startNameserver();
  }

  // --- feeding the engine -----------------------------------------------------------------

  feed(event: EngineEvent): void {
    const effects = this.engine.step(event);
    for (const e of effects) this.carryOut(e);
    this.onStep?.(effects);
  }

  private carryOut(e: EngineEffect): void {
    switch (e.kind) {
      case 'sendBatch':
        this.log(`send op=${e.opId} batch=${e.batch} ${e.endpoint} ${e.commands.map(describeCommand).join('; ')}`);
        this.wire.push({ effect: e, engineGeneration: this.generation, dueMs: this.nowMs + (this.faults.delayMs?.() ?? 0) });
        return;
      case 'sendTask':
        this.log(`send op=${e.opId}#${e.taskIndex} ${e.endpoint} ${describeCommand(e.command)}`);
        this.wire.push({ effect: e, engineGeneration: this.generation, dueMs: this.nowMs + (this.faults.delayMs?.() ?? 0) });
        return;
      case 'reply':
        this.log(e.ok ? `reply ${e.requestId} ok: ${e.message}` : `reply ${e.requestId} ${e.error.code}: ${e.error.message}`);
        this.replies.set(e.requestId, e);
        return;
      case 'notifyTablet': {
        const dropped = this.faults.notice?.(e.endpoint, e.notice) === true;
        const res = dropped ? { ok: false, error: 'INJECTED: lost' } : this.cluster.notify(e.endpoint, e.nsEpoch, e.notice);
        this.log(`notify ${e.endpoint} ${JSON.stringify(e.notice)}${res.ok ? '' : ` FAILED ${res.error}`}`);
        return;
      }
      case 'chaseReports':
        this.chased = e.endpoints;
        this.log(`chase reports of [${e.endpoints.join(',')}] every ${e.intervalMs} ms`);
        return;
      case 'requestReports':
        this.log('reports requested');
        for (const t of this.cluster.tablets.values()) this.report(t.endpoint);
        return;
      case 'log':
        this.log(`ns ${e.level}: ${e.message}`);
        return;
      case 'persistOp':
      case 'persistTable':
      case 'deleteOp':
        if (this.options.asyncWrites === true) this.writes.push(e);
        else this.completeWrite(e);
        return;
      case 'allocTableIds':
        this.tid += 1;
        this.log(`alloc tid=${this.tid} term=1`);
        this.inbox.push({ type: 'tableIdsAllocated', requestId: e.requestId, ok: true, tid: this.tid, term: 1 });
        return;
      case 'tableCall': {
        const res = this.cluster.replicaCall(e.nsEpoch, e.call);
        this.log(`table call ${e.call.type} ${e.call.tid}_${e.call.pid} on ${e.call.endpoint}${res.ok ? '' : ` FAILED ${res.error}`}`);
        const code = (res.error ?? '').split(':')[0]!;
        const error = res.ok ? {} : { error: { code: isErrorCode(code) ? code : 'INTERNAL', message: res.error ?? 'failed' } };
        this.inbox.push({ type: 'tableCallResult', requestId: e.requestId, callIndex: e.callIndex, ok: res.ok, ...error });
        return;
      }
      case 'writeTableNode':
        this.zk.tables.set(e.table.tid, cloneJson(e.table));
        this.log(`create table node tid=${e.table.tid}`);
        this.inbox.push({ type: 'tableNodeWritten', requestId: e.requestId, ok: true });
        return;
      case 'deleteTableNode':
        this.zk.tables.delete(e.tid);
        this.log(`delete table node tid=${e.tid}`);
        this.inbox.push({ type: 'tableNodeWritten', requestId: e.requestId, ok: true });
        return;
    }
  }

  private applyWrite(w: Write): void {
    this.writesApplied += 1;
    // Effects carry private copies already: the engine never touches them again.
    if (w.kind === 'persistOp') {
      this.zk.ops.set(w.op.id, w.op);
      this.zk.opIndex = Math.max(this.zk.opIndex, w.opIndex);
    } else if (w.kind === 'deleteOp') {
      this.zk.ops.delete(w.opId);
    } else {
      this.zk.tables.set(w.table.tid, w.table);
    }
  }

  private completeWrite(w: Write): void {
    const failed = this.faults.write?.(w) === true;
    if (!failed) this.applyWrite(w);
    const what = w.kind === 'persistOp' ? { kind: 'op' as const, opId: w.op.id } : w.kind === 'deleteOp' ? { kind: 'deleteOp' as const, opId: w.opId } : { kind: 'table' as const, tid: w.table.tid };
    if (w.kind === 'persistOp') this.log(`write op=${w.op.id} ${w.op.status} task=${w.op.taskIndex}${failed ? ' FAILED' : ''}`);
    else if (w.kind === 'deleteOp') this.log(`delete op=${w.opId}${failed ? ' FAILED' : ''}`);
    else this.log(`write table=${w.table.tid}${failed ? ' FAILED' : ''}`);
    this.inbox.push({ type: 'persisted', what, ok: !failed });
  }

  /** One command on its tablet, through the faults; whether the answer reaches the engine. */
  private executeOne(endpoint: Endpoint, nsEpoch: number, command: TabletCommand): { result: CommandResult; dropped: boolean } {
    const fault = this.faults.command?.(endpoint, command) ?? 'deliver';
    let result: CommandResult;
    if (fault === 'failBefore') {
      result = { ok: false, error: 'INJECTED: refused', retryable: this.faults.retryable?.() ?? false };
    } else {
      result = this.cluster.execute(endpoint, nsEpoch, command);
      if (fault === 'failAfter' && result.ok) result = { ok: false, error: 'INJECTED: reply lost after success', retryable: this.faults.retryable?.() ?? false };
    }
    this.log(`  ${endpoint} ${command.type} -> ${result.ok ? 'ok' : result.error}${fault === 'dropReply' ? ' (reply dropped)' : ''}`);
    return { result, dropped: fault === 'dropReply' };
  }

  private deliver(m: WireMessage): void {
    const { effect } = m;
    if (effect.kind === 'sendBatch') {
      // A batch answers as one request: a dropped answer of any command loses the whole answer.
      const outcomes = effect.commands.map((c) => this.executeOne(effect.endpoint, effect.nsEpoch, c));
      if (m.engineGeneration === this.generation && !outcomes.some((o) => o.dropped)) {
        this.inbox.push({ type: 'batchResult', opId: effect.opId, batch: effect.batch, results: outcomes.map(({ result }) => (result.ok ? { ok: true } : { ok: false, error: result.error ?? 'failed', ...(result.retryable === true ? { retryable: true } : {}) })) });
      }
      this.report(effect.endpoint);
      return;
    }
    const fault = this.faults.command?.(effect.endpoint, effect.command) ?? 'deliver';
    let result: CommandResult;
    if (fault === 'failBefore') {
      result = { ok: false, error: 'INJECTED: refused', retryable: this.faults.retryable?.() ?? false };
    } else {
      result = this.cluster.execute(effect.endpoint, effect.nsEpoch, effect.command);
      if (fault === 'failAfter' && result.ok) result = { ok: false, error: 'INJECTED: reply lost after success', retryable: this.faults.retryable?.() ?? false };
    }
    this.log(`  ${effect.endpoint} ${effect.command.type} -> ${result.ok ? 'ok' : result.error}${fault === 'dropReply' ? ' (reply dropped)' : ''}`);
    if (m.engineGeneration === this.generation && fault !== 'dropReply') {
      const ev: EngineEvent = { type: 'taskResult', opId: effect.opId, taskIndex: effect.taskIndex, ok: result.ok };
      if (result.detail !== undefined) ev.detail = result.detail;
      if (!result.ok) {
        ev.error = result.error ?? 'failed';
        if (result.retryable === true) ev.retryable = true;
      }
      this.inbox.push(ev);
    }
    this.report(effect.endpoint);
    if (effect.command.type === 'SendSnapshot') this.report(effect.command.des);
  }

  /** Feeds every queued event and delivers every due command, until nothing is left. */
  settle(iterationsMax = 100_000): void {
    this.settleUntil(() => false, iterationsMax);
  }

  /** Like settle, but stops as soon as `done()` holds after a step; returns whether it did. */
  settleUntil(done: () => boolean, iterationsMax = 100_000): boolean {
    for (let i = 0; i < iterationsMax; i++) {
      if (done()) return true;
      const event = this.inbox.shift();
      if (event !== undefined) {
        this.feed(event);
        continue;
      }
      if (this.writes.length > 0) {
        this.completeWrite(this.writes.shift()!);
        continue;
      }
      const index = this.nextDeliverable();
      if (index >= 0) {
        const [m] = this.wire.splice(index, 1);
        this.deliver(m!);
        continue;
      }
      return done();
    }
    throw new Error(`harness did not settle after ${iterationsMax} iterations`);
  }

  /** Index of the oldest due message at the head of its tablet's FIFO channel, or -1. */
  private nextDeliverable(): number {
    const blocked = new Set<Endpoint>();
    for (let i = 0; i < this.wire.length; i++) {
      const m = this.wire[i]!;
      if (blocked.has(m.effect.endpoint)) continue;
      if (m.dueMs <= this.nowMs) return i;
      blocked.add(m.effect.endpoint);
    }
    return -1;
  }

  /** `/config/auto_failover` from now on (the next ticks' failoverCheck carries it). */
  setAutoFailover(enabled: boolean): void {
    this.options.autoFailover = enabled;
  }

  /** Time passes: replication round, fresh reports, a tick, then settle. */
  tick(ms = 100): void {
    this.nowMs += ms;
    this.cluster.replicate();
    this.reportAll();
    this.feed({ type: 'tick', nowMs: this.nowMs });
    if (this.options.autoFailover !== undefined) this.feed({ type: 'failoverCheck', nowMs: this.nowMs, enabled: this.options.autoFailover });
    this.settle();
  }

  report(endpoint: Endpoint): void {
    const t = this.cluster.tablets.get(endpoint);
    if (t === undefined || !t.up) return;
    t.observeEpoch(this.epoch);
    this.inbox.push({ type: 'tabletReport', endpoint, replicas: this.cluster.report(endpoint, this.nowMs) });
  }

  reportAll(): void {
    for (const t of this.cluster.tablets.values()) this.report(t.endpoint);
    this.settle();
  }

  // --- cluster operations -----------------------------------------------------------------

  /**
   * Creates a table through the engine's createtable (table-jobs.ts), placed by the harness's own
   * seeded placement (given as an explicit placement, so that a seed lays tables out as before).
   */
  createTable(name: string, partitionNum: number, replicaNum: number, db = 'demo_db'): TableInfo {
    const healthy = [...this.cluster.tablets.values()].filter((t) => t.up).map((t) => t.endpoint);
    const placed = placePartitions({ partitionNum, replicaNum, healthyEndpoints: healthy, term: 1, random: this.random, load: undefined });
    const partitions = placed.map((p) => ({ pid: p.pid, leader: p.replicas[0]!.endpoint, followers: p.replicas.slice(1).map((r) => r.endpoint) }));
    const schema: TableSchema = { name, db, columns: [{ name: 'k', type: 'string' }, { name: 'v', type: 'int64' }], indexes: [{ name: 'k', keys: ['k'], ttl: { type: 'absolute', absMinutes: 0, latest: 0 } }] };
    // A request id of its own, so that the tests' admin request ids stay 1, 2, ...
    const requestId = `createtable ${db}.${name}`;
    this.feed({ type: 'adminCommand', requestId, command: { type: 'createtable', request: { schema, partitionNum, replicaNum, replicaAck: 'leader', partitions }, dbExists: true, defaults: { partitionNum, replicaNum } }, nowMs: this.nowMs });
    this.settle();
    const reply = this.replies.get(requestId);
    if (reply === undefined || !reply.ok) throw new Error(`createtable ${name}: ${reply === undefined ? 'no reply' : `${reply.error.code} ${reply.error.message}`}`);
    const table = this.engine.table((reply.data as { tid: number }).tid)!;
    this.reportAll();
    return table;
  }

  /** Sends an admin command; returns its request id (the reply lands in `replies`). */
  admin(command: AdminCommand, settle = true): RequestId {
    const requestId = this.nextRequestId++;
    this.log(`admin ${requestId} ${JSON.stringify(command)}`);
    this.feed({ type: 'adminCommand', requestId, command, nowMs: this.nowMs });
    if (settle) this.settle();
    return requestId;
  }

  /** Sends an admin command and returns its reply once given (settling and ticking as needed). */
  adminReply(command: AdminCommand, ticksMax = 50): Reply {
    const id = this.admin(command);
    for (let i = 0; i < ticksMax && !this.replies.has(id); i++) this.tick();
    const reply = this.replies.get(id);
    if (reply === undefined) throw new Error(`no reply to ${JSON.stringify(command)}`);
    return reply;
  }

  tabletDown(endpoint: Endpoint): void {
    this.log(`tablet ${endpoint} down`);
    this.cluster.tablet(endpoint).up = false;
    // Commands on the way to a dead tablet fail with a connection error.
    for (const m of this.wire.filter((x) => x.effect.endpoint === endpoint)) {
      if (m.engineGeneration !== this.generation) continue;
      const refused = { ok: false, error: 'UNAVAILABLE: connection refused', retryable: true };
      if (m.effect.kind === 'sendBatch') this.inbox.push({ type: 'batchResult', opId: m.effect.opId, batch: m.effect.batch, results: m.effect.commands.map(() => refused) });
      else this.inbox.push({ type: 'taskResult', opId: m.effect.opId, taskIndex: m.effect.taskIndex, ...refused });
    }
    this.wire = this.wire.filter((x) => x.effect.endpoint !== endpoint);
    this.feed({ type: 'tabletDown', endpoint, nowMs: this.nowMs });
    this.settle();
  }

  tabletUp(endpoint: Endpoint, restarted: boolean): void {
    this.log(`tablet ${endpoint} up${restarted ? ' (restarted)' : ''}`);
    const t = this.cluster.tablet(endpoint);
    if (restarted) t.restart();
    t.up = true;
    this.feed({ type: 'tabletUp', endpoint, nowMs: this.nowMs, startup: restarted });
    this.settle();
    this.reportAll();
  }

  /** Client writes to a partition, routed by the metadata in ZooKeeper; returns acknowledged offsets. */
  write(tid: number, pid: number, count = 1): number[] {
    const table = this.zk.tables.get(tid)!;
    const p = table.partitions.find((x) => x.pid === pid)!;
    const leader = p.replicas.find((r) => r.isLeader && r.isAlive)?.endpoint;
    const acked: number[] = [];
    for (let i = 0; i < count; i++) {
      const offset = this.cluster.write(tid, p, leader);
      if (offset === undefined) continue;
      acked.push(offset);
      const terms = this.acked.get(partitionKey(tid, pid)) ?? [];
      terms[offset - 1] = this.cluster.tablet(leader!).replica(tid, pid)!.log[offset - 1]!;
      this.acked.set(partitionKey(tid, pid), terms);
    }
    return acked;
  }

  /** Ticks until every op is finished (or the bound is hit); returns the ticks used. */
  runUntilIdle(ticksMax = 2_000, tickMs = 100): number {
    for (let i = 0; i < ticksMax; i++) {
      if (this.engine.opSummaries().every((o) => o.status === 'kDone' || o.status === 'kFailed' || o.status === 'kCanceled')) return i;
      this.tick(tickMs);
    }
    const stuck = this.engine.opSummaries().filter((o) => o.status === 'kInited' || o.status === 'kDoing');
    throw new Error(`ops still running after ${ticksMax} ticks: ${stuck.map((o) => `${o.id}:${o.type}@${o.currentTask ?? '-'}`).join(', ')}`);
  }

  /** Lets replication catch up. */
  replicateFully(rounds = 50): void {
    for (let i = 0; i < rounds; i++) this.cluster.replicate();
  }

  /** Commands sent so far, as `endpoint Type`, in order. */
  sentCommands(): string[] {
    return this.transcript.filter((l) => l.startsWith('send ')).map((l) => l.replace(/^send op=\d+#\d+ /, '').replace(/ \{.*$/, ''));
  }

  log(line: string): void {
    this.transcript.push(line);
  }

  partition(tid: number, pid: number) {
    return this.zk.tables.get(tid)!.partitions.find((p) => p.pid === pid)!;
  }

  /** `endpoint:L` / `endpoint:F` (`-dead` when not alive) per replica in metadata, sorted. */
  layout(tid: number, pid: number): string[] {
    return this.partition(tid, pid).replicas.map((r) => `${r.endpoint}:${r.isLeader ? 'L' : 'F'}${r.isAlive ? '' : '-dead'}`).sort();
  }

  term(tid: number, pid: number): number {
    return currentTerm(this.partition(tid, pid));
  }
}

/** A table of a written cluster: its name, partitions, replicas and the rows written to each partition. */
export interface WrittenTable {
  name: string;
  partitions: number;
  replicas: number;
  rows: number;
}

/**
 * The start most transcript tests share: a harness holding `tables` (created in order, so tids
 * 1, 2, ...), each partition written `rows` rows, everything replicated.
 */
export function writtenCluster(options: HarnessOptions, tables: WrittenTable[]): Harness {
  const h = new Harness(options);
  const tids = tables.map((x) => h.createTable(x.name, x.partitions, x.replicas).tid);
  tables.forEach((x, i) => {
    for (let pid = 0; pid < x.partitions; pid++) h.write(tids[i]!, pid, x.rows);
  });
  h.replicateFully();
  return h;
}

/** The partition's leader marked alive in metadata, if any. */
export function aliveLeaderOf(h: Harness, tid: number, pid: number): Endpoint | undefined {
  return h.partition(tid, pid).replicas.find((r) => r.isLeader && r.isAlive)?.endpoint;
}

/** The ops after `fromId`, as `id:type:status`. */
export function opTypes(h: Harness, fromId = 0): string[] {
  return h.engine.ops().filter((o) => o.id > fromId).map((o) => `${o.id}:${o.type}:${o.status}`);
}

export function describeCommand(c: TabletCommand): string {
  const { type, tid: _tid, pid: _pid, ...rest } = c;
  void _tid;
  void _pid;
  return Object.keys(rest).length === 0 ? type : `${type} ${JSON.stringify(rest)}`;
}

export interface InvariantOptions {
  /** Every replica in metadata must be alive (no tablet was lost). */
  allAlive: boolean;
}

/**
 * What must hold between metadata (in ZooKeeper), the engine's ops and the fake cluster. Partitions
 * with a running op are only checked for what holds at every instant; the others must match the
 * cluster exactly. Returns one line per violation.
 */
export function invariantViolations(h: Harness, options: InvariantOptions): string[] {
  const out: string[] = [];
  const ops = h.engine.opSummaries();
  // A parent op (a scale-in) holds no partition and is not counted against the concurrency; nor is a bulk failover op (schedule.ts).
  const running = ops.filter((o) => o.status === 'kDoing' && o.tid !== PARENT_TID);
  const counted = running.filter((o) => o.tid !== BULK_TID);
  if (counted.length > h.engine.config.taskConcurrency) out.push(`${counted.length} ops running besides bulk failovers, concurrency is ${h.engine.config.taskConcurrency}`);
  const busy = new Set<string>();
  for (const summary of running) {
    const op = h.engine.op(summary.id);
    for (const key of op === undefined ? [partitionKey(summary.tid, summary.pid)] : heldKeys(op)) {
      if (busy.has(key)) out.push(`two ops running on ${key}`);
      busy.add(key);
    }
  }
  for (const table of h.zk.tables.values()) {
    for (const p of table.partitions) {
      const where = `${table.schema.name}(${table.tid})/${p.pid}`;
      for (let i = 1; i < p.termOffsets.length; i++) {
        const a = p.termOffsets[i - 1]!;
        const b = p.termOffsets[i]!;
        if (b.term <= a.term || b.offset < a.offset) out.push(`${where}: term history not increasing ${JSON.stringify(p.termOffsets)}`);
      }
      if (p.replicas.filter((r) => r.isLeader && r.isAlive).length > 1) out.push(`${where}: several alive replicas flagged leader`);
      const aliveFollowerSet = new Set(p.replicas.filter((r) => !r.isLeader && r.isAlive).map((r) => r.endpoint));
      for (const e of p.inSync) if (!aliveFollowerSet.has(e)) out.push(`${where}: in-sync ${e} is not an alive follower`);
      // Never two serving leaders of one partition at one term (a term has one leader).
      const byTerm = new Map<number, string[]>();
      for (const tablet of h.cluster.tablets.values()) {
        const r = tablet.replica(table.tid, p.pid);
        if (!tablet.up || r === undefined || r.role !== 'leader' || r.state === 'unassigned') continue;
        byTerm.set(r.term, [...(byTerm.get(r.term) ?? []), tablet.endpoint]);
      }
      for (const [t, eps] of byTerm) if (eps.length > 1) out.push(`${where}: ${eps.length} leaders at term ${t}: ${eps.join(',')}`);
      if (busy.has(partitionKey(table.tid, p.pid))) continue;

      const leaders = p.replicas.filter((r) => r.isLeader && r.isAlive);
      // No leader is right only while no replica is alive (the failover had no candidate: `leader no`).
      if (leaders.length > 1 || (leaders.length === 0 && p.replicas.some((r) => r.isAlive))) out.push(`${where}: ${leaders.length} alive leaders in metadata`);
      if (options.allAlive && p.replicas.some((r) => !r.isAlive)) out.push(`${where}: replica not alive in metadata: ${h.layout(table.tid, p.pid).join(' ')}`);
      const term = currentTerm(p);
      for (const meta of p.replicas) {
        const tablet = h.cluster.tablets.get(meta.endpoint);
        if (!meta.isAlive || tablet === undefined || !tablet.up) continue;
        const r = tablet.replica(table.tid, p.pid);
        if (r === undefined) {
          out.push(`${where}: ${meta.endpoint} in metadata but holds no replica`);
          continue;
        }
        if (r.role === 'none') continue; // restarted, waits for recovery
        const role = meta.isLeader ? 'leader' : 'follower';
        if (r.role !== role) out.push(`${where}: ${meta.endpoint} is ${r.role} on the tablet, ${role} in metadata`);
        if (r.state !== 'normal') out.push(`${where}: ${meta.endpoint} is ${r.state}`);
        if (meta.isLeader) {
          if (r.term !== term) out.push(`${where}: leader ${meta.endpoint} at term ${r.term}, metadata term ${term}`);
          if (r.fenced) out.push(`${where}: leader ${meta.endpoint} left fenced`);
          // Every alive follower, nothing outside the partition (a member marked not alive may be either way).
          const members = new Set(p.replicas.map((m) => m.endpoint));
          const complete = [...aliveFollowerSet].every((e) => r.followers.has(e)) && [...r.followers].every((e) => members.has(e));
          if (!complete) out.push(`${where}: leader replicates to [${[...r.followers].sort().join(',')}], metadata followers [${[...aliveFollowerSet].sort().join(',')}]`);
        }
      }
      const leaderMeta = leaders[0];
      const leaderReplica = leaderMeta === undefined ? undefined : h.cluster.tablets.get(leaderMeta.endpoint)?.replica(table.tid, p.pid);
      for (const tablet of h.cluster.tablets.values()) {
        if (!tablet.up) continue;
        const r = tablet.replica(table.tid, p.pid);
        if (r === undefined || r.role === 'none') continue;
        if (!p.replicas.some((m) => m.endpoint === tablet.endpoint)) out.push(`${where}: ${tablet.endpoint} holds a loaded ${r.role} unknown to metadata`);
        if (r.state === 'snapshotPaused') out.push(`${where}: ${tablet.endpoint} left snapshot-paused`);
        const aliveInMeta = p.replicas.some((m) => m.endpoint === tablet.endpoint && m.isAlive);
        if (aliveInMeta && leaderReplica !== undefined && r !== leaderReplica && r.log.some((t, i) => leaderReplica.log[i] !== undefined && leaderReplica.log[i] !== t)) {
          out.push(`${where}: ${tablet.endpoint} log diverges from the leader's`);
        }
      }
      const acked = h.acked.get(partitionKey(table.tid, p.pid)) ?? [];
      if (leaderReplica !== undefined && leaderReplica.role !== 'none') {
        const lost = acked.findIndex((t, i) => t !== undefined && leaderReplica.log[i] !== t);
        if (lost >= 0) out.push(`${where}: acknowledged write at offset ${lost + 1} lost (leader ${leaderMeta!.endpoint} has ${leaderReplica.log.length} entries)`);
      }
    }
  }
  return out;
}

/**
 * Three tablets holding `flow` (2 partitions x 3 replicas) with a few writes, and a fresh fourth
 * tablet (ep4) to move onto; `leader` leads pid 0 and `src` is one of its followers.
 */
export function scaleOutCluster(options: { asyncWrites?: boolean; config?: ConstructorParameters<typeof Harness>[0]['config']; seed?: number; autoFailover?: boolean } = {}): { h: Harness; leader: string; src: string } {
  const h = new Harness({ tablets: ['ep1', 'ep2', 'ep3'], seed: options.seed ?? 3, asyncWrites: options.asyncWrites ?? false, config: options.config, ...(options.autoFailover === undefined ? {} : { autoFailover: options.autoFailover }) });
  h.createTable('flow', 2, 3);
  h.cluster.addTablet('ep4');
  h.tabletUp('ep4', true);
  h.write(1, 0, 5);
  h.write(1, 1, 3);
  h.replicateFully();
  const p0 = h.partition(1, 0);
  const leader = p0.replicas.find((r) => r.isLeader)!.endpoint;
  const src = p0.replicas.find((r) => !r.isLeader)!.endpoint;
  return { h, leader, src };
}
