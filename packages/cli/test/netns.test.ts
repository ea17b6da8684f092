// Endpoints other than 127.0.0.1: each tablet and the nameserver runs in its own network namespace
// (testkit NetLab: `ip netns add`, a veth pair to a bridge in the root namespace) on its own
// address of a private /24 chosen free on this machine (10.231.X.0/24); ZooKeeper listens on the
// bridge's address (.1). The SDK and ns_client run outside the namespaces, in the test's root
// namespace: a table is created, written and read, and showtablet/showtable show the IP
// endpoints. Linux and root only (skipped with the reason elsewhere); namespaces, links and
// processes are always torn down.
import t from 'tap';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { waitFor } from '@tessera/common';
import { NetLab, netnsUnsupported, nsClient, parseTable, removeDir, spawnRole, startZooKeeper, stopAllRoles, tempDir, type RoleProcess, type ZkServer } from '@tessera/testkit';
import { Client } from '@tessera/client';

const run = promisify(execFile);
const TABLETS = 3;
const ROLE_PORT = { tablet: 9921, nameserver: 9622 } as const;

const reason = await netnsUnsupported();

t.test('tablets and a nameserver on their own IP addresses in network namespaces; SDK and ns_client outside', { skip: reason ?? false }, async (t) => {
  const dir = tempDir('netns');
  // The bridge (its address .1 is the root namespace's) and one namespace per role (testkit NetLab).
  const lab = await NetLab.create('ts', { subnetSecondOctet: 231 });
  const net = lab.subnet;
  let zk: ZkServer | undefined;
  let client: Client | undefined;
  t.teardown(async () => {
    await client?.close().catch(() => undefined);
    await stopAllRoles();
    await zk?.stop();
    await lab.destroy();
    if (t.passing()) removeDir(dir);
    else t.comment(`logs kept in ${dir}`);
  });
  /** A namespace on the bridge with address `net.host`. */
  const addNamespace = async (name: string, host: number): Promise<string> => {
    await lab.addHost(name, host);
    return lab.namespace(name);
  };

  zk = await startZooKeeper({ dir: path.join(dir, 'zk'), host: `${net}.1` });
  const common = { zk_cluster: zk.connectString, zk_root_path: '/netns', zk_session_timeout: 3000 };
  const roles: RoleProcess[] = [];
  const nsNs = await addNamespace('n1', 11);
  roles.push(await spawnRole('nameserver', { ...common, endpoint: `${net}.11:${ROLE_PORT.nameserver}`, get_table_status_interval: 500 },
    { logFile: path.join(dir, 'ns1.log'), wrap: ['ip', 'netns', 'exec', nsNs] }));
  const tabletEndpoints: string[] = [];
  for (let i = 1; i <= TABLETS; i++) {
    const ns = await addNamespace(`t${i}`, 20 + i);
    const endpoint = `${net}.${20 + i}:${ROLE_PORT.tablet}`;
    tabletEndpoints.push(endpoint);
    roles.push(await spawnRole('tablet', { ...common, endpoint, db_root_path: path.join(dir, `t${i}`) },
      { logFile: path.join(dir, `t${i}.log`), wrap: ['ip', 'netns', 'exec', ns] }));
  }
  // Each role is in its own namespace: its address exists there and nowhere else.
  const { stdout: inside } = await run('ip', ['-n', nsNs, '-4', '-br', 'addr', 'show', 'dev', 'eth0']);
  t.match(inside, `${net}.11/24`, 'the nameserver\'s namespace holds its address');
  const { stdout: rootAddrs } = await run('ip', ['-4', '-br', 'addr']);
  t.notMatch(rootAddrs, `${net}.11/`, 'the root namespace does not');

  const tablets = async (): Promise<Array<Record<string, string>>> => parseTable((await nsClient(zk!.connectString, 'showtablet', {}, '/netns')).stdout, 'endpoint');
  await waitFor(`${TABLETS} healthy tablets`, async () => (await tablets()).filter((r) => r.state === 'kTabletHealthy').length === TABLETS, { timeoutMs: 30_000, intervalMs: 200 });
  const shown = await tablets();
  t.same(shown.map((r) => r.endpoint).sort(), [...tabletEndpoints].sort(), `ns_client showtablet shows the IP endpoints: ${shown.map((r) => r.endpoint).join(' ')}`);
  const showns = parseTable((await nsClient(zk.connectString, 'showns', {}, '/netns')).stdout, 'endpoint');
  t.same(showns.map((r) => r.endpoint), [`${net}.11:${ROLE_PORT.nameserver}`], 'showns shows the nameserver\'s IP endpoint');

  client = await Client.connect({ zkCluster: zk.connectString, zkRootPath: '/netns' });
  await client.createDatabase('demo');
  await client.createTable('demo', {
    name: 'flow', partitionNum: 4, replicaNum: 3,
    columns: [{ name: 'card', type: 'string' }, { name: 'amt', type: 'double' }],
    indexes: [{ name: 'card', keys: ['card'] }],
  });
  const ROWS = 50;
  for (let i = 0; i < ROWS; i++) await client.put('demo', 'flow', { card: `c${i}`, amt: i, ts: 1000 + i });
  let read = 0;
  for (let i = 0; i < ROWS; i++) {
    const row = await client.get('demo', 'flow', { key: `c${i}` });
    if (row?.amt === i) read++;
  }
  t.equal(read, ROWS, `the SDK (root namespace) wrote and read back ${ROWS} rows through the tablets' IP endpoints`);
  const showtable = await nsClient(zk.connectString, 'showtable flow', { database: 'demo' }, '/netns');
  const replicas = parseTable(showtable.stdout, 'name');
  t.equal(replicas.length, 12, '4 partitions × 3 replicas');
  t.ok(replicas.every((r) => tabletEndpoints.includes(r.endpoint!)), 'showtable places every replica on an IP endpoint');
  t.equal(replicas.filter((r) => r.role === 'leader').length, 4);
  const scan = await nsClient(zk.connectString, 'scan flow c7 card 2000 0', { database: 'demo' }, '/netns');
  t.match(scan.stdout, /c7/, 'ns_client (root namespace) reads a row too');
  t.ok(roles.every((r) => r.alive()), 'every role still running');
});
