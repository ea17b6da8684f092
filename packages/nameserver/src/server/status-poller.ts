/**
 * Keeps the latest replica status report of every healthy tablet, polled every
 * `get_table_status_interval`: what `showtable` prints (offset, record_cnt, memused, diskused) and
 * what ops judge progress by. Reports older than a few intervals are not read
 * (core/report-age.ts decides, at the shell clock's now).
 */
import type { Logger, ReplicaStatus, TableInfo } from '@tessera/common';
import { pollIsOlderThan, reportIsFresh } from '../core/report-age.js';
import type { Clock } from './clock.js';
import { PerTablet } from './per-tablet.js';
import type { TabletControl } from './tablet-client.js';
import type { TabletTracker } from './tablets.js';

/** A status poll gets at least this long (and at most one interval beyond it) to answer. */
const STATUS_TIMEOUT_MS_MIN = 1000;

interface Report {
  atMs: number;
  replicas: Map<string, ReplicaStatus>;
}

export class StatusPoller {
  /** A tablet that went away or restarted holds anything now: its old report is not read (a restarted replica is unassigned until told its role again). */
  private readonly reports: PerTablet<Report>;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private lastPollMs = 0;
  private readonly listeners: Array<() => void> = [];

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
      const replicas = await this.control.status(endpoint, Math.max(STATUS_TIMEOUT_MS_MIN, this.intervalMs));
      this.reports.set(endpoint, { atMs: this.clock.nowMs(), replicas: new Map(replicas.map((r) => [`${r.tid}_${r.pid}`, r])) });
      return replicas;
    } catch (err) {
      this.log.debug(`status of ${endpoint} failed: ${(err as Error).message}`);
      return undefined;
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
