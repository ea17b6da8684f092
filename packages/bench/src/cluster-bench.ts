/**
 * `pnpm bench cluster`: a real cluster (ZooKeeper, one nameserver, three tablets) driven through
 * the SDK. For each replica_ack (`all`, `leader`) a table of 8 partitions × 3 replicas gets
 * single-row puts at 64 in flight, batches of 100 rows at 8 in flight, and gets at 64 in flight.
 * In the same run, the raw classic-level chained-batch rate in one process bounds them: every row
 * is written three times on this one machine, so raw ÷ 3 is the limit. Last line: one JSON object.
 */
import path from 'node:path';
import { waitFor } from '@tessera/common';
import { tempDir, removeDir } from '@tessera/testkit';
import { fullyReplicated, roleLogWarnings, startRoleCluster, type RoleCluster } from './bench-cluster.js';
import { measureRawLevel } from './raw-level.js';
import { printFigure, round, runLoad, type LoadResult } from './measure.js';
import { cpuMeter, peakRssMiB } from './proc-stats.js';
import { BENCH_COLUMNS, BENCH_INDEXES, BENCH_PAYLOAD } from './bench-row.js';

const DURATION_MS = Number(process.env.TESSERA_BENCH_DURATION_MS ?? 5000);
/** Load run before each measured phase and not counted: the role processes' JIT warm-up. */
const WARMUP_MS = Number(process.env.TESSERA_BENCH_WARMUP_MS ?? 2000);
/**
 * Load run once, before the first phase and not counted, so that the figures are of tablets in
 * their steady state, as a cluster that has been running is: single-row puts at 64 in flight.
 * V8 was still optimising after 2 s: `all` puts measured 9,257/s after 2 s of warm-up, 10,854 after 8 s,
 * 11,467 after 15 s (docs/benchmarks.md, session 15). 0 = none.
 */
const STEADY_WARMUP_MS = Number(process.env.TESSERA_BENCH_STEADY_WARMUP_MS ?? 15_000);
const DB = 'bench_db';
const ZK_ROOT = '/bench';
const PARTITIONS = 8;
const REPLICAS = 3;
const KEYS = 10_000;
/** The raw rate is measured with the value size the tablet benchmark uses for these rows. */
const RAW_VALUE_BYTES = 100;
const READY_TIMEOUT_MS = 60_000;
const MODES = ['all', 'leader'] as const;
type Mode = (typeof MODES)[number];
const PHASES = ['put', 'batch', 'get'] as const;
type Phase = (typeof PHASES)[number];
/**
 * `TESSERA_BENCH_ONLY=all.put,leader.get` runs only those phases (e.g. under `--cpu-prof`);
 * default every phase of every mode.
 */
const ONLY = (process.env.TESSERA_BENCH_ONLY ?? '').split(',').map((x) => x.trim()).filter((x) => x.length > 0);
const runs = (mode: Mode, phase: Phase): boolean => ONLY.length === 0 || ONLY.includes(`${mode}.${phase}`);
const SKIPPED: LoadResult = { ops: 0, errors: 0, seconds: 0, perSecond: 0, p50Ms: 0, p99Ms: 0 };
/** Processes whose CPU is counted per operation (the client is this process). */
const ROLES = ['tablets', 'nameserver', 'zookeeper', 'client'] as const;

interface ModeFigures {
  put: LoadResult;
  batch: LoadResult;
  get: LoadResult;
  /** Fewest in-sync followers of any partition, seen after each write phase. */
  inSyncMin: number;
  /** CPU microseconds per operation (per row for batches) in each role, per phase. */
  cpuUs: Record<Phase, Record<string, number>>;
  /** Single-row puts the SDK sent per request (its coalescing). */
  rowsPerRequest: number;
  /** Per coalesced put request of the SDK: the batching at the next hops (tablets' counters). */
  hops: PutHops;
  /** Gets the SDK sent per request. */
  getsPerRequest: number;
}

