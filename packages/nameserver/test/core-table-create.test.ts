/**
 * Create and drop table in the core: the createtable checks (table-driven, OpenMLDB's codes and
 * texts), the order of the tablet calls, the jobs' undo on every kind of failure (table-jobs.ts,
 * driven by hand), and create/drop end to end through the engine on the fake cluster.
 */
import t from 'tap';
import type { CreateTableRequest, TableInfo, TableSchema } from '@tessera/common';
import { checkCreateTable, createStages, dropCalls, seededRandom, undoCreate, type EngineEffect, type ReplicaCall } from '../src/core/index.js';
import { TableJobs } from '../src/core/table-jobs.js';
import { Harness } from './core-harness.js';

const schema = (name: string, db = 'demo'): TableSchema => ({
  name, db, columns: [{ name: 'k', type: 'string' }, { name: 'v', type: 'int64' }], indexes: [{ name: 'k', keys: ['k'], ttl: { type: 'absolute', absMinutes: 0, latest: 0 } }],
});

const existing: TableInfo = {
  tid: 1, schema: schema('flow'), partitionNum: 1, replicaNum: 1, compressType: 'kNoCompress', replicaAck: 'all', createdMs: 0,
  partitions: [{ pid: 0, replicas: [{ endpoint: 'ep1', isLeader: true, isAlive: true }], termOffsets: [{ term: 1, offset: 0 }], inSync: [] }],
};

const view = (over: Partial<Parameters<typeof checkCreateTable>[1]> = {}) => ({
  tables: [existing], dbExists: true, healthy: ['ep1', 'ep2', 'ep3'], defaults: { partitionNum: 8, replicaNum: 3 }, random: seededRandom(1), ...over,
});

t.test('createtable checks: code and text of each refusal, in OpenMLDB order', async (t) => {
  const cases: Array<{ why: string; req: unknown; view?: Parameters<typeof view>[0]; taken?: boolean; code: string; message?: string }> = [
    { why: 'no schema', req: {}, code: 'INVALID_ARGUMENT' },
    { why: 'no database (after the schema)', req: { schema: schema('t') }, view: { dbExists: false }, code: 'DATABASE_NOT_FOUND', message: 'database not found' },
    { why: 'name taken', req: { schema: schema('flow') }, code: 'TABLE_EXISTS', message: 'table already exists' },
    { why: 'name being created', req: { schema: schema('t') }, taken: true, code: 'TABLE_EXISTS', message: 'table already exists' },
    { why: 'too few healthy tablets', req: { schema: schema('t'), replicaNum: 4 }, code: 'PRECONDITION_FAILED', message: 'healthy endpoint num is less than replica num' },
    { why: 'compress type', req: { schema: schema('t'), compressType: 'kZip' }, code: 'INVALID_ARGUMENT', message: 'compress_type must be kNoCompress or kSnappy' },
    { why: 'replica ack', req: { schema: schema('t'), replicaAck: 'some' }, code: 'INVALID_ARGUMENT', message: "replica_ack must be 'all' or 'leader'" },
    { why: 'explicit placement on an unhealthy tablet', req: { schema: schema('t'), partitions: [{ pid: 0, leader: 'ep9', followers: [] }] }, code: 'TABLET_NOT_HEALTHY', message: 'endpoint ep9 does not exist or not healthy' },
    { why: 'explicit placement missing a pid', req: { schema: schema('t'), partitionNum: 2, partitions: [{ pid: 0, leader: 'ep1', followers: [] }] }, code: 'INVALID_ARGUMENT' },
    { why: 'partition num out of range', req: { schema: schema('t'), partitionNum: 0 }, code: 'INVALID_ARGUMENT' },
  ];
  for (const c of cases) {
    t.throws(() => checkCreateTable(c.req as CreateTableRequest, view(c.view), () => c.taken === true), c.message === undefined ? { code: c.code } : { code: c.code, message: c.message }, c.why);
  }
  const draft = checkCreateTable({ schema: schema('t') }, view(), () => false);
  t.match(draft, { partitionNum: 8, replicaNum: 3, compressType: 'kNoCompress', replicaAck: 'all' }, 'defaults fill what the request leaves out');
  t.match(checkCreateTable({ schema: schema('t') }, view({ healthy: ['ep1'] }), () => false), { replicaNum: 1 }, 'the default replica num is capped by the healthy tablets');
});

