/**
 * The failover checker (OpenMLDB's auto_failover, run through the op engine), pure: from the
 * tablets' health as observed (with the time of each change), table metadata and the time, it
 * says which tablets to take offline (`offlineendpoint`) and which to recover
 * (`recoverendpoint`). A tablet gone for `tabletHeartbeatTimeoutMs` is taken offline; when it
 * registers again its replicas are recovered. Both directions are level-triggered: a lost tablet
 * that metadata still credits with an alive replica (a failover op failed, or its partition was
 * busy) is taken offline again, and a healthy tablet holding replicas marked not alive is
 * recovered again, each at most every `failoverRetryMs`. A not-alive replica of a partition an
 * unfinished op holds is that op's (a move's destination while it is built): it makes no tablet a
 * recovery candidate. The engine runs it on every
 * `failoverCheck` event (the shell's timer, carrying `/config/auto_failover`) and on a tablet's
 * return; the memory below is the engine's, reset when leadership is won.
 */
import type { Endpoint, TableInfo } from '@tessera/common';

export interface FailoverMemory {
  /** Endpoints taken offline by this leader, to recover on return. */
  offlined: Set<Endpoint>;
  /** When offlineendpoint was last planned per endpoint (the retry's throttle). */
  lastOfflineMs: Map<Endpoint, number>;
  /** When recoverendpoint was last planned per endpoint (the retry's throttle). */
  lastRecoverMs: Map<Endpoint, number>;
}

export function newFailoverMemory(): FailoverMemory {
  return { offlined: new Set(), lastOfflineMs: new Map(), lastRecoverMs: new Map() };
}

export interface TabletState {
  endpoint: Endpoint;
  healthy: boolean;
  sinceMs: number;
}

export interface FailoverLimits {
  tabletHeartbeatTimeoutMs: number;
  failoverRetryMs: number;
}

/** Whether an unfinished op holds the partition (a move builds its destination as a not-alive replica). */
export type BusyPartition = (tid: number, pid: number) => boolean;

/**
 * Per endpoint: whether metadata credits it with an alive replica, and with a dead one. A dead
 * replica of a partition an op holds is the op's (a move's destination being built, a replica a
 * failover is taking offline): not counted, so the monitor neither recovers it nor logs it.
 */
export function replicaFlags(tables: Iterable<TableInfo>, busy: BusyPartition = () => false): Map<Endpoint, { alive: boolean; dead: boolean }> {
  const out = new Map<Endpoint, { alive: boolean; dead: boolean }>();
  for (const t of tables) {
    for (const p of t.partitions) {
      for (const r of p.replicas) {
        const f = out.get(r.endpoint) ?? { alive: false, dead: false };
        if (r.isAlive) f.alive = true;
        else if (!busy(t.tid, p.pid)) f.dead = true;
        out.set(r.endpoint, f);
      }
    }
  }
  return out;
}

/** Whether a returning tablet's replicas are the checker's to bring back (not a plain role assignment). */
export function handlesReturn(memory: FailoverMemory, endpoint: Endpoint, tables: Iterable<TableInfo>, busy?: BusyPartition): boolean {
  return memory.offlined.has(endpoint) || replicaFlags(tables, busy).get(endpoint)?.dead === true;
}

export interface FailoverActions {
  offline: Array<{ endpoint: Endpoint; again: boolean; lostForMs: number }>;
  recover: Endpoint[];
}

/** One check at `nowMs`; records what it decides in `memory`. */
export function failoverCheck(nowMs: number, tablets: readonly TabletState[], tables: Iterable<TableInfo>, memory: FailoverMemory, limits: FailoverLimits, busy?: BusyPartition): FailoverActions {
  const flags = replicaFlags(tables, busy);
  const out: FailoverActions = { offline: [], recover: [] };
  for (const t of tablets) {
    if (t.healthy || nowMs - t.sinceMs < limits.tabletHeartbeatTimeoutMs) continue;
    const again = memory.offlined.has(t.endpoint);
    const due = !again || (flags.get(t.endpoint)?.alive === true && nowMs - (memory.lastOfflineMs.get(t.endpoint) ?? 0) >= limits.failoverRetryMs);
    if (!due) continue;
    memory.offlined.add(t.endpoint);
    memory.lastOfflineMs.set(t.endpoint, nowMs);
    out.offline.push({ endpoint: t.endpoint, again, lostForMs: nowMs - t.sinceMs });
  }
  for (const t of tablets) {
    if (!t.healthy || flags.get(t.endpoint)?.dead !== true) continue;
    if (nowMs - (memory.lastRecoverMs.get(t.endpoint) ?? 0) < limits.failoverRetryMs) continue;
    out.recover.push(t.endpoint);
  }
  return out;
}

/** Records that recoverendpoint was planned for `endpoint` (ok: planned; else it stays offlined). */
export function recoverPlanned(memory: FailoverMemory, endpoint: Endpoint, nowMs: number, ok: boolean): void {
  memory.lastRecoverMs.set(endpoint, nowMs);
  if (ok) memory.offlined.delete(endpoint);
  else memory.offlined.add(endpoint);
}
