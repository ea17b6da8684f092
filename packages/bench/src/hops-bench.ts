/**
 * `pnpm bench hops`: what one replicated write costs at each hop, measured without ZooKeeper, a
 * nameserver or the SDK — real tablet processes driven over HTTP/msgpack as the SDK and a leader
 * drive them (issue 11). Three set-ups, each at a small and a large request, so that a row's own
 * cost and a request's fixed cost can be told apart (`splitCost`):
 * - leader: one tablet leading 3 partitions with no followers; `put_multi` of R rows over the 3, 4 in flight;
 * - follower: one tablet holding 12 follower replicas; `append_multi` of 3 parts, E entries each, from 4 streams;
 * - chain: three tablets, 9 partitions, partition p led by tablet p % 3 with its followers on the
 *   other two (`replica_ack=all`); one `put_multi` loop per leader tablet, as the SDK sends with
 *   64 puts in flight (~16 rows a request).
 * A chain's row is written by one leader and two followers, so its cost is set against
 * leader + 2 × follower, measured alone: what is left is what the chain itself adds (replication's
 * sending and acknowledging, and three processes sharing two cores).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { HttpClient } from '@tessera/common';
import { spawnRole, stopAllRoles, tempDir, removeDir, type RoleProcess } from '@tessera/testkit';
import { benchRowValues, benchSchema } from './bench-row.js';
import { cpuMicros, mainThreadCpuMicros } from './proc-stats.js';
import { printFigure, round, runLoad, type LoadResult } from './measure.js';

const DURATION_MS = Number(process.env.TESSERA_BENCH_DURATION_MS ?? 5000);
const WARMUP_MS = Number(process.env.TESSERA_BENCH_WARMUP_MS ?? 3000);
/** Rows a request in the small and the large case (the small one is the SDK's at 64 puts in flight). */
const SMALL_ROWS = 16;
const LARGE_ROWS = 160;
/** Partitions a request spans (the SDK's `put_multi` spans ~2.6 of a tablet's partitions). */
const PARTS = 3;
const LEADER_IN_FLIGHT = 4;
const FOLLOWER_STREAMS = 4;
const KEYS = 100_000;
const HTTP_TIMEOUT_MS = 30_000;

const schema = benchSchema('hops');

/** A measured run: rows a second and CPU µs a row (tablets summed, their main threads, the client). */
export interface HopRun {
  rowsPerRequest: number;
  rowsPerS: number;
  tabletUsPerRow: number;
  mainThreadUsPerRow: number;
  clientUsPerRow: number;
  errors: number;
}

/**
 * A row's own cost and a request's fixed cost from two runs at different request sizes, on the
 * model cost a row = perRow + perRequest / rowsPerRequest. Pure; undefined when the sizes are equal.
 */
export function splitCost(small: { rowsPerRequest: number; usPerRow: number }, large: { rowsPerRequest: number; usPerRow: number }): { perRowUs: number; perRequestUs: number } | undefined {
  const di = 1 / small.rowsPerRequest - 1 / large.rowsPerRequest;
  if (di === 0) return undefined;
  const perRequestUs = (small.usPerRow - large.usPerRow) / di;
  return { perRowUs: large.usPerRow - perRequestUs / large.rowsPerRequest, perRequestUs };
}

let seq = 0;
let writeIds = 0;
function nextRow(): unknown[] {
  return benchRowValues(seq++, KEYS);
}

/** Warm-up, then the measured load; CPU of `tablets` and of this process per row. */
async function measure(tablets: RoleProcess[], rowsPerRequest: number, concurrency: number, op: (loop: number) => Promise<number>): Promise<HopRun> {
  if (WARMUP_MS > 0) await runLoad(concurrency, WARMUP_MS, op);
  const cpu0 = tablets.map((t) => cpuMicros(t.pid));
  const main0 = tablets.map((t) => mainThreadCpuMicros(t.pid));
  const client0 = process.cpuUsage();
  const result: LoadResult = await runLoad(concurrency, DURATION_MS, op);
  const cpu = tablets.reduce((s, t, i) => s + cpuMicros(t.pid) - cpu0[i]!, 0);
  const main = tablets.reduce((s, t, i) => s + mainThreadCpuMicros(t.pid) - main0[i]!, 0);
  const client = process.cpuUsage(client0);
  const rows = Math.max(1, result.ops);
  return {
    rowsPerRequest,
    rowsPerS: round(result.perSecond),
    tabletUsPerRow: round(cpu / rows, 1),
    mainThreadUsPerRow: round(main / rows, 1),
    clientUsPerRow: round((client.user + client.system) / rows, 1),
    errors: result.errors,
  };
}

