/**
 * The machinery both SDK coalescers share (put-coalescer.ts, get-coalescer.ts): one waiting
 * batch per leader tablet, sent at `setImmediate` (everything queued in one turn of the event
 * loop goes together), with at most `requestsInFlightMax` requests unanswered per tablet — while
 * that many are out, the batch keeps filling and goes when an answer comes back. A full batch
 * can be sent at once (`flushNow`). Endpoints for which `uncapped` says so are sent every turn
 * and never counted (the put coalescer's "no leader known" rows). What a batch holds and how it
 * is sent and answered is the caller's.
 */

export interface PerTabletBatcherOptions<B> {
  /** Requests unanswered per tablet before its batch waits for an answer. */
  requestsInFlightMax: number;
  /** Sends one batch; calls `answered()` once when its request is answered (or failed). */
  send(endpoint: string, batch: B, answered: () => void): void;
  /** Endpoints sent without the in-flight cap; default none. */
  uncapped?(endpoint: string): boolean;
}

export class PerTabletBatcher<B> {
  private readonly pending = new Map<string, B>();
  private readonly inFlight = new Map<string, number>();
  private scheduled = false;

  constructor(private readonly options: PerTabletBatcherOptions<B>) {}

  /** The batch waiting for `endpoint`, made by `create` when there is none; the send is scheduled. */
  batchFor(endpoint: string, create: () => B): B {
    let batch = this.pending.get(endpoint);
    if (batch === undefined) {
      batch = create();
      this.pending.set(endpoint, batch);
    }
    this.schedule();
    return batch;
  }

  /** The batch waiting for `endpoint`, if any. */
  waiting(endpoint: string): B | undefined {
    return this.pending.get(endpoint);
  }

  /** Sends the batch waiting for `endpoint` now, whatever is in flight (a full batch). */
  flushNow(endpoint: string): void {
    const batch = this.pending.get(endpoint);
    if (batch === undefined) return;
    this.pending.delete(endpoint);
    this.dispatch(endpoint, batch);
  }

  /** Requests unanswered to `endpoint`. */
  inFlightTo(endpoint: string): number {
    return this.inFlight.get(endpoint) ?? 0;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flushAll());
  }

  /** Sends what waits for every tablet with room for another request in flight. */
  private flushAll(): void {
    this.scheduled = false;
    for (const [endpoint, batch] of [...this.pending]) {
      if (!this.isUncapped(endpoint) && this.inFlightTo(endpoint) >= this.options.requestsInFlightMax) continue;
      this.pending.delete(endpoint);
      this.dispatch(endpoint, batch);
    }
  }

  private isUncapped(endpoint: string): boolean {
    return this.options.uncapped?.(endpoint) === true;
  }

  private dispatch(endpoint: string, batch: B): void {
    if (this.isUncapped(endpoint)) {
      this.options.send(endpoint, batch, () => undefined);
      return;
    }
    this.inFlight.set(endpoint, this.inFlightTo(endpoint) + 1);
    let done = false;
    const answered = (): void => {
      if (done) return;
      done = true;
      const n = this.inFlightTo(endpoint) - 1;
      if (n <= 0) this.inFlight.delete(endpoint);
      else this.inFlight.set(endpoint, n);
      // What was queued meanwhile (and what the answered callers queue next, in this turn) goes now.
      if (this.pending.has(endpoint)) this.schedule();
    };
    this.options.send(endpoint, batch, answered);
  }
}
