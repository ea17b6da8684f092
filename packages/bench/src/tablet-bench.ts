/**
 * `pnpm bench tablet`: one real tablet process over HTTP/msgpack — single-row puts at 64 in
 * flight, batches of 100 rows, gets, scans — and, in the same run, raw classic-level rates in one
 * process, with the ratio of each HTTP figure to its raw counterpart. Last line: one JSON object.
 */
import path from 'node:path';
import { HttpClient, encode } from '@tessera/common';
import { spawnRole, stopAllRoles, tempDir, removeDir } from '@tessera/testkit';
import { measureRawLevel } from './raw-level.js';
import { benchRowValues, benchSchema } from './bench-row.js';
import { printFigure, round, runLoad } from './measure.js';

const schema = benchSchema('bench');
/** Keys the rows spread over. */
const KEYS = 10_000;
const DURATION_MS = Number(process.env.TESSERA_BENCH_DURATION_MS ?? 5000);

export async function benchTablet(): Promise<Record<string, number>> {
  const dir = tempDir('bench-tablet');
  const client = new HttpClient({ connectionsPerEndpoint: 64, timeoutMs: 30_000 });
  try {
    process.stdout.write(`tablet benchmark: ${DURATION_MS} ms per figure, client and tablet on the same 2-core machine\n`);
    const raw = await measureRawLevel(path.join(dir, 'raw'), 300_000, 100, 100);
    const tablet = await spawnRole('tablet', { db_root_path: path.join(dir, 'db'), zk_cluster: '', log_level: 'warn' }, { logFile: path.join(dir, 'tablet.log') });
    const ep = tablet.endpoint;
    await client.call(ep, '/v1/control/create_replica', { tid: 1, pid: 0, schema, role: 'leader', term: 1 });

    const noop = await runLoad(64, DURATION_MS, async () => {
      await client.call(ep, '/v1/ping', {});
      return 1;
    });
    let seq = 0;
    const single = await runLoad(64, DURATION_MS, async () => {
      const n = seq++;
      await client.call(ep, '/v1/data/put', { tid: 1, pid: 0, row: benchRowValues(n, KEYS) });
      return 1;
    });
    const single128 = await runLoad(128, DURATION_MS, async () => {
      const n = seq++;
      await client.call(ep, '/v1/data/put', { tid: 1, pid: 0, row: benchRowValues(n, KEYS) });
      return 1;
    });
    const batches = await runLoad(8, DURATION_MS, async () => {
      const rows = [];
      for (let i = 0; i < 100; i++) {
        const n = seq++;
        rows.push({ row: benchRowValues(n, KEYS) });
      }
      await client.callRaw(ep, '/v1/data/put_batch', encode({ tid: 1, pid: 0, rows }));
      return 100;
    });
    const gets = await runLoad(64, DURATION_MS, async () => {
      await client.call(ep, '/v1/data/get', { tid: 1, pid: 0, key: `k${Math.floor(Math.random() * KEYS)}` });
      return 1;
    });
    const scans = await runLoad(8, DURATION_MS, async () => {
      const res = await client.call<{ rows: unknown[] }>(ep, '/v1/data/scan', { tid: 1, pid: 0, key: `k${Math.floor(Math.random() * KEYS)}`, st: 0, et: 0, limit: 1000 });
      return res.rows.length;
    });
    await tablet.stop();

    const figures = {
      put_rows_per_s: round(single.perSecond),
      put_p50_ms: single.p50Ms,
      put_p99_ms: single.p99Ms,
      put_rows_per_s_128_in_flight: round(single128.perSecond),
      http_noop_per_s: round(noop.perSecond),
      ratio_put_noop: round(single.perSecond / noop.perSecond, 3),
      put_batch100_rows_per_s: round(batches.perSecond),
      get_per_s: round(gets.perSecond),
      get_p99_ms: gets.p99Ms,
      scan_rows_per_s: round(scans.perSecond),
      raw_batch_rows_per_s: round(raw.rawBatchRowsPerS),
      raw_getsync_per_s: round(raw.rawGetSyncPerS),
      raw_iterator_rows_per_s: round(raw.rawIteratorRowsPerS),
      ratio_batch: round(batches.perSecond / raw.rawBatchRowsPerS, 3),
      ratio_put: round(single.perSecond / raw.rawBatchRowsPerS, 3),
      ratio_get: round(gets.perSecond / raw.rawGetSyncPerS, 3),
      ratio_scan: round(scans.perSecond / raw.rawIteratorRowsPerS, 3),
      errors: noop.errors + single128.errors + single.errors + batches.errors + gets.errors + scans.errors,
    };
    printFigure('single-row puts, 64 in flight', figures.put_rows_per_s, `rows/s (p50 ${single.p50Ms} ms, p99 ${single.p99Ms} ms)`);
    printFigure('single-row puts, 128 in flight', figures.put_rows_per_s_128_in_flight, 'rows/s');
    printFigure('no-op HTTP round trips, 64 in flight', figures.http_noop_per_s, 'req/s (the floor every route pays)');
    printFigure('ratio single puts / no-op', figures.ratio_put_noop);
    printFigure('batched puts, 100 rows, 8 in flight', figures.put_batch100_rows_per_s, 'rows/s');
    printFigure('gets, 64 in flight', figures.get_per_s, `gets/s (p99 ${gets.p99Ms} ms)`);
    printFigure('scans, limit 1000, 8 in flight', figures.scan_rows_per_s, 'rows/s');
    printFigure('raw classic-level chained batch', figures.raw_batch_rows_per_s, 'rows/s');
    printFigure('raw classic-level getSync', figures.raw_getsync_per_s, 'gets/s');
    printFigure('raw classic-level iterator', figures.raw_iterator_rows_per_s, 'rows/s');
    printFigure('ratio batched / raw batch', figures.ratio_batch);
    printFigure('ratio gets / raw getSync', figures.ratio_get);
    return figures;
  } finally {
    await client.close();
    await stopAllRoles();
    removeDir(dir);
  }
}
