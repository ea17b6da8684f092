/**
 * Auto failover decisions (openmldb.md §6.1–6.2), as pure functions the engine runs on every
 * tick while /config/auto_failover is true. A tablet down longer than the heartbeat timeout gets
 * the offlineendpoint handling once (its leaders fail over, its followers are marked not alive);
 * a restarted one gets it as soon as it is back. Recovery is level-triggered: whatever a
 * partition still needs is chosen again on every tick, so a failed step is simply retried later.
 */
import type { Endpoint, PartitionMeta, TableInfo } from '@tessera/common';
import type { EngineConfig } from './config.js';
import type { ObservedView } from './observed.js';
import type { OpData, OpType } from './op.js';
import { aliveLeader } from './partition.js';

/** Tablets down longer than the heartbeat timeout whose offline handling has not run yet. */
export function tabletsDueOffline(
  observed: ObservedView,
  offlined: ReadonlySet<Endpoint>,
  nowMs: number,
  config: Pick<EngineConfig, 'tabletHeartbeatTimeoutMs'>,
): Endpoint[] {
  return observed
    .tabletStates()
    .filter((t) => !t.healthy && !offlined.has(t.endpoint) && nowMs - t.sinceMs >= config.tabletHeartbeatTimeoutMs)
    .map((t) => t.endpoint);
}

/**
 * What auto failover does next for one idle partition, in this order: reload a restarted leader
 * from its own disk (it keeps what it had not replicated); fail over from a leader gone past the
 * heartbeat timeout; recover a replica marked not alive or not served. Undefined when nothing is due.
 */
export function nextRecoveryStep(
  table: TableInfo,
  p: PartitionMeta,
  observed: ObservedView,
  nowMs: number,
  config: Pick<EngineConfig, 'tabletHeartbeatTimeoutMs'>,
): { type: OpType; data: OpData } | undefined {
  const known = (e: Endpoint): boolean => observed.isHealthy(e) && observed.hasReported(e);
  const served = (e: Endpoint): boolean => observed.replica(e, table.tid, p.pid)?.role !== 'none';
  const leader = aliveLeader(p);
  if (leader !== undefined && known(leader) && !served(leader)) {
    return { type: 'kRecoverTableOP', data: { kind: 'recoverTable', endpoint: leader, childOpId: null } };
  }
  if (leader !== undefined && !observed.isHealthy(leader) && nowMs - (observed.healthSinceMs(leader) ?? nowMs) >= config.tabletHeartbeatTimeoutMs) {
    const data: OpData = { kind: 'changeLeader', request: 'offline', candidate: null, oldLeader: null, oldTerm: 0, handOver: false, followersBefore: [], selected: null };
    return { type: 'kChangeLeaderOP', data };
  }
  const endpoint = p.replicas.find((r) => known(r.endpoint) && (!r.isAlive || !served(r.endpoint)))?.endpoint;
  return endpoint === undefined ? undefined : { type: 'kRecoverTableOP', data: { kind: 'recoverTable', endpoint, childOpId: null } };
}
