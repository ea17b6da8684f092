// `recoverendpoint <ep> true` (OpenMLDB's need_restore) on real processes: a tablet leading two
// partitions is killed, the failover moves its leaderships away and the partition meta remembers
// them (formerLeaders); with auto_failover then off it is started again, and one recoverendpoint
// recovers its replicas and hands each former leadership back to it, under writers.
import t from 'tap';
import { waitFor, type TableInfo } from '@tessera/common';
import { parseTable, startWriters, unreadable, waitChecksumsEqual } from '@tessera/testkit';
import { startSdkCluster } from './sdk-cluster.js';

t.test('recoverendpoint <ep> true returns the leaderships of the recovered tablet', async (t) => {
  const { http, client, tablets, startTablet, cli } = await startSdkCluster(t, {
    name: 'need-restore', zkRootPath: '/nr', zkSessionTimeoutMs: 2000,
    nameservers: 1, tablets: 3,
    nsFlags: { auto_failover: true, tablet_heartbeat_timeout: 500, get_table_status_interval: 300, in_sync_silent_ms: 1000 },
    tabletFlags: { replica_ack_timeout: 5000 },
  });
  const [a, b, c] = tablets.map((x) => x.endpoint) as [string, string, string];
  await client.createTable('db', {
    name: 'ev', partitionNum: 3, replicaNum: 3, replicaAck: 'all',
    partitions: [{ pid: 0, leader: a, followers: [b, c] }, { pid: 1, leader: b, followers: [a, c] }, { pid: 2, leader: a, followers: [c, b] }],
    columns: [{ name: 'id', type: 'string' }, { name: 'n', type: 'int64' }, { name: 'at', type: 'timestamp' }],
    indexes: [{ name: 'id', keys: ['id'], ts: 'at' }],
  });
  const table = (): Promise<TableInfo> => client.table('db', 'ev');
  const leaderOf = (info: TableInfo, pid: number): string | undefined => info.partitions[pid]!.replicas.find((r) => r.isLeader && r.isAlive)?.endpoint;

  const writers = startWriters({ loops: 4, pauseAfterFailureMs: 20 }, (id, n) => client.put('db', 'ev', { id, n, at: 1_000_000 + n }));
  const { acked } = writers;
  await waitFor('writes flowing', () => acked.size > 200, { timeoutMs: 30_000, intervalMs: 20 });

  await t.test('the failover remembers the leader it replaced', async (t) => {
    tablets[0]!.kill('SIGKILL');
    await tablets[0]!.exited;
    await waitFor('pids 0 and 2 led elsewhere', async () => {
      const info = await table();
      return [0, 2].every((pid) => leaderOf(info, pid) !== undefined && leaderOf(info, pid) !== a);
    }, { timeoutMs: 30_000, intervalMs: 100 });
    const info = await table();
    t.same([0, 1, 2].map((pid) => info.partitions[pid]!.formerLeaders), [[a], undefined, [a]], 'formerLeaders records the killed leader of pids 0 and 2');
  });

  await t.test('restarted with auto_failover off, recoverendpoint <ep> true hands the leaderships back', async (t) => {
    t.match((await cli('confset auto_failover false')).stdout, /set auto_failover ok/);
    tablets[0] = await startTablet(1, a);
    await waitFor('healthy again', async () => parseTable((await cli('showtablet')).stdout, 'endpoint').find((r) => r.endpoint === a)?.state === 'kTabletHealthy', { timeoutMs: 20_000, intervalMs: 100 });
    const res = await cli(`recoverendpoint ${a} true`);
    t.match(res.stdout, /recover endpoint ok/);
    await waitFor('pids 0 and 2 led by the recovered tablet, every replica alive', async () => {
      const info = await table();
      return leaderOf(info, 0) === a && leaderOf(info, 2) === a && info.partitions.every((p) => p.replicas.every((r) => r.isAlive));
    }, { timeoutMs: 90_000, intervalMs: 200 });
    const info = await table();
    t.equal(leaderOf(info, 1), b, 'pid 1 still led by the tablet that led it before');
    t.same(info.partitions.map((p) => p.formerLeaders), [undefined, undefined, undefined], 'nothing left to give back');
    const ops = parseTable((await cli('showopstatus ev')).stdout, 'op_id');
    for (const pid of ['0', '2']) {
      const mine = ops.filter((o) => o.pid === pid && Number(o.op_id) > 0);
      const recover = mine.findIndex((o) => o.op_type === 'kRecoverTableOP' && o.status === 'kDone');
      const back = mine.findIndex((o, i) => i > recover && o.op_type === 'kChangeLeaderOP' && o.status === 'kDone');
      t.ok(recover >= 0 && back > recover, `pid ${pid}: kRecoverTableOP then kChangeLeaderOP, both kDone`);
    }
    const again = await cli(`recoverendpoint ${a} true`);
    t.match(again.stdout, /recover endpoint ok/, 'a rerun is accepted');
    t.same(parseTable((await cli('showopstatus ev')).stdout, 'op_id').filter((o) => o.status === 'kInited' || o.status === 'kDoing'), [], 'and creates nothing');
  });

  await writers.stop();
  t.comment(`writers: ${acked.size} acknowledged, ${writers.failures.length} calls failed (during the failover)`);

  await t.test('every acknowledged write readable, replica checksums equal', async (t) => {
    const missing = await unreadable(acked, (key) => client.get('db', 'ev', { key }));
    t.same(missing.slice(0, 20), [], `no acknowledged write lost (${missing.length} of ${acked.size} missing)`);
    await waitChecksumsEqual(http, await table(), { timeoutMs: 30_000, intervalMs: 300 });
    t.pass('replica checksums equal');
  });
});
