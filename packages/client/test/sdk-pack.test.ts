// The SDK installs outside the repository: scripts/pack.sh makes the tarballs, npm installs them
// into an empty folder, and the README's example runs there against a real cluster — after the
// README's own ns_client session (which created demo_db), and twice, as a user reruns it.
import t from 'tap';
import path from 'node:path';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { REPO_ROOT, runScript, startTestCluster } from '@tessera/testkit';
import { Client } from '../src/index.js';

const run = promisify(execFile);

/** npm install of three tarballs and their registry dependencies (from npm's cache when there). */
const NPM_INSTALL_TIMEOUT_MS = 240_000;
const EXAMPLE_TIMEOUT_MS = 60_000;

t.test('packed SDK installed with npm into an empty folder runs the README example', async (t) => {
  const c = await startTestCluster(t, {
    name: 'sdk-pack', zkRootPath: '/tessera', zkSessionTimeoutMs: 3000, nameservers: 1, tablets: 3,
    connect: (zkCluster, zkRootPath) => Client.connect({ zkCluster, zkRootPath }),
    httpTimeoutMs: 10_000, tabletsHealthyTimeoutMs: 30_000,
  });
  const t0 = Date.now();
  const packDir = path.join(c.dir, 'pack');
  const packed = await runScript('pack.sh', [packDir]);
  t.equal(packed.code, 0, `pack.sh exits 0\n${packed.out}`);
  const tarballs = packed.out.split('\n').filter((l) => l.endsWith('.tgz'));
  t.same(tarballs.map((f) => path.basename(f)), ['tessera-common-0.1.0.tgz', 'tessera-coord-0.1.0.tgz', 'tessera-client-0.1.0.tgz']);
  const tPacked = Date.now();

  const app = path.join(c.dir, 'app');
  mkdirSync(app);
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'my-app', version: '1.0.0', private: true, type: 'module' }));
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...tarballs], { cwd: app, timeout: NPM_INSTALL_TIMEOUT_MS });
  const installed = JSON.parse(readFileSync(path.join(app, 'node_modules/@tessera/client/package.json'), 'utf8'));
  t.same(installed.dependencies, { '@tessera/common': '0.1.0', '@tessera/coord': '0.1.0' }, 'the installed package names real versions');
  const tInstalled = Date.now();

  // The README's ns_client session, as a user would have run it first.
  const session = await c.cli('createdb demo_db; use demo_db; create flow 0 2 3 card:string:index mcc:string:index amt:double; put flow 1000 c1 m1 1.5');
  t.equal(session.code, 0, `the README's ns_client session\n${session.stdout}${session.stderr}`);

  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const block = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
  t.ok(block?.includes("from '@tessera/client'"), 'the README has the SDK example');
  writeFileSync(path.join(app, 'example.mjs'), block!.replace(/127\.0\.0\.1:7181/g, c.zk.connectString));
  for (const expected of [1, 2]) {
    const { stdout } = await run(process.execPath, ['example.mjs'], { cwd: app, timeout: EXAMPLE_TIMEOUT_MS });
    t.comment(`example.mjs printed: ${stdout.trim()}`);
    t.match(stdout, new RegExp(`^${expected} rows for card c1:`), `run ${expected} prints the ${expected} row(s) it read`);
    t.equal(stdout.match(/card: 'c1', amt: 1\.5, at: \d+/g)?.length, expected, 'each row read is printed');
  }
  t.comment(`timing: pack ${tPacked - t0} ms, npm install ${tInstalled - tPacked} ms, session and two runs ${Date.now() - tInstalled} ms`);
});
