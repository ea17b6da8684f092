/**
 * Transcript tests of the leaderships given back: the failover's record of the leader it replaced
 * (formerLeaders), `recoverendpoint <ep> true` (OpenMLDB's need_restore: recovery, then a
 * hand-over ChangeLeader back to the tablet, queued behind it), and the rolling-upgrade pair
 * pre-upgrade / post-upgrade planned one step per call.
 */
import t from 'tap';
import type { AdminCommand } from '../src/core/events.js';
import { aliveLeaderOf as leaderOf, invariantViolations, opTypes as typesOf, writtenCluster, Harness } from './core-harness.js';

function cluster(seed = 7) {
  return writtenCluster({ tablets: ['ep1', 'ep2', 'ep3'], seed }, [{ name: 'flow', partitions: 2, replicas: 3, rows: 5 }]);
}

const lastOpId = (h: Harness): number => h.engine.ops().reduce((m, o) => Math.max(m, o.id), 0);

t.test('failover records the replaced leader; recoverendpoint <ep> true recovers and then hands the leadership back', async (t) => {
  const h = cluster();
  const lost = leaderOf(h, 1, 1)!; // leads pid 1, follows pid 0
  h.tabletDown(lost);
  h.adminReply({ type: 'offlineendpoint', endpoint: lost });
  h.runUntilIdle();
  t.same(h.partition(1, 1).formerLeaders, [lost], 'pid 1 remembers its leader');
  t.equal(h.partition(1, 0).formerLeaders, undefined, 'pid 0 (it only followed) remembers nothing');
  h.write(1, 1, 3);
  h.tabletUp(lost, true);
  const before = lastOpId(h);
  const reply = h.adminReply({ type: 'recoverendpoint', endpoint: lost, needRestore: true });
  t.match(reply, { ok: true, message: 'recover endpoint ok', data: { opIds: [before + 1, before + 2, before + 3] } });
  t.same([1, 2, 3].map((i) => `${h.engine.op(before + i)!.type} pid ${h.engine.op(before + i)!.pid}`), ['kRecoverTableOP pid 0', 'kRecoverTableOP pid 1', 'kChangeLeaderOP pid 1'], 'one recovery per partition, the hand-back behind pid 1');
  h.runUntilIdle();
  h.replicateFully();
  const ops = h.engine.ops().filter((o) => o.id > before);
  const back = ops.find((o) => o.type === 'kChangeLeaderOP')!;
  const child = ops.find((o) => o.parentId !== null && o.pid === 1)!;
  t.equal(back.status, 'kDone', 'the hand-back is done');
  t.equal(back.pid, 1);
  t.equal(child.status, 'kDone', 'the re-add of pid 1 is done');
  t.ok(child.endMs <= back.startMs, 'the hand-back started after the re-add of its replica ended');
  t.match(back.data, { kind: 'changeLeader', handOver: true, candidate: lost });
  t.equal(leaderOf(h, 1, 1), lost, 'pid 1 led by the recovered tablet again');
  t.not(leaderOf(h, 1, 0), lost, 'pid 0 led as before');
  t.equal(h.partition(1, 1).formerLeaders, undefined, 'nothing left to give back');
  t.same(invariantViolations(h, { allAlive: true }), []);

  const again = lastOpId(h);
  t.match(h.adminReply({ type: 'recoverendpoint', endpoint: lost, needRestore: true }), { ok: true, data: { opIds: [] } }, 'a rerun creates nothing');
  t.equal(lastOpId(h), again);
});

t.test('need_restore on replicas already recovered (as the failover monitor does): only the hand-back', async (t) => {
  const h = cluster(11);
  const lost = leaderOf(h, 1, 0)!;
  h.tabletDown(lost);
  h.adminReply({ type: 'offlineendpoint', endpoint: lost });
  h.runUntilIdle();
  h.tabletUp(lost, true);
  h.adminReply({ type: 'recoverendpoint', endpoint: lost });
  h.runUntilIdle();
  h.replicateFully();
  h.reportAll();
  const led = [0, 1].filter((pid) => (h.partition(1, pid).formerLeaders ?? []).includes(lost));
  t.ok(led.length >= 1, `the record survives a recovery without need_restore (pids ${led.join(',')})`);
  t.ok(led.every((pid) => leaderOf(h, 1, pid) !== lost));
  const before = lastOpId(h);
  const reply = h.adminReply({ type: 'recoverendpoint', endpoint: lost, needRestore: true });
  t.equal((reply as { data: { opIds: number[] } }).data.opIds.length, led.length, 'one op per partition it led');
  h.runUntilIdle();
  t.same(typesOf(h, before).map((x) => x.replace(/^\d+:/, '')), led.map(() => 'kChangeLeaderOP:kDone'));
  for (const pid of led) t.equal(leaderOf(h, 1, pid), lost, `pid ${pid} led by it again`);
  t.same(invariantViolations(h, { allAlive: true }), []);
});

t.test('need_restore on a tablet that led nothing: recovery only', async (t) => {
  const h = new Harness({ tablets: ['ep1', 'ep2', 'ep3', 'ep4'], seed: 3 });
  h.createTable('flow', 1, 3);
  h.write(1, 0, 4);
  h.replicateFully();
  const follower = h.partition(1, 0).replicas.find((r) => !r.isLeader)!.endpoint;
  h.tabletDown(follower);
  h.adminReply({ type: 'offlineendpoint', endpoint: follower });
  h.runUntilIdle();
  h.tabletUp(follower, true);
  const before = lastOpId(h);
  h.adminReply({ type: 'recoverendpoint', endpoint: follower, needRestore: true });
  h.runUntilIdle();
  t.notOk(typesOf(h, before).some((x) => x.includes('kChangeLeaderOP')), 'no ChangeLeader op');
  t.same(invariantViolations(h, { allAlive: true }), []);
});

