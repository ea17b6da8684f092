// The codec refuses what msgpackr alone lets through (0xc1 anywhere, str payloads that are not
// UTF-8) with DECODE_ERROR, and still decodes every well-formed value, including valid UTF-8
// that holds U+FFFD itself, str inside bin/ext payloads it must not look into, and all headers.
import t, { type Test } from 'tap';
import { decode, encode, encodeWithBinary, TesseraError } from '../src/index.js';
import { isUtf8 } from 'node:buffer';
import { msgpackProblem } from '../src/codec-check.js';

const str = (bytes: number[]): number[] => (bytes.length < 32 ? [0xa0 | bytes.length, ...bytes] : [0xd9, bytes.length, ...bytes]);
const refused = (t: Test, bytes: number[], why: RegExp, label: string): void => {
  try {
    decode(Buffer.from(bytes));
    t.fail(`${label}: decoded`);
  } catch (err) {
    t.ok(err instanceof TesseraError && err.code === 'DECODE_ERROR' && why.test(err.message), `${label}: ${(err as Error).message}`);
  }
};

t.test('0xc1 is refused wherever it is', async (t) => {
  refused(t, [0xc1], /0xc1 at offset 0/, 'lone byte');
  refused(t, [0x91, 0xc1], /0xc1 at offset 1/, 'in an array');
  refused(t, [0x81, 0xa3, 0x74, 0x69, 0x64, 0xc1], /0xc1/, 'as a map value');
  refused(t, [0x81, 0xc1, 0x01], /0xc1/, 'as a map key');
  refused(t, [0xdc, 0x00, 0x02, 0x01, 0xc1], /0xc1/, 'in an array16');
  // 0xc1 as data (inside ints, str, bin and ext payloads) is fine.
  t.same(decode(Buffer.from([0xcc, 0xc1])), 0xc1);
  t.same(decode(Buffer.from([0xcd, 0xc1, 0xc1])), 0xc1c1);
  t.same(decode(Buffer.from([0xc4, 0x01, 0xc1])), Buffer.from([0xc1]));
  t.equal(msgpackProblem(Buffer.from([0xd4, 0x05, 0xc1])), undefined, 'fixext payload is not looked into');
  t.equal(msgpackProblem(Buffer.from([0xc7, 0x01, 0x05, 0xc1])), undefined, 'ext8 payload is not looked into');
});

t.test('str payloads must be UTF-8', async (t) => {
  refused(t, str([0xff, 0xfe]), /not valid UTF-8/, 'bytes that never occur in UTF-8');
  refused(t, str([0x66, 0xc3, 0x28]), /not valid UTF-8/, 'a bad continuation byte');
  refused(t, str([0xed, 0xa0, 0x80]), /not valid UTF-8/, 'a surrogate');
  refused(t, str([0xc0, 0xaf]), /not valid UTF-8/, 'an overlong form');
  refused(t, str([0xe2, 0x82]), /not valid UTF-8/, 'a sequence cut short');
  refused(t, str([...Buffer.from('x'.repeat(40)), 0xff]), /not valid UTF-8/, 'a long str (native check)');
  refused(t, [0x81, ...str([0xff, 0xfe, 0xfd]), 0x01], /not valid UTF-8/, 'a map key');
  refused(t, [0x92, 0xa1, 0x61, ...str([0x80])], /not valid UTF-8/, 'the second item of an array');
  for (const s of ['', 'card', 'é', '€uro', '😀', '\uFFFD', 'x'.repeat(100) + 'ü', 'n'.repeat(70_000)]) {
    t.equal(decode(encode(s)), s, `round-trips ${JSON.stringify(s.slice(0, 12))} (${Buffer.byteLength(s)} bytes)`);
  }
  t.same(decode(encode({ k: '\uFFFD', [`ключ`]: ['日本', 'a'] })), { k: '\uFFFD', ключ: ['日本', 'a'] }, 'valid UTF-8 in keys and values');
  t.same(decode(Buffer.from([0xc4, 0x02, 0xff, 0xfe])), Buffer.from([0xff, 0xfe]), 'bin is bytes, never checked');
});

