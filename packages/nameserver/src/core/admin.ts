/**
 * Admin commands that create ops (migrate, addreplica, delreplica, changeleader, makesnapshot,
 * offlineendpoint, recoverendpoint, recovertable), as pure functions from the command and the
 * engine's view to either the ops to create or a refusal with OpenMLDB's text (openmldb.md §3.4).
 * Every pid is checked before any op is created: a command creates all its ops or none.
 * pre-upgrade/post-upgrade plan one step of a rolling upgrade (upgrade.ts). Which of these
 * commands run while auto_failover is on is decided in failover-gate.ts (the route applies it).
 */
import { currentTerm, openmldbText, type Endpoint, type ErrorCode, type PartitionMeta, type Pid, type TableInfo } from '@tessera/common';
import type { EngineConfig } from './config.js';
import { TASK_CONCURRENCY_MAX } from './config.js';
import type { AdminCommand, ReplyError } from './events.js';
import type { ObservedView } from './observed.js';
import type { Op, OpData, OpOrigin, OpType, Task } from './op.js';
import { aliveLeader, partitionOf, replicaOn } from './partition.js';
import { planOp } from './plan.js';
import type { Random } from './random.js';
import { restoreLeaderOp } from './restore.js';
import { planLeaderMigrate } from './leader-migrate.js';
import { planApply, planRebalance } from './rebalance.js';
import { planScaleIn } from './scalein.js';
import { planPostUpgrade, planPreUpgrade } from './upgrade.js';

/** An op to create, already planned against current metadata. */
export interface OpRequest {
  type: OpType;
  tid: number;
  pid: Pid;
  db: string;
  name: string;
  data: OpData;
  tasks: Task[];
  commitTaskIndex: number;
  /** Priority class when the type does not say it (schedule.ts). */
  origin?: OpOrigin;
}

export interface AdminView {
  tables: Iterable<TableInfo>;
  observed: ObservedView;
  config: EngineConfig;
  random: Random;
  /** Highest term known ops reserved or sent for the partition. */
  reservedTermMax(tid: number, pid: Pid): number;
  /** Whether an unfinished op holds the partition. */
  busy(tid: number, pid: Pid): boolean;
  /** Every op known (unfinished and finished); absent where no planner needs it. */
  ops?(): Iterable<Op>;
}

/** `data`: more fields of the reply besides the created ops' ids (pre-/post-upgrade's progress). */
export type AdminPlan = { ok: true; message: string; ops: OpRequest[]; data?: Record<string, unknown> } | { ok: false; error: ReplyError };

export type OpCreatingCommand = Extract<
  AdminCommand,
  { type: 'migrate' | 'addreplica' | 'delreplica' | 'changeleader' | 'makesnapshot' | 'offlineendpoint' | 'recoverendpoint' | 'recovertable' | 'preupgrade' | 'postupgrade' | 'scalein' | 'rebalanceplan' | 'applyplan' }
>;

export const OP_CREATING_COMMANDS: ReadonlySet<AdminCommand['type']> = new Set([
  'migrate',
  'addreplica',
  'delreplica',
  'changeleader',
  'makesnapshot',
  'offlineendpoint',
  'recoverendpoint',
  'recovertable',
  'preupgrade',
  'postupgrade',
  'scalein',
  'rebalanceplan',
  'applyplan',
]);

const refuse = (code: ErrorCode, message: string): AdminPlan => ({ ok: false, error: { code, message } });

export function findTable(tables: Iterable<TableInfo>, db: string, name: string): TableInfo | undefined {
  for (const t of tables) if (t.schema.db === db && t.schema.name === name) return t;
  return undefined;
}

