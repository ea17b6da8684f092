/**
 * One partition replica on an abstract-level database: a whole LevelDB (classic-level on disk,
 * memory-level in tests) or the replica's key range in the tablet's shared LevelDB (a sublevel,
 * tablet-store.ts). The public face of the package: create/open, writes, reads with the commit
 * point, the binlog, snapshots and maintenance. The state and the serial committer are in
 * core.ts, snapshots in snapshot.ts, GC and checksums in maintenance.ts.
 *
 * Invariant: every change is one atomic batch holding its binlog entries, their row changes and
 * the new state (offset, record_cnt, memused). A crash never leaves a row without its binlog
 * entry or the reverse, and `offset` always equals the last binlog entry applied.
 */
import {
  decodeStored, encode, LIMITS, planIndexes, TesseraError, validateSchema,
  type TableSchema, type TtlDef,
} from '@tessera/common';
import {
  BINLOG_END, BINLOG_START, binlogKey, indexPrefix, META_INFO, META_ROLE, META_STATE, offsetOfBinlogKey,
  parseRowKey, prefixEnd, PURGE_END, PURGE_START, purgeKey, ROW_END, ROW_START, rowKeyPrefix,
} from './keys.js';
import { deletedAt, deletedBy } from './row-value.js';
import { decodeEntry, encodeEntry, type BinlogEntry } from './binlog.js';
import { isExpired } from './ttl.js';
import { keyRowsStart, readKeyRows, rowValues, type KeyRowsQuery, type StoredRow } from './row-read.js';
import { ReplicaCore } from './core.js';
import { FALLBACK, readHeadRows } from './heads.js';
import { loadSnapshotInto, packedSnapshotStream, snapshotSourceOf, snapshotStream } from './snapshot.js';
import { snapshotThreadFor } from './snapshot-worker.js';
import { checksumAt, contentChecksum, gcExpired, type ChecksumAtOffset } from './maintenance.js';
export type { ChecksumAtOffset } from './maintenance.js';
export { RowDigest } from './maintenance.js';
import type { Level, LoadedChecksum, PutRow, ReplicaCounters, ReplicaInfo, ReplicaRoleRecord, PackedSnapshotChunk, SnapshotChunk, SnapshotDigest, SnapshotHeader } from './store-types.js';

export type { Level, LoadedChecksum, PutRow, ReplicaCounters, ReplicaInfo, ReplicaRoleRecord, PackedSnapshotChunk, SnapshotChunk, SnapshotDigest, SnapshotHeader } from './store-types.js';
export type { StoredRow } from './row-read.js';

const NOW = (): number => Date.now();

/**
 * Binlog entries one step of a truncation frees (truncateBinlog): each step is one item of the
 * replica's queue, so the writes queued meanwhile go between steps (~5 ms a step here, against
 * 80–150 ms for the 150,000 entries a retention pass frees during a fast load).
 */
const TRUNCATE_STEP_ENTRIES = 8192;

export class ReplicaStore {
  private readonly core: ReplicaCore;

  private constructor(db: Level, info: ReplicaInfo, counters: ReplicaCounters, role: ReplicaRoleRecord) {
    this.core = new ReplicaCore(db, info, counters, role);
  }

  /** Creates a new replica in an empty database. */
  static async create(db: Level, info: ReplicaInfo): Promise<ReplicaStore> {
    const schema = validateSchema(info.schema);
    if (schema.indexes.length > 255) throw new TesseraError('LIMIT_EXCEEDED', 'more than 255 indexes');
    await db.open();
    if ((await db.get(META_INFO)) !== undefined) {
      throw new TesseraError('TABLE_EXISTS', `replica ${info.tid}_${info.pid} already exists`);
    }
    const clean: ReplicaInfo = { tid: info.tid, pid: info.pid, schema, compressType: info.compressType };
    const counters: ReplicaCounters = { offset: 0, recordCnt: 0, memUsed: 0, heads: true };
    const role: ReplicaRoleRecord = { role: 'none', term: 0 };
    await db.batch([
      { type: 'put', key: META_INFO, value: encode(clean) },
      { type: 'put', key: META_STATE, value: encode(counters) },
      { type: 'put', key: META_ROLE, value: encode(role) },
    ]);
    return new ReplicaStore(db, clean, counters, role);
  }

