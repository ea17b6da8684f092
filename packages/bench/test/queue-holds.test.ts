// The benches' reading of a tablet's tessera_storage_queue_hold_seconds (src/queue-holds.ts): from
// a real tablet's /metrics (in process, memory-level, inject()), before and after a delete.
import t from 'tap';
import { createLogger, encode, MSGPACK_CONTENT_TYPE } from '@tessera/common';
import { TabletServer } from '@tessera/tablet';
import { holdsBetween, parseQueueHolds } from '../src/queue-holds.js';

const schema = {
  name: 'flow', db: 'demo_db',
  columns: [{ name: 'card', type: 'string' }, { name: 'amt', type: 'double' }, { name: 'ts', type: 'timestamp' }],
  indexes: [{ name: 'card', keys: ['card'], ts: 'ts' }],
};

t.test('holds of a delete, read from a tablet\'s /metrics before and after', async (t) => {
  const tablet = await TabletServer.open({
    endpoint: '127.0.0.1:19010', dbRootPath: '/nonexistent/in-memory', storage: 'memory', gcIntervalMinutes: 60, bodyBytesMax: 1024 * 1024,
    shutdownTimeoutMs: 2_000, binlogRetentionEntries: 1_000, replicaAckTimeoutMs: 2_000, snapshotBytesPerSecondMax: 0, minInSyncReplicas: 1,
    logger: createLogger('queue-holds-test', 'silent'),
  });
  t.teardown(() => tablet.stop());
  const post = async (url: string, body: unknown): Promise<void> => {
    const res = await tablet.inject({ method: 'POST', url, headers: { 'content-type': MSGPACK_CONTENT_TYPE }, payload: encode(body) });
    t.equal(res.statusCode, 200, url);
  };
  const scrape = async (): Promise<string> => (await tablet.inject({ method: 'GET', url: '/metrics' })).body;
  t.same(parseQueueHolds('# nothing here\n'), { holds: 0, seconds: 0, slow: 0, secondsByTask: {} }, 'no histogram: zeros');

  await post('/v1/control/create_replica', { tid: 1, pid: 0, schema, role: 'leader', term: 1, replicaAck: 'leader', followers: [], nsEpoch: 1 });
  await post('/v1/data/put', { tid: 1, pid: 0, row: ['c1', 1.5, 1000], writeId: 'w1' });
  const before = parseQueueHolds(await scrape());
  await post('/v1/data/delete', { tid: 1, pid: 0, key: 'c1', writeId: 'd1' });
  const after = parseQueueHolds(await scrape());
  const during = holdsBetween(before, after);
  t.ok(during.holds >= 1, `the delete held the queue (${during.holds} holds between the reads)`);
  t.ok(during.secondsByTask.delete !== undefined && during.secondsByTask.delete > 0, 'its time, under its task');
  t.equal(during.slow, 0, 'in-memory: no hold over 25 ms');
  t.ok(after.seconds >= before.seconds && after.holds >= before.holds, 'totals only grow');
});
