/**
 * Replication on one tablet, the front the server, routes and metrics use: composes its four
 * parts and owns nothing else —
 *   roles.ts           role lifecycle: a LeaderReplication per leading replica, following the
 *                      replicas' state machines (their one change hook)
 *   write-path.ts      writes applied once (de-duplication), acknowledgement, the commit point reads see
 *   replica-routes.ts  the follower side's routes (appends, snapshots) and set_in_sync
 *   retention.ts       binlog retention and the expanding-set pruning timers
 * (Formerly replication/manager.ts, whose name collided with replica-manager.ts.)
 */
import type { HttpServer, Logger, ReplicaAck } from '@tessera/common';
import type { PutRow } from '@tessera/storage';
import type { Replica } from '../replica.js';
import type { ReplicaChange } from '../replica-state.js';
import type { ReplicaManager } from '../replica-manager.js';
import type { EpochFence } from '../routes-control.js';
import type { DeliveredSnapshot, SentBytes } from './follower-stream.js';
import { ReplicaRoutes } from './replica-routes.js';
import { RetentionTimers } from './retention.js';
import { LeaderRoles, type ReplicationProgress } from './roles.js';
import type { SnapshotThrottle } from './snapshot-throttle.js';
import { SnapshotReceiver } from './snapshot-receiver.js';
import { WritePath } from './write-path.js';

export type { ReplicationProgress } from './roles.js';

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

export class TabletReplication {
  private readonly receiver: SnapshotReceiver;
  private readonly roles: LeaderRoles;
  private readonly writes: WritePath;
  private readonly routes: ReplicaRoutes;
  private readonly retention: RetentionTimers;

  constructor(replicas: ReplicaManager, o: ReplicationOptions) {
    this.receiver = new SnapshotReceiver(o.log.child('snapshot'));
    this.roles = new LeaderRoles(this.receiver, o);
    this.writes = new WritePath(this.roles);
    this.routes = new ReplicaRoutes(replicas, this.roles, this.receiver, o.log);
    this.retention = new RetentionTimers(replicas, this.roles, o);
  }

  /** The tablet's snapshot bandwidth limits (snapshot-throttle.ts; /v1/control/snapshot_limit). */
  get snapshotThrottle(): SnapshotThrottle {
    return this.roles.snapshotThrottle;
  }

  /** Bytes sent to followers since start (metrics). */
  get sentBytes(): SentBytes {
    return this.roles.sentBytes;
  }

  /** Append requests sent to follower tablets and what they carried (metrics; append-mux.ts). */
  get appendStats(): { requests: number; parts: number; appends: number; entries: number } {
    return this.roles.appendStats;
  }

  // ---- role lifecycle (roles.ts)

  /** The replicas' one change hook (replica-state.ts). */
  replicaChanged(replica: Replica, change: ReplicaChange): Promise<void> | void {
    return this.roles.replicaChanged(replica, change);
  }

  relinquish(replica: Replica): Promise<void> {
    return this.roles.relinquish(replica);
  }

  createFollowerOn(replica: Replica, des: string, nsEpoch: number, selfEndpoint: string): Promise<void> {
    return this.roles.createFollowerOn(replica, des, nsEpoch, selfEndpoint);
  }

  lowestFollowerOffset(replica: Replica): number | undefined {
    return this.roles.lowestFollowerOffset(replica);
  }

  dropping(replica: Replica): Promise<void> {
    return this.roles.dropping(replica);
  }

  /** The snapshot `replica`, leading, last completed into its follower `endpoint` (with the digest it sent). */
  deliveredSnapshot(replica: Replica, endpoint: string): DeliveredSnapshot | undefined {
    const lr = this.roles.get(replica);
    return lr !== undefined && lr.term === replica.term ? lr.deliveredTo(endpoint) : undefined;
  }

  progress(replica: Replica): ReplicationProgress | undefined {
    return this.roles.progress(replica);
  }

  // ---- the write path (write-path.ts)

  writeOnce(replica: Replica, rows: PutRow[]): Promise<number> {
    return this.writes.writeOnce(replica, rows);
  }

  knownWrite(replica: Replica, writeId: string | undefined): number | undefined {
    return this.writes.knownWrite(replica, writeId);
  }

  rememberOne(replica: Replica, writeId: string | undefined, offset: number): void {
    this.writes.rememberOne(replica, writeId, offset);
  }

  visibleOffset(replica: Replica): number | Promise<number> {
    return this.writes.visibleOffset(replica);
  }

  afterLocalWrite(replica: Replica, offset: number): Promise<void> {
    return this.writes.afterLocalWrite(replica, offset);
  }

  // ---- routes (replica-routes.ts)

  register(app: HttpServer, fence: EpochFence): void {
    this.routes.register(app, fence);
  }

  async stop(): Promise<void> {
    this.retention.stop();
    await this.roles.stop();
  }
}

export type { ReplicaAck };
