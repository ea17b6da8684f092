// scripts/cluster.sh brings up a whole local cluster (ZooKeeper, 2 nameservers, 3 tablets) and
// takes it down; scripts/start.sh stops and starts one tablet of it, which showtablet follows.
import t from 'tap';
import path from 'node:path';
import { waitFor } from '@tessera/common';
import { freePortRange, nsClient, parseTable, tempDir, removeDir, runScript } from '@tessera/testkit';



t.test('cluster.sh up, a tablet stopped and started with start.sh, down', async (t) => {
  const dir = tempDir('cluster-sh');
  const base = await freePortRange(30);
  t.teardown(async () => {
    await runScript('cluster.sh', ['down', '--dir', dir]);
    removeDir(dir);
  });
  const up = await runScript('cluster.sh', ['up', '--dir', dir, '--base-port', String(base)]);
  t.equal(up.code, 0, up.out);
  t.match(up.out, new RegExp(`scripts/tessera --zk_cluster=127\\.0\\.0\\.1:${base} --zk_root_path=/tessera --role=ns_client`), 'prints the ns_client command line');
  const zk = `127.0.0.1:${base}`;
  const tablets = parseTable((await nsClient(zk, 'showtablet')).stdout, 'endpoint');
  t.equal(tablets.length, 3);
  t.ok(tablets.every((r) => r.state === 'kTabletHealthy'));
  t.same(parseTable((await nsClient(zk, 'showns')).stdout, 'endpoint').map((r) => r.role), ['leader', 'standby']);

  const flagfile = path.join(dir, 'tablet-2', 'tablet.flags');
  const victim = `127.0.0.1:${base + 22}`;
  const stop = await runScript('start.sh', ['stop', 'tablet', flagfile]);
  t.equal(stop.code, 0, stop.out);
  await waitFor(`${victim} offline`, async () => parseTable((await nsClient(zk, 'showtablet')).stdout, 'endpoint').find((r) => r.endpoint === victim)?.state === 'kTabletOffline', { timeoutMs: 20_000, intervalMs: 200 });
  t.pass(`${victim} shows kTabletOffline after start.sh stop`);
  const degraded = await runScript('cluster.sh', ['status', '--dir', dir]);
  t.equal(degraded.code, 1, 'status exits 1 (degraded) with a tablet stopped');
  t.match(degraded.out, new RegExp(`DEGRADED +tablet ${victim.replace(/\./g, '\\.')}: kTabletOffline`));
  const start = await runScript('start.sh', ['start', 'tablet', flagfile]);
  t.equal(start.code, 0, start.out);
  await waitFor(`${victim} healthy`, async () => parseTable((await nsClient(zk, 'showtablet')).stdout, 'endpoint').find((r) => r.endpoint === victim)?.state === 'kTabletHealthy', { timeoutMs: 20_000, intervalMs: 200 });
  t.pass(`${victim} shows kTabletHealthy after start.sh start`);

  const add = await runScript('cluster.sh', ['add-tablet', '--dir', dir]);
  t.equal(add.code, 0, add.out);
  t.equal(parseTable((await nsClient(zk, 'showtablet')).stdout, 'endpoint').length, 4, 'add-tablet: a fourth tablet joins');

  const status = await runScript('cluster.sh', ['status', '--dir', dir]);
  t.match(status.out, /zookeeper running/);
  t.equal((status.out.match(/tablet is running/g) ?? []).length, 4);
  t.equal(status.code, 0, 'status exits 0 on a healthy cluster');
  t.match(status.out, /status: healthy \(exit code 0\)\n[\s\S]*tablets: 4 of 4 healthy/);
  const down = await runScript('cluster.sh', ['down', '--dir', dir]);
  t.equal(down.code, 0, down.out);
  const after = await runScript('cluster.sh', ['status', '--dir', dir]);
  t.notMatch(after.out, /is running \(/, 'nothing left running');
  t.equal(after.code, 2, 'status exits 2 (unavailable) with the cluster down');
});
