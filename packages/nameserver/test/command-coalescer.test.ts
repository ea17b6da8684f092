// Commands to one tablet issued in one turn go as one batch request (src/server/command-coalescer.ts,
// control-batch.ts; issue 16): each caller gets its own result; a request that fails fails them
// all and is not re-sent; only a tablet that refuses the batch itself (an older version: its batch
// route does not take the command, or there is no batch route) gets them one request each; more
// commands than a batch may hold go as several requests.
import t from 'tap';
import { LIMITS, TesseraError } from '@tessera/common';
import { CommandCoalescer } from '../src/server/command-coalescer.js';
import { batchRefused, sendControlBatch } from '../src/server/control-batch.js';

type Sent = { endpoint: string; path: string; body: Record<string, unknown> };

t.test('one batch per tablet per turn, one outcome per caller', async (t) => {
  const sent: Array<{ endpoint: string; paths: string[] }> = [];
  const c = new CommandCoalescer(async (endpoint, path, body) => {
    if (path !== '/v1/control/batch') throw new Error(`a single request: ${path}`);
    const commands = body.commands as Array<{ path: string; body: Record<string, unknown> }>;
    sent.push({ endpoint, paths: commands.map((x) => `${x.path}#${String(x.body.pid)}`) });
    return { results: commands.map((x) => (x.body.pid === 2 ? { error: { code: 'TABLE_EXISTS', message: 'exists' } } : { ok: true })) };
  });
  const outcomes = await Promise.allSettled([0, 1, 2].map((pid) => c.call('a:1', '/v1/control/create_replica', { pid })).concat(c.call('b:1', '/v1/control/create_replica', { pid: 0 })));
  t.same(sent, [{ endpoint: 'a:1', paths: ['/v1/control/create_replica#0', '/v1/control/create_replica#1', '/v1/control/create_replica#2'] }, { endpoint: 'b:1', paths: ['/v1/control/create_replica#0'] }], 'one request per tablet');
  t.same(outcomes.map((o) => o.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
  t.match((outcomes[2] as PromiseRejectedResult).reason, { code: 'TABLE_EXISTS' }, "the command's own coded error");
  await c.call('a:1', '/x', { pid: 5 });
  t.equal(sent.length, 3, 'a later turn: a new request');
});

t.test('a failed request fails every command and sends nothing again; a refused batch goes one by one', async (t) => {
  const singles: string[] = [];
  let refuse: TesseraError = new TesseraError('TIMEOUT', 'no answer');
  const c = new CommandCoalescer(async (endpoint, path) => {
    if (path === '/v1/control/batch') throw refuse;
    singles.push(`${endpoint}${path}`);
  });
  const failed = await Promise.allSettled([c.call('a:1', '/p', {}), c.call('a:1', '/p', {})]);
  t.same(failed.map((o) => o.status === 'rejected' && (o.reason as TesseraError).code), ['TIMEOUT', 'TIMEOUT']);
  t.same(singles, [], 'a timed-out batch is not re-sent as singles (its commands may have run)');
  refuse = new TesseraError('INVALID_ARGUMENT', 'commands[0] body must be an object');
  const bad = await Promise.allSettled([c.call('a:1', '/p', {})]);
  t.match((bad[0] as PromiseRejectedResult).reason, { code: 'INVALID_ARGUMENT' }, 'an INVALID_ARGUMENT about a command is its outcome');
  t.same(singles, [], 'and is not re-sent');
  refuse = new TesseraError('INVALID_ARGUMENT', 'commands[0].path is not a batchable route: "/p"', { field: 'commands' });
  await Promise.all([c.call('a:1', '/p', {}), c.call('a:1', '/q', {})]);
  t.same(singles, ['a:1/p', 'a:1/q'], 'an older tablet whose batch route does not take the command: one request each');
  refuse = new TesseraError('ROUTE_NOT_FOUND', 'no route POST /v1/control/batch');
  await c.call('b:1', '/r', {});
  t.same(singles.slice(2), ['b:1/r'], 'a tablet without a batch route: one request each');
});

t.test('batchRefused: only the refusal of the batch as a whole', async (t) => {
  t.equal(batchRefused(new TesseraError('ROUTE_NOT_FOUND', 'x')), true);
  t.equal(batchRefused(new TesseraError('INVALID_ARGUMENT', 'x', { field: 'commands' })), true);
  t.equal(batchRefused(new TesseraError('INVALID_ARGUMENT', 'x', { field: 'tid' })), false);
  t.equal(batchRefused(new TesseraError('INVALID_ARGUMENT', 'x')), false);
  t.equal(batchRefused(new TesseraError('STALE_NS_EPOCH', 'x')), false);
  t.equal(batchRefused(new Error('x')), false);
});

t.test('more commands than one batch holds go as several requests, outcomes in order', async (t) => {
  const sizes: number[] = [];
  const n = LIMITS.controlBatchCommandsMax * 2 + 3;
  const commands = Array.from({ length: n }, (_, i) => ({ path: '/p', body: { i } }));
  const outcomes = await sendControlBatch(async (_endpoint, _path, body) => {
    const list = body.commands as Array<{ body: { i: number } }>;
    sizes.push(list.length);
    return { results: list.map((c) => (c.body.i % 7 === 0 ? { error: { code: 'TABLE_EXISTS', message: `i ${c.body.i}` } } : { ok: true })) };
  }, 'a:1', commands);
  t.same(sizes, [LIMITS.controlBatchCommandsMax, LIMITS.controlBatchCommandsMax, 3]);
  t.equal(outcomes.length, n);
  t.ok(outcomes.every((o, i) => (i % 7 === 0 ? o?.code === 'TABLE_EXISTS' && o.message === `i ${i}` : o === undefined)), 'each outcome is its own command\'s');
});

t.test('an answer missing a result is that command\'s error, not a success', async (t) => {
  const sent: Sent[] = [];
  const outcomes = await sendControlBatch(async (endpoint, path, body) => {
    sent.push({ endpoint, path, body });
    return { results: [{ ok: true }] };
  }, 'a:1', [{ path: '/p', body: {} }, { path: '/q', body: {} }]);
  t.equal(outcomes[0], undefined);
  t.match(outcomes[1], { code: 'INTERNAL' });
  t.equal(sent.length, 1);
});
