// readJsonMany (src/read-many.ts): many nodes read with a window of requests in flight, answered in
// the order asked, a missing node as undefined, never more than the window at once. In process, on
// the in-memory backend (held to the same conformance suite as ZooKeeper).
import t from 'tap';
import { COORD_LIMITS, MemoryCoordServer, readJsonMany, type Coord } from '../src/index.js';

t.test('reads in order, gaps as undefined, at most the window in flight', async (t) => {
  const server = new MemoryCoordServer();
  const s = await server.connect({ rootPath: '/rm' });
  t.teardown(() => s.close());
  const n = COORD_LIMITS.readsInFlightMax * 3 + 5;
  await s.ensurePath('/rm/t');
  for (let i = 0; i < n; i++) if (i % 7 !== 3) await s.create(`/rm/t/${i}`, { i });
  let inFlight = 0;
  let inFlightMax = 0;
  const counting = new Proxy(s, {
    get(target, prop, receiver) {
      if (prop !== 'getJson') return Reflect.get(target, prop, receiver);
      return async (path: string) => {
        inFlightMax = Math.max(inFlightMax, ++inFlight);
        try {
          await new Promise((resolve) => setImmediate(resolve));
          return await target.getJson(path);
        } finally {
          inFlight--;
        }
      };
    },
  }) as Coord;
  const paths = Array.from({ length: n }, (_, i) => `/rm/t/${i}`);
  const got = await readJsonMany<{ i: number }>(counting, paths);
  t.equal(got.length, n);
  for (let i = 0; i < n; i++) {
    if (i % 7 === 3) t.equal(got[i], undefined, `node ${i} is gone: undefined`);
    else t.equal(got[i]?.value.i, i, `node ${i} in its place`);
  }
  t.equal(inFlightMax, COORD_LIMITS.readsInFlightMax, `${inFlightMax} reads in flight at most`);
  t.same(await readJsonMany(s, []), [], 'no paths, no reads');
});
