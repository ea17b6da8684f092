/**
 * One chaos run (reliability.md §3.6): set up a cluster from the project's scripts in a fresh run
 * directory (ZooKeeper, 2 nameservers, 4 tablets; each in a network namespace of its own where
 * namespaces work, else on 127.0.0.1 behind proxies: network.ts), create a table of 8 partitions × 3
 * replicas, run the workload while the nemesis carries out the seed's schedule, heal, wait
 * (bounded) for convergence, read everything back (rows through the SDK, per-replica status and
 * content checksums from the tablets, ops and metadata), then check the recorded files
 * (figures.ts) and print the figures and a verdict. The run directory is kept when the run fails
 * (or with `keep`). Every process started is killed by pid at the end, even on error.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger, HttpClient, sleep, type ReplicaStatus, type TableInfo } from '@tessera/common';
import { Client } from '@tessera/client';
import { Cluster } from './cluster.js';
import { checkRun, formatSummary, type RunInfo, type Summary } from './figures.js';
import type { FinalPartition, FinalState, RowRef } from './history.js';
import { Nemesis } from './nemesis.js';
import { chooseNetMode, NamespaceNetwork, ProxyNetwork, type NetChoice, type NetworkControl } from './network.js';
import { Prng } from './prng.js';
import { Recorder } from './recorder.js';
import { BASE_FAULT_KINDS, makeSchedule, NETNS_FAULT_KINDS, PROXY_FAULT_KINDS } from './schedule.js';
import { Workload } from './workload.js';

export const RUN_LIMITS = {
  /** Tablets healthy and the table served after setup. */
  setupTimeoutMs: 90_000,
  /** Heal → converged; longer is a liveness failure. */
  quiesceTimeoutMs: 120_000,
  quiescePollMs: 500,
  /**
   * A converged look counts once the cluster still looks converged this long after it (a ZooKeeper
   * session timeout of the chaos cluster): the nameserver may still be answering the last fault.
   * Seed 678 in CI: converged 44 ms after the heal on one look, then two repair ops began and the
   * final state caught them kDoing (a liveness failure of nothing).
   */
  quiesceSettleMs: 3_000,
  /** A status, checksum or admin call while checking. */
  checkCallTimeoutMs: 10_000,
  /** Attempts of one final read (each is an SDK call with its own retries), and pages of one key's rows. */
  finalReadAttempts: 10,
  /** Attempts when the cluster did not converge (a partition without a serving leader fails anyway). */
  finalReadAttemptsNotConverged: 1,
  /** All final reads together; keys not read by then are read errors. */
  finalReadsBudgetMs: 120_000,
  finalReadPagesMax: 100,
  scanPageRows: 10_000,
  /** How often the nameserver leader is observed. */
  nsObservePollMs: 500,
} as const;

export const CLUSTER_SHAPE = { tablets: 4, nameservers: 2, partitions: 8, replicas: 3 } as const;

export interface ChaosOptions {
  seed: number;
  durationMs: number;
  scenario: string;
  ack: 'all' | 'leader';
  /** Keep the run directory even when the run passes. */
  keep?: boolean;
  clients?: number;
  rateOpsPerS?: number;
  /** Where run directories go (default the system temp dir). */
  runRoot?: string;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Network mode (network.ts): namespaces, proxies, or namespaces where they work (default). */
  net?: NetChoice;
}

export interface ChaosResult {
  summary: Summary;
  dir: string;
  kept: boolean;
  text: string;
}

const DB = 'chaos';
const TABLE = 'kv';
const ZK_ROOT = '/chaos';

export const TIMEOUTS = {
  zkSessionTimeoutMs: 3000,
  tabletHeartbeatTimeoutMs: 1000,
  tableStatusIntervalMs: 500,
  inSyncSilentMs: 2000,
  replicaAckTimeoutMs: 2000,
} as const;
/** The SDK's time limit of one request to a tablet (it retries up to 10 times). */
const SDK_REQUEST_TIMEOUT_MS = 2000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}


