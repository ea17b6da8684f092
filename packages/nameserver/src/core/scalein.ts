/**
 * `scalein <endpoint ...>`: drains tablets before they are stopped (CockroachDB's `node
 * decommission`, OpenMLDB's `openmldb_ops.py --cmd=scalein`), planned on the op engine like
 * pre-upgrade (upgrade.ts): each call checks the cluster and plans ONE step per partition that
 * still has a replica on a leaving tablet; ns_client repeats the call, waiting for the ops in
 * between, until nothing is left. With `dryRun` the whole drain is simulated on a copy of the
 * metadata and returned as a list of moves and per-tablet counts before and after; nothing moves.
 *
 * Since issue 12 a scale-in is one parent op (kScaleInOP, parent.ts) that plans these steps
 * itself and makes one child op per move; `scalein` creates it and answers with its id.
 *
 * Pre-checks (every call, refusing with PRECONDITION_FAILED / TABLET_NOT_HEALTHY and the reason):
 *   - every leaving endpoint is a known, healthy tablet (a replica is migrated FROM it);
 *   - the healthy tablets left hold at least every table's replica_num;
 *   - every partition with a replica on a leaving tablet has an alive leader on a healthy tablet,
 *     and (replica_num > 1) an in-sync copy on a tablet that stays: a partition whose only in-sync
 *     copy is leaving has already lost its redundancy and must be repaired first.
 * Per partition, one step (nextAction):
 *   1. its leader is leaving → hand-over changeleader to the staying in-sync follower leading
 *      fewest partitions (a staying follower not yet in sync → wait; none at all → first move a
 *      leaving follower over, or add a replica, so there is one);
 *   2. a follower is leaving → migrate it to the staying healthy tablet with the fewest replicas
 *      of the table, then fewest replicas overall (never another leaving tablet); delreplica
 *      instead when the staying copies already make replica_num (a replica added in step 1, or a
 *      dead leaving replica).
 * Pure: no I/O.
 */
import type { Endpoint, PartitionMeta, ScaleMove, ScaleTabletCount, TableInfo } from '@tessera/common';
import type { AdminPlan, AdminView, OpRequest } from './admin.js';
import { knownEndpoint } from './admin.js';
import { PARENT_PID, PARENT_TID, type OpData, type OpType } from './op.js';
import { aliveLeader, replicaOn } from './partition.js';
import { planOp } from './plan.js';
import { changeLeaderTo } from './restore.js';

/** Bound on the steps a dry run simulates per partition (each step removes a leaving replica or adds a staying one). */
export const SCALEIN_SIM_STEPS_MAX = 16;

/** The partition as the planner sees it: who leads, who follows, which followers count as in sync. */
interface Part {
  table: TableInfo;
  pid: number;
  leader: Endpoint;
  followers: Endpoint[];
  /** Followers that count as in sync (replica_ack=all: the in-sync set; otherwise alive ones). */
  synced: Set<Endpoint>;
  /** Followers whose replica is alive (a dead one cannot be a migrate source). */
  alive: Set<Endpoint>;
}

type Action =
  | { kind: 'changeleader'; to: Endpoint }
  | { kind: 'migrate'; src: Endpoint; des: Endpoint }
  | { kind: 'addreplica'; des: Endpoint }
  | { kind: 'delreplica'; ep: Endpoint }
  | { kind: 'wait'; why: string }
  | { kind: 'done' };

/** Replicas and leaders per healthy tablet, overall and per table. */
class Load {
  readonly replicas = new Map<Endpoint, number>();
  readonly leaders = new Map<Endpoint, number>();
  private readonly perTable = new Map<string, number>();

  constructor(endpoints: readonly Endpoint[], parts: Iterable<Part>) {
    for (const e of endpoints) {
      this.replicas.set(e, 0);
      this.leaders.set(e, 0);
    }
    for (const p of parts) {
      this.add(p.table.tid, p.leader, 1, true);
      for (const f of p.followers) this.add(p.table.tid, f, 1, false);
    }
  }

  add(tid: number, ep: Endpoint, n: number, leader: boolean): void {
    if (!this.replicas.has(ep)) return;
    this.replicas.set(ep, this.replicas.get(ep)! + n);
    if (leader) this.leaders.set(ep, this.leaders.get(ep)! + n);
    this.perTable.set(`${tid}/${ep}`, (this.perTable.get(`${tid}/${ep}`) ?? 0) + n);
  }

