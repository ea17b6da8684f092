/**
 * The engine's checkers on the fake cluster (auto_failover on): heartbeat expiry fails a lost
 * tablet over, its return recovers it, a restart gets its roles assigned, the in-sync set follows
 * the leader's report, and three tablets lost one after another all come back with one leader per
 * partition (the flagged leader of a leaderless partition is recovered before its followers).
 */
import t from 'tap';
import { Harness, invariantViolations } from './core-harness.js';

const CONFIG = { tabletHeartbeatTimeoutMs: 1_000, failoverRetryMs: 500, roleAssignRetryMs: 500, tabletDownTaskGraceMs: 2_000 };

function settle(h: Harness, ticksMax = 600): number {
  for (let i = 0; i < ticksMax; i++) {
    h.tick();
    const idle = h.engine.opSummaries().every((o) => o.status !== 'kInited' && o.status !== 'kDoing');
    if (idle && invariantViolations(h, { allAlive: true }).length === 0) return i;
  }
  return -1;
}

t.test('a lost leader is failed over after the heartbeat timeout, recovered on return', async (t) => {
  const h = new Harness({ tablets: ['ep1', 'ep2', 'ep3'], autoFailover: true, config: CONFIG });
  const table = h.createTable('flow', 4, 3);
  for (let i = 0; i < 5; i++) h.tick();
  const leader = h.partition(table.tid, 0).replicas.find((r) => r.isLeader)!.endpoint;
  t.equal(h.partition(table.tid, 0).inSync.length, 2, 'both followers recorded in sync');
  h.tabletDown(leader);
  for (let i = 0; i < 5; i++) h.tick();
  t.equal(h.partition(table.tid, 0).replicas.find((r) => r.isLeader && r.isAlive)?.endpoint, leader, 'not failed over before the heartbeat timeout');
  for (let i = 0; i < 40 && h.partition(table.tid, 0).replicas.find((r) => r.isLeader && r.isAlive)?.endpoint === leader; i++) h.tick();
  const now = h.partition(table.tid, 0);
  t.not(now.replicas.find((r) => r.isLeader && r.isAlive)?.endpoint, leader, 'failed over');
  t.notOk(now.inSync.includes(leader), 'the lost tablet is in nobody\'s in-sync set');
  t.ok(h.transcript.some((l) => /offline for \d+ ms: failing over/.test(l)));
  h.tabletUp(leader, true);
  t.ok(settle(h) >= 0, 'recovered: every replica alive, one leader per partition');
  t.same(invariantViolations(h, { allAlive: true }), []);
});

t.test('three tablets lost a second apart all come back with one leader per partition', async (t) => {
  const h = new Harness({ tablets: ['ep1', 'ep2', 'ep3'], autoFailover: true, config: CONFIG });
  h.createTable('flow', 6, 3);
  for (let i = 0; i < 5; i++) h.tick();
  for (const ep of ['ep1', 'ep2', 'ep3']) {
    h.tabletDown(ep);
    for (let i = 0; i < 10; i++) h.tick();
  }
  for (let i = 0; i < 40; i++) h.tick();
  for (const ep of ['ep1', 'ep2', 'ep3']) h.tabletUp(ep, true);
  const ticks = settle(h);
  t.ok(ticks >= 0, `settled after ${ticks} ticks`);
  t.same(invariantViolations(h, { allAlive: true }), []);
});

t.test('a restarted tablet no failover touched gets its roles assigned', async (t) => {
  const h = new Harness({ tablets: ['ep1', 'ep2', 'ep3'], autoFailover: false, config: CONFIG });
  const table = h.createTable('flow', 3, 3);
  h.tabletDown('ep2');
  h.tabletUp('ep2', true);
  t.ok(h.cluster.tablet('ep2').replica(table.tid, 0)!.state !== 'unassigned', 'assigned at its first report');
  t.ok(h.transcript.some((l) => /its role again/.test(l)));
  t.same(invariantViolations(h, { allAlive: true }), []);
});

t.test('losing a tablet: one bulk op holds every partition it held, none duplicated by the checker\'s retries', async (t) => {
  const h = new Harness({ tablets: ['ep1', 'ep2', 'ep3'], autoFailover: true, config: { ...CONFIG, taskConcurrency: 1 } });
  for (let i = 0; i < 10; i++) h.createTable(`t${i}`, 4, 3);
  for (let i = 0; i < 5; i++) h.tick();
  const held = [...h.zk.tables.values()].reduce((n, x) => n + x.partitions.filter((p) => p.replicas.some((r) => r.endpoint === 'ep2')).length, 0);
  // Commands answer slowly, so the op is still running when the checker retries.
  h.faults = { delayMs: () => 400 };
  h.tabletDown('ep2');
  for (let i = 0; i < 60; i++) h.tick();
  const ops = h.engine.ops();
  t.same(ops.map((o) => o.type), ['kFailoverEndpointOP'], 'one op for the lost tablet');
  const parts = ops[0]!.data.kind === 'bulkFailover' ? ops[0]!.data.parts : [];
  t.equal(parts.length, held, `it holds the ${held} partitions ep2 held`);
  t.equal(new Set(parts.map((p) => `${p.tid}/${p.pid}`)).size, parts.length, 'no partition listed twice');
  h.faults = {};
  h.runUntilIdle();
  t.ok(h.engine.opSummaries().every((o) => o.status === 'kDone'), 'every op done');
  for (const table of h.zk.tables.values()) {
    for (const p of table.partitions) {
      t.notOk(p.replicas.some((r) => r.endpoint === 'ep2' && r.isAlive), `${table.tid}/${p.pid}: ep2 not alive`);
      t.ok(p.replicas.some((r) => r.endpoint !== 'ep2' && r.isLeader && r.isAlive), `${table.tid}/${p.pid}: a leader elsewhere`);
    }
  }
  t.same(invariantViolations(h, { allAlive: false }), []);
});
