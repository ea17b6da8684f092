/**
 * Issue 17 bug 3 in the core: every op ends. A re-add op resumed by a new nameserver after its
 * follower's tablet restarted under it (replica unassigned, no longer replicated to) waits in
 * kCheckBinlogSyncProgress for something nobody will do: the check stalls, fails after
 * syncStallTimeoutMs, the op undoes and ends kFailed, the op queued behind it starts, and a new
 * recovery brings the replica back. A resumed op's current task, persisted kInited, is started
 * again.
 */
import t from 'tap';
import { invariantViolations, writtenCluster, Harness } from './core-harness.js';

const STALL_MS = 3_000;

function cluster(taskConcurrency = 1) {
  return writtenCluster({ tablets: ['ep1', 'ep2', 'ep3'], seed: 3, config: { taskConcurrency, syncStallTimeoutMs: STALL_MS } }, [{ name: 'flow', partitions: 2, replicas: 3, rows: 5 }]);
}

const leaderOf = (h: Harness, pid: number): string => h.partition(1, pid).replicas.find((r) => r.isLeader)!.endpoint;

t.test('a re-add op resumed after its follower restarted under it fails at the stalled sync check, undoes, and the queue moves on', async (t) => {
  const h = cluster(1);
  const leader = leaderOf(h, 0);
  const f = h.partition(1, 0).replicas.find((r) => !r.isLeader)!.endpoint;
  h.tabletDown(f);
  h.adminReply({ type: 'offlineendpoint', endpoint: f });
  h.runUntilIdle();
  h.write(1, 0, 20); // the follower must catch up 20 entries: more than syncDeltaEntriesMax
  h.tabletUp(f, true);
  h.admin({ type: 'recovertable', db: 'demo_db', name: 'flow', pid: 0, endpoint: f });
  const atCheck = () => h.engine.ops().find((o) => o.parentId !== null && o.tasks[o.taskIndex]?.kind === 'kCheckBinlogSyncProgress' && o.status === 'kDoing');
  t.ok(h.settleUntil(() => atCheck() !== undefined), 'the child op reaches its sync check');
  const child = atCheck()!;
  // Queued behind it (concurrency 1): a snapshot of the other partition.
  h.admin({ type: 'makesnapshot', db: 'demo_db', name: 'flow', pid: 1 });
  // The whole cluster stops here: the follower's tablet comes back unassigned and the nameserver
  // that resumes the op finds its current task as persisted.
  h.cluster.tablet(f).restart();
  h.killNameserver(Number.MAX_SAFE_INTEGER);
  const persisted = h.zk.ops.get(child.id)!;
  t.equal(persisted.tasks[persisted.taskIndex]!.kind, 'kCheckBinlogSyncProgress');
  h.reportAll();
  const startMs = h.nowMs;
  h.runUntilIdle();
  const ended = h.engine.op(child.id)!;
  t.equal(ended.status, 'kFailed', 'the op ends');
  t.match(ended.error, /kCheckBinlogSyncProgress stalled for 3000ms: .*not a serving follower|does not replicate/);
  t.ok(ended.endMs - startMs < STALL_MS + 2_000, `within the stall limit (${ended.endMs - startMs} ms)`);
  t.ok(ended.tasks.some((x) => x.undo === true), 'undone');
  t.equal(h.engine.ops().find((o) => o.type === 'kMakeSnapshotOP')!.status, 'kDone', 'the queued op ran once the slot freed');
  t.notOk(h.partition(1, 0).replicas.find((r) => r.endpoint === f)!.isAlive, 'the replica stays not alive, left to recovery');
  t.match(h.cluster.tablet(leader).replica(1, 0), { role: 'leader' });

  // The level-triggered recovery runs again and this time it completes.
  h.adminReply({ type: 'recoverendpoint', endpoint: f });
  h.runUntilIdle();
  h.replicateFully();
  t.ok(h.engine.ops().every((o) => ['kDone', 'kFailed', 'kCanceled'].includes(o.status)), 'every op ended');
  t.same(invariantViolations(h, { allAlive: true }), [], 'every replica alive again, no acknowledged write lost');
});

t.test('a sync check that is only slow is not a stall', async (t) => {
  const h = cluster(2);
  const f = h.partition(1, 0).replicas.find((r) => !r.isLeader)!.endpoint;
  h.tabletDown(f);
  h.adminReply({ type: 'offlineendpoint', endpoint: f });
  h.runUntilIdle();
  h.write(1, 0, 400); // 100 replication rounds of 4 entries: far longer than the stall limit
  h.tabletUp(f, false);
  h.adminReply({ type: 'recovertable', db: 'demo_db', name: 'flow', pid: 0, endpoint: f });
  h.runUntilIdle(5_000);
  const child = h.engine.ops().find((o) => o.parentId !== null)!;
  t.equal(child.status, 'kDone', 'the catch-up finished');
  t.same(invariantViolations(h, { allAlive: false }).filter((v) => v.includes('/0')), []);
});

t.test('an op resumed with its current task persisted kInited starts that task again and ends', async (t) => {
  const h = new Harness({ tablets: ['ep1', 'ep2', 'ep3', 'ep4'], seed: 4 });
  h.createTable('flow', 1, 3);
  h.write(1, 0, 5);
  h.replicateFully();
  const spare = ['ep1', 'ep2', 'ep3', 'ep4'].find((e) => h.partition(1, 0).replicas.every((r) => r.endpoint !== e))!;
  h.faults = { delayMs: () => 300 }; // commands take a while: the op is caught between tasks
  h.admin({ type: 'addreplica', db: 'demo_db', name: 'flow', pids: [0], endpoint: spare });
  for (let i = 0; i < 200 && (h.zk.ops.get(1)?.taskIndex ?? 0) < 3; i++) h.tick(50);
  t.ok((h.zk.ops.get(1)?.taskIndex ?? 0) >= 3, 'three tasks done and written');
  h.faults = {};
  h.killNameserver(Number.MAX_SAFE_INTEGER);
  const persisted = h.zk.ops.get(1)!;
  t.equal(persisted.status, 'kDoing');
  t.equal(persisted.tasks[persisted.taskIndex]!.status, 'kInited', 'the current task was never written as started');
  h.runUntilIdle();
  t.equal(h.engine.op(1)!.status, 'kDone');
  h.replicateFully();
  t.same(invariantViolations(h, { allAlive: true }), []);
});
