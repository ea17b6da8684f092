/**
 * The leader's write path on one tablet: writes applied once (a retried write, known by its write
 * id or still in flight, is not written again), acknowledgement as replica_ack says, and the
 * offset a read may see (the commit point, waited for — bounded — right after a takeover).
 */
import { sleep, TesseraError } from '@tessera/common';
import type { PutRow } from '@tessera/storage';
import type { Replica } from '../replica.js';
import type { LeaderReplication } from './leader-replication.js';
import { REPLICATION } from './limits.js';
import { replicaKey as key, type LeaderRoles } from './roles.js';

export class WritePath {
  /**
   * Write ids of puts under way, so a concurrent retry waits for the first attempt: the put's
   * batch and the row's place in it (one record per row, no promise per row).
   */
  private readonly inflightWrites = new Map<string, { put: Promise<{ firstOffset: number }>; index: number }>();

  constructor(private readonly leaders: LeaderRoles) {}


  private leader(replica: Replica): LeaderReplication {
    const lr = this.leaders.get(replica);
    if (!lr || lr.term !== replica.term) throw new TesseraError('NOT_LEADER', `replica ${key(replica)} is not leading (yet)`);
    return lr;
  }

  /**
   * Writes rows on the leader, each retried write applied once: rows whose write id is known
   * (or in flight in another request) are not written again; their offsets count as written.
   * Returns the highest offset the request must wait for.
   */
  async writeOnce(replica: Replica, rows: PutRow[]): Promise<number> {
    const lr = this.leader(replica);
    let waitOffset = 0;
    const fresh: PutRow[] = [];
    const seen = new Set<string>();
    for (const r of rows) {
      if (r.writeId === undefined) {
        fresh.push(r);
        continue;
      }
      if (seen.has(r.writeId)) continue;
      seen.add(r.writeId);
      const known = lr.writeIds.get(r.writeId);
      if (known !== undefined) {
        waitOffset = Math.max(waitOffset, known);
        continue;
      }
      const inflight = this.inflightWrites.get(r.writeId);
      if (inflight) {
        const offset = await inflight.put.then((res) => res.firstOffset + inflight.index, () => undefined);
        if (offset !== undefined) {
          waitOffset = Math.max(waitOffset, offset);
          continue;
        }
      }
      fresh.push(r);
    }
    if (fresh.length === 0) return waitOffset;
    const put = replica.store.put(fresh);
    const ids: string[] = [];
    fresh.forEach((r, i) => {
      if (r.writeId === undefined) return;
      ids.push(r.writeId);
      this.inflightWrites.set(r.writeId, { put, index: i });
    });
    try {
      const res = await put;
      fresh.forEach((r, i) => {
        if (r.writeId !== undefined) lr.writeIds.add(r.writeId, res.firstOffset + i);
      });
      return Math.max(waitOffset, res.lastOffset);
    } finally {
      for (const id of ids) this.inflightWrites.delete(id);
    }
  }

  /** The offset a delete with this write id already produced, if any. */
  knownWrite(replica: Replica, writeId: string | undefined): number | undefined {
    return writeId === undefined ? undefined : this.leader(replica).writeIds.get(writeId);
  }

  rememberOne(replica: Replica, writeId: string | undefined, offset: number): void {
    if (writeId !== undefined) this.leaders.get(replica)?.writeIds.add(writeId, offset);
  }

  /**
   * The highest offset a read on this replica may see: a leader's commit point; no bound on a
   * follower (reads are routed to leaders) or on a leader whose replication is not attached yet.
   * A number at once when it is known (every read but those right after a takeover); otherwise a
   * promise that waits, bounded, for the followers to confirm what the leader took over with.
   */
  visibleOffset(replica: Replica): number | Promise<number> {
    const now = this.visibleNow(replica);
    return now !== undefined ? now : this.visibleSettled(replica);
  }

  private visibleNow(replica: Replica): number | undefined {
    const lr = this.leaders.get(replica);
    if (!lr || lr.term !== replica.term || replica.role !== 'leader') return Infinity;
    return lr.visibleOffset();
  }

  private async visibleSettled(replica: Replica): Promise<number> {
    const deadline = Date.now() + REPLICATION.readSettleWaitMs;
    for (;;) {
      const visible = this.visibleNow(replica);
      if (visible !== undefined) return visible;
      const leftMs = deadline - Date.now();
      if (leftMs <= 0) {
        throw new TesseraError('REPLICA_NOT_SERVING', `replica ${key(replica)} took over as leader and its followers do not yet hold what it took over with; reads wait for that`);
      }
      // Woken by the next follower acknowledgement; the bound re-checks a replaced leader.
      const lr = this.leaders.get(replica);
      await Promise.race([lr ? lr.nextProgress() : Promise.resolve(), sleep(Math.min(leftMs, REPLICATION.readSettleRecheckMs))]);
    }
  }

  /** After a local batch up to `offset`: wake the streams and wait as replica_ack says. */
  async afterLocalWrite(replica: Replica, offset: number): Promise<void> {
    const lr = this.leader(replica);
    lr.wrote();
    await lr.waitAcked(offset);
  }
}
