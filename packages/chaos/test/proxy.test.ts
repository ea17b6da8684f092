// The fault-injection TCP proxy (src/harness/proxy.ts) against a plain echo server and an HTTP
// server: pass-through with counters, blackhole (open but silent, new connections too), heal
// (blackholed connections destroyed, fresh ones pass), reset (RST, new ones refused), delay.
import t from 'tap';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { waitFor } from '@tessera/common';
import { freePort } from '@tessera/testkit';
import { startProxy, type Proxy } from '../src/index.js';

/** How long an absence (no byte, no close) is watched for before it counts as one. */
/** Delay set just before heal(): a round trip after heal must take far less. */
const HEAL_CHECK_DELAY_MS = 5_000;
const SILENCE_WATCH_MS = 400;
/** Bound on the answer through a healed proxy (a failure, not a hang, if it stays silent). */
const HEALED_ANSWER_MS = 10_000;
const WAIT_MS = 10_000;

async function echoServer(): Promise<{ port: number; close: () => Promise<void>; sockets: Set<net.Socket> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.pipe(s);
  });
  server.listen({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    sockets,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A client socket that records what it received and how it ended. */
class Client {
  readonly socket: net.Socket;
  received = '';
  closed = false;
  error: NodeJS.ErrnoException | undefined;

  constructor(port: number) {
    this.socket = net.connect({ host: '127.0.0.1', port });
    this.socket.setEncoding('utf8');
    this.socket.on('data', (d: string) => (this.received += d));
    this.socket.on('error', (e) => (this.error = e));
    this.socket.on('close', () => (this.closed = true));
  }

  async connected(): Promise<this> {
    if (!this.socket.connecting) return this;
    await once(this.socket, 'connect');
    return this;
  }

  async roundTrip(text: string): Promise<void> {
    const before = this.received.length;
    this.socket.write(text);
    await waitFor(`echo of ${text}`, () => this.received.length >= before + text.length, { timeoutMs: WAIT_MS, intervalMs: 5 });
  }
}

/** Watches a client for SILENCE_WATCH_MS and tells whether anything arrived or it closed. */
async function staysSilent(c: Client): Promise<boolean> {
  const before = c.received.length;
  await new Promise((resolve) => setTimeout(resolve, SILENCE_WATCH_MS));
  return c.received.length === before && !c.closed;
}

t.test('pass-through, blackhole, heal, reset, delay with plain sockets', async (t) => {
  const echo = await echoServer();
  const listenPort = await freePort();
  const proxy: Proxy = await startProxy({ targetHost: '127.0.0.1', targetPort: echo.port, listenPort });
  const clients: Client[] = [];
  const client = async (): Promise<Client> => {
    const c = new Client(proxy.port);
    clients.push(c);
    return c.connected();
  };
  t.teardown(async () => {
    for (const c of clients) c.socket.destroy();
    await proxy.close();
    await echo.close();
  });
  t.equal(proxy.port, listenPort, 'listens on the port asked for');
  t.equal(proxy.endpoint, `127.0.0.1:${listenPort}`);

  const a = await client();
  await a.roundTrip('hello');
  t.equal(a.received, 'hello');
  let c = proxy.counters();
  t.equal(c.connectionsAccepted, 1);
  t.equal(c.connectionsOpen, 1);
  t.equal(c.bytesToTarget, 5);
  t.equal(c.bytesFromTarget, 5);

  await t.test('blackhole: existing and new connections stay open, nothing passes', async (t) => {
    proxy.blackhole();
    t.equal(proxy.mode, 'blackhole');
    a.socket.write('lost');
    const b = await client();
    b.socket.write('also lost');
    t.ok(await staysSilent(a), 'the existing connection gets no answer and is not closed');
    t.ok(await staysSilent(b), 'a new connection is accepted but silent');
    t.equal(b.error, undefined, 'no reset');
    t.equal(proxy.counters().bytesToTarget, 5, 'no byte reached the target');
    t.equal(echo.sockets.size, 1, 'the target never heard of the new connection');

    proxy.heal();
    await waitFor('blackholed connections destroyed', () => a.closed && b.closed, { timeoutMs: WAIT_MS });
    const fresh = await client();
    await fresh.roundTrip('again');
    t.equal(fresh.received, 'again', 'a new connection passes after heal');
  });

  await t.test('reset: existing connections reset, new ones refused; heal lets them in', async (t) => {
    const x = await client();
    await x.roundTrip('x');
    proxy.reset();
    await waitFor('existing connection reset', () => x.closed, { timeoutMs: WAIT_MS });
    t.equal(x.error?.code, 'ECONNRESET', 'the peer sees a reset');
    const refused = new Client(proxy.port);
    clients.push(refused);
    await waitFor('new connection reset', () => refused.closed, { timeoutMs: WAIT_MS });
    t.equal(refused.error?.code, 'ECONNRESET');
    t.ok(proxy.counters().connectionsRefused >= 1);
    proxy.heal();
    const y = await client();
    await y.roundTrip('y');
    t.equal(y.received, 'y');
  });

  await t.test('delay: round trips take at least the delay each way, in order', async (t) => {
    const z = await client();
    await z.roundTrip('warm');
    proxy.delay(150);
    const started = Date.now();
    for (const part of ['1', '2', '3']) z.socket.write(part);
    await waitFor('delayed echo', () => z.received.length >= 'warm123'.length, { timeoutMs: WAIT_MS, intervalMs: 5 });
    const tookMs = Date.now() - started;
    t.ok(tookMs >= 300, `delayed both ways (${tookMs} ms >= 2 × 150 ms)`);
    t.equal(z.received, 'warm123', 'order kept');
    t.throws(() => proxy.delay(-1), { code: 'INVALID_ARGUMENT' });
    // A long delay, then heal: a round trip far shorter than it shows the delay is gone (the
    // margin is wide so a loaded machine cannot blur it).
    proxy.delay(HEAL_CHECK_DELAY_MS);
    proxy.heal();
    t.equal(proxy.delayMs, 0);
    const healedAt = Date.now();
    await z.roundTrip('fast');
    t.ok(Date.now() - healedAt < HEAL_CHECK_DELAY_MS, 'no delay after heal; the connection survived it');
  });

  c = proxy.counters();
  t.ok(c.connectionsAccepted >= 6, `connections counted (${c.connectionsAccepted})`);
});

/**
 * One POST on a connection of its own (no keep-alive pool: which pooled connection a client picks
 * after heal() destroyed the old ones is the client's race, not the proxy's behaviour). Resolves
 * with the answer's status and text, or the error; `timeoutMs` aborts it like a caller's deadline.
 */
function postOnce(url: string, body: string, timeoutMs?: number): Promise<{ status: number; text: string } | Error> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'POST', agent: false, ...(timeoutMs !== undefined ? { signal: AbortSignal.timeout(timeoutMs) } : {}) }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', resolve);
    });
    req.on('error', resolve);
    req.end(body);
  });
}

