/**
 * Measuring helpers for benchmarks: run N concurrent loops for a fixed time and count, latency
 * percentiles, and printing figures.
 */
export interface LoadResult {
  ops: number;
  errors: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs `concurrency` loops of `op` for `durationMs`; `op` returns how many units it did. */
export async function runLoad(concurrency: number, durationMs: number, op: (loop: number, i: number) => Promise<number>): Promise<LoadResult> {
  const latencies: number[] = [];
  let ops = 0;
  let errors = 0;
  const start = performance.now();
  const deadline = start + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, loop) => {
      for (let i = 0; performance.now() < deadline; i++) {
        const t0 = performance.now();
        try {
          const done = await op(loop, i);
          ops += done;
          latencies.push(performance.now() - t0);
        } catch {
          errors++;
        }
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return { ops, errors, seconds, perSecond: ops / seconds, p50Ms: round(percentile(latencies, 50), 3), p99Ms: round(percentile(latencies, 99), 3) };
}

export function round(x: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function printFigure(name: string, value: number | string, unit = ''): void {
  process.stdout.write(`${name.padEnd(34)} ${String(value).padStart(12)} ${unit}\n`);
}
