/**
 * The ns_client commands: one handler per command, each turning its words into nameserver admin
 * calls (`NsAdmin`) or data calls (`DataOps`) and its answer into OpenMLDB's text — the same
 * tables, the same success lines (`Create table ok`, `partition migrate ok`) and failure lines
 * (`failed to migrate partition. error msg: <nameserver text>`). Wrong arguments print the
 * command's usage line, an unknown command `unsupported cmd`; nothing ever prints a stack trace.
 * A handler answers `{ ok, output }` plus, for `--format=json`, the structured `data` it printed.
 */
import {
  LIMITS,
  normalizeValue,
  openmldbReturnCode,
  openmldbText,
  TesseraError,
  ttlText,
  ttlTypeName,
  type ColumnDef,
  type DataOps,
  type DataRow,
  type NsAdmin,
  type TableInfo,
  type TableSchema,
  type TtlDef,
  type Value,
} from '@tessera/common';
import { kvGet, kvPreview, kvPut, kvScan } from './kv-commands.js';
import { fail, failWith, messageOf, NO_DATABASE, ok } from './result.js';
import { gettablepartition, settablepartition } from './partition-commands.js';
import { healthcheck, HEALTHCHECK_USAGE, type ClusterProbe } from './healthcheck.js';
import { setttl, SETTTL_USAGE } from './setttl.js';
import { parseBool, parseCommandLine, parsePidGroup, parseShortCreate, parseTableMetaFile, parseUint } from './parse.js';
import { apply, rebalance, scalein, scaleout } from './scale.js';
import { showop, takeReason, waitForOps, withReason } from './op-commands.js';
import { postUpgrade, preUpgrade } from './upgrade.js';
import { formatAge, formatBytes, formatLocalTime, formatOptional, formatSeconds, renderNumberedTable, renderTable, toJsonLine } from './table-format.js';

export interface CommandResult {
  ok: boolean;
  /** What ns_client prints (no final newline); empty prints nothing. */
  output: string;
  /** The structured answer behind the text, for `--format=json`. */
  data?: unknown;
  /** Catalogue code of the failure, when the nameserver or SDK gave one. */
  code?: string;
  /** `quit` / `exit`: stop reading commands. */
  quit?: boolean;
  /** The exit code this result asks for with `--cmd` (healthcheck: 0, 1, 2); default 0 ok, 1 failed. */
  exitCode?: number;
}

export type OutputFormat = 'table' | 'json';

/** What a handler may use; `db` is the current database and `use` changes it. */
export interface CommandContext {
  admin: NsAdmin;
  data: DataOps;
  db: string;
  /** Ask before dropping (OpenMLDB's `--interactive`). */
  interactive: boolean;
  /** Prints the question and reads the answer; true only for `yes`. */
  confirm(question: string): Promise<boolean>;
  readTextFile(path: string): Promise<string>;
  /** Writes a file (gettablepartition's `<table>_<pid>.txt`), relative to the current directory. */
  writeTextFile?(path: string, text: string): Promise<void>;
  nowMs(): number;
  /** Prints a progress line at once (long-running commands); absent = the lines go into the output. */
  progress?: (line: string) => void;
  /** Tables from ZooKeeper and tablets' own reports (healthcheck); absent in tests without a cluster. */
  probe?: ClusterProbe;
  /** On a terminal: replaces the current line (`showopstatus --wait`); undefined ends it with a newline. */
  redraw?: (line: string | undefined) => void;
  /** The output format (`--format`): json asks the nameserver for each op's detail too. */
  format?: OutputFormat;
  /** Waits (tests pass a fake); default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
}

type Handler = (args: string[], ctx: CommandContext) => Promise<CommandResult>;

interface CommandSpec {
  /** Arguments after the command name. */
  usage: string;
  help: string;
  minArgs: number;
  maxArgs: number;
  run: Handler;
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------


/** Runs `body` with the current database, or fails when none is selected. */
async function withDb(ctx: CommandContext, body: (db: string) => Promise<CommandResult>): Promise<CommandResult> {
  if (ctx.db === '') return fail(NO_DATABASE);
  return body(ctx.db);
}

/** Runs `body` with the table's metadata; `table <name> does not exist` when there is none. */
async function withTable(ctx: CommandContext, name: string, failPrefix: string, body: (t: TableInfo) => Promise<CommandResult>): Promise<CommandResult> {
  return withDb(ctx, async (db) => {
    let table: TableInfo;
    try {
      table = (await ctx.admin.showschema({ db, name })).table;
    } catch (err) {
      if (err instanceof TesseraError && err.code === 'TABLE_NOT_FOUND') return fail(`table ${name} does not exist`, err.code);
      return failWith(failPrefix, err);
    }
    return body(table);
  });
}

function opsData(res: { opIds: number[] }): unknown {
  return { opIds: res.opIds };
}

/** A stored value as a table cell. */
function cell(v: Value | undefined): string {
  if (v === null || v === undefined) return 'NULL';
  return typeof v === 'string' ? v : String(v);
}

function rowsTable(schema: TableSchema, rows: readonly DataRow[]): string {
  return renderNumberedTable(['ts', ...schema.columns.map((c) => c.name)], rows.map((r) => [String(r.tsMs), ...schema.columns.map((_, i) => cell(r.values[i]))]));
}

function rowsData(schema: TableSchema, rows: readonly DataRow[]): unknown {
  return { rows: rows.map((r) => ({ ts: r.tsMs, values: Object.fromEntries(schema.columns.map((c, i) => [c.name, r.values[i] ?? null])) })) };
}

function indexExists(table: TableInfo, index: string): boolean {
  return table.schema.indexes.some((x) => x.name === index);
}

const INT_RE = /^-?\d+$/;
const NULL_WORD = 'null';

/** A word of `put` as the value of its column, typed by the schema. */
function typedValue(col: ColumnDef, text: string): Value {
  if (col.type !== 'string' && text.toLowerCase() === NULL_WORD) return normalizeValue(col, null);
  const bad = (): TesseraError => new TesseraError('INVALID_ARGUMENT', `column ${col.name} expects ${col.type}, got '${text}'`, { column: col.name });
  switch (col.type) {
    case 'string':
    case 'date':
      return normalizeValue(col, text);
    case 'int32':
      if (!INT_RE.test(text)) throw bad();
      return normalizeValue(col, Number(text));
    case 'int64':
    case 'timestamp':
      if (!INT_RE.test(text)) throw bad();
      return normalizeValue(col, BigInt(text));
    case 'float':
    case 'double': {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n)) throw bad();
      return normalizeValue(col, n);
    }
    case 'bool': {
      const b = parseBool(text);
      if (b === undefined) throw bad();
      return b;
    }
  }
}

