/**
 * The tablet's replicas by (tid, pid): create, open from disk after a restart, drop, close. Owns
 * the directory layout under db_root_path and serialises lifecycle changes per replica, so that
 * a create racing a drop of the same replica cannot interleave. With `storage: 'memory'` replicas
 * live in memory-level and nothing touches the disk (in-process tests of the routes).
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TesseraError, type Logger } from '@tessera/common';
import { openClassicLevel, openMemoryLevel, parseReplicaDirName, replicaDirName, ReplicaStore, type ReplicaInfo } from '@tessera/storage';
import { Replica } from './replica.js';

export function replicaKey(tid: number, pid: number): string {
  return `${tid}_${pid}`;
}

export class ReplicaManager {
  private readonly replicas = new Map<string, Replica>();
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly rootDir: string,
    private readonly log: Logger,
    private readonly storage: 'leveldb' | 'memory' = 'leveldb',
  ) {}

  /** Opens every replica found on disk, as `unassigned`. */
  async loadFromDisk(): Promise<number> {
    if (this.storage === 'memory') return 0;
    await mkdir(this.rootDir, { recursive: true });
    let n = 0;
    for (const name of await readdir(this.rootDir)) {
      const ids = parseReplicaDirName(name);
      if (!ids) continue;
      const dir = join(this.rootDir, name);
      try {
        const store = await ReplicaStore.open(openClassicLevel(dir));
        if (!store) {
          this.log.warn(`directory ${dir} holds no replica; left alone`);
          continue;
        }
        this.replicas.set(replicaKey(ids.tid, ids.pid), new Replica(store, dir, 'unassigned'));
        n++;
      } catch (err) {
        this.log.error(`cannot open replica ${dir}: ${(err as Error).message}`);
      }
    }
    return n;
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
      const dir = join(this.rootDir, replicaDirName(info.tid, info.pid));
      const onDisk = this.storage === 'leveldb';
      if (onDisk) {
        await rm(dir, { recursive: true, force: true });
        await mkdir(dir, { recursive: true });
      }
      let store: ReplicaStore;
      try {
        store = await ReplicaStore.create(onDisk ? openClassicLevel(dir) : openMemoryLevel(), info);
      } catch (err) {
        if (onDisk) await rm(dir, { recursive: true, force: true });
        throw err;
      }
      const replica = new Replica(store, dir, 'normal');
      this.replicas.set(replicaKey(info.tid, info.pid), replica);
      return replica;
    });
  }

  /** Drops a replica and its data. TABLE_NOT_FOUND when absent. */
  drop(tid: number, pid: number): Promise<void> {
    return this.locked(tid, pid, async () => {
      const r = this.require(tid, pid);
      this.replicas.delete(replicaKey(tid, pid));
      await r.store.close();
      if (this.storage === 'leveldb') await rm(r.dir, { recursive: true, force: true });
    });
  }

  async closeAll(): Promise<void> {
    const all = this.all();
    this.replicas.clear();
    await Promise.all(all.map((r) => r.store.close().catch((err) => this.log.error(`closing ${r.dir}: ${(err as Error).message}`))));
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
