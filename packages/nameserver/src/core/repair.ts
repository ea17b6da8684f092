/**
 * The partition reconciler (PD's checkers, in small): compares what the tablets report about an
 * idle partition with its metadata and lists the steps that make the tablets match it again.
 * Metadata is the truth; the tablets are brought to it. Such mismatches remain only when an undo
 * or post-commit step had to be skipped because its tablet was away longer than the step's
 * timeout: a stray copy, a leader left snapshot-paused or fenced or replicating to the wrong
 * followers, a follower that still believes it leads. Every step is idempotent and moves toward
 * metadata, so none needs an undo. Replicas that metadata marks not alive are left to recovery.
 */
import { currentTerm } from '@tessera/common';
import type { Endpoint, PartitionMeta, TableInfo } from '@tessera/common';
import type { ObservedView } from './observed.js';
import type { TaskFields } from './op.js';
import { aliveFollowers, aliveLeader, partitionOf } from './partition.js';

export interface RepairPlan {
  tasks: TaskFields[];
  /** Why, one line per mismatch (kept in the op's data for showopstatus users and logs). */
  reasons: string[];
}

/** The steps that bring the tablets of `partition` back in line with its metadata (empty when they agree). */
export function repairPlan(table: TableInfo, partition: PartitionMeta, observed: ObservedView): RepairPlan {
  const tasks: TaskFields[] = [];
  const reasons: string[] = [];
  const term = currentTerm(partition);
  const members = new Set(partition.replicas.map((r) => r.endpoint));
  const followers = aliveFollowers(partition);
  const report = (e: Endpoint) => (observed.isHealthy(e) ? observed.replica(e, table.tid, partition.pid) : undefined);

  for (const f of followers) {
    const r = report(f);
    if (r?.role !== 'leader') continue;
    tasks.push({ kind: 'kChangeRole', endpoint: f, role: 'follower', term: Math.max(r.term, term), followers: [] });
    reasons.push(`follower ${f} believes it leads at term ${r.term}`);
  }
  const leader = aliveLeader(partition);
  const r = leader === undefined ? undefined : report(leader);
  if (leader !== undefined && r !== undefined && r.role !== 'none') {
    if (r.role === 'leader' && r.term === term) {
      // Every alive follower is replicated to, and nothing outside the partition is; a member
      // marked not alive may be either way.
      const wrongFollowers = r.followers !== undefined && (!followers.every((f) => r.followers!.includes(f)) || r.followers.some((f) => !members.has(f)));
      if (r.fenced === true || wrongFollowers) {
        tasks.push({ kind: 'kChangeRole', endpoint: leader, role: 'leader', term, followers });
        reasons.push(`leader ${leader}${r.fenced === true ? ' is fenced' : ''} replicates to [${r.followers?.join(',') ?? '?'}], metadata followers [${followers.join(',')}]`);
      }
    } else {
      // It lost its leadership at some term (a hand-over undone halfway): it leads again above
      // every term reported, and the term history records it.
      const restoreTerm = Math.max(term, observed.maxReportedTerm(table.tid, partition.pid)) + 1;
      tasks.push({ kind: 'kRestoreLeader', endpoint: leader, term: restoreTerm, followers });
      reasons.push(`leader ${leader} is ${r.role} at term ${r.term}, metadata term ${term}`);
    }
  }
  for (const e of observed.healthyEndpoints()) {
    if (members.has(e) || observed.replica(e, table.tid, partition.pid) === undefined) continue;
    tasks.push({ kind: 'kDropTable', endpoint: e });
    reasons.push(`stray replica on ${e}`);
  }
  if (leader !== undefined && r?.state === 'snapshotPaused') {
    tasks.push({ kind: 'kRecoverSnapshot', endpoint: leader });
    reasons.push(`leader ${leader} left snapshot-paused`);
  }
  return { tasks, reasons };
}

export interface ReconcileView {
  tables: ReadonlyMap<number, TableInfo>;
  observed: ObservedView;
  /** An unfinished op holds the partition. */
  busy(key: string): boolean;
  /** The repair gate lets the reconciler judge the partition now (repair-gate.ts). */
  mayJudge(key: string): boolean;
}

/** A repair to create: the partition and its plan. */
export interface RepairRequest {
  table: TableInfo;
  pid: number;
  plan: RepairPlan;
}

/**
 * The reconciler after a report from `endpoint`: each idle partition the tablet holds or leads
 * whose tablets disagree with metadata gets one repair, in the order the report and the tables
 * list them. After a report of changes only (`changesOnly`), only the partitions it names are
 * judged (every partition the tablet leads is at its next whole report).
 */
export function reconcileAfterReport(endpoint: Endpoint, replicas: readonly { tid: number; pid: number }[], changesOnly: boolean, view: ReconcileView): RepairRequest[] {
  if (!view.observed.isHealthy(endpoint)) return [];
  const candidates = new Map<string, { tid: number; pid: number }>();
  for (const r of replicas) candidates.set(`${r.tid}/${r.pid}`, r);
  if (!changesOnly) for (const table of view.tables.values()) {
    for (const p of table.partitions) if (aliveLeader(p) === endpoint) candidates.set(`${table.tid}/${p.pid}`, { tid: table.tid, pid: p.pid });
  }
  const out: RepairRequest[] = [];
  for (const [key, { tid, pid }] of candidates) {
    const table = view.tables.get(tid);
    const partition = table === undefined ? undefined : partitionOf(table, pid);
    if (table === undefined || partition === undefined || view.busy(key)) continue;
    if (!view.mayJudge(key)) continue;
    const plan = repairPlan(table, partition, view.observed);
    if (plan.tasks.length === 0) continue;
    out.push({ table, pid, plan });
  }
  return out;
}
