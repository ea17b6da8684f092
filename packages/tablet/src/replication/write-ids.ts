/**
 * De-duplication of retried writes on a leader: write id → offset of the entry it produced, for
 * the last `writeIdWindowEntries` writes. Rebuilt from the binlog tail when a replica becomes
 * leader, so a retry that reaches a new leader is recognised too.
 */
import type { ReplicaStore } from '@tessera/storage';
import { REPLICATION } from './limits.js';

/**
 * A copy of `s` that holds only its own characters. The ids arrive decoded by msgpackr, which
 * extracts a request's strings in bulk and hands out slices of one string: a slice kept in the
 * window keeps that whole string alive — every key and value of ~50 rows of its request. With a
 * full window that was ~28 MiB of a leader's heap where the ids themselves are ~8 MiB (heap
 * snapshot of a leader after a 1,000,000-row load, session 10).
 */
function ownString(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

export class WriteIdIndex {
  private readonly offsets = new Map<string, number>();
  /**
   * The ids in the order they were added, as a ring: the oldest is evicted by its slot. Taking
   * the Map's first key instead (`keys().next()`) walks over every entry deleted at the front
   * since V8 last compacted the table: with a full window of 200,000 ids a get + add cost
   * 27–220 µs in one process, on every written row of a leader.
   */
  private readonly order: string[] = [];
  private next = 0;

  constructor(private readonly capacity: number = REPLICATION.writeIdWindowEntries) {}

  get(writeId: string): number | undefined {
    return this.offsets.get(writeId);
  }

  add(writeId: string, offset: number): void {
    if (this.capacity <= 0) return;
    if (this.offsets.has(writeId)) {
      this.offsets.set(writeId, offset);
      return;
    }
    writeId = ownString(writeId);
    this.offsets.set(writeId, offset);
    if (this.order.length < this.capacity) {
      this.order.push(writeId);
      return;
    }
    this.offsets.delete(this.order[this.next]!);
    this.order[this.next] = writeId;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Ids held (at most the capacity). */
  get size(): number {
    return this.offsets.size;
  }

  /** Loads the write ids of the last `capacity` binlog entries. */
  static async fromBinlog(store: ReplicaStore, capacity: number = REPLICATION.writeIdWindowEntries): Promise<WriteIdIndex> {
    const index = new WriteIdIndex(capacity);
    let from = Math.max(1, store.offset - capacity + 1);
    for (;;) {
      const entries = await store.readBinlog(from, 4096, 64 * 1024 * 1024);
      if (entries.length === 0) break;
      for (const e of entries) if (e.writeId !== undefined) index.add(e.writeId, e.offset);
      from = entries[entries.length - 1]!.offset + 1;
    }
    return index;
  }
}
