/**
 * The fastify plugin every Tessera server registers: msgpack bodies in and out, the body limit,
 * and the one error shape `{ error: { code, message, details? } }`. Fastify's own errors (bad
 * content type, body too large, no route) are mapped onto catalogue codes; anything that is not
 * a TesseraError is logged and answered as INTERNAL, so a handler bug never kills the process.
 */
import type { FastifyInstance, FastifyError } from 'fastify';
import { decode, encode, MSGPACK_CONTENT_TYPE } from './codec.js';
import { TesseraError, type ErrorCode } from './errors.js';
import { LIMITS } from './limits.js';
import { requireCjs } from './require-cjs.js';
import type { Logger } from './log.js';
import { UNMATCHED_ROUTE, type ServerMetrics } from './metrics.js';

export interface ServerOptions {
  bodyBytesMax?: number;
  logger: Logger;
  /** Connections kept open without requests are closed after this long. */
  keepAliveTimeoutMs?: number;
  /** Served at `GET /metrics` and fed by every request; absent = no metrics. */
  metrics?: ServerMetrics;
  /** Requests on these path prefixes that take `ms` or longer are logged at WARN (the slow-request log); absent = none. */
  slowRequests?: SlowRequestLog;
}

/**
 * The slow-request log (etcd's "took too long" warnings, MongoDB's slowms): one WARN line per
 * request over the threshold, with fields `slowRequest` (route pattern), `ms` and `status`.
 */
export interface SlowRequestLog {
  ms: number;
  pathPrefixes: readonly string[];
}

/** The message of a slow-request line (what readers of role logs match on). */
export const SLOW_REQUEST_MSG = 'slow request';

/** Content types a route may set itself (`/metrics`, JSON health); everything else is msgpack. */
const OWN_CONTENT_TYPES = ['text/plain', 'application/json'];

/** True when the request's Accept asks for JSON (curl -H 'Accept: application/json', load balancers). */
export function wantsJson(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes('application/json');
}

/** Control and admin routes carry small bodies: they get LIMITS.controlBodyBytesMax. */
function isControlPath(url: string): boolean {
  return url.startsWith('/v1/control/') || url.startsWith('/v1/ns/') || url === '/v1/ping';
}

/** Bodies up to this many times the limit are read before being refused (see createHttpServer). */
export const BODY_HARD_CAP_FACTOR = 4;

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'DECODE_ERROR',
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_EMPTY_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'DECODE_ERROR',
  FST_ERR_CTP_INVALID_JSON_BODY: 'DECODE_ERROR',
};

/** Maps anything thrown in a handler onto the catalogue. */
export function toTesseraError(err: unknown): TesseraError {
  if (err instanceof TesseraError) return err;
  const fe = err as FastifyError;
  const mapped = fe?.code ? FASTIFY_CODES[fe.code] : undefined;
  if (mapped) return new TesseraError(mapped, fe.message);
  if (fe?.statusCode === 413) return new TesseraError('BODY_TOO_LARGE', fe.message);
  if (fe?.statusCode === 415) return new TesseraError('UNSUPPORTED_MEDIA_TYPE', fe.message);
  if (fe?.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) return new TesseraError('INVALID_ARGUMENT', fe.message);
  return new TesseraError('INTERNAL', fe?.message ?? String(err), undefined, { cause: err });
}

/**
 * fastify (a CommonJS package), loaded when the first server is made: a process that makes none
 * (ns_client, the SDK in a user's program) does not pay for loading it (~0.09 CPU s at start).
 */
function fastifyFactory(): typeof import('fastify').fastify {
  return (requireCjs('fastify') as typeof import('fastify')).fastify;
}

/** The server type every role builds routes on (fastify, kept behind common). */
export type HttpServer = FastifyInstance;
/** An in-process request and its answer (fastify's inject), for route tests. */
export type { InjectOptions as InjectRequest, LightMyRequestResponse as InjectResponse } from 'fastify';

/** Routes registered on each server, in registration order (registeredRoutes()). */
const ROUTES = new WeakMap<FastifyInstance, Array<{ method: string; url: string }>>();

/**
 * Every route registered on a server made by createHttpServer (fastify's implicit HEAD routes
 * left out): what the in-process route tests check their coverage against.
 */
export function registeredRoutes(app: FastifyInstance): Array<{ method: string; url: string }> {
  return [...(ROUTES.get(app) ?? [])];
}

