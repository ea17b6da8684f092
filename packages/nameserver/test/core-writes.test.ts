/**
 * The engine's ZooKeeper write pipeline on its own (core/writes.ts): one write in flight per op
 * and per table, later changes coalesced, a delete superseding an op write, failed writes retried
 * after the interval with their waiters, stale answers ignored.
 */
import t from 'tap';
import { WriteTracker } from '../src/core/index.js';

const RETRY_MS = 1000;

t.test('op writes: one in flight, the next coalesced, delete wins', async (t) => {
  const w = new WriteTracker(RETRY_MS);
  t.equal(w.requestOp(1, 'op'), 'op', 'first write goes out at once');
  t.ok(w.opPending(1));
  t.equal(w.requestOp(1, 'op'), null, 'second waits behind the first');
  t.equal(w.requestOp(1, 'delete'), null, 'a delete waits too');
  t.equal(w.requestOp(1, 'op'), null, 'and an op write after it does not undo the delete');
  t.same(w.onOpPersisted(1, 'op', true, 0), { kind: 'confirmed', send: 'delete' }, 'the coalesced next write is the delete');
  t.same(w.onOpPersisted(1, 'delete', true, 0), { kind: 'confirmed', send: null });
  t.notOk(w.opPending(1), 'settled');
});

t.test('op writes: an answer for another write is stale', async (t) => {
  const w = new WriteTracker(RETRY_MS);
  t.same(w.onOpPersisted(7, 'op', true, 0), { kind: 'stale' }, 'nothing in flight');
  w.requestOp(7, 'op');
  t.same(w.onOpPersisted(7, 'delete', true, 0), { kind: 'stale' }, 'a delete answer while an op write is in flight');
  t.ok(w.opPending(7), 'still in flight');
});

t.test('op writes: a failed write is retried after the interval, not before', async (t) => {
  const w = new WriteTracker(RETRY_MS);
  w.requestOp(2, 'op');
  t.same(w.onOpPersisted(2, 'op', false, 5000), { kind: 'failed' });
  t.ok(w.opPending(2), 'pending while waiting for the retry');
  t.equal(w.requestOp(2, 'op'), null, 'a new change waits for the retry too');
  t.equal(w.retryOpDue(2, 5000 + RETRY_MS - 1), null, 'not yet');
  t.equal(w.retryOpDue(2, 5000 + RETRY_MS), 'op', 'due');
  t.equal(w.retryOpDue(2, 9999), null, 'sent once');
  t.same(w.onOpPersisted(2, 'op', true, 6000), { kind: 'confirmed', send: null });
  w.forgetOp(2);
  t.notOk(w.opPending(2));
});

t.test('table writes: waiters confirmed by the write that carried them', async (t) => {
  const w = new WriteTracker(RETRY_MS);
  t.ok(w.tableSettled(3));
  t.equal(w.requestTable(3, 10), true, 'send now');
  w.tableSent(3);
  t.equal(w.requestTable(3, 11), false, 'a second change waits for the first write');
  t.notOk(w.tableSettled(3));
  t.same(w.onTablePersisted(3, true, 0), { confirmed: [10], sendAgain: true }, 'op 10 confirmed, the table changed meanwhile');
  w.tableSent(3);
  t.same(w.onTablePersisted(3, true, 0), { confirmed: [11], sendAgain: false });
  t.ok(w.tableSettled(3));
  t.equal(w.onTablePersisted(3, true, 0), null, 'a late answer is ignored');
});

t.test('table writes: a failed write keeps its waiters for the retry', async (t) => {
  const w = new WriteTracker(RETRY_MS);
  w.requestTable(4, 20);
  w.tableSent(4);
  w.requestTable(4, 21);
  t.same(w.onTablePersisted(4, false, 100), { confirmed: [], sendAgain: false });
  t.notOk(w.tableSettled(4));
  t.equal(w.requestTable(4, null), false, 'a change during the retry wait does not send');
  t.same(w.tablesDue(100 + RETRY_MS - 1), []);
  t.same(w.tablesDue(100 + RETRY_MS), [4]);
  w.tableSent(4);
  t.same(w.onTablePersisted(4, true, 2000), { confirmed: [20, 21], sendAgain: false }, 'both waiters, in order');
  w.dropTable(4);
  t.ok(w.tableSettled(4));
});
