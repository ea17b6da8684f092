/**
 * The one retry policy of both clients, read from the error catalogue's `retry` meaning
 * (packages/common/src/errors.ts): a call is retried when the catalogue says a retry can succeed
 * and the call may be sent twice. Data calls are idempotent (writes carry a write id, reads change
 * nothing), so the SDK retries `same` and `refreshRouting`; admin commands are not (a createtable
 * sent twice answers TABLE_EXISTS), so the admin client retries only `refreshRouting`, where the
 * request reached a server that did not serve it. A tablet that does not hold the replica a data
 * call names answers REPLICA_NOT_HERE (refreshRouting), so a replica moved off by a migrate or a
 * scale-in needs no special case here; the SDK fails with TABLE_NOT_FOUND only when the refreshed
 * metadata has no such table (data-client.ts withLeader). The bounds of each client are named here too.
 */
import { TesseraError, type RetryMeaning } from '@tessera/common';

/**
 * SDK data calls (data-client.ts). A call is bounded by time, not by a count of attempts (as
 * TiKV's backoffer and a context deadline in etcd's client): it is sent again, with jittered
 * backoff, until `budgetMs` has passed since its first send, so a partition without a serving
 * leader for a few seconds (a failover, a leader whose lease lapsed waiting to be told its role
 * again) is waited out however quickly each refusal comes back. A send under way when the budget
 * ends runs to its own request timeout (ClientOptions.requestTimeoutMs).
 */
export const DATA_RETRY = {
  /** Default time one call keeps retrying across leader changes (ClientOptions.retryBudgetMs). */
  budgetMs: 20_000,
  backoffBaseMs: 25,
  backoffMaxMs: 1000,
  /** Retries brought early by a metadata change that do not grow the backoff. */
  wakeupsMax: 20,
} as const;

/** Admin commands to the leader nameserver (admin-client.ts). */
export const ADMIN_RETRY = {
  /** Attempts of one command across leader changes. */
  attemptsMax: 12,
  backoffBaseMs: 50,
  backoffMaxMs: 1000,
} as const;

export interface CallKind {
  /** True when sending the call twice has the effect of sending it once. */
  idempotent: boolean;
}

export const DATA_CALL: CallKind = { idempotent: true };
export const ADMIN_CALL: CallKind = { idempotent: false };

/** How to retry `err` for a call of this kind: 'no', or the catalogue's meaning. Non-Tessera errors: 'no'. */
export function retryFor(err: unknown, kind: CallKind): RetryMeaning {
  if (!(err instanceof TesseraError)) return 'no';
  const meaning = err.retry;
  if (meaning === 'same' && !kind.idempotent) return 'no';
  return meaning;
}

/** True when `err` may be retried for a call of this kind. */
export function shouldRetry(err: unknown, kind: CallKind): boolean {
  return retryFor(err, kind) !== 'no';
}
