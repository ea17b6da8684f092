/**
 * The SDK. `Client.connect({ zkCluster, zkRootPath })` reads table metadata from ZooKeeper and
 * follows `/table/notify`; data calls go straight to partition leaders (the nameserver is not on
 * the data path); admin calls go to the leader nameserver. Rows are plain objects keyed by column
 * name. For a table whose columns include no `ts`, a row's `ts` property (epoch ms; now if
 * absent) is its time for indexes that name no ts column, and rows read back carry it.
 */
import {
  HttpClient, KV_KEY_COLUMN, kvSchema, normalizeRow, rowObject, TesseraError, validateName, type NsAdmin, type TableSchema, type Value,
  type CreateTableRequest, type Logger, type TableInfo, type TtlDef,
} from '@tessera/common';
import { CoordSession, zkLayout, type NativeLogLevel } from '@tessera/coord';
import { NsAdminClient } from './admin-client.js';
import { DataClient, type WireRow } from './data-client.js';
import { TableCache } from './table-cache.js';

export interface ClientOptions {
  zkCluster: string;
  zkRootPath: string;
  sessionTimeoutMs?: number;
  /** Sockets per tablet in the keep-alive pool. */
  connectionsPerTablet?: number;
  /** Time limit of one request to a tablet. */
  requestTimeoutMs?: number;
  /**
   * How long one data call keeps retrying across leader changes and not-yet-serving leaders, ms from
   * its first send (default DATA_RETRY.budgetMs, 20 s); then the last refusal is its error.
   */
  retryBudgetMs?: number;
  /** Where the client's ZooKeeper session says what it does (connects, losses, expiry); default silent. */
  logger?: Logger;
  /** The native ZooKeeper C client's own stderr log (CoordSessionOptions.nativeLogLevel); default off. */
  zkNativeLogLevel?: NativeLogLevel;
}

export type Row = Record<string, Value>;

export interface TableDefinition {
  name: string;
  columns: TableSchema['columns'];
  indexes: Array<Omit<TableSchema['indexes'][number], 'ttl'> & { ttl?: TableSchema['indexes'][number]['ttl'] }>;
  partitionNum?: number;
  replicaNum?: number;
  compressType?: 'kNoCompress' | 'kSnappy';
  replicaAck?: 'leader' | 'all';
  partitions?: CreateTableRequest['partitions'];
}

/** Options of `createDatabase` and `createTable`. */
export interface CreateOptions {
  /** Succeed when it exists already (as SQL's IF NOT EXISTS). */
  ifNotExists?: boolean;
}

/** A key-value table's definition (OpenMLDB's schemaless table): a TTL and the table's sizes. */
export interface KvTableDefinition {
  name: string;
  ttl?: TtlDef;
  partitionNum?: number;
  replicaNum?: number;
  compressType?: 'kNoCompress' | 'kSnappy';
  replicaAck?: 'leader' | 'all';
}

/** One version of a key in a key-value table. */
export interface KvEntry {
  ts: number;
  value: string;
}

export class Client {
  /** The nameserver admin API (every ns_client command). */
  readonly admin: NsAdmin;

  private constructor(
    private readonly session: CoordSession,
    private readonly adminClient: NsAdminClient,
    private readonly tables: TableCache,
    private readonly http: HttpClient,
    readonly data: DataClient,
  ) {
    this.admin = adminClient.asNsAdmin();
  }

  static async connect(options: ClientOptions): Promise<Client> {
    for (const field of ['connectionsPerTablet', 'requestTimeoutMs', 'retryBudgetMs'] as const) {
      const v = options[field];
      if (v !== undefined && (!Number.isSafeInteger(v) || v <= 0)) throw new TesseraError('INVALID_ARGUMENT', `${field} must be a positive integer`, { field });
    }
    const session = await CoordSession.connect({
      zkCluster: options.zkCluster, rootPath: options.zkRootPath, sessionTimeoutMs: options.sessionTimeoutMs ?? 10_000,
      ...(options.logger ? { logger: options.logger } : {}), ...(options.zkNativeLogLevel ? { nativeLogLevel: options.zkNativeLogLevel } : {}),
    });
    const layout = zkLayout(options.zkRootPath);
    const tables = new TableCache(session, layout);
    try {
      await tables.start();
    } catch (err) {
      await session.close();
      throw err;
    }
    const http = new HttpClient({ connectionsPerEndpoint: options.connectionsPerTablet ?? 32, timeoutMs: options.requestTimeoutMs ?? 10_000 });
    return new Client(session, new NsAdminClient(session, layout), tables, http, new DataClient(tables, http, options.retryBudgetMs === undefined ? {} : { retryBudgetMs: options.retryBudgetMs }));
  }

