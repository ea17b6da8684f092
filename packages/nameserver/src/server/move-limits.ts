/**
 * The move limits as `confset` settings (`max_moves_per_tablet`, `max_moves_per_cluster`): kept
 * in ZooKeeper under /config next to auto_failover, read by the leader when it takes over and
 * handed to the engine at once when set (core/schedule.ts applies them to the ops it starts).
 */
import { TesseraError } from '@tessera/common';
import type { Coord, ZkLayout } from '@tessera/coord';
import { DEFAULT_ENGINE_CONFIG, MOVES_LIMIT_MAX } from '../core/config.js';
import type { EngineSettings } from '../core/events.js';

export const MOVE_LIMIT_KEYS = { max_moves_per_tablet: 'maxMovesPerTablet', max_moves_per_cluster: 'maxMovesPerCluster' } as const;
export type MoveLimitKey = keyof typeof MOVE_LIMIT_KEYS;

export function isMoveLimitKey(key: string): key is MoveLimitKey {
  return Object.hasOwn(MOVE_LIMIT_KEYS, key);
}

const pathOf = (layout: ZkLayout, key: MoveLimitKey): string => `${layout.configDir}/${key}`;

/** The value as a limit, or INVALID_ARGUMENT with the allowed range. */
export function parseMoveLimit(key: MoveLimitKey, value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > MOVES_LIMIT_MAX) throw new TesseraError('INVALID_ARGUMENT', `${key} must be an integer 1..${MOVES_LIMIT_MAX}`);
  return n;
}

export async function writeMoveLimit(session: Coord, layout: ZkLayout, key: MoveLimitKey, value: number): Promise<EngineSettings> {
  await session.createOrSet(pathOf(layout, key), String(value));
  return { [MOVE_LIMIT_KEYS[key]]: value };
}

/** The limits stored in ZooKeeper (absent or unreadable ones are left out: the engine keeps its defaults). */
export async function readMoveLimits(session: Coord, layout: ZkLayout): Promise<EngineSettings> {
  const out: EngineSettings = {};
  for (const key of Object.keys(MOVE_LIMIT_KEYS) as MoveLimitKey[]) {
    const node = await session.get(pathOf(layout, key)).catch(() => undefined);
    if (node === undefined || node === null) continue;
    try {
      out[MOVE_LIMIT_KEYS[key]] = parseMoveLimit(key, node.data.toString('utf8'));
    } catch {
      // A hand-edited bad value: the default stays.
    }
  }
  return out;
}

/** confget rows: the stored value, or the default. */
export async function moveLimitRows(session: Coord, layout: ZkLayout): Promise<Array<{ key: string; value: string }>> {
  const stored = await readMoveLimits(session, layout);
  return (Object.keys(MOVE_LIMIT_KEYS) as MoveLimitKey[]).map((key) => ({ key, value: String(stored[MOVE_LIMIT_KEYS[key]] ?? DEFAULT_ENGINE_CONFIG[MOVE_LIMIT_KEYS[key]]) }));
}
