/**
 * A tablet's snapshot reads off its main thread (issue 11): the copy of a replica to a new one
 * (a migrate, a rebuilt follower) reads every live row of a consistent LevelDB snapshot, walks,
 * digests and packs them — on the leader, whose main thread also serves the partition's writes.
 * Read there, the copy's tasks and the garbage of its Buffers sat between a write's steps (its
 * scavenges and ~1 ms reads: a writer's p99 2–4× its figure before the move). Here they run in
 * one worker thread per tablet (snapshot-worker-thread.ts), started at the first read and kept
 * (started with the tablet instead, it cost the tablet ~2.5 CPU s more over a 1,000,000-row move
 * and the writer's p99 with it, in three runs of three: not understood, not done);
 * the main thread gets one transferred buffer a chunk (of the size the reader asks: 128 KiB from
 * a follower stream) and sends it. The new replica's side runs there too: a load's chunks are
 * written and read back in the thread (snapshot-load.ts), the main thread only receives them.
 * Owns: the thread, the request/reply protocol with it, and the registry of the tablet's worker
 * by its root database (TabletStore registers one for a LevelDB on disk; memory-level reads in
 * the main thread, replica-store.ts).
 */
import { Worker } from 'node:worker_threads';
import { TesseraError, type ErrorCode, type TableSchema } from '@tessera/common';
import { packChunk } from './snapshot-pack.js';
import { parentOf } from './shared-batch.js';
import type { ChunkSink, LoadChunk, LoadedChunks } from './snapshot-load.js';
import type { Level, PackedSnapshotChunk, SnapshotDigest, SnapshotHeader } from './store-types.js';

/** One replica's snapshot read, as the thread is asked for it. */
export interface SnapshotReadRequest {
  /** The replica's key range: its sublevel's path from the root (sublevelPath). */
  range: string[];
  tid: number;
  pid: number;
  schema: TableSchema;
  roleTerm: number;
}

export type SnapshotWorkerRequest =
  | ({ op: 'open'; id: number; nowMs: number; chunkBytesMax: number } & SnapshotReadRequest)
  | { op: 'next'; id: number }
  | { op: 'close'; id: number }
  | { op: 'loadOpen'; id: number; range: string[] }
  | { op: 'loadChunk'; id: number; packed: Uint8Array }
  | { op: 'loadEnd'; id: number }
  | { op: 'loadAbandon'; id: number };

export type SnapshotWorkerReply =
  | { id: number; kind: 'header'; header: SnapshotHeader }
  | { id: number; kind: 'chunk'; packed: Uint8Array; entries: number; bytes: number }
  | { id: number; kind: 'done'; digest: SnapshotDigest }
  | { id: number; kind: 'closed' }
  | { id: number; kind: 'written' }
  | { id: number; kind: 'loaded'; loaded: LoadedChunks }
  | { id: number; kind: 'error'; code: ErrorCode; message: string };

export const SNAPSHOT_WORKER = {
  /**
   * Nice value the snapshot thread adds to its own (0–19; 19 the lowest priority): the copy is
   * background work, the partition's writes are not (TiKV and CockroachDB run snapshots in
   * lower-priority pools for the same reason).
   */
  niceIncrement: 10,
  /**
   * The thread's V8 heap: it keeps one chunk being read and packed (a few MiB), so a young
   * generation of 16 MiB and an old one far above what it keeps (--trace-gc: 32 MiB committed,
   * 14 live, in a 1,000,000-row copy). The tablet's RSS grows by more than that during such a
   * copy (~40–80 MiB): the rest is the thread's isolate and malloc arena (docs/benchmarks.md).
   */
  youngGenerationMiB: 16,
  oldGenerationMiB: 64,
} as const;

export class SnapshotWorker {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, (r: SnapshotWorkerReply) => void>();
  private closed = false;
  /** Reads and loads begun in the thread since start. */
  readsStarted = 0;
  loadsStarted = 0;

  /** `dir`: the tablet's LevelDB, opened by the tablet with `multithreading` (tablet-store.ts). */
  constructor(private readonly dir: string) {}

  private thread(): Worker {
    if (this.closed) throw new TesseraError('UNAVAILABLE', 'the tablet store is closed');
    if (this.worker !== undefined) return this.worker;
    const w = new Worker(new URL('./snapshot-worker-thread.js', import.meta.url), {
      workerData: { dir: this.dir, nice: SNAPSHOT_WORKER.niceIncrement },
      resourceLimits: { maxYoungGenerationSizeMb: SNAPSHOT_WORKER.youngGenerationMiB, maxOldGenerationSizeMb: SNAPSHOT_WORKER.oldGenerationMiB },
    });
    w.on('message', (r: SnapshotWorkerReply) => {
      const answer = this.waiting.get(r.id);
      if (answer === undefined) return;
      this.waiting.delete(r.id);
      if (this.waiting.size === 0) w.unref();
      answer(r);
    });
    const gone = (why: string): void => {
      if (this.worker === w) this.worker = undefined;
      for (const [id, answer] of this.waiting) answer({ id, kind: 'error', code: 'STORAGE_IO', message: `snapshot thread ${why}` });
      this.waiting.clear();
    };
    w.on('error', (err) => gone(`failed: ${err.message}`));
    w.on('exit', (code) => gone(`exited (${code})`));
    // After the listeners (a 'message' listener refs the thread again): an idle thread does not
    // keep the process alive; one with a question out does (ask).
    w.unref();
    this.worker = w;
    return w;
  }

