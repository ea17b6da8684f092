// ns_client end to end against in-memory NsAdmin/DataOps fakes (pure CLI logic): the seed's
// scale-out procedure replayed as written, every command's success and failure texts, usage
// lines, `unsupported cmd`, `--cmd` with several commands and exit codes, the prompt loop,
// confirmations with and without `--interactive`, and `--format=json`.
import t from 'tap';
import { PassThrough, Writable } from 'node:stream';
import {
  indexKey,
  kvSchema,
  planIndexes,
  TesseraError,
  ttlText,
  type DataOps,
  type DataRow,
  type NsAdmin,
  type OpStatusRow,
  type ShowTableRow,
  type TableInfo,
  type TabletRow,
  type Value,
  type ShowOpResponse,
} from '@tessera/common';
import { runCommand, type CommandContext } from '../src/nsclient/commands.js';
import { runNsClient, type NsClientOptions } from '../src/nsclient/repl.js';

const SEC = 1000;
const DAY_MS = 86400 * SEC;
const T31 = '172.27.128.31:8541';
const T32 = '172.27.128.32:8541';
const T33 = '172.27.128.33:8541';
const T37 = '172.27.128.37:8541';
const MIGRATE_START_MS = new Date(2018, 7, 24, 16, 33, 16).getTime();
const MIGRATE_END_MS = new Date(2018, 7, 24, 16, 33, 28).getTime();

/** The seed's flow table, as a meta file with its placement. */
const FLOW_META = JSON.stringify({
  name: 'flow',
  columns: [
    { name: 'card', type: 'string' },
    { name: 'mcc', type: 'string' },
    { name: 'amt', type: 'double' },
    { name: 'n', type: 'int64' },
  ],
  indexes: [
    { name: 'card', keys: ['card'], ttl: '0' },
    { name: 'mcc', keys: ['mcc'], ttl: 'latest:3' },
  ],
  table_partition: [
    { pid: 0, leader: T32, followers: [T33, T31] },
    { pid: 1, leader: T33, followers: [T31, T32] },
  ],
});

const nsError = (code: ConstructorParameters<typeof TesseraError>[0], message: string): TesseraError => new TesseraError(code, message);

/** An in-memory nameserver with the behaviour ns_client relies on; every call is recorded. */
class FakeNs implements NsAdmin {
  dbs: string[] = [];
  tablets: TabletRow[] = [];
  tables: TableInfo[] = [];
  ops: OpStatusRow[] = [];
  conf = new Map([['auto_failover', 'false']]);
  calls: Array<[string, unknown]> = [];
  nextTid = 1;
  nextOpId = 1;
  failNext: TesseraError | undefined;

  private record(name: string, req: unknown): void {
    this.calls.push([name, req]);
    const f = this.failNext;
    this.failNext = undefined;
    if (f) throw f;
  }

  private table(db: string, name: string): TableInfo {
    const found = this.tables.find((x) => x.schema.db === db && x.schema.name === name);
    if (!found) throw nsError('TABLE_NOT_FOUND', 'table does not exist');
    return found;
  }

  private op(opType: string, db: string, name: string, pid: number): number {
    const opId = this.nextOpId++;
    this.ops.push({ opId, opType, db, name, pid, status: 'kDone', startMs: MIGRATE_START_MS, endMs: MIGRATE_END_MS });
    return opId;
  }