  moveLeader(from: Endpoint, to: Endpoint): void {
    if (this.leaders.has(from)) this.leaders.set(from, this.leaders.get(from)! - 1);
    if (this.leaders.has(to)) this.leaders.set(to, this.leaders.get(to)! + 1);
  }

  tableReplicas(tid: number, ep: Endpoint): number {
    return this.perTable.get(`${tid}/${ep}`) ?? 0;
  }
}

function toPart(table: TableInfo, p: PartitionMeta, view: AdminView): Part | undefined {
  const leader = aliveLeader(p);
  if (leader === undefined) return undefined;
  const followers = p.replicas.filter((r) => r.endpoint !== leader).map((r) => r.endpoint);
  const alive = new Set(p.replicas.filter((r) => r.isAlive && r.endpoint !== leader).map((r) => r.endpoint));
  const synced = new Set([...alive].filter((e) => view.observed.isHealthy(e) && (table.replicaAck !== 'all' || p.inSync.includes(e))));
  return { table, pid: p.pid, leader, followers, synced, alive };
}

const holds = (part: Part, ep: Endpoint): boolean => part.leader === ep || part.followers.includes(ep);

function pickTarget(part: Part, staying: readonly Endpoint[], load: Load): Endpoint | undefined {
  const tid = part.table.tid;
  return staying
    .filter((e) => !holds(part, e))
    .sort((a, b) => load.tableReplicas(tid, a) - load.tableReplicas(tid, b) || load.replicas.get(a)! - load.replicas.get(b)! || a.localeCompare(b))[0];
}

function nextAction(part: Part, leaving: ReadonlySet<Endpoint>, staying: readonly Endpoint[], load: Load): Action {
  const stayingFollowers = part.followers.filter((e) => !leaving.has(e));
  const leavingFollowers = part.followers.filter((e) => leaving.has(e));
  if (leaving.has(part.leader)) {
    const candidates = stayingFollowers.filter((e) => part.synced.has(e)).sort((a, b) => load.leaders.get(a)! - load.leaders.get(b)! || a.localeCompare(b));
    if (candidates.length > 0) return { kind: 'changeleader', to: candidates[0]! };
    if (stayingFollowers.length > 0) return { kind: 'wait', why: `waiting for ${stayingFollowers.join(',')} to be in sync before the leadership moves` };
    const des = pickTarget(part, staying, load);
    if (des === undefined) return { kind: 'wait', why: 'no staying tablet to move a replica to' };
    const src = leavingFollowers.find((e) => part.alive.has(e));
    return src !== undefined ? { kind: 'migrate', src, des } : { kind: 'addreplica', des };
  }
  if (leavingFollowers.length === 0) return { kind: 'done' };
  const stayingCopies = 1 + stayingFollowers.length;
  const src = leavingFollowers.find((e) => part.alive.has(e));
  if (stayingCopies >= part.table.replicaNum) {
    return { kind: 'delreplica', ep: leavingFollowers.find((e) => !part.alive.has(e)) ?? leavingFollowers[0]! };
  }
  const des = pickTarget(part, staying, load);
  if (des === undefined) return { kind: 'wait', why: 'no staying tablet to move a replica to' };
  return src !== undefined ? { kind: 'migrate', src, des } : { kind: 'addreplica', des };
}

/** Applies an action to the model (a dry run, or the load bookkeeping of one real step). */
function apply(part: Part, a: Action, load: Load): void {
  const tid = part.table.tid;
  switch (a.kind) {
    case 'changeleader':
      load.moveLeader(part.leader, a.to);
      part.followers = [...part.followers.filter((e) => e !== a.to), part.leader];
      part.synced.delete(a.to);
      part.synced.add(part.leader);
      part.alive.add(part.leader);
      part.leader = a.to;
      return;
    case 'migrate':
      part.followers = [...part.followers.filter((e) => e !== a.src), a.des];
      part.synced.delete(a.src);
      part.synced.add(a.des);
      part.alive.add(a.des);
      load.add(tid, a.src, -1, false);
      load.add(tid, a.des, 1, false);
      return;
    case 'addreplica':
      part.followers = [...part.followers, a.des];
      part.synced.add(a.des);
      part.alive.add(a.des);
      load.add(tid, a.des, 1, false);
      return;
    case 'delreplica':
      part.followers = part.followers.filter((e) => e !== a.ep);
      part.synced.delete(a.ep);
      load.add(tid, a.ep, -1, false);
      return;
    case 'wait':
    case 'done':
      return;
  }
}

