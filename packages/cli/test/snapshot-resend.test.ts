// Issue 17, bug 1: a follower that needs (or seems to need) a snapshot after `makesnapshot` freed
// the leader's binlog must get at most one snapshot and then stream — never the endless
// resend loop (thousands of "sending a snapshot" lines while the nameserver showed the follower
// alive at offset 0). Three paths: a killed follower returns after makesnapshot; addreplica after
// makesnapshot; a follower cut off from ZooKeeper (disconnectzk) returns after makesnapshot. Each
// counts the leader's "sending a snapshot of <tid>_<pid> to <follower>" log lines, checks the
// count stays put over a quiet window, and that every replica ends with the same offset, the same
// checksum, alive and in the in-sync set. Bug 4 too: a follower migrate on an idle table is not
// followed by an empty kRepairPartitionOP.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { waitFor, type TableInfo } from '@tessera/common';
import { Client } from '@tessera/client';
import { parseTable, startTestCluster } from '@tessera/testkit';

/** Bound on every awaited condition (a loaded 2-core machine). */
const WAIT_MS = 40_000;
/** How long the snapshot count must stay unchanged once the replica is back. */
const QUIET_WINDOW_MS = 4000;

t.test('makesnapshot then a returning or new follower: one snapshot at most, then streaming', async (t) => {
  const { dir, http, client, tablets, startTablet, cli } = await startTestCluster(t, {
    name: 'snapshot-resend', zkRootPath: '/snr', zkSessionTimeoutMs: 2000,
    connect: (zkCluster, zkRootPath) => Client.connect({ zkCluster, zkRootPath }),
    nameservers: 1, tablets: 3,
    nsFlags: { auto_failover: true, tablet_heartbeat_timeout: 1000, get_table_status_interval: 300, in_sync_silent_ms: 1000 },
    httpTimeoutMs: 10_000, tabletsHealthyTimeoutMs: WAIT_MS, database: 'db',
  });
  const [t1, t2, t3] = tablets.map((x) => x.endpoint) as [string, string, string];
  const columns = [{ name: 'card', type: 'string' as const }, { name: 'amt', type: 'double' as const }, { name: 'at', type: 'timestamp' as const }];
  const indexes = [{ name: 'card', keys: ['card'], ts: 'at' }];
  const rows = Array.from({ length: 300 }, (_, i) => ({ card: `c${i}`, amt: i, at: 1000 + i }));
  const table = (name: string): Promise<TableInfo> => client.table('db', name);

  /** "sending a snapshot" lines the leader (t1, log t1.log) logged for `tid`_0 towards `to`. */
  const snapshotsSent = (tid: number, to: string): number => {
    const log = readFileSync(path.join(dir, 't1.log'), 'utf8');
    const needle = `sending a snapshot of ${tid}_0 to ${to}`;
    return log.split('\n').filter((l) => l.includes(needle)).length;
  };
  const makeSnapshot = async (name: string): Promise<void> => {
    t.match((await cli(`makesnapshot ${name} 0`)).stdout, /MakeSnapshot ok/);
    await waitFor(`${name}: makesnapshot done`, async () => parseTable((await cli(`showopstatus ${name}`)).stdout, 'op_id').some((o) => o.op_type === 'kMakeSnapshotOP' && o.status === 'kDone'), { timeoutMs: WAIT_MS, intervalMs: 200 });
    const st = await http.call<{ replicas: Array<{ tid: number; pid: number; offset: number; binlogFirstOffset?: number }> }>(t1, '/v1/control/status', {});
    const tid = (await table(name)).tid;
    const r = st.replicas.find((x) => x.tid === tid && x.pid === 0)!;
    t.equal(r.binlogFirstOffset, r.offset + 1, `${name}: the leader's binlog is freed up to its offset ${r.offset}`);
  };
  /** The resend count stays put over the quiet window; then offsets, checksums and in-sync agree. */
  const settled = async (name: string, follower: string, sentMax: number): Promise<void> => {
    const info = await table(name);
    try {
      await waitFor(`${name}: ${follower} in sync`, async () => (await table(name)).partitions[0]!.inSync.includes(follower), { timeoutMs: WAIT_MS, intervalMs: 200 });
      t.pass(`${name}: ${follower} in the in-sync set`);
    } catch (err) {
      t.fail((err as Error).message); // and count the resends anyway
    }
    const before = snapshotsSent(info.tid, follower);
    await new Promise((r) => setTimeout(r, QUIET_WINDOW_MS));
    const after = snapshotsSent(info.tid, follower);
    t.comment(`${name}: ${after} snapshot(s) sent to ${follower}`);
    t.ok(after <= sentMax, `${name}: at most ${sentMax} snapshot(s) sent to ${follower} (sent ${after})`);
    t.equal(after, before, `${name}: no snapshot sent during the ${QUIET_WINDOW_MS} ms after it was in sync`);
    const shown = parseTable((await cli(`showtable ${name}`)).stdout, 'name').filter((r) => r.name === name);
    t.equal(shown.length, 3, `${name}: three replicas shown`);
    t.ok(shown.every((r) => r.is_alive === 'yes'), `${name}: every replica alive`);
    t.equal(new Set(shown.map((r) => r.offset)).size, 1, `${name}: showtable offsets equal (${shown.map((r) => r.offset).join(', ')})`);
    t.not(shown[0]!.offset, '0', `${name}: offsets are not 0`);
    const sums = await Promise.all([t1, t2, t3].map((e) => http.call<{ rows: number; sha256: string }>(e, '/v1/control/checksum', { tid: info.tid, pid: 0 })));
    t.equal(new Set(sums.map((s) => s.sha256)).size, 1, `${name}: checksums equal`);
    t.ok(sums.every((s) => s.rows > 0), `${name}: every replica holds rows`);
    const status = await http.call<{ replicas: Array<{ tid: number; pid: number; state: string }> }>(follower, '/v1/control/status', {});
    t.equal(status.replicas.find((x) => x.tid === info.tid && x.pid === 0)?.state, 'normal', `${name}: ${follower} serving`);
  };

  await t.test('a killed follower returns after makesnapshot', async (t) => {
    void t;
    await client.createTable('db', { name: 'killed', partitionNum: 1, replicaNum: 3, partitions: [{ pid: 0, leader: t1, followers: [t2, t3] }], columns, indexes });
    await client.putBatch('db', 'killed', rows);
    const victim = tablets[2]!;
    victim.kill('SIGKILL');
    await victim.exited;
    await waitFor('t3 not alive', async () => (await table('killed')).partitions[0]!.replicas.find((r) => r.endpoint === t3)?.isAlive === false, { timeoutMs: WAIT_MS, intervalMs: 100 });
    await makeSnapshot('killed');
    tablets[2] = await startTablet(3, t3);
    await waitFor('t3 alive again', async () => (await table('killed')).partitions[0]!.replicas.every((r) => r.isAlive), { timeoutMs: WAIT_MS, intervalMs: 100 });
    await settled('killed', t3, 1);
  });

  await t.test('addreplica after makesnapshot', async (t) => {
    void t;
    await client.createTable('db', { name: 'added', partitionNum: 1, replicaNum: 2, partitions: [{ pid: 0, leader: t1, followers: [t2] }], columns, indexes });
    await client.putBatch('db', 'added', rows);
    await makeSnapshot('added');
    t.match((await cli(`addreplica added 0 ${t3}`)).stdout, /AddReplica ok/);
    await waitFor('t3 added and alive', async () => (await table('added')).partitions[0]!.replicas.some((r) => r.endpoint === t3 && r.isAlive), { timeoutMs: WAIT_MS, intervalMs: 100 });
    await settled('added', t3, 1);
  });

  await t.test('a follower cut off from ZooKeeper returns after makesnapshot', async (t) => {
    void t;
    await client.createTable('db', { name: 'cutoff', partitionNum: 1, replicaNum: 3, partitions: [{ pid: 0, leader: t1, followers: [t2, t3] }], columns, indexes });
    await client.putBatch('db', 'cutoff', rows);
    const epoch = async (): Promise<number> => (await http.call<{ nsEpoch: number }>(t3, '/v1/control/status', {})).nsEpoch;
    await http.call(t3, '/v1/control/disconnectzk', { nsEpoch: await epoch() });
    await waitFor('t3 not alive', async () => (await table('cutoff')).partitions[0]!.replicas.find((r) => r.endpoint === t3)?.isAlive === false, { timeoutMs: WAIT_MS, intervalMs: 100 });
    await makeSnapshot('cutoff');
    await http.call(t3, '/v1/control/connectzk', { nsEpoch: await epoch() });
    await waitFor('t3 alive again', async () => (await table('cutoff')).partitions[0]!.replicas.every((r) => r.isAlive), { timeoutMs: WAIT_MS, intervalMs: 100 });
    await settled('cutoff', t3, 1);
  });

  // Issue 17, bug 4: a clean op must not be followed by a kRepairPartitionOP that has nothing to do.
  await t.test('a follower migrate on an idle table: the newest op of the partition stays the migrate', async (t) => {
    await client.createTable('db', { name: 'idle', partitionNum: 1, replicaNum: 2, partitions: [{ pid: 0, leader: t1, followers: [t2] }], columns, indexes });
    await client.putBatch('db', 'idle', rows);
    t.match((await cli(`migrate ${t2} idle 0 ${t3}`)).stdout, /partition migrate ok/);
    const ops = async () => parseTable((await cli('showopstatus idle 0')).stdout, 'op_id').sort((a, b) => Number(b.op_id) - Number(a.op_id));
    await waitFor('migrate done', async () => (await ops()).some((o) => o.op_type === 'kMigrateOP' && o.status === 'kDone'), { timeoutMs: WAIT_MS, intervalMs: 200 });
    const doneAt = Date.now();
    const seen = new Set<string>();
    while (Date.now() - doneAt < QUIET_WINDOW_MS + 2000) {
      for (const o of await ops()) seen.add(o.op_type!);
      await new Promise((r) => setTimeout(r, 300));
    }
    const newest = (await ops())[0]!;
    t.equal(newest.op_type, 'kMigrateOP', 'the newest op of pid 0 is the migrate');
    t.equal(newest.status, 'kDone');
    t.notOk(seen.has('kRepairPartitionOP'), `no kRepairPartitionOP within ${QUIET_WINDOW_MS + 2000} ms (ops seen: ${[...seen].join(', ')})`);
    const info = await table('idle');
    t.same(info.partitions[0]!.replicas.map((r) => r.endpoint).sort(), [t1, t3].sort(), 'the partition lives on t1 and t3');
  });
});
