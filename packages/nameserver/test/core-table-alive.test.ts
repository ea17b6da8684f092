/**
 * updatetablealive in the engine: flags flipped for one pid or every partition on the endpoint,
 * no op and no tablet command, a leader marked not alive stays flagged leader (and is left so),
 * the reply only after ZooKeeper confirmed the table (a failed write is retried first), and the
 * refusals with OpenMLDB's texts leaving metadata as it was.
 */
import t from 'tap';
import type { TableInfo } from '@tessera/common';
import { writtenCluster, type Harness } from './core-harness.js';

function cluster(): Harness {
  return writtenCluster({ tablets: ['ep1', 'ep2', 'ep3', 'ep4'], seed: 5 }, [{ name: 'flow', partitions: 3, replicas: 2, rows: 2 }]);
}

const alive = (info: TableInfo | undefined): string[] =>
  (info?.partitions ?? []).flatMap((p) => p.replicas.map((r) => `${p.pid} ${r.endpoint} ${r.isLeader ? 'leader' : 'follower'} ${r.isAlive ? 'yes' : 'no'}`));
const cmd = (endpoint: string, isAlive: boolean, pid?: number, name = 'flow') => ({ type: 'updatetablealive' as const, db: 'demo_db', name, endpoint, isAlive, ...(pid === undefined ? {} : { pid }) });

t.test('one pid: a follower flips, in ZooKeeper before the reply, out of the in-sync set', async (t) => {
  const h = cluster();
  const f = h.partition(1, 0).replicas.find((r) => !r.isLeader)!.endpoint;
  const before = alive(h.zk.tables.get(1));
  const reply = h.adminReply(cmd(f, false, 0));
  t.ok(reply.ok, 'update ok');
  const after = alive(h.zk.tables.get(1));
  t.same(after.filter((l, i) => l !== before[i]), [`0 ${f} follower no`], 'only that replica changed, in ZooKeeper');
  t.notOk(h.zk.tables.get(1)!.partitions[0]!.inSync.includes(f));
  t.same(alive(h.engine.table(1)), after, 'the engine holds the same');
  t.same(h.engine.opSummaries(), [], 'no op');
  t.ok(h.adminReply(cmd(f, true, 0)).ok);
  t.same(alive(h.zk.tables.get(1)), before, 'alive again');
});

t.test('*: every replica on the endpoint; a leader stays flagged leader and nothing repairs it', async (t) => {
  const h = cluster();
  const leader = h.partition(1, 1).replicas.find((r) => r.isLeader)!.endpoint;
  const held = h.zk.tables.get(1)!.partitions.filter((p) => p.replicas.some((r) => r.endpoint === leader)).map((p) => p.pid);
  t.ok(h.adminReply(cmd(leader, false)).ok);
  h.runUntilIdle();
  const info = h.zk.tables.get(1)!;
  for (const p of info.partitions) {
    const r = p.replicas.find((x) => x.endpoint === leader);
    if (r) t.equal(r.isAlive, false, `pid ${p.pid} on ${leader} not alive`);
  }
  t.ok(info.partitions[1]!.replicas.find((r) => r.endpoint === leader)!.isLeader, 'still flagged leader of pid 1');
  t.ok(held.length >= 1);
  t.same(h.engine.opSummaries(), [], 'no op, no election, no repair');
});

t.test('a failed ZooKeeper write is retried before the reply', async (t) => {
  const h = cluster();
  const f = h.partition(1, 2).replicas.find((r) => !r.isLeader)!.endpoint;
  let failures = 2;
  h.faults.write = (w) => w.kind === 'persistTable' && failures-- > 0;
  const id = h.admin(cmd(f, false, 2));
  t.notOk(h.replies.has(id), 'no reply while the write failed');
  for (let i = 0; i < 50 && !h.replies.has(id); i++) h.tick();
  t.ok(h.replies.get(id)?.ok, 'update ok after the retries');
  t.equal(h.zk.tables.get(1)!.partitions[2]!.replicas.find((r) => r.endpoint === f)!.isAlive, false);
});

