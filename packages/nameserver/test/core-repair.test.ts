/**
 * The reconciler (kRepairPartitionOP) and failover edge cases: leftovers a skipped step can leave
 * (a stray copy, a paused or fenced leader, a follower that still leads, a leader replicating to
 * an outsider) are brought back to metadata, once, with backoff; a failover marks not alive the
 * followers it cannot verify; one seed gives one transcript.
 */
import t from 'tap';
import { Harness, invariantViolations } from './core-harness.js';

function cluster(config?: ConstructorParameters<typeof Harness>[0]['config']) {
  const h = new Harness({ tablets: ['ep1', 'ep2', 'ep3', 'ep4'], seed: 13, config });
  h.createTable('flow', 2, 3);
  h.write(1, 0, 4);
  h.replicateFully();
  const p0 = h.partition(1, 0);
  const leader = p0.replicas.find((r) => r.isLeader)!.endpoint;
  const [f1, f2] = p0.replicas.filter((r) => !r.isLeader).map((r) => r.endpoint) as [string, string];
  const outsider = ['ep1', 'ep2', 'ep3', 'ep4'].find((e) => !p0.replicas.some((r) => r.endpoint === e))!;
  return { h, leader, f1, f2, outsider };
}

const repairs = (h: Harness) => h.engine.ops().filter((o) => o.type === 'kRepairPartitionOP');

t.test('a stray copy and a leader left paused, fenced and replicating to it are repaired by one op', async (t) => {
  const { h, leader, outsider } = cluster();
  // What a migrate whose undo steps were skipped could leave behind.
  const l = h.cluster.tablet(leader).replica(1, 0)!;
  h.cluster.tablet(outsider).replicas.set('1/0', { ...l, role: 'follower', followers: new Set(), log: [...l.log] });
  l.state = 'snapshotPaused';
  l.fenced = true;
  l.followers.add(outsider);
  h.tick();
  h.runUntilIdle();
  const [op] = repairs(h);
  t.ok(op);
  t.equal(op!.status, 'kDone');
  t.same(op!.tasks.map((x) => `${x.kind} ${'endpoint' in x ? x.endpoint : ''}`), [`kChangeRole ${leader}`, `kDropTable ${outsider}`, `kRecoverSnapshot ${leader}`]);
  t.match(op!.data, { kind: 'repair', reasons: [/fenced/, `stray replica on ${outsider}`, `leader ${leader} left snapshot-paused`] });
  t.same(invariantViolations(h, { allAlive: true }), []);
  t.equal(h.write(1, 0, 1).length, 1, 'the leader takes writes again');
  for (let i = 0; i < 30; i++) h.tick();
  t.equal(repairs(h).length, 1, 'nothing more to repair');
});

t.test('a follower that still believes it leads is demoted, and a leader that lost its role is restored at a new term', async (t) => {
  const { h, leader, f1 } = cluster();
  const l = h.cluster.tablet(leader).replica(1, 0)!;
  const f = h.cluster.tablet(f1).replica(1, 0)!;
  // A hand-over undone halfway: the candidate led at term 2, the old leader follows at term 2.
  f.role = 'leader';
  f.term = 2;
  f.followers = new Set([leader]);
  l.role = 'follower';
  l.term = 2;
  l.followers = new Set();
  h.tick();
  h.runUntilIdle();
  const [op] = repairs(h);
  t.same(op!.tasks.map((x) => x.kind === 'kChangeRole' || x.kind === 'kRestoreLeader' ? `${x.kind} ${x.endpoint} ${x.term}` : x.kind), [
    `kChangeRole ${f1} 2`,
    `kRestoreLeader ${leader} 3`,
  ]);
  t.same(h.partition(1, 0).termOffsets, [{ term: 1, offset: 0 }, { term: 3, offset: 5 }]);
  h.replicateFully();
  t.same(invariantViolations(h, { allAlive: true }), []);
});

t.test('the reconciler leaves partitions with an op alone, and backs off after a failed repair', async (t) => {
  const { h, leader } = cluster();
  h.cluster.tablet(leader).replica(1, 0)!.state = 'snapshotPaused';
  h.faults.command = (_e, c) => (c.type === 'RecoverSnapshot' ? 'failBefore' : 'deliver');
  h.tick();
  h.runUntilIdle();
  t.same(repairs(h).map((o) => o.status), ['kFailed']);
  for (let i = 0; i < 5; i++) h.tick();
  t.equal(repairs(h).length, 1, 'no new attempt within repairBackoffMs');
  h.faults = {};
  for (let i = 0; i < 20; i++) h.tick();
  h.runUntilIdle();
  t.same(repairs(h).map((o) => o.status), ['kFailed', 'kDone']);
  t.same(invariantViolations(h, { allAlive: true }), []);
});

