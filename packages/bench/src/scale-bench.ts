/**
 * `pnpm bench scale [--steps 100,400,1000] [--tablets 3]`: metadata and per-replica costs as the
 * table count grows (issue 16), on a cluster brought up by `scripts/cluster.sh up` with its
 * defaults (ZooKeeper, 2 nameservers, 3 tablets). For each step N it creates tables through the
 * SDK until N tables of 8 partitions × 3 replicas exist and prints: create time per table (median
 * and p99 over that step's creates), `showtable` of one table and of the whole database (SDK →
 * nameserver; and `ns_client showtable` of the database, a process of its own), a drop's time
 * (DROP_PROBES tables made and dropped at that count), then each
 * process's RSS and open file descriptors (/proc/<pid>/status VmRSS, /proc/<pid>/fd). Then the
 * kill half (scale-kill.ts; `--no-kill` skips it): SIGKILL of the tablet leading the most
 * partitions, time until every partition it led is writable again, ops created, sessions lost.
 * Last line: one JSON object.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@tessera/client';
import { nsClient, tempDir, removeDir } from '@tessera/testkit';
import { percentile, printFigure, round } from './measure.js';
import { clusterScriptUp, type ScriptCluster } from './bench-cluster.js';
import { killLeaderTablet } from './scale-kill.js';
import { sampleRoles, type RoleSample, type SampledRole } from './role-sampler.js';
import { zkGcWatch } from './zk-gc.js';

const DEFAULT_STEPS = [100, 400, 1000];
const DEFAULT_TABLETS = 3;
const PARTITIONS = 8;
const REPLICAS = 3;
const DB = 'scale_db';
const ZK_ROOT = '/tessera';
const REQUEST_TIMEOUT_MS = 120_000;
/** Tables created and dropped again after each step, to time a drop at that table count. */
const DROP_PROBES = 10;

export interface ScaleOptions {
  steps: number[];
  tablets: number;
  kill: boolean;
}

/** `--steps a,b,c` and `--tablets n` from argv (after the bench name). */
export function scaleOptions(argv: string[]): ScaleOptions {
  const opts: ScaleOptions = { steps: DEFAULT_STEPS, tablets: DEFAULT_TABLETS, kill: true };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=', 2) as [string, string | undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === '--no-kill') {
      opts.kill = false;
    } else if (flag === '--steps') {
      const steps = value().split(',').map((s) => Number(s.trim()));
      if (steps.length === 0 || steps.some((n, k) => !Number.isInteger(n) || n < 1 || (k > 0 && n <= steps[k - 1]!))) {
        throw new Error('--steps must be increasing positive integers, e.g. --steps 100,400,1000');
      }
      opts.steps = steps;
    } else if (flag === '--tablets') {
      const n = Number(value());
      if (!Number.isInteger(n) || n < REPLICAS) throw new Error(`--tablets must be an integer ≥ ${REPLICAS}`);
      opts.tablets = n;
    } else {
      throw new Error(`unknown option ${flag} (use --steps a,b,c, --tablets n and --no-kill)`);
    }
  }
  return opts;
}

interface ProcessFigures {
  role: string;
  pid: number;
  rssMiB: number;
  fds: number;
}

/** Every process cluster.sh started under `dir` (its `<role-dir>/*.pid` files), measured from /proc. */
function measureProcesses(dir: string): ProcessFigures[] {
  const out: ProcessFigures[] = [];
  for (const sub of readdirSync(dir).sort()) {
    const d = path.join(dir, sub);
    let files: string[];
    try {
      files = readdirSync(d).filter((f) => f.endsWith('.pid'));
    } catch {
      continue;
    }
    for (const f of files) {
      const pid = Number(readFileSync(path.join(d, f), 'utf8').trim());
      if (!Number.isInteger(pid) || pid <= 0 || !existsSync(`/proc/${pid}`)) continue;
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const rssKiB = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? NaN);
      out.push({ role: sub, pid, rssMiB: round(rssKiB / 1024, 1), fds: readdirSync(`/proc/${pid}/fd`).length });
    }
  }
  return out;
}