function isPid(value: unknown): value is Pid {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** Plans one op per (table, pid); the first refusal wins and nothing is created. */
function planEach(view: AdminView, table: TableInfo, pids: readonly Pid[], type: OpType, data: (p: PartitionMeta) => OpData, message: string): AdminPlan {
  const ops: OpRequest[] = [];
  for (const pid of [...new Set(pids)].sort((a, b) => a - b)) {
    const partition = partitionOf(table, pid);
    if (partition === undefined) return refuse('INVALID_ARGUMENT', 'invalid parameter');
    const planned = planRequest(view, table, partition, type, data(partition));
    if (!planned.ok) return planned;
    ops.push(planned.request);
  }
  return { ok: true, message, ops };
}

/** One op on one partition, planned against current metadata (plan.ts), as a request to create. */
function planRequest(view: AdminView, table: TableInfo, partition: PartitionMeta, type: OpType, data: OpData): { ok: true; request: OpRequest } | { ok: false; error: ReplyError } {
  const plan = planOp(type, data, { table, partition, observed: view.observed, config: view.config, random: view.random, reservedTermMax: view.reservedTermMax(table.tid, partition.pid) });
  if (!plan.ok) return { ok: false, error: plan.error };
  return { ok: true, request: { type, tid: table.tid, pid: partition.pid, db: table.schema.db, name: table.schema.name, data: plan.data, tasks: plan.tasks, commitTaskIndex: plan.commitTaskIndex } };
}

/**
 * offlineendpoint's and recoverendpoint's common start: the endpoint is known (and healthy, for
 * a recovery), the concurrency in range; then every partition with a replica on the endpoint
 * that no unfinished op holds, tables by tid.
 */
function endpointPartitions(
  view: AdminView, endpoint: Endpoint, concurrency: number | undefined, mustBeHealthy: boolean,
): { ok: true; found: Array<{ table: TableInfo; partition: PartitionMeta; replica: NonNullable<ReturnType<typeof replicaOn>> }> } | { ok: false; error: ReplyError } {
  if (!knownEndpoint(view, endpoint)) return { ok: false, error: { code: 'TABLET_NOT_HEALTHY', message: 'endpoint does not exist' } };
  if (mustBeHealthy && !view.observed.isHealthy(endpoint)) return { ok: false, error: { code: 'TABLET_NOT_HEALTHY', message: 'tablet is not healthy' } };
  const bad = checkConcurrency(concurrency);
  if (bad !== undefined && !bad.ok) return bad;
  const found = [];
  for (const table of [...view.tables].sort((a, b) => a.tid - b.tid)) {
    for (const partition of table.partitions) {
      const replica = replicaOn(partition, endpoint);
      if (replica !== undefined && !view.busy(table.tid, partition.pid)) found.push({ table, partition, replica });
    }
  }
  return { ok: true, found };
}

function pidList(pids: unknown): Pid[] | undefined {
  if (!Array.isArray(pids) || pids.length === 0 || !pids.every(isPid)) return undefined;
  return pids as Pid[];
}

function tableOf(view: AdminView, db: string, name: string): TableInfo | AdminPlan {
  const table = findTable(view.tables, db, name);
  return table ?? refuse('TABLE_NOT_FOUND', openmldbText('tableNotExist'));
}

/** The endpoint is a tablet the engine has seen, or holds a replica in metadata (OpenMLDB's tablets_). */
export function knownEndpoint(view: Pick<AdminView, 'tables' | 'observed'>, endpoint: Endpoint): boolean {
  if (view.observed.healthSinceMs(endpoint) !== undefined) return true;
  for (const t of view.tables) for (const p of t.partitions) if (replicaOn(p, endpoint) !== undefined) return true;
  return false;
}

/** Checks and plans an op-creating admin command. */
export function planAdminCommand(command: OpCreatingCommand, view: AdminView): AdminPlan {
  switch (command.type) {
    case 'migrate': {
      if (command.src === command.des) return refuse('INVALID_ARGUMENT', 'migrate error. src_endpoint is same as des_endpoint');
      if (!view.observed.isHealthy(command.src)) return refuse('TABLET_NOT_HEALTHY', 'src_endpoint does not exist or not healthy');
      if (!view.observed.isHealthy(command.des)) return refuse('TABLET_NOT_HEALTHY', 'des_endpoint does not exist or not healthy');
      const table = tableOf(view, command.db, command.name);
      if (!('tid' in table)) return table;
      const pids = pidList(command.pids);
      if (pids === undefined) return refuse('INVALID_ARGUMENT', 'invalid parameter');
      const bad = pids.find((pid) => pid >= table.partitionNum);
      // OpenMLDB finds no leader for a pid the table does not have, and says so.
      if (bad !== undefined) return refuse('INVALID_ARGUMENT', openmldbText('leaderEndpointEmpty', command.name, bad));
      // A leader replica moves as a chain: addreplica, hand-over changeleader, delreplica (leader-migrate.ts).
      const leaderPids = pids.filter((pid) => aliveLeader(partitionOf(table, pid)!) === command.src);
      const followerPids = pids.filter((pid) => !leaderPids.includes(pid));
      const plan = followerPids.length === 0 ? { ok: true as const, message: 'partition migrate ok', ops: [] } : planEach(view, table, followerPids, 'kMigrateOP', () => ({ kind: 'migrate', src: command.src, des: command.des }), 'partition migrate ok');
      if (!plan.ok) return plan;
      for (const pid of leaderPids) {
        const chain = planLeaderMigrate(table, partitionOf(table, pid)!, command.src, command.des, view);
        if (!chain.ok) return { ok: false, error: chain.error };
        plan.ops.push(...chain.ops);
      }
      return plan;
    }
    case 'addreplica': {
      const table = tableOf(view, command.db, command.name);
      if (!('tid' in table)) return table;
      if (!view.observed.isHealthy(command.endpoint)) return refuse('TABLET_NOT_HEALTHY', 'tablet is not healthy');
      const pids = pidList(command.pids);
      if (pids === undefined || pids.some((pid) => pid >= table.partitionNum)) return refuse('INVALID_ARGUMENT', 'invalid parameter');
      return planEach(view, table, pids, 'kAddReplicaOP', () => ({ kind: 'replica', endpoint: command.endpoint }), 'AddReplica ok');
    }
    case 'delreplica': {
      const table = tableOf(view, command.db, command.name);
      if (!('tid' in table)) return table;
      if (!view.observed.isHealthy(command.endpoint)) return refuse('TABLET_NOT_HEALTHY', 'tablet is not healthy');
      const pids = pidList(command.pids);
      if (pids === undefined) return refuse('INVALID_ARGUMENT', 'invalid parameter');
      if (pids.some((pid) => pid >= table.partitionNum)) return refuse('INVALID_ARGUMENT', 'max pid is greater than partition size');
      return planEach(view, table, pids, 'kDelReplicaOP', () => ({ kind: 'replica', endpoint: command.endpoint }), 'DelReplica ok');
    }
    case 'changeleader': {
      const table = tableOf(view, command.db, command.name);
      if (!('tid' in table)) return table;
      if (!isPid(command.pid) || command.pid >= table.partitionNum) return refuse('INVALID_ARGUMENT', 'pid does not exist');
      const request = command.candidate !== undefined ? 'candidate' : command.auto === true ? 'auto' : 'deadLeader';
      const partition = partitionOf(table, command.pid)!;
      const handOver = aliveLeader(partition) !== undefined && request !== 'deadLeader';
      const message = handOver
        ? 'change leader ok. Leadership is handed over after the candidate caught up; no acknowledged write is lost.'
        : 'change leader ok. If there are writing operations while changing a leader, it may cause data loss.';
      return planEach(
        view,
        table,
        [command.pid],
        'kChangeLeaderOP',
        () => ({
          kind: 'changeLeader',
          request,
          candidate: command.candidate ?? null,
          oldLeader: null,
          oldTerm: 0,
          handOver: false,
          followersBefore: [],
          selected: null,
        }),
        message,
      );
    }
    case 'makesnapshot': {
      const table = tableOf(view, command.db, command.name);
      if (!('tid' in table)) return table;
      if (!isPid(command.pid) || command.pid >= table.partitionNum) return refuse('INVALID_ARGUMENT', 'pid does not exist');
      return planEach(view, table, [command.pid], 'kMakeSnapshotOP', () => ({ kind: 'snapshot', endOffset: null }), 'MakeSnapshot ok');
    }
    case 'recovertable': {
      if (!knownEndpoint(view, command.endpoint)) return refuse('TABLET_NOT_HEALTHY', 'endpoint does not exist');
      if (!view.observed.isHealthy(command.endpoint)) return refuse('TABLET_NOT_HEALTHY', 'tablet is not healthy');
      const table = tableOf(view, command.db, command.name);
      if (!('tid' in table)) return table;
      if (!isPid(command.pid) || command.pid >= table.partitionNum) return refuse('INVALID_ARGUMENT', 'pid does not exist');
      return planEach(view, table, [command.pid], 'kRecoverTableOP', () => ({ kind: 'recoverTable', endpoint: command.endpoint, childOpId: null }), 'recover table ok');
    }
    case 'offlineendpoint':
      return planOffline(command.endpoint, command.concurrency, view);
    case 'recoverendpoint':
      return planRecoverEndpoint(command.endpoint, command.needRestore, command.concurrency, view);
    case 'preupgrade':
      return planPreUpgrade(command.endpoint, view);
    case 'postupgrade':
      return planPostUpgrade(command.endpoint, view);
    case 'scalein':
      return planScaleIn(command.endpoints, command.dryRun === true, view);
    case 'rebalanceplan':
      return planRebalance({ tables: command.tables, db: command.db, destinations: command.destinations, scaleout: command.scaleout }, view);
    case 'applyplan':
      return planApply(command.moves, view);
  }
}

function checkConcurrency(concurrency: number | undefined): AdminPlan | undefined {
  if (concurrency === undefined) return undefined;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > TASK_CONCURRENCY_MAX) return refuse('INVALID_ARGUMENT', 'invalid parameter');
  return undefined;
}