/** A TTL's value as `showschema` prints it next to its type. */
function ttlValueText(ttl: TtlDef): string {
  switch (ttl.type) {
    case 'absolute':
      return `${ttl.absMinutes}min`;
    case 'latest':
      return String(ttl.latest);
    case 'absandlat':
      return `${ttl.absMinutes}min&&${ttl.latest}`;
    case 'absorlat':
      return `${ttl.absMinutes}min||${ttl.latest}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Cluster status
// ---------------------------------------------------------------------------------------------

const showtablet: Handler = async (_args, ctx) => {
  try {
    const { tablets } = await ctx.admin.showtablet({});
    const sorted = [...tablets].sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0));
    // replicas/leaders: what the tablet holds (0 after a scalein); absent from older nameservers.
    const counts = sorted.some((t) => t.replicas !== undefined);
    const header = counts ? ['endpoint', 'real_endpoint', 'state', 'age', 'replicas', 'leaders'] : ['endpoint', 'real_endpoint', 'state', 'age'];
    const rows = sorted.map((t) => {
      const base = [t.endpoint, t.realEndpoint ?? '-', t.state, formatAge(t.ageMs)];
      return counts ? [...base, String(t.replicas ?? '-'), String(t.leaders ?? '-')] : base;
    });
    return ok(renderTable(header, rows), { tablets: sorted });
  } catch (err) {
    return failWith('Fail to show tablets. error msg: ', err);
  }
};

const showns: Handler = async (_args, ctx) => {
  try {
    const { nameservers } = await ctx.admin.showns({});
    return ok(renderTable(['endpoint', 'real_endpoint', 'role'], nameservers.map((n) => [n.endpoint, n.realEndpoint ?? '-', n.role])), { nameservers });
  } catch (err) {
    return failWith('Fail to show nameservers. error msg: ', err);
  }
};

// ---------------------------------------------------------------------------------------------
// Databases
// ---------------------------------------------------------------------------------------------

const createdb: Handler = async ([db], ctx) => {
  try {
    await ctx.admin.createdb({ db: db! });
    return ok(`Create database ${db} ok`);
  } catch (err) {
    return failWith('Create database failed. error msg: ', err);
  }
};

const showdb: Handler = async (_args, ctx) => {
  try {
    const { dbs } = await ctx.admin.showdb({});
    return ok(renderNumberedTable(['name'], dbs.map((d) => [d])), { dbs });
  } catch (err) {
    return failWith('Fail to show databases. error msg: ', err);
  }
};

const dropdb: Handler = async ([db], ctx) => {
  if (ctx.interactive && !(await ctx.confirm(`Drop database ${db}? yes/no`))) return fail("'dropdb' cmd is canceled!");
  try {
    await ctx.admin.dropdb({ db: db! });
    if (ctx.db === db) ctx.db = '';
    return ok(`Drop database ${db} ok`);
  } catch (err) {
    return failWith('Drop database failed. error msg: ', err);
  }
};

const use: Handler = async ([db], ctx) => {
  if (db === undefined) {
    ctx.db = '';
    return ok('Use default database', { db: '' });
  }
  try {
    const { dbs } = await ctx.admin.showdb({});
    if (!dbs.includes(db)) return fail('Use database failed. error msg: database not found', 'DATABASE_NOT_FOUND');
    ctx.db = db;
    return ok(`Use database: ${db}`, { db });
  } catch (err) {
    return failWith('Use database failed. error msg: ', err);
  }
};

// ---------------------------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------------------------

const create: Handler = async (args, ctx) => {
  if (args.length !== 1 && args.length < 4) return usageOf('create');
  return withDb(ctx, async (db) => {
    let req;
    try {
      if (args.length === 1) {
        let text: string;
        try {
          text = await ctx.readTextFile(args[0]!);
        } catch (err) {
          return fail(`Fail to read table meta file ${args[0]}. error msg: ${messageOf(err)}`);
        }
        req = parseTableMetaFile(text, db);
      } else {
        req = parseShortCreate(args, db);
      }
    } catch (err) {
      return failWith('', err);
    }
    try {
      const { tid } = await ctx.admin.createtable(req);
      return ok('Create table ok', { tid });
    } catch (err) {
      return failWith('Fail to create table. error msg: ', err);
    }
  });
};

const drop: Handler = async ([name], ctx) =>
  withDb(ctx, async (db) => {
    if (ctx.interactive && !(await ctx.confirm(`Drop table ${name}? yes/no`))) return fail("'drop' cmd is canceled!");
    try {
      await ctx.admin.droptable({ db, name: name! });
      return ok('drop ok');
    } catch (err) {
      return failWith('failed to drop. error msg: ', err);
    }
  });

export const SHOWTABLE_HEADER = ['name', 'tid', 'pid', 'endpoint', 'role', 'ttl', 'is_alive', 'compress_type', 'offset', 'record_cnt', 'memused', 'diskused'] as const;

const showtable: Handler = async ([name], ctx) =>
  withDb(ctx, async (db) => {
    try {
      const { replicas } = await ctx.admin.showtable(name === undefined ? { db } : { db, name });
      if (name !== undefined && replicas.length === 0) return fail(`table ${name} does not exist`, 'TABLE_NOT_FOUND');
      const rows = replicas.map((r) => [
        r.name,
        String(r.tid),
        String(r.pid),
        r.endpoint,
        r.role,
        r.ttl,
        r.isAlive ? 'yes' : 'no',
        r.compressType,
        formatOptional(r.offset),
        formatOptional(r.recordCnt),
        formatOptional(r.memUsed, formatBytes),
        formatOptional(r.diskUsed, formatBytes),
      ]);
      return ok(renderTable(SHOWTABLE_HEADER, rows), { replicas });
    } catch (err) {
      if (err instanceof TesseraError && err.code === 'TABLE_NOT_FOUND' && name !== undefined) return fail(`table ${name} does not exist`, err.code);
      return failWith('Fail to show table. error msg: ', err);
    }
  });

const showschema: Handler = async ([name], ctx) =>
  withTable(ctx, name!, 'Fail to show schema. error msg: ', async (table) => {
    const s = table.schema;
    const columns = renderNumberedTable(
      ['Field', 'Type', 'Null', 'Default'],
      s.columns.map((c) => [c.name, c.type, c.notNull ? 'NO' : 'YES', '-']),
    );
    const keys = renderNumberedTable(
      ['name', 'keys', 'ts', 'ttl', 'ttl_type'],
      s.indexes.map((x) => [x.name, x.keys.join('|'), x.ts ?? '-', ttlValueText(x.ttl), ttlTypeName(x.ttl.type)]),
    );
    return ok(`${columns}\n#ColumnKey\n${keys}`, { columns: s.columns, indexes: s.indexes });
  });

