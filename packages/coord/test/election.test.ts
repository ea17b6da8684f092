import t from 'tap';
import { waitFor } from '@tessera/common';
import { CoordSession } from '../src/index.js';
import { candidate, leaders } from './conformance.js';
import { TcpProxy } from './proxy.js';
import { WAIT_MS, connect, nextEvent, startZk, testLogger, uniqueRoot } from './helpers.js';

const zkPromise = startZk(t);

t.test('a partitioned leader steps down at once; the next leads when its session expires', async (t) => {
  const zk = await zkPromise;
  const root = uniqueRoot('partition');
  const proxy = await TcpProxy.start(zk.port);
  t.teardown(() => proxy.close());
  const sessionTimeoutMs = 2_000;
  const leaderSession = await CoordSession.connect({ zkCluster: proxy.connectString, rootPath: root, sessionTimeoutMs, logger: testLogger });
  t.teardown(() => leaderSession.close());
  const a = await candidate(t, leaderSession, '127.0.0.1:9641');
  const b = await candidate(t, await connect(t, zk, root, sessionTimeoutMs), '127.0.0.1:9642');
  t.ok(a.election.isLeader);

  const started = Date.now();
  const aStepsDown = nextEvent<[string | undefined]>(a.election, 'standby');
  const bLeads = nextEvent(b.election, 'leader');
  proxy.partition();
  const [hint] = await aStepsDown;
  t.equal(hint, undefined, 'the cut-off leader gives up without naming a leader');
  t.notOk(a.election.isLeader);
  await bLeads;
  const takeoverMs = Date.now() - started;
  t.comment(`standby took over ${takeoverMs} ms after the leader was cut off (session timeout ${sessionTimeoutMs} ms)`);
  t.ok(takeoverMs >= sessionTimeoutMs / 2, 'not before the old session could have expired');

  // The old leader comes back: a new session, a new node, standby behind b.
  const aStandby = waitFor('a is standby behind b', () => a.events.at(-1) === `standby:${b.endpoint}`, { timeoutMs: WAIT_MS });
  proxy.heal();
  await aStandby;
  t.same(leaders([a, b]).map((c) => c.endpoint), [b.endpoint]);
  const values = await Promise.all(
    (await b.session.children(b.session.layout.leaderDir)).map(async (n) => (await b.session.get(`${b.session.layout.leaderDir}/${n}`))?.data.toString()),
  );
  t.same(values, [b.endpoint, a.endpoint], 'one node per candidate, b first');
});

