/**
 * Route tests in process (fastify's inject()): one call that sends a msgpack body, decodes the
 * answer (msgpack, else the text), and records per route whether it answered a success and
 * which catalogue codes it refused with, so a test can check that every registered route got
 * both (the tablet's and the nameserver's routes-inject tests).
 */
import { decode, encode, isErrorCode, MSGPACK_CONTENT_TYPE, type InjectRequest, type InjectResponse } from '@tessera/common';

/** A server that answers fastify's inject() (TabletServer, NameServer). */
export interface Injectable {
  inject(request: InjectRequest): Promise<InjectResponse>;
}

/** A decoded answer: msgpack as is, anything else as `{ text }`. */
export interface InjectAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** What the routes answered, by `METHOD url`: a 2xx seen, and the codes of the refusals. */
export class RouteLedger {
  private readonly seen = new Map<string, { ok: boolean; codes: Set<string> }>();

  /** Sends one request (a Buffer body as is, anything else msgpack-encoded) and records the answer. */
  async call(server: Injectable, method: 'GET' | 'POST', url: string, body?: unknown, headers: Record<string, string> = {}): Promise<InjectAnswer> {
    const res = await server.inject({
      method, url, headers: { ...(body === undefined ? {} : { 'content-type': MSGPACK_CONTENT_TYPE }), ...headers },
      ...(body === undefined ? {} : { payload: Buffer.isBuffer(body) ? body : encode(body) }),
    });
    const type = String(res.headers['content-type'] ?? '');
    const parsed = type.startsWith(MSGPACK_CONTENT_TYPE) ? (decode(res.rawPayload) as Record<string, unknown>) : { text: res.body };
    const entry = this.seen.get(`${method} ${url}`) ?? { ok: false, codes: new Set<string>() };
    this.seen.set(`${method} ${url}`, entry);
    if (res.statusCode < 300) entry.ok = true;
    const code = (parsed?.error as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string') entry.codes.add(code);
    return { status: res.statusCode, body: parsed };
  }

  /** For `METHOD url`: whether a success was seen, and the catalogue codes it refused with. */
  coverage(route: string): { ok: boolean; catalogueCodes: string[] } {
    const s = this.seen.get(route);
    return { ok: s?.ok === true, catalogueCodes: [...(s?.codes ?? [])].filter((c) => isErrorCode(c)) };
  }
}
