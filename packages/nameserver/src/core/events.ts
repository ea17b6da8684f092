/**
 * The engine's vocabulary: the events the server shell feeds in (ZooKeeper watches, tablet
 * polls, HTTP requests, timers turned into data) and the effects it gets back (tablet commands,
 * ZooKeeper writes, replies). Plain JSON-serialisable types only.
 *
 * Contract with the shell:
 * - After `becameLeader`, poll every healthy tablet (with the new nsEpoch, so that tablets fence
 *   the old leader) and feed `tabletReport`s; a resumed op re-checks its current task against
 *   these fresh reports.
 * - Execute effects in order. Answer every `persistOp`, `deleteOp` and `persistTable` with one
 *   `persisted` event (ok or not); the engine keeps at most one write in flight per op and per
 *   table, and does not move an op past a task before its write is confirmed.
 * - Answer every `sendTask` with a `taskResult` when the tablet answers (or the request fails).
 * - Answer `allocTableIds`, `tableCall`, `writeTableNode` and `deleteTableNode` (a create or drop
 *   table) with their events; the engine writes every table's metadata, the shell only carries out.
 * - Feed `tick` regularly (every second is plenty); time only moves through events.
 */
import type {
  AddReplicaRequest,
  CancelOpRequest,
  CreateTableRequest,
  ChangeLeaderRequest,
  DelReplicaRequest,
  DeleteOpRequest,
  Endpoint,
  ErrorCode,
  MakeSnapshotRequest,
  MigrateRequest,
  Offset,
  OpIssuer,
  OfflineEndpointRequest,
  RecoverEndpointRequest,
  RecoverTableRequest,
  ReplicaStatus,
  ShowOpStatusRequest,
  TableInfo,
  TableSchema,
  Tid,
  UpdateTableAliveRequest,
  UpgradeStepRequest,
  SetTablePartitionRequest,
  ScaleInRequest,
  RebalanceMove,
  ReplicaAck,
  ReplicaRole,
  Term,
} from '@tessera/common';
import type { Op, TabletCommand } from './op.js';
import type { ReplicaCall, TableDefaults } from './table-create.js';

/** A tablet's report on one replica, with what the core needs beyond ReplicaStatus. */
export interface ReplicaReport extends ReplicaStatus {
  /** Leader only: the followers it replicates to. When absent, AddReplica/DelReplica are judged by their answers. */
  followers?: Endpoint[];
  /** Leader only: true after FenceLeader, until the next ChangeRole. */
  fenced?: boolean;
  /** Offset of the replica's last snapshot. */
  snapshotOffset?: Offset;
}

/** A tablet as the shell knows it when the engine takes over. */
export interface TabletInfo {
  endpoint: Endpoint;
  healthy: boolean;
  /** Time of the last state change, epoch ms. */
  sinceMs: number;
}

export type RequestId = string | number;

/** The admin commands the engine answers (shapes from @tessera/common's ns-api). */
export type AdminCommand =
  | ({ type: 'migrate' } & MigrateRequest)
  | ({ type: 'addreplica' } & AddReplicaRequest)
  | ({ type: 'delreplica' } & DelReplicaRequest)
  | ({ type: 'changeleader' } & ChangeLeaderRequest)
  | ({ type: 'makesnapshot' } & MakeSnapshotRequest)
  | ({ type: 'offlineendpoint' } & OfflineEndpointRequest)
  | ({ type: 'recoverendpoint' } & RecoverEndpointRequest)
  | ({ type: 'recovertable' } & RecoverTableRequest)
  | ({ type: 'cancelop' } & CancelOpRequest)
  | ({ type: 'deleteop' } & DeleteOpRequest)
  | ({ type: 'showopstatus' } & ShowOpStatusRequest)
  | ({ type: 'updatetablealive' } & UpdateTableAliveRequest)
  | ({ type: 'preupgrade' } & UpgradeStepRequest)
  | ({ type: 'postupgrade' } & UpgradeStepRequest)
  | ({ type: 'settablepartition' } & SetTablePartitionRequest)
  | ({ type: 'scalein' } & ScaleInRequest)
  | { type: 'rebalanceplan'; db?: string; tables: string[]; destinations?: string[]; scaleout: boolean }
  | { type: 'applyplan'; moves: RebalanceMove[] }
  /** setttl's new schema (its TTLs): the engine's copy, then ZooKeeper; answered once written. */
  | { type: 'setschema'; tid: Tid; schema: TableSchema }
  /** createtable (table-create.ts, table-jobs.ts); the database's existence and the defaults come from the shell. */
  | { type: 'createtable'; request: CreateTableRequest; dbExists: boolean; defaults: TableDefaults }
  | { type: 'droptable'; db: string; name: string };

