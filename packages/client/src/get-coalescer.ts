/**
 * Coalesces concurrent gets to one leader tablet into one `/v1/data/get_multi` request, as
 * put-coalescer.ts does for puts: gets of one turn of the event loop go at `setImmediate`, with
 * at most `GET_COALESCE.requestsInFlightMax` requests unanswered per tablet (later gets wait for
 * the next answer), up to `getsMax` a request. Each get is answered on its own; one refused for
 * a retryable reason (a leader change), or whose request failed as a whole, is sent again alone
 * with the SDK's retries.
 */
import type { TesseraError } from '@tessera/common';

export const GET_COALESCE = {
  /** Requests unanswered per tablet before gets wait for an answer. */
  requestsInFlightMax: 2,
  /** Gets in one request. */
  getsMax: 512,
} as const;

/** One get's query on the wire: `{ tid, pid, index, key, ts? }`. */
export type GetQuery = Record<string, unknown>;

interface QueuedGet<R> {
  query: GetQuery;
  /** Sends this get alone with the SDK's retries. */
  alone: () => Promise<R>;
  resolve: (r: R) => void;
  reject: (err: unknown) => void;
}

export interface GetTransport<R> {
  /** Sends several gets to `endpoint`; per get its answer or its refusal. */
  sendMulti(endpoint: string, queries: GetQuery[]): Promise<Array<R | TesseraError>>;
  isError(r: R | TesseraError): r is TesseraError;
  retryable(err: unknown): boolean;
}

export class GetCoalescer<R> {
  private readonly pending = new Map<string, Array<QueuedGet<R>>>();
  private readonly inFlight = new Map<string, number>();
  private scheduled = false;
  readonly stats = { requests: 0, gets: 0 };

  constructor(private readonly transport: GetTransport<R>) {}

  /** Queues a get for `endpoint` (undefined: no leader known, sent alone at once). */
  get(endpoint: string | undefined, query: GetQuery, alone: () => Promise<R>): Promise<R> {
    if (endpoint === undefined) return alone();
    return new Promise<R>((resolve, reject) => {
      let q = this.pending.get(endpoint);
      if (!q) {
        q = [];
        this.pending.set(endpoint, q);
      }
      q.push({ query, alone, resolve, reject });
      if (q.length >= GET_COALESCE.getsMax) {
        this.pending.delete(endpoint);
        this.send(endpoint, q);
        return;
      }
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flushAll());
  }

  private flushAll(): void {
    this.scheduled = false;
    for (const [endpoint, q] of [...this.pending]) {
      if ((this.inFlight.get(endpoint) ?? 0) >= GET_COALESCE.requestsInFlightMax) continue;
      this.pending.delete(endpoint);
      this.send(endpoint, q);
    }
  }

  private send(endpoint: string, q: Array<QueuedGet<R>>): void {
    this.stats.requests++;
    this.stats.gets += q.length;
    this.inFlight.set(endpoint, (this.inFlight.get(endpoint) ?? 0) + 1);
    const answered = (): void => {
      const n = (this.inFlight.get(endpoint) ?? 1) - 1;
      if (n <= 0) this.inFlight.delete(endpoint);
      else this.inFlight.set(endpoint, n);
      if (this.pending.has(endpoint)) this.schedule();
    };
    const again = (g: QueuedGet<R>): void => {
      g.alone().then(g.resolve, g.reject);
    };
    this.transport.sendMulti(endpoint, q.map((g) => g.query)).then(
      (results) => {
        q.forEach((g, i) => {
          const r = results[i]!;
          if (!this.transport.isError(r)) g.resolve(r);
          else if (this.transport.retryable(r)) again(g);
          else g.reject(r);
        });
        answered();
      },
      () => {
        answered();
        for (const g of q) again(g);
      },
    );
  }
}
