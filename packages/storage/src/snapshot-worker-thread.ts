/**
 * The entry of a tablet's snapshot-reading thread (snapshot-worker.ts). Opens the tablet's
 * LevelDB a second time with classic-level's `multithreading` (the same open database as the
 * tablet's main thread, not a copy: LevelDB's snapshots and block cache are shared), and runs
 * packedSnapshotStream for each read it is asked for, one item per `next`: a header, or one
 * packed chunk handed over as a transferred buffer (no copy). Reads, row walks, digests and
 * packing — and the garbage they make — stay on this thread's own event loop and heap. A load
 * into a new replica here writes each chunk it is given and reads it back (snapshot-load.ts).
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { ClassicLevel } from 'classic-level';
import { planIndexes, TesseraError } from '@tessera/common';
import { packedSnapshotStream } from './snapshot.js';
import { ChunkLoader } from './snapshot-load.js';
import type { Level, PackedSnapshotChunk, SnapshotDigest, SnapshotHeader } from './store-types.js';
import type { SnapshotWorkerReply, SnapshotWorkerRequest } from './snapshot-worker.js';

const BUFFERS = { keyEncoding: 'buffer', valueEncoding: 'buffer' } as const;
const port = parentPort!;
const { dir, nice } = workerData as { dir: string; nice: number };
lowerThisThread(nice);
const root = new ClassicLevel<Buffer, Buffer>(dir, BUFFERS);
const opened = root.open({ multithreading: true } as Parameters<typeof root.open>[0]);
opened.catch(() => undefined);
const reads = new Map<number, AsyncGenerator<SnapshotHeader | PackedSnapshotChunk, SnapshotDigest>>();
/** Loads being written here, each once its range is open. */
const loads = new Map<number, Promise<ChunkLoader>>();

async function rangeOf(range: string[]): Promise<Level> {
  await opened;
  const db = root.sublevel<Buffer, Buffer>(range, BUFFERS) as unknown as Level;
  // A new sublevel opens after its parent, at a later tick; a snapshot or a batch needs it open.
  await db.open();
  return db;
}

async function* readOnceOpen(m: Extract<SnapshotWorkerRequest, { op: 'open' }>): AsyncGenerator<SnapshotHeader | PackedSnapshotChunk, SnapshotDigest> {
  const db = await rangeOf(m.range);
  return yield* packedSnapshotStream({ db, plans: planIndexes(m.schema), tid: m.tid, pid: m.pid, roleTerm: m.roleTerm }, m.nowMs, m.chunkBytesMax);
}

/**
 * This thread's CPU priority, lowered by `nice` (Linux: a thread is a task with its own nice
 * value; /proc/thread-self names it): on a busy machine the copy yields the CPU to the
 * tablet's serving thread and the other roles' instead of taking an equal share. Elsewhere, or
 * when refused, the thread runs at the process's priority.
 */
function lowerThisThread(by: number): void {
  if (by <= 0) return;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, by);
  } catch {
    // Not Linux, or not allowed: the copy runs at the tablet's own priority.
  }
}

function reply(r: SnapshotWorkerReply, transfer?: ArrayBuffer[]): void {
  port.postMessage(r, transfer);
}

/** A buffer that owns its whole ArrayBuffer can be transferred; a pooled one is copied first. */
function ownBytes(b: Buffer): Uint8Array {
  if (b.byteOffset === 0 && b.buffer.byteLength === b.length) return new Uint8Array(b.buffer, 0, b.length);
  return new Uint8Array(b);
}

async function handle(m: SnapshotWorkerRequest): Promise<void> {
  try {
    if (m.op === 'open') {
      // Registered at once: the `next` that follows is handled while the database may still be opening.
      reads.set(m.id, readOnceOpen(m));
      return;
    }
    if (m.op === 'loadOpen') {
      const loader = rangeOf(m.range).then((db) => new ChunkLoader(db));
      loader.catch(() => undefined);
      loads.set(m.id, loader);
      return;
    }
    if (m.op === 'loadChunk' || m.op === 'loadEnd' || m.op === 'loadAbandon') {
      const loader = loads.get(m.id);
      if (loader === undefined) throw new TesseraError('INTERNAL', `snapshot load ${m.id} is not open`);
      if (m.op === 'loadChunk') {
        await (await loader).write({ packed: Buffer.from(m.packed.buffer, m.packed.byteOffset, m.packed.byteLength) });
        reply({ id: m.id, kind: 'written' });
      } else if (m.op === 'loadEnd') {
        loads.delete(m.id);
        reply({ id: m.id, kind: 'loaded', loaded: await (await loader).finish() });
      } else {
        loads.delete(m.id);
        await (await loader).abandon();
        reply({ id: m.id, kind: 'closed' });
      }
      return;
    }
    const read = reads.get(m.id);
    if (m.op === 'close') {
      reads.delete(m.id);
      await read?.return(undefined as never);
      reply({ id: m.id, kind: 'closed' });
      return;
    }
    if (read === undefined) throw new TesseraError('INTERNAL', `snapshot read ${m.id} is not open`);
    const got = await read.next();
    if (got.done === true) {
      reads.delete(m.id);
      reply({ id: m.id, kind: 'done', digest: got.value });
    } else if ('packed' in got.value) {
      const packed = ownBytes(got.value.packed);
      reply({ id: m.id, kind: 'chunk', packed, entries: got.value.entries, bytes: got.value.bytes }, [packed.buffer as ArrayBuffer]);
    } else {
      reply({ id: m.id, kind: 'header', header: got.value });
    }
  } catch (err) {
    const read = reads.get(m.id);
    reads.delete(m.id);
    await read?.return(undefined as never).catch(() => undefined);
    const code = err instanceof TesseraError ? err.code : 'STORAGE_IO';
    reply({ id: m.id, kind: 'error', code, message: (err as Error).message });
  }
}

port.on('message', (m: SnapshotWorkerRequest) => void handle(m));
