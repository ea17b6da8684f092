/**
 * The failover of a lost tablet in bulk (issue 16): one op, kFailoverEndpointOP, for every replica
 * the tablet held alive, instead of one kChangeLeaderOP / kOfflineReplicaOP per partition, each
 * waiting for its own status report behind `taskConcurrency`. The op runs four phases over all its
 * partitions at once, and is written (and confirmed) between two phases:
 *   fence    every healthy alive follower of a partition the tablet led is told a new term (as
 *            kChangeLeaderOP's kChangeRole steps)
 *   select   one wait for reports made after the fences, then per partition the same selection
 *            as kSelectLeader (tasks.ts): only from the recorded in-sync set, highest offset
 *   promote  the commit point: each chosen follower leads at the new term (kChangeLeader); the
 *            leader of a partition the tablet only followed stops replicating to it (kDelReplica)
 *   record   the metadata of every partition (kUpdateLeaderInfo / kUpdatePartitionStatus), one
 *            ZooKeeper write per table
 * Tablet commands go as one batch per tablet and phase (`sendBatch`, the tablet's
 * /v1/control/batch), at most BULK_BATCH_COMMANDS_MAX commands each. A partition whose step fails
 * is left out (`failed`, its metadata untouched): the failover monitor, level-triggered, plans it
 * again. The op holds every partition it lists (heldPartitionKeys), so no other op is created on
 * them while it runs. Before the promote phase a cancel ends it with nothing to undo (the fences,
 * like kChangeLeaderOP's, have no undo); from then on it only goes forward, and a promote or
 * DelReplica that fails is undone for its partition (the candidate told to follow at the reserved
 * restore term; the leader told to replicate to the follower again, as kDelReplica's undo).
 * Pure: the engine hands it a host; no I/O, no clock.
 */
import type { Endpoint, PartitionMeta, TableInfo, Tid } from '@tessera/common';
import type { AdminView, OpRequest } from './admin.js';
import type { EngineConfig } from './config.js';
import type { EngineEffect } from './events.js';
import type { ObservedView } from './observed.js';
import {
  BULK_PHASES, BULK_PID, BULK_TID, newTask, partitionKey,
  type BulkFailoverData, type BulkPart, type BulkPhase, type Op, type OpStatus, type TabletCommand, type TaskOf,
} from './op.js';
import { aliveLeader, partitionOf, replicaOn, withReplica } from './partition.js';
import { planOp } from './plan.js';
import type { Random } from './random.js';
import { TASK_SPECS, type TaskContext } from './tasks.js';

/**
 * Partitions in one bulk op: its record (~500 bytes a partition it elects for) stays well under
 * ZooKeeper's 1 MB node limit (COORD_LIMITS.nodeDataBytesMax). A tablet holding more is failed
 * over by several ops, each for whole tables, run side by side.
 */
export const BULK_PARTS_MAX = 1000;

/** Commands in one batch to one tablet (a bigger phase sends several). */
export const BULK_BATCH_COMMANDS_MAX = 512; // ≤ LIMITS.controlBatchCommandsMax (control-batch.ts would split a bigger one)

export function isBulkOp(op: Op): boolean {
  return op.tid === BULK_TID;
}

export function bulkData(op: Op): BulkFailoverData {
  if (op.data.kind !== 'bulkFailover') throw new Error(`op ${op.id} (${op.type}) has no bulk failover data`);
  return op.data;
}

/**
 * The bulk failover of `endpoint`, planned as offlineendpoint plans its ops (admin.ts planOffline):
 * per partition with an alive replica on it and no unfinished op — its only replica → marked not
 * alive; its leader (or no alive leader) → a new leader (kChangeLeaderOP's plan, request
 * `offline`); a follower with an alive leader on a healthy tablet → offline. Where no leader can be
 * chosen the replica is only marked not alive. One op for up to BULK_PARTS_MAX partitions (whole
 * tables); none when there is nothing to do.
 */