export type AdminCommandType = AdminCommand['type'];

/** What a `persisted` event confirms. */
export type PersistTarget = { kind: 'op'; opId: number } | { kind: 'deleteOp'; opId: number } | { kind: 'table'; tid: Tid };

export type EngineEvent =
  /** This nameserver won the election: everything it needs, read from ZooKeeper after winning. */
  | {
      type: 'becameLeader';
      nsEpoch: number;
      nowMs: number;
      tables: TableInfo[];
      /** Every op under /op/op_data. */
      ops: Op[];
      tablets: TabletInfo[];
      /** Value of /op/op_index: the last op id allocated. */
      opIndex: number;
      /** Settings read from ZooKeeper (`confset`); absent ones keep the config's. */
      settings?: EngineSettings;
    }
  | { type: 'lostLeadership' }
  | { type: 'tabletUp'; endpoint: Endpoint; nowMs: number; startup: boolean }
  | { type: 'tabletDown'; endpoint: Endpoint; nowMs: number }
  /** Everything the tablet holds; replaces its previous report. */
  /**
   * A tablet's report: every replica it holds, or with `removed` only the changes since the
   * engine's last report of it (replicas whose status changed or that are not quiescent, and the
   * ones gone); a change report before any whole one is ignored (the shell sends a whole one first).
   */
  | { type: 'tabletReport'; endpoint: Endpoint; replicas: ReplicaReport[]; removed?: Array<{ tid: Tid; pid: number }>; /** A slice of a change report with more to come: not yet a fresh report. */ more?: boolean }
  /** `detail`: what the tablet answered (a CompareChecksum's ChecksumComparison; checksum-check.ts). */
  | { type: 'taskResult'; opId: number; taskIndex: number; ok: boolean; error?: string; retryable?: boolean; detail?: unknown; /** The catalogue code of a refusal. */ code?: string }
  /** The answer to a `sendBatch`: one result per command, in order (all failed when the request did). */
  | { type: 'batchResult'; opId: number; batch: number; results: Array<{ ok: boolean; error?: string; retryable?: boolean }> }
  | { type: 'tick'; nowMs: number }
  | { type: 'adminCommand'; requestId: RequestId; command: AdminCommand; nowMs?: number; issuedBy?: OpIssuer }
  | { type: 'persisted'; what: PersistTarget; ok: boolean }
  /** Answers to a create or drop table job's effects (table-jobs.ts). */
  | TableJobEvent
  /**
   * The shell's failover timer (and a timer at a lost tablet's heartbeat timeout): runs the
   * failover checker (failover-check.ts) when `/config/auto_failover` is `enabled`.
   */
  | { type: 'failoverCheck'; nowMs: number; enabled: boolean }
  /** `confset` changed a setting the engine applies at once (move limits). */
  | ({ type: 'settingsChanged' } & EngineSettings);

/** The settings `confset` changes while the engine runs. */
export interface EngineSettings {
  maxMovesPerTablet?: number;
  maxMovesPerCluster?: number;
}

/**
 * A word to a tablet outside any op, sent after what it depends on is in ZooKeeper: the in-sync
 * set (in-sync.ts) or a restarted replica's role (role-check.ts). Fire and forget: the checkers
 * send it again while the tablet's reports still disagree.
 */
