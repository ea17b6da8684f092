/**
 * The tablet's replicas by (tid, pid): create, open after a restart, drop, close. Owns the
 * tablet's one LevelDB (storage's TabletStore at `<db_root_path>/store/`, every replica in its
 * own key range) and the migration of an older per-replica layout into it on start, and
 * serialises lifecycle changes per replica, so that a create racing a drop of the same replica
 * cannot interleave. With `storage: 'memory'` the tablet store is memory-level and nothing touches
 * the disk (in-process tests of the routes).
 */
import { mkdir } from 'node:fs/promises';
import { TesseraError, type Logger } from '@tessera/common';
import { migrateReplicaDirs, ReplicaStore, sharedBatchStats, TabletStore, watchQueueHolds, type QueueHoldWatcher, type ReplicaInfo } from '@tessera/storage';
import { Replica, type ReplicaChangeHook } from './replica.js';

export function replicaKey(tid: number, pid: number): string {
  return `${tid}_${pid}`;
}

export class ReplicaManager {
  private readonly replicas = new Map<string, Replica>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private storeOpening: Promise<TabletStore> | undefined;
  /** The tablet's LevelDB once open (metrics read its shared-batch counters). */
  private storeOpened: TabletStore | undefined;
  /** The tablet's metrics, told each exclusive task's hold once the store is open (watchQueueHolds). */
  private queueHoldWatcher: QueueHoldWatcher | undefined;

  constructor(
    private readonly rootDir: string,
    private readonly log: Logger,
    private readonly storage: 'leveldb' | 'memory' = 'leveldb',
    /** Told after every replica state transition (replica-state.ts); replication subscribes. */
    private readonly onChange?: ReplicaChangeHook,
  ) {}

  /** The tablet's LevelDB, opened (and an old layout migrated into it) once. */
  private tabletStore(): Promise<TabletStore> {
    this.storeOpening ??= (async () => {
      if (this.storage === 'memory') return TabletStore.memory();
      await mkdir(this.rootDir, { recursive: true });
      const store = await TabletStore.openDir(this.rootDir);
      const moved = await migrateReplicaDirs(this.rootDir, store, this.log);
      if (moved > 0) this.log.info(`${moved} replica(s) migrated from per-replica directories into ${store.dir}`);
      return store;
    })().then((store) => {
      this.storeOpened = store;
      watchQueueHolds(store.root, this.queueHoldWatcher);
      return store;
    });
    return this.storeOpening;
  }

  /** Told how long each exclusive task held a replica's queue (storage queue-holds.ts): the tablet's metrics. */
  watchQueueHolds(watcher: QueueHoldWatcher): void {
    this.queueHoldWatcher = watcher;
    if (this.storeOpened) watchQueueHolds(this.storeOpened.root, watcher);
  }

  /** LevelDB batches the tablet wrote for its replicas' group commits, and the commits they carried (shared-batch.ts). */
  get sharedBatches(): { batches: number; commits: number } {
    return this.storeOpened ? sharedBatchStats(this.storeOpened.root) : { batches: 0, commits: 0 };
  }

  /** Opens every replica the tablet's LevelDB holds, as `unassigned`; clears what an interrupted drop left. */
  async loadFromDisk(): Promise<number> {
    const store = await this.tabletStore();
    const { replicas, orphans } = await store.list();
    for (const o of orphans) {
      this.log.warn(`replica range ${o.tid}_${o.pid} holds no replica (an interrupted drop or create); cleared`);
      await store.clearReplica(o.tid, o.pid);
    }
    let n = 0;
    for (const ids of replicas) {
      try {
        const replica = await this.openReplica(store, ids.tid, ids.pid);
        if (!replica) continue;
        this.replicas.set(replicaKey(ids.tid, ids.pid), replica);
        n++;
      } catch (err) {
        this.log.error(`cannot open replica ${ids.tid}_${ids.pid}: ${(err as Error).message}`);
      }
    }
    return n;
  }

  private async openReplica(store: TabletStore, tid: number, pid: number): Promise<Replica | undefined> {
    const s = await ReplicaStore.open(store.replicaLevel(tid, pid));
    return s ? new Replica(s, this.label(store, tid, pid), 'unassigned', () => diskUsedOf(store, s), this.onChange) : undefined;
  }

