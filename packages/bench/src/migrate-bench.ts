/**
 * `pnpm bench migrate`: how long `migrate` takes to move a follower to another tablet, on a real
 * cluster (ZooKeeper, one nameserver, four tablets) with a small binlog retention, so that a new
 * replica of a loaded partition is built from a snapshot streamed by its leader, as in a
 * long-running cluster.
 *   1. an empty partition (1 × 3 replicas on tablets 1–3): migrate a follower to tablet 4;
 *   2. a partition loaded with N rows of ~100 bytes (`TESSERA_BENCH_MIGRATE_ROWS`, default
 *      1,000,000) whose leader has truncated its binlog, while a paced writer puts 1,000 rows/s
 *      (`TESSERA_BENCH_MIGRATE_WRITER_RPS`) into it: migrate a follower to tablet 4, then check
 *      the new replica's checksum. A migrate whose new replica has been sent 3 full snapshots is
 *      reported as not converging (the run fails) instead of waiting for the time limit. The
 *      tablets run with `--stream_bandwidth_limit` = `TESSERA_BENCH_MIGRATE_STREAM_LIMIT` bytes/s
 *      when it is set (default unlimited): what a limit costs the move and gives the writer;
 *   3. the limit, same run (cluster stopped): the same number of rows of the same size read from
 *      one classic-level DB and written into a second one in one process.
 * Timing is from issuing `migrate` (admin API, what ns_client's command calls) until
 * `showopstatus` reports the op kDone, polled every 25 ms. Last line: one JSON object.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { HttpClient, waitFor, type OpDetail, type OpStatusRow, type ReplicaStatus, type TableInfo } from '@tessera/common';
import type { Client, Row } from '@tessera/client';
import { nsClient, parseTable, tempDir, removeDir } from '@tessera/testkit';
import { percentile, printFigure, round } from './measure.js';
import { cpuMicros, peakRssMiB, rssPeaks, rssSplitMiB, RSS_SAMPLE_INTERVAL_MS } from './proc-stats.js';
import { HOLD_SLOW_BUCKET_S, holdsBetween, readQueueHolds, type QueueHolds } from './queue-holds.js';
import { fullyReplicated, loadInBatches, roleLogWarnings, sameChecksums, slowRequestLines, startRoleCluster, summarizeSlowRequests, type RoleCluster } from './bench-cluster.js';

const ROWS = Number(process.env.TESSERA_BENCH_MIGRATE_ROWS ?? 1_000_000);
const DB = 'bench_db';
const ZK_ROOT = '/bench_migrate';
const RETENTION_ENTRIES = 10_000;
const STATUS_INTERVAL_MS = 300;
const POLL_MS = 25;
/** Characters of random padding per row: with the id and timestamp a row stores ~100 bytes. */
const PAD_CHARS = 52;
const PAD_POOL = 1024;
const LOAD = { batchRows: 1000, inFlight: 4, retries: 3 };
/**
 * The tablets' --slow_request_ms here: a data request or append this slow is logged, and the bench
 * prints which tablet served the slow ones of the move (about 2× the writer's p99 before it).
 */
const SLOW_REQUEST_MS = 20;
const STREAM_LIMIT = Number(process.env.TESSERA_BENCH_MIGRATE_STREAM_LIMIT ?? 0);
const WRITER_ROWS_PER_S = Number(process.env.TESSERA_BENCH_MIGRATE_WRITER_RPS ?? 1000);
const WRITER_TICK_MS = 10;
const WRITER_CALLS_IN_FLIGHT_MAX = 200;
const WRITER_BASELINE_MS = 3000;
const READY_TIMEOUT_MS = 60_000;
const MIGRATE_TIMEOUT_MS = Math.max(300_000, ROWS); // ≥ 1 ms a row: far beyond any expected time
/** Raw copy: chunks of at most this many bytes per batch, as the snapshot stream's chunks. */
const RAW_CHUNK_BYTES = 1024 * 1024;
const RAW_KEY_BYTES = 16;
/** A migrate that has sent this many full snapshots to its new replica is not converging. */
const SNAPSHOTS_MAX = 3;
const PROGRESS_PRINT_MS = 10_000;
/** startRoleCluster's log files (without .log). */
const ROLE_LOGS = ['ns', 't1', 't2', 't3', 't4'];

/** Returned (not thrown: waitFor retries a check that throws) to end a wait at once. */
class GiveUp extends Error {}

const columns = [{ name: 'id', type: 'string' }, { name: 'pad', type: 'string' }, { name: 'at', type: 'timestamp' }] as const;
const pads = Array.from({ length: PAD_POOL }, () => randomBytes(PAD_CHARS).toString('base64').slice(0, PAD_CHARS));
const row = (i: number, prefix = 'r'): Row => ({ id: `${prefix}${String(i).padStart(10, '0')}`, pad: pads[i % PAD_POOL]!, at: 1_000_000 + i });