t.test('refusals leave metadata as it was', async (t) => {
  const h = cluster();
  const p0 = h.partition(1, 0);
  const outsider = ['ep1', 'ep2', 'ep3', 'ep4'].find((e) => !p0.replicas.some((r) => r.endpoint === e))!;
  const before = alive(h.zk.tables.get(1));
  const refused: Array<[ReturnType<typeof cmd>, string, RegExp]> = [
    [cmd('ep9:1', false, 0), 'TABLET_NOT_HEALTHY', /^endpoint does not exist$/],
    [cmd(p0.replicas[0]!.endpoint, false, 0, 'nosuch'), 'TABLE_NOT_FOUND', /^table does not exist$/],
    [cmd(p0.replicas[0]!.endpoint, false, 3), 'PARTITION_NOT_FOUND', /^no pid has update\. pid\[3\] does not exist/],
    [cmd(outsider, false, 0), 'PRECONDITION_FAILED', /^no pid has update\. endpoint\[.*\] holds no replica of pid\[0\]/],
  ];
  for (const [c, code, text] of refused) {
    const reply = h.adminReply(c);
    t.ok(!reply.ok && reply.error.code === code && text.test(reply.error.message), `${JSON.stringify(c)}: ${reply.ok ? 'ok' : `${reply.error.code} ${reply.error.message}`}`);
  }
  // An op running on the partition: refused (retryable) instead of racing it.
  h.faults.delayMs = () => 500;
  const f = p0.replicas.find((r) => !r.isLeader)!.endpoint;
  h.admin({ type: 'migrate', db: 'demo_db', name: 'flow', src: f, des: outsider, pids: [0] });
  const busy = h.adminReply(cmd(f, false, 0), 0);
  t.ok(!busy.ok && busy.error.code === 'OP_CONFLICT', 'refused while an op runs on pid 0');
  t.same(alive(h.zk.tables.get(1)), before, 'unchanged');
});

t.test('updatetablealive no + changeleader: the old leader reads `leader no` (OpenMLDB); marked alive again it comes back a follower', async (t) => {
  const h = cluster();
  const old = h.partition(1, 0).replicas.find((r) => r.isLeader)!.endpoint;
  t.ok(h.adminReply(cmd(old, false, 0)).ok);
  t.ok(h.adminReply({ type: 'changeleader', db: 'demo_db', name: 'flow', pid: 0 }).ok, 'changeleader with no alive leader');
  h.runUntilIdle();
  const p = h.partition(1, 0);
  const rows = p.replicas.map((r) => `${r.endpoint} ${r.isLeader ? 'leader' : 'follower'} ${r.isAlive ? 'yes' : 'no'}`);
  t.ok(rows.includes(`${old} leader no`), 'the old leader stays flagged leader, not alive');
  const leaders = p.replicas.filter((r) => r.isLeader && r.isAlive);
  t.equal(leaders.length, 1, 'one alive leader');
  t.not(leaders[0]!.endpoint, old);
  t.ok(h.adminReply(cmd(old, true, 0)).ok);
  const back = h.partition(1, 0).replicas.find((r) => r.endpoint === old)!;
  t.same([back.isLeader, back.isAlive], [false, true], 'marked alive while another replica leads: a follower, never a second leader');
  t.equal(h.partition(1, 0).replicas.filter((r) => r.isLeader && r.isAlive).length, 1, 'still one alive leader');
});

t.test('leaderless partition: only the `leader no` row of the last term may lead again, not an older failed-over leader', async (t) => {
  const { ObservedCluster } = await import('../src/core/observed.js');
  const { recoverDecision, engineConfig, seededRandom } = await import('../src/core/index.js');
  const h = cluster();
  const table = h.zk.tables.get(1)!;
  // ep1 led term 1 and failed over to ep2 at offset 6 (term 3); ep2 then died too: both `leader no`.
  const partition = {
    pid: 0, inSync: [], termOffsets: [{ term: 1, offset: 0 }, { term: 3, offset: 6 }],
    replicas: [{ endpoint: 'ep1', isLeader: true, isAlive: false }, { endpoint: 'ep2', isLeader: true, isAlive: false }, { endpoint: 'ep3', isLeader: false, isAlive: false }],
  };
  const observed = new ObservedCluster();
  observed.reset(['ep1', 'ep2', 'ep3'].map((endpoint) => ({ endpoint, healthy: true, sinceMs: 0 })));
  observed.setReport('ep1', [{ tid: 1, pid: 0, role: 'leader', state: 'unassigned', term: 1, offset: 5 } as never]);
  observed.setReport('ep2', [{ tid: 1, pid: 0, role: 'leader', state: 'unassigned', term: 3, offset: 9 } as never]);
  const ctx = {
    op: { id: 1, tid: 1, pid: 0, name: 'flow' } as never, table, partition, observed, config: engineConfig(), random: seededRandom(1),
    reservedTermMax: 0, taskElapsedMs: 0, reportedSinceTaskStart: () => true,
  };
  t.match(recoverDecision(ctx, 'ep1'), { status: 'failed' }, 'ep1 (term 1, others led after it) does not lead again: writes of term 3 would be lost');
  t.match(recoverDecision(ctx, 'ep2'), { status: 'done', spawn: { type: 'kReLoadTableOP' } }, 'ep2 (the last term) leads again');
});
