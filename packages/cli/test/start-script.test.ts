// scripts/start.sh runs a role in the background from a flagfile, as OpenMLDB's bin/start.sh:
// start returns once the endpoint answers, status reports it, stop waits for the exit.
import t from 'tap';
import { execFile } from 'node:child_process';
import { writeFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, pidAlive, tempDir, removeDir, REPO_ROOT } from '@tessera/testkit';

const run = promisify(execFile);
const START = path.join(REPO_ROOT, 'scripts/start.sh');

async function sh(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run('bash', [START, ...args], { timeout: 60_000 });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

t.test('start, status, stop a tablet from a flagfile', async (t) => {
  const dir = tempDir('startsh');
  const port = await freePort();
  const flagfile = path.join(dir, 'tablet.flags');
  writeFileSync(flagfile, `--endpoint=127.0.0.1:${port}\n--db_root_path=${dir}/db\n--zk_cluster=\n`);
  t.teardown(async () => {
    await sh('stop', 'tablet', flagfile);
    removeDir(dir);
  });
  const start = await sh('start', 'tablet', flagfile);
  t.equal(start.code, 0, start.out);
  t.match(start.out, /Start tablet success/);
  const pid = Number(readFileSync(path.join(dir, 'tablet.pid'), 'utf8'));
  t.ok(pid > 0, 'pid file written');
  const res = await fetch(`http://127.0.0.1:${port}/v1/health`);
  t.equal(res.status, 200, 'endpoint answers');
  await res.arrayBuffer();
  const again = await sh('start', 'tablet', flagfile);
  t.match(again.out, /already running/);
  const status = await sh('status', 'tablet', flagfile);
  t.equal(status.code, 0);
  t.match(status.out, new RegExp(`running \\(pid ${pid}`));
  const stop = await sh('stop', 'tablet', flagfile);
  t.equal(stop.code, 0);
  t.match(stop.out, /Stop tablet success/);
  t.notOk(pidAlive(pid), 'stop waited for the process to exit');
  t.notOk(existsSync(path.join(dir, 'tablet.pid')), 'pid file removed');
  t.match(readFileSync(path.join(dir, 'tablet.log'), 'utf8'), /databases closed/, 'clean shutdown logged');
  const after = await sh('status', 'tablet', flagfile);
  t.equal(after.code, 3);
  t.match(after.out, /not running/);
});

t.test('bad usage and bad flags', async (t) => {
  const dir = tempDir('startsh-bad');
  t.teardown(() => removeDir(dir));
  t.equal((await sh('launch', 'tablet')).code, 2);
  t.equal((await sh('start', 'database')).code, 2);
  const flagfile = path.join(dir, 'bad.flags');
  writeFileSync(flagfile, `--endpoint=127.0.0.1:${await freePort()}\n--no_such_flag=1\n`);
  const res = await sh('start', 'tablet', flagfile);
  t.equal(res.code, 1);
  t.match(res.out, /unknown command line flag 'no_such_flag'/);
});
