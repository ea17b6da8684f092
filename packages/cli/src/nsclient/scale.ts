/**
 * ns_client's `scalein <endpoint ...> [--dry-run]`: drains tablets before they are stopped. This
 * driver prints the plan (every move, the per-tablet replica/leader counts before and after),
 * then, unless `--dry-run`, asks the nameserver for the scale-in: one parent op (kScaleInOP, core
 * parent.ts) making a child op per move. It follows the parent, printing each child as it ends,
 * until the parent ends (kDone: the tablets hold nothing; kFailed with the error; kCanceled by
 * `cancelop <parent>`) or SCALE_WAIT_MS_MAX passes. Rerunning it while the parent runs follows
 * the same parent.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { OpStatusRow, ScaleInResponse, ScaleMove, ScaleTabletCount } from '@tessera/common';
import { failWith, type CommandContext, type CommandResult } from './result.js';
import { OP_FINISHED, OP_POLL_INTERVAL_MS, printer, waitOps, type Printer } from './op-wait.js';
import { renderTable } from './table-format.js';

/** The longest one scalein waits for its ops and replicas. */
export const SCALE_WAIT_MS_MAX = 30 * 60_000;

/** The plan as text: the moves, then the per-tablet counts before and after. */
export function renderScalePlan(moves: readonly ScaleMove[], tablets: readonly ScaleTabletCount[]): string {
  const movesText = moves.length === 0
    ? 'no move needed'
    : renderTable(['table', 'pid', 'action', 'role', 'src', 'des'], moves.map((m) => [m.table, String(m.pid), m.action, m.role, m.src ?? '-', m.des ?? '-']));
  const counts = renderTable(
    ['endpoint', 'leaving', 'replicas', 'leaders'],
    tablets.map((t) => [t.endpoint, t.leaving ? 'yes' : 'no', `${t.replicasBefore} -> ${t.replicasAfter}`, `${t.leadersBefore} -> ${t.leadersAfter}`]),
  );
  return `${movesText}\n${counts}`;
}

/** Follows a scale-in parent op until it ends, printing each child op as it ends; its final row. */
async function followParent(ctx: CommandContext, parentId: number, deadlineMs: number, say: (line: string) => void): Promise<OpStatusRow | 'timeout'> {
  const reported = new Set<number>();
  for (;;) {
    const { ops } = await ctx.admin.showopstatus({});
    for (const o of ops) {
      if (o.parentId !== parentId || reported.has(o.opId) || !OP_FINISHED.has(o.status)) continue;
      reported.add(o.opId);
      say(`op ${o.opId} ${o.opType} ${o.name} pid ${o.pid}: ${o.status}${o.error === undefined ? '' : ` (${o.error})`}`);
    }
    const parent = ops.find((o) => o.opId === parentId);
    if (parent !== undefined && OP_FINISHED.has(parent.status)) return parent;
    if (ctx.nowMs() >= deadlineMs) return 'timeout';
    await sleep(OP_POLL_INTERVAL_MS);
  }
}

export const scalein = async (args: string[], ctx: CommandContext): Promise<CommandResult> => {
  const dryRun = args.includes('--dry-run');
  const endpoints = args.filter((a) => a !== '--dry-run');
  const unknown = endpoints.find((a) => a.startsWith('--'));
  if (unknown !== undefined) return { ok: false, output: `failed to scalein. error msg: unknown option ${unknown}`, code: 'INVALID_ARGUMENT' };
  if (endpoints.length === 0) return { ok: false, output: 'failed to scalein. error msg: no endpoint given', code: 'INVALID_ARGUMENT' };
  const { say, output, lines: log } = printer(ctx);
  const name = `scalein ${endpoints.join(' ')}`;
  let first: ScaleInResponse;
  try {
    first = await ctx.admin.scalein({ endpoints, dryRun: true });
  } catch (err) {
    return failWith('failed to scalein. error msg: ', err);
  }
  say(renderScalePlan(first.moves, first.tablets));
  if (dryRun) return { ok: true, output: output(`${name}: dry run, nothing moved`), data: { endpoints, dryRun, moves: first.moves, tablets: first.tablets } };
  let res: ScaleInResponse;
  try {
    res = await ctx.admin.scalein({ endpoints });
  } catch (err) {
    return failWith(output('failed to scalein. error msg: '), err);
  }
  if (res.done) return { ok: true, output: output(`${name} ok: the tablets hold no replica`), data: { endpoints, opIds: [], moves: first.moves, tablets: first.tablets, steps: log } };
  const parentId = res.parentOpId ?? res.opIds[0];
  if (parentId === undefined) return { ok: false, output: output('failed to scalein. error msg: the nameserver made no scale-in op') };
  say(`scale-in op ${parentId}: one child op per move (cancelop ${parentId} cancels them all)`);
  let end: OpStatusRow | 'timeout';
  try {
    end = await followParent(ctx, parentId, ctx.nowMs() + SCALE_WAIT_MS_MAX, say);
  } catch (err) {
    return failWith(output('failed to scalein. error msg: '), err);
  }
  const data = { endpoints, opIds: [parentId], parentOpId: parentId, moves: first.moves, tablets: first.tablets, steps: log };
  if (end === 'timeout') return { ok: false, output: output(`failed to scalein. error msg: op ${parentId} not done after ${SCALE_WAIT_MS_MAX} ms; see showopstatus`), data };
  if (end.status === 'kDone') return { ok: true, output: output(`${name} ok: the tablets hold no replica`), data };
  return { ok: false, output: output(`failed to scalein. error msg: op ${parentId} ${end.status}${end.error === undefined ? '' : `: ${end.error}`}`), data };
};

