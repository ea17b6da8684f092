/**
 * Maintenance of one replica's rows: TTL garbage collection in chunks (each chunk one exclusive
 * step of the replica's queue, so writes interleave) and the content checksums replicas compare
 * (now, or as of one binlog offset).
 */
import { createHash } from 'node:crypto';
import { decodeStored, encode } from '@tessera/common';
import { binlogKey, headKey, indexPrefix, META_STATE, offsetOfBinlogKey, parseHeadValue, parseRowKey, purgeKey, prefixEnd, ROW_START } from './keys.js';
import { isExpired } from './ttl.js';
import { decodeEntry } from './binlog.js';
import type { ReplicaCore } from './core.js';
import { walkRows } from './row-walk.js';
import type { Level, ReplicaCounters } from './store-types.js';

/** Removes expired rows (per index TTL). Runs in chunks so writes interleave. */
export async function gcExpired(core: ReplicaCore, nowMs: number, chunkKeysMax: number): Promise<{ removed: number }> {
  let removed = 0;
  for (let indexNo = 0; indexNo < core.plans.length; indexNo++) {
    const plan = core.plans[indexNo]!;
    if (plan.ttl.absMinutes === 0 && plan.ttl.latest === 0) continue;
    let from: Buffer = indexPrefix(indexNo);
    const end = prefixEnd(indexPrefix(indexNo));
    for (;;) {
      const step = await core.exclusive('gc', () => gcChunk(core, indexNo, from, end, nowMs, chunkKeysMax));
      removed += step.removed;
      if (!step.next) break;
      from = step.next;
    }
  }
  return { removed };
}

async function gcChunk(core: ReplicaCore, indexNo: number, from: Buffer, end: Buffer, nowMs: number, chunkKeysMax: number): Promise<{ removed: number; next?: Buffer }> {
  const plan = core.plans[indexNo]!;
  const batch = core.db.batch();
  const counters = { ...core.counters };
  let removed = 0;
  let keysSeen = 0;
  for await (const r of walkRows(core.db, { gte: from, lt: end })) {
    if (r.groupStart) {
      if (keysSeen >= chunkKeysMax) {
        await writeGc(core, batch, counters, removed);
        return { removed, next: Buffer.from(r.key.subarray(0, r.prefixLength)) };
      }
      keysSeen++;
    }
    if (!r.live) continue; // deleted: removed by purgeDeletes once committed
    if (isExpired(plan.ttl, r.ts, r.position, nowMs)) {
      batch.del(r.key);
      removed++;
      if (r.groupStart && core.counters.heads) dropHeadOf(core.db, batch, r.key);
      if (indexNo === 0) {
        counters.recordCnt--;
        counters.memUsed -= r.prefixLength + r.value.length;
      }
    }
  }
  await writeGc(core, batch, counters, removed);
  return { removed };
}

/**
 * GC removes the key's newest row (expired at position 0: by its absolute part, so every older
 * row of the key is expired and goes in the same chunk): its head goes too (heads.ts), when it
 * names that row.
 */
function dropHeadOf(db: Level, batch: ReturnType<Level['batch']>, rk: Buffer): void {
  const { indexNo, key, ts, offset } = parseRowKey(rk);
  const hk = headKey(indexNo, key);
  const hv = db.getSync(hk);
  if (hv === undefined) return;
  const h = parseHeadValue(hv);
  if (h.ts === ts && h.offset === offset) batch.del(hk);
}

async function writeGc(core: ReplicaCore, batch: ReturnType<Level['batch']>, counters: ReplicaCounters, removed: number): Promise<void> {
  if (removed === 0) {
    await batch.close();
    return;
  }
  batch.put(META_STATE, encode(counters));
  await batch.write();
  core.counters = counters;
}

/**
 * A checksum of the live content (every live row entry of every index), equal on replicas that
 * hold the same rows, whatever their binlog or GC history.
 */
export async function contentChecksum(core: ReplicaCore, nowMs: number): Promise<{ rows: number; sha256: string }> {
  return hashRows(core.liveRowBatches(ROW_START, nowMs, undefined, undefined, BULK_READ_ROWS));
}

/** Entries a checksum scan reads from LevelDB at a time. */
const BULK_READ_ROWS = 1024;

