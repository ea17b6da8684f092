/**
 * Migration from the per-replica layout (one LevelDB per replica at `<db_root_path>/<tid>_<pid>/`,
 * before issue 16) into the tablet's shared LevelDB (tablet-store.ts), run when a tablet starts.
 *
 * Per old directory, crash-safe at every step:
 *   1. clear the replica's range in the shared DB (what an interrupted copy left);
 *   2. copy every key of the old DB into the range, in batches of `copyBatchEntriesMax`;
 *   3. write a marker `<tid>_<pid>` (sublevel `migrated`) once the copy is whole;
 *   4. remove the old directory; 5. delete the marker.
 * A crash before 3 redoes the copy from the old directory (still whole); after 3 the copy is
 * trusted and only the removal is redone. A directory that holds no replica (no info record)
 * or does not open is left alone with a log line, as the old layout's loader did.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { META_INFO } from './keys.js';
import { openClassicLevel, parseReplicaDirName } from './open.js';
import type { TabletStore } from './tablet-store.js';

export const MIGRATION = {
  /** Keys copied per batch into the shared DB. */
  copyBatchEntriesMax: 4096,
  /** Sublevel of the "copy is whole" markers. */
  markerLevel: 'migrated',
} as const;

export interface MigrationLog {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** Migrates every `<tid>_<pid>` directory under `dbRootPath`; returns how many replicas moved. */
export async function migrateReplicaDirs(dbRootPath: string, store: TabletStore, log: MigrationLog): Promise<number> {
  const markers = store.named(MIGRATION.markerLevel);
  let moved = 0;
  let names: string[];
  try {
    names = await readdir(dbRootPath);
  } catch {
    return 0;
  }
  for (const name of names.sort()) {
    const ids = parseReplicaDirName(name);
    if (!ids) continue;
    const dir = join(dbRootPath, name);
    if ((await markers.get(Buffer.from(name))) !== undefined) {
      await rm(dir, { recursive: true, force: true });
      await markers.del(Buffer.from(name));
      moved++;
      continue;
    }
    const old = openClassicLevel(dir);
    try {
      await old.open();
    } catch (err) {
      log.error(`cannot open old-layout replica ${dir} to migrate it: ${(err as Error).message}; left alone`);
      continue;
    }
    try {
      if ((await old.get(META_INFO)) === undefined) {
        log.warn(`directory ${dir} holds no replica; left alone`);
        continue;
      }
      const target = store.replicaLevel(ids.tid, ids.pid);
      await target.clear();
      let copied = 0;
      const it = old.iterator();
      try {
        for (;;) {
          const chunk = await it.nextv(MIGRATION.copyBatchEntriesMax);
          if (chunk.length === 0) break;
          await target.batch(chunk.map(([key, value]) => ({ type: 'put' as const, key, value })));
          copied += chunk.length;
        }
      } finally {
        await it.close();
      }
      await markers.put(Buffer.from(name), Buffer.from([1]));
      log.info(`migrated replica ${name} (${copied} keys) from ${dir} into the tablet's LevelDB`);
    } finally {
      await old.close();
    }
    await rm(dir, { recursive: true, force: true });
    await markers.del(Buffer.from(name));
    moved++;
  }
  await markers.clear();
  return moved;
}