/**
 * offlineendpoint: per partition with an alive replica on the endpoint — its only replica →
 * UpdatePartitionStatus(not alive); its leader (or no alive leader) → ChangeLeader treating it as
 * dead; a follower → OfflineReplica. Like OpenMLDB, it does not check that the tablet is down.
 * Where that op cannot be planned (no alive follower on a healthy tablet to lead, or a follower
 * whose leader is offline too) the replica is still marked not alive (UpdatePartitionStatus,
 * keeping its leader flag: `leader no`, as OpenMLDB does for a leader without an alive follower):
 * metadata never keeps a replica on a lost tablet alive, and a partition left without a candidate
 * is leaderless and says so. A partition an unfinished op holds is skipped: the failover monitor
 * runs offlineendpoint again (level-triggered) while a lost tablet still holds alive replicas.
 */
export function planOffline(endpoint: Endpoint, concurrency: number | undefined, view: AdminView): AdminPlan {
  const candidates = endpointPartitions(view, endpoint, concurrency, false);
  if (!candidates.ok) return candidates;
  const ops: OpRequest[] = [];
  for (const { table, partition, replica } of candidates.found) {
    if (!replica.isAlive) continue;
    const markDown: OpData = { kind: 'partitionStatus', endpoint, isLeader: replica.isLeader, isAlive: false };
    let type: OpType;
    let data: OpData;
    if (partition.replicas.length === 1) {
      type = 'kUpdatePartitionStatusOP';
      data = markDown;
    } else if (replica.isLeader || aliveLeader(partition) === undefined) {
      type = 'kChangeLeaderOP';
      data = { kind: 'changeLeader', request: 'offline', candidate: null, oldLeader: null, oldTerm: 0, handOver: false, followersBefore: [], selected: null };
    } else {
      type = 'kOfflineReplicaOP';
      data = { kind: 'replica', endpoint };
    }
    let planned = planRequest(view, table, partition, type, data);
    if (!planned.ok && type !== 'kUpdatePartitionStatusOP') planned = planRequest(view, table, partition, 'kUpdatePartitionStatusOP', markDown);
    if (planned.ok) ops.push(planned.request);
  }
  return { ok: true, message: 'offline endpoint ok', ops };
}