export function planBulkFailover(endpoint: Endpoint, view: AdminView): OpRequest[] {
  const ops: OpRequest[] = [];
  let parts: BulkPart[] = [];
  const close = (): void => {
    if (parts.length === 0) return;
    const data: BulkFailoverData = { kind: 'bulkFailover', endpoint, phase: 'fence', parts };
    ops.push({ type: 'kFailoverEndpointOP', tid: BULK_TID, pid: BULK_PID, db: '', name: `failover ${endpoint}`, data, tasks: [], commitTaskIndex: 0, origin: 'repair' });
    parts = [];
  };
  for (const table of [...view.tables].sort((a, b) => a.tid - b.tid)) {
    if (parts.length + table.partitions.length > BULK_PARTS_MAX) close();
    for (const partition of table.partitions) {
      const replica = replicaOn(partition, endpoint);
      if (replica === undefined || !replica.isAlive || view.busy(table.tid, partition.pid)) continue;
      const base = { tid: table.tid, pid: partition.pid, db: table.schema.db, name: table.schema.name };
      const leader = aliveLeader(partition);
      if (partition.replicas.length > 1 && (replica.isLeader || leader === undefined)) {
        const ctx = { table, partition, observed: view.observed, config: view.config, random: view.random, reservedTermMax: view.reservedTermMax(table.tid, partition.pid) };
        const plan = planOp('kChangeLeaderOP', { kind: 'changeLeader', request: 'offline', candidate: null, oldLeader: null, oldTerm: 0, handOver: false, followersBefore: [], selected: null }, ctx);
        if (plan.ok && plan.data.kind === 'changeLeader') {
          const fences = plan.tasks.filter((t): t is TaskOf<'kChangeRole'> => t.kind === 'kChangeRole');
          parts.push({ ...base, action: 'changeLeader', changeLeader: plan.data, fenceTerm: fences[0]?.term ?? plan.data.oldTerm + 1, endpoints: fences.map((t) => t.endpoint) });
          continue;
        }
      } else if (partition.replicas.length > 1 && leader !== undefined && view.observed.isHealthy(leader)) {
        parts.push({ ...base, action: 'offlineFollower', endpoints: [leader] });
        continue;
      }
      parts.push({ ...base, action: 'markDead', endpoints: [] });
    }
  }
  close();
  return ops;
}

/** Whether cancelop may still stop the op (before its promote phase). */
export function bulkCancelable(op: Op): boolean {
  return BULK_PHASES.indexOf(bulkData(op).phase) < BULK_PHASES.indexOf('promote');
}

/** A change-leader view of one part, for the kSelectLeader / kUpdateLeaderInfo specs. */
function partOp(op: Op, part: BulkPart): Op {
  return { ...op, tid: part.tid, pid: part.pid, db: part.db, name: part.name, data: part.changeLeader! };
}

/** The tablet commands of a phase, by part index. */
export function phaseCommands(data: BulkFailoverData, phase: BulkPhase): Array<{ part: number; endpoint: Endpoint; command: TabletCommand }> {
  const out: Array<{ part: number; endpoint: Endpoint; command: TabletCommand }> = [];
  data.parts.forEach((p, i) => {
    if (p.failed !== undefined) return;
    const at = { tid: p.tid, pid: p.pid };
    if (phase === 'fence' && p.action === 'changeLeader') {
      for (const e of p.endpoints) out.push({ part: i, endpoint: e, command: { type: 'ChangeRole', ...at, role: 'follower', term: p.fenceTerm!, followers: [] } });
    } else if (phase === 'promote' && p.action === 'offlineFollower') {
      out.push({ part: i, endpoint: p.endpoints[0]!, command: { type: 'DelReplica', ...at, follower: data.endpoint } });
    } else if (phase === 'promote' && p.action === 'changeLeader') {
      const sel = p.changeLeader!.selected!;
      out.push({ part: i, endpoint: sel.candidate, command: { type: 'ChangeRole', ...at, role: 'leader', term: sel.newTerm, followers: sel.followers } });
    }
  });
  return out;
}

/** What the driver needs of the engine. */
export interface BulkHost {
  readonly config: EngineConfig;
  readonly observed: ObservedView;
  readonly random: Random;
  nowMs(): number;
  nsEpoch(): number;
  table(tid: Tid): TableInfo | undefined;
  /** Tables dropped so far (a count that only grows). */
  tableDrops(): number;
  /** Sets a partition's metadata (in memory). */
  setPartition(tid: Tid, partition: PartitionMeta): void;
  /** Asks for the table's write. */
  writeTable(tid: Tid): void;
  /** The table's writes are all confirmed. */
  tableSettled(tid: Tid): boolean;
  /** reservedTermMax of every partition, ops but `exceptOpId` (one pass: build it once per pass over the parts). */
  reservedTerms(exceptOpId: number): (tid: Tid, pid: number) => number;
  /** The op's last write is confirmed. */
  opWritten(opId: number): boolean;
  writeOp(op: Op): void;
  finish(op: Op, status: OpStatus, error?: string): void;
  emit(effect: EngineEffect): void;
  log(level: 'info' | 'warn', message: string): void;
}

interface CommandState {
  ok: boolean;
  /** Batch in flight carrying it, or null. */
  batch: number | null;
  lastSendMs: number;
  /** Earliest time to send again after a retryable refusal. */
  retryAtMs: number;
}

