/**
 * Reads many nodes of one session with up to COORD_LIMITS.readsInFlightMax requests in flight.
 * One at a time, every table of a 1,000-table cluster cost an SDK (a full re-read after a merged
 * notify bump, as a bulk failover makes) or a new leader nameserver (load) a round trip each, one
 * after the other: about a second at 1,000 tables. ZooKeeper serves a session's requests in order
 * and the client pipelines them, so a window of them costs about one round trip.
 */
import { COORD_LIMITS, type Coord } from './coord.js';

/** The JSON of each path in `paths`, in their order (undefined where the node is gone). */
export async function readJsonMany<T>(session: Coord, paths: readonly string[]): Promise<Array<{ value: T; version: number } | undefined>> {
  const out = new Array<{ value: T; version: number } | undefined>(paths.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < paths.length; i = next++) out[i] = await session.getJson<T>(paths[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(COORD_LIMITS.readsInFlightMax, paths.length) }, worker));
  return out;
}
