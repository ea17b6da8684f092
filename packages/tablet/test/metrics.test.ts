// The tablet's /metrics (src/metrics.ts, issue 16): the totals always (replicas by phase, rows,
// follower links by in-sync, worst lag), one series per replica only up to
// LIMITS.metricsReplicaSeriesMax replicas, so that a scrape of a tablet of thousands of replicas
// stays small. In process: a standalone tablet on memory-level answering inject().
import t from 'tap';
import { createLogger, LIMITS } from '@tessera/common';
import { RouteLedger } from '@tessera/testkit';
import { TabletServer } from '../src/index.js';

const logger = createLogger('tablet-metrics', 'silent');
const PEER = '127.0.0.1:19001';
const schema = {
  name: 'flow', db: 'demo_db',
  columns: [{ name: 'card', type: 'string' }, { name: 'amt', type: 'double' }, { name: 'ts', type: 'timestamp' }],
  indexes: [{ name: 'card', keys: ['card'], ts: 'ts' }],
};

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

t.test('totals always; per-replica series only up to the limit', async (t) => {
  const ledger = new RouteLedger();
  const tablet = await TabletServer.open({
    endpoint: '127.0.0.1:19000', dbRootPath: '/nonexistent/in-memory', storage: 'memory', gcIntervalMinutes: 60, bodyBytesMax: 1024 * 1024,
    shutdownTimeoutMs: 2_000, binlogRetentionEntries: 1_000, replicaAckTimeoutMs: 2_000, snapshotBytesPerSecondMax: 0, minInSyncReplicas: 1, logger,
  });
  t.teardown(() => tablet.stop());
  const post = async (url: string, body: unknown): Promise<Record<string, unknown>> => {
    const a = await ledger.call(tablet, 'POST', url, body);
    t.equal(a.status, 200, `${url} (${JSON.stringify(a.body).slice(0, 160)})`);
    return a.body;
  };
  const scrape = async (): Promise<string> => String((await ledger.call(tablet, 'GET', '/metrics')).body.text);

  // A leader whose follower (a tablet that is not there) never confirms, a follower, an unassigned one.
  await post('/v1/control/create_replica', { tid: 1, pid: 0, schema, role: 'leader', term: 1, replicaAck: 'leader', followers: [PEER], nsEpoch: 1 });
  await post('/v1/control/create_replica', { tid: 1, pid: 1, schema, role: 'follower', term: 1, leader: PEER, nsEpoch: 1 });
  await post('/v1/data/put', { tid: 1, pid: 0, row: ['c1', 1.5, 1000], writeId: 'w1' });
  let text = await scrape();
  t.equal(value(text, 'tessera_replica_series{role="tablet"}'), 1, 'two replicas: listed one by one');
  t.equal(value(text, 'tessera_replicas{phase="leader",role="tablet"}'), 1);
  t.equal(value(text, 'tessera_replicas{phase="follower",role="tablet"}'), 1);
  t.equal(value(text, 'tessera_replicas{phase="unassigned",role="tablet"}'), 0);
  t.equal(value(text, 'tessera_replicas_rows{role="tablet"}'), 1, 'the one row');
  t.equal((value(text, 'tessera_follower_links{in_sync="0",role="tablet"}') ?? 0) + (value(text, 'tessera_follower_links{in_sync="1",role="tablet"}') ?? 0), 1, 'one follower link');
  t.ok((value(text, 'tessera_follower_lag_entries_max{role="tablet"}') ?? 0) >= 1, 'the unconfirmed put is the worst lag');
  t.match(text, /^tessera_replica_offset\{tid="1",pid="0",role="tablet"\} \d+$/m);
  t.equal(value(text, 'tessera_storage_queue_hold_seconds_count{role="tablet",task="delete"}'), undefined, 'no delete yet');
  await post('/v1/data/delete', { tid: 1, pid: 0, key: 'c9', writeId: 'd1' }); // a key with no row: still a delete in the queue
  text = await scrape();
  t.equal(value(text, 'tessera_storage_queue_hold_seconds_count{role="tablet",task="delete"}'), 1, 'the delete held its replica\'s queue (observed as it happened)');
  t.ok((value(text, 'tessera_storage_queue_hold_seconds_sum{role="tablet",task="delete"}') ?? -1) >= 0);
  t.match(text, /^tessera_replica_follower_lag_entries\{tid="1",pid="0",follower="127\.0\.0\.1:19001",role="tablet"\} [1-9]\d*$/m);

  // Past the limit: followers in batches, as a create would send them.
  const extra = LIMITS.metricsReplicaSeriesMax;
  for (let first = 0; first < extra; first += 200) {
    const commands = [];
    for (let pid = first; pid < Math.min(extra, first + 200); pid++) {
      commands.push({ path: '/v1/control/create_replica', body: { tid: 2, pid, schema: { ...schema, name: 'wide' }, role: 'follower', term: 1, leader: PEER } });
    }
    const res = await post('/v1/control/batch', { nsEpoch: 1, commands });
    t.ok((res.results as Array<{ ok?: boolean }>).every((r) => r.ok === true), `batch from pid ${first}: every create ok`);
  }
  text = await scrape();
  t.equal(value(text, 'tessera_replica_series{role="tablet"}'), 0, `${extra + 2} replicas: totals only`);
  t.notMatch(text, /^tessera_replica_offset\{/m, 'no per-replica offset series');
  t.notMatch(text, /^tessera_replica_follower_lag_entries\{/m, 'no per-link series');
  t.equal(value(text, 'tessera_replicas{phase="follower",role="tablet"}'), extra + 1);
  t.equal(value(text, 'tessera_replicas{phase="leader",role="tablet"}'), 1);
  t.equal(value(text, 'tessera_replicas_rows{role="tablet"}'), 1);
  t.ok((value(text, 'tessera_follower_lag_entries_max{role="tablet"}') ?? 0) >= 1, 'the worst lag still told');
  t.equal(text.split('\n').filter((l) => l.includes('tid="')).length, 0, 'no line names a replica');
  // The tablet's own series only: the runtime's (nodejs_gc_duration_seconds by GC kind, ...) vary
  // with what the process did before, not with the replicas.
  const own = text.split('\n').filter((l) => l.startsWith('tessera_')).length;
  t.ok(own < 200, `the tablet's own series stay an empty tablet's few: ${own} lines (${text.length} bytes in all)`);
});
