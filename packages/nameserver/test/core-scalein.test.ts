/**
 * Transcript tests of `scalein` planned one step per call (core scalein.ts): the pre-checks, the
 * dry-run plan (moves and per-tablet counts), and the drain itself — leaderships handed over
 * first, every replica moved to a staying tablet, never onto another leaving one, until the
 * leaving tablets hold nothing.
 */
import t from 'tap';
import type { ScaleMove, ScaleTabletCount } from '@tessera/common';
import type { AdminCommand } from '../src/core/events.js';
import { Harness, aliveLeaderOf as leaderOf, invariantViolations, writtenCluster } from './core-harness.js';

const holders = (h: Harness, ep: string): string[] => {
  const out: string[] = [];
  for (const tid of [1, 2]) {
    for (let pid = 0; pid < 8; pid++) {
      try {
        if (h.partition(tid, pid).replicas.some((r) => r.endpoint === ep)) out.push(`${tid}/${pid}`);
      } catch {
        break;
      }
    }
  }
  return out;
};

function runSteps(h: Harness, command: AdminCommand, roundsMax = 40): { lines: string[]; opTypes: string[] } {
  const lines: string[] = [];
  const before = h.engine.ops().reduce((m, o) => Math.max(m, o.id), 0);
  for (let round = 0; round < roundsMax; round++) {
    h.reportAll();
    const reply = h.adminReply(command) as { ok: boolean; data: { done: boolean; steps: string[] } };
    if (!reply.ok) throw new Error(JSON.stringify(reply));
    lines.push(...reply.data.steps);
    if (reply.data.done) return { lines, opTypes: h.engine.ops().filter((o) => o.id > before).map((o) => `${o.type}:${o.status}`) };
    h.runUntilIdle();
    h.replicateFully();
  }
  throw new Error(`not done after ${roundsMax} rounds: ${lines.join(' | ')}`);
}

function cluster(seed = 3) {
  return writtenCluster({ tablets: ['ep1', 'ep2', 'ep3', 'ep4'], seed }, [{ name: 'flow', partitions: 4, replicas: 3, rows: 5 }, { name: 'one', partitions: 2, replicas: 1, rows: 5 }]);
}


t.test('dry run: every move listed, counts before and after, nothing created', async (t) => {
  const h = cluster();
  const ep = leaderOf(h, 1, 0)!;
  const opsBefore = h.engine.ops().length;
  const reply = h.adminReply({ type: 'scalein', endpoints: [ep], dryRun: true }) as { ok: boolean; data: { moves: ScaleMove[]; tablets: ScaleTabletCount[]; opIds: number[] } };
  t.equal(reply.ok, true);
  t.same(reply.data.opIds, [], 'no op');
  t.equal(h.engine.ops().length, opsBefore);
  const moves = reply.data.moves;
  t.ok(moves.some((m) => m.table === 'flow' && m.pid === 0 && m.action === 'changeleader' && m.src === ep), 'the leadership of flow pid 0 is handed over');
  t.ok(moves.every((m) => m.des !== ep), 'nothing goes onto the leaving tablet');
  const mine = reply.data.tablets.find((x) => x.endpoint === ep)!;
  t.equal(mine.leaving, true);
  t.ok(mine.replicasBefore > 0 && mine.leadersBefore > 0);
  t.equal(mine.replicasAfter, 0, 'it holds nothing after');
  t.equal(mine.leadersAfter, 0, 'it leads nothing after');
  const sum = (f: (x: ScaleTabletCount) => number): number => reply.data.tablets.reduce((s, x) => s + f(x), 0);
  t.equal(sum((x) => x.replicasAfter), sum((x) => x.replicasBefore), 'as many replicas after as before');
  t.equal(sum((x) => x.leadersAfter), sum((x) => x.leadersBefore), 'as many leaders after as before');
  // Changeleaders come before the moves of the same partition.
  for (const m of moves.filter((x) => x.action === 'changeleader')) {
    const idx = moves.indexOf(m);
    t.ok(moves.findIndex((x) => x.table === m.table && x.pid === m.pid && x.action !== 'changeleader' && x.src === ep) > idx || m.table === 'one', `${m.table} pid ${m.pid}: hand-over before the move`);
  }
});

