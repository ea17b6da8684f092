/**
 * Replication of one leader replica: a push stream per follower, the in-sync set the nameserver
 * gave it, and the writers waiting for acknowledgement. With replica_ack=all a write is
 * acknowledged once every follower in the in-sync set has applied it; the set only shrinks by an
 * order of the nameserver, which records it in ZooKeeper first (Kafka's ISR, the nameserver as
 * controller). With replica_ack=leader a write is acknowledged after the local batch. Also keeps
 * the write-id index that makes retried writes apply once.
 */
import { encode, TesseraError, type HttpClient, type Logger, type ReplicaAck } from '@tessera/common';
import type { BinlogEntry, ReplicaStore } from '@tessera/storage';
import { FollowerStream, type DeliveredSnapshot, type FollowerProgress, type StreamHost, type SentBytes } from './follower-stream.js';
import type { WriteIdIndex } from './write-ids.js';
import type { AppendMux } from './append-mux.js';
import { dropsFromExpanding, joinsAtAck, minWaitingAcked, nextCommitted, rejoinsAtOrder, retentionFloor } from './progress.js';
import type { SnapshotThrottle } from './snapshot-throttle.js';

interface AckWaiter {
  offset: number;
  resolve: () => void;
  reject: (err: unknown) => void;
  timer: NodeJS.Timeout;
}

export interface LeaderReplicationOptions {
  store: ReplicaStore;
  tid: number;
  pid: number;
  term: number;
  followers: string[];
  inSync: string[];
  replicaAck: ReplicaAck;
  writeIds: WriteIdIndex;
  ackTimeoutMs: number;
  /**
   * replica_ack=all also needs at least this many replicas (the leader included, capped by the
   * partition's size) to hold a write: when the in-sync set has shrunk below it, writes wait for a
   * follower to rejoin instead of being acknowledged by too few copies (Kafka's
   * min.insync.replicas).
   */
  minInSyncReplicas: number;
  snapshotThrottle: SnapshotThrottle;
  http: HttpClient;
  /** The tablet's coalescer of appends to each follower tablet. */
  appends: AppendMux;
  log: Logger;
  /** The tablet's replication byte counters (shared by every leader replica). */
  sentBytes: SentBytes;
  /** Called once when a follower reveals a higher term. */
  onDeposed: (term: number, by: string) => void;
}

export class LeaderReplication implements StreamHost {
  readonly store: ReplicaStore;
  readonly tid: number;
  readonly pid: number;
  readonly term: number;
  readonly writeIds: WriteIdIndex;
  readonly snapshotThrottle: SnapshotThrottle;
  readonly sentBytes: SentBytes;
  replicaAck: ReplicaAck;
  /** The in-sync set as the nameserver recorded it in ZooKeeper. */
  private confirmed: Set<string>;
  /**
   * Followers this leader started waiting for on its own, having seen them reach every offset
   * acknowledged so far, before the nameserver records them (Kafka's "maximal ISR"): waiting
   * for more followers is always safe, so a follower is in sync here before it is in ZooKeeper.
   */
  private expanding = new Set<string>();
  /**
   * The highest offset acknowledged to a client. A new leader starts from what it holds when it
   * takes over, so a follower joins the waited-for set only once it holds all of that (it may
   * include writes the previous leader acknowledged).
   */
  private acknowledged: number;
  /** The leader's offset when it took over. */
  private readonly takeoverOffset: number;
  /**
   * The commit point reads see (high watermark): every entry up to it is held by every follower
   * writes wait for. -1 until those followers hold everything this leader took over with: what it
   * inherited beyond the old commit point may be on it alone, and a second failover would lose it.
   */
  private committed = -1;
  private readonly streams = new Map<string, FollowerStream>();
  private waiters: AckWaiter[] = [];
  private writeSignal: { promise: Promise<void>; resolve: () => void };
  /** Resolved at the next follower acknowledgement or in-sync change (reads waiting for the commit point). */
  private progressSignal: { promise: Promise<void>; resolve: () => void } | undefined;
  private deposedTerm: number | undefined;
  private stopped = false;
  /** The last append body encoded (encodeAppend). */
  private lastAppend: { first: number; count: number; last: number; body: Buffer } | undefined;

  constructor(private readonly o: LeaderReplicationOptions) {
    this.store = o.store;
    this.tid = o.tid;
    this.pid = o.pid;
    this.term = o.term;
    this.writeIds = o.writeIds;
    this.snapshotThrottle = o.snapshotThrottle;
    this.sentBytes = o.sentBytes;
    this.replicaAck = o.replicaAck;
    this.confirmed = new Set(o.inSync.filter((e) => o.followers.includes(e)));
    this.acknowledged = o.store.offset;
    this.takeoverOffset = o.store.offset;
    this.writeSignal = signal();
    for (const f of o.followers) this.streams.set(f, new FollowerStream(f, this, o.http, o.log));
  }

