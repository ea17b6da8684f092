/**
 * What every ns_client command gets and answers with, built one way: the handler's context and
 * result types, `ok` / `fail` results (with the catalogue code of a refusal kept for
 * --format=json and the exit code), OpenMLDB's "please enter database first", and the preambles
 * that find the current database and a table's metadata. commands.ts (the command table) and the
 * command modules next to it use these.
 */
import { TesseraError, type DataOps, type NsAdmin, type TableInfo } from '@tessera/common';
import type { ClusterProbe } from './healthcheck.js';

export interface CommandResult {
  ok: boolean;
  /** What ns_client prints (no final newline); empty prints nothing. */
  output: string;
  /** The structured answer behind the text, for `--format=json`. */
  data?: unknown;
  /** Catalogue code of the failure, when the nameserver or SDK gave one. */
  code?: string;
  /** `quit` / `exit`: stop reading commands. */
  quit?: boolean;
  /** The exit code this result asks for with `--cmd` (healthcheck: 0, 1, 2); default 0 ok, 1 failed. */
  exitCode?: number;
}

export type OutputFormat = 'table' | 'json';

/** What a handler may use; `db` is the current database and `use` changes it. */
export interface CommandContext {
  admin: NsAdmin;
  data: DataOps;
  db: string;
  /** Ask before dropping (OpenMLDB's `--interactive`). */
  interactive: boolean;
  /** Prints the question and reads the answer; true only for `yes`. */
  confirm(question: string): Promise<boolean>;
  readTextFile(path: string): Promise<string>;
  /** Writes a file (gettablepartition's `<table>_<pid>.txt`), relative to the current directory. */
  writeTextFile?(path: string, text: string): Promise<void>;
  nowMs(): number;
  /** Prints a progress line at once (long-running commands); absent = the lines go into the output. */
  progress?: (line: string) => void;
  /** Tables from ZooKeeper and tablets' own reports (healthcheck); absent in tests without a cluster. */
  probe?: ClusterProbe;
  /** On a terminal: replaces the current line (`showopstatus --wait`); undefined ends it with a newline. */
  redraw?: (line: string | undefined) => void;
  /** The output format (`--format`): json asks the nameserver for each op's detail too. */
  format?: OutputFormat;
  /** Waits (tests pass a fake); default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
}

export type Handler = (args: string[], ctx: CommandContext) => Promise<CommandResult>;


/** Runs `body` with the current database, or fails when none is selected. */
export async function withDb(ctx: CommandContext, body: (db: string) => Promise<CommandResult>): Promise<CommandResult> {
  if (ctx.db === '') return fail(NO_DATABASE);
  return body(ctx.db);
}

/** Runs `body` with the table's metadata; `table <name> does not exist` when there is none. */
export async function withTable(ctx: CommandContext, name: string, failPrefix: string, body: (t: TableInfo) => Promise<CommandResult>): Promise<CommandResult> {
  return withDb(ctx, async (db) => {
    let table: TableInfo;
    try {
      table = (await ctx.admin.showschema({ db, name })).table;
    } catch (err) {
      if (err instanceof TesseraError && err.code === 'TABLE_NOT_FOUND') return fail(`table ${name} does not exist`, err.code);
      return failWith(failPrefix, err);
    }
    return body(table);
  });
}

export function opsData(res: { opIds: number[] }): unknown {
  return { opIds: res.opIds };
}


export function ok(output: string, data?: unknown): CommandResult {
  return data === undefined ? { ok: true, output } : { ok: true, output, data };
}

export function fail(output: string, code?: string): CommandResult {
  return code === undefined ? { ok: false, output } : { ok: false, output, code };
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `prefix` + the error's own text (the nameserver's message), keeping its catalogue code. */
export function failWith(prefix: string, err: unknown): CommandResult {
  return fail(prefix + messageOf(err), err instanceof TesseraError ? err.code : undefined);
}

export const NO_DATABASE = 'please enter database first';

/** A command's usage line as printed on wrong arguments. */
export function usageLine(name: string, usage: string): CommandResult {
  return fail(`usage: ${name} ${usage}`.trimEnd());
}
