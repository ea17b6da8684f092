// The set checker on hand-made histories: acknowledged writes present, lost, phantom, duplicated,
// resurrected after a definite failure, wrong ts, unreadable keys; with --ack leader a loss tied
// to the fault that hit its partition after the write, and an untied loss counted unexplained.
import t from 'tap';
import { checkSet, setViolations } from '../src/harness/checker-set.js';
import type { Call, NemesisEvent } from '../src/harness/history.js';

let id = 1;
const put = (key: string, v: string, ts: number, result: Call['result'], startUs = 0, pid = 0): Call => ({ id: id++, client: 0, f: 'put', key, pid, startUs, endUs: startUs + 10, result, row: { v, ts } });

t.test('a clean history', async (t) => {
  const calls = [put('a', 'a1', 1, 'ok'), put('a', 'a2', 2, 'info'), put('b', 'b1', 1, 'fail')];
  const r = checkSet(calls, { a: [{ v: 'a1', ts: 1 }, { v: 'a2', ts: 2 }], b: [] }, 'all', []);
  t.equal(r.acknowledged, 1);
  t.equal(r.indeterminate, 1);
  t.equal(r.indeterminateApplied, 1);
  t.equal(setViolations(r, 'all'), 0);
});

t.test('every kind of violation', async (t) => {
  const calls = [put('a', 'a1', 1, 'ok'), put('a', 'a2', 2, 'ok'), put('b', 'b1', 1, 'fail'), put('c', 'c1', 1, 'ok'), put('d', 'd1', 1, 'ok')];
  const final = {
    a: [{ v: 'a1', ts: 1 }, { v: 'zz', ts: 9 }],
    b: [{ v: 'b1', ts: 1 }],
    c: [{ v: 'c1', ts: 1 }, { v: 'c1', ts: 1 }],
  };
  const r = checkSet(calls, { ...final, d: [{ v: 'd1', ts: 5 }] }, 'all', []);
  t.same(r.lost.map((l) => l.value), ['a2'], 'lost');
  t.same(r.phantoms.map((p) => p.value), ['zz'], 'phantom');
  t.same(r.resurrected.map((p) => p.value), ['b1'], 'resurrected');
  t.same(r.duplicates.map((p) => [p.value, p.copies]), [['c1', 2]], 'duplicate');
  t.same(r.mismatched.map((p) => p.value), ['d1'], 'wrong ts');
  t.equal(setViolations(r, 'all'), 5);
  const unread = checkSet(calls, final, 'all', []);
  t.same(unread.unreadableKeys, ['d'], 'a key without a final read is unreadable');
});

t.test('--ack leader ties losses to faults', async (t) => {
  const calls = [put('a', 'a1', 1, 'ok', 100, 3), put('b', 'b1', 1, 'ok', 100, 5)];
  const nemesis: NemesisEvent[] = [
    { type: 'start', tUs: 50, n: 0, fault: 'tablet-kill', target: 't1', affectedPids: [3, 5] },
    { type: 'start', tUs: 200, n: 1, fault: 'tablet-kill', target: 't2', affectedPids: [3] },
  ];
  const r = checkSet(calls, { a: [], b: [] }, 'leader', nemesis);
  t.equal(r.lost.length, 2);
  t.equal(r.lost.find((l) => l.value === 'a1')!.fault!.n, 1, 'a1 tied to the first fault after it on pid 3');
  t.equal(r.lost.find((l) => l.value === 'b1')!.fault, undefined, 'b1: no fault hit pid 5 after it');
  t.equal(r.lostUnexplained, 1);
  t.equal(setViolations(r, 'leader'), 1, 'only the unexplained loss fails the run with --ack leader');
  t.equal(setViolations(checkSet(calls, { a: [], b: [] }, 'all', nemesis), 'all'), 2, 'with --ack all every loss counts');
});
