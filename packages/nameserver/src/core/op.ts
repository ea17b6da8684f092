/**
 * Ops as data. An op (kMigrateOP, kChangeLeaderOP, ...) is a plain JSON-serialisable record: the
 * partition it works on, an ordered list of tasks, the index of the current task, a status, times
 * and type-specific data. It is persisted at `/op/op_data/<id>` after every task and resumed from
 * there by the next nameserver leader. Op and task names are OpenMLDB's (openmldb.md §4.1–4.2),
 * so `showopstatus` reads the same. Status changes go through one transition table, checked on
 * every change; an impossible transition is a bug and throws.
 *
 * When an op fails or is canceled before its commit task is done, the undo steps of the tasks
 * done so far are appended to `tasks` (flagged `undo`) and run like any other task; `rollback`
 * records why and where the undo begins. No I/O here.
 */
import type { ChecksumCheck, Endpoint, Offset, OpIssuer, Pid, ReplicaRole, Term, Tid } from '@tessera/common';

export const OP_TYPES = [
  'kMakeSnapshotOP',
  'kAddReplicaOP',
  'kDelReplicaOP',
  'kChangeLeaderOP',
  'kOfflineReplicaOP',
  'kReAddReplicaOP',
  'kReAddReplicaNoSendOP',
  'kReAddReplicaWithDropOP',
  'kReAddReplicaSimplifyOP',
  'kMigrateOP',
  'kReLoadTableOP',
  'kUpdatePartitionStatusOP',
  'kRecoverTableOP',
  // Ours: the partition reconciler's op (repair.ts).
  'kRepairPartitionOP',
  // Ours: a scale-in, the parent of one child op per move (parent.ts). It has no partition and no
  // task of its own: PARENT_TID/PARENT_PID, and it ends when its children are done.
  'kScaleInOP',
  // Ours: the failover of every replica one lost tablet held, in batches (bulk-failover.ts). It
  // holds many partitions: BULK_TID/BULK_PID, the partitions are listed in its data.
  'kFailoverEndpointOP',
] as const;
export type OpType = (typeof OP_TYPES)[number];

export const OP_STATUSES = ['kInited', 'kDoing', 'kDone', 'kFailed', 'kCanceled'] as const;
export type OpStatus = (typeof OP_STATUSES)[number];
/** Tasks share the op statuses (OpenMLDB's TaskStatus). */
export type TaskStatus = OpStatus;

/** The legal status changes of ops and tasks; nothing leaves a terminal status. */
export const STATUS_TRANSITIONS: Readonly<Record<OpStatus, readonly OpStatus[]>> = {
  kInited: ['kDoing', 'kFailed', 'kCanceled'],
  kDoing: ['kDone', 'kFailed', 'kCanceled'],
  kDone: [],
  kFailed: [],
  kCanceled: [],
};

export function isTerminal(status: OpStatus): boolean {
  return STATUS_TRANSITIONS[status].length === 0;
}

function checkTransition(what: string, from: OpStatus, to: OpStatus): void {
  if (!STATUS_TRANSITIONS[from].includes(to)) throw new Error(`invalid ${what} status transition [${from} -> ${to}]`);
}

/** Moves an op to `to`, stamping startMs on kDoing and endMs on a terminal status. */
export function transitionOp(op: Op, to: OpStatus, nowMs: number): void {
  checkTransition(`op ${op.id}`, op.status, to);
  op.status = to;
  if (to === 'kDoing') op.startMs = nowMs;
  if (isTerminal(to)) op.endMs = nowMs;
}

/** Moves a task to `to`; with `nowMs`, stamps startMs on kDoing and endMs on a terminal status. */
export function transitionTask(op: Op, index: number, to: TaskStatus, nowMs?: number): void {
  const task = op.tasks[index];
  if (task === undefined) throw new Error(`op ${op.id} has no task ${index}`);
  checkTransition(`op ${op.id} task ${index} (${task.kind})`, task.status, to);
  task.status = to;
  if (nowMs === undefined) return;
  if (to === 'kDoing') task.startMs = nowMs;
  if (isTerminal(to)) task.endMs = nowMs;
}

// ---------------------------------------------------------------------------------------------
// Tasks
// ---------------------------------------------------------------------------------------------