  /** Opens a replica that exists in the database; undefined when the database holds none. */
  static async open(db: Level): Promise<ReplicaStore | undefined> {
    await db.open();
    const infoBytes = await db.get(META_INFO);
    if (infoBytes === undefined) return undefined;
    const info = decodeStored(infoBytes) as ReplicaInfo;
    const stateBytes = await db.get(META_STATE);
    const roleBytes = await db.get(META_ROLE);
    if (stateBytes === undefined || roleBytes === undefined) {
      throw new TesseraError('STORAGE_CORRUPTION', `replica ${info.tid}_${info.pid} has no state record`);
    }
    return new ReplicaStore(db, info, decodeStored(stateBytes) as ReplicaCounters, decodeStored(roleBytes) as ReplicaRoleRecord);
  }

  /** What the replica is (schema as last set by setTtl). */
  get info(): ReplicaInfo {
    return this.core.info;
  }

  get offset(): number {
    return this.core.counters.offset;
  }

  get recordCnt(): number {
    return this.core.counters.recordCnt;
  }

  get memUsed(): number {
    return this.core.counters.memUsed;
  }

  /** True while (or after an interrupted) snapshot load: the content must be rebuilt. */
  get incomplete(): boolean {
    return this.core.counters.incomplete === true;
  }

  /** Term of the binlog entry at `offset`; undefined when it is not retained (or offset 0). */
  async termAt(offset: number): Promise<number | undefined> {
    if (offset <= 0) return undefined;
    const cached = this.core.tail.at(offset);
    if (cached !== undefined) return cached.term;
    const v = await this.core.db.get(binlogKey(offset));
    if (v !== undefined) return (decodeStored(v) as number[])[0];
    const base = this.core.counters.base;
    return base && base.offset === offset ? base.term : undefined;
  }

  get role(): ReplicaRoleRecord {
    return { ...this.core.roleRecord };
  }

  get schema(): TableSchema {
    return this.core.info.schema;
  }

  /**
   * Changes the TTL of indexes (setttl): reads and GC apply it from now on; rows already gone
   * stay gone. The schema is stored again, so a restart keeps it. Unknown index names are refused.
   */
  async setTtl(ttlByIndex: ReadonlyMap<string, TtlDef>): Promise<void> {
    for (const name of ttlByIndex.keys()) {
      if (!this.core.info.schema.indexes.some((x) => x.name === name)) throw new TesseraError('INVALID_ARGUMENT', `index ${name} does not exist in table ${this.core.info.schema.name}`, { index: name });
    }
    const schema = validateSchema({ ...this.core.info.schema, indexes: this.core.info.schema.indexes.map((x) => (ttlByIndex.has(x.name) ? { ...x, ttl: { ...ttlByIndex.get(x.name)! } } : x)) });
    const info: ReplicaInfo = { ...this.core.info, schema };
    await this.core.db.put(META_INFO, encode(info));
    this.core.info = info;
    this.core.plans = planIndexes(schema);
  }

  // ------------------------------------------------------------------ writes

  /** Appends puts as the leader, each its own binlog entry in the current term. */
  put(rows: PutRow[]): Promise<{ firstOffset: number; lastOffset: number }> {
    for (const r of rows) {
      if (!Number.isSafeInteger(r.ts) || r.ts < 0) throw new TesseraError('INVALID_ARGUMENT', `row time must be a non-negative integer, got ${String(r.ts)}`);
      if (r.dims !== undefined) this.core.checkDims(r.dims);
    }
    return this.core.enqueue({ kind: 'put', rows }) as Promise<{ firstOffset: number; lastOffset: number }>;
  }

