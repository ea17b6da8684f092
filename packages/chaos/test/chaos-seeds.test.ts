// The fault harness in CI: four fixed seeds through the same entry point as `pnpm chaos`
// (packages/chaos/dist/src/main.js), each with --ack all and a 60 s fault phase, together covering
// every fault kind (see CI_SEEDS). Each run must end with `verdict: PASS` and every safety count
// zero; a failing run keeps its directory (named in the output) for `pnpm chaos check DIR`.
import t from 'tap';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN_JS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/main.js');
/** Setup (~30 s on a busy machine) + 60 s of faults + heal, quiesce (≤ 120 s) and checks. */
const RUN_TIMEOUT_MS = 400_000;

/**
 * Seed, scenario and the fault kinds its schedule starts (`pnpm chaos plan --seed S --scenario
 * X`). Three use `no-tablet-failover` (every kind but tablet-kill, in variants that depose no
 * tablet leader); seed 101 of `processes` kills and pauses tablet leaders. It failed 8 of 20 runs
 * on 6 Dec with stale reads (a leader's commit point raised only on reads, and followers answering
 * reads), and passes since both were fixed (packages/chaos/README.md). The per-direction partition
 * runs in chaos-oneway.test.
 */
export const CI_SEEDS: ReadonlyArray<{ seed: number; scenario: string; covers: string }> = [
  { seed: 103, scenario: 'no-tablet-failover', covers: 'operator, zk-restart, pause-short, partition, op-kill, zk-disconnect, ns-kill' },
  { seed: 210, scenario: 'no-tablet-failover', covers: 'operator, pause-long, op-kill, ns-kill, zk-restart, pause-short, partition' },
  { seed: 678, scenario: 'no-tablet-failover', covers: 'zk-restart, pause-long, partition, operator, zk-disconnect, op-kill, pause-short, ns-kill' },
  { seed: 101, scenario: 'processes', covers: 'pause-long, ns-kill, tablet-kill, pause-short' },
];
/** Faults run per kind over the seeds (a single fault may be skipped when nothing fits then). */
const ran = new Map<string, number>();

interface Figures {
  verdict: string;
  reasons: string[];
  dir: string | null;
  acknowledged: number;
  lost: number;
  phantoms: number;
  duplicates: number;
  resurrected: number;
  mismatched: number;
  unreadableKeys: number;
  linearViolations: number;
  dirtyReads: number;
  unexpectedExits: number;
  faults: Record<string, number>;
}

function runSeed(seed: number, scenario: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN_JS, '--seed', String(seed), '--duration', '60s', '--scenario', scenario, '--ack', 'all'], { timeout: RUN_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

for (const { seed, scenario, covers } of CI_SEEDS) {
  t.test(`seed ${seed} scenario ${scenario} (${covers})`, async (t) => {
    const { code, stdout, stderr } = await runSeed(seed, scenario);
    const last = stdout.trim().split('\n').pop() ?? '';
    let f: Figures;
    try {
      f = JSON.parse(last) as Figures;
    } catch {
      t.fail(`no figures line (exit ${code}); stderr:\n${stderr.slice(-3000)}\nstdout:\n${stdout.slice(-3000)}`);
      return;
    }
    t.comment(stdout.split('\n').filter((l) => !l.startsWith('{')).join('\n'));
    t.equal(f.verdict, 'PASS', `verdict (${f.reasons.join(' | ')})${f.dir ? ` run kept in ${f.dir}` : ''}`);
    t.equal(code, 0, 'exit code');
    t.ok(f.acknowledged > 0, 'writes were acknowledged');
    for (const k of ['lost', 'phantoms', 'duplicates', 'resurrected', 'mismatched', 'unreadableKeys', 'linearViolations', 'dirtyReads', 'unexpectedExits'] as const) t.equal(f[k], 0, k);
    for (const kind of covers.split(', ')) ran.set(kind, (ran.get(kind) ?? 0) + (f.faults[kind] ?? 0));
    t.ok(Object.values(f.faults).reduce((a, b) => a + b, 0) > 0, `faults ran: ${JSON.stringify(f.faults)}`);
  });
}

t.test('the seeds together ran every fault kind they cover', async (t) => {
  for (const kind of new Set(CI_SEEDS.flatMap((s) => s.covers.split(', ')))) t.ok((ran.get(kind) ?? 0) > 0, `${kind} ran (${ran.get(kind) ?? 0} times)`);
});
