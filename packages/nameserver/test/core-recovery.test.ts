/**
 * Transcript tests of the recovery ops: offlineendpoint (kOfflineReplicaOP, kChangeLeaderOP from
 * a dead leader, kUpdatePartitionStatusOP), recoverendpoint / recovertable (kRecoverTableOP and
 * the child it decides on: kReAddReplicaNoSendOP, kReAddReplicaOP, kReAddReplicaSimplifyOP,
 * kReAddReplicaWithDropOP, kReLoadTableOP) and makesnapshot (kMakeSnapshotOP).
 */
import t from 'tap';
import { aliveLeaderOf, invariantViolations, opTypes, writtenCluster, Harness } from './core-harness.js';

function cluster(seed = 7) {
  return writtenCluster({ tablets: ['ep1', 'ep2', 'ep3'], seed }, [{ name: 'flow', partitions: 2, replicas: 3, rows: 5 }]);
}

const leaderOf = (h: Harness, pid: number): string => aliveLeaderOf(h, 1, pid)!;
const typesOf = (h: Harness): string[] => opTypes(h);

t.test('a tablet lost and restarted: offlineendpoint, then recoverendpoint re-adds its replicas from their own disk', async (t) => {
  const h = cluster();
  const lost = leaderOf(h, 1); // leads pid 1, follows pid 0 (3 tablets, 3 replicas)
  t.not(leaderOf(h, 0), lost);
  h.tabletDown(lost);
  const offline = h.adminReply({ type: 'offlineendpoint', endpoint: lost });
  t.match(offline, { ok: true, message: 'offline endpoint ok', data: { opIds: [1, 2] } });
  h.runUntilIdle();
  t.same(typesOf(h), ['1:kOfflineReplicaOP:kDone', '2:kChangeLeaderOP:kDone']);
  t.same(h.engine.op(1)!.tasks.map((x) => x.kind), ['kDelReplica', 'kUpdatePartitionStatus']);
  t.same(h.engine.op(2)!.tasks.map((x) => x.kind), ['kChangeRole', 'kChangeRole', 'kSelectLeader', 'kChangeLeader', 'kUpdateLeaderInfo']);
  t.ok(h.layout(1, 0).includes(`${lost}:F-dead`));
  t.ok(h.layout(1, 1).includes(`${lost}:L-dead`), 'the leader that failed over reads `leader no` (OpenMLDB)');
  t.not(leaderOf(h, 1), lost);
  t.same(invariantViolations(h, { allAlive: false }), []);

  h.write(1, 0, 3);
  h.write(1, 1, 3);
  h.tabletUp(lost, true);
  t.same(invariantViolations(h, { allAlive: false }), [], 'restarted replicas are on disk but not served');
  const recover = h.adminReply({ type: 'recoverendpoint', endpoint: lost });
  t.match(recover, { ok: true, message: 'recover endpoint ok', data: { opIds: [3, 4] } });
  h.runUntilIdle();
  t.same(typesOf(h).slice(2), ['3:kRecoverTableOP:kDone', '4:kRecoverTableOP:kDone', '5:kReAddReplicaNoSendOP:kDone', '6:kReAddReplicaNoSendOP:kDone']);
  t.same(h.engine.op(3)!.tasks.map((x) => x.kind), ['kDelReplica', 'kRecoverTable']);
  t.equal(h.engine.op(5)!.parentId, 3);
  t.same(h.engine.op(5)!.tasks.map((x) => x.kind), ['kPauseSnapshot', 'kLoadTable', 'kAddReplica', 'kRecoverSnapshot', 'kCheckBinlogSyncProgress', 'kUpdatePartitionStatus']);
  h.replicateFully();
  t.same(invariantViolations(h, { allAlive: true }), [], 'every replica alive and in place again');
  t.ok(h.layout(1, 1).includes(`${lost}:F`), 'the former leader is recovered as a follower');
  t.equal(h.cluster.tablet(lost).replica(1, 1)!.log.length, 8);
});

t.test('a diverged replica (the old leader wrote past the new term start) is rebuilt from a full snapshot', async (t) => {
  const h = cluster();
  const old = leaderOf(h, 0);
  // Two writes reach only the leader before it dies (replica_ack=leader).
  h.write(1, 0, 2);
  h.tabletDown(old);
  h.adminReply({ type: 'changeleader', db: 'demo_db', name: 'flow', pid: 0 });
  h.runUntilIdle();
  t.same(h.partition(1, 0).termOffsets, [{ term: 1, offset: 0 }, { term: 3, offset: 6 }]);
  h.write(1, 0, 4);
  h.tabletUp(old, true);
  t.match(h.adminReply({ type: 'recovertable', db: 'demo_db', name: 'flow', pid: 0, endpoint: old }), { ok: true, message: 'recover table ok' });
  h.runUntilIdle();
  const child = h.engine.ops().find((o) => o.parentId !== null)!;
  t.equal(child.type, 'kReAddReplicaOP', 'offset 7 at term 1 reaches into term 2: mismatch');
  t.equal(child.status, 'kDone');
  h.replicateFully();
  t.same(h.cluster.tablet(old).replica(1, 0)!.log, [1, 1, 1, 1, 1, 3, 3, 3, 3], 'the unacknowledged tail was replaced');
  t.same(invariantViolations(h, { allAlive: true }), []);
});