/** Throws when any part of a multi-part answer was refused (the run counts it as an error). */
function failedParts(res: { results?: Array<{ error?: unknown }> }): void {
  const bad = res.results?.find((r) => r.error !== undefined);
  if (bad) throw new Error(`a part was refused: ${JSON.stringify(bad)}`);
}

/** Rows of one `put_multi`, dealt over `pids` in turn. */
function putMultiBody(tid: number, pids: number[], rows: number): { parts: Array<{ tid: number; pid: number; rows: unknown[] }> } {
  const parts = pids.map((pid) => ({ tid, pid, rows: [] as unknown[] }));
  for (let i = 0; i < rows; i++) parts[i % parts.length]!.rows.push({ row: nextRow(), writeId: `hops-${writeIds++}` });
  return { parts };
}

async function leaderAlone(dir: string, http: HttpClient, rows: number): Promise<HopRun> {
  const tablet = await spawnRole('tablet', { db_root_path: path.join(dir, 'db'), zk_cluster: '', log_level: 'warn' }, { logFile: path.join(dir, 'tablet.log') });
  try {
    const pids = Array.from({ length: PARTS }, (_, i) => i);
    for (const pid of pids) await http.call(tablet.endpoint, '/v1/control/create_replica', { tid: 1, pid, schema, role: 'leader', term: 1 });
    return await measure([tablet], rows, LEADER_IN_FLIGHT, async () => {
      failedParts(await http.call(tablet.endpoint, '/v1/data/put_multi', putMultiBody(1, pids, rows)));
      return rows;
    });
  } finally {
    await tablet.stop();
  }
}

async function followerAlone(dir: string, http: HttpClient, rows: number): Promise<HopRun> {
  const tablet = await spawnRole('tablet', { db_root_path: path.join(dir, 'db'), zk_cluster: '', log_level: 'warn' }, { logFile: path.join(dir, 'tablet.log') });
  const entriesPerPart = Math.max(1, Math.round(rows / PARTS));
  try {
    const offsets = new Map<string, number>();
    for (let s = 0; s < FOLLOWER_STREAMS; s++) {
      for (let pid = 0; pid < PARTS; pid++) {
        await http.call(tablet.endpoint, '/v1/control/create_replica', { tid: 10 + s, pid, schema, role: 'follower', term: 1 });
        offsets.set(`${10 + s}_${pid}`, 0);
      }
    }
    // Each stream appends to its own replicas, one request at a time, as a leader's stream does.
    return await measure([tablet], entriesPerPart * PARTS, FOLLOWER_STREAMS, async (loop) => {
      const tid = 10 + (loop % FOLLOWER_STREAMS);
      const parts = Array.from({ length: PARTS }, (_, pid) => {
        const from = offsets.get(`${tid}_${pid}`)!;
        const entries = Array.from({ length: entriesPerPart }, (_, i) => {
          const values = nextRow();
          return { offset: from + i + 1, term: 1, kind: 'put', ts: values[1], values, writeId: `hops-${writeIds++}` };
        });
        offsets.set(`${tid}_${pid}`, from + entriesPerPart);
        return { tid, pid, term: 1, entries };
      });
      failedParts(await http.call(tablet.endpoint, '/v1/replica/append_multi', { parts }));
      return entriesPerPart * PARTS;
    });
  } finally {
    await tablet.stop();
  }
}

