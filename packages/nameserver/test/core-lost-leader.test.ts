/**
 * Issue 17 bug 2 in the core: a dead leader is never left (or put back) marked alive. The undo
 * rule (kRestoreLeader never marks alive a leader whose tablet is gone), offlineendpoint marking
 * not alive what it cannot fail over (`leader no`: leaderless and saying so, OpenMLDB's picture),
 * a failover that finds no follower left followed by the monitor's retry, and the way back: the
 * flagged leader, once its tablet returns, leads again at a raised term and its followers are
 * recovered after it, with no acknowledged write lost.
 */
import t from 'tap';
import { NameserverEngine, TASK_SPECS, engineConfig, newTask, seededRandom, type Op, type TaskContext, type TaskOf } from '../src/core/index.js';
import { ObservedCluster } from '../src/core/observed.js';
import { invariantViolations, writtenCluster, type Harness } from './core-harness.js';

void NameserverEngine;

function cluster(seed = 11) {
  return writtenCluster({ tablets: ['ep1', 'ep2', 'ep3'], seed }, [{ name: 'flow', partitions: 2, replicas: 3, rows: 5 }]);
}

const leaderOf = (h: Harness, pid: number): string => h.partition(1, pid).replicas.find((r) => r.isLeader)!.endpoint;
const aliveLeaders = (h: Harness, pid: number): string[] => h.partition(1, pid).replicas.filter((r) => r.isLeader && r.isAlive).map((r) => r.endpoint);

t.test('undo rule: kRestoreLeader marks its leader alive only while the tablet is healthy', async (t) => {
  const h = cluster();
  const p = h.partition(1, 0);
  const leader = leaderOf(h, 0);
  const table = h.zk.tables.get(1)!;
  const task = newTask({ kind: 'kRestoreLeader', endpoint: leader, term: 5, followers: [] }) as TaskOf<'kRestoreLeader'>;
  const deadLeader = { ...p, replicas: p.replicas.map((r) => (r.endpoint === leader ? { ...r, isAlive: false } : r)) };
  const ctxWith = (healthy: boolean): TaskContext => {
    const observed = new ObservedCluster();
    observed.reset(['ep1', 'ep2', 'ep3'].map((endpoint) => ({ endpoint, healthy: endpoint !== leader || healthy, sinceMs: 0 })));
    observed.setReport(leader, [{ tid: 1, pid: 0, role: 'leader', state: 'normal', term: 5, offset: 5 } as never]);
    return {
      op: { id: 1, tid: 1, pid: 0 } as Op, table, partition: deadLeader, observed, config: engineConfig(), random: seededRandom(1),
      reservedTermMax: 0, taskElapsedMs: 0, reportedSinceTaskStart: () => true,
    };
  };
  const offline = TASK_SPECS.kRestoreLeader.apply!(task, ctxWith(false));
  t.match(offline, { status: 'failed', error: `tablet ${leader} is not healthy` }, 'a lost tablet is not marked alive');
  const healthy = TASK_SPECS.kRestoreLeader.apply!(task, ctxWith(true));
  t.equal(healthy.status, 'done');
  t.ok(healthy.status === 'done' && healthy.partition!.replicas.some((r) => r.endpoint === leader && r.isLeader && r.isAlive), 'a healthy one is');
});

