// OpenMLDB's disconnectzk / connectzk on real processes. The leader nameserver told to leave
// ZooKeeper steps down before it answers, the standby leads within the session's bounds, the old
// one refuses admin commands and its epoch is fenced on the tablets, it stays out until connectzk
// and then rejoins as a standby. A tablet told to leave (auto_failover on, short heartbeat
// timeout) is failed over — its partitions get new leaders — and after connectzk its replicas
// are recovered and alive again; every row stays readable throughout.
import t from 'tap';
import { decode, nsRoute, TesseraError, waitFor, type TableInfo } from '@tessera/common';
import { parseTable, type RoleProcess } from '@tessera/testkit';
import { createFlow, startSdkCluster, unreadableFlowRows } from './sdk-cluster.js';

const ROOT = '/zkd';
const SESSION_TIMEOUT_MS = 2000;
const HEARTBEAT_TIMEOUT_MS = 1000;
/** Bound on every awaited condition (a loaded 2-core machine). */
const WAIT_MS = 30_000;

async function codeOf(p: Promise<unknown>): Promise<{ code: string | undefined; details: Record<string, unknown> | undefined }> {
  try {
    await p;
    return { code: undefined, details: undefined };
  } catch (err) {
    const e = err as TesseraError;
    return { code: e.code, details: e.details };
  }
}