  /** The leader nameserver's endpoint, as last seen. */
  leaderNameserver(refresh = false): Promise<string | undefined> {
    return this.adminClient.leaderEndpoint(refresh);
  }

  /** Creates a database; with `ifNotExists` one that exists already is not an error (SQL's IF NOT EXISTS). */
  async createDatabase(db: string, opts: CreateOptions = {}): Promise<void> {
    try {
      await this.admin.createdb({ db: validateName('database', db) });
    } catch (err) {
      if (opts.ifNotExists && err instanceof TesseraError && err.code === 'DATABASE_EXISTS') return;
      throw err;
    }
  }

  async dropDatabase(db: string): Promise<void> {
    await this.admin.dropdb({ db });
  }

  /**
   * Creates a table and returns its tid. With `ifNotExists` a table of that name that exists
   * already is not an error and its tid is returned; as SQL's IF NOT EXISTS, its schema is not
   * compared with `def`.
   */
  async createTable(db: string, def: TableDefinition, opts: CreateOptions = {}): Promise<number> {
    const req: CreateTableRequest = {
      schema: { db, name: def.name, columns: def.columns, indexes: def.indexes.map((i) => ({ ...i, ttl: i.ttl ?? { type: 'absolute', absMinutes: 0, latest: 0 } })) },
    };
    if (def.partitions !== undefined) req.partitions = def.partitions;
    return this.create(req, def, opts, () => this.tables.require(db, def.name));
  }

  /** Creates a key-value table (columns `key` and `value`, one index `key` timed by the write). */
  async createKvTable(db: string, def: KvTableDefinition, opts: CreateOptions = {}): Promise<number> {
    const req: CreateTableRequest = { schema: kvSchema(def.name, db, def.ttl ?? { type: 'absolute', absMinutes: 0, latest: 0 }) };
    return this.create(req, def, opts, () => this.kvTable(db, def.name));
  }

  /**
   * createtable with the definition's placement options; with `ifNotExists`, TABLE_EXISTS answers
   * the existing table's tid (`existing`, after a refresh). Refreshes the new table's routing.
   */
  private async create(req: CreateTableRequest, def: Pick<TableDefinition, 'partitionNum' | 'replicaNum' | 'compressType' | 'replicaAck'>, opts: CreateOptions, existing: () => Promise<{ tid: number }>): Promise<number> {
    if (def.partitionNum !== undefined) req.partitionNum = def.partitionNum;
    if (def.replicaNum !== undefined) req.replicaNum = def.replicaNum;
    if (def.compressType !== undefined) req.compressType = def.compressType;
    if (def.replicaAck !== undefined) req.replicaAck = def.replicaAck;
    let tid: number;
    try {
      ({ tid } = await this.admin.createtable(req));
    } catch (err) {
      if (!(opts.ifNotExists && err instanceof TesseraError && err.code === 'TABLE_EXISTS')) throw err;
      await this.tables.refresh();
      return (await existing()).tid;
    }
    await this.tables.refreshTable(tid);
    return tid;
  }

  /** `put t key ts value` on a key-value table. */
  async putKv(db: string, table: string, key: string, tsMs: number, value: string): Promise<void> {
    const t = await this.kvTable(db, table);
    if (!Number.isSafeInteger(tsMs) || tsMs < 0) throw new TesseraError('INVALID_ARGUMENT', 'ts must be epoch milliseconds', { field: 'ts' });
    await this.data.put(t, normalizeRow(t.schema, [key, value]), tsMs);
  }

