/**
 * The bulk failover of a lost tablet (core/bulk-failover.ts) on the fake cluster: what it plans
 * per partition (leader → new leader, follower → offline, busy partitions left out), that it
 * sends one batch per tablet and phase and writes each table once, that a cancel before its
 * promote phase leaves metadata as it was (and the monitor fails the tablet over afterwards),
 * that a cancel after it is refused, and that a nameserver killed in its fence, select or promote phase is resumed by the next.
 */
import t from 'tap';
import type { TableInfo } from '@tessera/common';
import { BULK_PARTS_MAX, BULK_PID, BULK_TID, engineConfig, ObservedCluster, opsToStart, placePartitions, planBulkFailover, seededRandom, type AdminView, type Op } from '../src/core/index.js';
import { Harness, invariantViolations } from './core-harness.js';

const CONFIG = { tabletHeartbeatTimeoutMs: 1_000, failoverRetryMs: 500, roleAssignRetryMs: 500, tabletDownTaskGraceMs: 2_000 };
const TABLES = 6;

function cluster(autoFailover = true): Harness {
  const h = new Harness({ tablets: ['ep1', 'ep2', 'ep3'], autoFailover, config: CONFIG });
  for (let i = 0; i < TABLES; i++) h.createTable(`t${i}`, 4, 3);
  for (let i = 0; i < 5; i++) h.tick();
  return h;
}

const bulkOps = (h: Harness): Op[] => h.engine.ops().filter((o) => o.type === 'kFailoverEndpointOP');

/** Partitions where the lost tablet is still alive or there is not exactly one alive leader elsewhere. */
function notFailedOver(h: Harness, lost: string): string[] {
  const out: string[] = [];
  for (const table of h.zk.tables.values()) {
    for (const p of table.partitions) {
      if (p.replicas.some((r) => r.endpoint === lost && r.isAlive) || p.replicas.filter((r) => r.endpoint !== lost && r.isLeader && r.isAlive).length !== 1) out.push(`${table.tid}/${p.pid}`);
    }
  }
  return out;
}

/** Ticks until the monitor made the bulk op (after the heartbeat timeout). */
function untilBulkOp(h: Harness): void {
  for (let i = 0; i < 100 && bulkOps(h).length === 0; i++) h.tick();
}

/** Loses ep2 with commands answering slowly; ticks until a bulk op runs in `phase` (undefined if none did). */
function lostUntilPhase(h: Harness, phase: string, tickMs = 100): Op | undefined {
  h.faults = { delayMs: () => 300 };
  h.tabletDown('ep2');
  for (let i = 0; i < 100; i++) {
    const op = bulkOps(h).find((o) => o.status === 'kDoing' && o.data.kind === 'bulkFailover' && o.data.phase === phase);
    if (op !== undefined) return op;
    h.tick(tickMs);
  }
  return undefined;
}

t.test('plan: the led partitions get a new leader, the followed ones go offline, busy ones are left out', async (t) => {
  const h = cluster(false);
  h.tabletDown('ep2');
  const tables = [...h.zk.tables.values()];
  const busyKey = `${tables[0]!.tid}/0`;
  const view: AdminView = {
    tables, observed: h.engine.observed(), config: engineConfig(CONFIG), random: seededRandom(1),
    reservedTermMax: () => 0, busy: (tid, pid) => `${tid}/${pid}` === busyKey,
  };
  const reqs = planBulkFailover('ep2', view);
  t.equal(reqs.length, 1, 'one op');
  const req = reqs[0]!;
  t.equal(req.type, 'kFailoverEndpointOP');
  const parts = req.data.kind === 'bulkFailover' ? req.data.parts : [];
  const expected = tables.flatMap((x) => x.partitions.filter((p) => `${x.tid}/${p.pid}` !== busyKey && p.replicas.some((r) => r.endpoint === 'ep2')).map((p) => ({ tid: x.tid, pid: p.pid, leads: p.replicas.some((r) => r.endpoint === 'ep2' && r.isLeader) })));
  t.equal(parts.length, expected.length, `one part per partition ep2 held but the busy one (${expected.length})`);
  t.notOk(parts.some((p) => `${p.tid}/${p.pid}` === busyKey), 'the busy partition is not in the op');
  for (const e of expected) {
    const part = parts.find((p) => p.tid === e.tid && p.pid === e.pid);
    t.equal(part?.action, e.leads ? 'changeLeader' : 'offlineFollower', `${e.tid}/${e.pid}: ${e.leads ? 'led' : 'followed'} by ep2`);
    if (part?.action === 'changeLeader') {
      t.same([...part.endpoints].sort(), ['ep1', 'ep3'], 'both healthy followers are fenced');
      t.ok(part.fenceTerm! > 1, 'at a new term');
    }
  }
  t.same(planBulkFailover('ep2', { ...view, busy: () => true }), [], 'nothing to plan when every partition is busy');
});

