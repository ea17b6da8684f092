/**
 * A tablet's `tessera_storage_queue_hold_seconds` histogram (tablet/src/metrics.ts), read from its
 * `/metrics`: how long exclusive work held its replicas' queues while their writes waited, summed
 * over tasks. Two reads around a phase give what the phase saw (the benchmarks' write stalls).
 */

/** Bucket bound the benchmarks count holds over (the histogram has a 25 ms bucket). */
export const HOLD_SLOW_BUCKET_S = 0.025;

export interface QueueHolds {
  holds: number;
  seconds: number;
  /** Holds longer than HOLD_SLOW_BUCKET_S. */
  slow: number;
  /** Seconds held, by task. */
  secondsByTask: Record<string, number>;
}

export async function readQueueHolds(endpoint: string): Promise<QueueHolds> {
  return parseQueueHolds(await (await fetch(`http://${endpoint}/metrics`)).text());
}

/** The histogram's totals in a Prometheus text exposition (zeros when it is not there). */
export function parseQueueHolds(text: string): QueueHolds {
  const out: QueueHolds = { holds: 0, seconds: 0, slow: 0, secondsByTask: {} };
  for (const line of text.split('\n')) {
    if (!line.startsWith('tessera_storage_queue_hold_seconds')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    const task = /task="([^"]+)"/.exec(line)?.[1] ?? 'unknown';
    if (line.startsWith('tessera_storage_queue_hold_seconds_count')) {
      out.holds += value;
      out.slow += value; // minus the ones within the bucket, below
    } else if (line.startsWith('tessera_storage_queue_hold_seconds_sum')) {
      out.seconds += value;
      out.secondsByTask[task] = (out.secondsByTask[task] ?? 0) + value;
    } else if (line.includes(`le="${HOLD_SLOW_BUCKET_S}"`)) {
      out.slow -= value;
    }
  }
  return out;
}

/** What happened between two reads of one tablet. */
export function holdsBetween(before: QueueHolds, after: QueueHolds): QueueHolds {
  const secondsByTask: Record<string, number> = {};
  for (const [task, s] of Object.entries(after.secondsByTask)) {
    const d = s - (before.secondsByTask[task] ?? 0);
    if (d > 0) secondsByTask[task] = d;
  }
  return { holds: after.holds - before.holds, seconds: after.seconds - before.seconds, slow: after.slow - before.slow, secondsByTask };
}