/** Waits for a plan's ops; the result of the command. */
async function finishPlan(name: string, planId: number, opIds: readonly number[], ctx: CommandContext, { say, output }: Printer, data: Record<string, unknown>): Promise<CommandResult> {
  say(`plan ${planId} applied: ${opIds.length} ops (${opIds.join(',') || '-'})`);
  try {
    const waited = await waitOps(ctx, opIds, ctx.nowMs() + SCALE_WAIT_MS_MAX);
    if (waited === 'timeout') return { ok: false, output: output(`failed to ${name}. error msg: not done after ${SCALE_WAIT_MS_MAX} ms; see showopstatus`), data };
    if (waited.length > 0) {
      for (const line of waited) say(line);
      return { ok: false, output: output(`failed to ${name}. error msg: an op did not succeed; see showopstatus`), data };
    }
  } catch (err) {
    return failWith(output(`failed to ${name}. error msg: `), err);
  }
  return { ok: true, output: output(`${name} ok`), data };
}

async function planCommand(name: 'scaleout' | 'rebalance', args: string[], ctx: CommandContext): Promise<CommandResult> {
  const dryRun = args.includes('--dry-run');
  const rest = args.filter((a) => a !== '--dry-run');
  const unknown = rest.find((a) => a.startsWith('--'));
  if (unknown !== undefined) return { ok: false, output: `failed to ${name}. error msg: unknown option ${unknown}`, code: 'INVALID_ARGUMENT' };
  if (name === 'rebalance' && rest.length > 0 && ctx.db === '') return { ok: false, output: 'please enter database first' };
  const print = printer(ctx);
  const { say, output } = print;
  let res;
  try {
    res = name === 'scaleout'
      ? await ctx.admin.scaleout({ ...(rest.length > 0 ? { endpoints: rest } : {}), dryRun })
      : await ctx.admin.rebalance({ ...(ctx.db !== '' ? { db: ctx.db } : {}), ...(rest.length > 0 ? { tables: rest } : {}), dryRun });
  } catch (err) {
    return failWith(`failed to ${name}. error msg: `, err);
  }
  say(`plan ${res.planId}`);
  say(renderScalePlan(res.moves, res.tablets));
  const data = { planId: res.planId, moves: res.moves, tablets: res.tablets, opIds: res.opIds, applied: res.applied };
  if (dryRun) return { ok: true, output: output(`dry run: nothing moved; apply ${res.planId} runs exactly this plan`), data };
  return finishPlan(name, res.planId, res.opIds, ctx, print, data);
}

export const scaleout = (args: string[], ctx: CommandContext): Promise<CommandResult> => planCommand('scaleout', args, ctx);
export const rebalance = (args: string[], ctx: CommandContext): Promise<CommandResult> => planCommand('rebalance', args, ctx);

export const apply = async ([planText]: string[], ctx: CommandContext): Promise<CommandResult> => {
  const planId = Number(planText);
  if (!Number.isSafeInteger(planId) || planId < 0) return { ok: false, output: 'failed to apply. error msg: plan_id should be a non-negative integer', code: 'INVALID_ARGUMENT' };
  const print = printer(ctx);
  let opIds: number[];
  try {
    ({ opIds } = await ctx.admin.apply({ planId }));
  } catch (err) {
    return failWith('failed to apply. error msg: ', err);
  }
  return finishPlan('apply', planId, opIds, ctx, print, { planId, opIds });
};
