/**
 * Data routes (`/v1/data/*`): put one row, put a batch, get, scan, count, preview, delete, on the
 * replica named by (tid, pid). Writes only on a serving leader (NOT_LEADER otherwise, with the
 * leader hint); reads on any serving replica, on a leader only while it holds its lease
 * (hooks.leaderRead). Every field is checked before anything changes.
 */
import { type HttpServer, bodyObject, findIndex, invalidArgument, LIMITS, normalizeRow, requireRowTimes, TesseraError, validateKey } from '@tessera/common';
import type { PutRow } from '@tessera/storage';
import type { ReplicaManager } from './replica-manager.js';
import { int, optUint, str, tidPid } from './validate.js';
import type { Replica } from './replica.js';

export interface DataRouteHooks {
  /** Writes rows on the leader, a retried write id only once; returns the offset to wait for. */
  writeOnce(replica: Replica, rows: PutRow[]): Promise<number>;
  /** The offset a write id already produced (deletes), if known. */
  knownWrite(replica: Replica, writeId: string | undefined): number | undefined;
  rememberOne(replica: Replica, writeId: string | undefined, offset: number): void;
  /** Called after a leader's local batch; resolves when the write may be acknowledged. */
  afterLocalWrite(replica: Replica, lastOffset: number): Promise<void>;
  /** The highest binlog offset a read may see (a leader's commit point): a number when known, else waited for. */
  visibleOffset(replica: Replica): number | Promise<number>;
  /**
   * Called first by every read: refuses (or briefly confirms) a leader read while this tablet's
   * leader lease has lapsed (lease.ts); undefined at once on the hot path.
   */
  leaderRead(replica: Replica): Promise<void> | undefined;
  /**
   * A read of `request` answered from `replica` (called once per replica a get_multi read, after
   * the read): its answer is re-checked against the lease and the replica's role before it leaves.
   */
  readFrom(request: object, replica: Replica): void;
}

/** Reads one wire row `{ row, ts?, writeId? }` into a stored row. */
function putRow(replica: Replica, item: unknown, nowMs: number): PutRow {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) throw invalidArgument('each row must be a map { row, ts?, writeId? }');
  const r = item as Record<string, unknown>;
  const values = normalizeRow(replica.store.schema, r.row);
  requireRowTimes(replica.store.schema, values);
  const ts = r.ts === undefined || r.ts === null ? nowMs : r.ts;
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts) || ts < 0) throw invalidArgument('ts must be a non-negative integer (epoch ms)', { field: 'ts' });
  const out: PutRow = { values, ts };
  if (r.dims !== undefined && r.dims !== null) {
    if (!Array.isArray(r.dims) || r.dims.some((d) => typeof d !== 'number')) throw invalidArgument('dims must be a list of index numbers', { field: 'dims' });
    out.dims = r.dims as number[];
  }
  if (r.writeId !== undefined) {
    if (typeof r.writeId !== 'string' || r.writeId.length > 128) throw invalidArgument('writeId must be a string of at most 128 characters', { field: 'writeId' });
    out.writeId = r.writeId;
  }
  return out;
}

function rowsOut(rows: Array<{ ts: number; values: unknown[] }>): Array<{ ts: number; values: unknown[] }> {
  return rows.map((r) => ({ ts: r.ts, values: r.values }));
}

