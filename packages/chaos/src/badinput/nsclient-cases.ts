/**
 * ns_client cases, as tables: wrong arity for every command, unknown commands, bad pid groups,
 * bad TTL forms and create forms, bad numbers and names in every command that takes them,
 * unknown tables and databases, quotes left open; and whole processes with bad flags or an
 * empty `--cmd`. Every line must fail with a failure or usage line and never a stack trace.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CliLineCase, CliProcessCase, ClusterView } from './model.js';

type LineFn = (v: ClusterView) => string;

const FAIL_TEXT = /fail|usage|unsupported|invalid|error|should|must|does not exist|not found|please|unterminated|illegal|not exist|cancel|exists|not healthy|no index|duplicated|greater than|not leader|has not valid pid/i;

/** [command, min args, max args] as docs/ns_client.md and `help` give them (∞ = no maximum). */
const ARITY: ReadonlyArray<readonly [string, number, number]> = [
  ['showtablet', 0, 0], ['showns', 0, 0], ['createdb', 1, 1], ['showdb', 0, 0], ['dropdb', 1, 1], ['use', 0, 1],
  ['create', 1, Infinity], ['drop', 1, 1], ['showtable', 0, 1], ['showschema', 1, 1], ['info', 1, 1],
  ['put', 3, Infinity], ['get', 4, 4], ['scan', 5, 6], ['count', 2, 4], ['preview', 1, 2], ['delete', 2, 3],
  ['migrate', 4, 4], ['changeleader', 2, 3], ['addreplica', 3, 3], ['delreplica', 3, 3], ['showopstatus', 0, 2],
  ['cancelop', 1, 1], ['deleteop', 1, 1], ['confset', 2, 2], ['confget', 0, 1], ['offlineendpoint', 1, 2],
  ['recoverendpoint', 1, 3], ['recovertable', 3, 3], ['updatetablealive', 4, 4], ['makesnapshot', 2, 2], ['pre-upgrade', 1, 1], ['post-upgrade', 1, 1],
  ['disconnectzk', 0, 0], ['connectzk', 0, 0], ['help', 0, 1], ['man', 0, 1], ['quit', 0, 0], ['exit', 0, 0],
];

const UNKNOWN_COMMANDS = ['bogus', 'showtables', 'SHOW', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '../x', 'é', 'x'.repeat(10_000)];

const BAD_PID_GROUPS = ['1-', '3-1', 'a', '-1', '1,,2', ',', '1-a', '0-5000', '1.5', '0x1', '99999999999999999999', '1,a', '-', "''", "' '", '1 -2'];

const BAD_TTLS = ['abc', '-1', 'latest:', 'latest:-1', 'latest:1001', 'absolute:1:2', 'absandlat:1', 'absorlat:a:b', '1.5', ':', 'kLatestTime', 'absolute:99999999999', "''", 'latest:1e3', 'absolute:0x10', '10min', 'absolute:15768001'];

/** Short create forms wrong in one place (name, counts, columns). `@` is a fresh table name. */
const BAD_CREATES = [
  '@ 0 0 1 c:string:index', '@ 0 -1 1 c:string:index', '@ 0 a 1 c:string:index', '@ 0 1025 1 c:string:index', '@ 0 1.5 1 c:string:index',
  '@ 0 1 0 c:string:index', '@ 0 1 -1 c:string:index', '@ 0 1 10 c:string:index', '@ 0 1 3 c:string:index', '@ 0 1 x c:string:index',
  '@ 0 1 1 c', '@ 0 1 1 c:', '@ 0 1 1 :string:index', '@ 0 1 1 c:blob:index', '@ 0 1 1 c:double:index', '@ 0 1 1 c:string:idx',
  '@ 0 1 1 c:string:index:x', '@ 0 1 1 c:string:index c:int32', '@ 0 1 1 c:string', '@ 0 1 1 ../c:string:index',
  '../x 0 1 1 c:string:index', 'a/b 0 1 1 c:string:index', `${'t'.repeat(129)} 0 1 1 c:string:index`, '1t 0 1 1 c:string:index',
  "'a b' 0 1 1 c:string:index", "'' 0 1 1 c:string:index", 'a\\\\b 0 1 1 c:string:index',
];

