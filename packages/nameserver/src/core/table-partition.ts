/**
 * settablepartition (OpenMLDB's SetTablePartition) as a pure function: checks a partition's
 * metadata edited by hand against the engine's view and returns the table to write, or a
 * refusal with a stable code; a refused command changes nothing. OpenMLDB overwrites the
 * partition with whatever the file says; Tessera keeps the edit to what metadata surgery is for
 * — the leader and alive flags, the in-sync set, and removing replicas — and refuses the rest:
 *   - a file of another table (its tid) or a pid outside the table
 *   - no replica, an endpoint twice, no leader, two alive leaders
 *   - an endpoint no tablet ever registered, or one that holds no replica of the partition
 *     (adding a replica is addreplica's job: metadata would name a copy that does not exist)
 *   - a term history other than the partition's (terms are written by elections only)
 *   - an in-sync entry that is not a replica of the partition (replicas the edit makes leader
 *     or marks not alive leave the in-sync set, as with updatetablealive)
 *   - an op running on the partition
 * What the tablets do afterwards follows from metadata being the truth: the partition
 * reconciler (repair.ts) brings an idle partition's tablets in line with it.
 */
import { LIMITS, type Endpoint, type ErrorCode, type PartitionMeta, type SetTablePartitionRequest, type TableInfo } from '@tessera/common';
import { findTable, knownEndpoint } from './admin.js';
import type { ReplyError } from './events.js';
import type { ObservedView } from './observed.js';
import { replicaOn, samePartition } from './partition.js';

export interface TablePartitionView {
  tables: Iterable<TableInfo>;
  observed: ObservedView;
  /** An op (admin-created or automatic) is running or waiting on the partition. */
  busy(tid: number, pid: number): boolean;
}

/** `table` is the table to write, or undefined when the file says what metadata already holds. */
export type TablePartitionPlan = { ok: true; table: TableInfo | undefined } | { ok: false; error: ReplyError };

const refuse = (code: ErrorCode, message: string): TablePartitionPlan => ({ ok: false, error: { code, message } });

/**
 * Only the fields metadata keeps, in a fixed order (the file may carry more, or reorder them).
 * Without an in-sync set the current one is kept, less the followers the edit leaves not alive.
 */
function normalized(p: SetTablePartitionRequest['partition'], current?: PartitionMeta): PartitionMeta {
  const replicas = p.replicas.map((r) => ({ endpoint: r.endpoint, isLeader: r.isLeader, isAlive: r.isAlive }));
  const aliveFollowers = new Set(replicas.filter((r) => !r.isLeader && r.isAlive).map((r) => r.endpoint));
  return {
    pid: p.pid,
    replicas,
    termOffsets: p.termOffsets.map((x) => ({ term: x.term, offset: x.offset })),
    inSync: p.inSync !== undefined ? [...p.inSync] : (current?.inSync ?? []).filter((e) => aliveFollowers.has(e)),
  };
}

function sameHistory(a: PartitionMeta['termOffsets'], b: PartitionMeta['termOffsets']): boolean {
  return a.length === b.length && a.every((x, i) => x.term === b[i]!.term && x.offset === b[i]!.offset);
}

/** Checks the edited partition and returns the table with it in place (or a refusal). */
export function planSetTablePartition(command: SetTablePartitionRequest, view: TablePartitionView): TablePartitionPlan {
  const table = findTable(view.tables, command.db, command.name);
  if (table === undefined) return refuse('TABLE_NOT_FOUND', 'table does not exist');
  if (command.tid !== undefined && command.tid !== null && command.tid !== table.tid) {
    return refuse('INVALID_ARGUMENT', `the partition file is of table tid[${command.tid}], table[${table.schema.name}] is tid[${table.tid}]`);
  }
  const current = table.partitions.find((p) => p.pid === command.partition.pid);
  if (current === undefined) return refuse('PARTITION_NOT_FOUND', `pid[${command.partition.pid}] does not exist in table[${table.schema.name}]`);
  const edited = normalized(command.partition, current);

  const replicas = edited.replicas;
  if (replicas.length === 0) return refuse('INVALID_ARGUMENT', 'has no replica');
  if (replicas.length > LIMITS.replicasMax) return refuse('LIMIT_EXCEEDED', `more than ${LIMITS.replicasMax} replicas`);
  const seen = new Set<Endpoint>();
  for (const r of replicas) {
    if (seen.has(r.endpoint)) return refuse('INVALID_ARGUMENT', `endpoint ${r.endpoint} appears twice`);
    seen.add(r.endpoint);
  }
  if (!replicas.some((r) => r.isLeader)) return refuse('INVALID_ARGUMENT', 'has no leader');
  const aliveLeaders = replicas.filter((r) => r.isLeader && r.isAlive).map((r) => r.endpoint);
  if (aliveLeaders.length > 1) return refuse('INVALID_ARGUMENT', `has more than one alive leader: ${aliveLeaders.join(', ')}`);
  for (const r of replicas) {
    if (!knownEndpoint(view, r.endpoint)) return refuse('TABLET_NOT_HEALTHY', `endpoint ${r.endpoint} does not exist`);
    if (replicaOn(current, r.endpoint) === undefined) {
      return refuse('PRECONDITION_FAILED', `endpoint ${r.endpoint} holds no replica of pid[${edited.pid}]: add one with addreplica`);
    }
  }
  if (!sameHistory(edited.termOffsets, current.termOffsets)) {
    return refuse('INVALID_ARGUMENT', 'term_offset differs from the partition\'s: the term history is written by elections only');
  }
  const stray = edited.inSync.find((e) => !seen.has(e));
  if (stray !== undefined) return refuse('INVALID_ARGUMENT', `in_sync ${stray} is not a replica of pid[${edited.pid}]`);
  if (new Set(edited.inSync).size !== edited.inSync.length) return refuse('INVALID_ARGUMENT', 'in_sync lists an endpoint twice');
  // The in-sync set holds alive followers only: a replica the edit makes leader, or marks not
  // alive (as updatetablealive does), leaves it.
  edited.inSync = edited.inSync.filter((e) => replicas.some((r) => r.endpoint === e && r.isAlive && !r.isLeader));

  if (samePartition(normalized(current), edited)) return { ok: true, table: undefined };
  if (view.busy(table.tid, edited.pid)) return refuse('OP_CONFLICT', `an op is running on the partition, try again when it is done. pid[${edited.pid}]`);
  return { ok: true, table: { ...table, partitions: table.partitions.map((p) => (p.pid === edited.pid ? edited : p)) } };
}
