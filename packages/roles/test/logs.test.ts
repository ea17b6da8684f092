// Logs and --version on real processes: a standalone tablet with --log_file writes pino JSON
// lines (request lines at debug, none at info); after the file is moved (as logrotate does),
// SIGHUP makes it write a new file at the same path while the moved one keeps the old lines;
// `scripts/tessera --version` and `--role=... --version` print the package version.
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '@tessera/common';
import { MAIN_JS, REPO_ROOT, spawnRole, tempDir, removeDir } from '@tessera/testkit';

const run = promisify(execFile);

interface LogLine {
  level: number;
  time: number;
  pid: number;
  name: string;
  msg: string;
}

function lines(file: string): LogLine[] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as LogLine);
}

t.test('JSON lines to --log_file, reopened on SIGHUP after logrotate moved the file', async (t) => {
  const dir = tempDir('logs');
  t.teardown(() => (t.passing() ? removeDir(dir) : t.comment(`kept ${dir}`)));
  const logFile = path.join(dir, 'tablet.log');
  const tablet = await spawnRole('tablet', { zk_cluster: '', db_root_path: path.join(dir, 'db'), log_file: logFile, log_level: 'debug' }, { logFile: path.join(dir, 'stdout.log') });
  t.teardown(() => tablet.stop());
  const health = async (): Promise<void> => {
    await (await fetch(`http://${tablet.endpoint}/v1/health`)).arrayBuffer();
  };
  await health();
  await waitFor('a request line', async () => lines(logFile).some((l) => l.msg.startsWith('GET /v1/health 200')), { timeoutMs: 10_000, intervalMs: 50 });
  const first = lines(logFile);
  t.ok(first.every((l) => typeof l.time === 'number' && l.pid === tablet.pid && l.name.startsWith(`tablet ${tablet.endpoint}`)), 'every line is a JSON object with time, pid and name');
  t.ok(first.some((l) => l.level === 30 && /serving/.test(l.msg)), 'the start line at info (30)');
  t.ok(first.some((l) => l.level === 20 && /^GET \/v1\/health 200 [\d.]+ ms from 127\.0\.0\.1$/.test(l.msg)), 'request lines at debug (20)');
  t.equal(readFileSync(path.join(dir, 'stdout.log'), 'utf8'), '', 'nothing on stdout');

  renameSync(logFile, `${logFile}.1`);
  await health();
  t.notOk(existsSync(logFile), 'until SIGHUP the process writes on in the moved file');
  tablet.kill('SIGHUP');
  await waitFor('a new log file', async () => existsSync(logFile) && lines(logFile).some((l) => /SIGHUP/.test(l.msg)), { timeoutMs: 10_000, intervalMs: 50 });
  await health();
  await waitFor('the request in the new file', async () => lines(logFile).some((l) => l.msg.startsWith('GET /v1/health')), { timeoutMs: 10_000, intervalMs: 50 });
  const moved = lines(`${logFile}.1`);
  // spawnRole's readiness probe asks /v1/health too: the moved file holds at least our two.
  t.ok(moved.filter((l) => l.msg.startsWith('GET /v1/health')).length >= 2, 'the moved file holds the requests before SIGHUP');
  t.equal(lines(logFile).filter((l) => l.msg.startsWith('GET /v1/health')).length, 1, 'the new file only the one after it');
  t.ok(tablet.alive(), 'SIGHUP does not stop the process');
  await tablet.stop();
  t.match(lines(logFile).at(-1)?.msg, /databases closed/, 'the shutdown is logged in the new file');
});

t.test('info level leaves requests out', async (t) => {
  const dir = tempDir('logs-info');
  t.teardown(() => removeDir(dir));
  const logFile = path.join(dir, 'tablet.log');
  const tablet = await spawnRole('tablet', { zk_cluster: '', db_root_path: path.join(dir, 'db'), log_file: logFile }, { logFile: path.join(dir, 'stdout.log') });
  await (await fetch(`http://${tablet.endpoint}/v1/health`)).arrayBuffer();
  await tablet.stop();
  const all = lines(logFile);
  t.ok(all.length >= 2);
  t.notOk(all.some((l) => l.level < 30), 'no debug lines');
});

t.test('--version', async (t) => {
  const version = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'packages/roles/package.json'), 'utf8')) as { version: string }).version;
  t.equal((JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version, version, 'the root package and @tessera/roles carry the same version');
  const a = await run(path.join(REPO_ROOT, 'scripts/tessera'), ['--version']);
  t.equal(a.stdout, `tessera ${version}\n`);
  for (const role of ['tablet', 'nameserver', 'ns_client']) {
    const b = await run(process.execPath, [MAIN_JS, `--role=${role}`, '--version']);
    t.equal(b.stdout, `tessera ${version}\n`, role);
  }
});
