/**
 * Coalesces the appends a tablet's leader replicas send to one follower tablet (the leader →
 * follower half of issue 11's batching): appends queued for a follower tablet go out as one
 * `/v1/replica/append_multi` request (the follower applies and answers each part on its own, as
 * `/v1/replica/append` would), at `setImmediate` — and while `APPEND_MUX.requestsInFlightMax`
 * requests to that tablet are unanswered, appends wait for an answer and then go together (the
 * SDK's put coalescing, per-tablet-batcher.ts, one hop further). Consecutive appends of one
 * partition queued meanwhile (a stream pipelines several) are merged into one part, so a request
 * carries one part per partition with every entry written since the last one. One append alone
 * goes as `/v1/replica/append`. A part is encoded once by its leader replica (`AppendSource`,
 * shared by its followers sent the same range); the request body is written around the parts
 * without encoding them again.
 *
 * A merged append answers each of the appends it carries with the part's answer: its offset is
 * the last entry applied, at or past each append's own last entry.
 */
import { errorFromWire, TesseraError, type HttpClient } from '@tessera/common';
import type { BinlogEntry } from '@tessera/storage';

export const APPEND_MUX = {
  /** Body bytes of one coalesced request (under the data body limit of 8 MiB). */
  bytesMax: 4 * 1024 * 1024,
  /** Parts of one coalesced request. */
  partsMax: 256,
  /** Entries of one merged part (the follower's limit for one append: REPLICATION.batchEntriesMax). */
  partEntriesMax: 1024,
  /**
   * Coalesced requests unanswered per follower tablet before appends wait for an answer. More in
   * flight answers sooner when the machine is idle; fewer coalesces more when it is busy (each
   * request costs both tablets a fixed amount of CPU, whatever it carries).
   */
  requestsInFlightMax: 1,
} as const;

/** The leader replica an append comes from: encodes `{ tid, pid, term, entries }` and counts bytes sent. */
export interface AppendSource {
  encodeAppend(entries: BinlogEntry[]): Buffer;
  readonly sentBytes: { binlog: number };
}

interface Queued {
  source: AppendSource;
  entries: BinlogEntry[];
  resolve: (v: unknown) => void;
  reject: (err: unknown) => void;
}

/** One part of a request: appends of one source merged, and their encoded body. */
interface Part {
  queued: Queued[];
  payload: Buffer;
}

export class AppendMux {
  private readonly pending = new Map<string, Queued[]>();
  private readonly inFlight = new Map<string, number>();
  private scheduled = false;
  /** Requests sent, the parts they carried, and the appends merged into those parts. */
  readonly stats = { requests: 0, parts: 0, appends: 0, entries: 0 };

  constructor(
    private readonly http: HttpClient,
    private readonly timeoutMs: number,
    private readonly requestsInFlightMax: number = APPEND_MUX.requestsInFlightMax,
  ) {}

