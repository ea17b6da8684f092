/**
 * ns_client's data commands on key-value tables (OpenMLDB's schemaless tables, made by
 * `create t <ttl> <partition_num> <replica_num>` without columns), in OpenMLDB's forms and texts:
 *   put t key ts value     → `Put ok`
 *   get t key ts           → `value :<value>` (ts 0 = the newest)
 *   scan t key st et [limit] → a `# key ts data` table, newest first, et < ts <= st
 *   preview t [limit]      → a `# key ts data` table
 * The generic handlers in commands.ts hand a key-value table to these once they have its metadata.
 */
import { KV_KEY_COLUMN, LIMITS, type DataRow, type TableInfo } from '@tessera/common';
import type { CommandContext, CommandResult } from './result.js';
import { fail, failWith, ok } from './result.js';
import { parseUint } from './parse.js';
import { renderNumberedTable } from './table-format.js';

const VALUE_POSITION = 1;

function valueOf(row: DataRow): string {
  const v = row.values[VALUE_POSITION];
  return v === null || v === undefined ? '' : String(v);
}

function kvTable(rows: ReadonlyArray<{ key: string; row: DataRow }>): string {
  return renderNumberedTable(['key', 'ts', 'data'], rows.map(({ key, row }) => [key, String(row.tsMs), valueOf(row)]));
}

function kvData(rows: ReadonlyArray<{ key: string; row: DataRow }>): unknown {
  return { rows: rows.map(({ key, row }) => ({ key, ts: row.tsMs, value: valueOf(row) })) };
}

/** `put t key ts value` (the words after `put`). */
export async function kvPut(args: readonly string[], table: TableInfo, ctx: CommandContext): Promise<CommandResult> {
  if (args.length !== 4) return fail('put format error. eg: put table_name pk ts value');
  const [, key, tsText, value] = args as [string, string, string, string];
  const ts = parseUint(tsText);
  if (ts === undefined) return fail(`Invalid args. ts ${tsText} should be unsigned int`);
  try {
    await ctx.data.put(table, ts, [key, value]);
    return ok('Put ok');
  } catch (err) {
    return failWith('Put failed. error msg: ', err);
  }
}

/** `get t key ts` (the words after `get`). */
export async function kvGet(args: readonly string[], table: TableInfo, ctx: CommandContext): Promise<CommandResult> {
  if (args.length !== 3) return fail('get format error. eg: get table_name key ts');
  const [, key, tsText] = args as [string, string, string];
  const ts = parseUint(tsText);
  if (ts === undefined) return fail('Invalid args. ts should be unsigned int');
  try {
    const row = await ctx.data.get(table, key, KV_KEY_COLUMN, ts === 0 ? undefined : ts);
    if (!row) return fail('Get failed. error msg: key not found');
    return ok(`value :${valueOf(row)}`, { key, ts: row.tsMs, value: valueOf(row) });
  } catch (err) {
    return failWith('Get failed. error msg: ', err);
  }
}

/** `scan t key st et [limit]` (the words after `scan`). */
export async function kvScan(args: readonly string[], table: TableInfo, ctx: CommandContext): Promise<CommandResult> {
  if (args.length !== 4 && args.length !== 5) return fail('scan format error. eg: scan table_name pk start_time end_time [limit]');
  const [, key, stText, etText, limitText] = args as [string, string, string, string, string | undefined];
  const st = parseUint(stText);
  const et = parseUint(etText);
  const limit = limitText === undefined ? LIMITS.scanRowsMax : parseUint(limitText);
  // OpenMLDB's text, its missing space included (scripts match it).
  if (st === undefined || et === undefined || limit === undefined) return fail('Invalid args. st and et should be uint64_t, limit shouldbe uint32_t');
  if (limit < 1) return fail('Fail to scan table. error msg: limit should be greater than 0');
  try {
    const rows = await ctx.data.scan(table, key, KV_KEY_COLUMN, st, et, Math.min(limit, LIMITS.scanRowsMax));
    const keyed = rows.map((row) => ({ key, row }));
    return ok(kvTable(keyed), kvData(keyed));
  } catch (err) {
    return failWith('Fail to scan table. error msg: ', err);
  }
}

/** `preview t [limit]`, given the limit already checked. */
export async function kvPreview(table: TableInfo, limit: number, ctx: CommandContext): Promise<CommandResult> {
  try {
    const rows = await ctx.data.preview(table, limit);
    const keyed = rows.map((row) => ({ key: String(row.values[0] ?? ''), row }));
    return ok(kvTable(keyed), kvData(keyed));
  } catch (err) {
    return failWith('Fail to preview table. error msg: ', err);
  }
}
