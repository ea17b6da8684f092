// ns_client parsing: words and quotes, `--cmd` splitting, pid groups, TTLs, the short create
// form with OpenMLDB's error texts, and the JSON table meta file (including the shipped example).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TesseraError } from '@tessera/common';
import { parseCommandLine, parsePidGroup, parseShortCreate, parseTableMetaFile, parseTtl, splitCommands, tokenize } from '../src/nsclient/parse.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../../..');

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof TesseraError)) throw err;
    if (err.code !== 'INVALID_ARGUMENT') throw new Error(`expected INVALID_ARGUMENT, got ${err.code}`);
    return err.message;
  }
  throw new Error('expected a refusal');
}

t.test('tokenize: white space, quotes, escapes, empty words', async (t) => {
  t.same(tokenize('  put  flow 1  a b '), ['put', 'flow', '1', 'a', 'b']);
  t.same(tokenize(`put flow 1 "a b" 'c d' ""`), ['put', 'flow', '1', 'a b', 'c d', '']);
  t.same(tokenize(`x "say \\"hi\\"" a\\ b 'no\\esc'`), ['x', 'say "hi"', 'a b', 'no\\esc']);
  t.same(tokenize('ab"c d"e'), ['abc de']);
  t.same(tokenize(''), []);
  t.equal(messageOf(() => tokenize('put "open')), 'unterminated " quote');
  t.same(parseCommandLine('ShowTablet'), { name: 'showtablet', args: [] });
  t.equal(parseCommandLine('   '), undefined);
});

t.test('splitCommands: semicolons outside quotes, blanks dropped', async (t) => {
  t.same(splitCommands('use demo_db; showtable'), ['use demo_db', 'showtable']);
  t.same(splitCommands(`put t 1 'a;b' c;;  ; showtable ;`), [`put t 1 'a;b' c`, 'showtable']);
  t.same(splitCommands(`put t 1 "x\\";y";get`), [`put t 1 "x\\";y"`, 'get']);
  t.same(splitCommands('   '), []);
});

t.test('pid groups', async (t) => {
  t.same(parsePidGroup('3'), [3]);
  t.same(parsePidGroup('1,3,5'), [1, 3, 5]);
  t.same(parsePidGroup('5,1,3,1'), [1, 3, 5]);
  t.same(parsePidGroup('1-5'), [1, 2, 3, 4, 5]);
  t.same(parsePidGroup('0-0'), [0]);
  for (const bad of ['', 'a', '-1', '1-', '1,,2', '1-2-3', '1.5', '1,a', '0-100000']) {
    t.equal(messageOf(() => parsePidGroup(bad)), `pid group[${bad}] format error`, bad);
  }
  t.same(parsePidGroup('5-1'), [], 'an empty range is no pid (OpenMLDB: has not valid pid), not a format error');
});

t.test('ttl forms', async (t) => {
  t.same(parseTtl('0'), { type: 'absolute', absMinutes: 0, latest: 0 });
  t.same(parseTtl('144000'), { type: 'absolute', absMinutes: 144000, latest: 0 });
  t.same(parseTtl('absolute:10'), { type: 'absolute', absMinutes: 10, latest: 0 });
  t.same(parseTtl('latest:3'), { type: 'latest', absMinutes: 0, latest: 3 });
  t.same(parseTtl('absandlat:10:3'), { type: 'absandlat', absMinutes: 10, latest: 3 });
  t.same(parseTtl('absorlat:10:3'), { type: 'absorlat', absMinutes: 10, latest: 3 });
  t.same(parseTtl('kLatestTime:7'), { type: 'latest', absMinutes: 0, latest: 7 });
  for (const bad of ['x', 'latest', 'latest:', 'latest:a', 'latest:1:2', 'absandlat:1', 'absorlat:1:2:3', '-1', 'foo:1']) {
    t.equal(messageOf(() => parseTtl(bad)), 'invalid ttl type', bad);
  }
  t.match(messageOf(() => parseTtl('latest:1001')), /latest ttl should be no more than 1000/);
});

