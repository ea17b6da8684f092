import t from 'tap';
import { TesseraError, waitFor } from '@tessera/common';
import { CoordSession, isCoordError } from '../src/index.js';
import { Recorder, WAIT_MS, connect, nextEvent, startZk, testLogger, uniqueRoot } from './helpers.js';

const zkPromise = startZk(t);

t.test('connect creates the root path; CRUD with JSON and bytes', async (t) => {
  const zk = await zkPromise;
  const root = uniqueRoot('crud');
  const s = await connect(t, zk, root);
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
  const zk = await zkPromise;
  const root = uniqueRoot('cas');
  const a = await connect(t, zk, root);
  const b = await connect(t, zk, root);
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
  const zk = await zkPromise;
  const root = uniqueRoot('counter');
  const sessions = await Promise.all([0, 1, 2].map(() => connect(t, zk, root)));
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

t.test('children and data watches fire and re-arm; stop() ends them', async (t) => {
  const zk = await zkPromise;
  const root = uniqueRoot('watch');
  const s = await connect(t, zk, root);
  const writer = await connect(t, zk, root);
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
  const zk = await zkPromise;
  const root = uniqueRoot('ephemeral');
  const owner = await connect(t, zk, root);
  const observer = await connect(t, zk, root);
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
  const zk = await zkPromise;
  const root = uniqueRoot('disconnect');
  const s = await connect(t, zk, root);
  const observer = await connect(t, zk, root);
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

t.test('ZooKeeper restart: the session reconnects and watches keep firing', async (t) => {
  const zk = await zkPromise;
  const root = uniqueRoot('restart');
  const s = await connect(t, zk, root, 20_000);
  const kids = new Recorder<string[]>();
  s.watchChildren(root, kids.push);
  const data = new Recorder<Buffer | undefined>();
  s.watchData(`${root}/v`, data.push);
  await kids.waitFor('initial', (c) => c.length === 0);
  await data.waitFor('initial', (v) => v === undefined);
  const sessionBefore = s.sessionId;

  const disconnected = nextEvent(s, 'disconnected');
  const connected = nextEvent<[{ sessionId: string; newSession: boolean }]>(s, 'connected');
  await zk.restart();
  await disconnected;
  const [info] = await connected;
  t.comment(`reconnected to the restarted server: session ${info.sessionId} new=${info.newSession}`);
  t.equal(info.newSession, false, 'the session survives a quick server restart');
  t.equal(s.sessionId, sessionBefore);

  await s.create(`${root}/x`, '');
  await kids.waitFor('children watch fires after restart', (c) => c.includes('x'));
  await s.create(`${root}/v`, 'one');
  await data.waitFor('data watch fires after restart', (v) => v?.toString() === 'one');
  await s.set(`${root}/v`, 'two');
  await data.waitFor('and again', (v) => v?.toString() === 'two');
});

t.test('connect to nothing fails with COORD_ERROR within the bound', async (t) => {
  const started = Date.now();
  await t.rejects(
    CoordSession.connect({ zkCluster: '127.0.0.1:1', rootPath: '/x', sessionTimeoutMs: 2_000, connectTimeoutMs: 500, logger: testLogger }),
    { code: 'COORD_ERROR' },
  );
  t.ok(Date.now() - started < 5_000);
  await t.rejects(CoordSession.connect({ zkCluster: '127.0.0.1:1', rootPath: 'x', sessionTimeoutMs: 2_000 }), { code: 'INVALID_ARGUMENT' });
});