  async showtablet(req: Record<string, never>) {
    this.record('showtablet', req);
    return { tablets: this.tablets };
  }
  async showns(req: Record<string, never>) {
    this.record('showns', req);
    return { nameservers: [{ endpoint: '127.0.0.1:9622', role: 'leader' as const }, { endpoint: '127.0.0.1:9623', role: 'standby' as const }] };
  }
  async createdb(req: { db: string }) {
    this.record('createdb', req);
    if (this.dbs.includes(req.db)) throw nsError('DATABASE_EXISTS', 'database already exists');
    this.dbs.push(req.db);
    return {};
  }
  async dropdb(req: { db: string }) {
    this.record('dropdb', req);
    if (!this.dbs.includes(req.db)) throw nsError('DATABASE_NOT_FOUND', 'database not found');
    if (this.tables.some((x) => x.schema.db === req.db)) throw nsError('DATABASE_NOT_EMPTY', 'database not empty');
    this.dbs = this.dbs.filter((d) => d !== req.db);
    return {};
  }
  async showdb(req: Record<string, never>) {
    this.record('showdb', req);
    return { dbs: [...this.dbs] };
  }
  async createtable(req: Parameters<NsAdmin['createtable']>[0]) {
    this.record('createtable', req);
    const { schema } = req;
    if (this.tables.some((x) => x.schema.db === schema.db && x.schema.name === schema.name)) throw nsError('TABLE_EXISTS', 'table already exists');
    const placement = req.partitions ?? [];
    if (placement.length === 0) throw nsError('PRECONDITION_FAILED', 'healthy endpoint num is less than replica num');
    const tid = this.nextTid++;
    this.tables.push({
      tid,
      schema,
      partitionNum: placement.length,
      replicaNum: placement[0]!.followers.length + 1,
      compressType: req.compressType ?? 'kNoCompress',
      replicaAck: req.replicaAck ?? 'all',
      createdMs: 0,
      partitions: placement.map((p) => ({
        pid: p.pid,
        replicas: [{ endpoint: p.leader, isLeader: true, isAlive: true }, ...p.followers.map((f) => ({ endpoint: f, isLeader: false, isAlive: true }))],
        termOffsets: [{ term: 1, offset: 0 }],
        inSync: p.followers,
      })),
    });
    return { tid };
  }
  async droptable(req: { db: string; name: string }) {
    this.record('droptable', req);
    const t = this.table(req.db, req.name);
    this.tables = this.tables.filter((x) => x !== t);
    return {};
  }
  async showtable(req: { db: string; name?: string }) {
    this.record('showtable', req);
    const replicas: ShowTableRow[] = [];
    for (const t of this.tables) {
      if (t.schema.db !== req.db || (req.name !== undefined && t.schema.name !== req.name)) continue;
      for (const p of t.partitions) {
        for (const r of p.replicas) {
          replicas.push({
            name: t.schema.name,
            tid: t.tid,
            pid: p.pid,
            endpoint: r.endpoint,
            role: r.isLeader ? 'leader' : 'follower',
            ttl: ttlText(t.schema.indexes[0]!.ttl),
            isAlive: r.isAlive,
            compressType: t.compressType,
            offset: 0,
            recordCnt: 0,
            memUsed: 0,
            diskUsed: 0,
          });
        }
      }
    }
    return { replicas };
  }
  async showschema(req: { db: string; name: string }) {
    this.record('showschema', req);
    return { table: this.table(req.db, req.name) };
  }
  async info(req: { db: string; name: string }) {
    this.record('info', req);
    return { table: this.table(req.db, req.name), recordCnt: 7, memUsed: 1536 };
  }
  async migrate(req: Parameters<NsAdmin['migrate']>[0]) {
    this.record('migrate', req);
    const t = this.table(req.db, req.name);
    for (const pid of req.pids) {
      const p = t.partitions[pid];
      if (!p) throw nsError('PARTITION_NOT_FOUND', `pid ${pid} does not exist`);
      const src = p.replicas.find((r) => r.endpoint === req.src);
      if (!src) throw nsError('PRECONDITION_FAILED', `src_endpoint[${req.src}] has not partition[${pid}]. name[${req.name}]`);
      if (src.isLeader) throw nsError('PRECONDITION_FAILED', `cannot migrate leader. name[${req.name}] pid[${pid}]`);
    }
    const opIds = req.pids.map((pid) => {
      const r = t.partitions[pid]!.replicas.find((x) => x.endpoint === req.src)!;
      r.endpoint = req.des;
      return this.op('kMigrateOP', req.db, req.name, pid);
    });
    return { opIds };
  }
  async addreplica(req: Parameters<NsAdmin['addreplica']>[0]) {
    this.record('addreplica', req);
    return { opIds: req.pids.map((pid) => this.op('kAddReplicaOP', req.db, req.name, pid)) };
  }
  async delreplica(req: Parameters<NsAdmin['delreplica']>[0]) {
    this.record('delreplica', req);
    return { opIds: req.pids.map((pid) => this.op('kDelReplicaOP', req.db, req.name, pid)) };
  }
  async changeleader(req: Parameters<NsAdmin['changeleader']>[0]) {
    this.record('changeleader', req);
    return { opIds: [this.op('kChangeLeaderOP', req.db, req.name, req.pid)] };
  }
  async showopstatus(req: Parameters<NsAdmin['showopstatus']>[0]) {
    this.record('showopstatus', req);
    return {
      ops: this.ops.filter((o) => (req.db === undefined || o.db === req.db) && (req.name === undefined || o.name === req.name) && (req.pid === undefined || o.pid === req.pid)),
    };
  }
  async showop(req: { opId: number }): Promise<ShowOpResponse> {
    this.record('showop', req);
    const row = this.ops.find((o) => o.opId === req.opId);
    if (!row) throw nsError('INVALID_ARGUMENT', `op ${req.opId} does not exist`);
    return { op: { ...row, tid: 1, createdMs: row.startMs ?? 0, childIds: [], endpoints: [], tasks: [], tasksDone: row.status === 'kDone' ? 1 : 0, tasksTotal: 1 } };
  }
  async cancelop(req: { opId: number }) {
    this.record('cancelop', req);
    const op = this.ops.find((o) => o.opId === req.opId);
    if (!op) throw nsError('OP_NOT_FOUND', 'op status is not kDoing or kInited');
    if (op.status !== 'kDoing' && op.status !== 'kInited') throw nsError('OP_STATE', 'op status is not kDoing or kInited');
    op.status = 'kCanceled';
    return {};
  }
  async deleteop(req: Parameters<NsAdmin['deleteop']>[0]) {
    this.record('deleteop', req);
    return {};
  }
  async confset(req: { key: string; value: string }) {
    this.record('confset', req);
    if (req.key !== 'auto_failover') throw nsError('INVALID_ARGUMENT', 'invalid parameter');
    this.conf.set(req.key, req.value);
    return {};
  }
  async confget(req: { key?: string }) {
    this.record('confget', req);
    return { conf: [...this.conf].filter(([k]) => req.key === undefined || k === req.key).map(([key, value]) => ({ key, value })) };
  }
  async offlineendpoint(req: Parameters<NsAdmin['offlineendpoint']>[0]) {
    this.record('offlineendpoint', req);
    if (this.conf.get('auto_failover') === 'true') throw nsError('PRECONDITION_FAILED', 'auto_failover is enabled');
    return { opIds: [] };
  }
  async recoverendpoint(req: Parameters<NsAdmin['recoverendpoint']>[0]) {
    this.record('recoverendpoint', req);
    return { opIds: [] };
  }
  async preupgrade(req: Parameters<NsAdmin['preupgrade']>[0]) {
    this.record('preupgrade', req);
    return { opIds: [], done: true, steps: [] };
  }
  async postupgrade(req: Parameters<NsAdmin['postupgrade']>[0]) {
    this.record('postupgrade', req);
    return { opIds: [], done: true, steps: [] };
  }
  async scalein(req: Parameters<NsAdmin['scalein']>[0]) {
    this.record('scalein', req);
    return { opIds: [], done: true, steps: [], moves: [], tablets: [] };
  }
  async scaleout(req: Parameters<NsAdmin['scaleout']>[0]) {
    this.record('scaleout', req);
    return { planId: 1, moves: [], tablets: [], opIds: [], applied: req.dryRun !== true };
  }
  async rebalance(req: Parameters<NsAdmin['rebalance']>[0]) {
    this.record('rebalance', req);
    return { planId: 2, moves: [], tablets: [], opIds: [], applied: req.dryRun !== true };
  }
  async apply(req: Parameters<NsAdmin['apply']>[0]) {
    this.record('apply', req);
    return { opIds: [] };
  }
  async recovertable(req: Parameters<NsAdmin['recovertable']>[0]) {
    this.record('recovertable', req);
    return { opIds: [this.op('kRecoverTableOP', req.db, req.name, req.pid)] };
  }
  async updatetablealive(req: Parameters<NsAdmin['updatetablealive']>[0]) {
    this.record('updatetablealive', req);
    return {};
  }
  async gettablepartition(req: Parameters<NsAdmin['gettablepartition']>[0]) {
    this.record('gettablepartition', req);
    const table = this.table(req.db, req.name);
    const partition = table.partitions.find((p) => p.pid === req.pid);
    if (!partition) throw nsError('PARTITION_NOT_FOUND', `pid[${req.pid}] does not exist in table[${req.name}]`);
    return { tid: table.tid, partition };
  }
  async settablepartition(req: Parameters<NsAdmin['settablepartition']>[0]) {
    this.record('settablepartition', req);
    const table = this.table(req.db, req.name);
    const at = table.partitions.findIndex((p) => p.pid === req.partition.pid);
    table.partitions[at] = { ...req.partition, inSync: req.partition.inSync ?? table.partitions[at]!.inSync };
    return {};
  }
  async makesnapshot(req: Parameters<NsAdmin['makesnapshot']>[0]) {
    this.record('makesnapshot', req);
    return { opIds: [this.op('kMakeSnapshotOP', req.db, req.name, req.pid)] };
  }
  async disconnectzk(req: Record<string, never>) {
    this.record('disconnectzk', req);
    return {};
  }
  async connectzk(req: Record<string, never>) {
    this.record('connectzk', req);
    return {};
  }
  async setttl(req: Parameters<NsAdmin['setttl']>[0]) {
    this.record('setttl', req);
    const t = this.table(req.db, req.name);
    for (const ix of t.schema.indexes) if (req.index === undefined || ix.name === req.index) ix.ttl = { ...req.ttl };
    return {};
  }
}

