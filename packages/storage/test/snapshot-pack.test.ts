/** The packed wire form of snapshot chunks (snapshot-pack.ts): round trip, views, malformed input. */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { packChunk, splitPackedChunk, unpackChunk, type SnapshotChunk } from '../src/index.js';

t.test('pairs round-trip through the packed form, as views of the received bytes', async (t) => {
  const entries: SnapshotChunk = [
    [Buffer.from('k1'), Buffer.from('v1')],
    [Buffer.alloc(0), Buffer.alloc(0)],
    [randomBytes(300), randomBytes(70_000)],
    ...Array.from({ length: 1000 }, (_, i): [Buffer, Buffer] => [Buffer.from(`key${i}`), randomBytes(i % 97)]),
  ];
  const packed = packChunk(entries);
  t.equal(packed.length, entries.reduce((n, [k, v]) => n + 8 + k.length + v.length, 0), 'four length bytes before each part');
  // What msgpack hands the route: a view into a larger received buffer.
  const wire = Buffer.concat([Buffer.from('prefix'), packed, Buffer.from('suffix')]);
  const got = unpackChunk(new Uint8Array(wire.buffer, wire.byteOffset + 6, packed.length))!;
  t.equal(got.length, entries.length);
  t.ok(got.every(([k, v], i) => k.equals(entries[i]![0]) && v.equals(entries[i]![1])), 'every pair equal, in order');
  t.ok(got.every(([k, v]) => Buffer.isBuffer(k) && Buffer.isBuffer(v)));
  t.equal(got[0]![0].buffer, wire.buffer, 'views of the received bytes, not copies');
  t.same(unpackChunk(packChunk([])), [], 'an empty chunk');
});

t.test('a packed chunk that runs past its end is refused', async (t) => {
  const packed = packChunk([[Buffer.from('key'), Buffer.from('value')]]);
  for (let cut = 1; cut < packed.length; cut++) t.equal(unpackChunk(packed.subarray(0, cut)), undefined, `cut at ${cut}`);
  t.equal(unpackChunk(Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])), undefined, 'a length of 4 GiB');
});

t.test('a packed chunk splits at entry boundaries into pieces of at most the bytes asked, as views', async (t) => {
  const entries: SnapshotChunk = Array.from({ length: 500 }, (_, i): [Buffer, Buffer] => [Buffer.from(`key${i}`), randomBytes((i * 37) % 400)]);
  entries.push([Buffer.from('big'), randomBytes(5_000)]);
  const packed = packChunk(entries);
  const bytes = entries.reduce((n, [k, v]) => n + k.length + v.length, 0);
  const chunk = { packed, entries: entries.length, bytes };
  t.equal(splitPackedChunk(chunk, Number.POSITIVE_INFINITY)[0], chunk, 'no limit: the chunk itself');
  t.equal(splitPackedChunk(chunk, bytes)[0], chunk, 'a limit it fits in: the chunk itself');
  for (const bytesMax of [1, 1_000, 4_096, 20_000]) {
    const pieces = splitPackedChunk(chunk, bytesMax);
    t.ok(pieces.every((p) => p.entries >= 1 && (p.entries === 1 || p.bytes <= bytesMax)), `${bytesMax}: each piece within the limit or one entry`);
    t.ok(pieces.every((p) => p.packed.buffer === packed.buffer), `${bytesMax}: views, not copies`);
    t.equal(pieces.reduce((n, p) => n + p.entries, 0), entries.length, `${bytesMax}: every entry once`);
    t.equal(pieces.reduce((n, p) => n + p.bytes, 0), bytes, `${bytesMax}: the bytes add up`);
    const again = pieces.flatMap((p) => unpackChunk(p.packed)!);
    t.ok(again.length === entries.length && again.every(([k, v], i) => k.equals(entries[i]![0]) && v.equals(entries[i]![1])), `${bytesMax}: the pieces unpack to the entries in order`);
    t.ok(pieces.every((p) => unpackChunk(p.packed)!.length === p.entries), `${bytesMax}: each piece counts its own entries`);
  }
  t.equal(splitPackedChunk(chunk, 1).length, entries.length, 'a limit of one byte: one entry a piece');
});
