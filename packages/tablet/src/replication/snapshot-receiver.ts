/**
 * The follower's side of a snapshot transfer: begin → chunks in sequence → end, fed into the
 * store's loadSnapshot as one stream. A chunk request returns once the load has taken its
 * entries (the chunk before it is written), so the next chunk crosses the network and is
 * decoded while this one is written, and the sender is never more than one chunk ahead of the
 * disk. A load that fails fails every chunk after it and the end (which waits for the load). A
 * transfer that goes idle is abandoned; the replica stays marked incomplete until a later
 * transfer succeeds.
 */
import { TesseraError, type Logger } from '@tessera/common';
import type { PackedSnapshotChunk, SnapshotChunk, SnapshotHeader } from '@tessera/storage';
import type { Replica } from '../replica.js';
import { REPLICATION } from './limits.js';

type Item = SnapshotHeader | SnapshotChunk | PackedSnapshotChunk;

/** A stream whose producer learns when each item has been taken by the consumer. */
class HandOffQueue {
  private items: Array<{ item: Item; taken: () => void; refused: (err: unknown) => void }> = [];
  private wake: (() => void) | undefined;
  private ended = false;
  private error: unknown;

  push(item: Item): Promise<void> {
    if (this.ended) return Promise.reject(new TesseraError('INVALID_ARGUMENT', 'snapshot stream already ended'));
    if (this.error !== undefined) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      this.items.push({ item, taken: resolve, refused: reject });
      this.wake?.();
    });
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  fail(err: unknown): void {
    this.error ??= err;
    this.ended = true;
    for (const i of this.items) i.refused(this.error);
    this.items = [];
    this.wake?.();
  }

  async *iterate(): AsyncGenerator<Item> {
    try {
      for (;;) {
        if (this.error) throw this.error;
        const next = this.items.shift();
        if (next) {
          next.taken();
          yield next.item;
          continue;
        }
        if (this.ended) return;
        await new Promise<void>((r) => {
          this.wake = r;
        });
        this.wake = undefined;
      }
    } finally {
      // The load stopped (done or failed): nothing queued after this point will be taken.
      this.fail(new TesseraError('UNAVAILABLE', 'snapshot load stopped'));
    }
  }
}

interface Session {
  id: string;
  replica: Replica;
  queue: HandOffQueue;
  loading: Promise<number>;
  nextSeq: number;
  idleTimer: NodeJS.Timeout;
}

export class SnapshotReceiver {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly log: Logger) {}

  async begin(replica: Replica, id: string, header: SnapshotHeader): Promise<void> {
    await replica.machine.beginSnapshotLoad();
    const key = `${replica.tid}_${replica.pid}`;
    const old = this.sessions.get(key);
    if (old) this.abort(key, old, 'a new transfer began');
    const queue = new HandOffQueue();
    replica.loadedSnapshot = undefined;
    const loading = replica.store.loadSnapshot(queue.iterate());
    const session: Session = { id, replica, queue, loading, nextSeq: 0, idleTimer: this.idleTimer(key) };
    loading.catch((err) => {
      queue.fail(err);
      this.log.warn(`snapshot load of ${key} failed: ${(err as Error).message}`);
    });
    this.sessions.set(key, session);
    queue.push(header).catch(() => undefined); // a failed load is reported by the next chunk and the end
  }

  async chunk(replica: Replica, id: string, seq: number, entries: SnapshotChunk | PackedSnapshotChunk): Promise<void> {
    const s = this.session(replica, id);
    if (seq !== s.nextSeq) throw new TesseraError('INVALID_ARGUMENT', `snapshot chunk ${seq} arrived, expected ${s.nextSeq}`);
    s.nextSeq++;
    this.touch(replica, s);
    await s.queue.push(entries);
  }

  async end(replica: Replica, id: string, chunks: number): Promise<number> {
    const s = this.session(replica, id);
    if (chunks !== s.nextSeq) throw new TesseraError('INVALID_ARGUMENT', `snapshot ended after ${s.nextSeq} chunks, sender sent ${chunks}`);
    s.queue.end();
    const key = `${replica.tid}_${replica.pid}`;
    try {
      const offset = await s.loading;
      await replica.machine.endSnapshotLoad();
      const loaded = replica.store.loadedChecksum();
      replica.loadedSnapshot = loaded === undefined || loaded.offset !== offset ? undefined : { ...loaded, session: id };
      return offset;
    } finally {
      clearTimeout(s.idleTimer);
      if (this.sessions.get(key) === s) this.sessions.delete(key);
    }
  }

  /** Abandons any transfer into this replica (it is being dropped or changes role). */
  cancel(replica: Replica): void {
    const key = `${replica.tid}_${replica.pid}`;
    const s = this.sessions.get(key);
    if (s) this.abort(key, s, 'canceled');
  }

  private session(replica: Replica, id: string): Session {
    const s = this.sessions.get(`${replica.tid}_${replica.pid}`);
    if (!s || s.id !== id) throw new TesseraError('PRECONDITION_FAILED', `no snapshot transfer ${id} into ${replica.tid}_${replica.pid}`);
    return s;
  }

  private touch(replica: Replica, s: Session): void {
    clearTimeout(s.idleTimer);
    s.idleTimer = this.idleTimer(`${replica.tid}_${replica.pid}`);
  }

  private idleTimer(key: string): NodeJS.Timeout {
    const t = setTimeout(() => {
      const s = this.sessions.get(key);
      if (s) this.abort(key, s, `idle for ${REPLICATION.snapshotIdleTimeoutMs} ms`);
    }, REPLICATION.snapshotIdleTimeoutMs);
    t.unref();
    return t;
  }

  private abort(key: string, s: Session, why: string): void {
    clearTimeout(s.idleTimer);
    this.sessions.delete(key);
    s.queue.fail(new TesseraError('UNAVAILABLE', `snapshot transfer into ${key} abandoned: ${why}`));
    this.log.warn(`snapshot transfer into ${key} abandoned: ${why}`);
  }
}
