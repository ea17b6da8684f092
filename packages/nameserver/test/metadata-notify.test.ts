/**
 * `/table/notify` bumps of one nameserver (server/metadata.ts): a single table change names its
 * table; many changes at once (a bulk failover writes every table it touched) do not contend with
 * each other on the compare-and-set, are merged while one bump is under way, and every change is
 * followed by a bump the SDKs see (seq moved past it); a create's bump is not waited for. In process, on the in-memory coordination backend.
 */
import t from 'tap';
import { silentLogger, type TableInfo } from '@tessera/common';
import { bumpNotify, MemoryCoordServer, parseNotify, type NotifyHint } from '@tessera/coord';
import { MetadataStore, NotifyBumps } from '../src/server/metadata.js';

function table(tid: number): TableInfo {
  return {
    tid, schema: { name: `t${tid}`, db: 'db', columns: [{ name: 'k', type: 'string' }], indexes: [{ name: 'k', keys: ['k'], ttl: { type: 'absolute', absMinutes: 0, latest: 0 } }] },
    partitionNum: 1, replicaNum: 1, compressType: 'kNoCompress', replicaAck: 'leader', createdMs: 0,
    partitions: [{ pid: 0, replicas: [{ endpoint: 'a:1', isLeader: true, isAlive: true }], termOffsets: [{ term: 1, offset: 0 }], inSync: [] }],
  } as TableInfo;
}

t.test('notify bumps: one names its table, 200 at once are merged and all land', async (t) => {
  const server = new MemoryCoordServer();
  const s = await server.connect({ rootPath: '/mn' });
  t.teardown(() => s.close());
  const store = new MetadataStore(s, s.layout, silentLogger);
  await store.load();
  await store.createDb('db');
  const seq = async () => parseNotify((await s.get(s.layout.notify))?.data)!;
  for (let tid = 1; tid <= 200; tid++) await store.addTable(table(tid));
  await store.notifySettled(); // a create answers without waiting for its bump
  const before = await seq();
  t.ok(before.seq >= 2, `the creates were notified (seq ${before.seq})`);
  await store.updateTable({ ...table(7), replicaNum: 1 });
  t.same(await seq(), { seq: before.seq + 1, tid: 7 }, 'one change: one bump naming the table');
  const started = performance.now();
  await Promise.all(Array.from({ length: 200 }, (_, i) => store.updateTable(table(i + 1))));
  const after = await seq();
  t.ok(after.seq > before.seq + 1 && after.seq <= before.seq + 1 + 200, `200 changes at once: ${after.seq - before.seq - 1} bump(s) (merged while one ran)`);
  t.equal(after.tid, null, 'a merged bump names no table');
  t.ok(performance.now() - started < 10_000, `done in ${Math.round(performance.now() - started)} ms`);
});

t.test('a merged bump jumps the seq (SDKs take a step of 1 naming no table as no table changed)', async (t) => {
  const calls: Array<[number | null, number]> = [];
  const bumps = new NotifyBumps(async (tid, step) => { calls.push([tid, step]); });
  await Promise.all([bumps.request(1), bumps.request(2), bumps.request(3)]);
  t.same(calls, [[null, 2]], 'three tables asked in one turn: one bump, a jump of 2');
  await bumps.request(4);
  t.same(calls.at(-1), [4, 1], 'one table alone: a step of 1 naming it');
  await bumps.request(null);
  t.same(calls.at(-1), [null, 1], 'a database change alone: a step of 1 naming no table');
});

t.test('a bump from the hint of the last write: one compare-and-set, and a write by someone else is not lost', async (t) => {
  const server = new MemoryCoordServer();
  const s = await server.connect({ rootPath: '/mh' });
  const other = await server.connect({ rootPath: '/mh' });
  t.teardown(async () => {
    await s.close();
    await other.close();
  });
  const path = s.layout.notify;
  const hint: NotifyHint = {};
  t.same(await bumpNotify(s, path, 1, 1, hint), { seq: 1, tid: 1 }, 'a missing node starts at 1');
  t.same(await bumpNotify(s, path, 2, 1, hint), { seq: 2, tid: 2 });
  t.match(hint.last, { seq: 2 }, 'the hint holds what was written');
  let reads = 0;
  const counting = new Proxy(s, { get: (target, key, recv) => (key === 'get' ? (...a: unknown[]) => (reads++, (target.get as (...x: unknown[]) => unknown)(...a)) : Reflect.get(target, key, recv)) });
  t.same(await bumpNotify(counting, path, 3, 1, hint), { seq: 3, tid: 3 });
  t.equal(reads, 0, 'no read while the hint holds');
  t.same(await bumpNotify(other, path, 9, 1), { seq: 4, tid: 9 }, 'another writer');
  t.same(await bumpNotify(counting, path, 4, 1, hint), { seq: 5, tid: 4 }, "the hint misses: read, then bumped past the other's write");
  t.equal(reads, 1);
  t.same(parseNotify((await s.get(path))?.data), { seq: 5, tid: 4 });
});
