// Key-value tables (OpenMLDB's schemaless tables) on real processes (ZooKeeper, a nameserver,
// three tablets): `create t 0 8 3` and `create t latest:10 8 3` through ns_client, showtable and
// showschema, `put t key ts value`, `get t key ts`, `scan t key st et` with OpenMLDB's texts, the
// latest:10 TTL keeping the 10 newest versions of a key, the SDK's putKv/getKv/scanKv. And a row
// whose index ts column is missing or null: refused by the SDK and by the tablet, nothing stored.
import t from 'tap';
import { leaderOf, pidOfKey, TesseraError } from '@tessera/common';
import { Client, type Row } from '@tessera/client';
import { parseTable, startTestCluster } from '@tessera/testkit';

t.test('key-value tables and rows without a time', async (t) => {
  const { client, http, cli } = await startTestCluster(t, {
    name: 'kv-table', zkRootPath: '/kv', zkSessionTimeoutMs: 2000,
    connect: (zkCluster, zkRootPath) => Client.connect({ zkCluster, zkRootPath }),
    nameservers: 1, tablets: 3,
    nsFlags: { get_table_status_interval: 300 },
    httpTimeoutMs: 10_000, tabletsHealthyTimeoutMs: 20_000, database: 'db',
  });

  await t.test('create both forms; showtable and showschema', async (t) => {
    t.match((await cli('create kv0 0 8 3')).stdout, /^Create table ok$/m);
    t.match((await cli('create kvl latest:10 8 3')).stdout, /^Create table ok$/m);
    for (const [name, ttl] of [['kv0', '0min'], ['kvl', 'latest:10']] as const) {
      const rows = parseTable((await cli(`showtable ${name}`)).stdout, 'name');
      t.equal(rows.length, 24, `${name}: 8 partitions × 3 replicas`);
      t.equal(new Set(rows.map((r) => r.pid)).size, 8);
      t.equal(rows.filter((r) => r.role === 'leader').length, 8, 'one leader per pid');
      t.ok(rows.every((r) => r.ttl === ttl && r.is_alive === 'yes'), `${name}: ttl ${ttl}, all alive`);
      const info = await client.table('db', name);
      t.equal(info.schema.kv, true, 'stored as a key-value table');
    }
    const schema = (await cli('showschema kvl')).stdout;
    t.same(parseTable(schema, '#').map((r) => `${r.Field} ${r.Type} ${r.Null}`), ['key string NO', 'value string NO']);
    const keys = parseTable(schema.slice(schema.indexOf('#ColumnKey')), '#');
    t.same(keys.map((r) => `${r.name} ${r.keys} ${r.ts} ${r.ttl} ${r.ttl_type}`), ['key key - 10 kLatestTime']);
    t.match((await cli('create kv0 0 8 3')).stdout, /Fail to create table\. error msg: table already exists/);
  });

  await t.test('put, get, scan through ns_client', async (t) => {
    t.match((await cli('put kv0 k1 1000 v1')).stdout, /^Put ok$/m);
    t.match((await cli('put kv0 k1 2000 "v two"')).stdout, /^Put ok$/m);
    t.match((await cli('put kv0 k2 1500 w')).stdout, /^Put ok$/m);
    t.equal((await cli('get kv0 k1 0')).stdout, 'value :v two\n', 'ts 0: the newest');
    t.equal((await cli('get kv0 k1 1500')).stdout, 'value :v1\n', 'the newest at or before ts');
    const missing = await cli('get kv0 nokey 0');
    t.equal(missing.stdout, 'Get failed. error msg: key not found\n');
    t.equal(missing.code, 1);
    const scan = parseTable((await cli('scan kv0 k1 3000 0')).stdout, '#');
    t.same(scan, [{ '#': '1', key: 'k1', ts: '2000', data: 'v two' }, { '#': '2', key: 'k1', ts: '1000', data: 'v1' }], 'newest first');
    t.same(parseTable((await cli('scan kv0 k1 3000 1000')).stdout, '#').map((r) => r.ts), ['2000'], 'et < ts <= st');
    t.same(parseTable((await cli('scan kv0 k1 3000 0 1')).stdout, '#').map((r) => r.ts), ['2000'], 'limit');
    t.match((await cli('put kv0 k1 x v')).stdout, /^Invalid args\. ts x should be unsigned int$/m);
    t.match((await cli('scan kv0 k1 a 0')).stdout, /^Invalid args\. st and et should be uint64_t, limit shouldbe uint32_t$/m);
    t.match((await cli('count kv0 k1')).stdout, /^count: 2$/m);
  });

  await t.test('latest:10 keeps the 10 newest versions of a key', async (t) => {
    const puts = await cli(Array.from({ length: 15 }, (_, i) => `put kvl hot ${1000 * (i + 1)} v${i + 1}`).join('; '));
    t.equal(puts.stdout, 'Put ok\n'.repeat(15), '15 versions put in one ns_client run');
    const scan = parseTable((await cli('scan kvl hot 100000 0')).stdout, '#');
    t.same(scan.map((r) => r.data), Array.from({ length: 10 }, (_, i) => `v${15 - i}`), 'the 10 newest, newest first');
    t.equal((await cli('get kvl hot 3000')).stdout, 'Get failed. error msg: key not found\n', 'an expired version is not read');
    t.match((await cli('count kvl hot key true')).stdout, /^count: 10$/m, 'count without expired versions');
    t.same(await client.scanKv('db', 'kvl', 'hot', 100000, 0), Array.from({ length: 10 }, (_, i) => ({ ts: 1000 * (15 - i), value: `v${15 - i}` })), 'the SDK sees the same');
  });

  await t.test('the SDK on key-value tables', async (t) => {
    await client.createKvTable('db', { name: 'kvsdk', ttl: { type: 'latest', absMinutes: 0, latest: 2 }, partitionNum: 4, replicaNum: 2 });
    await client.putKv('db', 'kvsdk', 'a', 10, 'x');
    await client.putKv('db', 'kvsdk', 'a', 20, 'y');
    await client.putKv('db', 'kvsdk', 'a', 30, 'z');
    t.same(await client.getKv('db', 'kvsdk', 'a'), { ts: 30, value: 'z' });
    t.same(await client.getKv('db', 'kvsdk', 'a', 25), { ts: 20, value: 'y' });
    t.same(await client.scanKv('db', 'kvsdk', 'a', 100, 0), [{ ts: 30, value: 'z' }, { ts: 20, value: 'y' }], 'latest:2');
    t.equal(await client.getKv('db', 'kvsdk', 'nope'), undefined);
    t.equal((await cli('get kvsdk a 0')).stdout, 'value :z\n', 'ns_client reads what the SDK wrote');
    t.same(await client.get('db', 'kvsdk', { key: 'a' }), { key: 'a', value: 'z', ts: 30 }, 'the generic get sees key, value and ts');
  });

  await t.test('a row whose index ts column is missing or null is refused, by the SDK and by the tablet', async (t) => {
    await client.createTable('db', {
      name: 'flow', partitionNum: 2, replicaNum: 1,
      columns: [{ name: 'card', type: 'string' }, { name: 'amt', type: 'double' }, { name: 'at', type: 'timestamp' }],
      indexes: [{ name: 'card', keys: ['card'], ts: 'at' }],
    });
    for (const row of [{ card: 'c1', amt: 1 }, { card: 'c1', amt: 1, at: null }] as Row[]) {
      const err = await client.put('db', 'flow', row).then(() => undefined, (e: unknown) => e);
      t.ok(err instanceof TesseraError && err.code === 'INVALID_ARGUMENT', `SDK put ${JSON.stringify(row)} refused with INVALID_ARGUMENT`);
      t.match((err as TesseraError).message, /ts column at of index card is missing or null/);
    }
    const batchErr = await client.putBatch('db', 'flow', [{ card: 'c1', amt: 1, at: 5 }, { card: 'c2', amt: 2 }]).then(() => undefined, (e: unknown) => e);
    t.equal((batchErr as TesseraError).code, 'INVALID_ARGUMENT', 'a batch with one such row is refused whole');
    // Past the SDK: the tablet's own check, on the leader of the key's partition.
    const info = await client.table('db', 'flow');
    const pid = pidOfKey('c1', info.partitionNum);
    const leader = leaderOf(info.partitions[pid]!)!.endpoint;
    for (const row of [['c1', 1, null], { card: 'c1', amt: 1 }]) {
      const err = await http.call(leader, '/v1/data/put', { tid: info.tid, pid, row, ts: 7 }).then(() => undefined, (e: unknown) => e);
      t.ok(err instanceof TesseraError && err.code === 'INVALID_ARGUMENT', `tablet put ${JSON.stringify(row)} refused with INVALID_ARGUMENT`);
      t.same((err as TesseraError).details, { column: 'at', index: 'card' });
    }
    const batch = await http.call(leader, '/v1/data/put_batch', { tid: info.tid, pid, rows: [{ row: ['c1', 1, 5] }, { row: ['c1', 1, null] }] }).then(() => undefined, (e: unknown) => e);
    t.equal((batch as TesseraError).code, 'INVALID_ARGUMENT', 'tablet batch refused');
    t.equal(await client.count('db', 'flow', { key: 'c1' }), 0, 'nothing was stored (count, which used to see ts-0 rows)');
    t.match((await cli('put flow 100 c1 1 null')).stdout, /^Put failed\. error msg: ts column at of index card is missing or null/m, 'ns_client prints the refusal');
    await client.put('db', 'flow', { card: 'c1', amt: 1, at: 5 });
    t.same(await client.scan('db', 'flow', { key: 'c1', st: 10, et: 0 }), [{ card: 'c1', amt: 1, at: 5, ts: 5 }], 'a row with a time is stored and scanned');
  });
});
