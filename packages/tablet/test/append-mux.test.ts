// The leader → follower append coalescer (src/replication/append-mux.ts) against a real HTTP
// server in process: one request in flight per follower tablet, appends queued meanwhile sent
// together, a stream's pipelined appends of one partition merged into one part, every append
// answered with its part's answer, a refusal answering its part only.
import t from 'tap';
import { createHttpServer, encode, HttpClient, silentLogger, TesseraError, waitFor } from '@tessera/common';
import type { BinlogEntry } from '@tessera/storage';
import { AppendMux, type AppendSource } from '../src/replication/append-mux.js';

interface Part { tid: number; pid: number; term: number; entries: Array<{ offset: number }> }

function source(pid: number): AppendSource & { encoded: number } {
  return {
    sentBytes: { binlog: 0 },
    encoded: 0,
    encodeAppend(entries: BinlogEntry[]): Buffer {
      this.encoded++;
      return encode({ tid: 1, pid, term: 1, entries });
    },
  };
}

const put = (offset: number): BinlogEntry => ({ offset, term: 1, kind: 'put', ts: offset, values: [`k${offset}`] });

t.test('appends wait for the request in flight, then go as one request; a partition\'s appends merge into one part', async (t) => {
  const requests: Array<{ path: string; parts: Part[] }> = [];
  let inFlight = 0;
  let inFlightMax = 0;
  let release!: () => void;
  let held: Promise<void> | undefined = new Promise((r) => (release = r));
  const answer = (p: Part): unknown => {
    if (p.pid === 9) return new TesseraError('OFFSET_GAP', 'refused', { offset: 0 }).toWire();
    return { offset: p.entries.length > 0 ? p.entries[p.entries.length - 1]!.offset : 0 };
  };
  const app = createHttpServer({ logger: silentLogger });
  const serve = async (path: string, parts: Part[]): Promise<void> => {
    requests.push({ path, parts });
    inFlight++;
    inFlightMax = Math.max(inFlightMax, inFlight);
    if (held) await held;
    inFlight--;
  };
  app.post('/v1/replica/append', async (req) => {
    await serve('append', [req.body as Part]);
    return answer(req.body as Part);
  });
  app.post('/v1/replica/append_multi', async (req) => {
    const parts = (req.body as { parts: Part[] }).parts;
    await serve('append_multi', parts);
    return { results: parts.map(answer) };
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address() as { port: number };
  const endpoint = `127.0.0.1:${address.port}`;
  const http = new HttpClient({ connectionsPerEndpoint: 4, timeoutMs: 5000 });
  t.teardown(async () => {
    await http.close();
    await app.close();
  });

  const mux = new AppendMux(http, 5000, 1);
  const a = source(1);
  const b = source(2);
  const bad = source(9);
  const first = mux.append<{ offset: number }>(endpoint, a, [put(1), put(2)]);
  // Sent at the next turn; queue the rest while it is held by the server.
  await waitFor('the first request at the server', () => requests.length === 1, { timeoutMs: 10_000, intervalMs: 5 });
  t.equal(requests[0]!.path, 'append', 'one append alone goes as /v1/replica/append');
  const pipelined = [mux.append<{ offset: number }>(endpoint, a, [put(3), put(4)]), mux.append<{ offset: number }>(endpoint, a, [put(5)])];
  const other = mux.append<{ offset: number }>(endpoint, b, [put(1)]);
  const refused = mux.append<{ offset: number }>(endpoint, bad, [put(1)]);
  const probe = mux.append<{ offset: number }>(endpoint, a, []);
  // Turns of the event loop pass (the mux's flush among them) while the first is held.
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  t.equal(requests.length, 1, 'nothing else is sent while a request to that tablet is unanswered');
  release();
  held = undefined;
  t.same((await first).offset, 2);
  const answers = await Promise.all(pipelined);
  t.same(answers.map((x) => x.offset), [5, 5], 'merged appends are each answered with their part\'s answer (offset past their own entries)');
  t.equal((await other).offset, 1);
  await t.rejects(refused, { code: 'OFFSET_GAP' }, 'a refusal answers its own part only');
  t.equal((await probe).offset, 0, 'a probe is a part of its own');
  t.equal(requests.length, 2, 'everything queued meanwhile went in one request');
  const second = requests[1]!;
  t.equal(second.path, 'append_multi');
  t.same(second.parts.map((p) => [p.pid, p.entries.map((e) => e.offset)]), [[1, [3, 4, 5]], [2, [1]], [9, [1]], [1, []]],
    'one part per partition with every entry queued for it, in order; the probe apart');
  t.equal(inFlightMax, 1, 'never more than one request in flight to the follower tablet');
  t.ok(a.sentBytes.binlog > 0, 'bytes sent are counted');
  t.same(mux.stats, { requests: 2, parts: 5, appends: 6, entries: 7 });
});
