// Every route of the tablet, in process: a standalone tablet on memory-level (no ZooKeeper, no
// socket) answering fastify's inject(). Each route gets a request that succeeds and one refused
// with a catalogue code; the last test checks that every registered route got both, so a route
// added without a test fails here. What needs processes (replication between tablets, crashes,
// the lease under ZooKeeper) stays in tablet-process/replication/lease tests.
import t from 'tap';
import { createLogger, waitFor } from '@tessera/common';
import { MemoryCoordServer } from '@tessera/coord';
import { freePort, RouteLedger, type InjectAnswer } from '@tessera/testkit';
import { TabletServer, type TabletOptions } from '../src/index.js';

const logger = createLogger('tablet-inject', process.env['TESSERA_TEST_LOG'] === '1' ? 'debug' : 'silent');
const SELF = '127.0.0.1:19000';
const PEER = '127.0.0.1:19001';

const schema = {
  name: 'flow', db: 'demo_db',
  columns: [{ name: 'card', type: 'string' }, { name: 'amt', type: 'double' }, { name: 'ts', type: 'timestamp' }],
  indexes: [{ name: 'card', keys: ['card'], ts: 'ts' }],
};

/** What each route answered (a success, the catalogue codes of its refusals), checked by the last test. */
const ledger = new RouteLedger();
type Answer = InjectAnswer;
const call = (server: TabletServer, method: 'GET' | 'POST', url: string, body?: unknown, headers?: Record<string, string>): Promise<Answer> => ledger.call(server, method, url, body, headers);

function errorCode(a: Answer): unknown {
  return (a.body.error as { code?: unknown } | undefined)?.code;
}

function options(endpoint: string): Omit<TabletOptions, 'zk'> {
  return {
    endpoint, dbRootPath: '/nonexistent/in-memory', storage: 'memory', gcIntervalMinutes: 60, bodyBytesMax: 1024 * 1024,
    shutdownTimeoutMs: 2_000, binlogRetentionEntries: 1_000, replicaAckTimeoutMs: 2_000, snapshotBytesPerSecondMax: 0, minInSyncReplicas: 1, logger,
  };
}

