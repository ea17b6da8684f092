/**
 * The tablet's status reports to the polling nameserver, sent as changes (issue 16). A full
 * report of every replica each poll cost the tablet O(replicas) every second — an
 * `approximateSize` call into LevelDB per replica, then one msgpack encode of thousands of objects
 * on the event loop that also serves the ZooKeeper pings — and the nameserver as much to decode
 * it: at ~3,000 replicas a tablet, one poll's encode blocked the loop ~0.9 s on the loaded
 * machine and the tablet lost its ZooKeeper connection (docs/benchmarks.md, "The stall during
 * the creates"). As a TiKV store heartbeat carries no regions and an idle region sends nothing,
 * a report here carries only:
 *  - replicas whose status changed since the report this poller last acknowledged,
 *  - replicas that are not quiescent: not serving normally, fenced, or a leader with a follower
 *    that is not streaming or has not confirmed everything (the nameserver's in-sync rule judges
 *    silence over time, so those are sent at every poll),
 *  - and the keys of replicas gone since then.
 * A poller names its stream (a random id) and the seq of the last report it applied; any
 * mismatch (first poll, a lost answer, a restarted tablet, an evicted stream) gets a full report,
 * so a lost answer costs one full report and never a missed change. The leader's clock of a
 * replication report (`nowMs`) is not a change: the nameserver reads it only for a follower
 * behind or never heard from, whose leader is not quiescent and so is sent at every poll.
 *
 * Disk sizes come from a cache refreshed off the comparison: per report at most
 * `diskSizesPerReport` replicas are measured again (written ones first, then round-robin), so a
 * replica's `diskUsed` lags by at most one sweep. A request without a stream (showtable of one
 * table, tests, operators) gets every replica fresh, as before.
 */
import type { ReplicaStatus, ReplicationReport } from '@tessera/common';
import type { Replica } from './replica.js';

export const STATUS_REPORT_LIMITS = {
  /** Pollers whose last report is remembered (the leading nameserver, a standby taking over, a spare). */
  streamsMax: 4,
  /** `approximateSize` calls into LevelDB per report. */
  diskSizesPerReport: 64,
} as const;

/** What a poller sends: its stream and the seq of the last report it applied (0: none). */
export interface ReportCursor {
  stream: string;
  ack: number;
}

/** What comes back besides the replicas. */
export interface ReportHeader {
  stream: string;
  seq: number;
  /** true: only changes (apply to the last report); false: every replica this tablet holds. */
  delta: boolean;
  /** [tid, pid] of replicas gone since the acknowledged report (empty in a full report). */
  removed: Array<[number, number]>;
}

export type ReportedStatus = ReplicaStatus & { followers?: string[]; fenced?: boolean };

/** What a report last showed of a replica, compared field by field (no string is built per poll). */
interface Sent {
  role: string;
  state: string;
  term: number;
  offset: number;
  recordCnt: number;
  memUsed: number;
  diskUsed: number;
  binlogFirstOffset: number;
  fenced: boolean;
  followers: readonly string[];
  replication: ReplicationReport | undefined;
  /** The report that last saw the replica (older: gone since). */
  seq: number;
}

interface Stream {
  seq: number;
  /** Each replica as last sent, by `tid_pid`. */
  sent: Map<string, Sent>;
}

/** Checks the cursor of a status request; undefined when the request has none. */
export function reportCursor(body: Record<string, unknown>): ReportCursor | undefined {
  const r = body.report;
  if (r === undefined) return undefined;
  const c = r as { stream?: unknown; ack?: unknown };
  if (r === null || typeof r !== 'object' || typeof c.stream !== 'string' || c.stream.length === 0 || c.stream.length > 64 || !Number.isSafeInteger(c.ack) || (c.ack as number) < 0) {
    return undefined;
  }
  return { stream: c.stream, ack: c.ack as number };
}

/** Quiescent: serving normally and, as a leader, unfenced with every follower streaming and caught up. */
export function quiescent(s: ReportedStatus): boolean {
  return quiet(s.state, s.fenced === true, s.replication);
}

function quiet(state: string, fenced: boolean, rep: ReplicationReport | undefined): boolean {
  if (state !== 'normal' || fenced) return false;
  return rep === undefined || rep.followers.every((f) => f.state === 'stream' && f.ackedOffset >= rep.offset);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Two replication reports alike but for the clock they were taken at (`nowMs` moves at every report). */
export function sameReplication(a: ReplicationReport | undefined, b: ReplicationReport | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.term !== b.term || a.offset !== b.offset || !sameList(a.inSync, b.inSync) || !sameList(a.waitingFor, b.waitingFor) || a.followers.length !== b.followers.length) return false;
  for (let i = 0; i < a.followers.length; i++) {
    const x = a.followers[i]!;
    const y = b.followers[i]!;
    if (x.endpoint !== y.endpoint || x.state !== y.state || x.ackedOffset !== y.ackedOffset || x.lastAckMs !== y.lastAckMs || x.sinceMs !== y.sinceMs || x.snapshotsSent !== y.snapshotsSent) return false;
    if ((x.snapshot === undefined) !== (y.snapshot === undefined)) return false;
    if (x.snapshot !== undefined && JSON.stringify(x.snapshot) !== JSON.stringify(y.snapshot)) return false;
  }
  return true;
}

