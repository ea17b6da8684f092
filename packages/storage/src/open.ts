/**
 * Opening one whole LevelDB (classic-level on disk, memory-level in tests), the naming of the
 * per-replica directories of the layout before one LevelDB per tablet (`<db_root_path>/<tid>_<pid>/`,
 * read only by migrate-layout.ts now), and measuring a directory's size on disk.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { MemoryLevel } from 'memory-level';
import type { Level } from './replica-store.js';

export function replicaDirName(tid: number, pid: number): string {
  return `${tid}_${pid}`;
}

/** Parses a `<tid>_<pid>` directory name; undefined for anything else. */
export function parseReplicaDirName(name: string): { tid: number; pid: number } | undefined {
  const m = /^(\d{1,9})_(\d{1,9})$/.exec(name);
  return m ? { tid: Number(m[1]), pid: Number(m[2]) } : undefined;
}

export function openClassicLevel(dir: string): Level {
  return new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' }) as unknown as Level;
}

export function openMemoryLevel(): Level {
  return new MemoryLevel<Buffer, Buffer>({ keyEncoding: 'buffer', valueEncoding: 'buffer' }) as unknown as Level;
}

/** Bytes of the files in a directory (one level: LevelDB keeps its files flat). */
export async function diskUsage(dir: string): Promise<number> {
  let total = 0;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  for (const n of names) {
    try {
      const s = await stat(join(dir, n));
      if (s.isFile()) total += s.size;
    } catch {
      // A file LevelDB removed meanwhile.
    }
  }
  return total;
}