const info: Handler = async ([name], ctx) =>
  withDb(ctx, async (db) => {
    try {
      const res = await ctx.admin.info({ db, name: name! });
      const t = res.table;
      const rows: Array<[string, string]> = [
        ['name', t.schema.name],
        ['db', t.schema.db],
        ['tid', String(t.tid)],
        ['replica_num', String(t.replicaNum)],
        ['partition_num', String(t.partitionNum)],
        ['compress_type', t.compressType],
        ['replica_ack', t.replicaAck],
        ['ttl', t.schema.indexes[0] ? ttlText(t.schema.indexes[0].ttl) : '-'],
        ['record_cnt', formatOptional(res.recordCnt)],
        ['memused', formatOptional(res.memUsed, formatBytes)],
        ['diskused', formatOptional(res.diskUsed, formatBytes)],
      ];
      return ok(renderTable(['attribute', 'value'], rows), res);
    } catch (err) {
      if (err instanceof TesseraError && err.code === 'TABLE_NOT_FOUND') return fail(`table ${name} does not exist`, err.code);
      return failWith('Fail to get table info. error msg: ', err);
    }
  });

// ---------------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------------

const put: Handler = async (args, ctx) =>
  withTable(ctx, args[0]!, 'Put failed. error msg: ', async (table) => {
    if (table.schema.kv) return kvPut(args, table, ctx);
    const [name, tsText, ...words] = args;
    const ts = parseUint(tsText!);
    if (ts === undefined) return fail('Put failed. error msg: ts should be an unsigned integer');
    const cols = table.schema.columns;
    if (words.length !== cols.length) return fail(`Put failed. error msg: table ${name} has ${cols.length} columns, got ${words.length} values`);
    let values: Value[];
    try {
      values = cols.map((c, i) => typedValue(c, words[i]!));
    } catch (err) {
      return failWith('Put failed. error msg: ', err);
    }
    try {
      await ctx.data.put(table, ts, values);
      return ok('Put ok');
    } catch (err) {
      return failWith('Put failed. error msg: ', err);
    }
  });

