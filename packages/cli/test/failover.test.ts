// Failover and recovery on real processes with a client writing throughout and counting:
// SIGKILL of a tablet that leads partitions (writes resume on new leaders, no acknowledged write
// lost with replica_ack=all, the time to the first accepted write is printed), the killed tablet
// restarted (its replicas come back alive and in sync with the same checksums), a leader paused
// with SIGSTOP past the session timeout (fenced, recovered as a follower), and a whole-cluster
// restart (all data back, every partition led, every replica alive).
import t from 'tap';
import { pidOfKey, waitFor, type TableInfo } from '@tessera/common';
import { Client } from '@tessera/client';
import { parseTable, partitionChecksums, startTestCluster, startWriters, unreadable } from '@tessera/testkit';

// The timeouts scripts/cluster.sh gives a local cluster (so the figures printed are its figures).
const SESSION_TIMEOUT_MS = 3000;
const HEARTBEAT_TIMEOUT_MS = 1000;
const TABLE_STATUS_INTERVAL_MS = 1000;
const IN_SYNC_SILENT_MS = 2000;

t.test('failover and recovery', async (t) => {
  const { http, client, ns, tablets, startNs, startTablet, cli } = await startTestCluster(t, {
    name: 'failover', zkRootPath: '/fo', zkSessionTimeoutMs: SESSION_TIMEOUT_MS,
    connect: (zkCluster, zkRootPath) => Client.connect({ zkCluster, zkRootPath }),
    nameservers: 2, tablets: 3,
    nsFlags: { auto_failover: true, tablet_heartbeat_timeout: HEARTBEAT_TIMEOUT_MS, get_table_status_interval: TABLE_STATUS_INTERVAL_MS, in_sync_silent_ms: IN_SYNC_SILENT_MS },
    tabletFlags: { replica_ack_timeout: 5000 },
    httpTimeoutMs: 30_000, tabletsHealthyTimeoutMs: 20_000, database: 'db',
  });
  await client.createTable('db', {
    name: 'ev', partitionNum: 4, replicaNum: 3, replicaAck: 'all',
    columns: [{ name: 'id', type: 'string' }, { name: 'n', type: 'int64' }, { name: 'at', type: 'timestamp' }],
    indexes: [{ name: 'id', keys: ['id'], ts: 'at' }],
  });
  const table = (): Promise<TableInfo> => client.table('db', 'ev');
  const checksums = (info: TableInfo, pid: number): Promise<string[]> => partitionChecksums(http, info, pid);

  const writers = startWriters({ loops: 6 }, (id, n) => client.put('db', 'ev', { id, n, at: 1_000_000 + n }));
  const { acked, failures } = writers;
  const everyAckedReadable = async (): Promise<number> => {
    const missing = await unreadable(acked, (key) => client.get('db', 'ev', { key }));
    if (missing.length > 0) t.comment(`acknowledged but not read back: ${missing.slice(0, 20).join(' ')}`);
    return missing.length;
  };
  await waitFor('writes flowing', () => acked.size > 300, { timeoutMs: 30_000, intervalMs: 20 });

  await t.test('SIGKILL of a tablet that leads partitions', async (t) => {
    const info = await table();
    const victim = tablets.findIndex((x) => info.partitions.some((p) => p.replicas.some((r) => r.isLeader && r.endpoint === x.endpoint)));
    const victimEp = tablets[victim]!.endpoint;
    const led = info.partitions.filter((p) => p.replicas.some((r) => r.isLeader && r.endpoint === victimEp)).map((p) => p.pid);
    // A key that routes to a partition the victim leads.
    let probeKey = 'probe';
    for (let i = 0; !led.includes(pidOfKey(probeKey, info.partitionNum)); i++) probeKey = `probe${i}`;
    const killedAt = Date.now();
    tablets[victim]!.kill('SIGKILL');
    let acceptedAt = 0;
    for (let n = 0; acceptedAt === 0; n++) {
      if (Date.now() - killedAt > 60_000) throw new Error('no write accepted on the failed partitions');
      const ok = await client.put('db', 'ev', { id: probeKey, n, at: 10 + n }).then(() => true, () => false);
      if (ok) acceptedAt = Date.now();
    }
    acked.add(probeKey);
    t.comment(`time from SIGKILL of ${victimEp} (leader of pids ${led.join(',')}) to the first accepted write on pid ${pidOfKey(probeKey, info.partitionNum)}: ${acceptedAt - killedAt} ms (session timeout ${SESSION_TIMEOUT_MS} ms, heartbeat timeout ${HEARTBEAT_TIMEOUT_MS} ms)`);
    const ops = parseTable((await cli('showopstatus')).stdout, 'op_id');
    t.ok(ops.some((o) => o.op_type === 'kFailoverEndpointOP' && o.status === 'kDone'), 'failover ran as one kFailoverEndpointOP for the lost tablet');
    const missing = await everyAckedReadable();
    t.equal(missing, 0, `no acknowledged write lost (${acked.size} acknowledged so far, ${failures.length} calls failed)`);

    // Restart it: its replicas come back alive and in sync, with the leaders' checksums.
    const restartedAt = Date.now();
    tablets[victim] = await startTablet(victim + 1, victimEp);
    await waitFor('its replicas alive again', async () => (await table()).partitions.every((p) => p.replicas.every((r) => r.isAlive)), { timeoutMs: 60_000, intervalMs: 100 });
    t.comment(`restarted tablet's replicas alive again ${Date.now() - restartedAt} ms after its restart`);
  });

  await t.test('a leader paused with SIGSTOP past the session timeout is fenced and comes back a follower', async (t) => {
    const info = await table();
    const victim = tablets.findIndex((x) => info.partitions.some((p) => p.replicas.some((r) => r.isLeader && r.endpoint === x.endpoint)));
    const victimEp = tablets[victim]!.endpoint;
    const ledPid = info.partitions.find((p) => p.replicas.some((r) => r.isLeader && r.endpoint === victimEp))!.pid;
    let staleKey = 'stale';
    for (let i = 0; pidOfKey(staleKey, info.partitionNum) !== ledPid; i++) staleKey = `stale${i}`;
    // A key of the victim's partition, written (n=1) while the victim leads it.
    let readKey = 'lease';
    for (let i = 0; pidOfKey(readKey, info.partitionNum) !== ledPid; i++) readKey = `lease${i}`;
    await client.put('db', 'ev', { id: readKey, n: 1, at: 8_000_000 });
    acked.add(readKey);
    const before = await http.call<{ row: { values: unknown[] } | null }>(victimEp, '/v1/data/get', { tid: info.tid, pid: ledPid, index: 'id', key: readKey });
    t.equal(Number(before.row?.values[1]), 1, 'the leader answers reads while leased');
    tablets[victim]!.kill('SIGSTOP');
    let staleWrite: Promise<unknown>;
    let staleRead: Promise<string>;
    try {
      await waitFor('new leaders elected', async () => (await table()).partitions.every((p) => p.replicas.some((r) => r.isLeader && r.isAlive && r.endpoint !== victimEp)), { timeoutMs: 30_000, intervalMs: 100 });
      // Acknowledged by the new leader while the old one is paused: n=2, a later ts.
      await client.put('db', 'ev', { id: readKey, n: 2, at: 8_000_001 });
      // Sent to the paused old leader, answered only once it runs again, still believing it leads.
      staleWrite = http.call(victimEp, '/v1/data/put', { tid: info.tid, pid: ledPid, row: [staleKey, 1, 7_000_000], ts: 7_000_000, writeId: 'stale-write-1' });
      // Its outcome as text at once (a refusal must not be an unhandled rejection meanwhile).
      staleRead = http.call<{ row: { values: unknown[] } | null }>(victimEp, '/v1/data/get', { tid: info.tid, pid: ledPid, index: 'id', key: readKey })
        .then((r) => `answered n=${Number(r.row?.values[1])}`, (err: Error & { code?: string }) => err.code ?? err.message);
    } finally {
      tablets[victim]!.kill('SIGCONT');
    }
    const staleResult = await staleWrite.then(() => 'acknowledged', (err: Error & { code?: string }) => err.code ?? err.message);
    t.not(staleResult, 'acknowledged', `a write sent to the old leader while it was paused is refused once it wakes (${staleResult})`);
    const readResult = await staleRead;
    t.not(readResult, 'answered n=1', 'a read sent to the paused old leader is never answered with the row the new leader replaced');
    t.equal(readResult, 'REPLICA_NOT_SERVING', `the read is refused once it wakes (lease lapsed; ${readResult})`);
    t.equal(Number((await client.get('db', 'ev', { key: readKey }))?.n), 2, 'the SDK reads the new leader\'s value');
    await waitFor('it steps down', async () => {
      const st = await http.call<{ replicas: Array<{ role: string }> }>(victimEp, '/v1/control/status', {}).catch(() => undefined);
      return st !== undefined && st.replicas.every((r) => r.role !== 'leader');
    }, { timeoutMs: 30_000, intervalMs: 100 });
    t.pass('the paused leader no longer leads anything after SIGCONT');
    await waitFor('recovered as a follower, alive', async () => (await table()).partitions.every((p) => p.replicas.every((r) => r.isAlive)), { timeoutMs: 60_000, intervalMs: 100 });
    t.equal(await everyAckedReadable(), 0, 'no acknowledged write lost');
    t.equal(await client.get('db', 'ev', { key: staleKey }), undefined, 'the refused write is nowhere');
  });

  await writers.stop();
  t.comment(`writer: ${acked.size} acknowledged, ${failures.length} calls failed`);

  await t.test('replicas converge with the leaders\' checksums', async (t) => {
    const info = await table();
    for (const p of info.partitions) {
      await waitFor(`pid ${p.pid} converged`, async () => new Set(await checksums(info, p.pid)).size === 1, { timeoutMs: 90_000, intervalMs: 500 }).catch(async (err: unknown) => {
        const now = await table();
        const states = await Promise.all(now.partitions[p.pid]!.replicas.map(async (r) => {
          const st = await http.call<{ replicas: Array<Record<string, unknown>> }>(r.endpoint, '/v1/control/status', { tid: info.tid, pid: p.pid }).catch((e: Error) => ({ replicas: [{ error: e.message }] }));
          return { meta: r, status: st.replicas[0] };
        }));
        t.comment(`pid ${p.pid} not converged: inSync ${JSON.stringify(now.partitions[p.pid]!.inSync)} termOffsets ${JSON.stringify(now.partitions[p.pid]!.termOffsets)}\n${states.map((x) => JSON.stringify(x)).join('\n')}`);
        throw err;
      });
    }
    t.pass('every replica of every partition has its leader\'s content');
  });

  await t.test('whole-cluster restart: all data back, every partition led, every replica alive', async (t) => {
    for (const n of ns) await n.stop();
    for (const x of tablets) await x.stop();
    ns.length = 0;
    ns.push(await startNs(3), await startNs(4));
    for (let i = 0; i < 3; i++) tablets[i] = await startTablet(i + 1, tablets[i]!.endpoint);
    await waitFor('every partition led and every replica serving', async () => {
      const rows = parseTable((await cli('showtable')).stdout, 'name');
      const pids = new Set(rows.filter((r) => r.role === 'leader' && r.is_alive === 'yes').map((r) => r.pid));
      return rows.length === 12 && rows.every((r) => r.is_alive === 'yes' && r.offset !== '-') && pids.size === 4;
    }, { timeoutMs: 60_000, intervalMs: 300 });
    t.pass('showtable: 12 replicas, all yes, one leader per partition');
    t.equal(await everyAckedReadable(), 0, `all ${acked.size} acknowledged writes are back`);
  });
});
