/**
 * What the engine tracks about a running op besides the op itself (never persisted): whether its
 * creation is confirmed, when its current task began, whether a command is in flight, what it
 * waits for. The ZooKeeper write state of an op lives in the write tracker (writes.ts).
 */
import type { Tid } from '@tessera/common';

export interface OpRuntime {
  /** The op's creation is confirmed in ZooKeeper (or it was loaded from there): it may start. */
  created: boolean;
  /** Engine time the current task began; null until it does. */
  taskStartMs: number | null;
  /** Report sequence number when the current task began: later reports are fresh for it. */
  taskStartReportSeq: number;
  /** A command for the current task has been sent and not answered. */
  inFlight: boolean;
  lastSendMs: number;
  /** Earliest time to send (again) after a retryable failure. */
  retryAtMs: number;
  /** The tablet answered ok for the current task's command. */
  commandDone: boolean;
  /** The current task's metadata change waits for this table's write. */
  applyWaitTid: Tid | null;
  /** The current task created this child op and waits for its creation to be confirmed. */
  spawnWaitOpId: number | null;
  /** The current task must first be re-checked against fresh reports (resumed or tablet restarted). */
  recheck: boolean;
  /** When the re-check began waiting for a report; null until the op is next driven. */
  recheckSinceMs: number | null;
  /** Since when the current check task has been stalled without a break (TaskSpec.stalled); null while it is not. */
  stalledSinceMs: number | null;
  /** The op reached a terminal status; its last write is pending. */
  finishing: boolean;
}

export function newRuntime(created: boolean): OpRuntime {
  return {
    created,
    taskStartMs: null,
    taskStartReportSeq: 0,
    inFlight: false,
    lastSendMs: 0,
    retryAtMs: 0,
    commandDone: false,
    applyWaitTid: null,
    spawnWaitOpId: null,
    recheck: false,
    recheckSinceMs: null,
    stalledSinceMs: null,
    finishing: false,
  };
}

/** Forgets everything about the current task (a new task begins, or a rollback starts). */
export function resetTaskRuntime(rt: OpRuntime): void {
  rt.taskStartMs = null;
  rt.inFlight = false;
  rt.lastSendMs = 0;
  rt.retryAtMs = 0;
  rt.commandDone = false;
  rt.applyWaitTid = null;
  rt.spawnWaitOpId = null;
  rt.recheck = false;
  rt.recheckSinceMs = null;
  rt.stalledSinceMs = null;
}
