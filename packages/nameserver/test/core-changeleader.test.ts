/**
 * Transcript tests of kChangeLeaderOP: the hand-over of a live leader (fence, catch up, raise the
 * term, swap) without losing acknowledged writes; failover from a dead leader; refusals with
 * OpenMLDB's texts; failure, cancel and timeout undone back to the old leader; a nameserver
 * killed at every write boundary.
 */
import t from 'tap';
import { Harness, invariantViolations } from './core-harness.js';

function cluster(options: { asyncWrites?: boolean; seed?: number; config?: ConstructorParameters<typeof Harness>[0]['config'] } = {}) {
  const h = new Harness({ tablets: ['ep1', 'ep2', 'ep3'], seed: options.seed ?? 5, asyncWrites: options.asyncWrites ?? false, config: options.config });
  h.createTable('flow', 2, 3);
  const p0 = h.partition(1, 0);
  const leader = p0.replicas.find((r) => r.isLeader)!.endpoint;
  const [f1, f2] = p0.replicas.filter((r) => !r.isLeader).map((r) => r.endpoint) as [string, string];
  return { h, leader, f1, f2 };
}

const changeleader = (pid: number, extra: { candidate?: string; auto?: boolean } = {}) => ({ type: 'changeleader' as const, db: 'demo_db', name: 'flow', pid, ...extra });
const HANDOVER_TASKS = ['kFenceLeader', 'kCheckBinlogSyncProgress', 'kSelectLeader', 'kDemoteLeader', 'kChangeLeader', 'kUpdateLeaderInfo'];

t.test('hand-over to a lagging candidate: fence, catch up, raise the term, swap; no acknowledged write lost', async (t) => {
  const { h, leader, f1, f2 } = cluster();
  t.equal(h.write(1, 0, 10).length, 10, 'ten writes acknowledged by the leader, not yet replicated');
  const reply = h.adminReply(changeleader(0, { candidate: f1 }));
  t.match(reply, { ok: true, message: /^change leader ok\./, data: { opIds: [1] } });
  t.same(h.write(1, 0, 3), [], 'the fenced leader refuses writes while the candidate catches up');
  h.runUntilIdle();
  const op = h.engine.op(1)!;
  t.equal(op.status, 'kDone');
  t.same(op.tasks.map((x) => x.kind), HANDOVER_TASKS);
  t.same(h.sentCommands(), [`${leader} FenceLeader`, `${leader} ChangeRole`, `${f1} ChangeRole`]);
  t.match(op.data, { kind: 'changeLeader', handOver: true, oldLeader: leader, selected: { candidate: f1, newTerm: 2, restoreTerm: 3, startOffset: 11 } });
  t.same(h.layout(1, 0), [`${leader}:F`, `${f1}:L`, `${f2}:F`].sort());
  t.same(h.partition(1, 0).termOffsets, [{ term: 1, offset: 0 }, { term: 2, offset: 11 }]);
  t.notOk(h.partition(1, 0).inSync.includes(leader), 'the demoted leader is not recorded in sync before its new leader waits for it');
  const newLeader = h.cluster.tablet(f1).replica(1, 0)!;
  t.match(newLeader, { role: 'leader', term: 2, fenced: false });
  t.same([...newLeader.followers].sort(), [leader, f2].sort(), 'the old leader follows the new one');
  t.equal(h.write(1, 0, 2).length, 2, 'writes go to the new leader');
  h.replicateFully();
  t.same(h.cluster.tablet(leader).replica(1, 0)!.log, [...Array(10).fill(1), 2, 2], 'the old leader follows at the new term');
  h.tick();
  t.same([...h.partition(1, 0).inSync].sort(), [leader, f2].sort(), 'both followers in sync once caught up (in-sync checker)');
  t.same(invariantViolations(h, { allAlive: true }), []);
});

t.test('changeleader auto on a live leader hands over to the follower with the highest offset', async (t) => {
  const { h, f1, f2 } = cluster();
  h.write(1, 0, 6);
  h.replicateFully();
  h.cluster.tablet(f1).replica(1, 0)!.log.pop(); // f1 one entry behind
  h.tick();
  h.adminReply(changeleader(0, { auto: true }));
  h.runUntilIdle();
  t.equal(h.engine.op(1)!.status, 'kDone');
  t.ok(h.layout(1, 0).includes(`${f2}:L`), 'the most advanced follower leads');
  t.same(invariantViolations(h, { allAlive: true }), []);
});