/** Rows per table in one list; reads compute index keys with the shared schema helpers. */
class FakeData implements DataOps {
  rows = new Map<number, DataRow[]>();
  private list(table: TableInfo): DataRow[] {
    let l = this.rows.get(table.tid);
    if (!l) this.rows.set(table.tid, (l = []));
    return l;
  }
  private matching(table: TableInfo, key: string, index: string): DataRow[] {
    const plan = planIndexes(table.schema).find((p) => p.name === index)!;
    return this.list(table)
      .filter((r) => indexKey(plan, r.values) === key)
      .sort((a, b) => b.tsMs - a.tsMs);
  }
  async put(table: TableInfo, tsMs: number, values: Value[]) {
    this.list(table).push({ tsMs, values });
  }
  async get(table: TableInfo, key: string, index: string, tsMs?: number) {
    return this.matching(table, key, index).find((r) => tsMs === undefined || r.tsMs <= tsMs);
  }
  async scan(table: TableInfo, key: string, index: string, stMs: number, etMs: number, limit: number) {
    return this.matching(table, key, index)
      .filter((r) => r.tsMs <= stMs && r.tsMs > etMs)
      .slice(0, limit);
  }
  async count(table: TableInfo, key: string, index: string) {
    return this.matching(table, key, index).length;
  }
  async preview(table: TableInfo, limit: number) {
    return this.list(table).slice(0, limit);
  }
  async delete(table: TableInfo, key: string, index: string) {
    const gone = new Set(this.matching(table, key, index));
    this.rows.set(table.tid, this.list(table).filter((r) => !gone.has(r)));
  }
}

/** The seed's cluster before scale-out: three old tablets, one new, demo_db with flow (tid 4). */
async function seedCluster(): Promise<{ ns: FakeNs; data: FakeData }> {
  const ns = new FakeNs();
  ns.tablets = [
    { endpoint: T37, state: 'kTabletHealthy', ageMs: 65 * SEC },
    { endpoint: T31, state: 'kTabletHealthy', ageMs: 15 * DAY_MS + 3600 * SEC },
    { endpoint: T33, state: 'kTabletHealthy', ageMs: 15 * DAY_MS },
    { endpoint: T32, state: 'kTabletHealthy', ageMs: 15 * DAY_MS + 5 * SEC },
  ];
  ns.dbs = ['demo_db'];
  ns.nextTid = 4;
  ns.nextOpId = 51;
  const ctx = context(ns, new FakeData(), { db: 'demo_db', interactive: false });
  const r = await runCommand('create flow.json', ctx);
  if (!r.ok) throw new Error(r.output);
  ns.calls = [];
  return { ns, data: ctx.data as FakeData };
}

function context(ns: FakeNs, data: FakeData, over: Partial<CommandContext> = {}): CommandContext {
  return {
    admin: ns,
    data,
    db: '',
    interactive: false,
    confirm: async () => {
      throw new Error('no confirmation expected');
    },
    readTextFile: async (path) => {
      if (path === 'flow.json') return FLOW_META;
      throw new Error(`ENOENT: no such file or directory, open '${path}'`);
    },
    nowMs: () => MIGRATE_END_MS,
    ...over,
  };
}

class Collect extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

async function cli(ns: FakeNs, data: FakeData, opts: Partial<NsClientOptions> & { lines?: string[] }): Promise<{ code: number; out: string }> {
  const output = new Collect();
  const input = new PassThrough();
  if (opts.lines) input.end(opts.lines.map((l) => `${l}\n`).join(''));
  else input.end();
  const code = await runNsClient({
    admin: ns,
    data,
    interactive: true,
    input,
    output,
    leaderEndpoint: () => '127.0.0.1:9622',
    readTextFile: async () => FLOW_META,
    nowMs: () => MIGRATE_END_MS,
    ...opts,
  });
  return { code, out: output.text };
}

// The seed's outputs; showtable's figure is compared cell by cell (the seed's own columns are not
// aligned to its data, and Tessera adds diskused). showtablet has OpenMLDB's later real_endpoint
// column (the seed predates it): `-` where the tablet listens on its endpoint.
const SEED_SHOWTABLET = `  endpoint            real_endpoint  state           age
----------------------------------------------------------
  172.27.128.31:8541  -              kTabletHealthy  15d
  172.27.128.32:8541  -              kTabletHealthy  15d
  172.27.128.33:8541  -              kTabletHealthy  15d
  172.27.128.37:8541  -              kTabletHealthy  1min
`;
const SEED_SHOWOPSTATUS = `  op_id  op_type     name  pid  status  start_time      execute_time  end_time        cur_task
------------------------------------------------------------------------------------------------
  51     kMigrateOP  flow  0    kDone   20180824163316  12s           20180824163328  -
`;
const SEED_SHOWTABLE_BEFORE = `  flow    4   0    172.27.128.32:8541  leader    0min       yes       kNoCompress    0        0           0.000
  flow    4   0    172.27.128.33:8541  follower  0min       yes       kNoCompress    0        0           0.000
  flow    4   0    172.27.128.31:8541  follower  0min       yes       kNoCompress    0        0           0.000
  flow    4   1    172.27.128.33:8541  leader    0min       yes       kNoCompress    0        0           0.000
  flow    4   1    172.27.128.31:8541  follower  0min       yes       kNoCompress    0        0           0.000
  flow    4   1    172.27.128.32:8541  follower  0min       yes       kNoCompress    0        0           0.000`;
const SEED_SHOWTABLE_AFTER = SEED_SHOWTABLE_BEFORE.replace(`0    ${T33}  follower`, `0    ${T37}  follower`);
const SEED_SHOWTABLE_HEADER = 'name    tid  pid  endpoint            role      ttl       is_alive  compress_type  offset   record_cnt  memused';

const cells = (line: string): string[] => line.trim().split(/\s+/);

/** The showtable text as header cells, whether the rule fits, row cells, and trailing spaces. */
function showtableParts(text: string): { header: string[]; ruleFits: boolean; rows: string[][]; trailingSpace: boolean } {
  const lines = text.trimEnd().split('\n');
  return {
    header: cells(lines[0]!),
    ruleFits: /^-+$/.test(lines[1]!) && lines[1]!.length === lines[0]!.length + 2,
    rows: lines.slice(2).map(cells),
    trailingSpace: lines.some((l) => / $/.test(l)),
  };
}

const seedShowtable = (rows: string): ReturnType<typeof showtableParts> => ({
  header: [...cells(SEED_SHOWTABLE_HEADER), 'diskused'],
  ruleFits: true,
  rows: rows.split('\n').map((l) => [...cells(l), '0.000']),
  trailingSpace: false,
});

t.test('the seed scale-out procedure, as written', async (t) => {
  const { ns, data } = await seedCluster();
  const before = await cli(ns, data, { cmd: 'showtablet' });
  t.equal(before.code, 0);
  t.equal(before.out, SEED_SHOWTABLET, 'showtablet byte for byte');

  const s = await cli(ns, data, { cmd: 'use demo_db; showtable' });
  t.equal(s.code, 0);
  t.ok(s.out.startsWith('Use database: demo_db\n'));
  t.same(showtableParts(s.out.slice('Use database: demo_db\n'.length)), seedShowtable(SEED_SHOWTABLE_BEFORE), 'showtable: the seed columns (then diskused) and figures');

  const m = await cli(ns, data, { database: 'demo_db', cmd: `migrate ${T33} flow 0 ${T37}` });
  t.equal(m.out, 'partition migrate ok\n');
  t.equal(m.code, 0);
  t.same(ns.calls.at(-1), ['migrate', { db: 'demo_db', name: 'flow', src: T33, des: T37, pids: [0] }]);

  const o = await cli(ns, data, { database: 'demo_db', cmd: 'showopstatus flow' });
  t.equal(o.out, SEED_SHOWOPSTATUS, 'showopstatus byte for byte');
  t.same(ns.calls.at(-1), ['showopstatus', { db: 'demo_db', name: 'flow' }]);

  const after = await cli(ns, data, { database: 'demo_db', cmd: 'showtable' });
  t.same(showtableParts(after.out), seedShowtable(SEED_SHOWTABLE_AFTER), 'showtable after migrate: .37 replaces .33');
});

