/**
 * The coordination conformance suite: what every `Coord` backend must do, run against the real
 * ZooKeeper session (conformance-zk.test.ts) and the in-memory backend (conformance-memory.test.ts),
 * as abstract-level's suite is run against every level. CRUD, compare-and-set, counters, watches,
 * ephemeral nodes, disconnect/reconnect, and the two owners of ephemeral nodes built on them
 * (tablet registration, leader election). What only a real server can show (a restart, a pause,
 * a partition) stays in session/election/expiry.test.ts.
 */
import type { Test } from 'tap';
import { TesseraError, waitFor, type TabletRegistration } from '@tessera/common';
import { LeaderElection, TabletRegistrar, isCoordError, readLeader, zkLayout, type Coord } from '../src/index.js';
import { Recorder, WAIT_MS, observeRegistration, parseRegistration, registrar, nextEvent, testLogger, uniqueRoot } from './helpers.js';

/** A backend under test: opens sessions (closed in teardown) on one shared tree. */
export interface CoordBackend {
  name: string;
  connect(t: Test, rootPath: string, sessionTimeoutMs?: number): Promise<Coord>;
}

export interface Candidate {
  endpoint: string;
  session: Coord;
  election: LeaderElection;
  events: string[];
}

export async function candidate(t: Test, session: Coord, endpoint: string): Promise<Candidate> {
  const election = new LeaderElection(session, session.layout, endpoint, { logger: testLogger });
  const events: string[] = [];
  election.on('leader', () => events.push('leader'));
  election.on('standby', (leader) => events.push(`standby:${leader ?? '-'}`));
  t.teardown(() => election.stop());
  await election.start();
  return { endpoint, session, election, events };
}

export function leaders(cs: Candidate[]): Candidate[] {
  return cs.filter((c) => c.election.isLeader);
}

