// healthcheck's judgement in process (health-core is pure): a healthy cluster, each kind of
// problem with its grade and line (no leading nameserver, a partition without a serving leader,
// a tablet offline, a replica not alive, a follower lagging or out of the in-sync set, metadata
// and tablet disagreeing, a replica the metadata does not list, checksums that differ), and the
// exit codes; then Tab completion (pure, and through a terminal readline session).
import t from 'tap';
import { PassThrough } from 'node:stream';
import type { NsAdmin, ReplicaStatus, TableInfo, TabletRow, DataOps } from '@tessera/common';
import { evaluateHealth, renderHealth, type HealthInput, type TabletReport } from '../src/nsclient/health-core.js';
import { complete } from '../src/nsclient/completion.js';
import { runNsClient } from '../src/nsclient/repl.js';
import { COMMAND_NAMES } from '../src/nsclient/commands.js';

const A = '10.0.0.1:9527';
const B = '10.0.0.2:9527';
const C = '10.0.0.3:9527';

function table(): TableInfo {
  return {
    tid: 7, partitionNum: 1, replicaNum: 3, compressType: 'kNoCompress', replicaAck: 'all', createdMs: 0,
    schema: { db: 'db', name: 'flow', columns: [{ name: 'k', type: 'string' }], indexes: [{ name: 'k', keys: ['k'], ttl: { type: 'absolute', absMinutes: 0, latest: 0 } }] },
    partitions: [{ pid: 0, replicas: [{ endpoint: A, isLeader: true, isAlive: true }, { endpoint: B, isLeader: false, isAlive: true }, { endpoint: C, isLeader: false, isAlive: true }], termOffsets: [{ term: 3, offset: 0 }], inSync: [B, C] }],
  };
}

function status(role: 'leader' | 'follower', offset: number, over: Partial<ReplicaStatus> = {}): ReplicaStatus {
  return { tid: 7, pid: 0, name: 'flow', db: 'db', role, state: 'normal', term: 3, offset, recordCnt: 1, memUsed: 1, diskUsed: 1, ...over };
}

function healthyInput(): HealthInput & { reports: Map<string, TabletReport>; tablets: TabletRow[]; tables: TableInfo[] } {
  return {
    nameservers: [{ endpoint: '10.0.0.9:9622', role: 'leader' }],
    tablets: [A, B, C].map((endpoint) => ({ endpoint, state: 'kTabletHealthy' as const, ageMs: 1000 })),
    tables: [table()],
    reports: new Map<string, TabletReport>([[A, { replicas: [status('leader', 100)] }], [B, { replicas: [status('follower', 100)] }], [C, { replicas: [status('follower', 99)] }]]),
    lagEntriesMax: 10,
  };
}

t.test('healthy', async (t) => {
  const r = evaluateHealth(healthyInput());
  t.same([r.status, r.exitCode, r.problems], ['healthy', 0, []]);
  t.same(r.summary, { nameservers: 1, leader: '10.0.0.9:9622', tablets: 3, tabletsHealthy: 3, tables: 1, partitions: 1, partitionsWithLeader: 1, partitionsFullyReplicated: 1, followersLagging: 0, checksums: null });
  t.match(renderHealth(r), /^status: healthy \(exit code 0\)\n[\s\S]*problems: none$/);
});

t.test('unavailable: no leading nameserver, no serving leader', async (t) => {
  const noNs = healthyInput();
  noNs.nameservers = [];
  t.same([evaluateHealth(noNs).status, evaluateHealth(noNs).exitCode], ['unavailable', 2]);

  const leaderDown = healthyInput();
  leaderDown.tablets[0] = { endpoint: A, state: 'kTabletOffline', ageMs: 5 };
  leaderDown.reports.delete(A);
  const r = evaluateHealth(leaderDown);
  t.equal(r.exitCode, 2);
  t.same(r.problems.filter((p) => p.level === 'unavailable'), [{ level: 'unavailable', subject: 'db.flow pid 0', message: `leader ${A}: tablet kTabletOffline` }]);
  t.match(renderHealth(r).split('\n').find((l) => l.includes('UNAVAILABLE')), `UNAVAILABLE db.flow pid 0: leader ${A}: tablet kTabletOffline`);

  const notLeading = healthyInput();
  notLeading.reports.set(A, { replicas: [status('follower', 100, { state: 'unassigned' })] });
  t.match(evaluateHealth(notLeading).problems, [{ level: 'unavailable', message: `leader ${A} reports role follower, state unassigned (metadata: leader)` }]);

  const noLeader = healthyInput();
  noLeader.tables[0]!.partitions[0]!.replicas[0]!.isAlive = false;
  t.equal(evaluateHealth(noLeader).status, 'unavailable');
  t.match(evaluateHealth(noLeader).problems[0], { message: 'no alive leader in the metadata' });
});

