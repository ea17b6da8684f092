/**
 * Re-checks a run directory and computes its figures (reliability.md Part 5): reads run.json,
 * history.jsonl, nemesis.jsonl, final.json and the process logs, runs the checkers, and returns a
 * summary with the figures and the verdict. Pure apart from reading the files, so
 * `pnpm chaos check DIR` re-evaluates a kept run after a checker fix.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { checkCluster, type ClusterReport } from './checker-cluster.js';
import { checkLinearizable, type LinearReport } from './checker-linear.js';
import { checkSet, setViolations, type SetReport } from './checker-set.js';
import { pairCalls, readHistory, readNemesis, type Call, type FinalState, type NemesisEvent } from './history.js';
import type { FaultStep } from './schedule.js';

export interface ProcessFigures {
  name: string;
  starts: number;
  unexpectedExits: number;
  peakRssKb: number;
}

/** run.json: how the run was set up, and what was measured outside the files. */
export interface RunInfo {
  seed: number;
  scenario: string;
  ack: 'all' | 'leader';
  durationMs: number;
  kinds: string[];
  steps: FaultStep[];
  startedAt: string;
  settings: Record<string, number | string | boolean>;
  /** Filled at the end of the run. */
  faultPhaseMs?: number;
  processes?: ProcessFigures[];
  harnessPeakRssKb?: number;
  /** Why the run stopped early, if it did. */
  aborted?: string;
}

export interface Summary {
  seed: number;
  scenario: string;
  ack: 'all' | 'leader';
  /** The fault phase as it ran (0: the run stopped before it). */
  durationMs: number;
  calls: Record<string, number>;
  acknowledged: number;
  lost: number;
  lostExplained: number;
  phantoms: number;
  duplicates: number;
  resurrected: number;
  mismatched: number;
  unreadableKeys: number;
  linearKeys: number;
  linearViolations: number;
  linearUnknown: number;
  dirtyReads: number;
  faults: Record<string, number>;
  faultsSkipped: number;
  tabletLeaderChanges: number;
  nsLeaderChanges: number;
  ops: Record<string, number>;
  unavailabilityP50Ms: number | null;
  unavailabilityMaxMs: number | null;
  faultsWithoutRecoveredWrite: number;
  convergenceMs: number;
  fencingEvents: number;
  restarts: number;
  unexpectedExits: number;
  peakRssKbByRole: Record<string, number>;
  verdict: 'PASS' | 'FAIL';
  reasons: string[];
  details: { set: SetReport; linear: LinearReport; cluster: ClusterReport };
}

/** Log lines that show fencing at work: stale-term/epoch refusals and leaders stepping down. */
const FENCING_LINE = /STALE_TERM|STALE_NS_EPOCH|is lower than replica term|nameserver epoch \d+ is lower|stepping down|stepped down/;

function countFencing(dir: string): number {
  let n = 0;
  for (const entry of existsSync(dir) ? readdirSync(dir) : []) {
    for (const log of ['tablet.log', 'nameserver.log']) {
      const file = path.join(dir, entry, log);
      if (!existsSync(file)) continue;
      for (const line of readFileSync(file, 'utf8').split('\n')) if (FENCING_LINE.test(line)) n++;
    }
  }
  return n;
}

function percentile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Per fault that hit partitions: fault start → first ok put invoked after it, worst of its partitions. */
export function unavailability(calls: Call[], nemesis: NemesisEvent[]): { perFaultMs: number[]; unrecovered: number } {
  const okPuts = calls.filter((c) => c.f === 'put' && c.result === 'ok' && c.endUs !== undefined).sort((a, b) => a.startUs - b.startUs);
  const perFaultMs: number[] = [];
  let unrecovered = 0;
  for (const f of nemesis) {
    if (f.type !== 'start' || !f.affectedPids || f.affectedPids.length === 0) continue;
    let worst = 0;
    let recovered = true;
    for (const pid of f.affectedPids) {
      const first = okPuts.find((c) => c.pid === pid && c.startUs >= f.tUs);
      if (!first) {
        recovered = false;
        break;
      }
      worst = Math.max(worst, (first.endUs! - f.tUs) / 1000);
    }
    if (recovered) perFaultMs.push(Math.round(worst));
    else unrecovered++;
  }
  return { perFaultMs: perFaultMs.sort((a, b) => a - b), unrecovered };
}

