// ns_client `updatetablealive table pid|* endpoint yes|no` against real processes (ZooKeeper, a
// nameserver with auto_failover off, three tablets): one pid and `*`, showtable's is_alive, a
// leader marked not alive (stays flagged leader, clients find no alive leader), OpenMLDB's
// refusals with their texts, and metadata unchanged after every refusal.
import t from 'tap';
import path from 'node:path';
import { pidOfKey, TesseraError, waitFor } from '@tessera/common';
import { Client } from '@tessera/client';
import { nsClient, parseTable, removeDir, spawnRole, startZooKeeper, stopAllRoles, tempDir, type RoleProcess } from '@tessera/testkit';

t.test('updatetablealive', async (t) => {
  const dir = tempDir('updatetablealive');
  const zk = await startZooKeeper({ dir: path.join(dir, 'zk') });
  let client: Client | undefined;
  t.teardown(async () => {
    await client?.close().catch(() => undefined);
    await stopAllRoles();
    await zk.stop();
    removeDir(dir);
  });
  const root = '/uta';
  const common = { zk_cluster: zk.connectString, zk_root_path: root, zk_session_timeout: 2000 };
  await spawnRole('nameserver', { ...common, auto_failover: false, get_table_status_interval: 300 }, { logFile: path.join(dir, 'ns.log') });
  const tablets: RoleProcess[] = [];
  for (let i = 1; i <= 3; i++) tablets.push(await spawnRole('tablet', { ...common, db_root_path: path.join(dir, `t${i}`) }, { logFile: path.join(dir, `t${i}.log`) }));
  const [t0, t1, t2] = tablets.map((x) => x.endpoint) as [string, string, string];
  const cli = (cmd: string) => nsClient(zk.connectString, cmd, { database: 'db' }, root);
  client = await Client.connect({ zkCluster: zk.connectString, zkRootPath: root });
  await waitFor('3 tablets', async () => (await client!.admin.showtablet({})).tablets.filter((x) => x.state === 'kTabletHealthy').length === 3, { timeoutMs: 20_000, intervalMs: 100 });
  await client.createDatabase('db');
  // t0 holds only pid 0, t2 only pid 1, t1 both (follower of pid 0, leader of pid 1).
  await client.createTable('db', {
    name: 'flow', partitionNum: 2, replicaNum: 2,
    partitions: [{ pid: 0, leader: t0, followers: [t1] }, { pid: 1, leader: t1, followers: [t2] }],
    columns: [{ name: 'card', type: 'string' }, { name: 'amt', type: 'double' }, { name: 'at', type: 'timestamp' }],
    indexes: [{ name: 'card', keys: ['card'], ts: 'at' }],
  });

  /** showtable as `pid endpoint role is_alive` lines, sorted. */
  const shown = async (): Promise<string[]> =>
    parseTable((await cli('showtable flow')).stdout, 'name').map((r) => `${r.pid} ${r.endpoint} ${r.role} ${r.is_alive}`).sort();
  const expected = (notAlive: Array<[number, string]>): string[] =>
    [[0, t0, 'leader'], [0, t1, 'follower'], [1, t1, 'leader'], [1, t2, 'follower']]
      .map(([pid, ep, role]) => `${pid} ${ep} ${role} ${notAlive.some(([p, e]) => p === pid && e === ep) ? 'no' : 'yes'}`)
      .sort();
  const keyOfPid1 = Array.from({ length: 100 }, (_, i) => `card${i}`).find((k) => pidOfKey(k, 2) === 1)!;
  const putPid1 = () => client!.put('db', 'flow', { card: keyOfPid1, amt: 1, at: Date.now() });

  t.same(await shown(), expected([]), 'every replica alive at first');

  await t.test('one pid: a follower marked not alive, then alive again', async (t) => {
    t.match((await cli(`updatetablealive flow 0 ${t1} no`)).stdout, /^update ok$/m);
    t.same(await shown(), expected([[0, t1]]), 'only pid 0 on t1 is_alive no');
    const info = await client!.admin.showschema({ db: 'db', name: 'flow' });
    t.notOk(info.table.partitions[0]!.inSync.includes(t1), 'a follower not alive is out of the in-sync set');
    t.match((await cli(`updatetablealive flow 0 ${t1} no`)).stdout, /^update ok$/m, 'the same flag again is ok (idempotent)');
    t.match((await cli(`updatetablealive flow 0 ${t1} yes`)).stdout, /^update ok$/m);
    t.same(await shown(), expected([]), 'alive again');
  });

  await t.test('*: every replica on the endpoint, the leader included', async (t) => {
    t.match((await cli(`updatetablealive flow * ${t1} no`)).stdout, /^update ok$/m);
    t.same(await shown(), expected([[0, t1], [1, t1]]), 'both replicas on t1 not alive; t1 is still flagged leader of pid 1');
    // As in OpenMLDB no new leader is chosen: pid 1 has no alive leader, so clients cannot write it.
    await waitFor('clients see no alive leader for pid 1', async () => {
      try {
        await putPid1();
        return false;
      } catch (err) {
        return err instanceof TesseraError && err.code === 'UNAVAILABLE';
      }
    }, { timeoutMs: 10_000, intervalMs: 100 });
    t.pass('a put to pid 1 is refused with UNAVAILABLE');
    t.match((await cli(`updatetablealive flow * ${t1} yes`)).stdout, /^update ok$/m);
    t.same(await shown(), expected([]), 'alive again');
    await waitFor('pid 1 writable again', async () => putPid1().then(() => true, () => false), { timeoutMs: 10_000, intervalMs: 100 });
    t.pass('a put to pid 1 succeeds again');
  });

  await t.test('refusals: OpenMLDB texts, nothing changes', async (t) => {
    const before = await shown();
    const refusals: Array<[string, RegExp]> = [
      [`updatetablealive nosuch 0 ${t1} no`, /^Fail to update table alive\. error msg: table does not exist$/m],
      [`updatetablealive flow 2 ${t1} no`, /^Fail to update table alive\. error msg: no pid has update\b.*pid\[2\] does not exist/m],
      [`updatetablealive flow 1 ${t0} no`, /^Fail to update table alive\. error msg: no pid has update\b.*holds no replica/m],
      [`updatetablealive flow 0 127.0.0.1:1 no`, /^Fail to update table alive\. error msg: endpoint does not exist$/m],
      [`updatetablealive flow 0 nohost no`, /^Fail to update table alive\. error msg: .*endpoint/m],
      [`updatetablealive flow x ${t1} no`, /^Invalid args\. pid should be uint32_t$/m],
      [`updatetablealive flow -1 ${t1} no`, /^Invalid args\. pid should be uint32_t$/m],
      [`updatetablealive flow 0 ${t1} maybe`, /^is_alive should be yes or no$/m],
      [`updatetablealive flow 0 ${t1}`, /^usage: updatetablealive table_name pid\|\* endpoint yes\|no$/m],
    ];
    for (const [cmd, text] of refusals) t.match((await cli(cmd)).stdout, text, cmd);
    t.match((await cli('confset auto_failover true')).stdout, /set auto_failover ok/);
    t.match((await cli(`updatetablealive flow 0 ${t1} no`)).stdout, /^Fail to update table alive\. error msg: auto_failover is enabled$/m, 'refused while auto_failover is on');
    t.match((await cli('confset auto_failover false')).stdout, /set auto_failover ok/);
    t.same(await shown(), before, 'metadata unchanged by every refusal');
  });
});
