/**
 * The leader's answers to admin commands (the `/v1/ns/*` routes) that read or change databases,
 * tables, tablets and configuration. Ops (migrate, changeleader, ...) are answered by the op
 * engine's shell. Texts follow OpenMLDB's so that ns_client prints what its operators know.
 */
import {
  TesseraError, fields, invalidArgument, type ConfGetResponse, type CreateTableRequest, type InfoResponse,
  type ShowTableResponse, type ShowTableRow, type ShowTabletResponse, type ReplicaStatus, type TableInfo, type UpdateTableAliveRequest, ttlText,
  type GetTablePartitionResponse, type SetTablePartitionRequest,
} from '@tessera/common';
import type { Coord, ZkLayout } from '@tessera/coord';
import type { MetadataStore } from './metadata.js';
import type { StatusPoller } from './status-poller.js';
import type { TabletTracker } from './tablets.js';
import type { TableDefaults } from '../core/table-create.js';
import type { OpShell } from './op-shell.js';
import { isMoveLimitKey, moveLimitRows, parseMoveLimit, writeMoveLimit } from './move-limits.js';
import { isSnapshotLimitKey, parseBytesPerSec, SNAPSHOT_LIMIT_KEYS, type SnapshotLimits } from './snapshot-limits.js';

export interface MetadataCommandsDeps {
  session: Coord;
  layout: ZkLayout;
  meta: MetadataStore;
  tablets: TabletTracker;
  poller: StatusPoller;
  ops: OpShell;
  defaults: TableDefaults;
  /** The snapshot bandwidth settings (confset snapshot_bytes_per_sec...). */
  snapshotLimits?: SnapshotLimits;
}

/** showtable and info poll the tablets when their last report is older than this. */
const STATUS_FRESH_MS = 50;

/** A non-empty string field (common's one field validator). */
const str = fields.text;

export class MetadataCommands {
  constructor(private readonly d: MetadataCommandsDeps) {}

  showtablet(): ShowTabletResponse {
    const replicas = new Map<string, number>();
    const leaders = new Map<string, number>();
    for (const t of this.d.meta.allTables()) {
      for (const p of t.partitions) {
        for (const r of p.replicas) {
          this.d.tablets.noteKnown(r.endpoint);
          replicas.set(r.endpoint, (replicas.get(r.endpoint) ?? 0) + 1);
          if (r.isLeader && r.isAlive) leaders.set(r.endpoint, (leaders.get(r.endpoint) ?? 0) + 1);
        }
      }
    }
    return {
      tablets: this.d.tablets.all().map((t) => {
        const real = t.registration?.listenEndpoint;
        return {
          endpoint: t.endpoint, state: t.state, ageMs: this.d.tablets.ageMs(t), replicas: replicas.get(t.endpoint) ?? 0, leaders: leaders.get(t.endpoint) ?? 0,
          ...(real ? { realEndpoint: real } : {}),
        };
      }),
    };
  }

  async createdb(body: Record<string, unknown>): Promise<Record<string, never>> {
    await this.d.meta.createDb(str(body, 'db'));
    return {};
  }

  async dropdb(body: Record<string, unknown>): Promise<Record<string, never>> {
    await this.d.meta.dropDb(str(body, 'db'));
    return {};
  }

  showdb(): { dbs: string[] } {
    return { dbs: this.d.meta.databases() };
  }

  /** createtable: checked, placed, created on the tablets and written by the engine (core/table-jobs.ts). */
  async createtable(body: Record<string, unknown>): Promise<{ tid: number }> {
    const request = body as unknown as CreateTableRequest;
    const db = (request.schema as { db?: unknown } | undefined)?.db;
    const dbExists = typeof db === 'string' && this.d.meta.hasDb(db);
    return (await this.d.ops.admin({ type: 'createtable', request, dbExists, defaults: this.d.defaults })) as { tid: number };
  }

  /** droptable: the engine drops the replicas and deletes the table's metadata (core/table-jobs.ts). */
  async droptable(body: Record<string, unknown>): Promise<Record<string, never>> {
    await this.d.ops.admin({ type: 'droptable', db: str(body, 'db'), name: str(body, 'name') });
    return {};
  }

  /**
   * Fresh replica status for one table (asked of its replicas only: O(that table)), or for
   * everything (a poll of every tablet, unless one finished within STATUS_FRESH_MS).
   */
  private async statusLookup(table: TableInfo | undefined): Promise<(endpoint: string, tid: number, pid: number) => ReplicaStatus | undefined> {
    if (table) {
      const fresh = await this.d.poller.tableStatus(table);
      return (endpoint, tid, pid) => fresh.get(`${endpoint}/${tid}_${pid}`);
    }
    await this.d.poller.refreshIfOlderThan(STATUS_FRESH_MS);
    return (endpoint, tid, pid) => this.d.poller.replica(endpoint, tid, pid);
  }

