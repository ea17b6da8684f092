/**
 * A scale-in as one parent op (core parent.ts, issue 12): one kScaleInOP whose children are the
 * moves, the parent's status from its children, cancelop of the parent cancelling its children
 * (half-done moves undone, nothing left behind on any tablet, the moves already made consistent),
 * a child's failure stored in the parent's error, the move limits (`max_moves_per_tablet`,
 * `max_moves_per_cluster`, changed while ops run) and the priority of repairs over operator
 * moves over rebalance moves.
 */
import t from 'tap';
import type { OpStatusRow } from '@tessera/common';
import { PARENT_TID, moveEndpoints, schedule, type Op } from '../src/core/index.js';
import { Harness, aliveLeaderOf, invariantViolations, writtenCluster } from './core-harness.js';

function cluster(seed = 3, config: Record<string, number> = {}) {
  return writtenCluster({ tablets: ['ep1', 'ep2', 'ep3', 'ep4'], seed, config }, [{ name: 'flow', partitions: 4, replicas: 3, rows: 5 }, { name: 'one', partitions: 2, replicas: 1, rows: 5 }]);
}

const leaderOf = (h: Harness, tid: number, pid: number): string => aliveLeaderOf(h, tid, pid)!;

/** Partitions whose metadata names the endpoint. */
function metaHolds(h: Harness, ep: string): string[] {
  const out: string[] = [];
  for (const table of h.zk.tables.values()) for (const p of table.partitions) if (p.replicas.some((r) => r.endpoint === ep)) out.push(`${table.tid}/${p.pid}`);
  return out;
}

/** Anything a tablet holds (loaded or staged) that metadata does not place there. */
function strays(h: Harness): string[] {
  const out: string[] = [];
  for (const tablet of h.cluster.tablets.values()) {
    for (const key of [...tablet.replicas.keys(), ...tablet.staged.keys()]) {
      const [tid, pid] = key.split('/').map(Number) as [number, number];
      const p = h.zk.tables.get(tid)?.partitions.find((x) => x.pid === pid);
      if (p === undefined || !p.replicas.some((r) => r.endpoint === tablet.endpoint)) out.push(`${tablet.endpoint} ${key}${tablet.staged.has(key) ? ' (staged)' : ''}`);
    }
  }
  return out;
}

function parentOf(h: Harness): Op {
  const p = h.engine.ops().find((o) => o.type === 'kScaleInOP');
  if (p === undefined) throw new Error('no scale-in parent');
  return p;
}

const childrenOf = (h: Harness, parentId: number): Op[] => h.engine.ops().filter((o) => o.parentId === parentId);

t.test('scalein makes one parent op; its children are the moves; it ends kDone when the tablet holds nothing', async (t) => {
  const h = cluster(5);
  const ep = leaderOf(h, 1, 1);
  const reply = h.adminReply({ type: 'scalein', endpoints: [ep] }) as { ok: boolean; data: { opIds: number[]; done: boolean } };
  t.equal(reply.ok, true);
  t.equal(reply.data.opIds.length, 1, 'one op: the parent');
  const parent = parentOf(h);
  t.equal(parent.id, reply.data.opIds[0]);
  t.equal(parent.tid, PARENT_TID);
  t.match(parent.data, { kind: 'scaleIn', endpoints: [ep] });
  h.runUntilIdle();
  const done = h.engine.op(parent.id)!;
  t.equal(done.status, 'kDone', `parent done (${done.error ?? ''})`);
  const children = childrenOf(h, parent.id);
  t.ok(children.length > 0, `${children.length} children`);
  t.ok(children.every((c) => c.status === 'kDone'), children.map((c) => `${c.id} ${c.type} ${c.status}`).join(', '));
  t.ok(children.some((c) => c.type === 'kChangeLeaderOP') && children.some((c) => c.type === 'kMigrateOP'), 'hand-overs and migrates');
  t.ok(children.every((c) => c.data.kind !== 'migrate' || c.data.des !== ep), 'nothing moved onto the leaving tablet');
  t.ok(done.endMs >= Math.max(...children.map((c) => c.endMs)), 'the parent ends after its last child');
  t.same(metaHolds(h, ep), [], 'metadata places nothing on the tablet');
  t.same(strays(h), [], 'no tablet holds anything metadata does not place there');
  for (let pid = 0; pid < 4; pid++) t.equal(h.partition(1, pid).replicas.length, 3, `flow pid ${pid} keeps 3 replicas`);
  const rows = (h.adminReply({ type: 'showopstatus' }) as { data: { ops: OpStatusRow[] } }).data.ops;
  t.ok(rows.filter((r) => r.parentId === parent.id).length === children.length, 'showopstatus names each child\'s parent');
  t.same(invariantViolations(h, { allAlive: true }), []);
  t.match(h.adminReply({ type: 'scalein', endpoints: [ep] }), { ok: true, data: { done: true, opIds: [] } }, 'a rerun does nothing');
});

