/**
 * Replication on one tablet: starts and stops a LeaderReplication as replicas gain and lose
 * leadership, answers the follower side (appends, snapshot transfers) with term fencing, waits
 * for acknowledgement on the write path, de-duplicates retried writes, and enforces binlog
 * retention. The routes it serves are `/v1/replica/*` (tablet to tablet) and the in-sync set
 * order `/v1/control/set_in_sync` (nameserver to tablet).
 */
import {
  bodyObject, HttpClient, invalidArgument, LIMITS, normalizeRow, sleep, TesseraError, type HttpServer, type Logger, type ReplicaAck,
} from '@tessera/common';
import { validateEntry, type BinlogEntry, type PutRow, type SnapshotChunk } from '@tessera/storage';
import type { Replica } from '../replica.js';
import type { ReplicaChange, TransitionName } from '../replica-state.js';
import type { ReplicaManager } from '../replica-manager.js';
import type { EpochFence } from '../routes-control.js';
import { strList, tidPid, uint } from '../validate.js';
import type { FollowerProgress, SentBytes } from './follower-stream.js';
import { LeaderReplication } from './leader-replication.js';
import { REPLICATION } from './limits.js';
import { SnapshotReceiver } from './snapshot-receiver.js';
import { WriteIdIndex } from './write-ids.js';
import { AppendMux } from './append-mux.js';

export interface ReplicationOptions {
  /** Binlog entries kept per replica; a follower further behind is rebuilt from a snapshot. */
  binlogRetentionEntries: number;
  /** How long a replica_ack=all write waits for the in-sync followers. */
  ackTimeoutMs: number;
  /** Snapshot transfer rate limit per stream, bytes/s (0 = unlimited). */
  snapshotBytesPerSecondMax: number;
  /** Replicas (leader included) that must hold a replica_ack=all write before it is acknowledged. */
  minInSyncReplicas: number;
  log: Logger;
}

export interface ReplicationProgress {
  term: number;
  offset: number;
  /** The leader's clock when reported (lastAckMs values are on it). */
  nowMs: number;
  /** In-sync set recorded in ZooKeeper, as the leader last heard it. */
  inSync: string[];
  /** Followers writes wait for: recorded plus those the leader added on its own. */
  waitingFor: string[];
  followers: FollowerProgress[];
}

function key(r: { tid: number; pid: number }): string {
  return `${r.tid}_${r.pid}`;
}

export class ReplicationManager {
  private readonly leaders = new Map<string, LeaderReplication>();
  private readonly attaching = new Map<string, Promise<void>>();
  /**
   * Write ids of puts under way, so a concurrent retry waits for the first attempt: the put's
   * batch and the row's place in it (one record per row, no promise per row).
   */
  private readonly inflightWrites = new Map<string, { put: Promise<{ firstOffset: number }>; index: number }>();
  private readonly http = new HttpClient({ connectionsPerEndpoint: 8, timeoutMs: REPLICATION.appendTimeoutMs });
  /** Appends of every leader replica here to each follower tablet, coalesced. */
  private readonly appendMux = new AppendMux(this.http, REPLICATION.appendTimeoutMs);
  private readonly receiver: SnapshotReceiver;
  private readonly retentionTimer: NodeJS.Timeout;
  private readonly pruneTimer: NodeJS.Timeout;
  private stopped = false;
  /** Bytes sent to followers since start (metrics). */
  readonly sentBytes: SentBytes = { binlog: 0, snapshot: 0 };

  constructor(
    private readonly replicas: ReplicaManager,
    private readonly o: ReplicationOptions,
  ) {
    this.receiver = new SnapshotReceiver(o.log.child('snapshot'));
    this.retentionTimer = setInterval(() => void this.enforceRetention(), REPLICATION.retentionCheckIntervalMs);
    this.retentionTimer.unref();
    this.pruneTimer = setInterval(() => {
      const now = Date.now();
      for (const lr of this.leaders.values()) lr.pruneExpanding(now, REPLICATION.expandingLagEntriesMax, REPLICATION.expandingSilentMsMax);
    }, REPLICATION.expandingPruneIntervalMs);
    this.pruneTimer.unref();
  }

  // ------------------------------------------------------------ role changes