export function checkRun(dir: string): Summary {
  const info = JSON.parse(readFileSync(path.join(dir, 'run.json'), 'utf8')) as RunInfo;
  const finalFile = path.join(dir, 'final.json');
  const final: FinalState | undefined = existsSync(finalFile) ? (JSON.parse(readFileSync(finalFile, 'utf8')) as FinalState) : undefined;
  const calls = pairCalls(readHistory(path.join(dir, 'history.jsonl')));
  const nemesis = readNemesis(path.join(dir, 'nemesis.jsonl'));
  const rows = final?.rows ?? {};
  const set = checkSet(calls, rows, info.ack, nemesis);
  const linear = checkLinearizable(calls, rows);
  const emptyFinal: FinalState = { rows: {}, readErrors: [], partitions: [], ops: [], tabletsHealthy: 0, tabletsTotal: 0, converged: false, convergenceMs: -1, notConverged: ['no final state recorded'] };
  const cluster = checkCluster(final ?? emptyFinal, nemesis);

  const callsBy: Record<string, number> = {};
  for (const c of calls) callsBy[`${c.f} ${c.result}`] = (callsBy[`${c.f} ${c.result}`] ?? 0) + 1;
  const faults: Record<string, number> = {};
  for (const e of nemesis) if (e.type === 'start' && e.fault) faults[e.fault] = (faults[e.fault] ?? 0) + 1;
  const ops: Record<string, number> = {};
  for (const o of final?.ops ?? []) ops[`${o.opType} ${o.status}`] = (ops[`${o.opType} ${o.status}`] ?? 0) + 1;
  const unav = unavailability(calls, nemesis);
  const peak: Record<string, number> = {};
  for (const p of info.processes ?? []) {
    const role = p.name.replace(/\d+$/, '');
    peak[role] = Math.max(peak[role] ?? 0, p.peakRssKb);
  }
  if (info.harnessPeakRssKb !== undefined) peak.harness = info.harnessPeakRssKb;

  // Keys whose every violation a counted loss explains (--ack leader) are not reported twice.
  const lossKeys = new Set(set.lost.filter((l) => l.fault).map((l) => l.key));
  const linearViolations = info.ack === 'leader' ? linear.violations.filter((v) => !lossKeys.has(v.key)) : linear.violations;

  const reasons: string[] = [];
  const safety = setViolations(set, info.ack);
  if (info.aborted) reasons.push(`aborted: ${info.aborted}`);
  if (safety > 0) reasons.push(`set: ${set.lost.length} lost (${set.lostUnexplained} unexplained), ${set.phantoms.length} phantom, ${set.duplicates.length} duplicate, ${set.resurrected.length} resurrected, ${set.mismatched.length} wrong ts, ${set.unreadableKeys.length} unreadable keys`);
  // With --ack leader a write may be lost in a failover whether or not it was acknowledged; a
  // dirty read of one that a fault on its partition explains is counted, not failed.
  const putByValue = new Map(calls.filter((c) => c.f === 'put' && c.row).map((c) => [c.row!.v, c]));
  const explained = (v: string): boolean => {
    const w = putByValue.get(v);
    return w !== undefined && nemesis.some((e) => e.type === 'start' && e.tUs >= w.startUs && (e.affectedPids ?? []).includes(w.pid));
  };
  const dirtyUnexplained = info.ack === 'leader' ? linear.dirtyReads.filter((d) => !explained(d.value)) : linear.dirtyReads;
  if (dirtyUnexplained.length > 0) {
    const d = dirtyUnexplained.slice(0, 5).map((x) => `${x.key}: call ${x.callId} read ${x.value}`).join('; ');
    reasons.push(`dirty reads: ${dirtyUnexplained.length} read(s) returned a write that was never acknowledged and was later lost (${d})`);
  }
  if (linearViolations.length > 0) reasons.push(`linearizability: ${linearViolations.map((v) => `${v.key}: ${v.detail}`).join('; ')}`);
  for (const v of cluster.violations) reasons.push(`cluster: ${v}`);
  for (const v of cluster.liveness) reasons.push(`liveness: ${v}`);
  for (const v of cluster.unexpectedExits) reasons.push(`process died: ${v}`);
  if (calls.filter((c) => c.f === 'put' && c.result === 'ok').length === 0) reasons.push('no write was acknowledged: the run proves nothing');

  return {
    seed: info.seed,
    scenario: info.scenario,
    ack: info.ack,
    durationMs: info.faultPhaseMs ?? 0,
    calls: callsBy,
    acknowledged: set.acknowledged,
    lost: set.lost.length,
    lostExplained: set.lost.length - set.lostUnexplained,
    phantoms: set.phantoms.length,
    duplicates: set.duplicates.length,
    resurrected: set.resurrected.length,
    mismatched: set.mismatched.length,
    unreadableKeys: set.unreadableKeys.length,
    linearKeys: linear.keysChecked,
    linearViolations: linearViolations.length,
    linearUnknown: linear.unknown.length,
    dirtyReads: linear.dirtyReads.length,
    faults,
    faultsSkipped: nemesis.filter((e) => e.type === 'note' && e.detail?.startsWith('skipped')).length,
    tabletLeaderChanges: (final?.partitions ?? []).reduce((n, p) => n + Math.max(0, p.terms - 1), 0),
    nsLeaderChanges: Math.max(0, nemesis.filter((e) => e.type === 'observe' && e.detail?.startsWith('ns leader')).length - 1),
    ops,
    unavailabilityP50Ms: percentile(unav.perFaultMs, 0.5),
    unavailabilityMaxMs: unav.perFaultMs.length > 0 ? unav.perFaultMs[unav.perFaultMs.length - 1]! : null,
    faultsWithoutRecoveredWrite: unav.unrecovered,
    convergenceMs: final?.convergenceMs ?? -1,
    fencingEvents: countFencing(dir),
    restarts: (info.processes ?? []).reduce((n, p) => n + Math.max(0, p.starts - 1), 0),
    unexpectedExits: cluster.unexpectedExits.length,
    peakRssKbByRole: peak,
    verdict: reasons.length === 0 ? 'PASS' : 'FAIL',
    reasons,
    details: { set, linear, cluster },
  };
}