  get followers(): string[] {
    return [...this.streams.keys()];
  }

  /** The in-sync set recorded in ZooKeeper. */
  get inSync(): string[] {
    return [...this.confirmed];
  }

  /** Every follower writes wait for: recorded plus expanding. */
  get waitingFor(): string[] {
    return [...new Set([...this.confirmed, ...this.expanding])];
  }

  progress(): FollowerProgress[] {
    return [...this.streams.values()].map((s) => ({ ...s.progress }));
  }

  /**
   * The lowest offset the binlog must keep for followers that will need it: one receiving a
   * snapshot (it resumes after the snapshot's offset) and one streaming that answered within
   * `activeMsMax`. A follower that is silent pins nothing: retention bounds the binlog, and it
   * gets a snapshot when it returns.
   */
  retentionFloor(nowMs: number, activeMsMax: number): number | undefined {
    return retentionFloor([...this.streams.values()].map((s) => s.progress), nowMs, activeMsMax);
  }

  /** The snapshot the stream to `endpoint` last completed into it (follower-stream.ts). */
  deliveredTo(endpoint: string): DeliveredSnapshot | undefined {
    return this.streams.get(endpoint)?.deliveredSnapshot;
  }

  /** Adds or removes follower streams to match the nameserver's list. */
  setFollowers(followers: string[]): void {
    for (const f of followers) if (!this.streams.has(f)) this.streams.set(f, new FollowerStream(f, this, this.o.http, this.o.log));
    for (const [f, s] of this.streams) {
      if (!followers.includes(f)) {
        this.streams.delete(f);
        this.confirmed.delete(f);
        this.expanding.delete(f);
        void s.stop();
      }
    }
    this.checkWaiters();
  }

  /**
   * The nameserver changed the in-sync set (already recorded in ZooKeeper). A follower it left
   * out that holds everything this leader has is waited for again at once (expanding): it would
   * otherwise rejoin only at its next acknowledgement, which an idle partition never sends. (The
   * nameserver judges on a status report that may predate the follower's answer: right after a
   * takeover it saw no acknowledgement yet, emptied the set, and the new leader's reads waited
   * for a commit point that never came.)
   */
  setInSync(inSync: string[]): void {
    this.confirmed = new Set(inSync.filter((e) => this.streams.has(e)));
    for (const f of this.confirmed) this.expanding.delete(f);
    for (const [f, s] of this.streams) {
      if (rejoinsAtOrder({ recorded: this.confirmed.has(f), state: s.progress.state, ackedOffset: s.progress.ackedOffset }, this.acknowledged, this.store.offset)) this.expanding.add(f);
    }
    this.checkWaiters();
  }

  /**
   * Drops expanding followers that fell behind (`lagEntriesMax`) or stopped answering
   * (`silentMsMax`): they were never recorded, so the leader may stop waiting for them alone.
   */
  pruneExpanding(nowMs: number, lagEntriesMax: number, silentMsMax: number): void {
    for (const f of this.expanding) {
      if (dropsFromExpanding(this.streams.get(f)?.progress, this.store.offset, nowMs, { lagEntriesMax, silentMsMax })) this.expanding.delete(f);
    }
    this.checkWaiters();
  }

  // ---- StreamHost

  /**
   * Followers in step read the same entries from the binlog tail one after the other: the body
   * of the last append is kept and handed to the next stream that sends the same range. Entries
   * at an offset never change while this leader leads (its term is in the body), so the range
   * (first offset, count, last offset) names the body.
   */
  encodeAppend(entries: BinlogEntry[]): Buffer {
    const first = entries.length > 0 ? entries[0]!.offset : -1;
    const last = entries.length > 0 ? entries[entries.length - 1]!.offset : -1;
    const c = this.lastAppend;
    if (c !== undefined && c.first === first && c.count === entries.length && c.last === last) return c.body;
    const body = encode({ tid: this.tid, pid: this.pid, term: this.term, entries });
    this.lastAppend = { first, count: entries.length, last, body };
    return body;
  }

  sendAppend<T>(endpoint: string, entries: BinlogEntry[]): Promise<T> {
    return this.o.appends.append<T>(endpoint, this, entries);
  }

