/**
 * Data calls routed to partition leaders: put (split by index key into per-partition puts),
 * batches, get, scan, count, preview, delete. A call that meets a leader change (NOT_LEADER, an
 * unreachable or not-yet-serving replica) refreshes the table metadata and retries with bounded,
 * jittered backoff. Writes carry a write id so that a retried write is applied once.
 */
import { randomBytes } from 'node:crypto';
import {
  backoffMs, encode, findIndex, HttpClient, requireRowTimes, sleep, TesseraError, lookupKey, type TableInfo, type Value,
} from '@tessera/common';
import { leaderEndpoint, pidOf, splitByPartition } from './routing.js';
import type { TableCache } from './table-cache.js';

export const DATA_RETRY = {
  /** Attempts of one call across leader changes. */
  attemptsMax: 10,
  backoffBaseMs: 25,
  backoffMaxMs: 1000,
  /** Retries brought early by a metadata change that do not count as attempts. */
  wakeupsMax: 20,
} as const;

const RETRYABLE = new Set(['NOT_LEADER', 'UNAVAILABLE', 'REPLICA_NOT_SERVING', 'TIMEOUT', 'OVERLOADED', 'TABLE_NOT_FOUND']);

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

export class DataClient {
  constructor(
    private readonly tables: TableCache,
    private readonly http: HttpClient,
  ) {}

  /** Runs `fn` against the leader of (table, pid), following leader changes. */
  private async withLeader<T>(table: TableInfo, pid: number, fn: (endpoint: string, table: TableInfo) => Promise<T>): Promise<T> {
    let current = table;
    let lastErr: unknown;
    for (let attempt = 0, wakeups = 0; attempt < DATA_RETRY.attemptsMax; ) {
      try {
        return await fn(leaderEndpoint(current, pid), current);
      } catch (err) {
        const code = (err as TesseraError).code;
        if (!RETRYABLE.has(code)) throw err;
        lastErr = err;
      }
      // Wait out the backoff, or less when the table metadata changes meanwhile (a new leader).
      const changed = this.tables.changed().then(() => true);
      const woken = await Promise.race([changed, sleep(backoffMs(attempt, DATA_RETRY.backoffBaseMs, DATA_RETRY.backoffMaxMs)).then(() => false)]);
      if (!woken) await this.tables.refreshTable(table.tid).catch(() => undefined);
      // A retry brought early by new routing does not use up an attempt (up to wakeupsMax of them).
      if (woken && wakeups < DATA_RETRY.wakeupsMax) wakeups++;
      else attempt++;
      const fresh = this.tables.byId(table.tid);
      if (!fresh) throw new TesseraError('TABLE_NOT_FOUND', `table ${table.schema.name} was dropped`, { tid: table.tid });
      current = fresh;
    }
    throw lastErr;
  }

  /** Writes one row to every partition one of its index keys hashes to. */
  async put(table: TableInfo, values: Value[], tsMs: number): Promise<void> {
    requireRowTimes(table.schema, values);
    const split = splitByPartition(table, values);
    await Promise.all(
      [...split].map(([pid, dims]) => {
        const writeId = newWriteId();
        const dimsField = dims.length === table.schema.indexes.length ? undefined : dims;
        return this.withLeader(table, pid, (ep, t) =>
          this.http.call(ep, '/v1/data/put', { tid: t.tid, pid, row: values, ts: tsMs, writeId, ...(dimsField ? { dims: dimsField } : {}) }),
        );
      }),
    );
  }

  /** Writes rows grouped into one batch per partition. */
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
    await Promise.all(
      [...byPid].map(([pid, items]) =>
        this.withLeader(table, pid, (ep, t) => this.http.callRaw(ep, '/v1/data/put_batch', encode({ tid: t.tid, pid, rows: items }))),
      ),
    );
  }

  async get(table: TableInfo, index: string | undefined, key: string, ts?: number): Promise<WireRow | undefined> {
    findIndex(table.schema, index);
    key = lookupKey(key);
    const pid = pidOf(table, key);
    const res = await this.withLeader(table, pid, (ep, t) =>
      this.http.call<{ row: WireRow | null }>(ep, '/v1/data/get', { tid: t.tid, pid, index, key, ...(ts ? { ts } : {}) }),
    );
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
