// scripts/lib/setup.sh stops at the first failed step with the fix in the message, for both
// scripts/test.sh and scripts/cluster.sh up. apt-get and pnpm are fakes put first on PATH (the
// script's own interface: the commands it runs); the jar the zookeeper step checks for is a
// path in this test's temp dir, so the machine's packages are never touched.
import t, { type Test } from 'tap';
import path from 'node:path';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { REPO_ROOT, removeDir, tempDir } from '@tessera/testkit';

const FAKE_APT = `#!/usr/bin/env bash
echo "apt-get $*" >> "$FAKE_LOG"
case "$FAKE_APT_MODE" in
  interrupted)
    echo "E: dpkg was interrupted, you must manually run 'dpkg --configure -a' to correct the problem." >&2; exit 100 ;;
  locked)
    n=$(cat "$FAKE_STATE" 2>/dev/null || echo 0); echo $((n + 1)) > "$FAKE_STATE"
    if [ "$n" -lt "$FAKE_LOCKED_TRIES" ]; then
      echo "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)" >&2
      echo "E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?" >&2
      exit 100
    fi ;;
esac
[ "$1" = install ] && touch "$TESSERA_ZK_JAR"
exit 0
`;

const FAKE_PNPM = `#!/usr/bin/env bash
echo "pnpm $*" >> "$FAKE_LOG"
[ "$1" = --version ] && { echo 12.4.2; exit 0; }
if [ "$1" = install ] && [ "$FAKE_PNPM_MODE" = fail ]; then echo "ERR_PNPM_META_FETCH_FAIL GET https://registry.npmjs.org/fastify: getaddrinfo EAI_AGAIN" >&2; exit 1; fi
exit 0
`;

interface Run { code: number; out: string; stdout: string; log: string }

function setupWorld(t: Test): { dir: string; run: (cmd: string[], env: Record<string, string>) => Promise<Run> } {
  const dir = tempDir('setup-sh');
  t.teardown(() => removeDir(dir));
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(path.join(bin, 'apt-get'), FAKE_APT); chmodSync(path.join(bin, 'apt-get'), 0o755);
  writeFileSync(path.join(bin, 'pnpm'), FAKE_PNPM); chmodSync(path.join(bin, 'pnpm'), 0o755);
  let n = 0;
  const run = (cmd: string[], env: Record<string, string>): Promise<Run> => new Promise((resolve) => {
    const log = path.join(dir, `calls-${++n}.log`);
    writeFileSync(log, '');
    const fullEnv = {
      ...process.env, TESSERA_SKIP_SETUP: '0', PATH: `${bin}:${process.env.PATH}`, FAKE_LOG: log,
      FAKE_STATE: path.join(dir, `state-${n}`), TESSERA_ZK_JAR: path.join(dir, `zookeeper-${n}.jar`), FAKE_LOCKED_TRIES: '0', ...env,
    };
    execFile(cmd[0]!, cmd.slice(1), { cwd: REPO_ROOT, env: fullEnv, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr, stdout, log: readFileSync(log, 'utf8') });
    });
  });
  return { dir, run };
}

const root = process.getuid?.() === 0;
const setupAll = ['bash', '-c', 'source scripts/lib/setup.sh && setup_all'];