  private label(store: TabletStore, tid: number, pid: number): string {
    return `${store.dir ?? 'memory'}#${tid}_${pid}`;
  }

  get(tid: number, pid: number): Replica | undefined {
    return this.replicas.get(replicaKey(tid, pid));
  }

  /** The replica, or TABLE_NOT_FOUND. */
  require(tid: number, pid: number): Replica {
    const r = this.get(tid, pid);
    if (!r) throw new TesseraError('TABLE_NOT_FOUND', `table tid ${tid} pid ${pid} does not exist on this tablet`, { tid, pid });
    return r;
  }

  all(): Replica[] {
    return [...this.replicas.values()];
  }

  /** Creates a new, empty replica. TABLE_EXISTS when one is there already. */
  create(info: ReplicaInfo): Promise<Replica> {
    return this.locked(info.tid, info.pid, async () => {
      if (this.get(info.tid, info.pid)) throw new TesseraError('TABLE_EXISTS', `table tid ${info.tid} pid ${info.pid} already exists`, { tid: info.tid, pid: info.pid });
      const tablet = await this.tabletStore();
      // A range left by an interrupted drop or create must not leak into the new replica (a read
      // first: clearing an empty range cost a LevelDB write and a scan per replica created).
      if (!(await tablet.rangeIsEmpty(info.tid, info.pid))) await tablet.clearReplica(info.tid, info.pid);
      let store: ReplicaStore;
      try {
        store = await ReplicaStore.create(tablet.replicaLevel(info.tid, info.pid), info);
      } catch (err) {
        await tablet.clearReplica(info.tid, info.pid).catch(() => undefined);
        throw err;
      }
      const { tid, pid } = info;
      const replica = new Replica(store, this.label(tablet, tid, pid), 'normal', () => diskUsedOf(tablet, store), this.onChange);
      this.replicas.set(replicaKey(info.tid, info.pid), replica);
      return replica;
    });
  }

  /**
   * Drops a replica and its data. TABLE_NOT_FOUND when absent. Resolves once the replica is gone
   * (closed, its meta records deleted: an orphan range that never opens again, cleared on start
   * if the tablet stops first); clearing its rows goes on after that, still holding the replica's
   * lock, so a create of the same replica waits for it. Clearing a million rows took seconds,
   * which every move's last task (kDropTable) waited for.
   */
  drop(tid: number, pid: number): Promise<void> {
    let gone!: () => void;
    const forgotten = new Promise<void>((resolve) => { gone = resolve; });
    const dropped = this.locked(tid, pid, async () => {
      const r = this.require(tid, pid);
      this.replicas.delete(replicaKey(tid, pid));
      await r.store.close();
      const tablet = await this.tabletStore();
      await tablet.forgetReplica(tid, pid);
      gone();
      await tablet.replicaLevel(tid, pid).clear().catch((err: Error) => {
        this.log.warn(`clearing the rows of dropped replica ${tid}_${pid} failed (cleared on the next start): ${err.message}`);
      });
    });
    return Promise.race([forgotten, dropped]);
  }

  async closeAll(): Promise<void> {
    const all = this.all();
    this.replicas.clear();
    await Promise.all(all.map((r) => r.store.close().catch((err) => this.log.error(`closing ${r.dir}: ${(err as Error).message}`))));
    // A dropped replica's rows still being cleared (drop answers before that): let it finish.
    await Promise.allSettled([...this.locks.values()]);
    if (this.storeOpening) {
      const store = await this.storeOpening.catch(() => undefined);
      this.storeOpening = undefined;
      await store?.close().catch((err) => this.log.error(`closing the tablet's LevelDB: ${(err as Error).message}`));
    }
  }

  private locked<T>(tid: number, pid: number, fn: () => Promise<T>): Promise<T> {
    const key = replicaKey(tid, pid);
    const prev = this.locks.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return next;
  }
}

/**
 * A replica's bytes on disk: LevelDB's estimate of its range in table files; while the range is
 * only in the memtable (on disk in the shared write-ahead log, which LevelDB does not attribute),
 * the bytes of its rows.
 */
async function diskUsedOf(tablet: TabletStore, store: ReplicaStore): Promise<number> {
  const inTables = await tablet.diskUsed(store.info.tid, store.info.pid);
  return inTables > 0 ? inTables : store.memUsed;
}
