/**
 * The checksum check every replica move ends with (core checksum-check.ts): the verdict on a
 * leader's compare_checksum answer as a table, then transcripts against the fake cluster — a
 * migrate, an addreplica and a leader migrate whose new copy sums differently are failed and
 * undone, with both checksums stored in the op; an equal one is stored and the move goes on.
 */
import t from 'tap';
import type { ChecksumComparison } from '@tessera/common';
import { checkTaskAnswer, newTask, type Op, type Task } from '../src/core/index.js';
import { Harness, invariantViolations, scaleOutCluster } from './core-harness.js';

const check = newTask({ kind: 'kCheckChecksum', endpoint: 'L:1', replica: 'N:1' });
const other = newTask({ kind: 'kAddReplica', endpoint: 'L:1', follower: 'N:1' });
const cmp = (leader: [number, string], replica: [number, string], endpoint = 'N:1'): ChecksumComparison => ({
  offset: 42,
  leader: { endpoint: 'L:1', rows: leader[0], sha256: leader[1] },
  replica: { endpoint, rows: replica[0], sha256: replica[1] },
});
const blankOp = (): Op => ({ checksums: undefined } as unknown as Op);

const ROWS: Array<[string, Task, { ok: boolean; error?: string; retryable?: boolean; detail?: unknown; code?: string }, { ok: boolean; retryable?: boolean; error?: RegExp; resendAfterMs?: number }, boolean | null]> = [
  // name, task, answer, outcome, stored match (null: nothing stored)
  ['another task passes unchanged', other, { ok: true, detail: cmp([1, 'a'], [2, 'b']) }, { ok: true }, null],
  ['a refused compare passes unchanged (retryable as sent)', check, { ok: false, error: 'tablet down', code: 'UNAVAILABLE', retryable: true }, { ok: false, retryable: true }, null],
  ['still comparing (TIMEOUT): asked again at once', check, { ok: false, error: 'still comparing 1_0 with N:1; ask again', code: 'TIMEOUT', retryable: false }, { ok: false, retryable: true, resendAfterMs: 0 }, null],
  ["another task's TIMEOUT keeps the resend interval", other, { ok: false, error: 'slow', code: 'TIMEOUT', retryable: true }, { ok: false, retryable: true }, null],
  ['equal rows and checksum: ok, stored', check, { ok: true, detail: cmp([7, 'abc'], [7, 'abc']) }, { ok: true }, true],
  ['checksum differs: failed for good, stored', check, { ok: true, detail: cmp([7, 'abc'], [7, 'abd']) }, { ok: false, retryable: false, error: /checksum mismatch at offset 42: leader L:1 7 rows sha256 abc, new replica N:1 7 rows sha256 abd/ }, false],
  ['rows differ: failed for good, stored', check, { ok: true, detail: cmp([7, 'abc'], [6, 'abc']) }, { ok: false, retryable: false, error: /checksum mismatch/ }, false],
  ['no comparison in the answer: retried', check, { ok: true, detail: { ok: true } }, { ok: false, retryable: true, error: /without a comparison/ }, null],
  ['a comparison for another replica: retried', check, { ok: true, detail: cmp([1, 'a'], [1, 'a'], 'X:1') }, { ok: false, retryable: true, error: /for X:1, not N:1/ }, null],
];

t.test('the verdict on a compare_checksum answer', async (t) => {
  for (const [name, task, answer, want, stored] of ROWS) {
    const op = blankOp();
    const got = checkTaskAnswer(op, 3, task, answer);
    t.equal(got.ok, want.ok, `${name}: ok=${want.ok}`);
    if (want.retryable !== undefined) t.equal(got.retryable === true, want.retryable, `${name}: retryable=${want.retryable}`);
    if (want.error !== undefined) t.match(got.error, want.error, `${name}: error`);
    t.equal(got.resendAfterMs, want.resendAfterMs, `${name}: resendAfterMs=${want.resendAfterMs}`);
    if (stored === null) t.equal(op.checksums, undefined, `${name}: nothing stored`);
    else t.match(op.checksums, [{ taskIndex: 3, offset: 42, match: stored }], `${name}: stored with match=${stored}`);
  }
  const op = blankOp();
  checkTaskAnswer(op, 3, check, { ok: true, detail: cmp([1, 'a'], [2, 'b']) });
  checkTaskAnswer(op, 3, check, { ok: true, detail: cmp([2, 'b'], [2, 'b']) });
  t.match(op.checksums, [{ taskIndex: 3, match: true }], 'a later answer of the same task replaces the earlier');
  t.equal(op.checksums!.length, 1);
});

