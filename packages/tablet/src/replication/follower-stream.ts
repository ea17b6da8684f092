/**
 * One leader → follower push stream. It first matches: asks the follower for its offset and the
 * term of its entry there, and checks that term against the leader's own binlog (a follower whose
 * history differs, that is ahead of the leader, that holds a partial snapshot, or that is behind
 * the oldest retained entry is rebuilt from a snapshot — a diverged tail is never kept). Then it
 * streams binlog batches, pipelined up to `pipelineDepthMax` requests, waking on new writes (no
 * idle polling). Every append carries the leader's term; a follower that answers STALE_TERM tells
 * this leader it has been deposed.
 */
import { randomBytes } from 'node:crypto';
import { backoffMs, encode, encodeWithBinary, sleep, TesseraError, type HttpClient, type Logger, type SnapshotTransferReport } from '@tessera/common';
import { splitPackedChunk, unpackChunk, type BinlogEntry, type ReplicaStore, type SnapshotDigest, type SnapshotHeader } from '@tessera/storage';
import { REPLICATION } from './limits.js';
import { decideMatch } from './match.js';
import type { SnapshotThrottle } from './snapshot-throttle.js';

export type StreamState = 'match' | 'stream' | 'snapshot' | 'stopped';

export interface FollowerProgress {
  endpoint: string;
  state: StreamState;
  /** Highest offset the follower confirmed; -1 before the first answer. */
  ackedOffset: number;
  lastAckMs: number;
  /** When this leader began streaming to the follower (its clock): silence is counted from here until the first answer. */
  sinceMs: number;
  snapshotsSent: number;
  lastError: string | undefined;
  /** While a snapshot is in flight: its offset (the follower resumes the binlog after it). */
  snapshotOffset: number | undefined;
  /** The snapshot being sent, or the last one sent (what `showop` shows as copied of the total). */
  snapshot?: SnapshotTransfer;
}

/** Progress of one snapshot transfer: the shape the tablet reports to the nameserver (@tessera/common). */
export type SnapshotTransfer = SnapshotTransferReport;

export interface StreamHost {
  readonly store: ReplicaStore;
  readonly tid: number;
  readonly pid: number;
  /** The leader's current term (constant while this stream lives). */
  readonly term: number;
  /** Snapshot bandwidth limits (per stream and per destination tablet), changeable while streams run. */
  readonly snapshotThrottle: SnapshotThrottle;
  /** Resolves at the next local write (or after `maxWaitMs`). */
  waitForWrites(afterOffset: number, maxWaitMs: number): Promise<void>;
  /** The follower confirmed everything up to `offset`. */
  acked(endpoint: string, offset: number): void;
  /** A follower knows a higher term: this leader is deposed. */
  deposed(term: number, by: string): void;
  /** The follower is about to be rebuilt from a snapshot: it holds nothing writes may count on. */
  rebuilding(endpoint: string): void;
  /**
   * The msgpack body `{ tid, pid, term, entries }` of an append; the same bytes for every follower
   * sent the same entries (encoded once: leader-replication.ts).
   */
  encodeAppend(entries: BinlogEntry[]): Buffer;
  /**
   * Sends entries to a follower (none: a probe), coalesced with other partitions' appends and
   * merged with this stream's own pipelined ones (append-mux.ts), which encodes them
   * (`encodeAppend`) and counts their bytes when the request goes.
   */
  sendAppend<T>(endpoint: string, entries: BinlogEntry[]): Promise<T>;
  /** Bytes sent to followers by this tablet (metrics), added to as requests go out. */
  readonly sentBytes: SentBytes;
}

/** Replication bytes a tablet sent, binlog appends and snapshot chunks (never reset). */
export interface SentBytes {
  binlog: number;
  snapshot: number;
}

interface AppendResult {
  offset: number;
}

/** How long a caught-up stream waits for writes before it re-checks that it should go on. */
const IDLE_WAIT_MS = 1000;

/** A snapshot a stream completed into its follower, and the checksum of what it sent (storage RowDigest). */
export interface DeliveredSnapshot {
  offset: number;
  term: number;
  session: string;
  checksum: { rows: number; sha256: string };
}

export class FollowerStream {
  readonly progress: FollowerProgress;
  private stopped = false;
  private nextOffset = 0;
  private attempt = 0;
  /** The snapshot this stream last completed into the follower: its offset, the term there, the transfer and the digest of what it sent. */
  private delivered: DeliveredSnapshot | undefined;
  private readonly done: Promise<void>;

