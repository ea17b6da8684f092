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

t.test('the leader restarting under a recovery is told its role at once: the recovery does not wait out its task timeout (chaos seed 198)', async (t) => {
  const h = new Harness({ tablets: ['ep1', 'ep2', 'ep3'], autoFailover: false, config: CONFIG });
  const table = h.createTable('flow', 1, 3);
  const p = () => h.partition(table.tid, 0);
  const leader = p().replicas.find((r) => r.isLeader)!.endpoint;
  const follower = p().replicas.find((r) => !r.isLeader)!.endpoint;
  h.tabletDown(follower);
  t.match(h.adminReply({ type: 'offlineendpoint', endpoint: follower }), { ok: true });
  h.runUntilIdle();
  h.tabletUp(follower, true);
  // The recovery holds the partition when the leader's tablet restarts (its replicas unassigned).
  h.admin({ type: 'recoverendpoint', endpoint: follower }, false);
  const recovery = h.engine.ops().find((o) => o.type === 'kRecoverTableOP')!;
  t.ok(recovery, 'a recovery op holds the partition');
  // Killed and back within the session timeout: ZooKeeper never saw it go.
  h.tabletUp(leader, true);
  const startMs = h.nowMs;
  h.runUntilIdle();
  t.ok(h.transcript.some((l) => l.includes(`${table.tid}_0 on ${leader} its role again (leader`)), 'the leader was told its role while the recovery held the partition');
  t.match(h.engine.op(recovery.id), { status: 'kDone' }, `the recovery finished: ${h.engine.op(recovery.id)!.error ?? ''}`);
  t.ok(h.nowMs - startMs < CONFIG.tabletDownTaskGraceMs * 5, `within ${h.nowMs - startMs} ms, far from the task timeout`);
  h.replicateFully();
  t.same(invariantViolations(h, { allAlive: true }), []);
});

t.test('an op that changes leadership keeps role assignment away from its partition; a follower op tells the leader its followers as it left them', async (t) => {
  const { leavesRoleTo, roleNoticeUnder } = await import('../src/core/role-hold.js');
  const base = { id: 1, tid: 1, pid: 0, taskIndex: 0, status: 'kDoing' as const };
  const recover = { ...base, type: 'kRecoverTableOP' as const, data: { kind: 'recoverTable' as const, endpoint: 'ep3', childOpId: null }, tasks: [{ kind: 'kDelReplica' as const, endpoint: 'ep1', follower: 'ep3', status: 'kInited' as const }] };
  t.ok(leavesRoleTo(recover as never, 'ep1'), 'the leader of a recovery');
  t.notOk(leavesRoleTo(recover as never, 'ep3'), 'the replica it recovers');
  const undone = { ...recover, tasks: [...recover.tasks, { kind: 'kChangeRole' as const, endpoint: 'ep1', role: 'leader' as const, term: 2, followers: [], status: 'kInited' as const, undo: true }] };
  t.notOk(leavesRoleTo(undone as never, 'ep1'), 'an undo that tells roles');
  const change = { ...base, type: 'kChangeLeaderOP' as const, data: { kind: 'changeLeader' as const }, tasks: [] };
  t.notOk(leavesRoleTo(change as never, 'ep1'), 'a changeleader');
  const migrate = { ...base, type: 'kMigrateOP' as const, data: { kind: 'migrate' as const, src: 'ep2', des: 'ep4' }, tasks: [] };
  t.ok(leavesRoleTo(migrate as never, 'ep1'));
  t.notOk(leavesRoleTo(migrate as never, 'ep2'));
  t.notOk(leavesRoleTo(migrate as never, 'ep4'));

  const leaderNotice = { type: 'AssignRole' as const, tid: 1, pid: 0, role: 'leader' as const, term: 3, followers: ['ep2', 'ep3'], inSync: ['ep2', 'ep3'], replicaAck: 'all' as const };
  t.same(roleNoticeUnder([recover] as never, 'ep1', leaderNotice), leaderNotice, 'a kDelReplica not started: followers from metadata');
  const started = { ...recover, tasks: [{ ...recover.tasks[0]!, status: 'kDoing' as const }] };
  t.same(roleNoticeUnder([started] as never, 'ep1', leaderNotice), { ...leaderNotice, followers: ['ep2'], inSync: ['ep2'] }, 'a started kDelReplica: without the follower it removes, in sync set cut');
  const readded = { ...started, tasks: [{ ...started.tasks[0]!, status: 'kFailed' as const }, { kind: 'kAddReplica' as const, endpoint: 'ep1', follower: 'ep3', status: 'kDoing' as const, undo: true }] };
  t.same(roleNoticeUnder([readded] as never, 'ep1', leaderNotice)!.followers, ['ep2', 'ep3'], 'its undo adding it back: with it again');
  const added = { ...migrate, tasks: [{ kind: 'kAddReplica' as const, endpoint: 'ep1', follower: 'ep4', status: 'kDone' as const }] };
  t.same(roleNoticeUnder([added] as never, 'ep1', leaderNotice)!.followers, ['ep2', 'ep3', 'ep4'], 'a kAddReplica done whose follower metadata does not mark alive yet: with it');
  t.same(roleNoticeUnder([added] as never, 'ep1', leaderNotice)!.inSync, ['ep2', 'ep3'], 'not in sync until the in-sync rule says so');
  const canceledBefore = { ...added, tasks: [{ ...added.tasks[0]!, status: 'kCanceled' as const }] };
  t.same(roleNoticeUnder([canceledBefore] as never, 'ep1', leaderNotice)!.followers, ['ep2', 'ep3'], 'a kAddReplica canceled before it started never ran (core-sim seed 54)');
  const canceledRunning = { ...added, tasks: [{ ...added.tasks[0]!, status: 'kCanceled' as const, startMs: 5 }] };
  t.same(roleNoticeUnder([canceledRunning] as never, 'ep1', leaderNotice)!.followers, ['ep2', 'ep3', 'ep4'], 'one canceled while it ran may have');
  const follower = { type: 'AssignRole' as const, tid: 1, pid: 0, role: 'follower' as const, term: 3, leader: 'ep1', replicaAck: 'all' as const };
  t.same(roleNoticeUnder([started] as never, 'ep2', follower), follower, 'a follower notice as built');
  t.equal(roleNoticeUnder([started, change] as never, 'ep1', leaderNotice), null, 'held when any holder keeps the partition');
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
