// The SDK's table cache follows a create, an update and a drop with a number of ZooKeeper calls
// that does not depend on how many tables exist (issue 16: create was O(all tables) because every
// /table/notify bump made every SDK re-read every table). Counted on a real ZooKeeper: calls the
// cache's session makes per change, at 10 tables and at 40 tables, must be equal.
import t from 'tap';
import { waitFor, type TableInfo } from '@tessera/common';
import { CoordSession, bumpNotify, zkLayout, type ZkLayout } from '@tessera/coord';
import { startZooKeeper } from '@tessera/testkit';
import { TableCache } from '../src/table-cache.js';

const WAIT_MS = 20_000;

function tableInfo(tid: number): TableInfo {
  return {
    tid, partitionNum: 8, replicaNum: 3, compressType: 'kNoCompress', replicaAck: 'all', createdMs: 0,
    schema: { db: 'd', name: `t${tid}`, columns: [{ name: 'k', type: 'string' }], indexes: [{ name: 'k', keys: ['k'], ttl: { type: 'absolute', absMinutes: 0, latest: 0 } }] },
    partitions: Array.from({ length: 8 }, (_, pid) => ({
      pid, termOffsets: [{ term: 1, offset: 0 }], inSync: ['b:1', 'c:1'],
      replicas: [{ endpoint: 'a:1', isLeader: true, isAlive: true }, { endpoint: 'b:1', isLeader: false, isAlive: true }, { endpoint: 'c:1', isLeader: false, isAlive: true }],
    })),
  } as TableInfo;
}

/** Counts every ZooKeeper call a session issues (all of them go through its one `call`). */
function countCalls(session: CoordSession): { n: number } {
  const counter = { n: 0 };
  const s = session as unknown as { call: (...args: unknown[]) => unknown };
  const original = s.call.bind(session);
  s.call = (...args: unknown[]) => {
    counter.n++;
    return original(...args);
  };
  return counter;
}

/** What the nameserver's MetadataStore does on create/update/drop: the table's node, then the stamp. */
async function nsCreate(ns: CoordSession, L: ZkLayout, info: TableInfo): Promise<void> {
  await ns.create(L.tableData(info.tid), info);
  await bumpNotify(ns, L.notify, info.tid);
}

t.test('per-change ZooKeeper calls of the SDK cache do not grow with the number of tables', async (t) => {
  const zk = await startZooKeeper();
  t.teardown(() => zk.stop());
  const root = `/tessera-test/cache-scale-${process.pid}`;
  const L = zkLayout(root);
  const ns = await CoordSession.connect({ zkCluster: zk.connectString, rootPath: root, sessionTimeoutMs: 10_000 });
  t.teardown(() => ns.close());
  await ns.ensurePath(L.tableDataDir);
  const sdk = await CoordSession.connect({ zkCluster: zk.connectString, rootPath: root, sessionTimeoutMs: 10_000 });
  t.teardown(() => sdk.close());
  const cache = new TableCache(sdk, L);
  await cache.start();
  t.teardown(() => cache.stop());
  const calls = countCalls(sdk);

  let nextTid = 1;
  /** Calls the cache makes to learn of one create, one update and one drop, with `count` tables present. */
  const perChangeAt = async (count: number): Promise<{ create: number; update: number; drop: number }> => {
    while (nextTid <= count) {
      const info = tableInfo(nextTid++);
      await nsCreate(ns, L, info);
      await waitFor(`cache knows t${info.tid}`, () => cache.byId(info.tid) !== undefined, { timeoutMs: WAIT_MS, intervalMs: 5 });
    }
    const info = tableInfo(nextTid++);
    const c0 = calls.n;
    await nsCreate(ns, L, info);
    await waitFor('cache knows the new table', () => cache.find('d', info.schema.name) !== undefined, { timeoutMs: WAIT_MS, intervalMs: 5 });
    const create = calls.n - c0;

    const c1 = calls.n;
    const updated = { ...info, replicaAck: 'leader' as const };
    await ns.setJson(L.tableData(info.tid), updated);
    await bumpNotify(ns, L.notify, info.tid);
    await waitFor('cache sees the update', () => cache.byId(info.tid)?.replicaAck === 'leader', { timeoutMs: WAIT_MS, intervalMs: 5 });
    const update = calls.n - c1;

    const c2 = calls.n;
    await ns.delete(L.tableData(info.tid));
    await bumpNotify(ns, L.notify, info.tid);
    await waitFor('cache forgets the dropped table', () => cache.byId(info.tid) === undefined, { timeoutMs: WAIT_MS, intervalMs: 5 });
    const drop = calls.n - c2;
    t.equal(cache.find('d', info.schema.name), undefined, 'the dropped name is gone too');
    return { create, update, drop };
  };

  const at10 = await perChangeAt(10);
  const at40 = await perChangeAt(40);
  t.ok(at10.create > 0 && at10.update > 0 && at10.drop > 0, `the cache reads ZooKeeper per change (${JSON.stringify(at10)})`);
  t.same(at40, at10, `same ZooKeeper calls per change at 40 tables as at 10 (${JSON.stringify(at40)})`);
  t.ok(at10.create <= 3, 'a create costs the cache at most a watch re-arm and one table read');

  // A full re-read (what an explicit refresh does) does scale with the tables: the counter sees it.
  const c3 = calls.n;
  await cache.refresh();
  t.ok(calls.n - c3 >= 40, 'an explicit refresh reads every table (the counter is not blind)');
});
