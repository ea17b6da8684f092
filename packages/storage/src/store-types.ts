/**
 * The types a replica store is described by: what a replica is (info), its persisted role and
 * counters, the rows a put carries, and the messages of a snapshot stream. No logic.
 */
import type { AbstractLevel } from 'abstract-level';
import type { CompressType, TableSchema, Value } from '@tessera/common';
import type { BinlogEntry } from './binlog.js';

export type Level = AbstractLevel<Buffer | Uint8Array | string, Buffer, Buffer>;

/** What a replica is: fixed at creation. */
export interface ReplicaInfo {
  tid: number;
  pid: number;
  schema: TableSchema;
  compressType: CompressType;
}

/** Role and term as last set by the nameserver (persisted so restarts remember them). */
export interface ReplicaRoleRecord {
  role: 'leader' | 'follower' | 'none';
  term: number;
}

export interface ReplicaCounters {
  offset: number;
  recordCnt: number;
  memUsed: number;
  /** Set while a snapshot load is under way: the content is partial and must be rebuilt. */
  incomplete?: boolean;
  /** After a snapshot load: the offset it reflected and the term of the entry there. */
  base?: { offset: number; term: number };
  /** The replica keeps head records (heads.ts): set at creation and by a snapshot load. */
  heads?: true;
  /** Per index, the highest row time any row had since heads are kept (heads.ts; -1: none). */
  headTs?: number[];
}

export interface PutRow {
  values: Value[];
  /** The write's time, epoch ms (the row time of indexes without a ts column). */
  ts: number;
  writeId?: string;
  /** Index numbers to store the row under in this partition; absent = every index. */
  dims?: number[];
}

/** First message of a snapshot stream. */
export interface SnapshotHeader {
  tid: number;
  pid: number;
  offset: number;
  /** Term of the binlog entry at `offset` (0 when offset is 0). */
  term: number;
  /** Rows in the snapshot (record_cnt when it was taken; TTL-expired rows are left out of the chunks). */
  rows?: number;
  /** Entries per row in the chunks (one per index): chunk entries ÷ this = rows. */
  entriesPerRow?: number;
}

/** Raw row entries of a snapshot: [key, value] pairs. */
export type SnapshotChunk = Array<[Buffer, Buffer]>;

/** A snapshot chunk in its packed wire form (snapshot-pack.ts), with what it holds. */
export interface PackedSnapshotChunk {
  packed: Buffer;
  /** [key, value] entries in it. */
  entries: number;
  /** Bytes of its keys and values (without the length prefixes). */
  bytes: number;
}

/** The digest of every entry a snapshot stream yielded, in order (maintenance.ts RowDigest). */
export interface SnapshotDigest {
  rows: number;
  sha256: string;
}

/** Binlog entries staged in a batch with their encoded bytes, for the tail once it is written. */
export type Committed = Array<[BinlogEntry, number]>;

/**
 * The checksum of what a snapshot load wrote, read back from the replica's own LevelDB as each
 * batch was written: its entries and sha256 as maintenance.ts's RowDigest takes them, at the
 * snapshot's offset.
 */
export interface LoadedChecksum {
  offset: number;
  rows: number;
  sha256: string;
}
