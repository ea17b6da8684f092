// Issue 17 bug 3 on real processes: the whole cluster stopped while recovery ops run, then started
// again. The resumed ops found their tablets restarted under them (replicas unassigned, the leader
// no longer replicating to the re-added follower) and waited in kCheckBinlogSyncProgress for
// minutes, holding both op slots while recover-table ops queued behind them. Every op must end
// (a stalled sync check fails after --sync_stall_timeout and undoes; the failover monitor's
// recovery then runs again), every replica be alive again, every acknowledged write readable.
import t from 'tap';
import { waitFor, type TableInfo } from '@tessera/common';
import { Client } from '@tessera/client';
import { startTestCluster } from '@tessera/testkit';

const SESSION_TIMEOUT_MS = 2000;
const HEARTBEAT_TIMEOUT_MS = 1000;
const SYNC_STALL_TIMEOUT_MS = 5000;
/** Bound on every awaited condition (a loaded 2-core machine). */
const WAIT_MS = 120_000;
const TERMINAL = new Set(['kDone', 'kFailed', 'kCanceled']);

t.test('whole-cluster stop while recovery ops run: every op ends, every replica alive again', async (t) => {
  const { client, ns, tablets, startNs, startTablet } = await startTestCluster(t, {
    name: 'restart-recovery', zkRootPath: '/rr', zkSessionTimeoutMs: SESSION_TIMEOUT_MS,
    connect: (zkCluster, zkRootPath) => Client.connect({ zkCluster, zkRootPath }),
    nameservers: 1, tablets: 3,
    nsFlags: { auto_failover: true, tablet_heartbeat_timeout: HEARTBEAT_TIMEOUT_MS, get_table_status_interval: 300, sync_stall_timeout: SYNC_STALL_TIMEOUT_MS, check_binlog_sync_progress_delta: 0 },
    httpTimeoutMs: 10_000, tabletsHealthyTimeoutMs: WAIT_MS, database: 'db',
  });
  await client.createTable('db', {
    name: 'flow', partitionNum: 8, replicaNum: 3,
    columns: [{ name: 'card', type: 'string' }, { name: 'amt', type: 'double' }, { name: 'at', type: 'timestamp' }],
    indexes: [{ name: 'card', keys: ['card'], ts: 'at' }],
  });
  const table = (): Promise<TableInfo> => client.table('db', 'flow');
  const rows: { card: string; amt: number; at: number }[] = [];
  const put = async (prefix: string, n: number) => {
    for (let i = 0; i < n; i += 500) {
      const batch = Array.from({ length: Math.min(500, n - i) }, (_, j) => ({ card: `${prefix}${i + j}`, amt: j, at: 1000 + j }));
      await client.putBatch('db', 'flow', batch);
      rows.push(...batch);
    }
  };
  await put('a', 1000);

  // A tablet dies; its replicas are failed over; more writes arrive while it is away.
  const victim = 2;
  const victimEp = tablets[victim]!.endpoint;
  tablets[victim]!.kill('SIGKILL');
  await waitFor('the lost tablet\'s replicas not alive', async () => (await table()).partitions.every((p) => p.replicas.find((r) => r.endpoint === victimEp)?.isAlive === false), { timeoutMs: WAIT_MS, intervalMs: 200 });
  await put('b', 6000);
  // It comes back: the monitor recovers its replicas (recover-table ops, then re-add ops). A
  // writer keeps every partition moving, so a re-add op's sync check (delta 0) waits a while.
  let writing = true;
  let written = 0;
  const writer = (async () => {
    while (writing) {
      const batch = Array.from({ length: 50 }, (_, j) => ({ card: `w${written + j}`, amt: j, at: 1000 + j }));
      try {
        await client.putBatch('db', 'flow', batch);
        rows.push(...batch);
      } catch {
        // refused while a partition changes hands: not acknowledged, not counted
      }
      written += 50;
    }
  })();
  tablets[victim] = await startTablet(victim + 1, victimEp);
  const running = async () => (await client.admin.showopstatus({})).ops.filter((o) => o.status === 'kDoing');
  await waitFor('a re-add op in its sync check', async () => (await running()).some((o) => o.curTask === 'kCheckBinlogSyncProgress'), { timeoutMs: WAIT_MS, intervalMs: 20 });
  const caught = (await running()).map((o) => `${o.opId}:${o.opType}:${o.curTask ?? '-'}`);
  writing = false;
  await writer;
  t.comment(`stopping the cluster with ops running: ${caught.join(' ')}`);

  // The whole cluster stops (nameserver first, as cluster.sh down does) and starts again.
  for (const n of ns) await n.stop();
  for (const x of tablets) await x.stop();
  ns.length = 0;
  ns.push(await startNs(2));
  for (let i = 0; i < tablets.length; i++) tablets[i] = await startTablet(i + 1, tablets[i]!.endpoint);
  const restartedAt = Date.now();

  let last = '';
  try {
    await waitFor('every op ended, every replica alive, one alive leader per partition', async () => {
      const ops = (await client.admin.showopstatus({})).ops;
      const open = ops.filter((o) => !TERMINAL.has(o.status));
      const info = await table();
      const dead = info.partitions.flatMap((p) => p.replicas.filter((r) => !r.isAlive).map((r) => `${p.pid}:${r.endpoint}`));
      const badLeaders = info.partitions.filter((p) => p.replicas.filter((r) => r.isLeader && r.isAlive).length !== 1).map((p) => p.pid);
      last = `open ops [${open.map((o) => `${o.opId}:${o.opType}:${o.status}:${o.curTask ?? '-'}`).join(' ')}] not alive [${dead.join(' ')}] leader count wrong on pids [${badLeaders.join(',')}]`;
      return open.length === 0 && dead.length === 0 && badLeaders.length === 0;
    }, { timeoutMs: WAIT_MS, intervalMs: 500 });
  } catch (err) {
    t.comment(last);
    throw err;
  }
  t.comment(`every op ended and every replica alive ${Date.now() - restartedAt} ms after the restart`);
  const ops = (await client.admin.showopstatus({})).ops;
  t.comment(`ops: ${ops.map((o) => `${o.opId}:${o.opType}:${o.status}`).join(' ')}`);
  const missing: string[] = [];
  for (let i = 0; i < rows.length; i += 200) {
    const got = await Promise.all(rows.slice(i, i + 200).map(async (r) => ((await client.get('db', 'flow', { key: r.card })) === undefined ? r.card : undefined)));
    missing.push(...got.filter((x): x is string => x !== undefined));
  }
  t.same(missing.slice(0, 20), [], `all ${rows.length} acknowledged writes readable`);
});
