// The coordination conformance suite on the in-memory backend, plus what only it offers (expire()).
import t, { type Test } from 'tap';
import { waitFor, type TabletRegistration } from '@tessera/common';
import { MemoryCoordServer, TabletRegistrar, type Coord } from '../src/index.js';
import { coordConformance } from './conformance.js';
import { Recorder, WAIT_MS, testLogger, uniqueRoot } from './helpers.js';

const server = new MemoryCoordServer();
const backend = {
  name: 'memory',
  async connect(t: Test, rootPath: string, sessionTimeoutMs = 4_000): Promise<Coord> {
    const s = await server.connect({ rootPath, sessionTimeoutMs, logger: testLogger });
    t.teardown(() => s.close());
    return s;
  },
};

t.test('conformance: memory', async (t) => coordConformance(t, backend));

t.test('expire() ends the session: ephemeral nodes go, a new session re-registers', async (t) => {
  const root = uniqueRoot('mem-expire');
  const s = await server.connect({ rootPath: root, logger: testLogger });
  const observer = await server.connect({ rootPath: root, logger: testLogger });
  t.teardown(() => Promise.all([s.close(), observer.close()]));
  const r = new TabletRegistrar(s, s.layout, '127.0.0.1:9801', { logger: testLogger });
  t.teardown(() => r.stop());
  const seen = new Recorder<TabletRegistration | undefined>();
  observer.watchData(s.layout.node('127.0.0.1:9801'), (v) => seen.push(v === undefined ? undefined : (JSON.parse(v.toString()) as TabletRegistration)));
  await r.start();
  await seen.waitFor('registered', (v) => v?.startup === true);
  const events: string[] = [];
  s.on('disconnected', () => events.push('disconnected'));
  s.on('expired', () => events.push('expired'));
  s.on('connected', ({ newSession }) => events.push(`connected:${newSession}`));
  const before = s.sessionId;
  server.expire(s);
  await seen.waitFor('registered again in the new session', (v) => v?.startup === false);
  t.same(events, ['disconnected', 'expired', 'connected:true']);
  t.not(s.sessionId, before);
  await waitFor('registered flag', () => r.registered, { timeoutMs: WAIT_MS });
});
