// retryWhileZkUnreachable: transient ZooKeeper errors are retried until the step succeeds or the
// bound passes; any other error passes through at once.
import t from 'tap';
import { TesseraError, silentLogger } from '@tessera/common';
import { isTransientCoordError, retryWhileZkUnreachable } from '../src/index.js';

const lost = (): TesseraError => new TesseraError('COORD_ERROR', 'exists /x failed: ZCONNECTIONLOSS', { zkError: 'ZCONNECTIONLOSS' });

t.test('transient errors are retried until the step succeeds', async (t) => {
  let calls = 0;
  const out = await retryWhileZkUnreachable('step', async () => {
    if (++calls < 3) throw lost();
    return 'done';
  }, silentLogger);
  t.equal(out, 'done');
  t.equal(calls, 3, 'two failures, then success');
});

t.test('other errors pass through at once', async (t) => {
  let calls = 0;
  const noNode = new TesseraError('COORD_ERROR', 'no node', { zkError: 'ZNONODE' });
  await t.rejects(retryWhileZkUnreachable('step', async () => {
    calls++;
    throw noNode;
  }, silentLogger), noNode);
  t.equal(calls, 1);
  t.notOk(isTransientCoordError(new TesseraError('INVALID_ARGUMENT', 'x')), 'not a coordination error');
  t.ok(isTransientCoordError(lost()));
});

t.test('a transient error past the bound is thrown', async (t) => {
  let calls = 0;
  await t.rejects(retryWhileZkUnreachable('step', async () => {
    calls++;
    throw lost();
  }, silentLogger, 250), { code: 'COORD_ERROR' });
  t.ok(calls >= 2, `retried ${calls} times within the bound`);
});