  /**
   * Deletes every row of `key` in index `indexNo` (from every index), as one binlog entry, as the
   * leader: versioned (row-value.ts) — reads at a point below the delete's offset still see the
   * rows, reads at or after it do not; `purgeDeletes` removes the entries once it is committed.
   */
  delete(indexNo: number, key: string, writeId?: string): Promise<{ offset: number; deleted: number }> {
    this.core.checkIndex(indexNo);
    return this.core.exclusive('delete', async () => {
      const offset = this.core.counters.offset + 1;
      const entry: BinlogEntry = { offset, term: this.core.roleRecord.term, kind: 'delete', indexNo, key };
      if (writeId !== undefined) entry.writeId = writeId;
      const batch = this.core.db.batch();
      const counters = { ...this.core.counters };
      const deleted = await this.core.applyDelete(batch, entry, counters, true);
      const encoded = encodeEntry(entry);
      batch.put(binlogKey(offset), encoded);
      counters.offset = offset;
      batch.put(META_STATE, encode(counters));
      await batch.write();
      this.core.counters = counters;
      this.core.tail.push(entry, encoded.length);
      return { offset, deleted };
    });
  }

  /**
   * Removes for good the entries of deletes at offsets ≤ `upToOffset` (call it with a committed
   * offset: no read below it is served any more). Idempotent; returns the entries removed.
   */
  purgeDeletes(upToOffset: number): Promise<number> {
    return this.core.exclusive('purge', async () => {
      const db = this.core.db;
      const lt = Number.isFinite(upToOffset) ? purgeKey(Math.max(0, upToOffset) + 1) : PURGE_END;
      let removed = 0;
      for await (const [k, v] of db.iterator({ gte: PURGE_START, lt })) {
        const at = offsetOfBinlogKey(k);
        const batch = db.batch();
        for (const raw of decodeStored(v) as Uint8Array[]) {
          const rk = Buffer.from(raw);
          const entry = await db.get(rk);
          if (entry !== undefined && deletedAt(entry) === at) {
            batch.del(rk);
            removed++;
          }
        }
        batch.del(k);
        await batch.write();
      }
      return removed;
    });
  }

  /**
   * Applies entries replicated from the leader. They must start right after this replica's
   * offset (OFFSET_GAP otherwise, with the offset to resend from); entries at or below the
   * offset are skipped as already applied.
   */
  appendReplicated(entries: BinlogEntry[]): Promise<number> {
    return this.core.enqueue({ kind: 'replicated', entries }) as Promise<number>;
  }

  /** Sets role and term (persisted). A lower term is refused: STALE_TERM. */
  setRole(role: ReplicaRoleRecord['role'], term: number): Promise<void> {
    return this.core.exclusive('role', async () => {
      if (term < this.core.roleRecord.term) {
        throw new TesseraError('STALE_TERM', `term ${term} is lower than replica term ${this.core.roleRecord.term}`, { term: this.core.roleRecord.term });
      }
      const next = { role, term };
      await this.core.db.put(META_ROLE, encode(next));
      this.core.roleRecord = next;
    }) as Promise<void>;
  }

  // ------------------------------------------------------------------ reads

  /**
   * Newest live row of `key` with ts ≤ `ts` (latest when ts is absent or 0). Reads take a
   * `maxOffset`: rows written by a later binlog entry are not seen (a leader passes its commit
   * point, so nothing its followers may not have is ever read). As one get of `getMany`.
   */
  async get(indexNo: number, key: string, ts?: number, nowMs: number = NOW(), maxOffset = Infinity): Promise<StoredRow | undefined> {
    const [r] = await this.getMany([{ indexNo, key, ts }], nowMs, maxOffset);
    if (r instanceof TesseraError) throw r;
    return r;
  }

  /**
   * Live rows of `key` with et < ts ≤ st, newest first, at most `limit`. st ≤ 0 means no upper
   * bound; et < 0 means no lower bound.
   */
  async scan(indexNo: number, key: string, st: number, et: number, limit: number, nowMs: number = NOW(), maxOffset = Infinity): Promise<StoredRow[]> {
    const q = this.keyQuery(indexNo, key, st, et, limit, nowMs, maxOffset);
    const { prefix, start } = keyRowsStart(q);
    const it = this.core.db.iterator({ gte: start, lt: prefixEnd(prefix) });
    try {
      return await readKeyRows(it, q, false);
    } finally {
      await it.close();
    }
  }

