// A real tablet process over real HTTP: replica lifecycle, data routes, restart behaviour, and
// hostile input. Nothing is faked.
import t, { type Test } from 'tap';
import path from 'node:path';
import { encode, decode, TesseraError } from '@tessera/common';
import { spawnRole, startProcessTest, type RoleProcess } from '@tessera/testkit';

const schema = {
  name: 'flow', db: 'demo_db',
  columns: [{ name: 'card', type: 'string' }, { name: 'mcc', type: 'string' }, { name: 'amt', type: 'double' }, { name: 'ts', type: 'timestamp' }],
  indexes: [{ name: 'card', keys: ['card'], ts: 'ts', ttl: { type: 'absolute', absMinutes: 0 } }, { name: 'mcc', keys: ['mcc'], ts: 'ts' }],
};

const { dir, http: client } = await startProcessTest(t, 'tablet-proc', { httpTimeoutMs: 10_000, connectionsPerEndpoint: 8, zk: false });

async function startTablet(name: string, endpoint?: string): Promise<RoleProcess> {
  const flags: Record<string, string | number> = { db_root_path: path.join(dir, name), zk_cluster: '', http_body_bytes_max: 1024 * 1024 };
  if (endpoint) flags.endpoint = endpoint;
  return spawnRole('tablet', flags, { logFile: path.join(dir, `${name}.log`) });
}

async function rejects(t: Test, p: Promise<unknown>, code: string, what: string): Promise<void> {
  try {
    await p;
    t.fail(`${what}: expected ${code}`);
  } catch (err) {
    t.equal((err as TesseraError).code, code, what);
  }
}

