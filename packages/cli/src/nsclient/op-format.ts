/**
 * Text of `showop` and of `showopstatus --wait`: durations, rates, the progress bar and the
 * lines of one op's detail (OpDetail from the nameserver). Pure functions of their inputs.
 */
import type { OpDetail } from '@tessera/common';
import { formatBytes, formatLocalTime } from './table-format.js';

/** Characters of the progress bar between its brackets. */
export const BAR_WIDTH = 30;

/** `850ms`, `12.3s`, `4m05s`, `2h03m`. */
export function formatDurationMs(ms: number): string {
  const v = Math.max(0, Math.round(ms));
  if (v < 1000) return `${v}ms`;
  if (v < 60_000) return `${(v / 1000).toFixed(1)}s`;
  const s = Math.round(v / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** `[#########.....................]  30.0%` for a fraction (clamped to 0..1). */
export function progressBar(fraction: number, width = BAR_WIDTH): string {
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(f * 100).toFixed(1).padStart(5)}%`;
}

/**
 * How far the op is: the copied bytes of the total while a copy is known, else the tasks done of
 * the total; 1 when it is finished.
 */
export function opFraction(d: Pick<OpDetail, 'status' | 'transfer' | 'tasksDone' | 'tasksTotal'>): number {
  if (d.status === 'kDone') return 1;
  if (d.transfer !== undefined && d.transfer.bytesTotal > 0 && !d.transfer.done) return d.transfer.bytesCopied / d.transfer.bytesTotal;
  return d.tasksTotal > 0 ? d.tasksDone / d.tasksTotal : 0;
}

/** One line for `showopstatus --wait`: id, type, bar, copy, rate, lag, ETA, what it waits for. */
export function progressLine(d: OpDetail): string {
  const parts = [`op ${d.opId} ${d.opType} ${d.name === '' ? '-' : d.name} pid ${d.pid} ${d.status}`, progressBar(opFraction(d))];
  if (d.transfer !== undefined) parts.push(`${d.transfer.rowsCopied}/${d.transfer.rowsTotal} rows ${formatBytes(d.transfer.bytesCopied)}/${formatBytes(d.transfer.bytesTotal)}`);
  if (d.bytesPerSec !== undefined && d.status === 'kDoing') parts.push(`${formatBytes(d.bytesPerSec)}/s`);
  if (d.lagEntries !== undefined) parts.push(`lag ${d.lagEntries}`);
  if (d.etaMs !== undefined) parts.push(`eta ${formatDurationMs(d.etaMs)}`);
  if (d.curTask !== undefined) parts.push(d.curTask);
  if (d.blockedBecause !== undefined) parts.push(`blocked_because=${d.blockedBecause}`);
  return parts.join('  ');
}

const timeOr = (ms: number | undefined): string => (ms === undefined ? '-' : formatLocalTime(ms));

/** `showop <op_id>`: the op's fields, then its tasks one per line. */
export function opDetailText(d: OpDetail, nowMs: number): string {
  const lines: string[] = [];
  const kv = (k: string, v: string): void => {
    lines.push(`${k.padEnd(16)}${v}`);
  };
  kv('op_id', String(d.opId));
  kv('op_type', d.opType);
  kv('table', `${d.db}.${d.name === '' ? '-' : d.name} (tid ${d.tid})`);
  kv('pid', String(d.pid));
  kv('status', d.status);
  kv('endpoints', d.endpoints.join(', ') || '-');
  kv('parent', d.parentId === undefined ? '-' : String(d.parentId));
  kv('children', d.childIds.length === 0 ? '-' : d.childIds.join(', '));
  kv('start_time', timeOr(d.startMs));
  kv('end_time', timeOr(d.endMs));
  if (d.startMs !== undefined) kv('execute_time', formatDurationMs((d.endMs ?? nowMs) - d.startMs));
  kv('progress', `${progressBar(opFraction(d))} (${d.tasksDone}/${d.tasksTotal} tasks)`);
  if (d.transfer !== undefined) {
    const t = d.transfer;
    kv('copied_rows', `${t.rowsCopied} of ${t.rowsTotal}`);
    kv('copied_bytes', `${formatBytes(t.bytesCopied)} of ${formatBytes(t.bytesTotal)}${t.done ? '' : ' (estimated)'}`);
    kv('copy', `${t.src} -> ${t.des}${t.done && t.endMs !== undefined ? `, done in ${formatDurationMs(t.endMs - t.startMs)}` : ''}`);
  }
  if (d.rowsPerSec !== undefined) kv('rate', `${d.rowsPerSec} rows/s, ${formatBytes(d.bytesPerSec ?? 0)}/s`);
  if (d.lagEntries !== undefined) kv('lag', `${d.lagEntries} entries`);
  if (d.etaMs !== undefined) kv('eta', formatDurationMs(d.etaMs));
  if (d.blockedBecause !== undefined) kv('blocked_because', `${d.blockedBecause}${d.blockedDetail === undefined ? '' : ` (${d.blockedDetail})`}`);
  if (d.issuedBy !== undefined) kv('issued_by', `${d.issuedBy.client ?? '-'}${d.issuedBy.reason === undefined ? '' : ` reason: ${d.issuedBy.reason}`}`);
  for (const c of d.checksums ?? []) {
    const side = (r: { endpoint: string; rows: number; sha256: string }): string => `${r.endpoint} ${r.rows} rows ${r.sha256.slice(0, 16)}`;
    kv('checksum', `${c.match ? 'equal' : 'MISMATCH'} at offset ${c.offset}: leader ${side(c.leader)}, new replica ${side(c.replica)}`);
  }
  if (d.error !== undefined) kv('error', d.error);
  lines.push('tasks:');
  for (const t of d.tasks) {
    const dur = t.startMs !== undefined && t.endMs !== undefined ? formatDurationMs(t.endMs - t.startMs) : t.startMs !== undefined ? `${formatDurationMs(nowMs - t.startMs)}+` : '-';
    lines.push(`  ${String(t.index).padStart(2)} ${t.kind.padEnd(26)}${t.undo === true ? ' (undo)' : ''} ${t.status.padEnd(9)} ${timeOr(t.startMs)} ${timeOr(t.endMs)} ${dur}${t.endpoint === undefined ? '' : ` ${t.endpoint}`}${t.error === undefined ? '' : `  error: ${t.error}`}`);
  }
  return lines.join('\n');
}
