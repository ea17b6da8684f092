/**
 * `pnpm chaos <mode> [args]`: runs one chaos mode against a cluster it starts itself and exits
 * non-zero when anything did not hold. Modes are a table: add a mode by adding a row.
 *
 *   badinput [--only=REGEX] [--verbose] [--list]   the bad-input suite (packages/chaos/src/badinput)
 */
import { badInputCases, formatReport, runBadInput } from './badinput/runner.js';

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

const MODES: Record<string, Mode> = {
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
  const [name = '', ...args] = process.argv.slice(2);
  const mode = Object.hasOwn(MODES, name) ? MODES[name] : undefined;
  if (!mode) {
    process.stderr.write(`usage: pnpm chaos <mode>\n${Object.entries(MODES).map(([n, m]) => `  ${n}  ${m.help}`).join('\n')}\n`);
    process.exit(2);
  }
  process.exit(await mode.run(args));
}

main().catch((err: unknown) => {
  process.stderr.write(`chaos failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