export function registerDataRoutes(app: HttpServer, replicas: ReplicaManager, hooks: DataRouteHooks): void {
  /**
   * Every data route's preamble, in its one order: the body as a map, its (tid, pid), the replica
   * (REPLICA_NOT_HERE: a client's routing is stale, not the table gone — the SDK refreshes and
   * retries), and the replica's check: writable, or readable (replica.ts says which).
   */
  function target(raw: unknown, use: 'write' | 'read'): { body: Record<string, unknown>; replica: Replica } {
    const body = bodyObject(raw);
    const { tid, pid } = tidPid(body);
    const replica = replicas.get(tid, pid);
    if (replica === undefined) throw new TesseraError('REPLICA_NOT_HERE', `this tablet holds no replica of tid ${tid} pid ${pid}`, { tid, pid });
    if (use === 'write') replica.assertWritable();
    else replica.assertReadable();
    return { body, replica };
  }

  /** A read's preamble: the target, then the leader lease (hooks.leaderRead); the answer's re-check is named (hooks.readFrom). */
  async function readTarget(req: { body: unknown }): Promise<{ body: Record<string, unknown>; replica: Replica }> {
    const t = target(req.body, 'read');
    await hooks.leaderRead(t.replica);
    hooks.readFrom(req, t.replica);
    return t;
  }

  app.post('/v1/data/put', async (req) => {
    const { body, replica } = target(req.body, 'write');
    const row = putRow(replica, body, Date.now());
    const offset = await hooks.writeOnce(replica, [row]);
    await hooks.afterLocalWrite(replica, offset);
    return { offset };
  });

  app.post('/v1/data/put_batch', async (req) => {
    const { body, replica } = target(req.body, 'write');
    if (!Array.isArray(body.rows)) throw invalidArgument('rows must be a list', { field: 'rows' });
    if (body.rows.length === 0) throw invalidArgument('rows is empty', { field: 'rows' });
    if (body.rows.length > LIMITS.batchRowsMax) throw new TesseraError('LIMIT_EXCEEDED', `a batch holds at most ${LIMITS.batchRowsMax} rows`, { field: 'rows' });
    const now = Date.now();
    const rows = body.rows.map((r: unknown) => putRow(replica, r, now));
    const lastOffset = await hooks.writeOnce(replica, rows);
    await hooks.afterLocalWrite(replica, lastOffset);
    return { lastOffset };
  });

  /**
   * Rows of several partitions led here, in one request (the SDK's coalesced puts): each
   * partition is checked, written and acknowledged on its own, as a put_batch would be, and
   * answered on its own: `{ results: [{ lastOffset } | { error }] }` in the order of `parts`.
   */
  app.post('/v1/data/put_multi', async (req) => {
    const body = bodyObject(req.body);
    const parts = body.parts;
    if (!Array.isArray(parts) || parts.length === 0) throw invalidArgument('parts must be a non-empty list', { field: 'parts' });
    if (parts.length > LIMITS.partitionsMax) throw new TesseraError('LIMIT_EXCEEDED', `a put_multi holds at most ${LIMITS.partitionsMax} parts`, { field: 'parts' });
    let total = 0;
    for (const part of parts) total += Array.isArray((part as { rows?: unknown })?.rows) ? (part as { rows: unknown[] }).rows.length : 0;
    if (total > LIMITS.batchRowsMax) throw new TesseraError('LIMIT_EXCEEDED', `a put_multi holds at most ${LIMITS.batchRowsMax} rows`, { field: 'parts' });
    const now = Date.now();
    const results = await Promise.all(parts.map(async (part: unknown) => {
      try {
        const { body: p, replica } = target(part, 'write');
        if (!Array.isArray(p.rows) || p.rows.length === 0) throw invalidArgument('rows must be a non-empty list', { field: 'rows' });
        const rows = p.rows.map((r: unknown) => putRow(replica, r, now));
        const lastOffset = await hooks.writeOnce(replica, rows);
        await hooks.afterLocalWrite(replica, lastOffset);
        return { lastOffset };
      } catch (err) {
        // A refusal answers for its partition only; anything else fails the request (and is logged).
        if (err instanceof TesseraError) return err.toWire();
        throw err;
      }
    }));
    return { results };
  });

  /** One get `{ tid, pid, index?, key, ts? }`: the newest row of the key up to the commit point. */
  const getOne = async (req: { body: unknown }): Promise<{ row: { ts: number; values: unknown[] } | null }> => {
    const { body, replica } = await readTarget(req);
    const indexNo = findIndex(replica.store.schema, body.index);
    const key = validateKey(body.key);
    const ts = int(body, 'ts', 0);
    const v = hooks.visibleOffset(replica);
    const row = await replica.store.get(indexNo, key, ts, Date.now(), typeof v === 'number' ? v : await v);
    return row ? { row: { ts: row.ts, values: row.values } } : { row: null };
  };

  app.post('/v1/data/get', async (req) => getOne(req));

  /**
   * Several gets in one request (the SDK's coalesced gets), each answered on its own:
   * `{ results: [{ row } | { error }] }` in the order of `gets`. The gets of one replica share one
   * LevelDB iterator (`ReplicaStore.getMany`), read at one commit point.
   */
  app.post('/v1/data/get_multi', async (req) => {
    const body = bodyObject(req.body);
    const gets = body.gets;
    if (!Array.isArray(gets) || gets.length === 0) throw invalidArgument('gets must be a non-empty list', { field: 'gets' });
    if (gets.length > LIMITS.batchRowsMax) throw new TesseraError('LIMIT_EXCEEDED', `a get_multi holds at most ${LIMITS.batchRowsMax} gets`, { field: 'gets' });
    const results: unknown[] = new Array(gets.length);
    const byReplica = new Map<Replica, Array<{ i: number; indexNo: number; key: string; ts: number }>>();
    gets.forEach((g: unknown, i: number) => {
      try {
        const { body: q, replica } = target(g, 'read');
        const item = { i, indexNo: findIndex(replica.store.schema, q.index), key: validateKey(q.key), ts: int(q, 'ts', 0) };
        const list = byReplica.get(replica);
        if (list) list.push(item);
        else byReplica.set(replica, [item]);
      } catch (err) {
        if (!(err instanceof TesseraError)) throw err;
        results[i] = err.toWire();
      }
    });
    await Promise.all([...byReplica].map(async ([replica, items]) => {
      try {
        // The leader lease gates these reads as it gates /v1/data/get.
        const leased = hooks.leaderRead(replica);
        if (leased) await leased;
        const v = hooks.visibleOffset(replica);
        const rows = await replica.store.getMany(items, Date.now(), typeof v === 'number' ? v : await v);
        hooks.readFrom(req, replica);
        items.forEach((item, j) => {
          const r = rows[j];
          results[item.i] = r instanceof TesseraError ? r.toWire() : r ? { row: { ts: r.ts, values: r.values } } : { row: null };
        });
      } catch (err) {
        if (!(err instanceof TesseraError)) throw err;
        for (const item of items) results[item.i] = err.toWire();
      }
    }));
    return { results };
  });

  app.post('/v1/data/scan', async (req) => {
    const { body, replica } = await readTarget(req);
    const indexNo = findIndex(replica.store.schema, body.index);
    const key = validateKey(body.key);
    const st = int(body, 'st', 0);
    const et = int(body, 'et', 0);
    const limit = optUint(body, 'limit', LIMITS.scanRowsMax);
    if (limit > LIMITS.scanRowsMax) throw new TesseraError('LIMIT_EXCEEDED', `scan limit is at most ${LIMITS.scanRowsMax}`, { field: 'limit' });
    if (st > 0 && et >= st) throw invalidArgument('st must be greater than et', { field: 'st' });
    const v = hooks.visibleOffset(replica);
    return { rows: rowsOut(await replica.store.scan(indexNo, key, st, et, limit === 0 ? LIMITS.scanRowsMax : limit, Date.now(), typeof v === 'number' ? v : await v)) };
  });

  app.post('/v1/data/count', async (req) => {
    const { body, replica } = await readTarget(req);
    const indexNo = findIndex(replica.store.schema, body.index);
    const k = validateKey(body.key);
    const v = hooks.visibleOffset(replica);
    return { count: await replica.store.count(indexNo, k, Date.now(), typeof v === 'number' ? v : await v) };
  });

  app.post('/v1/data/preview', async (req) => {
    const { body, replica } = await readTarget(req);
    const limit = optUint(body, 'limit', LIMITS.previewRowsDefault);
    if (limit > LIMITS.previewRowsMax) throw new TesseraError('LIMIT_EXCEEDED', `preview limit is at most ${LIMITS.previewRowsMax}`, { field: 'limit' });
    return { rows: rowsOut(await replica.store.preview(limit === 0 ? LIMITS.previewRowsDefault : limit)) };
  });

  app.post('/v1/data/delete', async (req) => {
    const { body, replica } = target(req.body, 'write');
    const indexNo = findIndex(replica.store.schema, body.index);
    const key = validateKey(body.key);
    const writeId = body.writeId === undefined || body.writeId === null ? undefined : str(body, 'writeId', 128);
    const known = hooks.knownWrite(replica, writeId);
    if (known !== undefined) {
      await hooks.afterLocalWrite(replica, known);
      return { offset: known, deleted: 0, duplicate: true };
    }
    const res = await replica.store.delete(indexNo, key, writeId);
    hooks.rememberOne(replica, writeId, res.offset);
    await hooks.afterLocalWrite(replica, res.offset);
    // Versioned delete (docs/replication.md): reads below its offset still saw the rows; once
    // the read point has passed it, the tombstoned entries can go for good.
    const visible = hooks.visibleOffset(replica);
    if (typeof visible === 'number') void replica.store.purgeDeletes(Math.min(visible, res.offset)).catch(() => undefined);
    return res;
  });
}
