/**
 * Snapshots of one replica: streaming every live row at one consistent point (one LevelDB
 * snapshot over the replica's key range; rows deleted at or before that point are left out), and replacing a replica's rows and binlog with such a
 * stream. The wire keys are the replica's own keys (keys.ts), never the tablet-wide prefix.
 */
import { decodeStored, encode, TesseraError, type IndexPlan } from '@tessera/common';
import {
  BINLOG_END, BINLOG_START, binlogKey, HEAD_END, HEAD_START, META_STATE, PURGE_END, PURGE_START,
  ROW_END, ROW_START,
} from './keys.js';
import { liveRowBatchesOf, type ReplicaCore } from './core.js';
import { RowDigest } from './maintenance.js';
import { packChunk } from './snapshot-pack.js';
import { ChunkLoader, type ChunkSink } from './snapshot-load.js';
import { snapshotThreadFor } from './snapshot-worker.js';
import type { Level, PackedSnapshotChunk, ReplicaCounters, SnapshotChunk, SnapshotDigest, SnapshotHeader } from './store-types.js';

/**
 * Entries a snapshot reads from LevelDB at a time: each read is one task of the reading thread
 * (the tablet's snapshot thread, or its only one in memory) that materialises its entries as
 * Buffers, so it stays short (~1 ms) for what is queued behind it.
 */
const SNAPSHOT_READ_ROWS = 256;

/**
 * What reading a replica's snapshot needs: its key range, index plans (TTL), ids, and the term
 * of its role (the header's term when it holds no entry). A ReplicaCore has them; so does a
 * worker thread that opened the range itself (snapshot-worker.ts).
 */
export interface SnapshotSource {
  db: Level;
  plans: IndexPlan[];
  tid: number;
  pid: number;
  roleTerm: number;
}

export function snapshotSourceOf(core: ReplicaCore): SnapshotSource {
  return { db: core.db, plans: core.plans, tid: core.info.tid, pid: core.info.pid, roleTerm: core.roleRecord.term };
}

/**
 * Streams every live row at one consistent point (a LevelDB snapshot), with the offset that
 * point reflects. Writes go on meanwhile; the receiver catches up from the binlog after it.
 */
export async function* snapshotStream(source: SnapshotSource, nowMs: number, chunkBytesMax: number): AsyncGenerator<SnapshotHeader | SnapshotChunk> {
  const db = source.db;
  const snap = db.snapshot();
  try {
    const stateBytes = await db.get(META_STATE, { snapshot: snap });
    const state = decodeStored(stateBytes!) as ReplicaCounters;
    let term = 0;
    if (state.offset > 0) {
      const entry = await db.get(binlogKey(state.offset), { snapshot: snap });
      term = entry !== undefined ? (decodeStored(entry) as number[])[0]! : state.base?.offset === state.offset ? state.base.term : source.roleTerm;
    }
    yield { tid: source.tid, pid: source.pid, offset: state.offset, term, rows: state.recordCnt, entriesPerRow: Math.max(1, source.plans.length) };
    let chunk: SnapshotChunk = [];
    let bytes = 0;
    for await (const rows of liveRowBatchesOf(db, source.plans, ROW_START, nowMs, snap, undefined, SNAPSHOT_READ_ROWS)) {
      for (const [k, v] of rows) {
        chunk.push([k, v]);
        bytes += k.length + v.length;
        if (bytes >= chunkBytesMax) {
          yield chunk;
          chunk = [];
          bytes = 0;
        }
      }
    }
    if (chunk.length > 0) yield chunk;
  } finally {
    await snap.close();
  }
}

/**
 * snapshotStream with each chunk in its packed wire form (snapshot-pack.ts), as a copy sends it;
 * returns the digest of every entry it yielded, in order (what the move's check compares with
 * the receiver's read-back). The form a worker thread hands back (one transferable buffer a
 * chunk, snapshot-worker.ts).
 */
