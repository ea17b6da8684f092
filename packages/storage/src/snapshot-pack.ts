/**
 * The packed wire form of a snapshot chunk: every [key, value] pair of the chunk in one byte
 * string, each part preceded by its length (u32 big-endian): klen key vlen value klen key ...
 * The leader copies a chunk into one buffer (a memcpy per part) instead of msgpack-encoding ~10,000
 * two-element arrays of byte strings, and the follower takes views of the one buffer it received
 * instead of msgpack-decoding them: in a 1,000,000-row migrate's profile the two cost ~0.7 s of
 * the leader's thread and ~0.4 s of the new replica's. A follower that reads this form says so in
 * its answer to snapshot_begin; a leader sends the list form to one that does not (a tablet not
 * yet upgraded).
 */
import type { PackedSnapshotChunk, SnapshotChunk } from './store-types.js';

const LENGTH_BYTES = 4;

function putLength(out: Buffer, at: number, n: number): void {
  out[at] = n >>> 24;
  out[at + 1] = (n >>> 16) & 0xff;
  out[at + 2] = (n >>> 8) & 0xff;
  out[at + 3] = n & 0xff;
}

/** The chunk as one byte string (TypedArray.set per part: cheaper than Buffer.copy here). */
export function packChunk(entries: SnapshotChunk): Buffer {
  let size = 0;
  for (const [k, v] of entries) size += 2 * LENGTH_BYTES + k.length + v.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const [k, v] of entries) {
    putLength(out, at, k.length);
    out.set(k, at + LENGTH_BYTES);
    at += LENGTH_BYTES + k.length;
    putLength(out, at, v.length);
    out.set(v, at + LENGTH_BYTES);
    at += LENGTH_BYTES + v.length;
  }
  return out;
}

/**
 * The pairs of a packed chunk, as Buffer views of `packed`'s memory (no copy); undefined when it
 * is not one (a length running past its end).
 */
export function unpackChunk(packed: Uint8Array): SnapshotChunk | undefined {
  const bytes = packed.buffer;
  const base = packed.byteOffset;
  const end = packed.byteLength;
  const view = new DataView(bytes, base, end);
  const out: SnapshotChunk = [];
  let at = 0;
  while (at < end) {
    if (at + LENGTH_BYTES > end) return undefined;
    const kStart = at + LENGTH_BYTES;
    const kEnd = kStart + view.getUint32(at);
    if (kEnd + LENGTH_BYTES > end) return undefined;
    const vStart = kEnd + LENGTH_BYTES;
    const vEnd = vStart + view.getUint32(kEnd);
    if (vEnd > end) return undefined;
    out.push([Buffer.from(bytes, base + kStart, kEnd - kStart), Buffer.from(bytes, base + vStart, vEnd - vStart)]);
    at = vEnd;
  }
  return out;
}

/**
 * A packed chunk cut at entry boundaries into pieces of at most `bytesMax` key and value bytes
 * (at least one entry each; a throttled copy sends one piece per wait, snapshot-throttle.ts), as
 * views of `chunk.packed` (no copy). Counts are the chunk's own when it is one piece.
 */
export function splitPackedChunk(chunk: PackedSnapshotChunk, bytesMax: number): PackedSnapshotChunk[] {
  if (!Number.isFinite(bytesMax) || chunk.bytes <= bytesMax) return [chunk];
  const p = chunk.packed;
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const out: PackedSnapshotChunk[] = [];
  let start = 0;
  let at = 0;
  let entries = 0;
  let bytes = 0;
  while (at < p.length) {
    const klen = view.getUint32(at);
    const vlen = view.getUint32(at + LENGTH_BYTES + klen);
    const n = klen + vlen;
    if (entries > 0 && bytes + n > bytesMax) {
      out.push({ packed: p.subarray(start, at), entries, bytes });
      start = at;
      entries = 0;
      bytes = 0;
    }
    at += 2 * LENGTH_BYTES + n;
    entries++;
    bytes += n;
  }
  if (entries > 0) out.push({ packed: p.subarray(start, at), entries, bytes });
  return out;
}

/**
 * A received packed chunk checked whole (every length within its bytes) and counted, without a
 * view per part: what a load passes on to the snapshot thread as it came; undefined when it is
 * not one.
 */
export function measurePackedChunk(packed: Uint8Array): PackedSnapshotChunk | undefined {
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  const end = packed.byteLength;
  let at = 0;
  let entries = 0;
  let bytes = 0;
  while (at < end) {
    if (at + LENGTH_BYTES > end) return undefined;
    const kEnd = at + LENGTH_BYTES + view.getUint32(at);
    if (kEnd + LENGTH_BYTES > end) return undefined;
    const vEnd = kEnd + LENGTH_BYTES + view.getUint32(kEnd);
    if (vEnd > end) return undefined;
    bytes += vEnd - at - 2 * LENGTH_BYTES;
    entries++;
    at = vEnd;
  }
  return { packed: Buffer.isBuffer(packed) ? packed : Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength), entries, bytes };
}
