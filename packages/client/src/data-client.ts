/**
 * Data calls routed to partition leaders: put (split by index key into per-partition puts),
 * batches, get, scan, count, preview, delete. A call that meets a leader change (NOT_LEADER, an
 * unreachable or not-yet-serving replica) refreshes the table metadata and retries with jittered
 * backoff for a bounded time, as the catalogue's retry meaning allows (retry-policy.ts, DATA_RETRY).
 * Writes carry a write id so that a retried write is applied once.
 */
import { randomBytes } from 'node:crypto';
import {
  backoffMs, encode, errorFromWire, findIndex, HttpClient, requireRowTimes, sleep, TesseraError, lookupKey, type TableInfo, type Value,
} from '@tessera/common';
import { leaderEndpoint, pidOf, splitByPartition } from './routing.js';
import type { TableCache } from './table-cache.js';
import { estimateRowBytes, PUT_COALESCE, PutCoalescer } from './put-coalescer.js';
import { GetCoalescer } from './get-coalescer.js';
import { DATA_CALL, DATA_RETRY, shouldRetry } from './retry-policy.js';


const retryable = (err: unknown): boolean => shouldRetry(err, DATA_CALL);

export interface WireRow {
  ts: number;
  values: Value[];
}

export interface PutItem {
  values: Value[];
  tsMs: number;
}

let writeIdSeq = 0;
const writeIdPrefix = randomBytes(6).toString('base64url');

/** A write id unique to this process and call: retried sends of one write share it. */
export function newWriteId(): string {
  writeIdSeq = (writeIdSeq + 1) % Number.MAX_SAFE_INTEGER;
  return `${writeIdPrefix}.${writeIdSeq.toString(36)}`;
}

/** The wire form of one row of one partition: `{ row, ts, writeId, dims? }` (dims only when not every index). */
function putItem(values: Value[], tsMs: number, dims: number[], indexes: number): Record<string, unknown> {
  const item: Record<string, unknown> = { row: values, ts: tsMs, writeId: newWriteId() };
  if (dims.length !== indexes) item.dims = dims;
  return item;
}

/** The partition's leader as the table metadata says, if it names an alive one. */
function knownLeader(table: TableInfo, pid: number): string | undefined {
  try {
    return leaderEndpoint(table, pid);
  } catch {
    return undefined;
  }
}

export interface DataClientOptions {
  /** Time one call keeps retrying across leader changes, ms from its first send (default DATA_RETRY.budgetMs). */
  retryBudgetMs?: number;
}

export class DataClient {
  /** The table each coalesced put was last issued with, by tid (its first send uses it). */
  private readonly putTables = new Map<number, TableInfo>();
  private readonly coalescer: PutCoalescer;
  private readonly getCoalescer: GetCoalescer<{ row: WireRow | null }>;

  /** How long one call keeps retrying (DATA_RETRY.budgetMs unless the client says otherwise). */
  private readonly retryBudgetMs: number;

  constructor(
    private readonly tables: TableCache,
    private readonly http: HttpClient,
    options: DataClientOptions = {},
  ) {
    this.retryBudgetMs = options.retryBudgetMs ?? DATA_RETRY.budgetMs;
    this.coalescer = new PutCoalescer({
      sendMulti: async (endpoint, parts) => {
        const body = encode({ parts: parts.map((p) => ({ tid: p.tid, pid: p.pid, rows: p.rows.map((r) => r.item) })) });
        const res = await this.http.callRaw<{ results: unknown[] }>(endpoint, '/v1/data/put_multi', body);
        return parts.map((_, i) => {
          const r = res.results?.[i] as { error?: unknown } | undefined;
          if (r === undefined) return new TesseraError('INTERNAL', 'put_multi answered fewer results than partitions');
          return r.error === undefined ? undefined : errorFromWire(r, 500);
        });
      },
      sendPart: (tid, pid, items) => this.withLeader(this.putTables.get(tid)!, pid, (ep, t) => this.http.callRaw(ep, '/v1/data/put_batch', encode({ tid: t.tid, pid, rows: items }))),
      sendOne: (tid, pid, item) => this.withLeader(this.putTables.get(tid)!, pid, (ep, t) => this.http.call(ep, '/v1/data/put', { tid: t.tid, pid, ...item })),
      retryable,
    });
    this.getCoalescer = new GetCoalescer<{ row: WireRow | null }>({
      sendMulti: async (endpoint, queries) => {
        const res = await this.http.callRaw<{ results: unknown[] }>(endpoint, '/v1/data/get_multi', encode({ gets: queries }));
        return queries.map((_, i) => {
          const r = res.results?.[i] as { row?: WireRow | null; error?: unknown } | undefined;
          if (r === undefined) return new TesseraError('INTERNAL', 'get_multi answered fewer results than gets');
          return r.error === undefined ? { row: r.row ?? null } : errorFromWire(r, 500);
        });
      },
      isError: (r): r is TesseraError => r instanceof TesseraError,
      retryable,
    });
  }

