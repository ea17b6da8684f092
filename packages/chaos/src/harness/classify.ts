/**
 * Which failed calls are definite (`fail`: the write did not and will not apply) and which are
 * indeterminate (`info`). The SDK (packages/client/src/retry-policy.ts) retries every code the
 * error catalogue marks `same` or `refreshRouting` (NOT_LEADER, UNAVAILABLE, REPLICA_NOT_SERVING,
 * TIMEOUT, OVERLOADED, ...) up to 10 times with the same write id and throws the *last* error. An earlier attempt may have timed out after the
 * leader applied the write (and a deposed leader's local write may even survive as the new
 * leader's if it was replicated), so a retryable code at the end says nothing about the attempts
 * before it: indeterminate. Transport errors (UNAVAILABLE on a reset, TIMEOUT) are indeterminate
 * on their own. Definite are only the codes that depend on the request alone — a request with a
 * bad shape gets the same answer on every attempt, so no attempt applied it — and errors the SDK
 * raises before sending anything (plain errors from validation are also TesseraErrors with
 * INVALID_ARGUMENT / SCHEMA_MISMATCH).
 */
import { TesseraError } from '@tessera/common';

/** Codes that a request's shape alone decides: if one attempt got it, every attempt did. */
export const DEFINITE_FAILURE_CODES: ReadonlySet<string> = new Set([
  'DECODE_ERROR', 'BODY_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'INVALID_ARGUMENT', 'SCHEMA_MISMATCH', 'LIMIT_EXCEEDED', 'PARTITION_NOT_FOUND', 'ROUTE_NOT_FOUND',
]);

export function classify(err: unknown): { result: 'fail' | 'info'; error: string } {
  if (err instanceof TesseraError) return { result: DEFINITE_FAILURE_CODES.has(err.code) ? 'fail' : 'info', error: err.code };
  return { result: 'info', error: (err as Error)?.message?.slice(0, 200) ?? String(err) };
}