const get: Handler = async (args, ctx) =>
  withTable(ctx, args[0]!, 'Fail to get value! error msg: ', async (table) => {
    if (table.schema.kv) return kvGet(args, table, ctx);
    if (args.length !== 4) return usageOf('get');
    const [, key, index, tsText] = args;
    if (!indexExists(table, index!)) return fail(openmldbText('getFailed') + openmldbText('idxNameNotFound'));
    const ts = parseUint(tsText!);
    if (ts === undefined) return fail('Fail to get value! error msg: ts should be an unsigned integer');
    try {
      const row = await ctx.data.get(table, key!, index!, ts === 0 ? undefined : ts);
      if (!row) return fail('Fail to get value! error msg: key not found');
      return ok(rowsTable(table.schema, [row]), rowsData(table.schema, [row]));
    } catch (err) {
      return failWith('Fail to get value! error msg: ', err);
    }
  });

const scan: Handler = async (args, ctx) =>
  withTable(ctx, args[0]!, 'Fail to scan table. error msg: ', async (table) => {
    if (table.schema.kv) return kvScan(args, table, ctx);
    if (args.length < 5) return usageOf('scan');
    const [, key, index, stText, etText, limitText] = args;
    if (!indexExists(table, index!)) return fail(openmldbText('scanFailed') + openmldbText('idxNameNotFound'));
    const st = parseUint(stText!);
    const et = parseUint(etText!);
    if (st === undefined || et === undefined) return fail('Fail to scan table. error msg: st and et should be unsigned integers');
    const limit = limitText === undefined ? LIMITS.scanRowsMax : parseUint(limitText);
    if (limit === undefined || limit < 1) return fail('Fail to scan table. error msg: limit should be greater than 0');
    try {
      const rows = await ctx.data.scan(table, key!, index!, st, et, Math.min(limit, LIMITS.scanRowsMax));
      return ok(rowsTable(table.schema, rows), rowsData(table.schema, rows));
    } catch (err) {
      return failWith('Fail to scan table. error msg: ', err);
    }
  });

const count: Handler = async ([name, key, index, filterText], ctx) =>
  withTable(ctx, name!, 'Count failed. error msg: ', async (table) => {
    const idx = index ?? table.schema.indexes[0]!.name;
    if (!indexExists(table, idx)) return fail(openmldbText('countFailed') + openmldbText('idxNameNotFound'));
    const filterExpired = filterText === undefined ? false : parseBool(filterText);
    if (filterExpired === undefined) return fail('Count failed. error msg: filter_expired_data should be true or false');
    try {
      const n = await ctx.data.count(table, key!, idx, filterExpired);
      return ok(`count: ${n}`, { count: n });
    } catch (err) {
      return failWith('Count failed. error msg: ', err);
    }
  });

const preview: Handler = async ([name, limitText], ctx) =>
  withTable(ctx, name!, 'Fail to preview table. error msg: ', async (table) => {
    const limit = limitText === undefined ? LIMITS.previewRowsDefault : parseUint(limitText);
    if (limit === undefined || limit < 1) return fail('Fail to preview table. error msg: limit should be greater than 0');
    if (table.schema.kv) return kvPreview(table, Math.min(limit, LIMITS.previewRowsMax), ctx);
    try {
      const rows = await ctx.data.preview(table, Math.min(limit, LIMITS.previewRowsMax));
      return ok(rowsTable(table.schema, rows), rowsData(table.schema, rows));
    } catch (err) {
      return failWith('Fail to preview table. error msg: ', err);
    }
  });

const del: Handler = async ([name, key, index], ctx) =>
  withTable(ctx, name!, 'Fail to delete. error msg: ', async (table) => {
    const idx = index ?? table.schema.indexes[0]!.name;
    if (!indexExists(table, idx)) return fail(openmldbText('deleteIdxNotExist', idx));
    try {
      await ctx.data.delete(table, key!, idx);
      return ok('delete ok');
    } catch (err) {
      return failWith('Fail to delete. error msg: ', err);
    }
  });

// ---------------------------------------------------------------------------------------------
// Replicas and ops
// ---------------------------------------------------------------------------------------------

/** Parses a pid group, or answers with OpenMLDB's line (printed alone, without the command's prefix). */
function pidsOr(text: string): number[] | CommandResult {
  let pids: number[];
  try {
    pids = parsePidGroup(text);
  } catch (err) {
    return failWith('', err);
  }
  return pids.length === 0 ? fail(openmldbText('pidGroupEmpty')) : pids;
}

const migrate: Handler = async ([src, name, group, des], ctx) =>
  withDb(ctx, async (db) => {
    if (src === des) return fail('migrate error. src_endpoint is same as des_endpoint');
    const pids = pidsOr(group!);
    if (!Array.isArray(pids)) return pids;
    try {
      const res = await ctx.admin.migrate({ db, name: name!, src: src!, des: des!, pids });
      return ok('partition migrate ok', opsData(res));
    } catch (err) {
      return failWith(openmldbText('migrateFailed'), err);
    }
  });

