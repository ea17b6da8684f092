// Status reports as changes (status-report.ts, issue 16), in process on a memory-level tablet
// answering inject(): a poller's first report is whole, the next carries only replicas that
// changed (or are not quiescent) and the ones gone, and any seq it did not acknowledge gets a
// whole report again.
import t from 'tap';
import { createLogger, type ReplicaStatus } from '@tessera/common';
import { RouteLedger } from '@tessera/testkit';
import { TabletServer, type TabletOptions } from '../src/index.js';
import { quiescent, sameReplication } from '../src/status-report.js';

const logger = createLogger('status-report', 'silent');
const PEER = '127.0.0.1:19001';
const schema = {
  name: 'flow', db: 'demo_db',
  columns: [{ name: 'card', type: 'string' }, { name: 'amt', type: 'double' }, { name: 'ts', type: 'timestamp' }],
  indexes: [{ name: 'card', keys: ['card'], ts: 'ts' }],
};

function options(): Omit<TabletOptions, 'zk'> {
  return {
    endpoint: '127.0.0.1:19000', dbRootPath: '/nonexistent/in-memory', storage: 'memory', gcIntervalMinutes: 60, bodyBytesMax: 1024 * 1024,
    shutdownTimeoutMs: 2_000, binlogRetentionEntries: 1_000, replicaAckTimeoutMs: 2_000, snapshotBytesPerSecondMax: 0, minInSyncReplicas: 1, logger,
  };
}

interface Answer {
  replicas: ReplicaStatus[];
  report: { stream: string; seq: number; delta: boolean; removed: Array<[number, number]> };
}

t.test('a poller gets the whole status once, then only what changed', async (t) => {
  const tablet = await TabletServer.open(options());
  t.teardown(() => tablet.stop());
  const ledger = new RouteLedger();
  const post = async (url: string, body: unknown): Promise<Record<string, unknown>> => {
    const a = await ledger.call(tablet, 'POST', url, body);
    t.equal(a.status, 200, `${url} ${JSON.stringify(a.body).slice(0, 160)}`);
    return a.body;
  };
  const report = async (stream: string, ack: number): Promise<Answer> => (await post('/v1/control/status', { nsEpoch: 1, report: { stream, ack } })) as unknown as Answer;
  const keys = (a: Answer): string[] => a.replicas.map((r) => `${r.tid}_${r.pid}`).sort();

  await post('/v1/control/create_replica', { tid: 1, pid: 0, schema, role: 'leader', term: 1, replicaAck: 'leader', nsEpoch: 1 });
  await post('/v1/control/create_replica', { tid: 1, pid: 1, schema, role: 'follower', term: 1, leader: PEER, nsEpoch: 1 });

  const first = await report('ns-a', 0);
  t.same([first.report.delta, first.report.seq, keys(first)], [false, 1, ['1_0', '1_1']], 'first report: whole');
  const quiet = await report('ns-a', 1);
  t.same([quiet.report.delta, quiet.report.seq, keys(quiet), quiet.report.removed], [true, 2, [], []], 'nothing changed: an empty change report');

  await post('/v1/control/change_role', { tid: 1, pid: 0, role: 'leader', term: 2, replicaAck: 'leader', nsEpoch: 1 });
  const changed = await report('ns-a', 2);
  t.same([changed.report.delta, keys(changed)], [true, ['1_0']], 'a new term: that replica only');
  t.match(changed.replicas[0], { term: 2, role: 'leader' });

  await post('/v1/control/drop_replica', { tid: 1, pid: 1, nsEpoch: 1 });
  const gone = await report('ns-a', 3);
  t.same([gone.report.delta, keys(gone), gone.report.removed], [true, [], [[1, 1]]], 'a dropped replica: named as gone');

  const other = await report('ns-b', 0);
  t.same([other.report.delta, keys(other)], [false, ['1_0']], 'another stream starts whole');
  const lost = await report('ns-a', 3);
  t.same([lost.report.delta, keys(lost)], [false, ['1_0']], 'an answer the poller did not apply (ack behind): whole again');
  t.same((await report('ns-a', lost.report.seq)).replicas, [], 'then changes again');

  const plain = await post('/v1/control/status', { nsEpoch: 1 });
  t.equal((plain.replicas as unknown[]).length, 1, 'without a stream: every replica, as before');
  t.equal(plain.report, undefined);
  const bad = await post('/v1/control/status', { nsEpoch: 1, report: { stream: '', ack: -1 } });
  t.equal(bad.report, undefined, 'a malformed cursor is read as none');
});

t.test('quiescent: what is sent at every poll anyway', async (t) => {
  const base = { tid: 1, pid: 0, name: 'x', db: 'd', role: 'leader' as const, state: 'normal' as const, term: 1, offset: 5, recordCnt: 5, memUsed: 0, diskUsed: 0 };
  const follower = (ackedOffset: number, state = 'stream') => ({ endpoint: 'f:1', state, ackedOffset, lastAckMs: 0, sinceMs: 0, snapshotsSent: 0 });
  const rep = (f: ReturnType<typeof follower>) => ({ term: 1, offset: 5, nowMs: 0, inSync: ['f:1'], waitingFor: ['f:1'], followers: [f] });
  t.ok(quiescent(base), 'a leader without replication to report');
  t.ok(quiescent({ ...base, replication: rep(follower(5)) }), 'every follower streaming and caught up');
  t.notOk(quiescent({ ...base, replication: rep(follower(4)) }), 'a follower behind (its silence is judged over time)');
  t.notOk(quiescent({ ...base, replication: rep(follower(5, 'match')) }), 'a follower not streaming');
  t.notOk(quiescent({ ...base, fenced: true }), 'a fenced leader');
  t.notOk(quiescent({ ...base, state: 'unassigned' }), 'an unassigned replica (role assignment)');
});

t.test('sameReplication: the report clock is no change, anything a follower did is', async (t) => {
  const f = { endpoint: 'f:1', state: 'stream', ackedOffset: 5, lastAckMs: 10, sinceMs: 0, snapshotsSent: 0 };
  const rep = { term: 1, offset: 5, nowMs: 100, inSync: ['f:1'], waitingFor: ['f:1'], followers: [f] };
  t.ok(sameReplication(rep, { ...rep, nowMs: 200 }), 'another nowMs only');
  t.notOk(sameReplication(rep, { ...rep, followers: [{ ...f, ackedOffset: 6 }] }), 'a new ack');
  t.notOk(sameReplication(rep, { ...rep, followers: [{ ...f, lastAckMs: 11 }] }), 'a later answer');
  t.notOk(sameReplication(rep, { ...rep, waitingFor: [] }), 'the set writes wait for');
  t.notOk(sameReplication(rep, undefined), 'no longer leading');
  t.ok(sameReplication(undefined, undefined));
});
