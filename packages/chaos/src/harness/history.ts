/**
 * The recorded files of a run and their types. Everything a checker needs is in these files, so a
 * failed run directory can be re-checked after a checker fix (`pnpm chaos check DIR`).
 *
 *   history.jsonl  one line per client call event: `invoke`, then exactly one of `ok` (it
 *                  happened), `fail` (it definitely did not happen) or `info` (unknown)
 *   nemesis.jsonl  fault start/stop, process starts and exits, observations (ns leader changes)
 *   admin.jsonl    operator commands and their answers
 *   final.json     what the cluster holds after heal and quiesce (rows per key, replicas, ops)
 *
 * Times are microseconds on one monotonic clock (process.hrtime.bigint() since the run started).
 */
import { readFileSync, existsSync } from 'node:fs';

export type CallKind = 'put' | 'get' | 'scan';

/** A row as the workload writes and reads it: the unique value and its per-key unique ts. */
export interface RowRef {
  v: string;
  ts: number;
}

export interface InvokeEvent {
  type: 'invoke';
  /** Call id, unique in the run. */
  id: number;
  client: number;
  f: CallKind;
  key: string;
  pid: number;
  tUs: number;
  /** put: the row written. */
  row?: RowRef;
  /** scan: rows with et < ts ≤ st. */
  st?: number;
  et?: number;
}

export interface CompleteEvent {
  type: 'ok' | 'fail' | 'info';
  id: number;
  tUs: number;
  /** get: the row read (null: none); scan: rows read. */
  read?: RowRef | null;
  rows?: RowRef[];
  /** Error code (or message) of a fail/info. */
  error?: string;
}

export type HistoryEvent = InvokeEvent | CompleteEvent;

/** One call: its invocation and completion paired. `end` is absent when it never completed. */
export interface Call {
  id: number;
  client: number;
  f: CallKind;
  key: string;
  pid: number;
  startUs: number;
  endUs?: number;
  result: 'ok' | 'fail' | 'info';
  row?: RowRef;
  st?: number;
  et?: number;
  read?: RowRef | null;
  rows?: RowRef[];
  error?: string;
}

export type FaultKind =
  | 'tablet-kill'
  | 'ns-kill'
  | 'pause-short'
  | 'pause-long'
  | 'zk-restart'
  | 'zk-disconnect'
  | 'op-kill'
  | 'operator'
  | 'partition'
  | 'link';

export interface NemesisEvent {
  /** `start`/`stop` of a fault; `proc-start`/`proc-exit` of a process; `observe` of a change. */
  type: 'start' | 'stop' | 'proc-start' | 'proc-exit' | 'observe' | 'note';
  tUs: number;
  fault?: FaultKind;
  /** Index of the fault in the run (start and stop share it). */
  n?: number;
  target?: string;
  pid?: number;
  /** Partitions whose leader the fault hit (for unavailability and loss attribution). */
  affectedPids?: number[];
  /** proc-exit: whether the harness caused it. */
  expected?: boolean;
  detail?: string;
}

export interface AdminEvent {
  tUs: number;
  command: string;
  request: unknown;
  ok: boolean;
  response?: unknown;
  error?: string;
}

/** One replica as both ZooKeeper and its tablet see it after quiesce. */
export interface FinalReplica {
  endpoint: string;
  zkLeader: boolean;
  zkAlive: boolean;
  /** What the tablet reports (absent: the tablet does not hold it or did not answer). */
  role?: string;
  state?: string;
  term?: number;
  offset?: number;
  sha256?: string;
  rows?: number;
}

export interface FinalPartition {
  pid: number;
  replicas: FinalReplica[];
  /** Terms in ZooKeeper's term history (leader changes = length − 1). */
  terms: number;
  /** Replicas of this tid/pid that tablets report but ZooKeeper does not list. */
  strays: Array<{ endpoint: string; role: string; state: string }>;
}

export interface FinalOp {
  opId: number;
  opType: string;
  pid: number;
  status: string;
}

export interface FinalState {
  /** Rows per key read through the SDK after quiesce (absent key: the read failed). */
  rows: Record<string, RowRef[]>;
  readErrors: string[];
  partitions: FinalPartition[];
  ops: FinalOp[];
  /** Tablets ZooKeeper lists as healthy, out of those started. */
  tabletsHealthy: number;
  tabletsTotal: number;
  converged: boolean;
  convergenceMs: number;
  /** What did not converge, when it did not. */
  notConverged: string[];
}

function readJsonl<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  const out: T[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      // A line cut short by a crash of the harness: the file ends there.
      break;
    }
  }
  return out;
}

export function readHistory(file: string): HistoryEvent[] {
  return readJsonl<HistoryEvent>(file);
}

export function readNemesis(file: string): NemesisEvent[] {
  return readJsonl<NemesisEvent>(file);
}

export function readAdmin(file: string): AdminEvent[] {
  return readJsonl<AdminEvent>(file);
}

/**
 * Pairs invocations with completions. An invocation without a completion (the harness stopped
 * waiting) is an `info` call. Throws on a malformed history (a completion without invocation, or
 * two completions), since no checker can trust such a file.
 */
export function pairCalls(events: HistoryEvent[]): Call[] {
  const open = new Map<number, Call>();
  const calls: Call[] = [];
  for (const e of events) {
    if (e.type === 'invoke') {
      if (open.has(e.id)) throw new Error(`history: call ${e.id} invoked twice`);
      const c: Call = { id: e.id, client: e.client, f: e.f, key: e.key, pid: e.pid, startUs: e.tUs, result: 'info' };
      if (e.row) c.row = e.row;
      if (e.st !== undefined) c.st = e.st;
      if (e.et !== undefined) c.et = e.et;
      open.set(e.id, c);
      calls.push(c);
    } else {
      const c = open.get(e.id);
      if (!c) throw new Error(`history: call ${e.id} completed without (or after another) completion`);
      open.delete(e.id);
      c.result = e.type;
      c.endUs = e.tUs;
      if (e.read !== undefined) c.read = e.read;
      if (e.rows) c.rows = e.rows;
      if (e.error) c.error = e.error;
    }
  }
  return calls;
}
