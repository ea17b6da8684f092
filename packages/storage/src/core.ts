/**
 * The state of one replica store and its serial committer: the database it lives in (a whole
 * LevelDB or its key range in the tablet's shared one), its info and index plans, counters and
 * role record, the in-memory binlog tail, and the one queue every change goes through. Puts
 * queued together commit as one batch (group commit); deletes, GC, snapshot loads and binlog
 * truncation run exclusively in the same queue, so counters never race. Also the staging of one
 * entry's row changes. Used by replica-store.ts (the public face), snapshot.ts and maintenance.ts.
 */
import {
  decodeStored, encode, indexKey, LIMITS, planIndexes, rowTime, TesseraError,
  type IndexPlan, type Value,
} from '@tessera/common';
import { binlogKey, headKey, META_STATE, parseRowKey, purgeKey, prefixEnd, ROW_END, rowKey, rowKeyPrefix } from './keys.js';
import { encodeEntry, type BinlogEntry } from './binlog.js';
import { BinlogTail } from './binlog-tail.js';
import { isExpired } from './ttl.js';
import { RowWalker } from './row-walk.js';
import { deletedAt, liveBytes, tombstoneValue } from './row-value.js';
import type { Committed, Level, LoadedChecksum, PutRow, ReplicaCounters, ReplicaInfo, ReplicaRoleRecord } from './store-types.js';
import { batchWriter, type BatchPut } from './shared-batch.js';
import { HeadStage, stageHead } from './heads.js';
import { queueHoldWatcherOf, type QueueTask } from './queue-holds.js';

interface QueueItem {
  kind: 'put' | 'replicated' | 'exclusive';
  rows?: PutRow[];
  entries?: BinlogEntry[];
  fn?: () => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}


export class ReplicaCore {
  info: ReplicaInfo;
  readonly db: Level;
  plans: IndexPlan[];
  readonly allDims: number[];
  counters: ReplicaCounters;
  roleRecord: ReplicaRoleRecord;
  closed = false;
  firstBinlogOffsetCache: number | undefined;
  /** The content checksum of the last snapshot loaded into this replica, at its offset (snapshot.ts). */
  loadedChecksum: LoadedChecksum | undefined;
  /** The newest committed binlog entries, for replication reads (binlog-tail.ts). */
  readonly tail = new BinlogTail();
  private readonly queue: QueueItem[] = [];
  private draining = false;
  /** Writes a group commit: in the tablet's shared batch of this turn (shared-batch.ts). */
  private readonly writeBatch: (ops: BatchPut[]) => Promise<void>;

  constructor(db: Level, info: ReplicaInfo, counters: ReplicaCounters, role: ReplicaRoleRecord) {
    this.db = db;
    this.info = info;
    this.plans = planIndexes(info.schema);
    this.allDims = this.plans.map((_, i) => i);
    this.counters = counters;
    this.roleRecord = role;
    this.writeBatch = batchWriter(db);
  }

  checkDims(dims: number[]): void {
    if (!Array.isArray(dims) || dims.length === 0 || new Set(dims).size !== dims.length) {
      throw new TesseraError('INVALID_ARGUMENT', 'dims must be a non-empty list of distinct index numbers', { field: 'dims' });
    }
    for (const d of dims) this.checkIndex(d);
  }

  checkIndex(indexNo: number): void {
    if (!Number.isInteger(indexNo) || indexNo < 0 || indexNo >= this.plans.length) {
      throw new TesseraError('INVALID_ARGUMENT', `index ${String(indexNo)} does not exist in table ${this.info.schema.name}`);
    }
  }

  /**
   * Live row entries (not expired, not deleted) from `from` to the end of the row space: [key,
   * value, ts]. With `atOffset`, as they were at that offset: rows written after it are left out,
   * and a row a delete after it tombstoned is live (its live bytes are yielded).
   */
  async *liveRows(from: Buffer, nowMs: number, snapshot?: ReturnType<Level['snapshot']>, atOffset?: number): AsyncGenerator<[Buffer, Buffer, number]> {
    for await (const rows of this.liveRowBatches(from, nowMs, snapshot, atOffset)) yield* rows;
  }

  /**
   * The rows of liveRows, one LevelDB read (`rowsPerRead` entries) at a time: what bulk readers
   * (snapshots, checksums) loop over without an await per row. A read may yield no live row.
   */
  async *liveRowBatches(from: Buffer, nowMs: number, snapshot?: ReturnType<Level['snapshot']>, atOffset?: number, rowsPerRead?: number): AsyncGenerator<Array<[Buffer, Buffer, number]>> {
    yield* liveRowBatchesOf(this.db, this.plans, from, nowMs, snapshot, atOffset, rowsPerRead);
  }

