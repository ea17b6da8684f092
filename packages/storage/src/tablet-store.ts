/**
 * The tablet's one LevelDB (issue 16): every replica of the tablet lives in it under its own key
 * range, a sublevel named `<tid>_<pid>` (keys `!<tid>_<pid>!` + the replica's own keys.ts layout),
 * so file descriptors, block cache, memtable and compaction are shared, and a batch stays atomic.
 * Owns: opening the database at `<db_root_path>/store/` (or in memory), handing out a replica's
 * range, listing the replicas it holds (one seek per replica, no catalogue to keep in step),
 * dropping a replica's range (its meta first, so a crash mid-drop leaves no half replica that
 * opens), the disk size of a range, and its snapshot read thread (snapshot-worker.ts). Migration from the per-replica layout is migrate-layout.ts.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { MemoryLevel } from 'memory-level';
import { META_INFO, META_ROLE, META_STATE } from './keys.js';
import { setSnapshotWorker, snapshotWorkerOf, SnapshotWorker } from './snapshot-worker.js';
import type { Level } from './store-types.js';

export const TABLET_STORE = {
  /** Directory of the shared LevelDB under db_root_path (never a `<tid>_<pid>` name). */
  dirName: 'store',
  /** LevelDB block cache, shared by every replica of the tablet. */
  cacheBytes: 32 * 1024 * 1024,
  /** Memtable size before a flush to level 0 (one memtable for all replicas). */
  writeBufferBytes: 16 * 1024 * 1024,
  /** LevelDB's table-file cache: the bound on its open files (fds), whatever the replica count. */
  maxOpenFiles: 512,
} as const;

/** Sublevel names of the replicas: `<tid>_<pid>` (sublevel names are printable ASCII above `"`). */
export function replicaRangeName(tid: number, pid: number): string {
  return `${tid}_${pid}`;
}

function parseRangeName(name: string): { tid: number; pid: number } | undefined {
  const m = /^(\d{1,9})_(\d{1,9})$/.exec(name);
  return m ? { tid: Number(m[1]), pid: Number(m[2]) } : undefined;
}

const SEP = 0x21; // '!', abstract-level's sublevel separator
const BUFFERS = { keyEncoding: 'buffer', valueEncoding: 'buffer' } as const;

export class TabletStore {
  private constructor(
    /** The whole database (root level). */
    readonly root: Level,
    /** Its directory; undefined in memory. */
    readonly dir: string | undefined,
  ) {}

  /** Opens (creating when missing) the tablet's LevelDB under `dbRootPath`. */
  static async openDir(dbRootPath: string): Promise<TabletStore> {
    const dir = join(dbRootPath, TABLET_STORE.dirName);
    await mkdir(dir, { recursive: true });
    const db = new ClassicLevel<Buffer, Buffer>(dir, {
      ...BUFFERS,
      cacheSize: TABLET_STORE.cacheBytes,
      writeBufferSize: TABLET_STORE.writeBufferBytes,
      maxOpenFiles: TABLET_STORE.maxOpenFiles,
    });
    // Shared with the tablet's snapshot read thread, which opens the same database (snapshot-worker.ts).
    await db.open({ multithreading: true } as Parameters<typeof db.open>[0]);
    setSnapshotWorker(db as unknown as Level, new SnapshotWorker(dir));
    return new TabletStore(db as unknown as Level, dir);
  }

  /** A tablet store in memory (memory-level), for tests. */
  static async memory(): Promise<TabletStore> {
    const db = new MemoryLevel<Buffer, Buffer>(BUFFERS);
    await db.open();
    return new TabletStore(db as unknown as Level, undefined);
  }

  /** The key range of one replica, as a database of its own (a sublevel handle; closing it leaves the tablet's open). */
  replicaLevel(tid: number, pid: number): Level {
    return this.named(replicaRangeName(tid, pid));
  }

  /** A sublevel by name (also used for the migration's markers). */
  named(name: string): Level {
    return this.root.sublevel<Buffer, Buffer>(name, BUFFERS) as unknown as Level;
  }

  /**
   * The replica ranges present: those holding a replica (its info record) and the others
   * (`orphans`: what an interrupted drop or create left; safe to clear). One seek per range.
   */
  async list(): Promise<{ replicas: Array<{ tid: number; pid: number }>; orphans: Array<{ tid: number; pid: number }> }> {
    const replicas: Array<{ tid: number; pid: number }> = [];
    const orphans: Array<{ tid: number; pid: number }> = [];
    const it = this.root.keys({ gte: Buffer.from([SEP]), lt: Buffer.from([SEP + 1]) });
    try {
      for (;;) {
        const k = (await it.next()) as Buffer | undefined;
        if (k === undefined) break;
        const end = k.indexOf(SEP, 1);
        if (end < 0) break;
        const name = k.subarray(1, end).toString('latin1');
        const ids = parseRangeName(name);
        if (ids) {
          const hasInfo = (await this.replicaLevel(ids.tid, ids.pid).get(META_INFO)) !== undefined;
          (hasInfo ? replicas : orphans).push(ids);
        }
        // Past every key of this sublevel: its prefix with the closing separator raised by one.
        const next = Buffer.from(k.subarray(0, end + 1));
        next[end] = SEP + 1;
        it.seek(next);
      }
    } finally {
      await it.close();
    }
    return { replicas, orphans };
  }

  /**
   * Removes a replica's whole range: its meta records first in one batch (from then on the range
   * is an orphan that never opens as a replica), then every key of it. Other replicas go on
   * meanwhile (LevelDB's clear runs off the event loop, in its own batches).
   */
  async clearReplica(tid: number, pid: number): Promise<void> {
    await this.forgetReplica(tid, pid);
    await this.replicaLevel(tid, pid).clear();
  }

  /** Whether a replica's range holds no key at all (one read; a create clears only a range that does). */
  async rangeIsEmpty(tid: number, pid: number): Promise<boolean> {
    const it = this.replicaLevel(tid, pid).keys({ limit: 1 });
    try {
      return (await it.next()) === undefined;
    } finally {
      await it.close();
    }
  }

  /** The first half of clearReplica: the meta records go, the range is an orphan from then on. */
  async forgetReplica(tid: number, pid: number): Promise<void> {
    await this.replicaLevel(tid, pid).batch([
      { type: 'del', key: META_INFO },
      { type: 'del', key: META_STATE },
      { type: 'del', key: META_ROLE },
    ]);
  }

  /** Approximate bytes on disk of a replica's range (LevelDB's estimate; 0 while only in the memtable, or in memory). */
  async diskUsed(tid: number, pid: number): Promise<number> {
    const root = this.root as unknown as { approximateSize?: (a: Buffer, b: Buffer) => Promise<number> };
    if (typeof root.approximateSize !== 'function') return 0;
    const name = replicaRangeName(tid, pid);
    return root.approximateSize(Buffer.from(`!${name}!`, 'latin1'), Buffer.from(`!${name}"`, 'latin1'));
  }

  async close(): Promise<void> {
    await snapshotWorkerOf(this.root)?.close();
    await this.root.close();
  }
}
