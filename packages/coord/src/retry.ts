/**
 * Start-up steps that need ZooKeeper, retried while ZooKeeper is merely unreachable (a restart,
 * a lost connection): a process started just before a ZooKeeper outage waits it out instead of
 * exiting. Bounded by `COORD_RETRY_LIMITS.startupRetryMsMax`; other errors pass through at once.
 */
import { backoffMs, sleep, type Logger } from '@tessera/common';
import { isCoordError } from './coord.js';

export const COORD_RETRY_LIMITS = {
  /** Longest a start-up step waits for ZooKeeper to be reachable again. */
  startupRetryMsMax: 10 * 60_000,
  retryBaseMs: 100,
  retryMaxMs: 2_000,
} as const;

/** ZooKeeper errors that say "not now" rather than "no". */
const TRANSIENT_ZK_ERRORS = new Set(['ZCONNECTIONLOSS', 'ZOPERATIONTIMEOUT', 'ZSESSIONEXPIRED', 'ZSESSIONMOVED']);

export function isTransientCoordError(err: unknown): boolean {
  return isCoordError(err) && TRANSIENT_ZK_ERRORS.has(String(err.details?.['zkError']));
}

/** Runs `step` until it succeeds, retrying (with backoff) only transient ZooKeeper errors. */
export async function retryWhileZkUnreachable<T>(what: string, step: () => Promise<T>, log: Logger, maxMs: number = COORD_RETRY_LIMITS.startupRetryMsMax): Promise<T> {
  const deadline = Date.now() + maxMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (!isTransientCoordError(err) || Date.now() >= deadline) throw err;
      log.warn(`${what}: ${(err as Error).message}; retrying while ZooKeeper is unreachable`);
    }
    await sleep(backoffMs(attempt, COORD_RETRY_LIMITS.retryBaseMs, COORD_RETRY_LIMITS.retryMaxMs));
  }
}