  /**
   * The replicas' change hook (replica-state.ts): replication follows every transition that may
   * change who leads, in which term, with which followers.
   */
  replicaChanged(replica: Replica, change: ReplicaChange): Promise<void> | void {
    if (FOLLOWS.has(change.transition)) return this.roleChanged(replica, change.inSync);
  }

  /** Brings replication in line with the replica's role, term, followers and in-sync set. */
  roleChanged(replica: Replica, inSync: string[] | undefined): Promise<void> {
    const k = key(replica);
    const prev = this.attaching.get(k) ?? Promise.resolve();
    const next = prev.then(() => this.reconcile(replica, inSync));
    const tail = next.catch((err) => this.o.log.error(`replication of ${k}: ${(err as Error).message}`));
    this.attaching.set(k, tail);
    return next;
  }

  private async reconcile(replica: Replica, inSync: string[] | undefined): Promise<void> {
    const k = key(replica);
    const current = this.leaders.get(k);
    if (replica.role !== 'leader') {
      if (current) {
        this.leaders.delete(k);
        await current.stop('now a follower');
      }
      return;
    }
    this.receiver.cancel(replica);
    if (current && current.term === replica.term) {
      current.setFollowers([...replica.followers]);
      if (inSync) current.setInSync(inSync);
      current.replicaAck = replica.replicaAck;
      return;
    }
    if (current) {
      this.leaders.delete(k);
      await current.stop(`term ${current.term} ended`);
    }
    const writeIds = await WriteIdIndex.fromBinlog(replica.store);
    const lr = new LeaderReplication({
      store: replica.store, tid: replica.tid, pid: replica.pid, term: replica.term,
      followers: [...replica.followers], inSync: inSync ?? [...replica.followers], replicaAck: replica.replicaAck, writeIds,
      ackTimeoutMs: this.o.ackTimeoutMs, minInSyncReplicas: this.o.minInSyncReplicas, snapshotBytesPerSecondMax: this.o.snapshotBytesPerSecondMax, http: this.http, appends: this.appendMux, log: this.o.log, sentBytes: this.sentBytes,
      onDeposed: (term) => void this.stepDown(replica, term),
    });
    this.leaders.set(k, lr);
  }

  /**
   * This tablet may have been failed over (its ZooKeeper session was lost): stop leading at the
   * same term and serve nothing until the nameserver assigns the replica's role again.
   */
  async relinquish(replica: Replica): Promise<void> {
    await replica.machine.relinquish().catch((err) => this.o.log.debug(`relinquish of ${key(replica)}: ${(err as Error).message}`));
  }

  /**
   * A follower knows a higher term: stop leading, stop taking writes, and serve nothing (reads
   * too, as relinquish) until the nameserver assigns a role again — a deposed leader answering as
   * a follower would hand out what the new leader has since replaced.
   */
  private async stepDown(replica: Replica, term: number): Promise<void> {
    // Refused (and ignored) when the replica no longer leads or already knows this term.
    await replica.machine.stepDown(term).catch((err) => this.o.log.debug(`step-down of ${key(replica)}: ${(err as Error).message}`));
  }

  /**
   * Creates `replica` on `des` as an empty follower (idempotent: an existing one is fine); the
   * content arrives by replication once the leader adds it as a follower.
   */
  async createFollowerOn(replica: Replica, des: string, nsEpoch: number, selfEndpoint: string): Promise<void> {
    const info = replica.store.info;
    try {
      await this.http.call(des, '/v1/control/create_replica', {
        tid: info.tid, pid: info.pid, schema: info.schema, compressType: info.compressType, replicaAck: replica.replicaAck,
        role: 'follower', term: replica.term, leader: selfEndpoint, nsEpoch,
      });
    } catch (err) {
      if ((err as TesseraError).code !== 'TABLE_EXISTS') throw err;
    }
  }

  /** Lowest offset confirmed by any follower of a leader replica; undefined if none or not leading. */
  lowestFollowerOffset(replica: Replica): number | undefined {
    const lr = this.leaders.get(key(replica));
    if (!lr) return undefined;
    const offsets = lr.progress().map((f) => f.ackedOffset);
    return offsets.length === 0 ? undefined : Math.max(0, Math.min(...offsets));
  }

