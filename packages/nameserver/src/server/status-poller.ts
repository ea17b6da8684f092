/**
 * Keeps the latest replica status report of every healthy tablet, polled every
 * `get_table_status_interval`: what `showtable` prints (offset, record_cnt, memused, diskused) and
 * what ops judge progress by. Reports older than a few intervals are not read
 * (core/report-age.ts decides, at the shell clock's now).
 *
 * A tablet answers a poll with the changes since the last report this poller applied (the
 * tablet's status-report.ts: changed and not-quiescent replicas, and the ones gone), which are
 * merged here into the whole picture; what changed since the engine was last told is kept per
 * tablet, so the engine is fed changes too (`takeReport`), every replica as changes every
 * `PATROL_EVERY_TAKES` takes (the patrol that re-judges what did not change), and a whole report
 * whenever the engine's picture may be stale (a full answer, leadership won: `wantFull`).
 */
import { randomBytes } from 'node:crypto';
import type { Logger, ReplicaStatus, TableInfo } from '@tessera/common';
import { pollIsOlderThan, reportIsFresh } from '../core/report-age.js';
import type { Clock } from './clock.js';
import { PerTablet } from './per-tablet.js';
import type { TabletControl } from './tablet-client.js';
import type { TabletTracker } from './tablets.js';

/** A status poll gets at least this long (and at most one interval beyond it) to answer. */
const STATUS_TIMEOUT_MS_MIN = 1000;
/** Every this many reports taken for the engine of one tablet, one carries every replica (the patrol). */
export const PATROL_EVERY_TAKES = 10;

interface Report {
  atMs: number;
  replicas: Map<string, ReplicaStatus>;
  /** The tablet's seq of the report applied last (0: the tablet sends no seq). */
  seq: number;
  /** Since the engine's last take: keys changed, keys gone, whether it must get everything. */
  changed: Set<string>;
  removed: Set<string>;
  full: boolean;
  takesSinceFull: number;
}

/** What the engine is told of one tablet: everything, or the changes since the last take. */
export type TakenReport =
  | { full: true; replicas: ReplicaStatus[] }
  | { full: false; replicas: ReplicaStatus[]; removed: Array<{ tid: number; pid: number }> };

export class StatusPoller {
  /** A tablet that went away or restarted holds anything now: its old report is not read (a restarted replica is unassigned until told its role again). */
  private readonly reports: PerTablet<Report>;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private lastPollMs = 0;
  private readonly listeners: Array<() => void> = [];
  /** This poller's name at the tablets (a new process or instance starts from full reports). */
  private readonly stream = randomBytes(8).toString('hex');

  constructor(
    private readonly tablets: TabletTracker,
    private readonly control: TabletControl,
    private readonly intervalMs: number,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.reports = new PerTablet(tablets);
  }