export async function* packedSnapshotStream(source: SnapshotSource, nowMs: number, chunkBytesMax: number): AsyncGenerator<SnapshotHeader | PackedSnapshotChunk, SnapshotDigest> {
  const digest = new RowDigest();
  for await (const item of snapshotStream(source, nowMs, chunkBytesMax)) {
    if (!Array.isArray(item)) {
      yield item;
      continue;
    }
    let bytes = 0;
    for (const [k, v] of item) {
      bytes += k.length + v.length;
      digest.add(k, v);
    }
    yield { packed: packChunk(item), entries: item.length, bytes };
  }
  return digest.result();
}

/**
 * Replaces the replica's rows and binlog with a snapshot stream (header first). The replica's
 * offset becomes the snapshot's; counters are recomputed from what arrives. The loaded replica
 * keeps no head records (heads.ts) and reads by seeking: writing one per key would be one more
 * LevelDB put per row of the load (+40-60% of a 200,000-row load's CPU, measured in one process),
 * the cost a migrate pays. Run in the replica's queue (exclusive).
 */
export async function loadSnapshotInto(core: ReplicaCore, stream: AsyncIterable<SnapshotHeader | SnapshotChunk | PackedSnapshotChunk>): Promise<number> {
  const db = core.db;
  let header: SnapshotHeader | undefined;
  const counters: ReplicaCounters = { offset: 0, recordCnt: 0, memUsed: 0 };
  // Mark the replica incomplete on disk first: a crash mid-load must not leave partial rows
  // under an offset that claims more.
  core.counters = { offset: 0, recordCnt: 0, memUsed: 0, incomplete: true };
  core.tail.clear();
  await db.put(META_STATE, encode(core.counters));
  await db.clear({ gte: ROW_START, lt: ROW_END });
  await db.clear({ gte: BINLOG_START, lt: BINLOG_END });
  await db.clear({ gte: PURGE_START, lt: PURGE_END });
  await db.clear({ gte: HEAD_START, lt: HEAD_END });
  core.loadedChecksum = undefined;
  // Written here, or in the tablet's snapshot thread when it has one (snapshot-load.ts).
  const sink = chunkSinkFor(core);
  let finished = false;
  try {
    for await (const item of stream) {
      if (!Array.isArray(item) && !('packed' in item)) {
        if (header) throw new TesseraError('INVALID_ARGUMENT', 'snapshot stream has two headers');
        header = item;
        if (header.tid !== core.info.tid || header.pid !== core.info.pid) {
          throw new TesseraError('INVALID_ARGUMENT', `snapshot of ${header.tid}_${header.pid} sent to ${core.info.tid}_${core.info.pid}`);
        }
        continue;
      }
      if (!header) throw new TesseraError('INVALID_ARGUMENT', 'snapshot stream starts without a header');
      await sink.write(item);
    }
    if (!header) throw new TesseraError('INVALID_ARGUMENT', 'empty snapshot stream');
    const loaded = await sink.finish();
    finished = true;
    counters.recordCnt = loaded.recordCnt;
    counters.memUsed = loaded.memUsed;
    counters.offset = header.offset;
    counters.base = { offset: header.offset, term: header.term };
    await db.put(META_STATE, encode(counters));
    core.counters = counters;
    core.firstBinlogOffsetCache = undefined;
    // A read-back that failed leaves no checksum: the move's check then scans both sides.
    if (loaded.digest !== undefined) core.loadedChecksum = { offset: header.offset, ...loaded.digest };
    return header.offset;
  } finally {
    if (!finished) await sink.abandon().catch(() => undefined);
  }
}

/** Where a load of this replica writes its chunks: the tablet's snapshot thread if it has one (snapshot-worker.ts), else here. */
function chunkSinkFor(core: ReplicaCore): ChunkSink {
  const thread = snapshotThreadFor(core.db);
  return thread !== undefined ? thread.worker.loader(thread.range) : new ChunkLoader(core.db);
}
