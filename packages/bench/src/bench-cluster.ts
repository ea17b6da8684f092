/**
 * The clusters the benchmarks run on, and what they all do to them: a cluster of role processes
 * spawned by testkit (`startRoleCluster`, for cluster and migrate), one brought up by
 * `scripts/cluster.sh up` on a free port range (`clusterScriptUp`, for failover and scale), a bulk
 * load in batches with a few calls in flight (`loadInBatches`), the two convergence checks
 * (`fullyReplicated`, `sameChecksums`), and what the role logs say: their WARN/ERROR lines and the
 * tablets' slow-request lines.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { logLineLevel, prettyLine, SLOW_REQUEST_MSG, waitFor, type HttpClient, type TableInfo } from '@tessera/common';
import { Client } from '@tessera/client';
import { freePortRange, runScript, spawnRole, startZooKeeper, stopAllRoles, type FlagMap, type RoleProcess, type ZkServer } from '@tessera/testkit';

/** pino's number for WARN. */
const LOG_LEVEL_WARN = 40;

export interface RoleCluster {
  zk: ZkServer;
  nameserver: RoleProcess;
  tablets: RoleProcess[];
  client: Client;
  /** Closes the client, stops every role and ZooKeeper. Idempotent. */
  stop(): Promise<void>;
}

/** From spawn until every tablet is healthy in the nameserver's view. */
const READY_TIMEOUT_MS = 60_000;
const READY_POLL_MS = 100;

/**
 * ZooKeeper (under `dir`/zk), one nameserver (log `dir`/ns.log) and `tablets` tablets (data
 * `dir`/t<i>, log `dir`/t<i>.log), all at log level warn; an SDK client connected; every tablet
 * healthy; database `db` created. On a failure everything started is stopped.
 */