/** What the driver keeps about a running bulk op (never persisted; a new leader starts the phase afresh). */
interface BulkRuntime {
  phase: BulkPhase;
  phaseStartMs: number;
  reportSeq: number;
  commands: Map<string, CommandState>;
  batches: Map<number, string[]>;
  /** fence/promote: a pass changes nothing before this time unless an answer came or a tablet's health changed. */
  quietUntilMs: number;
  /** fence/promote: the healthy tablets its last pass saw. */
  healthySeen: string;
  /** The engine's count of dropped tables when the parts were last checked for a dropped table. */
  tableDropsSeen: number;
  /** record: the tables written. */
  tables: Tid[] | null;
  /** select: the report sequence its last pass saw (a pass with no new report decides nothing new). */
  selectSeq: number;
}

const commandKey = (part: number, endpoint: Endpoint): string => `${part}@${endpoint}`;

export class BulkDriver {
  private readonly runtimes = new Map<number, BulkRuntime>();
  private nextBatch = 1;

  constructor(private readonly host: BulkHost) {}

  clear(): void {
    this.runtimes.clear();
  }

  forget(opId: number): void {
    this.runtimes.delete(opId);
  }

  /** A batch's answer: one result per command, in order. */
  onResult(opId: number, batch: number, results: ReadonlyArray<{ ok: boolean; error?: string; retryable?: boolean }>): void {
    const rt = this.runtimes.get(opId);
    const keys = rt?.batches.get(batch);
    if (rt === undefined || keys === undefined) return;
    rt.batches.delete(batch);
    keys.forEach((key, i) => {
      const c = rt.commands.get(key);
      if (c === undefined || c.batch !== batch) return;
      c.batch = null;
      rt.quietUntilMs = -1;
      const r = results[i] ?? { ok: false, error: 'no answer', retryable: true };
      if (r.ok) c.ok = true;
      else c.retryAtMs = this.host.nowMs() + this.host.config.taskResendIntervalMs / (r.retryable === true ? 10 : 1);
    });
  }

  /** Moves the op as far as it goes now; true if anything changed. */
  drive(op: Op): boolean {
    const h = this.host;
    if (op.status !== 'kDoing' || !h.opWritten(op.id)) return false;
    const data = bulkData(op);
    let rt = this.runtimes.get(op.id);
    if (rt === undefined || rt.phase !== data.phase) {
      rt = { phase: data.phase, phaseStartMs: h.nowMs(), reportSeq: h.observed.reportSeq(), commands: new Map(), batches: new Map(), tables: null, selectSeq: -1, quietUntilMs: -1, healthySeen: '', tableDropsSeen: -1 };
      this.runtimes.set(op.id, rt);
    }
    if (op.cancelRequested && bulkCancelable(op)) {
      h.finish(op, 'kCanceled', 'canceled by admin');
      return true;
    }
    if (rt.tableDropsSeen !== h.tableDrops()) {
      rt.tableDropsSeen = h.tableDrops();
      for (const p of data.parts) if (p.failed === undefined && h.table(p.tid) === undefined) p.failed = 'table dropped';
    }
    switch (data.phase) {
      case 'fence':
      case 'promote':
        return this.runCommands(op, data, rt);
      case 'select':
        return this.select(op, data, rt);
      case 'record':
        return this.record(op, data, rt);
    }
  }

  private nextPhase(op: Op, data: BulkFailoverData): true {
    const i = BULK_PHASES.indexOf(data.phase);
    op.progress = { tasksDone: i + 1, tasksTotal: BULK_PHASES.length };
    data.phase = BULK_PHASES[i + 1]!;
    this.host.writeOp(op);
    // The selection waits for reports made after the fences: ask for them now, not at the next poll.
    if (data.phase === 'select') this.host.emit({ kind: 'requestReports' });
    return true;
  }

