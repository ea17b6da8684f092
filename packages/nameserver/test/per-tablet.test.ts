// The leader's per-tablet memory (src/server/per-tablet.ts) over a TabletTracker on the in-memory
// coordination backend: what was kept for a tablet is forgotten when it goes down and when it
// comes up again.
import t from 'tap';
import { createLogger, waitFor } from '@tessera/common';
import { MemoryCoordServer } from '@tessera/coord';
import { PerTablet } from '../src/server/per-tablet.js';
import { TabletTracker } from '../src/server/tablets.js';

const ROOT = '/tessera';

t.test('kept per tablet until it goes down or comes up again', async (t) => {
  const coord = new MemoryCoordServer();
  const ns = await coord.connect({ rootPath: ROOT });
  const tablets = new TabletTracker(ns, ns.layout, createLogger('per-tablet', 'silent'), { nowMs: () => 1000 });
  const kept = new PerTablet<string>(tablets);
  await tablets.start();
  t.teardown(async () => {
    tablets.stop();
    await ns.close();
  });
  const register = async (startMs: number): Promise<Awaited<ReturnType<MemoryCoordServer['connect']>>> => {
    const session = await coord.connect({ rootPath: ROOT });
    await session.create(session.layout.node('a:1'), JSON.stringify({ startMs }), { ephemeral: true });
    return session;
  };
  let a = await register(1);
  await waitFor('a is up', () => tablets.isHealthy('a:1'), { timeoutMs: 5_000 });
  t.equal(tablets.get('a:1')?.sinceMs, 1000, 'the state change is timed by the injected clock');
  kept.set('a:1', 'v1');
  t.equal(kept.get('a:1'), 'v1');
  await a.close();
  await waitFor('a is down', () => !tablets.isHealthy('a:1'), { timeoutMs: 5_000 });
  t.notOk(kept.has('a:1'), 'forgotten when the tablet went down');
  kept.set('a:1', 'set while down');
  a = await register(2);
  await waitFor('a is up again', () => tablets.isHealthy('a:1'), { timeoutMs: 5_000 });
  t.notOk(kept.has('a:1'), 'forgotten when the tablet came up');
  kept.set('a:1', 'v2');
  t.equal(kept.get('a:1'), 'v2', 'kept while the tablet stays up');
  kept.clear();
  t.notOk(kept.has('a:1'), 'clear forgets every tablet');
  await a.close();
});