t.test('failover to a candidate behind another follower marks that follower not alive', async (t) => {
  const { h, leader, f1, f2 } = cluster();
  h.write(1, 0, 3);
  h.replicateFully();
  h.cluster.tablet(f1).replica(1, 0)!.log.splice(5); // f1 has 5 entries, f2 has 7
  h.tabletDown(leader);
  h.adminReply({ type: 'changeleader', db: 'demo_db', name: 'flow', pid: 0, candidate: f1 });
  h.runUntilIdle();
  const op = h.engine.op(1)!;
  t.equal(op.status, 'kDone');
  t.match(op.data, { selected: { candidate: f1, followers: [], dropped: [f2], startOffset: 6 } });
  t.same(h.layout(1, 0), [`${f1}:L`, `${f2}:F-dead`, `${leader}:L-dead`].sort());
  t.same(invariantViolations(h, { allAlive: false }), [`flow(1)/0: acknowledged write at offset 6 lost (leader ${f1} has 5 entries)`], 'the operator chose a lagging candidate for a failover: its missing writes are gone');
  h.acked.set('1/0', [...h.cluster.tablet(f1).replica(1, 0)!.log]);
  t.match(h.adminReply({ type: 'recovertable', db: 'demo_db', name: 'flow', pid: 0, endpoint: f2 }), { ok: true });
  h.runUntilIdle();
  t.equal(h.engine.ops().find((o) => o.parentId !== null)!.type, 'kReAddReplicaWithDropOP', 'its tail reaches into the new term: rebuilt');
  h.write(1, 0, 2);
  h.replicateFully();
  t.ok(h.layout(1, 0).includes(`${f2}:F`));
  t.same(invariantViolations(h, { allAlive: false }), []);
});

t.test('one seed, one transcript', async (t) => {
  const run = (): string[] => {
    const h = new Harness({ tablets: ['ep1', 'ep2', 'ep3', 'ep4'], seed: 99, asyncWrites: true });
    h.createTable('flow', 4, 3);
    h.faults.delayMs = () => 150;
    for (let pid = 0; pid < 4; pid++) {
      const p = h.partition(1, pid);
      const f = p.replicas.find((r) => !r.isLeader)!.endpoint;
      h.admin({ type: 'changeleader', db: 'demo_db', name: 'flow', pid, auto: true });
      h.admin({ type: 'delreplica', db: 'demo_db', name: 'flow', pids: [pid], endpoint: f });
      h.write(1, pid, 3);
      h.tick();
    }
    h.killNameserver();
    h.runUntilIdle();
    return h.transcript;
  };
  const a = run();
  t.ok(a.length > 100);
  t.same(run(), a);
});

t.test('a report asked for before a clean migrate ended does not start a repair op (issue 17, bug 4)', async (t) => {
  const h = new Harness({ tablets: ['ep1', 'ep2', 'ep3'], seed: 3 });
  h.createTable('flow', 2, 3);
  h.cluster.addTablet('ep4');
  h.tabletUp('ep4', true);
  h.write(1, 0, 5);
  h.replicateFully();
  const p0 = h.partition(1, 0);
  const leader = p0.replicas.find((r) => r.isLeader)!.endpoint;
  const src = p0.replicas.find((r) => !r.isLeader)!.endpoint;
  // What a poll answered just before the migrate's last commands reports: src still holds its
  // copy and the leader still replicates to it.
  const staleSrc = h.cluster.tablet(src).report();
  const staleLeader = h.cluster.tablet(leader).report();
  t.match(h.adminReply({ type: 'migrate', db: 'demo_db', name: 'flow', src, des: 'ep4', pids: [0] }), { ok: true });
  h.runUntilIdle();
  t.equal(h.engine.op(1)!.status, 'kDone');
  h.feed({ type: 'tabletReport', endpoint: src, replicas: staleSrc });
  h.feed({ type: 'tabletReport', endpoint: leader, replicas: staleLeader });
  h.settle();
  for (let i = 0; i < 30; i++) h.tick();
  h.runUntilIdle();
  t.same(repairs(h), [], 'no kRepairPartitionOP');
  const newest = h.engine.ops().filter((o) => o.pid === 0).sort((a, b) => b.id - a.id)[0]!;
  t.equal(newest.type, 'kMigrateOP', 'the newest op of pid 0 is the migrate');
  t.same(invariantViolations(h, { allAlive: true }), []);
});

t.test('a real leftover after an op is still repaired, once fresh reports show it', async (t) => {
  const { h, outsider, leader } = cluster();
  t.match(h.adminReply({ type: 'makesnapshot', db: 'demo_db', name: 'flow', pid: 0 }), { ok: true });
  h.runUntilIdle();
  const l = h.cluster.tablet(leader).replica(1, 0)!;
  h.cluster.tablet(outsider).replicas.set('1/0', { ...l, role: 'follower', followers: new Set(), log: [...l.log] });
  for (let i = 0; i < 30; i++) h.tick();
  h.runUntilIdle();
  const [op] = repairs(h);
  t.equal(op?.status, 'kDone');
  t.match(op?.data, { kind: 'repair', reasons: [`stray replica on ${outsider}`] });
  t.equal(h.cluster.tablet(outsider).replica(1, 0), undefined, 'the stray copy is dropped');
});

