/**
 * Bad values per field kind: the "wrong types for every field" table. Each value has a class
 * that decides the expected codes together with the field (see `expectedFor`):
 *   type    wrong type, missing, null                → INVALID_ARGUMENT
 *   range   right type, out of range / bad form      → INVALID_ARGUMENT
 *   lookup  well-formed but names nothing that exists → INVALID_ARGUMENT or the field's not-found codes
 *   limit   over a named limit                       → LIMIT_EXCEEDED or INVALID_ARGUMENT
 *   exact   the codes listed with the value
 */
import type { ErrorCode } from '@tessera/common';
import { Ext, mapOf, RawStr, type MpValue } from './msgpack.js';

/** Marks a field to be left out of the body. */
export const MISSING = Symbol('missing');

export type ValueClass = 'type' | 'range' | 'lookup' | 'limit' | 'exact';

export interface BadValue {
  label: string;
  value: MpValue | typeof MISSING;
  cls: ValueClass;
  codes?: readonly ErrorCode[];
  /** Only for required fields (absent/null are valid for optional ones). */
  requiredOnly?: boolean;
  /** In the short list that fields shared by many routes get (see FieldSpec.core). */
  core?: boolean;
}

const v = (label: string, value: MpValue | typeof MISSING, cls: ValueClass = 'type', extra: Partial<BadValue> = {}): BadValue => ({ label, value, cls, ...extra });

const BIN = Buffer.from([0xde, 0xad]);
const INVALID_UTF8 = new RawStr(Buffer.from([0x66, 0xff, 0xfe, 0xc3, 0x28]));
/** A str that is not UTF-8 is refused while decoding, before any field is looked at. */
const INVALID_UTF8_VALUE: BadValue = v('invalid UTF-8', INVALID_UTF8, 'exact', { codes: ['DECODE_ERROR'] });

/** Absent or nil where a value is required. */
const ABSENT: BadValue[] = [v('missing', MISSING, 'type', { requiredOnly: true, core: true }), v('nil', null, 'type', { requiredOnly: true })];

/** Not a number at all. */
const NOT_NUMBERS: BadValue[] = [
  v('string "1"', '1', 'type', { core: true }),
  v('true', true),
  v('array [1]', [1]),
  v('map {n:1}', { n: 1 }),
  v('bin', BIN),
  // msgpackr refuses ext types it does not know while decoding: DECODE_ERROR is right too.
  v('ext type 1', new Ext(1, Buffer.from([1, 2, 3, 4])), 'exact', { codes: ['DECODE_ERROR', 'INVALID_ARGUMENT'] }),
];

/** Numbers that are not non-negative safe integers. */
const NOT_UINT: BadValue[] = [
  v('-1', -1, 'range', { core: true }),
  v('1.5', 1.5, 'range'),
  v('NaN', Number.NaN, 'range'),
  v('Infinity', Number.POSITIVE_INFINITY, 'range'),
  v('-Infinity', Number.NEGATIVE_INFINITY, 'range'),
  v('1e20 (float64)', 1e20, 'range'),
  v('2^53+1 (uint64)', 2n ** 53n + 1n, 'range'),
  v('2^64-1 (uint64, beyond int64)', 2n ** 64n - 1n, 'range', { core: true }),
  v('-2^63 (int64)', -(2n ** 63n), 'range'),
];

/** Numbers that are not safe integers (negatives allowed). */
const NOT_INT: BadValue[] = NOT_UINT.filter((b) => !['-1', '-2^63 (int64)'].includes(b.label));

const NOT_STRINGS: BadValue[] = [
  v('int 1', 1, 'type', { core: true }),
  v('float 1.5', 1.5),
  v('true', true),
  v('array ["a"]', ['a']),
  v('map {a:1}', { a: 1 }),
  v('bin', BIN),
];

