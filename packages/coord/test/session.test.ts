import t from 'tap';
import { CoordSession } from '../src/index.js';
import { Recorder, connect, nextEvent, startZk, testLogger, uniqueRoot } from './helpers.js';

const zkPromise = startZk(t);

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
