// Snapshot reads and loads in the tablet's snapshot thread (snapshot-worker.ts): what the thread
// reads of a replica is what the main thread would read (header, every packed byte, digest), at
// one point while writes go on; a load written there has the same content and counts; a read
// stops early without leaking; the thread lets go of the database when the tablet store closes.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateSchema } from '@tessera/common';
import {
  ReplicaStore, snapshotWorkerOf, TabletStore, unpackChunk,
  type PackedSnapshotChunk, type ReplicaInfo, type SnapshotDigest, type SnapshotHeader,
} from '../src/index.js';
import { packedSnapshotStream, snapshotSourceOf } from '../src/snapshot.js';

const schema = validateSchema({
  name: 'flow', db: 'demo_db',
  columns: [{ name: 'card', type: 'string' }, { name: 'mcc', type: 'string' }, { name: 'ts', type: 'timestamp' }],
  indexes: [{ name: 'card', keys: ['card'], ts: 'ts' }, { name: 'mcc', keys: ['mcc'], ts: 'ts' }],
});
const info = (tid: number, pid: number): ReplicaInfo => ({ tid, pid, schema, compressType: 'kNoCompress' });
const rows = (from: number, n: number): Array<{ values: (string | number)[]; ts: number }> =>
  Array.from({ length: n }, (_, i) => ({ values: [`card${(from + i) % 97}`, `mcc${(from + i) % 13}`, 1_000 + from + i], ts: 0 }));
/** Small chunks: a few thousand rows make many. */
const CHUNK_BYTES = 8 * 1024;

interface Read {
  header: SnapshotHeader | undefined;
  chunks: PackedSnapshotChunk[];
  digest: SnapshotDigest | undefined;
}

async function readAll(items: AsyncGenerator<SnapshotHeader | PackedSnapshotChunk, SnapshotDigest>, between?: () => Promise<void>): Promise<Read> {
  const out: Read = { header: undefined, chunks: [], digest: undefined };
  for (;;) {
    const got = await items.next();
    if (got.done === true) {
      out.digest = got.value;
      return out;
    }
    if ('packed' in got.value) out.chunks.push({ ...got.value, packed: Buffer.from(got.value.packed) });
    else {
      out.header = got.value;
      await between?.();
    }
  }
}

