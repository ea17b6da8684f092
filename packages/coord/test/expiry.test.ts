import t from 'tap';
import { waitFor } from '@tessera/common';
import { startZooKeeper } from '@tessera/testkit';
import { CoordSession } from '../src/index.js';
import { TcpProxy } from './proxy.js';
import { Recorder, WAIT_MS, observeRegistration, parseRegistration, registrar, connect, nextEvent, startZk, testLogger, uniqueRoot } from './helpers.js';

// Session expiry, forced two ways: the client cut off by a proxy while the server runs (the server
// expires the session for sure), and the server itself paused with SIGSTOP past the timeout.

const zkPromise = startZk(t);

t.test('session expiry (client cut off longer than the timeout) re-creates the registration', async (t) => {
  const zk = await zkPromise;
  const root = uniqueRoot('expiry');
  const proxy = await TcpProxy.start(zk.port);
  t.teardown(() => proxy.close());
  const s = await CoordSession.connect({ zkCluster: proxy.connectString, rootPath: root, sessionTimeoutMs: 2_000, logger: testLogger });
  t.teardown(() => s.close());
  const observer = await connect(t, zk, root);
  const ep = '127.0.0.1:9703';
  const seen = observeRegistration(observer, ep);
  const r = registrar(t, s, ep);
  await r.start();
  await seen.waitFor('registered', (v) => v?.startup === true);
  const kids = new Recorder<string[]>();
  s.watchChildren(root, kids.push);
  await kids.waitFor('initial children', (c) => c.includes('nodes'));

  const events: string[] = [];
  s.on('disconnected', () => events.push('disconnected'));
  s.on('expired', () => events.push('expired'));
  s.on('connected', ({ newSession }) => events.push(`connected:${newSession}`));
  const oldSession = s.sessionId;
  const disconnected = nextEvent(s, 'disconnected');
  proxy.partition();
  await disconnected;
  const started = Date.now();
  await seen.waitFor('the server expired the session', (v) => v === undefined);
  t.comment(`server removed the registration ${Date.now() - started} ms after the client noticed the cut`);
  const reconnected = nextEvent(s, 'connected');
  proxy.heal();
  await reconnected;
  t.same(events, ['disconnected', 'expired', 'connected:true']);
  t.not(s.sessionId, oldSession);
  await seen.waitFor('registration re-created', (v) => v?.startup === false);
  t.equal((await observer.get(r.path))?.ephemeralOwner, s.sessionId);
  await observer.create(`${root}/after-expiry`, '');
  await kids.waitFor('watches work in the new session', (c) => c.includes('after-expiry'));
});

t.test('ZooKeeper paused (SIGSTOP) longer than the session timeout, then resumed', async (t) => {
  const zk = await startZooKeeper();
  t.teardown(() => zk.stop());
  const root = uniqueRoot('sigstop');
  const s = await connect(t, zk, root, 2_000);
  const ep = '127.0.0.1:9704';
  const r = registrar(t, s, ep);
  await r.start();
  const data = new Recorder<Buffer | undefined>();
  s.watchData(`${root}/v`, data.push);
  await data.waitFor('initial', (v) => v === undefined);
  const oldSession = s.sessionId;
  let expired = false;
  s.on('expired', () => {
    expired = true;
  });

  const disconnected = nextEvent(s, 'disconnected');
  zk.kill('SIGSTOP');
  let resumed = false;
  t.teardown(() => {
    if (!resumed) zk.kill('SIGCONT');
  });
  await disconnected;
  // Keep it paused for well over the session timeout, measured from the moment the client noticed.
  await new Promise((resolve) => setTimeout(resolve, 3 * 2_000));
  zk.kill('SIGCONT');
  resumed = true;

  await waitFor('connected again', () => s.isConnected, { timeoutMs: WAIT_MS });
  await waitFor('registered in the current session', async () => {
    const node = await s.get(r.path);
    return node !== undefined && node.ephemeralOwner === s.sessionId && r.registered;
  }, { timeoutMs: WAIT_MS });
  t.comment(expired ? `session ${oldSession} expired; now ${s.sessionId}` : `session ${oldSession} survived the pause`);
  t.equal(expired, s.sessionId !== oldSession, 'a new session exactly when the old one expired');
  if (expired) t.equal(parseRegistration((await s.get(r.path))?.data)?.startup, false);
  await s.create(`${root}/v`, 'after');
  await data.waitFor('watch fires after the pause', (v) => v?.toString() === 'after');
});
