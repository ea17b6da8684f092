/**
 * A TCP proxy on 127.0.0.1 in front of one target (a tablet, a nameserver, ZooKeeper), for fault
 * injection (shared/reference/reliability.md §3.3): the process under test advertises the proxy's
 * endpoint, so every peer reaches it through here. Owns its listening socket and every pair of
 * sockets it forwards. Faults:
 *   blackhole()  no byte passes either way on new or existing connections, which stay open (as
 *                dropped packets: peers see timeouts, never a reset); reading stops, so senders
 *                back up in the kernel as they would with no ACKs
 *   reset()      existing connections are reset (RST) and new ones reset as soon as accepted
 *   delay(ms)    every chunk is forwarded ms later, in order (applies while passing)
 *   heal()       back to pass-through with no delay; connections that lived through a blackhole
 *                are destroyed, so clients reconnect cleanly instead of resuming a stalled stream
 * node:net only.
 */
import net from 'node:net';
import { invalidArgument } from '@tessera/common';

/** Bounds of this module, named once. */
export const PROXY_LIMITS = {
  /** Largest delay(ms) accepted. */
  delayMsMax: 600_000,
} as const;

export interface ProxyOptions {
  /** Host of the target (127.0.0.1 in tests). */
  targetHost: string;
  targetPort: number;
  /** Port to listen on, on 127.0.0.1; a free one when absent or 0. */
  listenPort?: number;
}

export type ProxyMode = 'pass' | 'blackhole' | 'reset';

export interface ProxyCounters {
  /** Connections accepted since start (including the ones reset at once). */
  connectionsAccepted: number;
  /** Connections reset at once because the proxy was in reset mode. */
  connectionsRefused: number;
  /** Client connections open now. */
  connectionsOpen: number;
  /** Bytes forwarded client → target. */
  bytesToTarget: number;
  /** Bytes forwarded target → client. */
  bytesFromTarget: number;
}

export interface Proxy {
  /** Always 127.0.0.1. */
  readonly host: string;
  readonly port: number;
  /** `127.0.0.1:<port>`: what the process behind the proxy advertises, or a zk_cluster entry. */
  readonly endpoint: string;
  readonly mode: ProxyMode;
  readonly delayMs: number;
  blackhole(): void;
  reset(): void;
  delay(ms: number): void;
  heal(): void;
  counters(): ProxyCounters;
  /** Destroys every connection and stops listening. */
  close(): Promise<void>;
}

interface Pending {
  chunk: Buffer;
  dueMs: number;
}

