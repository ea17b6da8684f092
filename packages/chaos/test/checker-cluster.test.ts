// The cluster checker on hand-made final states: a converged cluster passes; two leaders,
// diverged replicas, metadata not matching tablets, ops not terminal, dead replicas, served
// strays and unexpected exits are each reported; unassigned leftovers are only listed.
import t from 'tap';
import { checkCluster } from '../src/harness/checker-cluster.js';
import type { FinalPartition, FinalState } from '../src/harness/history.js';

const rep = (endpoint: string, leader: boolean, extra: Partial<FinalPartition['replicas'][number]> = {}): FinalPartition['replicas'][number] => ({
  endpoint, zkLeader: leader, zkAlive: true, role: leader ? 'leader' : 'follower', state: 'normal', term: 2, offset: 10, sha256: 'abc', rows: 5, ...extra,
});
const base = (): FinalState => ({
  rows: {}, readErrors: [], ops: [{ opId: 1, opType: 'kMigrateOP', pid: 0, status: 'kDone' }], tabletsHealthy: 3, tabletsTotal: 3, converged: true, convergenceMs: 5, notConverged: [],
  partitions: [{ pid: 0, terms: 2, strays: [], replicas: [rep('a', true), rep('b', false), rep('c', false)] }],
});

t.test('a converged cluster passes', async (t) => {
  const r = checkCluster(base(), []);
  t.same([r.violations, r.liveness, r.unexpectedExits], [[], [], []]);
});

t.test('each problem is reported', async (t) => {
  const two = base();
  two.partitions[0]!.replicas[1] = rep('b', false, { role: 'leader' });
  t.match(checkCluster(two, []).violations.join('\n'), /2 replicas act as leader/);

  const unassigned = base();
  unassigned.partitions[0]!.replicas[1] = rep('b', false, { role: 'leader', state: 'unassigned' });
  t.notMatch(checkCluster(unassigned, []).violations.join('\n'), /act as leader/, 'an unassigned replica on disk does not act as leader');

  const diverged = base();
  diverged.partitions[0]!.replicas[2] = rep('c', false, { sha256: 'xyz' });
  t.match(checkCluster(diverged, []).violations.join('\n'), /checksum differs/);

  const behind = base();
  behind.partitions[0]!.replicas[2] = rep('c', false, { offset: 9 });
  t.match(checkCluster(behind, []).violations.join('\n'), /offset 9, leader a at 10/);

  const missing = base();
  missing.partitions[0]!.replicas[1] = { endpoint: 'b', zkLeader: false, zkAlive: true };
  t.match(checkCluster(missing, []).violations.join('\n'), /does not hold it/);

  const stray = base();
  stray.partitions[0]!.strays.push({ endpoint: 'd', role: 'leader', state: 'normal' }, { endpoint: 'e', role: 'follower', state: 'unassigned' });
  const sr = checkCluster(stray, []);
  t.match(sr.violations.join('\n'), /served as leader/);
  t.equal(sr.leftovers.length, 1, 'an unassigned replica on disk is a leftover');

  const stuck = base();
  stuck.ops.push({ opId: 2, opType: 'kAddReplicaOP', pid: 0, status: 'kDoing' });
  stuck.partitions[0]!.replicas[2] = rep('c', false, { zkAlive: false });
  stuck.converged = false;
  stuck.notConverged = ['x'];
  t.equal(checkCluster(stuck, []).liveness.length, 3, 'not converged, op not terminal, replica not alive');

  t.equal(checkCluster(base(), [{ type: 'proc-exit', tUs: 1, target: 't1', pid: 5, expected: false }, { type: 'proc-exit', tUs: 2, target: 't2', pid: 6, expected: true }]).unexpectedExits.length, 1);
});

t.test('only alive leaders count: a leader that failed over (`leader no`) is not a second leader', async (t) => {
  // OpenMLDB's picture after a failover: the old leader stays flagged leader, not alive, until recovered.
  const failedOver = base();
  failedOver.partitions[0]!.replicas[2] = rep('c', true, { zkAlive: false, role: 'follower', state: 'unassigned' });
  const r = checkCluster(failedOver, []);
  t.same(r.violations, [], 'one alive leader in ZooKeeper: no violation');
  t.match(r.liveness.join('\n'), /pid 0 on c: not alive/, 'the not-alive row is a liveness finding until recovered');

  const twoAlive = base();
  twoAlive.partitions[0]!.replicas[2] = rep('c', true, { role: 'follower' });
  t.match(checkCluster(twoAlive, []).violations.join('\n'), /2 alive leaders in ZooKeeper/, 'two alive leaders are still a violation');

  const none = base();
  none.partitions[0]!.replicas[0] = rep('a', true, { zkAlive: false });
  t.match(checkCluster(none, []).violations.join('\n'), /0 alive leaders in ZooKeeper/, 'a partition whose only leader is not alive has none');
});
