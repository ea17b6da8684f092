/**
 * The V8 garbage-collector settings a tablet process runs with, set when the role starts (they
 * are read at each collection, so setting them then is as good as on node's command line, where
 * the launchers would each have to repeat them). Owns the list, why each is there, and which of
 * them an operator's own node options (TESSERA_ROLE_NODE_ARGS) override.
 *
 * Why (issue 11, docs/benchmarks.md "Session 14" under `pnpm bench migrate`): a tablet that has
 * just served a burst of writes (a 1,000,000-row load) and then a light load (a 1,000 rows/s
 * writer) while it sends a snapshot fell, in 7 of 9 traced runs, into a full collection of its
 * serving heap every ~0.3 s: after one full collection at ~45 MB live, V8 sized the next limit
 * for a slow allocator (a factor near its minimum, 1.1) and started marking again as soon as the
 * young generation's worth of headroom, or the buffers the copy passes through, came near it.
 * Each collection paused the writer's requests (5–20 ms) and ran marking threads at the tablet's
 * own priority: the writer's p99 during the move went to 3–4× what it was before. With these
 * settings the limit is twice the live heap after each full collection, and marking starts when
 * 80% of the room since then is used (95%: at once): traced runs that took the same full
 * collection at the move's start took no second one. The fixed factor also keeps a tablet's peak
 * heap nearer twice what it holds: the leader's peak RSS over a 1,000,000-row load and move was
 * 364–391 MiB against 447–478 (five plain runs each; the load ~4% slower, batched writes' p99
 * higher in `pnpm bench cluster`).
 */
import { setFlagsFromString } from 'node:v8';

export const TABLET_V8_FLAGS: readonly string[] = [
  '--heap-growing-percent=100',
  '--incremental-marking-soft-trigger=80',
  '--incremental-marking-hard-trigger=95',
];

/** The name of a V8 flag as node accepts it (`--a-b=1`, `--a_b` and `--no-a-b` name `a-b`). */
function flagName(arg: string): string {
  return arg.replace(/^--(no-)?/, '').split('=')[0]!.replace(/_/g, '-');
}

/** The flags of `wanted` that the process's own node options (`execArgv`) do not set. */
export function v8FlagsToApply(wanted: readonly string[], execArgv: readonly string[]): string[] {
  const set = new Set(execArgv.filter((a) => a.startsWith('--')).map(flagName));
  return wanted.filter((f) => !set.has(flagName(f)));
}

/** Sets `wanted` for this process (but what its node options already set); returns what it set. */
export function applyV8Flags(wanted: readonly string[]): string[] {
  const flags = v8FlagsToApply(wanted, process.execArgv);
  for (const f of flags) setFlagsFromString(f);
  return flags;
}
