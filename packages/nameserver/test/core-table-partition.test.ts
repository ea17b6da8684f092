/**
 * settablepartition in the engine: an edit of a partition's flags written to ZooKeeper before
 * the reply, with no op, a follower marked not alive out of the in-sync set; the same file again
 * is a no-op; the in-sync set kept (less followers marked not alive) when the file has none; and
 * every refusal — another table's file, a pid outside the table, no leader, two alive leaders, an
 * endpoint twice, unknown endpoints, an endpoint that holds no replica, a changed term history, a
 * stray in-sync entry, an op running — leaving metadata exactly as it was.
 */
import t from 'tap';
import type { PartitionMeta, SetTablePartitionRequest } from '@tessera/common';
import { writtenCluster, type Harness } from './core-harness.js';

function cluster(): Harness {
  return writtenCluster({ tablets: ['ep1', 'ep2', 'ep3', 'ep4'], seed: 7 }, [{ name: 'flow', partitions: 3, replicas: 3, rows: 2 }]);
}

const cmd = (partition: SetTablePartitionRequest['partition'], extra: Partial<SetTablePartitionRequest> = {}) =>
  ({ type: 'settablepartition' as const, db: 'demo_db', name: 'flow', partition, ...extra });
const copy = (p: PartitionMeta): PartitionMeta => JSON.parse(JSON.stringify(p)) as PartitionMeta;

t.test('an edited flag is written before the reply, with no op; the same file again changes nothing', async (t) => {
  const h = cluster();
  const p = copy(h.zk.tables.get(1)!.partitions[1]!);
  const f = p.replicas.find((r) => !r.isLeader)!;
  f.isAlive = false;
  const reply = h.adminReply(cmd(p, { tid: 1 }));
  p.inSync = p.inSync.filter((e) => e !== f.endpoint);
  t.ok(reply.ok, 'set table partition ok');
  t.same(h.zk.tables.get(1)!.partitions[1], p, 'ZooKeeper holds the edited partition');
  t.same(h.engine.table(1)!.partitions[1], p, 'and so does the engine');
  t.same(h.engine.opSummaries(), [], 'no op');
  t.ok(h.adminReply(cmd(p)).ok, 'the same file again: ok');
  t.same(h.zk.tables.get(1)!.partitions[1], p);
});

t.test('a replica made leader leaves the in-sync set', async (t) => {
  const h = cluster();
  const p = copy(h.zk.tables.get(1)!.partitions[2]!);
  const oldLeader = p.replicas.find((r) => r.isLeader)!;
  const next = p.replicas.find((r) => r.endpoint === p.inSync[0])!;
  oldLeader.isLeader = false;
  next.isLeader = true;
  t.ok(h.adminReply(cmd(p)).ok, 'leader flags swapped, in_sync as it was');
  t.notOk(h.zk.tables.get(1)!.partitions[2]!.inSync.includes(next.endpoint), 'the new leader is not in the in-sync set');
  t.equal(h.zk.tables.get(1)!.partitions[2]!.replicas.find((r) => r.isLeader && r.isAlive)!.endpoint, next.endpoint);
});

t.test('a file without in_sync keeps the in-sync set, less followers it marks not alive', async (t) => {
  const h = cluster();
  const p = copy(h.zk.tables.get(1)!.partitions[0]!);
  const before = [...p.inSync];
  t.ok(before.length > 0, 'the partition has in-sync followers');
  const f = p.replicas.find((r) => r.endpoint === before[0])!;
  f.isAlive = false;
  const { inSync: _drop, ...withoutInSync } = p;
  t.ok(h.adminReply(cmd(withoutInSync)).ok);
  t.same(h.zk.tables.get(1)!.partitions[0]!.inSync, before.slice(1));
});

