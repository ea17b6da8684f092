// A role process or a ZooKeeper spawned by the test kit exits by itself when the process that
// spawned it dies without stopping it (a test runner killed by a timeout, whose exit hooks do not
// run), so nothing outlives its test run.
import t from 'tap';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { waitFor } from '@tessera/common';
import { pidAlive, removeDir, tempDir } from '../src/index.js';

const ROLES_JS = pathToFileURL(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/roles.js')).href;
const ZOOKEEPER_JS = pathToFileURL(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/zookeeper.js')).href;

/** Runs `script` as a stand-in test runner and resolves the pid it prints after `label`. */
async function runner(script: string, label: string): Promise<{ runner: ReturnType<typeof spawn>; pid: number }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = new RegExp(`${label} (\\d+)`).exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`runner exited (${code}) before printing ${label}`)));
  });
  return { runner: child, pid };
}

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
  const started = await runner(script, 'role');
  rolePid = started.pid;
  t.ok(pidAlive(rolePid), `role ${rolePid} running`);
  started.runner.kill('SIGKILL');
  await waitFor('the orphaned role exits', async () => !pidAlive(rolePid), { timeoutMs: 20_000, intervalMs: 100 });
  t.pass('the role exited after its parent was killed');
});

t.test('a ZooKeeper outlives no parent', async (t) => {
  const dir = tempDir('parent-watch-zk');
  let zkPid = 0;
  t.teardown(() => {
    if (zkPid && pidAlive(zkPid)) process.kill(zkPid, 'SIGKILL');
    removeDir(dir);
  });
  // A stand-in for a test runner that starts ZooKeeper and is then SIGKILLed (no exit hook runs).
  const script = `
    const { startZooKeeper } = await import(${JSON.stringify(ZOOKEEPER_JS)});
    const zk = await startZooKeeper({ dir: ${JSON.stringify(dir)} });
    process.stdout.write('zk ' + zk.pid + '\\n');
    setInterval(() => {}, 1000);
  `;
  const started = await runner(script, 'zk');
  zkPid = started.pid;
  t.ok(pidAlive(zkPid), `java ${zkPid} running`);
  started.runner.kill('SIGKILL');
  await waitFor('the orphaned ZooKeeper is killed', async () => !pidAlive(zkPid), { timeoutMs: 20_000, intervalMs: 100 });
  t.pass('ZooKeeper was killed after its test process was');
});