export type TabletNotice =
  | { type: 'SetInSync'; tid: Tid; pid: number; term: Term; inSync: Endpoint[] }
  | { type: 'AssignRole'; tid: Tid; pid: number; role: ReplicaRole; term: Term; followers?: Endpoint[]; inSync?: Endpoint[]; leader?: Endpoint; replicaAck: ReplicaAck };

export type EngineEventType = EngineEvent['type'];

/** The shell's answers to `allocTableIds`, `tableCall`, `writeTableNode` and `deleteTableNode`. */
export type TableJobEvent =
  | { type: 'tableIdsAllocated'; requestId: RequestId; ok: boolean; tid?: Tid; term?: Term; error?: ReplyError }
  | { type: 'tableCallResult'; requestId: RequestId; callIndex: number; ok: boolean; error?: ReplyError }
  | { type: 'tableNodeWritten'; requestId: RequestId; ok: boolean; error?: ReplyError };

export interface ReplyError {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export type EngineEffect =
  /** Send `command` to `endpoint`, carrying nsEpoch; answer with taskResult(opId, taskIndex). */
  | { kind: 'sendTask'; opId: number; taskIndex: number; endpoint: Endpoint; nsEpoch: number; command: TabletCommand }
  /** Send `commands` to `endpoint` in one request (the tablet's /v1/control/batch); answer with batchResult(opId, batch). */
  | { kind: 'sendBatch'; opId: number; batch: number; endpoint: Endpoint; nsEpoch: number; commands: TabletCommand[] }
  /** Write /op/op_data/<op.id>, and /op/op_index = max(current, opIndex). */
  | { kind: 'persistOp'; op: Op; opIndex: number }
  /** Delete /op/op_data/<opId> (absent is fine). */
  | { kind: 'deleteOp'; opId: number }
  /** Write /table/db_table_data/<tid> and bump /table/notify. */
  | { kind: 'persistTable'; table: TableInfo }
  /** Send `notice` to `endpoint`, carrying nsEpoch; no answer is fed back. */
  | { kind: 'notifyTablet'; endpoint: Endpoint; nsEpoch: number; notice: TabletNotice }
  /** Allocate a new tid and a new term (ZooKeeper's counters); answer with tableIdsAllocated. */
  | { kind: 'allocTableIds'; requestId: RequestId }
  /** Create or drop a replica on a tablet, carrying nsEpoch; answer with tableCallResult (code and text of a failure). */
  | { kind: 'tableCall'; requestId: RequestId; callIndex: number; nsEpoch: number; call: ReplicaCall }
  /** Create /table/db_table_data/<tid> (it must not exist) and bump /table/notify; answer with tableNodeWritten. */
  | { kind: 'writeTableNode'; requestId: RequestId; table: TableInfo }
  /** Delete /table/db_table_data/<tid> and bump /table/notify; answer with tableNodeWritten. */
  | { kind: 'deleteTableNode'; requestId: RequestId; tid: Tid }
  /** Poll every healthy tablet's status now, after any poll under way (a bulk failover's select phase after its fences); reports come as tabletReport. */
  | { kind: 'requestReports' }
  /**
   * Poll these tablets every `intervalMs` (one poll of them at a time) until the next
   * chaseReports; `[]` stops. A current kCheckBinlogSyncProgress waits on their reports
   * (report-chase.ts). Emitted only when the set or interval changed; reports come as tabletReport.
   */
  | { kind: 'chaseReports'; endpoints: Endpoint[]; intervalMs: number }
  /** Something the operator should see in the log (failover decisions, in-sync changes). */
  | { kind: 'log'; level: 'info' | 'warn'; message: string }
  | { kind: 'reply'; requestId: RequestId; ok: true; message: string; data: unknown }
  | { kind: 'reply'; requestId: RequestId; ok: false; error: ReplyError };

export type EngineEffectKind = EngineEffect['kind'];
