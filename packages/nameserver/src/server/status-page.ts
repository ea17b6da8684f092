/**
 * The status page of the leading nameserver: `GET /` (static HTML), `GET /status.js` (the page's
 * script, which polls `GET /status.json` every second) and `GET /status.json` (status-view.ts).
 * A standby answers every one of them with a 307 to the same path on the leader. These are the
 * only non-msgpack routes: they write the raw response themselves (fastify's reply is hijacked)
 * so the msgpack plugin every Tessera server registers stays as it is for the API.
 */
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { HttpServer } from '@tessera/common';
import type { StatusView } from './status-view.js';

/** The page's files, shipped in the package beside dist/ (package `static/`). */
const STATIC_DIR = new URL('../../../static/', import.meta.url);

export interface StatusPageSource {
  /** True while this nameserver leads. */
  leading(): boolean;
  /** The leader's endpoint as this nameserver knows it, if any. */
  leader(): Promise<string | undefined>;
  view(): Promise<StatusView>;
}

/** The part of fastify's reply used here. */
interface RawReply {
  hijack(): unknown;
  raw: ServerResponse;
}

function sendRaw(reply: RawReply, status: number, headers: Record<string, string>, body: string): void {
  reply.hijack();
  reply.raw.writeHead(status, { 'cache-control': 'no-store', ...headers });
  reply.raw.end(body);
}

export function registerStatusPage(app: HttpServer, source: StatusPageSource): void {
  const html = readFileSync(new URL('status.html', STATIC_DIR), 'utf8');
  const js = readFileSync(new URL('status.js', STATIC_DIR), 'utf8');
  const route = (path: string, type: string, body: () => Promise<string>, cors = false): void => {
    app.get(path, async (_req, reply) => {
      const headers: Record<string, string> = cors ? { 'access-control-allow-origin': '*' } : {};
      if (!source.leading()) {
        const leader = await source.leader();
        if (leader) return sendRaw(reply, 307, { ...headers, location: `http://${leader}${path}`, 'content-type': 'text/plain' }, `the leader is ${leader}\n`);
        return sendRaw(reply, 503, { ...headers, 'content-type': 'text/plain', 'retry-after': '1' }, 'no nameserver leads at the moment\n');
      }
      return sendRaw(reply, 200, { ...headers, 'content-type': type }, await body());
    });
  };
  route('/', 'text/html; charset=utf-8', async () => html);
  route('/status.js', 'text/javascript; charset=utf-8', async () => js);
  // Any origin may read it: after a leader change the page keeps polling through the redirect.
  route('/status.json', 'application/json', async () => JSON.stringify(await source.view()), true);
}
