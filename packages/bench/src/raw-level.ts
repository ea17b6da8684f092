/**
 * The physical limit on this machine: classic-level used directly in one process, with the same
 * value sizes the HTTP benchmarks write. Measured in the same run as the figures it bounds.
 */
import { rmSync } from 'node:fs';
import { ClassicLevel } from 'classic-level';

export interface RawFigures {
  rawBatchRowsPerS: number;
  rawGetSyncPerS: number;
  rawIteratorRowsPerS: number;
}

export async function measureRawLevel(dir: string, rows: number, valueBytes: number, batchRows: number): Promise<RawFigures> {
  rmSync(dir, { recursive: true, force: true });
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  const value = Buffer.alloc(valueBytes, 7);
  const key = (i: number): Buffer => Buffer.from(`k${String(i).padStart(10, '0')}`);
  let t0 = performance.now();
  for (let i = 0; i < rows; i += batchRows) {
    const b = db.batch();
    for (let j = i; j < Math.min(rows, i + batchRows); j++) b.put(key(j), value);
    await b.write();
  }
  const rawBatchRowsPerS = rows / ((performance.now() - t0) / 1000);
  t0 = performance.now();
  const gets = Math.min(rows, 200_000);
  for (let i = 0; i < gets; i++) db.getSync(key(Math.floor(Math.random() * rows)));
  const rawGetSyncPerS = gets / ((performance.now() - t0) / 1000);
  t0 = performance.now();
  let n = 0;
  const it = db.iterator();
  for (;;) {
    const chunk = await it.nextv(1000);
    if (chunk.length === 0) break;
    n += chunk.length;
  }
  await it.close();
  const rawIteratorRowsPerS = n / ((performance.now() - t0) / 1000);
  await db.close();
  rmSync(dir, { recursive: true, force: true });
  return { rawBatchRowsPerS, rawGetSyncPerS, rawIteratorRowsPerS };
}