export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const log = o.log ?? ((): void => undefined);
  const root = o.runRoot ?? os.tmpdir();
  mkdirSync(root, { recursive: true });
  const dir = mkdtempSync(path.join(root, `tessera-chaos-${o.seed}-`));
  const rec = new Recorder(dir);
  const netMode = await chooseNetMode(o.net ?? 'auto');
  log(`network: ${netMode.mode === 'netns' ? 'network namespaces (each process on its own address; faults are nftables rules)' : `proxies on 127.0.0.1 (${netMode.why})`}`);
  const available = [...BASE_FAULT_KINDS, ...PROXY_FAULT_KINDS, ...(netMode.mode === 'netns' ? NETNS_FAULT_KINDS : [])];
  const { kinds, steps } = makeSchedule(o.seed, o.scenario, o.durationMs, { zkSessionTimeoutMs: TIMEOUTS.zkSessionTimeoutMs, available });
  const clients = o.clients ?? 8;
  const rateOpsPerS = o.rateOpsPerS ?? 200;
  const info: RunInfo = {
    seed: o.seed, scenario: o.scenario, ack: o.ack, durationMs: o.durationMs, kinds, steps, startedAt: new Date().toISOString(),
    settings: { ...TIMEOUTS, sdkRequestTimeoutMs: SDK_REQUEST_TIMEOUT_MS, clients, rateOpsPerS, ...CLUSTER_SHAPE, network: netMode.mode, ...(netMode.why ? { networkWhy: netMode.why } : {}) },
  };
  const writeInfo = (): void => writeFileSync(path.join(dir, 'run.json'), `${JSON.stringify(info, null, 1)}\n`);
  writeInfo();
  log(`run directory ${dir}; scenario ${o.scenario} (${kinds.join(', ')}), ${steps.length} faults planned`);

  const names = ['zk', ...Array.from({ length: CLUSTER_SHAPE.nameservers }, (_, i) => `ns${i + 1}`), ...Array.from({ length: CLUSTER_SHAPE.tablets }, (_, i) => `t${i + 1}`)];
  const nsNet = netMode.mode === 'netns' ? await NamespaceNetwork.create(names) : undefined;
  let network: NetworkControl | undefined = nsNet;
  const cluster = await Cluster.create({
    runDir: dir, tablets: CLUSTER_SHAPE.tablets, nameservers: CLUSTER_SHAPE.nameservers, timeouts: TIMEOUTS, rec, zkRootPath: ZK_ROOT,
    ...(nsNet ? { hostOf: nsNet.hostOf, wrap: nsNet.wrap } : {}),
  });
  const http = new HttpClient({ connectionsPerEndpoint: 4, timeoutMs: RUN_LIMITS.checkCallTimeoutMs });
  let client: Client | undefined;
  let nemesis: Nemesis | undefined;
  let workload: Workload | undefined;
  let observer: NodeJS.Timeout | undefined;
  try {
    // Proxy mode: the proxies use the cluster's spare ports; tablets advertise their inbound proxy.
    network ??= await ProxyNetwork.create(cluster);
    log(`starting ZooKeeper ${cluster.zkConnect}, ${CLUSTER_SHAPE.nameservers} nameservers, ${CLUSTER_SHAPE.tablets} tablets`);
    await cluster.startAll();
    client = await connectClient(cluster.zkConnect, RUN_LIMITS.setupTimeoutMs, log, path.join(dir, 'harness-client.log'));
    const c = client;
    await waitUntil('tablets healthy', RUN_LIMITS.setupTimeoutMs, async () =>
      (await c.admin.showtablet({})).tablets.filter((t) => t.state === 'kTabletHealthy').length === CLUSTER_SHAPE.tablets);
    // The cluster is new, so a database or table that exists already is this run's own, made by a
    // call the SDK sent again after an answer it did not get in time (a loaded machine).
    await c.createDatabase(DB, { ifNotExists: true });
    await c.createTable(DB, {
      name: TABLE, partitionNum: CLUSTER_SHAPE.partitions, replicaNum: CLUSTER_SHAPE.replicas, replicaAck: o.ack,
      columns: [{ name: 'k', type: 'string' }, { name: 'v', type: 'string' }, { name: 'ts', type: 'timestamp' }],
      indexes: [{ name: 'k', keys: ['k'], ts: 'ts' }],
    }, { ifNotExists: true });
    const ready = await quiesce(c, cluster, http, RUN_LIMITS.setupTimeoutMs);
    if (!ready.ok) throw new Error(`the new table did not become ready: ${ready.reasons.join('; ')}`);
    const tableInfo = await c.table(DB, TABLE);

    // Observe the nameserver leader throughout.
    let lastNs = '';
    const observe = async (): Promise<void> => {
      const ep = await withTimeout(c.leaderNameserver(true), RUN_LIMITS.checkCallTimeoutMs, 'leader').catch(() => undefined);
      if (ep && ep !== lastNs) {
        lastNs = ep;
        rec.nemesis({ type: 'observe', target: cluster.byEndpoint(ep)?.name ?? ep, detail: `ns leader ${ep}` });
      }
    };
    await observe();
    observer = setInterval(() => void observe(), RUN_LIMITS.nsObservePollMs);

    workload = new Workload({ client: c, db: DB, table: TABLE, partitionNum: tableInfo.partitionNum, rec, prng: new Prng(o.seed).fork('workload'), clients, rateOpsPerS, keysPerPartition: 4 });
    nemesis = new Nemesis({ cluster, client: c, rec, db: DB, table: TABLE, partitions: network });
    log(`fault phase: ${o.durationMs / 1000} s, workload ${clients} clients at ≤ ${rateOpsPerS} calls/s on ${workload.keys.length} keys`);
    const phaseStart = Date.now();
    workload.start();
    await nemesis.run(steps, o.durationMs);
    const left = o.durationMs - (Date.now() - phaseStart);
    if (left > 0) await sleep(left);
    info.faultPhaseMs = Date.now() - phaseStart;

    log('healing');
    const healed = await nemesis.heal();
    rec.nemesis({ type: 'note', detail: `heal: ${healed.join(', ') || 'nothing to undo'}` });
    const healedAt = Date.now();
    await workload.stop();
    log(`workload stopped (${JSON.stringify(workload.counts)}); waiting for convergence`);
    const q = await quiesce(c, cluster, http, RUN_LIMITS.quiesceTimeoutMs);
    const convergenceMs = (q.convergedAtMs ?? Date.now()) - healedAt;
    log(q.ok ? `converged ${convergenceMs} ms after heal` : `not converged after ${convergenceMs} ms: ${q.reasons.slice(0, 5).join('; ')}`);
    const final = await finalState(cluster, http, workload.keys, q.ok, q.ok ? convergenceMs : -1, q.reasons);
    writeFileSync(path.join(dir, 'final.json'), `${JSON.stringify(final)}\n`);
  } catch (err) {
    info.aborted = (err as Error).stack ?? String(err);
    log(`run aborted: ${(err as Error).message}`);
  } finally {
    if (observer) clearInterval(observer);
    nemesis?.stop();
    if (workload) await workload.stop().catch(() => undefined);
    await nemesis?.close().catch(() => undefined);
    await client?.close().catch(() => undefined);
    info.processes = cluster.procs.map((p) => ({ name: p.name, starts: p.starts, unexpectedExits: p.unexpectedExits, peakRssKb: p.peakRssKb }));
    info.harnessPeakRssKb = process.resourceUsage().maxRSS;
    writeInfo();
    await cluster.stopAll();
    await network?.close().catch(() => undefined);
    await http.close();
  }
  const summary = checkRun(dir);
  writeFileSync(path.join(dir, 'summary.json'), `${JSON.stringify(summary, null, 1)}\n`);
  const kept = summary.verdict === 'FAIL' || o.keep === true;
  if (!kept) rmSync(dir, { recursive: true, force: true });
  return { summary, dir, kept, text: formatSummary(summary, kept ? dir : undefined) };
}

