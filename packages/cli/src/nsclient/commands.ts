/**
 * The ns_client commands: the command table (usage, help, argument counts, handler), the line
 * runner and the output formats, with the handlers of the cluster, database, table, op, conf and
 * ZooKeeper commands; the data commands are in data-commands.ts, the replica and endpoint commands
 * in replica-commands.ts, the others in the modules named by their imports. One handler per
 * command, each turning its words into nameserver admin calls (`NsAdmin`) or data calls
 * (`DataOps`) and its answer into OpenMLDB's text — the same
 * tables, the same success lines (`Create table ok`, `partition migrate ok`) and failure lines
 * (`failed to migrate partition. error msg: <nameserver text>`). Wrong arguments print the
 * command's usage line, an unknown command `unsupported cmd`; nothing ever prints a stack trace.
 * A handler answers `{ ok, output }` plus, for `--format=json`, the structured `data` it printed.
 */
import { openmldbReturnCode, openmldbText, TesseraError, ttlText, ttlTypeName, type TtlDef } from '@tessera/common';
import { fail, failWith, messageOf, NO_DATABASE, ok, usageLine, withDb, withTable, type CommandContext, type CommandResult, type Handler, type OutputFormat } from './result.js';
import { count, del, get, GET_USAGE, preview, put, scan, SCAN_USAGE } from './data-commands.js';
import { addreplica, changeleader, delreplica, makesnapshot, migrate, offlineendpoint, recoverendpoint, recovertable, updatetablealive } from './replica-commands.js';
import { gettablepartition, settablepartition } from './partition-commands.js';
import { healthcheck, HEALTHCHECK_USAGE } from './healthcheck.js';
import { setttl, SETTTL_USAGE } from './setttl.js';
import { parseBool, parseCommandLine, parseShortCreate, parseTableMetaFile, parseUint } from './parse.js';
import { apply, rebalance, scalein, scaleout } from './scale.js';
import { showop, takeReason, waitForOps, withReason } from './op-commands.js';
import { postUpgrade, preUpgrade } from './upgrade.js';
import { formatAge, formatBytes, formatLocalTime, formatOptional, formatSeconds, renderNumberedTable, renderTable, toJsonLine } from './table-format.js';

interface CommandSpec {
  /** Arguments after the command name. */
  usage: string;
  help: string;
  minArgs: number;
  maxArgs: number;
  run: Handler;
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

/** disconnectzk / connectzk: the nameserver leaves ZooKeeper, or connects again. */
const zkSwitch = (command: 'disconnectzk' | 'connectzk', words: string): Handler => async (_args, ctx) => {
  try {
    await ctx.admin[command]({});
    return ok(`${words} ok`);
  } catch (err) {
    return failWith(`${words} failed. error msg: `, err);
  }
};

const disconnectzk = zkSwitch('disconnectzk', 'disconnect zk');
const connectzk = zkSwitch('connectzk', 'connect zk');

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
  get: spec(GET_USAGE, 'read the newest row of a key at or before ts (0 = newest)', 3, 4, get),
  scan: spec(
    SCAN_USAGE,
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
  return usageLine(name, lookup(name)!.usage);
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

export type { CommandContext, CommandResult, OutputFormat } from './result.js';
