// The arithmetic of showop (src/core/op-progress.ts): rates over the recent window of samples,
// the ETA of a copy and of a catch-up, and why an op waits. Pure functions on made-up figures.
import t from 'tap';
import type { OpTransferDetail } from '@tessera/common';
import { addSample, averageRates, blockedBecause, etaMs, RATE_WINDOW_MS, ratesOf, SAMPLES_MAX, type ProgressSample } from '../src/core/op-progress.js';

const transfer = (copied: number, total: number, done = false): OpTransferDetail => ({
  des: 'b:2', src: 'a:1', rowsCopied: copied / 100, rowsTotal: total / 100, bytesCopied: copied, bytesTotal: total, done, startMs: 0, ...(done ? { endMs: 10_000 } : {}),
});

t.test('rates over the window', async (t) => {
  const s: ProgressSample[] = [];
  t.equal(ratesOf(s), undefined, 'no samples, no rate');
  addSample(s, { atMs: 0, rowsCopied: 0, bytesCopied: 0 });
  t.equal(ratesOf(s), undefined, 'one sample, no rate');
  addSample(s, { atMs: 2000, rowsCopied: 2000, bytesCopied: 200_000, lagEntries: 500 });
  addSample(s, { atMs: 2000, rowsCopied: 9999, bytesCopied: 9999 });
  t.equal(s.length, 2, 'a sample at the same time is not added');
  addSample(s, { atMs: 4000, rowsCopied: 6000, bytesCopied: 600_000, lagEntries: 300 });
  const r = ratesOf(s)!;
  t.equal(r.rowsPerSec, 1500, '6000 rows in 4 s');
  t.equal(r.bytesPerSec, 150_000);
  t.equal(r.lagDrainPerSec, 100, 'lag 500 → 300 in 2 s');
  addSample(s, { atMs: 4000 + RATE_WINDOW_MS, rowsCopied: 16_000, bytesCopied: 1_600_000 });
  t.equal(ratesOf(s)!.rowsPerSec, 1000, 'only samples within the window count: 10,000 rows in 10 s');
  for (let i = 0; i < SAMPLES_MAX + 5; i++) addSample(s, { atMs: 20_000 + i, rowsCopied: i, bytesCopied: i });
  t.equal(s.length, SAMPLES_MAX, 'bounded');
});

t.test('average rate of a finished copy', async (t) => {
  t.same(averageRates(transfer(1_000_000, 1_000_000, true)), { rowsPerSec: 1000, bytesPerSec: 100_000 });
  t.equal(averageRates(transfer(10, 100)), undefined, 'not finished');
});

t.test('ETA', async (t) => {
  t.equal(etaMs(transfer(250_000, 1_000_000), { rowsPerSec: 0, bytesPerSec: 75_000 }, undefined, 10), 10_000, '750 kB left at 75 kB/s');
  t.equal(etaMs(transfer(250_000, 1_000_000), undefined, undefined, 10), undefined, 'no rate yet');
  t.equal(etaMs(transfer(250_000, 1_000_000), { rowsPerSec: 0, bytesPerSec: 0 }, undefined, 10), undefined, 'a stalled copy has no ETA');
  t.equal(etaMs(transfer(1_000_000, 1_000_000), undefined, undefined, 10), 0, 'all bytes sent');
  t.equal(etaMs(transfer(1_000_000, 1_000_000, true), { rowsPerSec: 0, bytesPerSec: 0, lagDrainPerSec: 200 }, 1000, 10), 5000, 'after the copy: lag 1000 draining at 200/s');
  t.equal(etaMs(undefined, undefined, 5, 10), 0, 'lag within the sync bound: done');
  t.equal(etaMs(undefined, { rowsPerSec: 0, bytesPerSec: 0, lagDrainPerSec: -5 }, 1000, 10), undefined, 'a growing lag has no ETA');
  t.equal(etaMs(undefined, undefined, undefined, 10), undefined, 'nothing known');
});

t.test('blocked_because', async (t) => {
  const base = { running: [], concurrencyMax: 2, throttled: false, waitingForInSync: false };
  const op = { id: 5, tid: 1, pid: 0, status: 'kDoing' as const };
  t.equal(blockedBecause(op, base), undefined, 'moving');
  t.equal(blockedBecause(op, { ...base, throttled: true })?.because, 'throttle');
  t.equal(blockedBecause(op, { ...base, throttled: true, taskEndpoint: { endpoint: 'a:1', healthy: false } })?.because, 'tablet down', 'a down tablet comes first');
  t.equal(blockedBecause(op, { ...base, taskEndpoint: { endpoint: 'a:1', healthy: true } }), undefined);
  t.equal(blockedBecause(op, { ...base, waitingForInSync: true })?.because, 'waiting for the in-sync set');
  const waiting = { ...op, status: 'kInited' as const };
  t.equal(blockedBecause(waiting, { ...base, running: [{ id: 4, tid: 1, pid: 0 }] })?.because, 'partition busy');
  t.match(blockedBecause(waiting, { ...base, running: [{ id: 4, tid: 1, pid: 0 }] })?.detail, /op 4/);
  t.equal(blockedBecause(waiting, { ...base, running: [{ id: 1, tid: 2, pid: 0 }, { id: 2, tid: 3, pid: 0 }] })?.because, 'concurrency limit');
  t.equal(blockedBecause(waiting, { ...base, running: [{ id: 1, tid: 2, pid: 0 }] }), undefined, 'room to start');
  t.equal(blockedBecause({ ...op, status: 'kDone' }, { ...base, throttled: true }), undefined, 'a finished op waits for nothing');
});