  private ask(w: Worker, m: SnapshotWorkerRequest, transfer?: ArrayBuffer[]): Promise<SnapshotWorkerReply> {
    // A read or load begun in a thread that has since gone (and perhaps been replaced) fails.
    if (w !== this.worker) return Promise.resolve({ id: m.id, kind: 'error', code: 'STORAGE_IO', message: 'the snapshot thread this read or load began in has exited' });
    return new Promise((resolve) => {
      if (this.waiting.size === 0) w.ref();
      this.waiting.set(m.id, resolve);
      w.postMessage(m, transfer);
    });
  }

  /**
   * packedSnapshotStream (snapshot.ts) of one replica, read in the thread: the header, then
   * each packed chunk when asked for; returns the digest of every entry. Leaving early closes
   * the read there (its LevelDB snapshot and iterator).
   */
  async *read(replica: SnapshotReadRequest, nowMs: number, chunkBytesMax: number): AsyncGenerator<SnapshotHeader | PackedSnapshotChunk, SnapshotDigest> {
    const w = this.thread();
    const id = this.nextId++;
    this.readsStarted++;
    w.postMessage({ op: 'open', id, nowMs, chunkBytesMax, ...replica } satisfies SnapshotWorkerRequest);
    let open = true;
    try {
      for (;;) {
        const r = await this.ask(w, { op: 'next', id });
        if (r.kind === 'error') {
          open = false;
          throw new TesseraError(r.code, r.message);
        }
        if (r.kind === 'done') {
          open = false;
          return r.digest;
        }
        if (r.kind === 'header') yield r.header;
        else if (r.kind === 'chunk') yield { packed: Buffer.from(r.packed.buffer, r.packed.byteOffset, r.packed.byteLength), entries: r.entries, bytes: r.bytes };
      }
    } finally {
      // ask answers at once if the thread has gone meanwhile.
      if (open) await this.ask(w, { op: 'close', id });
    }
  }

  /**
   * The writer of one snapshot load into a replica of this tablet, in the thread (snapshot-load.ts
   * ChunkLoader there): each chunk goes over packed, in a buffer of its own (copied out of the
   * request it came in: one memcpy of a chunk), and is answered once written.
   */
  loader(range: string[]): ChunkSink {
    const id = this.nextId++;
    this.loadsStarted++;
    let w: Worker | undefined;
    const opened = (): Worker => {
      if (w === undefined) {
        w = this.thread();
        w.postMessage({ op: 'loadOpen', id, range } satisfies SnapshotWorkerRequest);
      }
      return w;
    };
    const answer = async (m: SnapshotWorkerRequest, transfer?: ArrayBuffer[]): Promise<SnapshotWorkerReply> => {
      const r = await this.ask(opened(), m, transfer);
      if (r.kind === 'error') throw new TesseraError(r.code, r.message);
      return r;
    };
    return {
      write: async (chunk: LoadChunk): Promise<void> => {
        const packed = new Uint8Array(Array.isArray(chunk) ? packChunk(chunk) : chunk.packed);
        await answer({ op: 'loadChunk', id, packed }, [packed.buffer]);
      },
      finish: async (): Promise<LoadedChunks> => {
        const r = await answer({ op: 'loadEnd', id });
        if (r.kind !== 'loaded') throw new TesseraError('INTERNAL', `snapshot load ${id} ended with ${r.kind}`);
        return r.loaded;
      },
      abandon: async (): Promise<void> => {
        if (w !== undefined) await this.ask(w, { op: 'loadAbandon', id });
      },
    };
  }

  /** Stops the thread (it closes its handle of the database); reads in flight fail. */
  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = undefined;
    if (w !== undefined) await w.terminate();
  }
}

/**
 * The snapshot thread that reads and loads a replica's range `db`, and the range as the thread
 * opens it: the sublevel's path of names from its root (abstract-level's `path()`), taken from
 * the handle itself, never rebuilt from the replica's ids. Undefined for a database that is not
 * a sublevel of a tablet store on disk (those read and load on their own thread).
 */
export function snapshotThreadFor(db: Level): { worker: SnapshotWorker; range: string[] } | undefined {
  const root = parentOf(db);
  const worker = root === undefined ? undefined : workers.get(root);
  const range = (db as unknown as { path?: () => string[] }).path?.();
  return worker !== undefined && Array.isArray(range) && range.length > 0 ? { worker, range } : undefined;
}

const workers = new WeakMap<Level, SnapshotWorker>();

/** Gives the tablet's root database its snapshot read thread (TabletStore, for a LevelDB on disk). */
export function setSnapshotWorker(root: Level, worker: SnapshotWorker): void {
  workers.set(root, worker);
}

/** The snapshot read thread of a root database, if it has one. */
export function snapshotWorkerOf(root: Level): SnapshotWorker | undefined {
  return workers.get(root);
}
