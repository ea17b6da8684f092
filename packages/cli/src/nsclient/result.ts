/**
 * What every ns_client command answers with, built one way: `ok` / `fail` results (with the
 * catalogue code of a refusal kept for --format=json and the exit code), and OpenMLDB's
 * "please enter database first". commands.ts and the command modules next to it use these.
 */
import { TesseraError } from '@tessera/common';
import type { CommandResult } from './commands.js';

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