t.test('the same scalein again answers with the running parent; another one is refused', async (t) => {
  const h = cluster(6);
  const ep = leaderOf(h, 1, 0);
  const first = h.adminReply({ type: 'scalein', endpoints: [ep] }) as { data: { opIds: number[] } };
  const again = h.adminReply({ type: 'scalein', endpoints: [ep] }) as { ok: boolean; data: { opIds: number[]; parentOpId?: number; done: boolean } };
  // The harness settles the first completely between the two calls unless a move waits; accept either.
  if (h.engine.op(first.data.opIds[0]!)!.status === 'kDone') {
    t.match(again, { ok: true, data: { done: true } });
  } else {
    t.match(again, { ok: true, data: { parentOpId: first.data.opIds[0], opIds: [] } });
  }
  const h2 = cluster(6);
  const a = leaderOf(h2, 1, 0);
  const id = h2.admin({ type: 'scalein', endpoints: [a] }, false);
  h2.settleUntil(() => h2.replies.has(id));
  const other = ['ep1', 'ep2', 'ep3', 'ep4'].find((e) => e !== a)!;
  t.match(h2.adminReply({ type: 'scalein', endpoints: [other] }), { ok: false, error: { code: 'OP_CONFLICT', message: /another scale-in is running/ } });
});

t.test('cancelop of the parent half-way: children canceled, half-done moves undone, nothing left behind', async (t) => {
  const h = cluster(7, { taskConcurrency: 4 });
  const ep = leaderOf(h, 1, 0);
  const id = h.admin({ type: 'scalein', endpoints: [ep] }, false);
  // Run until a migrate child has sent its snapshot (copied data to its destination), not further.
  const midMigrate = (): boolean => h.engine.ops().some((o) => o.type === 'kMigrateOP' && o.status === 'kDoing' && o.tasks.slice(0, o.taskIndex).some((x) => x.kind === 'kSendSnapshot'));
  for (let i = 0; i < 200 && !midMigrate(); i++) {
    h.settleUntil(midMigrate);
    if (!midMigrate()) h.tick();
  }
  t.ok(h.replies.has(id), 'scalein answered');
  t.ok(midMigrate(), 'a migrate is half-way');
  const parent = parentOf(h);
  const before = childrenOf(h, parent.id);
  t.ok(before.length > 0);
  const cancel = h.adminReply({ type: 'cancelop', opId: parent.id });
  t.match(cancel, { ok: true, message: 'Cancel op ok' });
  h.runUntilIdle();
  const after = h.engine.op(parent.id)!;
  t.equal(after.status, 'kCanceled', 'the parent ends kCanceled');
  t.match(after.error, /canceled by admin/);
  const children = childrenOf(h, parent.id);
  t.ok(children.every((c) => c.status === 'kCanceled' || c.status === 'kDone'), children.map((c) => `${c.id} ${c.type} ${c.status}`).join(', '));
  t.ok(children.some((c) => c.status === 'kCanceled' && c.type === 'kMigrateOP' && c.rollback !== undefined), 'the half-done migrate was undone');
  t.equal(childrenOf(h, parent.id).length, before.length, 'no child was made after the cancel');
  t.same(strays(h), [], 'no tablet holds anything metadata does not place there (no staged snapshot, no half-loaded copy)');
  for (let pid = 0; pid < 4; pid++) t.equal(h.partition(1, pid).replicas.length, 3, `flow pid ${pid} keeps 3 replicas`);
  for (let pid = 0; pid < 2; pid++) t.equal(h.partition(2, pid).replicas.length, 1);
  t.same(invariantViolations(h, { allAlive: true }), [], 'metadata and tablets agree; moves already made are consistent');
  t.match(h.adminReply({ type: 'cancelop', opId: parent.id }), { ok: false, error: { code: 'OP_STATE' } }, 'a finished parent cannot be canceled');
});

