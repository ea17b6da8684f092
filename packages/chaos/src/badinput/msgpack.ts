/**
 * A small msgpack writer for hostile bodies: every format is chosen explicitly, so a case can
 * hold what no well-behaved encoder writes — int64/uint64 beyond 2^53, float NaN/Infinity, map
 * keys such as `__proto__` or non-strings, strings of invalid UTF-8, headers that claim 2^32-1
 * items, and raw bytes spliced in anywhere. Plain objects become maps with string keys.
 */

/** Bytes written as they are (a header that lies, a truncated value, a never-used type byte). */
export class Raw {
  constructor(readonly bytes: Buffer) {}
}

/** A map with keys of any type and in a fixed order (duplicates allowed). */
export class MpMap {
  constructor(readonly entries: ReadonlyArray<readonly [MpValue, MpValue]>) {}
}

/** A str whose bytes are given (e.g. invalid UTF-8). */
export class RawStr {
  constructor(readonly bytes: Buffer) {}
}

/** An ext value of the given type. */
export class Ext {
  constructor(readonly type: number, readonly data: Buffer) {}
}

export type MpValue =
  | null
  | undefined
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | Raw
  | MpMap
  | RawStr
  | Ext
  | readonly MpValue[]
  | { readonly [key: string]: MpValue };

export const raw = (bytes: ArrayLike<number> | Buffer): Raw => new Raw(Buffer.from(bytes as ArrayLike<number>));
export const mapOf = (...entries: Array<readonly [MpValue, MpValue]>): MpMap => new MpMap(entries);

function u8(n: number): Buffer {
  return Buffer.from([n & 0xff]);
}

function be(n: number, bytes: 2 | 4): Buffer {
  const b = Buffer.alloc(bytes);
  if (bytes === 2) b.writeUInt16BE(n);
  else b.writeUInt32BE(n >>> 0);
  return b;
}

function header(len: number, fix: { base: number; max: number } | undefined, f8: number | undefined, f16: number, f32: number): Buffer {
  if (fix && len <= fix.max) return u8(fix.base | len);
  if (f8 !== undefined && len <= 0xff) return Buffer.from([f8, len]);
  if (len <= 0xffff) return Buffer.concat([u8(f16), be(len, 2)]);
  return Buffer.concat([u8(f32), be(len, 4)]);
}

export const strHeader = (len: number): Buffer => header(len, { base: 0xa0, max: 31 }, 0xd9, 0xda, 0xdb);
export const binHeader = (len: number): Buffer => header(len, undefined, 0xc4, 0xc5, 0xc6);
export const arrayHeader = (len: number): Buffer => header(len, { base: 0x90, max: 15 }, undefined, 0xdc, 0xdd);
export const mapHeader = (len: number): Buffer => header(len, { base: 0x80, max: 15 }, undefined, 0xde, 0xdf);

function encodeNumber(v: number): Buffer {
  if (Number.isSafeInteger(v) && !Object.is(v, -0)) {
    if (v >= 0) {
      if (v < 0x80) return u8(v);
      if (v <= 0xff) return Buffer.from([0xcc, v]);
      if (v <= 0xffff) return Buffer.concat([u8(0xcd), be(v, 2)]);
      if (v <= 0xffffffff) return Buffer.concat([u8(0xce), be(v, 4)]);
      const b = Buffer.alloc(9);
      b[0] = 0xcf;
      b.writeBigUInt64BE(BigInt(v), 1);
      return b;
    }
    if (v >= -32) return u8(v & 0xff);
    if (v >= -0x80) return Buffer.from([0xd0, v & 0xff]);
    if (v >= -0x8000) {
      const b = Buffer.alloc(3);
      b[0] = 0xd1;
      b.writeInt16BE(v, 1);
      return b;
    }
    if (v >= -0x80000000) {
      const b = Buffer.alloc(5);
      b[0] = 0xd2;
      b.writeInt32BE(v, 1);
      return b;
    }
    const b = Buffer.alloc(9);
    b[0] = 0xd3;
    b.writeBigInt64BE(BigInt(v), 1);
    return b;
  }
  const b = Buffer.alloc(9);
  b[0] = 0xcb;
  b.writeDoubleBE(v, 1);
  return b;
}

function encodeBigint(v: bigint): Buffer {
  const b = Buffer.alloc(9);
  if (v >= 0n) {
    if (v > 2n ** 64n - 1n) throw new Error(`bigint ${v} does not fit uint64`);
    b[0] = 0xcf;
    b.writeBigUInt64BE(v, 1);
  } else {
    if (v < -(2n ** 63n)) throw new Error(`bigint ${v} does not fit int64`);
    b[0] = 0xd3;
    b.writeBigInt64BE(v, 1);
  }
  return b;
}

/** Encodes `v`; object keys whose value is `undefined` are left out (a missing field). */
export function mp(v: MpValue): Buffer {
  const out: Buffer[] = [];
  write(v, out);
  return Buffer.concat(out);
}

function write(v: MpValue, out: Buffer[]): void {
  if (v === null || v === undefined) {
    out.push(u8(0xc0));
  } else if (v === true || v === false) {
    out.push(u8(v ? 0xc3 : 0xc2));
  } else if (typeof v === 'number') {
    out.push(encodeNumber(v));
  } else if (typeof v === 'bigint') {
    out.push(encodeBigint(v));
  } else if (typeof v === 'string') {
    const b = Buffer.from(v, 'utf8');
    out.push(strHeader(b.length), b);
  } else if (v instanceof Raw) {
    out.push(v.bytes);
  } else if (v instanceof RawStr) {
    out.push(strHeader(v.bytes.length), v.bytes);
  } else if (v instanceof Ext) {
    out.push(header(v.data.length, undefined, 0xc7, 0xc8, 0xc9), u8(v.type), v.data);
  } else if (v instanceof Uint8Array) {
    out.push(binHeader(v.length), Buffer.from(v));
  } else if (v instanceof MpMap) {
    out.push(mapHeader(v.entries.length));
    for (const [k, x] of v.entries) {
      write(k, out);
      write(x, out);
    }
  } else if (Array.isArray(v)) {
    out.push(arrayHeader(v.length));
    for (const x of v as readonly MpValue[]) write(x, out);
  } else {
    const entries = Object.entries(v as Record<string, MpValue>).filter(([, x]) => x !== undefined);
    out.push(mapHeader(entries.length));
    for (const [k, x] of entries) {
      write(k, out);
      write(x, out);
    }
  }
}

/** The entries of a plain object as an MpMap, with `extra` entries appended (any key type). */
export function withEntries(base: Record<string, MpValue>, ...extra: Array<readonly [MpValue, MpValue]>): MpMap {
  const own = Object.entries(base).filter(([, x]) => x !== undefined) as Array<[MpValue, MpValue]>;
  return new MpMap([...own, ...extra]);
}

/** `depth` nested one-element arrays around nil: a tiny body that recurses deeply when decoded. */
export function deepArrays(depth: number): Raw {
  return new Raw(Buffer.concat([Buffer.alloc(depth, 0x91), u8(0xc0)]));
}

/** `depth` nested one-entry maps `{a: {a: ... nil}}`. */
export function deepMaps(depth: number): Raw {
  const one = Buffer.from([0x81, 0xa1, 0x61]);
  return new Raw(Buffer.concat([Buffer.concat(Array.from({ length: depth }, () => one)), u8(0xc0)]));
}
