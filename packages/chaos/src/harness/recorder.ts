/**
 * Appends the run's events to its JSON-lines files with one monotonic clock. Lines are written
 * synchronously (appendFileSync), so a crash of the harness loses nothing already recorded and
 * the order in the file is the order of the events in this process.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AdminEvent, HistoryEvent, NemesisEvent } from './history.js';

export class Recorder {
  private readonly t0 = process.hrtime.bigint();
  readonly historyFile: string;
  readonly nemesisFile: string;
  readonly adminFile: string;

  constructor(readonly dir: string) {
    this.historyFile = path.join(dir, 'history.jsonl');
    this.nemesisFile = path.join(dir, 'nemesis.jsonl');
    this.adminFile = path.join(dir, 'admin.jsonl');
    for (const f of [this.historyFile, this.nemesisFile, this.adminFile]) writeFileSync(f, '');
  }

  /** Microseconds since the recorder was created (monotonic). */
  nowUs(): number {
    return Number((process.hrtime.bigint() - this.t0) / 1000n);
  }

  history(e: HistoryEvent): void {
    appendFileSync(this.historyFile, `${JSON.stringify(e)}\n`);
  }

  nemesis(e: Omit<NemesisEvent, 'tUs'>): void {
    appendFileSync(this.nemesisFile, `${JSON.stringify({ tUs: this.nowUs(), ...e })}\n`);
  }

  admin(e: Omit<AdminEvent, 'tUs'>): void {
    appendFileSync(this.adminFile, `${JSON.stringify({ tUs: this.nowUs(), ...e })}\n`);
  }
}
