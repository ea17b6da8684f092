/**
 * The op planner: op type + data + current metadata and observations → preconditions checked
 * (with OpenMLDB's refusal texts, openmldb.md §3.4) and the task list (openmldb.md §4.2, same
 * order and names; a move — migrate, addreplica — ends with our kCheckChecksum before its commit
 * task, checksum-check.ts). It runs when an admin command asks for an op and again when the op starts,
 * so a queued op never runs on stale preconditions or against a leader that has since changed.
 */
import { LIMITS, currentTerm } from '@tessera/common';
import type { Endpoint, ErrorCode, PartitionMeta, TableInfo, Term } from '@tessera/common';
import type { EngineConfig } from './config.js';
import type { ReplyError } from './events.js';
import type { ObservedView } from './observed.js';
import { newTask, type OpData, type OpType, type Task, type TaskFields } from './op.js';
import { aliveFollowers, aliveLeader, leaderEntry, leadsAlive, maxHistoryTerm, replicaOn } from './partition.js';
import type { Random } from './random.js';
import { repairPlan } from './repair.js';
import { bestFollower } from './tasks.js';

export interface PlanContext {
  table: TableInfo;
  partition: PartitionMeta;
  observed: ObservedView;
  config: EngineConfig;
  random: Random;
  /** Highest term any known op reserved or sent for this partition (a new term goes above it). */
  reservedTermMax: Term;
}

export type PlanResult = { ok: true; tasks: Task[]; commitTaskIndex: number; data: OpData } | { ok: false; error: ReplyError };

const refuse = (code: ErrorCode, message: string): PlanResult => ({ ok: false, error: { code, message } });

function dataOf<K extends OpData['kind']>(type: OpType, data: OpData, kind: K): Extract<OpData, { kind: K }> {
  if (data.kind !== kind) throw new Error(`${type} needs ${kind} data, got ${data.kind}`);
  return data as Extract<OpData, { kind: K }>;
}

/** The alive leader on a healthy tablet, or a refusal naming what is wrong. */
function healthyLeader(ctx: PlanContext): Endpoint | PlanResult {
  const name = ctx.table.schema.name;
  const pid = ctx.partition.pid;
  const leader = aliveLeader(ctx.partition);
  if (leader === undefined) return refuse('PRECONDITION_FAILED', `leader endpoint is empty. name[${name}] pid[${pid}]`);
  if (!ctx.observed.isHealthy(leader)) return refuse('TABLET_NOT_HEALTHY', `leader[${leader}] is offline. name[${name}] pid[${pid}]`);
  return leader;
}

/** `commit`: the task after which the op only goes forward; by default the last one. */
function planned(tasks: TaskFields[], commit: Task['kind'] | 'last', data: OpData): PlanResult {
  const commitTaskIndex = commit === 'last' ? tasks.length - 1 : tasks.findIndex((t) => t.kind === commit);
  if (commitTaskIndex < 0) throw new Error(`commit task ${commit} is not in the plan`);
  return { ok: true, tasks: tasks.map(newTask), commitTaskIndex, data };
}

