/**
 * What each task kind does, as one table of small specs (PD's operator steps): the tablet it
 * commands and the command, or the metadata change it makes, how to tell from observed state and
 * metadata that it is done (so re-sending or resuming is safe), its timeout and its undo. The
 * engine runs a task as: command (if any) until the tablet says ok → metadata change (if any)
 * until ZooKeeper confirms → done; a task with neither is a check that waits until isDone holds.
 *
 * Undo steps are themselves tasks, appended in reverse order of the tasks done when an op fails
 * or is canceled before its commit task. Each undo is idempotent and harmless when the forward
 * task never took effect, so the undo of the task that was current is always included.
 */
import { currentTerm } from '@tessera/common';
import type { Endpoint, PartitionMeta, TableInfo, Term } from '@tessera/common';
import type { EngineConfig } from './config.js';
import type { ObservedView } from './observed.js';
import { newTask, type LeaderSelection, type Op, type OpData, type OpType, type TabletCommand, type Task, type TaskKind, type TaskOf } from './op.js';
import {
  aliveFollowers,
  aliveLeader,
  leaderEntry,
  matchTermOffset,
  maxHistoryTerm,
  replicaOn,
  withReplica,
  withTerm,
  withoutReplica,
} from './partition.js';
import { isTemporaryAdd, withFormerLeader, withTempReplica } from './restore.js';
import { randomInt, type Random } from './random.js';
import { checksumMatched } from './checksum-check.js';

export interface TaskContext {
  readonly op: Op;
  readonly table: TableInfo;
  readonly partition: PartitionMeta;
  readonly observed: ObservedView;
  readonly config: EngineConfig;
  readonly random: Random;
  /** Highest term any known op reserved for this partition (so a new selection never reuses one). */
  readonly reservedTermMax: Term;
  /** How long the current task has been running. */
  readonly taskElapsedMs: number;
  /** The tablet reported after the current task began (its offsets are not older than the task). */
  reportedSinceTaskStart(endpoint: Endpoint): boolean;
}

/** A child op a task asks the engine to create (RecoverTable's decision). */
export interface SpawnRequest {
  type: OpType;
  data: OpData;
}

/** Outcome of a nameserver-local step: done (with the change to make), failed, or not decidable yet. */
export type ApplyResult =
  | { status: 'done'; partition?: PartitionMeta; data?: OpData; spawn?: SpawnRequest }
  | { status: 'failed'; error: string }
  | { status: 'wait' };

export interface TaskSpec<T extends Task> {
  /** The tablet the task commands; null for a nameserver-local task. */
  endpoint(task: T, op: Op): Endpoint | null;
  command?(task: T, ctx: TaskContext): TabletCommand;
  apply?(task: T, ctx: TaskContext): ApplyResult;
  /** Judged from observed tablet state and metadata only. */
  isDone(task: T, ctx: TaskContext): boolean;
  /** Steps that restore the state before the task; `partition` is the metadata when the rollback starts. */
  undo(task: T, op: Op, partition: PartitionMeta): Task[];
  timeoutMs(task: T, config: EngineConfig): number;
  /**
   * For a waiting check: why nothing can make it pass (undefined while it can). A task stalled
   * without a break for `syncStallTimeoutMs` fails.
   */
  stalled?(task: T, ctx: TaskContext): string | undefined;
}

const byKind = (task: Task, config: EngineConfig): number => config.taskTimeoutMs[task.kind];
const none = (): Task[] => [];
const isServing = (state: string): boolean => state === 'normal' || state === 'snapshotPaused';

function changeLeaderData(op: Op): Extract<OpData, { kind: 'changeLeader' }> {
  if (op.data.kind !== 'changeLeader') throw new Error(`op ${op.id} (${op.type}) has no change-leader data`);
  return op.data;
}

function selection(op: Op): LeaderSelection {
  const selected = changeLeaderData(op).selected;
  if (selected === null) throw new Error(`op ${op.id}: leader not selected before it is needed`);
  return selected;
}

function report(ctx: TaskContext, endpoint: Endpoint) {
  return ctx.observed.replica(endpoint, ctx.op.tid, ctx.op.pid);
}

