/** roleLogWarnings (bench-cluster.ts): the WARN/ERROR lines the benches count in role logs, in both formats a role writes. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { createLogger } from '@tessera/common';
import { roleLogWarnings, slowRequestLines, summarizeSlowRequests } from '../src/bench-cluster.js';

t.test('JSON and terminal lines of WARN and above are counted, shown in the terminal format', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'role-logs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const json: string[] = [];
  const log = createLogger('tablet 127.0.0.1:1', 'debug', (l) => json.push(l));
  log.debug('a request');
  log.info('serving');
  log.warn('slow disk');
  log.error('append failed');
  writeFileSync(path.join(dir, 't1.log'), `${json.join('')}    at a stack line (x.js:1:1)\n`);
  const pretty: string[] = [];
  const p = createLogger('ns', 'info', { write: (l) => pretty.push(l), format: 'pretty' });
  p.info('leader');
  p.warn('tablet offline');
  writeFileSync(path.join(dir, 'ns.log'), pretty.join(''));
  const got = roleLogWarnings(dir, ['ns', 't1', 't2']);
  t.same(got.map((w) => w.file), ['ns', 't1', 't1'], 'two in the JSON log, one in the terminal log, none in a missing log');
  t.match(got[1]!.line, /^\S+ WARN  \[tablet 127\.0\.0\.1:1\] slow disk$/);
  t.match(got[2]!.line, /^\S+ ERROR \[tablet 127\.0\.0\.1:1\] append failed$/);
  t.match(got[0]!.line, /WARN  \[ns\] tablet offline$/);
});

t.test('slow-request lines: read from JSON logs by time window, summed by tablet and route', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'role-logs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const line = (time: number, route: string, ms: number): string => JSON.stringify({ level: 40, time, name: 'tablet', msg: `slow request: POST ${route} 200 took ${ms} ms (slow from 20 ms) from 127.0.0.1`, slowRequest: route, ms, status: 200 });
  writeFileSync(path.join(dir, 't1.log'), [
    line(1000, '/v1/data/put_batch', 25), line(2000, '/v1/data/put_batch', 61.5), line(2500, '/v1/data/put_batch', 30), line(9000, '/v1/data/put_batch', 99),
    JSON.stringify({ level: 40, time: 2000, msg: 'something else slow' }), 'not json', '{"level":40,"time":2600,"msg":"slow request: POST /v1/data/put',
  ].join('\n'));
  writeFileSync(path.join(dir, 't2.log'), [line(2100, '/v1/replica/append', 22), line(2200, '/v1/replica/append_multi', 40)].join('\n'));
  const got = slowRequestLines(dir, ['t1', 't2', 't3'], 1500, 8000);
  t.equal(roleLogWarnings(dir, ['t1', 't2']).length, 7, 'as WARN lines: the six slow-request lines and the other WARN');
  t.same(roleLogWarnings(dir, ['t1', 't2'], { slowRequests: false }).map((w) => w.line.replace(/^\S+ /, '')), ['WARN  [] something else slow'], 'without the slow-request lines: the other WARN (the line cut short has no level)');
  t.same(got.map((l) => [l.file, l.route, l.ms]), [['t1', '/v1/data/put_batch', 61.5], ['t1', '/v1/data/put_batch', 30], ['t2', '/v1/replica/append', 22], ['t2', '/v1/replica/append_multi', 40]], 'only lines inside the window, only slow-request lines');
  t.same(summarizeSlowRequests(got), [
    { file: 't1', route: '/v1/data/put_batch', count: 2, maxMs: 61.5 },
    { file: 't2', route: '/v1/replica/append', count: 1, maxMs: 22 },
    { file: 't2', route: '/v1/replica/append_multi', count: 1, maxMs: 40 },
  ]);
});
