/**
 * Every knob of the nameserver core, named with its unit, with OpenMLDB's default where OpenMLDB
 * has one (openmldb.md §10). The server shell builds one from flags; tests shrink the timeouts.
 */
import type { TaskKind } from './op.js';

export interface EngineConfig {
  /** Ops running at once (OpenMLDB `--name_server_task_concurrency`). */
  taskConcurrency: number;
  /** CheckBinlogSyncProgress passes when leader offset − follower offset ≤ this (`check_binlog_sync_progress_delta`). */
  syncDeltaEntriesMax: number;
  /** A tablet command without an answer after this long is sent again (commands are idempotent). */
  taskResendIntervalMs: number;
  /** A failed ZooKeeper write is retried after this long. */
  persistRetryIntervalMs: number;
  /** A task whose tablet has been down this long fails (an undo step waits until its own timeout, then is skipped). */
  tabletDownTaskGraceMs: number;
  /**
   * A step that needs fresh tablet reports waits this long for them: a resumed op before it
   * re-checks (else it re-sends blindly), SelectLeader before it compares follower offsets.
   */
  reportWaitMs: number;
  /** Finished ops kept in memory for showopstatus (`max_op_num`). */
  doneOpsMax: number;
  /** After a repair op on a partition ends, the reconciler leaves it alone this long. */
  repairBackoffMs: number;
  /** How long the candidate may take to catch up with a fenced leader (writes are refused meanwhile). */
  catchUpTimeoutMs: number;
  /**
   * A wait that nothing can end stops waiting after this long: a CheckBinlogSyncProgress whose
   * follower is not a serving follower, whose leader is not a serving leader (or not fenced, in a
   * hand-over) or does not replicate to it (a tablet restarted under the op and lost what earlier
   * tasks set up; the reconciler and role assignment leave a busy partition alone). The task
   * fails and the op undoes, so the level-triggered recovery can start a fresh op.
   */
  syncStallTimeoutMs: number;
  /** Moves (ops that copy a replica) running at once that copy from or to one tablet (`confset max_moves_per_tablet`). */
  maxMovesPerTablet: number;
  /** Moves running at once in the cluster (`confset max_moves_per_cluster`). */
  maxMovesPerCluster: number;
  /** Per task kind: the task fails (or, for an undo step, is skipped) after this long. */
  taskTimeoutMs: Record<TaskKind, number>;
  /** A tablet gone this long is failed over (`--tablet_heartbeat_timeout`). */
  tabletHeartbeatTimeoutMs: number;
  /** Least time between two offlineendpoint (recoverendpoint) plans for one tablet that still needs one. */
  failoverRetryMs: number;
  /** Least time between two role assignments to one tablet that still reports unassigned replicas. */
  roleAssignRetryMs: number;
  /** In-sync rule: a follower further behind leaves the set (`--in_sync_lag_entries`). */
  inSyncLagEntriesMax: number;
  /** In-sync rule: a follower behind and silent this long leaves the set (`--in_sync_silent_ms`). */
  inSyncSilentMsMax: number;
}

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;

export const DEFAULT_TASK_TIMEOUT_MS: Readonly<Record<TaskKind, number>> = {
  kMakeSnapshot: 60 * MINUTE_MS,
  kPauseSnapshot: MINUTE_MS,
  kRecoverSnapshot: MINUTE_MS,
  kSendSnapshot: 120 * MINUTE_MS,
  kLoadTable: 60 * MINUTE_MS,
  kAddReplica: MINUTE_MS,
  kAddTableInfo: MINUTE_MS,
  kDelReplica: MINUTE_MS,
  kDelTableInfo: MINUTE_MS,
  kChangeLeader: MINUTE_MS,
  kUpdatePartitionStatus: MINUTE_MS,
  kDropTable: 5 * MINUTE_MS,
  kUpdateTableInfo: MINUTE_MS,
  kSelectLeader: MINUTE_MS,
  kUpdateLeaderInfo: MINUTE_MS,
  kRecoverTable: MINUTE_MS,
  kCheckBinlogSyncProgress: 30 * MINUTE_MS,
  kFenceLeader: MINUTE_MS,
  kDemoteLeader: MINUTE_MS,
  kChangeRole: MINUTE_MS,
  kRestoreLeader: MINUTE_MS,
  kCheckChecksum: 30 * MINUTE_MS,
};

export const DEFAULT_ENGINE_CONFIG: Readonly<EngineConfig> = {
  taskConcurrency: 2,
  syncDeltaEntriesMax: 100_000,
  taskResendIntervalMs: 10 * SECOND_MS,
  persistRetryIntervalMs: SECOND_MS,
  tabletDownTaskGraceMs: MINUTE_MS,
  reportWaitMs: 10 * SECOND_MS,
  doneOpsMax: 10_000,
  catchUpTimeoutMs: MINUTE_MS,
  repairBackoffMs: 30 * SECOND_MS,
  syncStallTimeoutMs: 20 * SECOND_MS,
  maxMovesPerTablet: 2,
  maxMovesPerCluster: 4,
  taskTimeoutMs: { ...DEFAULT_TASK_TIMEOUT_MS },
  tabletHeartbeatTimeoutMs: MINUTE_MS,
  failoverRetryMs: 2 * SECOND_MS,
  roleAssignRetryMs: 2 * SECOND_MS,
  inSyncLagEntriesMax: 100_000,
  inSyncSilentMsMax: 5 * SECOND_MS,
};

/** Upper bound of `taskConcurrency` (`name_server_task_max_concurrency`). */
export const TASK_CONCURRENCY_MAX = 8;

/** Upper bound of the move limits `confset` accepts. */
export const MOVES_LIMIT_MAX = 64;

/** The defaults with `overrides` applied; checks that every number is usable. */
export function engineConfig(overrides: Partial<Omit<EngineConfig, 'taskTimeoutMs'>> & { taskTimeoutMs?: Partial<Record<TaskKind, number>> } = {}): EngineConfig {
  const config: EngineConfig = {
    ...DEFAULT_ENGINE_CONFIG,
    ...overrides,
    taskTimeoutMs: { ...DEFAULT_TASK_TIMEOUT_MS, ...overrides.taskTimeoutMs },
  };
  if (!Number.isSafeInteger(config.taskConcurrency) || config.taskConcurrency < 1 || config.taskConcurrency > TASK_CONCURRENCY_MAX) {
    throw new RangeError(`taskConcurrency must be 1..${TASK_CONCURRENCY_MAX}`);
  }
  for (const name of ['maxMovesPerTablet', 'maxMovesPerCluster'] as const) {
    const v = config[name];
    if (!Number.isSafeInteger(v) || v < 1 || v > MOVES_LIMIT_MAX) throw new RangeError(`${name} must be 1..${MOVES_LIMIT_MAX}`);
  }
  for (const [name, value] of Object.entries(config)) {
    if (typeof value === 'number' && (!Number.isFinite(value) || value < 0)) throw new RangeError(`${name} must be a non-negative number`);
  }
  for (const [kind, value] of Object.entries(config.taskTimeoutMs)) {
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`taskTimeoutMs.${kind} must be positive`);
  }
  return config;
}
