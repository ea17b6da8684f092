import t from 'tap';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decode, encode, errorFromWire, TesseraError, parseFlags, murmurHash64A, pidOfKey, validateSchema,
  normalizeRow, planIndexes, indexKey, ERROR_CATALOGUE, backoffMs, requireRowTimes,
} from '../src/index.js';

t.test('codec round-trips maps, int64 beyond 2^53 and refuses garbage', async (t) => {
  const v = { a: 1, big: 2n ** 60n, s: 'x', arr: [1, null, true] };
  t.same(decode(encode(v)), v);
  t.throws(() => decode(Buffer.from([0x92, 0x01])), { code: 'DECODE_ERROR' });
  t.throws(() => decode(Buffer.alloc(0)), { code: 'DECODE_ERROR' });
  t.throws(() => decode(Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff])), { code: 'DECODE_ERROR' });
  const proto = decode(Buffer.from([0x81, 0xa9, ...Buffer.from('__proto__'), 0x81, 0xa1, 0x78, 0x01])) as object;
  t.equal(Object.getPrototypeOf(proto), Object.prototype, '__proto__ key cannot change the prototype');
});

t.test('errors keep code, status and retryable across the wire', async (t) => {
  const e = new TesseraError('NOT_LEADER', 'not leader', { leader: '127.0.0.1:1' });
  const back = errorFromWire(decode(encode(e.toWire())), 409);
  t.ok(back instanceof TesseraError);
  t.equal(back.code, 'NOT_LEADER');
  t.equal(back.retryable, true);
  t.same(back.details, { leader: '127.0.0.1:1' });
  t.equal(errorFromWire({ error: { code: 'NO_SUCH', message: 'm' } }, 500).code, 'INTERNAL');
  for (const [code, spec] of Object.entries(ERROR_CATALOGUE)) {
    t.match(code, /^[A-Z][A-Z0-9_]+$/, `${code} is UPPER_SNAKE`);
    t.ok(spec.status >= 400 && spec.status < 600, `${code} has an error status`);
  }
});