/** Bad table meta files: [file name, content]. */
const BAD_META_FILES: ReadonlyArray<readonly [string, string]> = [
  ['not-json.json', '{"name": "t", '],
  ['array.json', '[1, 2]'],
  ['proto.json', '{"__proto__": {"polluted": true}, "name": "chaos_meta_proto", "columns": [{"name": "c", "type": "string"}], "indexes": [{"name": "c", "keys": ["c"]}]}'],
  ['path-name.json', '{"name": "../x", "columns": [{"name": "c", "type": "string"}], "indexes": [{"name": "c", "keys": ["c"]}]}'],
  ['unknown-field.json', '{"name": "chaos_meta_uf", "evil": 1, "columns": [{"name": "c", "type": "string"}], "indexes": [{"name": "c", "keys": ["c"]}]}'],
  ['partitions-negative.json', '{"name": "chaos_meta_pn", "partition_num": -1, "columns": [{"name": "c", "type": "string"}], "indexes": [{"name": "c", "keys": ["c"]}]}'],
  ['partitions-float.json', '{"name": "chaos_meta_pf", "partition_num": 1.5, "columns": [{"name": "c", "type": "string"}], "indexes": [{"name": "c", "keys": ["c"]}]}'],
  ['partitions-huge.json', '{"name": "chaos_meta_ph", "partition_num": 1e300, "columns": [{"name": "c", "type": "string"}], "indexes": [{"name": "c", "keys": ["c"]}]}'],
  ['ttl-bad.json', '{"name": "chaos_meta_tb", "columns": [{"name": "c", "type": "string"}], "indexes": [{"name": "c", "keys": ["c"], "ttl": {"ttl_type": "latest", "lat_ttl": -5}}]}'],
  ['placement-unknown.json', '{"name": "chaos_meta_pu", "columns": [{"name": "c", "type": "string"}], "indexes": [{"name": "c", "keys": ["c"]}], "table_partition": [{"pid": 0, "leader": "127.0.0.1:1"}]}'],
  ['db-path.json', '{"name": "chaos_meta_db", "db": "../etc", "columns": [{"name": "c", "type": "string"}], "indexes": [{"name": "c", "keys": ["c"]}]}'],
];

/** Writes the meta files into the work directory (once per run). */
export function writeMetaFiles(v: ClusterView): void {
  for (const [name, content] of BAD_META_FILES) writeFileSync(path.join(v.workDir, name), content);
}

const A = (v: ClusterView) => v.tablets[0];
const B = (v: ClusterView) => v.tablets[1];