t.test('a failed child fails the parent, with the child\'s error stored in the parent', async (t) => {
  const h = cluster(9);
  const ep = leaderOf(h, 1, 2);
  // Every SendSnapshot is refused for good: the first migrate fails (and is undone).
  h.faults.command = (_e, c) => (c.type === 'SendSnapshot' ? 'failBefore' : 'deliver');
  h.faults.retryable = () => false;
  h.adminReply({ type: 'scalein', endpoints: [ep] });
  h.runUntilIdle();
  const parent = parentOf(h);
  t.equal(parent.status, 'kFailed');
  t.match(parent.error, /child op \d+ \(kMigrateOP flow pid \d\) failed: .*SendSnapshot failed: INJECTED/);
  const rows = (h.adminReply({ type: 'showopstatus' }) as { data: { ops: OpStatusRow[] } }).data.ops;
  t.match(rows.find((r) => r.opId === parent.id), { status: 'kFailed', error: /child op/ }, 'showopstatus prints it');
  t.ok(h.zk.ops.has(parent.id), 'the failed parent stays in ZooKeeper for the operator');
  t.same(strays(h), []);
  t.same(invariantViolations(h, { allAlive: true }), []);
});

t.test('move limits: never more than max_moves_per_tablet / max_moves_per_cluster moves at once; confset takes effect at once', async (t) => {
  const h = new Harness({ tablets: ['ep1', 'ep2', 'ep3', 'ep4', 'ep5', 'ep6'], seed: 11, config: { taskConcurrency: 8, maxMovesPerTablet: 1, maxMovesPerCluster: 8 } });
  h.createTable('wide', 6, 2);
  for (let pid = 0; pid < 6; pid++) h.write(1, pid, 3);
  h.replicateFully();
  let peakPerTablet = 0;
  let peakCluster = 0;
  h.onStep = () => {
    const running = h.engine.ops().filter((o) => o.status === 'kDoing' && moveEndpoints(o) !== null);
    const per = new Map<string, number>();
    for (const o of running) for (const e of moveEndpoints(o)!) per.set(e, (per.get(e) ?? 0) + 1);
    peakPerTablet = Math.max(peakPerTablet, ...per.values(), 0);
    peakCluster = Math.max(peakCluster, running.length);
  };
  const leaving = ['ep1', 'ep2'];
  h.adminReply({ type: 'scalein', endpoints: leaving });
  h.runUntilIdle();
  t.equal(parentOf(h).status, 'kDone');
  t.equal(peakPerTablet, 1, 'at most one move per tablet at once');
  t.same([...metaHolds(h, 'ep1'), ...metaHolds(h, 'ep2')], []);

  const h2 = new Harness({ tablets: ['ep1', 'ep2', 'ep3', 'ep4', 'ep5', 'ep6'], seed: 12, config: { taskConcurrency: 8, maxMovesPerTablet: 8, maxMovesPerCluster: 8 } });
  h2.createTable('wide', 6, 2);
  for (let pid = 0; pid < 6; pid++) h2.write(1, pid, 3);
  h2.replicateFully();
  h2.feed({ type: 'settingsChanged', maxMovesPerCluster: 1 });
  t.same(h2.engine.limits(), { maxMovesPerTablet: 8, maxMovesPerCluster: 1 }, 'confset applied to the running engine');
  peakCluster = 0;
  h2.onStep = () => {
    const running = h2.engine.ops().filter((o) => o.status === 'kDoing' && moveEndpoints(o) !== null);
    peakCluster = Math.max(peakCluster, running.length);
  };
  h2.adminReply({ type: 'scalein', endpoints: leaving });
  h2.runUntilIdle();
  t.equal(parentOf(h2).status, 'kDone');
  t.equal(peakCluster, 1, 'at most one move in the cluster at once');
  h2.feed({ type: 'settingsChanged', maxMovesPerCluster: 0 });
  t.equal(h2.engine.limits().maxMovesPerCluster, 1, 'an out-of-range value is ignored');
});

