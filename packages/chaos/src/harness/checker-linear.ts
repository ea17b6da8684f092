/**
 * Per-key linearizability (reliability.md P3): a Wing–Gong search with Lowe's just-in-time
 * linearization and memoisation (as Porcupine), over each key's calls against a sequential model:
 * the key holds a growing set of rows; `put` adds one; `get` returns the row with the highest ts
 * (none when empty); `scan(st, et)` returns the rows with et < ts ≤ st. Keys are independent
 * (P-compositionality), so each is searched alone.
 *
 * What enters the search: `ok` puts (between invocation and completion); `info` puts that some
 * read or the final state observed (anywhere after their invocation — a write never observed and
 * absent from the final state may as well not have happened, and writes are never removed);
 * `ok` reads; and the final read of the key (after everything). `fail` calls and failed reads
 * change nothing and are left out. A step budget turns a pathological history into `unknown`.
 */
import type { Call, RowRef } from './history.js';

export const LINEAR_LIMITS = {
  /** Search steps per key before the answer is `unknown`. */
  stepsPerKeyMax: 2_000_000,
} as const;

export type LinearResult = 'ok' | 'violation' | 'unknown';

export interface KeyReport {
  key: string;
  result: LinearResult;
  calls: number;
  steps: number;
  /** For a violation: the call that could not be placed at the deepest point of the search. */
  stuckCallId?: number;
  detail?: string;
}

export interface DirtyRead {
  key: string;
  /** The read call. */
  callId: number;
  /** A value it returned whose write was never acknowledged and is not in the final state. */
  value: string;
}

export interface LinearReport {
  keysChecked: number;
  /** Violations that dirty reads alone do not explain. */
  violations: KeyReport[];
  unknown: KeyReport[];
  /**
   * Reads that returned a write that was never acknowledged and is absent from the final state
   * (read uncommitted, then rolled back). Each makes its key non-linearizable; a key whose history
   * is linearizable once these reads are left out is reported here only.
   */
  dirtyReads: DirtyRead[];
  stepsTotal: number;
}

interface Op {
  /** Index in this key's op list: the bit of the linearized set. */
  idx: number;
  callId: number;
  kind: 'put' | 'get' | 'scan';
  row?: RowRef;
  read?: RowRef | null;
  rows?: RowRef[];
  st?: number;
  et?: number;
  startUs: number;
  /** Infinity for an info put. */
  endUs: number;
}

interface Entry {
  op: Op;
  isCall: boolean;
  /** The return entry of a call entry. */
  match?: Entry;
  prev?: Entry;
  next?: Entry;
}

/** The model's state: applied rows sorted by ts ascending, with undo. */
class RowSet {
  private readonly rows: RowRef[] = [];

  private lowerBound(ts: number): number {
    let lo = 0;
    let hi = this.rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.rows[mid]!.ts < ts) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  add(r: RowRef): void {
    this.rows.splice(this.lowerBound(r.ts), 0, r);
  }

  remove(r: RowRef): void {
    const at = this.lowerBound(r.ts);
    for (let i = at; i < this.rows.length && this.rows[i]!.ts === r.ts; i++) {
      if (this.rows[i]!.v === r.v) {
        this.rows.splice(i, 1);
        return;
      }
    }
    throw new Error(`RowSet.remove: ${r.v} not present`);
  }

  latest(): RowRef | null {
    return this.rows.length === 0 ? null : this.rows[this.rows.length - 1]!;
  }

  /** Values with et < ts ≤ st, sorted. */
  range(st: number, et: number): string[] {
    const out: string[] = [];
    for (let i = this.lowerBound(et + 1); i < this.rows.length && this.rows[i]!.ts <= st; i++) out.push(this.rows[i]!.v);
    return out.sort();
  }
}

/** Whether `op` may take effect on `state` now (reads: the model's answer equals what was read). */
function allowed(op: Op, state: RowSet): boolean {
  if (op.kind === 'put') return true;
  if (op.kind === 'get') {
    const want = state.latest();
    const got = op.read ?? null;
    if (want === null || got === null) return want === got;
    return want.v === got.v && want.ts === got.ts;
  }
  const want = state.range(op.st!, op.et!);
  const got = op.rows!.map((r) => r.v).sort();
  if (want.length !== got.length) return false;
  for (let i = 0; i < want.length; i++) if (want[i] !== got[i]) return false;
  return true;
}

