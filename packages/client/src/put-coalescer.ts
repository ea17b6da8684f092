/**
 * Coalesces concurrent single-row puts into one request per leader tablet (Kafka's producer
 * batching with max.in.flight, TiKV's batched commands; per-tablet-batcher.ts): rows queued in
 * the same turn of the event loop go out together at `setImmediate`; while `PUT_COALESCE.requestsInFlightMax`
 * request to that tablet is unanswered, rows wait for its answer, so a row's added wait is
 * bounded by one request in flight. A request goes at once when it reaches `rowsMax` rows or
 * `bytesMax` estimated bytes. Rows of
 * several partitions led by one tablet share a `put_multi` request, whose answer says per
 * partition whether its rows were acknowledged; rows of one partition go as `put_batch` (or
 * `put` for one row).
 *
 * Every row keeps its own write id, so the leader de-duplicates retries per row as before. A
 * partition whose rows were refused for a retryable reason (a leader change) is re-sent on its
 * own with the SDK's retries; one refused for another reason (one bad row refuses its whole
 * partition) is re-sent row by row, so each caller gets the outcome of its own row only.
 */
import type { TesseraError, Value } from '@tessera/common';
import { PerTabletBatcher } from './per-tablet-batcher.js';

export const PUT_COALESCE = {
  /** Coalesced requests unanswered per tablet before rows wait for an answer. */
  requestsInFlightMax: 1,
  /** Rows in one coalesced request. */
  rowsMax: 512,
  /** Estimated body bytes of one coalesced request (well under LIMITS.httpBodyBytesMax). */
  bytesMax: 1024 * 1024,
} as const;

export interface QueuedPut {
  /** The wire row `{ row, ts, writeId, dims? }`. */
  item: Record<string, unknown>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Rows of one partition in a coalesced request. */
export interface PartRows {
  tid: number;
  pid: number;
  rows: QueuedPut[];
}

/** A partition's outcome in a `put_multi` answer: undefined = acknowledged. */
export type PartOutcome = TesseraError | undefined;

/** A cheap upper bound of a row's msgpack bytes (strings counted as UTF-8 at 3 bytes a char). */
export function estimateRowBytes(values: readonly Value[]): number {
  let n = 64;
  for (const v of values) n += typeof v === 'string' ? 5 + v.length * 3 : 9;
  return n;
}

/** Rows waiting for one leader's next request. */
class Pending {
  parts = new Map<string, PartRows>();
  rows = 0;
  bytes = 0;
}

export interface PutTransport {
  /** Sends rows of several partitions to `endpoint` in one request; per partition its outcome. */
  sendMulti(endpoint: string, parts: PartRows[]): Promise<PartOutcome[]>;
  /** Sends rows of one partition to its leader, following leader changes (the SDK's retries). */
  sendPart(tid: number, pid: number, items: Array<Record<string, unknown>>): Promise<unknown>;
  /** Sends one row alone, following leader changes. */
  sendOne(tid: number, pid: number, item: Record<string, unknown>): Promise<unknown>;
  retryable(err: unknown): boolean;
}

export class PutCoalescer {
  /** Rows waiting per leader tablet; '' = no leader known now (sent every turn, uncounted). */
  private readonly batcher: PerTabletBatcher<Pending>;
  /** Requests sent and rows they carried (rows ÷ requests = the batching achieved). */
  readonly stats = { requests: 0, rows: 0, partsResent: 0 };

  constructor(private readonly transport: PutTransport) {
    this.batcher = new PerTabletBatcher<Pending>({
      requestsInFlightMax: PUT_COALESCE.requestsInFlightMax,
      send: (endpoint, p, answered) => this.flush(endpoint, p, answered),
      uncapped: (endpoint) => endpoint === '',
    });
  }

  /** Queues one row of partition (tid, pid) for `endpoint` (undefined: no leader known now). */
  put(endpoint: string | undefined, tid: number, pid: number, item: Record<string, unknown>, bytes: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const k = endpoint ?? '';
      const waiting = this.batcher.waiting(k);
      // A full request goes now, whatever is in flight.
      if (waiting && (waiting.rows >= PUT_COALESCE.rowsMax || waiting.bytes + bytes > PUT_COALESCE.bytesMax)) this.batcher.flushNow(k);
      const p = this.batcher.batchFor(k, () => new Pending());
      const pk = `${tid}/${pid}`;
      let part = p.parts.get(pk);
      if (!part) {
        part = { tid, pid, rows: [] };
        p.parts.set(pk, part);
      }
      part.rows.push({ item, resolve, reject });
      p.rows++;
      p.bytes += bytes;
    });
  }

  private flush(endpoint: string, p: Pending, answered: () => void): void {
    const parts = [...p.parts.values()];
    this.stats.requests += endpoint === '' ? parts.length : 1;
    this.stats.rows += p.rows;
    if (endpoint === '') {
      for (const part of parts) this.sendPart(part, false);
      return;
    }
    if (parts.length === 1) {
      this.sendPart(parts[0]!, false).finally(answered);
      return;
    }
    this.transport.sendMulti(endpoint, parts).then(
      (outcomes) => {
        parts.forEach((part, i) => this.settle(part, outcomes[i]));
        answered();
      },
      () => {
        // The request as a whole failed (transport, an old tablet): each partition on its own.
        answered();
        for (const part of parts) void this.sendPart(part);
      },
    );
  }

  private settle(part: PartRows, outcome: PartOutcome): void {
    if (outcome === undefined) {
      for (const r of part.rows) r.resolve();
    } else if (this.transport.retryable(outcome)) {
      void this.sendPart(part);
    } else {
      this.oneByOne(part, outcome);
    }
  }

  /**
   * Rows of one partition through the per-partition routes, with the SDK's retries (`resent`:
   * after a put_multi did not take them). Resolves when the first request settled.
   */
  private sendPart(part: PartRows, resent = true): Promise<void> {
    const { tid, pid, rows } = part;
    if (resent) this.stats.partsResent++;
    if (rows.length === 1) {
      const r = rows[0]!;
      return this.transport.sendOne(tid, pid, r.item).then(() => r.resolve(), r.reject);
    }
    return this.transport.sendPart(tid, pid, rows.map((r) => r.item)).then(
      () => {
        for (const r of rows) r.resolve();
      },
      (err: unknown) => {
        // Retryable: the SDK's own retries are spent, so every row shares the outcome.
        if (this.transport.retryable(err)) for (const r of rows) r.reject(err);
        else this.oneByOne(part, err);
      },
    );
  }

  /** After a refusal that is not retryable: each row alone, so it gets its own outcome. */
  private oneByOne(part: PartRows, err: unknown): void {
    if (part.rows.length === 1) {
      part.rows[0]!.reject(err);
      return;
    }
    for (const r of part.rows) this.transport.sendOne(part.tid, part.pid, r.item).then(() => r.resolve(), r.reject);
  }
}
