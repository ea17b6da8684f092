// scripts/tessera loads only the role it runs (main.ts): an ns_client process does not load the
// servers' HTTP framework, metrics library or LevelDB binding, nor undici's fetch. Checked on the
// real entry point, with a preloaded hook that lists, at exit, the CommonJS modules the process
// loaded (ESM imports of CommonJS packages go through the same cache). The tablet run shows the
// hook sees them.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN_JS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/main.js');
const SERVER_ONLY = ['fastify', 'prom-client', 'classic-level'];
const RUN_TIMEOUT_MS = 30_000;

function loadedPackages(args: string[]): { status: number | null; stderr: string; packages: Set<string>; files: string[] } {
  const dir = mkdtempSync(path.join(tmpdir(), 'tessera-lazy-'));
  try {
    const out = path.join(dir, 'loaded.json');
    const hook = path.join(dir, 'hook.cjs');
    writeFileSync(hook, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify(Object.keys(require('module')._cache))));\n`);
    const r = spawnSync(process.execPath, ['--require', hook, MAIN_JS, ...args], { encoding: 'utf8', timeout: RUN_TIMEOUT_MS });
    const files = JSON.parse(readFileSync(out, 'utf8')) as string[];
    const packages = new Set<string>();
    for (const f of files) {
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(f);
      if (m) packages.add(m[1]!);
    }
    return { status: r.status, stderr: r.stderr, packages, files };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

t.test('ns_client loads none of the servers\' packages', async (t) => {
  const r = loadedPackages(['--role=ns_client']);
  t.equal(r.status, 1, 'refused: no --zk_cluster');
  t.match(r.stderr, /--zk_cluster is required/);
  t.ok(r.packages.has('undici'), 'its own HTTP client was loaded (the hook sees CommonJS packages)');
  for (const p of SERVER_ONLY) t.notOk(r.packages.has(p), `${p} not loaded`);
  // common http-client.ts takes undici's Pool from its own module, not the index with fetch & co.
  t.same(r.files.filter((f) => /\/undici\/lib\/web\//.test(f)), [], "undici's fetch, WebSocket and cookies not loaded");
});

t.test('a tablet loads its modules before it reads its flags', async (t) => {
  // fastify itself is loaded when the HTTP server is made (common http-server.ts), after the flags.
  const r = loadedPackages(['--role=tablet', '--no_such_flag=1']);
  t.equal(r.status, 1, 'refused: an unknown flag');
  for (const p of ['prom-client', 'classic-level']) t.ok(r.packages.has(p), `${p} loaded`);
});
