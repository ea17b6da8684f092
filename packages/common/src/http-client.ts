/**
 * The HTTP client every process uses to call another: one undici keep-alive Pool per endpoint,
 * msgpack bodies, errors rebuilt from the catalogue. Transport failures become UNAVAILABLE and
 * time-outs TIMEOUT, both retryable; the caller decides whether to retry.
 */
import type { Pool as UndiciPool } from 'undici';
import { decode, encode, MSGPACK_CONTENT_TYPE } from './codec.js';
import { errorFromWire, TesseraError } from './errors.js';
import { requireCjs } from './require-cjs.js';

/**
 * undici's Pool, loaded from its own module rather than undici's index, which also loads fetch,
 * WebSocket, cookies and caches: ~60 ms of CPU at the start of every process that calls another
 * (each role, each ns_client command) for classes this client never uses. The same class
 * (http-client.test checks it against the index's).
 */
const Pool = requireCjs('undici/lib/dispatcher/pool.js') as typeof UndiciPool;
type Pool = UndiciPool;

/** The headers of a call without extra ones (one object for every call). */
const MSGPACK_HEADERS = { 'content-type': MSGPACK_CONTENT_TYPE };

export interface HttpClientOptions {
  /** Sockets per endpoint. */
  connectionsPerEndpoint?: number;
  /** Requests pipelined on one socket. */
  pipelining?: number;
  /** Default time limit of one call. */
  timeoutMs?: number;
}

export interface CallOptions {
  timeoutMs?: number;
  /** Extra headers, e.g. the nameserver epoch. */
  headers?: Record<string, string>;
}

export class HttpClient {
  private readonly pools = new Map<string, Pool>();
  private readonly connections: number;
  private readonly pipelining: number;
  private readonly timeoutMs: number;
  private closed = false;

  constructor(options: HttpClientOptions = {}) {
    this.connections = options.connectionsPerEndpoint ?? 16;
    this.pipelining = options.pipelining ?? 1;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  private pool(endpoint: string): Pool {
    let pool = this.pools.get(endpoint);
    if (!pool) {
      if (this.closed) throw new TesseraError('UNAVAILABLE', 'the HTTP client is closed');
      pool = new Pool(`http://${endpoint}`, {
        connections: this.connections,
        pipelining: this.pipelining,
        keepAliveTimeout: 30_000,
        connectTimeout: 5_000,
      });
      this.pools.set(endpoint, pool);
    }
    return pool;
  }

  /** POSTs `body` as msgpack to `http://endpoint/path` and returns the decoded answer. */
  async call<T = unknown>(endpoint: string, path: string, body: unknown, options: CallOptions = {}): Promise<T> {
    return this.callRaw<T>(endpoint, path, encode(body), options);
  }

  /**
   * As `call`, with a body that is already msgpack-encoded: one buffer, or parts written one
   * after the other (codec.ts `encodeWithBinary`). Sent through undici's `dispatch` with a
   * handler that collects the answer's bytes (issue 11): `request()` builds a Readable stream and
   * a request handler per call, about 15% of an exchange's CPU on this path.
   */
  callRaw<T = unknown>(endpoint: string, path: string, payload: Uint8Array | readonly Uint8Array[], options: CallOptions = {}): Promise<T> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    return new Promise<T>((resolve, reject) => {
      let statusCode = 0;
      const chunks: Buffer[] = [];
      const handler = {
        onConnect: (): void => undefined,
        onUpgrade: (): void => undefined,
        onHeaders: (status: number): boolean => {
          statusCode = status;
          return true;
        },
        onData: (chunk: Buffer): boolean => {
          chunks.push(chunk);
          return true;
        },
        onComplete: (): void => {
          try {
            const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
            const decoded = bytes.length > 0 ? decode(bytes) : undefined;
            if (statusCode >= 400) reject(errorFromWire(decoded, statusCode));
            else resolve(decoded as T);
          } catch (err) {
            reject(err);
          }
        },
        onError: (err: unknown): void => reject(transportError(endpoint, path, err)),
      };
      try {
        this.pool(endpoint).dispatch(
          {
            method: 'POST',
            path,
            headers: requestHeaders(payload, options.headers),
            body: payload as Uint8Array,
            headersTimeout: timeoutMs,
            bodyTimeout: timeoutMs,
          },
          handler as unknown as Parameters<Pool['dispatch']>[1],
        );
      } catch (err) {
        reject(err instanceof TesseraError ? err : transportError(endpoint, path, err));
      }
    });
  }

  /** Drops the pool of one endpoint (e.g. after it left the cluster). */
  async forget(endpoint: string): Promise<void> {
    const pool = this.pools.get(endpoint);
    this.pools.delete(endpoint);
    if (pool) await pool.destroy().catch(() => {});
  }

  async close(): Promise<void> {
    this.closed = true;
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.destroy().catch(() => {})));
  }
}

/** The headers of a msgpack body; parts are sent with their total length (not chunked). */
function requestHeaders(payload: Uint8Array | readonly Uint8Array[], extra: Record<string, string> | undefined): Record<string, string> {
  if (!Array.isArray(payload)) return extra ? { 'content-type': MSGPACK_CONTENT_TYPE, ...extra } : MSGPACK_HEADERS;
  let bytes = 0;
  for (const part of payload as readonly Uint8Array[]) bytes += part.length;
  return { 'content-type': MSGPACK_CONTENT_TYPE, ...extra, 'content-length': String(bytes) };
}

function transportError(endpoint: string, path: string, err: unknown): TesseraError {
  const code = (err as { code?: string })?.code ?? '';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new TesseraError('TIMEOUT', `${endpoint}${path}: ${code}`, { endpoint }, { cause: err });
  }
  return new TesseraError('UNAVAILABLE', `${endpoint}${path}: ${(err as Error)?.message ?? String(err)}`, { endpoint }, { cause: err });
}
