/**
 * The engine's own rules, independent of any one op type: bounded concurrency and FIFO start,
 * one op per partition, re-planning when a queued op starts, replies only after ZooKeeper
 * confirmed, failed writes retried, resume re-checks against fresh reports, leadership loss,
 * dropped tables, deleteop and malformed commands.
 */
import t from 'tap';
import { NameserverEngine, engineConfig, seededRandom, type EngineEffect } from '../src/core/index.js';
import { Harness, invariantViolations, writtenCluster } from './core-harness.js';

function cluster(options: ConstructorParameters<typeof Harness>[0] = { tablets: ['ep1', 'ep2', 'ep3', 'ep4', 'ep5'], seed: 21 }) {
  return writtenCluster(options, [{ name: 'flow', partitions: 4, replicas: 3, rows: 3 }]);
}

const followerOf = (h: Harness, pid: number, n = 0): string => h.partition(1, pid).replicas.filter((r) => !r.isLeader)[n]!.endpoint;
const outsiderOf = (h: Harness, pid: number, n = 0): string =>
  ['ep1', 'ep2', 'ep3', 'ep4', 'ep5'].filter((e) => !h.partition(1, pid).replicas.some((r) => r.endpoint === e))[n]!;
const migrate = (src: string, des: string, pid: number) => ({ type: 'migrate' as const, db: 'demo_db', name: 'flow', src, des, pids: [pid] });

t.test('at most taskConcurrency ops run at once; waiting ops start in id order', async (t) => {
  const h = cluster();
  h.faults.delayMs = () => 300; // commands take a while, so ops overlap
  let runningMax = 0;
  const startOrder: number[] = [];
  h.onStep = (effects: EngineEffect[]) => {
    runningMax = Math.max(runningMax, h.engine.opSummaries().filter((o) => o.status === 'kDoing').length);
    for (const e of effects) if (e.kind === 'persistOp' && e.op.status === 'kDoing' && e.op.taskIndex === 0 && !startOrder.includes(e.op.id)) startOrder.push(e.op.id);
  };
  for (let pid = 0; pid < 4; pid++) h.admin(migrate(followerOf(h, pid), outsiderOf(h, pid), pid));
  t.same(h.engine.opSummaries().map((o) => o.status), ['kDoing', 'kDoing', 'kInited', 'kInited']);
  h.runUntilIdle();
  t.equal(runningMax, 2);
  t.same(startOrder, [1, 2, 3, 4]);
  t.ok(h.engine.opSummaries().every((o) => o.status === 'kDone'));
  t.same(invariantViolations(h, { allAlive: true }), []);
});

t.test('one op at a time per partition; a queued op is re-planned when it starts', async (t) => {
  const h = cluster({ tablets: ['ep1', 'ep2', 'ep3', 'ep4', 'ep5'], seed: 21, config: { taskConcurrency: 4 } });
  h.faults.delayMs = () => 200;
  const f = followerOf(h, 0);
  const other = followerOf(h, 0, 1);
  h.admin(migrate(f, outsiderOf(h, 0), 0));
  h.admin({ type: 'delreplica', db: 'demo_db', name: 'flow', pids: [0], endpoint: other });
  h.admin(migrate(f, outsiderOf(h, 0, 1), 0)); // valid now, not once op 1 moved f away
  h.admin(migrate(followerOf(h, 1), outsiderOf(h, 1), 1));
  t.same(h.engine.opSummaries().map((o) => `${o.id}:${o.status}`), ['1:kDoing', '2:kInited', '3:kInited', '4:kDoing'], 'other partitions are not blocked');
  h.runUntilIdle();
  const [op1, op2, op3] = [h.engine.op(1)!, h.engine.op(2)!, h.engine.op(3)!];
  t.equal(op1.status, 'kDone');
  t.equal(op2.status, 'kDone');
  t.ok(op2.startMs >= op1.endMs, 'the second op on pid 0 started after the first ended');
  t.equal(op3.status, 'kFailed');
  t.equal(op3.error, `src_endpoint[${f}] has not partition[0]. name[flow]`);
  t.ok(op3.tasks.every((x) => x.status === 'kCanceled'), 'nothing ran');
  t.equal(op3.startMs, 0);
  t.same(invariantViolations(h, { allAlive: true }), []);
});

