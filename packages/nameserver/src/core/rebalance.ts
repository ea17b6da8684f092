/**
 * `scaleout [endpoint ...]` and `rebalance [table ...]`: a plan that evens out replicas, then
 * leaders, per table across healthy tablets (planRebalance), and `apply <plan_id>` of exactly
 * that plan (planApply), which refuses with the reason when the cluster drifted in a way that
 * makes a move wrong. The plans themselves are kept by the nameserver shell (server/plans.ts).
 *
 * Planning, per table (tables by tid), on a model of its partitions:
 *   replicas — while the destination tablet with fewest replicas of the table (scaleout: only
 *   the named tablets, by default the healthy ones holding nothing; rebalance: any healthy one)
 *   has at least 2 fewer than the tablet with most, move one replica of a partition the
 *   destination does not hold from the fullest tablet to it (a follower if the fullest tablet
 *   has one to give, else its leader, moved as leader-migrate.ts's chain); ties go to the
 *   tablet with fewer (destination) / more (source) replicas overall;
 *   leaders — while some tablet leads at least 2 more partitions of the table than another that
 *   follows one of them, a hand-over changeleader of that partition to it.
 * Apply: each move is checked, in plan order, against the current metadata with the earlier
 * moves applied (table still there with the same tid, source holding the replica in the role
 * planned, destination healthy and not holding it); then every move becomes ops created with no
 * tasks, each planned when it starts (the engine starts a partition's ops in id order).
 * Pure: no I/O.
 */
import type { Endpoint, RebalanceMove, ScaleTabletCount, TableInfo } from '@tessera/common';
import type { AdminPlan, AdminView, OpRequest } from './admin.js';
import { changeLeaderTo } from './restore.js';

/** Bound on the moves one plan lists (each narrows a spread; far above what a cluster needs). */
export const REBALANCE_MOVES_MAX = 10_000;

interface Model {
  leader: Endpoint | undefined;
  followers: Endpoint[];
  /** Followers whose replica is alive. */
  alive: Set<Endpoint>;
}

const key = (tid: number, pid: number): string => `${tid}/${pid}`;

function modelOf(view: AdminView): Map<string, Model> {
  const out = new Map<string, Model>();
  for (const t of view.tables) {
    for (const p of t.partitions) {
      const leader = p.replicas.find((r) => r.isLeader && r.isAlive)?.endpoint;
      const followers = p.replicas.filter((r) => r.endpoint !== leader).map((r) => r.endpoint);
      out.set(key(t.tid, p.pid), { leader, followers, alive: new Set(p.replicas.filter((r) => r.isAlive && r.endpoint !== leader).map((r) => r.endpoint)) });
    }
  }
  return out;
}

const holds = (m: Model, e: Endpoint): boolean => m.leader === e || m.followers.includes(e);

function countsOf(view: AdminView, model: Map<string, Model>, healthy: readonly Endpoint[]): Map<Endpoint, { replicas: number; leaders: number }> {
  const out = new Map(healthy.map((e) => [e, { replicas: 0, leaders: 0 }]));
  for (const t of view.tables) {
    for (const p of t.partitions) {
      const m = model.get(key(t.tid, p.pid))!;
      for (const e of [m.leader, ...m.followers]) if (e !== undefined && out.has(e)) out.get(e)!.replicas += 1;
      if (m.leader !== undefined && out.has(m.leader)) out.get(m.leader)!.leaders += 1;
    }
  }
  return out;
}

function applyMove(m: Model, mv: Pick<RebalanceMove, 'action' | 'role' | 'src' | 'des'>): void {
  if (mv.action === 'changeleader') {
    m.followers = [...m.followers.filter((e) => e !== mv.des), mv.src!];
    m.alive.delete(mv.des!);
    m.alive.add(mv.src!);
    m.leader = mv.des!;
  } else if (mv.role === 'leader') {
    m.leader = mv.des!;
  } else {
    m.followers = [...m.followers.filter((e) => e !== mv.src), mv.des!];
    m.alive.delete(mv.src!);
    m.alive.add(mv.des!);
  }
}

