/**
 * The checkers the engine runs besides its ops (PD's checkers: functions of metadata, what
 * tablets report and the time, returning ops or notices): the failover checker
 * (failover-check.ts), the in-sync rule (in-sync.ts) and role assignment (role-check.ts). This
 * module keeps their memory (throttles, what was taken offline, notices waiting for a table
 * write) and turns their decisions into engine actions through `CheckerHost`; the engine stays
 * the only writer of table metadata. No clock: time comes with the events.
 */
import { currentTerm, type Endpoint, type TableInfo, type Tid } from '@tessera/common';
import type { OpCreatingCommand } from './admin.js';
import type { EngineConfig } from './config.js';
import type { ReplicaReport, TabletNotice } from './events.js';
import { failoverCheck, handlesReturn, newFailoverMemory, recoverPlanned, type FailoverMemory } from './failover-check.js';
import { inSyncDecision } from './in-sync.js';
import type { ObservedCluster } from './observed.js';
import { roleAssignments } from './role-check.js';

/** What the checkers may do to the engine. */
export interface CheckerHost {
  readonly config: EngineConfig;
  readonly observed: ObservedCluster;
  nowMs(): number;
  tables(): Iterable<TableInfo>;
  table(tid: Tid): TableInfo | undefined;
  /** Creates the bulk failover op(s) of a lost tablet (bulk-failover.ts); the number of partitions they hold. */
  failoverEndpoint(endpoint: Endpoint): number;
  /** Plans `command` and creates its ops (no reply); false with the reason when refused. */
  createOps(command: OpCreatingCommand): { ok: true; ops: number } | { ok: false; message: string };
  /** Records a partition's in-sync set and writes its table; `after` is sent once that write is confirmed. */
  recordInSync(tid: Tid, pid: number, inSync: Endpoint[], after: { endpoint: Endpoint; notice: TabletNotice } | undefined): void;
  /** Whether an unfinished op holds the partition, as of this call (take it once per pass: it indexes every op). */
  busyNow(): (tid: Tid, pid: number) => boolean;
  /** Whether a bulk failover op holds the partition, as of this call. */
  bulkHeldNow(): (tid: Tid, pid: number) => boolean;
  /** The role notice `endpoint` may get while the unfinished ops holding its partition run; null when one keeps it (role-hold.ts). */
  roleNotice(endpoint: Endpoint, notice: Extract<TabletNotice, { type: 'AssignRole' }>): Extract<TabletNotice, { type: 'AssignRole' }> | null;
  /** Whether a notice about (tid, pid) still waits for a table write. */
  noticePending(tid: Tid, pid: number): boolean;
  notify(endpoint: Endpoint, notice: TabletNotice): void;
  log(level: 'info' | 'warn', message: string): void;
}

export class Checkers {
  private failover: FailoverMemory = newFailoverMemory();
  /** `/config/auto_failover` as the last failoverCheck carried it. */
  private autoFailover = false;
  /** When roles were last assigned per tablet (absent: assign at the next report). */
  private readonly lastAssignMs = new Map<Endpoint, number>();

  constructor(private readonly host: CheckerHost) {}

  /** Leadership won or lost: forget everything. */
  reset(): void {
    this.failover = newFailoverMemory();
    this.autoFailover = false;
    this.lastAssignMs.clear();
  }

  /** The failover check (the shell's timer). */
  onFailoverCheck(enabled: boolean): void {
    this.autoFailover = enabled;
    if (!enabled) return;
    const h = this.host;
    const now = h.nowMs();
    const actions = failoverCheck(now, h.observed.tabletStates(), h.tables(), this.failover, h.config, h.busyNow());
    for (const o of actions.offline) {
      h.log('warn', `tablet ${o.endpoint} offline for ${o.lostForMs} ms: ${o.again ? 'replicas still alive in metadata, failing them over again' : 'failing over its partitions'}`);
      const parts = h.failoverEndpoint(o.endpoint);
      h.log('info', `failover of ${o.endpoint}: ${parts === 0 ? 'nothing to fail over now (its partitions are busy or done)' : `bulk op(s) for ${parts} partition(s)`}`);
    }
    for (const ep of actions.recover) this.recover(ep);
  }

  /** A tablet registered again. */
  onTabletUp(endpoint: Endpoint): void {
    this.lastAssignMs.delete(endpoint);
    if (this.autoFailover && handlesReturn(this.failover, endpoint, this.host.tables(), this.host.busyNow())) this.recover(endpoint);
  }

  private recover(endpoint: Endpoint): void {
    const h = this.host;
    h.log('info', `tablet ${endpoint} is back: recovering its replicas`);
    const res = h.createOps({ type: 'recoverendpoint', endpoint });
    recoverPlanned(this.failover, endpoint, h.nowMs(), res.ok);
    if (!res.ok) h.log('warn', `recoverendpoint ${endpoint}: ${res.message}`);
  }

