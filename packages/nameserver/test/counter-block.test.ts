// Tids and first terms from blocks of a ZooKeeper counter (server/metadata.ts CounterBlock): one
// write reserves COUNTER_BLOCK_SIZE values; concurrent takes get distinct values in order; a failed
// reservation fails its takes and the next take reserves again; a new leadership (load) goes on
// from the counter, leaving the old block's values unused. In process, on the in-memory backend.
import t from 'tap';
import { silentLogger, TesseraError } from '@tessera/common';
import { MemoryCoordServer } from '@tessera/coord';
import { COUNTER_BLOCK_SIZE, CounterBlock, MetadataStore } from '../src/server/metadata.js';

t.test('one reservation per block, distinct values, a failure retried by the next take', async (t) => {
  let counter = 0;
  let reservations = 0;
  let failNext = false;
  const block = new CounterBlock(async (n) => {
    reservations++;
    await new Promise((resolve) => setImmediate(resolve));
    if (failNext) {
      failNext = false;
      throw new TesseraError('COORD_ERROR', 'connection lost');
    }
    return (counter += n);
  }, 4);
  const first = await Promise.all(Array.from({ length: 6 }, () => block.take()));
  t.same(first, [1, 2, 3, 4, 5, 6], 'concurrent takes: distinct, in order of asking');
  t.equal(reservations, 2, 'two blocks of 4 for 6 values');
  t.same([await block.take(), await block.take()], [7, 8], 'the rest of the second block, no reservation');
  t.equal(reservations, 2);
  failNext = true;
  await t.rejects(block.take(), { code: 'COORD_ERROR' }, 'a failed reservation fails the take');
  t.equal(await block.take(), 9, 'the next take reserves again');
  t.equal(counter, 12);
});

t.test('MetadataStore: tids from blocks; a new leadership goes on from the counter', async (t) => {
  const server = new MemoryCoordServer();
  const s = await server.connect({ rootPath: '/cb' });
  t.teardown(() => s.close());
  const store = new MetadataStore(s, s.layout, silentLogger);
  await store.load();
  const tids = [];
  for (let i = 0; i < 20; i++) tids.push(await store.allocTid());
  t.same(tids, Array.from({ length: 20 }, (_, i) => i + 1), 'tids 1..20');
  t.equal((await s.get(s.layout.tableIndex))?.data.toString(), String(2 * COUNTER_BLOCK_SIZE), 'two blocks reserved');
  t.equal(await store.allocTerm(), 1, 'terms have their own counter');
  await store.load(); // leading again
  t.equal(await store.allocTid(), 2 * COUNTER_BLOCK_SIZE + 1, 'after the counter: the old block is left unused');
});