/**
 * recoverendpoint: a RecoverTable op for every partition whose replica on the endpoint is not
 * alive. A partition an unfinished op holds (e.g. the failover still taking the replica offline)
 * is left for a later recoverendpoint — the failover monitor repeats it while replicas on a
 * healthy tablet are not alive — rather than judged on metadata that op is about to change.
 */
export function planRecoverEndpoint(endpoint: Endpoint, needRestore: boolean | undefined, concurrency: number | undefined, view: AdminView): AdminPlan {
  const candidates = endpointPartitions(view, endpoint, concurrency, true);
  if (!candidates.ok) return candidates;
  const ops: OpRequest[] = [];
  for (const { table, partition, replica } of candidates.found) {
    // A leaderless partition is recovered from its last leader first (the flagged leader that
    // reports the partition's current term; recoverDecision): any other replica's recovery has
    // no leader to follow, fails, and while it runs it keeps that leader's recovery out of the
    // partition (one op per partition). Left for a later recoverendpoint.
    if (!replica.isAlive && partition.replicas.length > 1 && aliveLeader(partition) === undefined
      && !(replica.isLeader && view.observed.replica(endpoint, table.tid, partition.pid)?.term === currentTerm(partition))) continue;
    if (replica.isAlive && partition.replicas.length > 1) {
      // need_restore on a replica already recovered (e.g. by the failover monitor): only the hand-back.
      const restore = needRestore === true ? restoreLeaderOp(table, partition, endpoint, view, false) : undefined;
      if (restore !== undefined) ops.push(restore);
      continue;
    }
    const planned = planRequest(view, table, partition, 'kRecoverTableOP', { kind: 'recoverTable', endpoint, childOpId: null });
    if (!planned.ok) continue;
    ops.push(planned.request);
    // need_restore: the hand-back is queued right behind the recovery (restore.ts).
    const restore = needRestore === true ? restoreLeaderOp(table, partition, endpoint, view, true) : undefined;
    if (restore !== undefined) ops.push(restore);
  }
  return { ok: true, message: 'recover endpoint ok', ops };
}