/** One direction of one connection: a FIFO of delayed chunks and backpressure. */
class Pipe {
  private readonly queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    private readonly link: Link,
    private readonly count: (bytes: number) => void,
  ) {
    from.on('data', (chunk: Buffer) => this.onData(chunk));
    to.on('drain', () => {
      if (this.link.flowing()) from.resume();
    });
  }

  private onData(chunk: Buffer): void {
    if (!this.link.flowing()) return; // read before the pause took effect: dropped, as a lost packet
    const delayMs = this.link.delayMs();
    if (delayMs > 0 || this.queue.length > 0) {
      this.queue.push({ chunk, dueMs: Date.now() + delayMs });
      this.schedule();
      return;
    }
    this.write(chunk);
  }

  private write(chunk: Buffer): void {
    if (this.to.destroyed) return;
    this.count(chunk.length);
    if (!this.to.write(chunk)) this.from.pause();
  }

  private schedule(): void {
    if (this.timer !== undefined || this.queue.length === 0) return;
    const waitMs = Math.max(0, this.queue[0]!.dueMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, waitMs);
  }

  private flush(): void {
    const now = Date.now();
    while (this.queue.length > 0 && this.queue[0]!.dueMs <= now && this.link.flowing()) this.write(this.queue.shift()!.chunk);
    this.schedule();
  }

  /** Drops what is queued (a blackhole loses what was in flight). */
  drop(): void {
    this.queue.length = 0;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** A client connection and, once passing, its connection to the target. */
class Link {
  upstream: net.Socket | undefined;
  private readonly pipes: Pipe[] = [];

  constructor(
    readonly client: net.Socket,
    private readonly proxy: TcpProxy,
  ) {}

  flowing(): boolean {
    return this.proxy.mode === 'pass';
  }

  delayMs(): number {
    return this.proxy.delayMs;
  }

  /** Opens the target connection and starts forwarding both ways. */
  connect(targetHost: string, targetPort: number, counters: ProxyCounters): void {
    const upstream = net.connect({ host: targetHost, port: targetPort });
    this.upstream = upstream;
    upstream.setNoDelay(true);
    this.client.setNoDelay(true);
    this.pipes.push(new Pipe(this.client, upstream, this, (n) => (counters.bytesToTarget += n)));
    this.pipes.push(new Pipe(upstream, this.client, this, (n) => (counters.bytesFromTarget += n)));
    upstream.on('error', () => this.destroy());
    upstream.on('close', () => this.destroy());
  }

  /** Stops reading both ways and loses what is in flight. */
  stall(): void {
    this.client.pause();
    this.upstream?.pause();
    for (const p of this.pipes) p.drop();
  }

  resume(): void {
    this.client.resume();
    this.upstream?.resume();
  }

  destroy(): void {
    for (const p of this.pipes) p.drop();
    this.client.destroy();
    this.upstream?.destroy();
  }

  reset(): void {
    for (const p of this.pipes) p.drop();
    if (!this.client.destroyed) this.client.resetAndDestroy();
    if (this.upstream && !this.upstream.destroyed) this.upstream.resetAndDestroy();
  }
}

class TcpProxy implements Proxy {
  readonly host = '127.0.0.1';
  mode: ProxyMode = 'pass';
  delayMs = 0;
  private readonly links = new Set<Link>();
  private readonly stats: ProxyCounters = { connectionsAccepted: 0, connectionsRefused: 0, connectionsOpen: 0, bytesToTarget: 0, bytesFromTarget: 0 };
  private closed = false;

  constructor(
    private readonly server: net.Server,
    readonly port: number,
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    server.on('connection', (socket) => this.accept(socket));
  }

  get endpoint(): string {
    return `${this.host}:${this.port}`;
  }

  blackhole(): void {
    this.mode = 'blackhole';
    for (const link of this.links) link.stall();
  }

  reset(): void {
    this.mode = 'reset';
    for (const link of [...this.links]) link.reset();
  }

  delay(ms: number): void {
    if (!Number.isSafeInteger(ms) || ms < 0 || ms > PROXY_LIMITS.delayMsMax) {
      throw invalidArgument(`delay must be an integer from 0 to ${PROXY_LIMITS.delayMsMax} ms: ${String(ms)}`, { limit: 'delayMsMax' });
    }
    this.delayMs = ms;
  }

  heal(): void {
    const wasBlackholed = this.mode === 'blackhole';
    this.mode = 'pass';
    this.delayMs = 0;
    // Every connection open now lived through the blackhole; a fresh one is cleaner than a stalled one.
    for (const link of [...this.links]) {
      if (wasBlackholed) link.destroy();
      else link.resume();
    }
  }

  counters(): ProxyCounters {
    return { ...this.stats, connectionsOpen: this.links.size };
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const link of [...this.links]) link.destroy();
    this.links.clear();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    this.stats.connectionsAccepted++;
    client.on('error', () => undefined);
    if (this.closed || this.mode === 'reset') {
      if (!this.closed) this.stats.connectionsRefused++;
      client.resetAndDestroy();
      return;
    }
    const link = new Link(client, this);
    this.links.add(link);
    client.on('close', () => {
      this.links.delete(link);
      link.destroy();
    });
    // Blackholed: the target never hears of it (heal() destroys it anyway).
    if (this.mode === 'blackhole') link.stall();
    else link.connect(this.targetHost, this.targetPort, this.stats);
  }
}

/** Starts a proxy listening on 127.0.0.1 and forwarding every connection to the target. */
export function startProxy(options: ProxyOptions): Promise<Proxy> {
  const { targetHost, targetPort, listenPort = 0 } = options;
  if (typeof targetHost !== 'string' || targetHost === '') throw invalidArgument('targetHost is empty');
  for (const [name, port] of [['targetPort', targetPort], ['listenPort', listenPort]] as const) {
    if (!Number.isSafeInteger(port) || port < 0 || port > 65_535 || (name === 'targetPort' && port === 0)) {
      throw invalidArgument(`${name} must be a TCP port: ${String(port)}`, { field: name });
    }
  }
  const server = net.createServer({ pauseOnConnect: false });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: listenPort }, () => {
      server.off('error', reject);
      server.on('error', () => undefined); // accept errors concern one client, never the proxy
      const address = server.address();
      if (address === null || typeof address !== 'object') {
        server.close();
        reject(invalidArgument('the proxy has no port'));
        return;
      }
      resolve(new TcpProxy(server, address.port, targetHost, targetPort));
    });
  });
}
