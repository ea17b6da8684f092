/**
 * De-duplication of retried writes on a leader: write id → offset of the entry it produced, for
 * the last `writeIdWindowEntries` writes. Rebuilt from the binlog tail when a replica becomes
 * leader, so a retry that reaches a new leader is recognised too.
 */
import type { ReplicaStore } from '@tessera/storage';
import { REPLICATION } from './limits.js';

export class WriteIdIndex {
  private readonly offsets = new Map<string, number>();

  constructor(private readonly capacity: number = REPLICATION.writeIdWindowEntries) {}

  get(writeId: string): number | undefined {
    return this.offsets.get(writeId);
  }

  add(writeId: string, offset: number): void {
    this.offsets.set(writeId, offset);
    if (this.offsets.size > this.capacity) {
      // Maps iterate in insertion order: the first key is the oldest.
      const oldest = this.offsets.keys().next().value;
      if (oldest !== undefined) this.offsets.delete(oldest);
    }
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
