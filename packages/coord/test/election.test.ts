import t from 'tap';
import { waitFor } from '@tessera/common';
import { CoordSession, readLeader } from '../src/index.js';
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


t.test('a standby whose session expired rejoins, says so, and takes over when the leader goes', async (t) => {
  // Chaos seed 198: a standby nameserver's session expired during a ZooKeeper outage; it joined
  // again but never logged a decision. Here the rejoined standby must announce itself and must
  // still be watching, so that it leads as soon as the leader leaves.
  const zk = await zkPromise;
  const root = uniqueRoot('standby-expiry');
  const proxy = await TcpProxy.start(zk.port);
  t.teardown(() => proxy.close());
  const sessionTimeoutMs = 2_000;
  const a = await candidate(t, await connect(t, zk, root, sessionTimeoutMs), '127.0.0.1:9643');
  const bSession = await CoordSession.connect({ zkCluster: proxy.connectString, rootPath: root, sessionTimeoutMs, logger: testLogger });
  t.teardown(() => bSession.close());
  const b = await candidate(t, bSession, '127.0.0.1:9644');
  t.ok(a.election.isLeader);
  t.same(b.events, [`standby:${a.endpoint}`]);

  const oldSession = bSession.sessionId;
  const expired = nextEvent(bSession, 'expired');
  proxy.partition();
  // Keep b cut off until the server has removed its node (its session is gone for sure).
  await waitFor('b\'s election node is gone', async () => (await a.session.children(a.session.layout.leaderDir)).length === 1, { timeoutMs: WAIT_MS });
  proxy.heal();
  await expired;
  await waitFor('b rejoined in a new session', async () => (await a.session.children(a.session.layout.leaderDir)).length === 2, { timeoutMs: WAIT_MS });
  t.not(bSession.sessionId, oldSession);
  await waitFor('b announces standby again after rejoining', () => b.events.length === 2, { timeoutMs: WAIT_MS });
  t.same(b.events, [`standby:${a.endpoint}`, `standby:${a.endpoint}`], 'rejoining is a new decision, announced');

  const started = Date.now();
  const bLeads = nextEvent(b.election, 'leader');
  await a.session.close();
  await bLeads;
  t.comment(`the rejoined standby led ${Date.now() - started} ms after the leader closed`);
  t.ok(b.election.isLeader);
  t.equal(await readLeader(b.session, b.session.layout), b.endpoint);
});
