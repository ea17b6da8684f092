/**
 * The ns_client loop. With `cmd` it runs each `;`-separated command in order (all of them, even
 * after a failure, until `quit`) and resolves to exit code 0 when every one succeeded, 1 otherwise,
 * or the higher code a command asks for (healthcheck: 1 degraded, 2 unavailable). On a terminal,
 * Tab completes command, table and database names (completion.ts).
 * Without `cmd` it prints `ns leader: <endpoint>` and then reads commands line by line after the
 * prompt `<leader endpoint> <db>> ` until `quit`/`exit` or end of input, resolving to 0.
 * Confirmations (`drop`, `dropdb`) read their `yes`/`no` from the same input when interactive.
 * `format: 'json'` prints one JSON object per command instead of text.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { createInterface, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { DataOps, NsAdmin } from '@tessera/common';
import { COMMAND_NAMES, formatResult, runCommand, type CommandContext, type OutputFormat } from './commands.js';
import { completer, type CompletionSource } from './completion.js';
import type { ClusterProbe } from './healthcheck.js';
import { splitCommands } from './parse.js';

export interface NsClientOptions {
  admin: NsAdmin;
  data: DataOps;
  /** The database to start in (`--database`); none when absent. */
  database?: string;
  /** `--cmd`: commands to run instead of reading input. */
  cmd?: string;
  /** `--interactive`: ask before dropping. */
  interactive: boolean;
  input?: Readable;
  output?: Writable;
  /** The leading nameserver's endpoint as now known, for the prompt. */
  leaderEndpoint: () => string | undefined;
  /** `--format`: `table` (OpenMLDB's text, the default) or `json`. */
  format?: OutputFormat;
  /** Reads a table meta file (default: the file system). */
  readTextFile?: (path: string) => Promise<string>;
  /** Writes a file (default: the file system, relative to the current directory). */
  writeTextFile?: (path: string, text: string) => Promise<void>;
  /** Wall clock (default Date.now), for op execute times. */
  nowMs?: () => number;
  /** Tables from ZooKeeper and tablets' reports, for healthcheck. */
  probe?: ClusterProbe;
  /** Table and database names for Tab completion on a terminal. */
  completion?: CompletionSource;
}

const HISTORY_LINES = 1000;

/** Lines of an input, pulled one at a time; undefined at end of input. */
class LineSource {
  private readonly rl: Interface;
  private readonly output: Writable;
  private readonly terminal: boolean;
  private readonly queue: string[] = [];
  private readonly waiters: Array<(line: string | undefined) => void> = [];
  private closed = false;

  constructor(input: Readable, output: Writable, complete?: ReturnType<typeof completer>) {
    this.output = output;
    this.terminal = (input as { isTTY?: boolean }).isTTY === true && (output as { isTTY?: boolean }).isTTY === true;
    this.rl = this.terminal
      ? createInterface({ input, output, terminal: true, historySize: HISTORY_LINES, ...(complete ? { completer: complete } : {}) })
      : createInterface({ input, terminal: false });
    this.rl.on('line', (line) => {
      const w = this.waiters.shift();
      if (w) w(line);
      else this.queue.push(line);
    });
    // Ctrl-C at the prompt ends the session as end of input does.
    this.rl.on('SIGINT', () => this.rl.close());
    this.rl.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w(undefined);
    });
  }

  /** Shows `prompt` (on a terminal readline keeps it for line editing) and waits for the next line. */
  next(prompt?: string): Promise<string | undefined> {
    if (prompt !== undefined) {
      if (this.terminal && !this.closed) {
        this.rl.setPrompt(prompt);
        this.rl.prompt();
      } else {
        this.output.write(prompt);
      }
    }
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  close(): void {
    this.rl.close();
  }
}

export async function runNsClient(opts: NsClientOptions): Promise<number> {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stdout;
  const format = opts.format ?? 'table';
  let lines: LineSource | undefined;
  // `ctx` is assigned below, before any line is read.
  const source = (): LineSource => (lines ??= new LineSource(input, output, completer(COMMAND_NAMES, opts.completion, () => ctx.db)));
  const print = (text: string): void => {
    if (text !== '') output.write(`${text}\n`);
  };

  const ctx: CommandContext = {
    admin: opts.admin,
    data: opts.data,
    db: opts.database ?? '',
    interactive: opts.interactive,
    confirm: async (question) => {
      print(question);
      const answer = await source().next();
      return answer !== undefined && answer.trim() === 'yes';
    },
    readTextFile: opts.readTextFile ?? ((path) => readFile(path, 'utf8')),
    writeTextFile: opts.writeTextFile ?? ((path, text) => writeFile(path, text, 'utf8')),
    nowMs: opts.nowMs ?? Date.now,
    format,
    ...(format === 'table' ? { progress: print } : {}),
    ...(format === 'table' && (output as { isTTY?: boolean }).isTTY === true
      ? { redraw: (line: string | undefined) => output.write(line === undefined ? '\n' : `\r\x1b[2K${line}`) }
      : {}),
    ...(opts.probe ? { probe: opts.probe } : {}),
  };

  try {
    if (opts.cmd !== undefined) {
      // The highest code asked for: 1 for a failed command, healthcheck's own (0, 1, 2).
      let code = 0;
      for (const command of splitCommands(opts.cmd)) {
        const result = await runCommand(command, ctx);
        print(formatResult(result, format));
        code = Math.max(code, result.exitCode ?? (result.ok ? 0 : 1));
        if (result.quit) break;
      }
      return code;
    }

    if (format === 'table') print(`ns leader: ${opts.leaderEndpoint() ?? '-'}`);
    for (;;) {
      const prompt = `${[opts.leaderEndpoint() ?? '', ctx.db].filter((p) => p !== '').join(' ')}> `;
      const line = await source().next(prompt);
      if (line === undefined) break;
      if (line.trim() === '') continue;
      const result = await runCommand(line, ctx);
      print(formatResult(result, format));
      if (result.quit) break;
    }
    return 0;
  } finally {
    lines?.close();
  }
}
