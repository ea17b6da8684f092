/**
 * `pnpm bench compare`: the peers' benchmark (`/work/shared/bench/peers.sh`: etcd with 3 members
 * and Redis with 2 replicas, from Node clients) and then `pnpm bench cluster`, one after the
 * other on this machine, and one table side by side: Tessera replica_ack=all and =leader, etcd,
 * Redis, 64 in flight each, with Tessera's ratios to etcd and Redis and the load average around
 * each half. The peers' script path, scratch dir and port base can be overridden
 * (`TESSERA_PEERS_SH`, `PEERS_SCRATCH`, `PEERS_PORT_BASE`).
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { benchCluster } from './cluster-bench.js';
import { printFigure, round } from './measure.js';

const PEERS_SH = process.env.TESSERA_PEERS_SH ?? '/work/shared/bench/peers.sh';

interface PeerFigures {
  put64_per_s: number;
  put64_p99_ms: number;
  get64_per_s: number;
  get64_p99_ms: number;
  errors: number;
}

function loadAverage(): string {
  return os.loadavg().map((x) => x.toFixed(2)).join(', ');
}

/** Runs peers.sh (progress passes through to stderr) and parses its last line. */
function runPeers(): Promise<{ etcd3: PeerFigures; redis: PeerFigures }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [PEERS_SH], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      process.stdout.write(d);
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      try {
        if (code !== 0) throw new Error(`peers.sh exited with ${code}`);
        resolve(JSON.parse(last) as { etcd3: PeerFigures; redis: PeerFigures });
      } catch (err) {
        reject(new Error(`peers.sh gave no result: ${(err as Error).message}`));
      }
    });
  });
}

export async function benchCompare(): Promise<Record<string, number>> {
  const loadBeforePeers = loadAverage();
  process.stdout.write(`-- peers (${PEERS_SH}), load average ${loadBeforePeers}\n`);
  const peers = await runPeers();
  const loadBeforeCluster = loadAverage();
  process.stdout.write(`-- pnpm bench cluster, load average ${loadBeforeCluster}\n`);
  const t = await benchCluster();
  const loadAfter = loadAverage();
  const e = peers.etcd3;
  const r = peers.redis;
  const rows: Array<[string, number, number, number, number]> = [
    ['single-row puts /s', t.all_put_rows_per_s!, t.leader_put_rows_per_s!, e.put64_per_s, r.put64_per_s],
    ['  p99 ms', t.all_put_p99_ms!, t.leader_put_p99_ms!, e.put64_p99_ms, r.put64_p99_ms],
    ['gets /s', t.all_get_per_s!, t.leader_get_per_s!, e.get64_per_s, r.get64_per_s],
    ['  p99 ms', t.all_get_p99_ms!, t.leader_get_p99_ms!, e.get64_p99_ms, r.get64_p99_ms],
  ];
  process.stdout.write('\n-- side by side, 64 in flight each\n');
  const cell = (x: number | string, w = 16): string => String(x).padStart(w);
  process.stdout.write(`${''.padEnd(20)}${cell('Tessera all')}${cell('Tessera leader')}${cell('etcd ×3')}${cell('Redis +2')}${cell('all ÷ etcd')}${cell('all ÷ Redis')}\n`);
  for (const [name, all, leader, etcd, redis] of rows) {
    const isRate = name.endsWith('/s');
    const ratio = (a: number, b: number): string => (isRate && b > 0 ? round(a / b, 2).toFixed(2) : '');
    process.stdout.write(`${name.padEnd(20)}${cell(round(all, 1))}${cell(round(leader, 1))}${cell(round(etcd, 1))}${cell(round(redis, 1))}${cell(ratio(all, etcd))}${cell(ratio(all, redis))}\n`);
  }
  printFigure('errors (Tessera / etcd / Redis)', `${t.errors} / ${e.errors} / ${r.errors}`);
  printFigure('load average (1, 5, 15 min)', `before peers ${loadBeforePeers}; before cluster ${loadBeforeCluster}; after ${loadAfter}`);
  return {
    ...t,
    etcd_put64_per_s: e.put64_per_s,
    etcd_put64_p99_ms: e.put64_p99_ms,
    etcd_get64_per_s: e.get64_per_s,
    redis_put64_per_s: r.put64_per_s,
    redis_put64_p99_ms: r.put64_p99_ms,
    redis_get64_per_s: r.get64_per_s,
    ratio_put_all_to_etcd: round(t.all_put_rows_per_s! / e.put64_per_s, 3),
    ratio_put_all_to_redis: round(t.all_put_rows_per_s! / r.put64_per_s, 3),
    ratio_get_all_to_etcd: round(t.all_get_per_s! / e.get64_per_s, 3),
    ratio_get_all_to_redis: round(t.all_get_per_s! / r.get64_per_s, 3),
    load_avg_1m_before_peers: Number(loadBeforePeers.split(', ')[0]),
    load_avg_1m_before_cluster: Number(loadBeforeCluster.split(', ')[0]),
    load_avg_1m_after: Number(loadAfter.split(', ')[0]),
  };
}