  /** The newest version of `key` with ts ≤ `tsMs` (the newest of all when absent or 0). */
  async getKv(db: string, table: string, key: string, tsMs?: number): Promise<KvEntry | undefined> {
    const t = await this.kvTable(db, table);
    const row = await this.data.get(t, KV_KEY_COLUMN, key, tsMs);
    return row ? { ts: row.ts, value: String(row.values[1]) } : undefined;
  }

  /** Versions of `key` with et < ts ≤ st, newest first. */
  async scanKv(db: string, table: string, key: string, st: number, et: number, limit?: number): Promise<KvEntry[]> {
    const t = await this.kvTable(db, table);
    return (await this.data.scan(t, KV_KEY_COLUMN, key, st, et, limit)).map((r) => ({ ts: r.ts, value: String(r.values[1]) }));
  }

  private async kvTable(db: string, table: string): Promise<TableInfo> {
    const t = await this.tables.require(db, table);
    if (!t.schema.kv) throw new TesseraError('INVALID_ARGUMENT', `table ${table} is not a key-value table`, { table });
    return t;
  }

  async dropTable(db: string, name: string): Promise<void> {
    const known = this.tables.find(db, name);
    await this.admin.droptable({ db, name });
    if (known) await this.tables.refreshTable(known.tid);
    else await this.tables.refresh();
  }

  /** Table metadata (refreshed from ZooKeeper if unknown). */
  table(db: string, name: string): Promise<TableInfo> {
    return this.tables.require(db, name);
  }

  async put(db: string, table: string, row: Row): Promise<void> {
    const t = await this.tables.require(db, table);
    const [values, tsMs] = this.toValues(t, row);
    await this.data.put(t, values, tsMs);
  }

  async putBatch(db: string, table: string, rows: Row[]): Promise<void> {
    const t = await this.tables.require(db, table);
    await this.data.putBatch(t, rows.map((r) => {
      const [values, tsMs] = this.toValues(t, r);
      return { values, tsMs };
    }));
  }

  async get(db: string, table: string, q: { index?: string; key: string; ts?: number }): Promise<Row | undefined> {
    const t = await this.tables.require(db, table);
    const row = await this.data.get(t, q.index, q.key, q.ts);
    return row ? this.toRow(t, row) : undefined;
  }

  async scan(db: string, table: string, q: { index?: string; key: string; st: number; et: number; limit?: number }): Promise<Row[]> {
    const t = await this.tables.require(db, table);
    return (await this.data.scan(t, q.index, q.key, q.st, q.et, q.limit)).map((r) => this.toRow(t, r));
  }

  async count(db: string, table: string, q: { index?: string; key: string }): Promise<number> {
    const t = await this.tables.require(db, table);
    return this.data.count(t, q.index, q.key);
  }

  async delete(db: string, table: string, q: { index?: string; key: string }): Promise<number> {
    const t = await this.tables.require(db, table);
    return this.data.delete(t, q.index, q.key);
  }

  async close(): Promise<void> {
    this.tables.stop();
    await this.adminClient.close();
    await this.http.close();
    await this.session.close();
  }

  private toValues(t: TableInfo, row: Row): [Value[], number] {
    if (typeof row !== 'object' || row === null) throw new TesseraError('INVALID_ARGUMENT', 'a row must be an object keyed by column name');
    const tsIsColumn = t.schema.columns.some((c) => c.name === 'ts');
    let tsMs = Date.now();
    let input: Row = row;
    if (!tsIsColumn && 'ts' in row) {
      const { ts, ...rest } = row;
      if (typeof ts !== 'number' || !Number.isSafeInteger(ts) || ts < 0) throw new TesseraError('INVALID_ARGUMENT', 'ts must be epoch milliseconds', { field: 'ts' });
      tsMs = ts;
      input = rest;
    }
    return [normalizeRow(t.schema, input), tsMs];
  }

  private toRow(t: TableInfo, r: WireRow): Row {
    const o = rowObject(t.schema, r.values);
    if (!t.schema.columns.some((c) => c.name === 'ts')) o.ts = r.ts;
    return o;
  }
}
