// Micro-benchmark (not a test; run by hand): decode ops/s of a typical put body, a 100-row
// put_batch body and a stored row, with msgpackr alone ("before": the same Packr options as
// codec.ts) and with the codec's checks ("after": decode()). Before and after alternate in
// 0.3 s slices, 11 pairs, so load from other processes hits both alike; medians reported.
//   node packages/common/dist/test/codec-bench.js
import { Packr } from 'msgpackr';
import { decode, encode } from '../src/index.js';

const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'auto' as unknown as 'bigint', moreTypes: false, structuredClone: false, bundleStrings: false });

const row = (i: number): unknown[] => [`card_${String(i).padStart(6, '0')}`, 42.5 + i, 1_700_000_000_000 + i, `merchant_${i % 97}`, i % 13, 'Zürich'];
const bodies: Array<[string, Buffer]> = [
  ['put body', encode({ tid: 3, pid: 1, row: row(123), ts: 1_700_000_000_123, writeId: 'k3j9x2.1a2b' })],
  ['put_batch body, 100 rows', encode({ tid: 3, pid: 1, rows: Array.from({ length: 100 }, (_, i) => ({ row: row(i), ts: 1_700_000_000_000 + i, writeId: `k3j9x2.${i.toString(36)}` })) })],
  ['stored row', encode([1_700_000_000_123, ...row(123)])],
];

function opsPerSecond(fn: () => unknown): number {
  let n = 0;
  const start = process.hrtime.bigint();
  const budgetNs = 300_000_000n;
  for (;;) {
    for (let i = 0; i < 1000; i++) fn();
    n += 1000;
    const elapsed = process.hrtime.bigint() - start;
    if (elapsed >= budgetNs) return (n * 1e9) / Number(elapsed);
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

for (const [label, bytes] of bodies) {
  const before: number[] = [];
  const after: number[] = [];
  for (let run = 0; run < 11; run++) {
    before.push(opsPerSecond(() => packr.unpack(bytes)));
    after.push(opsPerSecond(() => decode(bytes)));
  }
  const b = median(before);
  const a = median(after);
  console.log(`${label} (${bytes.length} B): before ${Math.round(b).toLocaleString('en')} ops/s, after ${Math.round(a).toLocaleString('en')} ops/s (${((a / b - 1) * 100).toFixed(1)}%)`);
}