function toMove(part: Part, a: Action): ScaleMove | undefined {
  const base = { table: part.table.schema.name, pid: part.pid };
  switch (a.kind) {
    case 'changeleader':
      return { ...base, action: 'changeleader', role: 'leader', src: part.leader, des: a.to };
    case 'migrate':
      return { ...base, action: 'migrate', role: 'follower', src: a.src, des: a.des };
    case 'addreplica':
      return { ...base, action: 'addreplica', role: 'follower', src: null, des: a.des };
    case 'delreplica':
      return { ...base, action: 'delreplica', role: 'follower', src: a.ep, des: null };
    default:
      return undefined;
  }
}

export function describeMove(m: ScaleMove): string {
  const where = m.action === 'changeleader' ? `leader ${m.src} -> ${m.des}` : m.action === 'migrate' ? `${m.role} ${m.src} -> ${m.des}` : m.action === 'addreplica' ? `add replica on ${m.des}` : `remove replica on ${m.src}`;
  return `${m.table} pid ${m.pid}: ${m.action} ${where}`;
}

const refuse = (code: 'PRECONDITION_FAILED' | 'TABLET_NOT_HEALTHY' | 'INVALID_ARGUMENT', message: string): AdminPlan => ({ ok: false, error: { code, message } });

function sortedTables(view: AdminView): TableInfo[] {
  return [...view.tables].sort((a, b) => a.tid - b.tid);
}

/** The pre-checks; undefined when the drain may go on. */
export function checkScaleIn(endpoints: readonly Endpoint[], view: AdminView): AdminPlan | undefined {
  if (endpoints.length === 0) return refuse('INVALID_ARGUMENT', 'no endpoint to scale in');
  for (const ep of endpoints) {
    if (!knownEndpoint(view, ep)) return refuse('TABLET_NOT_HEALTHY', `endpoint ${ep} does not exist`);
    if (!view.observed.isHealthy(ep)) return refuse('TABLET_NOT_HEALTHY', `tablet ${ep} is not healthy: its replicas cannot be moved off (a failover handles a tablet that is down)`);
  }
  const leaving = new Set(endpoints);
  const staying = view.observed.healthyEndpoints().filter((e) => !leaving.has(e));
  for (const table of sortedTables(view)) {
    if (table.replicaNum > staying.length) {
      return refuse('PRECONDITION_FAILED', `table ${table.schema.name} has replica_num ${table.replicaNum} but only ${staying.length} healthy tablets would stay`);
    }
    for (const p of table.partitions) {
      if (!p.replicas.some((r) => leaving.has(r.endpoint))) continue;
      const leader = aliveLeader(p);
      if (leader === undefined || !view.observed.isHealthy(leader)) {
        return refuse('PRECONDITION_FAILED', `${table.schema.name} pid ${p.pid} has no alive leader on a healthy tablet: recover it first`);
      }
      if (table.replicaNum <= 1) continue;
      const part = toPart(table, p, view)!;
      const inSyncCopies = [leader, ...part.synced];
      if (inSyncCopies.every((e) => leaving.has(e)) && p.replicas.some((r) => !leaving.has(r.endpoint))) {
        return refuse('PRECONDITION_FAILED', `${table.schema.name} pid ${p.pid}: its only in-sync copies (${inSyncCopies.join(',')}) are on leaving tablets and the copies that stay are not in sync: repair it first`);
      }
      if (inSyncCopies.length === 1 && leaving.has(leader)) {
        return refuse('PRECONDITION_FAILED', `${table.schema.name} pid ${p.pid}: its only in-sync copy is on leaving tablet ${leader} (replica_num ${table.replicaNum}): repair its redundancy first`);
      }
    }
  }
  return undefined;
}