/**
 * What a content checksum is: sha256 over every row entry's key then value, in key order, and the
 * entries counted. A leader digests the snapshot it sends with it and the new replica what it
 * wrote (snapshot.ts), so the two compare with each other as with checksumAt's.
 */
export class RowDigest {
  private readonly hash = createHash('sha256');
  private entries = 0;

  add(key: Uint8Array, value: Uint8Array): void {
    this.hash.update(key);
    this.hash.update(value);
    this.entries++;
  }

  result(): { rows: number; sha256: string } {
    return { rows: this.entries, sha256: this.hash.digest('hex') };
  }
}

async function hashRows(batches: AsyncIterable<Array<[Buffer, Buffer, number]>>): Promise<{ rows: number; sha256: string }> {
  const digest = new RowDigest();
  for await (const rows of batches) for (const [k, v] of rows) digest.add(k, v);
  return digest.result();
}

/** The content checksum of a replica as of one binlog offset (`checksumAt`), or why it cannot be taken. */
export type ChecksumAtOffset =
  | { ok: true; offset: number; rows: number; sha256: string }
  /** `behind`: the replica has not reached the offset yet; `inconclusive`: its content at the offset is not known exactly. */
  | { ok: false; reason: 'behind' | 'inconclusive'; offset: number; detail: string };

/**
 * The checksum of the content as it was at binlog offset `atOffset` (the replica's own offset
 * when undefined), from one LevelDB snapshot whose counters record the offset it reflects. Rows
 * written after the offset are left out and rows a later delete tombstoned count as live, so a
 * leader ahead of a follower sums the follower's content exactly — unless a delete after the
 * offset already removed rows for good (a follower applies deletes at once; a leader purges
 * them once committed): such a delete between the offset and the snapshot makes the answer
 * `inconclusive`, and the caller takes another point. TTLs are judged at `ttlAtMs` on both
 * sides, so a GC run before that time removed only rows both leave out.
 */
export async function checksumAt(core: ReplicaCore, atOffset: number | undefined, ttlAtMs: number): Promise<ChecksumAtOffset> {
  const snapshot = core.db.snapshot();
  try {
    const stateBytes = await core.db.get(META_STATE, { snapshot });
    const state = stateBytes === undefined ? undefined : (decodeStored(stateBytes) as ReplicaCounters);
    if (state === undefined || state.incomplete === true) return { ok: false, reason: 'inconclusive', offset: state?.offset ?? 0, detail: 'the replica is being loaded' };
    const at = atOffset ?? state.offset;
    if (at > state.offset) return { ok: false, reason: 'behind', offset: state.offset, detail: `the replica is at offset ${state.offset}, below ${at}` };
    if (at < state.offset) {
      const gap = await deleteAfter(core, snapshot, at, state.offset);
      if (gap !== undefined) return { ok: false, reason: 'inconclusive', offset: state.offset, detail: gap };
    }
    return { ok: true, offset: at, ...(await hashRows(core.liveRowBatches(ROW_START, ttlAtMs, snapshot, at, BULK_READ_ROWS))) };
  } finally {
    await snapshot.close();
  }
}

/** Why the binlog (from, to] of the snapshot does not show that no delete ran there, or undefined. */
async function deleteAfter(core: ReplicaCore, snapshot: ReturnType<Level['snapshot']>, from: number, to: number): Promise<string | undefined> {
  let expected = from + 1;
  for await (const [k, v] of core.db.iterator({ gte: binlogKey(from + 1), lte: binlogKey(to), snapshot })) {
    const offset = offsetOfBinlogKey(k);
    if (offset !== expected) return `binlog entries ${expected}..${offset - 1} are gone`;
    // A leader's delete keeps its rows as tombstones, listed under its purge key, until it is
    // committed; without that key (purged, or a follower's delete) the rows may be gone for good.
    if (decodeEntry(offset, v).kind === 'delete' && (await core.db.get(purgeKey(offset), { snapshot })) === undefined) {
      return `the rows of the delete at offset ${offset} (after offset ${from}) are gone`;
    }
    expected++;
  }
  return expected === to + 1 ? undefined : `binlog entries ${expected}..${to} are gone`;
}
