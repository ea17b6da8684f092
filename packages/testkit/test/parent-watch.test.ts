// A role process spawned by the test kit exits by itself when the process that spawned it dies
// without stopping it (a test runner killed by a timeout), so no role outlives its test run.
import t from 'tap';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { waitFor } from '@tessera/common';
import { pidAlive, removeDir, tempDir } from '../src/index.js';

const ROLES_JS = pathToFileURL(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/roles.js')).href;

t.test('a role outlives no parent', async (t) => {
  const dir = tempDir('parent-watch');
  let rolePid = 0;
  t.teardown(() => {
    if (rolePid && pidAlive(rolePid)) process.kill(rolePid, 'SIGKILL');
    removeDir(dir);
  });
  // A stand-in for a test runner: spawns a standalone tablet, prints its pid, then idles.
  const script = `
    const { spawnRole } = await import(${JSON.stringify(ROLES_JS)});
    const r = await spawnRole('tablet', { db_root_path: ${JSON.stringify(path.join(dir, 'db'))}, zk_cluster: '' }, { logFile: ${JSON.stringify(path.join(dir, 't.log'))} });
    process.stdout.write('role ' + r.pid + '\\n');
    setInterval(() => {}, 1000);
  `;
  const runner = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  rolePid = await new Promise<number>((resolve, reject) => {
    let out = '';
    runner.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /role (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    runner.once('exit', (code) => reject(new Error(`runner exited (${code}) before starting the role`)));
  });
  t.ok(pidAlive(rolePid), `role ${rolePid} running`);
  runner.kill('SIGKILL');
  await waitFor('the orphaned role exits', async () => !pidAlive(rolePid), { timeoutMs: 20_000, intervalMs: 100 });
  t.pass('the role exited after its parent was killed');
});
