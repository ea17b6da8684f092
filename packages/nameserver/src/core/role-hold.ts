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
 * included) touches leadership, and the notice is for a replica the op does not work on (the
 * leader, or another follower). A leader's notice lists its followers, and metadata may not show
 * yet what the op has already told the leader: a kAddReplica started before its follower is marked
 * alive, a kDelReplica started before the follower's record is removed. Told from metadata alone,
 * the leader would lose the new follower (core-sim seeds 72 and 108: a migrate's kAddReplica) or
 * get back the one being removed; refusing the notice instead left the partition leaderless until
 * the task timed out (a loaded CI run's chaos seed 103: the leader's lease lapsed under a migrate's
 * kDelReplica, which then got NOT_LEADER for 60 s, and its undo the same). So the leader's notice
 * carries the followers as the op's started add/del steps left them (`followersAfterOp`), which is
 * what the leader would hold had it not lost its role; the in-sync set it is told is cut to them.
 */
import type { Endpoint } from '@tessera/common';
import type { TabletNotice } from './events.js';
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

/** Whether a task was ever sent: started, finished, or canceled after it started (one canceled before it started never ran). */
function sentToLeader(task: Task): boolean {
  return task.status === 'kCanceled' ? task.startMs !== undefined : task.status !== 'kInited';
}

/**
 * A leader's followers after `op`'s started kAddReplica / kDelReplica steps (undo steps included,
 * in the order they ran), starting from `followers` (metadata's alive ones).
 */
export function followersAfterOp(op: Op, followers: readonly Endpoint[]): Endpoint[] {
  const out = new Set(followers);
  for (const task of op.tasks) {
    if (!sentToLeader(task)) continue;
    if (task.kind === 'kAddReplica') out.add(task.follower);
    else if (task.kind === 'kDelReplica') out.delete(task.follower);
  }
  return [...out];
}

/** Whether `op`, holding a partition, lets role assignment tell `endpoint`'s replica its role. */
export function leavesRoleTo(op: Op, endpoint: Endpoint): boolean {
  if (!FOLLOWER_OPS.has(op.type)) return false;
  if (op.tasks.some(touchesLeadership)) return false;
  return !opSubjects(op).includes(endpoint);
}

type AssignRole = Extract<TabletNotice, { type: 'AssignRole' }>;

/**
 * The notice role assignment may send `endpoint` while `holders` (the unfinished ops holding its
 * partition) run: null when one of them keeps the partition, else `notice` with a leader's
 * followers as those ops left them.
 */
export function roleNoticeUnder(holders: readonly Op[], endpoint: Endpoint, notice: AssignRole): AssignRole | null {
  if (holders.some((op) => !leavesRoleTo(op, endpoint))) return null;
  if (notice.role !== 'leader' || holders.length === 0) return notice;
  const followers = holders.reduce<Endpoint[]>((f, op) => followersAfterOp(op, f), [...(notice.followers ?? [])]);
  return { ...notice, followers, inSync: (notice.inSync ?? []).filter((e) => followers.includes(e)) };
}