t.test('a repair op that finds nothing left to do when it starts leaves no op behind', async (t) => {
  const { h, outsider, leader } = cluster({ taskConcurrency: 1 });
  // A long op on pid 1 holds the only slot, so the repair of pid 0 waits kInited.
  h.faults.delayMs = () => 2_000;
  t.match(h.adminReply({ type: 'changeleader', db: 'demo_db', name: 'flow', pid: 1, auto: true }, 1), { ok: true });
  const l = h.cluster.tablet(leader).replica(1, 0)!;
  h.cluster.tablet(outsider).replicas.set('1/0', { ...l, role: 'follower', followers: new Set(), log: [...l.log] });
  h.tick();
  const waiting = repairs(h);
  t.equal(waiting.length, 1, 'a repair op is created for the stray copy');
  t.equal(waiting[0]!.status, 'kInited', 'and waits for the slot');
  // The copy goes away by itself before the repair starts (e.g. an undo that arrived late).
  h.cluster.tablet(outsider).replicas.delete('1/0');
  h.faults = {};
  for (let i = 0; i < 40; i++) h.tick();
  h.runUntilIdle();
  t.same(repairs(h), [], 'the repair re-derived to nothing is not kept');
  t.notOk(h.zk.ops.has(waiting[0]!.id), 'nor left in ZooKeeper');
});

t.test('reports of changes (issue 16): judged by what they carry; a whole report re-judges everything', async (t) => {
  const { h, outsider } = cluster();
  h.reportAll();
  const l = h.cluster.tablet(outsider);
  const stray = { ...h.cluster.tablet(h.partition(1, 0).replicas[0]!.endpoint).replica(1, 0)!, role: 'follower' as const, followers: new Set<string>(), log: [] };
  l.replicas.set('1/0', stray);
  const whole = h.cluster.report(outsider, h.nowMs);
  const strayReport = whole.find((r) => r.tid === 1 && r.pid === 0)!;
  t.ok(strayReport, 'the outsider reports the stray copy');
  // Changes naming something else: the stray copy is not judged (it was not in the report).
  h.feed({ type: 'tabletReport', endpoint: outsider, replicas: [], removed: [] });
  h.settle();
  t.equal(repairs(h).length, 0, 'an empty change report judges nothing');
  t.ok(h.engine.observed().replica(outsider, 1, 0) === undefined, 'nor shows the copy');
  // The change report naming it: merged into the picture and judged.
  h.feed({ type: 'tabletReport', endpoint: outsider, replicas: [strayReport], removed: [] });
  h.settle();
  t.equal(repairs(h).length, 1, 'the stray copy named by a change report is merged into the picture and repaired');
  h.runUntilIdle();
  t.equal(repairs(h)[0]!.status, 'kDone');
  // A copy gone is named as removed: it leaves the picture.
  h.feed({ type: 'tabletReport', endpoint: outsider, replicas: [], removed: [{ tid: 1, pid: 0 }] });
  h.settle();
  t.equal(h.engine.observed().replica(outsider, 1, 0), undefined, 'a removed replica leaves the picture');
});

t.test('a report of changes before any whole report of the tablet is ignored', async (t) => {
  const h = new Harness({ tablets: ['ep1', 'ep2', 'ep3'], seed: 5 });
  h.createTable('flow', 1, 3);
  h.cluster.tablet('ep1').up = false;
  h.feed({ type: 'tabletDown', endpoint: 'ep1', nowMs: h.nowMs });
  h.feed({ type: 'tabletUp', endpoint: 'ep1', nowMs: h.nowMs, startup: true });
  h.cluster.tablet('ep1').up = true;
  t.notOk(h.engine.observed().hasReported('ep1'), 'a restarted tablet has no report');
  h.feed({ type: 'tabletReport', endpoint: 'ep1', replicas: h.cluster.report('ep1', h.nowMs), removed: [] });
  h.settle();
  t.notOk(h.engine.observed().hasReported('ep1'), 'changes alone do not make a picture');
  h.report('ep1');
  h.settle();
  t.ok(h.engine.observed().hasReported('ep1'), 'a whole report does');
});

t.test('a change report in slices counts as a fresh report only with its last slice', async (t) => {
  const { h, outsider } = cluster();
  h.reportAll();
  const seq = h.engine.observed().lastReportSeq(outsider);
  const replicas = h.cluster.report(outsider, h.nowMs);
  h.feed({ type: 'tabletReport', endpoint: outsider, replicas: replicas.slice(0, 1), removed: [], more: true });
  h.settle();
  t.equal(h.engine.observed().lastReportSeq(outsider), seq, 'a slice with more to come: not a new report yet');
  h.feed({ type: 'tabletReport', endpoint: outsider, replicas: replicas.slice(1), removed: [] });
  h.settle();
  t.ok(h.engine.observed().lastReportSeq(outsider) > seq, 'the last slice: a new report');
});
