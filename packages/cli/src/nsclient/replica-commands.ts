/**
 * ns_client's commands that move replicas and leaderships or take tablets in and out of service —
 * migrate, addreplica, delreplica, changeleader, offlineendpoint, recoverendpoint, recovertable,
 * updatetablealive, makesnapshot — in OpenMLDB's forms and texts. Each checks its words, makes one
 * admin call that plans ops, and prints OpenMLDB's success line (the op ids in the JSON data) or
 * its failure prefix with the nameserver's text.
 */
import { openmldbText, type OpenmldbTextKey } from '@tessera/common';
import { fail, failWith, ok, opsData, withDb, type CommandContext, type CommandResult, type Handler } from './result.js';
import { parseBool, parsePidGroup, parseUint } from './parse.js';

/** One admin call that plans ops: OpenMLDB's success line with the op ids, or its failure text + the nameserver's. */
async function planOps(okLine: string, failText: OpenmldbTextKey, call: () => Promise<{ opIds: number[] }>): Promise<CommandResult> {
  try {
    return ok(okLine, opsData(await call()));
  } catch (err) {
    return failWith(openmldbText(failText), err);
  }
}

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

/**
 * migrate / addreplica / delreplica: in the current database, unless `refusal` (a failure line
 * found in the other words), the partitions of a pid group, then one admin call planning their ops.
 */
function pidGroupOps(
  ctx: CommandContext,
  group: string,
  okLine: string,
  failText: OpenmldbTextKey,
  call: (db: string, pids: number[]) => Promise<{ opIds: number[] }>,
  refusal?: string,
): Promise<CommandResult> {
  return withDb(ctx, async (db) => {
    if (refusal !== undefined) return fail(refusal);
    const pids = pidsOr(group);
    if (!Array.isArray(pids)) return pids;
    return planOps(okLine, failText, () => call(db, pids));
  });
}

export const migrate: Handler = async ([src, name, group, des], ctx) =>
  pidGroupOps(
    ctx,
    group!,
    'partition migrate ok',
    'migrateFailed',
    (db, pids) => ctx.admin.migrate({ db, name: name!, src: src!, des: des!, pids }),
    src === des ? 'migrate error. src_endpoint is same as des_endpoint' : undefined,
  );

export const addreplica: Handler = async ([name, group, endpoint], ctx) =>
  pidGroupOps(ctx, group!, 'AddReplica ok', 'addreplicaFailed', (db, pids) => ctx.admin.addreplica({ db, name: name!, pids, endpoint: endpoint! }));

export const delreplica: Handler = async ([name, group, endpoint], ctx) =>
  pidGroupOps(ctx, group!, 'DelReplica ok', 'delreplicaFailed', (db, pids) => ctx.admin.delreplica({ db, name: name!, pids, endpoint: endpoint! }));

export const changeleader: Handler = async ([name, pidText, candidate], ctx) =>
  withDb(ctx, async (db) => {
    const pid = parseUint(pidText!);
    if (pid === undefined) return fail('Invalid args. pid should be uint32_t');
    const req =
      candidate === undefined
        ? { db, name: name!, pid }
        : candidate.toLowerCase() === 'auto'
          ? { db, name: name!, pid, auto: true }
          : { db, name: name!, pid, candidate };
    return planOps('change leader ok. If there are writing operations while changing a leader, it may cause data loss.', 'changeleaderFailed', () => ctx.admin.changeleader(req));
  });

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

export const offlineendpoint: Handler = async ([endpoint, concText], ctx) => {
  const concurrency = offlineConcurrencyOr(concText);
  if (typeof concurrency === 'object') return concurrency;
  if (ctx.interactive) {
    // On a tablet that is still healthy this is a planned hand-over of its leaderships: ask first.
    const healthy = await ctx.admin.showtablet({}).then((r) => r.tablets.some((x) => x.endpoint === endpoint && x.state === 'kTabletHealthy'), () => false);
    if (healthy && !(await ctx.confirm(`${endpoint} is healthy: offline it and hand its leaderships over? yes/no`))) return fail("'offlineendpoint' cmd is canceled!");
  }
  return planOps('offline endpoint ok', 'offlineFailed', () => ctx.admin.offlineendpoint(concurrency === undefined ? { endpoint: endpoint! } : { endpoint: endpoint!, concurrency }));
};

export const recoverendpoint: Handler = async ([endpoint, restoreText, concText], ctx) => {
  const needRestore = restoreText === undefined ? undefined : parseBool(restoreText);
  if (restoreText !== undefined && needRestore === undefined) return fail('Invalid args. need_restore should be true or false');
  const concurrency = recoverConcurrencyOr(concText);
  if (typeof concurrency === 'object') return concurrency;
  const req: { endpoint: string; needRestore?: boolean; concurrency?: number } = { endpoint: endpoint! };
  if (needRestore !== undefined) req.needRestore = needRestore;
  if (concurrency !== undefined) req.concurrency = concurrency;
  return planOps('recover endpoint ok', 'recoverendpointFailed', () => ctx.admin.recoverendpoint(req));
};

export const recovertable: Handler = async ([name, pidText, endpoint], ctx) =>
  withDb(ctx, async (db) => {
    const pid = parseUint(pidText!);
    if (pid === undefined) return fail('Invalid args. pid should be uint32_t');
    return planOps('recover table ok', 'recovertableFailed', () => ctx.admin.recovertable({ db, name: name!, pid, endpoint: endpoint! }));
  });

export const updatetablealive: Handler = async ([name, pidText, endpoint, aliveText], ctx) =>
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

export const makesnapshot: Handler = async ([name, pidText], ctx) =>
  withDb(ctx, async (db) => {
    const pid = parseUint(pidText!);
    if (pid === undefined) return fail('Invalid args. pid should be uint32_t');
    return planOps('MakeSnapshot ok', 'makesnapshotFailed', () => ctx.admin.makesnapshot({ db, name: name!, pid }));
  });