const cluster = () => scaleOutCluster();

t.test('migrate whose new copy sums differently: failed at kCheckChecksum and undone; both checksums in the op', async (t) => {
  const { h, leader, src } = cluster();
  const before = h.layout(1, 0);
  h.cluster.tablet('ep4').corruptChecksums.add('1/0');
  h.adminReply({ type: 'migrate', db: 'demo_db', name: 'flow', src, des: 'ep4', pids: [0] });
  h.runUntilIdle();
  const op = h.engine.op(1)!;
  t.equal(op.status, 'kFailed');
  t.match(op.error, /checksum mismatch at offset 5: leader .* 5 rows sha256 .*, new replica ep4 5 rows sha256 x/);
  t.match(op.checksums, [{ taskIndex: 7, offset: 5, match: false, leader: { endpoint: leader, rows: 5 }, replica: { endpoint: 'ep4', rows: 5 } }]);
  t.equal(op.tasks[7]!.status, 'kFailed');
  t.same(op.tasks.slice(op.rollback!.undoStartIndex).map((x) => `${x.kind} ${'endpoint' in x ? x.endpoint : ''}`), [
    'kDelTableInfo ep4', `kDelReplica ${leader}`, 'kDropTable ep4', `kRecoverSnapshot ${leader}`,
  ], 'the undo of every step taken, newest first');
  t.same(h.layout(1, 0), before, 'partition as before: src kept');
  t.equal(h.cluster.tablet('ep4').replica(1, 0), undefined, 'nothing left on ep4');
  t.ok(h.cluster.tablet(src).replica(1, 0), 'src still holds its replica');
  t.same(invariantViolations(h, { allAlive: true }), []);
  // A good copy: the same move goes through.
  h.cluster.tablet('ep4').corruptChecksums.clear();
  h.adminReply({ type: 'migrate', db: 'demo_db', name: 'flow', src, des: 'ep4', pids: [0] });
  h.runUntilIdle();
  t.equal(h.engine.op(2)!.status, 'kDone');
  t.match(h.engine.op(2)!.checksums, [{ match: true }]);
});

t.test('addreplica whose new copy sums differently: failed and undone, the replica not added', async (t) => {
  const { h } = cluster();
  const before = h.layout(1, 1);
  h.cluster.tablet('ep4').corruptChecksums.add('1/1');
  h.adminReply({ type: 'addreplica', db: 'demo_db', name: 'flow', pids: [1], endpoint: 'ep4' });
  h.runUntilIdle();
  const op = h.engine.op(1)!;
  t.equal(op.status, 'kFailed');
  t.match(op.checksums, [{ match: false, offset: 3 }]);
  t.same(h.layout(1, 1), before);
  t.equal(h.cluster.tablet('ep4').replica(1, 1), undefined);
  t.same(invariantViolations(h, { allAlive: true }), []);
});

t.test('leader migrate whose new copy sums differently: the chain stops at its first op; the source still leads, nothing removed', async (t) => {
  const h = new Harness({ tablets: ['ep1', 'ep2', 'ep3', 'ep4'], seed: 2 });
  h.createTable('flow', 1, 3);
  h.write(1, 0, 5);
  h.replicateFully();
  const p = h.partition(1, 0);
  const src = p.replicas.find((r) => r.isLeader)!.endpoint;
  const des = ['ep1', 'ep2', 'ep3', 'ep4'].find((e) => !p.replicas.some((r) => r.endpoint === e))!;
  const before = h.layout(1, 0);
  h.cluster.tablet(des).corruptChecksums.add('1/0');
  h.adminReply({ type: 'migrate', db: 'demo_db', name: 'flow', src, des, pids: [0] });
  h.runUntilIdle();
  t.same(h.engine.ops().map((o) => `${o.type}:${o.status}`), ['kAddReplicaOP:kFailed', 'kChangeLeaderOP:kFailed', 'kDelReplicaOP:kFailed']);
  t.match(h.engine.op(1)!.error, /checksum mismatch/);
  t.same(h.layout(1, 0), before, 'the source leads, the partition as before');
  t.same(invariantViolations(h, { allAlive: true }), []);
});
