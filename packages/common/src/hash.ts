/**
 * Routing hash: MurmurHash64A with OpenMLDB's seed 0xe17a1465, read as a signed int64 and made
 * non-negative, modulo partition_num. Every tablet, SDK and ns_client must agree on it, so it is
 * frozen: changing it would send rows to the wrong partitions. BigInt keeps it obviously right;
 * the test pins known values so a faster version can replace it safely.
 */
const M = 0xc6a4a7935bd1e995n;
const MASK = 0xffffffffffffffffn;
const R = 47n;
export const ROUTING_HASH_SEED = 0xe17a1465n;

/** MurmurHash64A of the bytes, as an unsigned 64-bit bigint. */
export function murmurHash64A(data: Uint8Array, seed: bigint = ROUTING_HASH_SEED): bigint {
  const len = data.length;
  let h = (seed ^ ((BigInt(len) * M) & MASK)) & MASK;
  const blocks = len >>> 3;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < blocks; i++) {
    let k = view.getBigUint64(i * 8, true);
    k = (k * M) & MASK;
    k ^= k >> R;
    k = (k * M) & MASK;
    h ^= k;
    h = (h * M) & MASK;
  }
  const tail = blocks * 8;
  const rem = len & 7;
  if (rem > 0) {
    for (let i = rem - 1; i >= 0; i--) h ^= BigInt(data[tail + i]!) << BigInt(8 * i);
    h = (h * M) & MASK;
  }
  h ^= h >> R;
  h = (h * M) & MASK;
  h ^= h >> R;
  return h;
}

const encoder = new TextEncoder();

/** The partition a key string routes to. */
export function pidOfKey(key: string, partitionNum: number): number {
  if (!Number.isInteger(partitionNum) || partitionNum < 1) throw new RangeError(`partitionNum must be a positive integer, got ${partitionNum}`);
  const u = murmurHash64A(encoder.encode(key));
  let s = BigInt.asIntN(64, u);
  if (s < 0n) s = -s;
  return Number(s % BigInt(partitionNum));
}
