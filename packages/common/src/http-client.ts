/**
 * The HTTP client every process uses to call another: one undici keep-alive Pool per endpoint,
 * msgpack bodies, errors rebuilt from the catalogue. Transport failures become UNAVAILABLE and
 * time-outs TIMEOUT, both retryable; the caller decides whether to retry.
 */
import { Pool } from 'undici';
import { decode, encode, MSGPACK_CONTENT_TYPE } from './codec.js';
import { errorFromWire, TesseraError } from './errors.js';

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

  /** As `call`, with a body that is already msgpack-encoded. */
  async callRaw<T = unknown>(endpoint: string, path: string, payload: Uint8Array, options: CallOptions = {}): Promise<T> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    let res;
    try {
      res = await this.pool(endpoint).request({
        method: 'POST',
        path,
        headers: { 'content-type': MSGPACK_CONTENT_TYPE, ...options.headers },
        body: payload,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
    } catch (err) {
      throw transportError(endpoint, path, err);
    }
    let bytes: Buffer;
    try {
      bytes = Buffer.from(await res.body.arrayBuffer());
    } catch (err) {
      throw transportError(endpoint, path, err);
    }
    const decoded = bytes.length > 0 ? decode(bytes) : undefined;
    if (res.statusCode >= 400) throw errorFromWire(decoded, res.statusCode);
    return decoded as T;
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

function transportError(endpoint: string, path: string, err: unknown): TesseraError {
  const code = (err as { code?: string })?.code ?? '';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new TesseraError('TIMEOUT', `${endpoint}${path}: ${code}`, { endpoint }, { cause: err });
  }
  return new TesseraError('UNAVAILABLE', `${endpoint}${path}: ${(err as Error)?.message ?? String(err)}`, { endpoint }, { cause: err });
}
