import t, { type Test } from 'tap';
import { waitFor, type TabletRegistration } from '@tessera/common';
import { CoordSession, TabletRegistrar, zkLayout } from '../src/index.js';
import { Recorder, WAIT_MS, connect, nextEvent, startZk, testLogger, uniqueRoot } from './helpers.js';

const zkPromise = startZk(t);

function registrar(t: Test, session: CoordSession, endpoint: string): TabletRegistrar {
  const r = new TabletRegistrar(session, session.layout, endpoint, { logger: testLogger });
  t.teardown(() => r.stop());
  return r;
}

function parse(value: Buffer | undefined): TabletRegistration | undefined {
  return value === undefined ? undefined : (JSON.parse(value.toString()) as TabletRegistration);
}

/** Watches /nodes/<endpoint> from another session and records what it holds. */
function observe(observer: CoordSession, endpoint: string): Recorder<TabletRegistration | undefined> {
  const seen = new Recorder<TabletRegistration | undefined>();
  observer.watchData(observer.layout.node(endpoint), (v) => seen.push(parse(v)));
  return seen;
}

t.test('registers with startup=true, deletes on stop', async (t) => {
  const zk = await zkPromise;
  const root = uniqueRoot('register');
  const s = await connect(t, zk, root);
  const ep = '127.0.0.1:9701';
  const r = registrar(t, s, ep);
  const events: TabletRegistration[] = [];
  r.on('registered', (reg) => events.push(reg));
  await r.start();
  t.ok(r.registered);
  t.equal(r.path, zkLayout(root).node(ep));
  const node = await s.get(r.path);
  t.equal(node?.ephemeralOwner, s.sessionId, 'ephemeral, owned by this session');
  const value = parse(node?.data);
  t.equal(value?.endpoint, ep);
  t.equal(value?.startup, true);
  t.ok(typeof value?.startMs === 'number' && value.startMs <= Date.now() && value.startMs > Date.now() - 3_600_000);
  t.same(events, [value]);
  await r.stop();
  t.equal(await s.exists(r.path), false, 'stop() deletes the node');
  t.notOk(r.registered);
});

t.test('re-registers (startup=false) after its node is deleted and after disconnect/reconnect', async (t) => {
  const zk = await zkPromise;
  const root = uniqueRoot('reregister');
  const s = await connect(t, zk, root);
  const observer = await connect(t, zk, root);
  const ep = '127.0.0.1:9702';
  const seen = observe(observer, ep);
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
  const zk = await zkPromise;
  const root = uniqueRoot('issue-2439');
  const layout = zkLayout(root);
  const ep = '127.0.0.1:9705';
  // The "previous process": its session is still alive on the server, with a long timeout.
  const previous = await connect(t, zk, root, 30_000);
  await previous.ensurePath(layout.nodes);
  await previous.create(layout.node(ep), { endpoint: ep, startMs: 1, startup: true }, { ephemeral: true });

  const s = await connect(t, zk, root);
  const r = registrar(t, s, ep);
  const started = Date.now();
  await r.start();
  t.comment(`registered ${Date.now() - started} ms after start despite the leftover node`);
  const node = await s.get(layout.node(ep));
  t.equal(node?.ephemeralOwner, s.sessionId, 'the node now belongs to the new session');
  t.equal(parse(node?.data)?.startup, true, 'still the first registration of this process');
  t.not(parse(node?.data)?.startMs, 1);
});

t.test('a node of this endpoint holding something else is waited for, not deleted', async (t) => {
  const zk = await zkPromise;
  const root = uniqueRoot('foreign');
  const layout = zkLayout(root);
  const ep = '127.0.0.1:9706';
  const other = await connect(t, zk, root, 30_000);
  await other.ensurePath(layout.nodes);
  await other.create(layout.node(ep), 'not a registration', { ephemeral: true });

  const s = await connect(t, zk, root);
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
  const zk = await zkPromise;
  const root = uniqueRoot('start-timeout');
  const layout = zkLayout(root);
  const ep = '127.0.0.1:9707';
  const other = await connect(t, zk, root, 30_000);
  await other.ensurePath(layout.nodes);
  await other.create(layout.node(ep), 'held', { ephemeral: true });
  const s = await connect(t, zk, root);
  const r = new TabletRegistrar(s, layout, ep, { logger: testLogger, startTimeoutMs: 300 });
  await t.rejects(r.start(), { code: 'COORD_ERROR' });
  await other.close();
  await waitFor('node gone', async () => !(await s.exists(layout.node(ep))), { timeoutMs: WAIT_MS });
  t.equal(s.listenerCount('connected'), 0, 'no listeners left on the session');
  t.equal(await s.exists(layout.node(ep)), false, 'nothing registers after a failed start');
});
