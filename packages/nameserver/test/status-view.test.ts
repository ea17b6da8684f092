// The status page's document (server/status-view.ts) from hand-made metadata, reports and ops:
// per-tablet counts and disk, the partition × tablet cells (alive, in sync, lag), partition
// health, and which ops are listed.
import t from 'tap';
import type { ReplicaStatus, TableInfo } from '@tessera/common';
import { statusView, STATUS_FINISHED_OPS_MAX, type StatusSources } from '../src/server/status-view.js';
import type { Op } from '../src/core/op.js';

const A = '10.0.0.1:9921', B = '10.0.0.2:9921', C = '10.0.0.3:9921';

function table(): TableInfo {
  return {
    tid: 7, partitionNum: 2, replicaNum: 3, compressType: 'kNoCompress', replicaAck: 'all', createdMs: 0,
    schema: { db: 'd', name: 'flow', columns: [{ name: 'k', type: 'string' }], indexes: [{ name: 'k', keys: ['k'], ttl: { type: 'absolute', absMinutes: 0, latest: 0 } }] },
    partitions: [
      { pid: 0, termOffsets: [{ term: 1, offset: 0 }], inSync: [B, C], replicas: [{ endpoint: A, isLeader: true, isAlive: true }, { endpoint: B, isLeader: false, isAlive: true }, { endpoint: C, isLeader: false, isAlive: true }] },
      { pid: 1, termOffsets: [{ term: 1, offset: 0 }], inSync: [A], replicas: [{ endpoint: B, isLeader: true, isAlive: true }, { endpoint: A, isLeader: false, isAlive: true }, { endpoint: C, isLeader: false, isAlive: false }] },
    ],
  } as TableInfo;
}

const offsets: Record<string, number> = { [`${A}/0`]: 100, [`${B}/0`]: 100, [`${C}/0`]: 90, [`${B}/1`]: 50, [`${A}/1`]: 50 };
const report = (ep: string, pid: number): ReplicaStatus | undefined =>
  offsets[`${ep}/${pid}`] === undefined ? undefined : ({ tid: 7, pid, offset: offsets[`${ep}/${pid}`], diskUsed: 1000 + pid } as ReplicaStatus);

function op(id: number, status: Op['status']): Op {
  return { id, type: 'kMigrateOP', db: 'd', name: 'flow', tid: 7, pid: 0, status, startMs: 1000, endMs: status === 'kDoing' ? 0 : 2000,
    tasks: [{ kind: 'kPauseSnapshot', endpoint: A }, { kind: 'kSendSnapshot', endpoint: A, des: C }], taskIndex: 1,
    progress: { tasksDone: 1, tasksTotal: 2, lagEntries: 5 } } as unknown as Op;
}

function sources(over: Partial<StatusSources> = {}): StatusSources {
  return {
    nowMs: 5000, leader: 'ns:1', epoch: 3,
    tablets: [{ endpoint: C, state: 'kTabletOffline', ageMs: 10 }, { endpoint: A, state: 'kTabletHealthy', ageMs: 100 }, { endpoint: B, state: 'kTabletHealthy', ageMs: 200 }],
    tables: [table()],
    replica: (ep, _tid, pid) => report(ep, pid),
    replicasOf: (ep) => [0, 1].map((pid) => report(ep, pid)).filter((r): r is ReplicaStatus => r !== undefined),
    hasReport: (ep) => ep !== C,
    ops: [],
    ...over,
  };
}

t.test('tablets: sorted, replica and leader counts from the metadata, disk from the reports', async (t) => {
  const v = statusView(sources());
  t.same(v.tablets.map((x) => [x.endpoint, x.state, x.replicas, x.leaders, x.diskBytes]), [
    [A, 'kTabletHealthy', 2, 1, 2001],
    [B, 'kTabletHealthy', 2, 1, 2001],
    [C, 'kTabletOffline', 2, 0, null],
  ]);
});

t.test('the partition map: roles, alive (metadata and tablet health), in sync, lag', async (t) => {
  const v = statusView(sources());
  const [p0, p1] = v.tables[0]!.partitions;
  t.same(v.tables[0]!.endpoints, [A, B, C]);
  t.same(p0!.cells[A], { role: 'leader', alive: true, inSync: true, offset: 100, lagEntries: 0 });
  t.same(p0!.cells[C], { role: 'follower', alive: false, inSync: true, offset: 90, lagEntries: 10 }, 'on an offline tablet: not alive, its last lag kept');
  t.equal(p0!.healthy, false, '2 alive in-sync replicas of 3: degraded');
  t.same(p1!.cells[C], { role: 'follower', alive: false, inSync: false, offset: null, lagEntries: null }, 'marked not alive, no report');
  t.equal(p1!.healthy, false);
  const allUp = statusView(sources({ tablets: [A, B, C].map((endpoint) => ({ endpoint, state: 'kTabletHealthy', ageMs: 1 })) }));
  t.equal(allUp.tables[0]!.partitions[0]!.healthy, true, 'leader alive and 3 alive in-sync replicas: healthy');
});

t.test('ops: every unfinished one, the newest finished ones up to the bound, newest first, with progress', async (t) => {
  const ops = [op(1, 'kDoing'), ...Array.from({ length: STATUS_FINISHED_OPS_MAX + 5 }, (_, i) => op(i + 2, 'kDone'))];
  const v = statusView(sources({ ops }));
  t.equal(v.ops.length, STATUS_FINISHED_OPS_MAX + 1);
  t.equal(v.ops[0]!.id, STATUS_FINISHED_OPS_MAX + 6, 'newest first');
  const doing = v.ops.find((o) => o.id === 1)!;
  t.same([doing.status, doing.curTask, doing.tasksDone, doing.tasksTotal, doing.lagEntries], ['kDoing', 'kSendSnapshot', 1, 2, 5], 'the oldest op is listed while it runs');
  t.equal(v.ops.find((o) => o.status === 'kDone')!.curTask, null, 'a finished op has no current task');
});

t.test('a leader that failed over (`leader no`) is shown as such and counted nowhere as leading', async (t) => {
  const info = table();
  // pid 0 failed over from A to B: A keeps its leader flag, not alive (as OpenMLDB), listed first.
  info.partitions[0] = { pid: 0, termOffsets: [{ term: 1, offset: 0 }, { term: 3, offset: 101 }], inSync: [C], replicas: [{ endpoint: A, isLeader: true, isAlive: false }, { endpoint: B, isLeader: true, isAlive: true }, { endpoint: C, isLeader: false, isAlive: true }] };
  const v = statusView(sources({ tables: [info], tablets: [A, B, C].map((endpoint) => ({ endpoint, state: 'kTabletHealthy', ageMs: 1 })) }));
  const p0 = v.tables[0]!.partitions[0]!;
  t.same(p0.cells[A], { role: 'leader', alive: false, inSync: false, offset: 100, lagEntries: 0 }, 'leader, not alive, not in sync');
  t.same(p0.cells[C], { role: 'follower', alive: true, inSync: true, offset: 90, lagEntries: 10 }, 'lag against the alive leader B');
  t.same(v.tablets.map((x) => [x.endpoint, x.leaders]), [[A, 0], [B, 2], [C, 0]], 'A leads nothing');
});