const addreplica: Handler = async ([name, group, endpoint], ctx) =>
  withDb(ctx, async (db) => {
    const pids = pidsOr(group!);
    if (!Array.isArray(pids)) return pids;
    try {
      const res = await ctx.admin.addreplica({ db, name: name!, pids, endpoint: endpoint! });
      return ok('AddReplica ok', opsData(res));
    } catch (err) {
      return failWith(openmldbText('addreplicaFailed'), err);
    }
  });

const delreplica: Handler = async ([name, group, endpoint], ctx) =>
  withDb(ctx, async (db) => {
    const pids = pidsOr(group!);
    if (!Array.isArray(pids)) return pids;
    try {
      const res = await ctx.admin.delreplica({ db, name: name!, pids, endpoint: endpoint! });
      return ok('DelReplica ok', opsData(res));
    } catch (err) {
      return failWith(openmldbText('delreplicaFailed'), err);
    }
  });

const changeleader: Handler = async ([name, pidText, candidate], ctx) =>
  withDb(ctx, async (db) => {
    const pid = parseUint(pidText!);
    if (pid === undefined) return fail('Invalid args. pid should be uint32_t');
    const req =
      candidate === undefined
        ? { db, name: name!, pid }
        : candidate.toLowerCase() === 'auto'
          ? { db, name: name!, pid, auto: true }
          : { db, name: name!, pid, candidate };
    try {
      const res = await ctx.admin.changeleader(req);
      return ok('change leader ok. If there are writing operations while changing a leader, it may cause data loss.', opsData(res));
    } catch (err) {
      return failWith(openmldbText('changeleaderFailed'), err);
    }
  });

export const SHOWOPSTATUS_HEADER = ['op_id', 'op_type', 'name', 'pid', 'status', 'start_time', 'execute_time', 'end_time', 'cur_task'] as const;

const showopstatus: Handler = async (rawArgs, ctx) => {
  const wait = rawArgs.includes('--wait');
  const args = rawArgs.filter((a) => a !== '--wait');
  if (wait) {
    if (args.length > 1 || (args[0] !== undefined && parseUint(args[0]) === undefined)) return fail('usage: showopstatus --wait [op_id]');
    return waitForOps(args[0] === undefined ? undefined : parseUint(args[0]), ctx.db === '' ? {} : { db: ctx.db }, ctx);
  }
  const [name, pidText] = args;
  if (args.length > 2) return usageOf('showopstatus');
  if (name !== undefined && ctx.db === '') return fail(NO_DATABASE);
  const req: { db?: string; name?: string; pid?: number } = {};
  if (ctx.db !== '') req.db = ctx.db;
  if (name !== undefined) req.name = name;
  if (pidText !== undefined) {
    const pid = parseUint(pidText);
    if (pid === undefined) return fail('Invalid args. pid should be uint32_t');
    req.pid = pid;
  }
  try {
    const { ops, details } = await ctx.admin.showopstatus(ctx.format === 'json' ? { ...req, detail: true } : req);
    const now = ctx.nowMs();
    const rows = ops.map((o) => [
      String(o.opId),
      o.opType,
      o.name === '' ? '-' : o.name,
      String(o.pid),
      o.status,
      o.startMs === undefined ? '-' : formatLocalTime(o.startMs),
      o.startMs === undefined ? '-' : formatSeconds((o.endMs ?? now) - o.startMs),
      o.endMs === undefined ? '-' : formatLocalTime(o.endMs),
      o.curTask ?? '-',
    ]);
    // OpenMLDB's columns unchanged; the stored reason of each op that has one, below the table.
    const errors = ops.filter((o) => o.error !== undefined).map((o) => `op ${o.opId} ${o.status}: ${o.error}`);
    return ok([renderTable(SHOWOPSTATUS_HEADER, rows), ...errors].join('\n'), details === undefined ? { ops } : { ops, details });
  } catch (err) {
    return failWith('Fail to show tablets. error msg: ', err);
  }
};

const OP_STATUS_WORDS = ['done', 'failed', 'canceled'] as const;

/** cancelop / deleteop print OpenMLDB's Status::ToString(): `ReturnCode[n]<message>`. */
function statusFail(command: 'cancelop' | 'deleteop', err: unknown): CommandResult {
  const code = err instanceof TesseraError ? err.code : undefined;
  return fail(openmldbText(command === 'cancelop' ? 'cancelopFailed' : 'deleteopFailed', openmldbReturnCode(command, code), messageOf(err)), code);
}

const cancelop: Handler = async ([idText], ctx) => {
  const opId = parseUint(idText!);
  if (opId === undefined) return fail('Invalid args. op_id should be uint64_t');
  try {
    await ctx.admin.cancelop({ opId });
    return ok('Cancel op ok');
  } catch (err) {
    return statusFail('cancelop', err);
  }
};

const deleteop: Handler = async ([what], ctx) => {
  const word = (OP_STATUS_WORDS as readonly string[]).find((w) => w === what!.toLowerCase()) as (typeof OP_STATUS_WORDS)[number] | undefined;
  const opId = parseUint(what!);
  if (word === undefined && opId === undefined) return fail('Invalid args. op_id should be uint64_t or done|failed|canceled');
  try {
    await ctx.admin.deleteop(word !== undefined ? { status: word } : { opId: opId! });
    return ok('Delete op ok');
  } catch (err) {
    return statusFail('deleteop', err);
  }
};