  async dropping(replica: Replica): Promise<void> {
    this.receiver.cancel(replica);
    const lr = this.leaders.get(key(replica));
    if (lr) {
      this.leaders.delete(key(replica));
      await lr.stop('dropped');
    }
  }

  /** What the nameserver reads to manage the in-sync set (see docs/replication.md). */
  progress(replica: Replica): ReplicationProgress | undefined {
    const lr = this.leaders.get(key(replica));
    return lr ? { term: lr.term, offset: replica.store.offset, nowMs: Date.now(), inSync: lr.inSync, waitingFor: lr.waitingFor, followers: lr.progress() } : undefined;
  }

  // ------------------------------------------------------------ the write path

  private leader(replica: Replica): LeaderReplication {
    const lr = this.leaders.get(key(replica));
    if (!lr || lr.term !== replica.term) throw new TesseraError('NOT_LEADER', `replica ${key(replica)} is not leading (yet)`);
    return lr;
  }

  /**
   * Writes rows on the leader, each retried write applied once: rows whose write id is known
   * (or in flight in another request) are not written again; their offsets count as written.
   * Returns the highest offset the request must wait for.
   */
  async writeOnce(replica: Replica, rows: PutRow[]): Promise<number> {
    const lr = this.leader(replica);
    let waitOffset = 0;
    const fresh: PutRow[] = [];
    const seen = new Set<string>();
    for (const r of rows) {
      if (r.writeId === undefined) {
        fresh.push(r);
        continue;
      }
      if (seen.has(r.writeId)) continue;
      seen.add(r.writeId);
      const known = lr.writeIds.get(r.writeId);
      if (known !== undefined) {
        waitOffset = Math.max(waitOffset, known);
        continue;
      }
      const inflight = this.inflightWrites.get(r.writeId);
      if (inflight) {
        const offset = await inflight.put.then((res) => res.firstOffset + inflight.index, () => undefined);
        if (offset !== undefined) {
          waitOffset = Math.max(waitOffset, offset);
          continue;
        }
      }
      fresh.push(r);
    }
    if (fresh.length === 0) return waitOffset;
    const put = replica.store.put(fresh);
    const ids: string[] = [];
    fresh.forEach((r, i) => {
      if (r.writeId === undefined) return;
      ids.push(r.writeId);
      this.inflightWrites.set(r.writeId, { put, index: i });
    });
    try {
      const res = await put;
      fresh.forEach((r, i) => {
        if (r.writeId !== undefined) lr.writeIds.add(r.writeId, res.firstOffset + i);
      });
      return Math.max(waitOffset, res.lastOffset);
    } finally {
      for (const id of ids) this.inflightWrites.delete(id);
    }
  }

  /** The offset a delete with this write id already produced, if any. */
  knownWrite(replica: Replica, writeId: string | undefined): number | undefined {
    return writeId === undefined ? undefined : this.leader(replica).writeIds.get(writeId);
  }

  rememberOne(replica: Replica, writeId: string | undefined, offset: number): void {
    if (writeId !== undefined) this.leaders.get(key(replica))?.writeIds.add(writeId, offset);
  }

  /**
   * The highest offset a read on this replica may see: a leader's commit point; no bound on a
   * follower (reads are routed to leaders) or on a leader whose replication is not attached yet.
   * A number at once when it is known (every read but those right after a takeover); otherwise a
   * promise that waits, bounded, for the followers to confirm what the leader took over with.
   */
  visibleOffset(replica: Replica): number | Promise<number> {
    const now = this.visibleNow(replica);
    return now !== undefined ? now : this.visibleSettled(replica);
  }

  private visibleNow(replica: Replica): number | undefined {
    const lr = this.leaders.get(key(replica));
    if (!lr || lr.term !== replica.term || replica.role !== 'leader') return Infinity;
    return lr.visibleOffset();
  }

  private async visibleSettled(replica: Replica): Promise<number> {
    const deadline = Date.now() + REPLICATION.readSettleWaitMs;
    for (;;) {
      const visible = this.visibleNow(replica);
      if (visible !== undefined) return visible;
      const leftMs = deadline - Date.now();
      if (leftMs <= 0) {
        throw new TesseraError('REPLICA_NOT_SERVING', `replica ${key(replica)} took over as leader and its followers do not yet hold what it took over with; reads wait for that`);
      }
      // Woken by the next follower acknowledgement; the bound re-checks a replaced leader.
      const lr = this.leaders.get(key(replica));
      await Promise.race([lr ? lr.nextProgress() : Promise.resolve(), sleep(Math.min(leftMs, REPLICATION.readSettleRecheckMs))]);
    }
  }