t.test('the reply waits for the op creation write; failed ZooKeeper writes are retried', async (t) => {
  const h = cluster({ tablets: ['ep1', 'ep2', 'ep3', 'ep4', 'ep5'], seed: 21, asyncWrites: true });
  const id = h.admin(migrate(followerOf(h, 0), outsiderOf(h, 0), 0), false);
  t.notOk(h.replies.has(id), 'no reply before the op is in ZooKeeper');
  let failures = 0;
  h.faults.write = () => failures++ % 3 === 0; // every third write fails
  h.settle();
  h.runUntilIdle();
  t.ok(h.replies.get(id)?.ok);
  t.equal(h.engine.op(1)!.status, 'kDone');
  t.ok(h.transcript.some((l) => l.endsWith('FAILED')), 'some writes failed');
  t.same(invariantViolations(h, { allAlive: true }), []);
});

t.test('a resumed op re-checks its task against fresh reports instead of re-sending blindly', async (t) => {
  const h = cluster({ tablets: ['ep1', 'ep2', 'ep3', 'ep4', 'ep5'], seed: 21, asyncWrites: true });
  const leader = h.partition(1, 0).replicas.find((r) => r.isLeader)!.endpoint;
  h.admin(migrate(followerOf(h, 0), outsiderOf(h, 0), 0), false);
  // Run until the leader is paused, then kill before the task's completion is written.
  h.settleUntil(() => h.cluster.tablet(leader).replica(1, 0)!.state === 'snapshotPaused');
  t.match(h.zk.ops.get(1), { status: 'kDoing', taskIndex: 0 }, 'ZooKeeper still has the op at PauseSnapshot');
  const mark = h.transcript.length;
  h.killNameserver(0);
  h.runUntilIdle();
  const after = h.transcript.slice(mark).filter((l) => l.startsWith('send '));
  t.notOk(after.some((l) => l.includes('PauseSnapshot')), 'PauseSnapshot judged done from the report, not re-sent');
  t.ok(after[0]!.includes('SendSnapshot'));
  t.equal(h.engine.op(1)!.status, 'kDone');
  t.same(invariantViolations(h, { allAlive: true }), []);
});

t.test('losing leadership answers pending requests and refuses new ones', async (t) => {
  const h = cluster({ tablets: ['ep1', 'ep2', 'ep3', 'ep4', 'ep5'], seed: 21, asyncWrites: true });
  h.admin(migrate(followerOf(h, 0), outsiderOf(h, 0), 0), false);
  const effects = h.engine.step({ type: 'lostLeadership' });
  t.same(effects, [{ kind: 'reply', requestId: 1, ok: false, error: { code: 'NS_NOT_LEADER', message: 'nameserver is not leader' } }]);
  t.notOk(h.engine.isLeader());
  t.same(h.engine.step({ type: 'adminCommand', requestId: 9, command: { type: 'showopstatus' } }), [
    { kind: 'reply', requestId: 9, ok: false, error: { code: 'NS_NOT_LEADER', message: 'nameserver is not leader' } },
  ]);
  t.same(h.engine.step({ type: 'tick', nowMs: h.nowMs + 60_000 }), [], 'a standby does nothing');
  t.same(h.engine.ops(), []);
});

t.test('dropping a table cancels its ops without undo', async (t) => {
  const h = cluster();
  h.faults.delayMs = () => 500;
  h.admin(migrate(followerOf(h, 0), outsiderOf(h, 0), 0));
  h.admin(migrate(followerOf(h, 1), outsiderOf(h, 1), 1));
  h.admin(migrate(followerOf(h, 2), outsiderOf(h, 2), 2));
  t.match(h.adminReply({ type: 'droptable', db: 'demo_db', name: 'flow' }), { ok: true });
  t.same(h.engine.opSummaries().map((o) => o.status), ['kCanceled', 'kCanceled', 'kCanceled']);
  t.match(h.engine.op(1), { error: 'table dropped' });
  t.equal(h.zk.ops.size, 0);
  t.same(h.engine.tables(), []);
});

