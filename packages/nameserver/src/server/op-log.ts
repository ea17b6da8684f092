/**
 * The op log: one line on the leading nameserver for every op and task start, end and failure,
 * with the op id, type, table, pid, endpoints, duration and who issued it (`--reason`, the
 * client's address). Fed with op records as the shell sees them change (persisted copies and
 * the current task of running ops); remembers what it logged per op, so a state it sees twice is
 * logged once and one it missed in between (a task started and ended between two looks) is still
 * logged, with the times stamped in the record. Lines are JSON with an `op` object (pino).
 */
import type { Logger } from '@tessera/common';
import { isTerminal, type Op } from '../core/op.js';
import { endpointsOf } from '../core/op-detail.js';

/** Ops whose logged state is remembered (finished ones are forgotten first). */
const REMEMBERED_OPS_MAX = 10_000;

interface Seen {
  status: Op['status'];
  /** Per task: 0 nothing logged, 1 start logged, 2 end logged. */
  tasks: number[];
}

export type OpLogEvent = 'op.start' | 'op.end' | 'task.start' | 'task.end';

export class OpLog {
  private readonly seen = new Map<number, Seen>();

  constructor(private readonly log: Logger) {}

  /** Records `op` as already logged (ops a new leader loads: their past was logged by the old one). */
  remember(op: Op): void {
    this.seen.set(op.id, { status: op.status, tasks: op.tasks.map((t) => (isTerminal(t.status) ? 2 : t.status === 'kDoing' ? 1 : 0)) });
  }

  /** Logs what changed in `op` since it was last seen. */
  observe(op: Op): void {
    let s = this.seen.get(op.id);
    if (s === undefined) {
      s = { status: 'kInited', tasks: [] };
      this.seen.set(op.id, s);
      this.trim();
    }
    if (s.status === 'kInited' && op.status !== 'kInited' && op.startMs > 0) this.line('op.start', op);
    op.tasks.forEach((t, i) => {
      const logged = s.tasks[i] ?? 0;
      if (logged === 0 && t.status !== 'kInited' && t.startMs !== undefined) {
        this.line('task.start', op, i);
        s.tasks[i] = 1;
      }
      if ((s.tasks[i] ?? 0) < 2 && isTerminal(t.status) && t.startMs !== undefined) {
        this.line('task.end', op, i);
        s.tasks[i] = 2;
      }
    });
    if (!isTerminal(s.status) && isTerminal(op.status)) this.line('op.end', op);
    s.status = op.status;
  }

  private line(event: OpLogEvent, op: Op, taskIndex?: number): void {
    const fields: Record<string, unknown> = {
      event, id: op.id, type: op.type, db: op.db, table: op.name, tid: op.tid, pid: op.pid, endpoints: endpointsOf(op),
    };
    if (op.parentId !== null) fields.parentId = op.parentId;
    if (op.issuedBy?.reason !== undefined) fields.reason = op.issuedBy.reason;
    if (op.issuedBy?.client !== undefined) fields.client = op.issuedBy.client;
    let text = `op ${op.id} ${op.type} ${op.db}.${op.name} pid ${op.pid}`;
    let level: 'info' | 'warn' = 'info';
    if (taskIndex === undefined) {
      fields.status = op.status;
      if (event === 'op.end') {
        if (op.startMs > 0) fields.durationMs = op.endMs - op.startMs;
        if (op.error !== undefined) fields.error = op.error;
        if (op.status !== 'kDone') level = 'warn';
        text += ` ${op.status === 'kDone' ? 'done' : op.status === 'kFailed' ? 'failed' : 'canceled'}${fields.durationMs === undefined ? '' : ` in ${String(fields.durationMs)} ms`}${op.error === undefined ? '' : `: ${op.error}`}`;
      } else {
        text += ` started [${endpointsOf(op).join(', ')}]`;
        if (op.issuedBy !== undefined) text += ` by ${op.issuedBy.client ?? '?'}${op.issuedBy.reason === undefined ? '' : ` (${op.issuedBy.reason})`}`;
      }
    } else {
      const t = op.tasks[taskIndex]!;
      Object.assign(fields, { taskIndex, task: t.kind, taskStatus: t.status });
      if (t.undo === true) fields.undo = true;
      const ep = (t as unknown as { endpoint?: string }).endpoint;
      if (ep !== undefined) fields.taskEndpoint = ep;
      if (event === 'task.end') {
        if (t.startMs !== undefined && t.endMs !== undefined) fields.durationMs = t.endMs - t.startMs;
        if (t.error !== undefined) fields.error = t.error;
        if (t.status === 'kFailed') level = 'warn';
        text += ` task ${taskIndex} ${t.kind}${t.undo === true ? ' (undo)' : ''} ${t.status}${fields.durationMs === undefined ? '' : ` in ${String(fields.durationMs)} ms`}${t.error === undefined ? '' : `: ${t.error}`}`;
      } else {
        text += ` task ${taskIndex} ${t.kind}${t.undo === true ? ' (undo)' : ''} started${ep === undefined ? '' : ` on ${ep}`}`;
      }
    }
    this.log[level](text, { op: fields });
  }

  private trim(): void {
    if (this.seen.size <= REMEMBERED_OPS_MAX) return;
    for (const [id, s] of this.seen) {
      if (isTerminal(s.status)) this.seen.delete(id);
      if (this.seen.size <= REMEMBERED_OPS_MAX / 2) break;
    }
  }
}