t.test('short create form', async (t) => {
  const req = parseShortCreate(['flow', 'latest:10', '2', '3', 'card:string:index', 'mcc:string:index', 'amt:double', 'n:int'], 'demo_db');
  t.same(req, {
    schema: {
      name: 'flow',
      db: 'demo_db',
      columns: [
        { name: 'card', type: 'string' },
        { name: 'mcc', type: 'string' },
        { name: 'amt', type: 'double' },
        { name: 'n', type: 'int32' },
      ],
      indexes: [
        { name: 'card', keys: ['card'], ttl: { type: 'latest', absMinutes: 0, latest: 10 } },
        { name: 'mcc', keys: ['mcc'], ttl: { type: 'latest', absMinutes: 0, latest: 10 } },
      ],
    },
    partitionNum: 2,
    replicaNum: 3,
  });
  const cases: Array<[string[], string]> = [
    [['flow', 'bad:1', '2', '3', 'card:string:index'], 'invalid ttl type'],
    [['flow', '0', '0', '3', 'card:string:index'], 'partition_num should be large than zero'],
    [['flow', '0', 'x', '3', 'card:string:index'], 'partition_num should be large than zero'],
    [['flow', '0', '2', '0', 'card:string:index'], 'replica_num should be large than zero'],
    [['flow', '0', '2', '-1', 'card:string:index'], 'replica_num should be large than zero'],
    [['flow', '0', '2', '3', 'card'], 'create failed! schema format is illegal'],
    [['flow', '0', '2', '3', 'card:string:key'], 'create failed! schema format is illegal'],
    [['flow', '0', '2', '3', 'card:string:index:x'], 'create failed! schema format is illegal'],
    [['flow', '0', '2', '3', ':string:index'], 'create failed! schema format is illegal'],
    [['flow', '0', '2', '3', 'card:string:index', 'card:int64'], 'Duplicated column card'],
    [['flow', '0', '2', '3', 'card:string:index', 'x:uint128'], 'type uint128 is invalid'],
    [['flow', '0', '2', '3', 'card:string:index', 'amt:double:index'], 'float or double column can not be index'],
    [['flow', '0', '2', '3', 'amt:float:index'], 'float or double column can not be index'],
    [['flow', '0', '2', '3', 'card:string', 'amt:double'], 'create failed! schema has no index'],
  ];
  for (const [args, message] of cases) t.equal(messageOf(() => parseShortCreate(args, 'demo_db')), message, args.join(' '));
  t.match(messageOf(() => parseShortCreate(['bad-name', '0', '1', '1', 'c:string:index'], 'demo_db')), /table name 'bad-name'/);
});

t.test('short create form without columns: a key-value table', async (t) => {
  const kv = (ttl: unknown) => ({
    schema: {
      name: 'kvt',
      db: 'demo_db',
      columns: [
        { name: 'key', type: 'string', notNull: true },
        { name: 'value', type: 'string', notNull: true },
      ],
      indexes: [{ name: 'key', keys: ['key'], ttl }],
      kv: true,
    },
    partitionNum: 8,
    replicaNum: 3,
  });
  t.same(parseShortCreate(['kvt', '0', '8', '3'], 'demo_db'), kv({ type: 'absolute', absMinutes: 0, latest: 0 }));
  t.same(parseShortCreate(['kvt', 'latest:10', '8', '3'], 'demo_db'), kv({ type: 'latest', absMinutes: 0, latest: 10 }));
  t.same(parseShortCreate(['kvt', 'absorlat:5:2', '8', '3'], 'demo_db'), kv({ type: 'absorlat', absMinutes: 5, latest: 2 }));
  t.equal(messageOf(() => parseShortCreate(['kvt', 'latest:x', '8', '3'], 'demo_db')), 'invalid ttl type');
  t.equal(messageOf(() => parseShortCreate(['kvt', '0', '0', '3'], 'demo_db')), 'partition_num should be large than zero');
});

const META = {
  name: 'flow',
  partition_num: 2,
  replica_num: 3,
  compress_type: 'kSnappy',
  replica_ack: 'leader',
  columns: [
    { name: 'card', type: 'string' },
    { name: 'mcc', type: 'string', not_null: true },
    { name: 'amt', type: 'double' },
    { name: 'ts', type: 'timestamp' },
  ],
  indexes: [
    { name: 'card', keys: ['card'], ts: 'ts', ttl: 'absolute:0' },
    { name: 'card_mcc', keys: ['card', 'mcc'], ttl: { ttl_type: 'absandlat', abs_ttl: 60, lat_ttl: 5 } },
    { name: 'mcc', keys: 'mcc' },
  ],
};