  private runCommands(op: Op, data: BulkFailoverData, rt: BulkRuntime): boolean {
    const h = this.host;
    const now = h.nowMs();
    const timeoutMs = h.config.taskTimeoutMs[data.phase === 'fence' ? 'kChangeRole' : 'kChangeLeader'];
    // A pass over thousands of commands on every engine event would be quadratic: skip it while
    // nothing it looks at changed (an answer, a tablet's health, a resend or timeout coming due).
    const healthy = h.observed.healthyEndpoints().join(',');
    if (now < rt.quietUntilMs && healthy === rt.healthySeen) return false;
    rt.healthySeen = healthy;
    let quietUntilMs = rt.phaseStartMs + timeoutMs;
    const due = new Map<Endpoint, Array<{ key: string; command: TabletCommand }>>();
    let open = 0;
    let changed = false;
    for (const { part, endpoint, command } of phaseCommands(data, data.phase)) {
      const key = commandKey(part, endpoint);
      let c = rt.commands.get(key);
      if (c === undefined) rt.commands.set(key, (c = { ok: false, batch: null, lastSendMs: 0, retryAtMs: 0 }));
      if (c.ok) continue;
      const p = data.parts[part]!;
      const healthy = h.observed.isHealthy(endpoint);
      // A follower on a lost tablet needs no fence: the selection only looks at healthy ones.
      if (!healthy && data.phase === 'fence' && p.action === 'changeLeader') {
        c.ok = true;
        continue;
      }
      if (!healthy || now - rt.phaseStartMs >= timeoutMs) {
        this.failPart(data, part, !healthy ? `tablet ${endpoint} is not healthy` : `${command.type} on ${endpoint} timed out after ${timeoutMs}ms`);
        changed = true;
        continue;
      }
      open += 1;
      const resend = c.batch !== null && now - c.lastSendMs >= h.config.taskResendIntervalMs;
      if ((c.batch === null && now >= c.retryAtMs) || resend) {
        c.lastSendMs = now;
        let list = due.get(endpoint);
        if (list === undefined) due.set(endpoint, (list = []));
        list.push({ key, command });
      }
      quietUntilMs = Math.min(quietUntilMs, c.batch === null ? c.retryAtMs : c.lastSendMs + h.config.taskResendIntervalMs);
    }
    rt.quietUntilMs = quietUntilMs;
    for (const [endpoint, list] of due) {
      for (let i = 0; i < list.length; i += BULK_BATCH_COMMANDS_MAX) {
        const chunk = list.slice(i, i + BULK_BATCH_COMMANDS_MAX);
        const batch = this.nextBatch++;
        rt.batches.set(batch, chunk.map((x) => x.key));
        for (const x of chunk) rt.commands.get(x.key)!.batch = batch;
        h.emit({ kind: 'sendBatch', opId: op.id, batch, endpoint, nsEpoch: h.nsEpoch(), commands: chunk.map((x) => x.command) });
      }
    }
    if (open > 0) return changed || due.size > 0;
    return this.nextPhase(op, data);
  }

  /** A part leaves the op; a promote that may have taken effect is undone for it. */
  private failPart(data: BulkFailoverData, part: number, error: string): void {
    const p = data.parts[part]!;
    p.failed = error;
    this.host.log('warn', `${p.name} pid ${p.pid}: left out of the failover of ${data.endpoint}: ${error}`);
    if (data.phase !== 'promote') return;
    const leader = p.endpoints[0];
    if (p.action === 'offlineFollower' && leader !== undefined && this.host.observed.isHealthy(leader)) {
      this.host.emit({ kind: 'sendBatch', opId: -1, batch: 0, endpoint: leader, nsEpoch: this.host.nsEpoch(), commands: [{ type: 'AddReplica', tid: p.tid, pid: p.pid, follower: data.endpoint }] });
      return;
    }
    const sel = p.changeLeader?.selected;
    if (sel === undefined || sel === null || !this.host.observed.isHealthy(sel.candidate)) return;
    // As kChangeLeader's undo: the candidate follows again, at the term reserved for it (fire and forget;
    // role assignment repeats it while the candidate's report disagrees with metadata).
    this.host.emit({ kind: 'sendBatch', opId: -1, batch: 0, endpoint: sel.candidate, nsEpoch: this.host.nsEpoch(), commands: [{ type: 'ChangeRole', tid: p.tid, pid: p.pid, role: 'follower', term: sel.restoreTerm, followers: [] }] });
  }

  private context(op: Op, part: BulkPart, rt: BulkRuntime, reserved: (tid: Tid, pid: number) => number): TaskContext | undefined {
    const h = this.host;
    const table = h.table(part.tid);
    const partition = table === undefined ? undefined : partitionOf(table, part.pid);
    if (table === undefined || partition === undefined) return undefined;
    return {
      op: partOp(op, part),
      table,
      partition,
      observed: h.observed,
      config: h.config,
      random: h.random,
      reservedTermMax: reserved(part.tid, part.pid),
      taskElapsedMs: h.nowMs() - rt.phaseStartMs,
      reportedSinceTaskStart: (e) => h.observed.lastReportSeq(e) > rt.reportSeq,
    };
  }

