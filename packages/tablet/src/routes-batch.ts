/**
 * `/v1/control/batch`: many control commands to one tablet in one request (the nameserver's bulk
 * failover sends one per tablet and phase, bulk-failover.ts). Each command names a batchable route
 * and carries that route's body; the commands run concurrently, each as its own route would run
 * it, and the answer lists one result per command in order: `{ ok: true }` or the command's coded
 * error (`{ error: { code, message } }`). The request's nameserver epoch is checked once, before
 * anything runs, and applies to every command. Routes join the batch with `batchable()`.
 */
import { bodyObject, invalidArgument, LIMITS, TesseraError, type HttpServer, type WireError } from '@tessera/common';
import type { EpochFence } from './routes-control.js';

/** Commands in one batch request. */
export const BATCH_COMMANDS_MAX = LIMITS.controlBatchCommandsMax;

type BatchHandler = (body: unknown) => Promise<unknown>;

const handlers = new WeakMap<HttpServer, Map<string, BatchHandler>>();

/** Registers `POST path` and lets batches carry it. */
export function batchable(app: HttpServer, path: string, handler: BatchHandler): void {
  app.post(path, (req) => handler(req.body));
  let map = handlers.get(app);
  if (map === undefined) handlers.set(app, (map = new Map()));
  map.set(path, handler);
}

function wireError(err: unknown): WireError {
  if (err instanceof TesseraError) return err.toWire();
  return new TesseraError('INTERNAL', err instanceof Error ? err.message : String(err)).toWire();
}

export function registerBatchRoute(app: HttpServer, fence: EpochFence): void {
  app.post('/v1/control/batch', async (req) => {
    const body = bodyObject(req.body);
    const commands = body.commands;
    if (!Array.isArray(commands) || commands.length === 0) throw invalidArgument('commands must be a non-empty array', { field: 'commands' });
    if (commands.length > BATCH_COMMANDS_MAX) throw invalidArgument(`at most ${BATCH_COMMANDS_MAX} commands per batch`, { field: 'commands' });
    const map = handlers.get(app) ?? new Map<string, BatchHandler>();
    const items = commands.map((c: unknown, i: number) => {
      const item = bodyObject(c);
      const handler = typeof item.path === 'string' ? map.get(item.path) : undefined;
      if (handler === undefined) throw invalidArgument(`commands[${i}].path is not a batchable route: ${JSON.stringify(item.path)}`, { field: 'commands' });
      return { handler, body: bodyObject(item.body) };
    });
    fence.check(body);
    const nsEpoch = body.nsEpoch;
    const results = await Promise.all(items.map(({ handler, body: b }) =>
      handler(nsEpoch === undefined ? b : { ...b, nsEpoch }).then((): { ok: true } | WireError => ({ ok: true }), wireError)));
    return { results };
  });
}