function kv(o: Record<string, number>): string {
  const e = Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1));
  return e.length === 0 ? '-' : e.map(([k, v]) => `${k}=${v}`).join(', ');
}

/** The figures table and the verdict line. */
export function formatSummary(s: Summary, dir: string | undefined): string {
  const ms = (v: number | null): string => (v === null ? '-' : `${v} ms`);
  const rows: Array<[string, string]> = [
    ['seed', String(s.seed)],
    ['scenario', s.scenario],
    ['ack', s.ack],
    ['fault phase', s.durationMs > 0 ? `${(s.durationMs / 1000).toFixed(1)} s` : 'not reached'],
    ['calls by result', kv(s.calls)],
    ['acknowledged writes', String(s.acknowledged)],
    ['lost acknowledged writes', s.ack === 'leader' ? `${s.lost} (${s.lostExplained} tied to a fault)` : String(s.lost)],
    ['phantoms / duplicates / resurrected failed', `${s.phantoms} / ${s.duplicates} / ${s.resurrected}`],
    ['wrong ts / unreadable keys', `${s.mismatched} / ${s.unreadableKeys}`],
    ['linearizability: keys / violations / unknown', `${s.linearKeys} / ${s.linearViolations} / ${s.linearUnknown}`],
    ['dirty reads (saw an unacknowledged write later lost)', String(s.dirtyReads)],
    ['faults by kind', `${kv(s.faults)}${s.faultsSkipped ? ` (skipped ${s.faultsSkipped})` : ''}`],
    ['tablet leader changes (terms) / ns leader changes', `${s.tabletLeaderChanges} / ${s.nsLeaderChanges}`],
    ['ops by type and status', kv(s.ops)],
    ['unavailability per fault p50 / max', `${ms(s.unavailabilityP50Ms)} / ${ms(s.unavailabilityMaxMs)}${s.faultsWithoutRecoveredWrite ? ` (${s.faultsWithoutRecoveredWrite} with no write after)` : ''}`],
    ['convergence time', s.convergenceMs < 0 ? 'did not converge' : `${s.convergenceMs} ms`],
    ['fencing in logs (stale term/epoch, step-downs)', String(s.fencingEvents)],
    ['restarts / unexpected exits', `${s.restarts} / ${s.unexpectedExits}`],
    ['peak RSS by role', Object.entries(s.peakRssKbByRole).map(([k, v]) => `${k} ${(v / 1024).toFixed(0)} MiB`).join(', ') || '-'],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
  for (const r of s.reasons.slice(0, 20)) lines.push(`  ! ${r.length > 400 ? `${r.slice(0, 400)}…` : r}`);
  if (s.reasons.length > 20) lines.push(`  ! … ${s.reasons.length - 20} more in summary.json`);
  lines.push(`verdict: ${s.verdict} seed=${s.seed} scenario=${s.scenario} ack=${s.ack}${dir ? ` dir=${dir}` : ''}`);
  return lines.join('\n');
}
