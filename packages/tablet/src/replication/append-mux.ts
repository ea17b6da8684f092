/**
 * Coalesces the appends a tablet's leader replicas send to one follower tablet: appends of
 * several partitions issued in the same turn of the event loop go out at `setImmediate` as one
 * `/v1/replica/append_multi` request (the follower applies and answers each part on its own, as
 * `/v1/replica/append` would), up to `APPEND_MUX.bytesMax` a request. One append alone goes as
 * `/v1/replica/append`. Each part is a body already msgpack-encoded by its stream; the request
 * body is written around them without encoding them again.
 */
import { errorFromWire, TesseraError, type HttpClient } from '@tessera/common';

export const APPEND_MUX = {
  /** Body bytes of one coalesced request (under the data body limit of 8 MiB). */
  bytesMax: 4 * 1024 * 1024,
  /** Parts of one coalesced request. */
  partsMax: 256,
} as const;

interface Queued {
  payload: Buffer;
  resolve: (v: unknown) => void;
  reject: (err: unknown) => void;
}

export class AppendMux {
  private readonly pending = new Map<string, Queued[]>();
  private scheduled = false;
  /** Requests sent and appends they carried. */
  readonly stats = { requests: 0, appends: 0 };

  constructor(
    private readonly http: HttpClient,
    private readonly timeoutMs: number,
  ) {}

  /** Sends one encoded append body `{ tid, pid, term, entries }` to `endpoint`; resolves with its answer. */
  append<T>(endpoint: string, payload: Buffer): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let q = this.pending.get(endpoint);
      if (!q) {
        q = [];
        this.pending.set(endpoint, q);
      }
      q.push({ payload, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flushAll());
      }
    });
  }

  private flushAll(): void {
    this.scheduled = false;
    const all = [...this.pending];
    this.pending.clear();
    for (const [endpoint, queued] of all) {
      let group: Queued[] = [];
      let bytes = 0;
      for (const q of queued) {
        if (group.length > 0 && (bytes + q.payload.length > APPEND_MUX.bytesMax || group.length >= APPEND_MUX.partsMax)) {
          this.send(endpoint, group);
          group = [];
          bytes = 0;
        }
        group.push(q);
        bytes += q.payload.length;
      }
      if (group.length > 0) this.send(endpoint, group);
    }
  }

  private send(endpoint: string, group: Queued[]): void {
    this.stats.requests++;
    this.stats.appends += group.length;
    if (group.length === 1) {
      this.single(endpoint, group[0]!);
      return;
    }
    this.http.callRaw<{ results?: unknown[] }>(endpoint, '/v1/replica/append_multi', multiBody(group), { timeoutMs: this.timeoutMs }).then(
      (res) => group.forEach((q, i) => {
        const r = res?.results?.[i] as { error?: unknown } | undefined;
        if (r === undefined) q.reject(new TesseraError('INTERNAL', 'append_multi answered fewer results than parts'));
        else if (r.error !== undefined) q.reject(errorFromWire(r, 500));
        else q.resolve(r);
      }),
      (err: unknown) => {
        // A follower without the route: each append on its own.
        if ((err as TesseraError)?.code === 'ROUTE_NOT_FOUND') for (const q of group) this.single(endpoint, q);
        else for (const q of group) q.reject(err);
      },
    );
  }

  private single(endpoint: string, q: Queued): void {
    this.http.callRaw(endpoint, '/v1/replica/append', q.payload, { timeoutMs: this.timeoutMs }).then(q.resolve, q.reject);
  }
}

const PARTS_KEY = Buffer.from([0x81, 0xa5, ...Buffer.from('parts')]);

/** `{ parts: [<each payload as is>] }` in msgpack: a map of one key, an array header, the parts. */
function multiBody(group: Queued[]): Buffer {
  const n = group.length;
  const header = n < 16 ? Buffer.from([0x90 | n]) : Buffer.from([0xdc, n >> 8, n & 0xff]);
  return Buffer.concat([PARTS_KEY, header, ...group.map((q) => q.payload)]);
}
