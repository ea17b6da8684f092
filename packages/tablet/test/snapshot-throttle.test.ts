// The snapshot bandwidth limits (src/replication/snapshot-throttle.ts) on an injected clock: a
// stream owes what it sent and the debt drains at the limit; the per-destination limit is shared
// by streams to the same tablet and not by streams to another; a limit changed while a sender
// owes takes effect at its next look; 0 means unlimited; acquire re-reads the limit between
// slices, so lifting it while a sender waits releases the sender within one slice.
import t from 'tap';
import { packChunk, splitPackedChunk } from '@tessera/storage';
import { PIECE_BYTES_MIN, SnapshotThrottle, WAIT_SLICE_MS } from '../src/replication/snapshot-throttle.js';

t.test('per-stream debt drains at the limit', async (t) => {
  let now = 1000;
  const th = new SnapshotThrottle(1000, () => now);
  const s = th.newStreamDebt();
  t.equal(th.waitMs(s, 'd:1'), 0, 'nothing owed before the first chunk');
  th.sent(s, 'd:1', 500);
  t.equal(th.waitMs(s, 'd:1'), 500, '500 bytes at 1000 B/s: 500 ms');
  now += 250;
  t.equal(th.waitMs(s, 'd:1'), 250, 'a quarter second later: 250 ms left');
  now += 250;
  t.equal(th.waitMs(s, 'd:1'), 0, 'paid off');
  now += 10_000;
  th.sent(s, 'd:1', 100);
  t.equal(th.waitMs(s, 'd:1'), 100, 'idle time is no credit: the next chunk is paced again');
});

t.test('a changed limit applies to what is owed', async (t) => {
  let now = 0;
  const th = new SnapshotThrottle(100, () => now + 1);
  const s = th.newStreamDebt();
  th.sent(s, 'd:1', 1000);
  t.equal(th.waitMs(s, 'd:1'), 10_000, '1000 bytes at 100 B/s');
  th.set({ perStreamBytesPerSec: 1000, perDestinationBytesPerSec: 0 });
  t.equal(th.waitMs(s, 'd:1'), 1000, 'raised to 1000 B/s: one second');
  th.set({ perStreamBytesPerSec: 0, perDestinationBytesPerSec: 0 });
  t.equal(th.waitMs(s, 'd:1'), 0, '0 = unlimited, the debt is forgiven');
  t.same(th.current, { perStreamBytesPerSec: 0, perDestinationBytesPerSec: 0 });
  now += 1;
});

t.test('the per-destination limit is shared by streams to one tablet only', async (t) => {
  const now = 5000;
  const th = new SnapshotThrottle(0, () => now);
  th.set({ perStreamBytesPerSec: 0, perDestinationBytesPerSec: 1000 });
  const a = th.newStreamDebt();
  const b = th.newStreamDebt();
  const c = th.newStreamDebt();
  th.sent(a, 'd:1', 1000);
  t.equal(th.waitMs(b, 'd:1'), 1000, 'a second stream to the same tablet waits for the first one\'s bytes');
  t.equal(th.waitMs(c, 'd:2'), 0, 'a stream to another tablet does not');
  th.set({ perStreamBytesPerSec: 250, perDestinationBytesPerSec: 1000 });
  t.equal(th.waitMs(a, 'd:1'), 4000, 'the stricter of the two limits rules');
});

t.test('acquire waits in slices and sees a lifted limit', async (t) => {
  const th = new SnapshotThrottle(1000);
  const s = th.newStreamDebt();
  th.sent(s, 'd:1', 60_000); // a minute owed
  const states: boolean[] = [];
  const started = Date.now();
  setTimeout(() => th.set({ perStreamBytesPerSec: 0, perDestinationBytesPerSec: 0 }), 50);
  await th.acquire(s, 'd:1', () => false, (w) => states.push(w));
  const waitedMs = Date.now() - started;
  t.ok(waitedMs < WAIT_SLICE_MS + 500, `released ${waitedMs} ms after start, within a slice of the change`);
  t.equal(states[0], true, 'reported blocked while waiting');
  t.equal(states[states.length - 1], false, 'reported unblocked when released');
  let stop = false;
  th.set({ perStreamBytesPerSec: 1, perDestinationBytesPerSec: 0 });
  th.sent(s, 'd:1', 1000);
  setTimeout(() => { stop = true; }, 20);
  await th.acquire(s, 'd:1', () => stop, () => undefined);
  t.pass('a stopped stream stops waiting');
});

t.test('a throttled copy goes in pieces of about one slice', async (t) => {
  const th = new SnapshotThrottle(0);
  t.equal(th.pieceBytesMax(), Number.POSITIVE_INFINITY, 'unlimited: whole chunks');
  th.set({ perStreamBytesPerSec: 1_000_000, perDestinationBytesPerSec: 0 });
  t.equal(th.pieceBytesMax(), 200_000, '1 MB/s: 200 kB a piece');
  th.set({ perStreamBytesPerSec: 1_000_000, perDestinationBytesPerSec: 1000 });
  t.equal(th.pieceBytesMax(), PIECE_BYTES_MIN, 'never below the floor');
  const e = (n: number): [Buffer, Buffer] => [Buffer.alloc(4), Buffer.alloc(n - 4)];
  const chunk = [e(10), e(10), e(10), e(30), e(10)];
  // The follower stream cuts packed chunks (storage splitPackedChunk) at this size.
  const packed = { packed: packChunk(chunk), entries: chunk.length, bytes: 70 };
  t.same(splitPackedChunk(packed, 20).map((p) => p.entries), [2, 1, 1, 1], 'pieces of at most 20 bytes; a bigger entry alone');
  t.same(splitPackedChunk(packed, Number.POSITIVE_INFINITY).map((p) => p.entries), [5]);
});