  waitForWrites(afterOffset: number, maxWaitMs: number): Promise<void> {
    if (this.store.offset > afterOffset || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, maxWaitMs);
      void this.writeSignal.promise.then(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  acked(endpoint: string, offset: number): void {
    const state = this.streams.get(endpoint)?.progress.state;
    if (state !== undefined && joinsAtAck({ waited: this.confirmed.has(endpoint) || this.expanding.has(endpoint), state, offset }, this.acknowledged)) {
      // It holds every acknowledged write: from now on writes wait for it too.
      this.expanding.add(endpoint);
    }
    this.checkWaiters();
  }

  rebuilding(endpoint: string): void {
    // Never recorded by the nameserver, so the leader may stop waiting for it on its own; a
    // recorded member stays waited for until the nameserver removes it (ZooKeeper first).
    this.expanding.delete(endpoint);
    this.checkWaiters();
  }

  deposed(term: number, by: string): void {
    if (this.deposedTerm !== undefined) return;
    this.deposedTerm = term;
    this.o.log.warn(`replica ${this.tid}_${this.pid}: follower ${by} knows term ${term} > ${this.term}; stepping down`);
    this.failWaiters(new TesseraError('NOT_LEADER', `replica ${this.tid}_${this.pid} was deposed by term ${term}`));
    this.o.onDeposed(term, by);
  }

  // ---- the write path

  /** A local batch was written up to `offset`: wake the streams. */
  wrote(): void {
    const s = this.writeSignal;
    this.writeSignal = signal();
    s.resolve();
  }

  /** Resolves when `offset` may be acknowledged to the client (replica_ack rules above). */
  waitAcked(offset: number): Promise<void> {
    if (this.deposedTerm !== undefined) return Promise.reject(new TesseraError('NOT_LEADER', `replica ${this.tid}_${this.pid} was deposed`));
    if (this.replicaAck === 'leader' || this.minWaitingAcked() >= offset) {
      this.acknowledge(offset);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new TesseraError('TIMEOUT', `offset ${offset} of ${this.tid}_${this.pid} was not confirmed by the in-sync followers (${this.inSync.join(', ')}) within ${this.o.ackTimeoutMs} ms`, { offset }));
      }, this.o.ackTimeoutMs);
      const waiter: AckWaiter = { offset, resolve, reject, timer };
      this.waiters.push(waiter);
    });
  }

  /**
   * `offset` is acknowledged to a client. The commit point moves with it at once: every follower
   * writes wait for holds it now, and the set of followers waited for may change before the next
   * read (a lagging follower recorded in sync, one leaving to rebuild), after which the lowest
   * offset they hold is no bound on what was acknowledged. Raised only on reads, the commit point
   * once answered below a write acknowledged before the read (chaos seed 101).
   */
  private acknowledge(offset: number): void {
    if (offset > this.acknowledged) this.acknowledged = offset;
    if (this.replicaAck !== 'leader' && offset >= this.takeoverOffset && offset > this.committed) this.committed = offset;
  }

  /**
   * The highest offset reads may see: with replica_ack=all the commit point (so a read never
   * returns a write the followers may not have, which a failover would lose), undefined until it
   * is known after a takeover; with replica_ack=leader everything written locally, as writes are
   * acknowledged from there.
   */
  visibleOffset(): number | undefined {
    if (this.replicaAck === 'leader') return this.store.offset;
    this.committed = nextCommitted(this.committed, this.minWaitingAcked(), this.takeoverOffset);
    return this.committed >= 0 ? this.committed : undefined;
  }

  /** Lowest offset confirmed by every follower writes wait for (the leader's offset if none). */
  private minWaitingAcked(): number {
    return minWaitingAcked({ streams: this.streams, confirmed: this.confirmed, expanding: this.expanding }, this.store.offset, this.o.minInSyncReplicas);
  }

  /** Resolves at the next follower acknowledgement, in-sync change or stop. */
  nextProgress(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.progressSignal ??= signal();
    return this.progressSignal.promise;
  }

  private checkWaiters(): void {
    const progressed = this.progressSignal;
    if (progressed) {
      this.progressSignal = undefined;
      progressed.resolve();
    }
    if (this.waiters.length === 0) return;
    const min = this.minWaitingAcked();
    const still: AckWaiter[] = [];
    for (const w of this.waiters) {
      if (w.offset <= min) {
        clearTimeout(w.timer);
        this.acknowledge(w.offset);
        w.resolve();
      } else {
        still.push(w);
      }
    }
    this.waiters = still;
  }

  private failWaiters(err: unknown): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  }

  async stop(reason: string): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.checkWaiters();
    this.failWaiters(new TesseraError('NOT_LEADER', `replica ${this.tid}_${this.pid} stopped leading: ${reason}`));
    this.wrote();
    await Promise.all([...this.streams.values()].map((s) => s.stop()));
    this.streams.clear();
  }
}

function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