t.test('priority: repairs before operator moves before rebalance moves; a limit names why an op waits', async (t) => {
  let id = 0;
  const op = (type: Op['type'], data: Op['data'], fields: Partial<Op> = {}): Op => ({
    id: ++id, type, db: 'd', name: 'n', tid: 1, pid: id, tasks: [], taskIndex: 0, commitTaskIndex: 0, status: 'kInited', createdMs: 0, startMs: 0, endMs: 0,
    nsEpoch: 1, parentId: null, data, progress: { tasksDone: 0, tasksTotal: 0 }, cancelRequested: false, ...fields,
  });
  const rebalance = op('kMigrateOP', { kind: 'migrate', src: 'a', des: 'b' }, { origin: 'rebalance' });
  const operator = op('kMigrateOP', { kind: 'migrate', src: 'a', des: 'c' });
  const repair = op('kReAddReplicaOP', { kind: 'replica', endpoint: 'd' });
  const failover = op('kChangeLeaderOP', { kind: 'changeLeader', request: 'deadLeader', candidate: null, oldLeader: null, oldTerm: 0, handOver: false, followersBefore: [], selected: null });
  const live = [rebalance, operator, repair, failover].map((o) => ({ op: o, created: true, finishing: false }));
  const all = schedule(live, { taskConcurrency: 8, maxMovesPerTablet: 8, maxMovesPerCluster: 8 });
  t.same(all.start.map((o) => o.id), [repair.id, failover.id, operator.id, rebalance.id], 'repairs, then the operator move, then the rebalance move');
  const two = schedule(live, { taskConcurrency: 2, maxMovesPerTablet: 8, maxMovesPerCluster: 8 });
  t.same(two.start.map((o) => o.id), [repair.id, failover.id], 'with two slots the repairs take them');
  t.match(two.blocked.get(operator.id), /task concurrency 2/);
  const oneMove = schedule(live, { taskConcurrency: 8, maxMovesPerTablet: 8, maxMovesPerCluster: 2 });
  t.same(oneMove.start.map((o) => o.id), [repair.id, failover.id, operator.id], 'a leader change is no move; the rebalance move waits');
  t.match(oneMove.blocked.get(rebalance.id), /max_moves_per_cluster 2/);
  const perTablet = schedule(live, { taskConcurrency: 8, maxMovesPerTablet: 1, maxMovesPerCluster: 8 });
  t.match(perTablet.blocked.get(rebalance.id), /max_moves_per_tablet 1 reached on a/, 'the rebalance move shares tablet a with the operator move');
});

t.test('a nameserver failover mid-way: the new leader goes on driving the parent to kDone', async (t) => {
  for (const seed of [21, 22, 23]) {
    const h = new Harness({ tablets: ['ep1', 'ep2', 'ep3', 'ep4'], seed, asyncWrites: true });
    h.createTable('flow', 4, 3);
    for (let pid = 0; pid < 4; pid++) h.write(1, pid, 5);
    h.replicateFully();
    const ep = leaderOf(h, 1, 0);
    h.admin({ type: 'scalein', endpoints: [ep] }, false);
    // Run until the parent has children, some of them running, then kill the leader.
    const midway = (): boolean => h.engine.ops().some((o) => o.parentId !== null && o.status === 'kDoing');
    for (let i = 0; i < 200 && !midway(); i++) {
      h.settleUntil(midway);
      if (!midway()) h.tick();
    }
    t.ok(midway(), `seed ${seed}: children running`);
    h.killNameserver();
    h.runUntilIdle();
    const parent = h.engine.ops().find((o) => o.type === 'kScaleInOP');
    t.equal(parent?.status, 'kDone', `seed ${seed}: the parent ended kDone under the new leader (${parent?.error ?? ''})`);
    t.same(metaHolds(h, ep), [], `seed ${seed}: the tablet holds nothing`);
    t.same(strays(h), [], `seed ${seed}: nothing left behind`);
    t.same(invariantViolations(h, { allAlive: true }), []);
  }
});
