/**
 * Parsing for ns_client: a command line into words (quotes group, `\` escapes), a `--cmd` text
 * into its `;`-separated commands, pid groups (`3`, `1,3,5`, `1-5`), TTLs of the short create
 * form, the short create form itself and the JSON table meta file. Pure functions; every refusal
 * is a TesseraError (INVALID_ARGUMENT) whose message is what ns_client prints, with OpenMLDB's
 * wording where OpenMLDB has one.
 */
import {
  COLUMN_TYPES,
  invalidArgument,
  LIMITS,
  openmldbText,
  TesseraError,
  validateSchema,
  type ColumnDef,
  type ColumnType,
  type CompressType,
  type CreateTableRequest,
  type IndexDef,
  type PartitionPlacement,
  type ReplicaAck,
  type TtlDef,
  type TtlType,
} from '@tessera/common';

// ---------------------------------------------------------------------------------------------
// Words and commands
// ---------------------------------------------------------------------------------------------

/**
 * Splits a line into words at unquoted white space. `'...'` and `"..."` group (the quotes are
 * dropped, `''` is an empty word); a backslash outside single quotes takes the next character
 * literally.
 */
export function tokenize(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < line.length) word += line[++i];
      else word += ch;
      continue;
    }
    if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote) throw invalidArgument(`unterminated ${quote} quote`);
  if (inWord) words.push(word);
  return words;
}

/** Splits `--cmd` text at `;` outside quotes; empty commands are dropped. */
export function splitCommands(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < text.length) {
        cur += ch + text[++i];
        continue;
      }
      cur += ch;
    } else if (ch === ';') {
      out.push(cur);
      cur = '';
    } else {
      if (ch === '"' || ch === "'") quote = ch;
      else if (ch === '\\' && i + 1 < text.length) {
        cur += ch + text[++i];
        continue;
      }
      cur += ch;
    }
  }
  out.push(cur);
  return out.map((c) => c.trim()).filter((c) => c.length > 0);
}

export interface CommandLine {
  /** Command name, lower case. */
  name: string;
  args: string[];
}

/** A line as command and arguments; undefined for a blank line. */
export function parseCommandLine(line: string): CommandLine | undefined {
  const words = tokenize(line);
  if (words.length === 0) return undefined;
  return { name: words[0]!.toLowerCase(), args: words.slice(1) };
}

// ---------------------------------------------------------------------------------------------
// Numbers, pid groups, booleans
// ---------------------------------------------------------------------------------------------

const UINT_RE = /^\d+$/;