class BitSet {
  readonly words: Uint32Array;
  constructor(n: number) {
    this.words = new Uint32Array(Math.ceil(n / 32) + 1);
  }
  set(i: number): void {
    this.words[i >>> 5]! |= 1 << (i & 31);
  }
  clear(i: number): void {
    this.words[i >>> 5]! &= ~(1 << (i & 31));
  }
  key(): string {
    let s = '';
    for (let i = 0; i < this.words.length; i++) s += this.words[i]!.toString(36) + ',';
    return s;
  }
}

/** Builds the search's op list of one key from its calls (see the header for what enters). */
export function opsOfKey(calls: Call[], finalRows: RowRef[] | undefined, finalUs: number): Op[] {
  const observed = new Set<string>();
  for (const c of calls) {
    if (c.result !== 'ok') continue;
    if (c.f === 'get' && c.read) observed.add(c.read.v);
    if (c.f === 'scan' && c.rows) for (const r of c.rows) observed.add(r.v);
  }
  for (const r of finalRows ?? []) observed.add(r.v);
  const ops: Op[] = [];
  const push = (o: Omit<Op, 'idx'>): void => {
    ops.push({ ...o, idx: ops.length });
  };
  for (const c of calls) {
    if (c.f === 'put') {
      if (!c.row) continue;
      if (c.result === 'ok') push({ callId: c.id, kind: 'put', row: c.row, startUs: c.startUs, endUs: c.endUs ?? Infinity });
      else if (c.result === 'info' && observed.has(c.row.v)) push({ callId: c.id, kind: 'put', row: c.row, startUs: c.startUs, endUs: Infinity });
    } else if (c.result === 'ok' && c.endUs !== undefined) {
      if (c.f === 'get') push({ callId: c.id, kind: 'get', read: c.read ?? null, startUs: c.startUs, endUs: c.endUs });
      else push({ callId: c.id, kind: 'scan', rows: c.rows ?? [], st: c.st!, et: c.et!, startUs: c.startUs, endUs: c.endUs });
    }
  }
  if (finalRows) push({ callId: -1, kind: 'scan', rows: finalRows, st: Number.MAX_SAFE_INTEGER, et: -1, startUs: finalUs, endUs: finalUs + 1 });
  return ops;
}

/** Searches one key's ops for a linearization. */
export function checkKey(key: string, ops: Op[], stepsMax: number = LINEAR_LIMITS.stepsPerKeyMax): KeyReport {
  // Entries in time order; at equal times calls come first (treated as overlapping).
  const raw: Array<{ t: number; isCall: boolean; op: Op }> = [];
  for (const op of ops) {
    raw.push({ t: op.startUs, isCall: true, op });
    raw.push({ t: op.endUs, isCall: false, op });
  }
  raw.sort((a, b) => a.t - b.t || (a.isCall === b.isCall ? 0 : a.isCall ? -1 : 1));
  const head: Entry = { op: undefined as unknown as Op, isCall: false };
  let prev = head;
  const callEntry = new Map<number, Entry>();
  for (const r of raw) {
    const e: Entry = { op: r.op, isCall: r.isCall, prev };
    prev.next = e;
    prev = e;
    if (r.isCall) callEntry.set(r.op.idx, e);
    else callEntry.get(r.op.idx)!.match = e;
  }
  const lift = (e: Entry): void => {
    e.prev!.next = e.next;
    if (e.next) e.next.prev = e.prev;
    const m = e.match!;
    m.prev!.next = m.next;
    if (m.next) m.next.prev = m.prev;
  };
  const unlift = (e: Entry): void => {
    const m = e.match!;
    m.prev!.next = m;
    if (m.next) m.next.prev = m;
    e.prev!.next = e;
    if (e.next) e.next.prev = e;
  };

  const state = new RowSet();
  const linearized = new BitSet(ops.length);
  const cache = new Set<string>();
  const stack: Entry[] = [];
  let steps = 0;
  let deepest = -1;
  let stuck: Op | undefined;
  let entry = head.next;
  while (head.next !== undefined) {
    if (++steps > stepsMax) return { key, result: 'unknown', calls: ops.length, steps };
    if (entry === undefined) throw new Error('linearizability search ran off the list');
    if (entry.isCall) {
      const op = entry.op;
      if (allowed(op, state)) {
        linearized.set(op.idx);
        const k = linearized.key();
        if (!cache.has(k)) {
          cache.add(k);
          if (op.kind === 'put') state.add(op.row!);
          stack.push(entry);
          lift(entry);
          entry = head.next;
          continue;
        }
        linearized.clear(op.idx);
      }
      entry = entry.next;
    } else {
      // A return reached: its op should already be linearized. Backtrack.
      if (stack.length > deepest) {
        deepest = stack.length;
        stuck = entry.op;
      }
      const top = stack.pop();
      if (top === undefined) {
        const s = stuck!;
        return { key, result: 'violation', calls: ops.length, steps, stuckCallId: s.callId, detail: describe(s) };
      }
      linearized.clear(top.op.idx);
      if (top.op.kind === 'put') state.remove(top.op.row!);
      unlift(top);
      entry = top.next;
    }
  }
  return { key, result: 'ok', calls: ops.length, steps };
}

