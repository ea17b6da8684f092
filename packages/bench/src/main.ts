/**
 * `pnpm bench <name> [options]`: runs one benchmark (options after the name go to it), prints its figures, and ends with one JSON line.
 */
import { benchCluster } from './cluster-bench.js';
import { benchCompare } from './compare-bench.js';
import { benchFailover } from './failover-bench.js';
import { benchHops } from './hops-bench.js';
import { benchMigrate } from './migrate-bench.js';
import { benchScale } from './scale-bench.js';
import { benchTablet } from './tablet-bench.js';

const BENCHES: Record<string, (argv: string[]) => Promise<Record<string, number>>> = {
  tablet: benchTablet,
  cluster: benchCluster,
  hops: benchHops,
  migrate: benchMigrate,
  failover: benchFailover,
  scale: benchScale,
  compare: benchCompare,
};

async function main(): Promise<void> {
  const name = process.argv[2] ?? '';
  const bench = BENCHES[name];
  if (!bench) {
    process.stderr.write(`usage: pnpm bench ${Object.keys(BENCHES).join('|')}\n`);
    process.exit(2);
  }
  const figures = await bench(process.argv.slice(3));
  process.stdout.write(`${JSON.stringify({ bench: name, ...figures })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`benchmark failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