/** A non-negative safe integer, or undefined. */
export function parseUint(text: string): number | undefined {
  if (!UINT_RE.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * `3` → [3]; `1,3,5` → [1,3,5]; `1-5` → [1,2,3,4,5]. Sorted, without repeats. An empty range
 * (`6-4`) is [] (OpenMLDB then says `has not valid pid`), anything else not of these forms
 * OpenMLDB's `pid group[..] format error`.
 */
export function parsePidGroup(text: string): number[] {
  const bad = (): TesseraError => invalidArgument(openmldbText('pidGroupFormatError', text));
  const range = /^(\d+)-(\d+)$/.exec(text);
  let pids: number[];
  if (range) {
    const lo = parseUint(range[1]!);
    const hi = parseUint(range[2]!);
    if (lo === undefined || hi === undefined) throw bad();
    if (lo > hi) return [];
    if (hi - lo + 1 > LIMITS.partitionsMax) throw bad();
    pids = Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
  } else {
    const parts = text.split(',');
    pids = parts.map((p) => {
      const n = parseUint(p.trim());
      if (n === undefined) throw bad();
      return n;
    });
  }
  return [...new Set(pids)].sort((a, b) => a - b);
}

/** `true`/`false` (any case), or undefined. */
export function parseBool(text: string): boolean | undefined {
  const t = text.toLowerCase();
  if (t === 'true') return true;
  if (t === 'false') return false;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// TTL
// ---------------------------------------------------------------------------------------------

const TTL_TYPE_ALIASES: Readonly<Record<string, TtlType>> = {
  absolute: 'absolute',
  kabsolutetime: 'absolute',
  latest: 'latest',
  klatesttime: 'latest',
  absandlat: 'absandlat',
  kabsandlat: 'absandlat',
  absorlat: 'absorlat',
  kabsorlat: 'absorlat',
};

function checkTtlBounds(ttl: TtlDef): TtlDef {
  if (ttl.absMinutes > LIMITS.absoluteTtlMinutesMax) {
    throw invalidArgument(`absolute ttl should be no more than ${LIMITS.absoluteTtlMinutesMax} minutes`);
  }
  if (ttl.latest > LIMITS.latestTtlMax) throw invalidArgument(`latest ttl should be no more than ${LIMITS.latestTtlMax}`);
  return ttl;
}

/**
 * `N` (absolute, minutes), `absolute:N`, `latest:N`, `absandlat:A:L`, `absorlat:A:L`; the type
 * may also be written as OpenMLDB's enum name (`kLatestTime:N`).
 */
export function parseTtl(text: string): TtlDef {
  const invalid = (): TesseraError => invalidArgument('invalid ttl type');
  const plain = parseUint(text);
  if (plain !== undefined) return checkTtlBounds({ type: 'absolute', absMinutes: plain, latest: 0 });
  const parts = text.split(':');
  const type = TTL_TYPE_ALIASES[parts[0]!.toLowerCase()];
  if (!type) throw invalid();
  const nums = parts.slice(1).map(parseUint);
  if (nums.some((n) => n === undefined)) throw invalid();
  const [a, b] = nums as number[];
  switch (type) {
    case 'absolute':
      if (nums.length !== 1) throw invalid();
      return checkTtlBounds({ type, absMinutes: a!, latest: 0 });
    case 'latest':
      if (nums.length !== 1) throw invalid();
      return checkTtlBounds({ type, absMinutes: 0, latest: a! });
    case 'absandlat':
    case 'absorlat':
      if (nums.length !== 2) throw invalid();
      return checkTtlBounds({ type, absMinutes: a!, latest: b! });
  }
}

// ---------------------------------------------------------------------------------------------
// Column types
// ---------------------------------------------------------------------------------------------

const TYPE_ALIASES: Readonly<Record<string, ColumnType>> = {
  ...Object.fromEntries(COLUMN_TYPES.map((t) => [t, t])),
  varchar: 'string',
  int: 'int32',
  bigint: 'int64',
  boolean: 'bool',
};

/** A column type name (or a common alias: `int`, `bigint`, `varchar`, `boolean`), or undefined. */
export function parseColumnType(text: string): ColumnType | undefined {
  return TYPE_ALIASES[text.toLowerCase()];
}

// ---------------------------------------------------------------------------------------------
// Short create form
// ---------------------------------------------------------------------------------------------

/**
 * `create <name> <ttl> <partition_num> <replica_num> [col:type[:index] ...]` (the words after
 * `create`). Each `:index` column becomes an index named after it, with the given TTL and the
 * write's time as its time. Without columns it is a key-value table (OpenMLDB's schemaless
 * table): `put t key ts value`, `get t key ts`, `scan t key st et`.
 */
export function parseShortCreate(args: readonly string[], db: string): CreateTableRequest {
  if (args.length < 4) throw invalidArgument('create failed! schema format is illegal');
  const [name, ttlText, partText, replicaText] = args as [string, string, string, string];
  const ttl = parseTtl(ttlText);
  const partitionNum = parseUint(partText);
  if (partitionNum === undefined || partitionNum < 1) throw invalidArgument('partition_num should be large than zero');
  if (partitionNum > LIMITS.partitionsMax) throw invalidArgument(`partition_num should be no more than ${LIMITS.partitionsMax}`);
  const replicaNum = parseUint(replicaText);
  if (replicaNum === undefined || replicaNum < 1) throw invalidArgument('replica_num should be large than zero');
  if (replicaNum > LIMITS.replicasMax) throw invalidArgument(`replica_num should be no more than ${LIMITS.replicasMax}`);
  if (args.length === 4) return { schema: validateSchema({ name, db, kv: true, indexes: [{ name: 'key', keys: ['key'], ttl }] }), partitionNum, replicaNum };
  const columns: ColumnDef[] = [];
  const indexes: IndexDef[] = [];
  const seen = new Set<string>();
  for (const spec of args.slice(4)) {
    const parts = spec.split(':');
    if (parts.length < 2 || parts.length > 3 || parts[0] === '' || (parts.length === 3 && parts[2]!.toLowerCase() !== 'index')) {
      throw invalidArgument('create failed! schema format is illegal');
    }
    const [col, typeText] = parts as [string, string];
    if (seen.has(col)) throw invalidArgument(`Duplicated column ${col}`);
    seen.add(col);
    const type = parseColumnType(typeText);
    if (!type) throw invalidArgument(`type ${typeText} is invalid`);
    if (parts.length === 3) {
      if (type === 'float' || type === 'double') throw invalidArgument('float or double column can not be index');
      indexes.push({ name: col, keys: [col], ttl: { ...ttl } });
    }
    columns.push({ name: col, type });
  }
  if (indexes.length === 0) throw invalidArgument('create failed! schema has no index');
  return { schema: validateSchema({ name, db, columns, indexes }), partitionNum, replicaNum };
}

// ---------------------------------------------------------------------------------------------
// Table meta file (JSON)
// ---------------------------------------------------------------------------------------------

const META_FIELDS = ['name', 'db', 'partition_num', 'replica_num', 'compress_type', 'replica_ack', 'columns', 'indexes', 'table_partition'];
const COLUMN_FIELDS = ['name', 'type', 'not_null'];
const INDEX_FIELDS = ['name', 'keys', 'ts', 'ttl'];
const TTL_FIELDS = ['ttl_type', 'abs_ttl', 'lat_ttl'];
const PARTITION_FIELDS = ['pid', 'leader', 'followers'];

function asMap(v: unknown, where: string, fields: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalidArgument(`${where} must be an object`);
  const m = v as Record<string, unknown>;
  for (const k of Object.keys(m)) {
    if (!fields.includes(k)) throw invalidArgument(`unknown field ${k} in ${where}`);
  }
  return m;
}

function asString(v: unknown, where: string): string {
  if (typeof v !== 'string' || v.length === 0) throw invalidArgument(`${where} must be a non-empty string`);
  return v;
}

function asCount(v: unknown, message: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw invalidArgument(message);
  return v;
}

function metaTtl(v: unknown, where: string): TtlDef {
  if (v === undefined) return { type: 'absolute', absMinutes: 0, latest: 0 };
  if (typeof v === 'string') return parseTtl(v);
  if (typeof v === 'number') return parseTtl(String(v));
  const m = asMap(v, `${where}.ttl`, TTL_FIELDS);
  const type = typeof m.ttl_type === 'string' ? TTL_TYPE_ALIASES[m.ttl_type.toLowerCase()] : undefined;
  if (!type) throw invalidArgument('invalid ttl type');
  const num = (x: unknown, field: string): number => {
    if (x === undefined) return 0;
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) throw invalidArgument(`${where}.ttl.${field} must be a non-negative integer`);
    return x;
  };
  return checkTtlBounds({ type, absMinutes: num(m.abs_ttl, 'abs_ttl'), latest: num(m.lat_ttl, 'lat_ttl') });
}

function metaPlacement(v: unknown): PartitionPlacement[] {
  if (!Array.isArray(v) || v.length === 0) throw invalidArgument('table_partition must be a non-empty array');
  const pids = new Set<number>();
  return v.map((p: unknown, i: number) => {
    const where = `table_partition[${i}]`;
    const m = asMap(p, where, PARTITION_FIELDS);
    if (typeof m.pid !== 'number' || !Number.isSafeInteger(m.pid) || m.pid < 0) throw invalidArgument(`${where}.pid must be a non-negative integer`);
    if (pids.has(m.pid)) throw invalidArgument(`pid ${m.pid} appears twice in table_partition`);
    pids.add(m.pid);
    const leader = asString(m.leader, `${where}.leader`);
    const followersRaw = m.followers ?? [];
    if (!Array.isArray(followersRaw)) throw invalidArgument(`${where}.followers must be an array`);
    const followers = followersRaw.map((f: unknown, j: number) => asString(f, `${where}.followers[${j}]`));
    const all = [leader, ...followers];
    const dup = all.find((e, j) => all.indexOf(e) !== j);
    if (dup !== undefined) throw invalidArgument(`endpoint ${dup} appears twice in partition ${m.pid}`);
    return { pid: m.pid, leader, followers };
  });
}

/**
 * A JSON table meta file (see docs/ns_client.md). `db` defaults to the current database.
 * Explicit placement fixes partition_num (the number of partitions listed) and replica_num
 * (1 + followers, the same for every partition).
 */
export function parseTableMetaFile(text: string, currentDb: string): CreateTableRequest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw invalidArgument(`table meta file is not valid JSON: ${(err as Error).message}`);
  }
  const m = asMap(raw, 'table meta file', META_FIELDS);
  const name = asString(m.name, 'name');
  const db = m.db === undefined ? currentDb : asString(m.db, 'db');
  if (db === '') throw invalidArgument('please enter database first (use <db>, or give "db" in the table meta file)');

  if (!Array.isArray(m.columns) || m.columns.length === 0) throw invalidArgument('create failed! schema format is illegal');
  const columns: ColumnDef[] = m.columns.map((c: unknown, i: number) => {
    const cm = asMap(c, `columns[${i}]`, COLUMN_FIELDS);
    const cname = asString(cm.name, `columns[${i}].name`);
    const typeText = asString(cm.type, `columns[${i}].type`);
    const type = parseColumnType(typeText);
    if (!type) throw invalidArgument(`type ${typeText} is invalid`);
    const def: ColumnDef = { name: cname, type };
    if (cm.not_null !== undefined) {
      if (typeof cm.not_null !== 'boolean') throw invalidArgument(`columns[${i}].not_null must be true or false`);
      if (cm.not_null) def.notNull = true;
    }
    return def;
  });

  if (!Array.isArray(m.indexes) || m.indexes.length === 0) throw invalidArgument('create failed! schema has no index');
  const indexes: IndexDef[] = m.indexes.map((x: unknown, i: number) => {
    const where = `indexes[${i}]`;
    const xm = asMap(x, where, INDEX_FIELDS);
    const iname = asString(xm.name, `${where}.name`);
    const keysRaw = typeof xm.keys === 'string' ? [xm.keys] : xm.keys;
    if (!Array.isArray(keysRaw) || keysRaw.length === 0) throw invalidArgument(`${where}.keys must name at least one column`);
    const keys = keysRaw.map((k: unknown, j: number) => asString(k, `${where}.keys[${j}]`));
    const def: IndexDef = { name: iname, keys, ttl: metaTtl(xm.ttl, where) };
    if (xm.ts !== undefined) def.ts = asString(xm.ts, `${where}.ts`);
    return def;
  });

  const req: CreateTableRequest = { schema: validateSchema({ name, db, columns, indexes }) };

  let partitionNum = m.partition_num === undefined ? undefined : asCount(m.partition_num, 'partition_num should be large than zero');
  let replicaNum = m.replica_num === undefined ? undefined : asCount(m.replica_num, 'replica_num should be large than zero');
  if (m.table_partition !== undefined) {
    const placement = metaPlacement(m.table_partition);
    if (partitionNum !== undefined && partitionNum !== placement.length) {
      throw invalidArgument(`partition_num is ${partitionNum} but table_partition lists ${placement.length} partitions`);
    }
    partitionNum = placement.length;
    for (let pid = 0; pid < partitionNum; pid++) {
      if (!placement.some((p) => p.pid === pid)) throw invalidArgument(`table_partition has no pid ${pid}`);
    }
    const replicas = placement[0]!.followers.length + 1;
    if (placement.some((p) => p.followers.length + 1 !== replicas)) throw invalidArgument('every partition in table_partition must have the same number of replicas');
    if (replicaNum !== undefined && replicaNum !== replicas) {
      throw invalidArgument(`replica_num is ${replicaNum} but table_partition places ${replicas} replicas per partition`);
    }
    replicaNum = replicas;
    req.partitions = [...placement].sort((a, b) => a.pid - b.pid);
  }
  if (partitionNum !== undefined) {
    if (partitionNum > LIMITS.partitionsMax) throw invalidArgument(`partition_num should be no more than ${LIMITS.partitionsMax}`);
    req.partitionNum = partitionNum;
  }
  if (replicaNum !== undefined) {
    if (replicaNum > LIMITS.replicasMax) throw invalidArgument(`replica_num should be no more than ${LIMITS.replicasMax}`);
    req.replicaNum = replicaNum;
  }
  if (m.compress_type !== undefined) req.compressType = parseCompressType(m.compress_type);
  if (m.replica_ack !== undefined) req.replicaAck = parseReplicaAck(m.replica_ack);
  return req;
}

function parseCompressType(v: unknown): CompressType {
  const t = typeof v === 'string' ? v.toLowerCase() : '';
  if (t === 'knocompress' || t === 'nocompress') return 'kNoCompress';
  if (t === 'ksnappy' || t === 'snappy') return 'kSnappy';
  throw invalidArgument('compress_type should be kNoCompress or kSnappy');
}

function parseReplicaAck(v: unknown): ReplicaAck {
  if (v === 'leader' || v === 'all') return v;
  throw invalidArgument('replica_ack should be leader or all');
}