/**
 * The harness's SDK client. One Client.connect waits for a ZooKeeper session as long as the coord
 * default (15 s; it waits on the right condition: the native state, polled, or its event); on a
 * loaded machine a ZooKeeper just started can take longer to open a session. Connecting is a
 * set-up step: it is tried again until the set-up bound, each failed attempt said. (Open, README
 * track record: after a slow ZooKeeper restart the harness process once opened no session at all
 * for minutes while every tablet and nameserver did; retrying does not help that.)
 */
async function connectClient(zkConnect: string, timeoutMs: number, log: (line: string) => void, logFile?: string): Promise<Client> {
  const deadline = Date.now() + timeoutMs;
  // The session's own account (connects, losses, expiry) goes to the run dir, and the native C
  // client's warnings (why it drops a connection or a handshake) to the harness's stderr: seed 198
  // lost this session for minutes after a ZooKeeper restart and left no trace of why.
  const diagnostics = logFile === undefined ? {} : { logger: createLogger('harness-client', 'debug', { file: logFile }), zkNativeLogLevel: 'warn' as const };
  for (let attempt = 1; ; attempt++) {
    try {
      return await Client.connect({ zkCluster: zkConnect, zkRootPath: ZK_ROOT, requestTimeoutMs: SDK_REQUEST_TIMEOUT_MS, ...diagnostics });
    } catch (err) {
      if (Date.now() >= deadline) throw new Error(`no ZooKeeper session at ${zkConnect} within ${timeoutMs} ms (${attempt} attempts): ${(err as Error).message}`);
      log(`connecting to ZooKeeper ${zkConnect}: attempt ${attempt} failed (${(err as Error).message}); trying again`);
    }
  }
}

