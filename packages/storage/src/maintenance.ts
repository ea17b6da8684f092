/**
 * Maintenance of one replica's rows: TTL garbage collection in chunks (each chunk one exclusive
 * step of the replica's queue, so writes interleave) and the content checksum replicas compare.
 */
import { createHash } from 'node:crypto';
import { encode } from '@tessera/common';
import { indexPrefix, META_STATE, parseRowKey, prefixEnd, ROW_START, rowKeyPrefixLength } from './keys.js';
import { isExpired } from './ttl.js';
import { deletedAt } from './row-value.js';
import { SCAN_CHUNK_ROWS, type ReplicaCore } from './core.js';
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
      const step = await core.exclusive(() => gcChunk(core, indexNo, from, end, nowMs, chunkKeysMax));
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
  let currentPrefix: Buffer | undefined;
  let position = 0;
  const it = core.db.iterator({ gte: from, lt: end });
  try {
    for (;;) {
      const chunk = await it.nextv(SCAN_CHUNK_ROWS);
      if (chunk.length === 0) break;
      for (const [k, v] of chunk) {
        const plen = rowKeyPrefixLength(k);
        if (!currentPrefix || currentPrefix.length !== plen || k.compare(currentPrefix, 0, plen, 0, plen) !== 0) {
          if (keysSeen >= chunkKeysMax) {
            await writeGc(core, batch, counters, removed);
            return { removed, next: Buffer.from(k.subarray(0, plen)) };
          }
          currentPrefix = Buffer.from(k.subarray(0, plen));
          position = 0;
          keysSeen++;
        }
        if (deletedAt(v) !== undefined) continue; // deleted: removed by purgeDeletes once committed
        const parsed = parseRowKey(k);
        if (isExpired(plan.ttl, parsed.ts, position++, nowMs)) {
          batch.del(k);
          removed++;
          if (indexNo === 0) {
            counters.recordCnt--;
            counters.memUsed -= plen + v.length;
          }
        }
      }
    }
  } finally {
    await it.close();
  }
  await writeGc(core, batch, counters, removed);
  return { removed };
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
  const h = createHash('sha256');
  let rows = 0;
  for await (const [k, v] of core.liveRows(ROW_START, nowMs)) {
    h.update(k);
    h.update(v);
    rows++;
  }
  return { rows, sha256: h.digest('hex') };
}
