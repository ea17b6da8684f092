/**
 * What `showop <op_id>` and `showopstatus --format=json` return for one op, beyond OpenMLDB's
 * `showopstatus` columns: parent and children, every task with its start, end and result, the
 * snapshot copy (rows and bytes of the total), the destination's lag, the rate, the ETA, and why
 * the op waits when it does. Built by the nameserver from the op record and the tablets' reports
 * (nameserver/src/core/op-detail.ts, fed by server/op-view.ts); the arithmetic is nameserver/src/core/op-progress.ts.
 */
import type { Endpoint, Pid, Tid } from './meta.js';
import type { OpStatusRow } from './ns-api.js';

export interface OpTaskDetail {
  index: number;
  /** OpenMLDB's task type (kSendSnapshot, kAddReplica, ...). */
  kind: string;
  status: string;
  /** An undo step, appended when the op failed or was canceled. */
  undo?: boolean;
  /** The tablet the task commands, when it commands one. */
  endpoint?: Endpoint;
  startMs?: number;
  endMs?: number;
  error?: string;
}

/** The snapshot copy to the destination (from the leader's report). */
export interface OpTransferDetail {
  /** Replica being built. */
  des: Endpoint;
  /** The tablet sending (the partition's leader). */
  src: Endpoint;
  rowsCopied: number;
  rowsTotal: number;
  bytesCopied: number;
  /** Estimated from the bytes per row sent so far; exact once the copy is done. */
  bytesTotal: number;
  done: boolean;
  startMs: number;
  endMs?: number;
}

/** Why an op that is not done does not move now. */
export type BlockedBecause =
  | 'throttle'
  | 'concurrency limit'
  | 'partition busy'
  | 'tablet down'
  | 'waiting for the in-sync set';

export interface OpDetail extends OpStatusRow {
  tid: Tid;
  pid: Pid;
  createdMs: number;
  /** parentId (from OpStatusRow): the op that made this one, absent when none. */
  childIds: number[];
  /** The endpoints the op works on (src, des, the replica's tablet). */
  endpoints: Endpoint[];
  tasks: OpTaskDetail[];
  tasksDone: number;
  tasksTotal: number;
  transfer?: OpTransferDetail;
  /** Entries the destination is behind its leader (while it catches up or is being built). */
  lagEntries?: number;
  /** Copy rate over the last seconds (or the whole copy once done). */
  rowsPerSec?: number;
  bytesPerSec?: number;
  /** Estimated ms until the copy and catch-up are done; absent when unknown. */
  etaMs?: number;
  blockedBecause?: BlockedBecause;
  /** Detail of blockedBecause (which tablet, which op). */
  blockedDetail?: string;
  /** Who asked for it: the `--reason` text and the client's address. */
  issuedBy?: OpIssuer;
  /** After a move: the new replica's checksum against its leader's at one offset (a mismatch fails the op). */
  checksums?: ChecksumCheck[];
}

/** One replica's content checksum at a binlog offset. */
export interface ReplicaChecksum {
  endpoint: Endpoint;
  rows: number;
  sha256: string;
}

/** A leader's `compare_checksum` answer: a new replica's checksum and its own at one binlog offset. */
export interface ChecksumComparison {
  offset: number;
  leader: ReplicaChecksum;
  replica: ReplicaChecksum;
}

/** A move's verification as the op stores it (`showop`'s `checksums`): equal or not, and which task took it. */
export interface ChecksumCheck extends ChecksumComparison {
  match: boolean;
  taskIndex: number;
}

export interface OpIssuer {
  reason?: string;
  /** The admin client's address (ip:port). */
  client?: string;
}

export interface ShowOpRequest {
  opId: number;
}
export interface ShowOpResponse {
  op: OpDetail;
}
