/**
 * The set checker (reliability.md P1, P1′, P2), pure over the recorded calls and the final rows:
 * every acknowledged (`ok`) put must be in the final state of its key; an indeterminate (`info`)
 * put may or may not be; a definitely failed (`fail`) put must not be (resurrected); no value that
 * was never written (phantom); no value twice (duplicate: a retried write applied twice). With
 * `--ack leader` each loss is tied to the first fault after the write's invocation that hit its
 * partition's leader; a loss tied to no fault is unexplained, and fails the run in either mode.
 */
import type { Call, NemesisEvent, RowRef } from './history.js';

export interface LostWrite {
  key: string;
  pid: number;
  value: string;
  ts: number;
  ackUs: number;
  /** The fault (its index `n` and kind) it is tied to, with --ack leader. */
  fault?: { n: number; fault: string; tUs: number; target: string };
}

export interface SetReport {
  acknowledged: number;
  /** Puts whose outcome is unknown, and of those how many the final state holds. */
  indeterminate: number;
  indeterminateApplied: number;
  lost: LostWrite[];
  /** Losses tied to no fault (with --ack all every loss counts as a violation anyway). */
  lostUnexplained: number;
  phantoms: Array<{ key: string; value: string }>;
  duplicates: Array<{ key: string; value: string; copies: number }>;
  resurrected: Array<{ key: string; value: string }>;
  /** A final row whose ts is not the ts its value was written with. */
  mismatched: Array<{ key: string; value: string; ts: number; wroteTs: number }>;
  /** Keys written to whose final read failed: nothing can be said about them. */
  unreadableKeys: string[];
}

export function checkSet(calls: Call[], finalRows: Record<string, RowRef[]>, ack: 'all' | 'leader', nemesis: NemesisEvent[]): SetReport {
  const puts = calls.filter((c) => c.f === 'put' && c.row !== undefined);
  const written = new Map<string, Map<string, Call>>();
  for (const c of puts) {
    let m = written.get(c.key);
    if (!m) written.set(c.key, (m = new Map()));
    m.set(c.row!.v, c);
  }
  const report: SetReport = {
    acknowledged: 0, indeterminate: 0, indeterminateApplied: 0, lost: [], lostUnexplained: 0,
    phantoms: [], duplicates: [], resurrected: [], mismatched: [], unreadableKeys: [],
  };
  const present = new Map<string, Map<string, number>>();
  for (const [key, rows] of Object.entries(finalRows)) {
    const counts = new Map<string, number>();
    for (const r of rows) {
      counts.set(r.v, (counts.get(r.v) ?? 0) + 1);
      const w = written.get(key)?.get(r.v);
      if (!w) report.phantoms.push({ key, value: r.v });
      else if (w.row!.ts !== r.ts) report.mismatched.push({ key, value: r.v, ts: r.ts, wroteTs: w.row!.ts });
    }
    for (const [v, n] of counts) if (n > 1) report.duplicates.push({ key, value: v, copies: n });
    present.set(key, counts);
  }
  for (const key of written.keys()) if (!present.has(key)) report.unreadableKeys.push(key);

  const faults = nemesis.filter((e) => e.type === 'start' && e.affectedPids !== undefined);
  for (const c of puts) {
    if (c.result === 'ok') report.acknowledged++;
    const counts = present.get(c.key);
    if (!counts) continue;
    const there = (counts.get(c.row!.v) ?? 0) > 0;
    if (c.result === 'ok') {
      if (!there) {
        const lost: LostWrite = { key: c.key, pid: c.pid, value: c.row!.v, ts: c.row!.ts, ackUs: c.endUs ?? c.startUs };
        const f = faults.find((e) => e.tUs >= c.startUs && e.affectedPids!.includes(c.pid));
        if (f && ack === 'leader') lost.fault = { n: f.n ?? -1, fault: f.fault ?? '?', tUs: f.tUs, target: f.target ?? '?' };
        else report.lostUnexplained++;
        report.lost.push(lost);
      }
    } else if (c.result === 'info') {
      report.indeterminate++;
      if (there) report.indeterminateApplied++;
    } else if (there) {
      report.resurrected.push({ key: c.key, value: c.row!.v });
    }
  }
  return report;
}

/** The safety counts of a set report that must be zero for the run to pass. */
export function setViolations(r: SetReport, ack: 'all' | 'leader'): number {
  const lost = ack === 'all' ? r.lost.length : r.lostUnexplained;
  return lost + r.phantoms.length + r.duplicates.length + r.resurrected.length + r.mismatched.length + r.unreadableKeys.length;
}
