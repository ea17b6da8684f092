// One op's showop detail from the pure core (src/core/op-detail.ts), on hand-made ops, leader
// reports and times: the copy the leader reports, the rate between two samples at the times
// given (no clock read anywhere), the ETA, why the op waits, and what the book forgets.
import t from 'tap';
import type { ReplicaStatus, SnapshotTransferReport } from '@tessera/common';
import { OpProgressBook, destinationOf, endpointsOf, taskDetails, type OpFacts } from '../src/core/op-detail.js';
import type { Op } from '../src/core/op.js';

const A = '10.0.0.1:9921', B = '10.0.0.2:9921', C = '10.0.0.3:9921';

function migrate(status: Op['status'] = 'kDoing'): Op {
  return {
    id: 9, type: 'kMigrateOP', db: 'd', name: 'flow', tid: 7, pid: 0, status, createdMs: 900, startMs: 1000, endMs: status === 'kDoing' ? 0 : 50_000,
    nsEpoch: 1, parentId: null, cancelRequested: false, commitTaskIndex: 2, data: { kind: 'migrate', src: B, des: C },
    tasks: [{ kind: 'kPauseSnapshot', endpoint: A, status: 'kDone', startMs: 1000, endMs: 1100 }, { kind: 'kSendSnapshot', endpoint: A, des: C, status: 'kDoing', startMs: 1100 }],
    taskIndex: 1, progress: { tasksDone: 1, tasksTotal: 2 },
  } as unknown as Op;
}

/** The leader's report of partition 7/0 with a copy to C (bytes sent of 1 MB, 100 bytes a row). */
function leaderReport(bytesSent: number, snap: Partial<SnapshotTransferReport> = {}, ackedOffset = -1): ReplicaStatus {
  const snapshot: SnapshotTransferReport = { rowsSent: bytesSent / 100, rowsTotal: 10_000, bytesSent, bytesTotal: 1_000_000, startedMs: 1200, throttled: false, ...snap };
  return {
    tid: 7, pid: 0, offset: 500,
    replication: { term: 1, offset: 500, nowMs: 0, inSync: [], waitingFor: [], followers: [{ endpoint: C, state: 'snapshot', ackedOffset, lastAckMs: 0, snapshotsSent: 0, snapshot }] },
  } as unknown as ReplicaStatus;
}

function facts(over: Partial<OpFacts> = {}): OpFacts {
  return { running: [{ id: 9, tid: 7, pid: 0 }], leader: A, leaderStatus: undefined, isHealthy: () => true, concurrencyMax: 4, syncDeltaEntriesMax: 10, ...over };
}

t.test('what the op names: destination, endpoints, tasks', async (t) => {
  const op = migrate();
  t.equal(destinationOf(op), C);
  t.same(endpointsOf(op), [B, C, A], 'data first, then tasks, each once');
  t.same(taskDetails(op).map((d) => [d.index, d.kind, d.status, d.endpoint]), [[0, 'kPauseSnapshot', 'kDone', A], [1, 'kSendSnapshot', 'kDoing', A]]);
});

t.test('a copy under way: rate and ETA from two samples at the times given', async (t) => {
  const book = new OpProgressBook();
  const first = book.detail(migrate(), facts({ leaderStatus: leaderReport(100_000) }), 10_000);
  t.match(first.transfer, { src: A, des: C, bytesCopied: 100_000, bytesTotal: 1_000_000, done: false });
  t.equal(first.bytesPerSec, undefined, 'one sample: no rate yet');
  t.equal(first.etaMs, undefined, 'no rate, no ETA');
  t.equal(first.blockedBecause, undefined, 'moving');
  const again = book.detail(migrate(), facts({ leaderStatus: leaderReport(200_000) }), 10_000);
  t.equal(again.bytesPerSec, undefined, 'a second look at the same time adds no sample');
  const second = book.detail(migrate(), facts({ leaderStatus: leaderReport(300_000) }), 12_000);
  t.equal(second.bytesPerSec, 100_000, '200 kB more in 2 s');
  t.equal(second.rowsPerSec, 1000);
  t.equal(second.etaMs, 7000, '700 kB left at 100 kB/s');
  const throttled = book.detail(migrate(), facts({ leaderStatus: leaderReport(300_000, { throttled: true }) }), 14_000);
  t.equal(throttled.blockedBecause, 'throttle');
  t.equal(throttled.bytesPerSec, 50_000, 'nothing copied in the last 2 s: 200 kB over 4 s');
  const down = book.detail(migrate(), facts({ leaderStatus: leaderReport(300_000), isHealthy: (ep) => ep !== A }), 15_000);
  t.equal(down.blockedBecause, 'tablet down', 'the task commands A, which is down');
  book.keepOnly(new Set());
  t.equal(book.detail(migrate(), facts({ leaderStatus: leaderReport(400_000) }), 16_000).bytesPerSec, undefined, 'forgotten samples: no rate until two new ones');
});

t.test('what the leader reports that is not this op\'s copy, or no longer reports', async (t) => {
  const book = new OpProgressBook();
  const old = book.detail(migrate(), facts({ leaderStatus: leaderReport(100_000, { startedMs: -500 }) }), 10_000);
  t.equal(old.transfer, undefined, 'a copy that started well before the op is another one');
  book.detail(migrate(), facts({ leaderStatus: leaderReport(100_000) }), 10_000);
  const later = book.detail(migrate(), facts({ leaderStatus: undefined }), 11_000);
  t.match(later.transfer, { bytesCopied: 100_000 }, 'the last copy seen stays when the leader says nothing');
  const noLeader = new OpProgressBook().detail(migrate(), facts({ leader: undefined, leaderStatus: leaderReport(100_000) }), 10_000);
  t.equal(noLeader.transfer, undefined, 'no alive leader in the metadata: no source to name');
});

t.test('after the copy: average rate, then the ETA of the catch-up from the lag', async (t) => {
  const book = new OpProgressBook();
  const done = { endedMs: 11_200, bytesSent: 1_000_000, rowsSent: 10_000 };
  const a = book.detail(migrate(), facts({ leaderStatus: leaderReport(1_000_000, done, 300) }), 20_000);
  t.equal(a.bytesPerSec, 100_000, '1 MB in 10 s (the copy\'s own times)');
  t.equal(a.lagEntries, 200, 'leader at 500, C acknowledged 300');
  t.equal(a.etaMs, undefined, 'the lag\'s drain rate needs two samples');
  const b = book.detail(migrate(), facts({ leaderStatus: leaderReport(1_000_000, done, 400) }), 21_000);
  t.equal(b.lagEntries, 100);
  t.equal(b.etaMs, 1000, 'lag 100 draining at 100 entries/s');
  const finished = book.detail(migrate('kDone'), facts({ running: [], leaderStatus: leaderReport(1_000_000, done, 500) }), 22_000);
  t.equal(finished.lagEntries, undefined, 'a finished op has no lag');
  t.equal(finished.etaMs, undefined);
  t.equal(finished.blockedBecause, undefined);
});

t.test('a waiting op says why', async (t) => {
  const waiting = { ...migrate('kInited'), id: 10 };
  const busy = new OpProgressBook().detail(waiting, facts({ running: [{ id: 9, tid: 7, pid: 0 }] }), 1000);
  t.equal(busy.blockedBecause, 'partition busy');
  const full = new OpProgressBook().detail(waiting, facts({ running: [{ id: 1, tid: 1, pid: 0 }, { id: 2, tid: 2, pid: 0 }], concurrencyMax: 2 }), 1000);
  t.equal(full.blockedBecause, 'concurrency limit');
});