  /**
   * Several gets (as `get`), at one read point: from their keys' heads when those settle them
   * (heads.ts: exact keys, two reads for all), the others on one iterator, one seek each. A get
   * that is refused (a bad index) is its error in the result.
   */
  async getMany(gets: Array<{ indexNo: number; key: string; ts?: number | undefined }>, nowMs: number = NOW(), maxOffset = Infinity): Promise<Array<StoredRow | undefined | TesseraError>> {
    const out: Array<StoredRow | undefined | TesseraError> = new Array(gets.length);
    const asked: number[] = [];
    const qs: KeyRowsQuery[] = [];
    gets.forEach((g, i) => {
      try {
        qs.push(this.keyQuery(g.indexNo, g.key, g.ts && g.ts > 0 ? g.ts : 0, -1, 1, nowMs, maxOffset));
        asked.push(i);
      } catch (err) {
        out[i] = err as TesseraError;
      }
    });
    const fromHeads = this.core.counters.heads && qs.length > 0 ? await readHeadRows(this.core.db, qs) : undefined;
    const seeks: Array<[number, KeyRowsQuery]> = [];
    qs.forEach((q, j) => {
      const r = fromHeads ? fromHeads[j] : FALLBACK;
      if (r === FALLBACK) seeks.push([asked[j]!, q]);
      else out[asked[j]!] = r;
    });
    if (seeks.length === 0) return out;
    const it = this.core.db.iterator({ gte: ROW_START, lt: ROW_END });
    try {
      for (const [i, q] of seeks) out[i] = (await readKeyRows(it, q, true))[0];
    } finally {
      await it.close();
    }
    return out;
  }

  private keyQuery(indexNo: number, key: string, st: number, et: number, limit: number, nowMs: number, maxOffset: number): KeyRowsQuery {
    this.core.checkIndex(indexNo);
    const limitRows = Math.min(Math.max(1, limit), LIMITS.scanRowsMax);
    return { indexNo, plan: this.core.plans[indexNo]!, key, st, et, limitRows, nowMs, maxOffset };
  }

  /** Number of live rows of `key` in an index. */
  async count(indexNo: number, key: string, nowMs: number = NOW(), maxOffset = Infinity): Promise<number> {
    this.core.checkIndex(indexNo);
    const plan = this.core.plans[indexNo]!;
    const prefix = rowKeyPrefix(indexNo, Buffer.from(key, 'utf8'));
    let n = 0;
    let position = 0;
    for await (const [k, v] of this.core.db.iterator({ gte: prefix, lt: prefixEnd(prefix) })) {
      const parsed = parseRowKey(k);
      if (parsed.offset > maxOffset || deletedBy(v, maxOffset)) continue;
      if (!isExpired(plan.ttl, parsed.ts, position++, nowMs)) n++;
    }
    return n;
  }

  /** The first `limit` live rows of index 0, across keys. */
  async preview(limit: number, nowMs: number = NOW()): Promise<StoredRow[]> {
    const limitRows = Math.min(Math.max(1, limit), LIMITS.previewRowsMax);
    const out: StoredRow[] = [];
    for await (const [, v, ts] of this.core.liveRows(indexPrefix(0), nowMs)) {
      out.push({ ts, values: rowValues(v) });
      if (out.length >= limitRows) break;
    }
    return out;
  }

  // ------------------------------------------------------------------ binlog

  /** Binlog entries from `fromOffset` on, bounded by count and bytes. */
  async readBinlog(fromOffset: number, entriesMax: number, bytesMax: number): Promise<BinlogEntry[]> {
    const cached = this.core.tail.read(fromOffset, entriesMax, bytesMax);
    if (cached !== undefined) return cached;
    const out: BinlogEntry[] = [];
    let bytes = 0;
    const it = this.core.db.iterator({ gte: binlogKey(Math.max(fromOffset, 0)), lt: BINLOG_END, limit: entriesMax });
    try {
      for (;;) {
        const chunk = await it.nextv(Math.min(entriesMax, 512));
        if (chunk.length === 0) break;
        for (const [k, v] of chunk) {
          out.push(decodeEntry(offsetOfBinlogKey(k), v));
          bytes += v.length;
          if (out.length >= entriesMax || bytes >= bytesMax) return out;
        }
      }
    } finally {
      await it.close();
    }
    return out;
  }

