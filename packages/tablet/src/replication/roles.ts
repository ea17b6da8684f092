/**
 * The role lifecycle of replication on one tablet: one LeaderReplication per replica that leads,
 * started, reconfigured and stopped as the replicas' state machines change (replica-state.ts's
 * change hook), one reconciliation at a time per replica. Also what follows from leading: a
 * leader's progress report, the lowest offset its followers hold, a new follower created on
 * another tablet. Owns the tablet's replication HTTP client and append coalescer.
 */
import { HttpClient, TesseraError, type Logger } from '@tessera/common';
import type { Replica } from '../replica.js';
import type { ReplicaChange, TransitionName } from '../replica-state.js';
import type { FollowerProgress, SentBytes } from './follower-stream.js';
import { LeaderReplication } from './leader-replication.js';
import { REPLICATION } from './limits.js';
import type { SnapshotReceiver } from './snapshot-receiver.js';
import { WriteIdIndex } from './write-ids.js';
import { AppendMux } from './append-mux.js';
import { SnapshotThrottle } from './snapshot-throttle.js';

export interface LeaderRoleOptions {
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

/** Transitions after which replication reconciles the replica (not fence, pause or snapshot loads). */
const FOLLOWS: ReadonlySet<TransitionName> = new Set(['becomeLeader', 'becomeFollower', 'followTerm', 'stepDown', 'relinquish', 'setFollowers']);

export function replicaKey(r: { tid: number; pid: number }): string {
  return `${r.tid}_${r.pid}`;
}

export class LeaderRoles {
  private readonly leaders = new Map<string, LeaderReplication>();
  private readonly attaching = new Map<string, Promise<void>>();
  readonly http = new HttpClient({ connectionsPerEndpoint: 8, timeoutMs: REPLICATION.appendTimeoutMs });
  /** Appends of every leader replica here to each follower tablet, coalesced. */
  private readonly appendMux = new AppendMux(this.http, REPLICATION.appendTimeoutMs);
  /** Bytes sent to followers since start (metrics). */
  readonly sentBytes: SentBytes = { binlog: 0, snapshot: 0 };

  /** Append requests sent to followers, the parts, appends and entries they carried (metrics). */
  get appendStats(): AppendMux['stats'] {
    return { ...this.appendMux.stats };
  }
  /** Snapshot bandwidth limits, shared by every stream of this tablet (snapshot-throttle.ts). */
  readonly snapshotThrottle: SnapshotThrottle;

  constructor(
    private readonly receiver: SnapshotReceiver,
    private readonly o: LeaderRoleOptions,
  ) {
    this.snapshotThrottle = new SnapshotThrottle(o.snapshotBytesPerSecondMax);
  }

  /** The replication of a replica that leads here, if any (of any term). */
  get(replica: Replica): LeaderReplication | undefined {
    return this.leaders.get(replicaKey(replica));
  }

  all(): IterableIterator<LeaderReplication> {
    return this.leaders.values();
  }

  /**
   * The replicas' change hook (replica-state.ts): replication follows every transition that may
   * change who leads, in which term, with which followers.
   */
  replicaChanged(replica: Replica, change: ReplicaChange): Promise<void> | void {
    if (FOLLOWS.has(change.transition)) return this.roleChanged(replica, change.inSync);
  }

  /** Brings replication in line with the replica's role, term, followers and in-sync set. */
  roleChanged(replica: Replica, inSync: string[] | undefined): Promise<void> {
    const k = replicaKey(replica);
    const prev = this.attaching.get(k) ?? Promise.resolve();
    const next = prev.then(() => this.reconcile(replica, inSync));
    const tail = next.catch((err) => this.o.log.error(`replication of ${k}: ${(err as Error).message}`));
    this.attaching.set(k, tail);
    return next;
  }

  private async reconcile(replica: Replica, inSync: string[] | undefined): Promise<void> {
    const k = replicaKey(replica);
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
      ackTimeoutMs: this.o.ackTimeoutMs, minInSyncReplicas: this.o.minInSyncReplicas, snapshotThrottle: this.snapshotThrottle, http: this.http, appends: this.appendMux, log: this.o.log, sentBytes: this.sentBytes,
      onDeposed: (term) => void this.stepDown(replica, term),
    });
    this.leaders.set(k, lr);
  }

  /**
   * This tablet may have been failed over (its ZooKeeper session was lost): stop leading at the
   * same term and serve nothing until the nameserver assigns the replica's role again.
   */
  async relinquish(replica: Replica): Promise<void> {
    await replica.machine.relinquish().catch((err) => this.o.log.debug(`relinquish of ${replicaKey(replica)}: ${(err as Error).message}`));
  }

  /** A follower revealed a higher term (the state machine has the rule: serve nothing until told). */
  private async stepDown(replica: Replica, term: number): Promise<void> {
    // Refused (and ignored) when the replica no longer leads or already knows this term.
    await replica.machine.stepDown(term).catch((err) => this.o.log.debug(`step-down of ${replicaKey(replica)}: ${(err as Error).message}`));
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
    const lr = this.get(replica);
    if (!lr) return undefined;
    const offsets = lr.progress().map((f) => f.ackedOffset);
    return offsets.length === 0 ? undefined : Math.max(0, Math.min(...offsets));
  }

  async dropping(replica: Replica): Promise<void> {
    this.receiver.cancel(replica);
    const lr = this.get(replica);
    if (lr) {
      this.leaders.delete(replicaKey(replica));
      await lr.stop('dropped');
    }
  }

  /** What the nameserver reads to manage the in-sync set (see docs/replication.md). */
  progress(replica: Replica): ReplicationProgress | undefined {
    const lr = this.get(replica);
    return lr ? { term: lr.term, offset: replica.store.offset, nowMs: Date.now(), inSync: lr.inSync, waitingFor: lr.waitingFor, followers: lr.progress() } : undefined;
  }

  async stop(): Promise<void> {
    const all = [...this.leaders.values()];
    this.leaders.clear();
    await Promise.all(all.map((l) => l.stop('tablet stopping')));
    await this.http.close();
  }
}
