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