  enqueue(item: Omit<QueueItem, 'resolve' | 'reject'>): Promise<unknown> {
    if (this.closed && item.kind !== 'exclusive') return Promise.reject(new TesseraError('UNAVAILABLE', 'replica is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ ...item, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  /** Runs `fn` alone in the queue; how long it held the queue is told to its watcher (queue-holds.ts) as `task`. */
  exclusive<T>(task: QueueTask, fn: () => Promise<T>): Promise<T> {
    const timed = async (): Promise<T> => {
      const watcher = queueHoldWatcherOf(this.db);
      if (watcher === undefined) return fn();
      const t0 = performance.now();
      try {
        return await fn();
      } finally {
        watcher(task, (performance.now() - t0) / 1000);
      }
    };
    return this.enqueue({ kind: 'exclusive', fn: timed }) as Promise<T>;
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
    const ops: BatchPut[] = [];
    let counters = { ...this.counters };
    const outcomes: Array<{ ok: true; value: unknown; committed: Committed } | { ok: false; error: unknown }> = [];
    const heads = this.counters.heads ? new HeadStage(this.db) : undefined;
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
            this.stagePut(staged, entry, c, committed, heads);
          }
          value = { firstOffset, lastOffset: c.offset };
        } else {
          for (const e of item.entries!) {
            if (e.offset <= c.offset) continue;
            if (e.offset !== c.offset + 1) {
              throw new TesseraError('OFFSET_GAP', `append at ${e.offset} does not follow replica offset ${c.offset}`, { offset: c.offset });
            }
            this.stagePut(staged, cleanPut(e as Extract<BinlogEntry, { kind: 'put' }>), c, committed, heads);
          }
          value = c.offset;
        }
        for (const [key, value] of staged) ops.push({ type: 'put', key, value });
        counters = c;
        heads?.endItem(true);
        outcomes.push({ ok: true, value, committed });
      } catch (err) {
        heads?.endItem(false);
        outcomes.push({ ok: false, error: err });
      }
    }
    try {
      ops.push({ type: 'put', key: META_STATE, value: encode(counters) });
      await this.writeBatch(ops);
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
        await this.applyDelete(batch, e, counters, false);
        const clean: BinlogEntry = { offset: e.offset, term: e.term, kind: 'delete', indexNo: e.indexNo, key: e.key };
        if (e.writeId !== undefined) clean.writeId = e.writeId;
        const encoded = encodeEntry(clean);
        batch.put(binlogKey(e.offset), encoded);
        committed.push([clean, encoded.length]);
        counters.offset = e.offset;
      } else {
        const staged: Array<[Buffer, Buffer]> = [];
        this.stagePut(staged, cleanPut(e), counters, committed, counters.heads ? new HeadStage(this.db) : undefined);
        for (const [k, v] of staged) batch.put(k, v);
      }
      batch.put(META_STATE, encode(counters));
      await batch.write();
      this.counters = counters;
      for (const [entry, bytes] of committed) this.tail.push(entry, bytes);
    }
    return this.counters.offset;
  }

  /** Stages one put entry: its binlog record, one row entry (and head, heads.ts) per index, the new counters. */
  stagePut(staged: Array<[Buffer, Buffer]>, e: Extract<BinlogEntry, { kind: 'put' }>, counters: ReplicaCounters, committed: Committed, heads: HeadStage | undefined): void {
    const value = encode([e.ts, ...e.values]);
    if (value.length > LIMITS.rowBytesMax) throw new TesseraError('LIMIT_EXCEEDED', `row of ${value.length} bytes is over ${LIMITS.rowBytesMax}`);
    const dims = e.dims ?? this.allDims;
    for (const i of dims) {
      const plan = this.plans[i];
      if (!plan) throw new TesseraError('INVALID_ARGUMENT', `index ${i} does not exist in table ${this.info.schema.name}`);
      const keyBytes = Buffer.from(indexKey(plan, e.values), 'utf8');
      const ts = rowTime(plan, e.values, e.ts);
      const rowTs = ts < 0 ? 0 : ts;
      staged.push([rowKey(i, keyBytes, rowTs, e.offset), value]);
      if (heads) stageHead(staged, counters, heads, i, keyBytes, rowTs, e.offset);
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

  /**
   * Deletes every row of (indexNo, key), under every index it is stored in. `tombstone` (the
   * leader's versioned delete): each entry becomes a tombstone of the delete's offset
   * (row-value.ts), visible as deleted only to reads at or after it, and the keys are listed
   * under the delete's purge key. Otherwise (a follower applying a replicated delete; its reads
   * are not bounded by a commit point) the entries are removed at once. Entries a delete already
   * tombstoned are not counted again.
   */
  async applyDelete(batch: ReturnType<Level['batch']>, e: Extract<BinlogEntry, { kind: 'delete' }>, counters: ReplicaCounters, tombstone: boolean): Promise<number> {
    if (e.indexNo < 0 || e.indexNo >= this.plans.length) return 0;
    const prefix = rowKeyPrefix(e.indexNo, Buffer.from(e.key, 'utf8'));
    let deleted = 0;
    const tombstoned: Buffer[] = [];
    for await (const [k, v] of this.db.iterator({ gte: prefix, lt: prefixEnd(prefix) })) {
      const wasDeleted = deletedAt(v) !== undefined;
      if (wasDeleted && tombstone) continue;
      const { offset } = parseRowKey(k);
      const [writeTs, ...values] = decodeStored(liveBytes(v)) as [number, ...Value[]];
      for (let i = 0; i < this.plans.length; i++) {
        const plan = this.plans[i]!;
        const keyBytes = Buffer.from(indexKey(plan, values), 'utf8');
        const ts = rowTime(plan, values, writeTs);
        const rk = rowKey(i, keyBytes, ts < 0 ? 0 : ts, offset);
        const existing = await this.db.get(rk);
        if (existing === undefined) continue; // not stored under this index here (dims)
        const existingDeleted = deletedAt(existing) !== undefined;
        if (i === 0 && !existingDeleted) {
          counters.recordCnt--;
          counters.memUsed -= 6 + keyBytes.length + existing.length;
        }
        if (!tombstone) batch.del(rk);
        else if (!existingDeleted) {
          batch.put(rk, tombstoneValue(e.offset, existing));
          tombstoned.push(rk);
        }
      }
      if (!wasDeleted) deleted++;
    }
    if (tombstoned.length > 0) batch.put(purgeKey(e.offset), encode(tombstoned));
    // Every row of the key in this index is gone (heads.ts): so is its head.
    if (!tombstone && this.counters.heads) batch.del(headKey(e.indexNo, Buffer.from(e.key, 'utf8')));
    return deleted;
  }
}


/** A replicated put entry with only the fields the binlog keeps (wire maps may carry more). */
/**
 * The live-row reader of a replica's key range in `db` with its index `plans` (ReplicaCore's
 * liveRowBatches): also run off the replica's core, by a snapshot read in a worker thread
 * (snapshot-worker.ts), which has the range and the plans but no ReplicaCore.
 */
export async function* liveRowBatchesOf(db: Level, plans: IndexPlan[], from: Buffer, nowMs: number, snapshot?: ReturnType<Level['snapshot']>, atOffset?: number, rowsPerRead?: number): AsyncGenerator<Array<[Buffer, Buffer, number]>> {
  const end = from.length === 1 ? ROW_END : prefixEnd(from);
  const walker = new RowWalker(db, snapshot ? { gte: from, lt: end, snapshot } : { gte: from, lt: end }, atOffset);
  try {
    for (;;) {
      const chunk = await walker.read(rowsPerRead);
      if (chunk.length === 0) break;
      const rows: Array<[Buffer, Buffer, number]> = [];
      for (const [k, v] of chunk) {
        const r = walker.classify(k, v);
        if (!r.live) continue;
        const plan = plans[r.indexNo];
        if (!plan || isExpired(plan.ttl, r.ts, r.position, nowMs)) continue;
        rows.push([r.key, r.tombstoned ? liveBytes(r.value) : r.value, r.ts]);
      }
      yield rows;
    }
  } finally {
    await walker.close();
  }
}

function cleanPut(e: Extract<BinlogEntry, { kind: 'put' }>): Extract<BinlogEntry, { kind: 'put' }> {
  const out: Extract<BinlogEntry, { kind: 'put' }> = { offset: e.offset, term: e.term, kind: 'put', ts: e.ts, values: e.values };
  if (e.writeId !== undefined) out.writeId = e.writeId;
  if (e.dims !== undefined) out.dims = e.dims;
  return out;
}

function hasDelete(entries: BinlogEntry[]): boolean {
  return entries.some((e) => e.kind === 'delete');
}