t.test('an interrupted dpkg stops test.sh and cluster.sh up before anything is built, naming dpkg --configure -a', { skip: root ? false : 'the apt steps run only as root (not root here)' }, async (t) => {
  const { dir, run } = setupWorld(t);
  for (const cmd of [['bash', 'scripts/test.sh', 'no-such-test'], ['bash', 'scripts/cluster.sh', 'up', '--dir', path.join(dir, 'cluster'), '--base-port', '27900']]) {
    const r = await run(cmd, { FAKE_APT_MODE: 'interrupted' });
    const name = cmd[1];
    t.not(r.code, 0, `${name} fails`);
    t.match(r.out, /\[setup\] FAILED: apt-get update/, `${name}: the failed step is named`);
    t.match(r.out, /fix: .*dpkg --configure -a/, `${name}: the fix is in the message`);
    t.notMatch(r.log, /pnpm (install|exec)/, `${name}: nothing is installed or built after the failed step`);
    t.notMatch(r.log, /apt-get install/, `${name}: apt-get install is not tried after apt-get update failed`);
    t.notMatch(r.out, /zookeeper\.jar missing|Tessera cluster is up/, `${name}: no later step ran`);
    if (name === 'scripts/test.sh') t.match(r.stdout, /0 passed, 1 failed\s*$/, 'test.sh ends with its summary line');
    if (name === 'scripts/cluster.sh') t.notOk(existsSync(path.join(dir, 'cluster', 'zk')), 'cluster.sh started no ZooKeeper');
  }
});

t.test("apt's lock held by another install is waited for, then the set-up goes on", { skip: root ? false : 'the apt steps run only as root (not root here)' }, async (t) => {
  const { run } = setupWorld(t);
  const r = await run(setupAll, { FAKE_APT_MODE: 'locked', FAKE_LOCKED_TRIES: '3', TESSERA_APT_LOCK_POLL_S: '0.1', TESSERA_APT_LOCK_WAIT_S: '30' });
  t.equal(r.code, 0, r.out);
  t.match(r.out, /apt's lock is held by another install \(held by process 4242 \(apt-get\)\); waiting up to 30s/);
  t.equal(r.log.split('\n').filter((l) => l.startsWith('apt-get update')).length, 4, 'apt-get update tried until the lock was free');
  t.match(r.log, /apt-get install -y -qq --no-install-recommends zookeeper/);
  t.match(r.log, /pnpm install --frozen-lockfile[\s\S]*pnpm exec tsc -b/, 'then the packages are installed and the tree built');
});

t.test("apt's lock never released: the wait is bounded and the message says what to do", { skip: root ? false : 'the apt steps run only as root (not root here)' }, async (t) => {
  const { run } = setupWorld(t);
  const started = Date.now();
  const r = await run(setupAll, { FAKE_APT_MODE: 'locked', FAKE_LOCKED_TRIES: '1000000', TESSERA_APT_LOCK_POLL_S: '0.2', TESSERA_APT_LOCK_WAIT_S: '1' });
  t.not(r.code, 0);
  t.ok(Date.now() - started < 20_000, `gave up after the bound (${Date.now() - started} ms)`);
  t.match(r.out, /FAILED: apt-get update: apt's lock still held after 1s/);
  t.match(r.out, /fix: wait for the other install to finish/);
  t.notMatch(r.log, /pnpm (install|exec)/, 'nothing after the failed step');
});

t.test('a failed pnpm install stops before the build, with the fix', async (t) => {
  const { dir, run } = setupWorld(t);
  writeFileSync(path.join(dir, 'present.jar'), '');
  const r = await run(['bash', 'scripts/test.sh', 'no-such-test'], { FAKE_PNPM_MODE: 'fail', TESSERA_ZK_JAR: path.join(dir, 'present.jar') });
  t.not(r.code, 0);
  t.match(r.out, /FAILED: install the workspace's packages \(exit 1\): pnpm install --frozen-lockfile/);
  t.match(r.out, /\|\s*ERR_PNPM_META_FETCH_FAIL/, "the failed command's output is shown");
  t.match(r.out, /fix: check that pnpm reaches the npm registry/);
  t.notMatch(r.log, /pnpm exec tsc/, 'the build did not run');
  t.match(r.stdout, /0 passed, 1 failed\s*$/);
});

t.test('not root and no ZooKeeper: stops with the command to run as root', { skip: root ? 'running as root' : false }, async (t) => {
  const { run } = setupWorld(t);
  const r = await run(setupAll, {});
  t.not(r.code, 0);
  t.match(r.out, /fix: .* install it as root: apt-get install -y zookeeper/);
  t.notMatch(r.log, /pnpm (install|exec)/);
});
