/**
 * One partition replica on an abstract-level database (classic-level on disk, memory-level in
 * tests). Owns: rows per index, the binlog, the replica's offset and counters, TTL filtering and
 * GC, consistent snapshots, and content checksums.
 *
 * Invariant: every change is one atomic batch holding its binlog entries, their row changes and
 * the new state (offset, record_cnt, memused). A crash never leaves a row without its binlog
 * entry or the reverse, and `offset` always equals the last binlog entry applied.
 *
 * All writes go through one serial committer that groups concurrent puts into one batch (group
 * commit); deletes, GC, snapshot loads and binlog truncation run exclusively in the same queue,
 * so counters never race.
 */
import { createHash } from 'node:crypto';
import type { AbstractLevel } from 'abstract-level';
import {
  decodeStored, encode, indexKey, LIMITS, planIndexes, rowTime, TesseraError, validateSchema,
  type CompressType, type IndexPlan, type TableSchema, type TtlDef, type Value,
} from '@tessera/common';
import {
  BINLOG_END, BINLOG_START, binlogKey, indexPrefix, META_INFO, META_ROLE, META_STATE, offsetOfBinlogKey,
  parseRowKey, prefixEnd, ROW_END, ROW_START, rowKey, rowKeyPrefix, rowKeyPrefixLength,
} from './keys.js';
import { decodeEntry, encodeEntry, type BinlogEntry } from './binlog.js';
import { BinlogTail } from './binlog-tail.js';
import { isExpired } from './ttl.js';
import { keyRowsStart, readKeyRows, rowValues, type KeyRowsQuery, type StoredRow } from './row-read.js';

export type Level = AbstractLevel<Buffer | Uint8Array | string, Buffer, Buffer>;

/** What a replica is: fixed at creation. */
export interface ReplicaInfo {
  tid: number;
  pid: number;
  schema: TableSchema;
  compressType: CompressType;
}

/** Role and term as last set by the nameserver (persisted so restarts remember them). */
export interface ReplicaRoleRecord {
  role: 'leader' | 'follower' | 'none';
  term: number;
}

export interface ReplicaCounters {
  offset: number;
  recordCnt: number;
  memUsed: number;
  /** Set while a snapshot load is under way: the content is partial and must be rebuilt. */
  incomplete?: boolean;
  /** After a snapshot load: the offset it reflected and the term of the entry there. */
  base?: { offset: number; term: number };
}

export type { StoredRow } from './row-read.js';

export interface PutRow {
  values: Value[];
  /** The write's time, epoch ms (the row time of indexes without a ts column). */
  ts: number;
  writeId?: string;
  /** Index numbers to store the row under in this partition; absent = every index. */
  dims?: number[];
}

/** First message of a snapshot stream. */
export interface SnapshotHeader {
  tid: number;
  pid: number;
  offset: number;
  /** Term of the binlog entry at `offset` (0 when offset is 0). */
  term: number;
}

/** Raw row entries of a snapshot: [key, value] pairs. */
export type SnapshotChunk = Array<[Buffer, Buffer]>;

interface QueueItem {
  kind: 'put' | 'replicated' | 'exclusive';
  rows?: PutRow[];
  entries?: BinlogEntry[];
  fn?: () => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

const NOW = (): number => Date.now();
const SCAN_CHUNK_ROWS = 256;

export class ReplicaStore {
  info: ReplicaInfo;
  private readonly db: Level;
  private plans: IndexPlan[];
  private readonly allDims: number[];
  private counters: ReplicaCounters;
  private roleRecord: ReplicaRoleRecord;
  private readonly queue: QueueItem[] = [];
  private draining = false;
  private closed = false;
  private firstBinlogOffsetCache: number | undefined;
  /** The newest committed binlog entries, for replication reads (binlog-tail.ts). */
  private readonly tail = new BinlogTail();