t.test('scalein drains a tablet: leaderships handed over, every replica moved to staying tablets, the plan matched', async (t) => {
  const h = cluster(5);
  const ep = leaderOf(h, 1, 1)!;
  const dry = (h.adminReply({ type: 'scalein', endpoints: [ep], dryRun: true }) as { data: { tablets: ScaleTabletCount[] } }).data.tablets;
  t.ok(holders(h, ep).length > 0);
  const { lines, opTypes } = runSteps(h, { type: 'scalein', endpoints: [ep] });
  t.comment(lines.join('\n'));
  t.same(holders(h, ep), [], 'the tablet holds nothing');
  t.ok(opTypes.length > 0 && opTypes.every((x) => x.endsWith(':kDone')), `every op done (${opTypes.join(', ')})`);
  t.ok(opTypes.some((x) => x.startsWith('kChangeLeaderOP')) && opTypes.some((x) => x.startsWith('kMigrateOP')));
  for (const tid of [1, 2]) {
    for (let pid = 0; pid < (tid === 1 ? 4 : 2); pid++) {
      const p = h.partition(tid, pid);
      t.equal(p.replicas.length, tid === 1 ? 3 : 1, `${tid}/${pid} keeps replica_num replicas`);
      t.ok(p.replicas.every((r) => r.isAlive));
      const cl = h.engine.ops().find((o) => o.tid === tid && o.pid === pid && o.type === 'kChangeLeaderOP');
      if (cl !== undefined) t.match(cl.data, { handOver: true }, `${tid}/${pid}: the leadership was handed over, not failed over`);
    }
  }
  // The counts the dry run predicted: replicas per tablet after (the order of moves may differ in leaders).
  const per = new Map<string, number>();
  for (const tid of [1, 2]) for (let pid = 0; pid < (tid === 1 ? 4 : 2); pid++) for (const r of h.partition(tid, pid).replicas) per.set(r.endpoint, (per.get(r.endpoint) ?? 0) + 1);
  t.same(dry.map((x) => [x.endpoint, x.replicasAfter]), dry.map((x) => [x.endpoint, per.get(x.endpoint) ?? 0]), 'replicas per tablet as the dry run said');
  t.same(invariantViolations(h, { allAlive: true }), []);
  t.match(h.adminReply({ type: 'scalein', endpoints: [ep] }), { ok: true, data: { done: true, opIds: [] } }, 'a rerun does nothing');
});

t.test('two tablets at once: nothing is moved onto the other leaving tablet', async (t) => {
  const h = new Harness({ tablets: ['ep1', 'ep2', 'ep3', 'ep4', 'ep5'], seed: 8 });
  h.createTable('flow', 4, 2);
  for (let pid = 0; pid < 4; pid++) h.write(1, pid, 3);
  h.replicateFully();
  const dry = h.adminReply({ type: 'scalein', endpoints: ['ep1', 'ep2'], dryRun: true }) as { data: { moves: ScaleMove[] } };
  t.ok(dry.data.moves.every((m) => m.des !== 'ep1' && m.des !== 'ep2'), 'the plan moves nothing onto a leaving tablet');
  const { opTypes } = runSteps(h, { type: 'scalein', endpoints: ['ep1', 'ep2'] });
  t.ok(opTypes.every((x) => x.endsWith(':kDone')));
  t.same([...holders(h, 'ep1'), ...holders(h, 'ep2')], [], 'both hold nothing');
  for (let pid = 0; pid < 4; pid++) t.equal(h.partition(1, pid).replicas.length, 2);
  const ops = h.engine.ops();
  t.ok(ops.filter((o) => o.type === 'kMigrateOP').every((o) => o.data.kind === 'migrate' && o.data.des !== 'ep1' && o.data.des !== 'ep2'), 'no migrate onto a leaving tablet');
  t.same(invariantViolations(h, { allAlive: true }), []);
});

t.test('pre-checks refuse with a code and the reason', async (t) => {
  const h = cluster();
  t.match(h.adminReply({ type: 'scalein', endpoints: ['nowhere:1'] }), { ok: false, error: { code: 'TABLET_NOT_HEALTHY', message: /does not exist/ } });
  t.match(h.adminReply({ type: 'scalein', endpoints: [] }), { ok: false, error: { code: 'INVALID_ARGUMENT' } });
  t.match(h.adminReply({ type: 'scalein', endpoints: ['ep1', 'ep2'] }), { ok: false, error: { code: 'PRECONDITION_FAILED', message: 'table flow has replica_num 3 but only 2 healthy tablets would stay' } });
  h.tabletDown('ep4');
  t.match(h.adminReply({ type: 'scalein', endpoints: ['ep4'] }), { ok: false, error: { code: 'TABLET_NOT_HEALTHY', message: /ep4 is not healthy/ } });
  t.match(h.adminReply({ type: 'scalein', endpoints: ['ep1'] }), { ok: false, error: { code: 'PRECONDITION_FAILED', message: /replica_num 3 but only 2/ } }, 'a down tablet does not count as staying');
});

t.test('a partition whose only in-sync copy is leaving is refused', async (t) => {
  const h = new Harness({ tablets: ['ep1', 'ep2', 'ep3'], seed: 4 });
  h.createTable('flow', 1, 2);
  h.write(1, 0, 3);
  h.replicateFully();
  const leader = leaderOf(h, 1, 0)!;
  const follower = h.partition(1, 0).replicas.find((r) => !r.isLeader)!.endpoint;
  h.tabletDown(follower);
  h.adminReply({ type: 'offlineendpoint', endpoint: follower });
  h.runUntilIdle();
  h.tabletUp(follower, false);
  t.equal(h.partition(1, 0).replicas.find((r) => r.endpoint === follower)!.isAlive, false, 'its follower is not alive');
  t.match(h.adminReply({ type: 'scalein', endpoints: [leader] }), { ok: false, error: { code: 'PRECONDITION_FAILED', message: /only in-sync cop/ } });
});
