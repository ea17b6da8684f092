// Durability across SIGKILL: concurrent clients put rows into a real tablet process, which is
// killed mid-stream. Every acknowledged row must be there after restart, the offset must equal
// the number of binlog entries, and no row may exist without its binlog entry (or the reverse).
import t from 'tap';
import path from 'node:path';
import { HttpClient } from '@tessera/common';
import { ReplicaStore, TabletStore } from '@tessera/storage';
import { spawnRole, stopAllRoles, tempDir, removeDir } from '@tessera/testkit';

const ROWS_TOTAL = 20_000;
const KILL_AFTER_ACKED = 9_000;
const WRITERS = 16;
const BATCH_ROWS = 10;

const schema = {
  name: 'events', db: 'crash_db',
  columns: [{ name: 'id', type: 'string' }, { name: 'writer', type: 'int32' }, { name: 'n', type: 'int64' }],
  indexes: [{ name: 'id', keys: ['id'] }, { name: 'writer', keys: ['writer'] }],
};

t.test('acknowledged puts survive SIGKILL; binlog and rows agree', async (t) => {
  const dir = tempDir('tablet-crash');
  const client = new HttpClient({ connectionsPerEndpoint: WRITERS, timeoutMs: 10_000 });
  t.teardown(async () => {
    await client.close();
    await stopAllRoles();
    removeDir(dir);
  });
  const dbRoot = path.join(dir, 'db');
  const tablet = await spawnRole('tablet', { db_root_path: dbRoot, zk_cluster: '' }, { logFile: path.join(dir, 'tablet.log') });
  const ep = tablet.endpoint;
  await client.call(ep, '/v1/control/create_replica', { tid: 7, pid: 3, schema, role: 'leader', term: 1 });
  // A neighbour in the same LevelDB (one per tablet): the crash must leave its range as it was.
  await client.call(ep, '/v1/control/create_replica', { tid: 7, pid: 4, schema, role: 'leader', term: 1 });
  await client.call(ep, '/v1/data/put', { tid: 7, pid: 4, row: { id: 'neighbour', writer: 0, n: 1 }, ts: 1 });

  const acked = new Set<string>();
  let attempted = 0;
  let failed = 0;
  let killed = false;
  const writer = async (w: number): Promise<void> => {
    for (let n = 0; ; n++) {
      if (attempted >= ROWS_TOTAL) return;
      const batch = n % 4 === 3;
      const ids = Array.from({ length: batch ? BATCH_ROWS : 1 }, (_, i) => `w${w}-${n}-${i}`);
      attempted += ids.length;
      try {
        if (batch) {
          await client.call(ep, '/v1/data/put_batch', { tid: 7, pid: 3, rows: ids.map((id, i) => ({ row: { id, writer: w, n: n * 100 + i }, ts: 1000 + n })) });
        } else {
          await client.call(ep, '/v1/data/put', { tid: 7, pid: 3, row: { id: ids[0], writer: w, n }, ts: 1000 + n });
        }
        for (const id of ids) acked.add(id);
      } catch {
        failed += ids.length;
        return;
      }
      if (!killed && acked.size >= KILL_AFTER_ACKED) {
        killed = true;
        tablet.kill('SIGKILL');
      }
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
  await tablet.exited;
  t.ok(killed, `killed mid-stream after ${acked.size} acknowledged rows`);
  t.ok(failed > 0, `${failed} rows in flight or after the kill were refused`);
  t.comment(`attempted ${attempted}, acknowledged ${acked.size}, failed ${failed}`);

  // Inspect the tablet's LevelDB directly while no process holds it.
  const tabletStore = await TabletStore.openDir(dbRoot);
  const neighbour = (await ReplicaStore.open(tabletStore.replicaLevel(7, 4)))!;
  t.equal(neighbour.offset, 1, 'the neighbouring replica keeps its one entry');
  t.same((await neighbour.get(0, 'neighbour'))?.values, ['neighbour', 0, 1], 'and its row');
  await neighbour.close();
  const store = (await ReplicaStore.open(tabletStore.replicaLevel(7, 3)))!;
  const offset = store.offset;
  const binlog = await store.readBinlog(1, ROWS_TOTAL * 2, 1e12);
  t.equal(binlog.length, offset, 'offset equals the number of binlog entries');
  t.ok(binlog.every((e, i) => e.offset === i + 1), 'binlog offsets are 1..offset without gaps');
  t.equal(store.recordCnt, binlog.length, 'one row per binlog put, no row without its entry');
  const inBinlog = new Set(binlog.map((e) => (e.kind === 'put' ? String(e.values[0]) : '')));
  let missingRows = 0;
  for (const e of binlog) {
    if (e.kind !== 'put') continue;
    const row = await store.get(0, String(e.values[0]));
    if (!row) missingRows++;
  }
  t.equal(missingRows, 0, 'every binlog entry has its row');
  let lost = 0;
  for (const id of acked) if (!inBinlog.has(id)) lost++;
  t.equal(lost, 0, `no acknowledged row lost (${acked.size} acknowledged, ${binlog.length} stored)`);
  await store.close();
  await tabletStore.close();

  // Restart: served again once told its role; every acknowledged row readable over HTTP.
  const again = await spawnRole('tablet', { db_root_path: dbRoot, zk_cluster: '', endpoint: ep }, { logFile: path.join(dir, 'tablet2.log') });
  await client.call(ep, '/v1/control/change_role', { tid: 7, pid: 3, role: 'leader', term: 2 });
  let unreadable = 0;
  const ids = [...acked];
  for (let i = 0; i < ids.length; i += 64) {
    const got = await Promise.all(ids.slice(i, i + 64).map((id) => client.call<{ row: unknown }>(ep, '/v1/data/get', { tid: 7, pid: 3, index: 'id', key: id })));
    unreadable += got.filter((g) => g.row === null).length;
  }
  t.equal(unreadable, 0, 'every acknowledged row is readable after restart');
  const st = await client.call<{ replicas: Array<{ offset: number }> }>(ep, '/v1/control/status', { tid: 7, pid: 3 });
  t.equal(st.replicas[0]!.offset, offset);
  await again.stop();
});