/** Entries `task.endpoint` is behind the partition leader, or undefined while unknown. */
export function syncLagEntries(task: TaskOf<'kCheckBinlogSyncProgress'>, ctx: TaskContext): number | undefined {
  const leader = aliveLeader(ctx.partition);
  if (leader === undefined) return undefined;
  const leaderReport = report(ctx, leader);
  const followerReport = report(ctx, task.endpoint);
  if (leaderReport === undefined || followerReport === undefined) return undefined;
  if (leaderReport.role !== 'leader' || followerReport.role !== 'follower' || !isServing(followerReport.state)) return undefined;
  if (task.leaderFenced && leaderReport.fenced !== true) return undefined;
  // The follower's own offset is not enough: one being rebuilt from a snapshot flips between
  // loading and normal and may report the leader's offset for a moment. Where the leader reports
  // its replication, the follower counts as caught up only once the leader matched it and
  // streams to it (issue 17: a replica marked alive that holds nothing).
  const replication = leaderReport.replication;
  if (replication !== undefined && replication.term === leaderReport.term) {
    const stream = replication.followers.find((f) => f.endpoint === task.endpoint);
    if (stream === undefined || stream.state !== 'stream' || stream.ackedOffset < 0) return undefined;
    return Math.max(0, leaderReport.offset - Math.min(followerReport.offset, stream.ackedOffset));
  }
  return Math.max(0, leaderReport.offset - followerReport.offset);
}

/**
 * Why `task.endpoint` cannot catch up as things stand, or undefined when it can: the follower is
 * not a serving follower (a tablet that restarted holds its replica unassigned), the leader is not
 * a serving leader (fenced, in a hand-over) or does not replicate to it. Only a report made after
 * the task began counts, so a report from before the previous task took effect is not a stall.
 */
export function syncStallReason(task: TaskOf<'kCheckBinlogSyncProgress'>, ctx: TaskContext): string | undefined {
  const leader = aliveLeader(ctx.partition);
  if (leader === undefined) return 'the partition has no alive leader';
  for (const ep of [leader, task.endpoint]) {
    if (!ctx.observed.isHealthy(ep)) return `tablet ${ep} is not healthy`;
    if (!ctx.reportedSinceTaskStart(ep)) return undefined;
  }
  const f = report(ctx, task.endpoint);
  if (f === undefined) return `${task.endpoint} holds no replica`;
  if (f.role !== 'follower' || f.state === 'unassigned') return `${task.endpoint} is ${f.role}/${f.state}, not a serving follower`;
  const l = report(ctx, leader);
  if (l === undefined) return `leader ${leader} holds no replica`;
  if (l.role !== 'leader' || l.state === 'unassigned') return `leader ${leader} is ${l.role}/${l.state}`;
  if (task.leaderFenced && l.fenced !== true) return `leader ${leader} is not fenced`;
  if (l.followers !== undefined && !l.followers.includes(task.endpoint)) return `leader ${leader} does not replicate to ${task.endpoint}`;
  return undefined;
}

/** Chooses the follower with the highest reported offset (in-sync first), ties at random. */
export function bestFollower(partition: PartitionMeta, ctx: Pick<TaskContext, 'observed' | 'random'>, tid: number, exclude: readonly Endpoint[]): Endpoint | undefined {
  // A follower that reports it is loading a snapshot holds nothing yet: never electable.
  const loading = (e: Endpoint): boolean => ctx.observed.replica(e, tid, partition.pid)?.state === 'loading';
  const eligible = aliveFollowers(partition).filter((e) => !exclude.includes(e) && ctx.observed.isHealthy(e) && !loading(e));
  // Only a recorded in-sync follower holds every acknowledged write: never fall back to one that
  // is not (that would be an unclean election). With no recorded in-sync set at all (a table with
  // replica_ack=leader, or every follower already dropped) any alive follower is as good as another.
  const inSync = eligible.filter((e) => partition.inSync.includes(e));
  const pool = partition.inSync.length > 0 ? inSync : eligible;
  const offsetOf = (e: Endpoint): number => ctx.observed.replica(e, tid, partition.pid)?.offset ?? -1;
  const best = pool.reduce((m, e) => Math.max(m, offsetOf(e)), -Infinity);
  const top = pool.filter((e) => offsetOf(e) === best);
  return top.length === 0 ? undefined : top[randomInt(ctx.random, top.length)];
}

