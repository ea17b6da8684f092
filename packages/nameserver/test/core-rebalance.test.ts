/**
 * Transcript tests of the scaleout/rebalance planner and of `apply` (core rebalance.ts): a new
 * empty tablet gets its share of replicas and leaders, the plan's counts are what applying it
 * gives, and a plan is refused with the reason when the cluster drifted (a tablet down, a replica
 * gone, a table dropped).
 */
import t from 'tap';
import type { RebalanceMove, ScaleTabletCount } from '@tessera/common';
import { Harness, invariantViolations } from './core-harness.js';

type PlanReply = { ok: true; data: { moves: RebalanceMove[]; tablets: ScaleTabletCount[]; opIds: number[] } };

function cluster(seed = 3) {
  const h = new Harness({ tablets: ['ep1', 'ep2', 'ep3', 'ep4'], seed });
  h.tabletDown('ep4');
  h.createTable('flow', 8, 3);
  for (let pid = 0; pid < 8; pid++) h.write(1, pid, 3);
  h.replicateFully();
  h.tabletUp('ep4', false);
  h.reportAll();
  return h;
}

function perTablet(h: Harness, partitions: number): Map<string, { replicas: number; leaders: number }> {
  const out = new Map<string, { replicas: number; leaders: number }>();
  for (let pid = 0; pid < partitions; pid++) {
    for (const r of h.partition(1, pid).replicas) {
      const c = out.get(r.endpoint) ?? { replicas: 0, leaders: 0 };
      c.replicas += 1;
      if (r.isLeader && r.isAlive) c.leaders += 1;
      out.set(r.endpoint, c);
    }
  }
  return out;
}

t.test('scaleout onto an empty tablet: its share of replicas and leaders; apply gives the counts planned', async (t) => {
  const h = cluster();
  const plan = h.adminReply({ type: 'rebalanceplan', tables: [], scaleout: true }) as PlanReply;
  t.equal(plan.ok, true);
  t.same(plan.data.opIds, [], 'planning creates nothing');
  const moves = plan.data.moves;
  t.ok(moves.filter((m) => m.action === 'migrate').every((m) => m.des === 'ep4'), 'scaleout by default moves replicas onto the empty tablet only');
  const ep4 = plan.data.tablets.find((x) => x.endpoint === 'ep4')!;
  t.same([ep4.replicasBefore, ep4.replicasAfter], [0, 6], '24 replicas over 4 tablets: 6 on the new one');
  t.ok(ep4.leadersAfter >= 1, 'and some leaders');
  for (const x of plan.data.tablets) t.ok(x.replicasAfter === 6, `${x.endpoint}: 6 replicas after`);
  const applied = h.adminReply({ type: 'applyplan', moves });
  t.match(applied, { ok: true });
  h.runUntilIdle();
  h.replicateFully();
  const ops = h.engine.ops();
  t.ok(ops.length >= moves.length && ops.every((o) => o.status === 'kDone'), ops.map((o) => `${o.type}:${o.status}:${o.error ?? ''}`).join(' | '));
  const after = perTablet(h, 8);
  t.same(plan.data.tablets.map((x) => [x.endpoint, x.replicasAfter, x.leadersAfter]), plan.data.tablets.map((x) => [x.endpoint, after.get(x.endpoint)?.replicas ?? 0, after.get(x.endpoint)?.leaders ?? 0]), 'the counts the plan promised');
  const leaders = [...after.values()].map((c) => c.leaders);
  t.ok(Math.max(...leaders) - Math.min(...leaders) <= 1, `leaders even (${leaders.join(',')})`);
  t.same(invariantViolations(h, { allAlive: true }), []);
  const again = h.adminReply({ type: 'rebalanceplan', tables: [], scaleout: false }) as PlanReply;
  t.same(again.data.moves, [], 'a balanced cluster: rebalance plans nothing');
});

t.test('apply refuses a plan the cluster drifted from, with the reason', async (t) => {
  const h = cluster(5);
  const plan = (h.adminReply({ type: 'rebalanceplan', tables: ['flow'], db: 'demo_db', scaleout: false }) as PlanReply).data.moves;
  t.ok(plan.length > 0);
  const first = plan.find((m) => m.action === 'migrate' && m.role === 'follower')!;
  h.adminReply({ type: 'delreplica', db: 'demo_db', name: 'flow', pids: [first.pid], endpoint: first.src! });
  h.runUntilIdle();
  const before = h.engine.ops().length;
  t.match(h.adminReply({ type: 'applyplan', moves: plan }), { ok: false, error: { code: 'PRECONDITION_FAILED', message: new RegExp(`the cluster changed since the plan: move \\d+ \\(flow pid ${first.pid} migrate .*the follower replica on ${first.src} is gone`) } });
  t.equal(h.engine.ops().length, before, 'nothing created');
  const plan2 = (h.adminReply({ type: 'rebalanceplan', tables: [], scaleout: true }) as PlanReply).data.moves;
  h.tabletDown('ep4');
  t.match(h.adminReply({ type: 'applyplan', moves: plan2 }), { ok: false, error: { code: 'PRECONDITION_FAILED', message: /tablet ep4 is not healthy/ } });
  h.tabletUp('ep4', false);
  t.match(h.adminReply({ type: 'applyplan', moves: plan2.map((m) => ({ ...m, tid: 99 })) }), { ok: false, error: { message: /table flow was dropped/ } });
  t.match(h.adminReply({ type: 'rebalanceplan', tables: ['nope'], db: 'demo_db', scaleout: false }), { ok: false, error: { code: 'TABLE_NOT_FOUND' } });
  t.match(h.adminReply({ type: 'rebalanceplan', tables: [], destinations: ['nowhere:1'], scaleout: true }), { ok: false, error: { code: 'TABLET_NOT_HEALTHY' } });
});
