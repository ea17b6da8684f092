/**
 * The in-sync set rule (Kafka's ISR with the nameserver as controller; docs/replication.md), as a
 * pure function of one partition's metadata, its leader's replication report and which tablets
 * are healthy. The engine runs it on every report of a leader and is the only writer of the
 * result: it records the new set in ZooKeeper first and tells the leader (`set_in_sync`) only
 * after that write is confirmed, so the leader stops waiting for a follower only once ZooKeeper
 * no longer counts it, and a new leader is only chosen from a set whose every member holds every
 * acknowledged write. Ops never add to the set (they only narrow it to alive followers).
 */
import type { Endpoint, PartitionMeta, ReplicationReport } from '@tessera/common';

export interface InSyncLimits {
  /** A follower further behind than this leaves the set (`--in_sync_lag_entries`). */
  lagEntriesMax: number;
  /** A follower behind and silent this long leaves the set (`--in_sync_silent_ms`). */
  silentMsMax: number;
}

/**
 * Whether the leader's report rules `endpoint` out of the in-sync set: no stream to it, being
 * rebuilt from a snapshot (or rebuilt and not matched since), no answer for `silentMsMax` since the stream began (a new leader's
 * first reports come before its followers' first answers: a recorded member is not dropped for
 * that, and writes wait for it meanwhile), more than `lagEntriesMax` behind, or behind and silent
 * for `silentMsMax`.
 */
export function notInSync(report: ReplicationReport, endpoint: Endpoint, limits: InSyncLimits): boolean {
  const f = report.followers.find((x) => x.endpoint === endpoint);
  if (!f || f.state === 'snapshot') return true;
  // Never answered this leader: out once silent too long, or at once after a rebuild (its content was replaced).
  if (f.ackedOffset < 0) return f.snapshotsSent > 0 || report.nowMs - f.sinceMs > limits.silentMsMax;
  const behind = report.offset - f.ackedOffset;
  return behind > limits.lagEntriesMax || (behind > 0 && report.nowMs - f.lastAckMs > limits.silentMsMax);
}

export interface InSyncDecision {
  /** The set to record, when it differs from the recorded one (ZooKeeper first, then the leader). */
  record?: Endpoint[];
  /** The set the leader must be told (it reports another one), once `record` (if any) is written. */
  tell?: Endpoint[];
}

function sameSet(a: readonly Endpoint[], b: readonly Endpoint[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/**
 * The next in-sync set of `partition` from its leader's `report` (taken at the partition's
 * current term; a report of another term decides nothing): recorded members that stay alive
 * followers on healthy tablets and keep up stay; followers the leader already waits for
 * (`waitingFor`: they reached every acknowledged write) join under the same conditions.
 */
export function inSyncDecision(partition: PartitionMeta, term: number, report: ReplicationReport | undefined, isHealthy: (endpoint: Endpoint) => boolean, limits: InSyncLimits): InSyncDecision {
  if (report === undefined || report.term !== term) return {};
  const aliveFollowers = new Set(partition.replicas.filter((r) => !r.isLeader && r.isAlive).map((r) => r.endpoint));
  const keeps = (f: Endpoint): boolean => aliveFollowers.has(f) && isHealthy(f) && !notInSync(report, f, limits);
  const next: Endpoint[] = [];
  for (const f of [...partition.inSync, ...report.waitingFor]) if (!next.includes(f) && keeps(f)) next.push(f);
  const out: InSyncDecision = {};
  if (!sameSet(partition.inSync, next)) out.record = next;
  if (!sameSet(report.inSync, next)) out.tell = next;
  return out;
}