function printSamples(sampled: RoleSample[], stepS: number): void {
  for (const r of sampled) {
    printFigure(`${r.role} during the creates`, `${round(r.cpuS, 1)} CPU s`, `of ${round(stepS, 1)} s; event-loop delay max ${r.lagMaxMs === undefined ? 'n/a' : `${round(r.lagMaxMs)} ms`}`);
  }
}

function createScaleTable(c: Client, name: string): Promise<unknown> {
  return c.createTable(DB, {
    name, partitionNum: PARTITIONS, replicaNum: REPLICAS,
    columns: [{ name: 'id', type: 'string' }, { name: 'v', type: 'string' }, { name: 'at', type: 'timestamp' }],
    indexes: [{ name: 'id', keys: ['id'], ts: 'at' }],
  });
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await fn();
  return [v, performance.now() - t0];
}

export async function benchScale(argv: string[] = []): Promise<Record<string, number>> {
  const { steps, tablets, kill } = scaleOptions(argv);
  const dir = tempDir('bench-scale');
  let cluster: ScriptCluster | undefined;
  let client: Client | undefined;
  let ok = false;
  const figures: Record<string, number> = {};
  try {
    process.stdout.write(`scale benchmark: cluster.sh defaults, ${tablets} tablets, tables of ${PARTITIONS}×${REPLICAS}, steps ${steps.join(',')}; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}\n`);
    const cl = (cluster = await clusterScriptUp(dir, tablets));
    const zkCluster = cl.zkCluster;
    const c = (client = await Client.connect({ zkCluster, zkRootPath: ZK_ROOT, requestTimeoutMs: REQUEST_TIMEOUT_MS }));
    await c.createDatabase(DB);
    let made = 0;
    const roleEndpoint = (role: string): string | undefined => {
      const m = /^(tablet|nameserver)-(\d+)$/.exec(role);
      if (!m) return undefined;
      // A tablet's /metrics gives totals only above LIMITS.metricsReplicaSeriesMax replicas, so
      // scraping it twice a step costs it little (it listed every replica until session 8).
      return m[1] === 'tablet' ? cl.tabletEndpoint(Number(m[2])) : cl.nameserverEndpoint(Number(m[2]));
    };
    const zkGc = zkGcWatch(dir);
    zkGc.since();
    for (const n of steps) {
      const createMs: number[] = [];
      const sampler = sampleRoles(measureProcesses(dir).map((p): SampledRole => ({ role: p.role, pid: p.pid, endpoint: roleEndpoint(p.role) })));
      const stepStartedMs = performance.now();
      const samples = async (): Promise<{ sampled: RoleSample[]; stepS: number }> => ({ stepS: (performance.now() - stepStartedMs) / 1000, sampled: await sampler.stop() });
      try {
        while (made < n) {
          const [, ms] = await timed(() => createScaleTable(c, `t${made}`));
          createMs.push(ms);
          made++;
        }
      } catch (err) {
        // What each process did until the create failed is the point of a failed step.
        const { sampled, stepS } = await samples();
        process.stdout.write(`\n-- create of t${made} failed after ${round(stepS, 1)} s: ${(err as Error).message}; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}\n`);
        printSamples(sampled, stepS);
        const gc = zkGc.since();
        if (gc !== undefined) printFigure('zookeeper GC pauses', gc.count, `pauses, longest ${round(gc.maxMs, 1)} ms`);
        throw err;
      }
      const { sampled, stepS } = await samples();
      // In creation order, by quarter of the step: whether the cost grows with the tables made or
      // is front-loaded (a process still warming up).
      const quarters = [0, 1, 2, 3].map((q) => createMs.slice(Math.floor((q * createMs.length) / 4), Math.floor(((q + 1) * createMs.length) / 4)).sort((a, b) => a - b));
      createMs.sort((a, b) => a - b);
      const [, oneMs] = await timed(() => c.admin.showtable({ db: DB, name: 't0' }));
      const [all, allMs] = await timed(() => c.admin.showtable({ db: DB }));
      const [cli, cliMs] = await timed(() => nsClient(zkCluster, `use ${DB}; showtable`, {}, ZK_ROOT));
      if (cli.code !== 0) throw new Error(`ns_client showtable failed: ${cli.stderr}`);
      // A drop at this table count: probe tables made for it (the step's N stay), each dropped
      // when the SDK's call returns (the nameserver removed its metadata and told the tablets).
      const dropMs: number[] = [];
      for (let i = 0; i < DROP_PROBES; i++) await createScaleTable(c, `drop_probe_${n}_${i}`);
      for (let i = 0; i < DROP_PROBES; i++) dropMs.push((await timed(() => c.dropTable(DB, `drop_probe_${n}_${i}`)))[1]);
      dropMs.sort((a, b) => a - b);
      const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
      process.stdout.write(`\n-- ${n} tables, ${n * PARTITIONS * REPLICAS} replicas (${round((n * PARTITIONS * REPLICAS) / tablets)} per tablet); load average ${load}\n`);
      printFigure('create per table, median', round(percentile(createMs, 50), 1), `ms (${createMs.length} creates)`);
      printFigure('create per table, p99', round(percentile(createMs, 99), 1), 'ms');
      if (quarters.every((q) => q.length > 0)) printFigure('create median by quarter of the step', quarters.map((q) => round(percentile(q, 50), 1)).join(' / '), 'ms');
      printFigure('drop per table, median', round(percentile(dropMs, 50), 1), `ms (${DROP_PROBES} drops; max ${round(dropMs[dropMs.length - 1]!, 1)} ms)`);
      printFigure('showtable one table (SDK)', round(oneMs, 1), 'ms');
      printFigure('showtable database (SDK)', round(allMs, 1), `ms (${all.replicas.length} rows)`);
      printFigure('ns_client showtable database', round(cliMs, 1), `ms (${cli.stdout.length} bytes, process included)`);
      printSamples(sampled, stepS);
      const gc = zkGc.since();
      if (gc !== undefined) {
        printFigure('zookeeper GC pauses', gc.count, `pauses, longest ${round(gc.maxMs, 1)} ms, ${round(gc.totalMs)} ms in all (DIR/zk/gc.log)`);
        figures[`n${n}_zk_gc_pause_max_ms`] = round(gc.maxMs, 1);
      }
      for (const r of sampled) {
        figures[`n${n}_${r.role}_create_cpu_s`] = round(r.cpuS, 1);
        if (r.lagMaxMs !== undefined) figures[`n${n}_${r.role}_create_lag_max_ms`] = round(r.lagMaxMs);
      }
      for (const p of measureProcesses(dir)) {
        printFigure(`${p.role} (pid ${p.pid})`, `${p.rssMiB} MiB`, `RSS, ${p.fds} fds`);
        figures[`n${n}_${p.role}_rss_mib`] = p.rssMiB;
        figures[`n${n}_${p.role}_fds`] = p.fds;
      }
      figures[`n${n}_create_p50_ms`] = round(percentile(createMs, 50), 1);
      figures[`n${n}_create_p99_ms`] = round(percentile(createMs, 99), 1);
      figures[`n${n}_drop_p50_ms`] = round(percentile(dropMs, 50), 1);
      figures[`n${n}_showtable_one_ms`] = round(oneMs, 1);
      figures[`n${n}_showtable_db_ms`] = round(allMs, 1);
      figures[`n${n}_nsclient_showtable_ms`] = round(cliMs, 1);
    }
    if (kill) {
      const n = steps[steps.length - 1]!;
      const killed = await killLeaderTablet(c, {
        dir, db: DB, tableNames: Array.from({ length: n }, (_, i) => `t${i}`), partitions: PARTITIONS,
        tablets: new Map(Array.from({ length: tablets }, (_, i) => [i + 1, cl.tabletEndpoint(i + 1)] as [number, string])),
        nameservers: [cl.nameserverEndpoint(1), cl.nameserverEndpoint(2)],
      });
      for (const [k, v] of Object.entries(killed)) figures[`n${n}_${k}`] = v;
    }
    ok = true;
    return figures;
  } finally {
    await client?.close().catch(() => undefined);
    await cluster?.down();
    // TESSERA_BENCH_KEEP_DIR=1 keeps the cluster's directory (role logs, ZooKeeper's GC log).
    if (ok && process.env['TESSERA_BENCH_KEEP_DIR'] !== '1') removeDir(dir);
    else process.stdout.write(`cluster directory kept: ${dir}\n`);
  }
}
