/**
 * ns_client's data commands on tables with a schema — put, get, scan, count, preview, delete — in
 * OpenMLDB's forms and texts: words typed by the table's columns, rows printed as a numbered
 * table with `ts` first. A key-value table (no columns) is handed to kv-commands.ts once its
 * metadata is known.
 */
import { LIMITS, normalizeValue, openmldbText, TesseraError, type ColumnDef, type DataRow, type TableInfo, type TableSchema, type Value } from '@tessera/common';
import { kvGet, kvPreview, kvPut, kvScan } from './kv-commands.js';
import { fail, failWith, ok, usageLine, withTable, type Handler } from './result.js';
import { parseBool, parseUint } from './parse.js';
import { renderNumberedTable } from './table-format.js';

export const GET_USAGE = 'table_name key index_name ts | table_name key ts (key-value table)';
export const SCAN_USAGE = 'table_name key index_name start_time end_time [limit] | table_name key start_time end_time [limit] (key-value table)';

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

export const put: Handler = async (args, ctx) =>
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

export const get: Handler = async (args, ctx) =>
  withTable(ctx, args[0]!, 'Fail to get value! error msg: ', async (table) => {
    if (table.schema.kv) return kvGet(args, table, ctx);
    if (args.length !== 4) return usageLine('get', GET_USAGE);
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

export const scan: Handler = async (args, ctx) =>
  withTable(ctx, args[0]!, 'Fail to scan table. error msg: ', async (table) => {
    if (table.schema.kv) return kvScan(args, table, ctx);
    if (args.length < 5) return usageLine('scan', SCAN_USAGE);
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

export const count: Handler = async ([name, key, index, filterText], ctx) =>
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

export const preview: Handler = async ([name, limitText], ctx) =>
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

export const del: Handler = async ([name, key, index], ctx) =>
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

