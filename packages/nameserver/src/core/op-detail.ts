/**
 * What `showop <op_id>` and `showopstatus --format=json` say about one op: its record, its tasks,
 * the snapshot copy its partition's leader reported, the destination's lag, the rate over recent
 * samples, the ETA and why it waits. Pure: the shell (server/op-view.ts) passes the cluster facts
 * it read and its clock's now; `OpProgressBook` keeps the samples (and the last copy seen) per op
 * between calls, so a rate needs two calls at two times. The arithmetic is op-progress.ts.
 */
import type { Endpoint, OpDetail, OpTaskDetail, OpTransferDetail, ReplicaStatus, SnapshotTransferReport } from '@tessera/common';
import { isTerminal, type Op, type Task } from './op.js';
import { addSample, averageRates, blockedBecause, etaMs, ratesOf, type ProgressSample } from './op-progress.js';
import { opStatusRows } from './opstatus.js';
import { specOf } from './tasks.js';

/** A copy reported as started this long before the op started still counts as the op's copy (clock skew). */
const TRANSFER_START_SLACK_MS = 1000;

/** The replica being built by the op, if it builds one. */
export function destinationOf(op: Op): Endpoint | undefined {
  if (op.data.kind === 'migrate') return op.data.des;
  const add = op.tasks.find((t) => t.kind === 'kAddReplica' && t.undo !== true) as Extract<Task, { kind: 'kAddReplica' }> | undefined;
  if (add !== undefined) return add.follower;
  if (op.data.kind === 'replica') return op.data.endpoint;
  return undefined;
}

/** Every endpoint the op names (data and tasks), in first-seen order. */
export function endpointsOf(op: Op): Endpoint[] {
  const out: Endpoint[] = [];
  const add = (e: unknown): void => {
    if (typeof e === 'string' && e !== '' && !out.includes(e)) out.push(e);
  };
  const d = op.data as unknown as Record<string, unknown>;
  add(d.src);
  add(d.des);
  add(d.endpoint);
  for (const t of op.tasks) {
    const r = t as unknown as Record<string, unknown>;
    add(r.endpoint);
    add(r.des);
    add(r.follower);
  }
  return out;
}

/** The tablet a task commands, or null (also when it depends on a choice not made yet: a leader to select). */
export function taskEndpointOf(task: Task, op: Op): Endpoint | null {
  try {
    return specOf(task).endpoint(task, op);
  } catch {
    return null;
  }
}

export function taskDetails(op: Op): OpTaskDetail[] {
  return op.tasks.map((t, index) => {
    const d: OpTaskDetail = { index, kind: t.kind, status: t.status };
    if (t.undo === true) d.undo = true;
    const ep = taskEndpointOf(t, op);
    if (ep !== null) d.endpoint = ep;
    if (t.startMs !== undefined) d.startMs = t.startMs;
    if (t.endMs !== undefined) d.endMs = t.endMs;
    if (t.error !== undefined) d.error = t.error;
    return d;
  });
}

/** What the shell read about the cluster for one op's detail. */
export interface OpFacts {
  /** Ops running now (kDoing). */
  running: ReadonlyArray<{ id: number; tid: number; pid: number }>;
  /** The partition's alive leader in the metadata, if any. */
  leader: Endpoint | undefined;
  /** That leader's status of the partition (fresh, or from the last poll), if known. */
  leaderStatus: ReplicaStatus | undefined;
  isHealthy(endpoint: Endpoint): boolean;
  /** Ops running at once at most (`--name_server_task_concurrency`). */
  concurrencyMax: number;
  /** A destination this close to its leader holds everything (`check_binlog_sync_progress_delta`). */
  syncDeltaEntriesMax: number;
}

function transferOf(s: SnapshotTransferReport, src: Endpoint, des: Endpoint): OpTransferDetail {
  const t: OpTransferDetail = {
    des, src, rowsCopied: s.rowsSent, rowsTotal: s.rowsTotal, bytesCopied: s.bytesSent, bytesTotal: s.bytesTotal,
    done: s.endedMs !== undefined, startMs: s.startedMs,
  };
  if (s.endedMs !== undefined) t.endMs = s.endedMs;
  return t;
}