async function filled(t: { teardown(fn: () => void): void }): Promise<{ root: string; tablet: TabletStore; a: ReplicaStore }> {
  const root = mkdtempSync(join(tmpdir(), 'tessera-snapshot-worker-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const tablet = await TabletStore.openDir(root);
  const a = await ReplicaStore.create(tablet.replicaLevel(2, 1), info(2, 1));
  await a.setRole('leader', 3);
  for (let i = 0; i < 4; i++) await a.put(rows(i * 500, 500));
  await a.delete(0, 'card5');
  return { root, tablet, a };
}

t.test('the thread reads what the main thread would: header, every packed byte, digest; a load of it has that content', async (t) => {
  const { tablet, a } = await filled(t);
  t.teardown(() => tablet.close());
  const worker = snapshotWorkerOf(tablet.root);
  t.ok(worker, 'a tablet store on disk has a read thread');
  const now = Date.now();
  const inThread = await readAll(packedSnapshotStream(snapshotSourceOf((a as unknown as { core: never }).core), now, CHUNK_BYTES));
  const viaWorker = await readAll(a.snapshotPacked(now, CHUNK_BYTES));
  t.equal(worker!.readsStarted, 1, 'read in the thread');
  t.same(viaWorker.header, inThread.header, 'the same header');
  t.equal(viaWorker.header!.offset, a.offset);
  t.ok(viaWorker.chunks.length > 10, `many chunks (${viaWorker.chunks.length})`);
  t.ok(Buffer.concat(viaWorker.chunks.map((c) => c.packed)).equals(Buffer.concat(inThread.chunks.map((c) => c.packed))), 'the same bytes');
  t.same(viaWorker.digest, inThread.digest, 'the same digest');
  t.equal(viaWorker.chunks.reduce((n, c) => n + c.entries, 0), viaWorker.digest!.rows, 'entries counted as digested');
  t.ok(viaWorker.chunks.every((c) => unpackChunk(c.packed)!.length === c.entries && unpackChunk(c.packed)!.reduce((n, [k, v]) => n + k.length + v.length, 0) === c.bytes), 'each chunk counts its own entries and bytes');

  const b = await ReplicaStore.create(tablet.replicaLevel(2, 2), info(2, 2));
  await b.loadSnapshot((async function* () {
    yield { ...viaWorker.header!, pid: 2 };
    for (const c of viaWorker.chunks) yield unpackChunk(c.packed)!;
  })());
  t.equal(worker!.loadsStarted, 1, 'loaded in the thread');
  t.same(await b.checksum(), await a.checksum(), 'loaded: the same rows');
  t.same(b.recordCnt, a.recordCnt, 'counted as the leader counts');
  t.same({ rows: b.loadedChecksum()!.rows, sha256: b.loadedChecksum()!.sha256 }, viaWorker.digest, "the load's read-back matches what the thread digested");
  await b.close();
  await a.close();
});

t.test('one point: writes made after the read began are not in it', async (t) => {
  const { tablet, a } = await filled(t);
  t.teardown(() => tablet.close());
  const before = await a.checksum();
  const offsetBefore = a.offset;
  const read = await readAll(a.snapshotPacked(Date.now(), CHUNK_BYTES), async () => {
    await a.put(rows(10_000, 300));
  });
  t.equal(read.header!.offset, offsetBefore, 'the header is the offset before the put');
  t.equal(a.offset, offsetBefore + 300, 'which was made while the read ran');
  const b = await ReplicaStore.create(tablet.replicaLevel(2, 2), info(2, 2));
  await b.loadSnapshot((async function* () {
    yield { ...read.header!, pid: 2 };
    for (const c of read.chunks) yield unpackChunk(c.packed)!;
  })());
  t.same(await b.checksum(), before, 'the content at the header, without the later rows');
  await b.close();
  await a.close();
});

t.test('a read left early is closed in the thread; the next reads run; closing the store lets go of the database', async (t) => {
  const { root, tablet, a } = await filled(t);
  const items = a.snapshotPacked(Date.now(), CHUNK_BYTES);
  t.notOk('packed' in (await items.next()).value, 'the header first');
  t.ok('packed' in (await items.next()).value, 'then a chunk');
  await items.return(undefined as never);
  const [r1, r2] = await Promise.all([readAll(a.snapshotPacked(Date.now(), CHUNK_BYTES)), readAll(a.snapshotPacked(Date.now(), CHUNK_BYTES))]);
  t.same(r1.digest, r2.digest, 'two reads at once, each whole');
  const sum = await a.checksum();
  await a.close();
  await tablet.close();
  await t.rejects(readAll(a.snapshotPacked(Date.now(), CHUNK_BYTES)), { code: 'UNAVAILABLE' }, 'no read after the store closed');

  // The thread's handle is gone with it: the directory opens again, with the same content.
  const again = await TabletStore.openDir(root);
  const a2 = (await ReplicaStore.open(again.replicaLevel(2, 1)))!;
  t.same(await a2.checksum(), sum);
  t.same((await readAll(a2.snapshotPacked(Date.now(), CHUNK_BYTES))).digest!.rows > 0, true, 'and reads in a new thread');
  await a2.close();
  await again.close();
});

t.test('a thread that dies mid-read fails that read and load; the next ones run in a new thread', async (t) => {
  const { tablet, a } = await filled(t);
  t.teardown(() => tablet.close());
  const worker = snapshotWorkerOf(tablet.root)!;
  const items = a.snapshotPacked(Date.now(), CHUNK_BYTES);
  await items.next();
  await (worker as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
  await t.rejects(readAll(items), { code: 'STORAGE_IO' }, 'the read in flight fails');

  const b = await ReplicaStore.create(tablet.replicaLevel(2, 2), info(2, 2));
  const whole = await readAll(a.snapshotPacked(Date.now(), CHUNK_BYTES));
  t.equal(worker.readsStarted, 2, 'the next read ran, in a new thread');
  await t.rejects(b.loadSnapshot((async function* () {
    yield { ...whole.header!, pid: 2 };
    yield unpackChunk(whole.chunks[0]!.packed)!;
    await (worker as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    for (const c of whole.chunks.slice(1)) yield unpackChunk(c.packed)!;
  })()), { code: 'STORAGE_IO' }, 'a load whose thread died fails');
  t.equal(b.incomplete, true, 'and leaves the replica marked incomplete');
  await b.loadSnapshot((async function* () {
    yield { ...whole.header!, pid: 2 };
    for (const c of whole.chunks) yield unpackChunk(c.packed)!;
  })());
  t.same(await b.checksum(), await a.checksum(), 'a load after it, in a new thread, is whole');
  await b.close();
  await a.close();
});