  /**
   * Sends `entries` of `source` to `endpoint` (none: a probe of the follower's offset); resolves
   * with the follower's answer for the part that carried them.
   */
  append<T>(endpoint: string, source: AppendSource, entries: BinlogEntry[]): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let q = this.pending.get(endpoint);
      if (!q) {
        q = [];
        this.pending.set(endpoint, q);
      }
      q.push({ source, entries, resolve: resolve as (v: unknown) => void, reject });
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
    for (const [endpoint, queued] of [...this.pending]) {
      if ((this.inFlight.get(endpoint) ?? 0) >= this.requestsInFlightMax) continue;
      this.pending.delete(endpoint);
      let group: Part[] = [];
      let bytes = 0;
      for (const part of mergeParts(queued)) {
        if (group.length > 0 && (bytes + part.payload.length > APPEND_MUX.bytesMax || group.length >= APPEND_MUX.partsMax)) {
          this.send(endpoint, group);
          group = [];
          bytes = 0;
        }
        group.push(part);
        bytes += part.payload.length;
      }
      if (group.length > 0) this.send(endpoint, group);
    }
  }

  private send(endpoint: string, group: Part[]): void {
    this.stats.requests++;
    this.stats.parts += group.length;
    for (const p of group) {
      this.stats.appends += p.queued.length;
      for (const q of p.queued) this.stats.entries += q.entries.length;
    }
    this.inFlight.set(endpoint, (this.inFlight.get(endpoint) ?? 0) + 1);
    const done = (): void => {
      const n = (this.inFlight.get(endpoint) ?? 1) - 1;
      if (n <= 0) this.inFlight.delete(endpoint);
      else this.inFlight.set(endpoint, n);
      // What was queued meanwhile goes now (with what the answered streams queue in this turn).
      if (this.pending.has(endpoint)) this.schedule();
    };
    const answer = (p: Part, r: unknown): void => {
      for (const q of p.queued) q.resolve(r);
    };
    const fail = (p: Part, err: unknown): void => {
      for (const q of p.queued) q.reject(err);
    };
    if (group.length === 1) {
      const p = group[0]!;
      this.http.callRaw(endpoint, '/v1/replica/append', p.payload, { timeoutMs: this.timeoutMs }).then(
        (r) => { done(); answer(p, r); },
        (err: unknown) => { done(); fail(p, err); },
      );
      return;
    }
    this.http.callRaw<{ results?: unknown[] }>(endpoint, '/v1/replica/append_multi', multiBody(group), { timeoutMs: this.timeoutMs }).then(
      (res) => {
        done();
        group.forEach((p, i) => {
          const r = res?.results?.[i] as { error?: unknown } | undefined;
          if (r === undefined) fail(p, new TesseraError('INTERNAL', 'append_multi answered fewer results than parts'));
          else if (r.error !== undefined) fail(p, errorFromWire(r, 500));
          else answer(p, r);
        });
      },
      (err: unknown) => {
        done();
        // A follower without the route (an older version, during an upgrade): each part on its own.
        if ((err as TesseraError)?.code === 'ROUTE_NOT_FOUND') for (const p of group) this.send(endpoint, [p]);
        else for (const p of group) fail(p, err);
      },
    );
  }
}

/**
 * The parts of one request, in queue order: consecutive appends of one source whose entries
 * follow on (a stream's pipelined appends) become one part, up to `partEntriesMax` entries; a
 * probe (no entries) stays a part of its own. Each part is encoded once by its source.
 */
function mergeParts(queued: Queued[]): Part[] {
  const merged: Array<{ source: AppendSource; queued: Queued[]; entries: BinlogEntry[] }> = [];
  const open = new Map<AppendSource, (typeof merged)[number]>();
  for (const q of queued) {
    const m = open.get(q.source);
    const last = m?.entries[m.entries.length - 1];
    if (m && last !== undefined && q.entries.length > 0 && q.entries[0]!.offset === last.offset + 1 && m.entries.length + q.entries.length <= APPEND_MUX.partEntriesMax) {
      m.queued.push(q);
      m.entries = m.entries.concat(q.entries);
      continue;
    }
    const part = { source: q.source, queued: [q], entries: q.entries };
    merged.push(part);
    if (q.entries.length > 0) open.set(q.source, part);
    else open.delete(q.source);
  }
  return merged.map((m) => {
    const payload = m.source.encodeAppend(m.entries);
    m.source.sentBytes.binlog += payload.length;
    return { queued: m.queued, payload };
  });
}

const PARTS_KEY = Buffer.from([0x81, 0xa5, ...Buffer.from('parts')]);

/** `{ parts: [<each payload as is>] }` in msgpack: a map of one key, an array header, the parts. */
function multiBody(group: Part[]): Buffer {
  const n = group.length;
  const header = n < 16 ? Buffer.from([0x90 | n]) : Buffer.from([0xdc, n >> 8, n & 0xff]);
  return Buffer.concat([PARTS_KEY, header, ...group.map((p) => p.payload)]);
}
