/**
 * `setttl table_name ttl_type ttl [index_name]` (OpenMLDB's): ttl_type absolute (minutes) or
 * latest (rows) take one number, absandlat and absorlat two (minutes, then rows). Without an
 * index name every index of the table gets the TTL. The nameserver changes it in the metadata and
 * on every replica; it applies at once (reads and the next GC).
 */
import { TesseraError } from '@tessera/common';
import type { CommandContext, CommandResult } from './result.js';
import { parseTtl } from './parse.js';

export const SETTTL_USAGE = 'table_name ttl_type ttl [index_name]   (ttl_type absolute|latest: one number; absandlat|absorlat: minutes rows)';

const TWO_NUMBER_TYPES = new Set(['absandlat', 'absorlat', 'kabsandlat', 'kabsorlat']);

export async function setttl(args: string[], ctx: CommandContext): Promise<CommandResult> {
  const [name, type, ...rest] = args as [string, string, ...string[]];
  const numbers = TWO_NUMBER_TYPES.has(type.toLowerCase()) ? 2 : 1;
  if (rest.length < numbers || rest.length > numbers + 1) return { ok: false, output: `usage: setttl ${SETTTL_USAGE}` };
  const index = rest[numbers];
  let ttl;
  try {
    ttl = parseTtl(`${type}:${rest.slice(0, numbers).join(':')}`);
  } catch (err) {
    return { ok: false, output: `Set ttl failed. error msg: ${(err as Error).message}`, ...(err instanceof TesseraError ? { code: err.code } : {}) };
  }
  if (ctx.db === '') return { ok: false, output: 'please enter database first' };
  try {
    await ctx.admin.setttl({ db: ctx.db, name, ttl, ...(index !== undefined ? { index } : {}) });
    return { ok: true, output: 'Set ttl ok', data: { ttl, ...(index !== undefined ? { index } : {}) } };
  } catch (err) {
    if (err instanceof TesseraError && err.code === 'TABLE_NOT_FOUND') return { ok: false, output: `table ${name} does not exist`, code: err.code };
    return { ok: false, output: `Set ttl failed. error msg: ${(err as Error).message}`, ...(err instanceof TesseraError ? { code: err.code } : {}) };
  }
}
