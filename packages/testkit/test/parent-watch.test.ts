// A role process or a ZooKeeper spawned by the test kit exits by itself when the process that
// spawned it dies without stopping it (a test runner killed by a timeout, whose exit hooks do not
// run), so nothing outlives its test run.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { waitFor } from '@tessera/common';
import { pidAlive, removeDir, tempDir } from '../src/index.js';

const ROLES_JS = pathToFileURL(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/roles.js')).href;
const ZOOKEEPER_JS = pathToFileURL(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/zookeeper.js')).href;

/**
 * Runs `script(dir)` as a stand-in test runner, which starts something and prints `<label> <pid>`,
 * then SIGKILLs the runner (no exit hook runs) and waits, bounded, for that pid to be gone.
 */
async function outlivesNoParent(t: Test, label: string, script: (dir: string) => string): Promise<void> {
  const dir = tempDir(`parent-watch-${label}`);
  let pid = 0;
  t.teardown(() => {
    if (pid && pidAlive(pid)) process.kill(pid, 'SIGKILL');
    removeDir(dir);
  });
  const runner = spawn(process.execPath, ['--input-type=module', '-e', script(dir)], { stdio: ['ignore', 'pipe', 'inherit'] });
  pid = await new Promise<number>((resolve, reject) => {
    let out = '';
    runner.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = new RegExp(`${label} (\\d+)`).exec(out);
      if (m) resolve(Number(m[1]));
    });
    runner.once('exit', (code) => reject(new Error(`runner exited (${code}) before printing ${label}`)));
  });
  t.ok(pidAlive(pid), `${label} ${pid} running`);
  runner.kill('SIGKILL');
  await waitFor(`the orphaned ${label} is gone`, async () => !pidAlive(pid), { timeoutMs: 20_000, intervalMs: 100 });
  t.pass(`${label} ended after the process that started it was killed`);
}

t.test('a role outlives no parent', (t) => outlivesNoParent(t, 'role', (dir) => `
    const { spawnRole } = await import(${JSON.stringify(ROLES_JS)});
    const r = await spawnRole('tablet', { db_root_path: ${JSON.stringify(path.join(dir, 'db'))}, zk_cluster: '' }, { logFile: ${JSON.stringify(path.join(dir, 't.log'))} });
    process.stdout.write('role ' + r.pid + '\\n');
    setInterval(() => {}, 1000);
  `));

t.test('a ZooKeeper outlives no parent', (t) => outlivesNoParent(t, 'zk', (dir) => `
    const { startZooKeeper } = await import(${JSON.stringify(ZOOKEEPER_JS)});
    const zk = await startZooKeeper({ dir: ${JSON.stringify(dir)} });
    process.stdout.write('zk ' + zk.pid + '\\n');
    setInterval(() => {}, 1000);
  `));
