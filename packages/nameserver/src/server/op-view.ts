/**
 * `showop <op_id>` and the details of `showopstatus --format=json`: an op record plus what the
 * cluster says about it now — the leader's report of the snapshot copy to the destination
 * (rows/bytes sent of the total, throttled or not), the destination's lag, the rate over recent
 * samples, the ETA and why it waits (core/op-progress.ts does the arithmetic). Samples are taken
 * at every status poll and every showop, kept in memory per running op (a new leader starts
 * afresh: the rate needs two samples again).
 */
import type { Endpoint, OpDetail, OpTaskDetail, OpTransferDetail, ReplicaStatus, SnapshotTransferReport } from '@tessera/common';
import { TesseraError } from '@tessera/common';
import { isTerminal, type Op, type Task } from '../core/op.js';
import { addSample, averageRates, blockedBecause, etaMs, ratesOf, type ProgressSample } from '../core/op-progress.js';
import { opStatusRows } from '../core/opstatus.js';
import { specOf } from '../core/tasks.js';
import type { OpShell } from './op-shell.js';
import type { StatusPoller } from './status-poller.js';
import type { TabletControl } from './tablet-client.js';
import type { TabletTracker } from './tablets.js';

/** A fresh status of the leader is asked for with this limit (a slow tablet must not hang showop). */
const LEADER_STATUS_TIMEOUT_MS = 1000;

export interface OpViewDeps {
  ops: OpShell;
  poller: StatusPoller;
  control: TabletControl;
  tablets: TabletTracker;
  concurrencyMax: number;
  syncDeltaEntriesMax: number;
}

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
function taskEndpointOf(task: Task, op: Op): Endpoint | null {
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

export class OpView {
  private readonly samples = new Map<number, ProgressSample[]>();
  /** The last transfer seen per op (kept after the leader forgets it). */
  private readonly transfers = new Map<number, OpTransferDetail>();

  constructor(private readonly d: OpViewDeps) {
    d.poller.onPolled(() => this.sampleRunning());
  }

  /** One op's detail, with a fresh status of the partition's leader when the op runs. */
  async detail(opId: number): Promise<OpDetail> {
    const op = this.d.ops.core.op(opId);
    if (op === undefined) throw new TesseraError('INVALID_ARGUMENT', `op ${opId} does not exist`);
    let leaderStatus: ReplicaStatus | undefined;
    if (op.status === 'kDoing') {
      const leader = this.leaderOf(op);
      if (leader !== undefined && this.d.tablets.isHealthy(leader)) {
        leaderStatus = (await this.d.control.status(leader, LEADER_STATUS_TIMEOUT_MS, { tid: op.tid, pid: op.pid }).catch(() => []))[0];
      }
    }
    const detail = this.build(op, leaderStatus, Date.now());
    detail.childIds = this.d.ops.core.ops().filter((o) => o.parentId === op.id).map((o) => o.id);
    return detail;
  }

  /** Details of every op in `ops` (from the last poll, no extra requests). */
  details(ops: readonly Op[]): OpDetail[] {
    const now = Date.now();
    const out = ops.map((op) => this.build(op, op.status === 'kDoing' ? this.reportedLeaderStatus(op) : undefined, now));
    for (const d of out) d.childIds = ops.filter((o) => o.parentId === d.opId).map((o) => o.id);
    return out;
  }

  private leaderOf(op: Op): Endpoint | undefined {
    const p = this.d.ops.table(op.tid)?.partitions.find((x) => x.pid === op.pid);
    return p?.replicas.find((r) => r.isLeader && r.isAlive)?.endpoint;
  }

  private reportedLeaderStatus(op: Op): ReplicaStatus | undefined {
    const leader = this.leaderOf(op);
    return leader === undefined ? undefined : this.d.poller.replica(leader, op.tid, op.pid);
  }

  private sampleRunning(): void {
    const live = new Set<number>();
    for (const s of this.d.ops.core.opSummaries()) {
      if (s.status !== 'kDoing') continue;
      live.add(s.id);
      const op = this.d.ops.core.op(s.id);
      if (op !== undefined) this.build(op, this.reportedLeaderStatus(op), Date.now());
    }
    for (const id of [...this.samples.keys()]) if (!live.has(id)) this.samples.delete(id);
  }

  private build(op: Op, leaderStatus: ReplicaStatus | undefined, nowMs: number): OpDetail {
    const row = opStatusRows([op])[0]!;
    const des = destinationOf(op);
    const all = this.d.ops.core.opSummaries();
    const detail: OpDetail = {
      ...row, tid: op.tid, pid: op.pid, createdMs: op.createdMs,
      childIds: [], endpoints: endpointsOf(op), tasks: taskDetails(op),
      tasksDone: op.progress.tasksDone, tasksTotal: op.progress.tasksTotal,
    };
    if (op.parentId !== null) detail.parentId = op.parentId;
    if (op.issuedBy !== undefined) detail.issuedBy = op.issuedBy;
    const follower = des === undefined ? undefined : leaderStatus?.replication?.followers.find((f) => f.endpoint === des);
    let throttled = false;
    const src = leaderStatus === undefined ? undefined : this.leaderOf(op);
    if (follower?.snapshot !== undefined && src !== undefined && des !== undefined && follower.snapshot.startedMs >= (op.startMs || 0) - 1000) {
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
      const eta = etaMs(transfer, transfer?.done === true ? live : rates, lag, this.d.syncDeltaEntriesMax);
      if (eta !== undefined) detail.etaMs = eta;
    }
    const task = op.tasks[op.taskIndex];
    const taskEp = task === undefined ? null : taskEndpointOf(task, op);
    const blocked = blockedBecause(op, {
      running: all.filter((o) => o.status === 'kDoing').map((o) => ({ id: o.id, tid: o.tid, pid: o.pid })),
      concurrencyMax: this.d.concurrencyMax,
      ...(taskEp === null ? {} : { taskEndpoint: { endpoint: taskEp, healthy: this.d.tablets.isHealthy(taskEp) } }),
      throttled,
      waitingForInSync: false,
    });
    if (blocked !== undefined) {
      detail.blockedBecause = blocked.because;
      detail.blockedDetail = blocked.detail;
    }
    if (isTerminal(op.status)) {
      this.samples.delete(op.id);
    }
    return detail;
  }
}

function transferOf(s: SnapshotTransferReport, src: Endpoint, des: Endpoint): OpTransferDetail {
  const t: OpTransferDetail = {
    des, src, rowsCopied: s.rowsSent, rowsTotal: s.rowsTotal, bytesCopied: s.bytesSent, bytesTotal: s.bytesTotal,
    done: s.endedMs !== undefined, startMs: s.startedMs,
  };
  if (s.endedMs !== undefined) t.endMs = s.endedMs;
  return t;
}
