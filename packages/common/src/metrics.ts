/**
 * Prometheus metrics of one server process (prom-client): its own registry (several servers may
 * share a process in tests), the process defaults (RSS, CPU, heap, event-loop lag, GC), the HTTP
 * request counter and latency histogram per route, and ZooKeeper session state. Role-specific
 * gauges (replicas, ops) are registered by the roles on `registry`; gauges that describe state
 * are computed when scraped (`collect`), so only the per-request histogram is on the hot path, and
 * its label children are cached per route so one observe is a map lookup and a bucket increment.
 *
 * Names follow Prometheus conventions: `tessera_` prefix, base units (`_seconds`, `_bytes`),
 * counters end in `_total`. Labels are bounded: route patterns (never raw URLs), status codes,
 * and for replicas tid/pid/follower endpoint.
 */
import type { Counter, Histogram, Registry } from 'prom-client';
import { requireCjs } from './require-cjs.js';

/**
 * prom-client (a CommonJS package), loaded when the first ServerMetrics is made: a process that
 * serves no metrics (ns_client, the SDK in a user's program) does not pay for loading it.
 */
function promClient(): typeof import('prom-client') {
  return requireCjs('prom-client') as typeof import('prom-client');
}

/** Request latency buckets, seconds: 100 µs to 10 s. */
export const HTTP_LATENCY_BUCKETS_S = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The route label of requests that matched no route (keeps the label set bounded). */
export const UNMATCHED_ROUTE = 'unmatched';

/** What a ZooKeeper session exposes to metrics (CoordSession has it). */
export interface ZkSessionEvents {
  readonly isConnected: boolean;
  on(event: 'connected' | 'disconnected' | 'expired', listener: (...args: never[]) => void): unknown;
}

export class ServerMetrics {
  readonly registry: Registry;
  private readonly requests: Counter<'method' | 'route' | 'code'>;
  private readonly latency: Histogram<'method' | 'route'>;
  private readonly counterChildren = new Map<string, { inc(): void }>();
  private readonly latencyChildren = new Map<string, { observe(v: number): void }>();
  private readonly zkReconnects: Counter;
  private readonly zkExpirations: Counter;
  private zkSession: ZkSessionEvents | undefined;

  constructor(role: string) {
    const { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } = promClient();
    this.registry = new Registry();
    this.registry.setDefaultLabels({ role });
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({ name: 'tessera_http_requests_total', help: 'HTTP requests answered, by route pattern and status code', labelNames: ['method', 'route', 'code'], registers: [this.registry] });
    this.latency = new Histogram({ name: 'tessera_http_request_duration_seconds', help: 'HTTP request latency from arrival to the end of the answer, by route pattern', labelNames: ['method', 'route'], buckets: HTTP_LATENCY_BUCKETS_S, registers: [this.registry] });
    const zk = (): ZkSessionEvents | undefined => this.zkSession;
    new Gauge({
      name: 'tessera_zk_session_connected', help: '1 while the ZooKeeper session is connected, 0 otherwise (-1 without ZooKeeper)', registers: [this.registry],
      collect() {
        const s = zk();
        this.set(s === undefined ? -1 : s.isConnected ? 1 : 0);
      },
    });
    this.zkReconnects = new Counter({ name: 'tessera_zk_reconnects_total', help: 'ZooKeeper (re)connections after the first one', registers: [this.registry] });
    this.zkExpirations = new Counter({ name: 'tessera_zk_session_expirations_total', help: 'ZooKeeper sessions lost (expired or dropped)', registers: [this.registry] });
  }

  /** One answered request; `route` is the route pattern (or UNMATCHED_ROUTE). */
  observeRequest(method: string, route: string, code: number, seconds: number): void {
    const key = `${method} ${route}`;
    let h = this.latencyChildren.get(key);
    if (!h) {
      h = this.latency.labels(method, route);
      this.latencyChildren.set(key, h);
    }
    h.observe(seconds);
    const ckey = `${key} ${code}`;
    let c = this.counterChildren.get(ckey);
    if (!c) {
      c = this.requests.labels(method, route, String(code));
      this.counterChildren.set(ckey, c);
    }
    c.inc();
  }

  /** Follows a ZooKeeper session's state (call once connected). */
  watchZkSession(session: ZkSessionEvents): void {
    this.zkSession = session;
    session.on('connected', () => this.zkReconnects.inc());
    session.on('expired', () => this.zkExpirations.inc());
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}
