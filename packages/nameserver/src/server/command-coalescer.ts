/**
 * Commands for the same tablet issued in one turn of the event loop, sent together through
 * control-batch.ts (one `/v1/control/batch` request per tablet, the tablet running them
 * concurrently). A create's stage (16 followers, then 8 leaders of a table of 8 × 3) was 16 and 8
 * requests, and a stage lasted as long as the slowest of them on a loaded machine; now it is one
 * request per tablet (issue 16). Each caller still gets its own outcome: resolved when its command
 * ran, rejected with the command's coded error (or the request's, when the request failed).
 * Batching, chunking and an older tablet's fallback to single requests are control-batch.ts's;
 * this module only gathers a turn's calls.
 */
import type { TesseraError } from '@tessera/common';
import { sendControlBatch, type ControlCall, type ControlCommand } from './control-batch.js';

interface Waiting extends ControlCommand {
  resolve(): void;
  reject(err: TesseraError): void;
}

export class CommandCoalescer {
  private readonly waiting = new Map<string, Waiting[]>();

  constructor(private readonly send: ControlCall) {}

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
    void sendControlBatch(this.send, endpoint, list.map(({ path, body }) => ({ path, body }))).then((outcomes) =>
      list.forEach((w, i) => {
        const err = outcomes[i];
        if (err === undefined) w.resolve();
        else w.reject(err);
      }),
    );
  }
}
