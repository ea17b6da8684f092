/**
 * `pnpm chaos <mode> [args]`: runs one chaos mode against a cluster it starts itself and exits
 * non-zero when anything did not hold. Modes are a table: add a mode by adding a row. Without a
 * mode name (or with `faults`) it runs the fault-injection harness.
 *
 *   [faults] [--seed S] [--duration 60s] [--scenario NAME|random] [--ack all|leader] [--keep]
 *            [--rate N] [--clients N] [--dir ROOT] [--net auto|netns|proxy]
 *                                                         one fault run (src/harness/runner.ts)
 *   check DIR                                             re-check a kept run directory
 *   plan [--seed S] [--duration 60s] [--scenario NAME] [--net netns|proxy]  print a seed's fault schedule
 *   scenarios                                             list the scenarios
 *   badinput [--only=REGEX] [--verbose] [--list]          the bad-input suite (src/badinput)
 */
import { badInputCases, formatReport, runBadInput } from './badinput/runner.js';
import { checkRun, formatSummary, runChaos, TIMEOUTS } from './harness/runner.js';
import { parseSeed } from './harness/prng.js';
import { BASE_FAULT_KINDS, makeSchedule, NETNS_FAULT_KINDS, PROXY_FAULT_KINDS, SCENARIOS } from './harness/schedule.js';

interface Mode {
  help: string;
  /** Resolves to the process exit code. */
  run(args: string[]): Promise<number>;
}

function flag(args: string[], name: string): string | undefined {
  const a = args.find((x) => x === `--${name}` || x.startsWith(`--${name}=`));
  if (a === undefined) return undefined;
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : '';
}

/** `--name value` or `--name=value`; `true` for a bare flag. */
function option(args: string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
    if (a === `--${name}`) {
      const next = args[i + 1];
      return next !== undefined && !next.startsWith('--') ? next : 'true';
    }
  }
  return undefined;
}

/** `60s`, `10m`, `500ms`, `60` (seconds) → ms. */
export function parseDurationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new Error(`bad duration ${text} (use 60s, 10m, 500ms)`);
  const n = Number(m[1]);
  return Math.round(m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000);
}

const FAULT_OPTIONS = ['seed', 'duration', 'scenario', 'ack', 'keep', 'rate', 'clients', 'dir', 'net'];