export const TASK_KINDS = [
  // OpenMLDB's task types.
  'kMakeSnapshot',
  'kPauseSnapshot',
  'kRecoverSnapshot',
  'kSendSnapshot',
  'kLoadTable',
  'kAddReplica',
  'kAddTableInfo',
  'kDelReplica',
  'kDelTableInfo',
  'kChangeLeader',
  'kUpdatePartitionStatus',
  'kDropTable',
  'kUpdateTableInfo',
  'kSelectLeader',
  'kUpdateLeaderInfo',
  'kRecoverTable',
  'kCheckBinlogSyncProgress',
  // Ours: the hand-over of a live leader, and undo steps.
  'kFenceLeader',
  'kDemoteLeader',
  'kChangeRole',
  'kRestoreLeader',
  // Ours: a move's new replica compared with its leader at one offset (checksum-check.ts).
  'kCheckChecksum',
] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

interface TaskCommon {
  status: TaskStatus;
  /** Set on the steps appended by a rollback. */
  undo?: boolean;
  /** Why the task failed or was skipped. */
  error?: string;
  /** When it became kDoing / reached a terminal status (absent on ops written before these fields). */
  startMs?: number;
  endMs?: number;
}

/** One step of an op. `endpoint` is the tablet a tablet task commands. */
export type Task = TaskCommon &
  (
    | { kind: 'kPauseSnapshot'; endpoint: Endpoint }
    | { kind: 'kRecoverSnapshot'; endpoint: Endpoint }
    | { kind: 'kSendSnapshot'; endpoint: Endpoint; des: Endpoint }
    | { kind: 'kLoadTable'; endpoint: Endpoint; role: ReplicaRole }
    | { kind: 'kAddReplica'; endpoint: Endpoint; follower: Endpoint }
    | { kind: 'kDelReplica'; endpoint: Endpoint; follower: Endpoint }
    | { kind: 'kDropTable'; endpoint: Endpoint }
    | { kind: 'kMakeSnapshot'; endpoint: Endpoint; endOffset: Offset | null }
    /** The live leader stops taking writes but keeps replicating. */
    | { kind: 'kFenceLeader'; endpoint: Endpoint; term: Term }
    /** The fenced leader becomes a follower of nobody at its own term. */
    | { kind: 'kDemoteLeader'; endpoint: Endpoint; term: Term }
    /** The selected candidate becomes leader (candidate, term, followers come from the op data). */
    | { kind: 'kChangeLeader' }
    /** Undo step: a replica is told its role again. */
    | { kind: 'kChangeRole'; endpoint: Endpoint; role: ReplicaRole; term: Term; followers: Endpoint[] }
    /** Undo step: the old leader leads again at a raised term, recorded in the term history. */
    | { kind: 'kRestoreLeader'; endpoint: Endpoint; term: Term; followers: Endpoint[] }
    | { kind: 'kAddTableInfo'; endpoint: Endpoint }
    | { kind: 'kDelTableInfo'; endpoint: Endpoint }
    | { kind: 'kUpdateTableInfo'; src: Endpoint; des: Endpoint }
    | { kind: 'kUpdatePartitionStatus'; endpoint: Endpoint; isLeader: boolean; isAlive: boolean }
    /** Waits until `endpoint` is within deltaEntriesMax of the leader; with leaderFenced, of a fenced leader. */
    | { kind: 'kCheckBinlogSyncProgress'; endpoint: Endpoint; deltaEntriesMax: number; leaderFenced: boolean }
    | { kind: 'kSelectLeader' }
    | { kind: 'kUpdateLeaderInfo' }
    | { kind: 'kRecoverTable'; endpoint: Endpoint }
    /** The leader (`endpoint`) compares `replica`'s checksum with its own at one offset; a mismatch fails the op. */
    | { kind: 'kCheckChecksum'; endpoint: Endpoint; replica: Endpoint }
  );

export type TaskOf<K extends TaskKind> = Extract<Task, { kind: K }>;

/** A task's own fields, without its status (distributes over the kinds). */
export type TaskFields = Task extends infer T ? (T extends unknown ? Omit<T, 'status' | 'undo' | 'error' | 'startMs' | 'endMs'> : never) : never;

/** Builds a task in kInited; `newTask({ kind: 'kDropTable', endpoint })`. */
export function newTask(fields: TaskFields): Task {
  return { ...fields, status: 'kInited' } as Task;
}

// ---------------------------------------------------------------------------------------------
// Op data
// ---------------------------------------------------------------------------------------------

/** What SelectLeader decided; fixed once persisted, so a resumed op uses the same terms. */
export interface LeaderSelection {
  candidate: Endpoint;
  /** Term of the new leader. */
  newTerm: Term;
  /** Term the old leader gets back if the hand-over is undone (newTerm + 1, reserved with it). */
  restoreTerm: Term;
  /** Followers of the new leader. */
  followers: Endpoint[];
  /**
   * Failover only: alive followers that cannot simply follow the new leader, because they are
   * ahead of it (a diverged tail) or were not heard from; marked not alive, left to recovery.
   */
  dropped: Endpoint[];
  /** First offset of the new term (the candidate's offset + 1 when selected). */
  startOffset: Offset;
}

