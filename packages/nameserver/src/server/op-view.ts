/**
 * `showop <op_id>` and the details of `showopstatus --format=json`: the shell around
 * core/op-detail.ts. It reads what the cluster says about an op now — the partition's leader from
 * the metadata, that leader's status (asked afresh for showop, from the last poll otherwise),
 * which tablets are healthy, which ops run — and hands it to the core with its clock's now.
 * Samples are taken at every status poll and every showop, kept in memory per running op (a new
 * leader starts afresh: the rate needs two samples again).
 */
import type { Endpoint, OpDetail, ReplicaStatus } from '@tessera/common';
import { TesseraError } from '@tessera/common';
import type { Op } from '../core/op.js';
import { OpProgressBook, type OpFacts } from '../core/op-detail.js';
import type { Clock } from './clock.js';
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
  clock: Clock;
  concurrencyMax: number;
  syncDeltaEntriesMax: number;
}

export class OpView {
  private readonly book = new OpProgressBook();

  constructor(private readonly d: OpViewDeps) {
    d.poller.onPolled(() => this.sampleRunning());
  }

  /** One op's detail, with a fresh status of the partition's leader when the op runs. */
  async detail(opId: number): Promise<OpDetail> {
    const op = this.d.ops.core.op(opId);
    if (op === undefined) throw new TesseraError('INVALID_ARGUMENT', `op ${opId} does not exist`);
    let leaderStatus: ReplicaStatus | undefined;
    if (op.status === 'kDoing' || this.book.transferUnfinished(op.id)) {
      const leader = this.leaderOf(op);
      if (leader !== undefined && this.d.tablets.isHealthy(leader)) {
        leaderStatus = (await this.d.control.status(leader, LEADER_STATUS_TIMEOUT_MS, { tid: op.tid, pid: op.pid }).catch(() => []))[0];
      }
    }
    const detail = this.book.detail(op, this.facts(op, leaderStatus), this.d.clock.nowMs());
    detail.childIds = this.d.ops.core.ops().filter((o) => o.parentId === op.id).map((o) => o.id);
    return detail;
  }

  /** Details of every op in `ops` (from the last poll, no extra requests). */
  details(ops: readonly Op[]): OpDetail[] {
    const now = this.d.clock.nowMs();
    const out = ops.map((op) => this.book.detail(op, this.facts(op, op.status === 'kDoing' ? this.reportedLeaderStatus(op) : undefined), now));
    for (const d of out) d.childIds = ops.filter((o) => o.parentId === d.opId).map((o) => o.id);
    return out;
  }

  private facts(op: Op, leaderStatus: ReplicaStatus | undefined): OpFacts {
    return {
      running: this.d.ops.core.opSummaries().filter((o) => o.status === 'kDoing').map((o) => ({ id: o.id, tid: o.tid, pid: o.pid })),
      leader: this.leaderOf(op),
      leaderStatus,
      isHealthy: (ep) => this.d.tablets.isHealthy(ep),
      concurrencyMax: this.d.concurrencyMax,
      syncDeltaEntriesMax: this.d.syncDeltaEntriesMax,
    };
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
    const now = this.d.clock.nowMs();
    for (const s of this.d.ops.core.opSummaries()) {
      if (s.status !== 'kDoing') continue;
      live.add(s.id);
      // The op itself, not a copy (the detail made here is dropped; the book keeps only its samples).
      const op = this.d.ops.core.peekOp(s.id);
      if (op !== undefined) this.book.detail(op, this.facts(op, this.reportedLeaderStatus(op)), now);
    }
    this.book.keepOnly(live);
  }
}
