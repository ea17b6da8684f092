// The status poller with reports of changes (src/server/status-poller.ts, issue 16), over a
// TabletTracker on the in-memory coordination backend and a scripted tablet: each poll names the
// stream and the seq it applied, changes are merged into the whole picture, and the engine is fed
// the changes since its last take, every replica as changes every PATROL_EVERY_TAKES takes, a
// whole report after a whole answer and after wantFull.
import t from 'tap';
import { createLogger, waitFor, type ReplicaStatus } from '@tessera/common';
import { MemoryCoordServer } from '@tessera/coord';
import { PATROL_EVERY_TAKES, StatusPoller } from '../src/server/status-poller.js';
import type { StatusReportHeader, TabletControl } from '../src/server/tablet-client.js';
import { TabletTracker } from '../src/server/tablets.js';

const ROOT = '/tessera';
const rep = (pid: number, offset: number): ReplicaStatus => ({ tid: 1, pid, name: 't', db: 'd', role: 'leader', state: 'normal', term: 1, offset, recordCnt: offset, memUsed: 0, diskUsed: 0 });

t.test('changes are merged, and the engine gets changes with a whole report at the patrol', async (t) => {
  const coord = new MemoryCoordServer();
  const ns = await coord.connect({ rootPath: ROOT });
  const tablets = new TabletTracker(ns, ns.layout, createLogger('poller', 'silent'));
  await tablets.start();
  const tabletSession = await coord.connect({ rootPath: ROOT });
  t.teardown(async () => {
    tablets.stop();
    await tabletSession.close();
    await ns.close();
  });
  await tabletSession.create(tabletSession.layout.node('a:1'), JSON.stringify({ startMs: 1 }), { ephemeral: true });
  await waitFor('a is up', () => tablets.isHealthy('a:1'), { timeoutMs: 5_000 });

  const cursors: Array<{ stream: string; ack: number }> = [];
  const answers: Array<{ replicas: ReplicaStatus[]; report?: StatusReportHeader }> = [];
  const control = {
    statusReport: async (_ep: string, _timeoutMs: number, cursor: { stream: string; ack: number }) => {
      cursors.push(cursor);
      return answers.shift()!;
    },
  } as unknown as TabletControl;
  const poller = new StatusPoller(tablets, control, 1000, { nowMs: () => 5000 }, createLogger('poller', 'silent'));
  const poll = async (answer: { replicas: ReplicaStatus[]; report?: StatusReportHeader }): Promise<void> => {
    answers.push(answer);
    await poller.pollOne('a:1');
  };
  const header = (seq: number, delta: boolean, removed: Array<[number, number]> = []): StatusReportHeader => ({ stream: cursors.at(-1)!.stream, seq, delta, removed });

  await poll({ replicas: [rep(0, 1), rep(1, 1)], report: undefined as unknown as StatusReportHeader });
  t.equal(cursors[0]!.ack, 0, 'the first poll acknowledges nothing');
  // The scripted tablet answers the first poll as a tablet that sends no seq would.
  t.same(poller.takeReport('a:1'), { full: true, replicas: [rep(0, 1), rep(1, 1)] }, 'a whole answer: a whole take');
  await poll({ replicas: [rep(0, 1), rep(1, 1)], report: header(1, false) });
  t.same(poller.takeReport('a:1'), { full: true, replicas: [rep(0, 1), rep(1, 1)] }, 'a whole answer again: whole');
  await poll({ replicas: [rep(0, 2)], report: header(2, true, [[1, 1]]) });
  t.equal(cursors.at(-1)!.ack, 1, 'the poll acknowledges the seq applied');
  t.same(poller.replicasOf('a:1'), [rep(0, 2)], 'merged: the change applied, the gone replica removed');
  await poll({ replicas: [rep(2, 0)], report: header(3, true) });
  t.same(poller.takeReport('a:1'), { full: false, replicas: [rep(0, 2), rep(2, 0)], removed: [{ tid: 1, pid: 1 }] }, 'the engine gets the changes of both polls');
  t.same(poller.takeReport('a:1'), { full: false, replicas: [], removed: [] }, 'nothing since');
  t.same(poller.replica('a:1', 1, 2), rep(2, 0));

  let takes = 2;
  while (takes + 1 < PATROL_EVERY_TAKES) {
    t.equal(poller.takeReport('a:1')!.full, false);
    takes++;
  }
  t.same(poller.takeReport('a:1'), { full: false, replicas: [rep(0, 2), rep(2, 0)], removed: [] }, `every ${PATROL_EVERY_TAKES} takes: every replica as changes (the patrol)`);
  t.equal(poller.takeReport('a:1')!.full, false);
  poller.wantFull();
  t.equal(poller.takeReport('a:1')!.full, true, 'after wantFull (leadership won): whole');

  await poll({ replicas: [rep(0, 3)], report: header(4, true) });
  t.equal(cursors.at(-1)!.ack, 3);
  t.same(poller.replicasOf('a:1'), [rep(0, 3), rep(2, 0)], 'each delta is merged into the picture');

  // Two polls at once (the report chase beside the periodic poll) both acknowledge 4; the whole
  // answer to the second lands first; the first's changes since 4 then apply to nothing current.
  const deferred: Array<(a: { replicas: ReplicaStatus[]; report?: StatusReportHeader }) => void> = [];
  const racing = {
    statusReport: (_ep: string, _timeoutMs: number, cursor: { stream: string; ack: number }) => {
      cursors.push(cursor);
      return new Promise((resolve) => deferred.push(resolve));
    },
  } as unknown as TabletControl;
  (poller as unknown as { control: TabletControl }).control = racing;
  const stream = cursors[0]!.stream;
  const pollA = poller.pollOne('a:1');
  const pollB = poller.pollOne('a:1');
  t.same(cursors.slice(-2).map((c) => c.ack), [4, 4], 'both acknowledge the same report');
  deferred[1]!({ replicas: [rep(0, 5), rep(2, 0)], report: { stream, seq: 6, delta: false, removed: [] } });
  await pollB;
  deferred[0]!({ replicas: [rep(0, 4)], report: { stream, seq: 5, delta: true, removed: [] } });
  t.equal(await pollA, undefined, 'changes on a report no longer current are dropped');
  t.same(poller.replicasOf('a:1'), [rep(0, 5), rep(2, 0)], 'the picture keeps the whole answer');
});