const AUTO_FAILOVER = 'auto_failover';

const confset: Handler = async ([key, value], ctx) => {
  let v = value!;
  if (key!.toLowerCase() === AUTO_FAILOVER) {
    const b = parseBool(v);
    if (b === undefined) return fail(`failed to set ${key}. error msg: invalid parameter`);
    v = String(b);
  }
  try {
    await ctx.admin.confset({ key: key!.toLowerCase(), value: v });
    return ok(`set ${key} ok`);
  } catch (err) {
    return failWith(`failed to set ${key}. error msg: `, err);
  }
};

const confget: Handler = async ([key], ctx) => {
  try {
    const { conf } = await ctx.admin.confget(key === undefined ? {} : { key: key.toLowerCase() });
    return ok(renderTable(['key', 'value'], conf.map((c) => [c.key, c.value])), { conf });
  } catch (err) {
    return failWith('failed to get conf. error msg: ', err);
  }
};

const INT32_MAX = 2 ** 31 - 1;
const UINT32_MAX = 2 ** 32 - 1;

/** offlineendpoint's concurrency word as OpenMLDB reads it (an int32 > 0), or the failure line. */
function offlineConcurrencyOr(text: string | undefined): number | undefined | CommandResult {
  if (text === undefined) return undefined;
  const n = /^-?\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || Math.abs(n) > INT32_MAX) return fail(openmldbText('offlineConcurrencyNotUint'));
  if (n <= 0) return fail(openmldbText('offlineConcurrencyNotPositive'));
  return n;
}

/** recoverendpoint's concurrency word as OpenMLDB reads it (a uint32; 0 means the default), or the failure line. */
function recoverConcurrencyOr(text: string | undefined): number | undefined | CommandResult {
  if (text === undefined) return undefined;
  const n = parseUint(text);
  if (n === undefined || n > UINT32_MAX) return fail(openmldbText('recoverConcurrencyNotUint'));
  return n === 0 ? undefined : n;
}

const offlineendpoint: Handler = async ([endpoint, concText], ctx) => {
  const concurrency = offlineConcurrencyOr(concText);
  if (typeof concurrency === 'object') return concurrency;
  if (ctx.interactive) {
    // On a tablet that is still healthy this is a planned hand-over of its leaderships: ask first.
    const healthy = await ctx.admin.showtablet({}).then((r) => r.tablets.some((x) => x.endpoint === endpoint && x.state === 'kTabletHealthy'), () => false);
    if (healthy && !(await ctx.confirm(`${endpoint} is healthy: offline it and hand its leaderships over? yes/no`))) return fail("'offlineendpoint' cmd is canceled!");
  }
  try {
    const res = await ctx.admin.offlineendpoint(concurrency === undefined ? { endpoint: endpoint! } : { endpoint: endpoint!, concurrency });
    return ok('offline endpoint ok', opsData(res));
  } catch (err) {
    return failWith(openmldbText('offlineFailed'), err);
  }
};

const recoverendpoint: Handler = async ([endpoint, restoreText, concText], ctx) => {
  const needRestore = restoreText === undefined ? undefined : parseBool(restoreText);
  if (restoreText !== undefined && needRestore === undefined) return fail('Invalid args. need_restore should be true or false');
  const concurrency = recoverConcurrencyOr(concText);
  if (typeof concurrency === 'object') return concurrency;
  const req: { endpoint: string; needRestore?: boolean; concurrency?: number } = { endpoint: endpoint! };
  if (needRestore !== undefined) req.needRestore = needRestore;
  if (concurrency !== undefined) req.concurrency = concurrency;
  try {
    const res = await ctx.admin.recoverendpoint(req);
    return ok('recover endpoint ok', opsData(res));
  } catch (err) {
    return failWith(openmldbText('recoverendpointFailed'), err);
  }
};

const recovertable: Handler = async ([name, pidText, endpoint], ctx) =>
  withDb(ctx, async (db) => {
    const pid = parseUint(pidText!);
    if (pid === undefined) return fail('Invalid args. pid should be uint32_t');
    try {
      const res = await ctx.admin.recovertable({ db, name: name!, pid, endpoint: endpoint! });
      return ok('recover table ok', opsData(res));
    } catch (err) {
      return failWith(openmldbText('recovertableFailed'), err);
    }
  });

const updatetablealive: Handler = async ([name, pidText, endpoint, aliveText], ctx) =>
  withDb(ctx, async (db) => {
    const pid = pidText === '*' ? undefined : parseUint(pidText!);
    if (pidText !== '*' && pid === undefined) return fail('Invalid args. pid should be uint32_t');
    const a = aliveText!.toLowerCase();
    if (a !== 'yes' && a !== 'no') return fail('is_alive should be yes or no');
    const req: { db: string; name: string; endpoint: string; isAlive: boolean; pid?: number } = { db, name: name!, endpoint: endpoint!, isAlive: a === 'yes' };
    if (pid !== undefined) req.pid = pid;
    try {
      await ctx.admin.updatetablealive(req);
      return ok('update ok');
    } catch (err) {
      return failWith('Fail to update table alive. error msg: ', err);
    }
  });