function planMigrate(ctx: PlanContext, data: Extract<OpData, { kind: 'migrate' }>): PlanResult {
  const { src, des } = data;
  const name = ctx.table.schema.name;
  const pid = ctx.partition.pid;
  if (src === des) return refuse('INVALID_ARGUMENT', 'migrate error. src_endpoint is same as des_endpoint');
  if (!ctx.observed.isHealthy(src)) return refuse('TABLET_NOT_HEALTHY', 'src_endpoint does not exist or not healthy');
  if (!ctx.observed.isHealthy(des)) return refuse('TABLET_NOT_HEALTHY', 'des_endpoint does not exist or not healthy');
  const leader = aliveLeader(ctx.partition);
  if (leader === undefined) return refuse('PRECONDITION_FAILED', `leader endpoint is empty. name[${name}] pid[${pid}]`);
  if (leader === src) return refuse('PRECONDITION_FAILED', `cannot migrate leader. name[${name}] pid[${pid}]`);
  if (!ctx.observed.isHealthy(leader)) return refuse('TABLET_NOT_HEALTHY', `leader[${leader}] is offline. name[${name}] pid[${pid}]`);
  if (replicaOn(ctx.partition, src)?.isAlive !== true) {
    return refuse('PRECONDITION_FAILED', `src_endpoint[${src}] has not partition[${pid}]. name[${name}]`);
  }
  if (replicaOn(ctx.partition, des) !== undefined) {
    return refuse('PRECONDITION_FAILED', `partition[${pid}] is already in des_endpoint[${des}]. name[${name}]`);
  }
  const delta = ctx.config.syncDeltaEntriesMax;
  return planned(
    [
      { kind: 'kPauseSnapshot', endpoint: leader },
      { kind: 'kSendSnapshot', endpoint: leader, des },
      { kind: 'kRecoverSnapshot', endpoint: leader },
      { kind: 'kLoadTable', endpoint: des, role: 'follower' },
      { kind: 'kAddReplica', endpoint: leader, follower: des },
      { kind: 'kAddTableInfo', endpoint: des },
      { kind: 'kCheckBinlogSyncProgress', endpoint: des, deltaEntriesMax: delta, leaderFenced: false },
      { kind: 'kCheckChecksum', endpoint: leader, replica: des },
      { kind: 'kDelReplica', endpoint: leader, follower: src },
      { kind: 'kUpdateTableInfo', src, des },
      { kind: 'kDropTable', endpoint: src },
    ],
    'kUpdateTableInfo',
    data,
  );
}

function planAddReplica(ctx: PlanContext, data: Extract<OpData, { kind: 'replica' }>): PlanResult {
  const ep = data.endpoint;
  if (!ctx.observed.isHealthy(ep)) return refuse('TABLET_NOT_HEALTHY', 'tablet is not healthy');
  if (replicaOn(ctx.partition, ep) !== undefined) return refuse('PRECONDITION_FAILED', `pid ${ctx.partition.pid} is exist in ${ep}`);
  if (ctx.partition.replicas.length >= LIMITS.replicasMax) {
    return refuse('LIMIT_EXCEEDED', `pid ${ctx.partition.pid} already has ${LIMITS.replicasMax} replicas`);
  }
  const leader = healthyLeader(ctx);
  if (typeof leader !== 'string') return leader;
  const tasks: TaskFields[] = [
    { kind: 'kPauseSnapshot', endpoint: leader },
    { kind: 'kSendSnapshot', endpoint: leader, des: ep },
    { kind: 'kLoadTable', endpoint: ep, role: 'follower' },
    { kind: 'kAddReplica', endpoint: leader, follower: ep },
    { kind: 'kRecoverSnapshot', endpoint: leader },
    { kind: 'kAddTableInfo', endpoint: ep },
    { kind: 'kCheckBinlogSyncProgress', endpoint: ep, deltaEntriesMax: ctx.config.syncDeltaEntriesMax, leaderFenced: false },
    { kind: 'kCheckChecksum', endpoint: leader, replica: ep },
    { kind: 'kUpdatePartitionStatus', endpoint: ep, isLeader: false, isAlive: true },
  ];
  return planned(tasks, 'last', data);
}

function planDelReplica(ctx: PlanContext, data: Extract<OpData, { kind: 'replica' }>): PlanResult {
  const ep = data.endpoint;
  const pid = ctx.partition.pid;
  if (!ctx.observed.isHealthy(ep)) return refuse('TABLET_NOT_HEALTHY', 'tablet is not healthy');
  const replica = replicaOn(ctx.partition, ep);
  if (replica === undefined) return refuse('PRECONDITION_FAILED', `pid ${pid} is not in ${ep}`);
  if (leadsAlive(replica)) return refuse('PRECONDITION_FAILED', `can not del leader. pid ${pid} endpoint ${ep}`);
  const leader = healthyLeader(ctx);
  if (typeof leader !== 'string') return leader;
  return planned(
    [
      { kind: 'kDelReplica', endpoint: leader, follower: ep },
      { kind: 'kDelTableInfo', endpoint: ep },
      { kind: 'kDropTable', endpoint: ep },
    ],
    'kDelTableInfo',
    data,
  );
}