t.test('create calls: every follower first, then each leader with its followers and in-sync set; undo and drop', async (t) => {
  const table: TableInfo = {
    ...existing, tid: 7, partitionNum: 2, replicaNum: 2,
    partitions: [
      { pid: 0, replicas: [{ endpoint: 'ep1', isLeader: true, isAlive: true }, { endpoint: 'ep2', isLeader: false, isAlive: true }], termOffsets: [{ term: 4, offset: 0 }], inSync: ['ep2'] },
      { pid: 1, replicas: [{ endpoint: 'ep2', isLeader: true, isAlive: true }, { endpoint: 'ep3', isLeader: false, isAlive: true }], termOffsets: [{ term: 4, offset: 0 }], inSync: ['ep3'] },
    ],
  };
  const line = (c: ReplicaCall) => (c.type === 'DropReplica' ? `drop ${c.endpoint} ${c.pid}` : `${c.role} ${c.endpoint} ${c.pid} t${c.term} leader=${c.leader ?? '-'} followers=${c.followers?.join(',') ?? '-'} inSync=${c.inSync?.join(',') ?? '-'}`);
  t.same(createStages(table, 4).map((stage) => stage.map(line)), [
    ['follower ep2 0 t4 leader=ep1 followers=- inSync=-', 'follower ep3 1 t4 leader=ep2 followers=- inSync=-'],
    ['leader ep1 0 t4 leader=- followers=ep2 inSync=ep2', 'leader ep2 1 t4 leader=- followers=ep3 inSync=ep3'],
  ]);
  t.same(createStages(existing, 1).map((stage) => stage.map(line)), [['leader ep1 0 t1 leader=- followers= inSync=']], 'a single replica: one stage');
  t.same(undoCreate(createStages(table, 4)[0]!).map(line), ['drop ep2 0', 'drop ep3 1']);
  t.same(dropCalls(table, (e) => e !== 'ep2').map(line), ['drop ep1 0', 'drop ep3 1'], 'a drop skips tablets that are down');
});

/** TableJobs driven by hand: the effects it emits, answered as the test says. */
function jobs(tables: TableInfo[] = [existing]) {
  const effects: EngineEffect[] = [];
  const created: TableInfo[] = [];
  const dropped: number[] = [];
  const j = new TableJobs({
    tables: () => tables, healthy: () => ['ep1', 'ep2', 'ep3'], isHealthy: (e) => e !== 'ep3', random: seededRandom(5), nowMs: () => 1234, nsEpoch: () => 2,
    emit: (e) => effects.push(e), created: (table) => created.push(table), dropped: (tid) => dropped.push(tid),
  });
  const take = () => effects.splice(0);
  const calls = (list: EngineEffect[]) => list.filter((e): e is Extract<EngineEffect, { kind: 'tableCall' }> => e.kind === 'tableCall');
  return { j, take, calls, created, dropped };
}

t.test('a create job: ids, stages, node, reply; the first failure undoes what was created', async (t) => {
  type Outcome = { ok: true } | { ok: false; code: 'UNAVAILABLE' | 'COORD_ERROR' };
  const cases: Array<{ why: string; answer: (stage: number, callIndex: number) => Outcome; write?: Outcome; drops: number; code?: string }> = [
    { why: 'all well', answer: () => ({ ok: true }), drops: 0 },
    { why: 'a follower fails: the other followers are dropped', answer: (s, i) => (s === 0 && i === 1 ? { ok: false, code: 'UNAVAILABLE' } : { ok: true }), drops: 3, code: 'UNAVAILABLE' },
    { why: 'a leader fails: followers and the other leaders are dropped', answer: (s, i) => (s === 1 && i === 0 ? { ok: false, code: 'UNAVAILABLE' } : { ok: true }), drops: 4 + 1, code: 'UNAVAILABLE' },
    { why: 'the node write fails: every replica is dropped', answer: () => ({ ok: true }), write: { ok: false, code: 'COORD_ERROR' }, drops: 6, code: 'COORD_ERROR' },
  ];
  for (const c of cases) {
    const { j, take, calls, created } = jobs();
    j.create('r', { schema: schema('t'), partitionNum: 2, replicaNum: 3 }, true, { partitionNum: 8, replicaNum: 3 });
    t.same(take(), [{ kind: 'allocTableIds', requestId: 'r' }], `${c.why}: ids asked for`);
    j.onEvent({ type: 'tableIdsAllocated', requestId: 'r', ok: true, tid: 9, term: 5 });
    let effects = take();
    for (let stage = 0; calls(effects).length > 0 && calls(effects)[0]!.call.type === 'CreateReplica'; stage++) {
      const sent = calls(effects);
      for (const e of sent) {
        const o = c.answer(stage, e.callIndex);
        j.onEvent({ type: 'tableCallResult', requestId: 'r', callIndex: e.callIndex, ...(o.ok ? { ok: true } : { ok: false, error: { code: o.code, message: 'boom' } }) });
      }
      effects = take();
    }
    const write = effects.find((e) => e.kind === 'writeTableNode');
    if (write !== undefined) {
      t.match(write, { table: { tid: 9, createdMs: 1234, partitions: [{ termOffsets: [{ term: 5, offset: 0 }] }, {}] } }, `${c.why}: the node written`);
      const w = c.write ?? { ok: true };
      j.onEvent({ type: 'tableNodeWritten', requestId: 'r', ...(w.ok ? { ok: true } : { ok: false, error: { code: w.code, message: 'boom' } }) });
      effects = take();
    }
    const drops = calls(effects).filter((e) => e.call.type === 'DropReplica');
    t.equal(drops.length, c.drops, `${c.why}: replicas dropped`);
    for (const d of drops) j.onEvent({ type: 'tableCallResult', requestId: 'r', callIndex: d.callIndex, ok: true });
    const reply = [...effects, ...take()].find((e) => e.kind === 'reply');
    if (c.code === undefined) {
      t.match(reply, { ok: true, data: { tid: 9 } }, `${c.why}: answered with the tid`);
      t.equal(created.length, 1);
    } else {
      t.match(reply, { ok: false, error: { code: c.code, message: 'boom' } }, `${c.why}: refused with the first failure`);
      t.equal(created.length, 0, `${c.why}: no table`);
    }
  }
});