function describe(op: Op): string {
  if (op.kind === 'put') return `put ${op.row!.v}@${op.row!.ts} could not be placed`;
  if (op.kind === 'get') return `get read ${op.read ? `${op.read.v}@${op.read.ts}` : 'nothing'}, which no order of the writes explains`;
  const what = op.callId === -1 ? 'the final read' : `scan (${op.et}, ${op.st}]`;
  return `${what} read ${op.rows!.length} row(s), which no order of the writes explains`;
}

/** Checks every key of the history; `finalRows` holds the final read of each key. */
export function checkLinearizable(calls: Call[], finalRows: Record<string, RowRef[]>, stepsPerKeyMax: number = LINEAR_LIMITS.stepsPerKeyMax): LinearReport {
  const byKey = new Map<string, Call[]>();
  let lastUs = 0;
  for (const c of calls) {
    let list = byKey.get(c.key);
    if (!list) byKey.set(c.key, (list = []));
    list.push(c);
    lastUs = Math.max(lastUs, c.endUs ?? c.startUs);
  }
  for (const key of Object.keys(finalRows)) if (!byKey.has(key)) byKey.set(key, []);
  const report: LinearReport = { keysChecked: 0, violations: [], unknown: [], dirtyReads: [], stepsTotal: 0 };
  for (const [key, list] of [...byKey].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    let r = checkKey(key, opsOfKey(list, finalRows[key], lastUs + 1), stepsPerKeyMax);
    report.keysChecked++;
    report.stepsTotal += r.steps;
    if (r.result === 'violation') {
      const dirty = dirtyReadsOf(key, list, finalRows[key]);
      if (dirty.length > 0) {
        report.dirtyReads.push(...dirty);
        const without = new Set(dirty.map((d) => d.callId));
        r = checkKey(key, opsOfKey(list.filter((c) => !without.has(c.id)), finalRows[key], lastUs + 1), stepsPerKeyMax);
        report.stepsTotal += r.steps;
      }
    }
    if (r.result === 'violation') report.violations.push(r);
    else if (r.result === 'unknown') report.unknown.push(r);
  }
  return report;
}

/** Reads of one key that returned a never-acknowledged write the final state does not hold. */
export function dirtyReadsOf(key: string, calls: Call[], finalRows: RowRef[] | undefined): DirtyRead[] {
  if (!finalRows) return [];
  const final = new Set(finalRows.map((r) => r.v));
  const unacked = new Set(calls.filter((c) => c.f === 'put' && c.row && c.result !== 'ok' && !final.has(c.row.v)).map((c) => c.row!.v));
  const out: DirtyRead[] = [];
  for (const c of calls) {
    if (c.result !== 'ok') continue;
    const seen = c.f === 'get' ? (c.read ? [c.read] : []) : c.f === 'scan' ? (c.rows ?? []) : [];
    for (const r of seen) if (unacked.has(r.v)) out.push({ key, callId: c.id, value: r.v });
  }
  return out;
}