  /** firstBinlogOffset() without I/O: known once it was read and until the binlog's start moves. */
  get firstBinlogOffsetKnown(): number | undefined {
    return this.core.firstBinlogOffsetCache;
  }

  /** The oldest offset still in the binlog (offset + 1 when the binlog is empty). */
  async firstBinlogOffset(): Promise<number> {
    if (this.core.firstBinlogOffsetCache !== undefined) return this.core.firstBinlogOffsetCache;
    // Taken before the read: an empty binlog read while entries commit means "after the offset of
    // when the read began", not of when it answered (that took the entries committed meanwhile
    // as freed, and a new follower was sent a snapshot it did not need). Read outside the queue,
    // the answer may be older than the truth, never newer: an older one costs a read, not a row.
    const emptyFirst = this.core.counters.offset + 1;
    const it = this.core.db.keys({ gte: BINLOG_START, lt: BINLOG_END, limit: 1 });
    try {
      const k = await it.next();
      const first = k === undefined ? emptyFirst : offsetOfBinlogKey(k);
      this.core.firstBinlogOffsetCache = first;
      return first;
    } finally {
      await it.close();
    }
  }

  /** Term of the last binlog entry (0 when none): what recovery matches against term history. */
  async lastEntryTerm(): Promise<number> {
    const it = this.core.db.values({ gte: BINLOG_START, lt: BINLOG_END, reverse: true, limit: 1 });
    try {
      const v = await it.next();
      return v === undefined ? 0 : (decodeStored(v) as number[])[0]!;
    } finally {
      await it.close();
    }
  }

  /**
   * Removes binlog entries below `belowOffset` (never the rows they produced). The offset and term
   * of the newest entry removed are kept as the replica's `base` (persisted first), so `termAt`
   * still answers for it: a follower that stopped exactly there — the usual case after
   * `makesnapshot` freed the whole binlog — is matched and streams, instead of being sent a
   * snapshot it could never be matched against (issue 17; docs/replication.md, the match rule).
   */
  async truncateBinlog(belowOffset: number): Promise<void> {
    // The oldest entry, read outside the queue when not known (a read that races a truncation
    // can only answer an older entry, which a step then reads from: correct, only slower).
    if (this.core.firstBinlogOffsetCache === undefined) await this.firstBinlogOffset();
    while (!(await this.core.exclusive('truncate', () => this.truncateStep(belowOffset))));
  }

  /** One step of truncateBinlog, in the queue: frees up to TRUNCATE_STEP_ENTRIES entries; true when none is left below `belowOffset`. */
  private async truncateStep(belowOffset: number): Promise<boolean> {
    // Both reads start at the oldest entry still held when it is known: the entries freed before
    // lie below it as LevelDB tombstones until compaction drops them, and a read from the start
    // of the binlog steps over every one. After a 1,000,000-row load each retention pass took
    // 55–280 ms in this queue that way, and every write of the replica waited behind it.
    const from = this.core.firstBinlogOffsetCache;
    if (from !== undefined && from >= belowOffset) return true;
    const stepBelow = from !== undefined ? Math.min(belowOffset, from + TRUNCATE_STEP_ENTRIES) : belowOffset;
    const gte = from !== undefined ? binlogKey(from) : BINLOG_START;
    const below = binlogKey(Math.max(0, stepBelow));
    const it = this.core.db.iterator({ gte, lt: below, reverse: true, limit: 1 });
    let newest: [Buffer, Uint8Array] | undefined;
    try {
      newest = (await it.next()) as [Buffer, Uint8Array] | undefined;
    } finally {
      await it.close();
    }
    if (newest !== undefined) {
      const offset = offsetOfBinlogKey(newest[0]);
      const term = (decodeStored(newest[1]) as number[])[0]!;
      if (this.core.counters.base === undefined || this.core.counters.base.offset < offset) {
        const counters = { ...this.core.counters, base: { offset, term } };
        await this.core.db.put(META_STATE, encode(counters));
        this.core.counters = counters;
      }
    }
    await this.core.db.clear({ gte, lt: below });
    this.core.tail.dropBelow(stepBelow);
    // The binlog's offsets are contiguous: with its oldest entry known to be below stepBelow,
    // what is left starts at stepBelow, or is empty; otherwise the next firstBinlogOffset() reads it.
    this.core.firstBinlogOffsetCache = from !== undefined ? Math.min(stepBelow, this.core.counters.offset + 1) : undefined;
    return stepBelow >= belowOffset;
  }