  start(): void {
    void this.pollNow();
    this.timer = setInterval(() => void this.pollNow(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Polls every healthy tablet once (concurrently); joins a poll already under way. */
  pollNow(): Promise<void> {
    if (!this.polling) {
      this.polling = Promise.all(this.tablets.healthy().map((ep) => this.pollOne(ep))).then(() => {
        this.lastPollMs = this.clock.nowMs();
        this.polling = undefined;
        for (const l of this.listeners) l();
      });
    }
    return this.polling;
  }

  /** A poll begun after the one under way (if any): its reports were all asked for after this call. */
  pollAfterCurrent(): Promise<void> {
    return this.polling === undefined ? this.pollNow() : this.polling.then(() => this.pollNow());
  }

  /** Calls `listener` after every completed poll of all tablets. */
  onPolled(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Polls now unless the last poll is younger than `maxAgeMs` (admin commands want fresh figures). */
  async refreshIfOlderThan(maxAgeMs: number): Promise<void> {
    if (pollIsOlderThan(this.lastPollMs, this.clock.nowMs(), maxAgeMs)) await this.pollNow();
  }

  async pollOne(endpoint: string): Promise<ReplicaStatus[] | undefined> {
    try {
      const prev = this.reports.get(endpoint);
      const ack = prev?.seq ?? 0;
      const res = await this.control.statusReport(endpoint, Math.max(STATUS_TIMEOUT_MS_MIN, this.intervalMs), { stream: this.stream, ack });
      const atMs = this.clock.nowMs();
      const h = res.report;
      const base = this.reports.get(endpoint);
      if (h !== undefined && h.delta) {
        // Changes since `ack` apply only to the report still at `ack`: not after a tablet restart
        // (PerTablet forgot it) nor after a concurrent poll's answer moved it on. Dropped then;
        // the next poll acknowledges what is current.
        if (base === undefined || base !== prev || base.seq !== ack) {
          this.log.debug(`status of ${endpoint}: changes since report ${ack} arrived after that report was replaced; dropped`);
          return undefined;
        }
        mergeDelta(base, res.replicas, h.removed);
        base.atMs = atMs;
        base.seq = h.seq;
      } else {
        const replicas = new Map(res.replicas.map((r) => [`${r.tid}_${r.pid}`, r]));
        this.reports.set(endpoint, { atMs, replicas, seq: h?.seq ?? 0, changed: new Set(), removed: new Set(), full: true, takesSinceFull: 0 });
      }
      return res.replicas;
    } catch (err) {
      this.log.debug(`status of ${endpoint} failed: ${(err as Error).message}`);
      return undefined;
    }
  }

  /**
   * What the engine has not been told of the tablet's replicas yet: everything when its picture
   * may be stale (a whole report), else the changed replicas and the keys gone — and every
   * PATROL_EVERY_TAKES takes every replica as changes (the patrol re-judges what did not change;
   * as changes, the shell can feed it in slices). Undefined before the tablet's first report.
   */
  takeReport(endpoint: string): TakenReport | undefined {
    const r = this.reports.get(endpoint);
    if (r === undefined) return undefined;
    let out: TakenReport;
    if (r.full) {
      out = { full: true, replicas: [...r.replicas.values()] };
      r.takesSinceFull = 0;
    } else {
      const patrol = r.takesSinceFull + 1 >= PATROL_EVERY_TAKES;
      const replicas: ReplicaStatus[] = [];
      if (patrol) replicas.push(...r.replicas.values());
      else {
        for (const key of r.changed) {
          const s = r.replicas.get(key);
          if (s !== undefined) replicas.push(s);
        }
      }
      const removed = [...r.removed].map((key) => {
        const [tid, pid] = key.split('_').map(Number) as [number, number];
        return { tid, pid };
      });
      out = { full: false, replicas, removed };
      r.takesSinceFull = patrol ? 0 : r.takesSinceFull + 1;
    }
    r.full = false;
    r.changed.clear();
    r.removed.clear();
    return out;
  }

  /** The engine's picture of every tablet is gone (leadership won): the next take of each is whole. */
  wantFull(): void {
    for (const ep of this.tablets.healthy()) {
      const r = this.reports.get(ep);
      if (r) r.full = true;
    }
  }

  /**
   * Fresh status of one table's replicas, asked of each replica alone (O(that table), not a poll
   * of every replica on every tablet): what `showtable <name>` and `info` print. A replica whose
   * tablet is down or does not answer falls back to its last report (if fresh), else is absent.
   */
  async tableStatus(info: TableInfo): Promise<Map<string, ReplicaStatus>> {
    const out = new Map<string, ReplicaStatus>();
    const timeoutMs = Math.max(STATUS_TIMEOUT_MS_MIN, this.intervalMs);
    await Promise.all(info.partitions.flatMap((p) => p.replicas.map(async (r) => {
      const key = `${r.endpoint}/${info.tid}_${p.pid}`;
      if (this.tablets.isHealthy(r.endpoint)) {
        try {
          const [st] = await this.control.status(r.endpoint, timeoutMs, { tid: info.tid, pid: p.pid });
          if (st) {
            out.set(key, st);
            return;
          }
        } catch (err) {
          this.log.debug(`status of ${info.tid}_${p.pid} on ${r.endpoint} failed: ${(err as Error).message}`);
        }
      }
      const last = this.replica(r.endpoint, info.tid, p.pid);
      if (last) out.set(key, last);
    })));
    return out;
  }

  /** The last report of one replica, if fresh. */
  replica(endpoint: string, tid: number, pid: number): ReplicaStatus | undefined {
    const r = this.reports.get(endpoint);
    if (!r || !reportIsFresh(r.atMs, this.clock.nowMs(), this.intervalMs)) return undefined;
    return r.replicas.get(`${tid}_${pid}`);
  }

  /** Every replica one tablet reported last. */
  replicasOf(endpoint: string): ReplicaStatus[] {
    return [...(this.reports.get(endpoint)?.replicas.values() ?? [])];
  }

  /** Whether the tablet has answered a poll since it last came up. */
  hasReport(endpoint: string): boolean {
    return this.reports.has(endpoint);
  }
}

/**
 * Applies a tablet's changes to the last report: changed replicas replace theirs, gone ones go.
 * A leader not resent keeps its replication report from the report that last carried it: it is
 * quiescent (every follower streaming and caught up), and the clock of a report (`nowMs`) is read
 * only for a follower behind or never heard from (core/in-sync.ts), which the tablet resends at
 * every poll.
 */
function mergeDelta(base: Report, changed: readonly ReplicaStatus[], removed: ReadonlyArray<[number, number]>): void {
  for (const r of changed) {
    const key = `${r.tid}_${r.pid}`;
    base.replicas.set(key, r);
    base.changed.add(key);
    base.removed.delete(key);
  }
  for (const [tid, pid] of removed) {
    const key = `${tid}_${pid}`;
    base.replicas.delete(key);
    base.changed.delete(key);
    base.removed.add(key);
  }
}