t.test('a failover whose only candidate leaves fails; offlineendpoint again marks the leader `leader no`, not alive', async (t) => {
  const h = cluster();
  const leader = leaderOf(h, 0);
  const others = h.partition(1, 0).replicas.filter((r) => !r.isLeader).map((r) => r.endpoint);
  // The first follower is lost first: its replicas are taken offline.
  h.tabletDown(others[0]!);
  h.adminReply({ type: 'offlineendpoint', endpoint: others[0]! });
  h.runUntilIdle();
  // The leader goes; its failover starts (fencing the last follower), then the last follower goes too.
  h.tabletDown(leader);
  h.faults = { delayMs: () => 300 }; // commands take a while: the failover is caught halfway
  h.admin({ type: 'offlineendpoint', endpoint: leader });
  const fenced = () => h.engine.ops().some((o) => o.type === 'kChangeLeaderOP' && o.pid === 0 && o.status === 'kDoing' && o.tasks[o.taskIndex]?.kind === 'kChangeRole');
  for (let i = 0; i < 100 && !fenced(); i++) h.tick(50);
  t.ok(fenced(), 'the failover is fencing the last follower');
  h.tabletDown(others[1]!);
  h.faults = {};
  h.runUntilIdle();
  const failover = h.engine.ops().find((o) => o.type === 'kChangeLeaderOP' && o.pid === 0)!;
  t.equal(failover.status, 'kFailed', 'no alive follower to lead');
  t.match(failover.error, /no alive follower|not healthy/);
  t.same(aliveLeaders(h, 0), [leader], 'the op changed no metadata: the lost leader is still credited (what the monitor then sees)');

  // The failover monitor's level-triggered retry: every lost tablet still credited with an alive replica.
  for (const ep of [leader, others[1]!]) t.match(h.adminReply({ type: 'offlineendpoint', endpoint: ep }), { ok: true });
  h.runUntilIdle();
  t.same(aliveLeaders(h, 0), [], 'leaderless');
  t.ok(h.partition(1, 0).replicas.find((r) => r.endpoint === leader)!.isLeader, 'and saying so: its leader keeps the flag, not alive (`leader no`)');
  for (const pid of [0, 1]) t.ok(h.partition(1, pid).replicas.every((r) => !r.isAlive), `pid ${pid}: nothing on a lost tablet marked alive`);
  t.same(invariantViolations(h, { allAlive: false }).filter((v) => !/no alive leader|leader/.test(v)), []);

  // A second retry finds nothing to do (and creates nothing).
  const before = h.engine.ops().length;
  t.match(h.adminReply({ type: 'offlineendpoint', endpoint: leader }), { ok: true, data: { opIds: [] } });
  t.equal(h.engine.ops().length, before);

  // The three come back (their replicas loaded but unassigned, as after a lost session or a
  // restart). The followers cannot be recovered before the leader is back: recoverendpoint leaves
  // them for later rather than run an op that fails and holds the partition meanwhile...
  for (const ep of ['ep1', 'ep2', 'ep3']) h.tabletUp(ep, true);
  h.adminReply({ type: 'recoverendpoint', endpoint: others[1]! });
  h.runUntilIdle();
  t.same(h.engine.ops().filter((o) => o.type === 'kRecoverTableOP' && o.pid === 0), [], 'no recovery of a follower of a leaderless partition');
  // ...the flagged leader leads again, at a term above every known one, recorded in the history...
  const termBefore = Math.max(...h.partition(1, 0).termOffsets.map((x) => x.term));
  h.adminReply({ type: 'recoverendpoint', endpoint: leader });
  h.runUntilIdle();
  const reload = h.engine.ops().find((o) => o.type === 'kReLoadTableOP' && o.pid === 0)!;
  t.equal(reload.status, 'kDone');
  t.same(reload.tasks.map((x) => x.kind), ['kRestoreLeader']);
  t.same(aliveLeaders(h, 0), [leader]);
  t.ok(h.term(1, 0) > termBefore, 'at a raised term');
  t.match(h.cluster.tablet(leader).replica(1, 0), { role: 'leader', term: h.term(1, 0) });
  // ...and the followers are recovered after it (the monitor repeats recoverendpoint).
  for (let round = 0; round < 3; round++) {
    for (const ep of ['ep1', 'ep2', 'ep3']) h.adminReply({ type: 'recoverendpoint', endpoint: ep });
    h.runUntilIdle();
  }
  h.replicateFully();
  for (const pid of [0, 1]) t.equal(aliveLeaders(h, pid).length, 1, `pid ${pid}: one alive leader`);
  t.same(invariantViolations(h, { allAlive: true }), [], 'every replica alive, no acknowledged write lost');
  t.equal(h.write(1, 0, 2).length, 2, 'writable again');
});