t.test('the same procedure at the prompt', async (t) => {
  const { ns, data } = await seedCluster();
  const r = await cli(ns, data, { lines: ['showtablet', 'use demo_db', `migrate ${T33} flow 0 ${T37}`, 'showopstatus flow', 'quit', 'showtablet'] });
  t.equal(r.code, 0);
  const p0 = '127.0.0.1:9622> ';
  const p1 = '127.0.0.1:9622 demo_db> ';
  t.equal(
    r.out,
    `ns leader: 127.0.0.1:9622\n${p0}${SEED_SHOWTABLET}${p0}Use database: demo_db\n${p1}partition migrate ok\n${p1}${SEED_SHOWOPSTATUS}${p1}bye\n`,
  );
});

t.test('prompt loop ends at end of input; blank lines are skipped; no leader known', async (t) => {
  const { ns, data } = await seedCluster();
  const r = await cli(ns, data, { lines: ['', '   ', 'use'], leaderEndpoint: () => undefined, database: 'demo_db' });
  t.equal(r.code, 0);
  t.equal(r.out, 'ns leader: -\ndemo_db> demo_db> demo_db> Use default database\n> ');
});

t.test('--cmd: several commands, exit codes, quit stops', async (t) => {
  const { ns, data } = await seedCluster();
  const good = await cli(ns, data, { cmd: 'use demo_db;showtablet ; confget' });
  t.equal(good.code, 0);
  t.match(good.out, /^Use database: demo_db\n {2}endpoint/);
  t.match(good.out, / {2}key {12}value\n-{24}\n {2}auto_failover {2}false\n$/);

  const bad = await cli(ns, data, { cmd: 'use demo_db; nosuch; showdb' });
  t.equal(bad.code, 1, 'one failure makes the exit code non-zero');
  t.equal(bad.out, `Use database: demo_db\nunsupported cmd\n  #  name\n${'-'.repeat(12)}\n  1  demo_db\n`, 'later commands still run');

  const q = await cli(ns, data, { cmd: 'showdb; exit; showtablet' });
  t.equal(q.code, 0);
  t.match(q.out, /bye\n$/);
  t.notMatch(q.out, /endpoint/);
});

t.test('wrong arguments print the usage line; unknown commands unsupported cmd', async (t) => {
  const { ns, data } = await seedCluster();
  const ctx = context(ns, data, { db: 'demo_db' });
  const expect: Array<[string, string]> = [
    ['migrate a flow 0', 'usage: migrate src_endpoint table_name pid_group des_endpoint'],
    ['migrate a flow 0 b c', 'usage: migrate src_endpoint table_name pid_group des_endpoint'],
    ['showtablet extra', 'usage: showtablet'],
    ['changeleader flow', 'usage: changeleader table_name pid [candidate_leader|auto]'],
    ['create a b', 'usage: create table_meta_file | table_name ttl partition_num replica_num [col_name:type[:index] ...]'],
    ['drop', 'usage: drop table_name'],
    ['confset auto_failover', 'usage: confset auto_failover true|false | max_moves_per_tablet N | max_moves_per_cluster N'],
    ['updatetablealive flow 0 a', 'usage: updatetablealive table_name pid|* endpoint yes|no'],
    ['frobnicate', 'unsupported cmd'],
    ['help frobnicate', 'unsupported cmd'],
    ['put flow "open', 'unterminated " quote'],
  ];
  for (const [line, out] of expect) {
    const r = await runCommand(line, ctx);
    t.equal(r.ok, false, line);
    t.equal(r.output, out, line);
  }
  t.equal(ns.calls.length, 0, 'nothing reached the nameserver');
  // get takes 3 words on a key-value table, 4 on others: the table's kind decides the usage line.
  t.equal((await runCommand('get flow k card', ctx)).output, 'usage: get table_name key index_name ts | table_name key ts (key-value table)');
  const h = await runCommand('help migrate', ctx);
  t.equal(h.output, 'desc: move follower replicas of partitions to another tablet\nusage: migrate src_endpoint table_name pid_group des_endpoint');
  const all = await runCommand('help', ctx);
  t.match(all.output, /^supported commands:\n/);
  t.match(all.output, /\n {2}showopstatus \[table_name \[pid\]\] \| --wait \[op_id\]\n/);
});