  async showtable(body: Record<string, unknown>): Promise<ShowTableResponse> {
    const db = str(body, 'db');
    this.d.meta.requireDb(db);
    const name = body.name === undefined || body.name === null || body.name === '' ? undefined : str(body, 'name');
    const tables = name ? [this.d.meta.requireTable(db, name)] : this.d.meta.tablesOf(db);
    const statusOf = await this.statusLookup(name ? tables[0] : undefined);
    const rows: ShowTableRow[] = [];
    for (const t of tables) {
      for (const p of t.partitions) {
        for (const r of p.replicas) {
          const row: ShowTableRow = {
            name: t.schema.name, tid: t.tid, pid: p.pid, endpoint: r.endpoint, role: r.isLeader ? 'leader' : 'follower',
            ttl: ttlText(t.schema.indexes[0]!.ttl), isAlive: r.isAlive, compressType: t.compressType,
          };
          const st = statusOf(r.endpoint, t.tid, p.pid);
          if (st) {
            row.offset = st.offset;
            row.recordCnt = st.recordCnt;
            row.memUsed = st.memUsed;
            row.diskUsed = st.diskUsed;
          }
          rows.push(row);
        }
      }
    }
    return { replicas: rows };
  }

  showschema(body: Record<string, unknown>): { table: TableInfo } {
    return { table: this.d.meta.requireTable(str(body, 'db'), str(body, 'name')) };
  }

  async info(body: Record<string, unknown>): Promise<InfoResponse> {
    const table = this.d.meta.requireTable(str(body, 'db'), str(body, 'name'));
    const statusOf = await this.statusLookup(table);
    const out: InfoResponse = { table };
    let recordCnt = 0;
    let memUsed = 0;
    let diskUsed = 0;
    let known = false;
    for (const p of table.partitions) {
      const leader = p.replicas.find((r) => r.isLeader && r.isAlive);
      const st = leader ? statusOf(leader.endpoint, table.tid, p.pid) : undefined;
      if (!st) continue;
      known = true;
      recordCnt += st.recordCnt;
      memUsed += st.memUsed;
      diskUsed += st.diskUsed;
    }
    if (known) Object.assign(out, { recordCnt, memUsed, diskUsed });
    return out;
  }

  async confset(body: Record<string, unknown>): Promise<Record<string, never>> {
    const key = str(body, 'key');
    const value = str(body, 'value').toLowerCase();
    if (isSnapshotLimitKey(key) && this.d.snapshotLimits !== undefined) {
      await this.d.snapshotLimits.set(key, parseBytesPerSec(value));
      return {};
    }
    if (isMoveLimitKey(key)) {
      // The move limits (move-limits.ts): stored, then applied by the running engine at once.
      this.d.ops.settings(await writeMoveLimit(this.d.session, this.d.layout, key, parseMoveLimit(key, value)));
      return {};
    }
    if (key !== 'auto_failover' || (value !== 'true' && value !== 'false')) throw invalidArgument('invalid parameter');
    await this.d.session.createOrSet(this.d.layout.autoFailover, value);
    return {};
  }

  async confget(body: Record<string, unknown>): Promise<ConfGetResponse> {
    const key = body.key === undefined || body.key === null || body.key === '' ? undefined : str(body, 'key');
    const limits = this.d.snapshotLimits;
    if (key !== undefined && isSnapshotLimitKey(key) && limits !== undefined) return { conf: [{ key, value: String(limits.get(key)) }] };
    if (key !== undefined && key !== 'auto_failover' && !isMoveLimitKey(key)) throw new TesseraError('INVALID_ARGUMENT', `key ${key} does not exist`);
    const conf = [{ key: 'auto_failover', value: String(await this.autoFailover()) }, ...(await moveLimitRows(this.d.session, this.d.layout))];
    if (limits !== undefined) for (const k of SNAPSHOT_LIMIT_KEYS) conf.push({ key: k, value: String(limits.get(k)) });
    return { conf: key === undefined ? conf : conf.filter((c) => c.key === key) };
  }

  /**
   * updatetablealive: OpenMLDB's preconditions (auto_failover off, checked by the route as for
   * every gated command; then — in the engine, which owns table metadata — endpoint known,
   * table, pid, a replica on the endpoint) and flags.
   */
  async updatetablealive(body: Record<string, unknown>): Promise<Record<string, never>> {
    const req: UpdateTableAliveRequest = { db: str(body, 'db'), name: str(body, 'name'), endpoint: str(body, 'endpoint'), isAlive: body.isAlive === true };
    if (typeof body.pid === 'number') req.pid = body.pid;
    await this.d.ops.admin({ type: 'updatetablealive', ...req });
    return {};
  }

  /** gettablepartition: the partition's metadata as stored (OpenMLDB's GetTablePartition). */
  gettablepartition(body: Record<string, unknown>): GetTablePartitionResponse {
    const table = this.d.meta.requireTable(str(body, 'db'), str(body, 'name'));
    const partition = table.partitions.find((p) => p.pid === body.pid);
    if (!partition) throw new TesseraError('PARTITION_NOT_FOUND', `pid[${String(body.pid)}] does not exist in table[${table.schema.name}]`);
    return { tid: table.tid, partition };
  }

  /**
   * settablepartition: auto_failover must be off (as OpenMLDB: the monitor would race a hand
   * edit; the route checks it, core/failover-gate.ts), then the engine — the only writer of
   * table metadata — checks and writes it.
   */
  async settablepartition(body: Record<string, unknown>): Promise<Record<string, never>> {
    const req: SetTablePartitionRequest = { db: str(body, 'db'), name: str(body, 'name'), partition: body.partition as SetTablePartitionRequest['partition'] };
    if (typeof body.tid === 'number') req.tid = body.tid;
    await this.d.ops.admin({ type: 'settablepartition', ...req });
    return {};
  }

  async autoFailover(): Promise<boolean> {
    const node = await this.d.session.get(this.d.layout.autoFailover);
    return node?.data.toString('utf8') === 'true';
  }
}