  /** Coalesced get requests sent and the gets they carried. */
  get getStats(): { requests: number; gets: number } {
    return { ...this.getCoalescer.stats };
  }

  /**
   * Runs `fn` against the leader of (table, pid), following leader changes, until it succeeds, fails
   * for good, or the retry budget (DATA_RETRY) has passed since the first send: then the last
   * refusal is the call's error.
   */
  private async withLeader<T>(table: TableInfo, pid: number, fn: (endpoint: string, table: TableInfo) => Promise<T>): Promise<T> {
    const deadlineMs = performance.now() + this.retryBudgetMs;
    let current = table;
    for (let attempt = 0, wakeups = 0; ; ) {
      try {
        return await fn(leaderEndpoint(current, pid), current);
      } catch (err) {
        if (!retryable(err)) throw err;
        const leftMs = deadlineMs - performance.now();
        if (leftMs <= 0) throw err;
        // Wait out the backoff (never past the budget), or less when the table metadata changes
        // meanwhile (a new leader).
        const changed = this.tables.changed().then(() => true);
        const waitMs = Math.min(leftMs, backoffMs(attempt, DATA_RETRY.backoffBaseMs, DATA_RETRY.backoffMaxMs));
        const woken = await Promise.race([changed, sleep(waitMs).then(() => false)]);
        if (!woken) await this.tables.refreshTable(table.tid).catch(() => undefined);
        // A retry brought early by new routing does not grow the backoff (up to wakeupsMax of them).
        if (woken && wakeups < DATA_RETRY.wakeupsMax) wakeups++;
        else attempt++;
      }
      const fresh = this.tables.byId(table.tid);
      if (!fresh) throw new TesseraError('TABLE_NOT_FOUND', `table ${table.schema.name} was dropped`, { tid: table.tid });
      current = fresh;
    }
  }

  /** Coalesced put requests sent and the rows they carried. */
  get putStats(): { requests: number; rows: number; partsResent: number } {
    return { ...this.coalescer.stats };
  }

  /**
   * Writes one row to every partition one of its index keys hashes to. Concurrent puts to partitions
   * led by one tablet share a request (put-coalescer.ts); each row keeps its own write id.
   */
  async put(table: TableInfo, values: Value[], tsMs: number): Promise<void> {
    requireRowTimes(table.schema, values);
    const split = splitByPartition(table, values);
    this.putTables.set(table.tid, table);
    const bytes = estimateRowBytes(values);
    const all = table.schema.indexes.length;
    if (split.size === 1) {
      const [[pid, dims]] = split;
      return this.coalescer.put(knownLeader(table, pid), table.tid, pid, putItem(values, tsMs, dims, all), bytes);
    }
    await Promise.all([...split].map(([pid, dims]) => this.coalescer.put(knownLeader(table, pid), table.tid, pid, putItem(values, tsMs, dims, all), bytes)));
  }