function planChangeLeader(ctx: PlanContext, input: Extract<OpData, { kind: 'changeLeader' }>): PlanResult {
  const p = ctx.partition;
  const name = ctx.table.schema.name;
  if (p.replicas.length <= 1) return refuse('PRECONDITION_FAILED', 'no follower');
  const entry = leaderEntry(p);
  const oldLeader = entry?.endpoint ?? null;
  const leaderAlive = entry !== undefined && entry.isAlive && ctx.observed.isHealthy(entry.endpoint);
  const handOver = leaderAlive && input.request !== 'offline' && input.request !== 'deadLeader';
  if (input.request === 'deadLeader' && leaderAlive) return refuse('PRECONDITION_FAILED', 'leader is alive');
  const followers = aliveFollowers(p).filter((e) => e !== oldLeader && ctx.observed.isHealthy(e));
  if (followers.length === 0) return refuse('PRECONDITION_FAILED', 'no alive follower');
  // Only an explicit request names the candidate; `auto` chooses afresh each time it is planned.
  let candidate = input.request === 'candidate' ? input.candidate : null;
  if (candidate !== null && !followers.includes(candidate)) {
    return refuse('PRECONDITION_FAILED', `create op failed. candidate[${candidate}] is not an alive follower. name[${name}] pid[${p.pid}]`);
  }
  if (handOver && candidate === null) {
    // A hand-over fences the leader and waits for one follower: choose it now.
    candidate = bestFollower(p, ctx, ctx.table.tid, oldLeader === null ? [] : [oldLeader]) ?? null;
    if (candidate === null) return refuse('PRECONDITION_FAILED', 'no alive follower');
  }
  const oldTerm = currentTerm(p);
  const data: OpData = {
    kind: 'changeLeader',
    request: input.request,
    candidate,
    oldLeader,
    oldTerm,
    handOver,
    followersBefore: aliveFollowers(p),
    selected: null,
    ...(input.remember === true ? { remember: true } : {}),
  };
  if (handOver && oldLeader !== null && candidate !== null) {
    const tasks: TaskFields[] = [
      { kind: 'kFenceLeader', endpoint: oldLeader, term: oldTerm },
      { kind: 'kCheckBinlogSyncProgress', endpoint: candidate, deltaEntriesMax: 0, leaderFenced: true },
      { kind: 'kSelectLeader' },
      { kind: 'kDemoteLeader', endpoint: oldLeader, term: oldTerm },
      { kind: 'kChangeLeader' },
      { kind: 'kUpdateLeaderInfo' },
    ];
    return planned(tasks, 'last', data);
  }
  // Failover. First every healthy alive follower is told a new term (what OpenMLDB's SelectLeader
  // does inside): they refuse the old leader from then on, even if it is only cut off and comes
  // back, so it cannot push its unreplicated tail to them. Then SelectLeader compares the offsets
  // they report, ChangeLeader promotes the chosen one, UpdateLeaderInfo records it.
  const fenceTerm = Math.max(oldTerm, maxHistoryTerm(p.termOffsets), ctx.observed.maxReportedTerm(ctx.table.tid, p.pid), ctx.reservedTermMax) + 1;
  const fences: TaskFields[] = followers.map((f) => ({ kind: 'kChangeRole', endpoint: f, role: 'follower', term: fenceTerm, followers: [] }));
  return planned([...fences, { kind: 'kSelectLeader' }, { kind: 'kChangeLeader' }, { kind: 'kUpdateLeaderInfo' }], 'last', data);
}

function planOfflineReplica(ctx: PlanContext, data: Extract<OpData, { kind: 'replica' }>): PlanResult {
  const ep = data.endpoint;
  const replica = replicaOn(ctx.partition, ep);
  if (replica === undefined) return refuse('PRECONDITION_FAILED', `pid ${ctx.partition.pid} is not in ${ep}`);
  if (leadsAlive(replica)) return refuse('PRECONDITION_FAILED', `can not offline leader. pid ${ctx.partition.pid} endpoint ${ep}`);
  const leader = healthyLeader(ctx);
  if (typeof leader !== 'string') return leader;
  return planned(
    [
      { kind: 'kDelReplica', endpoint: leader, follower: ep },
      { kind: 'kUpdatePartitionStatus', endpoint: ep, isLeader: false, isAlive: false },
    ],
    'last',
    data,
  );
}

