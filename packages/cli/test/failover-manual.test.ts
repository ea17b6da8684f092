// Failover by hand, as an OpenMLDB operator does it with auto_failover off (offlineendpoint,
// recoverendpoint, recovertable through ns_client), and automatic failover finished by the
// standby when the leader nameserver is killed in the middle of it.
import t from 'tap';
import { waitFor, type TableInfo } from '@tessera/common';
import { parseTable } from '@tessera/testkit';
import { createFlow, startSdkCluster, unreadableFlowRows } from './sdk-cluster.js';

t.test('manual failover commands and a nameserver killed during failover', async (t) => {
  const { client, ns, tablets, startTablet, cli } = await startSdkCluster(t, {
    name: 'failover-manual', zkRootPath: '/fm', zkSessionTimeoutMs: 2000,
    nameservers: 2, tablets: 3,
    nsFlags: { auto_failover: false, tablet_heartbeat_timeout: 500, get_table_status_interval: 300, in_sync_silent_ms: 1000 },
  });
  await createFlow(client, tablets.map((x) => x.endpoint) as [string, string, string]);
  const rows = Array.from({ length: 200 }, (_, i) => ({ card: `c${i}`, amt: i, at: 1000 + i }));
  await client.putBatch('db', 'flow', rows);
  const table = (): Promise<TableInfo> => client.table('db', 'flow');
  const allReadable = (): Promise<number> => unreadableFlowRows(client, rows);

  await t.test('auto_failover off: offlineendpoint, then recoverendpoint and recovertable', async (t) => {
    t.match((await cli('confget')).stdout, /auto_failover\s+false/);
    const victim = tablets[0]!;
    victim.kill('SIGKILL');
    await victim.exited;
    await waitFor('offline', async () => parseTable((await cli('showtablet')).stdout, 'endpoint').find((r) => r.endpoint === victim.endpoint)?.state === 'kTabletOffline', { timeoutMs: 20_000, intervalMs: 100 });
    // Nothing happens by itself with auto_failover off.
    t.ok((await table()).partitions[0]!.replicas.find((r) => r.endpoint === victim.endpoint)!.isLeader, 'still the leader of pid 0 in metadata');
    const off = await cli(`offlineendpoint ${victim.endpoint}`);
    t.match(off.stdout, /offline endpoint ok/);
    await waitFor('pid 0 led elsewhere', async () => (await table()).partitions[0]!.replicas.some((r) => r.isLeader && r.isAlive && r.endpoint !== victim.endpoint), { timeoutMs: 30_000, intervalMs: 100 });
    const shown = parseTable((await cli('showtable')).stdout, 'name').filter((r) => r.endpoint === victim.endpoint);
    t.ok(shown.length === 2 && shown.every((r) => r.is_alive === 'no'), 'its replicas show is_alive no');
    t.same(shown.map((r) => `${r.pid} ${r.role} ${r.is_alive}`).sort(), ['0 leader no', '1 follower no'], 'the leader it was reads `leader no`, as OpenMLDB');
    t.equal(parseTable((await cli('showtable flow')).stdout, 'name').filter((r) => r.pid === '0' && r.role === 'leader' && r.is_alive === 'yes').length, 1, 'pid 0: one `leader yes` next to it');
    t.equal(await allReadable(), 0, 'every row readable after offlineendpoint');

    tablets[0] = await startTablet(1, victim.endpoint);
    await waitFor('healthy again', async () => parseTable((await cli('showtablet')).stdout, 'endpoint').find((r) => r.endpoint === victim.endpoint)?.state === 'kTabletHealthy', { timeoutMs: 20_000, intervalMs: 100 });
    const rec = await cli(`recoverendpoint ${victim.endpoint}`);
    t.match(rec.stdout, /recover endpoint ok/);
    await waitFor('replicas alive again', async () => (await table()).partitions.every((p) => p.replicas.every((r) => r.isAlive)), { timeoutMs: 30_000, intervalMs: 100 });
    t.same(parseTable((await cli('showtable flow')).stdout, 'name').filter((r) => r.endpoint === victim.endpoint).map((r) => `${r.pid} ${r.role} ${r.is_alive}`).sort(), ['0 follower yes', '1 follower yes'], 'recoverendpoint brought its replicas back as followers');
    const refused = await cli(`recovertable flow 0 ${victim.endpoint}`);
    t.match(refused.stdout, /table is alive, need not recover|Fail/, 'recovertable refuses an alive replica');
  });

  await t.test('the leader nameserver killed during a failover: the standby completes it', async (t) => {
    t.match((await cli('confset auto_failover true')).stdout, /set auto_failover ok/);
    const info = await table();
    const leaderEp = info.partitions[1]!.replicas.find((r) => r.isLeader)!.endpoint;
    const victim = tablets.find((x) => x.endpoint === leaderEp)!;
    victim.kill('SIGKILL');
    ns[0]!.kill('SIGKILL');
    await waitFor('the standby failed pid 1 over', async () => (await table()).partitions[1]!.replicas.some((r) => r.isLeader && r.isAlive && r.endpoint !== leaderEp), { timeoutMs: 60_000, intervalMs: 200 });
    const ops = parseTable((await cli('showopstatus flow')).stdout, 'op_id');
    t.ok(ops.some((o) => o.op_type === 'kFailoverEndpointOP' && o.status === 'kDone'), 'the failover op of the lost tablet (pid 1 among its partitions) done on the new leader');
    t.equal(await allReadable(), 0, 'every row readable');
  });
});
