// PerTabletBatcher on its own: one batch per tablet per turn, the in-flight cap, flushNow, uncapped endpoints.
import t from 'tap';
import { PerTabletBatcher } from '../src/per-tablet-batcher.js';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function recorder(requestsInFlightMax: number): { b: PerTabletBatcher<number[]>; sent: Array<{ endpoint: string; batch: number[]; answer: () => void }> } {
  const sent: Array<{ endpoint: string; batch: number[]; answer: () => void }> = [];
  const b = new PerTabletBatcher<number[]>({
    requestsInFlightMax,
    send: (endpoint, batch, answered) => sent.push({ endpoint, batch, answer: answered }),
    uncapped: (endpoint) => endpoint === '',
  });
  return { b, sent };
}

t.test('what is queued in one turn goes as one batch per tablet', async (t) => {
  const { b, sent } = recorder(1);
  for (let i = 0; i < 3; i++) b.batchFor('a', () => []).push(i);
  b.batchFor('b', () => []).push(9);
  t.equal(sent.length, 0, 'nothing before the turn ends');
  await turn();
  t.same(sent.map((s) => [s.endpoint, s.batch]), [['a', [0, 1, 2]], ['b', [9]]]);
});

t.test('at most requestsInFlightMax unanswered per tablet; the rest goes at the answer', async (t) => {
  const { b, sent } = recorder(1);
  b.batchFor('a', () => []).push(1);
  await turn();
  b.batchFor('a', () => []).push(2);
  b.batchFor('a', () => []).push(3);
  await turn();
  t.equal(sent.length, 1, 'waits while one is in flight');
  t.equal(b.inFlightTo('a'), 1);
  sent[0]!.answer();
  sent[0]!.answer();
  t.equal(b.inFlightTo('a'), 0, 'answered once counts once');
  await turn();
  t.same(sent.map((s) => s.batch), [[1], [2, 3]]);
  const two = recorder(2);
  two.b.batchFor('a', () => []).push(1);
  await turn();
  two.b.batchFor('a', () => []).push(2);
  await turn();
  t.equal(two.sent.length, 2, 'a cap of 2 lets a second request go');
});

t.test('flushNow sends a full batch whatever is in flight; uncapped endpoints are never held', async (t) => {
  const { b, sent } = recorder(1);
  b.batchFor('a', () => []).push(1);
  await turn();
  b.batchFor('a', () => []).push(2);
  b.flushNow('a');
  t.same(sent.map((s) => s.batch), [[1], [2]]);
  t.equal(b.inFlightTo('a'), 2);
  b.flushNow('a');
  t.equal(sent.length, 2, 'nothing waiting: nothing sent');
  for (let i = 0; i < 3; i++) {
    b.batchFor('', () => []).push(i);
    await turn();
  }
  t.equal(sent.filter((s) => s.endpoint === '').length, 3, 'one batch every turn');
  t.equal(b.inFlightTo(''), 0, 'never counted');
});