t.test('every header form is walked to the right next value', async (t) => {
  const v = {
    i: [0, 127, -1, -32, 200, -100, 40_000, -40_000, 3_000_000_000, -3_000_000_000, 2n ** 60n, -(2n ** 60n)],
    f: [1.5, 1e300, -0.25],
    b: [true, false, null],
    bin: [Buffer.alloc(3, 1), Buffer.alloc(300, 2), Buffer.alloc(70_000, 3)],
    s: ['a'.repeat(31), 'b'.repeat(200), 'c'.repeat(70_000)],
    arr: Array.from({ length: 20 }, (_, i) => i),
    big: Array.from({ length: 70_000 }, () => 1),
    map: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])),
    tail: 'é',
  };
  t.same(decode(encode(v)), v);
  // The last str is checked only if every header before it was walked right.
  const bytes = Buffer.from(encode(v));
  const at = bytes.lastIndexOf(Buffer.from('é'));
  bytes[at] = 0xff;
  refused(t, [...bytes], /not valid UTF-8/, 'a bad last str after every form');
});

t.test('truncation, bombs and trailing bytes stay DECODE_ERROR', async (t) => {
  for (const b of [[0x83], [0xd9, 0xff, 0x61], [0xdd, 0xff, 0xff, 0xff, 0xff], [0xdf, 0xff, 0xff, 0xff, 0xff], [0xdb, 0xff, 0xff, 0xff, 0xff], [0xc6, 0xff, 0xff, 0xff, 0xff], [0x01, 0xc0], [0xcf, 0x01]]) {
    t.throws(() => decode(Buffer.from(b)), { code: 'DECODE_ERROR' }, Buffer.from(b).toString('hex'));
  }
});

t.test('the JS check of short strs agrees with node isUtf8', async (t) => {
  const strHeaderOf = (n: number): number[] => (n < 32 ? [0xa0 | n] : [0xd9, n]);
  const agrees = (bytes: number[]): boolean => (msgpackProblem(Buffer.from([...strHeaderOf(bytes.length), ...bytes])) === undefined) === isUtf8(Buffer.from(bytes));
  let disagreements = 0;
  for (let a = 0; a < 256; a++) for (let b = 0; b < 256; b++) if (!agrees([a, b])) disagreements++;
  const edges = [0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff];
  for (let a = 0xc0; a < 256; a++) for (const b of edges) for (const c of edges) for (const d of [undefined, ...edges]) if (!agrees(d === undefined ? [a, b, c] : [a, b, c, d])) disagreements++;
  // Random strings up to 64 bytes (the JS path), mostly valid text with a few raw bytes spliced in.
  let seed = 12345;
  const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  const alphabet = ['a', 'é', '€', '😀', '\u07ff', '\uffff', '\u{10ffff}'];
  for (let i = 0; i < 20_000; i++) {
    let bytes = [...Buffer.from(Array.from({ length: rnd(20) }, () => alphabet[rnd(alphabet.length)]).join(''))].slice(0, 64);
    if (rnd(2) === 0 && bytes.length > 0) bytes[rnd(bytes.length)] = rnd(256);
    if (rnd(4) === 0) bytes = bytes.slice(0, rnd(bytes.length + 1));
    if (!agrees(bytes)) disagreements++;
  }
  t.equal(disagreements, 0, 'no disagreement over every 2-byte string, edge 3/4-byte forms and 20,000 random strings');
});

t.test('encodeWithBinary: the parts are the bytes encode makes of the whole map', async (t) => {
  const fields = { tid: 3, pid: 1, term: 7, session: 'ab12', seq: 42 };
  for (const n of [0, 1, 255, 256, 65_535, 65_536, 200_000]) {
    const bytes = Buffer.alloc(n, n & 0xff);
    const [head, tail] = encodeWithBinary(fields, 'packed', bytes);
    t.equal(tail, bytes, `${n} bytes: the binary is not copied`);
    t.ok(Buffer.compare(Buffer.concat([head, tail]), encode({ ...fields, packed: bytes })) === 0, `${n} bytes: same bytes as encode`);
  }
  t.throws(() => encodeWithBinary({ packed: 1 }, 'packed', Buffer.alloc(1)), /already have packed/);
  t.throws(() => encodeWithBinary([1, 2] as unknown as Record<string, unknown>, 'packed', Buffer.alloc(1)), /must be a map/);
});