export async function benchCluster(): Promise<Record<string, number>> {
  const dir = tempDir('bench-cluster');
  let cluster: RoleCluster | undefined;
  const firstErrors = new Map<string, string>();
  try {
    process.stdout.write(`cluster benchmark: ${DURATION_MS} ms per figure after ${WARMUP_MS} ms of warm-up load, and ${STEADY_WARMUP_MS} ms of puts before the first; ZooKeeper, 1 nameserver, 3 tablets and the SDK all on this machine\n`);
    // A partial run (profiling) skips the bound, so that it does not show in the client's profile.
    const raw = ONLY.length === 0 ? await measureRawLevel(path.join(dir, 'raw'), 300_000, RAW_VALUE_BYTES, 100) : { rawBatchRowsPerS: 0 };

    cluster = await startRoleCluster(dir, { zkRoot: ZK_ROOT, db: DB, tablets: 3, connectionsPerTablet: 64, requestTimeoutMs: 30_000 });
    const { zk, nameserver: ns, tablets, client: c } = cluster;
    const pids: Record<string, number> = { nameserver: ns.pid, zookeeper: zk.pid };
    tablets.forEach((t, i) => (pids[`tablet${i + 1}`] = t.pid));
    const tabletEndpoints = tablets.map((t) => t.endpoint);
    /**
     * Runs one phase — `WARMUP_MS` of the same load first, not counted, so that the figures are
     * of JIT-compiled code — and its CPU cost per unit in each role (the three tablets summed).
     * `started` is called when the measured part starts.
     */
    const measured = async (concurrency: number, op: () => Promise<number>, started?: () => void | Promise<void>): Promise<[LoadResult, Record<string, number>]> => {
      if (WARMUP_MS > 0) await runLoad(concurrency, WARMUP_MS, op);
      await started?.();
      const meter = cpuMeter(pids);
      const startUs = process.hrtime.bigint() / 1000n;
      if (ONLY.length > 0) process.stderr.write(`phase start monotonic_us ${startUs}\n`);
      const result = await runLoad(concurrency, DURATION_MS, op);
      const used = meter.stop();
      // The phase's window on the monotonic clock that --cpu-prof timestamps use, so that every
      // process's profile can be cut to it (docs/benchmarks.md, "Where the time goes").
      if (ONLY.length > 0) process.stderr.write(`phase window monotonic_us ${startUs} ${process.hrtime.bigint() / 1000n}\n`);
      const n = Math.max(1, result.ops);
      const perUnit: Record<string, number> = {
        tablets: round((used.tablet1! + used.tablet2! + used.tablet3!) / n, 1),
        nameserver: round(used.nameserver! / n, 1),
        zookeeper: round(used.zookeeper! / n, 1),
        client: round(used.client! / n, 1),
      };
      return [result, perUnit];
    };
    for (const mode of MODES) {
      await c.createTable(DB, { name: `bench_${mode}`, partitionNum: PARTITIONS, replicaNum: REPLICAS, replicaAck: mode, columns: [...BENCH_COLUMNS], indexes: BENCH_INDEXES });
      await waitFor(`bench_${mode}: every partition with a leader and 2 alive in-sync followers`, async () => fullyReplicated((await c.admin.showschema({ db: DB, name: `bench_${mode}` })).table, PARTITIONS, REPLICAS), { timeoutMs: READY_TIMEOUT_MS, intervalMs: 100 });
      // One row per key, so that gets find rows and every leader is known to serve.
      await waitFor(`bench_${mode}: warm-up writes accepted`, async () => {
        for (let k = 0; k < KEYS; k += 500) await c.putBatch(DB, `bench_${mode}`, Array.from({ length: 500 }, (_, i) => row(k + i)));
        return (await c.get(DB, `bench_${mode}`, { key: 'k0' })) !== undefined;
      }, { timeoutMs: READY_TIMEOUT_MS, intervalMs: 500 });
    }

    const byMode = {} as Record<Mode, ModeFigures>;
    let seq = KEYS;
    if (STEADY_WARMUP_MS > 0) {
      await runLoad(64, STEADY_WARMUP_MS, async () => {
        await c.put(DB, `bench_${MODES[0]}`, row(seq++));
        return 1;
      });
    }
    for (const mode of MODES) {
      const table = `bench_${mode}`;
      const track = (phase: string, op: () => Promise<number>) => async (): Promise<number> => {
        try {
          return await op();
        } catch (err) {
          const key = `${mode} ${phase}`;
          if (!firstErrors.has(key)) firstErrors.set(key, (err as Error)?.message ?? String(err));
          throw err;
        }
      };
      const inSyncNow = async (): Promise<number> => Math.min(...(await c.admin.showschema({ db: DB, name: table })).table.partitions.map((p) => p.inSync.length));
      const none = (): Promise<[LoadResult, Record<string, number>]> => Promise.resolve([SKIPPED, {}]);
      let statsBefore = c.data.putStats;
      let hopsBefore = await hopCounters(tabletEndpoints);
      const [put, putCpu] = runs(mode, 'put') ? await measured(64, track('put', async () => {
        await c.put(DB, table, row(seq++));
        return 1;
      }), async () => {
        statsBefore = c.data.putStats;
        hopsBefore = await hopCounters(tabletEndpoints);
      }) : await none();
      const statsAfter = c.data.putStats;
      const hops = perRequest(hopsBefore, await hopCounters(tabletEndpoints), statsAfter.requests - statsBefore.requests);
      const rowsPerRequest = (statsAfter.rows - statsBefore.rows) / Math.max(1, statsAfter.requests - statsBefore.requests);
      let inSyncMin = await inSyncNow();
      const [batch, batchCpu] = runs(mode, 'batch') ? await measured(8, track('putBatch', async () => {
        const rows = Array.from({ length: 100 }, () => row(seq++));
        await c.putBatch(DB, table, rows);
        return 100;
      })) : await none();
      inSyncMin = Math.min(inSyncMin, await inSyncNow());
      let getsBefore = c.data.getStats;
      const [get, getCpu] = runs(mode, 'get') ? await measured(64, track('get', async () => {
        await c.get(DB, table, { key: `k${Math.floor(Math.random() * KEYS)}` });
        return 1;
      }), () => { getsBefore = c.data.getStats; }) : await none();
      const getsAfter = c.data.getStats;
      const getsPerRequest = (getsAfter.gets - getsBefore.gets) / Math.max(1, getsAfter.requests - getsBefore.requests);
      const cpuUs = { put: putCpu, batch: batchCpu, get: getCpu };
      byMode[mode] = { put, batch, get, inSyncMin, cpuUs, rowsPerRequest, hops, getsPerRequest };
    }

    const limit = raw.rawBatchRowsPerS / REPLICAS;
    const figures: Record<string, number> = {
      raw_batch_rows_per_s: round(raw.rawBatchRowsPerS),
      limit_rows_per_s: round(limit),
    };
    let errors = 0;
    for (const mode of MODES) {
      const m = byMode[mode];
      Object.assign(figures, {
        [`${mode}_put_rows_per_s`]: round(m.put.perSecond),
        [`${mode}_put_p50_ms`]: m.put.p50Ms,
        [`${mode}_put_p99_ms`]: m.put.p99Ms,
        [`${mode}_put_rows_per_request`]: round(m.rowsPerRequest, 1),
        [`${mode}_put_append_requests_per_request`]: m.hops.appendRequests,
        [`${mode}_put_append_parts_per_append_request`]: m.hops.partsPerAppendRequest,
        [`${mode}_put_entries_per_append_part`]: m.hops.entriesPerPart,
        [`${mode}_put_leveldb_batches_per_request`]: m.hops.batches,
        [`${mode}_put_commits_per_leveldb_batch`]: m.hops.commitsPerBatch,
        [`${mode}_put_batch100_rows_per_s`]: round(m.batch.perSecond),
        [`${mode}_put_batch100_p99_ms`]: m.batch.p99Ms,
        [`${mode}_get_per_s`]: round(m.get.perSecond),
        [`${mode}_get_p99_ms`]: m.get.p99Ms,
        [`${mode}_gets_per_request`]: round(m.getsPerRequest, 1),
        [`${mode}_in_sync_followers_min`]: m.inSyncMin,
        [`${mode}_errors`]: m.put.errors + m.batch.errors + m.get.errors,
        [`ratio_batch_${mode}`]: round(m.batch.perSecond / limit, 3),
        [`ratio_put_${mode}`]: round(m.put.perSecond / limit, 3),
      });
      errors += m.put.errors + m.batch.errors + m.get.errors;
    }
    figures.errors = errors;
    for (const mode of MODES) {
      for (const phase of PHASES) {
        const cpu = byMode[mode].cpuUs[phase];
        for (const r of ROLES) if (cpu[r] !== undefined) figures[`${mode}_${phase}_cpu_us_${r}`] = cpu[r];
      }
    }
    figures.peak_rss_mib_client = round(peakRssMiB(process.pid), 1);
    figures.peak_rss_mib_tablet_max = round(Math.max(...tablets.map((t) => peakRssMiB(t.pid))), 1);
    figures.peak_rss_mib_nameserver = round(peakRssMiB(ns.pid), 1);
    figures.peak_rss_mib_zookeeper = round(peakRssMiB(zk.pid), 1);
    const warnings = roleLogWarnings(dir, ['ns', 't1', 't2', 't3']).map(({ file, line }) => `${file}: ${line}`);
    figures.role_log_warnings = warnings.length;

    for (const mode of MODES) {
      const m = byMode[mode];
      process.stdout.write(`-- replica_ack=${mode} (${PARTITIONS} partitions × ${REPLICAS} replicas)\n`);
      printFigure('single-row puts, 64 in flight', figures[`${mode}_put_rows_per_s`]!, `rows/s (p50 ${m.put.p50Ms} ms, p99 ${m.put.p99Ms} ms; ${round(m.rowsPerRequest, 1)} rows a request)`);
      printFigure('  each put request then made', m.hops.appendRequests, `append requests (${m.hops.partsPerAppendRequest} partitions of ${m.hops.entriesPerPart} entries each), ${m.hops.batches} LevelDB batches (${m.hops.commitsPerBatch} replica commits each) in the three tablets`);
      printFigure('putBatch of 100 rows, 8 in flight', figures[`${mode}_put_batch100_rows_per_s`]!, `rows/s (p99 ${m.batch.p99Ms} ms a batch)`);
      printFigure('gets, 64 in flight', figures[`${mode}_get_per_s`]!, `gets/s (p99 ${m.get.p99Ms} ms; ${round(m.getsPerRequest, 1)} gets a request)`);
      printFigure('ratio batched / limit', figures[`ratio_batch_${mode}`]!);
      printFigure('ratio single puts / limit', figures[`ratio_put_${mode}`]!);
      printFigure('fewest in-sync followers seen', m.inSyncMin, `of ${REPLICAS - 1}`);
      printFigure('errors', figures[`${mode}_errors`]!);
      for (const phase of PHASES) {
        const cpu = m.cpuUs[phase];
        if (cpu.client === undefined) continue;
        printFigure(`CPU µs per ${phase === 'batch' ? 'batched row' : phase}`, ROLES.map((r) => `${r} ${cpu[r]}`).join(', '));
      }
    }
    process.stdout.write('-- peak RSS (MiB)\n');
    printFigure('client / tablet (max) / ns / zk', `${figures.peak_rss_mib_client} / ${figures.peak_rss_mib_tablet_max} / ${figures.peak_rss_mib_nameserver} / ${figures.peak_rss_mib_zookeeper}`);
    process.stdout.write('-- the bound\n');
    printFigure('raw classic-level chained batch', figures.raw_batch_rows_per_s!, `rows/s (one process, ${RAW_VALUE_BYTES}-byte values)`);
    printFigure('limit = raw / 3', figures.limit_rows_per_s!, 'rows/s (each row is written 3 times here)');
    if (byMode.all.inSyncMin < REPLICAS - 1) process.stdout.write(`warning: a follower left an in-sync set during the replica_ack=all run, so some of its writes were acknowledged by fewer than ${REPLICAS} replicas\n`);
    for (const [what, msg] of firstErrors) process.stdout.write(`first error in ${what}: ${msg}\n`);
    printFigure('WARN/ERROR lines in role logs', warnings.length);
    for (const l of warnings.slice(0, 5)) process.stdout.write(`  ${l.slice(0, 300)}\n`);
    return figures;
  } finally {
    await cluster?.stop();
    // TESSERA_BENCH_KEEP_DIR=1 keeps the cluster's directory (role logs, LevelDB's LOG files).
    if (process.env['TESSERA_BENCH_KEEP_DIR'] === '1') process.stdout.write(`cluster directory kept: ${dir}\n`);
    else removeDir(dir);
  }
}