  /** After a local batch up to `offset`: wake the streams and wait as replica_ack says. */
  async afterLocalWrite(replica: Replica, offset: number): Promise<void> {
    const lr = this.leader(replica);
    lr.wrote();
    await lr.waitAcked(offset);
  }

  // ------------------------------------------------------------ routes

  register(app: HttpServer, fence: EpochFence): void {
    app.post('/v1/replica/append', async (req) => this.applyAppend(bodyObject(req.body)));

    // Appends of several partitions from one leader tablet (append-mux.ts): each part is applied
    // and answered on its own, `{ results: [{ offset, ... } | { error }] }` in the order of `parts`.
    app.post('/v1/replica/append_multi', async (req) => {
      const body = bodyObject(req.body);
      const parts = body.parts;
      if (!Array.isArray(parts) || parts.length === 0 || parts.length > LIMITS.partitionsMax) {
        throw invalidArgument(`parts must be a list of 1 to ${LIMITS.partitionsMax} appends`, { field: 'parts' });
      }
      const results = await Promise.all(parts.map(async (part: unknown) => {
        try {
          return await this.applyAppend(bodyObject(part));
        } catch (err) {
          if (err instanceof TesseraError) return err.toWire();
          throw err;
        }
      }));
      return { results };
    });

    app.post('/v1/replica/snapshot_begin', async (req) => {
      const body = bodyObject(req.body);
      const { tid, pid } = tidPid(body);
      const replica = this.replicas.require(tid, pid);
      const term = uint(body, 'term');
      const session = sessionId(body);
      const header = { tid, pid, offset: uint(body, 'offset'), term: uint(body, 'offsetTerm') };
      await this.acceptTerm(replica, term);
      await this.receiver.begin(replica, session, header);
      return { ok: true };
    });

    app.post('/v1/replica/snapshot_chunk', async (req) => {
      const body = bodyObject(req.body);
      const { tid, pid } = tidPid(body);
      const replica = this.replicas.require(tid, pid);
      const term = uint(body, 'term');
      const entries = body.entries;
      if (!Array.isArray(entries) || entries.some((e) => !Array.isArray(e) || e.length !== 2 || !(e[0] instanceof Uint8Array) || !(e[1] instanceof Uint8Array))) {
        throw invalidArgument('entries must be a list of [key, value] byte pairs');
      }
      const session = sessionId(body);
      const seq = uint(body, 'seq');
      await this.acceptTerm(replica, term);
      await this.receiver.chunk(replica, session, seq, entries as SnapshotChunk);
      return { ok: true };
    });

    app.post('/v1/replica/snapshot_end', async (req) => {
      const body = bodyObject(req.body);
      const { tid, pid } = tidPid(body);
      const replica = this.replicas.require(tid, pid);
      const term = uint(body, 'term');
      const session = sessionId(body);
      const chunks = uint(body, 'chunks');
      await this.acceptTerm(replica, term);
      return { offset: await this.receiver.end(replica, session, chunks) };
    });

    app.post('/v1/control/set_in_sync', async (req) => {
      const body = bodyObject(req.body);
      const { tid, pid } = tidPid(body);
      const term = uint(body, 'term');
      const inSync = strList(body, 'inSync');
      fence.check(body);
      const replica = this.replicas.require(tid, pid);
      if (replica.role !== 'leader' || replica.term !== term) {
        throw new TesseraError('NOT_LEADER', `replica ${key(replica)} is not the leader of term ${term}`);
      }
      this.leader(replica).setInSync(inSync);
      return { ok: true };
    });
  }

