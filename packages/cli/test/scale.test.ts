// Scale-out and scale-in on real processes: a 4-tablet cluster, a 3-replica replica_ack=all table
// under writers, placed on three tablets. `scaleout --dry-run` prints a plan onto the fourth and
// moves nothing; a plan of a table dropped since is refused by `apply`; `apply <plan_id>` runs the
// scale-out plan. `scalein --dry-run` prints the plan and moves nothing; `scalein` hands the leaderships of the
// leaving tablet over and moves every replica to the three that stay (one parent op, a child op per
// move, each move ending with equal checksums; a first run canceled half-way with `cancelop
// <parent>`, auto_failover on, leaves nothing behind); `showtablet` shows it holds nothing; stopping
// it then creates no failover op (auto_failover on throughout; the monitor never takes a move's
// destination for a returning tablet). Zero failed writer calls,
// every acknowledged write readable, every replica's checksum equal. Then a leader `migrate`
// onto a fifth tablet: the chain addreplica → hand-over → delreplica, under the same writers.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { waitFor, type TableInfo } from '@tessera/common';
import { parseTable, startWriters, unreadable, waitChecksumsEqual } from '@tessera/testkit';
import { startSdkCluster } from './sdk-cluster.js';

t.test('scalein of a tablet holding leaders under replica_ack=all writers, then its stop: no failover op, zero failed calls', async (t) => {
  const { dir, http, client, tablets, cli, startTablet } = await startSdkCluster(t, {
    name: 'scalein', zkRootPath: '/scalein', zkSessionTimeoutMs: 3000,
    nameservers: 1, tablets: 4,
    nsFlags: { auto_failover: true, tablet_heartbeat_timeout: 1000, get_table_status_interval: 300, in_sync_silent_ms: 1000 },
  });
  const [a, b, c, d] = tablets.map((x) => x.endpoint) as [string, string, string, string];
  const columns = [{ name: 'id', type: 'string' as const }, { name: 'n', type: 'int64' as const }, { name: 'at', type: 'timestamp' as const }];
  const indexes = [{ name: 'id', keys: ['id'], ts: 'at' }];
  await client.createTable('db', {
    name: 'flow', partitionNum: 4, replicaNum: 3, replicaAck: 'all', columns, indexes,
    partitions: [
      { pid: 0, leader: a, followers: [b, c] }, { pid: 1, leader: b, followers: [a, c] },
      { pid: 2, leader: a, followers: [c, b] }, { pid: 3, leader: c, followers: [b, a] },
    ],
  });
  await client.createTable('db', {
    name: 'spare', partitionNum: 2, replicaNum: 2, columns, indexes,
    partitions: [{ pid: 0, leader: a, followers: [b] }, { pid: 1, leader: a, followers: [c] }],
  });
  const table = (): Promise<TableInfo> => client.table('db', 'flow');
  // Who holds and leads what (the in-sync set's order and offsets move with the writes).
  const layout = async (): Promise<string> => JSON.stringify((await table()).partitions.map((p) => p.replicas.map((r) => `${r.endpoint}${r.isLeader ? '*' : ''}`).sort()));
  const writers = startWriters({ loops: 4, prefix: 'w-' }, (id, n) => client.put('db', 'flow', { id, n, at: 1_000_000 + n }));
  const { acked, failures } = writers;
  await waitFor('writes flowing', () => acked.size > 200, { timeoutMs: 30_000, intervalMs: 20 });

  await t.test('a plan of a table dropped since is refused by apply, with the reason', async (t) => {
    const made = await cli('rebalance spare --dry-run', { format: 'json' });
    const plan = JSON.parse(made.stdout.trim().split('\n').pop()!) as { ok: boolean; data: { planId: number; moves: unknown[] } };
    t.equal(plan.ok, true, made.stdout + made.stderr);
    t.ok(plan.data.moves.length > 0, 'the plan moves spare replicas');
    await client.dropTable('db', 'spare');
    const res = await cli(`apply ${plan.data.planId}`);
    t.not(res.code, 0);
    t.match(res.stdout + res.stderr, /the cluster changed since the plan: move 1 \(spare pid \d+ .*table spare was dropped/);
  });

  await t.test('scaleout --dry-run, then apply <plan_id>: the new tablet gets its share', async (t) => {
    const before = await layout();
    const dry = await cli('scaleout --dry-run');
    t.comment(dry.stdout.trim());
    t.equal(dry.code, 0, dry.stdout + dry.stderr);
    const planId = Number(/plan (\d+)/.exec(dry.stdout)![1]);
    t.match(dry.stdout, new RegExp(`${d.replace(/\./g, '\\.')}\\s+no\\s+0 -> 3`), 'the empty tablet: 0 -> 3 replicas');
    t.equal(await layout(), before, 'nothing moved');
    const res = await cli(`apply ${planId}`);
    t.comment(res.stdout.trim());
    t.equal(res.code, 0, res.stdout + res.stderr);
    t.match(res.stdout, /apply ok/);
    const rows = parseTable((await cli('showtablet')).stdout, 'endpoint');
    t.same(rows.map((r) => r.replicas), ['3', '3', '3', '3'], 'three replicas on each tablet');
    const leaders = rows.map((r) => Number(r.leaders));
    t.ok(Math.max(...leaders) - Math.min(...leaders) <= 1, `leaders even: ${leaders.join(',')}`);
    t.ok(Number(rows.find((r) => r.endpoint === a)!.leaders) >= 1, `${a} still leads a partition`);
    t.match((await cli(`apply ${planId}`)).stdout, /plan \d+ not found/, 'a plan runs once');
  });

  await t.test('scalein --dry-run prints the plan and moves nothing', async (t) => {
    const before = await layout();
    const res = await cli(`scalein ${a} --dry-run`);
    t.comment(res.stdout.trim());
    t.equal(res.code, 0);
    t.match(res.stdout, /dry run, nothing moved/);
    t.match(res.stdout, new RegExp(`changeleader\\s+leader\\s+${a.replace(/\./g, '\\.')}`), 'the hand-overs are listed');
    t.match(res.stdout, new RegExp(`${a.replace(/\./g, '\\.')}\\s+yes\\s+3 -> 0\\s+[1-9] -> 0`), 'the leaving tablet: 3 -> 0 replicas, its leaders -> 0');
    t.equal(await layout(), before, 'nothing moved');
    const refused = await cli(`scalein ${a} ${b} --dry-run`);
    t.not(refused.code, 0, 'two of four tablets cannot leave a 3-replica table');
    t.match(refused.stdout + refused.stderr, /replica_num 3 but only 2 healthy tablets would stay/);
  });

  await t.test('cancelop of a scale-in half-way: its children canceled, half-done moves undone, nothing left behind', async (t) => {
    // One move at a time in the cluster, so that the scale-in is caught half-way; auto_failover
    // stays on (a move is canceled under it, failover-gate.ts), and the cancel is sent through the
    // admin API the moment a child runs.
    t.equal((await cli('confset max_moves_per_cluster 1')).code, 0);
    t.match((await cli('confget max_moves_per_cluster')).stdout, /max_moves_per_cluster\s+1/);
    t.match((await cli('confget auto_failover')).stdout, /auto_failover\s+true/);
    const running = cli(`scalein ${a}`);
    let parentId = 0;
    await waitFor('the scale-in half-way (a child running or done, another not yet done)', async () => {
      const ops = (await client.admin.showopstatus({})).ops;
      const parent = ops.find((o) => o.opType === 'kScaleInOP' && o.status === 'kDoing');
      if (parent === undefined) return false;
      parentId = parent.opId;
      const kids = ops.filter((o) => o.parentId === parent.opId);
      return kids.some((o) => o.status === 'kDoing' || o.status === 'kDone') && kids.some((o) => o.status === 'kInited' || o.status === 'kDoing');
    }, { timeoutMs: 60_000, intervalMs: 20 });
    await client.admin.cancelop({ opId: parentId });
    t.pass(`cancelop ${parentId}: Cancel op ok, with auto_failover on`);
    const res = await running;
    t.comment(res.stdout.trim());
    t.not(res.code, 0, 'scalein reports the cancel');
    t.match(res.stdout, new RegExp(`op ${parentId} kCanceled: canceled by admin`));
    const ops = (await client.admin.showopstatus({})).ops;
    t.match(ops.find((o) => o.opId === parentId), { opType: 'kScaleInOP', status: 'kCanceled' });
    const kids = ops.filter((o) => o.parentId === parentId);
    t.comment(kids.map((o) => `${o.opId}:${o.opType}:${o.pid}:${o.status}`).join(' '));
    t.ok(kids.every((o) => o.status === 'kDone' || o.status === 'kCanceled'), 'every child ended done (its move stays) or canceled (undone)');
    t.ok(kids.some((o) => o.status === 'kCanceled'), 'some child was canceled');
    // Nothing left behind: every partition keeps three alive replicas, and no tablet holds a
    // replica (loaded or loading) that metadata does not place on it.
    const info = await table();
    for (const p of info.partitions) {
      t.equal(p.replicas.length, 3, `pid ${p.pid}: three replicas`);
      t.ok(p.replicas.every((r) => r.isAlive), `pid ${p.pid}: every replica alive`);
      t.equal(p.replicas.filter((r) => r.isLeader && r.isAlive).length, 1, `pid ${p.pid}: one leader`);
    }
    for (const ep of [a, b, c, d]) {
      const { replicas } = await http.call<{ replicas: Array<{ tid: number; pid: number; state: string }> }>(ep, '/v1/control/status', {});
      const held = replicas.filter((r) => r.tid === info.tid).map((r) => r.pid).sort();
      const placed = info.partitions.filter((p) => p.replicas.some((r) => r.endpoint === ep)).map((p) => p.pid).sort();
      t.same(held, placed, `${ep} holds exactly what metadata places on it`);
    }
    const rows = parseTable((await cli('showtablet')).stdout, 'endpoint');
    t.equal(rows.reduce((n, r) => n + Number(r.replicas), 0), 12, 'twelve replicas in all');
    t.equal((await cli('confset max_moves_per_cluster 4')).code, 0);
  });

  await t.test('scalein moves every leadership and replica off the tablet', async (t) => {
    const res = await cli(`scalein ${a}`, { format: 'json' });
    t.equal(res.code, 0, res.stdout + res.stderr);
    const out = JSON.parse(res.stdout.trim().split('\n').pop()!) as { data: { opIds: number[]; parentOpId: number } };
    const parentId = out.data.parentOpId;
    const ops = (await client.admin.showopstatus({})).ops;
    t.match(ops.find((o) => o.opId === parentId), { opType: 'kScaleInOP', status: 'kDone' }, 'one parent op, done');
    const kids = ops.filter((o) => o.parentId === parentId);
    t.ok(kids.length >= 1 && kids.every((o) => o.status === 'kDone'), `children: ${kids.map((o) => `${o.opId}:${o.opType}`).join(',')}`);
    const info = await table();
    for (const p of info.partitions) {
      t.notOk(p.replicas.some((r) => r.endpoint === a), `pid ${p.pid}: nothing on ${a}`);
      t.equal(p.replicas.length, 3, `pid ${p.pid}: three replicas`);
      t.ok(p.replicas.every((r) => r.isAlive), `pid ${p.pid}: every replica alive`);
    }
    // Every move ended with the new replica's checksum equal to its leader's (kCheckChecksum).
    for (const k of kids.filter((o) => o.opType === 'kMigrateOP' || o.opType === 'kAddReplicaOP')) {
      const { op } = await client.admin.showop({ opId: k.opId });
      t.match(op.checksums, [{ match: true }], `child ${k.opId} ${k.opType} pid ${k.pid}: checksum equal at offset ${op.checksums?.[0]?.offset} (${op.checksums?.[0]?.leader.rows} rows)`);
    }
    const rows = parseTable((await cli('showtablet')).stdout, 'endpoint');
    t.match(rows.find((r) => r.endpoint === a), { replicas: '0', leaders: '0' }, 'showtablet: it holds nothing');
    t.same(rows.filter((r) => r.endpoint !== a).map((r) => r.replicas), ['4', '4', '4'], 'the others hold four each');
  });

  await t.test('the drained tablet stopped: no failover op', async (t) => {
    const opsBefore = (await client.admin.showopstatus({})).ops.map((o) => o.opId);
    await tablets[0]!.stop();
    await waitFor(`${a} offline`, async () => parseTable((await cli('showtablet')).stdout, 'endpoint').find((r) => r.endpoint === a)?.state === 'kTabletOffline', { timeoutMs: 20_000, intervalMs: 200 });
    // Two heartbeat timeouts and status polls more for the failover monitor to act, were it to.
    await new Promise((r) => setTimeout(r, 3000));
    const fresh = (await client.admin.showopstatus({})).ops.filter((o) => !opsBefore.includes(o.opId));
    t.same(fresh.map((o) => `${o.opId} ${o.opType}`), [], 'no op created by the stop');
  });

  await t.test('migrate of a leader onto a new tablet: addreplica, hand-over, delreplica', async (t) => {
    const fresh = await startTablet(5);
    tablets.push(fresh);
    const e = fresh.endpoint;
    await waitFor(`${e} healthy`, async () => parseTable((await cli('showtablet')).stdout, 'endpoint').find((r) => r.endpoint === e)?.state === 'kTabletHealthy', { timeoutMs: 20_000, intervalMs: 200 });
    const p0 = (await table()).partitions[0]!;
    const src = p0.replicas.find((r) => r.isLeader && r.isAlive)!.endpoint;
    const opsBefore = (await client.admin.showopstatus({})).ops.map((o) => o.opId);
    const res = await cli(`migrate ${src} flow 0 ${e}`);
    t.match(res.stdout, /partition migrate ok/, res.stdout + res.stderr);
    await waitFor('the new tablet leads pid 0 and the source holds nothing', async () => {
      const p = (await table()).partitions[0]!;
      return p.replicas.find((r) => r.isLeader && r.isAlive)?.endpoint === e && !p.replicas.some((r) => r.endpoint === src);
    }, { timeoutMs: 60_000, intervalMs: 200 });
    await waitFor('its ops ended', async () => (await client.admin.showopstatus({})).ops.filter((o) => !opsBefore.includes(o.opId)).every((o) => o.status === 'kDone' || o.status === 'kFailed'), { timeoutMs: 30_000, intervalMs: 200 });
    const mine = (await client.admin.showopstatus({})).ops.filter((o) => !opsBefore.includes(o.opId));
    // The reconciler may add a kRepairPartitionOP after a move (it does after plain kMigrateOPs too:
    // open, see docs/ns_client.md); no failover op (changeleader, offline, recovery) beyond the chain.
    t.comment(mine.map((o) => `${o.opId}:${o.opType}:${o.status}`).join(' '));
    t.same(mine.filter((o) => o.opType !== 'kRepairPartitionOP').map((o) => `${o.opType} pid ${o.pid} ${o.status}`), ['kAddReplicaOP pid 0 kDone', 'kChangeLeaderOP pid 0 kDone', 'kDelReplicaOP pid 0 kDone'], 'the chain, every op done, no failover op');
    t.equal((await table()).partitions[0]!.replicas.length, 3);
  });

  // The failover monitor never took a move's destination for a tablet back from a failure (every
  // move ran with auto_failover on; no tablet restarted).
  const nsLog = readFileSync(path.join(dir, 'ns1.log'), 'utf8');
  t.same(nsLog.split('\n').filter((l) => /is back: recovering/.test(l)).map((l) => l.slice(0, 200)), [], 'no "is back: recovering" line in the nameserver log');
  // Every op of the run, for the record (a kRepairPartitionOP here is the reconciler reacting to a move).
  t.comment((await client.admin.showopstatus({})).ops.map((o) => `${o.opId}:${o.opType}:${o.pid}:${o.status}${o.error !== undefined ? `(${o.error})` : ''}`).join(' '));
  await writers.stop();
  t.comment(`writers: ${acked.size} acknowledged, ${failures.length} calls failed`);
  t.same(failures.slice(0, 10), [], 'zero failed client calls');

  await t.test('every acknowledged write readable, replica checksums equal', async (t) => {
    const missing = await unreadable(acked, (key) => client.get('db', 'flow', { key }));
    t.same(missing.slice(0, 20), [], `no acknowledged write lost (${missing.length} of ${acked.size} missing)`);
    await waitChecksumsEqual(http, await table(), { timeoutMs: 30_000, intervalMs: 300 });
    t.pass('replica checksums equal');
  });
  void [c, d];
});