t.test('tablet routes answer in process', async (t) => {
  const tablet = await TabletServer.open(options(SELF));
  t.teardown(() => tablet.stop());
  // send_snapshot creates the replica on another tablet over HTTP: one that listens, in memory too.
  const des = await TabletServer.start(options(`127.0.0.1:${await freePort()}`));
  t.teardown(() => des.stop());
  const ok = async (url: string, body?: unknown): Promise<Record<string, unknown>> => {
    const a = await call(tablet, 'POST', url, body);
    t.equal(a.status, 200, `${url} answers 200 (${JSON.stringify(a.body).slice(0, 200)})`);
    return a.body;
  };
  const refused = async (url: string, body: unknown, code: string, what: string): Promise<void> => {
    const a = await call(tablet, 'POST', url, body);
    t.equal(errorCode(a), code, `${url}: ${what} → ${code} (${JSON.stringify(a.body).slice(0, 160)})`);
  };

  // ---- health, metrics, ping ----
  const health = await call(tablet, 'GET', '/v1/health');
  t.equal(health.status, 200);
  t.equal(health.body.role, 'tablet');
  t.equal(health.body.zkConnected, null, 'no ZooKeeper');
  const json = await call(tablet, 'GET', '/v1/health', undefined, { accept: 'application/json' });
  t.match(String(json.body.text), /"role":"tablet"/, 'JSON when asked');
  const metrics = await call(tablet, 'GET', '/metrics');
  t.match(String(metrics.body.text), /tablet_replicas|tessera_/, 'Prometheus text');
  await ok('/v1/ping', {});
  await refused('/v1/ping', Buffer.from([0xc1]), 'DECODE_ERROR', 'a body that is not msgpack');
  t.equal(errorCode(await call(tablet, 'GET', '/v1/nope')), 'ROUTE_NOT_FOUND');

  // ---- control: create, role, status, ttl, checksum ----
  await ok('/v1/control/create_replica', { tid: 1, pid: 0, schema, role: 'leader', term: 1, replicaAck: 'leader', nsEpoch: 1 });
  await ok('/v1/control/create_replica', { tid: 1, pid: 1, schema, role: 'follower', term: 1, leader: PEER, nsEpoch: 1 });
  await refused('/v1/control/create_replica', { tid: 1, pid: 0, schema, role: 'leader', term: 1, nsEpoch: 1 }, 'TABLE_EXISTS', 'the same replica again');
  await refused('/v1/control/create_replica', { tid: 2, pid: 0, schema, role: 'boss', term: 1 }, 'INVALID_ARGUMENT', 'an unknown role');
  await refused('/v1/control/create_replica', { tid: 2, pid: 0, schema, role: 'leader', term: 1, nsEpoch: 0 }, 'STALE_NS_EPOCH', 'an older nameserver epoch');

  const status = await ok('/v1/control/status', { nsEpoch: 1 });
  t.equal((status.replicas as unknown[]).length, 2);
  const one = await ok('/v1/control/status', { tid: 1, pid: 0 });
  t.match(one.replicas, [{ tid: 1, pid: 0, role: 'leader' }]);
  await refused('/v1/control/status', { tid: 9, pid: 0 }, 'TABLE_NOT_FOUND', 'an unknown replica');

  await ok('/v1/control/change_role', { tid: 1, pid: 0, role: 'leader', term: 2, replicaAck: 'leader', nsEpoch: 1 });
  await refused('/v1/control/change_role', { tid: 1, pid: 0, role: 'leader', term: 1, nsEpoch: 1 }, 'STALE_TERM', 'a lower term');
  await refused('/v1/control/change_role', { tid: 1, pid: 0, role: 'leader', term: -1 }, 'INVALID_ARGUMENT', 'a negative term');
  // ---- batch: many control commands in one request, one result each, in order ----
  await ok('/v1/control/create_replica', { tid: 3, pid: 0, schema, role: 'follower', term: 1, leader: PEER, nsEpoch: 1 });
  const batched = await ok('/v1/control/batch', { nsEpoch: 1, commands: [
    { path: '/v1/control/change_role', body: { tid: 3, pid: 0, role: 'follower', term: 3, followers: [] } },
    { path: '/v1/control/change_role', body: { tid: 3, pid: 0, role: 'follower', term: 2, followers: [] } },
    { path: '/v1/control/change_role', body: { tid: 7, pid: 0, role: 'follower', term: 3, followers: [] } },
  ] });
  t.match(batched.results, [{ ok: true }, { error: { code: 'STALE_TERM' } }, { error: { code: 'TABLE_NOT_FOUND' } }], 'each command answered by itself');
  t.match((await ok('/v1/control/status', { tid: 3, pid: 0 })).replicas, [{ role: 'follower', term: 3 }], 'the first command took effect');
  await refused('/v1/control/batch', { nsEpoch: 1, commands: [{ path: '/v1/control/drop_replica', body: { tid: 3, pid: 0 } }] }, 'INVALID_ARGUMENT', 'a route that is not batchable');
  await refused('/v1/control/batch', { nsEpoch: 1, commands: [] }, 'INVALID_ARGUMENT', 'no command');
  await refused('/v1/control/batch', { nsEpoch: 0, commands: [{ path: '/v1/control/change_role', body: { tid: 3, pid: 0, role: 'follower', term: 4 } }] }, 'STALE_NS_EPOCH', 'an older nameserver epoch');
  t.match((await ok('/v1/control/status', { tid: 3, pid: 0 })).replicas, [{ term: 3 }], 'a refused batch changed nothing');
  await ok('/v1/control/drop_replica', { tid: 3, pid: 0, nsEpoch: 1 });

  await ok('/v1/control/set_ttl', { tid: 1, pid: 0, ttls: { card: { type: 'absolute', absMinutes: 0, latest: 0 } }, nsEpoch: 1 });
  await refused('/v1/control/set_ttl', { tid: 1, pid: 0, ttls: {}, nsEpoch: 1 }, 'INVALID_ARGUMENT', 'no index named');

  // ---- data ----
  const put = await ok('/v1/data/put', { tid: 1, pid: 0, row: ['c1', 1.5, 1000], writeId: 'w1' });
  t.equal(put.offset, 1);
  await refused('/v1/data/put', { tid: 1, pid: 1, row: ['c1', 1.5, 1000] }, 'NOT_LEADER', 'a write to a follower');
  await refused('/v1/data/put', { tid: 7, pid: 0, row: ['c1', 1.5, 1000] }, 'REPLICA_NOT_HERE', 'a write for a replica this tablet does not hold (stale routing)');
  await refused('/v1/data/put', { tid: 1, pid: 0, row: ['c1', 'x', 1000] }, 'INVALID_ARGUMENT', 'a string for a double');
  const batch = await ok('/v1/data/put_batch', { tid: 1, pid: 0, rows: [{ row: ['c1', 2.5, 2000] }, { row: ['c2', 3.5, 3000] }] });
  t.equal(batch.lastOffset, 3);
  await refused('/v1/data/put_batch', { tid: 1, pid: 0, rows: [] }, 'INVALID_ARGUMENT', 'an empty batch');
  const multi = await ok('/v1/data/put_multi', { parts: [{ tid: 1, pid: 0, rows: [{ row: ['c3', 4.5, 4000] }] }, { tid: 1, pid: 1, rows: [{ row: ['c3', 4.5, 4000] }] }] });
  t.match(multi.results, [{ lastOffset: 4 }, { error: { code: 'NOT_LEADER' } }], 'each part answered on its own');
  await refused('/v1/data/put_multi', { parts: [] }, 'INVALID_ARGUMENT', 'no parts');

  const got = await ok('/v1/data/get', { tid: 1, pid: 0, index: 'card', key: 'c1' });
  t.same(got.row, { ts: 2000, values: ['c1', 2.5, 2000] }, 'the newest row of the key');
  await refused('/v1/data/get', { tid: 1, pid: 0, index: 'nope', key: 'c1' }, 'INVALID_ARGUMENT', 'an unknown index');
  const gm = await ok('/v1/data/get_multi', { gets: [{ tid: 1, pid: 0, key: 'c2' }, { tid: 7, pid: 0, key: 'c2' }] });
  t.match(gm.results, [{ row: { values: ['c2', 3.5, 3000] } }, { error: { code: 'REPLICA_NOT_HERE' } }], 'a replica not held here: REPLICA_NOT_HERE (stale routing), not TABLE_NOT_FOUND');
  await refused('/v1/data/get_multi', { gets: 'c2' }, 'INVALID_ARGUMENT', 'gets not a list');
  // A follower answers at its own offset, which may miss what the leader acknowledged: no reads.
  await refused('/v1/data/get', { tid: 1, pid: 1, key: 'c1' }, 'NOT_LEADER', 'a get on a follower');
  const onFollower = await call(tablet, 'POST', '/v1/data/get', { tid: 1, pid: 1, key: 'c1' });
  t.match(onFollower.body, { error: { details: { leader: PEER } } }, 'with the leader hint');
  await refused('/v1/data/scan', { tid: 1, pid: 1, key: 'c1', st: 0, et: 0 }, 'NOT_LEADER', 'a scan on a follower');
  await refused('/v1/data/count', { tid: 1, pid: 1, key: 'c1' }, 'NOT_LEADER', 'a count on a follower');
  await refused('/v1/data/preview', { tid: 1, pid: 1 }, 'NOT_LEADER', 'a preview on a follower');
  const gmf = await ok('/v1/data/get_multi', { gets: [{ tid: 1, pid: 0, key: 'c2' }, { tid: 1, pid: 1, key: 'c2' }] });
  t.match(gmf.results, [{ row: { values: ['c2', 3.5, 3000] } }, { error: { code: 'NOT_LEADER' } }], 'a get_multi answers the leader part and refuses the follower part alone');
  const scan = await ok('/v1/data/scan', { tid: 1, pid: 0, key: 'c1', st: 0, et: 0 });
  t.same((scan.rows as Array<{ ts: number }>).map((r) => r.ts), [2000, 1000], 'newest first');
  await refused('/v1/data/scan', { tid: 1, pid: 0, key: 'c1', st: 1000, et: 2000 }, 'INVALID_ARGUMENT', 'st not above et');
  t.equal((await ok('/v1/data/count', { tid: 1, pid: 0, key: 'c1' })).count, 2);
  await refused('/v1/data/count', { tid: 1, pid: 0 }, 'INVALID_ARGUMENT', 'no key');
  t.equal(((await ok('/v1/data/preview', { tid: 1, pid: 0, limit: 2 })).rows as unknown[]).length, 2);
  await refused('/v1/data/preview', { tid: 1, pid: 0, limit: 1e9 }, 'LIMIT_EXCEEDED', 'a limit over previewRowsMax');
  t.equal((await ok('/v1/data/delete', { tid: 1, pid: 0, key: 'c3', writeId: 'd1' })).deleted, 1);
  t.match(await ok('/v1/data/delete', { tid: 1, pid: 0, key: 'c3', writeId: 'd1' }), { duplicate: true }, 'a retried delete applies once');
  await refused('/v1/data/delete', { tid: 1, pid: 1, key: 'c3' }, 'NOT_LEADER', 'a delete on a follower');

  // ---- ops commands ----
  await ok('/v1/control/pause_snapshot', { tid: 1, pid: 0, nsEpoch: 1 });
  await ok('/v1/control/recover_snapshot', { tid: 1, pid: 0, nsEpoch: 1 });
  await refused('/v1/control/pause_snapshot', { tid: 1, pid: 99_999 }, 'INVALID_ARGUMENT', 'a pid out of range');
  await refused('/v1/control/recover_snapshot', { tid: 5, pid: 0, nsEpoch: 1 }, 'TABLE_NOT_FOUND', 'an unknown replica');
  await ok('/v1/control/send_snapshot', { tid: 1, pid: 0, des: des.endpoint, nsEpoch: 1 });
  t.equal(des.replicas.get(1, 0)?.role, 'follower', 'the replica exists on des as a follower');
  // The check a move ends with: des, made a follower, catches up; the leader compares at des's offset.
  await ok('/v1/control/add_replica', { tid: 1, pid: 0, follower: des.endpoint, nsEpoch: 1 });
  const compared = await waitFor('des caught up to offset 5 and compared', async () => {
    const a = await call(tablet, 'POST', '/v1/control/compare_checksum', { tid: 1, pid: 0, replica: des.endpoint, opId: 7, nsEpoch: 1 });
    return a.status === 200 && a.body.offset === 5 ? a.body : undefined;
  }, { timeoutMs: 20_000, intervalMs: 100 });
  const [mine, theirs] = [compared.leader, compared.replica] as Array<{ endpoint: string; rows: number; sha256: string }>;
  t.equal(mine!.endpoint, SELF);
  t.equal(theirs!.endpoint, des.endpoint);
  t.equal(mine!.rows, 3, 'three live rows at offset 5 (the fourth was deleted there)');
  t.same(theirs, { ...mine, endpoint: des.endpoint }, 'same rows and checksum on both at the same offset');
  await refused('/v1/control/compare_checksum', { tid: 1, pid: 1, replica: des.endpoint, nsEpoch: 1 }, 'NOT_LEADER', 'on a follower');
  await refused('/v1/control/compare_checksum', { tid: 1, pid: 0, replica: PEER, nsEpoch: 1 }, 'PRECONDITION_FAILED', 'a replica that is not a follower here');
  await refused('/v1/control/compare_checksum', { tid: 1, pid: 0, replica: 'x', nsEpoch: 1 }, 'INVALID_ARGUMENT', 'replica not an endpoint');
  await ok('/v1/control/del_replica', { tid: 1, pid: 0, follower: des.endpoint, nsEpoch: 1 });
  const ttlAtMs = Date.now();
  const now5 = await ok('/v1/control/checksum_at', { tid: 1, pid: 0, ttlAtMs });
  t.match(now5, { ok: true, offset: 5, rows: 3, sha256: mine!.sha256 }, 'at its own offset: the leader\'s figures');
  // replica_ack=leader: the delete at 5 was committed, and its rows purged, at once.
  t.match(await ok('/v1/control/checksum_at', { tid: 1, pid: 0, ttlAtMs, offset: 4 }), { ok: false, reason: 'inconclusive' }, 'before a purged delete: not exact');
  t.match(await ok('/v1/control/checksum_at', { tid: 1, pid: 0, ttlAtMs, offset: 9 }), { ok: false, reason: 'behind', offset: 5 }, 'an offset not reached');
  await refused('/v1/control/checksum_at', { tid: 9, pid: 0, ttlAtMs }, 'TABLE_NOT_FOUND', 'an unknown replica');
  t.same(await ok('/v1/control/loaded_checksum', { tid: 1, pid: 0 }), { loaded: null }, 'a leader that never loaded a snapshot keeps no loaded checksum');
  await refused('/v1/control/loaded_checksum', { tid: 9, pid: 0 }, 'TABLE_NOT_FOUND', 'an unknown replica');
  await refused('/v1/control/loaded_checksum', { tid: 1, pid: -1 }, 'INVALID_ARGUMENT', 'a negative pid');
  await refused('/v1/control/checksum_at', { tid: 1, pid: 0, ttlAtMs: -1 }, 'INVALID_ARGUMENT', 'a negative time');
  await refused('/v1/control/send_snapshot', { tid: 1, pid: 0, des: SELF, nsEpoch: 1 }, 'INVALID_ARGUMENT', 'to itself');
  await refused('/v1/control/send_snapshot', { tid: 1, pid: 1, des: PEER, nsEpoch: 1 }, 'NOT_LEADER', 'from a follower');
  await ok('/v1/control/del_replica', { tid: 1, pid: 0, follower: PEER, nsEpoch: 1 });
  await refused('/v1/control/add_replica', { tid: 1, pid: 0, follower: 'no-port', nsEpoch: 1 }, 'INVALID_ARGUMENT', 'not an endpoint');
  await refused('/v1/control/del_replica', { tid: 1, pid: 1, follower: PEER, nsEpoch: 1 }, 'NOT_LEADER', 'on a follower');
  const made = await ok('/v1/control/make_snapshot', { tid: 1, pid: 0, nsEpoch: 1 });
  t.type(made.binlogFirstOffset, 'number');
  await refused('/v1/control/make_snapshot', { tid: 1, pid: 0, endOffset: 'x' }, 'INVALID_ARGUMENT', 'endOffset not a number');
  t.match(await ok('/v1/control/snapshot_limit', { perStreamBytesPerSec: 1000, perDestinationBytesPerSec: 0, nsEpoch: 1 }), { perStreamBytesPerSec: 1000, perDestinationBytesPerSec: 0 });
  await refused('/v1/control/snapshot_limit', { perStreamBytesPerSec: -1, perDestinationBytesPerSec: 0, nsEpoch: 1 }, 'INVALID_ARGUMENT', 'a negative limit');
  t.match(await ok('/v1/control/snapshot_limit', { perDestinationBytesPerSec: 5, nsEpoch: 1 }), { perStreamBytesPerSec: 1000, perDestinationBytesPerSec: 5 }, 'a limit not sent (never set with confset) stays as it is');
  await ok('/v1/control/snapshot_limit', { perStreamBytesPerSec: 0, perDestinationBytesPerSec: 0, nsEpoch: 1 });
  await ok('/v1/control/set_in_sync', { tid: 1, pid: 0, term: 2, inSync: [SELF], nsEpoch: 1 });
  await refused('/v1/control/set_in_sync', { tid: 1, pid: 0, term: 1, inSync: [], nsEpoch: 1 }, 'NOT_LEADER', 'an old term');
  const cs = await ok('/v1/control/checksum', { tid: 1, pid: 0 });
  t.equal(cs.offset, 5, `checksum at offset 5 (${JSON.stringify(cs)})`);
  await refused('/v1/control/checksum', { tid: 'x', pid: 0 }, 'INVALID_ARGUMENT', 'tid not a number');

  // ---- follower side: appends and a snapshot into pid 1 ----
  const probe = await ok('/v1/replica/append', { tid: 1, pid: 1, term: 1, entries: [] });
  t.equal(probe.offset, 0, 'a probe answers the offset');
  await refused('/v1/replica/append', { tid: 1, pid: 1, term: 0, entries: [] }, 'STALE_TERM', 'a lower term');
  const am = await ok('/v1/replica/append_multi', { parts: [{ tid: 1, pid: 1, term: 1, entries: [] }, { tid: 1, pid: 1, term: 0, entries: [] }] });
  t.match(am.results, [{ offset: 0 }, { error: { code: 'STALE_TERM' } }]);
  await refused('/v1/replica/append_multi', { parts: [] }, 'INVALID_ARGUMENT', 'no parts');
  const begun = await ok('/v1/replica/snapshot_begin', { tid: 1, pid: 1, term: 1, session: 'ab12', offset: 0, offsetTerm: 1 });
  t.equal(begun.packedChunks, true, 'the follower says it reads packed chunks');
  await refused('/v1/replica/snapshot_begin', { tid: 1, pid: 1, term: 1, session: 'not hex', offset: 0, offsetTerm: 1 }, 'INVALID_ARGUMENT', 'a session that is not hex');
  await ok('/v1/replica/snapshot_chunk', { tid: 1, pid: 1, term: 1, session: 'ab12', seq: 0, entries: [] });
  await ok('/v1/replica/snapshot_chunk', { tid: 1, pid: 1, term: 1, session: 'ab12', seq: 1, packed: Buffer.alloc(0) });
  await refused('/v1/replica/snapshot_chunk', { tid: 1, pid: 1, term: 1, session: 'ab12', seq: 2, entries: [[1, 2]] }, 'INVALID_ARGUMENT', 'entries not byte pairs');
  await refused('/v1/replica/snapshot_chunk', { tid: 1, pid: 1, term: 1, session: 'ab12', seq: 2, packed: Buffer.from([0, 0, 0, 9, 1]) }, 'INVALID_ARGUMENT', 'a packed length past its end');
  await refused('/v1/replica/snapshot_chunk', { tid: 1, pid: 1, term: 1, session: 'ab12', seq: 2, packed: 'x' }, 'INVALID_ARGUMENT', 'packed not bytes');
  await refused('/v1/replica/snapshot_chunk', { tid: 1, pid: 1, term: 1, session: 'ab12', seq: 2, packed: Buffer.alloc(0), entries: [] }, 'INVALID_ARGUMENT', 'both forms');
  const end = await ok('/v1/replica/snapshot_end', { tid: 1, pid: 1, term: 1, session: 'ab12', chunks: 2 });
  t.equal(end.offset, 0);
  await refused('/v1/replica/snapshot_end', { tid: 1, pid: 1, term: 1, session: 'ab12' }, 'INVALID_ARGUMENT', 'no chunk count');

  // ---- fence, ZooKeeper commands, drop ----
  await ok('/v1/control/add_replica', { tid: 1, pid: 0, follower: PEER, nsEpoch: 1 });
  await ok('/v1/control/fence_leader', { tid: 1, pid: 0, term: 2, nsEpoch: 1 });
  await refused('/v1/data/put', { tid: 1, pid: 0, row: ['c9', 1, 9000] }, 'NOT_LEADER', 'a write to a fenced leader');
  await refused('/v1/control/fence_leader', { tid: 1, pid: 0, term: 3, nsEpoch: 1 }, 'NOT_LEADER', 'another term');
  await refused('/v1/control/disconnectzk', { nsEpoch: 1 }, 'PRECONDITION_FAILED', 'a tablet without ZooKeeper');
  await refused('/v1/control/connectzk', { nsEpoch: 0 }, 'STALE_NS_EPOCH', 'an older epoch');
  await ok('/v1/control/drop_replica', { tid: 1, pid: 1, nsEpoch: 1 });
  await refused('/v1/control/drop_replica', { tid: 1, pid: 1, nsEpoch: 1 }, 'TABLE_NOT_FOUND', 'dropped already');
});

