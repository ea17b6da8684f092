/**
 * `pnpm bench failover`: the failover figures on a cluster brought up by `scripts/cluster.sh up`
 * with its default flags (ZooKeeper, 2 nameservers, 3 tablets; ZooKeeper session 3 s, tablet
 * heartbeat timeout 1 s, auto_failover on), driven through the SDK:
 *   1. a table of 4 partitions × 3 replicas with replica_ack=all, loaded with N rows of ~100 bytes
 *      (`TESSERA_BENCH_FAILOVER_ROWS`, default 100,000);
 *   2. `TESSERA_BENCH_FAILOVER_ROUNDS` times (default 3), with a paced writer running
 *      (`TESSERA_BENCH_FAILOVER_WRITER_RPS`, default 500 rows/s): SIGKILL (by its pid file) the
 *      tablet leading the most partitions; time from the kill to the first accepted write on each
 *      partition it led; restart it with `scripts/start.sh start tablet <flagfile>`; time until
 *      every replica on it is alive in the metadata, and until it is in every in-sync set;
 *   3. writer stopped: every acknowledged write is read back, and every replica's content
 *      checksum equals its leader's.
 * Last line: one JSON object.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { HttpClient, pidOfKey, sleep, waitFor, type TableInfo } from '@tessera/common';
import { Client, type Row } from '@tessera/client';
import { runScript, tempDir, removeDir } from '@tessera/testkit';
import { percentile, printFigure, round } from './measure.js';
import { clusterScriptUp, loadInBatches, sameChecksums, type ScriptCluster } from './bench-cluster.js';

const ROWS = Number(process.env.TESSERA_BENCH_FAILOVER_ROWS ?? 100_000);
const ROUNDS = Number(process.env.TESSERA_BENCH_FAILOVER_ROUNDS ?? 3);
const WRITER_ROWS_PER_S = Number(process.env.TESSERA_BENCH_FAILOVER_WRITER_RPS ?? 500);
const TABLETS = 3;
const PARTITIONS = 4;
const DB = 'bench_db';
const TABLE = 'fo';
/** cluster.sh's default root path. */
const ZK_ROOT = '/tessera';
const PAD = 'p'.repeat(60);
const LOAD = { batchRows: 1000, inFlight: 4, retries: 0 };
const WRITER_LOOPS = 16;
const PROBE_INTERVAL_MS = 20;
const FAILOVER_TIMEOUT_MS = 60_000;
const RECOVERY_TIMEOUT_MS = 180_000;
const POLL_MS = 50;
const CONVERGE_TIMEOUT_MS = 60_000;
const READ_BACK_IN_FLIGHT = 200;

const row = (id: string, n: number): Row => ({ id, pad: PAD, at: 1_000_000 + n });

interface Round {
  victim: string;
  ledPids: number[];
  /** Per led partition: ms from SIGKILL to its first accepted write. */
  firstWriteMs: number[];
  aliveMs: number;
  inSyncMs: number;
}

