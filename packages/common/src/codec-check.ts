/**
 * The one pass over msgpack bytes that refuses what msgpackr lets through: the never-used type
 * byte 0xc1 (msgpackr hands back a marker object) and str payloads that are not valid UTF-8
 * (msgpackr replaces them with U+FFFD, so a key or name would be stored changed). It walks the
 * headers of the first value only — payloads are skipped, str payloads checked (short ones in
 * JS, long ones by node's native `isUtf8`) — and stops at the first problem.
 * Truncation and trailing bytes are left to msgpackr, which reports them in the same way.
 */
import { isUtf8 } from 'node:buffer';

/** Strings up to this many bytes are checked in JS; longer ones by node's native isUtf8. */
const SHORT_STR_BYTES_MAX = 64;

/** Bytes after the type byte of the fixed-size types 0xc0..0xdf (nil, bool, numbers, fixext); -1 for the rest. */
const FIXED_SIZE = Int8Array.from({ length: 0x20 }, (_, i) => {
  const sizes: Record<number, number> = {
    0xc0: 0, 0xc2: 0, 0xc3: 0, 0xca: 4, 0xcb: 8, 0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8,
    0xd0: 1, 0xd1: 2, 0xd2: 4, 0xd3: 8, 0xd4: 2, 0xd5: 3, 0xd6: 5, 0xd7: 9, 0xd8: 17,
  };
  return sizes[0xc0 + i] ?? -1;
});

/** Why `bytes` must be refused, or undefined when nothing was found (decoding may still fail). */
export function msgpackProblem(bytes: Uint8Array): string | undefined {
  const end = bytes.length;
  let pos = 0;
  // Values still to read; every value takes at least one byte, so a header that claims more
  // than the bytes left is left to msgpackr's truncation error instead of being walked.
  let pending = 1;
  while (pending > 0) {
    if (pos >= end || pending > end - pos) return undefined;
    const b = bytes[pos++]!;
    pending--;
    if (b < 0x80 || b >= 0xe0) continue; // fixint
    if (b < 0x90) {
      pending += (b & 0x0f) * 2; // fixmap
      continue;
    }
    if (b < 0xa0) {
      pending += b & 0x0f; // fixarray
      continue;
    }
    let strLen: number;
    if (b < 0xc0) strLen = b & 0x1f; // fixstr
    else {
      const skip = FIXED_SIZE[b - 0xc0]!;
      if (skip >= 0) {
        pos += skip;
        continue;
      }
      switch (b) {
        case 0xc1: return `never-used type byte 0xc1 at offset ${pos - 1}`;
        case 0xc4: if (pos + 1 > end) return undefined; pos += 1 + bytes[pos]!; continue; // bin8
        case 0xc5: if (pos + 2 > end) return undefined; pos += 2 + u16(bytes, pos); continue;
        case 0xc6: if (pos + 4 > end) return undefined; pos += 4 + u32(bytes, pos); continue;
        case 0xc7: if (pos + 1 > end) return undefined; pos += 2 + bytes[pos]!; continue; // ext8: len, type
        case 0xc8: if (pos + 2 > end) return undefined; pos += 3 + u16(bytes, pos); continue;
        case 0xc9: if (pos + 4 > end) return undefined; pos += 5 + u32(bytes, pos); continue;
        case 0xd9: if (pos + 1 > end) return undefined; strLen = bytes[pos]!; pos += 1; break;
        case 0xda: if (pos + 2 > end) return undefined; strLen = u16(bytes, pos); pos += 2; break;
        case 0xdb: if (pos + 4 > end) return undefined; strLen = u32(bytes, pos); pos += 4; break;
        case 0xdc: if (pos + 2 > end) return undefined; pending += u16(bytes, pos); pos += 2; continue;
        case 0xdd: if (pos + 4 > end) return undefined; pending += u32(bytes, pos); pos += 4; continue;
        case 0xde: if (pos + 2 > end) return undefined; pending += u16(bytes, pos) * 2; pos += 2; continue;
        case 0xdf: if (pos + 4 > end) return undefined; pending += u32(bytes, pos) * 2; pos += 4; continue;
        default: return undefined; // unreachable: FIXED_SIZE covers the rest
      }
    }
    if (strLen > end - pos) return undefined;
    if (strLen > 0 && !validUtf8(bytes, pos, strLen)) return `str at offset ${pos} is not valid UTF-8`;
    pos += strLen;
  }
  return undefined;
}

function validUtf8(bytes: Uint8Array, start: number, len: number): boolean {
  if (len > SHORT_STR_BYTES_MAX) return isUtf8(bytes.subarray(start, start + len));
  // Short strings in JS: a subarray and a native call cost more than the check itself.
  const stop = start + len;
  let any = 0;
  for (let j = start; j < stop; j++) any |= bytes[j]!;
  if (any < 0x80) return true; // ASCII
  let i = start;
  while (i < stop) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0; // overlong
      else if (b === 0xed) hi = 0x9f; // surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90; // overlong
      else if (b === 0xf4) hi = 0x8f; // beyond U+10FFFF
    } else return false;
    if (i + need >= stop) return false; // cut short
    const c1 = bytes[i + 1]!;
    if (c1 < lo || c1 > hi) return false;
    for (let k = 2; k <= need; k++) {
      const c = bytes[i + k]!;
      if (c < 0x80 || c > 0xbf) return false;
    }
    i += need + 1;
  }
  return true;
}

function u16(bytes: Uint8Array, pos: number): number {
  return (bytes[pos]! << 8) | bytes[pos + 1]!;
}

function u32(bytes: Uint8Array, pos: number): number {
  return ((bytes[pos]! << 24) >>> 0) + ((bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!);
}