export function coordConformance(t: Test, backend: CoordBackend): void {
  /** A fresh root where another session holds /nodes/<ep> as an ephemeral node with `data`. */
  const heldByOther = async (t: Test, name: string, ep: string, data: string) => {
    const root = uniqueRoot(name);
    const layout = zkLayout(root);
    const other = await backend.connect(t, root, 30_000);
    await other.ensurePath(layout.nodes);
    await other.create(layout.node(ep), data, { ephemeral: true });
    return { root, layout, other };
  };

  t.test('connect creates the root path; CRUD with JSON and bytes', async (t) => {
    const root = uniqueRoot('crud');
    const s = await backend.connect(t, root);
    t.equal(s.rootPath, root);
    t.ok(await s.exists(root), 'root path exists after connect');
    t.match(s.sessionId, /^[0-9a-f]+$/);
    t.ok(s.isConnected);

    const p = `${root}/a`;
    t.equal(await s.get(p), undefined);
    t.equal(await s.exists(p), false);
    t.equal(await s.create(p, { x: 1 }), p);
    t.same(await s.getJson(p), { value: { x: 1 }, version: 0 });
    const node = await s.get(p);
    t.equal(node?.ephemeralOwner, undefined, 'persistent nodes have no owner');
    t.same(await s.setJson(p, { x: 2 }), { ok: true, version: 1 });
    t.same(await s.getJson(p), { value: { x: 2 }, version: 1 });
    await s.set(p, Buffer.from([0, 1, 2]));
    t.same((await s.get(p))?.data, Buffer.from([0, 1, 2]));
    await s.set(p, 'text');
    t.equal((await s.get(p))?.data.toString(), 'text');

    await t.rejects(s.create(p, 'again'), { code: 'COORD_ERROR', details: { zkError: 'ZNODEEXISTS' } });
    await t.rejects(s.create(`${root}/missing/child`, 'x'), { code: 'COORD_ERROR', details: { zkError: 'ZNONODE' } });
    await t.rejects(s.getJson(p), { code: 'INTERNAL' }, 'non-JSON data is an error, not a crash');

    await s.ensurePath(`${root}/d/e/f`);
    await s.ensurePath(`${root}/d/e/f`);
    t.same(await s.children(`${root}/d`), ['e']);
    t.equal((await s.get(`${root}/d/e/f`))?.data.length, 0);
    await s.create(`${root}/d/e/f/z`, '');
    await s.create(`${root}/d/e/f/y`, '');
    t.same(await s.children(`${root}/d/e/f`), ['y', 'z'], 'children are sorted');
    t.same(await s.children(`${root}/nope`), [], 'children of a missing node: none');

    const seq1 = await s.create(`${root}/d/q`, 'v', { sequential: true });
    const seq2 = await s.create(`${root}/d/q`, 'v', { sequential: true });
    t.match(seq1, new RegExp(`^${root}/d/q\\d{10}$`));
    t.ok(seq2 > seq1);

    t.same(await s.createOrSet(`${root}/cs/deep/node`, 'one'), { version: 0 }, 'createOrSet creates parents');
    t.same(await s.createOrSet(`${root}/cs/deep/node`, 'two'), { version: 1 });
    t.equal((await s.get(`${root}/cs/deep/node`))?.data.toString(), 'two');

    t.same(await s.delete(`${root}/nope`), { ok: false, reason: 'noNode' });
    await t.rejects(s.delete(`${root}/d`), { code: 'COORD_ERROR', details: { zkError: 'ZNOTEMPTY' } });
    await s.deleteRecursive(`${root}/d`);
    t.equal(await s.exists(`${root}/d`), false);
    await s.deleteRecursive(`${root}/d`);
    t.same(await s.delete(p), { ok: true });

    await t.rejects(s.get('relative'), { code: 'INVALID_ARGUMENT' });
    await t.rejects(s.deleteRecursive('/'), { code: 'INVALID_ARGUMENT' });
  });

  t.test('compare-and-set: stale versions lose, nothing is overwritten', async (t) => {
    const root = uniqueRoot('cas');
    const a = await backend.connect(t, root);
    const b = await backend.connect(t, root);
    const p = `${root}/meta`;
    await a.create(p, { n: 0 });
    const seenA = await a.getJson<{ n: number }>(p);
    const seenB = await b.getJson<{ n: number }>(p);
    t.equal(seenA?.version, 0);
    t.same(await b.setJson(p, { n: 'b' }, seenB?.version), { ok: true, version: 1 });
    t.same(await a.setJson(p, { n: 'a' }, seenA?.version), { ok: false, reason: 'badVersion' });
    t.same((await a.getJson(p))?.value, { n: 'b' }, "b's write survives");
    t.same(await a.delete(p, 0), { ok: false, reason: 'badVersion' });
    t.equal(await a.exists(p), true);
    t.same(await a.delete(p, 1), { ok: true });
    t.same(await a.set(p, 'x', 1), { ok: false, reason: 'noNode' });
    t.same(await a.set(p, 'x'), { ok: false, reason: 'noNode' });
  });

  t.test('counters: 3 sessions × 50 increments give 150 distinct values', async (t) => {
    const root = uniqueRoot('counter');
    const sessions = await Promise.all([0, 1, 2].map(() => backend.connect(t, root)));
    const p = `${root}/table/table_index`;
    const values: number[] = [];
    await Promise.all(
      sessions.map(async (s) => {
        for (let i = 0; i < 50; i++) values.push(await s.incrementCounter(p));
      }),
    );
    t.equal(values.length, 150);
    t.equal(new Set(values).size, 150, 'every value is distinct');
    t.same([...values].sort((x, y) => x - y), Array.from({ length: 150 }, (_, i) => i + 1), 'exactly 1..150');
    t.equal((await sessions[0]!.get(p))?.data.toString(), '150');

    // Many concurrent increments from one session as well.
    const burst = await Promise.all(Array.from({ length: 30 }, () => sessions[1]!.incrementCounter(p)));
    t.equal(new Set(burst).size, 30);
    t.equal(Math.min(...burst), 151);
    t.equal(Math.max(...burst), 180);

    await sessions[0]!.create(`${root}/bad`, 'not a number');
    await t.rejects(sessions[0]!.incrementCounter(`${root}/bad`), { code: 'INTERNAL' });
  });

  t.test('counters by a step: each caller owns the step of values up to what it got', async (t) => {
    const root = uniqueRoot('counter-step');
    const sessions = await Promise.all([0, 1].map(() => backend.connect(t, root)));
    const p = `${root}/table/term`;
    t.equal(await sessions[0]!.incrementCounter(p, 16), 16, 'a missing counter counts from 0');
    const tops = await Promise.all(sessions.flatMap((s) => [s.incrementCounter(p, 16), s.incrementCounter(p, 16), s.incrementCounter(p)]));
    const owned = tops.flatMap((top, i) => Array.from({ length: i % 3 === 2 ? 1 : 16 }, (_, k) => top - k));
    t.equal(new Set(owned).size, owned.length, 'no value owned twice');
    t.same([...owned].sort((x, y) => x - y), Array.from({ length: 66 }, (_, i) => i + 17), 'exactly 17..82');
    t.equal((await sessions[1]!.get(p))?.data.toString(), '82');
    for (const by of [0, -1, 1.5]) await t.rejects(sessions[0]!.incrementCounter(p, by), { code: 'INVALID_ARGUMENT' }, `step ${by} refused`);
    t.equal((await sessions[1]!.get(p))?.data.toString(), '82', 'a refused step changes nothing');
  });

  t.test('children and data watches fire and re-arm; stop() ends them', async (t) => {
    const root = uniqueRoot('watch');
    const s = await backend.connect(t, root);
    const writer = await backend.connect(t, root);
    const dir = `${root}/dir`;
    const node = `${root}/value`;

    const kids = new Recorder<string[]>();
    const stopKids = s.watchChildren(dir, kids.push);
    await kids.waitFor('initial children of a missing dir', (c) => c.length === 0);
    const data = new Recorder<Buffer | undefined>();
    const stopData = s.watchData(node, data.push);
    await data.waitFor('initial value of a missing node', (v) => v === undefined);

    await writer.ensurePath(dir);
    for (let i = 0; i < 5; i++) {
      await writer.create(`${dir}/c${i}`, '');
      await kids.waitFor(`child c${i}`, (c) => c.includes(`c${i}`) && c.length === i + 1);
    }
    await writer.delete(`${dir}/c0`);
    await kids.waitFor('c0 removed', (c) => !c.includes('c0') && c.length === 4);

    await writer.create(node, 'v0');
    await data.waitFor('node created', (v) => v?.toString() === 'v0');
    for (let i = 1; i <= 5; i++) {
      await writer.set(node, `v${i}`);
      await data.waitFor(`v${i}`, (v) => v?.toString() === `v${i}`);
    }
    await writer.delete(node);
    await data.waitFor('node deleted', (v) => v === undefined);
    await writer.create(node, 'back');
    await data.waitFor('node re-created', (v) => v?.toString() === 'back');

    // Burst of changes: the watch ends on the final value (coalescing is allowed, losing the end is not).
    for (let i = 0; i < 20; i++) await writer.set(node, `burst${i}`);
    await data.waitFor('last burst value', (v) => v?.toString() === 'burst19');

    // Two watches on one path both fire; stopping one leaves the other.
    const second = new Recorder<Buffer | undefined>();
    const stopSecond = s.watchData(node, second.push);
    await second.waitFor('second watch initial', (v) => v?.toString() === 'burst19');
    stopData();
    const dataCount = data.values.length;
    await writer.set(node, 'after-stop');
    await second.waitFor('second watch sees change', (v) => v?.toString() === 'after-stop');
    t.equal(data.values.length, dataCount, 'a stopped watch is not called');
    stopSecond();
    stopKids();

    // A throwing callback does not break the session or the watch.
    let calls = 0;
    const stopThrowing = s.watchData(node, () => {
      calls++;
      throw new Error('callback bug');
    });
    await waitFor('first call', () => calls >= 1, { timeoutMs: WAIT_MS });
    await writer.set(node, 'again');
    await waitFor('second call', () => calls >= 2, { timeoutMs: WAIT_MS });
    stopThrowing();
    t.ok(await s.exists(node));
  });

  t.test('an ephemeral node disappears when its session closes; watchers see it', async (t) => {
    const root = uniqueRoot('ephemeral');
    const owner = await backend.connect(t, root);
    const observer = await backend.connect(t, root);
    const p = `${root}/eph`;
    await owner.create(p, { who: 'owner' }, { ephemeral: true });
    t.equal((await observer.get(p))?.ephemeralOwner, owner.sessionId, 'ephemeralOwner is the session id');
    const seen = new Recorder<Buffer | undefined>();
    observer.watchData(p, seen.push);
    await seen.waitFor('present', (v) => v !== undefined);
    const started = Date.now();
    await owner.close();
    await seen.waitFor('gone', (v) => v === undefined);
    t.comment(`ephemeral node gone ${Date.now() - started} ms after close`);
    t.equal(await observer.exists(p), false);
    await t.rejects(owner.get(p), { code: 'COORD_ERROR', details: { zkError: 'ZCLOSING' } }, 'a closed session refuses calls');
    await owner.close();
  });

  t.test('disconnect() fails calls fast with COORD_ERROR; reconnect() gives a new session', async (t) => {
    const root = uniqueRoot('disconnect');
    const s = await backend.connect(t, root);
    const observer = await backend.connect(t, root);
    const eph = `${root}/eph`;
    await s.create(eph, 'x', { ephemeral: true });
    const kids = new Recorder<string[]>();
    s.watchChildren(root, kids.push);
    await kids.waitFor('eph listed', (c) => c.includes('eph'));
    const oldSession = s.sessionId;

    const events: string[] = [];
    s.on('disconnected', () => events.push('disconnected'));
    s.on('expired', () => events.push('expired'));
    s.on('connected', ({ newSession }) => events.push(`connected:${newSession}`));
    await s.disconnect();
    t.same(events, ['disconnected', 'expired']);
    t.equal(s.isConnected, false);
    t.equal(s.sessionId, undefined);
    const started = Date.now();
    const err = await s.get(eph).catch((e: unknown) => e);
    t.ok(err instanceof TesseraError && err.code === 'COORD_ERROR', 'get fails with COORD_ERROR');
    t.ok(isCoordError(err, 'ZINVALIDSTATE'));
    await t.rejects(s.create(`${root}/y`, 'y'), { code: 'COORD_ERROR' });
    await t.rejects(s.incrementCounter(`${root}/n`), { code: 'COORD_ERROR' });
    t.ok(Date.now() - started < 5_000, 'fails fast (not after a connect timeout of 15 s)');
    await waitFor('ephemeral gone with the session', async () => !(await observer.exists(eph)), { timeoutMs: WAIT_MS });

    await observer.create(`${root}/while-away`, '');
    await s.reconnect();
    t.same(events, ['disconnected', 'expired', 'connected:true']);
    t.not(s.sessionId, oldSession, 'a new session');
    t.equal(await s.exists(`${root}/while-away`), true, 'calls work again');
    await kids.waitFor('watch re-armed in the new session', (c) => c.includes('while-away') && !c.includes('eph'));
    await observer.create(`${root}/after`, '');
    await kids.waitFor('and keeps firing', (c) => c.includes('after'));
  });

  t.test('registers with startup=true, deletes on stop', async (t) => {
    const root = uniqueRoot('register');
    const s = await backend.connect(t, root);
    const ep = '127.0.0.1:9701';
    const r = registrar(t, s, ep);
    const events: TabletRegistration[] = [];
    r.on('registered', (reg) => events.push(reg));
    await r.start();
    t.ok(r.registered);
    t.equal(r.path, zkLayout(root).node(ep));
    const node = await s.get(r.path);
    t.equal(node?.ephemeralOwner, s.sessionId, 'ephemeral, owned by this session');
    const value = parseRegistration(node?.data);
    t.equal(value?.endpoint, ep);
    t.equal(value?.startup, true);
    t.ok(typeof value?.startMs === 'number' && value.startMs <= Date.now() && value.startMs > Date.now() - 3_600_000);
    t.same(events, [value]);
    await r.stop();
    t.equal(await s.exists(r.path), false, 'stop() deletes the node');
    t.notOk(r.registered);
  });

  t.test('re-registers (startup=false) after its node is deleted and after disconnect/reconnect', async (t) => {
    const root = uniqueRoot('reregister');
    const s = await backend.connect(t, root);
    const observer = await backend.connect(t, root);
    const ep = '127.0.0.1:9702';
    const seen = observeRegistration(observer, ep);
    const r = registrar(t, s, ep);
    await r.start();
    await seen.waitFor('first registration', (v) => v?.startup === true);

    await observer.delete(r.path);
    await seen.waitFor('registered again after deletion', (v) => v?.startup === false);
    t.equal((await observer.get(r.path))?.ephemeralOwner, s.sessionId);

    const before = s.sessionId;
    await s.disconnect();
    await seen.waitFor('gone with the session', (v) => v === undefined);
    t.notOk(r.registered);
    await s.reconnect();
    await seen.waitFor('back in the new session', (v) => v?.startup === false);
    t.not(s.sessionId, before);
    await waitFor('registered flag', () => r.registered, { timeoutMs: WAIT_MS });
    t.equal((await observer.get(r.path))?.ephemeralOwner, s.sessionId);
  });

  t.test('a node left by a dead session of the same endpoint is replaced at once (OpenMLDB #2439)', async (t) => {
    const root = uniqueRoot('issue-2439');
    const layout = zkLayout(root);
    const ep = '127.0.0.1:9705';
    // The "previous process": its session is still alive on the server, with a long timeout.
    const previous = await backend.connect(t, root, 30_000);
    await previous.ensurePath(layout.nodes);
    await previous.create(layout.node(ep), { endpoint: ep, startMs: 1, startup: true }, { ephemeral: true });

    const s = await backend.connect(t, root);
    const r = registrar(t, s, ep);
    const started = Date.now();
    await r.start();
    t.comment(`registered ${Date.now() - started} ms after start despite the leftover node`);
    const node = await s.get(layout.node(ep));
    t.equal(node?.ephemeralOwner, s.sessionId, 'the node now belongs to the new session');
    t.equal(parseRegistration(node?.data)?.startup, true, 'still the first registration of this process');
    t.not(parseRegistration(node?.data)?.startMs, 1);
  });

  t.test('a node of this endpoint holding something else is waited for, not deleted', async (t) => {
    const ep = '127.0.0.1:9706';
    const { root, layout, other } = await heldByOther(t, 'foreign', ep, 'not a registration');

    const s = await backend.connect(t, root);
    const r = registrar(t, s, ep);
    const registered = nextEvent<[TabletRegistration]>(r, 'registered');
    const starting = r.start();
    t.equal((await s.get(layout.node(ep)))?.data.toString(), 'not a registration');
    t.notOk(r.registered);
    await other.close();
    const [reg] = await registered;
    await starting;
    t.equal(reg.endpoint, ep);
    t.equal((await s.get(layout.node(ep)))?.ephemeralOwner, s.sessionId);
  });

  t.test('start() gives up within its bound and leaves nothing running', async (t) => {
    const ep = '127.0.0.1:9707';
    const { root, layout, other } = await heldByOther(t, 'start-timeout', ep, 'held');
    const s = await backend.connect(t, root);
    const r = new TabletRegistrar(s, layout, ep, { logger: testLogger, startTimeoutMs: 300 });
    await t.rejects(r.start(), { code: 'COORD_ERROR' });
    await other.close();
    await waitFor('node gone', async () => !(await s.exists(layout.node(ep))), { timeoutMs: WAIT_MS });
    t.equal(s.listenerCount('connected'), 0, 'no listeners left on the session');
    t.equal(await s.exists(layout.node(ep)), false, 'nothing registers after a failed start');
  });

  t.test('three candidates: one leader; closing it makes the next one lead', async (t) => {
    const root = uniqueRoot('election');
    const cs: Candidate[] = [];
    for (const ep of ['127.0.0.1:9631', '127.0.0.1:9632', '127.0.0.1:9633']) {
      cs.push(await candidate(t, await backend.connect(t, root), ep));
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

  t.test('disconnect()/reconnect() of the leader hands leadership over and rejoins', async (t) => {
    const root = uniqueRoot('disconnectzk');
    const a = await candidate(t, await backend.connect(t, root), '127.0.0.1:9651');
    const b = await candidate(t, await backend.connect(t, root), '127.0.0.1:9652');
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
    const root = uniqueRoot('leftover');
    const layout = zkLayout(root);
    const old = await backend.connect(t, root, 30_000);
    await old.ensurePath(layout.leaderDir);
    const stale = await old.create(layout.leaderLockPrefix, '127.0.0.1:9661', { ephemeral: true, sequential: true });
    const other = await candidate(t, await backend.connect(t, root), '127.0.0.1:9662');
    t.equal(other.events.at(-1), 'standby:127.0.0.1:9661', 'the stale node looks like the leader to others');

    const started = Date.now();
    const restarted = await candidate(t, await backend.connect(t, root), '127.0.0.1:9661');
    t.comment(`restarted candidate decided in ${Date.now() - started} ms`);
    t.equal(await old.exists(stale), false, 'the stale node was deleted');
    await waitFor('other leads', () => other.election.isLeader, { timeoutMs: WAIT_MS });
    t.equal(restarted.events.at(-1), `standby:${other.endpoint}`);
  });
}
