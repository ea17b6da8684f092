/**
 * The ZooKeeper write pipeline of the engine: at most one write in flight per op and per table,
 * later changes coalesced into one next write, a failed write retried after `retryIntervalMs`.
 * It says WHEN to write; the engine builds the effect (it holds the op and the table). An op's
 * delete supersedes a pending op write. A table write carries waiters: ops whose metadata change
 * completes when that write (or a later one holding it) is confirmed. Pure: time comes in calls.
 */
import type { Tid } from '@tessera/common';

export type WriteKind = 'op' | 'delete';

interface OpWrite {
  inFlight: WriteKind | null;
  next: WriteKind | null;
  retryAtMs: number | null;
}

interface TableWrite {
  inFlight: boolean;
  dirty: boolean;
  retryAtMs: number | null;
  waitersInFlight: number[];
  waitersNext: number[];
}

/** The outcome of a `persisted` answer for an op. */
export type OpPersisted =
  /** Not the write in flight (late or duplicate answer): ignore. */
  | { kind: 'stale' }
  /** The write failed and will be retried. */
  | { kind: 'failed' }
  /** Confirmed; `send` is the next write to send now, if one was waiting. */
  | { kind: 'confirmed'; send: WriteKind | null };

const merge = (a: WriteKind | null, b: WriteKind): WriteKind => (a === 'delete' || b === 'delete' ? 'delete' : 'op');

export class WriteTracker {
  private readonly opWrites = new Map<number, OpWrite>();
  private readonly tableWrites = new Map<Tid, TableWrite>();

  constructor(private readonly retryIntervalMs: number) {}

  clear(): void {
    this.opWrites.clear();
    this.tableWrites.clear();
  }

  // ----- ops ---------------------------------------------------------------------------------

  /** Asks for a write of the op; returns the write to send now, or null when it is queued. */
  requestOp(opId: number, kind: WriteKind): WriteKind | null {
    const w = this.opWrite(opId);
    if (w.inFlight !== null || w.retryAtMs !== null) {
      w.next = merge(w.next, kind);
      return null;
    }
    return this.sendOp(w, kind);
  }

  /** A write of the op is in flight or waiting to be sent. */
  opPending(opId: number): boolean {
    const w = this.opWrites.get(opId);
    return w !== undefined && (w.inFlight !== null || w.next !== null);
  }

  onOpPersisted(opId: number, kind: WriteKind, ok: boolean, nowMs: number): OpPersisted {
    const w = this.opWrites.get(opId);
    if (w === undefined || w.inFlight !== kind) return { kind: 'stale' };
    w.inFlight = null;
    if (!ok) {
      w.next = w.next ?? kind;
      w.retryAtMs = nowMs + this.retryIntervalMs;
      return { kind: 'failed' };
    }
    return { kind: 'confirmed', send: w.next === null ? null : this.sendOp(w, w.next) };
  }

  /** The write to send now for an op whose retry is due; null if none. */
  retryOpDue(opId: number, nowMs: number): WriteKind | null {
    const w = this.opWrites.get(opId);
    if (w === undefined || w.retryAtMs === null || w.retryAtMs > nowMs || w.next === null) return null;
    return this.sendOp(w, w.next);
  }

  forgetOp(opId: number): void {
    this.opWrites.delete(opId);
  }

  private opWrite(opId: number): OpWrite {
    let w = this.opWrites.get(opId);
    if (w === undefined) {
      w = { inFlight: null, next: null, retryAtMs: null };
      this.opWrites.set(opId, w);
    }
    return w;
  }

  private sendOp(w: OpWrite, kind: WriteKind): WriteKind {
    w.inFlight = kind;
    w.next = null;
    w.retryAtMs = null;
    return kind;
  }

  // ----- tables ------------------------------------------------------------------------------

  /**
   * Asks for a write of the table; `waiterOpId`'s task completes when it is confirmed. True when
   * the engine should send it now (then it calls `tableSent`).
   */
  requestTable(tid: Tid, waiterOpId: number | null): boolean {
    let w = this.tableWrites.get(tid);
    if (w === undefined) {
      w = { inFlight: false, dirty: false, retryAtMs: null, waitersInFlight: [], waitersNext: [] };
      this.tableWrites.set(tid, w);
    }
    if (waiterOpId !== null) w.waitersNext.push(waiterOpId);
    w.dirty = true;
    return !w.inFlight && w.retryAtMs === null;
  }

  /** The engine sent the table's current metadata. */
  tableSent(tid: Tid): void {
    const w = this.tableWrites.get(tid);
    if (w === undefined) return;
    w.inFlight = true;
    w.dirty = false;
    w.retryAtMs = null;
    w.waitersInFlight = w.waitersNext;
    w.waitersNext = [];
  }

  /** No write of the table is in flight, waiting for a retry or still to be sent. */
  tableSettled(tid: Tid): boolean {
    const w = this.tableWrites.get(tid);
    return w === undefined || (!w.inFlight && !w.dirty && w.retryAtMs === null);
  }

  /**
   * The answer to a table write: the waiters it confirmed, and whether to send the table again
   * now (it changed meanwhile). Null for an answer nothing waits for.
   */
  onTablePersisted(tid: Tid, ok: boolean, nowMs: number): { confirmed: number[]; sendAgain: boolean } | null {
    const w = this.tableWrites.get(tid);
    if (w === undefined || !w.inFlight) return null;
    w.inFlight = false;
    if (!ok) {
      w.dirty = true;
      w.waitersNext = [...w.waitersInFlight, ...w.waitersNext];
      w.waitersInFlight = [];
      w.retryAtMs = nowMs + this.retryIntervalMs;
      return { confirmed: [], sendAgain: false };
    }
    const confirmed = w.waitersInFlight;
    w.waitersInFlight = [];
    return { confirmed, sendAgain: w.dirty };
  }

  /** Tables whose retry is due, in the order their writes were first asked for. */
  tablesDue(nowMs: number): Tid[] {
    return [...this.tableWrites].filter(([, w]) => w.retryAtMs !== null && w.retryAtMs <= nowMs).map(([tid]) => tid);
  }

  dropTable(tid: Tid): void {
    this.tableWrites.delete(tid);
  }
}
