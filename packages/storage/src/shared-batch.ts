/**
 * One LevelDB batch for the group commits of every replica of a tablet issued together
 * (issue 11). The replicas of a tablet share one LevelDB (tablet-store.ts), each
 * in its own sublevel; a coalesced client request (`put_multi`) or a coalesced append from a
 * leader tablet (`append_multi`) touches several partitions, and each replica's committer used to
 * write a batch of its own. Writes queued in one synchronous run now go down as one batch of the
 * shared database — one native call, one hand-off to LevelDB's thread — and every caller is
 * answered when it is written. The batch goes at the next microtask, so it adds no turn of the
 * event loop to a write: the partitions of one request are queued in the same synchronous run
 * (the route issues every part before its first await), and so are the commits that follow a
 * written batch (each replica's committer continues in the microtasks of its answer). Atomicity
 * only grows (each replica's changes are still all or nothing); a failed batch fails every caller in it, as each would have failed alone.
 *
 * A database that is not a sublevel (a replica alone in its LevelDB, as in tests) writes its own
 * batches; the coalescing is per shared parent database.
 */
import type { Level } from './store-types.js';

export type BatchPut = { type: 'put'; key: Buffer; value: Buffer; sublevel?: Level };

interface Waiting {
  ops: BatchPut[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

class SharedBatch {
  private waiting: Waiting[] = [];
  /** Batches written and the replica group commits they carried. */
  readonly stats = { batches: 0, commits: 0 };

  constructor(private readonly root: Level) {}

  write(ops: BatchPut[]): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.waiting.length === 0) queueMicrotask(() => this.flush());
      this.waiting.push({ ops, resolve, reject });
    });
  }

  private flush(): void {
    const group = this.waiting;
    this.waiting = [];
    this.stats.batches++;
    this.stats.commits += group.length;
    const ops = group.length === 1 ? group[0]!.ops : group.flatMap((w) => w.ops);
    writeOps(this.root, ops).then(
      () => {
        for (const w of group) w.resolve();
      },
      (err: unknown) => {
        for (const w of group) w.reject(err);
      },
    );
  }
}

/** abstract-level's array form of `batch` (its overloads hide it from `Parameters`). */
function writeOps(db: Level, ops: BatchPut[]): Promise<void> {
  return (db as unknown as { batch(ops: BatchPut[]): Promise<void> }).batch(ops);
}

const shared = new WeakMap<Level, SharedBatch>();

/** The parent database of a sublevel (abstract-level's `parent`), or undefined for a whole database. */
export function parentOf(db: Level): Level | undefined {
  return (db as unknown as { parent?: Level | null }).parent ?? undefined;
}

/**
 * The writer of `db`'s group commits: `ops` are puts of `db`'s own keys. For a sublevel, they are
 * written in the parent's next shared batch (each op tagged with its sublevel); otherwise as a
 * batch of `db` at once.
 */
export function batchWriter(db: Level): (ops: BatchPut[]) => Promise<void> {
  const root = parentOf(db);
  if (root === undefined) return (ops) => writeOps(db, ops);
  let s = shared.get(root);
  if (s === undefined) {
    s = new SharedBatch(root);
    shared.set(root, s);
  }
  const batch = s;
  return (ops) => {
    for (const op of ops) op.sublevel = db;
    return batch.write(ops);
  };
}

/** Shared batches written through `root` and the replica commits they carried (benchmarks). */
export function sharedBatchStats(root: Level): { batches: number; commits: number } {
  return { ...(shared.get(root)?.stats ?? { batches: 0, commits: 0 }) };
}