/** Strings that must never name a table, database, column or index. */
const PATH_NAMES: BadValue[] = [
  v('"../x"', '../x', 'lookup', { core: true }),
  v('".."', '..', 'lookup'),
  v('"."', '.', 'lookup'),
  v('"a/b"', 'a/b', 'lookup', { core: true }),
  v('"a\\\\b"', 'a\\b', 'lookup'),
  v('"/etc/passwd"', '/etc/passwd', 'lookup'),
  v('"a\\0b"', 'a\u0000b', 'lookup'),
  v('"a\\nb"', 'a\nb', 'lookup'),
  v('" lead space"', ' flow', 'lookup'),
  v('"1starts_with_digit"', '1abc', 'lookup'),
  v('"é" (non-ASCII)', 'é', 'lookup'),
  INVALID_UTF8_VALUE,
  v('129 chars', 'x'.repeat(129), 'limit', { core: true }),
  v('64 KiB name', 'n'.repeat(64 * 1024), 'limit'),
];

/** Strings that are not host:port. */
const BAD_ENDPOINTS: BadValue[] = [
  v('"../x"', '../x', 'lookup', { core: true }),
  v('"a/b"', 'a/b', 'lookup'),
  v('"localhost" (no port)', 'localhost', 'lookup'),
  v('"127.0.0.1:0"', '127.0.0.1:0', 'lookup'),
  v('"127.0.0.1:99999"', '127.0.0.1:99999', 'lookup'),
  v('":80" (no host)', ':80', 'lookup'),
  v('"a b:1"', 'a b:1', 'lookup'),
  v('"h\\0:1"', 'h\u0000:1', 'lookup'),
  v('empty', '', 'lookup'),
  v('300 chars', `${'h'.repeat(295)}:9999`, 'limit'),
];

export type KindName =
  | 'tid' | 'pid' | 'uint' | 'uintOpt' | 'intOpt' | 'scanLimit' | 'previewLimit' | 'count'
  | 'key' | 'indexName' | 'nameCreate' | 'nameLookup' | 'nameLookupOpt' | 'str' | 'strOpt'
  | 'endpoint' | 'endpointOpt' | 'endpointList' | 'enum' | 'enumOpt' | 'bool'
  | 'pids' | 'session' | 'writeId' | 'dims'
  | 'row' | 'rows' | 'schema' | 'columns' | 'indexes' | 'ttl' | 'entries' | 'chunkEntries' | 'placement' | 'parts';

const COL_OK = { card: 'k', mcc: 'm', amt: 1.5, ts: 1000 };
const row = (patch: Record<string, MpValue>): Record<string, MpValue> => ({ ...COL_OK, ...patch });