function partsOnLeaving(view: AdminView, leaving: ReadonlySet<Endpoint>): Part[] {
  const out: Part[] = [];
  for (const table of sortedTables(view)) {
    for (const p of [...table.partitions].sort((a, b) => a.pid - b.pid)) {
      const part = toPart(table, p, view);
      if (part !== undefined) out.push(part);
    }
  }
  return out.filter((p) => [p.leader, ...p.followers].some((e) => leaving.has(e)));
}

function counts(load: Load, leaving: ReadonlySet<Endpoint>): Array<{ endpoint: Endpoint; replicas: number; leaders: number; leaving: boolean }> {
  return [...load.replicas.keys()].sort().map((e) => ({ endpoint: e, replicas: load.replicas.get(e)!, leaders: load.leaders.get(e)!, leaving: leaving.has(e) }));
}

function allParts(view: AdminView): Part[] {
  const out: Part[] = [];
  for (const table of sortedTables(view)) for (const p of table.partitions) {
    const part = toPart(table, p, view);
    if (part !== undefined) out.push(part);
  }
  return out;
}

/** The whole drain simulated on a copy of the metadata: every move and the counts before and after. */
export function simulateScaleIn(endpoints: readonly Endpoint[], view: AdminView): { moves: ScaleMove[]; tablets: ScaleTabletCount[] } {
  const leaving = new Set(endpoints);
  const healthy = view.observed.healthyEndpoints();
  const staying = healthy.filter((e) => !leaving.has(e));
  const load = new Load(healthy, allParts(view));
  const before = counts(load, leaving);
  const moves: ScaleMove[] = [];
  for (const part of partsOnLeaving(view, leaving)) {
    for (let i = 0; i < SCALEIN_SIM_STEPS_MAX; i++) {
      let a = nextAction(part, leaving, staying, load);
      if (a.kind === 'wait') {
        // Simulated: the staying followers catch up.
        for (const f of part.followers) if (part.alive.has(f)) part.synced.add(f);
        a = nextAction(part, leaving, staying, load);
      }
      if (a.kind === 'done' || a.kind === 'wait') break;
      moves.push(toMove(part, a)!);
      apply(part, a, load);
    }
  }
  const after = counts(load, leaving);
  const tablets = before.map((b, i) => ({ endpoint: b.endpoint, leaving: b.leaving, replicasBefore: b.replicas, leadersBefore: b.leaders, replicasAfter: after[i]!.replicas, leadersAfter: after[i]!.leaders }));
  return { moves, tablets };
}

const OP_OF: Record<'changeleader' | 'migrate' | 'addreplica' | 'delreplica', OpType> = {
  changeleader: 'kChangeLeaderOP',
  migrate: 'kMigrateOP',
  addreplica: 'kAddReplicaOP',
  delreplica: 'kDelReplicaOP',
};

function opData(a: Exclude<Action, { kind: 'wait' | 'done' }>): OpData {
  switch (a.kind) {
    case 'changeleader':
      return changeLeaderTo(a.to);
    case 'migrate':
      return { kind: 'migrate', src: a.src, des: a.des };
    case 'addreplica':
      return { kind: 'replica', endpoint: a.des };
    case 'delreplica':
      return { kind: 'replica', endpoint: a.ep };
  }
}

/** One step of the drain: the ops to create now, a line per partition, and whether anything is left. */
export type ScaleInStep = { ok: false; error: AdminPlan & { ok: false } } | { ok: true; ops: OpRequest[]; lines: string[]; pending: boolean };

/**
 * The next step of the drain: for each partition still on a leaving tablet and not held by an
 * op, the next move as an op (planned against the metadata now). Pre-checks first.
 */
