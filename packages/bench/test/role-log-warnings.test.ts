/** roleLogWarnings (bench-cluster.ts): the WARN/ERROR lines the benches count in role logs, in both formats a role writes. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { createLogger } from '@tessera/common';
import { roleLogWarnings } from '../src/bench-cluster.js';

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
