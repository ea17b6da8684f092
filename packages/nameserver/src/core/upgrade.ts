/**
 * The rolling-upgrade pair of OpenMLDB's ops tool (`openmldb_ops.py --cmd=pre-upgrade` /
 * `post-upgrade`), planned on the op engine. Each call plans ONE step per partition from the
 * current metadata and observations and returns the ops to create, a line per partition, and
 * whether nothing is left; ns_client repeats the call, waiting for the ops in between, until it
 * is done. The record of what pre-upgrade did lives in the partition meta (restore.ts):
 * `formerLeaders` (leaderships moved away) and `tempReplicas` (replicas added), so a rerun, a
 * nameserver failover between the calls or a post-upgrade from another host all see it.
 *
 * pre-upgrade <ep>, per partition with an alive replica on ep:
 *   1. too few copies would stay in sync while ep is down (replica_ack=all: the leader and one
 *      in-sync follower, what the tablets' default min_in_sync_replicas=2 needs; otherwise one
 *      alive follower to lead) → addreplica of a temporary replica on the healthy tablet holding
 *      the fewest replicas; a temporary replica not yet in sync → wait for it;
 *   2. ep leads → hand-over changeleader to the best in-sync follower, ep recorded in formerLeaders.
 * post-upgrade <ep>, per partition with a replica on ep:
 *   1. ep's replica is not alive → recovertable of it;
 *   2. ep led it before (formerLeaders) or a temporary replica leads → once ep is in sync,
 *      hand-over changeleader back to ep;
 *   3. temporary replicas left → delreplica of them.
 * Pure: no I/O.
 */
import type { Endpoint, PartitionMeta, TableInfo } from '@tessera/common';
import { LIMITS } from '@tessera/common';
import type { AdminPlan, AdminView, OpRequest } from './admin.js';
import { knownEndpoint } from './admin.js';
import type { OpData, OpType } from './op.js';
import { aliveFollowers, aliveLeader, replicaOn } from './partition.js';
import { planOp } from './plan.js';
import { changeLeaderTo, ledBefore } from './restore.js';

/**
 * Copies (leader included) a replica_ack=all partition must keep in sync while the upgraded
 * tablet is down: the tablets' default `min_in_sync_replicas` (a leader with no in-sync follower
 * left would refuse such writes).
 */
export const UPGRADE_IN_SYNC_COPIES_MIN = 2;
/** replica_ack=leader tables: entries the tablet may lag its leader before leadership goes back. */
export const UPGRADE_CATCH_UP_ENTRIES_MAX = 100;

interface Step {
  ops: OpRequest[];
  lines: string[];
  /** Something is left to do (an op was created or the partition waits). */
  pending: boolean;
}

const label = (t: TableInfo, p: PartitionMeta): string => `${t.schema.name} pid ${p.pid}`;

function tryOp(view: AdminView, table: TableInfo, p: PartitionMeta, type: OpType, data: OpData, what: string, step: Step): void {
  const plan = planOp(type, data, { table, partition: p, observed: view.observed, config: view.config, random: view.random, reservedTermMax: view.reservedTermMax(table.tid, p.pid) });
  step.pending = true;
  if (!plan.ok) {
    step.lines.push(`${label(table, p)}: cannot ${what} yet: ${plan.error.message}`);
    return;
  }
  step.ops.push({ type, tid: table.tid, pid: p.pid, db: table.schema.db, name: table.schema.name, data: plan.data, tasks: plan.tasks, commitTaskIndex: plan.commitTaskIndex });
  step.lines.push(`${label(table, p)}: ${what}`);
}

/** Healthy followers other than `ep` whose copy counts as in sync (any alive one without replica_ack=all). */
function syncedFollowers(view: AdminView, table: TableInfo, p: PartitionMeta, ep: Endpoint): Endpoint[] {
  return aliveFollowers(p).filter((e) => e !== ep && view.observed.isHealthy(e) && (table.replicaAck !== 'all' || p.inSync.includes(e)));
}

/** Replicas per healthy tablet, to put a temporary replica where there are fewest. */
function replicaCounts(view: AdminView): Map<Endpoint, number> {
  const counts = new Map<Endpoint, number>(view.observed.healthyEndpoints().map((e) => [e, 0]));
  for (const t of view.tables) for (const p of t.partitions) for (const r of p.replicas) if (counts.has(r.endpoint)) counts.set(r.endpoint, counts.get(r.endpoint)! + 1);
  return counts;
}

function checkEndpoint(view: AdminView, ep: Endpoint): AdminPlan | undefined {
  if (!knownEndpoint(view, ep)) return { ok: false, error: { code: 'TABLET_NOT_HEALTHY', message: 'endpoint does not exist' } };
  if (!view.observed.isHealthy(ep)) return { ok: false, error: { code: 'TABLET_NOT_HEALTHY', message: 'tablet is not healthy' } };
  return undefined;
}

function partitionsOn(view: AdminView, ep: Endpoint): Array<{ table: TableInfo; p: PartitionMeta }> {
  const out: Array<{ table: TableInfo; p: PartitionMeta }> = [];
  for (const table of [...view.tables].sort((a, b) => a.tid - b.tid)) {
    for (const p of [...table.partitions].sort((a, b) => a.pid - b.pid)) if (replicaOn(p, ep) !== undefined) out.push({ table, p });
  }
  return out;
}