/** A fastify instance that speaks msgpack and answers errors from the catalogue. */
export function createHttpServer(options: ServerOptions): FastifyInstance {
  const log = options.logger;
  const bodyBytesMax = options.bodyBytesMax ?? LIMITS.httpBodyBytesMax;
  const app = fastifyFactory()({
    logger: false,
    // Bodies up to this hard cap are read in full and then refused by size, so the client gets a
    // clean BODY_TOO_LARGE answer instead of a socket reset mid-upload; above it fastify refuses
    // from the content-length at once.
    bodyLimit: bodyBytesMax * BODY_HARD_CAP_FACTOR,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 65_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  const routes: Array<{ method: string; url: string }> = [];
  ROUTES.set(app, routes);
  app.addHook('onRoute', (r) => {
    for (const method of Array.isArray(r.method) ? r.method : [r.method]) if (method !== 'HEAD') routes.push({ method, url: r.url });
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(MSGPACK_CONTENT_TYPE, { parseAs: 'buffer' }, (req, body, done) => {
    const limit = isControlPath(req.url) ? Math.min(bodyBytesMax, LIMITS.controlBodyBytesMax) : bodyBytesMax;
    if ((body as Buffer).length > limit) {
      done(new TesseraError('BODY_TOO_LARGE', `request body of ${(body as Buffer).length} bytes is over the limit of ${limit}`), undefined);
      return;
    }
    try {
      done(null, decode(body as Buffer));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  // fastify's type says string; it sends any Buffer it is given as the body.
  app.setReplySerializer((payload) => encode(payload) as unknown as string);
  app.addHook('onSend', (_req, reply, payload, done) => {
    // Text a route serialized itself keeps its type; whatever the msgpack serializer made is msgpack
    // (fastify would label it application/json).
    const own = reply.getHeader('content-type');
    if (typeof payload !== 'string' || typeof own !== 'string' || !OWN_CONTENT_TYPES.some((t) => own.startsWith(t))) reply.header('content-type', MSGPACK_CONTENT_TYPE);
    done(null, payload);
  });
  const metrics = options.metrics;
  // One hook for all three: nothing is added to the request path when none is on.
  const slow = options.slowRequests !== undefined && options.slowRequests.ms > 0 ? options.slowRequests : undefined;
  if (metrics || log.debugEnabled || slow) {
    const debug = log.debugEnabled;
    app.addHook('onResponse', (req, reply, done) => {
      const route = req.routeOptions.url ?? UNMATCHED_ROUTE;
      const ms = reply.elapsedTime;
      metrics?.observeRequest(req.method, route, reply.statusCode, ms / 1000);
      if (debug) log.debug(`${req.method} ${req.url} ${reply.statusCode} ${ms.toFixed(2)} ms from ${req.ip}`);
      if (slow && ms >= slow.ms && slow.pathPrefixes.some((p) => req.url.startsWith(p))) {
        log.warn(`${SLOW_REQUEST_MSG}: ${req.method} ${req.url} ${reply.statusCode} took ${ms.toFixed(1)} ms (slow from ${slow.ms} ms) from ${req.ip}`, { slowRequest: route, ms: Math.round(ms * 10) / 10, status: reply.statusCode });
      }
      done();
    });
  }
  if (metrics) {
    app.get('/metrics', async (_req, reply) => {
      const { contentType, text } = await metrics.scrape();
      return reply.type(contentType).serializer((p: unknown) => p as string).send(text);
    });
  }
  app.setErrorHandler((err, req, reply) => {
    const te = toTesseraError(err);
    if (te.code === 'INTERNAL') log.error(`${req.method} ${req.url} failed: ${(err as Error)?.stack ?? String(err)}`);
    // Encoded here, not by the reply serializer: fastify bypasses it on some error paths.
    void reply.code(te.status).type(MSGPACK_CONTENT_TYPE).send(encode(te.toWire()));
  });
  app.setNotFoundHandler((req, reply) => {
    const te = new TesseraError('ROUTE_NOT_FOUND', `no route ${req.method} ${req.url}`);
    void reply.code(te.status).type(MSGPACK_CONTENT_TYPE).send(encode(te.toWire()));
  });
  return app;
}

/**
 * `GET /v1/health`: the body in msgpack, or in JSON when the request's Accept asks for it (curl,
 * load balancers).
 */
export function registerHealthRoute(app: FastifyInstance, body: () => Record<string, unknown>): void {
  app.get('/v1/health', async (req, reply) => {
    if (wantsJson(req.headers.accept)) return reply.type('application/json; charset=utf-8').serializer((p: unknown) => JSON.stringify(p)).send(body());
    return body();
  });
}

/** Reads the decoded body as a plain object, or refuses the request. */
export function bodyObject(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body) || Buffer.isBuffer(body)) {
    throw new TesseraError('INVALID_ARGUMENT', 'the request body must be a msgpack map');
  }
  return body as Record<string, unknown>;
}