t.test('replica and op commands: success and nameserver failure texts', async (t) => {
  const { ns, data } = await seedCluster();
  const ctx = context(ns, data, { db: 'demo_db' });
  const run = async (line: string): Promise<string> => (await runCommand(line, ctx)).output;
  const failing = async (line: string, err: TesseraError): Promise<{ ok: boolean; output: string; code?: string }> => {
    ns.failNext = err;
    return runCommand(line, ctx);
  };
  const perr = (m: string): TesseraError => nsError('PRECONDITION_FAILED', m);

  t.equal(await run(`migrate ${T32} flow 0 ${T37}`), 'failed to migrate partition. error msg: cannot migrate leader. name[flow] pid[0]');
  t.equal(await run(`migrate ${T31} flow 0 ${T31}`), 'migrate error. src_endpoint is same as des_endpoint');
  t.equal(await run(`migrate ${T31} flow 0-x ${T37}`), 'pid group[0-x] format error');
  t.equal(await run(`migrate ${T31} flow 6-4 ${T37}`), 'has not valid pid');
  t.equal(await run(`migrate ${T31} nosuch 0 ${T37}`), 'failed to migrate partition. error msg: table does not exist');
  t.equal(await run(`migrate ${T31} flow 0,1 ${T37}`), 'partition migrate ok');
  t.same(ns.calls.at(-1), ['migrate', { db: 'demo_db', name: 'flow', src: T31, des: T37, pids: [0, 1] }]);
  ns.conf.set('auto_failover', 'true');
  const af = await runCommand(`offlineendpoint ${T37}`, { ...ctx, interactive: false });
  t.same([af.ok, af.output, af.code], [false, 'failed to offline endpoint. error msg: auto_failover is enabled', 'PRECONDITION_FAILED']);
  ns.conf.set('auto_failover', 'false');

  t.equal(await run(`addreplica flow 1-3 ${T37}`), 'AddReplica ok');
  t.same(ns.calls.at(-1), ['addreplica', { db: 'demo_db', name: 'flow', pids: [1, 2, 3], endpoint: T37 }]);
  t.equal((await failing(`addreplica flow 1 ${T37}`, perr(`pid 1 is exist in ${T37}`))).output, `Fail to addreplica. error msg:pid 1 is exist in ${T37}`);
  t.equal(await run(`delreplica flow 1,0 ${T37}`), 'DelReplica ok');
  t.same(ns.calls.at(-1), ['delreplica', { db: 'demo_db', name: 'flow', pids: [0, 1], endpoint: T37 }]);
  t.equal((await failing(`delreplica flow 0 ${T32}`, perr(`can not del leader. pid 0 endpoint ${T32}`))).output, `Fail to delreplica. error msg:can not del leader. pid 0 endpoint ${T32}`);

  const cl = 'change leader ok. If there are writing operations while changing a leader, it may cause data loss.';
  t.equal(await run('changeleader flow 0'), cl);
  t.same(ns.calls.at(-1), ['changeleader', { db: 'demo_db', name: 'flow', pid: 0 }]);
  t.equal(await run('changeleader flow 0 auto'), cl);
  t.same(ns.calls.at(-1), ['changeleader', { db: 'demo_db', name: 'flow', pid: 0, auto: true }]);
  t.equal(await run(`changeleader flow 0 ${T31}`), cl);
  t.same(ns.calls.at(-1), ['changeleader', { db: 'demo_db', name: 'flow', pid: 0, candidate: T31 }]);
  t.equal(await run('changeleader flow x'), 'Invalid args. pid should be uint32_t');
  t.equal((await failing('changeleader flow 0', perr('leader is alive'))).output, 'failed to change leader. error msg: leader is alive');

  t.equal(await run('cancelop 51'), 'Cancel op failed, error msg: ReturnCode[312]op status is not kDoing or kInited');
  t.equal(await run('cancelop 999'), 'Cancel op failed, error msg: ReturnCode[312]op status is not kDoing or kInited');
  t.equal(await run('cancelop x'), 'Invalid args. op_id should be uint64_t');
  t.equal(await run('deleteop 51'), 'Delete op ok');
  t.same(ns.calls.at(-1), ['deleteop', { opId: 51 }]);
  t.equal(await run('deleteop Failed'), 'Delete op ok');
  t.same(ns.calls.at(-1), ['deleteop', { status: 'failed' }]);
  t.equal(await run('deleteop some'), 'Invalid args. op_id should be uint64_t or done|failed|canceled');

  t.equal(await run('confset auto_failover FALSE'), 'set auto_failover ok');
  t.same(ns.calls.at(-1), ['confset', { key: 'auto_failover', value: 'false' }]);
  t.equal(await run('confset auto_failover maybe'), 'failed to set auto_failover. error msg: invalid parameter');
  t.equal(await run('confset other 1'), 'failed to set other. error msg: invalid parameter');
  t.equal(await run('confget auto_failover'), '  key            value\n------------------------\n  auto_failover  false');

  t.equal(await run(`offlineendpoint ${T33}`), 'offline endpoint ok');
  t.same(ns.calls.at(-1), ['offlineendpoint', { endpoint: T33 }]);
  t.equal(await run(`offlineendpoint ${T33} 3`), 'offline endpoint ok');
  t.same(ns.calls.at(-1), ['offlineendpoint', { endpoint: T33, concurrency: 3 }]);
  t.equal(await run(`offlineendpoint ${T33} 0`), 'Invalid args. concurrency should be greater than 0');
  t.equal(await run(`offlineendpoint ${T33} -1`), 'Invalid args. concurrency should be greater than 0');
  t.equal(await run(`offlineendpoint ${T33} x`), 'Invalid args. concurrency should be uint32_t');
  t.equal((await failing(`offlineendpoint 1.2.3.4:5`, nsError('TABLET_NOT_HEALTHY', 'endpoint does not exist'))).output, 'failed to offline endpoint. error msg: endpoint does not exist');
  t.equal(await run(`recoverendpoint ${T33} true 2`), 'recover endpoint ok');
  t.same(ns.calls.at(-1), ['recoverendpoint', { endpoint: T33, needRestore: true, concurrency: 2 }]);
  t.equal(await run(`recoverendpoint ${T33} maybe`), 'Invalid args. need_restore should be true or false');
  t.equal((await failing(`recoverendpoint ${T33}`, nsError('TABLET_NOT_HEALTHY', 'tablet is not healthy'))).output, 'failed to recover endpoint. error msg: tablet is not healthy');
  t.equal(await run(`recovertable flow 1 ${T31}`), 'recover table ok');
  t.same(ns.calls.at(-1), ['recovertable', { db: 'demo_db', name: 'flow', pid: 1, endpoint: T31 }]);
  t.equal((await failing(`recovertable flow 1 ${T31}`, perr('table is alive, need not recover'))).output, 'Fail to recover table. error msg:table is alive, need not recover');
  t.equal(await run(`updatetablealive flow * ${T31} no`), 'update ok');
  t.same(ns.calls.at(-1), ['updatetablealive', { db: 'demo_db', name: 'flow', endpoint: T31, isAlive: false }]);
  t.equal(await run(`updatetablealive flow 1 ${T31} yes`), 'update ok');
  t.same(ns.calls.at(-1), ['updatetablealive', { db: 'demo_db', name: 'flow', endpoint: T31, isAlive: true, pid: 1 }]);
  t.equal(await run(`updatetablealive flow 1 ${T31} maybe`), 'is_alive should be yes or no');
  t.equal((await failing(`updatetablealive flow 1 ${T31} no`, perr('no pid has update'))).output, 'Fail to update table alive. error msg: no pid has update');
  t.equal(await run('makesnapshot flow 0'), 'MakeSnapshot ok');
  t.equal((await failing('makesnapshot flow 9', nsError('PARTITION_NOT_FOUND', 'pid does not exist'))).output, 'Fail to makesnapshot. error msg:pid does not exist');
  t.equal(await run('disconnectzk'), 'disconnect zk ok');
  t.equal(await run('connectzk'), 'connect zk ok');
  t.equal((await failing('connectzk', nsError('COORD_ERROR', 'zk unreachable'))).output, 'connect zk failed. error msg: zk unreachable');
  t.equal((await failing('showtablet', nsError('UNAVAILABLE', 'nameserver is not leader'))).output, 'Fail to show tablets. error msg: nameserver is not leader');
  t.equal((await failing('showopstatus', nsError('UNAVAILABLE', 'down'))).output, 'Fail to show tablets. error msg: down');
});

t.test('showopstatus filters and running ops', async (t) => {
  const { ns, data } = await seedCluster();
  ns.ops = [
    { opId: 51, opType: 'kMigrateOP', db: 'demo_db', name: 'flow', pid: 0, status: 'kDone', startMs: MIGRATE_START_MS, endMs: MIGRATE_END_MS },
    { opId: 52, opType: 'kAddReplicaOP', db: 'demo_db', name: 'flow', pid: 1, status: 'kDoing', startMs: MIGRATE_START_MS, curTask: 'kSendSnapshot' },
    { opId: 53, opType: 'kChangeLeaderOP', db: 'demo_db', name: 'flow', pid: 1, status: 'kInited' },
  ];
  const ctx = context(ns, data, { db: 'demo_db', nowMs: () => MIGRATE_START_MS + 95 * SEC });
  const r = await runCommand('showopstatus flow 1', ctx);
  t.same(ns.calls.at(-1), ['showopstatus', { db: 'demo_db', name: 'flow', pid: 1 }]);
  t.equal(
    r.output,
    [
      '  op_id  op_type          name  pid  status   start_time      execute_time  end_time  cur_task',
      '-'.repeat(99),
      '  52     kAddReplicaOP    flow  1    kDoing   20180824163316  95s           -         kSendSnapshot',
      '  53     kChangeLeaderOP  flow  1    kInited  -               -             -         -',
    ].join('\n'),
  );
  t.equal((await runCommand('showopstatus flow x', ctx)).output, 'Invalid args. pid should be uint32_t');
  const noDb = context(ns, data);
  t.equal((await runCommand('showopstatus flow', noDb)).output, 'please enter database first');
  t.equal((await runCommand('showopstatus', noDb)).ok, true);
  t.same(ns.calls.at(-1), ['showopstatus', {}]);
});

