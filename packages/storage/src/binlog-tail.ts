/**
 * The newest binlog entries of a replica kept in memory, as committed (contiguous offsets, up to
 * `BINLOG_TAIL.entriesMax`), so that replication reads what it streams to followers without an
 * iterator over LevelDB and without decoding: a leader's followers ask for what was just written.
 * The store adds entries only after their batch is written, drops them when the binlog is
 * truncated below them, and clears the tail when its binlog is replaced (snapshot load).
 */
import type { BinlogEntry } from './binlog.js';

export const BINLOG_TAIL = {
  /**
   * Entries kept per replica; older ones are read from LevelDB. Two full append batches of a
   * streaming follower (REPLICATION.batchEntriesMax = 1,024); at ~300 bytes an entry in memory,
   * ~0.6 MB a replica that has been written to.
   */
  entriesMax: 2048,
} as const;

export class BinlogTail {
  private entries: BinlogEntry[] = [];
  private sizes: number[] = [];
  /** Index of the first live element (dropping from the front is amortised). */
  private head = 0;

  /** Adds the entry committed right after the last one (any other offset restarts the tail). */
  push(entry: BinlogEntry, bytes: number): void {
    const last = this.entries.length > this.head ? this.entries[this.entries.length - 1]! : undefined;
    if (last !== undefined && entry.offset !== last.offset + 1) this.clear();
    this.entries.push(entry);
    this.sizes.push(bytes);
    if (this.entries.length - this.head > BINLOG_TAIL.entriesMax) this.head++;
    if (this.head > BINLOG_TAIL.entriesMax) this.compact();
  }

  /** Forgets entries below `offset` (binlog truncation). */
  dropBelow(offset: number): void {
    while (this.head < this.entries.length && this.entries[this.head]!.offset < offset) this.head++;
    this.compact();
  }

  clear(): void {
    this.entries = [];
    this.sizes = [];
    this.head = 0;
  }

  /** The entry at `offset`, if the tail holds it. */
  at(offset: number): BinlogEntry | undefined {
    if (this.head >= this.entries.length) return undefined;
    const i = this.head + offset - this.entries[this.head]!.offset;
    return i >= this.head && i < this.entries.length ? this.entries[i] : undefined;
  }

  /**
   * Entries from `fromOffset` on, bounded like `ReplicaStore.readBinlog` (count, then bytes with
   * the entry that crosses the bound included); undefined when the tail does not start at or
   * before `fromOffset`, so the caller reads LevelDB.
   */
  read(fromOffset: number, entriesMax: number, bytesMax: number): BinlogEntry[] | undefined {
    if (this.head >= this.entries.length) return undefined;
    const first = this.entries[this.head]!.offset;
    if (fromOffset < first) return undefined;
    const out: BinlogEntry[] = [];
    let bytes = 0;
    for (let i = this.head + fromOffset - first; i < this.entries.length; i++) {
      out.push(this.entries[i]!);
      bytes += this.sizes[i]!;
      if (out.length >= entriesMax || bytes >= bytesMax) break;
    }
    return out;
  }

  private compact(): void {
    if (this.head === 0) return;
    this.entries = this.entries.slice(this.head);
    this.sizes = this.sizes.slice(this.head);
    this.head = 0;
  }
}