export type ChangeLeaderRequestKind = 'candidate' | 'auto' | 'deadLeader' | 'offline';

export type OpData =
  | { kind: 'migrate'; src: Endpoint; des: Endpoint }
  /** addreplica, delreplica, offline, re-add, reload, recovertable: the replica on `endpoint`. */
  /** `temporary`: addreplica of pre-upgrade; the replica is recorded in the partition's tempReplicas. */
  | { kind: 'replica'; endpoint: Endpoint; temporary?: boolean }
  | { kind: 'partitionStatus'; endpoint: Endpoint; isLeader: boolean; isAlive: boolean }
  | {
      kind: 'changeLeader';
      /**
       * How it was asked: `candidate` (that follower), `auto` (the best follower, even with a live
       * leader), `deadLeader` (no candidate: the leader must be dead) or `offline`
       * (offlineendpoint: the old leader is treated as dead whatever its state).
       */
      request: ChangeLeaderRequestKind;
      /** The candidate: requested, or chosen when a hand-over starts; null = chosen by SelectLeader. */
      candidate: Endpoint | null;
      /** The leader when the op started (alive or not); null if the partition had none. */
      oldLeader: Endpoint | null;
      /** Current term when the op started. */
      oldTerm: Term;
      /** The old leader is alive: it is fenced, the candidate catches up, then they swap. */
      handOver: boolean;
      /** Alive followers when the op started. */
      followersBefore: Endpoint[];
      selected: LeaderSelection | null;
      /** pre-upgrade: the old leader is recorded in formerLeaders even when it hands over alive. */
      remember?: boolean;
    }
  | { kind: 'snapshot'; endOffset: Offset | null }
  /** Why the reconciler made the op. */
  | { kind: 'repair'; reasons: string[] }
  | { kind: 'recoverTable'; endpoint: Endpoint; childOpId: number | null }
  /** A scale-in parent: the tablets being drained. */
  | { kind: 'scaleIn'; endpoints: Endpoint[] }
  /** The failover of a lost tablet's replicas, one op for all of them (bulk-failover.ts). */
  | BulkFailoverData;

/** Phases of a bulk failover, in order; the op is written and confirmed between two phases. */
export const BULK_PHASES = ['fence', 'select', 'promote', 'record'] as const;
export type BulkPhase = (typeof BULK_PHASES)[number];

/**
 * One partition of a bulk failover: `changeLeader` (the lost tablet led it: elect a new leader
 * from the recorded in-sync set, as kChangeLeaderOP does), `offlineFollower` (it followed: the
 * leader stops replicating to it, it is marked not alive) or `markDead` (nothing to elect or no
 * leader to tell: the replica is only marked not alive, keeping its leader flag).
 */
export interface BulkPart {
  tid: Tid;
  pid: Pid;
  db: string;
  name: string;
  action: 'changeLeader' | 'offlineFollower' | 'markDead';
  /** changeLeader: the same data a kChangeLeaderOP carries (request `offline`), with its selection. */
  changeLeader?: Extract<OpData, { kind: 'changeLeader' }>;
  /** changeLeader: the term every healthy alive follower is fenced at before the selection. */
  fenceTerm?: Term;
  /** changeLeader: the followers fenced; offlineFollower: the alive leader told to drop the lost tablet. */
  endpoints: Endpoint[];
  /** Left out of the op (its metadata is not changed; the failover monitor tries again later). */
  failed?: string;
}

export interface BulkFailoverData {
  kind: 'bulkFailover';
  /** The lost tablet. */
  endpoint: Endpoint;
  phase: BulkPhase;
  parts: BulkPart[];
}

/**
 * Who asked for an op, for the scheduler's priority (schedule.ts): repairs of lost redundancy
 * first, then operator moves, then rebalance moves. Absent = judged from the op's type and data.
 */
export type OpOrigin = 'repair' | 'operator' | 'rebalance';

/** The tid and pid of an op that holds no partition (a parent op). */
export const PARENT_TID = -1;
export const PARENT_PID = -1;
/** The tid and pid of a bulk op, which holds the partitions its data lists (bulk-failover.ts). */
export const BULK_TID = -2;
export const BULK_PID = -1;

