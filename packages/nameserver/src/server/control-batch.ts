/**
 * The one way the nameserver sends many control commands to one tablet: `/v1/control/batch`
 * (the tablet's routes-batch.ts), at most LIMITS.controlBatchCommandsMax commands a request, each
 * command answered on its own (`undefined` for done, or its coded error). Both batchers use it:
 * the op engine's `sendBatch` effect (bulk failover, op-shell.ts) and the shell's per-turn
 * coalescing of a create's replica calls (command-coalescer.ts).
 *
 * A tablet that refuses the batch itself — an older version whose batch route does not take one
 * of the commands, or has no batch route (ROUTE_NOT_FOUND) — gets the commands one request each,
 * as before batches existed. Only that refusal falls back: any other failure of the request
 * (a timeout, a stale epoch, a tablet going away) is every command's outcome, and is not sent
 * again as singles (a command may have run; the caller's retry decides).
 */
import { errorFromWire, LIMITS, TesseraError } from '@tessera/common';

export interface ControlCommand {
  path: string;
  body: Record<string, unknown>;
}

/** Sends one request to the tablet (the shell's HTTP client, the nameserver epoch added). */
export type ControlCall = (endpoint: string, path: string, body: Record<string, unknown>) => Promise<unknown>;

/** Per command: `undefined` when it ran, else its coded error. */
export type CommandOutcome = TesseraError | undefined;

/** True when the tablet refused the batch request as a whole, not what is in it. */
export function batchRefused(err: unknown): boolean {
  if (!(err instanceof TesseraError)) return false;
  if (err.code === 'ROUTE_NOT_FOUND') return true;
  return err.code === 'INVALID_ARGUMENT' && err.details?.field === 'commands';
}

/** The outcome of every command of one answered batch request, in order. */
export function batchOutcomes(answer: unknown, count: number): CommandOutcome[] {
  const results = (answer as { results?: unknown[] } | undefined)?.results;
  const out: CommandOutcome[] = [];
  for (let i = 0; i < count; i++) {
    const r = results?.[i] as { ok?: boolean } | undefined;
    out.push(r?.ok === true ? undefined : errorFromWire(r, 0));
  }
  return out;
}

function asTesseraError(err: unknown): TesseraError {
  return err instanceof TesseraError ? err : new TesseraError('INTERNAL', err instanceof Error ? err.message : String(err));
}

async function sendChunk(call: ControlCall, endpoint: string, commands: ControlCommand[]): Promise<CommandOutcome[]> {
  try {
    return batchOutcomes(await call(endpoint, '/v1/control/batch', { commands }), commands.length);
  } catch (err) {
    if (!batchRefused(err)) return commands.map(() => asTesseraError(err));
    return Promise.all(commands.map((c) => call(endpoint, c.path, c.body).then(() => undefined, asTesseraError)));
  }
}

/** Runs `commands` on `endpoint`: one outcome per command, in order. Never rejects. */
export async function sendControlBatch(call: ControlCall, endpoint: string, commands: ControlCommand[]): Promise<CommandOutcome[]> {
  const max = LIMITS.controlBatchCommandsMax;
  if (commands.length <= max) return sendChunk(call, endpoint, commands);
  const chunks: Array<Promise<CommandOutcome[]>> = [];
  for (let i = 0; i < commands.length; i += max) chunks.push(sendChunk(call, endpoint, commands.slice(i, i + max)));
  return (await Promise.all(chunks)).flat();
}
