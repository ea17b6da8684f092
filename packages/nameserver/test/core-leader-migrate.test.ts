/**
 * Transcript tests of `migrate` of a leader replica (core leader-migrate.ts): the chain
 * addreplica → hand-over changeleader → delreplica, the leadership on the destination, the
 * source gone, writes kept; a failed first step leaves the source leading and nothing removed;
 * and a failed op's reason stored with it and shown in its showopstatus row.
 */
import t from 'tap';
import { opStatusRows } from '../src/core/opstatus.js';
import { Harness, aliveLeaderOf, invariantViolations, writtenCluster } from './core-harness.js';

const leaderOf = (h: Harness, pid: number): string | undefined => aliveLeaderOf(h, 1, pid);

function cluster(seed = 2) {
  return writtenCluster({ tablets: ['ep1', 'ep2', 'ep3', 'ep4'], seed }, [{ name: 'flow', partitions: 2, replicas: 3, rows: 5 }]);
}

t.test('migrate of a leader: addreplica, hand-over changeleader, delreplica; the destination leads', async (t) => {
  const h = cluster();
  const src = leaderOf(h, 0)!;
  const des = ['ep1', 'ep2', 'ep3', 'ep4'].find((e) => !h.partition(1, 0).replicas.some((r) => r.endpoint === e))!;
  const before = h.engine.ops().length;
  const reply = h.adminReply({ type: 'migrate', db: 'demo_db', name: 'flow', src, des, pids: [0] });
  t.match(reply, { ok: true, message: 'partition migrate ok' });
  h.runUntilIdle();
  h.replicateFully();
  const ops = h.engine.ops().slice(before);
  t.same(ops.map((o) => `${o.type}:${o.status}`), ['kAddReplicaOP:kDone', 'kChangeLeaderOP:kDone', 'kDelReplicaOP:kDone'], 'the chain, every op done');
  t.match(ops[1]!.data, { kind: 'changeLeader', handOver: true, candidate: des }, 'a hand-over to the destination');
  t.equal(leaderOf(h, 0), des, 'the destination leads');
  t.notOk(h.partition(1, 0).replicas.some((r) => r.endpoint === src), 'the source holds nothing');
  t.equal(h.partition(1, 0).replicas.length, 3, 'still three replicas');
  t.same(invariantViolations(h, { allAlive: true }), []);
});

t.test('migrate of a leader onto a tablet that already holds the partition is refused; followers still move as one kMigrateOP', async (t) => {
  const h = cluster(4);
  const src = leaderOf(h, 0)!;
  const follower = h.partition(1, 0).replicas.find((r) => !r.isLeader)!.endpoint;
  t.match(h.adminReply({ type: 'migrate', db: 'demo_db', name: 'flow', src, des: follower, pids: [0] }), { ok: false, error: { code: 'PRECONDITION_FAILED', message: /already in des_endpoint/ } });
  const des = ['ep1', 'ep2', 'ep3', 'ep4'].find((e) => !h.partition(1, 0).replicas.some((r) => r.endpoint === e))!;
  const before = h.engine.ops().length;
  t.match(h.adminReply({ type: 'migrate', db: 'demo_db', name: 'flow', src: follower, des, pids: [0] }), { ok: true });
  h.runUntilIdle();
  t.same(h.engine.ops().slice(before).map((o) => `${o.type}:${o.status}`), ['kMigrateOP:kDone']);
});

t.test('the destination down before the hand-over: the source keeps leading, nothing removed; each failed op keeps its reason, shown by showopstatus', async (t) => {
  const h = cluster(6);
  const src = leaderOf(h, 1)!;
  const des = ['ep1', 'ep2', 'ep3', 'ep4'].find((e) => !h.partition(1, 1).replicas.some((r) => r.endpoint === e))!;
  const before = h.engine.ops().length;
  t.match(h.adminReply({ type: 'migrate', db: 'demo_db', name: 'flow', src, des, pids: [1] }, 1), { ok: true });
  h.tabletDown(des);
  h.runUntilIdle();
  const ops = h.engine.ops().slice(before);
  t.equal(ops.length, 3);
  t.same(ops.map((o) => `${o.type}:${o.status}`), ['kAddReplicaOP:kDone', 'kChangeLeaderOP:kFailed', 'kDelReplicaOP:kFailed'], ops.map((o) => `${o.type}:${o.status}:${o.error}`).join(' | '));
  t.equal(leaderOf(h, 1), src, 'the source still leads');
  t.ok(h.partition(1, 1).replicas.some((r) => r.endpoint === src && r.isAlive), 'the source replica is still there');
  const rows = opStatusRows(h.engine.ops()).filter((r) => ops.some((o) => o.id === r.opId && o.status === 'kFailed'));
  t.equal(rows.length, 2);
  t.match(rows[0]!.error, /candidate\[.*\] is not an alive follower/, 'the hand-over refused: the destination is down');
  t.ok(rows.every((r) => typeof r.error === 'string' && r.error.length > 0), `every failed op's reason in its row: ${rows.map((r) => r.error).join(' | ')}`);
  t.match(rows[1]!.error, /can not del leader|not healthy/, 'the delreplica refused while the source leads');
});