function selectLeader(task: TaskOf<'kSelectLeader'>, ctx: TaskContext): ApplyResult {
  void task;
  const data = changeLeaderData(ctx.op);
  const p = ctx.partition;
  const exclude = data.oldLeader === null ? [] : [data.oldLeader];
  // Offsets must not predate the decision (OpenMLDB asks every follower at this point): wait for a
  // report from each healthy follower made after this task began, for at most reportWaitMs.
  const eligible = aliveFollowers(p).filter((e) => !exclude.includes(e) && ctx.observed.isHealthy(e));
  const fresh = eligible.filter((e) => ctx.reportedSinceTaskStart(e) && report(ctx, e) !== undefined);
  if (fresh.length < eligible.length && ctx.taskElapsedMs < ctx.config.reportWaitMs) return { status: 'wait' };
  let candidate: Endpoint | undefined;
  if (data.candidate !== null) {
    const r = replicaOn(p, data.candidate);
    if (r === undefined || r.isLeader || !r.isAlive || !ctx.observed.isHealthy(data.candidate)) {
      return { status: 'failed', error: `candidate[${data.candidate}] is not an alive follower. name[${ctx.op.name}] pid[${ctx.op.pid}]` };
    }
    if (!fresh.includes(data.candidate)) return ctx.taskElapsedMs < ctx.config.taskTimeoutMs.kSelectLeader ? { status: 'wait' } : { status: 'failed', error: `no status from candidate[${data.candidate}]` };
    candidate = data.candidate;
  } else {
    const stale = eligible.filter((e) => !fresh.includes(e));
    candidate = bestFollower(p, ctx, ctx.op.tid, [...exclude, ...stale]);
    if (candidate === undefined) return { status: 'failed', error: 'no alive follower' };
  }
  const candidateReport = report(ctx, candidate)!;
  const termMax = Math.max(
    currentTerm(p),
    maxHistoryTerm(p.termOffsets),
    ctx.observed.maxReportedTerm(ctx.op.tid, ctx.op.pid),
    ctx.reservedTermMax,
    data.oldTerm,
  );
  const others = aliveFollowers(p).filter((e) => e !== candidate && e !== data.oldLeader);
  // In a hand-over nobody can be ahead of the fenced leader the candidate caught up with. In a
  // failover, a follower ahead of the new leader would keep a tail from the old term (followers
  // append without checking the previous entry), and one not heard from might be: both are
  // marked not alive, and recovery matches their term and offset against the history.
  const verified = (e: Endpoint): boolean => fresh.includes(e) && report(ctx, e)!.offset <= candidateReport.offset;
  const followers = data.handOver ? others : others.filter(verified);
  if (data.handOver && data.oldLeader !== null) followers.push(data.oldLeader);
  const selected: LeaderSelection = {
    candidate,
    newTerm: termMax + 1,
    restoreTerm: termMax + 2,
    followers,
    dropped: data.handOver ? [] : others.filter((e) => !verified(e)),
    startOffset: candidateReport.offset + 1,
  };
  return { status: 'done', data: { ...data, candidate, selected } };
}

function updateLeaderInfo(ctx: TaskContext): ApplyResult {
  const data = changeLeaderData(ctx.op);
  const sel = selection(ctx.op);
  let p = ctx.partition;
  if (replicaOn(p, sel.candidate) === undefined) return { status: 'failed', error: `candidate[${sel.candidate}] is no longer a replica` };
  if (data.oldLeader !== null && replicaOn(p, data.oldLeader) !== undefined) {
    // A hand-over makes the old leader an alive follower; a failover leaves it `leader no`, as
    // OpenMLDB, until RecoverTable brings it back as a follower.
    p = withReplica(p, data.oldLeader, { isLeader: !data.handOver, isAlive: data.handOver });
    if (!data.handOver || data.remember === true) p = withFormerLeader(p, data.oldLeader);
  }
  for (const e of sel.dropped) if (replicaOn(p, e) !== undefined) p = withReplica(p, e, { isLeader: false, isAlive: false });
  p = withReplica(p, sel.candidate, { isLeader: true, isAlive: true });
  p = withTerm(p, sel.newTerm, sel.startOffset);
  return { status: 'done', partition: p };
}

