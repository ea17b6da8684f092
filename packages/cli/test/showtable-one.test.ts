// `showtable <name>` and `info` ask only that table's replicas for their status (issue 16: they
// polled every replica on every tablet). Real processes (ZooKeeper, one nameserver with a status
// poll interval far longer than the test, so figures can only come from the per-table ask, three
// tablets): rows written through the SDK show in record_cnt of every replica and in info at once.
import t from 'tap';
import { waitFor } from '@tessera/common';
import { Client } from '@tessera/client';
import { startTestCluster } from '@tessera/testkit';

t.test('showtable of one table and info read fresh figures of that table only', async (t) => {
  const { client } = await startTestCluster(t, {
    name: 'showtable-one', zkRootPath: '/st1', zkSessionTimeoutMs: 4000,
    connect: (zkCluster, zkRootPath) => Client.connect({ zkCluster, zkRootPath }),
    nameservers: 1, tablets: 3,
    nsFlags: { get_table_status_interval: 600_000 },
    httpTimeoutMs: 20_000, tabletsHealthyTimeoutMs: 30_000, database: 'db',
  });
  const def = (name: string) => ({
    name, partitionNum: 2, replicaNum: 3, replicaAck: 'all' as const,
    columns: [{ name: 'k', type: 'string' as const }, { name: 'at', type: 'timestamp' as const }],
    indexes: [{ name: 'k', keys: ['k'], ts: 'at' }],
  });
  await client.createTable('db', def('a'));
  await client.createTable('db', def('b'));
  const ROWS = 20;
  for (let i = 0; i < ROWS; i++) await client.put('db', 'a', { k: `k${i}`, at: 1000 + i });

  // replica_ack=all: every replica holds its rows once the put returned; the figures must show it
  // although no periodic poll has run since the rows were written.
  await waitFor('every replica of a counted', async () => {
    const rows = (await client.admin.showtable({ db: 'db', name: 'a' })).replicas;
    const byPid = new Map<number, number[]>();
    for (const r of rows) byPid.set(r.pid, [...(byPid.get(r.pid) ?? []), r.recordCnt ?? -1]);
    const leaders = rows.filter((r) => r.role === 'leader').map((r) => r.recordCnt ?? -1);
    return rows.length === 6 && [...byPid.values()].every((c) => c.length === 3 && new Set(c).size === 1) && leaders.reduce((s, n) => s + n, 0) === ROWS;
  }, { timeoutMs: 20_000, intervalMs: 200 });
  t.pass('showtable a: 6 replicas, each partition\'s three agree, leaders sum to the rows written');
  const shown = (await client.admin.showtable({ db: 'db', name: 'a' })).replicas;
  t.ok(shown.every((r) => r.name === 'a' && typeof r.offset === 'number'), 'only table a, each row with its offset');
  const info = await client.admin.info({ db: 'db', name: 'a' });
  t.equal(info.recordCnt, ROWS, 'info: record count of the table');
  const b = (await client.admin.showtable({ db: 'db', name: 'b' })).replicas;
  t.equal(b.length, 6, 'showtable b: its 6 replicas');
  t.ok(b.every((r) => r.recordCnt === 0), 'b is empty');
});
