/**
 * Reading the rows of one key of one index from a LevelDB iterator, newest first, with the
 * bounds, TTL and commit-point filter of `ReplicaStore.scan` (rows written after the read point are
 * not seen, rows deleted at or before it are not either). The iterator is either limited to
 * the key's rows (a scan) or shared by several reads (`ReplicaStore.getMany`: one iterator, one
 * seek per key, rows of other keys ended by the prefix check), which saves creating and closing
 * an iterator per get.
 */
import type { IndexPlan, Value } from '@tessera/common';
import { decodeStored } from '@tessera/common';
import { parseRowKey, rowKeyPrefix, rowSeekKey } from './keys.js';
import { isExpired, needsPosition } from './ttl.js';
import { deletedBy, liveBytes } from './row-value.js';
import { SCAN_CHUNK_ROWS } from './row-walk.js';

/** A row as read back: its time in the index read, and its values in column order. */
export interface StoredRow {
  ts: number;
  values: Value[];
}

export interface KeyRowsQuery {
  indexNo: number;
  plan: IndexPlan;
  key: string;
  /** Rows with et < ts ≤ st; st ≤ 0: no upper bound; et < 0: no lower bound. */
  st: number;
  et: number;
  limitRows: number;
  nowMs: number;
  /** Rows written by a later binlog entry are not seen. */
  maxOffset: number;
}

/** What `readKeyRows` needs of an iterator (abstract-level's). */
export interface RowIterator {
  nextv(size: number): Promise<Array<[Buffer, Buffer]>>;
  seek(target: Buffer): void;
}

/** The key's prefix and the key the read starts at (the first row with ts ≤ st when positions need not be counted). */
export function keyRowsStart(q: KeyRowsQuery): { prefix: Buffer; start: Buffer } {
  const keyBytes = Buffer.from(q.key, 'utf8');
  const prefix = rowKeyPrefix(q.indexNo, keyBytes);
  const start = !needsPosition(q.plan.ttl) && q.st > 0 ? rowSeekKey(q.indexNo, keyBytes, q.st) : prefix;
  return { prefix, start };
}

/**
 * Reads the key's live rows. `shared`: the iterator is positioned here with a seek and may hold
 * other keys' rows after this key's (they end the read).
 */
export async function readKeyRows(it: RowIterator, q: KeyRowsQuery, shared: boolean): Promise<StoredRow[]> {
  const { plan, st, et, limitRows, nowMs, maxOffset } = q;
  const countPositions = needsPosition(plan.ttl);
  const { prefix, start } = keyRowsStart(q);
  if (shared) it.seek(start);
  const out: StoredRow[] = [];
  let position = 0;
  // Read small first and grow: a get wants one entry, and every entry read costs a copy.
  let chunkRows = countPositions ? Math.min(SCAN_CHUNK_ROWS, plan.ttl.latest + 1) : Math.min(limitRows, 16);
  for (;;) {
    const chunk = await it.nextv(chunkRows);
    chunkRows = Math.min(SCAN_CHUNK_ROWS, chunkRows * 4);
    if (chunk.length === 0) break;
    for (const [k, v] of chunk) {
      if (shared && (k.length < prefix.length || k.compare(prefix, 0, prefix.length, 0, prefix.length) !== 0)) return out;
      const parsed = parseRowKey(k);
      if (parsed.offset > maxOffset || deletedBy(v, maxOffset)) continue;
      const pos = position++;
      if (st > 0 && parsed.ts > st) continue;
      if (parsed.ts <= et) return out;
      if (isExpired(plan.ttl, parsed.ts, pos, nowMs)) {
        if (plan.ttl.type === 'latest' || plan.ttl.type === 'absorlat') {
          // Every older row of this key is expired too.
          if (pos >= plan.ttl.latest && plan.ttl.latest > 0) return out;
        }
        continue;
      }
      out.push({ ts: parsed.ts, values: rowValues(v) });
      if (out.length >= limitRows) return out;
    }
  }
  return out;
}

export function rowValues(v: Buffer): Value[] {
  const a = decodeStored(liveBytes(v)) as Value[];
  return a.slice(1);
}