async function chain(dir: string, http: HttpClient, rows: number): Promise<HopRun> {
  const tablets: RoleProcess[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      tablets.push(await spawnRole('tablet', { db_root_path: path.join(dir, `t${i}`), zk_cluster: '', log_level: 'warn' }, { logFile: path.join(dir, `t${i}.log`) }));
    }
    const endpoints = tablets.map((t) => t.endpoint);
    for (let pid = 0; pid < 3 * PARTS; pid++) {
      const leader = endpoints[pid % 3]!;
      const followers = endpoints.filter((e) => e !== leader);
      for (const f of followers) await http.call(f, '/v1/control/create_replica', { tid: 1, pid, schema, role: 'follower', term: 1 });
      await http.call(leader, '/v1/control/create_replica', { tid: 1, pid, schema, role: 'leader', term: 1, followers, replicaAck: 'all' });
      await http.call(leader, '/v1/control/set_in_sync', { tid: 1, pid, term: 1, inSync: followers });
    }
    return await measure(tablets, rows, 3, async (loop) => {
      const t = loop % 3;
      const pids = Array.from({ length: PARTS }, (_, j) => t + 3 * j);
      failedParts(await http.call(endpoints[t]!, '/v1/data/put_multi', putMultiBody(1, pids, rows)));
      return rows;
    });
  } finally {
    for (const t of tablets) await t.stop();
  }
}

function printRun(name: string, r: HopRun): void {
  printFigure(`${name}, ${r.rowsPerRequest} rows a request`, r.rowsPerS, `rows/s; CPU µs a row: tablets ${r.tabletUsPerRow} (main threads ${r.mainThreadUsPerRow}), client ${r.clientUsPerRow}`);
}

export async function benchHops(): Promise<Record<string, number>> {
  const dir = tempDir('bench-hops');
  const http = new HttpClient({ connectionsPerEndpoint: 16, timeoutMs: HTTP_TIMEOUT_MS });
  const figures: Record<string, number> = {};
  try {
    process.stdout.write(`hops benchmark: ${DURATION_MS} ms per figure after ${WARMUP_MS} ms of warm-up; tablet processes over HTTP, no ZooKeeper, nameserver or SDK\n\n`);
    const runs = {} as Record<'leader' | 'follower' | 'chain', [HopRun, HopRun]>;
    const subdir = (name: string): string => {
      const d = path.join(dir, name);
      mkdirSync(d, { recursive: true });
      return d;
    };
    for (const [name, run] of [['leader', leaderAlone], ['follower', followerAlone], ['chain', chain]] as const) {
      const small = await run(subdir(`${name}-small`), http, SMALL_ROWS);
      printRun(name, small);
      const large = await run(subdir(`${name}-large`), http, LARGE_ROWS);
      printRun(name, large);
      runs[name] = [small, large];
      figures[`${name}_rows_per_s`] = small.rowsPerS;
      figures[`${name}_us_per_row`] = small.tabletUsPerRow;
      figures[`${name}_large_rows_per_s`] = large.rowsPerS;
      figures[`${name}_large_us_per_row`] = large.tabletUsPerRow;
      figures.errors = (figures.errors ?? 0) + small.errors + large.errors;
    }
    const split = (name: 'leader' | 'follower' | 'chain') => {
      const [s, l] = runs[name];
      return splitCost({ rowsPerRequest: s.rowsPerRequest, usPerRow: s.tabletUsPerRow }, { rowsPerRequest: l.rowsPerRequest, usPerRow: l.tabletUsPerRow })!;
    };
    const leader = split('leader');
    const follower = split('follower');
    const whole = split('chain');
    for (const [name, c] of [['leader', leader], ['follower', follower], ['chain', whole]] as const) {
      printFigure(`${name}: a row / a request`, `${round(c.perRowUs, 1)} / ${round(c.perRequestUs)}`, 'tablet CPU µs');
      figures[`${name}_row_us`] = round(c.perRowUs, 1);
      figures[`${name}_request_us`] = round(c.perRequestUs);
    }
    const aloneRow = leader.perRowUs + 2 * follower.perRowUs;
    const aloneRequest = leader.perRequestUs + 2 * follower.perRequestUs;
    printFigure('leader + 2 × follower alone: a row / a request', `${round(aloneRow, 1)} / ${round(aloneRequest)}`, 'tablet CPU µs');
    printFigure('what the chain adds: a row / a request', `${round(whole.perRowUs - aloneRow, 1)} / ${round(whole.perRequestUs - aloneRequest)}`, 'tablet CPU µs');
    figures.chain_added_row_us = round(whole.perRowUs - aloneRow, 1);
    figures.chain_added_request_us = round(whole.perRequestUs - aloneRequest);
    printFigure('errors', figures.errors ?? 0);
    return figures;
  } finally {
    await http.close();
    await stopAllRoles();
    removeDir(dir);
  }
}