t.test('deleteop, cancelop and showopstatus on finished ops', async (t) => {
  const h = cluster();
  h.faults.command = (_e, c) => (c.type === 'LoadTable' ? 'failBefore' : 'deliver');
  h.admin(migrate(followerOf(h, 0), outsiderOf(h, 0), 0));
  h.runUntilIdle();
  h.faults = {};
  h.admin(migrate(followerOf(h, 1), outsiderOf(h, 1), 1));
  h.runUntilIdle();
  t.same(h.engine.opSummaries().map((o) => o.status), ['kFailed', 'kDone']);
  t.match(h.adminReply({ type: 'showopstatus', pid: 1 }), { data: { ops: [{ opId: 2, status: 'kDone' }] } });
  t.match(h.adminReply({ type: 'showopstatus', db: 'other_db' }), { data: { ops: [] } });
  t.match(h.adminReply({ type: 'cancelop', opId: 2 }), { ok: false, error: { code: 'OP_STATE', message: 'op status is not kDoing or kInited' } });
  t.ok(h.zk.ops.has(1));
  t.match(h.adminReply({ type: 'deleteop', opId: 1 }), { ok: true, message: 'Delete op ok' });
  t.notOk(h.zk.ops.has(1), 'the failed op is gone from ZooKeeper');
  t.match(h.adminReply({ type: 'deleteop', opId: 1 }), { ok: false, error: { code: 'OP_NOT_FOUND', message: 'op id does not exist' } });
  t.match(h.adminReply({ type: 'deleteop', status: 'done' }), { ok: true });
  t.same(h.engine.opSummaries(), []);
  h.faults.delayMs = () => 500;
  h.admin(migrate(followerOf(h, 2), outsiderOf(h, 2), 2));
  t.match(h.adminReply({ type: 'deleteop', opId: 3 }), { ok: false, error: { code: 'OP_STATE' } });
});

t.test('malformed commands are refused, never crash the engine', async (t) => {
  const h = cluster();
  const bad = [
    { type: 'migrate', db: 'demo_db', name: 'flow', src: 'ep1', des: 'ep2', pids: 'x' },
    { type: 'migrate', db: 'demo_db', name: 'flow', src: 'ep1', des: 'ep5', pids: [-1] },
    { type: 'addreplica', db: 'demo_db', name: 'flow', endpoint: 'ep5', pids: [1.5] },
    { type: 'changeleader', db: 'demo_db', name: 'flow', pid: 'zero' },
    { type: 'nosuch' },
  ];
  for (const command of bad) {
    const reply = h.adminReply(command as never);
    t.equal(reply.ok, false, JSON.stringify(command));
  }
  t.match(h.adminReply({ type: 'nosuch' } as never), { error: { code: 'INVALID_ARGUMENT', message: 'unsupported cmd nosuch' } });
  t.same(h.engine.opSummaries(), []);
});

t.test('config is checked; persisted ops are plain JSON', async (t) => {
  t.throws(() => engineConfig({ taskConcurrency: 0 }), RangeError);
  t.throws(() => engineConfig({ taskConcurrency: 9 }), RangeError);
  t.throws(() => engineConfig({ taskResendIntervalMs: -1 }), RangeError);
  t.throws(() => engineConfig({ taskTimeoutMs: { kLoadTable: 0 } }), RangeError);
  t.equal(engineConfig({ taskTimeoutMs: { kLoadTable: 5 } }).taskTimeoutMs.kSendSnapshot, 120 * 60_000);
  const engine = new NameserverEngine({ random: seededRandom(1) });
  t.equal(engine.config.taskConcurrency, 2);
  const h = cluster();
  const written: unknown[] = [];
  h.onStep = (effects) => {
    for (const e of effects) if (e.kind === 'persistOp') written.push(e.op);
  };
  h.admin({ type: 'changeleader', db: 'demo_db', name: 'flow', pid: 0, candidate: followerOf(h, 0) });
  h.runUntilIdle();
  t.ok(written.length > 5);
  t.ok(written.every((op) => JSON.stringify(JSON.parse(JSON.stringify(op))) === JSON.stringify(op)));
});