/** Hand-listed lines; `{A}`/`{B}` are the tablets, `{T}` the table, `{K}` a stored key, `{DB}` the database. */
const LINES: ReadonlyArray<readonly [string, RegExp?]> = [
  // put: ts, value count, value types
  ['put {T} abc k m 1.5 1'], ['put {T} -1 k m 1.5 1'], ['put {T} 1.5 k m 1.5 1'], ['put {T} 99999999999999999999 k m 1.5 1'],
  ['put {T} 1 k m'], ['put {T} 1 k m 1.5 1 extra'], ['put {T} 1 k m x 1'], ['put {T} 1 k m NaN 1'], ['put {T} 1 k m Infinity 1'],
  ['put {T} 1 k m 1.5 x'], ['put {T} 1 k m 1.5 1.5'], ['put {T} 1 k m 1.5 99999999999999999999'], ['put {T} 1 k m 1.5 -99999999999999999999'],
  ['put {T} 1 k m 1.5 -1'], ['put chaos_no_table 1 a b c d'], ['put ../x 1 a b c d'],
  // the index's ts column null: no time, refused (it would be stored at ts 0, never scanned)
  ['put {T} 1 k m 1.5 null', /ts column ts of index card is missing or null/],
  // reads
  ['get {T} {K} nope 0'], ['get {T} {K} card -1'], ['get {T} {K} card abc'], ['get {T} {K} card 99999999999999999999'], ['get chaos_no_table k card 0'],
  ['scan {T} {K} card a 0'], ['scan {T} {K} card 10 -1'], ['scan {T} {K} card 10 0 0'], ['scan {T} {K} card 10 0 -5'], ['scan {T} {K} card 10 0 abc'],
  ['scan {T} {K} nope 10 0'], ['scan {T} {K} card 10 20'], ['scan chaos_no_table k card 10 0'],
  ['count {T} {K} nope'], ['count {T} {K} card maybe'], ['count chaos_no_table k'],
  ['preview {T} 0'], ['preview {T} -1'], ['preview {T} abc'], ['preview chaos_no_table'],
  ['delete {T} {K} nope'], ['delete chaos_no_table k'],
  // ops
  ['changeleader {T} a'], ['changeleader {T} -1'], ['changeleader {T} 99'], ['changeleader {T} 99999999999999999999'], ['changeleader chaos_no_table 0'],
  ['makesnapshot {T} a'], ['makesnapshot {T} 99'], ['makesnapshot chaos_no_table 0'],
  ['recovertable {T} a {A}'], ['recovertable {T} 0 127.0.0.1:1'], ['recovertable {T} 0 ../x'],
  ['updatetablealive {T} a {A} yes'], ['updatetablealive {T} 0 {A} maybe'], ['updatetablealive {T} -1 {A} no'],
  ['updatetablealive {T} 99 {A} no', /no pid has update/], ['updatetablealive chaos_no_table 0 {A} no', /table does not exist/],
  ['updatetablealive {T} 0 127.0.0.1:1 no', /endpoint does not exist/], ['updatetablealive {T} * ../x no'],
  ['gettablepartition {T} a'], ['gettablepartition {T} -1'], ['gettablepartition {T} 99', /pid\[99\] does not exist/], ['gettablepartition chaos_no_table 0'],
  ['settablepartition {T} /chaos/no/such/file.txt', /can not open file/], ['settablepartition chaos_no_table /chaos/no/such/file.txt'],
  ['showopstatus {T} a'], ['showopstatus {T} -1'],
  ['cancelop a'], ['cancelop -1'], ['cancelop 424242'], ['cancelop 99999999999999999999999'],
  ['deleteop bogus'], ['deleteop -1'], ['deleteop 424242'],
  ['confset bogus true'], ['confset auto_failover maybe'], ["confset auto_failover ''"], ['confget bogus'],
  ['offlineendpoint 127.0.0.1:1'], ['offlineendpoint ../x'], ['offlineendpoint {A} 0'], ['offlineendpoint {A} -1'], ['offlineendpoint {A} abc'],
  ['recoverendpoint 127.0.0.1:1'], ['pre-upgrade 127.0.0.1:1'], ['post-upgrade 127.0.0.1:1'], ['pre-upgrade ../x'], ['recoverendpoint {A} maybe'], ['recoverendpoint {A} false -1'], ['recoverendpoint {A} false abc'],
  ['migrate {A} {T} 0 {A}'], ['migrate {A} {T} 0 127.0.0.1:1'], ['migrate {A} {T} 5 {B}'], ['migrate {A} chaos_no_table 0 {B}'],
  ['addreplica {T} 7 {B}'], ['addreplica {T} 0 127.0.0.1:1'], ['delreplica {T} 9 {A}'], ['delreplica {T} 0 127.0.0.1:1'],
  // databases and tables
  ['createdb ../x'], ['createdb a/b'], ["createdb ''"], ['createdb 1db'], [`createdb ${'d'.repeat(129)}`], ["createdb 'a b'"], ['createdb a\u0000b'], ['createdb {DB}'],
  ['dropdb chaos_no_db'], ['dropdb {DB}'], ['dropdb ../x'],
  ['use chaos_no_db'], ['use ../x'],
  ['drop chaos_no_table'], ['drop ../x'], ['showtable chaos_no_table'], ['showschema chaos_no_table'], ['showschema ../x'], ['info chaos_no_table'],
  ['create /chaos/no/such/file.json', /Fail to read table meta file/],
  // quotes left open
  ['showtable "{T}', /unterminated/], ["put {T} 1 'k m 1.5 1", /unterminated/], ['createdb "x', /unterminated/], ['get {T} "{K} card 0', /unterminated/], ['"', /unterminated/], ["'", /unterminated/],
  // help for what does not exist
  ['help bogus', /unsupported cmd/], ['man __proto__', /unsupported cmd/],
];

function fillLine(text: string, v: ClusterView): string {
  return text.replaceAll('{T}', v.table).replaceAll('{K}', v.storedKey).replaceAll('{A}', A(v)).replaceAll('{B}', B(v)).replaceAll('{DB}', v.db);
}

