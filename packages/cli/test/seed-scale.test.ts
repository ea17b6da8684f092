// The seed (shared/seed/000_42c8d84ed6882ff2.txt), end to end on a live cluster with a client
// writing throughout: scale-out (a new tablet, migrate a follower onto it) and scale-in
// (changeleader off a tablet, migrate its replicas away, stop it, stop a nameserver). Every
// acknowledged write is read back and every replica ends with the same content.
import t from 'tap';
import path from 'node:path';
import { HttpClient, waitFor, type TableInfo } from '@tessera/common';
import { Client } from '@tessera/client';
import { freePortRange, nsClient, parseTable, tempDir, removeDir, runScript } from '@tessera/testkit';



t.test('the seed: scale-out and scale-in while a client writes', async (t) => {
  const dir = tempDir('seed');
  const base = await freePortRange(30);
  const zk = `127.0.0.1:${base}`;
  const http = new HttpClient({ timeoutMs: 20_000 });
  let client: Client | undefined;
  t.teardown(async () => {
    await client?.close().catch(() => undefined);
    await http.close();
    await runScript('cluster.sh', ['down', '--dir', dir]);
    removeDir(dir);
  });
  const up = await runScript('cluster.sh', ['up', '--dir', dir, '--base-port', String(base)]);
  t.equal(up.code, 0, 'cluster.sh up');
  const cli = (cmd: string) => nsClient(zk, cmd, { database: 'demo_db' });
  t.match((await nsClient(zk, 'createdb demo_db')).stdout, /ok/);
  t.match((await cli('create flow 0 2 3 card:string:index mcc:string:index amt:double')).stdout, /Create table ok/);

  client = await Client.connect({ zkCluster: zk, zkRootPath: '/tessera' });
  const acked = new Set<string>();
  let failed = 0;
  let writing = true;
  let seq = 0;
  const writer = async (): Promise<void> => {
    while (writing) {
      const card = `card${seq++}`;
      try {
        await client!.put('demo_db', 'flow', { card, mcc: `m${seq % 7}`, amt: seq + 0.5, ts: 1_000_000 + seq });
        acked.add(card);
      } catch {
        failed++;
      }
    }
  };
  const writers = Array.from({ length: 4 }, writer);
  await waitFor('writes flowing', () => acked.size > 100, { timeoutMs: 30_000, intervalMs: 20 });

  // ---- scale-out
  const added = await runScript('cluster.sh', ['add-tablet', '--dir', dir]);
  t.equal(added.code, 0, added.out);
  const newTablet = `127.0.0.1:${base + 24}`;
  const tablets = parseTable((await nsClient(zk, 'showtablet')).stdout, 'endpoint');
  t.equal(tablets.find((r) => r.endpoint === newTablet)?.state, 'kTabletHealthy', 'the new tablet is kTabletHealthy in showtablet');

  let rows = parseTable((await cli('showtable')).stdout, 'name');
  const src = rows.find((r) => r.pid === '0' && r.role === 'follower')!.endpoint!;
  const migrate = await cli(`migrate ${src} flow 0 ${newTablet}`);
  t.match(migrate.stdout, /partition migrate ok/);
  await waitFor('kMigrateOP kDone', async () => parseTable((await cli('showopstatus flow')).stdout, 'op_id').some((r) => r.op_type === 'kMigrateOP' && r.status === 'kDone'), { timeoutMs: 60_000, intervalMs: 200 });
  const ops = parseTable((await cli('showopstatus flow')).stdout, 'op_id');
  t.same(Object.keys(ops[0]!), ['op_id', 'op_type', 'name', 'pid', 'status', 'start_time', 'execute_time', 'end_time', 'cur_task'], "showopstatus has the seed's columns");
  rows = parseTable((await cli('showtable')).stdout, 'name');
  const pid0 = rows.filter((r) => r.pid === '0');
  t.ok(pid0.some((r) => r.endpoint === newTablet && r.role === 'follower'), 'the new endpoint holds pid 0 as follower');
  t.notOk(pid0.some((r) => r.endpoint === src), 'in place of the old one');
  t.same(Object.keys(rows[0]!).slice(0, 11), ['name', 'tid', 'pid', 'endpoint', 'role', 'ttl', 'is_alive', 'compress_type', 'offset', 'record_cnt', 'memused'], "showtable has the seed's columns in order");

  // ---- scale-in: empty tablet-1 (leaders first), then stop it
  const victim = `127.0.0.1:${base + 21}`;
  rows = parseTable((await cli('showtable')).stdout, 'name');
  for (const r of rows.filter((x) => x.endpoint === victim && x.role === 'leader')) {
    const candidate = rows.find((x) => x.pid === r.pid && x.role === 'follower' && x.endpoint !== victim)!.endpoint;
    const res = await cli(`changeleader flow ${r.pid} ${candidate}`);
    t.match(res.stdout, /change leader ok/, `changeleader flow ${r.pid} ${candidate}`);
    await waitFor(`pid ${r.pid} led by ${candidate}`, async () => parseTable((await cli('showtable')).stdout, 'name').some((x) => x.pid === r.pid && x.endpoint === candidate && x.role === 'leader'), { timeoutMs: 60_000, intervalMs: 200 });
  }
  rows = parseTable((await cli('showtable')).stdout, 'name');
  const all = [...new Set(rows.map((r) => r.endpoint!)), newTablet];
  for (const r of rows.filter((x) => x.endpoint === victim)) {
    const holders = new Set(rows.filter((x) => x.pid === r.pid).map((x) => x.endpoint));
    const des = all.find((e) => e !== victim && !holders.has(e))!;
    const res = await cli(`migrate ${victim} flow ${r.pid} ${des}`);
    t.match(res.stdout, /partition migrate ok/, `migrate ${victim} flow ${r.pid} ${des}`);
  }
  await waitFor('no replica left on the victim', async () => {
    const opsNow = parseTable((await cli('showopstatus flow')).stdout, 'op_id');
    const rowsNow = parseTable((await cli('showtable')).stdout, 'name');
    return opsNow.every((o) => o.status === 'kDone' || o.status === 'kFailed' || o.status === 'kCanceled') && !rowsNow.some((x) => x.endpoint === victim);
  }, { timeoutMs: 120_000, intervalMs: 300 });
  const opsAfter = parseTable((await cli('showopstatus flow')).stdout, 'op_id');
  t.ok(opsAfter.every((o) => o.status === 'kDone'), `every op kDone (${opsAfter.map((o) => `${o.op_type}:${o.status}`).join(', ')})`);
  const stopTablet = await runScript('start.sh', ['stop', 'tablet', path.join(dir, 'tablet-1', 'tablet.flags')]);
  t.equal(stopTablet.code, 0);
  const ackedBeforeStops = acked.size;
  await waitFor('writes go on without the stopped tablet', () => acked.size > ackedBeforeStops + 100, { timeoutMs: 30_000, intervalMs: 20 });

  // Stop the leading nameserver: the other one leads and still lists the ops.
  const stopNs = await runScript('start.sh', ['stop', 'nameserver', path.join(dir, 'nameserver-1', 'nameserver.flags')]);
  t.equal(stopNs.code, 0);
  await waitFor('the other nameserver leads', async () => {
    const r = parseTable((await nsClient(zk, 'showns')).stdout, 'endpoint');
    return r.length === 1 && r[0]!.endpoint === `127.0.0.1:${base + 2}` && (await cli('showopstatus flow')).code === 0;
  }, { timeoutMs: 30_000, intervalMs: 200 });
  const opsOnNew = parseTable((await cli('showopstatus flow')).stdout, 'op_id');
  t.ok(opsOnNew.filter((o) => o.op_type === 'kMigrateOP').length >= 2, 'showopstatus on the new leader still lists the migrations');

  const ackedBeforeNsStop = acked.size;
  await waitFor('writes go on', () => acked.size > ackedBeforeNsStop + 100, { timeoutMs: 30_000, intervalMs: 20 });
  writing = false;
  await Promise.all(writers);
  t.comment(`acknowledged writes: ${acked.size}; failed calls: ${failed}`);

  // Every acknowledged write is readable; replicas converge with equal content.
  let missing = 0;
  const keys = [...acked];
  for (let i = 0; i < keys.length; i += 100) {
    const got = await Promise.all(keys.slice(i, i + 100).map((k) => client!.get('demo_db', 'flow', { index: 'card', key: k })));
    missing += got.filter((g) => g === undefined).length;
  }
  t.equal(missing, 0, `all ${acked.size} acknowledged writes are readable`);
  const table: TableInfo = await client.table('demo_db', 'flow');
  for (const p of table.partitions) {
    await waitFor(`pid ${p.pid} converged`, async () => {
      const sums = await Promise.all(p.replicas.map(async (r) => (await http.call<{ sha256: string }>(r.endpoint, '/v1/control/checksum', { tid: table.tid, pid: p.pid })).sha256));
      return new Set(sums).size === 1;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    t.pass(`pid ${p.pid}: every replica holds the same rows`);
  }
});