const KINDS: Record<KindName, BadValue[]> = {
  uint: [...ABSENT, ...NOT_UINT, ...NOT_NUMBERS],
  uintOpt: [...NOT_UINT, ...NOT_NUMBERS],
  intOpt: [...NOT_INT, ...NOT_NUMBERS],
  tid: [
    ...ABSENT, ...NOT_UINT, ...NOT_NUMBERS,
    v('2^31 (over the tid range)', 2 ** 31, 'range', { core: true }),
    // REPLICA_NOT_HERE on a tablet's data routes, TABLE_NOT_FOUND elsewhere.
    v('unknown tid 999999', 999_999, 'exact', { codes: ['TABLE_NOT_FOUND', 'REPLICA_NOT_HERE'], core: true }),
  ],
  pid: [
    ...ABSENT, ...NOT_UINT, ...NOT_NUMBERS,
    v('1024 (= partitionsMax)', 1024, 'range', { core: true }),
    v('2^31', 2 ** 31, 'range'),
    v('7 (no such partition)', 7, 'exact', { codes: ['TABLE_NOT_FOUND', 'PARTITION_NOT_FOUND', 'REPLICA_NOT_HERE'], core: true }),
  ],
  scanLimit: [...NOT_UINT, ...NOT_NUMBERS, v('10001 (over scanRowsMax)', 10_001, 'limit')],
  previewLimit: [...NOT_UINT, ...NOT_NUMBERS, v('1001 (over previewRowsMax)', 1001, 'limit')],
  count: [
    ...NOT_UINT, ...NOT_NUMBERS,
    v('0', 0, 'range'),
    v('1025 (over partitionsMax)', 1025, 'limit'),
  ],
  str: [...ABSENT, ...NOT_STRINGS, INVALID_UTF8_VALUE],
  strOpt: [...NOT_STRINGS, INVALID_UTF8_VALUE],
  key: [...ABSENT, ...NOT_STRINGS, { ...INVALID_UTF8_VALUE, core: true }, v('1 MiB + 1 chars (over stringBytesMax)', 'k'.repeat(1024 * 1024 + 1), 'limit')],
  indexName: [...NOT_STRINGS, ...PATH_NAMES],
  nameCreate: [...ABSENT, ...NOT_STRINGS, v('empty', '', 'range'), ...PATH_NAMES.map((b) => ({ ...b, cls: b.cls === 'lookup' ? ('range' as const) : b.cls }))],
  nameLookup: [...ABSENT, ...NOT_STRINGS, v('empty', '', 'range'), ...PATH_NAMES],
  nameLookupOpt: [...NOT_STRINGS, ...PATH_NAMES],
  endpoint: [...ABSENT, ...NOT_STRINGS, ...BAD_ENDPOINTS],
  endpointOpt: [...NOT_STRINGS, ...BAD_ENDPOINTS],
  endpointList: [
    v('string', 'x'), v('int 1', 1, 'type', { core: true }), v('map', { a: 1 }), v('bin', BIN),
    v('[1]', [1]), v('[nil]', [null]), v('[[]]', [[]]),
    v('["../x"]', ['../x'], 'range'), v('["a/b"]', ['a/b'], 'range'), v('[""]', [''], 'range'),
    v('10 endpoints (over replicasMax)', Array.from({ length: 10 }, (_, i) => `127.0.0.1:${20000 + i}`), 'limit'),
  ],
  enum: [...ABSENT, ...NOT_STRINGS, v('"king"', 'king', 'range', { core: true }), v('"LEADER"', 'LEADER', 'range'), v('empty', '', 'range'), v('"leader\\0"', 'leader\u0000', 'range')],
  enumOpt: [...NOT_STRINGS, v('"king"', 'king', 'range', { core: true }), v('"LEADER"', 'LEADER', 'range'), v('"leader\\0"', 'leader\u0000', 'range')],
  bool: [v('string "true"', 'true'), v('int 1', 1, 'type', { core: true }), v('int 0', 0), v('array', [true]), v('map', { a: true }), v('"yes"', 'yes')],
  pids: [
    ...ABSENT, v('string "0"', '0'), v('int 0', 0), v('map', { 0: 0 }),
    v('[]', [], 'range'), v('[-1]', [-1], 'range'), v('[1.5]', [1.5], 'range'), v('["0"]', ['0']), v('[NaN]', [Number.NaN], 'range'),
    v('[nil]', [null]), v('[2^64-1]', [2n ** 64n - 1n], 'range'), v('[1024]', [1024], 'range'), v('[2^53]', [2 ** 53], 'range'),
  ],
  session: [...ABSENT, ...NOT_STRINGS, v('"../x"', '../x', 'range', { core: true }), v('"ZZ" (not hex)', 'ZZ', 'range'), v('65 hex digits', 'a'.repeat(65), 'range'), v('empty', '', 'range')],
  writeId: [...NOT_STRINGS, v('129 chars', 'w'.repeat(129), 'range', { core: true })],
  dims: [v('string', 'x'), v('int 0', 0), v('["0"]', ['0']), v('[-1]', [-1], 'range'), v('[1.5]', [1.5], 'range'), v('[999] (no such index)', [999], 'range'), v('[NaN]', [Number.NaN], 'range')],
  row: [
    ...ABSENT,
    v('string', 'x'), v('int 1', 1, 'type', { core: true }), v('true', true), v('bin', BIN),
    v('[] (no values)', [], 'range'),
    v('3 values for 4 columns', ['k', 'm', 1.5], 'range'),
    v('5 values for 4 columns', ['k', 'm', 1.5, 1000, 5], 'range'),
    v('{} (no key column)', {}, 'range'),
    v('unknown column', row({ zzz: 1 }), 'range'),
    v('key column int', row({ card: 1 })),
    v('key column bin', row({ card: BIN })),
    v('key column array', row({ card: ['k'] })),
    v('key column map', row({ card: { a: 1 } })),
    v('key column invalid UTF-8', row({ card: INVALID_UTF8 }), 'exact', { codes: ['DECODE_ERROR'] }),
    v('key column 1 MiB + 1 chars', row({ card: 'k'.repeat(1024 * 1024 + 1) }), 'limit'),
    v('double column string', row({ amt: 'x' })),
    v('double column true', row({ amt: true })),
    v('double column uint64', row({ amt: 2n ** 64n - 1n })),
    v('timestamp -1', row({ ts: -1 }), 'range'),
    v('timestamp 1.5', row({ ts: 1.5 }), 'range'),
    v('timestamp NaN', row({ ts: Number.NaN }), 'range'),
    v('timestamp Infinity', row({ ts: Number.POSITIVE_INFINITY }), 'range'),
    v('timestamp 2^53+1 (uint64)', row({ ts: 2n ** 53n + 1n }), 'range'),
    v('timestamp 2^64-1 (beyond int64)', row({ ts: 2n ** 64n - 1n }), 'range'),
    v('timestamp -2^63', row({ ts: -(2n ** 63n) }), 'range'),
    v('timestamp string', row({ ts: '1000' })),
    // The index takes its time from ts: a row without one would be stored at ts 0, unscannable.
    v('timestamp nil (the index ts column)', row({ ts: null }), 'range', { core: true }),
    v('timestamp column absent (the index ts column)', { card: 'k', mcc: 'm', amt: 1.5 }, 'range'),
    v('timestamp nil in an array row', ['k', 'm', 1.5, null], 'range'),
    v('map key __proto__', mapOf(['card', 'k'], ['__proto__', { card: 'evil' }]), 'range'),
    v('map key constructor', mapOf(['card', 'k'], ['constructor', 'x']), 'range'),
    v('map key prototype', mapOf(['card', 'k'], ['prototype', 'x']), 'range'),
    v('map key hasOwnProperty', mapOf(['card', 'k'], ['hasOwnProperty', 1]), 'range'),
    v('map key int 1', mapOf(['card', 'k'], [1, 'x']), 'exact', { codes: ['DECODE_ERROR', 'INVALID_ARGUMENT'] }),
    v('map key nil', mapOf(['card', 'k'], [null, 'x']), 'exact', { codes: ['DECODE_ERROR', 'INVALID_ARGUMENT'] }),
  ],
  rows: [
    ...ABSENT, v('string', 'x'), v('map', { row: COL_OK }),
    v('[] (empty)', [], 'range'),
    v('[1]', [1]), v('[nil]', [null]), v('[{}] (no row)', [{}]),
    v('[{row: "x"}]', [{ row: 'x' }]),
    v('a good row then a bad one', [{ row: COL_OK }, { row: row({ amt: 'x' }) }], 'range'),
    v('a good row then one with ts -1', [{ row: COL_OK }, { row: COL_OK, ts: -1 }], 'range'),
    v('10001 rows (over batchRowsMax)', Array.from({ length: 10_001 }, () => ({ row: ['k', null, null, 1] })), 'limit'),
  ],
  schema: [...ABSENT, v('string', 'x'), v('array', [1]), v('{}', {}, 'range')],
  columns: [
    ...ABSENT, v('string', 'x'), v('[]', [], 'range'), v('[1]', [1]), v('[{}]', [{}]),
    v('type "blob"', [{ name: 'card', type: 'blob' }], 'range'),
    v('type 1', [{ name: 'card', type: 1 }]),
    v('duplicate column', [{ name: 'card', type: 'string' }, { name: 'card', type: 'string' }], 'range'),
    v('column "../x"', [{ name: 'card', type: 'string' }, { name: '../x', type: 'string' }], 'range'),
    v('1025 columns (over columnsMax)', [{ name: 'card', type: 'string' }, ...Array.from({ length: 1024 }, (_, i) => ({ name: `c${i}`, type: 'int32' }))], 'limit'),
  ],
  indexes: [
    ...ABSENT, v('string', 'x'), v('[]', [], 'range'), v('[1]', [1]),
    v('no keys', [{ name: 'i', keys: [] }], 'range'),
    v('keys "card" (not a list)', [{ name: 'i', keys: 'card' }]),
    v('unknown key column', [{ name: 'i', keys: ['nope'] }], 'range'),
    v('double key column', [{ name: 'i', keys: ['amt'] }], 'range'),
    v('ts column of type string', [{ name: 'i', keys: ['card'], ts: 'mcc' }], 'range'),
    v('unknown ts column', [{ name: 'i', keys: ['card'], ts: 'nope' }], 'range'),
    v('duplicate index', [{ name: 'i', keys: ['card'] }, { name: 'i', keys: ['mcc'] }], 'range'),
    v('index "../x"', [{ name: '../x', keys: ['card'] }], 'range'),
    v('17 key columns (over indexKeyColumnsMax)', [{ name: 'i', keys: Array.from({ length: 17 }, () => 'card') }], 'limit'),
    v('65 indexes (over indexesMax)', Array.from({ length: 65 }, (_, i) => ({ name: `i${i}`, keys: ['card'] })), 'limit'),
  ],
  ttl: [
    v('string', 'x'), v('int 5', 5),
    v('type "bogus"', { type: 'bogus' }, 'range'),
    v('absMinutes -1', { type: 'absolute', absMinutes: -1 }, 'range'),
    v('absMinutes 1.5', { type: 'absolute', absMinutes: 1.5 }, 'range'),
    v('absMinutes NaN', { type: 'absolute', absMinutes: Number.NaN }, 'range'),
    v('absMinutes 2^64-1', { type: 'absolute', absMinutes: 2n ** 64n - 1n }, 'range'),
    v('absMinutes over the limit', { type: 'absolute', absMinutes: 30 * 365 * 24 * 60 + 1 }, 'range'),
    v('latest 1001', { type: 'latest', latest: 1001 }, 'range'),
    v('latest "5"', { type: 'latest', latest: '5' }),
  ],
  // Entries of /v1/replica/append; offsets are filled in by the case (see catalogue.ts).
  entries: [
    ...ABSENT, v('string', 'x'), v('map', { offset: 1 }), v('[1]', [1]), v('[{}]', [{}]),
    v('[{offset: "1"}]', [{ offset: '1' }]),
    v('[{offset: 2^64-1}]', [{ offset: 2n ** 64n - 1n, term: 0, kind: 'put', ts: 1, values: [] }], 'range'),
  ],
  chunkEntries: [
    ...ABSENT, v('string', 'x'), v('[1]', [1]), v('[[1, 2]]', [[1, 2]]), v('[[bin]]', [[BIN]]),
    v('[[bin, bin, bin]]', [[BIN, BIN, BIN]]), v('[["a", "b"]]', [['a', 'b']]), v('[nil]', [null]),
  ],
  // The list of per-partition requests of put_multi / get_multi / append_multi: a bad element is
  // refused for its part only (a 2xx answer whose results are all refusals counts as refused).
  parts: [
    ...ABSENT, v('string', 'x'), v('map', { tid: 1 }), v('[] (empty)', [], 'range', { core: true }),
    v('[1]', [1], 'type', { core: true }), v('[nil]', [null]), v('[{}]', [{}]),
    v('10001 empty parts (over every multi limit)', Array.from({ length: 10_001 }, () => ({})), 'limit'),
  ],
  // `@A` is replaced by the first tablet's endpoint when the case is built.
  placement: [
    v('string', 'x'), v('[1]', [1]), v('[] (empty)', [], 'range'),
    v('pid -1', [{ pid: -1, leader: '@A', followers: [] }], 'range'),
    v('pid "0"', [{ pid: '0', leader: '@A', followers: [] }]),
    v('leader "../x"', [{ pid: 0, leader: '../x', followers: [] }], 'exact', { codes: ['INVALID_ARGUMENT', 'TABLET_NOT_HEALTHY'] }),
    v('followers "x"', [{ pid: 0, leader: '@A', followers: 'x' }]),
    v('pid 5 for 1 partition', [{ pid: 5, leader: '@A', followers: [] }], 'range'),
  ],
};

export function badValues(kind: KindName, required: boolean, coreOnly = false): BadValue[] {
  return KINDS[kind].filter((b) => (required || !b.requiredOnly) && (!coreOnly || b.core));
}