t.test('flags: --a=b, bools, --noflag, flagfiles in place, unknown flags refused', async (t) => {
  const specs = {
    endpoint: { type: 'string', default: '', doc: '' },
    port: { type: 'int', default: 1, doc: '' },
    auto_failover: { type: 'bool', default: false, doc: '' },
  } as const;
  const dir = mkdtempSync(join(tmpdir(), 'flags-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'x.flags');
  writeFileSync(file, '# comment\n--endpoint=127.0.0.1:9527\n--port=5\n\n--auto_failover=true\n');
  t.same(parseFlags(specs, [`--flagfile=${file}`, '--port=7']), { endpoint: '127.0.0.1:9527', port: 7, auto_failover: true });
  t.same(parseFlags(specs, ['--auto_failover', '--noauto_failover']).auto_failover, false);
  t.throws(() => parseFlags(specs, ['--nope=1']), /unknown command line flag 'nope'/);
  t.throws(() => parseFlags(specs, ['--port=x']), /illegal value 'x' specified for int flag 'port'/);
  t.throws(() => parseFlags(specs, ['--auto_failover=maybe']), { code: 'INVALID_ARGUMENT' });
});

t.test('routing hash is MurmurHash64A seed 0xe17a1465, frozen', async (t) => {
  // Values computed with the C reference implementation.
  const enc = new TextEncoder();
  t.equal(murmurHash64A(enc.encode('a')), 584566915021039271n);
  t.equal(murmurHash64A(enc.encode('key1')), 14435880955938470458n);
  t.equal(murmurHash64A(enc.encode('hello_world_12345')), 85321064296881640n);
  t.equal(murmurHash64A(enc.encode('card|mcc')), 18004340804397218071n);
  t.equal(murmurHash64A(enc.encode('')), 11239542818895821884n);
  t.equal(pidOfKey('a', 8), 7);
  t.equal(pidOfKey('key1', 8), 6);
  t.equal(pidOfKey('card|mcc', 8), 1);
  t.equal(pidOfKey('x7', 3), 1);
});

t.test('schema validation names the offending column', async (t) => {
  const schema = validateSchema({
    name: 't1', db: 'db1',
    columns: [{ name: 'card', type: 'string' }, { name: 'mcc', type: 'string' }, { name: 'amt', type: 'double' }, { name: 'ts', type: 'timestamp' }, { name: 'n', type: 'int32' }],
    indexes: [{ name: 'card_mcc', keys: ['card', 'mcc'], ts: 'ts', ttl: { type: 'absolute', absMinutes: 0 } }],
  });
  const plan = planIndexes(schema);
  const row = normalizeRow(schema, { card: 'c1', mcc: 'm1', amt: 1.5, ts: 1000, n: 3 });
  t.equal(indexKey(plan[0]!, row), 'c1|m1');
  t.throws(() => normalizeRow(schema, { card: 'c1', mcc: 'm1', amt: 'x' }), { code: 'INVALID_ARGUMENT', details: { column: 'amt' } });
  t.throws(() => normalizeRow(schema, { card: 'c1', mcc: 'm1', zzz: 1 }), { code: 'INVALID_ARGUMENT', details: { column: 'zzz' } });
  t.throws(() => normalizeRow(schema, { card: 'c1' }), { code: 'INVALID_ARGUMENT', details: { column: 'mcc' } });
  t.throws(() => normalizeRow(schema, { card: 'c1', mcc: 'm', n: 2 ** 40 }), { code: 'INVALID_ARGUMENT', details: { column: 'n' } });
  t.throws(() => validateSchema({ name: '../x', db: 'd', columns: [{ name: 'a', type: 'string' }], indexes: [] }), { code: 'INVALID_ARGUMENT' });
  t.throws(() => validateSchema({ name: 'x/y', db: 'd', columns: [{ name: 'a', type: 'string' }], indexes: [] }), { code: 'INVALID_ARGUMENT' });
  t.throws(() => validateSchema({ name: 'x', db: 'd', columns: [{ name: 'a', type: 'string' }], indexes: [] }), /schema has no index/);
  t.throws(() => validateSchema({ name: 'x', db: 'd', columns: [{ name: 'a', type: 'double' }], indexes: [{ name: 'i', keys: ['a'] }] }), /float or double column can not be index/);
});

t.test('a row without a time in an index with a ts column is refused', async (t) => {
  const schema = validateSchema({
    name: 't1', db: 'db1',
    columns: [{ name: 'card', type: 'string' }, { name: 'ts', type: 'timestamp' }, { name: 'v', type: 'string' }],
    indexes: [{ name: 'card', keys: ['card'], ts: 'ts' }, { name: 'v', keys: ['v'] }],
  });
  requireRowTimes(schema, normalizeRow(schema, { card: 'c', ts: 0, v: 'x' }));
  t.throws(() => requireRowTimes(schema, normalizeRow(schema, { card: 'c', v: 'x' })), { code: 'INVALID_ARGUMENT', details: { column: 'ts', index: 'card' } });
  t.throws(() => requireRowTimes(schema, normalizeRow(schema, ['c', null, 'x'])), { code: 'INVALID_ARGUMENT', details: { column: 'ts' } });
  const noTs = validateSchema({ name: 't2', db: 'db1', columns: [{ name: 'k', type: 'string' }, { name: 'ts', type: 'timestamp' }], indexes: [{ name: 'k', keys: ['k'] }] });
  requireRowTimes(noTs, normalizeRow(noTs, { k: 'a' }));
  t.pass('a null ts column that no index reads is fine');
});

t.test('backoff stays within its cap', async (t) => {
  for (let i = 0; i < 30; i++) {
    const b = backoffMs(i, 10, 500);
    t.ok(b >= 1 && b <= 500);
  }
});

t.test('docs/errors.md is generated from the catalogue', async (t) => {
  const { readFileSync } = await import('node:fs');
  const { renderErrorsDoc } = await import('../src/index.js');
  const docPath = new URL('../../../../docs/errors.md', import.meta.url);
  t.equal(readFileSync(docPath, 'utf8'), renderErrorsDoc(), 'regenerate docs/errors.md with renderErrorsDoc()');
});