  /** Writes rows grouped into one batch per partition (partitions of one leader in one request when small). */
  async putBatch(table: TableInfo, rows: PutItem[]): Promise<void> {
    const byPid = new Map<number, Array<Record<string, unknown>>>();
    const all = table.schema.indexes.length;
    for (const r of rows) requireRowTimes(table.schema, r.values);
    for (const r of rows) {
      for (const [pid, dims] of splitByPartition(table, r.values)) {
        const item: Record<string, unknown> = { row: r.values, ts: r.tsMs, writeId: newWriteId() };
        if (dims.length !== all) item.dims = dims;
        const list = byPid.get(pid);
        if (list) list.push(item);
        else byPid.set(pid, [item]);
      }
    }
    const onePartition = (pid: number, items: Array<Record<string, unknown>>): Promise<unknown> =>
      this.withLeader(table, pid, (ep, t) => this.http.callRaw(ep, '/v1/data/put_batch', encode({ tid: t.tid, pid, rows: items })));
    // Partitions led by one tablet share a put_multi request when the batch is small enough.
    const byLeader = new Map<string, number[]>();
    let bytes = 0;
    for (const r of rows) bytes += estimateRowBytes(r.values);
    const shared = bytes <= PUT_COALESCE.bytesMax && rows.length * all <= PUT_COALESCE.rowsMax * 2;
    const alone: number[] = [];
    for (const pid of byPid.keys()) {
      const ep = shared ? knownLeader(table, pid) : undefined;
      if (ep === undefined) alone.push(pid);
      else byLeader.set(ep, [...(byLeader.get(ep) ?? []), pid]);
    }
    await Promise.all([
      ...alone.map((pid) => onePartition(pid, byPid.get(pid)!)),
      ...[...byLeader].map(async ([ep, pids]) => {
        if (pids.length === 1) return onePartition(pids[0]!, byPid.get(pids[0]!)!);
        let res: { results?: Array<{ error?: unknown }> };
        try {
          res = await this.http.callRaw(ep, '/v1/data/put_multi', encode({ parts: pids.map((pid) => ({ tid: table.tid, pid, rows: byPid.get(pid) })) }));
        } catch {
          // The request as a whole failed: each partition on its own, with the SDK's retries.
          return Promise.all(pids.map((pid) => onePartition(pid, byPid.get(pid)!)));
        }
        return Promise.all(pids.map(async (pid, i) => {
          const r = res.results?.[i];
          if (r !== undefined && r.error === undefined) return;
          const err = r === undefined ? new TesseraError('INTERNAL', 'put_multi answered fewer results than partitions') : errorFromWire(r, 500);
          if (!retryable(err)) throw err;
          await onePartition(pid, byPid.get(pid)!);
        }));
      }),
    ]);
  }

  async get(table: TableInfo, index: string | undefined, key: string, ts?: number): Promise<WireRow | undefined> {
    findIndex(table.schema, index);
    key = lookupKey(key);
    const pid = pidOf(table, key);
    // Concurrent gets to one tablet share a request (get-coalescer.ts); a get refused for a
    // retryable reason goes again alone, following leader changes.
    const alone = (): Promise<{ row: WireRow | null }> => this.withLeader(table, pid, (ep, t) =>
      this.http.call<{ row: WireRow | null }>(ep, '/v1/data/get', { tid: t.tid, pid, index, key, ...(ts ? { ts } : {}) }),
    );
    const res = await this.getCoalescer.get(knownLeader(table, pid), { tid: table.tid, pid, index, key, ...(ts ? { ts } : {}) }, alone);
    return res.row ?? undefined;
  }

  async scan(table: TableInfo, index: string | undefined, key: string, st: number, et: number, limit?: number): Promise<WireRow[]> {
    findIndex(table.schema, index);
    key = lookupKey(key);
    const pid = pidOf(table, key);
    const res = await this.withLeader(table, pid, (ep, t) =>
      this.http.call<{ rows: WireRow[] }>(ep, '/v1/data/scan', { tid: t.tid, pid, index, key, st, et, ...(limit ? { limit } : {}) }),
    );
    return res.rows;
  }

  async count(table: TableInfo, index: string | undefined, key: string): Promise<number> {
    findIndex(table.schema, index);
    key = lookupKey(key);
    const pid = pidOf(table, key);
    const res = await this.withLeader(table, pid, (ep, t) => this.http.call<{ count: number }>(ep, '/v1/data/count', { tid: t.tid, pid, index, key }));
    return res.count;
  }

  /** Up to `limit` rows, partitions in pid order. */
  async preview(table: TableInfo, limit: number): Promise<WireRow[]> {
    const out: WireRow[] = [];
    for (let pid = 0; pid < table.partitionNum && out.length < limit; pid++) {
      const res = await this.withLeader(table, pid, (ep, t) =>
        this.http.call<{ rows: WireRow[] }>(ep, '/v1/data/preview', { tid: t.tid, pid, limit: limit - out.length }),
      );
      out.push(...res.rows);
    }
    return out;
  }

  async delete(table: TableInfo, index: string | undefined, key: string): Promise<number> {
    findIndex(table.schema, index);
    key = lookupKey(key);
    const pid = pidOf(table, key);
    const writeId = newWriteId();
    const res = await this.withLeader(table, pid, (ep, t) =>
      this.http.call<{ deleted: number }>(ep, '/v1/data/delete', { tid: t.tid, pid, index, key, writeId }),
    );
    return res.deleted;
  }
}