/** Pure decision of RecoverTable (openmldb.md §6.3): which op brings `endpoint`'s replica back. */
export function recoverDecision(ctx: TaskContext, endpoint: Endpoint): ApplyResult {
  const p = ctx.partition;
  const meta = replicaOn(p, endpoint);
  if (meta === undefined) return { status: 'failed', error: `pid[${p.pid}] is not in ${endpoint}` };
  const own = report(ctx, endpoint);
  const loaded = own !== undefined && own.role !== 'none' && own.state !== 'unassigned';
  if (p.replicas.length === 1) {
    const spawn: SpawnRequest = loaded
      ? { type: 'kUpdatePartitionStatusOP', data: { kind: 'partitionStatus', endpoint, isLeader: true, isAlive: true } }
      : { type: 'kReLoadTableOP', data: { kind: 'replica', endpoint } };
    return { status: 'done', spawn };
  }
  const leader = aliveLeader(p);
  if (leader === undefined) {
    // A leaderless partition whose flagged leader (`leader no`) is back holding the last term:
    // nobody led since, so it holds every acknowledged write. It leads again (kReLoadTableOP,
    // at a term above every known one); its followers are recovered after it.
    // Its term must be the last one: a leader that failed over earlier also stays flagged
    // (`leader no`), and its older term matches the history too, but others led after it.
    if (meta.isLeader && own !== undefined && own.term === currentTerm(p) && matchTermOffset(p.termOffsets, own.term, own.offset)) {
      return { status: 'done', spawn: { type: 'kReLoadTableOP', data: { kind: 'replica', endpoint } } };
    }
    return { status: 'failed', error: `leader endpoint is empty. name[${ctx.op.name}] pid[${p.pid}]` };
  }
  const leaderSnapshotOffset = report(ctx, leader)?.snapshotOffset ?? 0;
  const matches = own !== undefined && (loaded || own.offset > 0) && matchTermOffset(p.termOffsets, own.term, own.offset);
  const canCatchUp = matches && own!.offset >= leaderSnapshotOffset;
  let type: OpType;
  if (loaded && own!.role === 'follower' && canCatchUp) type = 'kReAddReplicaSimplifyOP';
  else if (loaded) type = 'kReAddReplicaWithDropOP';
  else if (own !== undefined && canCatchUp) type = 'kReAddReplicaNoSendOP';
  else type = 'kReAddReplicaOP';
  return { status: 'done', spawn: { type, data: { kind: 'replica', endpoint } } };
}

type SpecTable = { [K in TaskKind]: TaskSpec<TaskOf<K>> };

