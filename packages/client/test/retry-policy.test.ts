// The one retry policy of both clients, checked against every code of the catalogue.
import t from 'tap';
import { ERROR_CATALOGUE, TesseraError, type ErrorCode } from '@tessera/common';
import { ADMIN_CALL, DATA_CALL, retryFor, shouldRetry } from '../src/retry-policy.js';

t.test('data calls retry same and refreshRouting; admin commands only refreshRouting', async (t) => {
  for (const code of Object.keys(ERROR_CATALOGUE) as ErrorCode[]) {
    const err = new TesseraError(code, 'x');
    const meaning = ERROR_CATALOGUE[code].retry;
    t.equal(retryFor(err, DATA_CALL), meaning, `${code}: the SDK follows the catalogue, no code excepted`);
    t.equal(retryFor(err, ADMIN_CALL), meaning === 'same' ? 'no' : meaning, `${code}: admin retries only what was sent to the wrong server`);
    t.equal(err.retryable, meaning !== 'no');
  }
});

t.test('the cases the clients used to list by hand', async (t) => {
  const e = (code: ErrorCode): TesseraError => new TesseraError(code, 'x');
  t.equal(retryFor(e('REPLICA_NOT_HERE'), DATA_CALL), 'refreshRouting', 'a replica a tablet no longer holds (moved by a scale-in) sends the SDK to refreshed routing (scale.test)');
  t.equal(retryFor(e('TABLE_NOT_FOUND'), DATA_CALL), 'no', 'a table the refreshed metadata does not have is final for the SDK');
  t.equal(retryFor(e('TABLE_NOT_FOUND'), ADMIN_CALL), 'no', 'a table the nameserver does not know is final');
  for (const code of ['NOT_LEADER', 'UNAVAILABLE', 'REPLICA_NOT_SERVING', 'TIMEOUT', 'OVERLOADED'] as const) t.ok(shouldRetry(e(code), DATA_CALL), `SDK retries ${code}`);
  for (const code of ['NS_NOT_LEADER', 'UNAVAILABLE'] as const) t.ok(shouldRetry(e(code), ADMIN_CALL), `admin retries ${code}`);
  for (const code of ['TIMEOUT', 'OP_CONFLICT', 'TABLE_EXISTS', 'INVALID_ARGUMENT'] as const) t.notOk(shouldRetry(e(code), ADMIN_CALL), `admin does not resend on ${code}`);
  t.notOk(shouldRetry(new Error('plain'), DATA_CALL), 'a plain error is a bug, never retried');
});