t.test('disconnectzk / connectzk of a nameserver and of a tablet', async (t) => {
  const { http, client, ns, tablets, cli } = await startSdkCluster(t, {
    name: 'zk-disconnect', zkRootPath: ROOT, zkSessionTimeoutMs: SESSION_TIMEOUT_MS,
    nameservers: 2, tablets: 3,
    nsFlags: { auto_failover: true, tablet_heartbeat_timeout: HEARTBEAT_TIMEOUT_MS, get_table_status_interval: 300, in_sync_silent_ms: 1000 },
    httpTimeoutMs: 10_000, tabletsHealthyTimeoutMs: WAIT_MS,
  });
  const showns = async () => parseTable((await cli('showns')).stdout, 'endpoint').map((r) => `${r.endpoint}:${r.role}`);
  const tabletState = async (ep: string) => (await client.admin.showtablet({})).tablets.find((x) => x.endpoint === ep)?.state;
  const health = async (ep: string): Promise<{ leader: boolean }> => {
    const res = await fetch(`http://${ep}/v1/health`, { signal: AbortSignal.timeout(5000) });
    return decode(Buffer.from(await res.arrayBuffer())) as { leader: boolean };
  };
  const tabletEpoch = async (ep: string) => (await http.call<{ nsEpoch: number }>(ep, '/v1/control/status', {})).nsEpoch;

  const [t1, t2, t3] = tablets.map((x) => x.endpoint) as [string, string, string];
  await createFlow(client, [t1, t2, t3]);
  const rows = Array.from({ length: 100 }, (_, i) => ({ card: `c${i}`, amt: i, at: 1000 + i }));
  await client.putBatch('db', 'flow', rows);
  const table = (): Promise<TableInfo> => client.table('db', 'flow');
  const unreadable = (): Promise<number> => unreadableFlowRows(client, rows);

  await t.test('nameserver leader: disconnectzk hands over, connectzk rejoins as standby', async (t) => {
    const [a, b] = ns as [RoleProcess, RoleProcess];
    t.same(await showns(), [`${a.endpoint}:leader`, `${b.endpoint}:standby`]);
    await waitFor('tablets saw the first epoch', async () => (await tabletEpoch(t1)) > 0, { timeoutMs: WAIT_MS, intervalMs: 100 });
    const oldEpoch = await tabletEpoch(t1);

    const off = await cli('disconnectzk');
    const started = Date.now();
    t.match(off.stdout, /disconnect zk ok/, 'ns_client sends it to the leader');
    const refused = await codeOf(http.call(a.endpoint, nsRoute('showtablet'), {}));
    t.equal(refused.code, 'NS_NOT_LEADER', 'the old leader refuses admin commands as soon as disconnectzk answered');
    t.notOk((await health(a.endpoint)).leader);
    await waitFor('the standby leads', async () => (await health(b.endpoint)).leader, { timeoutMs: WAIT_MS, intervalMs: 20 });
    const takeoverMs = Date.now() - started;
    t.comment(`standby leading ${takeoverMs} ms after disconnectzk answered (session timeout ${SESSION_TIMEOUT_MS} ms)`);
    t.ok(takeoverMs < SESSION_TIMEOUT_MS, 'before any session could expire: the closed session took its node along');

    await waitFor('tablets fenced the old epoch', async () => (await Promise.all([t1, t2, t3].map(tabletEpoch))).every((e) => e > oldEpoch), { timeoutMs: WAIT_MS, intervalMs: 100 });
    const fenced = await codeOf(http.call(t1, '/v1/control/drop_replica', { tid: 999_999, pid: 0, nsEpoch: oldEpoch }));
    t.equal(fenced.code, 'STALE_NS_EPOCH', "a control call with the old leader's epoch is refused");
    t.same(await showns(), [`${b.endpoint}:leader`], 'the old leader is out of the election');
    t.equal(await unreadable(), 0, 'every row readable');
    t.match((await cli('showtable')).stdout, /flow/, 'ns_client follows the new leader');
    t.same(await showns(), [`${b.endpoint}:leader`], 'no automatic reconnect: still out before connectzk');

    const on = await cli('connectzk', { endpoint: a.endpoint });
    t.match(on.stdout, /connect zk ok/, 'ns_client --endpoint reaches the nameserver that left');
    await waitFor('back as a standby', async () => (await showns()).join() === [`${b.endpoint}:leader`, `${a.endpoint}:standby`].join(), { timeoutMs: WAIT_MS, intervalMs: 100 });
    t.notOk((await health(a.endpoint)).leader);
    const hinted = await codeOf(http.call(a.endpoint, nsRoute('showtablet'), {}));
    t.equal(hinted.code, 'NS_NOT_LEADER');
    t.equal(hinted.details?.leader, b.endpoint, 'and points at the new leader');
  });

  await t.test('tablet: disconnectzk fails it over, connectzk recovers its replicas', async (t) => {
    const victim = t1;
    const epoch = await tabletEpoch(victim);
    const stale = await codeOf(http.call(victim, '/v1/control/disconnectzk', { nsEpoch: epoch - 1 }));
    t.equal(stale.code, 'STALE_NS_EPOCH', 'fenced as every control route');
    t.equal(await tabletState(victim), 'kTabletHealthy', 'a refused disconnectzk changes nothing');

    const started = Date.now();
    await http.call(victim, '/v1/control/disconnectzk', { nsEpoch: epoch });
    await waitFor('offline', async () => (await tabletState(victim)) === 'kTabletOffline', { timeoutMs: WAIT_MS, intervalMs: 50 });
    const offlineMs = Date.now() - started;
    await waitFor('pid 0 led elsewhere', async () => (await table()).partitions[0]!.replicas.some((r) => r.isLeader && r.isAlive && r.endpoint !== victim), { timeoutMs: WAIT_MS, intervalMs: 100 });
    const failoverMs = Date.now() - started;
    t.comment(`tablet offline ${offlineMs} ms, pid 0 re-led ${failoverMs} ms after disconnectzk (heartbeat timeout ${HEARTBEAT_TIMEOUT_MS} ms)`);
    await waitFor('its replicas not alive', async () => (await table()).partitions.every((p) => p.replicas.find((r) => r.endpoint === victim)?.isAlive === false), { timeoutMs: WAIT_MS, intervalMs: 100 });
    t.equal(await unreadable(), 0, 'every row readable after the failover');
    t.equal(await tabletState(victim), 'kTabletOffline', 'no automatic reconnect');

    const reconnectedAt = Date.now();
    await http.call(victim, '/v1/control/connectzk', { nsEpoch: await tabletEpoch(victim) });
    await waitFor('healthy again', async () => (await tabletState(victim)) === 'kTabletHealthy', { timeoutMs: WAIT_MS, intervalMs: 50 });
    await waitFor('replicas alive again', async () => (await table()).partitions.every((p) => p.replicas.length === 3 && p.replicas.every((r) => r.isAlive)), { timeoutMs: WAIT_MS, intervalMs: 100 });
    t.comment(`replicas alive again ${Date.now() - reconnectedAt} ms after connectzk`);
    const more = Array.from({ length: 20 }, (_, i) => ({ card: `n${i}`, amt: i, at: 5000 + i }));
    await client.putBatch('db', 'flow', more);
    rows.push(...more);
    t.equal(await unreadable(), 0, 'every row readable, new writes too');
    const info = await table();
    t.ok(info.partitions.every((p) => p.replicas.filter((r) => r.isLeader).length === 1), 'one leader per partition');
  });
});
