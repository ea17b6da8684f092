// ns_client table output against the operator procedure (seed/000): the seed's figures rendered
// by renderTable must give back the seed's text byte for byte, and the units print as OpenMLDB's.
import t from 'tap';
import { formatAge, formatBytes, formatLocalTime, formatSeconds, renderNumberedTable, renderTable, toJsonLine } from '../src/nsclient/table-format.js';

const SEED_SHOWTABLET = [
  '  endpoint            state           age',
  '-------------------------------------------',
  '  172.27.128.31:8541  kTabletHealthy  15d',
  '  172.27.128.32:8541  kTabletHealthy  15d',
  '  172.27.128.33:8541  kTabletHealthy  15d',
  '  172.27.128.37:8541  kTabletHealthy  1min',
].join('\n');

const SEED_SHOWOPSTATUS = [
  '  op_id  op_type     name  pid  status  start_time      execute_time  end_time        cur_task',
  '------------------------------------------------------------------------------------------------',
  '  51     kMigrateOP  flow  0    kDone   20180824163316  12s           20180824163328  -',
].join('\n');

t.test('showtablet table as in the seed', async (t) => {
  const rows = [
    ['172.27.128.31:8541', 'kTabletHealthy', '15d'],
    ['172.27.128.32:8541', 'kTabletHealthy', '15d'],
    ['172.27.128.33:8541', 'kTabletHealthy', '15d'],
    ['172.27.128.37:8541', 'kTabletHealthy', '1min'],
  ];
  t.equal(renderTable(['endpoint', 'state', 'age'], rows), SEED_SHOWTABLET);
});

t.test('showopstatus table as in the seed', async (t) => {
  const header = ['op_id', 'op_type', 'name', 'pid', 'status', 'start_time', 'execute_time', 'end_time', 'cur_task'];
  const rows = [['51', 'kMigrateOP', 'flow', '0', 'kDone', '20180824163316', '12s', '20180824163328', '-']];
  t.equal(renderTable(header, rows), SEED_SHOWOPSTATUS);
});

t.test('padding rule: two spaces, padded columns, no trailing spaces, rule = header + 2 or the longest row', async (t) => {
  t.equal(renderTable(['a', 'bb'], [['xxx', 'y'], ['z', 'ww']]), ['  a    bb', '-----------', '  xxx  y', '  z    ww'].join('\n'));
  t.equal(renderTable(['a', 'b'], [['xxx', 'long-value']]), ['  a    b', '-----------------', '  xxx  long-value'].join('\n'));
  t.equal(renderTable(['key', 'value'], []), ['  key  value', '--------------'].join('\n'));
  t.equal(renderNumberedTable(['name'], [['demo_db'], ['other']]), ['  #  name', '------------', '  1  demo_db', '  2  other'].join('\n'));
  t.equal(renderTable(['x', 'y'], [['1', ''], ['22', 'a']]), ['  x   y', '---------', '  1', '  22  a'].join('\n'));
});

t.test('ages', async (t) => {
  const S = 1000;
  t.equal(formatAge(0), '0s');
  t.equal(formatAge(20 * S + 999), '20s');
  t.equal(formatAge(59 * S), '59s');
  t.equal(formatAge(60 * S), '1min');
  t.equal(formatAge(65 * S), '1min');
  t.equal(formatAge(59 * 60 * S), '59min');
  t.equal(formatAge(3 * 3600 * S + 5), '3h');
  t.equal(formatAge(23 * 3600 * S), '23h');
  t.equal(formatAge(15 * 86400 * S + 7200 * S), '15d');
  t.equal(formatAge(-5), '0s');
});

t.test('bytes, times, seconds, json', async (t) => {
  t.equal(formatBytes(0), '0.000');
  t.equal(formatBytes(512), '512.000');
  t.equal(formatBytes(1536), '1.500K');
  t.equal(formatBytes(3 * 1024 * 1024), '3.000M');
  t.equal(formatBytes(2 * 1024 ** 3), '2.000G');
  t.equal(formatLocalTime(new Date(2018, 7, 24, 16, 33, 16).getTime()), '20180824163316');
  t.equal(formatLocalTime(new Date(2021, 0, 2, 3, 4, 5).getTime()), '20210102030405');
  t.equal(formatSeconds(12_400), '12s');
  t.equal(toJsonLine({ a: 1n << 60n, b: undefined, c: 'x' }), '{"a":"1152921504606846976","c":"x"}');
});