async function runFaults(args: string[]): Promise<number> {
  const unknown = args.filter((a) => a.startsWith('--') && !FAULT_OPTIONS.includes(a.slice(2).split('=')[0]!));
  if (unknown.length > 0) throw new Error(`unknown option(s) ${unknown.join(' ')}; known: ${FAULT_OPTIONS.map((o) => `--${o}`).join(' ')}`);
  const seed = parseSeed(option(args, 'seed') ?? String(Date.now() % 1_000_000));
  const ack = option(args, 'ack') ?? 'all';
  if (ack !== 'all' && ack !== 'leader') throw new Error('--ack is all or leader');
  const rate = option(args, 'rate');
  const clients = option(args, 'clients');
  const dir = option(args, 'dir');
  const net = option(args, 'net') ?? 'auto';
  if (net !== 'auto' && net !== 'netns' && net !== 'proxy') throw new Error('--net is auto, netns or proxy');
  const result = await runChaos({
    seed,
    durationMs: parseDurationMs(option(args, 'duration') ?? '60s'),
    scenario: option(args, 'scenario') ?? 'random',
    ack,
    keep: option(args, 'keep') !== undefined,
    ...(rate ? { rateOpsPerS: Number(rate) } : {}),
    ...(clients ? { clients: Number(clients) } : {}),
    ...(dir ? { runRoot: dir } : {}),
    net,
    log: (line) => process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}\n`),
  });
  process.stdout.write(`${result.text}\n`);
  const { details: _details, ...figures } = result.summary;
  // One machine-readable line last (the CI test reads it).
  process.stdout.write(`${JSON.stringify({ chaos: 'faults', dir: result.kept ? result.dir : null, ...figures })}\n`);
  return result.summary.verdict === 'PASS' ? 0 : 1;
}

const MODES: Record<string, Mode> = {
  faults: {
    help: 'fault injection: [--seed S] [--duration 60s] [--scenario NAME|random] [--ack all|leader] [--keep] [--rate N] [--clients N] [--dir ROOT] [--net auto|netns|proxy]',
    run: runFaults,
  },
  check: {
    help: 're-check a kept run directory: check DIR',
    async run(args) {
      const dir = args[0];
      if (!dir) throw new Error('usage: check DIR');
      const summary = checkRun(dir);
      process.stdout.write(`${formatSummary(summary, dir)}\n`);
      return summary.verdict === 'PASS' ? 0 : 1;
    },
  },
  plan: {
    help: 'print the fault schedule of a seed without running it: plan [--seed S] [--duration 60s] [--scenario NAME|random] [--net netns|proxy] (default netns: random draws link faults too)',
    async run(args) {
      const seed = parseSeed(option(args, 'seed') ?? '1');
      const { kinds, steps } = makeSchedule(seed, option(args, 'scenario') ?? 'random', parseDurationMs(option(args, 'duration') ?? '60s'), {
        zkSessionTimeoutMs: TIMEOUTS.zkSessionTimeoutMs, available: [...BASE_FAULT_KINDS, ...PROXY_FAULT_KINDS, ...(option(args, 'net') === 'proxy' ? [] : NETNS_FAULT_KINDS)],
      });
      process.stdout.write(`kinds: ${kinds.join(', ')}\n${steps.map((x) => `${(x.atMs / 1000).toFixed(1)}s\t${x.kind}\t${x.variant}\t${x.durationMs} ms`).join('\n')}\n`);
      return 0;
    },
  },
  scenarios: {
    help: 'list the fault scenarios',
    async run() {
      const rows = Object.entries(SCENARIOS).map(([n, sc]) => {
        const only = Object.entries(sc.variants ?? {}).map(([k, v]) => `${k} only ${v.join('|')}`);
        return `${n}\t${sc.kinds.join(', ')}${only.length ? `; ${only.join('; ')}` : ''}\t(${sc.doc})`;
      });
      process.stdout.write(`random\t(a mix of kinds drawn from the seed)\n${rows.join('\n')}\n`);
      return 0;
    },
  },
  badinput: {
    help: 'bad input to every route and ns_client command; [--only=REGEX] [--verbose] [--list]',
    async run(args) {
      const onlyText = flag(args, 'only');
      const only = onlyText ? new RegExp(onlyText) : undefined;
      if (flag(args, 'list') !== undefined) {
        for (const c of badInputCases()) if (!only || only.test(c.id)) process.stdout.write(`${c.phase}\t${c.id}\n`);
        return 0;
      }
      const report = await runBadInput({ ...(only ? { only } : {}), verbose: flag(args, 'verbose') !== undefined });
      process.stdout.write(`${formatReport(report)}\n`);
      process.stdout.write(`${JSON.stringify({ chaos: 'badinput', tried: report.tried, held: report.held, failed: report.failures.length, notRun: report.notRun })}\n`);
      return report.failures.length === 0 && report.notRun === 0 ? 0 : 1;
    },
  },
};

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  // No mode name (nothing, or options first): the fault harness.
  const [name = '', ...args] = argv.length === 0 || argv[0]!.startsWith('--') ? ['faults', ...argv] : argv;
  const mode = Object.hasOwn(MODES, name) ? MODES[name] : undefined;
  if (!mode) {
    process.stderr.write(`usage: pnpm chaos <mode>\n${Object.entries(MODES).map(([n, m]) => `  ${n}  ${m.help}`).join('\n')}\n`);
    process.exit(2);
  }
  // Ctrl-C or a kill: exit, so the exit hooks kill every process this run started (by pid).
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));
  process.exit(await mode.run(args));
}

main().catch((err: unknown) => {
  process.stderr.write(`chaos failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
