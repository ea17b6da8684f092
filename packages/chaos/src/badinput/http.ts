/**
 * Raw HTTP for hostile requests: any method, path, content type (or none) and body bytes, over
 * node:http so nothing in between fixes the request up. The answer is the status, the catalogue
 * code of a `{ error: { code } }` msgpack body, or what went wrong at the transport level (a
 * reset, no answer in time). Bounded: every request has a deadline.
 */
import http from 'node:http';
import net from 'node:net';
import { decode } from '@tessera/common';

export interface RawRequest {
  endpoint: string;
  /**
   * Declares this Content-Length but sends only `body` (a prefix), over a plain socket: for
   * bodies so far over the limit that the server must refuse them from the header alone.
   */
  declaredLength?: number;
  method: string;
  path: string;
  /** Content type header; undefined = none sent. */
  contentType: string | undefined;
  body: Buffer | undefined;
  timeoutMs: number;
}

export interface RawAnswer {
  /** HTTP status; 0 when no answer came. */
  status: number;
  /** `error.code` of the answer body, when it is a catalogue error. */
  code: string | undefined;
  /** For a 2xx answer with a `results` list (the multi routes): each result's `error.code` (undefined: answered). */
  partCodes?: Array<string | undefined>;
  /** What went wrong when there is no usable answer (transport error, body not msgpack). */
  problem: string | undefined;
  ms: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

export function closeAgent(): void {
  agent.destroy();
}

function splitEndpoint(endpoint: string): { host: string; port: number } {
  const i = endpoint.lastIndexOf(':');
  return { host: endpoint.slice(0, i), port: Number(endpoint.slice(i + 1)) };
}

function answerOf(status: number, bytes: Buffer): Omit<RawAnswer, 'ms'> {
  if (bytes.length === 0) return { status, code: undefined, problem: status >= 400 ? 'empty error body' : undefined };
  try {
    const body = decode(bytes) as { error?: { code?: unknown }; results?: unknown } | null;
    const code = body && typeof body === 'object' && body.error && typeof body.error.code === 'string' ? body.error.code : undefined;
    const results = body && typeof body === 'object' && Array.isArray(body.results) ? (body.results as unknown[]) : undefined;
    const partCodes = results?.map((r) => {
      const c = (r as { error?: { code?: unknown } } | null)?.error?.code;
      return typeof c === 'string' ? c : undefined;
    });
    return { status, code, ...(partCodes ? { partCodes } : {}), problem: status >= 400 && code === undefined ? 'error answer without a catalogue code' : undefined };
  } catch {
    return { status, code: undefined, problem: `answer is not msgpack: ${JSON.stringify(bytes.subarray(0, 80).toString('latin1'))}` };
  }
}

/** The declared-length request over a plain socket; reads the answer the server gives before the body. */
function sendDeclared(r: RawRequest & { declaredLength: number }): Promise<RawAnswer> {
  const { host, port } = splitEndpoint(r.endpoint);
  const started = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    let got = Buffer.alloc(0);
    const sock = net.connect({ host, port });
    const finish = (a: Omit<RawAnswer, 'ms'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ ...a, ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish({ status: 0, code: undefined, problem: `no answer within ${r.timeoutMs} ms to a request declaring ${r.declaredLength} bytes` }), r.timeoutMs);
    const tryParse = (ended: boolean): void => {
      const headEnd = got.indexOf('\r\n\r\n');
      if (headEnd < 0) {
        if (ended) finish({ status: 0, code: undefined, problem: `connection closed without an answer (${got.length} bytes)` });
        return;
      }
      const head = got.subarray(0, headEnd).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      const len = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      const body = got.subarray(headEnd + 4);
      if (len && body.length >= Number(len[1])) finish(answerOf(status, body.subarray(0, Number(len[1]))));
      else if (ended) finish(answerOf(status, body));
    };
    sock.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      tryParse(false);
    });
    sock.on('end', () => tryParse(true));
    sock.on('close', () => tryParse(true));
    sock.on('error', (err) => {
      if (got.length > 0) tryParse(true);
      else finish({ status: 0, code: undefined, problem: `transport error ${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`.trim() });
    });
    const headers = [
      `${r.method} ${r.path} HTTP/1.1`, `Host: ${r.endpoint}`, `Content-Length: ${r.declaredLength}`,
      ...(r.contentType !== undefined ? [`Content-Type: ${r.contentType}`] : []), 'Connection: close', '', '',
    ].join('\r\n');
    sock.write(headers);
    if (r.body) sock.write(r.body);
  });
}

export function send(r: RawRequest): Promise<RawAnswer> {
  if (r.declaredLength !== undefined) return sendDeclared({ ...r, declaredLength: r.declaredLength });
  const { host, port } = splitEndpoint(r.endpoint);
  const started = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    let gotResponse = false;
    const finish = (a: Omit<RawAnswer, 'ms'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...a, ms: Date.now() - started });
    };
    const headers: Record<string, string | number> = {};
    if (r.contentType !== undefined) headers['content-type'] = r.contentType;
    if (r.body !== undefined) headers['content-length'] = r.body.length;
    const req = http.request({ host, port, method: r.method, path: r.path, headers, agent });
    const timer = setTimeout(() => {
      finish({ status: 0, code: undefined, problem: `no answer within ${r.timeoutMs} ms` });
      req.destroy();
    }, r.timeoutMs);
    req.on('response', (res) => {
      gotResponse = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => finish({ status: res.statusCode ?? 0, code: undefined, problem: `answer cut off: ${err.message}` }));
      res.on('end', () => finish(answerOf(res.statusCode ?? 0, Buffer.concat(chunks))));
    });
    req.on('error', (err) => {
      // The server may answer (413) and close while the body is still being written: the
      // answer counts, the write error does not.
      if (gotResponse) return;
      const code = (err as NodeJS.ErrnoException).code ?? '';
      finish({ status: 0, code: undefined, problem: `transport error ${code} ${err.message}`.trim() });
    });
    if (r.body !== undefined && r.body.length > 0) req.end(r.body);
    else req.end();
  });
}