export interface RebalanceRequest {
  /** Tables to plan (by name, in `db`); all when empty. */
  tables: readonly string[];
  db: string | undefined;
  /** Destinations; undefined = every healthy tablet (rebalance) or those holding nothing (scaleout). */
  destinations: readonly Endpoint[] | undefined;
  scaleout: boolean;
}

/** The plan: every move and the per-tablet counts before and after. */
export function planRebalance(req: RebalanceRequest, view: AdminView): AdminPlan {
  const healthy = [...view.observed.healthyEndpoints()].sort();
  for (const e of req.destinations ?? []) {
    if (!healthy.includes(e)) return { ok: false, error: { code: 'TABLET_NOT_HEALTHY', message: `tablet ${e} is not healthy or does not exist` } };
  }
  let tables = [...view.tables].sort((a, b) => a.tid - b.tid);
  if (req.db !== undefined) tables = tables.filter((t) => t.schema.db === req.db || req.tables.length === 0);
  for (const name of req.tables) {
    if (!tables.some((t) => t.schema.name === name)) return { ok: false, error: { code: 'TABLE_NOT_FOUND', message: `table[${name}] does not exist` } };
  }
  if (req.tables.length > 0) tables = tables.filter((t) => req.tables.includes(t.schema.name));
  const model = modelOf(view);
  const before = countsOf(view, model, healthy);
  let destinations = req.destinations !== undefined && req.destinations.length > 0 ? [...req.destinations] : healthy;
  if (req.scaleout && (req.destinations === undefined || req.destinations.length === 0)) destinations = healthy.filter((e) => before.get(e)!.replicas === 0);
  const overall = new Map([...before].map(([e, c]) => [e, c.replicas]));
  const moves: RebalanceMove[] = [];
  const push = (t: TableInfo, pid: number, mv: Omit<RebalanceMove, 'table' | 'pid' | 'db' | 'tid'>): void => {
    const full: RebalanceMove = { table: t.schema.name, db: t.schema.db, tid: t.tid, pid, ...mv };
    moves.push(full);
    applyMove(model.get(key(t.tid, pid))!, full);
  };
  for (const t of tables) {
    const parts = [...t.partitions].sort((a, b) => a.pid - b.pid).map((p) => ({ pid: p.pid, m: model.get(key(t.tid, p.pid))! }));
    if (parts.some((x) => x.m.leader === undefined)) continue; // a partition without an alive leader: left to the failover
    const perTable = (e: Endpoint): number => parts.filter((x) => holds(x.m, e)).length;
    while (moves.length < REBALANCE_MOVES_MAX) {
      const des = [...destinations].sort((a, b) => perTable(a) - perTable(b) || overall.get(a)! - overall.get(b)! || a.localeCompare(b))[0];
      if (des === undefined) break;
      const sources = healthy
        .filter((e) => e !== des && perTable(e) - perTable(des) >= 2)
        .sort((a, b) => perTable(b) - perTable(a) || overall.get(b)! - overall.get(a)! || a.localeCompare(b));
      let moved = false;
      for (const src of sources) {
        const candidates = parts.filter((x) => holds(x.m, src) && !holds(x.m, des));
        const follower = candidates.find((x) => x.m.followers.includes(src) && x.m.alive.has(src));
        const pick = follower ?? candidates.find((x) => x.m.leader === src && x.m.followers.length > 0);
        if (pick === undefined) continue;
        push(t, pick.pid, { action: 'migrate', role: follower !== undefined ? 'follower' : 'leader', src, des });
        overall.set(src, overall.get(src)! - 1);
        overall.set(des, overall.get(des)! + 1);
        moved = true;
        break;
      }
      if (!moved) break;
    }
    // Leaders of the table, among healthy tablets holding its replicas.
    const leads = (e: Endpoint): number => parts.filter((x) => x.m.leader === e).length;
    while (moves.length < REBALANCE_MOVES_MAX) {
      let done = true;
      const byLeads = [...healthy].sort((a, b) => leads(b) - leads(a) || a.localeCompare(b));
      outer: for (const hi of byLeads) {
        for (const lo of [...healthy].sort((a, b) => leads(a) - leads(b) || a.localeCompare(b))) {
          if (leads(hi) - leads(lo) < 2) break;
          const x = parts.find((y) => y.m.leader === hi && y.m.followers.includes(lo) && y.m.alive.has(lo));
          if (x === undefined) continue;
          push(t, x.pid, { action: 'changeleader', role: 'leader', src: hi, des: lo });
          done = false;
          break outer;
        }
      }
      if (done) break;
    }
  }
  const after = countsOf(view, model, healthy);
  const tabletsOut: ScaleTabletCount[] = healthy.map((e) => ({
    endpoint: e, leaving: false, replicasBefore: before.get(e)!.replicas, leadersBefore: before.get(e)!.leaders, replicasAfter: after.get(e)!.replicas, leadersAfter: after.get(e)!.leaders,
  }));
  return { ok: true, message: 'plan ok', ops: [], data: { moves, tablets: tabletsOut } };
}

