/**
 * Tables as data: typed columns, indexes (key columns + optional ts column + TTL), and the rules
 * that every process applies the same way: validating a table definition, validating and
 * normalising a row, the index key of a row (key columns joined with `|`, as OpenMLDB) and the
 * row time. Pure functions; no I/O.
 */
import { invalidArgument, TesseraError } from './errors.js';
import { LIMITS } from './limits.js';

export const COLUMN_TYPES = ['string', 'int32', 'int64', 'float', 'double', 'bool', 'timestamp', 'date'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

export const TTL_TYPES = ['absolute', 'latest', 'absandlat', 'absorlat'] as const;
export type TtlType = (typeof TTL_TYPES)[number];

export interface ColumnDef {
  name: string;
  type: ColumnType;
  /** Null is refused for this column. */
  notNull?: boolean;
}

export interface TtlDef {
  type: TtlType;
  /** Minutes; 0 = never expires by age. */
  absMinutes: number;
  /** Newest rows kept per key; 0 = unlimited. */
  latest: number;
}

export interface IndexDef {
  name: string;
  keys: string[];
  /** Column holding the row time; absent = the time given with each write. */
  ts?: string;
  ttl: TtlDef;
}

export interface TableSchema {
  name: string;
  db: string;
  columns: ColumnDef[];
  indexes: IndexDef[];
  /**
   * A key-value table (OpenMLDB's schemaless table, `create t 0 8 3`): always the columns
   * `key` and `value` (strings, not null) and one index `key` on `key` whose time is the write's.
   */
  kv?: true;
}

/** Column and index names of a key-value table. */
export const KV_KEY_COLUMN = 'key';
export const KV_VALUE_COLUMN = 'value';

/** The schema of a key-value table with the given TTL. */
export function kvSchema(name: string, db: string, ttl: TtlDef): TableSchema {
  return {
    name,
    db,
    columns: [
      { name: KV_KEY_COLUMN, type: 'string', notNull: true },
      { name: KV_VALUE_COLUMN, type: 'string', notNull: true },
    ],
    indexes: [{ name: KV_KEY_COLUMN, keys: [KV_KEY_COLUMN], ttl: { ...ttl } }],
    kv: true,
  };
}

/**
 * A key-value table's definition as received: `kv: true`, the TTL on its one index; columns and
 * indexes may be left out, and when given must be the fixed ones.
 */
function validateKvSchema(s: Record<string, unknown>, name: string, db: string): TableSchema {
  const indexes = s.indexes;
  if (indexes !== undefined && (!Array.isArray(indexes) || indexes.length !== 1)) throw invalidArgument('a key-value table has exactly one index');
  const ix = (Array.isArray(indexes) ? indexes[0] : undefined) as Record<string, unknown> | undefined;
  const schema = kvSchema(name, db, validateTtl(ix?.ttl, 'key-value table'));
  const fixed = (given: unknown, want: unknown): boolean => given === undefined || JSON.stringify(given) === JSON.stringify(want);
  const ixWant = schema.indexes[0]!;
  if (!fixed(s.columns, schema.columns)) throw invalidArgument(`a key-value table has the columns ${KV_KEY_COLUMN} and ${KV_VALUE_COLUMN} only`);
  if (ix !== undefined && (ix.name !== ixWant.name || !fixed(ix.keys, ixWant.keys) || (ix.ts !== undefined && ix.ts !== null && ix.ts !== ''))) {
    throw invalidArgument(`a key-value table has one index ${KV_KEY_COLUMN} on ${KV_KEY_COLUMN}, timed by the write`);
  }
  return schema;
}

export type CompressType = 'kNoCompress' | 'kSnappy';
export type ReplicaAck = 'leader' | 'all';

/** A stored value: int64 values beyond 2^53 stay bigint. */
export type Value = string | number | bigint | boolean | null;

/** OpenMLDB's stand-ins for null and empty key parts, so that they do not collide with text. */
export const NULL_KEY = '!N@U#L$L%';
export const EMPTY_KEY = '!@#$%';

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Names of tables, databases, columns and indexes: letters, digits, `_`; never path characters. */
export function validateName(kind: string, name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) throw invalidArgument(`${kind} name must be a non-empty string`, { field: kind });
  if (name.length > LIMITS.nameCharsMax) throw new TesseraError('LIMIT_EXCEEDED', `${kind} name is longer than ${LIMITS.nameCharsMax} characters`, { field: kind });
  if (!NAME_RE.test(name)) throw invalidArgument(`${kind} name '${name}' may hold only letters, digits and '_' and must not start with a digit`, { field: kind });
  return name;
}

