// The bad-input catalogue covers every route: a tablet (memory-level) and a nameserver (in-memory
// coordination backend) are opened in process and every route they register must have a RouteSpec
// in ALL_ROUTES, so a route added without bad-input cases fails here. (badinput.test sends the
// cases to a real cluster; this only checks the list is whole.)
import t from 'tap';
import { createLogger } from '@tessera/common';
import { MemoryCoordServer } from '@tessera/coord';
import { NameServer } from '@tessera/nameserver';
import { TabletServer } from '@tessera/tablet';
import { ALL_ROUTES } from '../src/badinput/routes.js';

const logger = createLogger('badinput-routes', 'silent');
/** Routes with nothing to spoil: no body is read (GET pages, metrics, health). */
const NO_BODY = /^GET /;

t.test('every registered tablet and nameserver route has bad-input cases', async (t) => {
  const tablet = await TabletServer.open({
    endpoint: '127.0.0.1:19000', dbRootPath: '/nonexistent/in-memory', storage: 'memory', gcIntervalMinutes: 60, bodyBytesMax: 1024 * 1024,
    shutdownTimeoutMs: 2_000, binlogRetentionEntries: 1_000, replicaAckTimeoutMs: 2_000, snapshotBytesPerSecondMax: 0, minInSyncReplicas: 1, logger,
  });
  t.teardown(() => tablet.stop());
  const coord = new MemoryCoordServer();
  const ns = await NameServer.open({
    endpoint: '127.0.0.1:19100', zkCluster: 'in-memory', zkRootPath: '/tessera', zkSessionTimeoutMs: 4_000, autoFailover: false, tabletHeartbeatTimeoutMs: 5_000,
    taskConcurrency: 4, tableStatusIntervalMs: 200, inSyncLagEntriesMax: 1_000, syncDeltaEntriesMax: 10, syncStallTimeoutMs: 20_000, inSyncSilentMsMax: 10_000,
    partitionNumDefault: 1, replicaNumDefault: 1, requestTimeoutMs: 5_000, logger,
  }, await coord.connect({ rootPath: '/tessera', sessionTimeoutMs: 4_000 }));
  t.teardown(() => ns.stop());
  const covered = new Set(ALL_ROUTES.map((r) => `${r.server} POST ${r.path}`));
  const registered = [
    ...tablet.routes().map((r) => ({ server: 'tablet', ...r })),
    ...ns.routes().map((r) => ({ server: 'ns', ...r })),
  ].filter((r) => !NO_BODY.test(`${r.method} ${r.url}`));
  t.ok(registered.length >= 60, `${registered.length} POST routes registered`);
  const missing = registered.filter((r) => !covered.has(`${r.server} ${r.method} ${r.url}`)).map((r) => `${r.server} ${r.method} ${r.url}`);
  t.same(missing, [], 'no route without bad-input cases');
  const known = new Set(registered.map((r) => `${r.server} ${r.method} ${r.url}`));
  const stale = [...covered].filter((k) => !known.has(k));
  t.same(stale, [], 'no RouteSpec for a route that is gone');
});