/** The copy fraction at which the printed ETA is judged against the real end. */
const ETA_JUDGED_AT_FRACTION = 0.25;

interface MigrateRun {
  seconds: number;
  op: OpStatusRow;
  /** showop at kDone: the copy's rows and bytes, its average rates. */
  detail: OpDetail | undefined;
  /** The first showop seen at ≥ 25% of the bytes copied: seconds since the migrate, the ETA it printed. */
  etaAt25: { atS: number; etaS: number; line: string } | undefined;
  /** Seconds from issuing the migrate until each task was first seen current. */
  tasks: Array<[string, number]>;
  /** performance.now() when the migrate was issued (the tasks' times count from here). */
  t0Ms: number;
  /** CPU (µs, user + system) of each process so far, when each task was first seen, and at kDone (one more). */
  cpuAt: Array<Record<string, number>>;
}

export async function benchMigrate(): Promise<Record<string, number>> {
  if (!Number.isInteger(ROWS) || ROWS <= 2 * RETENTION_ENTRIES) throw new Error(`TESSERA_BENCH_MIGRATE_ROWS must be an integer > ${2 * RETENTION_ENTRIES} (the binlog retention is ${RETENTION_ENTRIES} entries)`);
  if (!Number.isInteger(STREAM_LIMIT) || STREAM_LIMIT < 0) throw new Error('TESSERA_BENCH_MIGRATE_STREAM_LIMIT must be an integer ≥ 0 (bytes/s; 0 = unlimited)');
  if (!(WRITER_ROWS_PER_S >= 0)) throw new Error('TESSERA_BENCH_MIGRATE_WRITER_RPS must be a number ≥ 0');
  const dir = tempDir('bench-migrate');
  const http = new HttpClient({ timeoutMs: 60_000 });
  let cluster: RoleCluster | undefined;
  try {
    const loadAvgStart = os.loadavg();
    process.stdout.write(`migrate benchmark: ${ROWS} rows; ZooKeeper, 1 nameserver, 4 tablets (binlog_retention_entries ${RETENTION_ENTRIES}${STREAM_LIMIT > 0 ? `, stream_bandwidth_limit ${STREAM_LIMIT} B/s` : ''}) and the SDK all on this machine\n`);
    cluster = await startRoleCluster(dir, {
      zkRoot: ZK_ROOT, db: DB, tablets: 4, connectionsPerTablet: 16, requestTimeoutMs: 30_000,
      nameserverFlags: { get_table_status_interval: STATUS_INTERVAL_MS }, tabletFlags: { binlog_retention_entries: RETENTION_ENTRIES, slow_request_ms: SLOW_REQUEST_MS, ...(STREAM_LIMIT > 0 ? { stream_bandwidth_limit: STREAM_LIMIT } : {}) },
    });
    const { zk, client: c } = cluster;
    const rolePids: Record<string, number> = { ns: cluster.nameserver.pid, ...Object.fromEntries(cluster.tablets.map((t, i) => [`t${i + 1}`, t.pid])) };
    const rssSampler = rssPeaks(rolePids);
    const cpuNow = (): Record<string, number> => {
      const own = process.cpuUsage();
      return { ...Object.fromEntries(Object.entries(rolePids).map(([name, pid]) => [name, cpuMicros(pid)])), client: own.user + own.system };
    };
    const [t1, t2, t3, t4] = cluster.tablets.map((t) => t.endpoint) as [string, string, string, string];
    const schema = async (name: string): Promise<TableInfo> => (await c.admin.showschema({ db: DB, name })).table;
    const status = async (endpoint: string, tid: number): Promise<ReplicaStatus> => (await http.call<{ replicas: ReplicaStatus[] }>(endpoint, '/v1/control/status', { tid, pid: 0 })).replicas[0]!;
    const createTable = async (name: string): Promise<number> => {
      const tid = await c.createTable(DB, { name, partitionNum: 1, replicaNum: 3, partitions: [{ pid: 0, leader: t1, followers: [t2, t3] }], columns: [...columns], indexes: [{ name: 'id', keys: ['id'], ts: 'at' }] });
      await waitFor(`${name}: a leader and 2 alive in-sync followers`, async () => fullyReplicated(await schema(name), 1, 3), { timeoutMs: READY_TIMEOUT_MS, intervalMs: 100 });
      return tid;
    };
    const migrate = async (name: string, tid: number): Promise<MigrateRun> => {
      const tasks: Array<[string, number]> = [];
      const cpuAt: Array<Record<string, number>> = [];
      let etaAt25: MigrateRun['etaAt25'];
      let progress = 'no report yet';
      let nextWatchMs = 0;
      let nextPrintMs = PROGRESS_PRINT_MS;
      const t0 = performance.now();
      // The monotonic clock --cpu-prof timestamps use (TESSERA_ROLE_NODE_ARGS), to cut profiles to a task.
      const t0Us = Number(process.hrtime.bigint() / 1000n);
      const { opIds } = await c.admin.migrate({ db: DB, name, src: t3, des: t4, pids: [0] });
      const opId = opIds[0]!;
      const op = await waitFor(`migrate of ${name} finished`, async () => {
        const o = (await c.admin.showopstatus({ db: DB, name })).ops.find((x) => x.opId === opId);
        const elapsedMs = performance.now() - t0;
        if (o?.curTask && tasks.at(-1)?.[0] !== o.curTask) {
          tasks.push([o.curTask, elapsedMs / 1000]);
          cpuAt.push(cpuNow());
        }
        if (o?.status === 'kDone' || o?.status === 'kFailed' || o?.status === 'kCanceled') return o;
        if (elapsedMs >= nextWatchMs) {
          // Once a second: the leader's stream towards the new replica.
          nextWatchMs = elapsedMs + 1000;
          const l = await status(t1, tid);
          const f = l.replication?.followers.find((x) => x.endpoint === t4);
          progress = `${o?.curTask ?? o?.status}; leader offset ${l.offset}, binlog from ${l.binlogFirstOffset}; stream to tablet 4: ${f ? `${f.state}, acked offset ${f.ackedOffset}, ${f.snapshotsSent} snapshot(s) sent` : 'none'}`;
          // What an operator sees: showop's copy, rate and ETA (the figure judged is the first ETA at ≥ 25%).
          const d = (await c.admin.showop({ opId })).op;
          const t = d.transfer;
          if (etaAt25 === undefined && t !== undefined && !t.done && t.bytesTotal > 0 && t.bytesCopied / t.bytesTotal >= ETA_JUDGED_AT_FRACTION && d.etaMs !== undefined) {
            etaAt25 = { atS: elapsedMs / 1000, etaS: d.etaMs / 1000, line: `${t.rowsCopied}/${t.rowsTotal} rows, ${t.bytesCopied}/${t.bytesTotal} bytes, ${d.bytesPerSec ?? '-'} B/s, eta ${round(d.etaMs / 1000, 1)} s` };
            process.stdout.write(`  migrate of ${name}, ${round(elapsedMs / 1000)} s, showop at ≥ 25%: ${etaAt25.line}\n`);
          }
          if (elapsedMs >= nextPrintMs) {
            nextPrintMs += PROGRESS_PRINT_MS;
            if (t !== undefined) progress += `; showop: ${t.rowsCopied}/${t.rowsTotal} rows copied, ${d.rowsPerSec ?? '-'} rows/s, eta ${d.etaMs === undefined ? '-' : `${round(d.etaMs / 1000, 1)} s`}${d.blockedBecause ? `, blocked_because=${d.blockedBecause}` : ''}`;
            process.stdout.write(`  migrate of ${name}, ${round(elapsedMs / 1000)} s: ${progress}\n`);
          }
          if (f && f.snapshotsSent >= SNAPSHOTS_MAX) {
            return new GiveUp(`migrate of ${name} does not converge: ${f.snapshotsSent} full snapshots sent to the new replica in ${round(elapsedMs / 1000)} s (${progress})`);
          }
        }
        return undefined;
      }, { timeoutMs: MIGRATE_TIMEOUT_MS, intervalMs: POLL_MS }).catch((err: Error) => {
        throw new Error(`${err.message}; last seen: ${progress}`);
      });
      if (op instanceof GiveUp) throw op;
      if (op.status !== 'kDone') throw new Error(`migrate of ${name} ended ${op.status}`);
      const seconds = (performance.now() - t0) / 1000;
      cpuAt.push(cpuNow());
      const layout = (await schema(name)).partitions[0]!.replicas.map((r) => `${r.endpoint}:${r.isLeader ? 'L' : 'F'}${r.isAlive ? '' : ':dead'}`).sort();
      const want = [`${t1}:L`, `${t2}:F`, `${t4}:F`].sort();
      if (layout.join() !== want.join()) throw new Error(`after migrating ${name}: replicas ${layout.join(', ')}, expected ${want.join(', ')}`);
      const detail = (await c.admin.showop({ opId }).catch(() => undefined))?.op;
      process.stderr.write(`migrate of ${name}: tasks from monotonic_us ${tasks.map(([task, s]) => `${task} ${Math.round(t0Us + s * 1e6)}`).join(', ')}, kDone ${Math.round(t0Us + seconds * 1e6)}\n`);
      return { seconds, op, tasks, detail, etaAt25, t0Ms: t0, cpuAt };
    };

    // 1. Empty partition.
    const emptyTid = await createTable('empty_t');
    const empty = await migrate('empty_t', emptyTid);

    // 2. Loaded partition.
    const tid = await createTable('loaded_t');
    const { seconds: loadS, retried: loadRetries } = await loadInBatches(ROWS, LOAD, (from, to) => c.putBatch(DB, 'loaded_t', Array.from({ length: to - from }, (_, j) => row(from + j))));
    process.stdout.write(`loaded ${ROWS} rows in ${round(loadS, 1)} s; waiting for the leader to truncate its binlog and the followers to catch up\n`);
    await waitFor('leader binlog truncated, followers caught up and in sync', async () => {
      const [l, f2, f3] = await Promise.all([status(t1, tid), status(t2, tid), status(t3, tid)]);
      return (l.binlogFirstOffset ?? 1) > 1 && l.recordCnt === ROWS && f2.offset === l.offset && f3.offset === l.offset && fullyReplicated(await schema('loaded_t'), 1, 3);
    }, { timeoutMs: READY_TIMEOUT_MS, intervalMs: 200 });

    const writer = new PacedWriter(c, 'loaded_t', ROWS);
    // The writer alone, for the CPU it costs each process (the second half of the baseline: warmed up).
    await new Promise((r) => setTimeout(r, WRITER_BASELINE_MS / 2));
    const cpuBaseStart = cpuNow();
    const baseStartMs = performance.now();
    await new Promise((r) => setTimeout(r, WRITER_BASELINE_MS / 2));
    const cpuBaseEnd = cpuNow();
    const baseS = (performance.now() - baseStartMs) / 1000;
    const tabletNames = ['t1', 't2', 't3', 't4'] as const;
    const readHolds = (): Promise<QueueHolds[]> => Promise.all([t1, t2, t3, t4].map((e) => readQueueHolds(e)));
    const holdsBefore = await readHolds();
    const moveStartMs = performance.now();
    const loaded = await migrate('loaded_t', tid).catch((err: unknown) => {
      writer.halt();
      throw err;
    });
    const moveEndMs = performance.now();
    const holdsDuring = (await readHolds()).map((after, i) => holdsBetween(holdsBefore[i]!, after));
    const leaderAtDone = await status(t1, tid);
    await writer.stop();
    const snapshotsToT4 = leaderAtDone.replication?.followers.find((f) => f.endpoint === t4)?.snapshotsSent ?? 0;
    // Converged: leader, the remaining follower and the new one hold the same rows.
    const sums = await waitFor('replicas converged (same checksum on t1, t2, t4)', () => sameChecksums(http, [t1, t2, t4], tid, 0), { timeoutMs: READY_TIMEOUT_MS, intervalMs: 200 });
    const expectedRows = ROWS + writer.acked;
    const cliT0 = performance.now();
    const cliOp = parseTable((await nsClient(zk.connectString, 'showopstatus loaded_t', { database: DB }, ZK_ROOT)).stdout, 'op_id').find((r) => r.op_id === String(loaded.op.opId));
    const cliS = (performance.now() - cliT0) / 1000;
    const w = writer.window(moveStartMs, moveEndMs);
    const base = writer.window(0, moveStartMs);
    const byTask = loaded.tasks.map(([task, atS], i) => {
      const from = loaded.t0Ms + atS * 1000;
      const to = i + 1 < loaded.tasks.length ? loaded.t0Ms + loaded.tasks[i + 1]![1] * 1000 : moveEndMs;
      return { task, fromS: atS, toS: (to - loaded.t0Ms) / 1000, ...writer.window(from, to) };
    });
    const slowest = writer.slowest(moveStartMs, moveEndMs, 5);
    // CPU seconds of each process per task (first seen → next first seen), and the writer alone per second before.
    const cpuByTask = loaded.tasks.map(([task], i) => ({
      task,
      cpuS: Object.fromEntries(Object.keys(loaded.cpuAt[i]!).map((name) => [name, (loaded.cpuAt[i + 1]![name]! - loaded.cpuAt[i]![name]!) / 1e6])),
    }));
    const cpuWriterPerS = Object.fromEntries(Object.keys(cpuBaseEnd).map((name) => [name, (cpuBaseEnd[name]! - cpuBaseStart[name]!) / 1e6 / baseS]));
    const cpuMigrate = Object.fromEntries(Object.keys(cpuBaseEnd).map((name) => [name, (loaded.cpuAt.at(-1)![name]! - loaded.cpuAt[0]![name]!) / 1e6]));
    const loadAvgEnd = os.loadavg();
    // The slow-request log's lines are counted apart (the threshold is low here on purpose).
    const warnings = roleLogWarnings(dir, ROLE_LOGS, { slowRequests: false }).map(({ file, line }) => `${file}: ${line}`);
    const slowDuring = summarizeSlowRequests(slowRequestLines(dir, ROLE_LOGS, performance.timeOrigin + moveStartMs, performance.timeOrigin + moveEndMs));
    // Peak RSS of each process over the whole run (VmHWM): t1 and t2 held the partition throughout,
    // t4 holds it after the move, t3 held it until it was dropped (issue 11: ≤ 300 MiB a tablet).
    const peakRss = Object.fromEntries(Object.entries(rolePids).map(([name, pid]) => [name, peakRssMiB(pid)]));
    const rssNow = Object.fromEntries(Object.entries(rolePids).map(([name, pid]) => [name, rssSplitMiB(pid)]));
    const rssPeak = rssSampler.stop();
    await cluster.stop();

    // 3. The limit: the same rows, same bytes a row, copied from one LevelDB into another.
    const rows = leaderAtDone.recordCnt;
    const rowBytes = leaderAtDone.memUsed / rows;
    const raw = await rawCopy(path.join(dir, 'raw'), rows, Math.max(1, Math.round(rowBytes) - RAW_KEY_BYTES));

    const figures: Record<string, number> = {
      empty_partition_s: round(empty.seconds, 3),
      empty_partition_op_s: round(((empty.op.endMs ?? 0) - (empty.op.startMs ?? 0)) / 1000, 3),
      load_rows_per_s: round(ROWS / loadS),
      load_retries: loadRetries,
      rows,
      row_bytes: round(rowBytes, 1),
      partition_bytes: leaderAtDone.memUsed,
      leader_disk_bytes: leaderAtDone.diskUsed,
      migrate_s: round(loaded.seconds, 3),
      migrate_op_s: round(((loaded.op.endMs ?? 0) - (loaded.op.startMs ?? 0)) / 1000, 3),
      rows_per_s: round(rows / loaded.seconds),
      mb_per_s: round(leaderAtDone.memUsed / 1e6 / loaded.seconds, 2),
      snapshots_sent: snapshotsToT4,
      writer_rows: w.ok,
      writer_rows_per_s: round(w.ok / loaded.seconds),
      writer_p50_ms: round(w.p50, 1),
      writer_p99_ms: round(w.p99, 1),
      writer_max_ms: round(w.max, 1),
      writer_errors: w.errors,
      writer_skipped: writer.skipped,
      writer_baseline_p99_ms: round(base.p99, 1),
      // Rows = loaded + acknowledged writer rows (+ failed calls that were applied nonetheless).
      checksum_match: sums[0]!.rows >= expectedRows && sums[0]!.rows <= expectedRows + writer.failed ? 1 : 0,
      raw_write_s: round(raw.writeS, 3),
      raw_s: round(raw.copyS, 3),
      ratio: round(loaded.seconds / raw.copyS, 2),
      role_log_warnings: warnings.length,
      load_avg_1m_start: round(loadAvgStart[0]!, 2),
      load_avg_1m_migrate_end: round(loadAvgEnd[0]!, 2),
      load_avg_1m_end: round(os.loadavg()[0]!, 2),
    };
    for (const p of byTask) if (p.calls > 0) figures[`writer_p99_ms_${p.task}`] = round(p.p99, 1);
    holdsDuring.forEach((h, i) => {
      figures[`queue_holds_slow_${tabletNames[i]}`] = h.slow;
      figures[`queue_hold_s_${tabletNames[i]}`] = round(h.seconds, 3);
    });
    for (const name of ROLE_LOGS) figures[`slow_requests_${name}`] = slowDuring.filter((x) => x.file === name).reduce((n, x) => n + x.count, 0);
    for (const [name, mib] of Object.entries(peakRss)) figures[`peak_rss_mib_${name}`] = round(mib, 1);
    for (const [name, r] of Object.entries(rssPeak)) figures[`peak_anon_mib_${name}`] = round(r.anon, 1);
    for (const [name, r] of Object.entries(rssNow)) figures[`rss_anon_mib_${name}`] = round(r.anon, 1);
    for (const [name, s] of Object.entries(cpuMigrate)) figures[`cpu_s_${name}`] = round(s, 2);
    for (const [name, s] of Object.entries(cpuWriterPerS)) figures[`writer_alone_cpu_s_per_s_${name}`] = round(s, 3);
    const copy = loaded.detail?.transfer;
    if (copy !== undefined) {
      figures.showop_rows_copied = copy.rowsCopied;
      figures.showop_bytes_copied = copy.bytesCopied;
      figures.showop_copy_s = round(((copy.endMs ?? copy.startMs) - copy.startMs) / 1000, 3);
    }
    if (loaded.detail?.rowsPerSec !== undefined) figures.showop_rows_per_s = loaded.detail.rowsPerSec;
    if (loaded.detail?.bytesPerSec !== undefined) figures.showop_bytes_per_s = loaded.detail.bytesPerSec;
    const check = loaded.detail?.checksums?.at(-1);
    if (check !== undefined) {
      figures.showop_checksum_match = check.match ? 1 : 0;
      figures.showop_checksum_offset = check.offset;
    }
    if (loaded.etaAt25 !== undefined) {
      // Predicted end (seen at + ETA) against the real end, as a fraction of the time that was left.
      const predictedS = loaded.etaAt25.atS + loaded.etaAt25.etaS;
      figures.eta_at_25pct_s = round(loaded.etaAt25.etaS, 2);
      figures.eta_seen_at_s = round(loaded.etaAt25.atS, 2);
      figures.eta_predicted_end_s = round(predictedS, 2);
      figures.eta_error_pct = round(((predictedS - loaded.seconds) / Math.max(0.001, loaded.seconds - loaded.etaAt25.atS)) * 100, 1);
    }

    process.stdout.write('-- 1. empty partition (1 × 3 replicas): migrate a follower to tablet 4\n');
    printFigure('migrate → kDone seen', figures.empty_partition_s!, `s (op's own start→end ${figures.empty_partition_op_s} s; OpenMLDB's doc: 12 s)`);
    printTasks(empty.tasks);
    process.stdout.write(`-- 2. loaded partition (1 × 3 replicas, leader binlog truncated to ${RETENTION_ENTRIES} entries), writer at ${WRITER_ROWS_PER_S} rows/s\n`);
    printFigure('load through putBatch', figures.load_rows_per_s!, `rows/s (${LOAD.batchRows} rows a batch, ${LOAD.inFlight} in flight, replica_ack all; ${loadRetries} retried batches)`);
    printFigure('migrate → kDone seen', figures.migrate_s!, `s (op's own start→end ${figures.migrate_op_s} s)`);
    printTasks(loaded.tasks);
    printFigure('rows in the partition at kDone', rows, `(leader recordCnt; ${figures.row_bytes} bytes a row)`);
    printFigure('partition size', round(leaderAtDone.memUsed / 1e6, 1), `MB (leader memUsed: key + value bytes of the live rows, what the snapshot streams; leader dir on disk ${round(leaderAtDone.diskUsed / 1e6, 1)} MB)`);
    printFigure('moved', figures.rows_per_s!, `rows/s, ${figures.mb_per_s} MB/s (rows or memUsed ÷ migrate_s)`);
    printFigure('showop: copy', figures.showop_rows_copied ?? 'none', copy === undefined ? '(no snapshot copy seen)' : `rows, ${figures.showop_bytes_copied} bytes in ${figures.showop_copy_s} s: ${figures.showop_rows_per_s ?? '-'} rows/s, ${figures.showop_bytes_per_s ?? '-'} B/s (the copy's own average, from showop)`);
    printFigure('showop: ETA at 25%', figures.eta_at_25pct_s ?? 'not seen', loaded.etaAt25 === undefined ? '(no showop sample between 25% and the end of the copy)' : `s, seen at ${figures.eta_seen_at_s} s → predicted end ${figures.eta_predicted_end_s} s, real end ${figures.migrate_s} s (error ${figures.eta_error_pct}% of the time left)`);
    printFigure('showop: checksum check', check === undefined ? 'none' : check.match ? 'equal' : 'MISMATCH', check === undefined ? '(no kCheckChecksum result in the op)' : `at offset ${check.offset}: leader ${check.leader.rows} rows, new replica ${check.replica.rows} rows`);
    printFigure('snapshots sent to tablet 4', snapshotsToT4, snapshotsToT4 === 1 ? '(the new replica was built from a snapshot)' : snapshotsToT4 > 1 ? '(full snapshots: each one but the last ended behind the leader\'s retained binlog)' : '(NOT built from a snapshot)');
    printFigure('writer during the move', w.ok, `rows acknowledged (${figures.writer_rows_per_s} rows/s in ${w.calls} putBatch calls; ${writer.skipped} rows not issued: ${WRITER_CALLS_IN_FLIGHT_MAX} calls pending)`);
    printFigure('writer latency during the move', figures.writer_p99_ms!, `ms p99 a call (p50 ${figures.writer_p50_ms} ms, max ${figures.writer_max_ms} ms; before the move p99 ${figures.writer_baseline_p99_ms} ms)`);
    printFigure('writer errors during the move', w.errors, writer.firstError ? `(first: ${writer.firstError})` : '');
    const holdLine = holdsDuring.map((h, i) => `${tabletNames[i]} ${h.holds} / ${round(h.seconds * 1000)} ms / ${h.slow}${Object.keys(h.secondsByTask).length > 0 ? ` (${Object.entries(h.secondsByTask).map(([task, sec]) => `${task} ${round(sec * 1000)} ms`).join(', ')})` : ''}`).join('; ');
    process.stdout.write(`  replica queues held by exclusive work during the move (holds / time / over ${HOLD_SLOW_BUCKET_S * 1000} ms; tablets' tessera_storage_queue_hold_seconds): ${holdLine}\n`);
    const slowLine = slowDuring.length === 0 ? 'none' : slowDuring.map((x) => `${x.file} ${x.route.replace(/^\/v1\/(data|replica)\//, '')} ${x.count} (max ${round(x.maxMs)} ms)`).join('; ');
    process.stdout.write(`  requests served in ${SLOW_REQUEST_MS} ms or more during the move (tablets' slow-request log): ${slowLine}\n`);
    process.stdout.write('  writer calls by the task current when they started (s from the migrate): calls, p50 / p99 / max ms\n');
    for (const p of byTask) process.stdout.write(`    ${p.task.padEnd(26)} ${round(p.fromS, 2)}–${round(p.toS, 2)}: ${p.calls}, ${round(p.p50)} / ${round(p.p99)} / ${round(p.max)}\n`);
    const cpuLine = (cpu: Record<string, number>, digits: number): string => Object.entries(cpu).map(([name, s]) => `${name} ${round(s, digits)}`).join(', ');
    process.stdout.write(`  CPU s (user + system) from kPauseSnapshot seen to kDone seen: ${cpuLine(cpuMigrate, 2)}; by the task current:\n`);
    for (const p of cpuByTask) process.stdout.write(`    ${p.task.padEnd(26)} ${cpuLine(p.cpuS, 2)}\n`);
    process.stdout.write(`  CPU s per s of the writer alone before the move: ${cpuLine(cpuWriterPerS, 3)}\n`);
    process.stdout.write(`  slowest writer calls (started at s, ms): ${slowest.map((x) => `${round((x.at - loaded.t0Ms) / 1000, 2)} ${round(x.ms)}`).join(', ')}\n`);
    printFigure('load average (1 min)', figures.load_avg_1m_start!, `at the start; ${figures.load_avg_1m_migrate_end} at the migrate's end; ${figures.load_avg_1m_end} at the end`);
    printFigure('checksum t1 = t2 = t4', sums[0]!.sha256.slice(0, 12), `(${sums[0]!.rows} rows; expected ${ROWS} loaded + ${writer.acked} acknowledged writer rows${writer.failed ? ` (+ ≤ ${writer.failed} failed)` : ''}: ${figures.checksum_match ? 'match' : 'MISMATCH'})`);
    printFigure('peak RSS (VmHWM)', Object.entries(peakRss).map(([name, mib]) => `${name} ${round(mib)}`).join(', '), `MiB (${rows} rows on t1, t2 and t4; the bench's own process ${round(peakRssMiB(process.pid))} MiB, its raw copy included)`);
    printFigure('peak RSS anon / file, sampled', Object.entries(rssPeak).map(([name, r]) => `${name} ${round(r.anon)} / ${round(r.file)}`).join(', '), `MiB (every ${RSS_SAMPLE_INTERVAL_MS} ms; anon: heaps and malloc, what the process holds; file: LevelDB's mapped table files)`);
    printFigure('RSS at kDone, anon + file', Object.entries(rssNow).map(([name, r]) => `${name} ${round(r.anon)} + ${round(r.file)}`).join(', '), 'MiB (file: LevelDB\'s mapped table files, page cache)');
    printFigure('ns_client showopstatus', cliOp?.status ?? 'missing', `(op ${loaded.op.opId}; one ns_client process took ${round(cliS, 2)} s, not counted in the times above)`);
    process.stdout.write('-- 3. the limit, same run (cluster stopped): classic-level in one process\n');
    printFigure('write the rows, chained batches', figures.raw_write_s!, `s (${rows} rows, ${RAW_KEY_BYTES}-byte keys, ${Math.max(1, Math.round(rowBytes) - RAW_KEY_BYTES)}-byte values)`);
    printFigure('iterate them into a second DB', figures.raw_s!, 's (raw_s: read + write, a snapshot transfer at best)');
    printFigure('ratio migrate_s / raw_s', figures.ratio!);
    printFigure('WARN/ERROR lines in role logs', warnings.length);
    for (const l of warnings.slice(0, 5)) process.stdout.write(`  ${l.slice(0, 300)}\n`);
    if (figures.checksum_match !== 1) throw new Error(`the converged replicas hold ${sums[0]!.rows} rows, expected ${expectedRows}`);
    if (cliOp?.status !== 'kDone') throw new Error(`ns_client showopstatus shows op ${loaded.op.opId} as ${cliOp?.status ?? 'missing'}`);
    return figures;
  } catch (err) {
    // What the roles said, before their logs are removed with the temp dir.
    for (const f of ROLE_LOGS) {
      const lines = roleLogWarnings(dir, [f]).map((w) => w.line);
      if (lines.length > 0) process.stderr.write(`${f}.log: ${lines.length} WARN/ERROR lines, the last ones:\n${lines.slice(-5).map((l) => `  ${l.slice(0, 400)}`).join('\n')}\n`);
    }
    throw err;
  } finally {
    await cluster?.stop();
    await http.close();
    // TESSERA_BENCH_KEEP_DIR=1 keeps the cluster's directory (role logs, LevelDB's LOG files).
    if (process.env['TESSERA_BENCH_KEEP_DIR'] !== '1') removeDir(dir);
    else process.stdout.write(`cluster directory kept: ${dir}\n`);
  }
}

