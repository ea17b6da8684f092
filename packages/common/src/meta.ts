/**
 * Cluster metadata as stored in ZooKeeper (JSON) and passed between nameserver, tablets, SDK and
 * ns_client: table info with its partitions and replicas, the term history of each partition,
 * tablet registrations, and replica status reports. Types only, plus tiny pure helpers.
 */
import type { CompressType, ReplicaAck, TableSchema } from './schema.js';

export type Endpoint = string;
export type Tid = number;
export type Pid = number;
export type Term = number;
export type Offset = number;

/** One replica of a partition, as the nameserver records it (OpenMLDB's PartitionMeta). */
export interface ReplicaMeta {
  endpoint: Endpoint;
  isLeader: boolean;
  isAlive: boolean;
}

/** "From binlog offset `offset` on, entries belong to `term`" (OpenMLDB's TermPair). */
export interface TermPair {
  term: Term;
  offset: Offset;
}

export interface PartitionMeta {
  pid: Pid;
  replicas: ReplicaMeta[];
  /** Term history, oldest first; the last entry is the current term. */
  termOffsets: TermPair[];
  /** Endpoints of followers in the in-sync set (replica_ack=all waits for these). */
  inSync: Endpoint[];
  /**
   * Tablets whose leadership of this partition is to be given back (OpenMLDB's `leader no` row):
   * the leader a failover replaced, or the one `pre-upgrade` moved away. `recoverendpoint <ep>
   * true` and `post-upgrade <ep>` hand the leadership back; it is cleared when the tablet leads
   * again or its replica is removed. Absent = none.
   */
  formerLeaders?: Endpoint[];
  /** Replicas `pre-upgrade` added for the time of an upgrade; `post-upgrade` removes them. Absent = none. */
  tempReplicas?: Endpoint[];
}

/** A table as stored at /table/db_table_data/<tid>. */
export interface TableInfo {
  tid: Tid;
  schema: TableSchema;
  partitionNum: number;
  replicaNum: number;
  compressType: CompressType;
  replicaAck: ReplicaAck;
  partitions: PartitionMeta[];
  /** Creation time, epoch ms. */
  createdMs: number;
}

/** Value of /nodes/<endpoint>. */
export interface TabletRegistration {
  endpoint: Endpoint;
  /** Process start time, epoch ms. */
  startMs: number;
  /** True on the first registration after a process start (OpenMLDB's `startup_` mark). */
  startup: boolean;
  /** Where the process listens, when it differs from `endpoint` (a proxy in front of it). */
  listenEndpoint?: Endpoint;
}

export type ReplicaRole = 'leader' | 'follower';
/** `unassigned`: found on disk after a restart, not yet told its role; not served. */
export type ReplicaState = 'unassigned' | 'normal' | 'loading' | 'snapshotPaused';

/** What a tablet reports for one replica. */
export interface ReplicaStatus {
  tid: Tid;
  pid: Pid;
  name: string;
  db: string;
  role: ReplicaRole | 'none';
  state: ReplicaState;
  term: Term;
  offset: Offset;
  recordCnt: number;
  memUsed: number;
  diskUsed: number;
  /** Oldest offset still in the binlog (a follower further behind needs a snapshot). */
  binlogFirstOffset?: number;
  /** On a leader: its replication towards each follower. */
  replication?: ReplicationReport;
}

/** A leader's report of its replication (what the nameserver manages the in-sync set by). */
export interface ReplicationReport {
  term: Term;
  offset: Offset;
  /** The leader's clock when reported; lastAckMs values are on the same clock. */
  nowMs: number;
  /** The in-sync set as recorded in ZooKeeper, as the leader last heard it. */
  inSync: Endpoint[];
  /** Every follower writes wait for: recorded plus those the leader added on its own. */
  waitingFor: Endpoint[];
  /** Per follower; `sinceMs` is when this leader began streaming to it (silence before the first answer counts from there). */
  followers: Array<{ endpoint: Endpoint; state: string; ackedOffset: number; lastAckMs: number; sinceMs: number; snapshotsSent: number; snapshot?: SnapshotTransferReport }>;
}

/** A leader's snapshot transfer to one follower: the one in flight, or the last one sent. */
export interface SnapshotTransferReport {
  rowsSent: number;
  rowsTotal: number;
  bytesSent: number;
  /** Estimated from the bytes per row sent so far; exact once `endedMs` is set. */
  bytesTotal: number;
  /** On the leader's clock (ReplicationReport.nowMs). */
  startedMs: number;
  endedMs?: number;
  /** Waiting for the snapshot bandwidth limit (confset snapshot_bytes_per_sec). */
  throttled: boolean;
}

export function leaderOf(p: PartitionMeta): ReplicaMeta | undefined {
  return p.replicas.find((r) => r.isLeader && r.isAlive);
}

export function currentTerm(p: PartitionMeta): Term {
  return p.termOffsets.length === 0 ? 0 : p.termOffsets[p.termOffsets.length - 1]!.term;
}