t.test('degraded: offline tablet, replica not alive, lagging, out of the in-sync set', async (t) => {
  const down = healthyInput();
  down.tablets[2] = { endpoint: C, state: 'kTabletOffline', ageMs: 5 };
  down.reports.delete(C);
  down.tables[0]!.partitions[0]!.replicas[2]!.isAlive = false;
  const r = evaluateHealth(down);
  t.same([r.status, r.exitCode], ['degraded', 1]);
  t.same(r.problems.map((p) => `${p.subject}: ${p.message}`), [
    `tablet ${C}: kTabletOffline`,
    `db.flow pid 0: replica on ${C} is not alive in the metadata`,
    'db.flow pid 0: 2 of 3 replicas alive and in sync',
  ]);

  const lagging = healthyInput();
  lagging.reports.set(C, { replicas: [status('follower', 50)] });
  const l = evaluateHealth(lagging);
  t.equal(l.exitCode, 1);
  t.equal(l.summary.followersLagging, 1);
  t.match(l.problems[0], { message: `follower ${C} is 50 entries behind its leader (bound 10)` });

  const outOfSet = healthyInput();
  outOfSet.tables[0]!.partitions[0]!.inSync = [B];
  t.match(evaluateHealth(outOfSet).problems, [{ message: `follower ${C} is not in the in-sync set` }, { message: '2 of 3 replicas alive and in sync' }]);

  const silent = healthyInput();
  silent.reports.set(B, { error: 'UNAVAILABLE: connect ECONNREFUSED' });
  t.match(evaluateHealth(silent).problems, [{ subject: `tablet ${B}`, message: 'registered but does not answer: UNAVAILABLE: connect ECONNREFUSED' }]);
});

t.test('degraded: metadata and tablets disagree; checksums differ', async (t) => {
  const term = healthyInput();
  term.reports.set(A, { replicas: [status('leader', 100, { term: 4 })] });
  t.match(evaluateHealth(term).problems, [{ level: 'degraded', message: `leader ${A} reports term 4, metadata term 3` }]);

  const extra = healthyInput();
  extra.tablets.push({ endpoint: '10.0.0.4:9527', state: 'kTabletHealthy', ageMs: 1 });
  extra.reports.set('10.0.0.4:9527', { replicas: [status('follower', 100), status('follower', 0, { tid: 99 })] });
  t.same(evaluateHealth(extra).problems.map((p) => `${p.subject}: ${p.message}`), [
    'db.flow pid 0: tablet 10.0.0.4:9527 holds a replica the metadata does not list (role follower)',
    'tablet 10.0.0.4:9527: holds replica 99_0 of no table in the metadata',
  ]);

  const sums = healthyInput();
  sums.checksums = [{ tid: 7, pid: 0, outcome: 'differ', detail: 'at offset 100: a, b' }];
  const r = evaluateHealth(sums);
  t.same([r.exitCode, r.summary.checksums], [1, { equal: 0, differ: 1, skipped: 0 }]);
  t.match(r.problems[0], { subject: 'db.flow pid 0', message: 'replicas differ: at offset 100: a, b' });
});

t.test('completion', async (t) => {
  const names = { commands: COMMAND_NAMES, tables: ['flow', 'flow2', 'card'], dbs: ['demo_db', 'd2'] };
  t.same(complete('showt', names), [['showtable', 'showtablet'], 'showt']);
  t.same(complete('healthc', names), [['healthcheck'], 'healthc']);
  t.same(complete('showschema fl', names), [['flow', 'flow2'], 'fl']);
  t.same(complete('setttl c', names), [['card'], 'c']);
  t.same(complete('use de', names), [['demo_db'], 'de']);
  t.same(complete('zzz', names), [[], 'zzz']);

  // Through a terminal session: Tab completes the only candidate, Enter runs it.
  const input = new PassThrough() as PassThrough & { isTTY: boolean };
  const output = new PassThrough() as PassThrough & { isTTY: boolean; columns: number };
  input.isTTY = true;
  output.isTTY = true;
  output.columns = 120;
  let printed = '';
  output.on('data', (d: Buffer) => (printed += d.toString('utf8')));
  const asked: string[] = [];
  const done = runNsClient({
    admin: {} as NsAdmin, data: {} as DataOps, interactive: false, input, output, leaderEndpoint: () => '127.0.0.1:9622', database: 'db',
    completion: { tables: async (db) => (asked.push(db), ['flow']), dbs: async () => ['db'] },
  });
  await new Promise((r) => setTimeout(r, 50));
  input.write('showsch\t');
  await new Promise((r) => setTimeout(r, 50));
  input.write(' fl\t');
  await new Promise((r) => setTimeout(r, 50));
  input.write('\r');
  await new Promise((r) => setTimeout(r, 100));
  input.write('quit\r');
  t.equal(await done, 0);
  t.same(asked, ['db'], 'table names of the current database');
  t.match(printed, /showschema  ?flow/, 'the line was completed');
});