function printTasks(tasks: Array<[string, number]>): void {
  process.stdout.write(`  tasks first seen at (s): ${tasks.map(([t, s]) => `${t} ${round(s, 2)}`).join(', ')}\n`);
}

/**
 * Open loop: every WRITER_TICK_MS one putBatch of the rows due at WRITER_ROWS_PER_S since the
 * start (~10 rows), not waiting for earlier calls (a slow call does not lower the offered rate).
 * Each call's latency is recorded with its start time. Rows due while WRITER_CALLS_IN_FLIGHT_MAX
 * calls are pending are not issued (counted as skipped).
 */
class PacedWriter {
  acked = 0;
  failed = 0;
  skipped = 0;
  firstError: string | undefined;
  private readonly calls: Array<{ at: number; ms: number; rows: number; ok: boolean }> = [];
  private readonly inflight = new Set<Promise<void>>();
  private issued = 0;
  private readonly t0 = performance.now();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly c: Client, private readonly table: string, private readonly firstId: number) {
    this.timer = setInterval(() => this.tick(), WRITER_TICK_MS);
  }

  private tick(): void {
    const due = Math.floor(((performance.now() - this.t0) / 1000) * WRITER_ROWS_PER_S);
    const n = due - this.issued;
    if (n <= 0) return;
    const from = this.issued;
    this.issued = due;
    if (this.inflight.size >= WRITER_CALLS_IN_FLIGHT_MAX) {
      this.skipped += n;
      return;
    }
    const at = performance.now();
    const rows = Array.from({ length: n }, (_, j) => row(this.firstId + from + j, 'w'));
    const p = this.c.putBatch(DB, this.table, rows).then(
      () => {
        this.acked += n;
        this.calls.push({ at, ms: performance.now() - at, rows: n, ok: true });
      },
      (err: Error) => {
        this.failed += n;
        this.firstError ??= err.message;
        this.calls.push({ at, ms: performance.now() - at, rows: n, ok: false });
      },
    );
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  /** Issues no more calls (those in flight are left to finish or fail). */
  halt(): void {
    clearInterval(this.timer);
  }

  async stop(): Promise<void> {
    this.halt();
    await Promise.all([...this.inflight]);
  }

  /** The `n` slowest acknowledged calls started in [from, to): start time and latency. */
  slowest(from: number, to: number, n: number): Array<{ at: number; ms: number }> {
    return this.calls.filter((x) => x.ok && x.at >= from && x.at < to).sort((a, b) => b.ms - a.ms).slice(0, n).map((x) => ({ at: x.at, ms: x.ms }));
  }

  /** Calls started in [from, to) (performance.now() times): rows acknowledged, failed calls, latency of the others. */
  window(from: number, to: number): { ok: number; calls: number; errors: number; p50: number; p99: number; max: number } {
    const mine = this.calls.filter((x) => x.at >= from && x.at < to);
    const good = mine.filter((x) => x.ok);
    const lat = good.map((x) => x.ms).sort((a, b) => a - b);
    return { ok: good.reduce((n, x) => n + x.rows, 0), calls: mine.length, errors: mine.length - good.length, p50: percentile(lat, 50), p99: percentile(lat, 99), max: lat.at(-1) ?? 0 };
  }
}

