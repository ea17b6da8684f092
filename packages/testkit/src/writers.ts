/**
 * Client load for the process tests and the checks made after it: loops writing fresh ids until
 * stopped, remembering every acknowledged id and every failed call (`startWriters`); which
 * acknowledged ids do not read back (`unreadable`); a partition's replica checksums
 * (`partitionChecksums`) and the wait until they are equal on every partition
 * (`waitChecksumsEqual`). The writes and reads are the caller's (testkit does not depend on the
 * SDK).
 */
import { waitFor, type HttpClient, type TableInfo } from '@tessera/common';

/** Reads of acknowledged ids in flight at once. */
const READ_BACK_IN_FLIGHT = 200;

export interface Writers {
  /** Every id whose put was acknowledged. */
  readonly acked: Set<string>;
  /** One `<id>: <message>` per failed call. */
  readonly failures: string[];
  /** Ends the loops and waits for the calls in flight. Idempotent. */
  stop(): Promise<void>;
}

/**
 * `loops` loops, each putting a fresh id (`<prefix><n>`, n counting from 0 over all loops) with
 * `put(id, n)` until stop(); a loop pauses `pauseAfterFailureMs` after a failed call.
 */
export function startWriters(o: { loops: number; prefix?: string; pauseAfterFailureMs?: number; onAck?: (id: string) => void }, put: (id: string, n: number) => Promise<unknown>): Writers {
  const acked = new Set<string>();
  const failures: string[] = [];
  let writing = true;
  let seq = 0;
  const loops = Array.from({ length: o.loops }, async () => {
    while (writing) {
      const n = seq++;
      const id = `${o.prefix ?? 'w'}${n}`;
      try {
        await put(id, n);
        acked.add(id);
        o.onAck?.(id);
      } catch (err) {
        failures.push(`${id}: ${(err as Error)?.message ?? String(err)}`);
        if (o.pauseAfterFailureMs !== undefined) await new Promise((r) => setTimeout(r, o.pauseAfterFailureMs));
      }
    }
  });
  return {
    acked,
    failures,
    stop: async () => {
      writing = false;
      await Promise.all(loops);
    },
  };
}

/** The keys `get` does not find (resolves undefined), read `READ_BACK_IN_FLIGHT` at a time. */
export async function unreadable(keys: Iterable<string>, get: (key: string) => Promise<unknown>): Promise<string[]> {
  const all = [...keys];
  const missing: string[] = [];
  for (let i = 0; i < all.length; i += READ_BACK_IN_FLIGHT) {
    const slice = all.slice(i, i + READ_BACK_IN_FLIGHT);
    const got = await Promise.all(slice.map(get));
    got.forEach((g, j) => {
      if (g === undefined) missing.push(slice[j]!);
    });
  }
  return missing;
}

/** The content checksum of every replica of partition `pid` of `info`, in the order of its replicas. */
export function partitionChecksums(http: HttpClient, info: TableInfo, pid: number): Promise<string[]> {
  const p = info.partitions.find((x) => x.pid === pid);
  if (p === undefined) throw new Error(`${info.schema.name} has no partition ${pid}`);
  return Promise.all(p.replicas.map(async (r) => (await http.call<{ sha256: string }>(r.endpoint, '/v1/control/checksum', { tid: info.tid, pid })).sha256));
}

/** Waits (each within the bound) until every partition of `info` has the same checksum on all its replicas. */
export async function waitChecksumsEqual(http: HttpClient, info: TableInfo, o: { timeoutMs: number; intervalMs: number }): Promise<void> {
  for (const p of info.partitions) {
    await waitFor(`${info.schema.name} pid ${p.pid}: checksums equal`, async () => new Set(await partitionChecksums(http, info, p.pid)).size === 1, o);
  }
}
