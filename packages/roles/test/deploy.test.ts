// Deployment without a docker engine (none here, so the image itself is not built): the
// Dockerfile's own `pnpm deploy --prod` step runs and its output is checked to carry no dev
// dependencies and to run a role; the image's HEALTHCHECK probe is run against that role
// (healthy while it runs, unhealthy once stopped); docker-compose.yml is validated with
// `docker-compose config` where docker-compose is installed (installed with apt-get as root where missing; skipped with a message where it cannot be).
import t from 'tap';
import path from 'node:path';
import { spawn, execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { waitFor } from '@tessera/common';
import { ensureDebianPackage, freePort, REPO_ROOT, removeDir, tempDir } from '@tessera/testkit';

const run = promisify(execFile);

async function probe(deployDir: string, pid: number): Promise<number> {
  try {
    await run(process.execPath, [path.join(deployDir, 'dist/src/container-probe.js'), String(pid)], { timeout: 10_000 });
    return 0;
  } catch (err) {
    return (err as { code?: number }).code ?? 1;
  }
}

t.test('the Dockerfile: non-root, health check, and a pnpm deploy --prod that runs a role', async (t) => {
  const dockerfile = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const final = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  t.match(final, /\nUSER tessera\n/, 'the final stage runs as the tessera user');
  t.match(final, /\nHEALTHCHECK .*container-probe\.js/, 'the final stage has a HEALTHCHECK');
  t.match(final, /COPY --from=build [^\n]*\/out /, 'the final stage carries only the deploy output');
  const deployCmd = /pnpm --filter @tessera\/roles deploy --prod \/out/.exec(dockerfile);
  t.ok(deployCmd, 'the build stage runs pnpm deploy --prod');

  const dir = tempDir('deploy');
  t.teardown(() => removeDir(dir));
  const out = path.join(dir, 'out');
  await run('pnpm', ['--filter', '@tessera/roles', 'deploy', '--prod', out], { cwd: REPO_ROOT, timeout: 180_000 });
  for (const dev of ['tap', 'typescript', 'puppeteer-core', '@tessera/testkit', '@tessera/chaos']) {
    t.notOk(existsSync(path.join(out, 'node_modules', dev)), `no ${dev} in the deployed tree`);
  }
  t.ok(existsSync(path.join(out, 'node_modules/@tessera/nameserver/static/status.html')), 'the status page ships');

  const endpoint = `127.0.0.1:${await freePort()}`;
  const child = spawn(process.execPath, [path.join(out, 'dist/src/main.js'), '--role=tablet', `--endpoint=${endpoint}`, `--db_root_path=${path.join(dir, 'db')}`, '--zk_cluster='], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  await waitFor('the deployed tablet answers the probe', async () => (await probe(out, child.pid!)) === 0, { timeoutMs: 30_000, intervalMs: 300 });
  t.pass(`the HEALTHCHECK probe finds the tablet (${endpoint}) by its command line and reports it healthy`);
  child.kill('SIGSTOP');
  t.equal(await probe(out, child.pid!), 1, 'a tablet that does not answer is reported unhealthy');
  child.kill('SIGCONT');
  child.kill('SIGTERM');
  await exited;
  t.equal(await probe(out, child.pid!), 1, 'no role process: unhealthy');
});

async function composeCommand(): Promise<string[] | undefined> {
  // Debian's docker-compose is installed where missing (as root), as the status page test does chromium.
  const installed = await ensureDebianPackage('docker-compose', ['/usr/bin/docker-compose']);
  if ('skip' in installed) console.log(`# ${installed.skip}`);
  for (const cmd of [['docker-compose'], ['docker', 'compose']]) {
    try {
      await run(cmd[0]!, [...cmd.slice(1), 'version'], { timeout: 20_000 });
      return cmd;
    } catch { /* next */ }
  }
  return undefined;
}

const compose = await composeCommand();

t.test('docker-compose config accepts docker-compose.yml: ports published, endpoints on the network, health checks', {
  skip: compose ? false : 'docker-compose is not installed (Debian: apt-get install docker-compose); docker-compose.yml not validated',
}, async (t) => {
  const { stdout } = await run(compose![0]!, [...compose!.slice(1), '-f', path.join(REPO_ROOT, 'docker-compose.yml'), 'config'], { cwd: REPO_ROOT, timeout: 60_000 });
  t.match(stdout, /127\.0\.0\.1:7181:2181/, 'ZooKeeper is published on 127.0.0.1:7181 (the README example\'s address)');
  const { stdout: json } = await run(compose![0]!, [...compose!.slice(1), '-f', path.join(REPO_ROOT, 'docker-compose.yml'), 'config', '--format', 'json'], { cwd: REPO_ROOT, timeout: 60_000 })
    .catch(() => ({ stdout: '' }));
  // docker-compose 1.x has no --format json: read the YAML's facts line by line instead.
  const services = json ? Object.keys(JSON.parse(json).services) : [...stdout.matchAll(/^  ([a-z0-9_]+):$/gm)].map((m) => m[1]!);
  t.ok(['zookeeper', 'nameserver1', 'nameserver2', 'tablet1', 'tablet2', 'tablet3', 'ns_client'].every((s) => services.includes(s)), `services: ${services.join(' ')}`);
  for (const m of stdout.matchAll(/--endpoint=(172\.30\.121\.\d+):\d+/g)) {
    t.match(stdout, new RegExp(`ipv4_address: ${m[1]!.replace(/\./g, '\\.')}`), `${m[0]}: the container has that address on the tessera network`);
  }
  t.match(stdout, /condition: service_healthy/, 'roles wait for a healthy ZooKeeper');
  t.match(stdout, /zkServer\.sh/, 'ZooKeeper has a health check');
});