/** Writes `rows` rows into one LevelDB (chained batches), then times copying them all into a second. */
async function rawCopy(dir: string, rows: number, valueBytes: number): Promise<{ writeS: number; copyS: number }> {
  rmSync(dir, { recursive: true, force: true });
  const src = new ClassicLevel<Buffer, Buffer>(path.join(dir, 'src'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  const dst = new ClassicLevel<Buffer, Buffer>(path.join(dir, 'dst'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await src.open();
  await dst.open();
  try {
    const values = Array.from({ length: PAD_POOL }, () => Buffer.from(randomBytes(valueBytes).toString('base64').slice(0, valueBytes)));
    let t0 = performance.now();
    for (let i = 0; i < rows; i += LOAD.batchRows) {
      const b = src.batch();
      for (let j = i; j < Math.min(rows, i + LOAD.batchRows); j++) b.put(Buffer.from(`k${String(j).padStart(RAW_KEY_BYTES - 1, '0')}`), values[j % PAD_POOL]!);
      await b.write();
    }
    const writeS = (performance.now() - t0) / 1000;
    t0 = performance.now();
    const it = src.iterator();
    let copied = 0;
    let batch = dst.batch();
    let bytes = 0;
    for (;;) {
      const entries = await it.nextv(1000);
      if (entries.length === 0) break;
      for (const [k, v] of entries) {
        batch.put(k, v);
        bytes += k.length + v.length;
        copied++;
        if (bytes >= RAW_CHUNK_BYTES) {
          await batch.write();
          batch = dst.batch();
          bytes = 0;
        }
      }
    }
    await it.close();
    if (bytes > 0) await batch.write();
    else await batch.close();
    const copyS = (performance.now() - t0) / 1000;
    if (copied !== rows) throw new Error(`raw copy moved ${copied} rows, expected ${rows}`);
    return { writeS, copyS };
  } finally {
    await src.close();
    await dst.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
