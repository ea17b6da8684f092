// The tablet's slow-request log (--slow_request_ms; common/http-server.ts): a write that waits for
// a follower past the threshold is one WARN line naming its route; control calls are left out.
// In process: a standalone tablet on memory-level answering inject().
import t from 'tap';
import { createLogger } from '@tessera/common';
import { RouteLedger } from '@tessera/testkit';
import { TabletServer } from '../src/index.js';

const PEER = '127.0.0.1:19011';
const schema = {
  name: 'flow', db: 'demo_db',
  columns: [{ name: 'card', type: 'string' }, { name: 'amt', type: 'double' }, { name: 'ts', type: 'timestamp' }],
  indexes: [{ name: 'card', keys: ['card'], ts: 'ts' }],
};

t.test('a replica_ack=all put that waits past --slow_request_ms is logged; fast and control calls are not', async (t) => {
  const lines: string[] = [];
  const logger = createLogger('tablet 127.0.0.1:19010', 'info', (l) => lines.push(l));
  const ledger = new RouteLedger();
  const tablet = await TabletServer.open({
    endpoint: '127.0.0.1:19010', dbRootPath: '/nonexistent/in-memory', storage: 'memory', gcIntervalMinutes: 60, bodyBytesMax: 1024 * 1024,
    shutdownTimeoutMs: 2_000, binlogRetentionEntries: 1_000, replicaAckTimeoutMs: 300, snapshotBytesPerSecondMax: 0, minInSyncReplicas: 2, logger, slowRequestMs: 150,
  });
  t.teardown(() => tablet.stop());
  const slowLines = (): Array<{ slowRequest: string; ms: number; status: number }> =>
    lines.map((l) => JSON.parse(l) as { level: number; msg: string; slowRequest: string; ms: number; status: number }).filter((l) => l.level === 40 && l.msg.startsWith('slow request:'));

  // A leader with replica_ack=leader (fast) and one with replica_ack=all whose follower is not there.
  t.equal((await ledger.call(tablet, 'POST', '/v1/control/create_replica', { tid: 1, pid: 0, schema, role: 'leader', term: 1, replicaAck: 'leader', followers: [PEER], nsEpoch: 1 })).status, 200);
  t.equal((await ledger.call(tablet, 'POST', '/v1/control/create_replica', { tid: 2, pid: 0, schema, role: 'leader', term: 1, replicaAck: 'all', followers: [PEER], nsEpoch: 1 })).status, 200);
  t.equal((await ledger.call(tablet, 'POST', '/v1/data/put', { tid: 1, pid: 0, row: ['c1', 1.5, 1000], writeId: 'w1' })).status, 200);
  t.same(slowLines(), [], 'a fast put: no line');
  const waited = await ledger.call(tablet, 'POST', '/v1/data/put', { tid: 2, pid: 0, row: ['c1', 1.5, 1000], writeId: 'w2' });
  t.not(waited.status, 200, 'the put waited for its follower and failed');
  const got = slowLines();
  t.equal(got.length, 1, 'one slow-request line');
  t.match(got[0], { slowRequest: '/v1/data/put', status: waited.status });
  t.ok(got[0]!.ms >= 150, `took ${got[0]!.ms} ms`);
});