async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastErr = '';
  while (Date.now() < deadline) {
    try {
      if (await withTimeout(check(), RUN_LIMITS.checkCallTimeoutMs, what)) return;
    } catch (err) {
      lastErr = (err as Error).message;
    }
    await sleep(RUN_LIMITS.quiescePollMs);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms ${lastErr}`);
}

/** What every tablet reports for the table's replicas, by tablet name (absent: no answer). */
async function tabletStatuses(cluster: Cluster, http: HttpClient, tid: number): Promise<Map<string, ReplicaStatus[]>> {
  const out = new Map<string, ReplicaStatus[]>();
  await Promise.all(cluster.tablets.map(async (t) => {
    try {
      const res = await http.call<{ replicas: ReplicaStatus[] }>(t.endpoint, '/v1/control/status', {});
      out.set(t.name, res.replicas.filter((r) => r.tid === tid));
    } catch {
      // not answering: its replicas count as not reported
    }
  }));
  return out;
}

/** One look at the cluster: what is not yet converged (empty when converged). */
async function notConverged(c: Client, cluster: Cluster, http: HttpClient): Promise<string[]> {
  const reasons: string[] = [];
  const tablets = (await withTimeout(c.admin.showtablet({}), RUN_LIMITS.checkCallTimeoutMs, 'showtablet')).tablets;
  const healthy = tablets.filter((t) => t.state === 'kTabletHealthy').length;
  if (healthy !== CLUSTER_SHAPE.tablets) reasons.push(`${healthy} of ${CLUSTER_SHAPE.tablets} tablets healthy`);
  const ops = (await withTimeout(c.admin.showopstatus({ db: DB }), RUN_LIMITS.checkCallTimeoutMs, 'showopstatus')).ops;
  for (const op of ops) if (op.status === 'kInited' || op.status === 'kDoing') reasons.push(`op ${op.opId} ${op.opType} pid ${op.pid} ${op.status}${op.curTask ? ` at ${op.curTask}` : ''}`);
  const table: TableInfo = (await withTimeout(c.admin.showschema({ db: DB, name: TABLE }), RUN_LIMITS.checkCallTimeoutMs, 'showschema')).table;
  const statuses = await tabletStatuses(cluster, http, table.tid);
  for (const p of table.partitions) {
    // Only an alive leader counts: one that failed over stays flagged leader, not alive, until recovered.
    const leaders = p.replicas.filter((r) => r.isLeader && r.isAlive);
    if (leaders.length !== 1) {
      reasons.push(`pid ${p.pid}: ${leaders.length} alive leader(s)`);
      continue;
    }
    const reported = (ep: string): ReplicaStatus | undefined => {
      const proc = cluster.byEndpoint(ep);
      return proc ? statuses.get(proc.name)?.find((r) => r.pid === p.pid) : undefined;
    };
    const lead = reported(leaders[0]!.endpoint);
    if (!lead || lead.role !== 'leader' || lead.state !== 'normal') {
      reasons.push(`pid ${p.pid}: leader ${leaders[0]!.endpoint} reports ${lead ? `${lead.role} ${lead.state}` : 'nothing'}`);
      continue;
    }
    for (const r of p.replicas) {
      if (!r.isAlive) reasons.push(`pid ${p.pid} on ${r.endpoint}: not alive`);
      if (r === leaders[0]) continue;
      const s = reported(r.endpoint);
      if (!s) reasons.push(`pid ${p.pid} on ${r.endpoint}: not reported`);
      else if (s.role !== 'follower' || s.state !== 'normal' || s.offset !== lead.offset) reasons.push(`pid ${p.pid} on ${r.endpoint}: ${s.role} ${s.state} offset ${s.offset}/${lead.offset}`);
    }
  }
  return reasons;
}

/**
 * Polls until converged and still converged RUN_LIMITS.quiesceSettleMs later, or `timeoutMs`
 * passed. `convergedAtMs`: when the first look of the converged stretch ended.
 */
async function quiesce(c: Client, cluster: Cluster, http: HttpClient, timeoutMs: number): Promise<{ ok: boolean; reasons: string[]; convergedAtMs?: number }> {
  const deadline = Date.now() + timeoutMs;
  let reasons: string[] = ['not checked'];
  let convergedAtMs: number | undefined;
  // A converged stretch that began within the bound may finish its settling after it.
  while (Date.now() < deadline + (convergedAtMs === undefined ? 0 : RUN_LIMITS.quiesceSettleMs)) {
    try {
      reasons = await notConverged(c, cluster, http);
    } catch (err) {
      reasons = [`check failed: ${(err as Error).message}`];
    }
    const lookedAtMs = Date.now();
    if (reasons.length > 0) convergedAtMs = undefined;
    else {
      convergedAtMs ??= lookedAtMs;
      if (lookedAtMs - convergedAtMs >= RUN_LIMITS.quiesceSettleMs) return { ok: true, reasons, convergedAtMs };
    }
    await sleep(RUN_LIMITS.quiescePollMs);
  }
  return { ok: false, reasons };
}

/** Every row of a key, newest first, through the SDK (paged, bounded attempts). */
async function readKey(c: Client, key: string, attempts: number, deadlineMs: number): Promise<RowRef[]> {
  const out: RowRef[] = [];
  let st = 0;
  for (let page = 0; page < RUN_LIMITS.finalReadPagesMax; page++) {
    let rows: Array<Record<string, unknown>> | undefined;
    let lastErr: unknown = new Error('the final reads ran out of time');
    for (let attempt = 0; attempt < attempts && rows === undefined && Date.now() < deadlineMs; attempt++) {
      try {
        rows = await c.scan(DB, TABLE, { key, st, et: 0, limit: RUN_LIMITS.scanPageRows });
      } catch (err) {
        lastErr = err;
        await sleep(200);
      }
    }
    if (rows === undefined) throw lastErr;
    for (const r of rows) out.push({ v: String(r.v), ts: Number(r.ts) });
    if (rows.length < RUN_LIMITS.scanPageRows) return out;
    st = Number(rows[rows.length - 1]!.ts) - 1;
    if (st <= 0) return out;
  }
  throw new Error(`${key}: more than ${RUN_LIMITS.finalReadPagesMax} pages`);
}

/** Reads back everything after quiesce, with a fresh client (metadata straight from ZooKeeper). */
async function finalState(cluster: Cluster, http: HttpClient, keys: string[], converged: boolean, convergenceMs: number, notConvergedReasons: string[]): Promise<FinalState> {
  const c = await connectClient(cluster.zkConnect, RUN_LIMITS.setupTimeoutMs, () => undefined);
  try {
    const rows: Record<string, RowRef[]> = {};
    const readErrors: string[] = [];
    const attempts = converged ? RUN_LIMITS.finalReadAttempts : RUN_LIMITS.finalReadAttemptsNotConverged;
    const deadlineMs = Date.now() + RUN_LIMITS.finalReadsBudgetMs;
    for (const key of keys) {
      try {
        rows[key] = await readKey(c, key, attempts, deadlineMs);
      } catch (err) {
        readErrors.push(`${key}: ${(err as Error).message}`);
      }
    }
    // Each part is read on its own: what fails is noted, the rest is still recorded.
    const partitions: FinalPartition[] = [];
    const notes: string[] = [];
    const table = await withTimeout(c.table(DB, TABLE), RUN_LIMITS.checkCallTimeoutMs, 'table metadata').catch((err: unknown) => {
      notes.push(`metadata not read: ${(err as Error).message}`);
      return undefined;
    });
    const statuses = table ? await tabletStatuses(cluster, http, table.tid) : new Map<string, ReplicaStatus[]>();
    for (const p of table?.partitions ?? []) {
      const listed = new Set<string>();
      const replicas = await Promise.all(p.replicas.map(async (r) => {
        const proc = cluster.byEndpoint(r.endpoint);
        if (proc) listed.add(proc.name);
        const s = proc ? statuses.get(proc.name)?.find((x) => x.pid === p.pid) : undefined;
        const out: FinalPartition['replicas'][number] = { endpoint: r.endpoint, zkLeader: r.isLeader, zkAlive: r.isAlive };
        if (s) Object.assign(out, { role: s.role, state: s.state, term: s.term, offset: s.offset });
        if (s && proc) {
          try {
            const sum = await http.call<{ rows: number; sha256: string; offset: number }>(proc.endpoint, '/v1/control/checksum', { tid: table!.tid, pid: p.pid });
            Object.assign(out, { sha256: sum.sha256, rows: sum.rows, offset: sum.offset });
          } catch {
            // no checksum: compared as absent
          }
        }
        return out;
      }));
      const strays: FinalPartition['strays'] = [];
      for (const [name, list] of statuses) {
        if (listed.has(name)) continue;
        for (const s of list) if (s.pid === p.pid) strays.push({ endpoint: cluster.byName(name).advertised, role: s.role, state: s.state });
      }
      partitions.push({ pid: p.pid, replicas, terms: p.termOffsets.length, strays });
    }
    const ops = await withTimeout(c.admin.showopstatus({ db: DB }), RUN_LIMITS.checkCallTimeoutMs, 'showopstatus').then(
      (r) => r.ops.map((x) => ({ opId: x.opId, opType: x.opType, pid: x.pid, status: x.status })),
      (err: unknown) => {
        notes.push(`ops not read: ${(err as Error).message}`);
        return [];
      },
    );
    const healthy = await withTimeout(c.admin.showtablet({}), RUN_LIMITS.checkCallTimeoutMs, 'showtablet').then(
      (r) => r.tablets.filter((t) => t.state === 'kTabletHealthy').length,
      (err: unknown) => {
        notes.push(`tablets not read: ${(err as Error).message}`);
        return 0;
      },
    );
    // A final state read only in part cannot count as converged.
    return {
      rows, readErrors, partitions, ops, tabletsHealthy: healthy, tabletsTotal: CLUSTER_SHAPE.tablets,
      converged: converged && notes.length === 0, convergenceMs, notConverged: [...notConvergedReasons, ...notes],
    };
  } finally {
    await c.close().catch(() => undefined);
  }
}

export { checkRun, formatSummary };
