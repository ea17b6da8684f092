/**
 * The cluster the bad-input suite runs against: a real ZooKeeper, one nameserver and two tablets
 * as separate processes on 127.0.0.1, one database with one table (2 partitions × 2 replicas)
 * holding a few rows, written through the partition leaders and replicated before the suite
 * starts. Every wait is bounded.
 */
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { HttpClient, pidOfKey, waitFor } from '@tessera/common';
import { removeDir, spawnRole, startZooKeeper, tempDir, type RoleProcess, type ZkServer } from '@tessera/testkit';
import type { ClusterView, PartitionView } from './model.js';

export const SUITE_DB = 'chaos_db';
export const SUITE_TABLE = 'flow';
const ROWS = 12;
const START_TIMEOUT_MS = 30_000;

export function suiteSchema(name: string, db: string): Record<string, unknown> {
  return {
    name,
    db,
    columns: [
      { name: 'card', type: 'string' },
      { name: 'mcc', type: 'string' },
      { name: 'amt', type: 'double' },
      { name: 'ts', type: 'timestamp' },
    ],
    indexes: [{ name: 'card', keys: ['card'], ts: 'ts', ttl: { type: 'absolute', absMinutes: 0, latest: 0 } }],
  };
}

export interface Cluster {
  view: ClusterView;
  zk: ZkServer;
  processes: RoleProcess[];
  http: HttpClient;
  stop(): Promise<void>;
}

export async function startCluster(log: (line: string) => void): Promise<Cluster> {
  const dir = tempDir('chaos-badinput');
  const http = new HttpClient({ timeoutMs: 10_000, connectionsPerEndpoint: 2 });
  const processes: RoleProcess[] = [];
  let zk: ZkServer | undefined;
  const stop = async (): Promise<void> => {
    await http.close();
    await Promise.all(processes.map((p) => p.stop()));
    await zk?.stop();
    removeDir(dir);
  };
  try {
    zk = await startZooKeeper({ dir: path.join(dir, 'zk') });
    const common = { zk_cluster: zk.connectString, zk_root_path: '/tessera', zk_session_timeout: 10_000 };
    const ns = await spawnRole('nameserver', { ...common, get_table_status_interval: 1000 }, { logFile: path.join(dir, 'ns.log'), readyTimeoutMs: START_TIMEOUT_MS });
    processes.push(ns);
    for (const name of ['tabletA', 'tabletB']) {
      processes.push(await spawnRole('tablet', { ...common, db_root_path: path.join(dir, name) }, { logFile: path.join(dir, `${name}.log`), readyTimeoutMs: START_TIMEOUT_MS }));
    }
    const tablets: [string, string] = [processes[1]!.endpoint, processes[2]!.endpoint];
    log(`cluster: zk ${zk.connectString}, nameserver ${ns.endpoint}, tablets ${tablets.join(' ')}`);

    await waitFor('the nameserver to lead and see 2 healthy tablets', async () => {
      const res = await http.call<{ tablets: Array<{ endpoint: string; state: string }> }>(ns.endpoint, '/v1/ns/showtablet', {});
      return res.tablets.filter((t) => t.state === 'kTabletHealthy').length === 2;
    }, { timeoutMs: START_TIMEOUT_MS, intervalMs: 100 });

    await http.call(ns.endpoint, '/v1/ns/createdb', { db: SUITE_DB });
    const { tid } = await http.call<{ tid: number }>(ns.endpoint, '/v1/ns/createtable', { schema: suiteSchema(SUITE_TABLE, SUITE_DB), partitionNum: 2, replicaNum: 2 });
    const shown = await http.call<{ replicas: Array<{ pid: number; endpoint: string; role: string }> }>(ns.endpoint, '/v1/ns/showtable', { db: SUITE_DB, name: SUITE_TABLE });
    const parts: PartitionView[] = [0, 1].map((pid) => {
      const of = shown.replicas.filter((r) => r.pid === pid);
      const leader = of.find((r) => r.role === 'leader')?.endpoint;
      const follower = of.find((r) => r.role === 'follower')?.endpoint;
      if (!leader || !follower) throw new Error(`partition ${pid} has no leader and follower: ${JSON.stringify(of)}`);
      return { pid, leader, follower };
    });

    // Rows, each to the partition its key hashes to, through the leader (replica_ack all).
    const keys: string[][] = [[], []];
    for (let i = 0; keys[0]!.length < ROWS / 2 || keys[1]!.length < ROWS / 2; i++) {
      const key = `card${i}`;
      const pid = pidOfKey(key, 2);
      if (keys[pid]!.length < ROWS / 2) keys[pid]!.push(key);
    }
    for (const p of parts) {
      const rows = keys[p.pid]!.map((card, i) => ({ row: { card, mcc: `mcc${i % 3}`, amt: i + 0.5, ts: 1000 + i } }));
      await waitFor(`rows written to partition ${p.pid}`, async () => {
        await http.call(p.leader, '/v1/data/put_batch', { tid, pid: p.pid, rows });
        return true;
      }, { timeoutMs: START_TIMEOUT_MS, intervalMs: 100 });
    }
    // Quiet: every follower has what its leader has.
    await waitFor('followers to catch up', async () => {
      for (const p of parts) {
        const [a, b] = await Promise.all([p.leader, p.follower].map((ep) => http.call<{ sha256: string; offset: number }>(ep, '/v1/control/checksum', { tid, pid: p.pid })));
        if (a!.sha256 !== b!.sha256 || a!.offset !== b!.offset) return false;
      }
      return true;
    }, { timeoutMs: START_TIMEOUT_MS, intervalMs: 100 });

    const workDir = path.join(dir, 'work');
    mkdirSync(workDir, { recursive: true });
    const view: ClusterView = {
      zkCluster: zk.connectString, zkRootPath: '/tessera', ns: ns.endpoint, tablets, db: SUITE_DB, table: SUITE_TABLE, tid,
      partitionNum: 2, parts, storedKey: keys[0]![0]!, workDir,
    };
    return { view, zk, processes, http, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