export class StatusReports {
  private readonly streams = new Map<string, Stream>();
  /** Last measured disk bytes per replica, and the offset it was measured at. */
  private readonly disk = new Map<string, { bytes: number; atOffset: number }>();
  private sweep: string[] = [];

  constructor(
    private readonly replicas: () => Replica[],
    private readonly progress: (r: Replica) => ReplicationReport | undefined,
  ) {}

  /** The report for `cursor`: changes since its ack when the stream is known there, else everything. */
  async report(cursor: ReportCursor): Promise<{ replicas: ReportedStatus[]; report: ReportHeader }> {
    const all = this.replicas();
    await this.refreshDiskSizes(all);
    const prev = this.streams.get(cursor.stream);
    const delta = prev !== undefined && prev.seq === cursor.ack;
    const seq = (prev?.seq ?? 0) + 1;
    // A delta updates the stream's picture in place; anything else starts a new one.
    const sent = delta ? prev.sent : new Map<string, Sent>();
    const out: ReportedStatus[] = [];
    for (const r of all) {
      const key = `${r.tid}_${r.pid}`;
      const st = r.store;
      const leader = r.role === 'leader';
      const diskUsed = this.disk.get(key)?.bytes ?? st.memUsed;
      const binlogFirstOffset = st.firstBinlogOffsetKnown ?? st.offset + 1;
      const replication = this.progress(r);
      const followers = leader ? r.followers : [];
      const fenced = leader && r.fenced;
      const last = sent.get(key);
      const same = last !== undefined && last.role === r.role && last.state === r.state && last.term === r.term && last.offset === st.offset &&
        last.recordCnt === st.recordCnt && last.memUsed === st.memUsed && last.diskUsed === diskUsed && last.binlogFirstOffset === binlogFirstOffset &&
        last.fenced === fenced && sameList(last.followers, followers) && sameReplication(last.replication, replication);
      if (!same || !quiet(r.state, fenced, replication) || !delta) {
        const s = r.statusWith(diskUsed, binlogFirstOffset);
        if (replication !== undefined) s.replication = replication;
        out.push(s);
      }
      if (same) last.seq = seq;
      else sent.set(key, { role: r.role, state: r.state, term: r.term, offset: st.offset, recordCnt: st.recordCnt, memUsed: st.memUsed, diskUsed, binlogFirstOffset, fenced, followers: [...followers], replication, seq });
    }
    const removed: Array<[number, number]> = [];
    for (const [key, v] of sent) {
      if (v.seq === seq) continue;
      sent.delete(key);
      this.disk.delete(key);
      const [tid, pid] = key.split('_').map(Number) as [number, number];
      removed.push([tid, pid]);
    }
    this.streams.delete(cursor.stream);
    this.streams.set(cursor.stream, { seq, sent });
    while (this.streams.size > STATUS_REPORT_LIMITS.streamsMax) this.streams.delete(this.streams.keys().next().value!);
    return { replicas: out, report: { stream: cursor.stream, seq, delta, removed: delta ? removed : [] } };
  }

  /**
   * Measures at most `diskSizesPerReport` replicas: those written since their last measurement
   * (or never measured) first, then the next of a round-robin sweep. Also makes sure the first
   * binlog offset of each measured replica is known (it is cached by the store once read).
   */
  private async refreshDiskSizes(all: Replica[]): Promise<void> {
    const limit = STATUS_REPORT_LIMITS.diskSizesPerReport;
    const pick: Replica[] = [];
    const picked = new Set<string>();
    for (const r of all) {
      if (pick.length >= limit) break;
      const key = `${r.tid}_${r.pid}`;
      const d = this.disk.get(key);
      if (d === undefined || d.atOffset !== r.store.offset || r.store.firstBinlogOffsetKnown === undefined) {
        pick.push(r);
        picked.add(key);
      }
    }
    if (pick.length < limit) {
      const byKey = new Map(all.map((r) => [`${r.tid}_${r.pid}`, r]));
      if (this.sweep.length === 0) this.sweep = [...byKey.keys()];
      while (pick.length < limit && this.sweep.length > 0) {
        const key = this.sweep.pop()!;
        const r = byKey.get(key);
        if (r === undefined || picked.has(key)) continue;
        pick.push(r);
        picked.add(key);
      }
    }
    await Promise.all(pick.map(async (r) => {
      const atOffset = r.store.offset;
      const [bytes] = await Promise.all([r.measureDisk(), r.store.firstBinlogOffset()]);
      this.disk.set(`${r.tid}_${r.pid}`, { bytes, atOffset });
    }));
  }
}
