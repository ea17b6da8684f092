/**
 * The value of a row entry, and a deleted one (versioned deletes, issue 14). A live entry holds
 * msgpack `[writeTs, ...values]`. A delete on the leader does not remove entries at once: it
 * rewrites each entry of the deleted rows as a tombstone `0xc1 D:u64be <the live bytes>`, where D
 * is the delete's binlog offset (0xc1 is the one byte msgpack never uses, so the two cannot be
 * confused). A read at a point below D still sees the row; at or after D it does not. The entries
 * are removed for good once D is committed (ReplicaStore.purgeDeletes).
 */
const TOMBSTONE = 0xc1;
const TWO_32 = 2 ** 32;

/** The tombstone of a live entry deleted by the entry at `offset`. */
export function tombstoneValue(offset: number, live: Buffer): Buffer {
  const b = Buffer.allocUnsafe(9 + live.length);
  b[0] = TOMBSTONE;
  b.writeUInt32BE(Math.floor(offset / TWO_32), 1);
  b.writeUInt32BE(offset >>> 0, 5);
  live.copy(b, 9);
  return b;
}

/** The offset of the delete that removed this entry; undefined for a live entry. */
export function deletedAt(v: Buffer): number | undefined {
  return v.length >= 9 && v[0] === TOMBSTONE ? v.readUInt32BE(1) * TWO_32 + v.readUInt32BE(5) : undefined;
}

/** The live bytes of an entry (a tombstone's, without its header). */
export function liveBytes(v: Buffer): Buffer {
  return v[0] === TOMBSTONE ? v.subarray(9) : v;
}

/** True when the entry is not visible at read point `maxOffset` (a delete at or below it removed it). */
export function deletedBy(v: Buffer, maxOffset: number): boolean {
  const d = deletedAt(v);
  return d !== undefined && d <= maxOffset;
}
