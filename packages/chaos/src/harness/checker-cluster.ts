/**
 * The cluster checker, pure over final.json (what ZooKeeper and the tablets said after heal and
 * quiesce) and nemesis.jsonl: the cluster converged in time; every op is terminal; each partition
 * has exactly one alive leader in ZooKeeper (a leader that failed over stays flagged leader, not
 * alive, as OpenMLDB, until recovered) and exactly one replica that calls itself leader, the same
 * one; every replica ZooKeeper lists is alive, held by its tablet in the role ZooKeeper says,
 * serving, at the leader's offset and with the leader's content checksum; no tablet serves a
 * replica ZooKeeper does not list; every tablet is healthy; no process exited that the harness did
 * not kill (reliability.md P6, P7 and process health).
 */
import type { FinalState, NemesisEvent } from './history.js';

export interface ClusterReport {
  /** Safety: two leaders, diverged replicas, metadata that does not match the tablets. */
  violations: string[];
  /** Liveness: not converged, ops not terminal, replicas not back. */
  liveness: string[];
  unexpectedExits: string[];
  /** Replicas left on a tablet's disk, not served and not in ZooKeeper (reported, not failed). */
  leftovers: string[];
}

const TERMINAL = new Set(['kDone', 'kFailed', 'kCanceled']);

export function checkCluster(final: FinalState, nemesis: NemesisEvent[]): ClusterReport {
  const r: ClusterReport = { violations: [], liveness: [], unexpectedExits: [], leftovers: [] };
  if (!final.converged) r.liveness.push(`did not converge within the quiesce bound: ${final.notConverged.join('; ')}`);
  for (const op of final.ops) if (!TERMINAL.has(op.status)) r.liveness.push(`op ${op.opId} ${op.opType} pid ${op.pid} is ${op.status}`);
  if (final.tabletsHealthy !== final.tabletsTotal) r.liveness.push(`${final.tabletsHealthy} of ${final.tabletsTotal} tablets healthy`);
  for (const p of final.partitions) {
    const where = `pid ${p.pid}`;
    const zkLeaders = p.replicas.filter((x) => x.zkLeader && x.zkAlive);
    // A replica acts as leader when it says so and is served (an unassigned one is on disk only).
    const acting = (x: { role?: string; state?: string }): boolean => x.role === 'leader' && x.state !== 'unassigned';
    const selfLeaders = [...p.replicas.filter(acting).map((x) => x.endpoint), ...p.strays.filter(acting).map((x) => x.endpoint)];
    if (zkLeaders.length !== 1) r.violations.push(`${where}: ${zkLeaders.length} alive leaders in ZooKeeper`);
    if (selfLeaders.length > 1) r.violations.push(`${where}: ${selfLeaders.length} replicas act as leader (${selfLeaders.join(', ')})`);
    const leader = zkLeaders[0];
    if (leader && selfLeaders.length === 1 && selfLeaders[0] !== leader.endpoint) r.violations.push(`${where}: ZooKeeper names ${leader.endpoint} leader, ${selfLeaders[0]} acts as leader`);
    if (leader && selfLeaders.length === 0) r.liveness.push(`${where}: no replica acts as leader (ZooKeeper names ${leader.endpoint})`);
    for (const x of p.replicas) {
      const at = `${where} on ${x.endpoint}`;
      if (!x.zkAlive) {
        r.liveness.push(`${at}: not alive in ZooKeeper after heal`);
        continue;
      }
      if (x.role === undefined) {
        r.violations.push(`${at}: ZooKeeper lists it alive, the tablet does not hold it`);
        continue;
      }
      if ((x.role === 'leader') !== x.zkLeader) r.violations.push(`${at}: tablet role ${x.role}, ZooKeeper says ${x.zkLeader ? 'leader' : 'follower'}`);
      if (x.state !== 'normal') r.liveness.push(`${at}: state ${x.state}`);
      if (leader && x !== leader && leader.offset !== undefined) {
        if (x.offset !== leader.offset) r.violations.push(`${at}: offset ${x.offset}, leader ${leader.endpoint} at ${leader.offset}`);
        else if (x.sha256 !== undefined && leader.sha256 !== undefined && x.sha256 !== leader.sha256) r.violations.push(`${at}: content checksum differs from the leader's at the same offset ${x.offset} (${x.rows} rows vs ${leader.rows})`);
      }
    }
    for (const s of p.strays) {
      if (s.state === 'unassigned') r.leftovers.push(`${where} on ${s.endpoint}: on disk, not served, not in ZooKeeper`);
      else r.violations.push(`${where} on ${s.endpoint}: served as ${s.role} (${s.state}) but not in ZooKeeper`);
    }
  }
  for (const e of nemesis) if (e.type === 'proc-exit' && e.expected === false) r.unexpectedExits.push(`${e.target} (pid ${e.pid}) at ${(e.tUs / 1e6).toFixed(1)} s`);
  return r;
}
