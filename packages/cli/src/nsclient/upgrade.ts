/**
 * ns_client's `pre-upgrade <endpoint>` and `post-upgrade <endpoint>` (OpenMLDB's
 * `openmldb_ops.py --cmd=pre-upgrade|post-upgrade`). The nameserver plans one step per call
 * (nameserver core upgrade.ts) and keeps the record of what was done in the partition meta; this
 * driver repeats the call, waits for the ops each step created, prints what changed, and stops
 * when the nameserver says nothing is left, when an op fails, or after UPGRADE_WAIT_MS_MAX.
 * Rerunning either command is safe: a step already done is not planned again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { UpgradeStepResponse } from '@tessera/common';
import { failWith, type CommandContext, type CommandResult } from './result.js';
import { OP_POLL_INTERVAL_MS, printer, waitOps } from './op-wait.js';

/** The longest one pre-upgrade or post-upgrade waits for its ops and replicas. */
export const UPGRADE_WAIT_MS_MAX = 10 * 60_000;

type Kind = 'preupgrade' | 'postupgrade';

const NAMES: Record<Kind, string> = { preupgrade: 'pre-upgrade', postupgrade: 'post-upgrade' };

async function run(kind: Kind, endpoint: string, ctx: CommandContext): Promise<CommandResult> {
  const name = NAMES[kind];
  const { say, output, lines: log } = printer(ctx);
  const deadlineMs = ctx.nowMs() + UPGRADE_WAIT_MS_MAX;
  const opIds: number[] = [];
  let shown = new Set<string>();
  for (;;) {
    let res: UpgradeStepResponse;
    try {
      res = await ctx.admin[kind]({ endpoint });
    } catch (err) {
      return failWith(output(`failed to ${name}. error msg: `), err);
    }
    // Only what changed since the last round: a partition waiting says so once.
    for (const line of res.steps) if (!shown.has(line)) say(line);
    shown = new Set(res.steps);
    if (res.done) return { ok: true, output: output(`${name} ${endpoint} ok`), data: { endpoint, opIds, steps: log } };
    opIds.push(...res.opIds);
    try {
      if (res.opIds.length > 0) {
        const waited = await waitOps(ctx, res.opIds, deadlineMs);
        if (waited !== 'timeout' && waited.length > 0) {
          for (const line of waited) say(line);
          return { ok: false, output: output(`failed to ${name}. error msg: an op did not succeed; see showopstatus, then run ${name} ${endpoint} again`), data: { endpoint, opIds, steps: log } };
        }
      } else {
        await sleep(OP_POLL_INTERVAL_MS);
      }
    } catch (err) {
      return failWith(output(`failed to ${name}. error msg: `), err);
    }
    if (ctx.nowMs() >= deadlineMs) {
      return { ok: false, output: output(`failed to ${name}. error msg: not done after ${UPGRADE_WAIT_MS_MAX} ms; run ${name} ${endpoint} again`), data: { endpoint, opIds, steps: log } };
    }
  }
}

export const preUpgrade = async ([endpoint]: string[], ctx: CommandContext): Promise<CommandResult> => run('preupgrade', endpoint!, ctx);
export const postUpgrade = async ([endpoint]: string[], ctx: CommandContext): Promise<CommandResult> => run('postupgrade', endpoint!, ctx);