  /** A tablet's report: role assignment for it, the in-sync rule for the partitions it leads. */
  onReport(endpoint: Endpoint, replicas: readonly ReplicaReport[]): void {
    const h = this.host;
    if (!h.observed.isHealthy(endpoint)) return;
    const now = h.nowMs();
    const last = this.lastAssignMs.get(endpoint);
    if (last === undefined || now - last >= h.config.roleAssignRetryMs) {
      // A partition an op holds is left to the op (its later steps would be undone by roles told
      // from metadata it is changing), except what a follower op does not work on, a leader told
      // its followers as the op left them (role-hold.ts).
      const notices = roleAssignments(endpoint, replicas, (tid) => h.table(tid)).flatMap((n) => h.roleNotice(endpoint, n) ?? []);
      if (notices.length > 0 || last === undefined) this.lastAssignMs.set(endpoint, now);
      for (const n of notices) {
        h.log('info', `assigning ${n.tid}_${n.pid} on ${endpoint} its role again (${n.role}, term ${n.term})`);
        h.notify(endpoint, n);
      }
    }
    // A partition a bulk failover holds is left to it: its record phase writes the partition
    // (the lost tablet's replica not alive, so out of the set) in its table's one write; the rule
    // writing it here too would cost a ZooKeeper write per table per report while it runs.
    const bulkHeld = h.bulkHeldNow();
    for (const r of replicas) {
      if (r.replication === undefined || r.role !== 'leader' || bulkHeld(r.tid, r.pid)) continue;
      const table = h.table(r.tid);
      const p = table?.partitions.find((x) => x.pid === r.pid);
      if (table === undefined || p === undefined || !p.replicas.some((x) => x.endpoint === endpoint && x.isLeader && x.isAlive)) continue;
      const term = currentTerm(p);
      const d = inSyncDecision(p, term, r.replication, (e) => h.observed.isHealthy(e), { lagEntriesMax: h.config.inSyncLagEntriesMax, silentMsMax: h.config.inSyncSilentMsMax });
      const tell = d.tell === undefined ? undefined : { endpoint, notice: { type: 'SetInSync' as const, tid: r.tid, pid: r.pid, term, inSync: d.tell } };
      if (d.record !== undefined) {
        const removed = p.inSync.filter((f) => !d.record!.includes(f));
        const added = d.record.filter((f) => !p.inSync.includes(f));
        h.log('info', `${table.schema.name} pid ${r.pid}: in-sync set ${d.record.join(',') || '(empty)'}${removed.length ? `; removed ${removed.join(',')}` : ''}${added.length ? `; added ${added.join(',')}` : ''}`);
        h.recordInSync(r.tid, r.pid, d.record, tell);
      } else if (tell !== undefined && !h.noticePending(r.tid, r.pid)) {
        h.notify(endpoint, tell.notice);
      }
    }
  }
}

/**
 * Notices that wait for a table write (the in-sync set: ZooKeeper first, then the leader): each
 * rides with the next write of its table and is released when that write is confirmed; a failed
 * write puts them back for the retry.
 */
export class TableNotices {
  private readonly next = new Map<Tid, Array<{ endpoint: Endpoint; notice: TabletNotice }>>();
  private readonly inFlight = new Map<Tid, Array<{ endpoint: Endpoint; notice: TabletNotice }>>();

  clear(): void {
    this.next.clear();
    this.inFlight.clear();
  }

  add(tid: Tid, n: { endpoint: Endpoint; notice: TabletNotice }): void {
    this.next.set(tid, [...(this.next.get(tid) ?? []), n]);
  }

  pending(tid: Tid, pid: number): boolean {
    return [...(this.inFlight.get(tid) ?? []), ...(this.next.get(tid) ?? [])].some((n) => n.notice.pid === pid);
  }

  /** The table's metadata was sent: the notices added so far ride with that write. */
  sent(tid: Tid): void {
    const moving = this.next.get(tid);
    if (moving === undefined) return;
    this.inFlight.set(tid, [...(this.inFlight.get(tid) ?? []), ...moving]);
    this.next.delete(tid);
  }

  /** The write's answer: the notices to send now (ok), or none (they wait for the retry). */
  persisted(tid: Tid, ok: boolean): Array<{ endpoint: Endpoint; notice: TabletNotice }> {
    const done = this.inFlight.get(tid) ?? [];
    this.inFlight.delete(tid);
    if (ok) return done;
    if (done.length > 0) this.next.set(tid, [...done, ...(this.next.get(tid) ?? [])]);
    return [];
  }

  drop(tid: Tid): void {
    this.next.delete(tid);
    this.inFlight.delete(tid);
  }
}
