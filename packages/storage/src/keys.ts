/**
 * The byte layout of one replica's LevelDB. Three key spaces, each behind a one-byte tag:
 *   META   0x01 name                                  → msgpack (replica info, state, role)
 *   BINLOG 0x02 offset:u64be                          → msgpack binlog entry
 *   ROW    0x03 index:u8 keyLen:u32be key ts' off'    → msgpack [writeTs, ...values] (or its tombstone, row-value.ts)
 *   PURGE  0x04 offset:u64be                          → msgpack [row keys] a delete at offset tombstoned
 *   HEAD   0x05 index:u8 keyLen:u32be key             → ts:u64be offset:u64be of the key's newest row (heads.ts)
 * where ts' = MAX−ts and off' = MAX−offset (both u64be), so that within one key the newest row
 * comes first and two rows with the same ts stay distinct, newest write first. Nothing else in
 * the package builds keys by hand.
 */
export const TAG_META = 0x01;
export const TAG_BINLOG = 0x02;
export const TAG_ROW = 0x03;
export const TAG_PURGE = 0x04;
export const TAG_HEAD = 0x05;

const TWO_32 = 2 ** 32;

/** Writes ~x as a u64be (x < 2^53): MAX−x is the bitwise NOT, so each 32-bit half is inverted. */
function writeInvertedU64(b: Buffer, x: number, at: number): void {
  b.writeUInt32BE(~Math.floor(x / TWO_32) >>> 0, at);
  b.writeUInt32BE(~(x >>> 0) >>> 0, at + 4);
}

function readInvertedU64(b: Buffer, at: number): number {
  return (~b.readUInt32BE(at) >>> 0) * TWO_32 + (~b.readUInt32BE(at + 4) >>> 0);
}

function writeU64(b: Buffer, x: number, at: number): void {
  b.writeUInt32BE(Math.floor(x / TWO_32), at);
  b.writeUInt32BE(x >>> 0, at + 4);
}

export const META_INFO = Buffer.from([TAG_META, ...Buffer.from('info')]);
export const META_STATE = Buffer.from([TAG_META, ...Buffer.from('state')]);
export const META_ROLE = Buffer.from([TAG_META, ...Buffer.from('role')]);

export function binlogKey(offset: number): Buffer {
  const b = Buffer.allocUnsafe(9);
  b[0] = TAG_BINLOG;
  writeU64(b, offset, 1);
  return b;
}

export function offsetOfBinlogKey(key: Buffer): number {
  return key.readUInt32BE(1) * TWO_32 + key.readUInt32BE(5);
}

export const BINLOG_START = Buffer.from([TAG_BINLOG]);
export const BINLOG_END = Buffer.from([TAG_BINLOG + 1]);
export const ROW_START = Buffer.from([TAG_ROW]);
export const ROW_END = Buffer.from([TAG_ROW + 1]);

/** Prefix of every row of one key in one index. */
export function rowKeyPrefix(indexNo: number, key: Buffer): Buffer {
  const b = Buffer.allocUnsafe(6 + key.length);
  b[0] = TAG_ROW;
  b[1] = indexNo;
  b.writeUInt32BE(key.length, 2);
  key.copy(b, 6);
  return b;
}

/** Prefix of every row of one index. */
export function indexPrefix(indexNo: number): Buffer {
  return Buffer.from([TAG_ROW, indexNo]);
}

/** The first key after every key that starts with `prefix`. */
export function prefixEnd(prefix: Buffer): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      b[i]! += 1;
      return b.subarray(0, i + 1);
    }
  }
  return Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
}

export function rowKey(indexNo: number, key: Buffer, ts: number, offset: number): Buffer {
  const b = Buffer.allocUnsafe(22 + key.length);
  b[0] = TAG_ROW;
  b[1] = indexNo;
  b.writeUInt32BE(key.length, 2);
  key.copy(b, 6);
  const p = 6 + key.length;
  writeInvertedU64(b, ts, p);
  writeInvertedU64(b, offset, p + 8);
  return b;
}

/** The seek key for "rows of this key with ts ≤ maxTs". */
export function rowSeekKey(indexNo: number, key: Buffer, maxTs: number): Buffer {
  const b = Buffer.allocUnsafe(14 + key.length);
  b[0] = TAG_ROW;
  b[1] = indexNo;
  b.writeUInt32BE(key.length, 2);
  key.copy(b, 6);
  writeInvertedU64(b, maxTs, 6 + key.length);
  return b;
}

export interface ParsedRowKey {
  indexNo: number;
  key: Buffer;
  ts: number;
  offset: number;
}

export function parseRowKey(k: Buffer): ParsedRowKey {
  const len = k.readUInt32BE(2);
  const p = 6 + len;
  return {
    indexNo: k[1]!,
    key: k.subarray(6, p),
    ts: readInvertedU64(k, p),
    offset: readInvertedU64(k, p + 8),
  };
}

/** The ts of a row key whose prefix is `prefixLength` long (parseRowKey's, without the object). */
export function rowKeyTs(k: Buffer, prefixLength: number): number {
  return readInvertedU64(k, prefixLength);
}

/** The offset of a row key whose prefix is `prefixLength` long. */
export function rowKeyOffset(k: Buffer, prefixLength: number): number {
  return readInvertedU64(k, prefixLength + 8);
}

/** Length of the (index, key) prefix of a row key, to group rows by key while iterating. */
export function rowKeyPrefixLength(k: Buffer): number {
  return 6 + k.readUInt32BE(2);
}

/** The list of row keys the delete at `offset` tombstoned, removed once it is committed. */
export function purgeKey(offset: number): Buffer {
  const b = Buffer.allocUnsafe(9);
  b[0] = TAG_PURGE;
  writeU64(b, offset, 1);
  return b;
}

export const PURGE_START = Buffer.from([TAG_PURGE]);
export const PURGE_END = Buffer.from([TAG_PURGE + 1]);

export const HEAD_START = Buffer.from([TAG_HEAD]);
export const HEAD_END = Buffer.from([TAG_HEAD + 1]);

/** The key of the head record of one key of one index (heads.ts): the row prefix under its own tag. */
export function headKey(indexNo: number, key: Buffer): Buffer {
  const b = rowKeyPrefix(indexNo, key);
  b[0] = TAG_HEAD;
  return b;
}

/** A head record's value: the time and offset of the row it names. */
export function headValue(ts: number, offset: number): Buffer {
  const b = Buffer.allocUnsafe(16);
  writeU64(b, ts, 0);
  writeU64(b, offset, 8);
  return b;
}

export function parseHeadValue(v: Buffer): { ts: number; offset: number } {
  return { ts: v.readUInt32BE(0) * TWO_32 + v.readUInt32BE(4), offset: v.readUInt32BE(8) * TWO_32 + v.readUInt32BE(12) };
}
