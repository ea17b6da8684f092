// One LevelDB per tablet (issue 16): replicas' ranges are isolated, dropping one leaves the others
// whole, an interrupted drop is found as an orphan, and an old per-replica directory is migrated
// into the shared database (also after a crash between the copy and the removal).
import t from 'tap';
import { existsSync, mkdtempSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateSchema } from '@tessera/common';
import { migrateReplicaDirs, MIGRATION, openClassicLevel, ReplicaStore, sharedBatchStats, TabletStore, watchQueueHolds, type QueueTask, type ReplicaInfo } from '../src/index.js';

const schema = validateSchema({
  name: 'flow', db: 'demo_db',
  columns: [{ name: 'card', type: 'string' }, { name: 'mcc', type: 'string' }, { name: 'ts', type: 'timestamp' }],
  indexes: [{ name: 'card', keys: ['card'], ts: 'ts' }, { name: 'mcc', keys: ['mcc'], ts: 'ts' }],
});
const info = (tid: number, pid: number): ReplicaInfo => ({ tid, pid, schema, compressType: 'kNoCompress' });
const row = (card: string, mcc: string, ts: number): { values: (string | number)[]; ts: number } => ({ values: [card, mcc, ts], ts: 0 });
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

function tempRoot(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-tablet-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes three rows (and one delete) into a replica and returns its checksum and offset. */
async function fill(s: ReplicaStore, card: string): Promise<{ sum: { rows: number; sha256: string }; offset: number }> {
  await s.setRole('leader', 1);
  await s.put([row(card, 'm1', 1000), row(card, 'm2', 2000), row('gone', 'm3', 3000)]);
  await s.delete(0, 'gone');
  return { sum: await s.checksum(), offset: s.offset };
}

t.test('two replicas in one LevelDB: same keys, isolated ranges; drop of one leaves the other', async (t) => {
  const root = tempRoot(t);
  const tablet = await TabletStore.openDir(root);
  t.same(readdirSync(root), ['store'], 'one LevelDB directory for the tablet');
  const a = await ReplicaStore.create(tablet.replicaLevel(1, 0), info(1, 0));
  const b = await ReplicaStore.create(tablet.replicaLevel(10, 0), info(10, 0));
  const fa = await fill(a, 'c');
  await b.setRole('leader', 3);
  await b.put([row('c', 'm1', 5000)]);
  t.same((await a.scan(0, 'c', 0, -1, 10)).map((r) => r.ts), [2000, 1000], 'a sees only its rows of key c');
  t.same((await b.scan(0, 'c', 0, -1, 10)).map((r) => r.ts), [5000], 'b only its own');
  t.equal(a.offset, 4);
  t.equal(b.offset, 1, 'offsets and binlogs are per replica');
  t.same((await b.readBinlog(1, 10, 1e9)).map((e) => e.offset), [1]);
  t.same((await tablet.list()).replicas.sort((x, y) => x.tid - y.tid), [{ tid: 1, pid: 0 }, { tid: 10, pid: 0 }]);

  // A snapshot of a streams a's rows only; loading it into a third replica gives a's content.
  const c = await ReplicaStore.create(tablet.replicaLevel(1, 1), info(1, 1));
  const chunks: Array<unknown> = [];
  for await (const item of a.snapshot()) chunks.push(Array.isArray(item) ? item : { ...item, pid: 1 });
  await c.loadSnapshot((async function* () { yield* chunks as never[]; })());
  t.same(await c.checksum(), fa.sum, 'a snapshot carries exactly the replica range');
  t.same(await b.scan(0, 'c', 0, -1, 10).then((r) => r.length), 1, 'loading one replica leaves its neighbours');

  await b.close();
  await tablet.clearReplica(10, 0);
  t.same((await tablet.list()).replicas.sort((x, y) => x.pid - y.pid), [{ tid: 1, pid: 0 }, { tid: 1, pid: 1 }], 'the dropped replica is gone');
  t.same(await a.checksum(), fa.sum, 'the other replica keeps every row');
  t.equal((await a.readBinlog(1, 10, 1e9)).length, 4, 'and its binlog');
  t.equal(await ReplicaStore.open(tablet.replicaLevel(10, 0)), undefined, 'nothing opens at the dropped range');
  const again = await ReplicaStore.create(tablet.replicaLevel(10, 0), info(10, 0));
  t.same(await again.scan(0, 'c', 0, -1, 10), [], 'a replica created again starts empty');
  await Promise.all([a.close(), c.close(), again.close()]);
  await tablet.close();

  const reopened = await TabletStore.openDir(root);
  const a2 = (await ReplicaStore.open(reopened.replicaLevel(1, 0)))!;
  t.same(await a2.checksum(), fa.sum, 'after a reopen');
  t.equal(a2.offset, fa.offset);
  await a2.close();
  await reopened.close();
});

t.test('a range whose meta is gone (an interrupted drop) is listed as an orphan', async (t) => {
  const tablet = await TabletStore.memory();
  t.teardown(() => tablet.close());
  const a = await ReplicaStore.create(tablet.replicaLevel(2, 0), info(2, 0));
  await fill(a, 'c');
  await a.close();
  const level = tablet.replicaLevel(2, 0);
  const { META_INFO } = await import('../src/keys.js');
  await level.del(META_INFO); // what clearReplica's first step leaves if the process dies next
  t.same(await tablet.list(), { replicas: [], orphans: [{ tid: 2, pid: 0 }] });
  t.equal(await tablet.rangeIsEmpty(2, 0), false, 'the orphan range is not empty (a create clears it first)');
  t.equal(await tablet.rangeIsEmpty(2, 1), true, 'a range never used is');
  await tablet.clearReplica(2, 0);
  t.equal(await tablet.rangeIsEmpty(2, 0), true, 'nor is it once cleared');
  t.same(await tablet.list(), { replicas: [], orphans: [] });
  t.equal((await tablet.root.keys().all()).length, 0, 'no key left');
});

t.test('an old per-replica directory is migrated into the tablet LevelDB and removed', async (t) => {
  const root = tempRoot(t);
  const sums = new Map<string, { sum: { rows: number; sha256: string }; offset: number }>();
  for (const [tid, pid] of [[3, 0], [3, 1]] as const) {
    const s = await ReplicaStore.create(openClassicLevel(join(root, `${tid}_${pid}`)), info(tid, pid));
    sums.set(`${tid}_${pid}`, await fill(s, `card${pid}`));
    await s.setRole('follower', 7);
    await s.close();
  }
  const emptyDir = join(root, '9_9');
  const empty = openClassicLevel(emptyDir); // a LevelDB without a replica: left alone
  await empty.open();
  await empty.close();
  const tablet = await TabletStore.openDir(root);
  const warnings: string[] = [];
  const moved = await migrateReplicaDirs(root, tablet, { ...quiet, warn: (m) => warnings.push(m) });
  t.equal(moved, 2);
  t.notOk(existsSync(join(root, '3_0')), 'old directory removed');
  t.notOk(existsSync(join(root, '3_1')));
  t.ok(existsSync(emptyDir), 'a directory without a replica is left alone');
  t.match(warnings.join('\n'), /9_9 holds no replica/);
  for (const [tid, pid] of [[3, 0], [3, 1]] as const) {
    const s = (await ReplicaStore.open(tablet.replicaLevel(tid, pid)))!;
    const want = sums.get(`${tid}_${pid}`)!;
    t.same(await s.checksum(), want.sum, `${tid}_${pid}: rows as before`);
    t.equal(s.offset, want.offset, `${tid}_${pid}: offset as before`);
    t.same(s.role, { role: 'follower', term: 7 }, `${tid}_${pid}: role and term as before`);
    t.equal((await s.readBinlog(1, 10, 1e9)).length, want.offset, `${tid}_${pid}: binlog as before`);
    await s.close();
  }
  t.equal(await migrateReplicaDirs(root, tablet, quiet), 0, 'a second start has nothing to migrate');
  await tablet.close();
});

t.test('migration after a crash: a partial copy is redone; a marked copy is trusted and only the directory removed', async (t) => {
  const root = tempRoot(t);
  const s = await ReplicaStore.create(openClassicLevel(join(root, '4_0')), info(4, 0));
  const want = await fill(s, 'c');
  await s.close();
  const tablet = await TabletStore.openDir(root);
  // A crash mid-copy: part of the range written, no marker, the old directory whole.
  await tablet.replicaLevel(4, 0).put(Buffer.from([0x03, 0, 0, 0, 0, 1, 0x7a]), Buffer.from('partial'));
  t.equal(await migrateReplicaDirs(root, tablet, quiet), 1);
  const got = (await ReplicaStore.open(tablet.replicaLevel(4, 0)))!;
  t.same(await got.checksum(), want.sum, 'the partial copy was replaced by a whole one');
  await got.close();

  // A crash after the marker, with the old directory half removed: the copy is trusted.
  const half = join(root, '4_0');
  const leftover = openClassicLevel(half); // a directory that no longer holds the replica
  await leftover.open();
  await leftover.close();
  await tablet.named(MIGRATION.markerLevel).put(Buffer.from('4_0'), Buffer.from([1]));
  t.equal(await migrateReplicaDirs(root, tablet, quiet), 1);
  t.notOk(existsSync(half), 'directory removed');
  const still = (await ReplicaStore.open(tablet.replicaLevel(4, 0)))!;
  t.same(await still.checksum(), want.sum, 'the migrated copy was not touched');
  await still.close();
  t.same(await tablet.named(MIGRATION.markerLevel).keys().all(), [], 'no marker left');
  await tablet.close();
});

t.test('group commits of several replicas issued in one turn are one LevelDB batch of the tablet (shared-batch.ts)', async (t) => {
  const root = tempRoot(t);
  const tablet = await TabletStore.openDir(root);
  const stores = [];
  for (let pid = 0; pid < 3; pid++) {
    const s = await ReplicaStore.create(tablet.replicaLevel(1, pid), info(1, pid));
    await s.setRole('leader', 1);
    stores.push(s);
  }
  const before = sharedBatchStats(tablet.root);
  // As put_multi issues them: every partition's put in the same turn.
  const results = await Promise.all(stores.map((s, pid) => s.put([row(`c${pid}`, 'm', 1000), row(`d${pid}`, 'm', 2000)])));
  const after = sharedBatchStats(tablet.root);
  t.same(results, [{ firstOffset: 1, lastOffset: 2 }, { firstOffset: 1, lastOffset: 2 }, { firstOffset: 1, lastOffset: 2 }]);
  t.same({ batches: after.batches - before.batches, commits: after.commits - before.commits }, { batches: 1, commits: 3 }, 'one batch carried the three replicas\' commits');
  // Each replica's rows and counters, after a reopen (what was written is what each committed).
  for (const s of stores) await s.close();
  await tablet.close();
  const again = await TabletStore.openDir(root);
  t.teardown(() => again.close());
  for (let pid = 0; pid < 3; pid++) {
    const s = (await ReplicaStore.open(again.replicaLevel(1, pid)))!;
    t.equal(s.offset, 2, `replica 1_${pid} holds its two entries`);
    t.equal((await s.get(0, `c${pid}`))?.values[0], `c${pid}`);
    t.equal(await s.get(0, `c${(pid + 1) % 3}`), undefined, 'and nothing of the others');
    t.equal((await s.readBinlog(1, 10, 1 << 20)).length, 2);
    await s.close();
  }
});

t.test('queue holds: each exclusive task of any replica is told to the watcher of the tablet\'s database, by task; none once it stops watching', async (t) => {
  const tablet = await TabletStore.memory();
  const seen: Array<[QueueTask, number]> = [];
  watchQueueHolds(tablet.root, (task, seconds) => seen.push([task, seconds]));
  const a = await ReplicaStore.create(tablet.replicaLevel(1, 0), info(1, 0));
  const b = await ReplicaStore.create(tablet.replicaLevel(2, 0), info(2, 0));
  await fill(a, 'c'); // role, put (not exclusive), delete
  await b.setRole('follower', 1);
  for (let i = 0; i < 20; i++) await a.put([row(`k${i}`, 'm', i)]);
  await a.truncateBinlog(10);
  const tasks = seen.map(([task]) => task);
  t.same(tasks.filter((x) => x === 'role').length, 2, 'a role change on each replica');
  t.ok(tasks.includes('delete'), 'the delete');
  t.ok(tasks.includes('truncate'), 'the truncation');
  t.notOk(tasks.includes('load'), 'no load was run');
  t.ok(seen.every(([, s]) => s >= 0 && s < 60), 'durations in seconds');
  const before = seen.length;
  watchQueueHolds(tablet.root, undefined);
  await a.delete(0, 'c');
  t.equal(seen.length, before, 'not watched: nothing told');
});
