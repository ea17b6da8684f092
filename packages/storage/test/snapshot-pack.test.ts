/** The packed wire form of snapshot chunks (snapshot-pack.ts): round trip, views, malformed input. */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { packChunk, unpackChunk, type SnapshotChunk } from '../src/index.js';

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
