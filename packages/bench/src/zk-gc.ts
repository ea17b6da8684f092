/**
 * ZooKeeper's garbage-collection pauses, read from the GC log its JVM writes (cluster.sh's
 * zk_start: `-Xlog:gc:file=DIR/zk/gc.log:uptime`). When several processes lose their ZooKeeper
 * connections in the same second, a pause of the server longer than the clients' read timeout
 * (two thirds of the session timeout) is one explanation, and this tells it apart from the
 * clients' own stalls (issue 16). The scale bench prints the pauses of each step.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface GcPauses {
  count: number;
  /** The longest pause (ms); 0 with none. */
  maxMs: number;
  /** Every pause together (ms). */
  totalMs: number;
}

/** `[12.345s] GC(7) Pause Young (Allocation Failure) 20M->5M(61M) 3.210ms` → 3.21 */
const PAUSE = /\bGC\(\d+\) Pause .* (\d+(?:\.\d+)?)ms$/;

/** The pause durations (ms) in `text`, in order. */
export function parseGcPauses(text: string): number[] {
  const out: number[] = [];
  for (const line of text.split('\n')) {
    const m = PAUSE.exec(line.trimEnd());
    if (m) out.push(Number(m[1]));
  }
  return out;
}

/** Reads the cluster's ZooKeeper GC log; `since()` gives the pauses after the last call. */
export function zkGcWatch(clusterDir: string): { since(): GcPauses | undefined } {
  const file = path.join(clusterDir, 'zk', 'gc.log');
  let seen = 0;
  return {
    since() {
      if (!existsSync(file)) return undefined;
      const all = parseGcPauses(readFileSync(file, 'utf8'));
      // The log rotated (10 MB): count what the new file holds.
      const fresh = all.length >= seen ? all.slice(seen) : all;
      seen = all.length;
      return { count: fresh.length, maxMs: fresh.reduce((m, x) => Math.max(m, x), 0), totalMs: fresh.reduce((s, x) => s + x, 0) };
    },
  };
}
