/**
 * Writing a snapshot's chunks into a replica's range as a load receives them (snapshot.ts
 * loadSnapshotInto): each chunk one LevelDB batch, its entries checked (the row key space, key
 * order) and counted (rows, bytes), and read back once written and digested in order
 * (RowDigest): the checksum of what the replica now holds, which the move's check compares
 * with the digest its leader took of what it sent. The read-backs run behind the load, while
 * the next chunk arrives and is written. The same loader runs on the tablet's main thread (in
 * memory) or in its snapshot thread (snapshot-worker.ts), which takes chunks in packed form.
 */
import { TesseraError } from '@tessera/common';
import { ROW_START, rowKeyPrefixLength } from './keys.js';
import { RowDigest } from './maintenance.js';
import { unpackChunk } from './snapshot-pack.js';
import type { Level, PackedSnapshotChunk, SnapshotChunk, SnapshotDigest } from './store-types.js';

/** Entries a read-back reads from LevelDB at a time (as a snapshot's reads, snapshot.ts). */
const READ_BACK_ROWS = 256;

/** What a finished load wrote: its rows (index 0 entries) and their bytes, and the digest of its read-back (undefined if it failed: the move's check then scans). */
export interface LoadedChunks {
  recordCnt: number;
  memUsed: number;
  digest: SnapshotDigest | undefined;
}

/** A chunk as a load takes it: a list of pairs, or packed (only its bytes are read). */
export type LoadChunk = SnapshotChunk | Pick<PackedSnapshotChunk, 'packed'>;

/** Where a load writes its chunks: here, or in the snapshot thread. */
export interface ChunkSink {
  write(chunk: LoadChunk): Promise<void>;
  /** Waits for the read-backs; the counts and digest of everything written. */
  finish(): Promise<LoadedChunks>;
  /** Drops the load (it failed or was abandoned); nothing more is written. */
  abandon(): Promise<void>;
}

export class ChunkLoader implements ChunkSink {
  private readonly digest = new RowDigest();
  private readBack: Promise<void> = Promise.resolve();
  private readBackError: unknown;
  private lastKey: Buffer | undefined;
  private recordCnt = 0;
  private memUsed = 0;

  constructor(private readonly db: Level) {}

  async write(chunk: LoadChunk): Promise<void> {
    const item = Array.isArray(chunk) ? chunk : unpackChunk(chunk.packed);
    if (item === undefined) throw new TesseraError('INVALID_ARGUMENT', 'packed must be bytes of length-prefixed keys and values');
    const batch = this.db.batch();
    for (const [k, v] of item) {
      // Views, not copies: the batch copies the bytes into LevelDB's own buffer. Pairs decoded
      // from msgpack are Uint8Arrays (typed Buffer); unpacked ones are Buffers already.
      const kb = asBuffer(k);
      if (kb[0] !== ROW_START[0]) {
        await batch.close();
        throw new TesseraError('INVALID_ARGUMENT', 'snapshot entry outside the row key space');
      }
      // The read-back digests each batch's key range: only a stream in key order has one.
      if (this.lastKey !== undefined && Buffer.compare(kb, this.lastKey) <= 0) this.readBackError ??= new Error('snapshot entries out of key order');
      this.lastKey = kb;
      const vb = asBuffer(v);
      batch.put(kb, vb);
      if (kb[1] === 0) {
        this.recordCnt++;
        this.memUsed += rowKeyPrefixLength(kb) + vb.length;
      }
    }
    await batch.write();
    if (item.length > 0 && this.readBackError === undefined) {
      const gte = asBuffer(item[0]![0]);
      const lte = asBuffer(item[item.length - 1]![0]);
      this.readBack = this.readBack.then(() => digestRange(this.db, gte, lte, this.digest)).catch((err: unknown) => {
        this.readBackError ??= err;
      });
    }
  }

  async finish(): Promise<LoadedChunks> {
    await this.readBack;
    return { recordCnt: this.recordCnt, memUsed: this.memUsed, digest: this.readBackError === undefined ? this.digest.result() : undefined };
  }

  async abandon(): Promise<void> {
    await this.readBack;
  }
}

/** Digests the entries in [gte, lte] (one written batch of a load), in key order. */
async function digestRange(db: Level, gte: Buffer, lte: Buffer, digest: RowDigest): Promise<void> {
  const it = db.iterator({ gte, lte });
  try {
    for (;;) {
      const entries = await it.nextv(READ_BACK_ROWS);
      if (entries.length === 0) return;
      for (const [k, v] of entries) digest.add(k, v);
    }
  } finally {
    await it.close();
  }
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
