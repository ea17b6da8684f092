/**
 * Which role notices an op that holds a partition leaves to role assignment (pure).
 *
 * An op holds its partition so that role assignment (checkers.ts, role-check.ts) does not undo
 * the steps it takes. But an op that only adds, removes, rebuilds or moves a follower (recovery,
 * the re-adds, add/del replica, migrate) never changes who leads, and several of its steps are
 * commands the leader must answer as leader (kDelReplica, kAddReplica, kPauseSnapshot). If the
 * leader's tablet restarts under such an op, its replicas report `unassigned`; left alone the op
 * insists on its step until the task timeout (60 s), fails, and only then is the leader told its
 * role, so the partition has no acting leader all that while, and the next queued op for it does
 * the same (chaos seed 198: recoveries timing out one after the other for minutes).
 *
 * So a notice passes when the op is one of those follower ops, none of its tasks (undo steps
 * included) touches leadership, the notice is for a replica the op does not work on (the leader,
 * or another follower), and what the op has already told the leader agrees with the metadata the
 * notice is built from: a notice lists the followers metadata marks alive, so a kAddReplica the op
 * has started (its follower not alive in metadata yet) or a kDelReplica of a follower metadata
 * still marks alive would be undone by it, and the op keeps the partition (core-sim seeds 72 and
 * 108 found the kAddReplica case in a migrate).
 */
import type { Endpoint } from '@tessera/common';
import type { Op, OpType, Task, TaskKind } from './op.js';

/** Op types whose tasks only add, remove, rebuild or move a follower. */
const FOLLOWER_OPS: ReadonlySet<OpType> = new Set<OpType>([
  'kRecoverTableOP',
  'kReAddReplicaOP',
  'kReAddReplicaNoSendOP',
  'kReAddReplicaWithDropOP',
  'kReAddReplicaSimplifyOP',
  'kAddReplicaOP',
  'kDelReplicaOP',
  'kMigrateOP',
]);

/** Task kinds that change, or restore, who leads. */
const LEADERSHIP_TASKS: ReadonlySet<TaskKind> = new Set<TaskKind>([
  'kFenceLeader',
  'kDemoteLeader',
  'kChangeLeader',
  'kChangeRole',
  'kRestoreLeader',
  'kSelectLeader',
  'kUpdateLeaderInfo',
]);

/** Whether a task changes, or restores, who leads (marking a follower alive does not). */
function touchesLeadership(task: Task): boolean {
  return LEADERSHIP_TASKS.has(task.kind) || (task.kind === 'kUpdatePartitionStatus' && task.isLeader);
}

/** The replicas a task works on (not the leader it sends commands to). */
function taskSubjects(task: Task): Endpoint[] {
  switch (task.kind) {
    case 'kLoadTable':
    case 'kDropTable':
    case 'kRecoverTable':
    case 'kCheckBinlogSyncProgress':
    case 'kAddTableInfo':
    case 'kDelTableInfo':
    case 'kUpdatePartitionStatus':
      return [task.endpoint];
    case 'kSendSnapshot':
      return [task.des];
    case 'kAddReplica':
    case 'kDelReplica':
      return [task.follower];
    case 'kCheckChecksum':
      return [task.replica];
    case 'kUpdateTableInfo':
      return [task.src, task.des];
    default:
      return [];
  }
}

/** The replicas an op works on, from its data and its tasks. */
export function opSubjects(op: Op): Endpoint[] {
  const fromData: Endpoint[] = op.data.kind === 'migrate' ? [op.data.src, op.data.des] : op.data.kind === 'replica' || op.data.kind === 'recoverTable' ? [op.data.endpoint] : [];
  return [...fromData, ...op.tasks.flatMap(taskSubjects)];
}

/** Whether a started task left the leader's followers other than metadata's alive ones. */
function divergesFromMetadata(task: Task, aliveInMetadata: (endpoint: Endpoint) => boolean): boolean {
  if (task.status === 'kInited') return false;
  if (task.kind === 'kAddReplica') return !aliveInMetadata(task.follower);
  if (task.kind === 'kDelReplica') return aliveInMetadata(task.follower);
  return false;
}

/**
 * Whether `op`, holding a partition, lets role assignment tell `endpoint`'s replica its role;
 * `aliveInMetadata` says which of the partition's replicas its metadata marks alive.
 */
export function leavesRoleTo(op: Op, endpoint: Endpoint, aliveInMetadata: (endpoint: Endpoint) => boolean): boolean {
  if (!FOLLOWER_OPS.has(op.type)) return false;
  if (op.tasks.some(touchesLeadership)) return false;
  if (op.tasks.some((t) => divergesFromMetadata(t, aliveInMetadata))) return false;
  return !opSubjects(op).includes(endpoint);
}
