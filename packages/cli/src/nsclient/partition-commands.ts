/**
 * ns_client's `gettablepartition table_name pid` and `settablepartition table_name file`
 * (OpenMLDB's manual metadata surgery): the first writes the partition's metadata to
 * `<table>_<pid>.txt` in the current directory (partition-file.ts has the format), the second
 * reads an edited file and sets it back through the nameserver, which refuses — with a code and
 * without changing anything — a file of another table or pid, unknown endpoints, two alive
 * leaders and the like (nameserver core/table-partition.ts), and runs only with auto_failover off.
 */
import type { CommandContext, CommandResult } from './result.js';
import { fail, failWith, NO_DATABASE, ok } from './result.js';
import { parseUint } from './parse.js';
import { parsePartitionFile, partitionFileName, renderPartitionFile } from './partition-file.js';

export async function gettablepartition([name, pidText]: string[], ctx: CommandContext): Promise<CommandResult> {
  if (ctx.db === '') return fail(NO_DATABASE);
  const pid = parseUint(pidText!);
  if (pid === undefined) return fail('Invalid args. pid should be uint32_t');
  let text: string;
  let res;
  try {
    res = await ctx.admin.gettablepartition({ db: ctx.db, name: name!, pid });
    text = renderPartitionFile({ name: name!, db: ctx.db, tid: res.tid }, res.partition);
  } catch (err) {
    return failWith('Fail to get table partition. error msg: ', err);
  }
  const file = partitionFileName(name!, pid);
  if (!ctx.writeTextFile) return fail(`fail to open file ${file}`);
  try {
    await ctx.writeTextFile(file, text);
  } catch (err) {
    return failWith(`fail to write file ${file}. error msg: `, err);
  }
  return ok('get table partition ok', { file, tid: res.tid, partition: res.partition });
}

export async function settablepartition([name, path]: string[], ctx: CommandContext): Promise<CommandResult> {
  if (ctx.db === '') return fail(NO_DATABASE);
  let text: string;
  try {
    text = await ctx.readTextFile(path!);
  } catch {
    return fail(`can not open file ${path}`);
  }
  let parsed;
  try {
    parsed = parsePartitionFile(text);
  } catch (err) {
    return failWith('', err);
  }
  const from = parsed.table;
  if (from !== undefined && (from.name !== name || from.db !== ctx.db)) {
    return fail(`Fail to set table partition. error msg: the partition file is of table ${from.db}.${from.name}, not ${ctx.db}.${name}`, 'INVALID_ARGUMENT');
  }
  try {
    await ctx.admin.settablepartition({ db: ctx.db, name: name!, partition: parsed.partition, ...(from ? { tid: from.tid } : {}) });
    return ok('set table partition ok');
  } catch (err) {
    return failWith('Fail to set table partition. error msg: ', err);
  }
}