t.test('changeleader refusals', async (t) => {
  const { h, leader, f1 } = cluster();
  t.match(h.adminReply(changeleader(0)), { ok: false, error: { code: 'PRECONDITION_FAILED', message: 'leader is alive' } });
  t.match(h.adminReply(changeleader(5)), { ok: false, error: { code: 'INVALID_ARGUMENT', message: 'pid does not exist' } });
  t.match(h.adminReply(changeleader(0, { candidate: leader })), {
    ok: false,
    error: { message: `create op failed. candidate[${leader}] is not an alive follower. name[flow] pid[0]` },
  });
  t.match(h.adminReply(changeleader(0, { candidate: 'ep9' })), { ok: false, error: { message: /^create op failed/ } });
  t.match(h.adminReply({ ...changeleader(0), name: 'nope' }), { ok: false, error: { code: 'TABLE_NOT_FOUND' } });
  h.createTable('single', 1, 1);
  t.match(h.adminReply({ ...changeleader(0), name: 'single' }), { ok: false, error: { message: 'no follower' } });
  h.tabletDown(leader);
  for (const e of ['ep1', 'ep2', 'ep3'].filter((x) => x !== leader)) h.tabletDown(e);
  t.match(h.adminReply(changeleader(0, { candidate: f1 })), { ok: false, error: { message: 'no alive follower' } });
  t.same(h.engine.ops(), []);
});

t.test('failover from a dead leader: SelectLeader, ChangeLeader, UpdateLeaderInfo', async (t) => {
  const { h, leader, f1, f2 } = cluster();
  h.write(1, 0, 4);
  h.replicateFully();
  h.tabletDown(leader);
  const reply = h.adminReply(changeleader(0));
  t.match(reply, { ok: true, message: 'change leader ok. If there are writing operations while changing a leader, it may cause data loss.' });
  h.runUntilIdle();
  const op = h.engine.op(1)!;
  t.equal(op.status, 'kDone');
  t.same(op.tasks.map((x) => x.kind), ['kChangeRole', 'kChangeRole', 'kSelectLeader', 'kChangeLeader', 'kUpdateLeaderInfo']);
  t.same(op.tasks.slice(0, 2).map((x) => x.kind === 'kChangeRole' && `${x.endpoint} ${x.role} ${x.term}`), [`${f1} follower 2`, `${f2} follower 2`], 'followers fenced first');
  const chosen = h.partition(1, 0).replicas.find((r) => r.isLeader && r.isAlive)!.endpoint;
  t.ok(chosen === f1 || chosen === f2);
  t.same(h.sentCommands(), [`${f1} ChangeRole`, `${f2} ChangeRole`, `${chosen} ChangeRole`]);
  // As OpenMLDB: the leader that failed over stays flagged leader, not alive (`leader no`).
  t.same(h.layout(1, 0), [`${leader}:L-dead`, `${chosen}:L`, `${chosen === f1 ? f2 : f1}:F`].sort());
  t.same(h.partition(1, 0).termOffsets, [{ term: 1, offset: 0 }, { term: 3, offset: 5 }]);
  t.same(invariantViolations(h, { allAlive: false }), []);
  t.equal(h.write(1, 0, 1).length, 1, 'the new leader takes writes');
});

t.test('hand-over fails at ChangeLeader: the old leader leads again at a raised term', async (t) => {
  const { h, leader, f1 } = cluster();
  h.write(1, 0, 5);
  h.replicateFully();
  h.faults.command = (ep, c) => (ep === f1 && c.type === 'ChangeRole' && c.role === 'leader' ? 'failBefore' : 'deliver');
  h.adminReply(changeleader(0, { candidate: f1 }));
  h.runUntilIdle();
  const op = h.engine.op(1)!;
  t.equal(op.status, 'kFailed');
  t.same(
    op.tasks.filter((x) => x.undo).map((x) => `${x.kind} ${'endpoint' in x ? x.endpoint : ''}`),
    [`kChangeRole ${f1}`, `kRestoreLeader ${leader}`],
  );
  t.ok(h.layout(1, 0).includes(`${leader}:L`));
  t.same(h.partition(1, 0).termOffsets, [{ term: 1, offset: 0 }, { term: 3, offset: 6 }]);
  t.match(h.cluster.tablet(leader).replica(1, 0), { role: 'leader', term: 3, fenced: false });
  t.equal(h.write(1, 0, 1).length, 1, 'writes are accepted again');
  h.replicateFully();
  t.same(invariantViolations(h, { allAlive: true }), []);
});

