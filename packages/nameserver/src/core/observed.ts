/**
 * What the nameserver has observed of the tablets: which are healthy (ZooKeeper membership) and
 * what each last reported about its replicas. Tasks judge "am I done?" from this view and from
 * table metadata, never from what an earlier leader believed. A tablet that goes down or restarts
 * loses its report: nothing is judged from a tablet the engine cannot hear.
 */
import type { Endpoint, Pid, Term, Tid } from '@tessera/common';
import type { ReplicaReport, TabletInfo } from './events.js';
import { partitionKey } from './op.js';

export interface TabletHealth {
  healthy: boolean;
  /** Time of the last state change, epoch ms. */
  sinceMs: number;
}

/** The read side, as tasks and planners see it. */
export interface ObservedView {
  isHealthy(endpoint: Endpoint): boolean;
  /** Since when the tablet has been in its current state; undefined for an unknown tablet. */
  healthSinceMs(endpoint: Endpoint): number | undefined;
  healthyEndpoints(): Endpoint[];
  /** The tablet's last report on (tid, pid); undefined when it reported no such replica or never reported. */
  replica(endpoint: Endpoint, tid: Tid, pid: Pid): ReplicaReport | undefined;
  /** The tablet has reported since this nameserver became leader (so absence of a replica means something). */
  hasReported(endpoint: Endpoint): boolean;
  /** Highest term any tablet reported for the partition; 0 when none. */
  maxReportedTerm(tid: Tid, pid: Pid): Term;
  /** Sequence number of the latest report from any tablet (0 before the first). */
  reportSeq(): number;
  /** Sequence number of the tablet's latest report; 0 when it has none. */
  lastReportSeq(endpoint: Endpoint): number;
}

export class ObservedCluster implements ObservedView {
  private readonly tablets = new Map<Endpoint, TabletHealth>();
  private readonly reports = new Map<Endpoint, Map<string, ReplicaReport>>();
  private readonly reportSeqs = new Map<Endpoint, number>();
  private seq = 0;
  /** healthyEndpoints(), kept until a tablet's health changes (asked per partition in passes over thousands). */
  private healthyCache: Endpoint[] | undefined;

  /** Forgets every report; keeps the given tablet states. Used when leadership is won. */
  reset(tablets: readonly TabletInfo[]): void {
    this.tablets.clear();
    this.reports.clear();
    this.reportSeqs.clear();
    this.healthyCache = undefined;
    for (const t of tablets) this.tablets.set(t.endpoint, { healthy: t.healthy, sinceMs: t.sinceMs });
  }

  setHealthy(endpoint: Endpoint, healthy: boolean, nowMs: number, restarted: boolean): void {
    const before = this.tablets.get(endpoint);
    if (before === undefined || before.healthy !== healthy) this.tablets.set(endpoint, { healthy, sinceMs: nowMs });
    this.healthyCache = undefined;
    // A tablet that went away or restarted may hold anything now: wait for its next report.
    if (!healthy || restarted) {
      this.reports.delete(endpoint);
      this.reportSeqs.delete(endpoint);
    }
  }

  setReport(endpoint: Endpoint, replicas: readonly ReplicaReport[]): void {
    const map = new Map<string, ReplicaReport>();
    for (const r of replicas) map.set(partitionKey(r.tid, r.pid), { ...r });
    this.reports.set(endpoint, map);
    this.seq += 1;
    this.reportSeqs.set(endpoint, this.seq);
  }

  /**
   * Applies a report of changes (replaced and gone replicas) to the tablet's last whole report;
   * false without one. `fresh` false: a slice with more to come, which does not count as a new
   * report yet (no seq).
   */
  mergeReport(endpoint: Endpoint, replicas: readonly ReplicaReport[], removed: ReadonlyArray<{ tid: Tid; pid: Pid }>, fresh = true): boolean {
    const map = this.reports.get(endpoint);
    if (map === undefined) return false;
    for (const r of replicas) map.set(partitionKey(r.tid, r.pid), { ...r });
    for (const r of removed) map.delete(partitionKey(r.tid, r.pid));
    if (fresh) {
      this.seq += 1;
      this.reportSeqs.set(endpoint, this.seq);
    }
    return true;
  }

  reportSeq(): number {
    return this.seq;
  }

  lastReportSeq(endpoint: Endpoint): number {
    return this.reportSeqs.get(endpoint) ?? 0;
  }

  isHealthy(endpoint: Endpoint): boolean {
    return this.tablets.get(endpoint)?.healthy === true;
  }

  healthSinceMs(endpoint: Endpoint): number | undefined {
    return this.tablets.get(endpoint)?.sinceMs;
  }

  healthyEndpoints(): Endpoint[] {
    this.healthyCache ??= [...this.tablets].filter(([, h]) => h.healthy).map(([e]) => e).sort();
    return [...this.healthyCache];
  }

  tabletStates(): Array<{ endpoint: Endpoint } & TabletHealth> {
    return [...this.tablets].map(([endpoint, h]) => ({ endpoint, ...h })).sort((a, b) => (a.endpoint < b.endpoint ? -1 : 1));
  }

  replica(endpoint: Endpoint, tid: Tid, pid: Pid): ReplicaReport | undefined {
    return this.reports.get(endpoint)?.get(partitionKey(tid, pid));
  }

  hasReported(endpoint: Endpoint): boolean {
    return this.reports.has(endpoint);
  }

  maxReportedTerm(tid: Tid, pid: Pid): Term {
    let term = 0;
    const key = partitionKey(tid, pid);
    for (const map of this.reports.values()) term = Math.max(term, map.get(key)?.term ?? 0);
    return term;
  }
}