function finish(step: Step, message: string): AdminPlan {
  return { ok: true, message, ops: step.ops, data: { done: !step.pending, steps: step.lines } };
}

export function planPreUpgrade(ep: Endpoint, view: AdminView): AdminPlan {
  const bad = checkEndpoint(view, ep);
  if (bad !== undefined) return bad;
  const step: Step = { ops: [], lines: [], pending: false };
  const counts = replicaCounts(view);
  for (const { table, p } of partitionsOn(view, ep)) {
    if (!replicaOn(p, ep)!.isAlive) continue;
    if (view.busy(table.tid, p.pid)) {
      step.pending = true;
      step.lines.push(`${label(table, p)}: waiting for its running op`);
      continue;
    }
    const leader = aliveLeader(p);
    if (leader === undefined) {
      step.lines.push(`${label(table, p)}: skipped, no alive leader`);
      continue;
    }
    const synced = syncedFollowers(view, table, p, ep);
    const copies = synced.length + (leader === ep ? 0 : 1);
    const copiesMin = table.replicaAck === 'all' ? UPGRADE_IN_SYNC_COPIES_MIN : 1;
    if (copies < copiesMin) {
      const catchingUp = (p.tempReplicas ?? []).filter((e) => replicaOn(p, e) !== undefined && !synced.includes(e));
      if (catchingUp.length > 0) {
        step.pending = true;
        step.lines.push(`${label(table, p)}: waiting for temporary replica ${catchingUp.join(',')} to be in sync`);
        continue;
      }
      const target = [...counts.entries()]
        .filter(([e]) => e !== ep && replicaOn(p, e) === undefined)
        .sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))[0]?.[0];
      if (target === undefined || p.replicas.length >= LIMITS.replicasMax) {
        step.lines.push(`${label(table, p)}: skipped, no tablet to add a temporary replica to`);
        continue;
      }
      counts.set(target, counts.get(target)! + 1);
      tryOp(view, table, p, 'kAddReplicaOP', { kind: 'replica', endpoint: target, temporary: true }, `addreplica ${target} (temporary)`, step);
      continue;
    }
    if (leader === ep) {
      tryOp(view, table, p, 'kChangeLeaderOP', changeLeaderTo(null, true), `changeleader away from ${ep}`, step);
      continue;
    }
    step.lines.push(`${label(table, p)}: ready (${ep} does not lead it)`);
  }
  return finish(step, step.pending ? 'pre-upgrade in progress' : 'pre-upgrade ok');
}

/** The tablet's replica may take the leadership back without a long fence. */
function caughtUp(view: AdminView, table: TableInfo, p: PartitionMeta, ep: Endpoint, leader: Endpoint): boolean {
  if (!view.observed.isHealthy(ep) || replicaOn(p, ep)?.isAlive !== true) return false;
  if (table.replicaAck === 'all') return p.inSync.includes(ep);
  const mine = view.observed.replica(ep, table.tid, p.pid);
  const theirs = view.observed.replica(leader, table.tid, p.pid);
  return mine !== undefined && theirs !== undefined && theirs.offset - mine.offset <= UPGRADE_CATCH_UP_ENTRIES_MAX;
}

export function planPostUpgrade(ep: Endpoint, view: AdminView): AdminPlan {
  const bad = checkEndpoint(view, ep);
  if (bad !== undefined) return bad;
  const step: Step = { ops: [], lines: [], pending: false };
  for (const { table, p } of partitionsOn(view, ep)) {
    const temps = (p.tempReplicas ?? []).filter((e) => replicaOn(p, e) !== undefined);
    const leader = aliveLeader(p);
    const giveBack = leader !== ep && (ledBefore(p, ep) || (leader !== undefined && temps.includes(leader)));
    if (!giveBack && temps.length === 0 && replicaOn(p, ep)!.isAlive) continue;
    if (view.busy(table.tid, p.pid)) {
      step.pending = true;
      step.lines.push(`${label(table, p)}: waiting for its running op`);
      continue;
    }
    if (!replicaOn(p, ep)!.isAlive) {
      tryOp(view, table, p, 'kRecoverTableOP', { kind: 'recoverTable', endpoint: ep, childOpId: null }, `recovertable ${ep}`, step);
      continue;
    }
    if (giveBack) {
      if (leader === undefined) {
        step.pending = true;
        step.lines.push(`${label(table, p)}: waiting for an alive leader`);
      } else if (!caughtUp(view, table, p, ep, leader)) {
        step.pending = true;
        step.lines.push(`${label(table, p)}: waiting for ${ep} to be in sync`);
      } else {
        tryOp(view, table, p, 'kChangeLeaderOP', changeLeaderTo(ep), `changeleader back to ${ep}`, step);
      }
      continue;
    }
    const temp = temps.find((e) => e !== leader)!;
    tryOp(view, table, p, 'kDelReplicaOP', { kind: 'replica', endpoint: temp }, `delreplica ${temp} (temporary)`, step);
  }
  return finish(step, step.pending ? 'post-upgrade in progress' : 'post-upgrade ok');
}