t.test('databases, tables, schema, info; confirmations', async (t) => {
  const { ns, data } = await seedCluster();
  const answers: string[] = [];
  const asked: string[] = [];
  const ctx = context(ns, data, {
    interactive: true,
    confirm: async (q) => {
      asked.push(q);
      return answers.shift() === 'yes';
    },
  });
  const run = async (line: string): Promise<string> => (await runCommand(line, ctx)).output;

  t.equal(await run('showtable'), 'please enter database first');
  t.equal(await run('create flow.json'), 'please enter database first');
  t.equal(await run('use nosuch'), 'Use database failed. error msg: database not found');
  t.equal(await run('createdb db2'), 'Create database db2 ok');
  t.equal(await run('createdb db2'), 'Create database failed. error msg: database already exists');
  t.equal(await run('use db2'), 'Use database: db2');
  t.equal(ctx.db, 'db2');
  t.equal(await run('create t1 latest:5 1 1 k:string:index v:int64'), 'Fail to create table. error msg: healthy endpoint num is less than replica num');
  t.equal(await run('create t1 latest:5 1 1 k:string v:int64'), 'create failed! schema has no index');
  t.equal(await run('create nosuch.json'), "Fail to read table meta file nosuch.json. error msg: ENOENT: no such file or directory, open 'nosuch.json'");
  t.equal(await run('create flow.json'), 'Create table ok');
  t.equal((ns.calls.at(-1)![1] as { schema: { db: string } }).schema.db, 'db2');
  t.equal(await run('create flow.json'), 'Fail to create table. error msg: table already exists');

  t.equal(
    await run('showschema flow'),
    [
      '  #  Field  Type    Null  Default',
      '-'.repeat(35),
      '  1  card   string  YES   -',
      '  2  mcc    string  YES   -',
      '  3  amt    double  YES   -',
      '  4  n      int64   YES   -',
      '#ColumnKey',
      '  #  name  keys  ts  ttl   ttl_type',
      '-'.repeat(40),
      '  1  card  card  -   0min  kAbsoluteTime',
      '  2  mcc   mcc   -   3     kLatestTime',
    ].join('\n'),
  );
  t.equal(await run('showschema nosuch'), 'table nosuch does not exist');
  t.equal(
    await run('info flow'),
    [
      '  attribute      value',
      '-'.repeat(28),
      '  name           flow',
      '  db             db2',
      '  tid            5',
      '  replica_num    3',
      '  partition_num  2',
      '  compress_type  kNoCompress',
      '  replica_ack    all',
      '  ttl            0min',
      '  record_cnt     7',
      '  memused        1.500K',
      '  diskused       -',
    ].join('\n'),
  );
  t.equal(await run('info nosuch'), 'table nosuch does not exist');
  t.equal(await run('showtable nosuch'), 'table nosuch does not exist');

  answers.push('no');
  t.equal(await run('drop flow'), "'drop' cmd is canceled!");
  t.same(asked, ['Drop table flow? yes/no']);
  t.equal(ns.tables.filter((x) => x.schema.db === 'db2').length, 1);
  answers.push('yes');
  t.equal(await run('drop flow'), 'drop ok');
  answers.push('yes');
  t.equal(await run('drop flow'), 'failed to drop. error msg: table does not exist');

  answers.push('yes');
  t.equal(await run('dropdb demo_db'), 'Drop database failed. error msg: database not empty');
  answers.push('nope');
  t.equal(await run('dropdb db2'), "'dropdb' cmd is canceled!");
  answers.push('yes');
  t.equal(await run('dropdb db2'), 'Drop database db2 ok');
  t.equal(ctx.db, '', 'dropping the current database leaves it');
  t.same(asked.slice(-3), ['Drop database demo_db? yes/no', 'Drop database db2? yes/no', 'Drop database db2? yes/no']);

  // offlineendpoint on a healthy tablet is a planned hand-over: asked first.
  answers.push('no');
  t.equal(await run(`offlineendpoint ${T33}`), "'offlineendpoint' cmd is canceled!");
  t.equal(asked.at(-1), `${T33} is healthy: offline it and hand its leaderships over? yes/no`);
  t.notOk(ns.calls.some((c) => c[0] === 'offlineendpoint'), 'nothing sent when the answer is no');
  answers.push('yes');
  t.equal(await run(`offlineendpoint ${T33}`), 'offline endpoint ok');
  t.same(ns.calls.at(-1), ['offlineendpoint', { endpoint: T33 }]);
  const askedBefore = asked.length;
  await run('offlineendpoint 1.2.3.4:5');
  t.equal(asked.length, askedBefore, 'a tablet that is not healthy is taken offline without asking');

  t.equal(await run('showns'), `  endpoint        real_endpoint  role\n${'-'.repeat(40)}\n  127.0.0.1:9622  -              leader\n  127.0.0.1:9623  -              standby`);
});

t.test('--interactive=false drops without asking; interactive reads yes/no from the same input', async (t) => {
  {
    const { ns, data } = await seedCluster();
    const r = await cli(ns, data, { interactive: false, database: 'demo_db', cmd: 'drop flow; showtable' });
    t.equal(r.code, 0);
    t.equal(r.out, 'drop ok\n  name  tid  pid  endpoint  role  ttl  is_alive  compress_type  offset  record_cnt  memused  diskused\n' + '-'.repeat(103) + '\n');
  }
  {
    const { ns, data } = await seedCluster();
    const r = await cli(ns, data, { database: 'demo_db', lines: ['drop flow', 'no', 'drop flow', 'yes', 'showtable flow'] });
    t.equal(r.out, 'ns leader: 127.0.0.1:9622\n127.0.0.1:9622 demo_db> Drop table flow? yes/no\n\'drop\' cmd is canceled!\n127.0.0.1:9622 demo_db> Drop table flow? yes/no\ndrop ok\n127.0.0.1:9622 demo_db> table flow does not exist\n127.0.0.1:9622 demo_db> ');
  }
  {
    const { ns, data } = await seedCluster();
    const r = await cli(ns, data, { database: 'demo_db', cmd: 'drop flow', lines: ['yes'] });
    t.equal(r.code, 0, '--cmd confirmation read from input');
    t.equal(r.out, 'Drop table flow? yes/no\ndrop ok\n');
  }
  {
    const { ns, data } = await seedCluster();
    const r = await cli(ns, data, { database: 'demo_db', cmd: 'dropdb demo_db' });
    t.equal(r.code, 1, 'end of input answers no');
    t.equal(r.out, "Drop database demo_db? yes/no\n'dropdb' cmd is canceled!\n");
    t.equal(ns.calls.some(([c]) => c === 'dropdb'), false);
  }
});

