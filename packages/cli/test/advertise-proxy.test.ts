// A tablet with separate bind and advertised endpoints, reached only through fault proxies
// (@tessera/chaos): one in front of its HTTP port (the endpoint it advertises) and one between it
// and ZooKeeper; the nameserver is advertised behind a proxy too. The cluster works through the proxy (SDK writes and reads, replication both
// ways); blackholing both proxies gets the tablet failed over (its session expires, its
// partitions get new leaders) while every row stays readable; healing brings it back, its
// replicas recovered and alive.
import t from 'tap';
import path from 'node:path';
import { waitFor, type TableInfo } from '@tessera/common';
import { Client } from '@tessera/client';
import { startProxy, type Proxy } from '@tessera/chaos';
import { freePort, spawnRole, startProcessTest, type RoleProcess } from '@tessera/testkit';

const ROOT = '/advertise';
const SESSION_TIMEOUT_MS = 2000;
const HEARTBEAT_TIMEOUT_MS = 1000;
/** A blackholed tablet holds a nameserver request this long at most. */
const NS_REQUEST_TIMEOUT_MS = 3000;
/** Bound on every awaited condition (a loaded 2-core machine). */
const WAIT_MS = 45_000;

t.test('a tablet behind proxies: works through them, failed over when blackholed, back after heal', async (t) => {
  const { dir, http, zk, beforeTeardown } = await startProcessTest(t, 'advertise-proxy', { httpTimeoutMs: 5000, zk: true });
  const proxies: Proxy[] = [];
  let client: Client | undefined;
  beforeTeardown(() => client?.close().catch(() => undefined));
  beforeTeardown(async () => {
    for (const p of proxies) await p.close();
  });
  const common = { zk_root_path: ROOT, zk_session_timeout: SESSION_TIMEOUT_MS };
  const nsBindPort = await freePort();
  const nsFront = await startProxy({ targetHost: '127.0.0.1', targetPort: nsBindPort });
  proxies.push(nsFront);
  await spawnRole('nameserver', {
    ...common, zk_cluster: zk.connectString, endpoint: `127.0.0.1:${nsBindPort}`, advertise_endpoint: nsFront.endpoint, auto_failover: true, tablet_heartbeat_timeout: HEARTBEAT_TIMEOUT_MS,
    get_table_status_interval: 300, in_sync_silent_ms: 1000, request_timeout: NS_REQUEST_TIMEOUT_MS,
  }, { logFile: path.join(dir, 'ns.log') });
  const plain: RoleProcess[] = [];
  for (let i = 1; i <= 2; i++) {
    plain.push(await spawnRole('tablet', { ...common, zk_cluster: zk.connectString, db_root_path: path.join(dir, `t${i}`) }, { logFile: path.join(dir, `t${i}.log`) }));
  }
  const bindPort = await freePort();
  const front = await startProxy({ targetHost: '127.0.0.1', targetPort: bindPort });
  proxies.push(front);
  const zkLink = await startProxy({ targetHost: '127.0.0.1', targetPort: zk.port });
  proxies.push(zkLink);
  const victimProc = await spawnRole('tablet', {
    ...common, zk_cluster: zkLink.endpoint, endpoint: `127.0.0.1:${bindPort}`, advertise_endpoint: front.endpoint, db_root_path: path.join(dir, 'victim'),
  }, { logFile: path.join(dir, 'victim.log') });
  const victim = front.endpoint;
  const [t1, t2] = plain.map((p) => p.endpoint) as [string, string];

  client = await Client.connect({ zkCluster: zk.connectString, zkRootPath: ROOT, requestTimeoutMs: 2000 });
  const states = async (): Promise<Map<string, string>> => new Map((await client!.admin.showtablet({})).tablets.map((x) => [x.endpoint, x.state]));
  await waitFor('3 healthy tablets', async () => [...(await states()).values()].filter((s) => s === 'kTabletHealthy').length === 3, { timeoutMs: WAIT_MS, intervalMs: 100 });
  const known = await states();
  t.ok(known.has(victim), 'registered under its advertised endpoint');
  t.notOk(known.has(victimProc.endpoint), 'not under the one it listens on');
  const tabletRows = (await client.admin.showtablet({})).tablets;
  t.equal(tabletRows.find((x) => x.endpoint === victim)?.realEndpoint, victimProc.endpoint, "showtablet's real_endpoint is where it listens");
  t.equal(tabletRows.find((x) => x.endpoint === t1)?.realEndpoint, undefined, 'absent for a tablet listening on its endpoint');
  t.same((await client.admin.showns({})).nameservers, [{ endpoint: nsFront.endpoint, role: 'leader' }], 'the nameserver leads under its advertised endpoint');
  t.ok(nsFront.counters().bytesToTarget > 0, 'admin commands reach it through its proxy');

  await client.createDatabase('db');
  await client.createTable('db', {
    name: 'flow', partitionNum: 2, replicaNum: 3,
    partitions: [{ pid: 0, leader: victim, followers: [t1, t2] }, { pid: 1, leader: t1, followers: [victim, t2] }],
    columns: [{ name: 'card', type: 'string' }, { name: 'amt', type: 'double' }, { name: 'at', type: 'timestamp' }],
    indexes: [{ name: 'card', keys: ['card'], ts: 'at' }],
  });
  const table = (): Promise<TableInfo> => client!.table('db', 'flow');
  const rows: Array<{ card: string; amt: number; at: number }> = [];
  const write = async (prefix: string, n: number): Promise<void> => {
    const batch = Array.from({ length: n }, (_, i) => ({ card: `${prefix}${i}`, amt: i, at: 1000 + i }));
    await client!.putBatch('db', 'flow', batch);
    rows.push(...batch);
  };
  /** Rows not read back with the amount written. */
  const unreadable = async (): Promise<number> =>
    (await Promise.all(rows.map(async (r) => (await client!.get('db', 'flow', { key: r.card }))?.amt === r.amt))).filter((found) => !found).length;
  const offsets = async (pid: number): Promise<number[]> => {
    const info = await table();
    return Promise.all(info.partitions[pid]!.replicas.map(async (r) => {
      const st = await http.call<{ replicas: Array<{ offset: number }> }>(r.endpoint, '/v1/control/status', { tid: info.tid, pid });
      return st.replicas[0]!.offset;
    }));
  };

  await t.test('the cluster works through the proxy', async (t) => {
    const before = front.counters();
    await write('a', 100);
    t.equal(await unreadable(), 0, 'every row read back through the SDK');
    await waitFor('pid 0 (led behind the proxy) and pid 1 (followed behind it) replicated', async () => new Set(await offsets(0)).size === 1 && new Set(await offsets(1)).size === 1, { timeoutMs: WAIT_MS, intervalMs: 100 });
    const after = front.counters();
    t.ok(after.bytesToTarget > before.bytesToTarget && after.bytesFromTarget > before.bytesFromTarget, `traffic went through the proxy (${after.bytesToTarget - before.bytesToTarget} bytes in)`);
    t.ok(zkLink.counters().bytesToTarget > 0, 'the tablet talks to ZooKeeper through its own proxy');
  });

  await t.test('both proxies blackholed: failed over; healed: recovered', async (t) => {
    const started = Date.now();
    front.blackhole();
    zkLink.blackhole();
    await waitFor('offline', async () => (await states()).get(victim) === 'kTabletOffline', { timeoutMs: WAIT_MS, intervalMs: 100 });
    const offlineMs = Date.now() - started;
    await waitFor('pid 0 led elsewhere', async () => (await table()).partitions[0]!.replicas.some((r) => r.isLeader && r.isAlive && r.endpoint !== victim), { timeoutMs: WAIT_MS, intervalMs: 100 });
    const failoverMs = Date.now() - started;
    t.comment(`offline ${offlineMs} ms, pid 0 re-led ${failoverMs} ms after the blackhole (session ${SESSION_TIMEOUT_MS} ms, heartbeat ${HEARTBEAT_TIMEOUT_MS} ms)`);
    t.ok(victimProc.alive(), 'the tablet process itself kept running');
    t.equal(await unreadable(), 0, 'every row readable while it is cut off');
    await write('b', 20);
    t.equal(await unreadable(), 0, 'writes go on without it');

    const healedAt = Date.now();
    front.heal();
    zkLink.heal();
    await waitFor('healthy again', async () => (await states()).get(victim) === 'kTabletHealthy', { timeoutMs: WAIT_MS, intervalMs: 100 });
    const healthyMs = Date.now() - healedAt;
    await waitFor('its replicas alive again', async () => (await table()).partitions.every((p) => p.replicas.some((r) => r.endpoint === victim && r.isAlive)), { timeoutMs: WAIT_MS, intervalMs: 100 });
    t.comment(`healthy ${healthyMs} ms, replicas alive ${Date.now() - healedAt} ms after heal`);
    await waitFor('caught up', async () => new Set(await offsets(0)).size === 1 && new Set(await offsets(1)).size === 1, { timeoutMs: WAIT_MS, intervalMs: 100 });
    t.pass('its replicas caught up with the writes it missed');
    await write('c', 20);
    t.equal(await unreadable(), 0, 'every row readable, new writes too');
  });
});