/** The ops of `moves`, or the first move the cluster no longer allows, with the reason. */
export function planApply(moves: readonly RebalanceMove[], view: AdminView): AdminPlan {
  const model = modelOf(view);
  const tables = new Map([...view.tables].map((t) => [t.tid, t]));
  const ops: OpRequest[] = [];
  for (const [i, mv] of moves.entries()) {
    const where = `move ${i + 1} (${mv.table} pid ${mv.pid} ${mv.action} ${mv.src ?? '-'} -> ${mv.des ?? '-'})`;
    const drift = (why: string): AdminPlan => ({ ok: false, error: { code: 'PRECONDITION_FAILED', message: `the cluster changed since the plan: ${where}: ${why}` } });
    const t = tables.get(mv.tid);
    if (t === undefined || t.schema.name !== mv.table || t.schema.db !== mv.db) return drift(`table ${mv.table} was dropped`);
    const m = model.get(key(mv.tid, mv.pid));
    if (m === undefined) return drift('the partition does not exist');
    for (const e of [mv.src, mv.des]) if (e !== null && !view.observed.isHealthy(e)) return drift(`tablet ${e} is not healthy`);
    if (mv.action === 'changeleader') {
      if (m.leader !== mv.src) return drift(`${mv.src} no longer leads it`);
      if (!m.followers.includes(mv.des!) || !m.alive.has(mv.des!)) return drift(`${mv.des} is no longer an alive follower`);
    } else {
      if (mv.role === 'leader' ? m.leader !== mv.src : !(m.followers.includes(mv.src!) && m.alive.has(mv.src!))) return drift(`the ${mv.role} replica on ${mv.src} is gone`);
      if (holds(m, mv.des!)) return drift(`${mv.des} already holds it`);
    }
    applyMove(m, mv);
    const base = { tid: mv.tid, pid: mv.pid, db: mv.db, name: mv.table, tasks: [], commitTaskIndex: 0, origin: 'rebalance' as const };
    if (mv.action === 'changeleader') ops.push({ ...base, type: 'kChangeLeaderOP', data: changeLeaderTo(mv.des) });
    else if (mv.role === 'follower') ops.push({ ...base, type: 'kMigrateOP', data: { kind: 'migrate', src: mv.src!, des: mv.des! } });
    else {
      ops.push({ ...base, type: 'kAddReplicaOP', data: { kind: 'replica', endpoint: mv.des! } });
      ops.push({ ...base, type: 'kChangeLeaderOP', data: changeLeaderTo(mv.des) });
      ops.push({ ...base, type: 'kDelReplicaOP', data: { kind: 'replica', endpoint: mv.src! } });
    }
  }
  return { ok: true, message: 'apply ok', ops };
}
