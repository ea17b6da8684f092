// setttl on real processes: `setttl ev latest 2` through ns_client changes the TTL in ZooKeeper
// (the SDK's table info shows it) and on every replica (reads keep only the newest two rows per
// key at once); after the leader's tablet is killed, the follower that takes over applies it too.
import t from 'tap';
import { waitFor, type TableInfo } from '@tessera/common';
import { startSdkCluster } from './sdk-cluster.js';

t.test('setttl in the metadata and on every replica', async (t) => {
  const { client, tablets, cli } = await startSdkCluster(t, {
    name: 'setttl', zkRootPath: '/ttl', zkSessionTimeoutMs: 3000,
    nameservers: 1, tablets: 2,
    nsFlags: { auto_failover: true, tablet_heartbeat_timeout: 1000, get_table_status_interval: 500 },
  });
  await client.createTable('db', {
    name: 'ev', partitionNum: 1, replicaNum: 2,
    columns: [{ name: 'id', type: 'string' }, { name: 'n', type: 'int64' }, { name: 'at', type: 'timestamp' }],
    indexes: [{ name: 'id', keys: ['id'], ts: 'at' }],
  });
  for (let i = 1; i <= 5; i++) await client.put('db', 'ev', { id: 'k', n: i, at: 1_000_000 + i });
  const scan = async (): Promise<number[]> => (await client.scan('db', 'ev', { index: 'id', key: 'k', st: 2_000_000, et: 0 })).map((r) => Number(r.n));
  t.same(await scan(), [5, 4, 3, 2, 1]);

  const r = await cli('setttl ev latest 2');
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.equal(r.stdout, 'Set ttl ok\n');
  t.same(await scan(), [5, 4], 'the leader reads with the new TTL at once');
  let info: TableInfo | undefined;
  await waitFor('the SDK sees the new TTL', async () => (info = await client.table('db', 'ev')).schema.indexes[0]!.ttl.latest === 2, { timeoutMs: 10_000, intervalMs: 100 });
  t.same(info!.schema.indexes[0]!.ttl, { type: 'latest', absMinutes: 0, latest: 2 });
  t.match((await cli('showschema ev')).stdout, /id\s+id\s+at\s+2\s+kLatestTime/);
  t.match((await cli('setttl ev latest 2 nosuch')).stdout, /Set ttl failed. error msg: index nosuch does not exist in table ev/);

  // The follower got it too: kill the leader's tablet; the follower leads and reads the same.
  const leader = info!.partitions[0]!.replicas.find((x) => x.isLeader)!.endpoint;
  const proc = tablets.find((p) => p.endpoint === leader)!;
  proc.kill('SIGKILL');
  await proc.exited;
  await waitFor('the follower leads', async () => (await client.table('db', 'ev')).partitions[0]!.replicas.find((x) => x.isLeader && x.isAlive)?.endpoint !== leader, { timeoutMs: 30_000, intervalMs: 200 });
  let rows: number[] = [];
  await waitFor('reads on the new leader', async () => {
    try {
      rows = await scan();
      return true;
    } catch {
      return false;
    }
  }, { timeoutMs: 30_000, intervalMs: 200 });
  t.same(rows, [5, 4], 'the new leader applies the TTL it was given');
});