const makesnapshot: Handler = async ([name, pidText], ctx) =>
  withDb(ctx, async (db) => {
    const pid = parseUint(pidText!);
    if (pid === undefined) return fail('Invalid args. pid should be uint32_t');
    try {
      const res = await ctx.admin.makesnapshot({ db, name: name!, pid });
      return ok('MakeSnapshot ok', opsData(res));
    } catch (err) {
      return failWith(openmldbText('makesnapshotFailed'), err);
    }
  });

const disconnectzk: Handler = async (_args, ctx) => {
  try {
    await ctx.admin.disconnectzk({});
    return ok('disconnect zk ok');
  } catch (err) {
    return failWith('disconnect zk failed. error msg: ', err);
  }
};

const connectzk: Handler = async (_args, ctx) => {
  try {
    await ctx.admin.connectzk({});
    return ok('connect zk ok');
  } catch (err) {
    return failWith('connect zk failed. error msg: ', err);
  }
};

// ---------------------------------------------------------------------------------------------
// The command table
// ---------------------------------------------------------------------------------------------

const help: Handler = async ([name]) => {
  if (name === undefined) {
    const lines = ['supported commands:', ...Object.entries(COMMANDS).map(([n, s]) => `  ${n} ${s.usage}`.trimEnd())];
    return ok(lines.join('\n'));
  }
  const spec = lookup(name.toLowerCase());
  if (!spec) return fail('unsupported cmd');
  return ok(`desc: ${spec.help}\nusage: ${name.toLowerCase()} ${spec.usage}`.trimEnd());
};

const quit: Handler = async () => ({ ok: true, output: 'bye', quit: true });

const ANY = Number.MAX_SAFE_INTEGER;

function spec(usage: string, helpText: string, minArgs: number, maxArgs: number, run: Handler): CommandSpec {
  return { usage, help: helpText, minArgs, maxArgs, run };
}

