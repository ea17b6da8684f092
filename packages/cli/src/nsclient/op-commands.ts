/**
 * ns_client's view of ops beyond OpenMLDB's table: `showop <op_id>` (every field of one op:
 * parent/children, tasks with start, end and result, copy, lag, rate, ETA, blocked_because) and
 * `showopstatus --wait [op_id]`, which redraws a progress line per unfinished op (on a terminal,
 * in place; otherwise one plain line per change) until the op — or every op listed — ends.
 * Also `--reason <text>`: any command's admin requests carry it, and the ops they create keep it.
 */
import type { NsAdmin, OpDetail } from '@tessera/common';
import { fail, failWith, ok, type CommandContext, type CommandResult } from './result.js';
import { OP_FINISHED } from './op-wait.js';
import { opDetailText, progressLine } from './op-format.js';
import { parseUint } from './parse.js';

/** How often `--wait` asks again. */
export const WAIT_POLL_MS = 1000;

export async function showop([idText]: string[], ctx: CommandContext): Promise<CommandResult> {
  const opId = parseUint(idText ?? '');
  if (opId === undefined) return fail('Invalid args. op_id should be uint64_t');
  try {
    const { op } = await ctx.admin.showop({ opId });
    return ok(opDetailText(op, ctx.nowMs()), { op });
  } catch (err) {
    return failWith('Fail to show op. error msg: ', err);
  }
}

/**
 * `showopstatus --wait [op_id]`: waits for one op (or, without an id, every op of the filter
 * that is not finished when the wait starts) to finish, drawing progress. Fails when an op it
 * waited for did not end kDone.
 */
export async function waitForOps(opId: number | undefined, filter: { db?: string; name?: string; pid?: number }, ctx: CommandContext): Promise<CommandResult> {
  const sleep = ctx.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const say = ctx.progress ?? ((): void => undefined);
  let watched: Set<number> | undefined = opId === undefined ? undefined : new Set([opId]);
  const lastLine = new Map<number, string>();
  let finals: OpDetail[] = [];
  try {
    for (;;) {
      let details: OpDetail[];
      if (opId !== undefined) details = [(await ctx.admin.showop({ opId })).op];
      else {
        const res = await ctx.admin.showopstatus({ ...filter, detail: true });
        const all = res.details ?? [];
        watched ??= new Set(all.filter((d) => !OP_FINISHED.has(d.status)).map((d) => d.opId));
        details = all.filter((d) => watched!.has(d.opId));
      }
      const lines = details.map(progressLine);
      if (ctx.redraw !== undefined) ctx.redraw(lines.join(' | '));
      else {
        details.forEach((d, i) => {
          if (lastLine.get(d.opId) !== lines[i]) say(lines[i]!);
          lastLine.set(d.opId, lines[i]!);
        });
      }
      if (details.every((d) => OP_FINISHED.has(d.status))) {
        finals = details;
        break;
      }
      await sleep(WAIT_POLL_MS);
    }
  } catch (err) {
    ctx.redraw?.(undefined);
    return failWith('Fail to wait for ops. error msg: ', err);
  }
  ctx.redraw?.(undefined);
  const bad = finals.filter((d) => d.status !== 'kDone');
  const summary = finals.length === 0 ? 'no op to wait for' : finals.map((d) => `op ${d.opId} ${d.status}${d.error === undefined ? '' : `: ${d.error}`}`).join('\n');
  return bad.length === 0 ? ok(summary, { ops: finals }) : { ok: false, output: summary, data: { ops: finals } };
}

/** `--reason <text>` or `--reason=<text>` taken out of the arguments; the rest and the text. */
export function takeReason(args: readonly string[]): { args: string[]; reason?: string } {
  const rest: string[] = [];
  let reason: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith('--reason=')) reason = a.slice('--reason='.length);
    else if (a === '--reason' && i + 1 < args.length) reason = args[++i];
    else rest.push(a);
  }
  return reason === undefined ? { args: rest } : { args: rest, reason };
}

/** An NsAdmin whose every request carries `reason` (the nameserver stores it with the ops it creates). */
export function withReason(admin: NsAdmin, reason: string): NsAdmin {
  return new Proxy(admin, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (req: Record<string, unknown> | undefined) => (v as (r: unknown) => unknown).call(target, { ...(req ?? {}), reason });
    },
  });
}
