// The README's SDK example runs as written against a real cluster (only the ZooKeeper address
// and the package import are pointed at this test's cluster and this build).
import t from 'tap';
import path from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { pathToFileURL } from 'node:url';
import { waitFor } from '@tessera/common';
import { REPO_ROOT, spawnRole, startZooKeeper, stopAllRoles, tempDir, removeDir, nsClient, parseTable } from '@tessera/testkit';

const run = promisify(execFile);

t.test('README SDK example', async (t) => {
  const dir = tempDir('readme');
  const zk = await startZooKeeper({ dir: path.join(dir, 'zk') });
  t.teardown(async () => {
    await stopAllRoles();
    await zk.stop();
    removeDir(dir);
  });
  const common = { zk_cluster: zk.connectString, zk_root_path: '/tessera', zk_session_timeout: 3000 };
  await spawnRole('nameserver', common, { logFile: path.join(dir, 'ns.log') });
  for (let i = 1; i <= 3; i++) await spawnRole('tablet', { ...common, db_root_path: path.join(dir, `t${i}`) }, { logFile: path.join(dir, `t${i}.log`) });
  await waitFor('3 tablets', async () => parseTable((await nsClient(zk.connectString, 'showtablet')).stdout, 'endpoint').length === 3, { timeoutMs: 20_000, intervalMs: 200 });

  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const block = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
  t.ok(block, 'the README has the SDK example');
  const clientUrl = pathToFileURL(path.join(REPO_ROOT, 'packages/client/dist/src/index.js')).href;
  const script = `${block!.replace("'@tessera/client'", `'${clientUrl}'`).replace(/127\.0\.0\.1:7181/g, zk.connectString)}\nconsole.log(JSON.stringify(rows));\n`;
  const file = path.join(dir, 'example.mjs');
  // The example is TypeScript only in name: it must also be valid JavaScript.
  writeFileSync(file, script);
  const { stdout } = await run(process.execPath, [file], { timeout: 60_000 });
  const rows = JSON.parse(stdout.trim().split('\n').pop()!);
  t.equal(rows.length, 1);
  t.equal(rows[0].card, 'c1');
  t.equal(rows[0].amt, 1.5);
});
