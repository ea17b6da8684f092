/**
 * ns_client as real processes: an interactive one fed a line at a time (`--format=json`, one
 * JSON object per command, so each line's answer is read back on its own), and one-shot runs
 * with given flags and no input. Every wait is bounded; a process that does not answer is killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { MAIN_JS, REPO_ROOT } from '@tessera/testkit';

/** A stack frame or an uncaught-error report in ns_client's output. */
export const STACK_TRACE = /^\s*at\s+\S.*(:\d+:\d+\)?|\(native\)|<anonymous>\)?)\s*$|^fatal: /m;

export interface LineAnswer {
  /** The JSON object printed for the line, or undefined when none came. */
  json: Record<string, unknown> | undefined;
  /** The raw text of the answer line. */
  text: string;
  /** What the process wrote to stderr meanwhile. */
  stderr: string;
  /** Why there is no answer (exited, timed out). */
  problem?: string;
}

export class InteractiveNsClient {
  private child: ChildProcess | undefined;
  private out = '';
  private err = '';
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly args: string[]) {}

  start(): void {
    this.out = '';
    this.err = '';
    this.exited = undefined;
    const child = spawn(process.execPath, [MAIN_JS, '--role=ns_client', ...this.args], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => {
      this.out += d.toString('utf8');
      this.wake?.();
    });
    child.stderr!.on('data', (d: Buffer) => {
      this.err += d.toString('utf8');
    });
    child.stdin!.on('error', () => undefined);
    child.once('exit', (code, signal) => {
      this.exited = { code, signal };
      this.wake?.();
    });
    this.child = child;
  }

  get running(): boolean {
    return this.child !== undefined && this.exited === undefined;
  }

  /** Types `line` and waits (bounded) for the one answer line it prints. */
  async send(line: string, timeoutMs: number): Promise<LineAnswer> {
    if (!this.running) this.start();
    const errBefore = this.err.length;
    this.child!.stdin!.write(`${line}\n`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const nl = this.out.indexOf('\n');
      if (nl >= 0) {
        const text = this.out.slice(0, nl);
        this.out = this.out.slice(nl + 1);
        const brace = text.indexOf('{');
        if (brace < 0) continue; // banner or a prompt line: not an answer
        let json: Record<string, unknown> | undefined;
        try {
          json = JSON.parse(text.slice(brace)) as Record<string, unknown>;
        } catch {
          json = undefined;
        }
        return { json, text: text.slice(brace), stderr: this.err.slice(errBefore) };
      }
      if (this.exited) {
        const why = `ns_client exited (code ${this.exited.code}, signal ${this.exited.signal})`;
        return { json: undefined, text: this.out, stderr: this.err.slice(errBefore), problem: why };
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        this.stop();
        return { json: undefined, text: this.out, stderr: this.err.slice(errBefore), problem: `no answer within ${timeoutMs} ms` };
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 1000));
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  stop(): void {
    if (this.child && this.exited === undefined) this.child.kill('SIGKILL');
  }

  /** Ends input and waits (bounded) for the process to exit. */
  async close(timeoutMs = 10_000): Promise<void> {
    if (!this.child || this.exited) return;
    const child = this.child;
    const done = new Promise<void>((resolve) => {
      if (this.exited) resolve();
      else child.once('exit', () => resolve());
    });
    child.stdin!.end();
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await done;
    clearTimeout(t);
  }
}

export interface ProcessAnswer {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs ns_client once with `args` and no input (end of input at once). */
export function runNsClientOnce(args: string[], timeoutMs: number): Promise<ProcessAnswer> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN_JS, '--role=ns_client', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const t = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}
