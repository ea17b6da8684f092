// The logger and the metrics/health plumbing in process: pino JSON lines, the terminal format,
// levels and child names; GET /metrics in Prometheus text with per-route counters and latency
// (route patterns, `unmatched` for unknown paths), and /v1/health in JSON or msgpack by Accept.
import t from 'tap';
import { createHttpServer, createLogger, decode, MSGPACK_CONTENT_TYPE, logLineLevel, prettyLine, registerHealthRoute, ServerMetrics, silentLogger } from '../src/index.js';

t.test('logger: JSON lines with name and level; children; levels; terminal format', async (t) => {
  const out: string[] = [];
  const log = createLogger('tablet 127.0.0.1:9921', 'info', (l) => out.push(l));
  log.info('serving');
  log.debug('dropped');
  log.child('replicas').warn('slow disk');
  t.equal(out.length, 2);
  const [a, b] = out.map((l) => JSON.parse(l) as Record<string, unknown>);
  t.match(a, { level: 30, name: 'tablet 127.0.0.1:9921', msg: 'serving', pid: process.pid });
  t.match(b, { level: 40, name: 'tablet 127.0.0.1:9921.replicas', msg: 'slow disk' });
  t.equal(Object.keys(b!).filter((k) => k === 'name').length, 1, 'one name key');
  t.equal(log.debugEnabled, false);
  t.equal(createLogger('x', 'debug', () => undefined).debugEnabled, true);
  t.match(prettyLine(out[1]!), /^\d{4}-\d\d-\d\dT[\d:.]+Z WARN  \[tablet 127\.0\.0\.1:9921\.replicas\] slow disk\n$/);
  const pretty: string[] = [];
  createLogger('ns', 'info', { write: (l) => pretty.push(l), format: 'pretty' }).error('boom');
  t.match(pretty[0], /ERROR \[ns\] boom\n$/);
  // The level of a line in either format (what the benches count WARN/ERROR lines of role logs by).
  t.same(out.map(logLineLevel), [30, 40], 'JSON lines');
  t.same([prettyLine(out[0]!), prettyLine(out[1]!), pretty[0]!].map(logLineLevel), [30, 40, 50], 'terminal lines');
  t.same(['', '    at foo (x.js:1:1)', '{not json', '{"msg":"no level"}', 'WARN at the start'].map(logLineLevel), [undefined, undefined, undefined, undefined, undefined], 'anything else: no level');
});

t.test('/metrics and /v1/health', async (t) => {
  const metrics = new ServerMetrics('tablet');
  const app = createHttpServer({ logger: silentLogger, metrics });
  app.post('/v1/data/get/:id', async () => ({ ok: true }));
  registerHealthRoute(app, () => ({ ok: true, endpoint: '127.0.0.1:1' }));
  t.teardown(() => app.close());
  for (const id of ['a', 'b', 'c']) await app.inject({ method: 'POST', url: `/v1/data/get/${id}`, headers: { 'content-type': MSGPACK_CONTENT_TYPE }, payload: Buffer.from([0x80]) });
  await app.inject({ method: 'GET', url: '/nope' });

  const json = await app.inject({ method: 'GET', url: '/v1/health', headers: { accept: 'application/json' } });
  t.match(json.headers['content-type'], /^application\/json/);
  t.same(json.json(), { ok: true, endpoint: '127.0.0.1:1' });
  const packed = await app.inject({ method: 'GET', url: '/v1/health' });
  t.match(packed.headers['content-type'], /msgpack/);
  t.same(decode(packed.rawPayload), { ok: true, endpoint: '127.0.0.1:1' });

  const res = await app.inject({ method: 'GET', url: '/metrics' });
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  const text = res.body;
  t.match(text, /^tessera_http_requests_total\{method="POST",route="\/v1\/data\/get\/:id",code="200",role="tablet"\} 3$/m, 'one series per route pattern, not per URL');
  t.match(text, /^tessera_http_requests_total\{method="GET",route="unmatched",code="404",role="tablet"\} 1$/m);
  t.match(text, /^tessera_http_request_duration_seconds_count\{role="tablet",method="POST",route="\/v1\/data\/get\/:id"\} 3$/m);
  t.match(text, /^tessera_zk_session_connected\{role="tablet"\} -1$/m, 'no ZooKeeper');
  t.match(text, /^process_resident_memory_bytes\{role="tablet"\} \d+$/m);
  t.match(text, /^# TYPE nodejs_eventloop_lag_seconds gauge$/m);
});

t.test('the slow-request log: one WARN line with route, time and status, only on the watched paths', async (t) => {
  const lines: string[] = [];
  const app = createHttpServer({ logger: createLogger('tablet 127.0.0.1:1', 'info', (l) => lines.push(l)), slowRequests: { ms: 30, pathPrefixes: ['/v1/data/'] } });
  const slow = async (): Promise<{ ok: boolean }> => {
    await new Promise((r) => setTimeout(r, 45));
    return { ok: true };
  };
  app.post('/v1/data/put/:id', slow);
  app.post('/v1/data/get', async () => ({ ok: true }));
  app.post('/v1/control/checksum', slow);
  for (const url of ['/v1/data/put/7', '/v1/data/get', '/v1/control/checksum']) {
    const res = await app.inject({ method: 'POST', url, headers: { 'content-type': MSGPACK_CONTENT_TYPE }, payload: Buffer.from([0x80]) });
    t.equal(res.statusCode, 200, url);
  }
  t.equal(lines.length, 1, 'the slow data request only: not the fast one, not a slow path outside the prefixes');
  const line = JSON.parse(lines[0]!) as { level: number; msg: string; slowRequest: string; ms: number; status: number };
  t.match(line, { level: 40, slowRequest: '/v1/data/put/:id', status: 200 });
  t.ok(line.ms >= 30, `took ${line.ms} ms`);
  t.match(line.msg, /^slow request: POST \/v1\/data\/put\/7 200 took [\d.]+ ms \(slow from 30 ms\) from /);
  const off: string[] = [];
  const quiet = createHttpServer({ logger: createLogger('x', 'info', (l) => off.push(l)), slowRequests: { ms: 0, pathPrefixes: ['/v1/data/'] } });
  quiet.post('/v1/data/put/:id', slow);
  await quiet.inject({ method: 'POST', url: '/v1/data/put/1', headers: { 'content-type': MSGPACK_CONTENT_TYPE }, payload: Buffer.from([0x80]) });
  t.same(off, [], '0 ms: off');
});