t.test('an HTTP round trip through the proxy, and a timeout (not a reset) when blackholed', async (t) => {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString('utf8')));
    req.on('end', () => res.end(`got ${req.method} ${req.url} ${body}`));
  });
  server.listen({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  const proxy = await startProxy({ targetHost: '127.0.0.1', targetPort: (server.address() as net.AddressInfo).port });
  t.teardown(async () => {
    await proxy.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const url = `http://${proxy.endpoint}/v1/echo`;
  t.same(await postOnce(url, 'ping'), { status: 200, text: 'got POST /v1/echo ping' });
  t.ok(proxy.counters().bytesFromTarget > 0);

  proxy.blackhole();
  const started = Date.now();
  const err = await postOnce(url, 'ping', SILENCE_WATCH_MS);
  t.equal((err as Error).name, 'AbortError', `the caller times out, not reset (${String(err)})`);
  t.ok(Date.now() - started >= SILENCE_WATCH_MS - 50, 'only after its own timeout');

  proxy.heal();
  t.same(await postOnce(url, 'pong', HEALED_ANSWER_MS), { status: 200, text: 'got POST /v1/echo pong' }, 'works again after heal');
  await proxy.close();
  t.equal(proxy.counters().connectionsOpen, 0, 'close destroys every connection');
});