export const TASK_SPECS: SpecTable = {
  kPauseSnapshot: {
    endpoint: (t) => t.endpoint,
    command: (t, c) => ({ type: 'PauseSnapshot', tid: c.op.tid, pid: c.op.pid }),
    isDone: (t, c) => report(c, t.endpoint)?.state === 'snapshotPaused',
    undo: (t) => [newTask({ kind: 'kRecoverSnapshot', endpoint: t.endpoint })],
    timeoutMs: byKind,
  },
  kRecoverSnapshot: {
    endpoint: (t) => t.endpoint,
    command: (t, c) => ({ type: 'RecoverSnapshot', tid: c.op.tid, pid: c.op.pid }),
    isDone: (t, c) => report(c, t.endpoint)?.state === 'normal',
    undo: none,
    timeoutMs: byKind,
  },
  kSendSnapshot: {
    endpoint: (t) => t.endpoint,
    command: (t, c) => ({ type: 'SendSnapshot', tid: c.op.tid, pid: c.op.pid, des: t.des }),
    // Staged files are invisible, and a replica already on des may be a stale leftover: always
    // (re)send, LoadTable then replaces whatever is there with the staged snapshot.
    isDone: () => false,
    undo: (t) => [newTask({ kind: 'kDropTable', endpoint: t.des })],
    timeoutMs: byKind,
  },
  kLoadTable: {
    endpoint: (t) => t.endpoint,
    command: (t, c) => ({
      type: 'LoadTable',
      tid: c.op.tid,
      pid: c.op.pid,
      name: c.table.schema.name,
      db: c.table.schema.db,
      role: t.role,
      term: currentTerm(c.partition),
    }),
    isDone: (t, c) => {
      const r = report(c, t.endpoint);
      return r !== undefined && r.role === t.role && isServing(r.state);
    },
    // A reloaded leader is the partition's only copy: never drop it.
    undo: (t, op) => (t.role === 'leader' || op.type === 'kReLoadTableOP' ? [] : [newTask({ kind: 'kDropTable', endpoint: t.endpoint })]),
    timeoutMs: byKind,
  },
  kAddReplica: {
    endpoint: (t) => t.endpoint,
    command: (t, c) => ({ type: 'AddReplica', tid: c.op.tid, pid: c.op.pid, follower: t.follower }),
    isDone: (t, c) => report(c, t.endpoint)?.followers?.includes(t.follower) === true,
    undo: (t) => [newTask({ kind: 'kDelReplica', endpoint: t.endpoint, follower: t.follower })],
    timeoutMs: byKind,
  },
  kDelReplica: {
    endpoint: (t) => t.endpoint,
    command: (t, c) => ({ type: 'DelReplica', tid: c.op.tid, pid: c.op.pid, follower: t.follower }),
    isDone: (t, c) => {
      const followers = report(c, t.endpoint)?.followers;
      return followers !== undefined && !followers.includes(t.follower);
    },
    // Replication is restored only to a follower metadata still counts as alive: one that was
    // already dead (RecoverTable's DelReplica) was not being replicated to before.
    undo: (t, _op, p) => (replicaOn(p, t.follower)?.isAlive === true ? [newTask({ kind: 'kAddReplica', endpoint: t.endpoint, follower: t.follower })] : []),
    timeoutMs: byKind,
  },
  kDropTable: {
    endpoint: (t) => t.endpoint,
    command: (t, c) => ({ type: 'DropTable', tid: c.op.tid, pid: c.op.pid }),
    isDone: (t, c) => c.observed.hasReported(t.endpoint) && report(c, t.endpoint) === undefined,
    undo: none,
    timeoutMs: byKind,
  },
  kMakeSnapshot: {
    endpoint: (t) => t.endpoint,
    command: (t, c) => ({ type: 'MakeSnapshot', tid: c.op.tid, pid: c.op.pid, endOffset: t.endOffset }),
    // Nothing to observe that tells this snapshot from an older one: re-sending is harmless.
    isDone: () => false,
    undo: none,
    timeoutMs: byKind,
  },
  kFenceLeader: {
    endpoint: (t) => t.endpoint,
    command: (t, c) => ({ type: 'FenceLeader', tid: c.op.tid, pid: c.op.pid, term: t.term }),
    isDone: (t, c) => {
      const r = report(c, t.endpoint);
      return r !== undefined && r.role === 'leader' && r.term === t.term && r.fenced === true;
    },
    undo: (t, op) => [
      newTask({ kind: 'kChangeRole', endpoint: t.endpoint, role: 'leader', term: t.term, followers: changeLeaderData(op).followersBefore }),
    ],
    timeoutMs: byKind,
  },
  kDemoteLeader: {
    endpoint: (t) => t.endpoint,
    command: (t, c) => ({ type: 'ChangeRole', tid: c.op.tid, pid: c.op.pid, role: 'follower', term: t.term, followers: [] }),
    isDone: (t, c) => {
      const r = report(c, t.endpoint);
      return r !== undefined && r.role === 'follower' && r.term >= t.term;
    },
    undo: (t, op) => [
      newTask({ kind: 'kChangeRole', endpoint: t.endpoint, role: 'leader', term: t.term, followers: changeLeaderData(op).followersBefore }),
    ],
    timeoutMs: byKind,
  },
  kChangeLeader: {
    endpoint: (_t, op) => selection(op).candidate,
    command: (_t, c) => {
      const sel = selection(c.op);
      return { type: 'ChangeRole', tid: c.op.tid, pid: c.op.pid, role: 'leader', term: sel.newTerm, followers: sel.followers };
    },
    isDone: (_t, c) => {
      const sel = selection(c.op);
      const r = report(c, sel.candidate);
      return r !== undefined && r.role === 'leader' && r.term === sel.newTerm && r.fenced !== true;
    },
    undo: (_t, op) => {
      const data = changeLeaderData(op);
      const sel = data.selected;
      if (sel === null) return [];
      const steps: Task[] = [newTask({ kind: 'kChangeRole', endpoint: sel.candidate, role: 'follower', term: sel.restoreTerm, followers: [] })];
      if (data.handOver && data.oldLeader !== null) {
        steps.push(newTask({ kind: 'kRestoreLeader', endpoint: data.oldLeader, term: sel.restoreTerm, followers: data.followersBefore }));
      }
      return steps;
    },
    timeoutMs: byKind,
  },
  kChangeRole: {
    endpoint: (t) => t.endpoint,
    command: (t, c) => ({ type: 'ChangeRole', tid: c.op.tid, pid: c.op.pid, role: t.role, term: t.term, followers: t.followers }),
    isDone: (t, c) => {
      const r = report(c, t.endpoint);
      return r !== undefined && r.role === t.role && r.term === t.term && r.fenced !== true;
    },
    undo: none,
    timeoutMs: byKind,
  },
  kRestoreLeader: {
    endpoint: (t) => t.endpoint,
    command: (t, c) => ({ type: 'ChangeRole', tid: c.op.tid, pid: c.op.pid, role: 'leader', term: t.term, followers: t.followers }),
    apply: (t, c) => {
      if (replicaOn(c.partition, t.endpoint) === undefined) return { status: 'failed', error: `${t.endpoint} is no longer a replica` };
      // Never mark alive a leader whose tablet is gone (it went away after taking the role): the
      // partition stays as it is, and the failover monitor deals with the lost tablet.
      if (!c.observed.isHealthy(t.endpoint)) return { status: 'failed', error: `tablet ${t.endpoint} is not healthy` };
      const offset = report(c, t.endpoint)?.offset ?? 0;
      const p = withTerm(withReplica(c.partition, t.endpoint, { isLeader: true, isAlive: true }), t.term, offset + 1);
      return { status: 'done', partition: p };
    },
    isDone: (t, c) => {
      const r = report(c, t.endpoint);
      return (
        r !== undefined && r.role === 'leader' && r.term === t.term && r.fenced !== true &&
        aliveLeader(c.partition) === t.endpoint && currentTerm(c.partition) === t.term
      );
    },
    undo: none,
    timeoutMs: byKind,
  },
  kAddTableInfo: {
    endpoint: () => null,
    apply: (t, c) => {
      const p = replicaOn(c.partition, t.endpoint) !== undefined ? c.partition : withReplica(c.partition, t.endpoint, { isLeader: false, isAlive: false });
      return { status: 'done', partition: isTemporaryAdd(c.op) ? withTempReplica(p, t.endpoint) : p };
    },
    isDone: (t, c) => replicaOn(c.partition, t.endpoint) !== undefined && (!isTemporaryAdd(c.op) || (c.partition.tempReplicas ?? []).includes(t.endpoint)),
    undo: (t) => [newTask({ kind: 'kDelTableInfo', endpoint: t.endpoint })],
    timeoutMs: byKind,
  },
  kDelTableInfo: {
    endpoint: () => null,
    apply: (t, c) => {
      const r = replicaOn(c.partition, t.endpoint);
      if (r === undefined) return { status: 'done' };
      if (r.isLeader && r.isAlive) return { status: 'failed', error: `can not del leader. pid ${c.op.pid} endpoint ${t.endpoint}` };
      return { status: 'done', partition: withoutReplica(c.partition, t.endpoint) };
    },
    isDone: (t, c) => replicaOn(c.partition, t.endpoint) === undefined,
    undo: none,
    timeoutMs: byKind,
  },
  kUpdateTableInfo: {
    endpoint: () => null,
    apply: (t, c) => {
      if (replicaOn(c.partition, t.des) === undefined) return { status: 'failed', error: `des_endpoint[${t.des}] is not in partition[${c.op.pid}]` };
      const p = withReplica(withoutReplica(c.partition, t.src), t.des, { isLeader: false, isAlive: true });
      return { status: 'done', partition: p };
    },
    isDone: (t, c) => replicaOn(c.partition, t.src) === undefined && replicaOn(c.partition, t.des)?.isAlive === true,
    undo: none,
    timeoutMs: byKind,
  },
  kUpdatePartitionStatus: {
    endpoint: () => null,
    apply: (t, c) => {
      if (replicaOn(c.partition, t.endpoint) === undefined) return { status: 'failed', error: `pid[${c.op.pid}] is not in ${t.endpoint}` };
      return { status: 'done', partition: withReplica(c.partition, t.endpoint, { isLeader: t.isLeader, isAlive: t.isAlive }) };
    },
    isDone: (t, c) => {
      const r = replicaOn(c.partition, t.endpoint);
      return r !== undefined && r.isLeader === t.isLeader && r.isAlive === t.isAlive;
    },
    undo: none,
    timeoutMs: byKind,
  },
  kCheckBinlogSyncProgress: {
    endpoint: () => null,
    isDone: (t, c) => {
      const lag = syncLagEntries(t, c);
      return lag !== undefined && lag <= t.deltaEntriesMax;
    },
    undo: none,
    timeoutMs: (t, config) => (t.leaderFenced ? config.catchUpTimeoutMs : config.taskTimeoutMs.kCheckBinlogSyncProgress),
    stalled: syncStallReason,
  },
  kSelectLeader: {
    endpoint: () => null,
    apply: selectLeader,
    isDone: (_t, c) => changeLeaderData(c.op).selected !== null,
    undo: none,
    timeoutMs: byKind,
  },
  kUpdateLeaderInfo: {
    endpoint: () => null,
    apply: (_t, c) => updateLeaderInfo(c),
    isDone: (_t, c) => {
      const sel = selection(c.op);
      return leaderEntry(c.partition)?.endpoint === sel.candidate && aliveLeader(c.partition) === sel.candidate && currentTerm(c.partition) >= sel.newTerm;
    },
    undo: none,
    timeoutMs: byKind,
  },
  kCheckChecksum: {
    endpoint: (t) => t.endpoint,
    command: (t, c) => ({ type: 'CompareChecksum', tid: c.op.tid, pid: c.op.pid, replica: t.replica, opId: c.op.id }),
    isDone: (t, c) => checksumMatched(c.op, t.replica),
    undo: none,
    timeoutMs: byKind,
  },
  kRecoverTable: {
    endpoint: () => null,
    apply: (t, c) => recoverDecision(c, t.endpoint),
    isDone: (_t, c) => c.op.data.kind === 'recoverTable' && c.op.data.childOpId !== null,
    undo: none,
    timeoutMs: byKind,
  },
};

