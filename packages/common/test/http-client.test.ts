/**
 * HttpClient against a real server on 127.0.0.1 (createHttpServer): decoded answers, catalogue
 * errors rebuilt from their wire form, extra headers, and transport failures as UNAVAILABLE /
 * TIMEOUT (both retryable).
 */
import t from 'tap';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { Pool as IndexPool } from 'undici';
import { createHttpServer, createLogger, encode, encodeWithBinary, HttpClient, TesseraError } from '../src/index.js';

t.test('HttpClient: answers, refusals and transport failures', async (t) => {
  const app = createHttpServer({ logger: createLogger('http-client-test', 'error') });
  app.post('/echo', async (req) => ({ got: req.body, header: req.headers['x-tessera'] ?? null }));
  app.post('/refuse', async () => {
    throw new TesseraError('NOT_LEADER', 'not the leader here', { leader: 'x:1' });
  });
  app.post('/slow', async () => new Promise((resolve) => setTimeout(() => resolve({ late: true }), 1500)));
  app.post('/big', async () => ({ blob: Buffer.alloc(512 * 1024, 7) }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  const ep = `127.0.0.1:${port}`;
  const http = new HttpClient({ connectionsPerEndpoint: 2, timeoutMs: 5_000 });
  t.teardown(async () => {
    await http.close();
    await app.close();
  });

  t.same(await http.call(ep, '/echo', { a: 1, s: 'x' }), { got: { a: 1, s: 'x' }, header: null });
  t.same(await http.callRaw(ep, '/echo', encode([1, 2]), { headers: { 'x-tessera': 'h' } }), { got: [1, 2], header: 'h' });
  // A body in parts (encodeWithBinary) arrives as the one map, with its length declared.
  const blob = Buffer.alloc(300_000, 9);
  const parts = encodeWithBinary({ a: 1 }, 'blob', blob);
  const echoed = await http.callRaw<{ got: { a: number; blob: Buffer } }>(ep, '/echo', parts);
  t.equal(echoed.got.a, 1, 'parts: the fields');
  t.ok(Buffer.compare(echoed.got.blob, blob) === 0, 'parts: the binary, whole');
  const big = await http.call<{ blob: Buffer }>(ep, '/big', {});
  t.equal(big.blob.length, 512 * 1024, 'an answer in many chunks is put together');

  const refused = await http.call(ep, '/refuse', {}).catch((e: unknown) => e);
  t.ok(refused instanceof TesseraError);
  t.match(refused, { code: 'NOT_LEADER', details: { leader: 'x:1' } });
  t.match(await http.call(ep, '/nowhere', {}).catch((e: unknown) => e), { code: 'ROUTE_NOT_FOUND' });

  const slow = await http.call(ep, '/slow', {}, { timeoutMs: 200 }).catch((e: unknown) => e);
  t.match(slow, { code: 'TIMEOUT', retryable: true });

  // A port nobody listens on: take a free one and close it again.
  const free = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  t.match(await http.call(`127.0.0.1:${free}`, '/echo', {}).catch((e: unknown) => e), { code: 'UNAVAILABLE', retryable: true });

  // Several calls in flight on two sockets all get their own answers.
  const many = await Promise.all(Array.from({ length: 20 }, (_, i) => http.call<{ got: number }>(ep, '/echo', i)));
  t.same(many.map((r) => r.got), Array.from({ length: 20 }, (_, i) => i));

  await http.close();
  t.match(await http.call(ep, '/echo', {}).catch((e: unknown) => e), { code: 'UNAVAILABLE' }, 'a closed client refuses');
});

t.test("the Pool http-client.ts loads from undici's own module is the index's Pool", async (t) => {
  t.equal(createRequire(import.meta.url)('undici/lib/dispatcher/pool.js'), IndexPool);
});