const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  showtablet: spec('', 'show the tablets of the cluster and their state', 0, 0, showtablet),
  showns: spec('', 'show the nameservers and which one leads', 0, 0, showns),
  createdb: spec('db_name', 'create a database', 1, 1, createdb),
  showdb: spec('', 'show the databases', 0, 0, showdb),
  dropdb: spec('db_name', 'drop an empty database', 1, 1, dropdb),
  use: spec('[db_name]', 'switch the current database', 0, 1, use),
  create: spec(
    'table_meta_file | table_name ttl partition_num replica_num [col_name:type[:index] ...]',
    'create a table from a table meta file or in the short form; ttl is N (minutes), absolute:N, latest:N, absandlat:A:L or absorlat:A:L',
    1,
    ANY,
    create,
  ),
  drop: spec('table_name', 'drop a table', 1, 1, drop),
  showtable: spec('[table_name]', 'show the replicas of the tables of the current database', 0, 1, showtable),
  showschema: spec('table_name', 'show the columns and indexes of a table', 1, 1, showschema),
  info: spec('table_name', 'show the settings and size of a table', 1, 1, info),
  put: spec('table_name ts value1 value2 ... | table_name key ts value (key-value table)', 'write a row; values in column order', 3, ANY, put),
  get: spec('table_name key index_name ts | table_name key ts (key-value table)', 'read the newest row of a key at or before ts (0 = newest)', 3, 4, get),
  scan: spec(
    'table_name key index_name start_time end_time [limit] | table_name key start_time end_time [limit] (key-value table)',
    'read the rows of a key with end_time < ts <= start_time, newest first',
    4,
    6,
    scan,
  ),
  count: spec('table_name key [index_name] [filter_expired_data]', 'count the rows of a key', 2, 4, count),
  preview: spec('table_name [limit]', 'show the first rows of a table', 1, 2, preview),
  delete: spec('table_name key [index_name]', 'delete the rows of a key', 2, 3, del),
  migrate: spec('src_endpoint table_name pid_group des_endpoint', 'move follower replicas of partitions to another tablet', 4, 4, migrate),
  changeleader: spec('table_name pid [candidate_leader|auto]', 'select a new leader for a partition', 2, 3, changeleader),
  addreplica: spec('table_name pid_group endpoint', 'add a follower replica of partitions on a tablet', 3, 3, addreplica),
  delreplica: spec('table_name pid_group endpoint', 'remove a follower replica of partitions from a tablet', 3, 3, delreplica),
  showopstatus: spec('[table_name [pid]] | --wait [op_id]', 'show the ops and their state; --wait draws progress until the op (or every unfinished op) ends', 0, 3, showopstatus),
  showop: spec('op_id', 'show one op: parent/children, tasks with times and results, rows and bytes copied, lag, rate, ETA, blocked_because', 1, 1, showop),
  cancelop: spec('op_id', 'cancel an op that has not finished', 1, 1, cancelop),
  deleteop: spec('op_id | done | failed | canceled', 'forget finished ops', 1, 1, deleteop),
  confset: spec('auto_failover true|false | max_moves_per_tablet N | max_moves_per_cluster N', 'set a cluster setting', 2, 2, confset),
  confget: spec('[auto_failover]', 'show cluster settings', 0, 1, confget),
  offlineendpoint: spec('endpoint [concurrency]', 'take every replica of a tablet out of service', 1, 2, offlineendpoint),
  recoverendpoint: spec('endpoint [need_restore] [concurrency]', 'bring the replicas of a tablet back into service', 1, 3, recoverendpoint),
  recovertable: spec('table_name pid endpoint', 'bring one replica back into service', 3, 3, recovertable),
  updatetablealive: spec('table_name pid|* endpoint yes|no', 'mark replicas alive or not alive', 4, 4, updatetablealive),
  makesnapshot: spec('table_name pid', 'make a snapshot of a partition leader', 2, 2, makesnapshot),
  'pre-upgrade': spec('endpoint', 'before restarting a tablet: temporary replicas where needed, its leaderships moved away', 1, 1, preUpgrade),
  'post-upgrade': spec('endpoint', 'after restarting a tablet: its leaderships back, temporary replicas removed', 1, 1, postUpgrade),
  gettablepartition: spec('table_name pid', "write a partition's metadata to <table_name>_<pid>.txt in the current directory", 2, 2, gettablepartition),
  settablepartition: spec('table_name partition_file', "set a partition's metadata from an edited partition file (auto_failover off)", 2, 2, settablepartition),
  scalein: spec('endpoint ... [--dry-run]', 'drain tablets before stopping them: leaderships handed over, every replica moved off', 1, 64, scalein),
  scaleout: spec('[endpoint ...] [--dry-run]', 'a plan evening replicas and leaders out onto tablets (default: the empty ones), applied unless --dry-run', 0, 64, scaleout),
  rebalance: spec('[table ...] [--dry-run]', 'a plan evening replicas and leaders out across healthy tablets, applied unless --dry-run', 0, 64, rebalance),
  apply: spec('plan_id', 'run exactly a plan made by scaleout/rebalance; refused if the cluster drifted', 1, 1, apply),
  disconnectzk: spec('', 'make the nameserver leave ZooKeeper (failover testing)', 0, 0, disconnectzk),
  connectzk: spec('', 'make the nameserver connect to ZooKeeper again', 0, 0, connectzk),
  setttl: spec(SETTTL_USAGE, 'change the TTL of an index (of every index when none is named), in the metadata and on every replica', 3, 5, setttl),
  healthcheck: spec(HEALTHCHECK_USAGE, 'check the whole cluster (leaders, alive in-sync replicas, lag, metadata against tablets, optionally checksums); with --cmd exits 0 healthy, 1 degraded, 2 unavailable', 0, 2, healthcheck),
  help: spec('[cmd]', 'show the commands, or the usage of one', 0, 1, help),
  man: spec('[cmd]', 'same as help', 0, 1, help),
  quit: spec('', 'leave ns_client', 0, 0, quit),
  exit: spec('', 'leave ns_client', 0, 0, quit),
};

function lookup(name: string): CommandSpec | undefined {
  return Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined;
}

function usageOf(name: string): CommandResult {
  const s = lookup(name)!;
  return fail(`usage: ${name} ${s.usage}`.trimEnd());
}

/** The names of every command ns_client understands. */
export const COMMAND_NAMES: readonly string[] = Object.keys(COMMANDS);

/** Runs one command line. Never throws: bugs and transport failures become a failure line too. */
export async function runCommand(line: string, ctx: CommandContext): Promise<CommandResult & { name?: string }> {
  let parsed;
  try {
    parsed = parseCommandLine(line);
  } catch (err) {
    return failWith('', err);
  }
  if (!parsed) return { ok: true, output: '' };
  const s = lookup(parsed.name);
  if (!s) return { ...fail('unsupported cmd'), name: parsed.name };
  // `--reason <text>` on any command: its admin requests carry the text (kept with the ops).
  const { args: rest, reason } = takeReason(parsed.args);
  if (reason !== undefined) {
    parsed = { ...parsed, args: rest };
    ctx = { ...ctx, admin: withReason(ctx.admin, reason) };
  }
  if (parsed.args.length < s.minArgs || parsed.args.length > s.maxArgs) return { ...usageOf(parsed.name), name: parsed.name };
  try {
    return { ...(await s.run(parsed.args, ctx)), name: parsed.name };
  } catch (err) {
    return { ...failWith(`Fail to run ${parsed.name}. error msg: `, err), name: parsed.name };
  }
}

/** The text to print for a result in the chosen format (`--format=json`: one JSON object). */
export function formatResult(result: CommandResult & { name?: string }, format: OutputFormat): string {
  if (format === 'table') return result.output;
  const base: Record<string, unknown> = { ok: result.ok };
  if (result.name !== undefined) base.cmd = result.name;
  if (result.ok) {
    if (result.data !== undefined) base.data = result.data;
    else base.message = result.output;
  } else {
    base.error = result.output;
    if (result.code !== undefined) base.code = result.code;
  }
  return toJsonLine(base);
}