/**
 * Entry `i` of a schema's column or index list: the map and its name, checked, and added to `seen`
 * (`Duplicated column|index <name>` when already there).
 */
function namedEntry(kind: 'column' | 'index', entry: unknown, i: number, seen: Set<string>): [Record<string, unknown>, string] {
  if (typeof entry !== 'object' || entry === null) throw invalidArgument(`${kind} ${i} must be a map`);
  const map = entry as Record<string, unknown>;
  const name = validateName(kind, map.name);
  if (seen.has(name)) throw invalidArgument(`Duplicated ${kind} ${name}`, { [kind]: name });
  seen.add(name);
  return [map, name];
}

export const TTL_NEVER: TtlDef = Object.freeze({ type: 'absolute', absMinutes: 0, latest: 0 });

function validateTtl(ttl: unknown, where: string): TtlDef {
  if (ttl === undefined) return { ...TTL_NEVER };
  return validateTtlRequired(ttl, where);
}

/** Checks a TTL given on its own (setttl): a map with a known type and values in bounds. */
export function validateTtlRequired(ttl: unknown, where: string): TtlDef {
  if (typeof ttl !== 'object' || ttl === null) throw invalidArgument(`${where}: ttl must be a map`);
  const t = ttl as Record<string, unknown>;
  const type = t.type;
  if (typeof type !== 'string' || !(TTL_TYPES as readonly string[]).includes(type)) throw invalidArgument(`${where}: invalid ttl type`);
  const absMinutes = t.absMinutes ?? 0;
  const latest = t.latest ?? 0;
  if (!Number.isSafeInteger(absMinutes) || (absMinutes as number) < 0 || (absMinutes as number) > LIMITS.absoluteTtlMinutesMax) {
    throw invalidArgument(`${where}: absolute ttl must be an integer from 0 to ${LIMITS.absoluteTtlMinutesMax} minutes`);
  }
  if (!Number.isSafeInteger(latest) || (latest as number) < 0 || (latest as number) > LIMITS.latestTtlMax) {
    throw invalidArgument(`${where}: latest ttl must be an integer from 0 to ${LIMITS.latestTtlMax}`);
  }
  return { type: type as TtlType, absMinutes: absMinutes as number, latest: latest as number };
}

