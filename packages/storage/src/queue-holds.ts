/**
 * How long exclusive work held a replica's queue (core.ts): a delete, a step of binlog truncation
 * or of TTL garbage collection, a snapshot load, a role change. Every write of that replica queued
 * meanwhile waited for it, so a long hold is a stall its clients see (session 11: binlog
 * truncations of 55–280 ms were the writer's stalls during a migrate, and nothing showed them).
 * Told, per task, to the one watcher of the tablet's database (its `/metrics`), looked up through
 * a sublevel's parent as shared-batch.ts does; nothing is timed when nobody watches.
 */
import type { Level } from './store-types.js';
import { parentOf } from './shared-batch.js';

export type QueueTask = 'delete' | 'purge' | 'role' | 'truncate' | 'gc' | 'load' | 'close';

export type QueueHoldWatcher = (task: QueueTask, seconds: number) => void;

const watchers = new WeakMap<Level, QueueHoldWatcher>();

/** Tells `watcher` how long each exclusive task held the queue of a replica in `root` (the tablet's database, or a replica's own). */
export function watchQueueHolds(root: Level, watcher: QueueHoldWatcher | undefined): void {
  if (watcher === undefined) watchers.delete(root);
  else watchers.set(root, watcher);
}

/** The watcher of `db` (a replica's sublevel or whole database), if any. */
export function queueHoldWatcherOf(db: Level): QueueHoldWatcher | undefined {
  return watchers.get(parentOf(db) ?? db);
}
