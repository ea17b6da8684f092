/**
 * The pure arithmetic of a leader's replication (as raft's tracker/progress.go): which followers
 * writes wait for, the lowest offset they all confirmed, the commit point reads see, when a
 * follower joins or leaves the leader's own (expanding) part of the waited-for set, and how much
 * binlog the followers still need. No I/O, no clock: every time is passed in.
 * leader-replication.ts holds the state and calls these; docs/replication.md has the rules.
 */
import type { StreamState } from './follower-stream.js';

/** What these functions need of one follower stream's progress. */
export interface FollowerView {
  state: StreamState;
  /** Highest offset the follower confirmed; -1 before its first answer (or while rebuilt). */
  ackedOffset: number;
  /** When it last answered, on the leader's clock (ms). */
  lastAckMs: number;
  /** While a snapshot is in flight (or just delivered): its offset. */
  snapshotOffset: number | undefined;
}

/** The sets writes wait for: recorded in ZooKeeper (confirmed) and the leader's own (expanding). */
export interface WaitedFor {
  /** Every follower with a stream (a FollowerStream fits). */
  streams: ReadonlyMap<string, { readonly progress: Pick<FollowerView, 'ackedOffset'> }>;
  confirmed: ReadonlySet<string>;
  expanding: ReadonlySet<string>;
}

/**
 * Lowest offset confirmed by every follower writes wait for; the leader's offset when it waits
 * for none; -1 when fewer than `minInSyncReplicas - 1` followers (capped by the number of
 * streams) are waited for — then no write may be acknowledged with replica_ack=all.
 */
export function minWaitingAcked(w: WaitedFor, leaderOffset: number, minInSyncReplicas: number): number {
  const required = Math.min(minInSyncReplicas - 1, w.streams.size);
  let waited = 0;
  for (const f of w.streams.keys()) if (w.confirmed.has(f) || w.expanding.has(f)) waited++;
  if (waited < required) return -1;
  let min = leaderOffset;
  for (const set of [w.confirmed, w.expanding]) {
    for (const f of set) {
      const acked = w.streams.get(f)?.progress.ackedOffset ?? -1;
      if (acked < min) min = acked;
    }
  }
  return min;
}

/**
 * The commit point after an observation of `minAcked`: it only moves forward, and not at all
 * until the followers waited for hold what the leader took over with (what it inherited beyond
 * the old commit point may be on it alone). -1 = not known yet.
 */
export function nextCommitted(committed: number, minAcked: number, takeoverOffset: number): number {
  return minAcked >= takeoverOffset && minAcked > committed ? minAcked : committed;
}

/**
 * At an acknowledgement of `offset`: a streaming follower that is not waited for yet joins the
 * leader's expanding set once it holds every offset acknowledged to a client.
 */
export function joinsAtAck(f: { waited: boolean; state: StreamState; offset: number }, acknowledged: number): boolean {
  return !f.waited && f.state === 'stream' && f.offset >= acknowledged;
}

/**
 * At an in-sync order of the nameserver: a follower it left out that already holds everything
 * the leader has is waited for again at once (no later acknowledgement may come to re-add it on
 * an idle partition; the order may have been decided on a report older than its match).
 */
export function rejoinsAtOrder(f: { recorded: boolean; state: StreamState; ackedOffset: number }, acknowledged: number, leaderOffset: number): boolean {
  return !f.recorded && f.state === 'stream' && f.ackedOffset >= Math.max(acknowledged, leaderOffset);
}

/**
 * Whether an expanding follower (never recorded, so the leader may stop waiting for it alone) is
 * dropped: gone, more than `lagEntriesMax` behind, or behind and silent for `silentMsMax`.
 */
export function dropsFromExpanding(p: Pick<FollowerView, 'ackedOffset' | 'lastAckMs'> | undefined, leaderOffset: number, nowMs: number, limits: { lagEntriesMax: number; silentMsMax: number }): boolean {
  if (!p) return true;
  const behind = leaderOffset - p.ackedOffset;
  return behind > limits.lagEntriesMax || (behind > 0 && nowMs - p.lastAckMs > limits.silentMsMax);
}

/**
 * The lowest binlog offset still needed by followers: one receiving a snapshot (it resumes after
 * the snapshot's offset), one matching again after a snapshot, and one streaming, when they
 * answered within `activeMsMax`. A silent follower pins nothing (it gets a snapshot later).
 */
export function retentionFloor(followers: Iterable<FollowerView>, nowMs: number, activeMsMax: number): number | undefined {
  let floor: number | undefined;
  for (const p of followers) {
    let need: number | undefined;
    if (p.state === 'snapshot' && p.snapshotOffset !== undefined) need = p.snapshotOffset + 1;
    else if (p.state === 'match' && p.snapshotOffset !== undefined && nowMs - p.lastAckMs < activeMsMax) need = p.snapshotOffset + 1;
    else if (p.state === 'stream' && nowMs - p.lastAckMs < activeMsMax) need = p.ackedOffset + 1;
    if (need !== undefined && (floor === undefined || need < floor)) floor = need;
  }
  return floor;
}