t.test('replica lifecycle and data routes', async (t) => {
  const tablet = await startTablet('a');
  const ep = tablet.endpoint;
  await client.call(ep, '/v1/control/create_replica', { tid: 1, pid: 0, schema, role: 'leader', term: 1, nsEpoch: 1 });
  await client.call(ep, '/v1/control/create_replica', { tid: 1, pid: 1, schema, role: 'follower', term: 1, nsEpoch: 1, leader: '127.0.0.1:1' });
  await rejects(t, client.call(ep, '/v1/control/create_replica', { tid: 1, pid: 0, schema, role: 'leader', term: 1, nsEpoch: 1 }), 'TABLE_EXISTS', 'create twice');

  const put = await client.call<{ offset: number }>(ep, '/v1/data/put', { tid: 1, pid: 0, row: { card: 'c1', mcc: 'm1', amt: 1.5, ts: 1000 } });
  t.equal(put.offset, 1);
  const batch = await client.call<{ lastOffset: number }>(ep, '/v1/data/put_batch', {
    tid: 1, pid: 0, rows: [2000, 3000, 4000].map((ts) => ({ row: ['c1', 'm2', 2.5, ts] })),
  });
  t.same(batch, { lastOffset: 4 });
  const got = await client.call<{ row: { ts: number; values: unknown[] } }>(ep, '/v1/data/get', { tid: 1, pid: 0, index: 'card', key: 'c1', ts: 2500 });
  t.same(got.row, { ts: 2000, values: ['c1', 'm2', 2.5, 2000] });
  const scan = await client.call<{ rows: Array<{ ts: number }> }>(ep, '/v1/data/scan', { tid: 1, pid: 0, index: 'card', key: 'c1', st: 4000, et: 1000 });
  t.same(scan.rows.map((r) => r.ts), [4000, 3000, 2000]);
  t.equal((await client.call<{ count: number }>(ep, '/v1/data/count', { tid: 1, pid: 0, index: 'mcc', key: 'm2' })).count, 3);
  t.equal((await client.call<{ rows: unknown[] }>(ep, '/v1/data/preview', { tid: 1, pid: 0, limit: 2 })).rows.length, 2);
  const del = await client.call<{ deleted: number }>(ep, '/v1/data/delete', { tid: 1, pid: 0, index: 'mcc', key: 'm2' });
  t.equal(del.deleted, 3);
  t.equal((await client.call<{ count: number }>(ep, '/v1/data/count', { tid: 1, pid: 0, index: 'card', key: 'c1' })).count, 1);

  await rejects(t, client.call(ep, '/v1/data/put', { tid: 1, pid: 1, row: ['c', 'm', 1, 1] }), 'NOT_LEADER', 'write to follower');
  try {
    await client.call(ep, '/v1/data/put', { tid: 1, pid: 1, row: ['c', 'm', 1, 1] });
  } catch (err) {
    t.same((err as TesseraError).details, { leader: '127.0.0.1:1' }, 'leader hint');
  }
  await rejects(t, client.call(ep, '/v1/data/get', { tid: 9, pid: 0, key: 'c1' }), 'REPLICA_NOT_HERE', 'unknown tid');

  const status = await client.call<{ replicas: Array<{ pid: number; role: string; offset: number; recordCnt: number; diskUsed: number }> }>(ep, '/v1/control/status', {});
  const p0 = status.replicas.find((r) => r.pid === 0)!;
  t.equal(p0.role, 'leader');
  t.equal(p0.offset, 5);
  t.equal(p0.recordCnt, 1);
  t.ok(p0.diskUsed > 0);

  // Epoch fencing.
  await client.call(ep, '/v1/control/change_role', { tid: 1, pid: 1, role: 'follower', term: 2, nsEpoch: 5 });
  await rejects(t, client.call(ep, '/v1/control/change_role', { tid: 1, pid: 1, role: 'leader', term: 3, nsEpoch: 4 }), 'STALE_NS_EPOCH', 'lower epoch refused');
  await rejects(t, client.call(ep, '/v1/control/change_role', { tid: 1, pid: 1, role: 'leader', term: 1, nsEpoch: 5 }), 'STALE_TERM', 'lower term refused');

  // Restart: replicas come back from disk, unassigned until told their role.
  await tablet.stop();
  t.equal((await tablet.exited).code, 0, 'clean exit on SIGTERM');
  t.match(tablet.log(), /databases closed/);
  const again = await startTablet('a', ep);
  await rejects(t, client.call(ep, '/v1/data/get', { tid: 1, pid: 0, key: 'c1' }), 'REPLICA_NOT_SERVING', 'unassigned after restart');
  const st2 = await client.call<{ replicas: Array<{ pid: number; state: string; offset: number }> }>(ep, '/v1/control/status', {});
  t.same(st2.replicas.map((r) => [r.pid, r.state, r.offset]).sort(), [[0, 'unassigned', 5], [1, 'unassigned', 0]]);
  await client.call(ep, '/v1/control/change_role', { tid: 1, pid: 0, role: 'leader', term: 2, nsEpoch: 6 });
  t.equal((await client.call<{ count: number }>(ep, '/v1/data/count', { tid: 1, pid: 0, key: 'c1' })).count, 1);
  await client.call(ep, '/v1/control/drop_replica', { tid: 1, pid: 1, nsEpoch: 6 });
  await rejects(t, client.call(ep, '/v1/data/get', { tid: 1, pid: 1, key: 'c1' }), 'REPLICA_NOT_HERE', 'dropped');
  await again.stop();
});

async function raw(endpoint: string, routePath: string, body: Buffer | string, contentType = 'application/msgpack'): Promise<{ status: number; body: { error?: { code: string } } }> {
  if (contentType === 'application/msgpack') {
    // Through the same undici client the SDK uses: it must see the error, not a reset socket.
    try {
      await client.callRaw(endpoint, routePath, Buffer.from(body));
      return { status: 200, body: {} };
    } catch (err) {
      const e = err as TesseraError;
      return { status: e.status, body: { error: { code: e.code } } };
    }
  }
  const res = await fetch(`http://${endpoint}${routePath}`, { method: 'POST', headers: { 'content-type': contentType }, body });
  const bytes = Buffer.from(await res.arrayBuffer());
  return { status: res.status, body: bytes.length ? (decode(bytes) as { error?: { code: string } }) : {} };
}

