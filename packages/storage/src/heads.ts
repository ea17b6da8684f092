/**
 * Head records (keys.ts HEAD): per key of each index, the time and offset of the key's newest
 * row, so that the gets of a request read their answers by exact keys — two `getMany` for all of
 * them, heads then rows — instead of a seek and an iterator read each (issue 11: the hand-off to
 * LevelDB's thread pool per get was half of a tablet's samples in the get phase).
 *
 * Kept only by replicas whose counters say `heads` (created since heads exist; a snapshot load
 * clears them: snapshot.ts); other replicas read by seeking, as before. The invariant, for such a replica:
 *   1. no row of the key is newer (sorts before) the row its head names, and
 *   2. a key that has a row has a head.
 * A head may name a row that is gone or not visible (deleted, purged, GC'd, written after the read
 * point): the get then falls back to the seek (`readHeadRows` answers FALLBACK). So a head is a
 * shortcut, never the only truth, and only its removal needs care: a head is removed only when
 * every row of its key is gone — a follower's delete of the key in the delete's own index (its rows
 * are removed at once, in the same batch), TTL GC removing the head's own row (expired at position
 * 0, so by its absolute part: every older row of the key is expired too, and GC removes a key's
 * expired rows in one chunk), and a snapshot load (the replica keeps none from then on).
 * A leader's delete keeps the head (reads below the delete still see the rows); once purged it
 * dangles until the key is written again.
 *
 * Writes keep (1) in the committer: a row stages its head when it is newer than the current head. A
 * row whose time is ≥ the highest row time the index ever had (`counters.headTs`, persisted with
 * the counters) is the newest without a read; otherwise the current head is read — staged by the
 * same item, by the same group commit, or stored (`getSync`).
 */
import { headKey, headValue, parseHeadValue, rowKey } from './keys.js';
import { deletedBy } from './row-value.js';
import { isExpired } from './ttl.js';
import { rowValues, type KeyRowsQuery, type StoredRow } from './row-read.js';
import type { Level, ReplicaCounters } from './store-types.js';

/** The heads staged by one group commit, item by item: an item that is refused leaves none behind. */
export class HeadStage {
  private readonly group = new Map<string, Buffer>();
  private readonly item = new Map<string, Buffer>();

  constructor(private readonly db: Level) {}

  /** The key's current head value: staged by this item, by this group, or stored. */
  current(hk: Buffer): Buffer | undefined {
    const name = hk.toString('latin1');
    return this.item.get(name) ?? this.group.get(name) ?? this.db.getSync(hk);
  }

  stage(hk: Buffer, value: Buffer): void {
    this.item.set(hk.toString('latin1'), value);
  }

  /** Ends an item: its heads join the group's when it was staged whole, else they are dropped. */
  endItem(ok: boolean): void {
    if (ok) for (const [k, v] of this.item) this.group.set(k, v);
    this.item.clear();
  }
}

/**
 * Stages the head of row (indexNo, key, ts, offset) when the row is the key's newest; `counters`
 * (the item's copy) gets the index's new highest row time.
 */
export function stageHead(staged: Array<[Buffer, Buffer]>, counters: ReplicaCounters, heads: HeadStage, indexNo: number, keyBytes: Buffer, ts: number, offset: number): void {
  const hk = headKey(indexNo, keyBytes);
  const highest = counters.headTs?.[indexNo] ?? -1;
  if (ts >= highest) {
    const next = counters.headTs ? [...counters.headTs] : [];
    while (next.length <= indexNo) next.push(-1);
    next[indexNo] = ts;
    counters.headTs = next;
  } else {
    const cur = heads.current(hk);
    if (cur !== undefined) {
      const h = parseHeadValue(cur);
      if (h.ts > ts || (h.ts === ts && h.offset > offset)) return;
    }
  }
  const v = headValue(ts, offset);
  staged.push([hk, v]);
  heads.stage(hk, v);
}

/** What `readHeadRow` answers when the head does not settle the get: read by seeking. */
export const FALLBACK = Symbol('fall back to the seek');

/**
 * Gets from their keys' heads — each the newest live row of (indexNo, key) with ts ≤ st (st ≤ 0:
 * no bound) at read point `maxOffset` — by exact keys: one `getMany` for the heads, one for the
 * rows they name (a hand-off to LevelDB's thread each, for all the gets together). Each answer is
 * the row, undefined (the key has no row), or FALLBACK.
 */
export async function readHeadRows(db: Level, qs: KeyRowsQuery[]): Promise<Array<StoredRow | undefined | typeof FALLBACK>> {
  const keys = qs.map((q) => Buffer.from(q.key, 'utf8'));
  const heads = await db.getMany(qs.map((q, j) => headKey(q.indexNo, keys[j]!)));
  const out: Array<StoredRow | undefined | typeof FALLBACK> = new Array(qs.length);
  const named: Array<{ j: number; ts: number }> = [];
  const rowKeys: Buffer[] = [];
  qs.forEach((q, j) => {
    const hv = heads[j];
    if (hv === undefined) {
      out[j] = undefined;
      return;
    }
    const { ts, offset } = parseHeadValue(hv);
    if (offset > q.maxOffset || (q.st > 0 && ts > q.st) || isExpired(q.plan.ttl, ts, 0, q.nowMs)) {
      out[j] = FALLBACK;
      return;
    }
    named.push({ j, ts });
    rowKeys.push(rowKey(q.indexNo, keys[j]!, ts, offset));
  });
  if (rowKeys.length === 0) return out;
  const values = await db.getMany(rowKeys);
  named.forEach(({ j, ts }, n) => {
    const v = values[n];
    out[j] = v === undefined || deletedBy(v, qs[j]!.maxOffset) ? FALLBACK : { ts, values: rowValues(v) };
  });
  return out;
}