export function planScaleInStep(endpoints: readonly Endpoint[], view: AdminView, precheck = true): ScaleInStep {
  const eps = [...new Set(endpoints)];
  const bad = precheck ? checkScaleIn(eps, view) : undefined;
  if (bad !== undefined) return { ok: false, error: bad as AdminPlan & { ok: false } };
  const leaving = new Set(eps);
  const healthy = view.observed.healthyEndpoints();
  const staying = healthy.filter((e) => !leaving.has(e));
  const load = new Load(healthy, allParts(view));
  const ops: OpRequest[] = [];
  const lines: string[] = [];
  let pending = false;
  const partitions = new Map<string, PartitionMeta>();
  for (const t of view.tables) for (const p of t.partitions) partitions.set(`${t.tid}/${p.pid}`, p);
  for (const part of partsOnLeaving(view, leaving)) {
    const label = `${part.table.schema.name} pid ${part.pid}`;
    if (view.busy(part.table.tid, part.pid)) {
      pending = true;
      lines.push(`${label}: waiting for its running op`);
      continue;
    }
    const a = nextAction(part, leaving, staying, load);
    if (a.kind === 'done') continue;
    pending = true;
    if (a.kind === 'wait') {
      lines.push(`${label}: ${a.why}`);
      continue;
    }
    const move = toMove(part, a)!;
    const p = partitions.get(`${part.table.tid}/${part.pid}`)!;
    const type = OP_OF[a.kind];
    const plan = planOp(type, opData(a), { table: part.table, partition: p, observed: view.observed, config: view.config, random: view.random, reservedTermMax: view.reservedTermMax(part.table.tid, part.pid) });
    if (!plan.ok) {
      lines.push(`${label}: cannot ${a.kind} yet: ${plan.error.message}`);
      continue;
    }
    apply(part, a, load);
    ops.push({ type, tid: part.table.tid, pid: part.pid, db: part.table.schema.db, name: part.table.schema.name, data: plan.data, tasks: plan.tasks, commitTaskIndex: plan.commitTaskIndex });
    lines.push(describeMove(move));
  }
  // Replicas left on the leaving tablets in partitions without an alive leader were refused by the
  // pre-check; one that lost its leader since waits for the failover.
  for (const t of sortedTables(view)) {
    for (const p of t.partitions) {
      if (aliveLeader(p) !== undefined || !p.replicas.some((r) => leaving.has(r.endpoint))) continue;
      pending = true;
      lines.push(`${t.schema.name} pid ${p.pid}: no alive leader; waiting for its recovery`);
    }
  }
  return { ok: true, ops, lines, pending };
}

/** The scale-in parent op of `endpoints` (parent.ts drives it: one child op per move). */
export function scaleInParentRequest(endpoints: readonly Endpoint[]): OpRequest {
  const eps = [...new Set(endpoints)].sort();
  return { type: 'kScaleInOP', tid: PARENT_TID, pid: PARENT_PID, db: '', name: `scalein ${eps.join(',')}`, data: { kind: 'scaleIn', endpoints: eps }, tasks: [], commitTaskIndex: 0 };
}

/**
 * scalein: with dryRun the whole plan and no op; otherwise, after the pre-checks, one parent op
 * (kScaleInOP) that makes a child op per move until the tablets hold nothing. The same scale-in
 * asked again while it runs answers with the running parent; another one is refused.
 */
export function planScaleIn(endpoints: readonly Endpoint[], dryRun: boolean, view: AdminView): AdminPlan {
  const eps = [...new Set(endpoints)];
  const bad = checkScaleIn(eps, view);
  if (bad !== undefined) return bad;
  const sim = simulateScaleIn(eps, view);
  const data = { done: sim.moves.length === 0, steps: sim.moves.map(describeMove), moves: sim.moves, tablets: sim.tablets };
  if (dryRun) return { ok: true, message: 'scalein plan (dry run)', ops: [], data };
  const running = [...(view.ops?.() ?? [])].find((o) => o.type === 'kScaleInOP' && (o.status === 'kInited' || o.status === 'kDoing'));
  if (running !== undefined) {
    const same = running.data.kind === 'scaleIn' && running.data.endpoints.join(',') === [...eps].sort().join(',');
    if (!same) return { ok: false, error: { code: 'OP_CONFLICT', message: `another scale-in is running: op ${running.id} (${running.name}); cancel it or wait for it` } };
    return { ok: true, message: 'scalein in progress', ops: [], data: { ...data, done: false, parentOpId: running.id } };
  }
  if (sim.moves.length === 0 && partsOnLeaving(view, new Set(eps)).length === 0) return { ok: true, message: 'scalein ok', ops: [], data };
  return { ok: true, message: 'scalein started', ops: [scaleInParentRequest(eps)], data: { ...data, done: false } };
}

/** Whether a leaving replica is held anywhere (scalein finished: the tablets hold nothing). */
export function holdsNothing(endpoint: Endpoint, tables: Iterable<TableInfo>): boolean {
  for (const t of tables) for (const p of t.partitions) if (replicaOn(p, endpoint) !== undefined) return false;
  return true;
}
