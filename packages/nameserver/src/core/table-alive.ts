/**
 * updatetablealive (OpenMLDB's UpdateTableAliveStatus) as a pure function: flips the is_alive
 * flag of a table's replicas on one endpoint, for one pid or all, and nothing else. As in
 * OpenMLDB a leader marked not alive stays flagged leader (no election, no tablet command): the
 * partition has no alive leader until someone runs changeleader or marks it alive again; a former
 * leader (`leader no`) marked alive while another replica leads comes back as a follower. Tablets
 * keep replicating as before; the in-sync set keeps only alive followers (a follower marked alive
 * again rejoins it when the in-sync manager sees it caught up). Refusals carry OpenMLDB's texts.
 */
import type { Endpoint, Pid, TableInfo, UpdateTableAliveRequest } from '@tessera/common';
import { findTable, knownEndpoint } from './admin.js';
import type { ReplyError } from './events.js';
import type { ObservedView } from './observed.js';
import { aliveLeader, replicaOn, samePartition, withReplica } from './partition.js';

export interface TableAliveView {
  tables: Iterable<TableInfo>;
  observed: ObservedView;
  /** An op (admin-created or automatic) is running or waiting on the partition. */
  busy(tid: number, pid: Pid): boolean;
}

/** `table` is the table to write, or undefined when every flag already had the asked value. */
export type TableAlivePlan = { ok: true; table: TableInfo | undefined; pids: Pid[] } | { ok: false; error: ReplyError };

const refuse = (code: ReplyError['code'], message: string): TableAlivePlan => ({ ok: false, error: { code, message } });

/** Checks the command against the engine's view and returns the changed table (or a refusal). */
export function planTableAlive(command: UpdateTableAliveRequest, view: TableAliveView): TableAlivePlan {
  const endpoint: Endpoint = command.endpoint;
  if (!knownEndpoint(view, endpoint)) return refuse('TABLET_NOT_HEALTHY', 'endpoint does not exist');
  const table = findTable(view.tables, command.db, command.name);
  if (table === undefined) return refuse('TABLE_NOT_FOUND', 'table does not exist');
  const pid = command.pid;
  if (pid !== undefined && pid !== null && !(Number.isSafeInteger(pid) && pid >= 0 && pid < table.partitionNum)) {
    return refuse('PARTITION_NOT_FOUND', `no pid has update. pid[${String(pid)}] does not exist in table[${table.schema.name}]`);
  }
  const matched = table.partitions.filter((p) => (pid === undefined || pid === null || p.pid === pid) && replicaOn(p, endpoint) !== undefined);
  if (matched.length === 0) {
    const where = pid === undefined || pid === null ? `table[${table.schema.name}]` : `pid[${pid}] of table[${table.schema.name}]`;
    return refuse('PRECONDITION_FAILED', `no pid has update. endpoint[${endpoint}] holds no replica of ${where}`);
  }
  const busy = matched.find((p) => view.busy(table.tid, p.pid));
  if (busy !== undefined) return refuse('OP_CONFLICT', `an op is running on the partition, try again when it is done. pid[${busy.pid}]`);
  let changed = false;
  const partitions = table.partitions.map((p) => {
    if (!matched.includes(p)) return p;
    const replica = replicaOn(p, endpoint)!;
    const leader = aliveLeader(p);
    const isLeader = replica.isLeader && !(command.isAlive && leader !== undefined && leader !== endpoint);
    const next = withReplica(p, endpoint, { isLeader, isAlive: command.isAlive });
    if (!samePartition(p, next)) changed = true;
    return next;
  });
  return { ok: true, table: changed ? { ...table, partitions } : undefined, pids: matched.map((p) => p.pid) };
}
