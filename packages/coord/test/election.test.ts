import t, { type Test } from 'tap';
import { waitFor } from '@tessera/common';
import { CoordSession, LeaderElection, readLeader, zkLayout } from '../src/index.js';
import { TcpProxy } from './proxy.js';
import { WAIT_MS, connect, nextEvent, startZk, testLogger, uniqueRoot } from './helpers.js';

const zkPromise = startZk(t);

interface Candidate {
  endpoint: string;
  session: CoordSession;
  election: LeaderElection;
  events: string[];
}

async function candidate(t: Test, session: CoordSession, endpoint: string): Promise<Candidate> {
  const election = new LeaderElection(session, session.layout, endpoint, { logger: testLogger });
  const events: string[] = [];
  election.on('leader', () => events.push('leader'));
  election.on('standby', (leader) => events.push(`standby:${leader ?? '-'}`));
  t.teardown(() => election.stop());
  await election.start();
  return { endpoint, session, election, events };
}

function leaders(cs: Candidate[]): Candidate[] {
  return cs.filter((c) => c.election.isLeader);
}

t.test('three candidates: one leader; closing it makes the next one lead', async (t) => {
  const zk = await zkPromise;
  const root = uniqueRoot('election');
  const cs: Candidate[] = [];
  for (const ep of ['127.0.0.1:9631', '127.0.0.1:9632', '127.0.0.1:9633']) {
    cs.push(await candidate(t, await connect(t, zk, root), ep));
  }
  const [first, second, third] = cs as [Candidate, Candidate, Candidate];
  t.same(leaders(cs).map((c) => c.endpoint), [first.endpoint], 'the first to join leads');
  t.same(first.events, ['leader']);
  t.same(second.events, [`standby:${first.endpoint}`]);
  t.same(third.events, [`standby:${first.endpoint}`]);
  t.equal(await readLeader(third.session, third.session.layout), first.endpoint);
  t.equal(await second.election.leaderEndpoint(), first.endpoint);
  const locks = await third.session.children(third.session.layout.leaderDir);
  t.equal(locks.length, 3);
  t.ok(locks.every((n) => /^lock_request\d{10}$/.test(n)), 'lock_request<seq> names');

  const started = Date.now();
  const secondLeads = nextEvent(second.election, 'leader');
  await first.session.close();
  await secondLeads;
  const failoverMs = Date.now() - started;
  t.comment(`leader failover after close took ${failoverMs} ms`);
  t.ok(failoverMs < 5_000, 'failover after a clean close is fast');
  await waitFor('third sees the new leader', () => third.events.at(-1) === `standby:${second.endpoint}`, { timeoutMs: WAIT_MS });
  t.same(leaders([second, third]).map((c) => c.endpoint), [second.endpoint], 'exactly one leader');
  t.equal(await readLeader(third.session, third.session.layout), second.endpoint);

  // A standby that stops leaves the election; the leader is unaffected.
  await third.election.stop();
  const left = await second.session.children(second.session.layout.leaderDir);
  t.equal(left.length, 1, 'the stopped standby removed its node');
  t.equal((await second.session.get(`${second.session.layout.leaderDir}/${left[0]}`))?.data.toString(), second.endpoint);
  t.ok(second.election.isLeader);
  await second.election.stop();
  t.equal(await readLeader(second.session, second.session.layout), undefined, 'no candidates, no leader');
});

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

t.test('disconnect()/reconnect() of the leader hands leadership over and rejoins', async (t) => {
  const zk = await zkPromise;
  const root = uniqueRoot('disconnectzk');
  const a = await candidate(t, await connect(t, zk, root), '127.0.0.1:9651');
  const b = await candidate(t, await connect(t, zk, root), '127.0.0.1:9652');
  t.ok(a.election.isLeader);
  const bLeads = nextEvent(b.election, 'leader');
  await a.session.disconnect();
  t.notOk(a.election.isLeader, 'disconnectzk: no longer leader');
  await bLeads;
  await a.session.reconnect();
  await waitFor('a rejoins as standby', () => a.events.at(-1) === `standby:${b.endpoint}`, { timeoutMs: WAIT_MS });
  t.same(a.events, ['leader', 'standby:-', `standby:${b.endpoint}`]);
});

t.test('a leftover node of the same endpoint from another session is removed on join (OpenMLDB #2439)', async (t) => {
  const zk = await zkPromise;
  const root = uniqueRoot('leftover');
  const layout = zkLayout(root);
  const old = await connect(t, zk, root, 30_000);
  await old.ensurePath(layout.leaderDir);
  const stale = await old.create(layout.leaderLockPrefix, '127.0.0.1:9661', { ephemeral: true, sequential: true });
  const other = await candidate(t, await connect(t, zk, root), '127.0.0.1:9662');
  t.equal(other.events.at(-1), 'standby:127.0.0.1:9661', 'the stale node looks like the leader to others');

  const started = Date.now();
  const restarted = await candidate(t, await connect(t, zk, root), '127.0.0.1:9661');
  t.comment(`restarted candidate decided in ${Date.now() - started} ms`);
  t.equal(await old.exists(stale), false, 'the stale node was deleted');
  await waitFor('other leads', () => other.election.isLeader, { timeoutMs: WAIT_MS });
  t.equal(restarted.events.at(-1), `standby:${other.endpoint}`);
});