export async function startRoleCluster(dir: string, o: {
  zkRoot: string; db: string; tablets: number; connectionsPerTablet: number; requestTimeoutMs: number;
  nameserverFlags?: FlagMap; tabletFlags?: FlagMap;
}): Promise<RoleCluster> {
  let zk: ZkServer | undefined;
  let client: Client | undefined;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await client?.close().catch(() => undefined);
    await stopAllRoles();
    await zk?.stop();
  };
  try {
    zk = await startZooKeeper({ dir: path.join(dir, 'zk') });
    const common = { zk_cluster: zk.connectString, zk_root_path: o.zkRoot, log_level: 'warn' };
    const nameserver = await spawnRole('nameserver', { ...common, ...o.nameserverFlags }, { logFile: path.join(dir, 'ns.log') });
    const tablets: RoleProcess[] = [];
    for (let i = 1; i <= o.tablets; i++) {
      tablets.push(await spawnRole('tablet', { ...common, db_root_path: path.join(dir, `t${i}`), ...o.tabletFlags }, { logFile: path.join(dir, `t${i}.log`) }));
    }
    const c = (client = await Client.connect({ zkCluster: zk.connectString, zkRootPath: o.zkRoot, connectionsPerTablet: o.connectionsPerTablet, requestTimeoutMs: o.requestTimeoutMs }));
    await waitFor(`${o.tablets} healthy tablets`, async () => (await c.admin.showtablet({})).tablets.filter((x) => x.state === 'kTabletHealthy').length === o.tablets, { timeoutMs: READY_TIMEOUT_MS, intervalMs: READY_POLL_MS });
    await c.createDatabase(o.db);
    return { zk, nameserver, tablets, client: c, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface ScriptCluster {
  base: number;
  zkCluster: string;
  /** host:port of cluster.sh's tablet i (1-based). */
  tabletEndpoint(i: number): string;
  /** host:port of cluster.sh's nameserver i (1-based). */
  nameserverEndpoint(i: number): string;
  /** `cluster.sh down`, if `up` got as far as writing its env file. */
  down(): Promise<void>;
}

/** cluster.sh's layout: ZooKeeper at P, nameservers at P+1.., tablets at P+21.. */
const CLUSTER_SH_TABLET_PORT_OFFSET = 20;
/** Ports reserved beyond the last tablet's. */
const CLUSTER_SH_PORT_SLACK = 9;

/**
 * `scripts/cluster.sh up --dir dir --tablets n` with its other defaults, on a free port range, or
 * from `TESSERA_BENCH_BASE_PORT` when set (several people benchmarking on one machine).
 */
export async function clusterScriptUp(dir: string, tablets: number): Promise<ScriptCluster> {
  const fixedBase = Number(process.env['TESSERA_BENCH_BASE_PORT'] ?? '');
  const base = Number.isInteger(fixedBase) && fixedBase > 0 ? fixedBase : await freePortRange(CLUSTER_SH_TABLET_PORT_OFFSET + tablets + CLUSTER_SH_PORT_SLACK);
  const cluster: ScriptCluster = {
    base,
    zkCluster: `127.0.0.1:${base}`,
    tabletEndpoint: (i) => `127.0.0.1:${base + CLUSTER_SH_TABLET_PORT_OFFSET + i}`,
    nameserverEndpoint: (i) => `127.0.0.1:${base + i}`,
    down: async () => {
      if (existsSync(path.join(dir, 'cluster.env'))) await runScript('cluster.sh', ['down', '--dir', dir]);
    },
  };
  const up = await runScript('cluster.sh', ['up', '--dir', dir, '--base-port', String(base), '--tablets', String(tablets)]);
  if (up.code !== 0) {
    await cluster.down();
    throw new Error(`cluster.sh up failed:\n${up.out}`);
  }
  return cluster;
}

/**
 * Rows [0, total) written in batches of `batchRows` by `inFlight` loops; `put(from, to)` writes
 * rows [from, to). A batch that fails is tried again up to `retries` times, then the load fails.
 */
export async function loadInBatches(total: number, o: { batchRows: number; inFlight: number; retries: number }, put: (from: number, to: number) => Promise<void>): Promise<{ seconds: number; retried: number }> {
  const t0 = performance.now();
  let next = 0;
  let retried = 0;
  await Promise.all(Array.from({ length: o.inFlight }, async () => {
    while (next < total) {
      const from = next;
      next = Math.min(total, from + o.batchRows);
      for (let attempt = 0; ; attempt++) {
        try {
          await put(from, next);
          break;
        } catch (err) {
          if (attempt >= o.retries) throw err;
          retried++;
        }
      }
    }
  }));
  return { seconds: (performance.now() - t0) / 1000, retried };
}

/** Every partition (`partitions` of them) has `replicas` alive replicas, one leader, and all its followers in sync. */
export function fullyReplicated(t: TableInfo, partitions: number, replicas: number): boolean {
  return t.partitions.length === partitions && t.partitions.every((p) =>
    p.replicas.length === replicas && p.replicas.every((r) => r.isAlive) && p.replicas.filter((r) => r.isLeader).length === 1 && p.inSync.length === replicas - 1);
}

export interface ReplicaChecksum {
  rows: number;
  sha256: string;
  offset: number;
}

/** The checksums of replica (tid, pid) on `endpoints`, if they are all equal; else undefined. */
export async function sameChecksums(http: HttpClient, endpoints: string[], tid: number, pid: number): Promise<ReplicaChecksum[] | undefined> {
  const sums = await Promise.all(endpoints.map((e) => http.call<ReplicaChecksum>(e, '/v1/control/checksum', { tid, pid })));
  return new Set(sums.map((x) => x.sha256)).size === 1 ? sums : undefined;
}

/** The lines of `dir`/<file>.log (none when there is no such log). */
function roleLogLines(dir: string, file: string): string[] {
  const p = path.join(dir, `${file}.log`);
  return existsSync(p) ? readFileSync(p, 'utf8').split('\n') : [];
}

/**
 * The WARN and ERROR (and FATAL) lines of `dir`/<file>.log for each of `files`, in the terminal
 * format (a missing log has none); without the slow-request lines when `slowRequests` is false
 * (a bench that set the threshold low on purpose counts them apart). Role logs written to a file
 * are JSON lines: matching the text ` WARN ` found none of them (every bench printed 0 until
 * session 12).
 */
export function roleLogWarnings(dir: string, files: string[], o: { slowRequests?: boolean } = {}): Array<{ file: string; line: string }> {
  return files.flatMap((file) => roleLogLines(dir, file)
    .filter((l) => (logLineLevel(l) ?? 0) >= LOG_LEVEL_WARN && (o.slowRequests !== false || slowRequestOf(l) === undefined))
    .map((line) => ({ file, line: prettyLine(line).trimEnd() })));
}

/** One line of a tablet's slow-request log (--slow_request_ms): which route, how long, when. */
export interface SlowRequestLine {
  file: string;
  /** Route pattern, e.g. `/v1/data/put_batch`. */
  route: string;
  ms: number;
  /** When it was logged (epoch ms, at the end of the request). */
  timeMs: number;
}

/** The fields of a slow-request line of a JSON log; undefined for any other line. */
function slowRequestOf(line: string): Omit<SlowRequestLine, 'file'> | undefined {
  if (!line.startsWith('{') || !line.includes(SLOW_REQUEST_MSG)) return undefined;
  let o: { msg?: string; slowRequest?: string; ms?: number; time?: number };
  try {
    o = JSON.parse(line) as typeof o;
  } catch {
    return undefined; // a line cut short (the role was writing it)
  }
  if (!o.msg?.startsWith(SLOW_REQUEST_MSG) || typeof o.slowRequest !== 'string' || typeof o.ms !== 'number' || typeof o.time !== 'number') return undefined;
  return { route: o.slowRequest, ms: o.ms, timeMs: o.time };
}

/** The slow-request lines of `dir`/<file>.log for each of `files` logged in [fromMs, toMs] (epoch ms). */
export function slowRequestLines(dir: string, files: string[], fromMs: number, toMs: number): SlowRequestLine[] {
  return files.flatMap((file) => roleLogLines(dir, file).flatMap((l) => {
    const r = slowRequestOf(l);
    return r !== undefined && r.timeMs >= fromMs && r.timeMs <= toMs ? [{ file, ...r }] : [];
  }));
}

/** Slow-request lines summed by file and route: `t1 put_batch 14 (max 80 ms)`, by file then count. */
export function summarizeSlowRequests(lines: SlowRequestLine[]): Array<{ file: string; route: string; count: number; maxMs: number }> {
  const by = new Map<string, { file: string; route: string; count: number; maxMs: number }>();
  for (const l of lines) {
    const k = `${l.file} ${l.route}`;
    const e = by.get(k) ?? { file: l.file, route: l.route, count: 0, maxMs: 0 };
    e.count++;
    e.maxMs = Math.max(e.maxMs, l.ms);
    by.set(k, e);
  }
  return [...by.values()].sort((a, b) => a.file.localeCompare(b.file) || b.count - a.count);
}