t.test('put_multi and get_multi answer each partition and each get on its own', async (t) => {
  const tablet = await startTablet('multi');
  const ep = tablet.endpoint;
  await client.call(ep, '/v1/control/create_replica', { tid: 3, pid: 0, schema, role: 'leader', term: 1, nsEpoch: 1 });
  await client.call(ep, '/v1/control/create_replica', { tid: 3, pid: 1, schema, role: 'leader', term: 1, nsEpoch: 1 });
  await client.call(ep, '/v1/control/create_replica', { tid: 3, pid: 2, schema, role: 'follower', term: 1, nsEpoch: 1, leader: '127.0.0.1:1' });
  type Result = { lastOffset?: number; row?: { ts: number; values: unknown[] } | null; error?: { code: string } };
  const put = await client.call<{ results: Result[] }>(ep, '/v1/data/put_multi', {
    parts: [
      { tid: 3, pid: 0, rows: [{ row: ['a', 'm', 1, 1000], writeId: 'w1' }, { row: ['a', 'm', 2, 2000], writeId: 'w2' }] },
      { tid: 3, pid: 1, rows: [{ row: ['b', 'm', 3, 3000] }, { row: ['b', 'm', 'not a double', 4000] }] },
      { tid: 3, pid: 2, rows: [{ row: ['c', 'm', 5, 5000] }] },
      { tid: 3, pid: 9, rows: [{ row: ['d', 'm', 6, 6000] }] },
    ],
  });
  t.same(put.results.map((r) => r.lastOffset ?? r.error?.code), [2, 'INVALID_ARGUMENT', 'NOT_LEADER', 'REPLICA_NOT_HERE'], 'one outcome per partition, in order');
  const again = await client.call<{ results: Result[] }>(ep, '/v1/data/put_multi', { parts: [{ tid: 3, pid: 0, rows: [{ row: ['a', 'm', 2, 2000], writeId: 'w2' }] }, { tid: 3, pid: 1, rows: [{ row: ['b', 'm', 3, 3000] }] }] });
  t.same(again.results, [{ lastOffset: 2 }, { lastOffset: 1 }], 'a retried write id is applied once; the refused partition wrote nothing before');
  const st = await client.call<{ replicas: Array<{ pid: number; offset: number }> }>(ep, '/v1/control/status', {});
  t.same(st.replicas.filter((r) => r.pid < 2).map((r) => r.offset).sort(), [1, 2]);
  const get = await client.call<{ results: Result[] }>(ep, '/v1/data/get_multi', {
    gets: [{ tid: 3, pid: 0, index: 'card', key: 'a' }, { tid: 3, pid: 1, index: 'card', key: 'nobody' }, { tid: 3, pid: 0, index: 'nope', key: 'a' }, { tid: 3, pid: 9, key: 'a' }],
  });
  t.same(get.results.map((r) => (r.error ? r.error.code : r.row ? r.row.ts : null)), [2000, null, 'INVALID_ARGUMENT', 'REPLICA_NOT_HERE'], 'one answer per get, in order');
  await rejects(t, client.call(ep, '/v1/data/put_multi', { parts: [] }), 'INVALID_ARGUMENT', 'no parts');
  await rejects(t, client.call(ep, '/v1/data/get_multi', { gets: 'x' }), 'INVALID_ARGUMENT', 'gets not a list');
  await tablet.stop();
});