export interface OpRollback {
  reason: 'failed' | 'canceled';
  /** Index of the task that failed or was current when the cancel took effect. */
  fromTaskIndex: number;
  /** Index of the first undo step in `tasks`. */
  undoStartIndex: number;
}

export interface OpProgress {
  tasksDone: number;
  tasksTotal: number;
  /** Entries the new replica is behind its leader, while a sync check runs. */
  lagEntries?: number;
}

export interface Op {
  id: number;
  type: OpType;
  db: string;
  name: string;
  tid: Tid;
  pid: Pid;
  tasks: Task[];
  /** Index of the current (first not yet done) task. */
  taskIndex: number;
  /** Once the task at this index is done the op only goes forward (no undo, no cancel). */
  commitTaskIndex: number;
  status: OpStatus;
  createdMs: number;
  /** Set on kDoing; 0 before. */
  startMs: number;
  /** Set on a terminal status; 0 before. */
  endMs: number;
  /** Epoch of the nameserver that created the op. */
  nsEpoch: number;
  /** The op that created this one (RecoverTable's child, a scale-in's move), or null. */
  parentId: number | null;
  data: OpData;
  progress: OpProgress;
  cancelRequested: boolean;
  /** Set when the creator says (rebalance moves); otherwise the priority follows the type. */
  origin?: OpOrigin;
  rollback?: OpRollback;
  error?: string;
  /** Who asked for it (`--reason`, the client's address); absent for ops the nameserver made itself. */
  issuedBy?: OpIssuer;
  /** What each kCheckChecksum task found (checksum-check.ts). */
  checksums?: ChecksumCheck[];
}

/** True once the op has done its commit task: it may no longer be undone or canceled. */
export function isCommitted(op: Op): boolean {
  return op.taskIndex > op.commitTaskIndex && op.rollback === undefined;
}

/** The current task, or undefined when every task is behind. */
export function currentTask(op: Op): Task | undefined {
  return op.tasks[op.taskIndex];
}

export function partitionKey(tid: Tid, pid: Pid): string {
  return `${tid}/${pid}`;
}

/** A deep copy through JSON: what is persisted is exactly what a new leader reads back. */
export function cloneJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

// ---------------------------------------------------------------------------------------------
// Tablet commands
// ---------------------------------------------------------------------------------------------

/**
 * A control command for one replica on one tablet. Every command is idempotent on the tablet:
 * re-sending one that already took effect succeeds without changing anything, which is what lets
 * the engine re-send after a lost answer and a new leader re-send after a failover.
 */
export type TabletCommand =
  /** kNormal → kSnapshotPaused (binlog kept); already paused is fine. */
  | { type: 'PauseSnapshot'; tid: Tid; pid: Pid }
  /** kSnapshotPaused → kNormal; already normal is fine. */
  | { type: 'RecoverSnapshot'; tid: Tid; pid: Pid }
  /** Stream the paused replica's snapshot to `des`, staged there (replacing any staged one) until LoadTable. */
  | { type: 'SendSnapshot'; tid: Tid; pid: Pid; des: Endpoint }
  /**
   * Open the replica with this role and term: from the staged snapshot if there is one (replacing
   * whatever replica is there), else ok if it is already open with this role, else from its own disk.
   */
  | { type: 'LoadTable'; tid: Tid; pid: Pid; name: string; db: string; role: ReplicaRole; term: Term }
  /** The leader starts replicating to `follower`. */
  | { type: 'AddReplica'; tid: Tid; pid: Pid; follower: Endpoint }
  /** The leader stops replicating to `follower`. */
  | { type: 'DelReplica'; tid: Tid; pid: Pid; follower: Endpoint }
  /** Role, term and (for a leader) the followers; refused when `term` is below the replica's; clears a fence. */
  | { type: 'ChangeRole'; tid: Tid; pid: Pid; role: ReplicaRole; term: Term; followers: Endpoint[] }
  /** The leader at `term` refuses writes from now on but keeps replicating; reported as `fenced`. */
  | { type: 'FenceLeader'; tid: Tid; pid: Pid; term: Term }
  /** Remove the replica and any staged snapshot; absent is fine. */
  | { type: 'DropTable'; tid: Tid; pid: Pid }
  | { type: 'MakeSnapshot'; tid: Tid; pid: Pid; endOffset: Offset | null }
  /** Leader: `replica`'s checksum and its own at the replica's offset (answered as a ChecksumComparison). */
  | { type: 'CompareChecksum'; tid: Tid; pid: Pid; replica: Endpoint; opId: number };

export type TabletCommandType = TabletCommand['type'];