t.test('data commands: put typed by the schema, get, scan, count, preview, delete', async (t) => {
  const { ns, data } = await seedCluster();
  const ctx = context(ns, data, { db: 'demo_db' });
  const run = async (line: string): Promise<{ ok: boolean; output: string }> => runCommand(line, ctx);

  t.same(await run('put flow 1000 c1 m1 1.5 9007199254740993'), { ok: true, output: 'Put ok', name: 'put' });
  t.equal((await run('put flow 2000 c1 m2 2.5 7')).output, 'Put ok');
  t.equal((await run(`put flow 3000 "c 2" m1 -3 null`)).output, 'Put ok');
  const stored = data.rows.get(4)!;
  t.same(stored[0], { tsMs: 1000, values: ['c1', 'm1', 1.5, 9007199254740993n] });
  t.same(stored[2], { tsMs: 3000, values: ['c 2', 'm1', -3, null] });

  t.same(await run('put flow 1000 c1 m1 1.5'), { ok: false, output: 'Put failed. error msg: table flow has 4 columns, got 3 values', name: 'put' });
  t.equal((await run('put flow x c1 m1 1.5 1')).output, 'Put failed. error msg: ts should be an unsigned integer');
  t.equal((await run('put flow 1 c1 m1 abc 1')).output, "Put failed. error msg: column amt expects double, got 'abc'");
  t.equal((await run('put flow 1 c1 m1 1 1.5')).output, "Put failed. error msg: column n expects int64, got '1.5'");
  t.equal((await run('put flow 1 c1 m1 1 99999999999999999999')).output, 'Put failed. error msg: column n expects int64, got bigint');
  t.equal((await run('put nosuch 1 a')).output, 'table nosuch does not exist');

  t.equal(
    (await run('get flow c1 card 0')).output,
    ['  #  ts    card  mcc  amt  n', '-'.repeat(30), '  1  2000  c1    m2   2.5  7'].join('\n'),
  );
  t.equal((await run('get flow c1 card 1500')).output.split('\n')[2], '  1  1000  c1    m1   1.5  9007199254740993');
  t.same(await run('get flow zz card 0'), { ok: false, output: 'Fail to get value! error msg: key not found', name: 'get' });
  t.equal((await run('get flow c1 nosuch 0')).output, 'Fail to get value! error msg: idx name not found');
  t.equal((await run('get flow c1 card -1')).output, 'Fail to get value! error msg: ts should be an unsigned integer');

  t.equal(
    (await run('scan flow m1 mcc 5000 0')).output,
    [
      '  #  ts    card  mcc  amt  n',
      '-'.repeat(43),
      '  1  3000  c 2   m1   -3   NULL',
      '  2  1000  c1    m1   1.5  9007199254740993',
    ].join('\n'),
  );
  t.equal((await run('scan flow m1 mcc 5000 0 1')).output.split('\n').length, 3);
  t.equal((await run('scan flow m1 mcc 2000 1000')).output.split('\n').length, 2, 'et < ts <= st');
  t.equal((await run('scan flow m1 mcc 5000 0 0')).output, 'Fail to scan table. error msg: limit should be greater than 0');

  t.same(await run('count flow c1'), { ok: true, output: 'count: 2', data: { count: 2 }, name: 'count' });
  t.equal((await run('count flow m1 mcc true')).output, 'count: 2');
  t.equal((await run('count flow m1 mcc perhaps')).output, 'Count failed. error msg: filter_expired_data should be true or false');
  t.equal((await run('count flow m1 nosuch')).output, 'Count failed. error msg: idx name not found');

  t.equal((await run('preview flow 2')).output.split('\n').length, 4);
  t.equal((await run('preview flow')).output.split('\n').length, 5);

  t.equal((await run('delete flow c1')).output, 'delete ok');
  t.equal((await run('count flow c1')).output, 'count: 0');
  t.equal((await run('count flow m1 mcc')).output, 'count: 1');
  t.equal((await run('delete flow m1 nosuch')).output, 'idx_name nosuch does not exist');
});

t.test('data commands on a key-value table: OpenMLDB\'s schemaless forms and texts', async (t) => {
  const { ns, data } = await seedCluster();
  ns.tables.push({
    tid: 9, schema: kvSchema('kvt', 'demo_db', { type: 'latest', absMinutes: 0, latest: 10 }), partitionNum: 1, replicaNum: 1,
    compressType: 'kNoCompress', replicaAck: 'all', createdMs: 0,
    partitions: [{ pid: 0, replicas: [{ endpoint: T31, isLeader: true, isAlive: true }], termOffsets: [{ term: 1, offset: 0 }], inSync: [] }],
  });
  const ctx = context(ns, data, { db: 'demo_db' });
  const run = async (line: string): Promise<{ ok: boolean; output: string; data?: unknown }> => runCommand(line, ctx);
  t.same(await run('put kvt k1 1000 v1'), { ok: true, output: 'Put ok', name: 'put' });
  t.equal((await run('put kvt k1 2000 "v 2"')).output, 'Put ok');
  t.equal((await run('put kvt k2 1500 w')).output, 'Put ok');
  t.same(data.rows.get(9)![0], { tsMs: 1000, values: ['k1', 'v1'] });
  t.equal((await run('put kvt k1 x v')).output, 'Invalid args. ts x should be unsigned int');
  t.equal((await run('put kvt k1 1 a b')).output, 'put format error. eg: put table_name pk ts value');
  t.same(await run('get kvt k1 0'), { ok: true, output: 'value :v 2', data: { key: 'k1', ts: 2000, value: 'v 2' }, name: 'get' });
  t.equal((await run('get kvt k1 1500')).output, 'value :v1');
  t.equal((await run('get kvt nope 0')).output, 'Get failed. error msg: key not found');
  t.equal((await run('get kvt k1 -1')).output, 'Invalid args. ts should be unsigned int');
  t.equal((await run('get kvt k1 key 0')).output, 'get format error. eg: get table_name key ts');
  t.equal(
    (await run('scan kvt k1 3000 0')).output,
    ['  #  key  ts    data', '-'.repeat(22), '  1  k1   2000  v 2', '  2  k1   1000  v1'].join('\n'),
  );
  t.equal((await run('scan kvt k1 3000 1000')).output.split('\n').length, 3, 'et < ts <= st');
  t.equal((await run('scan kvt k1 3000 0 1')).output.split('\n').length, 3, 'limit');
  t.equal((await run('scan kvt k1 a 0')).output, 'Invalid args. st and et should be uint64_t, limit shouldbe uint32_t');
  t.equal((await run('preview kvt 2')).output.split('\n')[0], '  #  key  ts    data');
  t.equal((await run('count kvt k1')).output, 'count: 2');
});