function row(n: number): Record<string, string | number> {
  return { key: `k${n % KEYS}`, ts: 1_000_000 + n, payload: BENCH_PAYLOAD, n };
}

/** The tablets' batching counters (docs/benchmarks.md: the hops of a put), summed. */
interface HopCounters { requests: number; parts: number; entries: number; batches: number; commits: number }
interface PutHops { appendRequests: number; partsPerAppendRequest: number; entriesPerPart: number; batches: number; commitsPerBatch: number }

const HOP_METRICS: Record<keyof HopCounters, string> = {
  requests: 'tessera_replication_append_requests_total', parts: 'tessera_replication_append_parts_total',
  entries: 'tessera_replication_append_entries_total', batches: 'tessera_storage_batches_total', commits: 'tessera_storage_commits_total',
};

async function hopCounters(endpoints: string[]): Promise<HopCounters> {
  const sum: HopCounters = { requests: 0, parts: 0, entries: 0, batches: 0, commits: 0 };
  for (const ep of endpoints) {
    const text = await (await fetch(`http://${ep}/metrics`)).text();
    for (const [k, name] of Object.entries(HOP_METRICS) as Array<[keyof HopCounters, string]>) {
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
      if (m) sum[k] += Number(m[1]);
    }
  }
  return sum;
}

function perRequest(a: HopCounters, b: HopCounters, requests: number): PutHops {
  const d = (k: keyof HopCounters): number => b[k] - a[k];
  return {
    appendRequests: round(d('requests') / Math.max(1, requests), 2),
    partsPerAppendRequest: round(d('parts') / Math.max(1, d('requests')), 2),
    entriesPerPart: round(d('entries') / Math.max(1, d('parts')), 1),
    batches: round(d('batches') / Math.max(1, requests), 2),
    commitsPerBatch: round(d('commits') / Math.max(1, d('batches')), 2),
  };
}