export async function benchFailover(): Promise<Record<string, number>> {
  if (!Number.isInteger(ROWS) || ROWS < 0) throw new Error('TESSERA_BENCH_FAILOVER_ROWS must be an integer ≥ 0');
  if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error('TESSERA_BENCH_FAILOVER_ROUNDS must be an integer ≥ 1');
  const dir = tempDir('bench-failover');
  const flagfile = (i: number): string => path.join(dir, `tablet-${i}`, 'tablet.flags');
  const pidOf = (i: number): number => Number(readFileSync(path.join(dir, `tablet-${i}`, 'tablet.pid'), 'utf8').trim());
  const http = new HttpClient({ timeoutMs: 30_000 });
  let client: Client | undefined;
  let cluster: ScriptCluster | undefined;
  let ok = false;
  try {
    process.stdout.write(`failover benchmark: cluster.sh defaults, ${TABLETS} tablets, ${PARTITIONS}×3 replica_ack=all, ${ROWS} rows, ${ROUNDS} kill/restart rounds, writer ${WRITER_ROWS_PER_S} rows/s\n`);
    cluster = await clusterScriptUp(dir, TABLETS);
    const tabletEp = cluster.tabletEndpoint;
    const c = (client = await Client.connect({ zkCluster: cluster.zkCluster, zkRootPath: ZK_ROOT, requestTimeoutMs: 15_000 }));
    await c.createDatabase(DB);
    await c.createTable(DB, {
      name: TABLE, partitionNum: PARTITIONS, replicaNum: 3, replicaAck: 'all',
      columns: [{ name: 'id', type: 'string' }, { name: 'pad', type: 'string' }, { name: 'at', type: 'timestamp' }],
      indexes: [{ name: 'id', keys: ['id'], ts: 'at' }],
    });
    const table = (): Promise<TableInfo> => c.admin.showschema({ db: DB, name: TABLE }).then((r) => r.table);
    await waitFor('every partition fully in sync', async () => (await table()).partitions.every((p) => p.inSync.length === 2), { timeoutMs: 60_000, intervalMs: 100 });

    const acked: string[] = [];
    const { seconds: loadSeconds } = await loadInBatches(ROWS, LOAD, async (from, to) => {
      const rows = Array.from({ length: to - from }, (_, j) => row(`r${from + j}`, from + j));
      await c.putBatch(DB, TABLE, rows);
      for (const r of rows) acked.push(r.id as string);
    });
    printFigure('load (putBatch, replica_ack=all)', round(ROWS / loadSeconds), 'rows/s');

    // The paced writer: unique ids, each acknowledged id remembered, failures counted.
    let writing = true;
    let seq = 0;
    let writeFailures = 0;
    const loopDelayMs = (WRITER_LOOPS * 1000) / Math.max(1, WRITER_ROWS_PER_S);
    const writers = WRITER_ROWS_PER_S <= 0 ? [] : Array.from({ length: WRITER_LOOPS }, async () => {
      while (writing) {
        const t0 = performance.now();
        const id = `w${seq++}`;
        try {
          await c.put(DB, TABLE, row(id, ROWS + seq));
          acked.push(id);
        } catch {
          writeFailures++;
        }
        const left = loopDelayMs - (performance.now() - t0);
        if (left > 0) await sleep(left);
      }
    });

    const rounds: Round[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const info = await table();
      const leads = (ep: string): number[] => info.partitions.filter((p) => p.replicas.some((x) => x.isLeader && x.isAlive && x.endpoint === ep)).map((p) => p.pid);
      let victim = 1;
      for (let i = 2; i <= TABLETS; i++) if (leads(tabletEp(i)).length > leads(tabletEp(victim)).length) victim = i;
      const victimEp = tabletEp(victim);
      const ledPids = leads(victimEp);
      const probeKeys = ledPids.map((pid) => {
        let k = `probe${r}-${pid}`;
        for (let i = 0; pidOfKey(k, PARTITIONS) !== pid; i++) k = `probe${r}-${pid}-${i}`;
        return k;
      });
      const killedAt = performance.now();
      process.kill(pidOf(victim), 'SIGKILL');
      const firstWriteMs = await Promise.all(probeKeys.map(async (key, i) => {
        for (let n = 0; ; n++) {
          if (performance.now() - killedAt > FAILOVER_TIMEOUT_MS) throw new Error(`no write accepted on pid ${ledPids[i]} within ${FAILOVER_TIMEOUT_MS} ms of the kill`);
          if (await c.put(DB, TABLE, row(key, n)).then(() => true, () => false)) {
            acked.push(key);
            return performance.now() - killedAt;
          }
          await sleep(PROBE_INTERVAL_MS);
        }
      }));
      const restartedAt = performance.now();
      const start = await runScript('start.sh', ['start', 'tablet', flagfile(victim)]);
      if (start.code !== 0) throw new Error(`start.sh start tablet failed:\n${start.out}`);
      const onVictim = (t: TableInfo): Array<{ alive: boolean; inSync: boolean }> =>
        t.partitions.flatMap((p) => p.replicas.filter((x) => x.endpoint === victimEp).map((x) => ({ alive: x.isAlive, inSync: (x.isLeader && x.isAlive) || p.inSync.includes(victimEp) })));
      let aliveMs = 0;
      await waitFor(`${victimEp}'s replicas alive and in sync`, async () => {
        const mine = onVictim(await table());
        if (aliveMs === 0 && mine.every((x) => x.alive)) aliveMs = performance.now() - restartedAt;
        return aliveMs > 0 && mine.every((x) => x.alive && x.inSync);
      }, { timeoutMs: RECOVERY_TIMEOUT_MS, intervalMs: POLL_MS });
      const inSyncMs = performance.now() - restartedAt;
      rounds.push({ victim: victimEp, ledPids, firstWriteMs, aliveMs, inSyncMs });
      process.stdout.write(`round ${r + 1}: SIGKILL of ${victimEp} (leader of pids ${ledPids.join(',')}): first accepted write after ${firstWriteMs.map((x) => round(x)).join(', ')} ms; restarted: replicas alive after ${round(aliveMs)} ms, in every in-sync set after ${round(inSyncMs)} ms\n`);
    }

    writing = false;
    await Promise.all(writers);
    // Every acknowledged write read back.
    let missing = 0;
    for (let i = 0; i < acked.length; i += READ_BACK_IN_FLIGHT) {
      const got = await Promise.all(acked.slice(i, i + READ_BACK_IN_FLIGHT).map((id) => c.get(DB, TABLE, { key: id })));
      missing += got.filter((g) => g === undefined).length;
    }
    const info = await table();
    let convergedPartitions = 0;
    for (const p of info.partitions) {
      const same = await waitFor(`pid ${p.pid}: every replica's checksum equal`, () => sameChecksums(http, p.replicas.map((x) => x.endpoint), info.tid, p.pid), { timeoutMs: CONVERGE_TIMEOUT_MS, intervalMs: 200 }).then(() => true, () => false);
      if (same) convergedPartitions++;
    }

    const firstWrites = rounds.flatMap((x) => x.firstWriteMs).sort((a, b) => a - b);
    const inSyncs = rounds.map((x) => x.inSyncMs).sort((a, b) => a - b);
    const alives = rounds.map((x) => x.aliveMs).sort((a, b) => a - b);
    const figures = {
      rows: ROWS,
      rounds: ROUNDS,
      kill_to_first_write_p50_ms: round(percentile(firstWrites, 50)),
      kill_to_first_write_max_ms: round(firstWrites.at(-1) ?? 0),
      restart_to_alive_p50_ms: round(percentile(alives, 50)),
      restart_to_alive_max_ms: round(alives.at(-1) ?? 0),
      restart_to_in_sync_p50_ms: round(percentile(inSyncs, 50)),
      restart_to_in_sync_max_ms: round(inSyncs.at(-1) ?? 0),
      acknowledged: acked.length,
      lost: missing,
      write_failures: writeFailures,
      partitions_converged: convergedPartitions,
    };
    printFigure('kill → first accepted write p50', figures.kill_to_first_write_p50_ms, 'ms');
    printFigure('kill → first accepted write max', figures.kill_to_first_write_max_ms, 'ms (aim ≤ 5000)');
    printFigure('restart → replicas alive p50', figures.restart_to_alive_p50_ms, 'ms');
    printFigure('restart → in every in-sync set p50', figures.restart_to_in_sync_p50_ms, 'ms');
    printFigure('restart → in every in-sync set max', figures.restart_to_in_sync_max_ms, 'ms');
    printFigure('acknowledged writes', figures.acknowledged);
    printFigure('acknowledged writes lost', figures.lost);
    printFigure('failed write calls', figures.write_failures);
    printFigure('partitions with equal checksums', `${convergedPartitions}/${PARTITIONS}`);
    ok = missing === 0 && convergedPartitions === PARTITIONS;
    if (!ok) throw new Error(`lost ${missing} acknowledged writes, ${PARTITIONS - convergedPartitions} partitions not converged; logs kept in ${dir}`);
    return figures;
  } finally {
    await client?.close().catch(() => undefined);
    await http.close();
    await cluster?.down();
    if (ok) removeDir(dir);
  }
}