t.test('gettablepartition writes <table>_<pid>.txt; settablepartition reads it back', async (t) => {
  const { ns, data } = await seedCluster();
  const files = new Map<string, string>();
  const ctx = context(ns, data, {
    db: 'demo_db',
    writeTextFile: async (path, text) => void files.set(path, text),
    readTextFile: async (path) => {
      const text = files.get(path);
      if (text === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
      return text;
    },
  });
  t.same(await runCommand('gettablepartition flow 1', ctx), {
    ok: true, output: 'get table partition ok', name: 'gettablepartition',
    data: { file: 'flow_1.txt', tid: 4, partition: ns.tables[0]!.partitions[1] },
  });
  const text = files.get('flow_1.txt')!;
  t.equal(text.split('\n').slice(0, 3).join('\n'), `# table: flow db: demo_db tid: 4\npid: 1\npartition_meta {`);
  files.set('edited.txt', text.replace(/(endpoint: "172\.27\.128\.31:8541"\n {2}is_leader: false\n {2}is_alive: )true/, '$1false'));
  t.same(await runCommand('settablepartition flow edited.txt', ctx), { ok: true, output: 'set table partition ok', name: 'settablepartition' });
  const sent = ns.calls.find(([c]) => c === 'settablepartition')![1] as { tid: number; partition: { replicas: Array<{ endpoint: string; isAlive: boolean }> } };
  t.equal(sent.tid, 4, 'the tid of the file goes with it');
  t.equal(sent.partition.replicas.find((r) => r.endpoint === T31)!.isAlive, false, 'the edit is sent');
  files.set('other.txt', text.replace('# table: flow', '# table: other'));
  t.same(await runCommand('settablepartition flow other.txt', ctx), {
    ok: false, code: 'INVALID_ARGUMENT', name: 'settablepartition',
    output: 'Fail to set table partition. error msg: the partition file is of table demo_db.other, not demo_db.flow',
  });
  t.equal((await runCommand('settablepartition flow missing.txt', ctx)).output, 'can not open file missing.txt');
  files.set('bad.txt', 'pid: 1\npartition_meta {\n endpoint: "a:1"\n');
  t.equal((await runCommand('settablepartition flow bad.txt', ctx)).output, "table partition file format error: missing '}'");
  t.equal((await runCommand('gettablepartition flow x', ctx)).output, 'Invalid args. pid should be uint32_t');
  t.equal((await runCommand('gettablepartition flow 7', ctx)).output, 'Fail to get table partition. error msg: pid[7] does not exist in table[flow]');
  t.equal((await runCommand('gettablepartition flow 0', context(ns, data))).output, 'please enter database first');
});

t.test('--format=json: one object per command', async (t) => {
  const { ns, data } = await seedCluster();
  const r = await cli(ns, data, { format: 'json', database: 'demo_db', cmd: `showtablet; migrate ${T32} flow 0 ${T37}; migrate ${T33} flow 0 ${T37}; count flow k; nosuch` });
  t.equal(r.code, 1);
  const objs = r.out.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(objs.length, 5);
  t.same(objs[0], {
    ok: true,
    cmd: 'showtablet',
    data: {
      tablets: [
        { endpoint: T31, state: 'kTabletHealthy', ageMs: 15 * DAY_MS + 3600 * SEC },
        { endpoint: T32, state: 'kTabletHealthy', ageMs: 15 * DAY_MS + 5 * SEC },
        { endpoint: T33, state: 'kTabletHealthy', ageMs: 15 * DAY_MS },
        { endpoint: T37, state: 'kTabletHealthy', ageMs: 65 * SEC },
      ],
    },
  });
  t.same(objs[1], { ok: false, cmd: 'migrate', error: 'failed to migrate partition. error msg: cannot migrate leader. name[flow] pid[0]', code: 'PRECONDITION_FAILED' });
  t.same(objs[2], { ok: true, cmd: 'migrate', data: { opIds: [51] } });
  t.same(objs[3], { ok: true, cmd: 'count', data: { count: 0 } });
  t.same(objs[4], { ok: false, cmd: 'nosuch', error: 'unsupported cmd' });

  const p = await cli(ns, data, { format: 'json', database: 'demo_db', cmd: 'put flow 5 a b 1 12345678901234567890; get flow a card 0; use demo_db' });
  const [put, get, use] = p.out.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.same(put, { ok: false, cmd: 'put', error: 'Put failed. error msg: column n expects int64, got bigint', code: 'INVALID_ARGUMENT' });
  t.same(get, { ok: false, cmd: 'get', error: 'Fail to get value! error msg: key not found' });
  t.same(use, { ok: true, cmd: 'use', data: { db: 'demo_db' } });
  const q = await cli(ns, data, { format: 'json', database: 'demo_db', cmd: 'put flow 5 a b 1 9007199254740993; get flow a card 0' });
  t.same(JSON.parse(q.out.trimEnd().split('\n')[1]!), { ok: true, cmd: 'get', data: { rows: [{ ts: 5, values: { card: 'a', mcc: 'b', amt: 1, n: '9007199254740993' } }] } });
});

t.test('never a stack trace: a handler bug or transport error is one failure line', async (t) => {
  const { ns, data } = await seedCluster();
  const broken = new Proxy(ns, {
    get(target, prop, recv) {
      if (prop === 'showtablet') return async () => ({ tablets: null });
      if (prop === 'showdb') return async () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:9622'));
      return Reflect.get(target, prop, recv) as unknown;
    },
  });
  const ctx = context(broken, data);
  const a = await runCommand('showtablet', ctx);
  t.equal(a.ok, false);
  t.match(a.output, /^Fail to show tablets\. error msg: /);
  t.notMatch(a.output, /\n\s+at /);
  const b = await runCommand('showdb', ctx);
  t.equal(b.output, 'Fail to show databases. error msg: connect ECONNREFUSED 127.0.0.1:9622');
});

t.test('setttl: OpenMLDB\'s arguments, one index or every index, failure texts', async (t) => {
  const { ns, data } = await seedCluster();
  const ctx = context(ns, data, { db: 'demo_db' });
  const run = async (line: string): Promise<{ ok: boolean; output: string; code?: string }> => runCommand(line, ctx);
  t.same(await run('setttl flow latest 5 mcc'), { ok: true, output: 'Set ttl ok', data: { ttl: { type: 'latest', absMinutes: 0, latest: 5 }, index: 'mcc' }, name: 'setttl' });
  t.same(ns.calls.at(-1), ['setttl', { db: 'demo_db', name: 'flow', ttl: { type: 'latest', absMinutes: 0, latest: 5 }, index: 'mcc' }]);
  t.match((await run('showschema flow')).output, /mcc\s+mcc\s+-\s+5\s+kLatestTime/);
  t.equal((await run('setttl flow absorlat 60 3')).output, 'Set ttl ok');
  t.same(ns.calls.at(-1), ['setttl', { db: 'demo_db', name: 'flow', ttl: { type: 'absorlat', absMinutes: 60, latest: 3 } }], 'no index: every index');
  t.match((await run('showschema flow')).output, /card\s+card\s+-\s+60min\|\|3\s+kAbsOrLat[\s\S]*mcc\s+mcc\s+-\s+60min\|\|3\s+kAbsOrLat/);
  t.equal((await run('setttl flow absolute 10')).output, 'Set ttl ok');
  t.match(await run('setttl flow absorlat 60'), { ok: false, output: /^usage: setttl table_name ttl_type ttl \[index_name\]/ });
  t.match(await run('setttl flow sometimes 5'), { ok: false, output: 'Set ttl failed. error msg: invalid ttl type' });
  t.match(await run('setttl flow latest x'), { ok: false, output: /^Set ttl failed. error msg: / });
  ns.failNext = nsError('INVALID_ARGUMENT', 'index nope does not exist in table flow');
  t.same(await run('setttl flow latest 1 nope'), { ok: false, output: 'Set ttl failed. error msg: index nope does not exist in table flow', code: 'INVALID_ARGUMENT', name: 'setttl' });
  ns.failNext = nsError('TABLE_NOT_FOUND', 'table does not exist');
  t.match(await run('setttl nosuch latest 1'), { ok: false, output: 'table nosuch does not exist' });
  const noDb = context(ns, data, {});
  t.equal((await runCommand('setttl flow latest 1', noDb)).output, 'please enter database first');
});
