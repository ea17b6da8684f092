// The partition file of gettablepartition/settablepartition: what Tessera writes reads back the
// same; OpenMLDB's own text-format files (extra status fields, no in_sync, no header, `<>`
// messages, comments) are read; malformed files are refused with a reason.
import t from 'tap';
import type { PartitionMeta } from '@tessera/common';
import { parsePartitionFile, partitionFileName, renderPartitionFile } from '../src/nsclient/partition-file.js';

const P: PartitionMeta = {
  pid: 3,
  replicas: [
    { endpoint: '127.0.0.1:9527', isLeader: true, isAlive: true },
    { endpoint: '127.0.0.1:9528', isLeader: false, isAlive: true },
    { endpoint: '127.0.0.1:9529', isLeader: true, isAlive: false },
  ],
  termOffsets: [{ term: 1, offset: 0 }, { term: 3, offset: 120 }],
  inSync: ['127.0.0.1:9528'],
};

t.test('round trip', async (t) => {
  const text = renderPartitionFile({ name: 'flow', db: 'demo_db', tid: 4 }, P);
  t.equal(text.split('\n').slice(0, 7).join('\n'), '# table: flow db: demo_db tid: 4\npid: 3\npartition_meta {\n  endpoint: "127.0.0.1:9527"\n  is_leader: true\n  is_alive: true\n}');
  t.same(parsePartitionFile(text), { table: { name: 'flow', db: 'demo_db', tid: 4 }, partition: P });
  t.equal(partitionFileName('flow', 3), 'flow_3.txt');
});

t.test("OpenMLDB's file", async (t) => {
  const text = [
    'pid: 3',
    'partition_meta {',
    '  endpoint: "127.0.0.1:9527"',
    '  is_leader: true',
    '  offset: 120',
    '  record_cnt: 7',
    '  tablet_has_partition: true',
    '}',
    '# a comment',
    'partition_meta <',
    '  endpoint: "127.0.0.1:9528" is_leader: false is_alive: false',
    '>',
    'term_offset { term: 1 offset: 0 }',
    'record_cnt: 7',
    'diskused: 0',
  ].join('\n');
  t.same(parsePartitionFile(text), {
    partition: {
      pid: 3,
      replicas: [
        { endpoint: '127.0.0.1:9527', isLeader: true, isAlive: true },
        { endpoint: '127.0.0.1:9528', isLeader: false, isAlive: false },
      ],
      termOffsets: [{ term: 1, offset: 0 }],
    },
  }, 'is_alive defaults to true; status fields ignored; no header, no in_sync');
});

t.test('malformed files', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['', /the file has no pid$/],
    ['pid: -1', /the file\.pid must be a non-negative integer$/],
    ['pid: 1\npid: 2', /the file has pid twice$/],
    ['pid: 1\nfoo: 2', /unknown field foo in the file$/],
    ['pid: 1\npartition_meta { endpoint: "a:1" }', /partition_meta\[0\] has no is_leader$/],
    ['pid: 1\npartition_meta { endpoint: 5 is_leader: true }', /partition_meta\[0\]\.endpoint must be a string$/],
    ['pid: 1\npartition_meta { endpoint: "a:1" is_leader: yes }', /field is_leader has the value 'yes'$/],
    ['pid: 1\npartition_meta { endpoint: "a:1"', /missing '\}'$/],
    ['pid: 1\nterm_offset { term: 1 }', /term_offset\[0\] has no offset$/],
    ['pid 1', /field pid has no value$/],
    ['pid: 1 ;', /unexpected text at character \d+: ";"$/],
    ['pid: 1\nin_sync: 3', /in_sync must be strings$/],
  ];
  for (const [text, re] of cases) {
    let message = '';
    try {
      parsePartitionFile(text);
    } catch (err) {
      message = (err as Error).message;
      t.equal((err as { code?: string }).code, 'INVALID_ARGUMENT');
    }
    t.match(message, /^table partition file format error: /, JSON.stringify(text));
    t.match(message, re, JSON.stringify(text));
  }
});