export function cliLineCases(): CliLineCase[] {
  const out: CliLineCase[] = [];
  const add = (id: string, line: LineFn, match?: RegExp, withDb = true): void => {
    out.push({ kind: 'cli-line', id: `ns_client: ${id}`, phase: 'nsclient', withDb, line, ...(match ? { match } : {}) });
  };
  for (const [cmd, min, max] of ARITY) {
    if (min > 0) add(`${cmd} with no arguments`, () => cmd, /^usage: /);
    if (Number.isFinite(max)) add(`${cmd} with ${max + 1} arguments`, () => `${cmd}${' x'.repeat(max + 1)}`, /^usage: /);
  }
  for (const u of UNKNOWN_COMMANDS) add(`unknown command ${u.length > 30 ? `${u.slice(0, 10)}… (${u.length} chars)` : u}`, () => u, /unsupported cmd/);
  // Every bad group with migrate; the first few with addreplica and delreplica (same parser).
  BAD_PID_GROUPS.forEach((g, i) => {
    add(`migrate with pid group ${g}`, (v) => `migrate ${v.parts[0]!.leader} ${v.table} ${g} ${v.parts[0]!.follower}`, /format error|has not valid pid|invalid parameter|does not exist|usage/);
    if (i >= 5) return;
    add(`addreplica with pid group ${g}`, (v) => `addreplica ${v.table} ${g} ${v.parts[0]!.follower}`, /format error|has not valid pid|invalid parameter|does not exist|usage/);
    add(`delreplica with pid group ${g}`, (v) => `delreplica ${v.table} ${g} 127.0.0.1:1`, /format error|has not valid pid|invalid parameter|does not exist|not healthy|usage/);
  });
  BAD_TTLS.forEach((ttl, i) => add(`create with ttl ${ttl}`, () => `create chaos_ttl_${i} ${ttl} 1 1 c:string:index`, /ttl|usage/));
  BAD_CREATES.forEach((form, i) => add(`create ${form.length > 60 ? `${form.slice(0, 30)}…` : form}`, () => `create ${form.replace('@', `chaos_cr_${i}`)}`));
  for (const [name] of BAD_META_FILES) add(`create from meta file ${name}`, (v) => `create ${path.join(v.workDir, name)}`);
  for (const [text, match] of LINES) {
    const label = text.length > 60 ? `${text.slice(0, 40)}… (${text.length} chars)` : JSON.stringify(text).slice(1, -1);
    add(match?.source === 'unterminated' ? `quote left open: ${label}` : label, (v) => fillLine(text, v), match);
  }
  // Without a database selected, commands on tables must refuse.
  for (const text of ['showtable', 'drop {T}', 'put {T} 1 k m 1.5 1', 'migrate {A} {T} 0 {B}', 'showopstatus {T}', 'changeleader {T} 0', 'create t 0 1 1 c:string:index']) {
    add(`with no database: ${text}`, (v) => fillLine(text, v), /please enter database first/, false);
  }
  return out;
}

/** ns_client processes with bad flags, an empty `--cmd`, or failing `--cmd` lists. */
export function cliProcessCases(): CliProcessCase[] {
  const zk = (v: ClusterView): string[] => [`--zk_cluster=${v.zkCluster}`, `--zk_root_path=${v.zkRootPath}`, '--interactive=false'];
  const list: ReadonlyArray<readonly [string, (v: ClusterView) => string[], RegExp?]> = [
    ['--cmd= (empty command)', (v) => [...zk(v), '--cmd=']],
    ['--cmd=";" (only a separator)', (v) => [...zk(v), '--cmd=;']],
    ['--cmd=bogus', (v) => [...zk(v), '--cmd=bogus'], /unsupported cmd/],
    ['--cmd with a quote left open', (v) => [...zk(v), `--database=${v.db}`, '--cmd=showtable "flow; showdb'], /unterminated/],
    ['--cmd with a failing command after a good one', (v) => [...zk(v), '--cmd=showdb; createdb ../x']],
    ['--cmd=put (usage)', (v) => [...zk(v), `--database=${v.db}`, '--cmd=put flow'], /usage/],
    ['--database naming no database', (v) => [...zk(v), '--database=chaos_no_db', '--cmd=showtable']],
    ['--format=xml', (v) => [...zk(v), '--format=xml', '--cmd=showdb'], /format/],
    ['unknown flag --bogus_flag', (v) => [...zk(v), '--bogus_flag=1', '--cmd=showdb']],
    ['--zk_cluster empty', () => ['--zk_cluster=', '--cmd=showdb'], /zk_cluster/],
  ];
  return list.map(([id, args, match]) => ({ kind: 'cli-process', id: `ns_client process: ${id}`, phase: 'nsclient', args, ...(match ? { match } : {}) }));
}

export { FAIL_TEXT };
