/**
 * Coalesces concurrent gets to one leader tablet into one `/v1/data/get_multi` request, as
 * put-coalescer.ts does for puts (per-tablet-batcher.ts: gets of one turn of the event loop go
 * at `setImmediate`, with at most `GET_COALESCE.requestsInFlightMax` requests unanswered per
 * tablet; later gets wait for the next answer), up to `getsMax` a request. Each get is answered on its own; one refused for
 * a retryable reason (a leader change), or whose request failed as a whole, is sent again alone
 * with the SDK's retries.
 */
import type { TesseraError } from '@tessera/common';
import { PerTabletBatcher } from './per-tablet-batcher.js';

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
  private readonly batcher: PerTabletBatcher<Array<QueuedGet<R>>>;
  readonly stats = { requests: 0, gets: 0 };

  constructor(private readonly transport: GetTransport<R>) {
    this.batcher = new PerTabletBatcher({ requestsInFlightMax: GET_COALESCE.requestsInFlightMax, send: (endpoint, q, answered) => this.send(endpoint, q, answered) });
  }

  /** Queues a get for `endpoint` (undefined: no leader known, sent alone at once). */
  get(endpoint: string | undefined, query: GetQuery, alone: () => Promise<R>): Promise<R> {
    if (endpoint === undefined) return alone();
    return new Promise<R>((resolve, reject) => {
      const q = this.batcher.batchFor(endpoint, () => []);
      q.push({ query, alone, resolve, reject });
      if (q.length >= GET_COALESCE.getsMax) this.batcher.flushNow(endpoint);
    });
  }

  private send(endpoint: string, q: Array<QueuedGet<R>>, answered: () => void): void {
    this.stats.requests++;
    this.stats.gets += q.length;
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