function planUpdatePartitionStatus(ctx: PlanContext, data: Extract<OpData, { kind: 'partitionStatus' }>): PlanResult {
  if (replicaOn(ctx.partition, data.endpoint) === undefined) return refuse('PRECONDITION_FAILED', `pid ${ctx.partition.pid} is not in ${data.endpoint}`);
  return planned([{ kind: 'kUpdatePartitionStatus', endpoint: data.endpoint, isLeader: data.isLeader, isAlive: data.isAlive }], 'last', data);
}

function planReLoadTable(ctx: PlanContext, data: Extract<OpData, { kind: 'replica' }>): PlanResult {
  const ep = data.endpoint;
  const p = ctx.partition;
  if (!ctx.observed.isHealthy(ep)) return refuse('TABLET_NOT_HEALTHY', 'tablet is not healthy');
  const replica = replicaOn(p, ep);
  if (replica === undefined) return refuse('PRECONDITION_FAILED', `pid ${p.pid} is not in ${ep}`);
  if (p.replicas.length > 1) {
    // The flagged leader of a leaderless partition leads again (recoverDecision): at a term above
    // every known one, so followers a failed failover fenced accept it, recorded in the history.
    if (!replica.isLeader || aliveLeader(p) !== undefined) return refuse('PRECONDITION_FAILED', `pid ${p.pid} has a leader or ${ep} is not its leader`);
    const term = Math.max(currentTerm(p), maxHistoryTerm(p.termOffsets), ctx.observed.maxReportedTerm(ctx.table.tid, p.pid), ctx.reservedTermMax) + 1;
    return planned([{ kind: 'kRestoreLeader', endpoint: ep, term, followers: aliveFollowers(p) }], 'last', data);
  }
  return planned(
    [
      { kind: 'kLoadTable', endpoint: ep, role: 'leader' },
      { kind: 'kUpdatePartitionStatus', endpoint: ep, isLeader: true, isAlive: true },
    ],
    'last',
    data,
  );
}

function planReAdd(type: OpType, ctx: PlanContext, data: Extract<OpData, { kind: 'replica' }>): PlanResult {
  const ep = data.endpoint;
  if (!ctx.observed.isHealthy(ep)) return refuse('TABLET_NOT_HEALTHY', 'tablet is not healthy');
  const replica = replicaOn(ctx.partition, ep);
  if (replica === undefined) return refuse('PRECONDITION_FAILED', `pid ${ctx.partition.pid} is not in ${ep}`);
  // A leader that failed over (`leader no`) is re-added as a follower; only the alive one may not be.
  if (leadsAlive(replica)) return refuse('PRECONDITION_FAILED', `can not re-add leader. pid ${ctx.partition.pid} endpoint ${ep}`);
  const leader = healthyLeader(ctx);
  if (typeof leader !== 'string') return leader;
  const check = { kind: 'kCheckBinlogSyncProgress', endpoint: ep, deltaEntriesMax: ctx.config.syncDeltaEntriesMax, leaderFenced: false } as const;
  const alive = { kind: 'kUpdatePartitionStatus', endpoint: ep, isLeader: false, isAlive: true } as const;
  const pause = { kind: 'kPauseSnapshot', endpoint: leader } as const;
  const send = { kind: 'kSendSnapshot', endpoint: leader, des: ep } as const;
  const load = { kind: 'kLoadTable', endpoint: ep, role: 'follower' } as const;
  const add = { kind: 'kAddReplica', endpoint: leader, follower: ep } as const;
  const recover = { kind: 'kRecoverSnapshot', endpoint: leader } as const;
  let tasks: TaskFields[];
  switch (type) {
    case 'kReAddReplicaOP':
      tasks = [pause, send, load, add, recover, check, alive];
      break;
    case 'kReAddReplicaWithDropOP':
      tasks = [pause, { kind: 'kDropTable', endpoint: ep }, send, load, add, recover, check, alive];
      break;
    case 'kReAddReplicaNoSendOP':
      tasks = [pause, load, add, recover, check, alive];
      break;
    case 'kReAddReplicaSimplifyOP':
      tasks = [add, check, alive];
      break;
    default:
      throw new Error(`${type} is not a re-add op`);
  }
  return planned(tasks, 'last', data);
}