/** The progress samples and the last copy seen, per op, between details. */
export class OpProgressBook {
  private readonly samples = new Map<number, ProgressSample[]>();
  /** The last transfer seen per op (kept after the leader forgets it). */
  private readonly transfers = new Map<number, OpTransferDetail>();

  /**
   * Whether the op's copy was last seen under way: an op that finished right after its copy (the
   * check a snapshot-built replica needs takes no scan) was last sampled before the copy's end
   * reached a report, and its leader is asked once more.
   */
  transferUnfinished(opId: number): boolean {
    const t = this.transfers.get(opId);
    return t !== undefined && !t.done;
  }

  /** Forgets the samples of every op not in `live` (finished or gone). */
  keepOnly(live: ReadonlySet<number>): void {
    for (const id of [...this.samples.keys()]) if (!live.has(id)) this.samples.delete(id);
  }

  /** One op's detail at `nowMs`; a running op's progress is sampled (childIds left empty for the caller). */
  detail(op: Op, f: OpFacts, nowMs: number): OpDetail {
    const row = opStatusRows([op])[0]!;
    const des = destinationOf(op);
    const detail: OpDetail = {
      ...row, tid: op.tid, pid: op.pid, createdMs: op.createdMs,
      childIds: [], endpoints: endpointsOf(op), tasks: taskDetails(op),
      tasksDone: op.progress.tasksDone, tasksTotal: op.progress.tasksTotal,
    };
    if (op.parentId !== null) detail.parentId = op.parentId;
    if (op.issuedBy !== undefined) detail.issuedBy = op.issuedBy;
    if (op.checksums !== undefined) detail.checksums = op.checksums;
    const leaderStatus = f.leaderStatus;
    const follower = des === undefined ? undefined : leaderStatus?.replication?.followers.find((x) => x.endpoint === des);
    let throttled = false;
    const src = leaderStatus === undefined ? undefined : f.leader;
    if (follower?.snapshot !== undefined && src !== undefined && des !== undefined && follower.snapshot.startedMs >= (op.startMs || 0) - TRANSFER_START_SLACK_MS) {
      this.transfers.set(op.id, transferOf(follower.snapshot, src, des));
      throttled = follower.snapshot.throttled && follower.snapshot.endedMs === undefined;
    }
    const transfer = this.transfers.get(op.id);
    if (transfer !== undefined) detail.transfer = transfer;
    let lag = op.progress.lagEntries;
    if (lag === undefined && follower !== undefined && leaderStatus?.replication !== undefined && follower.ackedOffset >= 0) {
      lag = Math.max(0, leaderStatus.replication.offset - follower.ackedOffset);
    }
    if (lag !== undefined && !isTerminal(op.status)) detail.lagEntries = lag;
    if (op.status === 'kDoing') {
      const samples = this.samples.get(op.id) ?? [];
      this.samples.set(op.id, samples);
      addSample(samples, { atMs: nowMs, rowsCopied: transfer?.rowsCopied ?? 0, bytesCopied: transfer?.bytesCopied ?? 0, ...(lag === undefined ? {} : { lagEntries: lag }) });
    }
    const rates = transfer?.done === true ? averageRates(transfer) : ratesOf(this.samples.get(op.id) ?? []);
    if (rates !== undefined) {
      detail.rowsPerSec = Math.round(rates.rowsPerSec);
      detail.bytesPerSec = Math.round(rates.bytesPerSec);
    }
    if (op.status === 'kDoing') {
      const live = ratesOf(this.samples.get(op.id) ?? []);
      const eta = etaMs(transfer, transfer?.done === true ? live : rates, lag, f.syncDeltaEntriesMax);
      if (eta !== undefined) detail.etaMs = eta;
    }
    const task = op.tasks[op.taskIndex];
    const taskEp = task === undefined ? null : taskEndpointOf(task, op);
    const blocked = blockedBecause(op, {
      running: f.running,
      concurrencyMax: f.concurrencyMax,
      ...(taskEp === null ? {} : { taskEndpoint: { endpoint: taskEp, healthy: f.isHealthy(taskEp) } }),
      throttled,
      waitingForInSync: false,
    });
    if (blocked !== undefined) {
      detail.blockedBecause = blocked.because;
      detail.blockedDetail = blocked.detail;
    }
    if (isTerminal(op.status)) this.samples.delete(op.id);
    return detail;
  }
}
