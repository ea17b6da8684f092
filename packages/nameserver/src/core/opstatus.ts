/**
 * `showopstatus` as pure functions: ops → the API rows of @tessera/common (OpStatusRow) and →
 * the text cells of OpenMLDB's table `op_id op_type name pid status start_time execute_time
 * end_time cur_task`: times `%Y%m%d%H%M%S` in local time, execute_time `Ns` (now − start while
 * running), end_time `-` while running, cur_task the current task's name or `-` when the op is
 * finished or not started. Filtered by database, table and pid; ordered by op id.
 */
import type { OpStatusRow, ShowOpStatusRequest } from '@tessera/common';
import { currentTask, isTerminal, type Op } from './op.js';

export const OP_STATUS_COLUMNS = ['op_id', 'op_type', 'name', 'pid', 'status', 'start_time', 'execute_time', 'end_time', 'cur_task'] as const;

/** The ops matching the filter, as API rows, by op id. */
export function opStatusRows(ops: Iterable<Op>, filter: ShowOpStatusRequest = {}): OpStatusRow[] {
  const rows: OpStatusRow[] = [];
  for (const op of ops) {
    if (!matches(op, filter)) continue;
    const row: OpStatusRow = { opId: op.id, opType: op.type, db: op.db, name: op.name, pid: op.pid, status: op.status };
    if (op.status !== 'kInited' && op.startMs > 0) row.startMs = op.startMs;
    if (isTerminal(op.status) && op.endMs > 0) row.endMs = op.endMs;
    const task = currentTask(op);
    if (op.status === 'kDoing' && task !== undefined) row.curTask = task.kind;
    if (op.error !== undefined && op.error !== '') row.error = op.error;
    if (op.parentId !== null) row.parentId = op.parentId;
    rows.push(row);
  }
  return rows.sort((a, b) => a.opId - b.opId);
}

/** Whether the op works on the filter's database / table / pid (a bulk failover: on any partition it lists). */
function matches(op: Op, filter: ShowOpStatusRequest): boolean {
  const on = (db: string, name: string, pid: number): boolean =>
    (filter.db === undefined || db === filter.db) && (filter.name === undefined || name === filter.name) && (filter.pid === undefined || pid === filter.pid);
  if (op.data.kind === 'bulkFailover' && (filter.db !== undefined || filter.name !== undefined || filter.pid !== undefined)) return op.data.parts.some((p) => on(p.db, p.name, p.pid));
  return on(op.db, op.name, op.pid);
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/**
 * `%Y%m%d%H%M%S`. Local time by default; `utcOffsetMinutes` pins the zone (tests, or a shell that
 * knows the operator's zone better than the process does).
 */
export function formatOpTime(ms: number, utcOffsetMinutes?: number): string {
  if (utcOffsetMinutes === undefined) {
    const d = new Date(ms);
    return `${d.getFullYear()}${pad2(d.getMonth() + 1)}${pad2(d.getDate())}${pad2(d.getHours())}${pad2(d.getMinutes())}${pad2(d.getSeconds())}`;
  }
  const d = new Date(ms + utcOffsetMinutes * 60_000);
  return `${d.getUTCFullYear()}${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}${pad2(d.getUTCSeconds())}`;
}

/** The nine text cells of one row, as OpenMLDB prints them. */
export function opStatusCells(row: OpStatusRow, nowMs: number, utcOffsetMinutes?: number): string[] {
  const start = row.startMs;
  const executeS = start === undefined ? undefined : Math.max(0, Math.floor(((row.endMs ?? nowMs) - start) / 1000));
  return [
    String(row.opId),
    row.opType,
    row.name === '' ? '-' : row.name,
    String(row.pid),
    row.status,
    start === undefined ? '-' : formatOpTime(start, utcOffsetMinutes),
    executeS === undefined ? '-' : `${executeS}s`,
    row.endMs === undefined ? '-' : formatOpTime(row.endMs, utcOffsetMinutes),
    row.curTask ?? '-',
  ];
}

/** Rows of text cells for the ops matching the filter: what ns_client prints under OP_STATUS_COLUMNS. */
export function opStatusTable(ops: Iterable<Op>, filter: ShowOpStatusRequest, nowMs: number, utcOffsetMinutes?: number): string[][] {
  return opStatusRows(ops, filter).map((row) => opStatusCells(row, nowMs, utcOffsetMinutes));
}