t.test('a tablet holding more than BULK_PARTS_MAX partitions: several ops, each for whole tables, none over the limit', async (t) => {
  // Metadata only (no fake cluster): 130 tables of 8 × 3 on three tablets, ep2 lost.
  const random = seededRandom(3);
  const tables: TableInfo[] = Array.from({ length: 130 }, (_, i) => ({
    tid: i + 1,
    schema: { name: `t${i}`, db: 'demo_db', columns: [{ name: 'k', type: 'string' }], indexes: [{ name: 'k', keys: ['k'], ttl: { type: 'absolute', absMinutes: 0, latest: 0 } }] },
    partitionNum: 8, replicaNum: 3, compressType: 'kNoCompress', replicaAck: 'leader', createdMs: 0,
    partitions: placePartitions({ partitionNum: 8, replicaNum: 3, healthyEndpoints: ['ep1', 'ep2', 'ep3'], term: 1, random, load: undefined }),
  }));
  const observed = new ObservedCluster();
  observed.reset([{ endpoint: 'ep1', healthy: true, sinceMs: 0 }, { endpoint: 'ep2', healthy: false, sinceMs: 0 }, { endpoint: 'ep3', healthy: true, sinceMs: 0 }]);
  const view: AdminView = { tables, observed, config: engineConfig(CONFIG), random, reservedTermMax: () => 0, busy: () => false };
  const reqs = planBulkFailover('ep2', view);
  const sizes = reqs.map((r) => (r.data.kind === 'bulkFailover' ? r.data.parts.length : 0));
  t.equal(sizes.reduce((a, b) => a + b, 0), 130 * 8, 'every partition ep2 held, once');
  t.ok(reqs.length === 2 && sizes.every((n) => n <= BULK_PARTS_MAX), `ops of ${sizes.join(', ')} partitions`);
  const tablesPerOp = reqs.map((r) => new Set(r.data.kind === 'bulkFailover' ? r.data.parts.map((p) => p.tid) : []));
  t.equal([...tablesPerOp[0]!].filter((tid) => tablesPerOp[1]!.has(tid)).length, 0, 'no table split between two ops');
  t.ok(JSON.stringify(reqs[0]!.data).length < 1_000_000, `the op record stays under ZooKeeper's node limit (${JSON.stringify(reqs[0]!.data).length} bytes before selection)`);
});