t.test('a follower that only lost its ZooKeeper session is re-added simply', async (t) => {
  const h = cluster();
  const f = h.partition(1, 0).replicas.find((r) => !r.isLeader)!.endpoint;
  h.tabletDown(f);
  h.adminReply({ type: 'offlineendpoint', endpoint: f });
  h.runUntilIdle();
  h.write(1, 0, 4);
  h.tabletUp(f, false);
  h.adminReply({ type: 'recovertable', db: 'demo_db', name: 'flow', pid: 0, endpoint: f });
  h.runUntilIdle();
  const child = h.engine.ops().find((o) => o.parentId !== null && o.pid === 0)!;
  t.equal(child.type, 'kReAddReplicaSimplifyOP');
  t.same(child.tasks.map((x) => x.kind), ['kAddReplica', 'kCheckBinlogSyncProgress', 'kUpdatePartitionStatus']);
  h.replicateFully();
  t.same(invariantViolations(h, { allAlive: false }).filter((v) => v.includes('/0')), []);
});

t.test('an old leader back with its replica still loaded as leader is dropped and rebuilt', async (t) => {
  const h = cluster();
  const old = leaderOf(h, 0);
  h.tabletDown(old);
  h.adminReply({ type: 'offlineendpoint', endpoint: old });
  h.runUntilIdle();
  h.tabletUp(old, false);
  t.equal(h.cluster.tablet(old).replica(1, 0)!.role, 'leader', 'still believes it leads');
  h.adminReply({ type: 'recovertable', db: 'demo_db', name: 'flow', pid: 0, endpoint: old });
  h.runUntilIdle();
  const child = h.engine.ops().find((o) => o.parentId !== null)!;
  t.equal(child.type, 'kReAddReplicaWithDropOP');
  t.equal(child.status, 'kDone');
  t.equal(child.tasks[1]!.kind, 'kDropTable');
  h.replicateFully();
  t.same(invariantViolations(h, { allAlive: false }).filter((v) => v.includes('/0')), []);
  t.match(h.cluster.tablet(old).replica(1, 0), { role: 'follower' });
});

t.test('a table with one replica: offline marks it not alive, recovery reloads it as leader', async (t) => {
  const h = new Harness({ tablets: ['ep1', 'ep2'], seed: 2 });
  h.createTable('single', 1, 1);
  h.write(1, 0, 4);
  const ep = leaderOf(h, 0);
  h.tabletDown(ep);
  h.adminReply({ type: 'offlineendpoint', endpoint: ep });
  h.runUntilIdle();
  t.same(typesOf(h), ['1:kUpdatePartitionStatusOP:kDone']);
  t.same(h.layout(1, 0), [`${ep}:L-dead`]);
  h.tabletUp(ep, true);
  t.match(h.adminReply({ type: 'recoverendpoint', endpoint: ep }), { ok: true });
  h.runUntilIdle();
  t.same(typesOf(h).slice(1), ['2:kRecoverTableOP:kDone', '3:kReLoadTableOP:kDone']);
  t.same(h.engine.op(3)!.tasks.map((x) => x.kind), ['kLoadTable', 'kUpdatePartitionStatus']);
  t.same(h.layout(1, 0), [`${ep}:L`]);
  t.equal(h.write(1, 0, 1).length, 1);
  t.equal(h.cluster.tablet(ep).replica(1, 0)!.log.length, 5, 'data reloaded from its own disk');
  t.same(invariantViolations(h, { allAlive: true }), []);
});

t.test('recovery refusals', async (t) => {
  const h = cluster();
  const f = h.partition(1, 0).replicas.find((r) => !r.isLeader)!.endpoint;
  t.match(h.adminReply({ type: 'recovertable', db: 'demo_db', name: 'flow', pid: 0, endpoint: f }), { ok: false, error: { message: 'table is alive, need not recover' } });
  t.match(h.adminReply({ type: 'recovertable', db: 'demo_db', name: 'flow', pid: 9, endpoint: f }), { ok: false, error: { message: 'pid does not exist' } });
  t.match(h.adminReply({ type: 'offlineendpoint', endpoint: 'nowhere:1' }), { ok: false, error: { message: 'endpoint does not exist' } });
  t.match(h.adminReply({ type: 'offlineendpoint', endpoint: f, concurrency: 0 }), { ok: false, error: { message: 'invalid parameter' } });
  h.tabletDown(f);
  t.match(h.adminReply({ type: 'recoverendpoint', endpoint: f }), { ok: false, error: { code: 'TABLET_NOT_HEALTHY', message: 'tablet is not healthy' } });
  t.match(h.adminReply({ type: 'recovertable', db: 'demo_db', name: 'flow', pid: 0, endpoint: f }), { ok: false, error: { message: 'tablet is not healthy' } });
});

t.test('makesnapshot runs MakeSnapshot on the leader', async (t) => {
  const h = cluster();
  const leader = leaderOf(h, 1);
  t.match(h.adminReply({ type: 'makesnapshot', db: 'demo_db', name: 'flow', pid: 1 }), { ok: true, message: 'MakeSnapshot ok', data: { opIds: [1] } });
  h.runUntilIdle();
  t.same(typesOf(h), ['1:kMakeSnapshotOP:kDone']);
  t.same(h.sentCommands(), [`${leader} MakeSnapshot`]);
  t.equal(h.cluster.tablet(leader).replica(1, 1)!.snapshotOffset, 5);
  t.match(h.adminReply({ type: 'makesnapshot', db: 'demo_db', name: 'flow', pid: 4 }), { ok: false, error: { message: 'pid does not exist' } });
});
