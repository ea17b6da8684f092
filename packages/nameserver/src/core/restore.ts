/**
 * Leaderships to give back (OpenMLDB's need_restore). A partition's meta records in
 * `formerLeaders` the tablets whose leadership was taken away — by a failover, offlineendpoint or
 * a dead-leader changeleader (OpenMLDB keeps that row as `leader no`), or by `pre-upgrade`, which
 * moves it away from a live tablet — and in `tempReplicas` the replicas `pre-upgrade` added.
 * This module keeps both records and plans the restore step of `recoverendpoint <ep> true`: for
 * each partition the tablet led, a hand-over ChangeLeader op back to it, queued right behind the
 * recovery of its replica. The engine starts waiting ops of a partition in (parent id, id) order,
 * so the recovery and the re-add op it spawns run first; the ChangeLeader is planned when it
 * starts (a tablet still not an alive follower then makes it end kFailed with the reason). The
 * hand-over fences the leader only until the tablet has caught up, so no acknowledged write is
 * lost and no client call fails. Pure: no I/O.
 */
import type { Endpoint, PartitionMeta, TableInfo } from '@tessera/common';
import type { AdminView, OpRequest } from './admin.js';
import type { Op, OpData } from './op.js';
import { clonePartition, replicaOn } from './partition.js';
import { planOp } from './plan.js';

/** `p` with `endpoint` recorded as a leadership to give back (once). */
export function withFormerLeader(p: PartitionMeta, endpoint: Endpoint): PartitionMeta {
  if ((p.formerLeaders ?? []).includes(endpoint)) return p;
  const out = clonePartition(p);
  out.formerLeaders = [...(p.formerLeaders ?? []), endpoint];
  return out;
}

/** `p` with `endpoint` recorded as a temporary replica (pre-upgrade's addreplica). */
export function withTempReplica(p: PartitionMeta, endpoint: Endpoint): PartitionMeta {
  if ((p.tempReplicas ?? []).includes(endpoint)) return p;
  const out = clonePartition(p);
  out.tempReplicas = [...(p.tempReplicas ?? []), endpoint];
  return out;
}

/** The op is pre-upgrade's addreplica of a temporary replica. */
export function isTemporaryAdd(op: Op): boolean {
  return op.type === 'kAddReplicaOP' && op.data.kind === 'replica' && op.data.temporary === true;
}

/**
 * `endpoint` led the partition before its leadership was taken away: recorded in formerLeaders,
 * or (should the role column keep a failed-over leader as `leader`) flagged leader but not alive
 * while another replica exists.
 */
export function ledBefore(p: PartitionMeta, endpoint: Endpoint): boolean {
  if ((p.formerLeaders ?? []).includes(endpoint)) return true;
  const r = replicaOn(p, endpoint);
  return r !== undefined && r.isLeader && !r.isAlive && p.replicas.length > 1;
}

/** A ChangeLeader op data asking for `candidate`, or the best follower when null (a hand-over when the leader is alive). */
export function changeLeaderTo(candidate: Endpoint | null, remember = false): OpData {
  return {
    kind: 'changeLeader',
    request: candidate === null ? 'auto' : 'candidate',
    candidate,
    oldLeader: null,
    oldTerm: 0,
    handOver: false,
    followersBefore: [],
    selected: null,
    ...(remember ? { remember: true } : {}),
  };
}

/**
 * The restore op of one partition for `recoverendpoint <endpoint> true`, or undefined when the
 * tablet did not lead it. `afterRecovery`: a recovery op of the replica is queued before it, so it
 * is planned when it starts; otherwise (the replica is already an alive follower, e.g. recovered
 * by the failover monitor) it is planned now and left out if refused.
 */
export function restoreLeaderOp(table: TableInfo, p: PartitionMeta, endpoint: Endpoint, view: AdminView, afterRecovery: boolean): OpRequest | undefined {
  if (p.replicas.length <= 1 || !ledBefore(p, endpoint)) return undefined;
  const base = { type: 'kChangeLeaderOP' as const, tid: table.tid, pid: p.pid, db: table.schema.db, name: table.schema.name };
  if (afterRecovery) return { ...base, data: changeLeaderTo(endpoint), tasks: [], commitTaskIndex: 0 };
  const r = replicaOn(p, endpoint);
  if (r === undefined || r.isLeader) return undefined;
  const plan = planOp('kChangeLeaderOP', changeLeaderTo(endpoint), {
    table,
    partition: p,
    observed: view.observed,
    config: view.config,
    random: view.random,
    reservedTermMax: view.reservedTermMax(table.tid, p.pid),
  });
  if (!plan.ok) return undefined;
  return { ...base, data: plan.data, tasks: plan.tasks, commitTaskIndex: plan.commitTaskIndex };
}