  private select(op: Op, data: BulkFailoverData, rt: BulkRuntime): boolean {
    // A selection changes only with a new report or at the timeout: thousands of parts are not
    // judged again on every event of the engine.
    const seq = this.host.observed.reportSeq();
    if (seq === rt.selectSeq && this.host.nowMs() - rt.phaseStartMs < this.host.config.taskTimeoutMs.kSelectLeader) return false;
    rt.selectSeq = seq;
    let waiting = 0;
    let changed = false;
    const task = newTask({ kind: 'kSelectLeader' }) as TaskOf<'kSelectLeader'>;
    const reserved = this.host.reservedTerms(op.id);
    data.parts.forEach((p, i) => {
      if (p.failed !== undefined || p.action !== 'changeLeader' || p.changeLeader!.selected !== null) return;
      const ctx = this.context(op, p, rt, reserved);
      if (ctx === undefined) return;
      const res = TASK_SPECS.kSelectLeader.apply!(task, ctx);
      if (res.status === 'wait' && ctx.taskElapsedMs < this.host.config.taskTimeoutMs.kSelectLeader) {
        waiting += 1;
        return;
      }
      if (res.status === 'wait') this.failPart(data, i, 'kSelectLeader timed out');
      else if (res.status === 'failed') this.failPart(data, i, res.error);
      else if (res.data?.kind === 'changeLeader') p.changeLeader = res.data;
      changed = true;
    });
    if (waiting > 0) return changed;
    return this.nextPhase(op, data);
  }

  private record(op: Op, data: BulkFailoverData, rt: BulkRuntime): boolean {
    const h = this.host;
    if (rt.tables === null) {
      const changedTids = new Set<Tid>();
      const reserved = h.reservedTerms(op.id);
      for (const p of data.parts) {
        if (p.failed !== undefined) continue;
        const ctx = this.context(op, p, rt, reserved);
        if (ctx === undefined) continue;
        let next: PartitionMeta | undefined;
        if (p.action === 'changeLeader') {
          const task = newTask({ kind: 'kUpdateLeaderInfo' }) as TaskOf<'kUpdateLeaderInfo'>;
          if (TASK_SPECS.kUpdateLeaderInfo.isDone(task, ctx)) continue;
          const res = TASK_SPECS.kUpdateLeaderInfo.apply!(task, ctx);
          if (res.status === 'failed') p.failed = res.error;
          else if (res.status === 'done') next = res.partition;
        } else {
          const r = replicaOn(ctx.partition, data.endpoint);
          if (r === undefined || !r.isAlive) continue;
          next = withReplica(ctx.partition, data.endpoint, { isLeader: p.action === 'markDead' && r.isLeader, isAlive: false });
        }
        if (next === undefined) continue;
        h.setPartition(p.tid, next);
        changedTids.add(p.tid);
      }
      // One write per table, after all of its partitions changed.
      for (const tid of changedTids) h.writeTable(tid);
      rt.tables = [...changedTids];
      return true;
    }
    if (!rt.tables.every((tid) => h.tableSettled(tid))) return false;
    const failed = data.parts.filter((p) => p.failed !== undefined);
    op.progress = { tasksDone: BULK_PHASES.length, tasksTotal: BULK_PHASES.length };
    if (failed.length === data.parts.length) h.finish(op, 'kFailed', `no partition failed over (${failed[0]?.failed ?? 'none'})`);
    else h.finish(op, 'kDone', failed.length === 0 ? undefined : `${failed.length} of ${data.parts.length} partitions left for a later failover`);
    return true;
  }
}

/** A bulk op's held keys, by its parts list (which never changes after planning): asked on every engine pass. */
const bulkKeys = new WeakMap<readonly BulkPart[], { list: string[]; set: Set<string> }>();

function bulkKeysOf(parts: readonly BulkPart[]): { list: string[]; set: Set<string> } {
  let keys = bulkKeys.get(parts);
  if (keys === undefined) {
    const list = parts.map((p) => partitionKey(p.tid, p.pid));
    bulkKeys.set(parts, (keys = { list, set: new Set(list) }));
  }
  return keys;
}

/** The partition keys an op holds: its own (tid/pid), or every partition a bulk op lists. */
export function heldKeys(op: Op): readonly string[] {
  return op.data.kind === 'bulkFailover' ? bulkKeysOf(op.data.parts).list : [partitionKey(op.tid, op.pid)];
}

/** Whether the op holds the partition `key` (heldKeys(op) includes it). */
export function holdsPartition(op: Op, key: string): boolean {
  return op.data.kind === 'bulkFailover' ? bulkKeysOf(op.data.parts).set.has(key) : partitionKey(op.tid, op.pid) === key;
}
