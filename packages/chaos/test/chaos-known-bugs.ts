// NOT run by scripts/test.sh (its name does not end in .test.ts): seeds that found bugs in
// Tessera, run on demand until the bugs are fixed; then rename it chaos-known-bugs.test.ts (or
// move the seeds into chaos-seeds.test.ts). A seed reproduces the fault schedule, not the
// interleaving, so a run may pass by luck; each is run RUNS_PER_SEED times and must pass every
// time. See the track-record table in packages/chaos/README.md.
//   pnpm exec tap --disable-coverage --timeout=1800 packages/chaos/dist/test/chaos-known-bugs.js
import t from 'tap';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN_JS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/main.js');
const RUN_TIMEOUT_MS = 400_000;
const RUNS_PER_SEED = 2;

/** The seeds, their command line and the bug each found. */
export const KNOWN_BUG_SEEDS: ReadonlyArray<{ args: string[]; bug: string }> = [
  { args: ['--seed', '16', '--duration', '60s', '--scenario', 'random'], bug: 'dirty reads: a deposed leader serves writes it never got acknowledged, which are then lost' },
  { args: ['--seed', '1', '--duration', '25s', '--scenario', 'kill'], bug: 'dirty reads: a leader serves a write before its followers have it; killed, the write is lost' },
  { args: ['--seed', '5', '--duration', '40s', '--scenario', 'partition'], bug: 'a tablet back while its failover ops still run is never recovered; its old leader replicas keep acting as leader' },
  { args: ['--seed', '101', '--duration', '60s', '--scenario', 'processes'], bug: 'a tablet restarted while its failover ops still run is never recovered; a recovery op waits forever in kCheckBinlogSyncProgress' },
  { args: ['--seed', '17', '--duration', '60s', '--scenario', 'random'], bug: 'a tablet restarted during a nameserver failover is never recovered' },
];

function run(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN_JS, ...args, '--ack', 'all'], { timeout: RUN_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (_err, stdout, stderr) => resolve({ stdout, stderr }));
  });
}

for (const { args, bug } of KNOWN_BUG_SEEDS) {
  t.test(`${args.join(' ')} (${bug})`, async (t) => {
    for (let i = 0; i < RUNS_PER_SEED; i++) {
      const { stdout, stderr } = await run(args);
      const verdict = stdout.split('\n').find((l) => l.startsWith('verdict:')) ?? `no verdict; stderr: ${stderr.slice(-2000)}`;
      t.comment(stdout.split('\n').filter((l) => l.startsWith('  !')).join('\n'));
      t.match(verdict, /^verdict: PASS/, `run ${i + 1}: ${verdict}`);
    }
  });
}