  private constructor(db: Level, info: ReplicaInfo, counters: ReplicaCounters, role: ReplicaRoleRecord) {
    this.db = db;
    this.info = info;
    this.plans = planIndexes(info.schema);
    this.allDims = this.plans.map((_, i) => i);
    this.counters = counters;
    this.roleRecord = role;
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
    const counters: ReplicaCounters = { offset: 0, recordCnt: 0, memUsed: 0 };
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

  get offset(): number {
    return this.counters.offset;
  }

  get recordCnt(): number {
    return this.counters.recordCnt;
  }

  get memUsed(): number {
    return this.counters.memUsed;
  }

  /** True while (or after an interrupted) snapshot load: the content must be rebuilt. */
  get incomplete(): boolean {
    return this.counters.incomplete === true;
  }

  /** Term of the binlog entry at `offset`; undefined when it is not retained (or offset 0). */
  async termAt(offset: number): Promise<number | undefined> {
    if (offset <= 0) return undefined;
    const cached = this.tail.at(offset);
    if (cached !== undefined) return cached.term;
    const v = await this.db.get(binlogKey(offset));
    if (v !== undefined) return (decodeStored(v) as number[])[0];
    const base = this.counters.base;
    return base && base.offset === offset ? base.term : undefined;
  }

  get role(): ReplicaRoleRecord {
    return { ...this.roleRecord };
  }

  get schema(): TableSchema {
    return this.info.schema;
  }

  /**
   * Changes the TTL of indexes (setttl): reads and GC apply it from now on; rows already gone
   * stay gone. The schema is stored again, so a restart keeps it. Unknown index names are refused.
   */
  async setTtl(ttlByIndex: ReadonlyMap<string, TtlDef>): Promise<void> {
    for (const name of ttlByIndex.keys()) {
      if (!this.info.schema.indexes.some((x) => x.name === name)) throw new TesseraError('INVALID_ARGUMENT', `index ${name} does not exist in table ${this.info.schema.name}`, { index: name });
    }
    const schema = validateSchema({ ...this.info.schema, indexes: this.info.schema.indexes.map((x) => (ttlByIndex.has(x.name) ? { ...x, ttl: { ...ttlByIndex.get(x.name)! } } : x)) });
    const info: ReplicaInfo = { ...this.info, schema };
    await this.db.put(META_INFO, encode(info));
    this.info = info;
    this.plans = planIndexes(schema);
  }

  // ------------------------------------------------------------------ writes

  /** Appends puts as the leader, each its own binlog entry in the current term. */
  put(rows: PutRow[]): Promise<{ firstOffset: number; lastOffset: number }> {
    for (const r of rows) {
      if (!Number.isSafeInteger(r.ts) || r.ts < 0) throw new TesseraError('INVALID_ARGUMENT', `row time must be a non-negative integer, got ${String(r.ts)}`);
      if (r.dims !== undefined) this.checkDims(r.dims);
    }
    return this.enqueue({ kind: 'put', rows }) as Promise<{ firstOffset: number; lastOffset: number }>;
  }

  /** Deletes every row of `key` in index `indexNo` (from every index), as one binlog entry. */
  delete(indexNo: number, key: string, writeId?: string): Promise<{ offset: number; deleted: number }> {
    this.checkIndex(indexNo);
    return this.exclusive(async () => {
      const offset = this.counters.offset + 1;
      const entry: BinlogEntry = { offset, term: this.roleRecord.term, kind: 'delete', indexNo, key };
      if (writeId !== undefined) entry.writeId = writeId;
      const batch = this.db.batch();
      const counters = { ...this.counters };
      const deleted = await this.applyDelete(batch, entry, counters);
      const encoded = encodeEntry(entry);
      batch.put(binlogKey(offset), encoded);
      counters.offset = offset;
      batch.put(META_STATE, encode(counters));
      await batch.write();
      this.counters = counters;
      this.tail.push(entry, encoded.length);
      return { offset, deleted };
    });
  }

  /**
   * Applies entries replicated from the leader. They must start right after this replica's
   * offset (OFFSET_GAP otherwise, with the offset to resend from); entries at or below the
   * offset are skipped as already applied.
   */
  appendReplicated(entries: BinlogEntry[]): Promise<number> {
    return this.enqueue({ kind: 'replicated', entries }) as Promise<number>;
  }

  /** Sets role and term (persisted). A lower term is refused: STALE_TERM. */
  setRole(role: ReplicaRoleRecord['role'], term: number): Promise<void> {
    return this.exclusive(async () => {
      if (term < this.roleRecord.term) {
        throw new TesseraError('STALE_TERM', `term ${term} is lower than replica term ${this.roleRecord.term}`, { term: this.roleRecord.term });
      }
      const next = { role, term };
      await this.db.put(META_ROLE, encode(next));
      this.roleRecord = next;
    }) as Promise<void>;
  }

  // ------------------------------------------------------------------ reads

  /**
   * Newest live row of `key` with ts ≤ `ts` (latest when ts is absent or 0). Reads take a
   * `maxOffset`: rows written by a later binlog entry are not seen (a leader passes its commit
   * point, so nothing its followers may not have is ever read).
   */
  async get(indexNo: number, key: string, ts?: number, nowMs: number = NOW(), maxOffset = Infinity): Promise<StoredRow | undefined> {
    const rows = await this.scan(indexNo, key, ts && ts > 0 ? ts : 0, -1, 1, nowMs, maxOffset);
    return rows[0];
  }

  /**
   * Live rows of `key` with et < ts ≤ st, newest first, at most `limit`. st ≤ 0 means no upper
   * bound; et < 0 means no lower bound.
   */
  async scan(indexNo: number, key: string, st: number, et: number, limit: number, nowMs: number = NOW(), maxOffset = Infinity): Promise<StoredRow[]> {
    const q = this.keyQuery(indexNo, key, st, et, limit, nowMs, maxOffset);
    const { prefix, start } = keyRowsStart(q);
    const it = this.db.iterator({ gte: start, lt: prefixEnd(prefix) });
    try {
      return await readKeyRows(it, q, false);
    } finally {
      await it.close();
    }
  }

  /**
   * Several gets (as `get`) on one iterator, one seek each: every read sees the same moment, and
   * no iterator is created per get. A get that is refused (a bad index) is its error in the result.
   */
  async getMany(gets: Array<{ indexNo: number; key: string; ts?: number }>, nowMs: number = NOW(), maxOffset = Infinity): Promise<Array<StoredRow | undefined | TesseraError>> {
    const out: Array<StoredRow | undefined | TesseraError> = [];
    const it = this.db.iterator({ gte: ROW_START, lt: ROW_END });
    try {
      for (const g of gets) {
        let q: KeyRowsQuery;
        try {
          q = this.keyQuery(g.indexNo, g.key, g.ts && g.ts > 0 ? g.ts : 0, -1, 1, nowMs, maxOffset);
        } catch (err) {
          out.push(err as TesseraError);
          continue;
        }
        out.push((await readKeyRows(it, q, true))[0]);
      }
    } finally {
      await it.close();
    }
    return out;
  }

  private keyQuery(indexNo: number, key: string, st: number, et: number, limit: number, nowMs: number, maxOffset: number): KeyRowsQuery {
    this.checkIndex(indexNo);
    const limitRows = Math.min(Math.max(1, limit), LIMITS.scanRowsMax);
    return { indexNo, plan: this.plans[indexNo]!, key, st, et, limitRows, nowMs, maxOffset };
  }

  /** Number of live rows of `key` in an index. */
  async count(indexNo: number, key: string, nowMs: number = NOW(), maxOffset = Infinity): Promise<number> {
    this.checkIndex(indexNo);
    const plan = this.plans[indexNo]!;
    const prefix = rowKeyPrefix(indexNo, Buffer.from(key, 'utf8'));
    let n = 0;
    let position = 0;
    for await (const k of this.db.keys({ gte: prefix, lt: prefixEnd(prefix) })) {
      const parsed = parseRowKey(k);
      if (parsed.offset > maxOffset) continue;
      if (!isExpired(plan.ttl, parsed.ts, position++, nowMs)) n++;
    }
    return n;
  }

  /** The first `limit` live rows of index 0, across keys. */
  async preview(limit: number, nowMs: number = NOW()): Promise<StoredRow[]> {
    const limitRows = Math.min(Math.max(1, limit), LIMITS.previewRowsMax);
    const out: StoredRow[] = [];
    for await (const [, v, ts] of this.liveRows(indexPrefix(0), nowMs)) {
      out.push({ ts, values: rowValues(v) });
      if (out.length >= limitRows) break;
    }
    return out;
  }

  // ------------------------------------------------------------------ binlog

  /** Binlog entries from `fromOffset` on, bounded by count and bytes. */
  async readBinlog(fromOffset: number, entriesMax: number, bytesMax: number): Promise<BinlogEntry[]> {
    const cached = this.tail.read(fromOffset, entriesMax, bytesMax);
    if (cached !== undefined) return cached;
    const out: BinlogEntry[] = [];
    let bytes = 0;
    const it = this.db.iterator({ gte: binlogKey(Math.max(fromOffset, 0)), lt: BINLOG_END, limit: entriesMax });
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

  /** The oldest offset still in the binlog (offset + 1 when the binlog is empty). */
  async firstBinlogOffset(): Promise<number> {
    if (this.firstBinlogOffsetCache !== undefined) return this.firstBinlogOffsetCache;
    const it = this.db.keys({ gte: BINLOG_START, lt: BINLOG_END, limit: 1 });
    try {
      const k = await it.next();
      const first = k === undefined ? this.counters.offset + 1 : offsetOfBinlogKey(k);
      this.firstBinlogOffsetCache = first;
      return first;
    } finally {
      await it.close();
    }
  }

  /** Term of the last binlog entry (0 when none): what recovery matches against term history. */
  async lastEntryTerm(): Promise<number> {
    const it = this.db.values({ gte: BINLOG_START, lt: BINLOG_END, reverse: true, limit: 1 });
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
  truncateBinlog(belowOffset: number): Promise<void> {
    return this.exclusive(async () => {
      const below = binlogKey(Math.max(0, belowOffset));
      const it = this.db.iterator({ gte: BINLOG_START, lt: below, reverse: true, limit: 1 });
      let newest: [Buffer, Uint8Array] | undefined;
      try {
        newest = (await it.next()) as [Buffer, Uint8Array] | undefined;
      } finally {
        await it.close();
      }
      if (newest !== undefined) {
        const offset = offsetOfBinlogKey(newest[0]);
        const term = (decodeStored(newest[1]) as number[])[0]!;
        if (this.counters.base === undefined || this.counters.base.offset < offset) {
          const counters = { ...this.counters, base: { offset, term } };
          await this.db.put(META_STATE, encode(counters));
          this.counters = counters;
        }
      }
      await this.db.clear({ gte: BINLOG_START, lt: below });
      this.tail.dropBelow(belowOffset);
      this.firstBinlogOffsetCache = undefined;
    }) as Promise<void>;
  }

  // ------------------------------------------------------------------ snapshots

  /**
   * Streams every live row at one consistent point (a LevelDB snapshot), with the offset that
   * point reflects. Writes go on meanwhile; the receiver catches up from the binlog after it.
   */
  async *snapshot(nowMs: number = NOW(), chunkBytesMax: number = 1024 * 1024): AsyncGenerator<SnapshotHeader | SnapshotChunk> {
    const snap = this.db.snapshot();
    try {
      const stateBytes = await this.db.get(META_STATE, { snapshot: snap });
      const state = decodeStored(stateBytes!) as ReplicaCounters;
      let term = 0;
      if (state.offset > 0) {
        const entry = await this.db.get(binlogKey(state.offset), { snapshot: snap });
        term = entry !== undefined ? (decodeStored(entry) as number[])[0]! : state.base?.offset === state.offset ? state.base.term : this.roleRecord.term;
      }
      yield { tid: this.info.tid, pid: this.info.pid, offset: state.offset, term };
      let chunk: SnapshotChunk = [];
      let bytes = 0;
      for await (const [k, v] of this.liveRows(ROW_START, nowMs, snap)) {
        chunk.push([k, v]);
        bytes += k.length + v.length;
        if (bytes >= chunkBytesMax) {
          yield chunk;
          chunk = [];
          bytes = 0;
        }
      }
      if (chunk.length > 0) yield chunk;
    } finally {
      await snap.close();
    }
  }

  /**
   * Replaces this replica's rows and binlog with a snapshot stream (header first). The replica's
   * offset becomes the snapshot's; counters are recomputed from what arrives.
   */
  loadSnapshot(stream: AsyncIterable<SnapshotHeader | SnapshotChunk>): Promise<number> {
    return this.exclusive(async () => {
      let header: SnapshotHeader | undefined;
      const counters: ReplicaCounters = { offset: 0, recordCnt: 0, memUsed: 0 };
      // Mark the replica incomplete on disk first: a crash mid-load must not leave partial rows
      // under an offset that claims more.
      this.counters = { offset: 0, recordCnt: 0, memUsed: 0, incomplete: true };
      this.tail.clear();
      await this.db.put(META_STATE, encode(this.counters));
      await this.db.clear({ gte: ROW_START, lt: ROW_END });
      await this.db.clear({ gte: BINLOG_START, lt: BINLOG_END });
      for await (const item of stream) {
        if (!Array.isArray(item)) {
          if (header) throw new TesseraError('INVALID_ARGUMENT', 'snapshot stream has two headers');
          header = item;
          if (header.tid !== this.info.tid || header.pid !== this.info.pid) {
            throw new TesseraError('INVALID_ARGUMENT', `snapshot of ${header.tid}_${header.pid} sent to ${this.info.tid}_${this.info.pid}`);
          }
          continue;
        }
        if (!header) throw new TesseraError('INVALID_ARGUMENT', 'snapshot stream starts without a header');
        const batch = this.db.batch();
        for (const [k, v] of item) {
          const kb = Buffer.from(k);
          if (kb[0] !== ROW_START[0]) throw new TesseraError('INVALID_ARGUMENT', 'snapshot entry outside the row key space');
          const vb = Buffer.from(v);
          batch.put(kb, vb);
          if (kb[1] === 0) {
            counters.recordCnt++;
            counters.memUsed += rowKeyPrefixLength(kb) + vb.length;
          }
        }
        await batch.write();
      }
      if (!header) throw new TesseraError('INVALID_ARGUMENT', 'empty snapshot stream');
      counters.offset = header.offset;
      counters.base = { offset: header.offset, term: header.term };
      await this.db.put(META_STATE, encode(counters));
      this.counters = counters;
      this.firstBinlogOffsetCache = undefined;
      return header.offset;
    }) as Promise<number>;
  }

  // ------------------------------------------------------------------ maintenance

  /** Removes expired rows (per index TTL). Runs in chunks so writes interleave. */
  async gc(nowMs: number = NOW(), chunkKeysMax: number = 1000): Promise<{ removed: number }> {
    let removed = 0;
    for (let indexNo = 0; indexNo < this.plans.length; indexNo++) {
      const plan = this.plans[indexNo]!;
      if (plan.ttl.absMinutes === 0 && plan.ttl.latest === 0) continue;
      let from: Buffer = indexPrefix(indexNo);
      const end = prefixEnd(indexPrefix(indexNo));
      for (;;) {
        const step = (await this.exclusive(() => this.gcChunk(indexNo, from, end, nowMs, chunkKeysMax))) as { removed: number; next?: Buffer };
        removed += step.removed;
        if (!step.next) break;
        from = step.next;
      }
    }
    return { removed };
  }

  private async gcChunk(indexNo: number, from: Buffer, end: Buffer, nowMs: number, chunkKeysMax: number): Promise<{ removed: number; next?: Buffer }> {
    const plan = this.plans[indexNo]!;
    const batch = this.db.batch();
    const counters = { ...this.counters };
    let removed = 0;
    let keysSeen = 0;
    let currentPrefix: Buffer | undefined;
    let position = 0;
    const it = this.db.iterator({ gte: from, lt: end });
    try {
      for (;;) {
        const chunk = await it.nextv(SCAN_CHUNK_ROWS);
        if (chunk.length === 0) break;
        for (const [k, v] of chunk) {
          const plen = rowKeyPrefixLength(k);
          if (!currentPrefix || currentPrefix.length !== plen || k.compare(currentPrefix, 0, plen, 0, plen) !== 0) {
            if (keysSeen >= chunkKeysMax) {
              await this.writeGc(batch, counters, removed);
              return { removed, next: Buffer.from(k.subarray(0, plen)) };
            }
            currentPrefix = Buffer.from(k.subarray(0, plen));
            position = 0;
            keysSeen++;
          }
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
    await this.writeGc(batch, counters, removed);
    return { removed };
  }

  private async writeGc(batch: ReturnType<Level['batch']>, counters: ReplicaCounters, removed: number): Promise<void> {
    if (removed === 0) {
      await batch.close();
      return;
    }
    batch.put(META_STATE, encode(counters));
    await batch.write();
    this.counters = counters;
  }

  /**
   * A checksum of the live content (every live row entry of every index), equal on replicas that
   * hold the same rows, whatever their binlog or GC history.
   */
  async checksum(nowMs: number = NOW()): Promise<{ rows: number; sha256: string }> {
    const h = createHash('sha256');
    let rows = 0;
    for await (const [k, v] of this.liveRows(ROW_START, nowMs)) {
      h.update(k);
      h.update(v);
      rows++;
    }
    return { rows, sha256: h.digest('hex') };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.exclusive(async () => undefined).catch(() => undefined);
    await this.db.close();
  }

  // ------------------------------------------------------------------ internals

  private checkDims(dims: number[]): void {
    if (!Array.isArray(dims) || dims.length === 0 || new Set(dims).size !== dims.length) {
      throw new TesseraError('INVALID_ARGUMENT', 'dims must be a non-empty list of distinct index numbers', { field: 'dims' });
    }
    for (const d of dims) this.checkIndex(d);
  }

  private checkIndex(indexNo: number): void {
    if (!Number.isInteger(indexNo) || indexNo < 0 || indexNo >= this.plans.length) {
      throw new TesseraError('INVALID_ARGUMENT', `index ${String(indexNo)} does not exist in table ${this.info.schema.name}`);
    }
  }

  /** Live row entries from `from` to the end of the row space: [key, value, ts]. */
  private async *liveRows(from: Buffer, nowMs: number, snapshot?: ReturnType<Level['snapshot']>): AsyncGenerator<[Buffer, Buffer, number]> {
    const end = from.length === 1 ? ROW_END : prefixEnd(from);
    const it = this.db.iterator(snapshot ? { gte: from, lt: end, snapshot } : { gte: from, lt: end });
    let currentPrefix: Buffer | undefined;
    let position = 0;
    try {
      for (;;) {
        const chunk = await it.nextv(SCAN_CHUNK_ROWS);
        if (chunk.length === 0) break;
        for (const [k, v] of chunk) {
          const plen = rowKeyPrefixLength(k);
          if (!currentPrefix || currentPrefix.length !== plen || k.compare(currentPrefix, 0, plen, 0, plen) !== 0) {
            currentPrefix = Buffer.from(k.subarray(0, plen));
            position = 0;
          }
          const parsed = parseRowKey(k);
          const plan = this.plans[parsed.indexNo];
          if (!plan) continue;
          if (isExpired(plan.ttl, parsed.ts, position++, nowMs)) continue;
          yield [k, v, parsed.ts];
        }
      }
    } finally {
      await it.close();
    }
  }

  private enqueue(item: Omit<QueueItem, 'resolve' | 'reject'>): Promise<unknown> {
    if (this.closed && item.kind !== 'exclusive') return Promise.reject(new TesseraError('UNAVAILABLE', 'replica is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ ...item, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.enqueue({ kind: 'exclusive', fn }) as Promise<T>;
  }

  /** The committer: takes queued items in order; groups puts into one batch. */
  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const head = this.queue[0]!;
        if (head.kind === 'exclusive' || (head.kind === 'replicated' && hasDelete(head.entries!))) {
          this.queue.shift();
          try {
            head.resolve(head.kind === 'exclusive' ? await head.fn!() : await this.applyReplicatedOneByOne(head.entries!));
          } catch (err) {
            head.reject(err);
          }
          continue;
        }
        const group: QueueItem[] = [];
        let entries = 0;
        while (this.queue.length > 0 && entries < LIMITS.groupCommitEntriesMax) {
          const next = this.queue[0]!;
          if (next.kind === 'exclusive' || (next.kind === 'replicated' && hasDelete(next.entries!))) break;
          this.queue.shift();
          group.push(next);
          entries += next.kind === 'put' ? next.rows!.length : next.entries!.length;
        }
        await this.commitGroup(group);
      }
    } finally {
      this.draining = false;
    }
  }

  /**
   * Writes a group of put and replicated-put items as one batch. Each item is staged on its own
   * first, so an item that is refused (a gap, a row over its limit) changes nothing and the
   * others still commit.
   */
  private async commitGroup(group: QueueItem[]): Promise<void> {
    const batch = this.db.batch();
    let counters = { ...this.counters };
    const outcomes: Array<{ ok: true; value: unknown; committed: Committed } | { ok: false; error: unknown }> = [];
    for (const item of group) {
      const staged: Array<[Buffer, Buffer]> = [];
      const committed: Committed = [];
      const c = { ...counters };
      try {
        let value: unknown;
        if (item.kind === 'put') {
          const firstOffset = c.offset + 1;
          for (const row of item.rows!) {
            const entry: BinlogEntry = { offset: c.offset + 1, term: this.roleRecord.term, kind: 'put', ts: row.ts, values: row.values };
            if (row.writeId !== undefined) entry.writeId = row.writeId;
            if (row.dims !== undefined) entry.dims = row.dims;
            this.stagePut(staged, entry, c, committed);
          }
          value = { firstOffset, lastOffset: c.offset };
        } else {
          for (const e of item.entries!) {
            if (e.offset <= c.offset) continue;
            if (e.offset !== c.offset + 1) {
              throw new TesseraError('OFFSET_GAP', `append at ${e.offset} does not follow replica offset ${c.offset}`, { offset: c.offset });
            }
            this.stagePut(staged, cleanPut(e as Extract<BinlogEntry, { kind: 'put' }>), c, committed);
          }
          value = c.offset;
        }
        for (const [k, v] of staged) batch.put(k, v);
        counters = c;
        outcomes.push({ ok: true, value, committed });
      } catch (err) {
        outcomes.push({ ok: false, error: err });
      }
    }
    try {
      batch.put(META_STATE, encode(counters));
      await batch.write();
      this.counters = counters;
      for (const o of outcomes) if (o.ok) for (const [entry, bytes] of o.committed) this.tail.push(entry, bytes);
    } catch (err) {
      const e = new TesseraError('STORAGE_IO', `batch write failed: ${(err as Error).message}`, undefined, { cause: err });
      for (const item of group) item.reject(e);
      return;
    }
    group.forEach((item, i) => {
      const o = outcomes[i]!;
      if (o.ok) item.resolve(o.value);
      else item.reject(o.error);
    });
  }

  /** Replicated entries that contain deletes: applied one entry per batch, in order. */
  private async applyReplicatedOneByOne(entries: BinlogEntry[]): Promise<number> {
    for (const e of entries) {
      if (e.offset <= this.counters.offset) continue;
      if (e.offset !== this.counters.offset + 1) {
        throw new TesseraError('OFFSET_GAP', `append at ${e.offset} does not follow replica offset ${this.counters.offset}`, { offset: this.counters.offset });
      }
      const batch = this.db.batch();
      const counters = { ...this.counters };
      const committed: Committed = [];
      if (e.kind === 'delete') {
        await this.applyDelete(batch, e, counters);
        const clean: BinlogEntry = { offset: e.offset, term: e.term, kind: 'delete', indexNo: e.indexNo, key: e.key };
        if (e.writeId !== undefined) clean.writeId = e.writeId;
        const encoded = encodeEntry(clean);
        batch.put(binlogKey(e.offset), encoded);
        committed.push([clean, encoded.length]);
        counters.offset = e.offset;
      } else {
        const staged: Array<[Buffer, Buffer]> = [];
        this.stagePut(staged, cleanPut(e), counters, committed);
        for (const [k, v] of staged) batch.put(k, v);
      }
      batch.put(META_STATE, encode(counters));
      await batch.write();
      this.counters = counters;
      for (const [entry, bytes] of committed) this.tail.push(entry, bytes);
    }
    return this.counters.offset;
  }

  /** Stages one put entry: its binlog record, one row entry per index, the new counters. */
  private stagePut(staged: Array<[Buffer, Buffer]>, e: Extract<BinlogEntry, { kind: 'put' }>, counters: ReplicaCounters, committed: Committed): void {
    const value = encode([e.ts, ...e.values]);
    if (value.length > LIMITS.rowBytesMax) throw new TesseraError('LIMIT_EXCEEDED', `row of ${value.length} bytes is over ${LIMITS.rowBytesMax}`);
    const dims = e.dims ?? this.allDims;
    for (const i of dims) {
      const plan = this.plans[i];
      if (!plan) throw new TesseraError('INVALID_ARGUMENT', `index ${i} does not exist in table ${this.info.schema.name}`);
      const keyBytes = Buffer.from(indexKey(plan, e.values), 'utf8');
      const ts = rowTime(plan, e.values, e.ts);
      staged.push([rowKey(i, keyBytes, ts < 0 ? 0 : ts, e.offset), value]);
      if (i === 0) {
        counters.recordCnt++;
        counters.memUsed += 6 + keyBytes.length + value.length;
      }
    }
    const encoded = encodeEntry(e);
    staged.push([binlogKey(e.offset), encoded]);
    committed.push([e, encoded.length]);
    counters.offset = e.offset;
  }

  private async applyDelete(batch: ReturnType<Level['batch']>, e: Extract<BinlogEntry, { kind: 'delete' }>, counters: ReplicaCounters): Promise<number> {
    if (e.indexNo < 0 || e.indexNo >= this.plans.length) return 0;
    const prefix = rowKeyPrefix(e.indexNo, Buffer.from(e.key, 'utf8'));
    let deleted = 0;
    for await (const [k, v] of this.db.iterator({ gte: prefix, lt: prefixEnd(prefix) })) {
      const { offset } = parseRowKey(k);
      const [writeTs, ...values] = decodeStored(v) as [number, ...Value[]];
      for (let i = 0; i < this.plans.length; i++) {
        const plan = this.plans[i]!;
        const keyBytes = Buffer.from(indexKey(plan, values), 'utf8');
        const ts = rowTime(plan, values, writeTs);
        const rk = rowKey(i, keyBytes, ts < 0 ? 0 : ts, offset);
        if (i === 0) {
          const existing = await this.db.get(rk);
          if (existing === undefined) continue;
          counters.recordCnt--;
          counters.memUsed -= 6 + keyBytes.length + existing.length;
        }
        batch.del(rk);
      }
      deleted++;
    }
    return deleted;
  }
}

/** Binlog entries staged in a batch with their encoded bytes, for the tail once it is written. */
type Committed = Array<[BinlogEntry, number]>;

/** A replicated put entry with only the fields the binlog keeps (wire maps may carry more). */
function cleanPut(e: Extract<BinlogEntry, { kind: 'put' }>): Extract<BinlogEntry, { kind: 'put' }> {
  const out: Extract<BinlogEntry, { kind: 'put' }> = { offset: e.offset, term: e.term, kind: 'put', ts: e.ts, values: e.values };
  if (e.writeId !== undefined) out.writeId = e.writeId;
  if (e.dims !== undefined) out.dims = e.dims;
  return out;
}

function hasDelete(entries: BinlogEntry[]): boolean {
  return entries.some((e) => e.kind === 'delete');
}

