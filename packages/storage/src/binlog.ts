/**
 * Binlog entries: one per write, numbered by offset (1, 2, ...) and tagged with the term of the
 * leader that made it. Stored in the replica's own LevelDB next to the rows they produced, in the
 * same atomic batch. Encoded as compact msgpack arrays; the offset lives in the key.
 */
import { decodeStored, encode, TesseraError, type Value } from '@tessera/common';

export interface BinlogPut {
  offset: number;
  term: number;
  kind: 'put';
  /** The write's time (used by indexes that name no ts column). */
  ts: number;
  values: Value[];
  /** Client write id, for de-duplicating retried writes. */
  writeId?: string;
  /**
   * Index numbers this partition stores the row under (OpenMLDB's dimensions: a row is written
   * to each partition one of its index keys hashes to, under those indexes only). Absent = all.
   */
  dims?: number[];
}

export interface BinlogDelete {
  offset: number;
  term: number;
  kind: 'delete';
  indexNo: number;
  key: string;
  writeId?: string;
}

export type BinlogEntry = BinlogPut | BinlogDelete;

const KIND_PUT = 0;
const KIND_DELETE = 1;

export function encodeEntry(e: BinlogEntry): Buffer {
  if (e.kind === 'put') {
    if (e.dims !== undefined) return encode([e.term, KIND_PUT, e.ts, e.values, e.writeId ?? null, e.dims]);
    return encode(e.writeId === undefined ? [e.term, KIND_PUT, e.ts, e.values] : [e.term, KIND_PUT, e.ts, e.values, e.writeId]);
  }
  return encode(e.writeId === undefined ? [e.term, KIND_DELETE, e.indexNo, e.key] : [e.term, KIND_DELETE, e.indexNo, e.key, e.writeId]);
}

export function decodeEntry(offset: number, bytes: Buffer): BinlogEntry {
  const a = decodeStored(bytes) as unknown[];
  if (!Array.isArray(a) || a.length < 4) throw new TesseraError('STORAGE_CORRUPTION', `binlog entry ${offset} does not decode`);
  const term = a[0] as number;
  const writeId = a.length > 4 && a[4] !== null ? (a[4] as string) : undefined;
  if (a[1] === KIND_PUT) {
    const e: BinlogPut = { offset, term, kind: 'put', ts: a[2] as number, values: a[3] as Value[] };
    if (writeId !== undefined) e.writeId = writeId;
    if (a.length > 5) e.dims = a[5] as number[];
    return e;
  }
  if (a[1] === KIND_DELETE) {
    const e: BinlogDelete = { offset, term, kind: 'delete', indexNo: a[2] as number, key: a[3] as string };
    if (writeId !== undefined) e.writeId = writeId;
    return e;
  }
  throw new TesseraError('STORAGE_CORRUPTION', `binlog entry ${offset} has unknown kind ${String(a[1])}`);
}

/** Checks an entry that arrived over the wire before it is applied. */
export function validateEntry(e: unknown, expectedOffset: number): BinlogEntry {
  const x = e as Record<string, unknown>;
  const bad = (why: string): TesseraError => new TesseraError('INVALID_ARGUMENT', `binlog entry at ${expectedOffset}: ${why}`);
  if (typeof x !== 'object' || x === null) throw bad('not a map');
  if (x.offset !== expectedOffset) throw new TesseraError('OFFSET_GAP', `expected offset ${expectedOffset}, got ${String(x.offset)}`, { offset: expectedOffset - 1 });
  if (!Number.isSafeInteger(x.term) || (x.term as number) < 0) throw bad('bad term');
  if (x.writeId !== undefined && typeof x.writeId !== 'string') throw bad('bad writeId');
  if (x.kind === 'put') {
    if (!Number.isSafeInteger(x.ts) || (x.ts as number) < 0) throw bad('bad ts');
    if (!Array.isArray(x.values)) throw bad('bad values');
    if (x.dims !== undefined && (!Array.isArray(x.dims) || x.dims.some((d) => !Number.isInteger(d) || (d as number) < 0 || (d as number) > 255))) throw bad('bad dims');
  } else if (x.kind === 'delete') {
    if (!Number.isInteger(x.indexNo) || typeof x.key !== 'string') throw bad('bad delete');
  } else {
    throw bad('bad kind');
  }
  return x as unknown as BinlogEntry;
}
