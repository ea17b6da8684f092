/**
 * The msgpack codec used on every wire between processes. Plain maps (no msgpackr records) so
 * other languages can speak it; int64 values that do not fit a double come back as bigint.
 * msgpackr renames a `__proto__` key to `__proto_`, so decoded maps cannot reach prototypes.
 * Decoding refuses what msgpackr alone would let through (codec-check.ts): 0xc1 and str
 * payloads that are not UTF-8.
 */
import { Packr } from 'msgpackr';
import { msgpackProblem } from './codec-check.js';
import { TesseraError } from './errors.js';

const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  // 'auto' (number when safe, bigint beyond 2^53) exists at run time but not in msgpackr's types.
  int64AsType: 'auto' as unknown as 'bigint',
  moreTypes: false,
  structuredClone: false,
  bundleStrings: false,
});

export function encode(value: unknown): Buffer {
  return packr.pack(value);
}

/**
 * The msgpack bytes of `{ ...fields, [key]: bytes }` in two parts: everything up to the binary
 * value, and the value's own bytes, not copied. Sent one after the other (HttpClient.callRaw
 * takes the parts), they are what `encode` makes of the whole map, without the copy of a large
 * binary into a new buffer that `encode` does — on a tablet sending a snapshot, each copy was
 * one more buffer outside V8's heap that its collector counts and frees (issue 11, session 14).
 */
export function encodeWithBinary(fields: Record<string, unknown>, key: string, bytes: Uint8Array): [Buffer, Uint8Array] {
  if (Object.hasOwn(fields, key)) throw new TesseraError('INTERNAL', `encodeWithBinary: fields already have ${key}`);
  const head = encode(fields);
  // This codec writes every map as a map16 (0xde, then the entry count as uint16).
  if (head[0] !== 0xde) throw new TesseraError('INTERNAL', 'encodeWithBinary: fields must be a map');
  const n = bytes.length;
  const binHeader = n < 0x100 ? Buffer.from([0xc4, n]) : n < 0x10000 ? Buffer.from([0xc5, n >> 8, n & 0xff]) : Buffer.from([0xc6, 0, 0, 0, 0]);
  if (n >= 0x10000) binHeader.writeUInt32BE(n, 1);
  const out = Buffer.concat([head, encode(key), binHeader]);
  out.writeUInt16BE(head.readUInt16BE(1) + 1, 1);
  return [out, bytes];
}

/** Decodes one msgpack value; any malformed input is a DECODE_ERROR, never a crash. */
export function decode(bytes: Uint8Array): unknown {
  if (bytes.length === 0) throw new TesseraError('DECODE_ERROR', 'empty msgpack body');
  const problem = msgpackProblem(bytes);
  if (problem !== undefined) throw new TesseraError('DECODE_ERROR', `malformed msgpack: ${problem}`);
  try {
    return packr.unpack(bytes);
  } catch (err) {
    throw new TesseraError('DECODE_ERROR', `malformed msgpack: ${(err as Error).message}`);
  }
}

/**
 * Decodes a value this process family encoded itself and stored (LevelDB rows, binlog entries,
 * replica state): no header check, since nothing hostile can have written it. Never use it on
 * bytes from a socket.
 */
export function decodeStored(bytes: Uint8Array): unknown {
  try {
    return packr.unpack(bytes);
  } catch (err) {
    throw new TesseraError('DECODE_ERROR', `malformed stored msgpack: ${(err as Error).message}`);
  }
}

export const MSGPACK_CONTENT_TYPE = 'application/msgpack';