t.test('a tablet registered through the in-memory coordination backend: disconnectzk / connectzk', async (t) => {
  const coordServer = new MemoryCoordServer();
  const coord = await coordServer.connect({ rootPath: '/tessera', sessionTimeoutMs: 4_000 });
  const observer = await coordServer.connect({ rootPath: '/tessera' });
  const tablet = await TabletServer.open(options('127.0.0.1:19002'), coord);
  t.teardown(async () => {
    await tablet.stop();
    await observer.close();
  });
  const node = observer.layout.node(tablet.endpoint);
  t.ok(await observer.exists(node), 'registered under /nodes');
  t.equal((await call(tablet, 'GET', '/v1/health')).body.zkConnected, true);
  const disconnected = await call(tablet, 'POST', '/v1/control/disconnectzk', { nsEpoch: 1 });
  t.equal(disconnected.status, 200);
  t.notOk(await observer.exists(node), 'the registration went with the session');
  const connected = await call(tablet, 'POST', '/v1/control/connectzk', { nsEpoch: 1 });
  t.equal(connected.status, 200);
  await waitFor('registered again', async () => observer.exists(node), { timeoutMs: 10_000 });
});

t.test('a read whose replica steps down while it is under way is refused before its answer leaves', async (t) => {
  const tablet = await TabletServer.open(options('127.0.0.1:19003'));
  t.teardown(() => tablet.stop());
  const send = (url: string, body: unknown): Promise<Answer> => call(tablet, 'POST', url, body);
  t.equal((await send('/v1/control/create_replica', { tid: 3, pid: 0, schema, role: 'leader', term: 1, replicaAck: 'leader', nsEpoch: 1 })).status, 200);
  t.equal((await send('/v1/data/put', { tid: 3, pid: 0, row: ['c1', 1.5, 1000] })).status, 200);
  const store = tablet.replicas.get(3, 0)!.store;
  // Hold the reads inside the store (after the arrival check), step the replica down, let them go.
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let inStore = 0;
  const get = store.get.bind(store);
  const getMany = store.getMany.bind(store);
  store.get = async (...a: Parameters<typeof get>) => { inStore++; await held; return get(...a); };
  store.getMany = async (...a: Parameters<typeof getMany>) => { inStore++; await held; return getMany(...a); };
  const single = send('/v1/data/get', { tid: 3, pid: 0, key: 'c1' });
  const multi = send('/v1/data/get_multi', { gets: [{ tid: 3, pid: 0, key: 'c1' }] });
  await waitFor('both reads in the store', () => inStore === 2, { timeoutMs: 5_000 });
  t.equal((await send('/v1/control/change_role', { tid: 3, pid: 0, role: 'follower', term: 2, leader: PEER, nsEpoch: 1 })).status, 200);
  release();
  t.equal(errorCode(await single), 'NOT_LEADER', 'the get read as a leader, answered as a follower: refused');
  t.equal(errorCode(await multi), 'NOT_LEADER', 'the get_multi too (refused whole)');
  t.equal((await send('/v1/control/change_role', { tid: 3, pid: 0, role: 'leader', term: 3, replicaAck: 'leader', nsEpoch: 1 })).status, 200);
  t.same((await send('/v1/data/get', { tid: 3, pid: 0, key: 'c1' })).body.row, { ts: 1000, values: ['c1', 1.5, 1000] }, 'a leader again answers');
});

t.test('every registered tablet route was answered in process, with a success and a catalogue code', async (t) => {
  const tablet = await TabletServer.open(options(SELF));
  t.teardown(() => tablet.stop());
  const routes = tablet.routes();
  t.ok(routes.length >= 30, `${routes.length} routes registered`);
  /** Routes that take no input, so nothing can be refused: a success is all there is. */
  const noInput = new Set(['GET /v1/health', 'GET /metrics']);
  for (const r of routes) {
    const name = `${r.method} ${r.url}`;
    const s = ledger.coverage(name);
    t.ok(s.ok, `${name}: answered with success`);
    if (!noInput.has(name)) t.ok(s.catalogueCodes.length > 0, `${name}: refused with a catalogue code (${s.catalogueCodes.join(', ')})`);
  }
});