  /** One append from a leader (`{ tid, pid, term, entries }`); no entries = a probe of this replica's offset. */
  private async applyAppend(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const { tid, pid } = tidPid(body);
    const term = uint(body, 'term');
    const replica = this.replicas.require(tid, pid);
    if (!Array.isArray(body.entries)) throw invalidArgument('entries must be a list', { field: 'entries' });
    const store = replica.store;
    if (body.entries.length === 0) {
      await this.acceptTerm(replica, term);
      const offset = store.offset;
      const offsetTerm = await store.termAt(offset);
      return { offset, ...(offsetTerm !== undefined ? { offsetTerm } : {}), ...(store.incomplete ? { incomplete: true } : {}) };
    }
    if (replica.state === 'loading' || store.incomplete) throw new TesseraError('REPLICA_NOT_SERVING', `replica ${key(replica)} is being rebuilt`);
    if (body.entries.length > REPLICATION.batchEntriesMax) throw new TesseraError('LIMIT_EXCEEDED', `at most ${REPLICATION.batchEntriesMax} entries per append`);
    const columns = store.schema.columns.length;
    const first = (body.entries[0] as { offset?: unknown }).offset;
    if (typeof first !== 'number') throw invalidArgument('entries[0].offset must be a number');
    const entries: BinlogEntry[] = body.entries.map((e: unknown, i: number) => {
      const entry = validateEntry(e, first + i);
      if (entry.kind === 'put') {
        if (entry.values.length !== columns) throw invalidArgument(`entry ${entry.offset} has ${entry.values.length} values, table has ${columns} columns`);
        // The leader checked the row; checking again keeps a hostile append from planting bad rows.
        normalizeRow(store.schema, entry.values);
      }
      return entry;
    });
    // Only a well-formed request may move this replica's term.
    const adopting = this.acceptTerm(replica, term);
    if (adopting) await adopting;
    return { offset: await store.appendReplicated(entries) };
  }

  /**
   * Term fencing on the follower side: a lower term is refused (STALE_TERM, with ours, thrown);
   * anything else is the replica state machine's followTerm (a higher term adopted, a leader of a
   * lower one steps down, an unassigned replica refuses). A promise only when the machine has
   * something to do: the usual append costs no await here.
   */
  private acceptTerm(replica: Replica, term: number): Promise<void> | undefined {
    // A lower term first, whatever the state: it tells a deposed leader so.
    if (term < replica.term) throw new TesseraError('STALE_TERM', `term ${term} is lower than replica term ${replica.term}`, { term: replica.term });
    return replica.machine.followsTerm(term) ? undefined : this.adoptTerm(replica, term);
  }

  private async adoptTerm(replica: Replica, term: number): Promise<void> {
    const wasLeader = replica.role === 'leader';
    await replica.machine.followTerm(term);
    if (wasLeader && replica.role !== 'leader') this.o.log.warn(`replica ${key(replica)} stepped down: a leader of term ${term} is appending`);
  }

  private async enforceRetention(): Promise<void> {
    if (this.stopped) return;
    for (const r of this.replicas.all()) {
      let below = r.store.offset - this.o.binlogRetentionEntries + 1;
      const floor = this.leaders.get(key(r))?.retentionFloor(Date.now(), REPLICATION.retentionPinActiveMsMax);
      if (floor !== undefined) below = Math.min(below, floor);
      // A paused replica keeps its binlog: an op is bringing a new replica up from it.
      if (below <= 1 || r.state === 'loading' || r.state === 'snapshotPaused') continue;
      try {
        if ((await r.store.firstBinlogOffset()) < below) await r.store.truncateBinlog(below);
      } catch (err) {
        this.o.log.warn(`binlog retention of ${key(r)} failed: ${(err as Error).message}`);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.retentionTimer);
    clearInterval(this.pruneTimer);
    const all = [...this.leaders.values()];
    this.leaders.clear();
    await Promise.all(all.map((l) => l.stop('tablet stopping')));
    await this.http.close();
  }
}

/** Transitions after which replication reconciles the replica (not fence, pause or snapshot loads). */
const FOLLOWS: ReadonlySet<TransitionName> = new Set(['becomeLeader', 'becomeFollower', 'followTerm', 'stepDown', 'relinquish', 'setFollowers']);

function sessionId(body: Record<string, unknown>): string {
  const s = body.session;
  if (typeof s !== 'string' || !/^[0-9a-f]{1,64}$/.test(s)) throw invalidArgument('session must be a hex id', { field: 'session' });
  return s;
}

export type { ReplicaAck };
