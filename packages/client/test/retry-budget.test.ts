// The SDK's retries are bounded by time, not by a count of attempts (retry-policy.ts DATA_RETRY).
// A put to a partition whose leader is held `unassigned` (its ZooKeeper session lost, as when a
// lease lapses under load, until the nameserver tells it its role again) for 6 s — longer than the
// ten attempts the SDK used to make could wait (at most ~5.6 s of backoff) — is acknowledged once
// the role is given back, and applied once; with a short budget the call fails with the tablet's
// refusal when the budget has passed, and nothing is written.
// In process, over real HTTP: a tablet (memory-level) listening on a free port, the in-memory
// coordination backend (held to coord's conformance suite) for its session and the SDK's table
// metadata, the SDK's DataClient. The test plays the nameserver: it writes the table's metadata
// and sends the role orders.
import t from 'tap';
import { createLogger, HttpClient, TesseraError, waitFor, type TableInfo } from '@tessera/common';
import { MemoryCoordServer } from '@tessera/coord';
import { TabletServer } from '@tessera/tablet';
import { freePort } from '@tessera/testkit';
import { Client, DataClient, TableCache } from '../src/index.js';

const HOLD_MS = 6_000;
const SHORT_BUDGET_MS = 1_500;
const logger = createLogger('retry-budget', process.env['TESSERA_TEST_LOG'] === '1' ? 'debug' : 'silent');

const schema = {
  name: 'flow', db: 'db',
  columns: [{ name: 'card', type: 'string' as const }, { name: 'amt', type: 'double' as const }, { name: 'ts', type: 'timestamp' as const }],
  indexes: [{ name: 'card', keys: ['card'], ts: 'ts', ttl: { type: 'absolute' as const, absMinutes: 0, latest: 0 } }],
};

t.test('a put waits out a leader held unassigned; a short budget ends the call with the refusal', async (t) => {
  const coordServer = new MemoryCoordServer();
  const tabletSession = await coordServer.connect({ rootPath: '/rb', sessionTimeoutMs: 3_000, logger });
  const endpoint = `127.0.0.1:${await freePort()}`;
  const tablet = await TabletServer.start({
    endpoint, dbRootPath: '/nonexistent/in-memory', storage: 'memory', gcIntervalMinutes: 60, bodyBytesMax: 1024 * 1024,
    shutdownTimeoutMs: 2_000, binlogRetentionEntries: 1_000, replicaAckTimeoutMs: 2_000, snapshotBytesPerSecondMax: 0, minInSyncReplicas: 1, logger,
  }, tabletSession);
  t.teardown(() => tablet.stop());
  const http = new HttpClient({ timeoutMs: 5_000 });
  t.teardown(() => http.close());

  let term = 1;
  await http.call(endpoint, '/v1/control/create_replica', { tid: 1, pid: 0, schema, role: 'leader', term, replicaAck: 'leader', followers: [], nsEpoch: 1 });
  const table: TableInfo = {
    tid: 1, schema, partitionNum: 1, replicaNum: 1, compressType: 'kNoCompress', replicaAck: 'leader', createdMs: Date.now(),
    partitions: [{ pid: 0, replicas: [{ endpoint, isLeader: true, isAlive: true }], termOffsets: [{ term, offset: 0 }], inSync: [] }],
  };
  const sdkSession = await coordServer.connect({ rootPath: '/rb', logger });
  t.teardown(() => sdkSession.close());
  await sdkSession.ensurePath(sdkSession.layout.tableDataDir);
  await sdkSession.createOrSet(sdkSession.layout.tableData(1), JSON.stringify(table));
  const tables = new TableCache(sdkSession, sdkSession.layout);
  await tables.start();
  t.teardown(() => tables.stop());
  const info = tables.byId(1)!;
  t.ok(info, 'the SDK reads the table');

  const roleOf = async (): Promise<string | undefined> => {
    const status = await http.call<{ replicas: Array<{ role?: string; state?: string }> }>(endpoint, '/v1/control/status', { tid: 1, pid: 0 });
    return status.replicas[0]?.state === 'unassigned' ? 'unassigned' : status.replicas[0]?.role;
  };
  /** Ends the tablet's session: its leader steps down and serves nothing until told its role. */
  const loseSession = async (): Promise<void> => {
    coordServer.expire(tabletSession);
    await waitFor('the leader stepped down', async () => (await roleOf()) === 'unassigned', { timeoutMs: 10_000, intervalMs: 20 });
  };
  /** The nameserver's order after the session came back: lead again, in a new term. */
  const leadAgain = async (): Promise<void> => {
    await waitFor('the tablet holds a session again', async () => tabletSession.isConnected, { timeoutMs: 10_000, intervalMs: 20 });
    term++;
    await http.call(endpoint, '/v1/control/change_role', { tid: 1, pid: 0, role: 'leader', term, followers: [], nsEpoch: 1 });
  };

  const data = new DataClient(tables, http);
  await data.put(info, ['before', 1, 1_000], 1_000);

  await t.test(`held unassigned ${HOLD_MS} ms: the put is acknowledged after the role comes back, applied once`, async (t) => {
    await loseSession();
    const startedMs = performance.now();
    const put = data.put(info, ['held', 2, 2_000], 2_000).then(() => performance.now() - startedMs);
    await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
    t.equal(await roleOf(), 'unassigned', `still unassigned after ${HOLD_MS} ms`);
    await leadAgain();
    const tookMs = await put;
    t.ok(tookMs >= HOLD_MS, `acknowledged after the hold (${Math.round(tookMs)} ms)`);
    t.match(await data.get(info, undefined, 'held'), { values: ['held', 2, 2_000] }, 'the row reads back');
    t.equal(await data.count(info, undefined, 'held'), 1, 'applied once');
  });

  await t.test(`a ${SHORT_BUDGET_MS} ms budget: the call fails with the refusal once it has passed`, async (t) => {
    const impatient = new DataClient(tables, http, { retryBudgetMs: SHORT_BUDGET_MS });
    await loseSession();
    const startedMs = performance.now();
    const err = await impatient.put(info, ['refused', 3, 3_000], 3_000).then(() => undefined, (e: unknown) => e);
    const tookMs = performance.now() - startedMs;
    t.ok(err instanceof TesseraError, 'a catalogue error');
    t.equal((err as TesseraError).code, 'REPLICA_NOT_SERVING', 'the tablet\'s own refusal');
    t.ok(tookMs >= SHORT_BUDGET_MS, `not before the budget (${Math.round(tookMs)} ms)`);
    t.ok(tookMs < SHORT_BUDGET_MS + 5_000, `ended by the budget, not by a count of attempts (${Math.round(tookMs)} ms)`);
    await leadAgain();
    t.equal(await data.count(info, undefined, 'refused'), 0, 'nothing written');
  });
});

t.test('a budget that is not a positive integer is refused before connecting', async (t) => {
  for (const retryBudgetMs of [0, -1, 1.5, Number.NaN]) {
    await t.rejects(Client.connect({ zkCluster: '127.0.0.1:1', zkRootPath: '/rb', retryBudgetMs }), { code: 'INVALID_ARGUMENT', details: { field: 'retryBudgetMs' } }, `retryBudgetMs ${retryBudgetMs}`);
  }
});