t.test('table meta file', async (t) => {
  const req = parseTableMetaFile(JSON.stringify(META), 'demo_db');
  t.same(req, {
    schema: {
      name: 'flow',
      db: 'demo_db',
      columns: [
        { name: 'card', type: 'string' },
        { name: 'mcc', type: 'string', notNull: true },
        { name: 'amt', type: 'double' },
        { name: 'ts', type: 'timestamp' },
      ],
      indexes: [
        { name: 'card', keys: ['card'], ts: 'ts', ttl: { type: 'absolute', absMinutes: 0, latest: 0 } },
        { name: 'card_mcc', keys: ['card', 'mcc'], ttl: { type: 'absandlat', absMinutes: 60, latest: 5 } },
        { name: 'mcc', keys: ['mcc'], ttl: { type: 'absolute', absMinutes: 0, latest: 0 } },
      ],
    },
    partitionNum: 2,
    replicaNum: 3,
    compressType: 'kSnappy',
    replicaAck: 'leader',
  });
  t.equal(parseTableMetaFile(JSON.stringify({ ...META, db: 'other' }), 'demo_db').schema.db, 'other');

  const placed = parseTableMetaFile(
    JSON.stringify({
      ...META,
      partition_num: undefined,
      replica_num: undefined,
      table_partition: [
        { pid: 1, leader: 'b:1', followers: ['c:1', 'a:1'] },
        { pid: 0, leader: 'a:1', followers: ['b:1', 'c:1'] },
      ],
    }),
    'demo_db',
  );
  t.equal(placed.partitionNum, 2);
  t.equal(placed.replicaNum, 3);
  t.same(placed.partitions, [
    { pid: 0, leader: 'a:1', followers: ['b:1', 'c:1'] },
    { pid: 1, leader: 'b:1', followers: ['c:1', 'a:1'] },
  ]);
});

t.test('table meta file refusals', async (t) => {
  const bad = (patch: Record<string, unknown>, db = 'demo_db'): string => messageOf(() => parseTableMetaFile(JSON.stringify({ ...META, ...patch }), db));
  t.match(messageOf(() => parseTableMetaFile('{ nope', 'demo_db')), /^table meta file is not valid JSON/);
  t.match(messageOf(() => parseTableMetaFile('[]', 'demo_db')), /table meta file must be an object/);
  t.equal(bad({ partiton_num: 2 }), 'unknown field partiton_num in table meta file');
  t.match(bad({}, ''), /please enter database first/);
  t.equal(bad({ partition_num: 0 }), 'partition_num should be large than zero');
  t.equal(bad({ replica_num: 1.5 }), 'replica_num should be large than zero');
  t.equal(bad({ compress_type: 'zip' }), 'compress_type should be kNoCompress or kSnappy');
  t.equal(bad({ replica_ack: 'some' }), 'replica_ack should be leader or all');
  t.equal(bad({ columns: [] }), 'create failed! schema format is illegal');
  t.equal(bad({ indexes: [] }), 'create failed! schema has no index');
  t.equal(bad({ columns: [...META.columns, { name: 'card', type: 'int64' }] }), 'Duplicated column card');
  t.equal(bad({ columns: [...META.columns, { name: 'x', type: 'blob' }] }), 'type blob is invalid');
  t.equal(bad({ indexes: [{ name: 'amt', keys: ['amt'] }] }), 'float or double column can not be index');
  t.equal(bad({ indexes: [{ name: 'card', keys: ['card'], ttl: 'forever' }] }), 'invalid ttl type');
  t.equal(bad({ indexes: [{ name: 'card', keys: ['card'], ttl: { ttl_type: 'sometimes' } }] }), 'invalid ttl type');
  t.match(bad({ indexes: [{ name: 'card', keys: ['nope'] }] }), /unknown key column nope/);
  const place = (table_partition: unknown, extra: Record<string, unknown> = {}): string => bad({ partition_num: undefined, replica_num: undefined, table_partition, ...extra });
  t.equal(place([{ pid: 0, leader: 'a:1', followers: ['a:1'] }]), 'endpoint a:1 appears twice in partition 0');
  t.equal(place([{ pid: 1, leader: 'a:1', followers: [] }]), 'table_partition has no pid 0');
  t.equal(place([{ pid: 0, leader: 'a:1' }, { pid: 0, leader: 'b:1' }]), 'pid 0 appears twice in table_partition');
  t.equal(place([{ pid: 0, leader: 'a:1' }, { pid: 1, leader: 'b:1', followers: ['a:1'] }]), 'every partition in table_partition must have the same number of replicas');
  t.equal(place([{ pid: 0, leader: 'a:1' }], { partition_num: 2 }), 'partition_num is 2 but table_partition lists 1 partitions');
  t.equal(place([{ pid: 0, leader: 'a:1' }], { replica_num: 3 }), 'replica_num is 3 but table_partition places 1 replicas per partition');
  t.match(place([{ pid: 0 }]), /table_partition\[0\]\.leader must be a non-empty string/);
});

t.test('the shipped example meta file parses', async (t) => {
  const text = readFileSync(join(REPO_ROOT, 'conf/examples/flow_table_meta.json'), 'utf8');
  const req = parseTableMetaFile(text, 'demo_db');
  t.equal(req.schema.name, 'flow');
  t.equal(req.partitionNum, 2);
  t.equal(req.replicaNum, 3);
  t.equal(req.partitions?.length, 2);
});