t.test('create job: a second create of the same name is refused while the first runs; a failed allocation refuses', async (t) => {
  const { j, take } = jobs();
  j.create('a', { schema: schema('t'), partitionNum: 1, replicaNum: 1 }, true, { partitionNum: 8, replicaNum: 3 });
  j.create('b', { schema: schema('t'), partitionNum: 1, replicaNum: 1 }, true, { partitionNum: 8, replicaNum: 3 });
  t.match(take(), [{ kind: 'allocTableIds', requestId: 'a' }, { kind: 'reply', requestId: 'b', ok: false, error: { code: 'TABLE_EXISTS', message: 'table already exists' } }]);
  j.onEvent({ type: 'tableIdsAllocated', requestId: 'a', ok: false, error: { code: 'COORD_ERROR', message: 'zk down' } });
  t.match(take(), [{ kind: 'reply', requestId: 'a', ok: false, error: { code: 'COORD_ERROR', message: 'zk down' } }]);
  j.onEvent({ type: 'tableIdsAllocated', requestId: 'a', ok: true, tid: 3, term: 1 });
  t.same(take(), [], 'a late answer to a finished job is ignored');
});

t.test('a drop job: replicas on healthy tablets, then the node, then the table is gone; "not there" is fine', async (t) => {
  const table: TableInfo = { ...existing, partitions: [{ ...existing.partitions[0]!, replicas: [{ endpoint: 'ep1', isLeader: true, isAlive: true }, { endpoint: 'ep3', isLeader: false, isAlive: true }] }] };
  const { j, take, calls, dropped } = jobs([table]);
  j.drop('d', 'demo', 'nope');
  t.match(take(), [{ kind: 'reply', ok: false, error: { code: 'TABLE_NOT_FOUND', message: 'table nope does not exist' } }]);
  j.drop('d', 'demo', 'flow');
  const sent = calls(take());
  t.same(sent.map((e) => `${e.call.type} ${e.call.endpoint}`), ['DropReplica ep1'], 'ep3 is down: told when it reports');
  j.drop('d2', 'demo', 'flow');
  t.match(take(), [{ kind: 'reply', requestId: 'd2', ok: false, error: { code: 'TABLE_NOT_FOUND' } }], 'a second drop while the first runs');
  j.onEvent({ type: 'tableCallResult', requestId: 'd', callIndex: 0, ok: false, error: { code: 'TABLE_NOT_FOUND', message: 'gone' } });
  t.same(take(), [{ kind: 'deleteTableNode', requestId: 'd', tid: 1 }]);
  j.onEvent({ type: 'tableNodeWritten', requestId: 'd', ok: true });
  t.same(dropped, [1]);
  t.match(take(), [{ kind: 'log', level: 'info' }, { kind: 'reply', requestId: 'd', ok: true }]);
});

t.test('create and drop through the engine on the fake cluster', async (t) => {
  const h = new Harness({ tablets: ['ep1', 'ep2', 'ep3'], seed: 4, asyncWrites: false });
  const table = h.createTable('flow', 4, 3);
  t.same(h.zk.tables.get(table.tid), table, 'ZooKeeper holds what the engine holds');
  for (const p of table.partitions) for (const r of p.replicas) t.ok(h.cluster.tablet(r.endpoint).replica(table.tid, p.pid), `${r.endpoint} holds ${p.pid}`);
  // ep3 goes away without the engine hearing of it: its create fails, everything made is dropped.
  h.cluster.tablet('ep3').up = false;
  const id = h.admin({ type: 'createtable', request: { schema: schema('more', 'demo_db'), partitionNum: 2, replicaNum: 3 }, dbExists: true, defaults: { partitionNum: 8, replicaNum: 3 } });
  t.match(h.replies.get(id), { ok: false, error: { code: 'UNAVAILABLE' } });
  t.equal(h.engine.tables().length, 1);
  t.equal(h.zk.tables.size, 1);
  for (const ep of ['ep1', 'ep2']) t.same([...h.cluster.tablet(ep).replicas.values()].filter((r) => r.name === 'more'), [], `nothing of it left on ${ep}`);
  h.cluster.tablet('ep3').up = true;
  t.match(h.adminReply({ type: 'droptable', db: 'demo_db', name: 'flow' }), { ok: true });
  t.same(h.engine.tables(), []);
  t.equal(h.zk.tables.size, 0);
  for (const ep of ['ep1', 'ep2', 'ep3']) t.equal(h.cluster.tablet(ep).replicas.size, 0, `${ep} holds nothing`);
});