t.test('refusals leave metadata as it was', async (t) => {
  const h = cluster();
  const before = JSON.stringify(h.zk.tables.get(1));
  const base = h.zk.tables.get(1)!.partitions[0]!;
  const follower = base.replicas.find((r) => !r.isLeader)!.endpoint;
  const edit = (fn: (p: PartitionMeta) => void): PartitionMeta => {
    const p = copy(base);
    fn(p);
    return p;
  };
  const outsider = ['ep1', 'ep2', 'ep3', 'ep4'].find((e) => !base.replicas.some((r) => r.endpoint === e));
  const refused: Array<[string, ReturnType<typeof cmd>, string, RegExp]> = [
    ['unknown table', { ...cmd(copy(base)), name: 'nosuch' }, 'TABLE_NOT_FOUND', /^table does not exist$/],
    ["another table's file", cmd(copy(base), { tid: 99 }), 'INVALID_ARGUMENT', /^the partition file is of table tid\[99\], table\[flow\] is tid\[1\]$/],
    ['a pid outside the table', cmd(edit((p) => (p.pid = 3))), 'PARTITION_NOT_FOUND', /^pid\[3\] does not exist in table\[flow\]$/],
    ['no replica', cmd(edit((p) => (p.replicas = []))), 'INVALID_ARGUMENT', /^has no replica$/],
    ['no leader', cmd(edit((p) => p.replicas.forEach((r) => (r.isLeader = false)))), 'INVALID_ARGUMENT', /^has no leader$/],
    ['two alive leaders', cmd(edit((p) => (p.replicas.find((r) => r.endpoint === follower)!.isLeader = true))), 'INVALID_ARGUMENT', /^has more than one alive leader: /],
    ['an endpoint twice', cmd(edit((p) => p.replicas.push({ endpoint: follower, isLeader: false, isAlive: false }))), 'INVALID_ARGUMENT', /^endpoint .* appears twice$/],
    ['an unknown endpoint', cmd(edit((p) => (p.replicas.find((r) => r.endpoint === follower)!.endpoint = '10.9.9.9:1'))), 'TABLET_NOT_HEALTHY', /^endpoint 10\.9\.9\.9:1 does not exist$/],
    ['a changed term history', cmd(edit((p) => p.termOffsets.push({ term: 999, offset: 5 }))), 'INVALID_ARGUMENT', /^term_offset differs/],
  ];
  if (outsider !== undefined) {
    refused.push(['an in-sync endpoint outside the partition', cmd(edit((p) => (p.inSync = [outsider]))), 'INVALID_ARGUMENT', /^in_sync .* is not a replica of pid\[0\]$/]);
    refused.push(['an endpoint without a replica', cmd(edit((p) => p.replicas.push({ endpoint: outsider, isLeader: false, isAlive: true }))), 'PRECONDITION_FAILED', /holds no replica of pid\[0\]: add one with addreplica$/]);
  }
  for (const [what, c, code, text] of refused) {
    const reply = h.adminReply(c);
    t.ok(!reply.ok && reply.error.code === code && text.test(reply.error.message), `${what}: ${reply.ok ? 'ok' : `${reply.error.code} ${reply.error.message}`}`);
  }
  t.equal(JSON.stringify(h.zk.tables.get(1)), before, 'ZooKeeper unchanged');
  // An op running on the partition: refused (retryable) instead of racing it.
  h.faults.delayMs = () => 500;
  const migrate = h.admin({ type: 'migrate', db: 'demo_db', name: 'flow', src: follower, des: outsider!, pids: [0] });
  t.ok(h.replies.get(migrate)?.ok, `migrate started: ${JSON.stringify(h.replies.get(migrate))}`);
  const busy = h.adminReply(cmd(edit((p) => (p.replicas.find((r) => r.endpoint === follower)!.isAlive = false))), 0);
  t.ok(!busy.ok && busy.error.code === 'OP_CONFLICT', `refused while an op runs on pid 0: ${JSON.stringify(busy)}`);
  t.equal(JSON.stringify(h.zk.tables.get(1)!.partitions[0]), JSON.stringify(base), 'unchanged');
});
