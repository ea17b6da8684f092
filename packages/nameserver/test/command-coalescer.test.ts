// Commands to one tablet issued in one turn go as one batch request (src/server/command-coalescer.ts,
// issue 16): each caller gets its own result; a request that fails fails them all; a tablet whose
// batch route does not take the command (INVALID_ARGUMENT) gets them one request each.
import t from 'tap';
import { TesseraError } from '@tessera/common';
import { CommandCoalescer } from '../src/server/command-coalescer.js';

t.test('one batch per tablet per turn, one outcome per caller', async (t) => {
  const sent: Array<{ endpoint: string; paths: string[] }> = [];
  const c = new CommandCoalescer(async (endpoint, commands) => {
    sent.push({ endpoint, paths: commands.map((x) => `${x.path}#${String(x.body.pid)}`) });
    return { results: commands.map((x) => (x.body.pid === 2 ? { error: { code: 'TABLE_EXISTS', message: 'exists' } } : { ok: true })) };
  }, async () => {
    throw new Error('not used');
  });
  const outcomes = await Promise.allSettled([0, 1, 2].map((pid) => c.call('a:1', '/v1/control/create_replica', { pid })).concat(c.call('b:1', '/v1/control/create_replica', { pid: 0 })));
  t.same(sent, [{ endpoint: 'a:1', paths: ['/v1/control/create_replica#0', '/v1/control/create_replica#1', '/v1/control/create_replica#2'] }, { endpoint: 'b:1', paths: ['/v1/control/create_replica#0'] }], 'one request per tablet');
  t.same(outcomes.map((o) => o.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
  t.match((outcomes[2] as PromiseRejectedResult).reason, { code: 'TABLE_EXISTS' }, "the command's own coded error");
  await c.call('a:1', '/x', { pid: 5 });
  t.equal(sent.length, 3, 'a later turn: a new request');
});

t.test('a failed request fails every command; an older tablet gets them one by one', async (t) => {
  const singles: string[] = [];
  let refuse: TesseraError = new TesseraError('TIMEOUT', 'no answer');
  const c = new CommandCoalescer(async () => {
    throw refuse;
  }, async (endpoint, path) => {
    singles.push(`${endpoint}${path}`);
  });
  const failed = await Promise.allSettled([c.call('a:1', '/p', {}), c.call('a:1', '/p', {})]);
  t.same(failed.map((o) => o.status === 'rejected' && (o.reason as TesseraError).code), ['TIMEOUT', 'TIMEOUT']);
  refuse = new TesseraError('INVALID_ARGUMENT', 'commands[0].path is not a batchable route');
  await Promise.all([c.call('a:1', '/p', {}), c.call('a:1', '/q', {})]);
  t.same(singles, ['a:1/p', 'a:1/q'], 'sent one request each');
});
