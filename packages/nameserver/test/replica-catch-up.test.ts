/**
 * Issue 17, bug 1 on the nameserver side: a replica that holds nothing — the leader is rebuilding
 * it from a snapshot, or has not matched it — is not counted as caught up (so recover/addreplica
 * do not mark it alive), not kept in the in-sync set, and never elected, even when its own report
 * shows the leader's offset for a moment.
 */
import t from 'tap';
import type { PartitionMeta, ReplicationReport } from '@tessera/common';
import { bestFollower, newTask, ObservedCluster, seededRandom, syncLagEntries, type ReplicaReport, type TaskContext, type TaskOf } from '../src/core/index.js';
import { notInSync } from '../src/core/in-sync.js';

const TID = 1;
const PID = 0;
const NOW = 1_000_000;
const L = 'l:1';
const F = 'f:1';
const G = 'g:1';

function replicaReport(role: 'leader' | 'follower', state: string, offset: number, replication?: ReplicationReport): ReplicaReport {
  return { tid: TID, pid: PID, name: 'flow', db: 'db', role, state: state as ReplicaReport['state'], term: 3, offset, recordCnt: offset, memUsed: 0, diskUsed: 0, ...(replication ? { replication } : {}) };
}

function replication(followers: ReplicationReport['followers']): ReplicationReport {
  return { term: 3, offset: 300, nowMs: NOW, inSync: [], waitingFor: [], followers };
}

const partition: PartitionMeta = {
  pid: PID,
  replicas: [{ endpoint: L, isLeader: true, isAlive: true }, { endpoint: F, isLeader: false, isAlive: true }, { endpoint: G, isLeader: false, isAlive: true }],
  termOffsets: [{ term: 3, offset: 0 }],
  inSync: [],
};

function observedWith(leader: ReplicaReport, follower: ReplicaReport, other?: ReplicaReport): ObservedCluster {
  const o = new ObservedCluster();
  o.reset([L, F, G].map((endpoint) => ({ endpoint, healthy: true, sinceMs: 0 })));
  o.setReport(L, [leader]);
  o.setReport(F, [follower]);
  if (other) o.setReport(G, [other]);
  return o;
}

function lag(observed: ObservedCluster): number | undefined {
  const task = newTask({ kind: 'kCheckBinlogSyncProgress', endpoint: F, deltaEntriesMax: 2, leaderFenced: false }) as TaskOf<'kCheckBinlogSyncProgress'>;
  const ctx = { op: { tid: TID, pid: PID }, partition, observed } as unknown as TaskContext;
  return syncLagEntries(task, ctx);
}

t.test('kCheckBinlogSyncProgress: caught up only once the leader streams to the follower', async (t) => {
  const stream = (state: string, ackedOffset: number) => replication([{ endpoint: F, state, ackedOffset, lastAckMs: NOW, sinceMs: NOW - 60_000, snapshotsSent: 1 }]);
  // The follower's own report says normal at the leader's offset (between two reloads).
  const follower = replicaReport('follower', 'normal', 300);
  t.equal(lag(observedWith(replicaReport('leader', 'normal', 300, stream('snapshot', -1)), follower)), undefined, 'being rebuilt: not caught up');
  t.equal(lag(observedWith(replicaReport('leader', 'normal', 300, stream('match', -1)), follower)), undefined, 'not matched yet: not caught up');
  t.equal(lag(observedWith(replicaReport('leader', 'normal', 300, replication([])), follower)), undefined, 'no stream to it: not caught up');
  t.equal(lag(observedWith(replicaReport('leader', 'normal', 300, stream('stream', 300)), follower)), 0, 'streaming at the leader offset: caught up');
  t.equal(lag(observedWith(replicaReport('leader', 'normal', 300, stream('stream', 290)), follower)), 10, 'the lag is what the leader confirmed');
  t.equal(lag(observedWith(replicaReport('leader', 'normal', 300), follower)), 0, 'a leader without a replication report: the offsets decide (as before)');
  t.equal(lag(observedWith(replicaReport('leader', 'normal', 300, stream('stream', 300)), replicaReport('follower', 'loading', 0))), undefined, 'loading: not caught up');
});

t.test('in-sync set: a follower being rebuilt leaves it at once', async (t) => {
  const limits = { lagEntriesMax: 1000, silentMsMax: 5000 };
  const f = (state: string, ackedOffset: number, sinceMs = NOW - 60_000, snapshotsSent = 0): ReplicationReport =>
    replication([{ endpoint: F, state, ackedOffset, lastAckMs: NOW, sinceMs, snapshotsSent }]);
  t.equal(notInSync(f('stream', 300), F, limits), false, 'streaming, caught up');
  t.equal(notInSync(f('stream', 299), F, limits), false, 'streaming, one behind, answering');
  t.equal(notInSync(f('snapshot', 300), F, limits), true, 'being rebuilt (even with an old confirmed offset)');
  t.equal(notInSync(f('match', -1), F, limits), true, 'nothing confirmed for longer than silentMsMax since the stream began');
  t.equal(notInSync(f('match', -1, NOW - 100), F, limits), false, "a new leader's first report, before the follower's first answer: kept (writes wait for it)");
  t.equal(notInSync(f('match', -1, NOW - 5001), F, limits), true, 'no first answer within silentMsMax: out');
  t.equal(notInSync(f('match', -1, NOW - 100, 1), F, limits), true, 'rebuilt from a snapshot and not matched since: out at once');
  t.equal(notInSync(f('stream', 300), G, limits), true, 'no stream to it');
  t.equal(notInSync(f('stream', 200), F, { lagEntriesMax: 50, silentMsMax: 5000 }), true, 'too far behind');
});

t.test('election: a loading follower is never chosen, in sync or not', async (t) => {
  const leader = replicaReport('leader', 'normal', 300);
  const ctx = (o: ObservedCluster) => ({ observed: o, random: seededRandom(1) });
  const o = observedWith(leader, replicaReport('follower', 'loading', 0), replicaReport('follower', 'normal', 120));
  t.equal(bestFollower({ ...partition, inSync: [] }, ctx(o), TID, [L]), G, 'no in-sync set: the serving follower, not the loading one');
  t.equal(bestFollower({ ...partition, inSync: [F] }, ctx(o), TID, [L]), undefined, 'the only in-sync follower is loading: nobody');
  const o2 = observedWith(leader, replicaReport('follower', 'normal', 300), replicaReport('follower', 'normal', 120));
  t.equal(bestFollower({ ...partition, inSync: [F, G] }, ctx(o2), TID, [L]), F, 'serving followers: highest offset');
});
