/**
 * The check every replica move ends with (issue 12): once the new replica caught up, a
 * kCheckChecksum task asks the partition's leader to compare the new replica's content checksum
 * with its own at the replica's offset (the tablet's compare_checksum). This module owns the
 * task's verdict: the answer is validated and stored in the op (`op.checksums`, one entry per
 * task, shown by showop), and an answer whose two checksums differ fails the task for good — the
 * op then undoes the move like any failure before its commit task. Where the task goes in each
 * move's plan is plan.ts's; the task spec is in tasks.ts. Pure, no I/O.
 */
import type { ChecksumCheck, ChecksumComparison, Endpoint, ReplicaChecksum } from '@tessera/common';
import type { Op, Task } from './op.js';

/** A tablet's answer to a task, as the engine takes it. */
export interface TaskOutcome {
  ok: boolean;
  error?: string;
  retryable?: boolean;
  /** The catalogue code of a refusal. */
  code?: string;
  /** Send again this soon instead of after the engine's resend interval (ms). */
  resendAfterMs?: number;
}

/**
 * A leader still comparing answers TIMEOUT after a few seconds (so that a long scan holds none of
 * the nameserver's connections) and keeps comparing: the question is asked again at once, and
 * joins the comparison under way, rather than after the resend interval (which added up to 10 s
 * to every move's end; the ETA shown at 25% of a 1,000,000-row migrate missed by 60 %).
 */
export const STILL_COMPARING_RESEND_MS = 0;

function replicaChecksum(v: unknown): ReplicaChecksum | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const r = v as Record<string, unknown>;
  if (typeof r.endpoint !== 'string' || !Number.isSafeInteger(r.rows) || typeof r.sha256 !== 'string') return undefined;
  return { endpoint: r.endpoint, rows: r.rows as number, sha256: r.sha256 };
}

/** The comparison in a tablet's answer, or undefined when it is not one. */
export function parseComparison(detail: unknown): ChecksumComparison | undefined {
  if (detail === null || typeof detail !== 'object') return undefined;
  const d = detail as Record<string, unknown>;
  const leader = replicaChecksum(d.leader);
  const replica = replicaChecksum(d.replica);
  if (!Number.isSafeInteger(d.offset) || leader === undefined || replica === undefined) return undefined;
  return { offset: d.offset as number, leader, replica };
}

/** Equal content: the same rows and the same checksum. */
export function sameContent(c: ChecksumComparison): boolean {
  return c.leader.rows === c.replica.rows && c.leader.sha256 === c.replica.sha256;
}

export function mismatchText(c: ChecksumComparison): string {
  const side = (r: ReplicaChecksum): string => `${r.endpoint} ${r.rows} rows sha256 ${r.sha256.slice(0, 12)}`;
  return `checksum mismatch at offset ${c.offset}: leader ${side(c.leader)}, new replica ${side(c.replica)}`;
}

/**
 * A task's answer with what the tablet sent: for kCheckChecksum the comparison is stored in the
 * op, and an answer that is ok becomes a failure (not retried) when the two differ or when it
 * carries no comparison. Other tasks' answers pass unchanged.
 */
export function checkTaskAnswer(op: Op, taskIndex: number, task: Task, answer: TaskOutcome & { detail?: unknown }): TaskOutcome {
  if (task.kind !== 'kCheckChecksum') return answer;
  if (!answer.ok) return answer.code === 'TIMEOUT' ? { ...answer, retryable: true, resendAfterMs: STILL_COMPARING_RESEND_MS } : answer;
  const c = parseComparison(answer.detail);
  if (c === undefined) return { ok: false, error: 'compare_checksum answered without a comparison', retryable: true };
  if (c.replica.endpoint !== task.replica) return { ok: false, error: `compare_checksum answered for ${c.replica.endpoint}, not ${task.replica}`, retryable: true };
  const check: ChecksumCheck = { ...c, match: sameContent(c), taskIndex };
  op.checksums = [...(op.checksums ?? []).filter((x) => x.taskIndex !== taskIndex), check];
  return check.match ? { ok: true } : { ok: false, error: mismatchText(c), retryable: false };
}

/** kCheckChecksum is done once the op holds an equal comparison from it (a resumed op does not compare again). */
export function checksumMatched(op: Op, replica: Endpoint): boolean {
  return (op.checksums ?? []).some((x) => x.match && x.replica.endpoint === replica);
}