  // ------------------------------------------------------------------ snapshots


  // ------------------------------------------------------------------ snapshots

  /**
   * Streams every live row at one consistent point (a LevelDB snapshot), with the offset that
   * point reflects. Writes go on meanwhile; the receiver catches up from the binlog after it.
   */
  snapshot(nowMs: number = NOW(), chunkBytesMax: number = 1024 * 1024): AsyncGenerator<SnapshotHeader | SnapshotChunk> {
    return snapshotStream(snapshotSourceOf(this.core), nowMs, chunkBytesMax);
  }

  /**
   * The snapshot as a copy sends it: the header, then packed chunks (snapshot-pack.ts); returns
   * the digest of every entry. Read in the tablet's snapshot read thread when its LevelDB is on
   * disk (snapshot-worker.ts), else here.
   */
  snapshotPacked(nowMs: number = NOW(), chunkBytesMax: number = 1024 * 1024): AsyncGenerator<SnapshotHeader | PackedSnapshotChunk, SnapshotDigest> {
    const thread = snapshotThreadFor(this.core.db);
    if (thread !== undefined) {
      return thread.worker.read({ range: thread.range, tid: this.core.info.tid, pid: this.core.info.pid, schema: this.core.info.schema, roleTerm: this.core.roleRecord.term }, nowMs, chunkBytesMax);
    }
    return packedSnapshotStream(snapshotSourceOf(this.core), nowMs, chunkBytesMax);
  }

  /**
   * Replaces this replica's rows and binlog with a snapshot stream (header first). The replica's
   * offset becomes the snapshot's; counters are recomputed from what arrives.
   */
  loadSnapshot(stream: AsyncIterable<SnapshotHeader | SnapshotChunk | PackedSnapshotChunk>): Promise<number> {
    return this.core.exclusive('load', () => loadSnapshotInto(this.core, stream));
  }

  /**
   * The checksum of what the last snapshot load wrote into this replica (read back from LevelDB),
   * at the snapshot's offset; undefined if no load completed since it was opened.
   */
  loadedChecksum(): LoadedChecksum | undefined {
    return this.core.loadedChecksum;
  }

  // ------------------------------------------------------------------ maintenance

  /** Removes expired rows (per index TTL). Runs in chunks so writes interleave. */
  gc(nowMs: number = NOW(), chunkKeysMax: number = 1000): Promise<{ removed: number }> {
    return gcExpired(this.core, nowMs, chunkKeysMax);
  }

  /**
   * A checksum of the live content (every live row entry of every index), equal on replicas that
   * hold the same rows, whatever their binlog or GC history.
   */
  checksum(nowMs: number = NOW()): Promise<{ rows: number; sha256: string }> {
    return contentChecksum(this.core, nowMs);
  }

  /**
   * The checksum as of binlog offset `atOffset` (this replica's own offset when undefined), TTLs
   * judged at `ttlAtMs` (maintenance.ts checksumAt): what a new replica and its leader compare.
   */
  checksumAt(atOffset: number | undefined, ttlAtMs: number): Promise<ChecksumAtOffset> {
    return checksumAt(this.core, atOffset, ttlAtMs);
  }

  /** Waits for queued changes, then closes the database (a sublevel: only its handle). */
  async close(): Promise<void> {
    if (this.core.closed) return;
    this.core.closed = true;
    await this.core.exclusive('close', async () => undefined).catch(() => undefined);
    await this.core.db.close();
  }
}
