/**
 * Commands for the same tablet issued in one turn of the event loop, sent as one
 * `/v1/control/batch` request (the tablet's routes-batch.ts runs them concurrently and answers one
 * result per command). A create's stage (16 followers, then 8 leaders of a table of 8 × 3) was
 * 16 and 8 requests, and a stage lasted as long as the slowest of them on a loaded machine; now it
 * is one request per tablet (issue 16). Each caller still gets its own outcome: resolved on
 * `{ ok: true }`, rejected with the command's coded error, or with the request's error for all.
 * A tablet of an older version, whose batch route does not take the command (INVALID_ARGUMENT),
 * gets the commands one request each (`single`), as before.
 */
import { errorFromWire, type TesseraError } from '@tessera/common';

interface Waiting {
  path: string;
  body: Record<string, unknown>;
  resolve(): void;
  reject(err: TesseraError): void;
}

/** Sends one batch request: the tablet's answer, one result per command in order. */
export type SendBatch = (endpoint: string, commands: Array<{ path: string; body: Record<string, unknown> }>) => Promise<{ results?: unknown[] }>;
/** Sends one command as its own request. */
export type SendOne = (endpoint: string, path: string, body: Record<string, unknown>) => Promise<unknown>;

export class CommandCoalescer {
  private readonly waiting = new Map<string, Waiting[]>();

  constructor(private readonly send: SendBatch, private readonly single: SendOne) {}

  /** Runs `path` with `body` on `endpoint` together with the others issued in this turn. */
  call(endpoint: string, path: string, body: Record<string, unknown>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let list = this.waiting.get(endpoint);
      if (list === undefined) {
        this.waiting.set(endpoint, (list = []));
        queueMicrotask(() => this.flush(endpoint));
      }
      list.push({ path, body, resolve, reject });
    });
  }

  private flush(endpoint: string): void {
    const list = this.waiting.get(endpoint) ?? [];
    this.waiting.delete(endpoint);
    this.send(endpoint, list.map(({ path, body }) => ({ path, body }))).then(
      (res) => list.forEach((w, i) => {
        const r = res.results?.[i] as { ok?: boolean } | undefined;
        if (r?.ok === true) w.resolve();
        else w.reject(errorFromWire(r, 0));
      }),
      (err: TesseraError) => {
        if (err.code !== 'INVALID_ARGUMENT') return list.forEach((w) => w.reject(err));
        for (const w of list) this.single(endpoint, w.path, w.body).then(() => w.resolve(), (e: TesseraError) => w.reject(e));
      },
    );
  }
}