t.test('hand-over canceled while the candidate catches up: the leader is unfenced, nothing else changes', async (t) => {
  const { h, leader, f1 } = cluster();
  h.write(1, 0, 20);
  h.admin(changeleader(0, { candidate: f1 }));
  t.match(h.engine.op(1), { status: 'kDoing', taskIndex: 1 });
  t.match(h.adminReply({ type: 'cancelop', opId: 1 }), { ok: true, message: 'Cancel op ok' });
  h.runUntilIdle();
  const op = h.engine.op(1)!;
  t.equal(op.status, 'kCanceled');
  t.same(op.tasks.filter((x) => x.undo).map((x) => x.kind), ['kChangeRole']);
  t.ok(h.layout(1, 0).includes(`${leader}:L`));
  t.equal(h.term(1, 0), 1, 'term unchanged');
  t.match(h.cluster.tablet(leader).replica(1, 0), { role: 'leader', term: 1, fenced: false });
  t.equal(h.write(1, 0, 1).length, 1);
  t.same(invariantViolations(h, { allAlive: true }), []);
});

t.test('hand-over whose candidate dies while catching up gives up after catchUpTimeoutMs', async (t) => {
  const { h, leader, f1 } = cluster({ config: { catchUpTimeoutMs: 2_000, tabletDownTaskGraceMs: 60_000 } });
  h.write(1, 0, 20);
  h.admin(changeleader(0, { candidate: f1 }));
  h.tabletDown(f1);
  const startMs = h.nowMs;
  h.runUntilIdle();
  t.ok(h.nowMs - startMs <= 2_500, 'writes were refused for at most the catch-up timeout');
  const op = h.engine.op(1)!;
  t.equal(op.status, 'kFailed');
  t.match(op.error, 'kCheckBinlogSyncProgress timed out after 2000ms');
  t.match(h.cluster.tablet(leader).replica(1, 0), { role: 'leader', fenced: false });
  t.equal(h.write(1, 0, 1).length, 1);
});

t.test('hand-over survives a nameserver killed after any number of ZooKeeper writes', async (t) => {
  for (let stop = 0; stop <= 12; stop++) {
    for (const seed of [1, 2, 3, 4]) {
      const { h, leader, f1 } = cluster({ asyncWrites: true, seed });
      h.write(1, 0, 7);
      const base = h.writesApplied;
      h.admin(changeleader(0, { candidate: f1 }), false);
      h.settleUntil(() => h.writesApplied - base >= stop);
      h.tick();
      h.killNameserver();
      h.runUntilIdle();
      h.replicateFully();
      const where = `killed after ${stop} writes, seed ${seed}`;
      const op = h.engine.op(1);
      const leaderNow = h.partition(1, 0).replicas.find((r) => r.isLeader)!.endpoint;
      if (op !== undefined) t.equal(op.status, 'kDone', where);
      t.ok(leaderNow === f1 || (op === undefined && leaderNow === leader), `${where}: leader ${leaderNow}`);
      t.same(invariantViolations(h, { allAlive: true }), [], where);
    }
  }
});

t.test('scale-in from the seed: move leaders off a tablet with changeleader, migrate the rest, stop it', async (t) => {
  const h = new Harness({ tablets: ['ep1', 'ep2', 'ep3', 'ep4'], seed: 11 });
  h.createTable('flow', 8, 3);
  for (let pid = 0; pid < 8; pid++) h.write(1, pid, 3 + pid);
  h.replicateFully();
  const drain = 'ep2';
  for (let pid = 0; pid < 8; pid++) {
    const p = h.partition(1, pid);
    const mine = p.replicas.find((r) => r.endpoint === drain);
    if (mine === undefined) continue;
    if (mine.isLeader) {
      const candidate = p.replicas.find((r) => !r.isLeader)!.endpoint;
      t.match(h.adminReply(changeleader(pid, { candidate })), { ok: true });
      h.runUntilIdle();
    }
    const des = ['ep1', 'ep2', 'ep3', 'ep4'].find((e) => !h.partition(1, pid).replicas.some((r) => r.endpoint === e))!;
    t.match(h.adminReply({ type: 'migrate', db: 'demo_db', name: 'flow', src: drain, des, pids: [pid] }), { ok: true, message: 'partition migrate ok' });
    for (let pid2 = 0; pid2 < 8; pid2++) h.write(1, pid2, 1);
  }
  h.runUntilIdle();
  t.ok(h.engine.ops().every((o) => o.status === 'kDone'), 'every op done');
  for (let pid = 0; pid < 8; pid++) t.notOk(h.partition(1, pid).replicas.some((r) => r.endpoint === drain), `pid ${pid} off ${drain}`);
  t.equal(h.cluster.tablet(drain).replicas.size, 0, 'nothing left on the drained tablet');
  h.tabletDown(drain);
  h.replicateFully();
  t.same(invariantViolations(h, { allAlive: true }), []);
  const rows = h.adminReply({ type: 'showopstatus', db: 'demo_db', name: 'flow' });
  t.ok((rows as { data: { ops: unknown[] } }).data.ops.length > 0);
});