/** The spec of a task, typed for the generic engine. */
export function specOf(task: Task): TaskSpec<Task> {
  return TASK_SPECS[task.kind] as unknown as TaskSpec<Task>;
}

/** Stable identity of a step, for de-duplicating undo steps. */
function stepKey(task: Task): string {
  const { status: _status, undo: _undo, error: _error, ...rest } = task;
  void _status;
  void _undo;
  void _error;
  return JSON.stringify(rest);
}

/**
 * The undo steps of an op that stops at its current task: the undo of every task done so far and
 * of the current one, newest first, without duplicates. Restoring a leader at a raised term
 * subsumes re-asserting it at its old term.
 */
export function buildUndo(op: Op, partition: PartitionMeta): Task[] {
  const out: Task[] = [];
  const seen = new Set<string>();
  const restored = new Set<Endpoint>();
  for (let i = Math.min(op.taskIndex, op.tasks.length - 1); i >= 0; i--) {
    const task = op.tasks[i]!;
    if (task.undo === true) continue;
    if (i !== op.taskIndex && task.status !== 'kDone') continue;
    for (const step of specOf(task).undo(task, op, partition)) {
      if (step.kind === 'kRestoreLeader') restored.add(step.endpoint);
      if (step.kind === 'kChangeRole' && step.role === 'leader' && restored.has(step.endpoint)) continue;
      const key = stepKey(step);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ ...step, status: 'kInited', undo: true });
    }
  }
  return out;
}
