/**
 * What the ns_client commands that make ops and then wait for them share (scale.ts: scalein,
 * scaleout, rebalance, apply; upgrade.ts: pre-upgrade, post-upgrade; op-commands.ts: showopstatus
 * --wait): the statuses an op ends in, waiting (bounded) for a set of ops to end, and the progress
 * printer — lines printed at once where the caller can (`ctx.progress`), else gathered into the
 * command's output before its last line.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandContext } from './result.js';

/** The statuses an op ends in. */
export const OP_FINISHED: ReadonlySet<string> = new Set(['kDone', 'kFailed', 'kCanceled']);
/** Pause between two polls of the ops while a command waits for them. */
export const OP_POLL_INTERVAL_MS = 300;

/** Waits until every op in `ids` ended; the ones that did not end kDone, as lines; 'timeout' after deadlineMs. */
export async function waitOps(ctx: CommandContext, ids: readonly number[], deadlineMs: number): Promise<string[] | 'timeout'> {
  for (;;) {
    const { ops } = await ctx.admin.showopstatus({});
    const mine = ops.filter((o) => ids.includes(o.opId));
    if (mine.every((o) => OP_FINISHED.has(o.status))) {
      return mine.filter((o) => o.status !== 'kDone').map((o) => `op ${o.opId} ${o.opType} ${o.name} pid ${o.pid}: ${o.status}`);
    }
    if (ctx.nowMs() >= deadlineMs) return 'timeout';
    await sleep(OP_POLL_INTERVAL_MS);
  }
}

/** Progress lines of a long command: `say` prints one (or keeps it); `output(last)` is what the command answers with. */
export interface Printer {
  say(line: string): void;
  output(last: string): string;
  /** Every line said so far. */
  readonly lines: readonly string[];
}

export function printer(ctx: CommandContext): Printer {
  const lines: string[] = [];
  return {
    lines,
    say: (line) => {
      lines.push(line);
      ctx.progress?.(line);
    },
    output: (last) => (ctx.progress === undefined ? [...lines, last].join('\n') : last),
  };
}