/** Repeats a pre-upgrade / post-upgrade step until the engine says it is done; the step lines, in order. */
function runSteps(h: Harness, command: AdminCommand, roundsMax = 30): string[] {
  const lines: string[] = [];
  for (let round = 0; round < roundsMax; round++) {
    h.reportAll();
    const reply = h.adminReply(command) as { ok: boolean; data: { done: boolean; steps: string[] } };
    if (!reply.ok) throw new Error(JSON.stringify(reply));
    lines.push(...reply.data.steps);
    if (reply.data.done) return lines;
    h.runUntilIdle();
    h.replicateFully();
  }
  throw new Error(`not done after ${roundsMax} rounds: ${lines.join(' | ')}`);
}

t.test('pre-upgrade moves leaderships away (a temporary replica for a single-replica table); post-upgrade reverts both', async (t) => {
  const h = cluster(5);
  h.createTable('one', 1, 1);
  h.write(2, 0, 4);
  const ep = leaderOf(h, 2, 0)!;
  const led = [0, 1].filter((pid) => leaderOf(h, 1, pid) === ep);
  const leadersBefore = [leaderOf(h, 1, 0), leaderOf(h, 1, 1), leaderOf(h, 2, 0)];

  const pre = runSteps(h, { type: 'preupgrade', endpoint: ep });
  t.ok(pre.some((l) => /^one pid 0: addreplica .* \(temporary\)$/.test(l)), 'a temporary replica for the single-replica table');
  t.ok(pre.some((l) => l === `one pid 0: changeleader away from ${ep}`));
  t.notOk([leaderOf(h, 1, 0), leaderOf(h, 1, 1), leaderOf(h, 2, 0)].includes(ep), 'it leads nothing');
  for (const pid of led) t.same(h.partition(1, pid).formerLeaders, [ep], `flow pid ${pid} remembers it`);
  t.same(h.partition(2, 0).formerLeaders, [ep]);
  const temp = h.partition(2, 0).tempReplicas!;
  t.equal(temp.length, 1, 'replica_ack=leader: one temporary replica is enough');
  t.equal(leaderOf(h, 2, 0), temp[0], 'the temporary replica leads the single-replica table');
  const count = lastOpId(h);
  t.same(runSteps(h, { type: 'preupgrade', endpoint: ep }).filter((l) => !l.includes('ready')), [], 'a rerun plans nothing');
  t.equal(lastOpId(h), count);

  h.tabletDown(ep);
  t.match(h.adminReply({ type: 'postupgrade', endpoint: ep }), { ok: false, error: { code: 'TABLET_NOT_HEALTHY', message: 'tablet is not healthy' } });
  h.tabletUp(ep, false);
  const post = runSteps(h, { type: 'postupgrade', endpoint: ep });
  t.ok(post.includes(`one pid 0: changeleader back to ${ep}`));
  t.ok(post.includes(`one pid 0: delreplica ${temp[0]} (temporary)`));
  t.same([leaderOf(h, 1, 0), leaderOf(h, 1, 1), leaderOf(h, 2, 0)], leadersBefore, 'every leadership back');
  t.same(h.partition(2, 0).replicas.map((r) => r.endpoint), [ep], 'the temporary replica is gone');
  for (const [tid, pid] of [[1, 0], [1, 1], [2, 0]] as const) {
    t.equal(h.partition(tid, pid).formerLeaders, undefined);
    t.equal(h.partition(tid, pid).tempReplicas, undefined);
  }
  t.same(invariantViolations(h, { allAlive: true }), []);
});

t.test('pre-upgrade / post-upgrade refusals', async (t) => {
  const h = cluster();
  t.match(h.adminReply({ type: 'preupgrade', endpoint: 'nowhere:1' }), { ok: false, error: { code: 'TABLET_NOT_HEALTHY', message: 'endpoint does not exist' } });
  h.tabletDown('ep2');
  t.match(h.adminReply({ type: 'preupgrade', endpoint: 'ep2' }), { ok: false, error: { code: 'TABLET_NOT_HEALTHY', message: 'tablet is not healthy' } });
});

t.test('post-upgrade recovers replicas marked not alive while the tablet was down, then gives the leaderships back', async (t) => {
  const h = cluster(9);
  const ep = leaderOf(h, 1, 0)!;
  const leadersBefore = [leaderOf(h, 1, 0), leaderOf(h, 1, 1)];
  runSteps(h, { type: 'preupgrade', endpoint: ep });
  t.notOk([leaderOf(h, 1, 0), leaderOf(h, 1, 1)].includes(ep), 'it leads nothing');
  h.tabletDown(ep);
  h.adminReply({ type: 'offlineendpoint', endpoint: ep });
  h.runUntilIdle();
  t.ok([0, 1].every((pid) => h.partition(1, pid).replicas.find((r) => r.endpoint === ep)!.isAlive === false), 'its replicas marked not alive');
  h.write(1, 0, 3);
  h.tabletUp(ep, true);
  const post = runSteps(h, { type: 'postupgrade', endpoint: ep });
  t.ok(post.includes(`flow pid 0: recovertable ${ep}`), 'recovered first');
  t.ok(post.includes(`flow pid 0: changeleader back to ${ep}`), 'then the leadership back');
  t.same([leaderOf(h, 1, 0), leaderOf(h, 1, 1)], leadersBefore);
  h.replicateFully();
  t.same(invariantViolations(h, { allAlive: true }), []);
});