/** Checks a table definition (as received over the wire) and returns a clean copy. */
export function validateSchema(input: unknown): TableSchema {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalidArgument('schema must be a map');
  const s = input as Record<string, unknown>;
  const name = validateName('table', s.name);
  const db = validateName('database', s.db);
  if (s.kv !== undefined && s.kv !== false) {
    if (s.kv !== true) throw invalidArgument('kv must be true or false', { field: 'kv' });
    return validateKvSchema(s, name, db);
  }
  if (!Array.isArray(s.columns) || s.columns.length === 0) throw invalidArgument('create failed! schema format is illegal: no columns');
  if (s.columns.length > LIMITS.columnsMax) throw new TesseraError('LIMIT_EXCEEDED', `more than ${LIMITS.columnsMax} columns`);
  const seen = new Set<string>();
  const columns: ColumnDef[] = s.columns.map((c: unknown, i: number) => {
    const [col, cname] = namedEntry('column', c, i, seen);
    if (typeof col.type !== 'string' || !(COLUMN_TYPES as readonly string[]).includes(col.type)) {
      throw invalidArgument(`type ${String(col.type)} is invalid`, { column: cname });
    }
    const def: ColumnDef = { name: cname, type: col.type as ColumnType };
    if (col.notNull === true) def.notNull = true;
    return def;
  });
  const byName = new Map(columns.map((c) => [c.name, c]));
  if (!Array.isArray(s.indexes) || s.indexes.length === 0) throw invalidArgument('create failed! schema has no index');
  if (s.indexes.length > LIMITS.indexesMax) throw new TesseraError('LIMIT_EXCEEDED', `more than ${LIMITS.indexesMax} indexes`);
  const indexNames = new Set<string>();
  const indexes: IndexDef[] = s.indexes.map((x: unknown, i: number) => {
    const [ix, iname] = namedEntry('index', x, i, indexNames);
    if (!Array.isArray(ix.keys) || ix.keys.length === 0) throw invalidArgument(`index ${iname} has no key columns`, { index: iname });
    if (ix.keys.length > LIMITS.indexKeyColumnsMax) throw new TesseraError('LIMIT_EXCEEDED', `index ${iname} has more than ${LIMITS.indexKeyColumnsMax} key columns`);
    const keys = ix.keys.map((k: unknown) => {
      const col = typeof k === 'string' ? byName.get(k) : undefined;
      if (!col) throw invalidArgument(`index ${iname}: unknown key column ${String(k)}`, { index: iname });
      if (col.type === 'float' || col.type === 'double') throw invalidArgument('float or double column can not be index', { column: col.name });
      return col.name;
    });
    const def: IndexDef = { name: iname, keys, ttl: validateTtl(ix.ttl, `index ${iname}`) };
    if (ix.ts !== undefined && ix.ts !== null && ix.ts !== '') {
      const tsCol = typeof ix.ts === 'string' ? byName.get(ix.ts) : undefined;
      if (!tsCol) throw invalidArgument(`index ${iname}: unknown ts column ${String(ix.ts)}`, { index: iname });
      if (tsCol.type !== 'timestamp' && tsCol.type !== 'int64') throw invalidArgument(`index ${iname}: ts column ${tsCol.name} must be timestamp or int64`, { column: tsCol.name });
      def.ts = tsCol.name;
    }
    return def;
  });
  return { name, db, columns, indexes };
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const utf8 = new TextEncoder();

/** Checks one value against its column; returns the stored form. */
export function normalizeValue(col: ColumnDef, v: unknown): Value {
  if (v === null || v === undefined) {
    if (col.notNull) throw invalidArgument(`column ${col.name} must not be null`, { column: col.name });
    return null;
  }
  const bad = (): TesseraError => invalidArgument(`column ${col.name} expects ${col.type}, got ${describe(v)}`, { column: col.name });
  switch (col.type) {
    case 'string':
      if (typeof v !== 'string') throw bad();
      if (v.length > LIMITS.stringBytesMax / 4 && utf8.encode(v).length > LIMITS.stringBytesMax) {
        throw new TesseraError('LIMIT_EXCEEDED', `column ${col.name}: string longer than ${LIMITS.stringBytesMax} bytes`, { column: col.name });
      }
      return v;
    case 'int32':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) throw bad();
      return v;
    case 'timestamp':
      // Epoch milliseconds: a row time, so non-negative and exact in a double.
      if (typeof v === 'bigint' && v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad();
      return v;
    case 'int64':
      if (typeof v === 'number') {
        if (!Number.isSafeInteger(v)) throw bad();
        return v;
      }
      if (typeof v === 'bigint') {
        if (v < INT64_MIN || v > INT64_MAX) throw bad();
        return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      throw bad();
    case 'float':
    case 'double':
      if (typeof v !== 'number') throw bad();
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw bad();
      return v;
    case 'date': {
      if (typeof v !== 'string') throw bad();
      const m = DATE_RE.exec(v);
      if (!m) throw bad();
      const d = new Date(`${v}T00:00:00Z`);
      if (Number.isNaN(d.getTime()) || d.getUTCDate() !== Number(m[3])) throw bad();
      return v;
    }
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return 'binary';
  return typeof v;
}

/**
 * Checks a row given as a map by column name or as an array in column order, and returns the
 * values in column order. Unknown columns and missing key columns are refused by name.
 */
export function normalizeRow(schema: TableSchema, row: unknown): Value[] {
  const cols = schema.columns;
  if (Array.isArray(row)) {
    if (row.length !== cols.length) throw invalidArgument(`row has ${row.length} values, table ${schema.name} has ${cols.length} columns`);
    return cols.map((c, i) => normalizeValue(c, row[i]));
  }
  if (typeof row !== 'object' || row === null || Buffer.isBuffer(row)) throw invalidArgument('a row must be a map of column name to value, or an array');
  const r = row as Record<string, unknown>;
  for (const key of Object.keys(r)) {
    if (!cols.some((c) => c.name === key)) throw invalidArgument(`unknown column ${key}`, { column: key });
  }
  for (const ix of schema.indexes) {
    for (const k of ix.keys) {
      if (!(k in r)) throw invalidArgument(`missing key column ${k} of index ${ix.name}`, { column: k });
    }
  }
  return cols.map((c) => normalizeValue(c, r[c.name]));
}

/**
 * Refuses a row that has no time in an index that takes its time from a column: the ts column
 * missing or null. Such a row would be stored at ts 0, counted by `count` but never returned by
 * a scan (scans read ts > et >= 0). Checked where rows are written (the tablet's put routes and
 * the SDK), not in `normalizeRow`, so replicas still replay binlog entries written before.
 */
export function requireRowTimes(schema: TableSchema, values: readonly Value[]): void {
  for (const ix of schema.indexes) {
    if (ix.ts === undefined) continue;
    const i = schema.columns.findIndex((c) => c.name === ix.ts);
    const v = values[i];
    if (v === null || v === undefined) {
      throw invalidArgument(`ts column ${ix.ts} of index ${ix.name} is missing or null: a row needs a time`, { column: ix.ts, index: ix.name });
    }
  }
}

/** The string form of one key part, as OpenMLDB builds index keys. */
export function keyPart(v: Value): string {
  if (v === null) return NULL_KEY;
  if (v === '') return EMPTY_KEY;
  return typeof v === 'string' ? v : String(v);
}

/** Column positions of each index's keys and ts, computed once per schema. */
export interface IndexPlan {
  name: string;
  keyPositions: number[];
  tsPosition: number;
  ttl: TtlDef;
}

export function planIndexes(schema: TableSchema): IndexPlan[] {
  const pos = new Map(schema.columns.map((c, i) => [c.name, i]));
  return schema.indexes.map((ix) => ({
    name: ix.name,
    keyPositions: ix.keys.map((k) => pos.get(k)!),
    tsPosition: ix.ts === undefined ? -1 : pos.get(ix.ts)!,
    ttl: ix.ttl,
  }));
}

/** The index key of a row: key column values joined with `|`. */
export function indexKey(plan: IndexPlan, values: readonly Value[]): string {
  const ps = plan.keyPositions;
  if (ps.length === 1) return keyPart(values[ps[0]!]!);
  let s = '';
  for (let i = 0; i < ps.length; i++) s += (i > 0 ? '|' : '') + keyPart(values[ps[i]!]!);
  return s;
}

/** The time of a row in an index: its ts column, or the write's time when the index has none. */
export function rowTime(plan: IndexPlan, values: readonly Value[], writeTs: number): number {
  if (plan.tsPosition < 0) return writeTs;
  const v = values[plan.tsPosition];
  if (v === null || v === undefined) return 0;
  return typeof v === 'bigint' ? Number(v) : (v as number);
}

/** Turns values in column order back into a map by column name. */
export function rowObject(schema: TableSchema, values: readonly Value[]): Record<string, Value> {
  const o: Record<string, Value> = {};
  for (let i = 0; i < schema.columns.length; i++) o[schema.columns[i]!.name] = values[i] ?? null;
  return o;
}

/** Whether an index key string is ok to use in a request. */
export function validateKey(key: unknown): string {
  if (typeof key !== 'string') throw invalidArgument('key must be a string');
  if (key.length > LIMITS.stringBytesMax) throw new TesseraError('LIMIT_EXCEEDED', 'key too long');
  return key;
}

/**
 * The index key a caller's key stands for: as rows store an empty key part as EMPTY_KEY, a lookup
 * of '' (a single-column key holding the empty string) means EMPTY_KEY too, so what was put can
 * be got back.
 */
export function lookupKey(key: unknown): string {
  const k = validateKey(key);
  return k === '' ? EMPTY_KEY : k;
}

/** Finds an index by name (or the first index when no name is given). */
export function findIndex(schema: TableSchema, name: unknown): number {
  if (name === undefined || name === null || name === '') return 0;
  if (typeof name !== 'string') throw invalidArgument('index must be a string');
  const i = schema.indexes.findIndex((x) => x.name === name);
  if (i < 0) throw invalidArgument(`index ${name} does not exist in table ${schema.name}`, { index: name });
  return i;
}
