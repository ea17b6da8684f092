/**
 * Bounded waiting and backoff, used wherever code waits for a condition instead of sleeping a
 * fixed time.
 */
import { TesseraError } from './errors.js';

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a value other than undefined/false, or throws TIMEOUT. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  options: { timeoutMs: number; intervalMs?: number },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 50;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() >= deadline) {
      const why = lastErr ? `: last error ${(lastErr as Error).message ?? String(lastErr)}` : '';
      throw new TesseraError('TIMEOUT', `timed out after ${options.timeoutMs} ms waiting for ${what}${why}`);
    }
    await sleep(interval);
  }
}

/** Exponential backoff with full jitter: attempt 0 → up to baseMs, capped at maxMs. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.floor(random() * cap) + 1;
}
