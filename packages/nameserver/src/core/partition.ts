/**
 * Pure reads and edits of one partition's metadata (replicas, term history, in-sync set). Edits
 * return a new PartitionMeta and keep two rules: at most one alive replica flagged leader, and the
 * in-sync set holds only alive followers. As in OpenMLDB a leader that failed over keeps its flag
 * with is_alive false (`leader no` in showtable, next to the new `leader yes`) until recovery makes
 * it a follower; only an alive leader leads. Also OpenMLDB's term/offset matching for recovery.
 */
import type { Endpoint, Offset, PartitionMeta, ReplicaMeta, TableInfo, Term, TermPair } from '@tessera/common';
import { currentTerm } from '@tessera/common';

export function clonePartition(p: PartitionMeta): PartitionMeta {
  return {
    pid: p.pid,
    replicas: p.replicas.map((r) => ({ ...r })),
    termOffsets: p.termOffsets.map((t) => ({ ...t })),
    inSync: [...p.inSync],
    ...(p.formerLeaders === undefined ? {} : { formerLeaders: [...p.formerLeaders] }),
    ...(p.tempReplicas === undefined ? {} : { tempReplicas: [...p.tempReplicas] }),
  };
}

/** `list` without `endpoint`; the field is dropped when nothing is left (absent = none). */
function withoutEntry(p: PartitionMeta, field: 'formerLeaders' | 'tempReplicas', endpoint: Endpoint): void {
  const left = (p[field] ?? []).filter((e) => e !== endpoint);
  if (left.length === 0) delete p[field];
  else p[field] = left;
}

export function partitionOf(table: TableInfo, pid: number): PartitionMeta | undefined {
  return table.partitions.find((p) => p.pid === pid);
}

export function replicaOn(p: PartitionMeta, endpoint: Endpoint): ReplicaMeta | undefined {
  return p.replicas.find((r) => r.endpoint === endpoint);
}

/** The replica flagged leader: the alive one, else one not alive (a leader that failed over). */
export function leaderEntry(p: PartitionMeta): ReplicaMeta | undefined {
  return p.replicas.find((r) => r.isLeader && r.isAlive) ?? p.replicas.find((r) => r.isLeader);
}

/** Whether the replica is the partition's alive leader (a `leader no` row is not). */
export function leadsAlive(r: ReplicaMeta): boolean {
  return r.isLeader && r.isAlive;
}

/** The alive leader's endpoint, if any. */
export function aliveLeader(p: PartitionMeta): Endpoint | undefined {
  return p.replicas.find((r) => r.isLeader && r.isAlive)?.endpoint;
}

/** Alive replicas that are not the leader, in metadata order. */
export function aliveFollowers(p: PartitionMeta): Endpoint[] {
  return p.replicas.filter((r) => !r.isLeader && r.isAlive).map((r) => r.endpoint);
}

function normalized(p: PartitionMeta, added: readonly Endpoint[] = []): PartitionMeta {
  const alive = new Set(aliveFollowers(p));
  const inSync = [...p.inSync, ...added.filter((e) => !p.inSync.includes(e))].filter((e) => alive.has(e));
  return { ...p, inSync };
}

/**
 * Adds the replica, or updates its flags if present. A new alive leader un-flags the previous
 * alive one; leaders not alive keep their flag (OpenMLDB's `leader no`).
 */
export function withReplica(p: PartitionMeta, endpoint: Endpoint, flags: { isLeader: boolean; isAlive: boolean }, inSync = false): PartitionMeta {
  const out = clonePartition(p);
  if (flags.isLeader && flags.isAlive) for (const r of out.replicas) if (r.endpoint !== endpoint && r.isAlive) r.isLeader = false;
  const existing = replicaOn(out, endpoint);
  if (existing === undefined) out.replicas.push({ endpoint, ...flags });
  else Object.assign(existing, flags);
  // A tablet that leads again has its leadership back: nothing left to restore to it.
  if (flags.isLeader && flags.isAlive) withoutEntry(out, 'formerLeaders', endpoint);
  return normalized(out, inSync && !flags.isLeader && flags.isAlive ? [endpoint] : []);
}

export function withoutReplica(p: PartitionMeta, endpoint: Endpoint): PartitionMeta {
  const out = clonePartition(p);
  out.replicas = out.replicas.filter((r) => r.endpoint !== endpoint);
  withoutEntry(out, 'formerLeaders', endpoint);
  withoutEntry(out, 'tempReplicas', endpoint);
  return normalized(out);
}

/** Appends `{ term, offset }` unless the history already reaches `term`. */
export function withTerm(p: PartitionMeta, term: Term, offset: Offset): PartitionMeta {
  if (currentTerm(p) >= term) return p;
  const out = clonePartition(p);
  const lastOffset = out.termOffsets.length === 0 ? 0 : out.termOffsets[out.termOffsets.length - 1]!.offset;
  out.termOffsets.push({ term, offset: Math.max(offset, lastOffset) });
  return out;
}

/** Structural equality of two partitions' metadata (replica order matters: it is what is stored). */
export function samePartition(a: PartitionMeta, b: PartitionMeta): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Highest term in the history; 0 for an empty one. */
export function maxHistoryTerm(history: readonly TermPair[]): Term {
  return history.reduce((m, t) => Math.max(m, t.term), 0);
}

/**
 * OpenMLDB's MatchTermOffset: may a replica whose last entry is (term, offset) continue from the
 * leader's binlog? Yes when its term is in the history and its entries end before the next term
 * begins; no for an unknown term or a tail that reaches into a later term (diverged).
 */
export function matchTermOffset(history: readonly TermPair[], term: Term, offset: Offset): boolean {
  const index = history.findIndex((t) => t.term === term);
  if (index < 0) return false;
  const next = history[index + 1];
  return next === undefined || offset < next.offset;
}