t.test('one op, one batch per tablet and phase, each table written once, elections from the in-sync set', async (t) => {
  const h = cluster();
  h.tabletDown('ep2');
  untilBulkOp(h);
  h.runUntilIdle();
  const ops = bulkOps(h);
  t.equal(ops.length, 1, 'one op for the lost tablet');
  t.equal(ops[0]!.status, 'kDone');
  t.same(h.engine.ops().filter((o) => o.type !== 'kFailoverEndpointOP').map((o) => o.type), [], 'no per-partition op');
  const batches = h.transcript.filter((l) => /^send op=\d+ batch=/.test(l)).map((l) => l.split(' ').slice(1, 4).join(' '));
  const perTablet = new Map<string, number>();
  for (const b of batches) perTablet.set(b.split(' ')[2]!, (perTablet.get(b.split(' ')[2]!) ?? 0) + 1);
  // fence (ChangeRole to followers, DelReplica to leaders) and promote: at most two batches per tablet.
  t.ok([...perTablet.values()].every((n) => n <= 2), `batches per tablet: ${[...perTablet].map(([e, n]) => `${e} ${n}`).join(', ')}`);
  t.notOk(h.transcript.some((l) => /^send op=\d+#/.test(l)), 'no single-partition command');
  t.same(notFailedOver(h, 'ep2'), [], 'every partition: ep2 not alive, one alive leader elsewhere');
  t.same(invariantViolations(h, { allAlive: false }), []);
});

t.test('canceled before its promote phase: metadata unchanged, the monitor fails the tablet over again', async (t) => {
  const h = cluster();
  const op = lostUntilPhase(h, 'fence')!;
  t.ok(op !== undefined, 'running, in its fence phase');
  const before = [...h.zk.tables.values()].map((x) => JSON.stringify(x.partitions.map((p) => p.replicas)));
  h.setAutoFailover(false);
  const reply = h.adminReply({ type: 'cancelop', opId: op.id });
  t.equal(reply.ok, true, 'cancelop accepted');
  h.runUntilIdle();
  t.equal(h.engine.op(op.id)?.status, 'kCanceled');
  t.same([...h.zk.tables.values()].map((x) => JSON.stringify(x.partitions.map((p) => p.replicas))), before, 'no replica flag changed');
  h.faults = {};
  h.setAutoFailover(true);
  h.runUntilIdle();
  for (let i = 0; i < 20; i++) h.tick();
  h.runUntilIdle();
  t.equal(bulkOps(h).filter((o) => o.status === 'kDone').length, 1, 'a second bulk op did the failover');
  t.same(notFailedOver(h, 'ep2'), [], 'every partition: ep2 not alive, one alive leader elsewhere');
  t.same(invariantViolations(h, { allAlive: false }), []);
});

t.test('past its promote phase: cancel refused, the op ends done', async (t) => {
  const h = cluster();
  const op = lostUntilPhase(h, 'promote');
  t.ok(op !== undefined, 'reached its promote phase');
  const reply = h.adminReply({ type: 'cancelop', opId: op!.id });
  t.equal(reply.ok ? 'ok' : reply.error.code, 'OP_STATE', 'refused');
  h.faults = {};
  h.runUntilIdle();
  t.equal(h.engine.op(op!.id)?.status, 'kDone');
  t.same(notFailedOver(h, 'ep2'), [], 'every partition: ep2 not alive, one alive leader elsewhere');
});

t.test('a nameserver killed in every phase: the next one resumes the op and finishes it', async (t) => {
  for (const phase of ['fence', 'select', 'promote'] as const) {
    const h = new Harness({ tablets: ['ep1', 'ep2', 'ep3'], autoFailover: true, config: CONFIG, asyncWrites: true });
    for (let i = 0; i < TABLES; i++) h.createTable(`t${i}`, 4, 3);
    for (let i = 0; i < 5; i++) h.tick();
    t.ok(lostUntilPhase(h, phase, 50) !== undefined, `${phase}: reached`);
    h.killNameserver();
    h.faults = {};
    h.runUntilIdle();
    for (let i = 0; i < 20; i++) h.tick();
    h.runUntilIdle();
    t.ok(bulkOps(h).every((o) => o.status === 'kDone' || o.status === 'kCanceled'), `${phase}: every bulk op ended (${bulkOps(h).map((o) => o.status).join(',')})`);
    t.same(notFailedOver(h, 'ep2'), [], 'every partition: ep2 not alive, one alive leader elsewhere');
    t.same(invariantViolations(h, { allAlive: false }), [], `${phase}: invariants hold`);
  }
});

t.test('the bulk ops of a lost tablet start side by side: they take no slot of task concurrency', async (t) => {
  const bulk = (id: number, tids: number[]): Op => ({
    id, type: 'kFailoverEndpointOP', tid: BULK_TID, pid: BULK_PID, db: '', name: 'failover ep2', status: 'kInited', tasks: [], taskIndex: 0, commitTaskIndex: 0,
    data: { kind: 'bulkFailover', endpoint: 'ep2', phase: 'fence', parts: tids.map((tid) => ({ tid, pid: 0, db: 'd', name: `t${tid}`, action: 'markDead', endpoints: [] })) },
    createdMs: 0, startMs: 0, endMs: 0, progress: { tasksDone: 0, tasksTotal: 4 }, origin: 'repair',
  } as unknown as Op);
  const move = { ...bulk(3, []), type: 'kMigrateOP', tid: 7, pid: 0, data: { kind: 'migrate', src: 'ep1', des: 'ep3' } } as unknown as Op;
  const started = opsToStart([bulk(1, [1, 2]), bulk(2, [3, 4]), move].map((op) => ({ op, created: true, finishing: false })), 1);
  t.same(started.map((o) => o.id), [1, 2, 3], 'both bulk ops and the move start with a concurrency of 1');
  const clash = opsToStart([bulk(1, [1, 2]), bulk(2, [2, 3])].map((op) => ({ op, created: true, finishing: false })), 5);
  t.same(clash.map((o) => o.id), [1], 'a bulk op on a partition another holds waits');
});

t.test('after its fences the op asks for reports at once, and selects from reports made after them', async (t) => {
  const h = cluster();
  h.tabletDown('ep2');
  untilBulkOp(h);
  h.runUntilIdle();
  const fenceSent = h.transcript.findIndex((l) => /^send op=\d+ batch=.* ChangeRole .*follower/.test(l));
  const asked = h.transcript.indexOf('reports requested');
  const promoted = h.transcript.findIndex((l) => /^send op=\d+ batch=.* ChangeRole .*leader/.test(l));
  t.ok(fenceSent >= 0 && asked > fenceSent && promoted > asked, `fences, then reports asked, then promotes (lines ${fenceSent}, ${asked}, ${promoted})`);
  t.equal(h.transcript.filter((l) => l === 'reports requested').length, 1, 'asked once');
});
