/**
 * Replication of one leader replica: a push stream per follower, the in-sync set the nameserver
 * gave it, and the writers waiting for acknowledgement. With replica_ack=all a write is
 * acknowledged once every follower in the in-sync set has applied it; the set only shrinks by an
 * order of the nameserver, which records it in ZooKeeper first (Kafka's ISR, the nameserver as
 * controller). With replica_ack=leader a write is acknowledged after the local batch. Also keeps
 * the write-id index that makes retried writes apply once.
 */
import { TesseraError, type HttpClient, type Logger, type ReplicaAck } from '@tessera/common';
import type { ReplicaStore } from '@tessera/storage';
import { FollowerStream, type FollowerProgress, type StreamHost } from './follower-stream.js';
import type { WriteIdIndex } from './write-ids.js';

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
  http: HttpClient;
  log: Logger;
  /** Called once when a follower reveals a higher term. */
  onDeposed: (term: number, by: string) => void;
}

export class LeaderReplication implements StreamHost {
  readonly store: ReplicaStore;
  readonly tid: number;
  readonly pid: number;
  readonly term: number;
  readonly writeIds: WriteIdIndex;
  replicaAck: ReplicaAck;
  private inSyncSet: Set<string>;
  private readonly streams = new Map<string, FollowerStream>();
  private waiters: AckWaiter[] = [];
  private writeSignal: { promise: Promise<void>; resolve: () => void };
  private deposedTerm: number | undefined;
  private stopped = false;

  constructor(private readonly o: LeaderReplicationOptions) {
    this.store = o.store;
    this.tid = o.tid;
    this.pid = o.pid;
    this.term = o.term;
    this.writeIds = o.writeIds;
    this.replicaAck = o.replicaAck;
    this.inSyncSet = new Set(o.inSync.filter((e) => o.followers.includes(e)));
    this.writeSignal = signal();
    for (const f of o.followers) this.streams.set(f, new FollowerStream(f, this, o.http, o.log));
  }

  get followers(): string[] {
    return [...this.streams.keys()];
  }

  get inSync(): string[] {
    return [...this.inSyncSet];
  }

  progress(): FollowerProgress[] {
    return [...this.streams.values()].map((s) => ({ ...s.progress }));
  }

  /** Adds or removes follower streams to match the nameserver's list. */
  setFollowers(followers: string[]): void {
    for (const f of followers) if (!this.streams.has(f)) this.streams.set(f, new FollowerStream(f, this, this.o.http, this.o.log));
    for (const [f, s] of this.streams) {
      if (!followers.includes(f)) {
        this.streams.delete(f);
        this.inSyncSet.delete(f);
        void s.stop();
      }
    }
    this.checkWaiters();
  }

  /** The nameserver changed the in-sync set (already recorded in ZooKeeper). */
  setInSync(inSync: string[]): void {
    this.inSyncSet = new Set(inSync.filter((e) => this.streams.has(e)));
    this.checkWaiters();
  }

  // ---- StreamHost

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

  acked(): void {
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
    if (this.replicaAck === 'leader' || this.minInSyncAcked() >= offset) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new TesseraError('TIMEOUT', `offset ${offset} of ${this.tid}_${this.pid} was not confirmed by the in-sync followers (${this.inSync.join(', ')}) within ${this.o.ackTimeoutMs} ms`, { offset }));
      }, this.o.ackTimeoutMs);
      const waiter: AckWaiter = { offset, resolve, reject, timer };
      this.waiters.push(waiter);
    });
  }

  private minInSyncAcked(): number {
    let min = Number.MAX_SAFE_INTEGER;
    for (const f of this.inSyncSet) {
      const s = this.streams.get(f);
      const acked = s ? s.progress.ackedOffset : -1;
      if (acked < min) min = acked;
    }
    return min;
  }

  private checkWaiters(): void {
    if (this.waiters.length === 0) return;
    const min = this.minInSyncAcked();
    const still: AckWaiter[] = [];
    for (const w of this.waiters) {
      if (w.offset <= min) {
        clearTimeout(w.timer);
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