t.test('bad input gets a 4xx with its code; the process stays up and the data unchanged', async (t) => {
  const tablet = await startTablet('bad');
  const ep = tablet.endpoint;
  await client.call(ep, '/v1/control/create_replica', { tid: 2, pid: 0, schema, role: 'leader', term: 1 });
  await client.call(ep, '/v1/data/put_batch', { tid: 2, pid: 0, rows: [1, 2, 3].map((ts) => ({ row: ['c', 'm', 1, ts] })) });
  const before = await client.call<{ sha256: string; offset: number }>(ep, '/v1/control/checksum', { tid: 2, pid: 0 });

  const cases: Array<[string, string, Buffer | string, string, string?]> = [
    ['malformed msgpack', '/v1/data/put', Buffer.from([0x92, 0x01]), 'DECODE_ERROR'],
    ['empty body', '/v1/data/put', Buffer.alloc(0), 'DECODE_ERROR'],
    ['length bomb', '/v1/data/put_batch', Buffer.from([0x81, 0xa4, 0x72, 0x6f, 0x77, 0x73, 0xdd, 0x7f, 0xff, 0xff, 0xff]), 'DECODE_ERROR'],
    ['body over the limit', '/v1/data/put_batch', encode({ tid: 2, pid: 0, rows: [{ row: ['c', 'x'.repeat(2 * 1024 * 1024), 1, 1] }] }), 'BODY_TOO_LARGE'],
    ['wrong content type', '/v1/data/put', JSON.stringify({ tid: 2, pid: 0, row: ['c', 'm', 1, 9] }), 'UNSUPPORTED_MEDIA_TYPE', 'application/json'],
    ['not a map', '/v1/data/put', encode([1, 2, 3]), 'INVALID_ARGUMENT'],
    ['wrong column type', '/v1/data/put', encode({ tid: 2, pid: 0, row: { card: 'c', mcc: 'm', amt: 'lots', ts: 5 } }), 'INVALID_ARGUMENT'],
    ['unknown column', '/v1/data/put', encode({ tid: 2, pid: 0, row: { card: 'c', mcc: 'm', amt: 1, ts: 5, evil: 1 } }), 'INVALID_ARGUMENT'],
    ['missing key column', '/v1/data/put', encode({ tid: 2, pid: 0, row: { amt: 1, ts: 5 } }), 'INVALID_ARGUMENT'],
    ['int64 beyond range', '/v1/data/put', encode({ tid: 2, pid: 0, row: { card: 'c', mcc: 'm', amt: 1, ts: 2n ** 64n - 1n } }), 'INVALID_ARGUMENT'],
    ['__proto__ key', '/v1/data/put', Buffer.concat([Buffer.from([0x83, 0xa3]), Buffer.from('tid'), Buffer.from([0x02, 0xa3]), Buffer.from('pid'), Buffer.from([0x00, 0xa9]), Buffer.from('__proto__'), encode({ isLeader: true })]), 'INVALID_ARGUMENT'],
    ['unknown tid', '/v1/data/put', encode({ tid: 77, pid: 0, row: ['c', 'm', 1, 1] }), 'REPLICA_NOT_HERE'],
    ['negative pid', '/v1/data/get', encode({ tid: 2, pid: -1, key: 'c' }), 'INVALID_ARGUMENT'],
    ['pid out of range', '/v1/data/get', encode({ tid: 2, pid: 1e9, key: 'c' }), 'INVALID_ARGUMENT'],
    ['tid as string', '/v1/data/get', encode({ tid: '2', pid: 0, key: 'c' }), 'INVALID_ARGUMENT'],
    ['unknown index', '/v1/data/scan', encode({ tid: 2, pid: 0, index: 'nope', key: 'c', st: 10, et: 0 }), 'INVALID_ARGUMENT'],
    ['scan limit too big', '/v1/data/scan', encode({ tid: 2, pid: 0, key: 'c', st: 10, et: 0, limit: 1e9 }), 'LIMIT_EXCEEDED'],
    ['table name with ../', '/v1/control/create_replica', encode({ tid: 3, pid: 0, role: 'leader', term: 1, schema: { ...schema, name: '../etc' } }), 'INVALID_ARGUMENT'],
    ['table name with /', '/v1/control/create_replica', encode({ tid: 3, pid: 0, role: 'leader', term: 1, schema: { ...schema, name: 'a/b' } }), 'INVALID_ARGUMENT'],
    ['database name with /', '/v1/control/create_replica', encode({ tid: 3, pid: 0, role: 'leader', term: 1, schema: { ...schema, db: 'x/../../y' } }), 'INVALID_ARGUMENT'],
    ['bad role', '/v1/control/create_replica', encode({ tid: 3, pid: 0, role: 'king', term: 1, schema }), 'INVALID_ARGUMENT'],
    ['empty batch', '/v1/data/put_batch', encode({ tid: 2, pid: 0, rows: [] }), 'INVALID_ARGUMENT'],
    ['one bad row in a batch', '/v1/data/put_batch', encode({ tid: 2, pid: 0, rows: [{ row: ['c', 'm', 1, 1] }, { row: ['c', 'm', 'x', 1] }] }), 'INVALID_ARGUMENT'],
    ['unknown route', '/v1/data/explode', encode({}), 'ROUTE_NOT_FOUND'],
  ];
  for (const [what, route, body, code, ct] of cases) {
    const res = await raw(ep, route, body, ct);
    t.ok(res.status >= 400 && res.status < 500, `${what}: 4xx (got ${res.status})`);
    t.equal(res.body.error?.code, code, `${what}: ${code}`);
  }
  t.ok(tablet.alive(), 'still running');
  const after = await client.call<{ sha256: string; offset: number }>(ep, '/v1/control/checksum', { tid: 2, pid: 0 });
  t.same(after, before, 'data unchanged');
  const st = await client.call<{ replicas: unknown[] }>(ep, '/v1/control/status', {});
  t.equal(st.replicas.length, 1, 'no replica created by refused requests');
  await tablet.stop();
});