function planRecoverTable(ctx: PlanContext, data: Extract<OpData, { kind: 'recoverTable' }>): PlanResult {
  const ep = data.endpoint;
  if (!ctx.observed.isHealthy(ep)) return refuse('TABLET_NOT_HEALTHY', 'tablet is not healthy');
  const replica = replicaOn(ctx.partition, ep);
  if (replica === undefined) return refuse('PRECONDITION_FAILED', 'pid does not exist');
  if (replica.isAlive && ctx.partition.replicas.length > 1) return refuse('PRECONDITION_FAILED', 'table is alive, need not recover');
  const leader = aliveLeader(ctx.partition);
  const tasks: TaskFields[] = [];
  // The leader must stop replicating to the stale copy before it is rebuilt.
  if (leader !== undefined && leader !== ep) {
    if (!ctx.observed.isHealthy(leader)) return refuse('TABLET_NOT_HEALTHY', `leader[${leader}] is offline. name[${ctx.table.schema.name}] pid[${ctx.partition.pid}]`);
    tasks.push({ kind: 'kDelReplica', endpoint: leader, follower: ep });
  }
  tasks.push({ kind: 'kRecoverTable', endpoint: ep });
  return planned(tasks, 'last', data);
}

function planMakeSnapshot(ctx: PlanContext, data: Extract<OpData, { kind: 'snapshot' }>): PlanResult {
  const leader = healthyLeader(ctx);
  if (typeof leader !== 'string') return leader;
  return planned([{ kind: 'kMakeSnapshot', endpoint: leader, endOffset: data.endOffset }], 'last', data);
}

/** Checks preconditions and returns the task list of an op of `type` on ctx.partition. */
export function planOp(type: OpType, data: OpData, ctx: PlanContext): PlanResult {
  switch (type) {
    case 'kMigrateOP':
      return planMigrate(ctx, dataOf(type, data, 'migrate'));
    case 'kAddReplicaOP':
      return planAddReplica(ctx, dataOf(type, data, 'replica'));
    case 'kDelReplicaOP':
      return planDelReplica(ctx, dataOf(type, data, 'replica'));
    case 'kChangeLeaderOP':
      return planChangeLeader(ctx, dataOf(type, data, 'changeLeader'));
    case 'kOfflineReplicaOP':
      return planOfflineReplica(ctx, dataOf(type, data, 'replica'));
    case 'kUpdatePartitionStatusOP':
      return planUpdatePartitionStatus(ctx, dataOf(type, data, 'partitionStatus'));
    case 'kReLoadTableOP':
      return planReLoadTable(ctx, dataOf(type, data, 'replica'));
    case 'kReAddReplicaOP':
    case 'kReAddReplicaWithDropOP':
    case 'kReAddReplicaNoSendOP':
    case 'kReAddReplicaSimplifyOP':
      return planReAdd(type, ctx, dataOf(type, data, 'replica'));
    case 'kRecoverTableOP':
      return planRecoverTable(ctx, dataOf(type, data, 'recoverTable'));
    case 'kMakeSnapshotOP':
      return planMakeSnapshot(ctx, dataOf(type, data, 'snapshot'));
    case 'kRepairPartitionOP': {
      // Re-derived from what the tablets report now; nothing left to do is a done op.
      const repair = repairPlan(ctx.table, ctx.partition, ctx.observed);
      return { ok: true, tasks: repair.tasks.map(newTask), commitTaskIndex: Math.max(0, repair.tasks.length - 1), data: { kind: 'repair', reasons: repair.reasons } };
    }
    case 'kFailoverEndpointOP':
      // Planned by bulk-failover.ts over many partitions; not re-planned here.
      return { ok: true, tasks: [], commitTaskIndex: 0, data };
    case 'kScaleInOP':
      // A parent has no tasks of its own; the engine drives it from its children (parent.ts).
      return { ok: true, tasks: [], commitTaskIndex: 0, data };
  }
}