  constructor(
    readonly endpoint: string,
    private readonly host: StreamHost,
    private readonly http: HttpClient,
    private readonly log: Logger,
  ) {
    this.progress = { endpoint, state: 'match', ackedOffset: -1, lastAckMs: 0, sinceMs: Date.now(), snapshotsSent: 0, lastError: undefined, snapshotOffset: undefined };
    this.done = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.progress.state = 'stopped';
    await this.done;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (this.progress.state === 'match') await this.match();
        else if (this.progress.state === 'stream') await this.stream();
        else if (this.progress.state === 'snapshot') await this.sendSnapshot();
        this.attempt = 0;
      } catch (err) {
        if (this.stopped) break;
        const e = err as TesseraError;
        this.progress.lastError = e.message;
        if (e.code === 'STALE_TERM') {
          const term = Number(e.details?.term ?? this.host.term + 1);
          this.host.deposed(term, this.endpoint);
          this.stopped = true;
          break;
        }
        this.log.debug(`replication to ${this.endpoint} (${this.host.tid}_${this.host.pid}): ${e.message}`);
        this.progress.state = 'match';
        await sleep(backoffMs(this.attempt++, REPLICATION.retryBaseMs, REPLICATION.retryMaxMs));
      }
    }
  }

  private append(entries: BinlogEntry[]): Promise<AppendResult & { offsetTerm?: number; incomplete?: boolean }> {
    return this.host.sendAppend(this.endpoint, entries);
  }

  private noteAck(offset: number): void {
    if (offset > this.progress.ackedOffset) this.progress.ackedOffset = offset;
    this.progress.lastAckMs = Date.now();
    this.progress.lastError = undefined;
    this.host.acked(this.endpoint, offset);
  }

  /** The snapshot this stream last completed into the follower, if it has not been rebuilt since. */
  get deliveredSnapshot(): DeliveredSnapshot | undefined {
    return this.delivered;
  }

  /**
   * Decides where to resume: from the follower's offset, or from a snapshot (the rule is in
   * docs/replication.md, "The push stream"). The follower's position is verified by the term of
   * its entry there: against the leader's binlog entry, or — where the binlog was freed up to that
   * offset — the term the leader kept for the newest freed entry, or the snapshot this stream
   * just delivered. A position that cannot be verified is rebuilt; one that is verified streams.
   */
  private async match(): Promise<void> {
    const res = await this.append([]);
    const store = this.host.store;
    const followerOffset = res.offset;
    const incomplete = res.incomplete === true;
    // The leader's term there is read only where the decision needs it (match.ts).
    const needsTerm = !incomplete && followerOffset > 0 && followerOffset <= store.offset;
    const decision = decideMatch({
      followerOffset, followerTerm: res.offsetTerm, followerIncomplete: incomplete, leaderOffset: store.offset,
      leaderTermThere: needsTerm ? await store.termAt(followerOffset) : undefined, firstBinlogOffset: await store.firstBinlogOffset(), delivered: this.delivered,
    });
    if (decision.resume === 'snapshot') {
      this.log.debug(`${this.endpoint} (${this.host.tid}_${this.host.pid}) is rebuilt: ${decision.why}`);
      this.startRebuild();
      return;
    }
    // Streaming from here: set before noting the ack, so a follower that already holds every
    // acknowledged write joins the waited-for set now, not at the next write (an idle partition
    // would otherwise never get it back in sync).
    this.nextOffset = decision.nextOffset;
    this.progress.snapshotOffset = undefined;
    this.progress.state = 'stream';
    this.noteAck(followerOffset);
  }

  /** Sends batches until an error or a stop; returns to match on any refusal. */
  private async stream(): Promise<void> {
    const store = this.host.store;
    const inflight: Array<Promise<AppendResult>> = [];
    try {
      while (!this.stopped && this.progress.state === 'stream') {
        while (inflight.length < REPLICATION.pipelineDepthMax && this.nextOffset <= store.offset) {
          const entries = await store.readBinlog(this.nextOffset, REPLICATION.batchEntriesMax, REPLICATION.batchBytesMax);
          if (entries.length === 0 || entries[0]!.offset !== this.nextOffset) {
            // The entries the follower needs are no longer retained.
            this.startRebuild();
            break;
          }
          const p = this.append(entries);
          p.catch(() => undefined);
          inflight.push(p);
          this.nextOffset = entries[entries.length - 1]!.offset + 1;
        }
        if (inflight.length > 0) {
          const res = await inflight.shift()!;
          this.noteAck(res.offset);
          continue;
        }
        if (this.progress.state !== 'stream') break;
        await this.host.waitForWrites(this.nextOffset - 1, IDLE_WAIT_MS);
      }
    } finally {
      // A failed or abandoned pipeline: let the rest settle before matching again.
      await Promise.allSettled(inflight);
    }
  }

  /**
   * From here the follower's content is replaced: what it confirmed before counts for nothing
   * (it is not in sync and not electable until the snapshot is loaded and it matched again).
   */
  private startRebuild(): void {
    this.progress.state = 'snapshot';
    this.progress.ackedOffset = -1;
    this.delivered = undefined;
    this.host.rebuilding(this.endpoint);
  }

  /** Rebuilds the follower from a consistent snapshot of the leader, then matches again. */
  private async sendSnapshot(): Promise<void> {
    const store = this.host.store;
    const session = randomBytes(8).toString('hex');
    const base = { tid: this.host.tid, pid: this.host.pid, term: this.host.term, session };
    let header: SnapshotHeader | undefined;
    /** The follower reads packed chunks (its answer to snapshot_begin; storage snapshot-pack.ts). */
    let packed = false;
    let seq = 0;
    let entries = 0;
    let bytes = 0;
    const started = Date.now();
    const throttle = this.host.snapshotThrottle;
    const debt = throttle.newStreamDebt();
    // The digest of what the follower is sent (the move's check compares it with its read-back).
    let digest: SnapshotDigest | undefined;
    const transfer: SnapshotTransfer = { rowsSent: 0, rowsTotal: 0, bytesSent: 0, bytesTotal: 0, startedMs: started, throttled: false };
    this.progress.snapshot = transfer;
    this.log.info(`sending a snapshot of ${this.host.tid}_${this.host.pid} to ${this.endpoint}`);
    // Read and packed off this thread when the tablet's LevelDB is on disk (storage
    // snapshot-worker.ts); the next chunk is read while this one is on the wire and being written.
    const items = store.snapshotPacked(Date.now(), REPLICATION.snapshotChunkBytesMax);
    let ahead = items.next();
    ahead.catch(() => undefined);
    try {
      for (;;) {
        const got = await ahead;
        if (got.done === true) {
          digest = got.value;
          break;
        }
        const item = got.value;
        ahead = items.next();
        ahead.catch(() => undefined);
        if (this.stopped) return;
        if (!('packed' in item)) {
          header = item;
          transfer.rowsTotal = header.rows ?? 0;
          // Retention keeps the binlog after this offset until the follower has matched again.
          this.progress.snapshotOffset = header.offset;
          const begun = await this.http.call<{ packedChunks?: boolean }>(this.endpoint, '/v1/replica/snapshot_begin', { ...base, offset: header.offset, offsetTerm: header.term }, { timeoutMs: REPLICATION.appendTimeoutMs });
          packed = begun.packedChunks === true;
          continue;
        }
        // Under a limit, in pieces of about one throttle slice (smooth pacing and progress).
        for (const piece of splitPackedChunk(item, throttle.pieceBytesMax())) {
          await throttle.acquire(debt, this.endpoint, () => this.stopped, (waiting) => { transfer.throttled = waiting; });
          if (this.stopped) return;
          // A packed piece goes as it is, after the map's other fields (not copied: encodeWithBinary).
          const body = packed ? encodeWithBinary({ ...base, seq: seq++ }, 'packed', piece.packed) : [encode({ ...base, seq: seq++, entries: unpackChunk(piece.packed) })];
          const bodyBytes = body.reduce((n, part) => n + part.length, 0);
          this.host.sentBytes.snapshot += bodyBytes;
          throttle.sent(debt, this.endpoint, bodyBytes);
          await this.http.callRaw(this.endpoint, '/v1/replica/snapshot_chunk', body, { timeoutMs: REPLICATION.snapshotIdleTimeoutMs });
          entries += piece.entries;
          bytes += piece.bytes;
          transfer.rowsSent = Math.floor(entries / (header?.entriesPerRow ?? 1));
          transfer.bytesSent = bytes;
          transfer.bytesTotal = Math.max(bytes, transfer.rowsSent > 0 ? Math.round((bytes / transfer.rowsSent) * transfer.rowsTotal) : 0);
        }
      }
    } finally {
      // Closes the LevelDB snapshot and iterator (after the read ahead settled) when we stop early.
      await ahead.catch(() => undefined);
      await items.return?.(undefined as never);
    }
    const res = await this.http.call<AppendResult>(this.endpoint, '/v1/replica/snapshot_end', { ...base, chunks: seq }, { timeoutMs: REPLICATION.snapshotIdleTimeoutMs });
    this.progress.snapshotsSent++;
    // Exact totals now: TTL-expired rows were left out of the chunks.
    transfer.rowsTotal = transfer.rowsSent;
    transfer.bytesTotal = bytes;
    transfer.endedMs = Date.now();
    if (header !== undefined && digest !== undefined) this.delivered = { offset: header.offset, term: header.term, session, checksum: digest };
    this.log.info(`snapshot of ${this.host.tid}_${this.host.pid} at offset ${header?.offset} sent to ${this.endpoint}: ${transfer.rowsSent} rows (${entries} entries), ${bytes} bytes in ${Date.now() - started} ms`);
    this.noteAck(res.offset);
    this.progress.state = 'match';
  }
}
