/**
 * The judgement of `healthcheck` (Kudu's ksck), pure: from the nameservers, the tablets, the
 * tables as ZooKeeper holds them, what each tablet reports of its replicas and, optionally,
 * replica checksums, it lists every problem and grades the cluster:
 *
 * - unavailable (exit code 2): no leading nameserver, or a partition without a serving leader
 *   (none alive in the metadata, its tablet offline or not answering, or the tablet does not
 *   serve it as leader) — writes to it fail;
 * - degraded (exit code 1): every partition has a leader but something is short: a tablet
 *   offline, a partition with fewer than replica_num alive in-sync replicas, a follower further
 *   behind its leader than the lag bound, the metadata and a tablet disagreeing (role, term, a
 *   replica the metadata does not list), replicas whose checksums differ at one offset;
 * - healthy (exit code 0): none of these.
 *
 * No I/O, no clock: the shell (health-probe.ts) gathers the input.
 */
import { currentTerm, type NameserverRow, type ReplicaStatus, type TableInfo, type TabletRow } from '@tessera/common';

export type HealthStatus = 'healthy' | 'degraded' | 'unavailable';

export const HEALTH_EXIT_CODES: Readonly<Record<HealthStatus, number>> = { healthy: 0, degraded: 1, unavailable: 2 };

/** The default lag bound: the nameserver's default `in_sync_lag_entries`. */
export const HEALTH_LAG_ENTRIES_MAX_DEFAULT = 100_000;

export interface HealthProblem {
  level: Exclude<HealthStatus, 'healthy'>;
  /** What it is about: a tablet endpoint, `db.table pid N`, `nameserver`. */
  subject: string;
  message: string;
}

/** A tablet's answer to a status request: its replicas, or why there is none. */
export type TabletReport = { replicas: ReplicaStatus[] } | { error: string };

/** One partition's checksum comparison (`--checksum`). */
export interface ChecksumResult {
  tid: number;
  pid: number;
  /** `equal`: every compared replica agrees; `differ`: they do not; `skipped`: not compared. */
  outcome: 'equal' | 'differ' | 'skipped';
  /** The offset compared at, or why it was skipped, and who differs. */
  detail: string;
}

export interface HealthInput {
  nameservers: readonly NameserverRow[];
  tablets: readonly TabletRow[];
  tables: readonly TableInfo[];
  reports: ReadonlyMap<string, TabletReport>;
  lagEntriesMax: number;
  checksums?: readonly ChecksumResult[];
  /** What could not be read at all (the tablet list from the leader, ZooKeeper): unavailable. */
  unreadable?: ReadonlyArray<{ subject: string; message: string }>;
}

export interface HealthSummary {
  nameservers: number;
  leader: string | null;
  tablets: number;
  tabletsHealthy: number;
  tables: number;
  partitions: number;
  partitionsWithLeader: number;
  partitionsFullyReplicated: number;
  followersLagging: number;
  checksums: { equal: number; differ: number; skipped: number } | null;
}

export interface HealthReport {
  status: HealthStatus;
  exitCode: number;
  summary: HealthSummary;
  problems: HealthProblem[];
}

function partitionName(t: TableInfo, pid: number): string {
  return `${t.schema.db}.${t.schema.name} pid ${pid}`;
}

export function evaluateHealth(input: HealthInput): HealthReport {
  const problems: HealthProblem[] = [];
  const unavailable = (subject: string, message: string): void => void problems.push({ level: 'unavailable', subject, message });
  const degraded = (subject: string, message: string): void => void problems.push({ level: 'degraded', subject, message });

  for (const u of input.unreadable ?? []) unavailable(u.subject, u.message);
  const leaderNs = input.nameservers.find((n) => n.role === 'leader');
  if (!leaderNs) unavailable('nameserver', 'no nameserver leads (none registered in ZooKeeper)');

  const tabletState = new Map(input.tablets.map((t) => [t.endpoint, t.state]));
  for (const t of input.tablets) {
    if (t.state !== 'kTabletHealthy') degraded(`tablet ${t.endpoint}`, `${t.state}`);
    else {
      const r = input.reports.get(t.endpoint);
      if (r && 'error' in r) degraded(`tablet ${t.endpoint}`, `registered but does not answer: ${r.error}`);
    }
  }

  /** The replica `endpoint` reports for (tid, pid), or why there is none. */
  const reported = (endpoint: string, tid: number, pid: number): ReplicaStatus | string => {
    const state = tabletState.get(endpoint);
    if (state === undefined) return 'tablet not registered';
    if (state !== 'kTabletHealthy') return `tablet ${state}`;
    const r = input.reports.get(endpoint);
    if (!r) return 'tablet not asked';
    if ('error' in r) return `tablet does not answer (${r.error})`;
    return r.replicas.find((x) => x.tid === tid && x.pid === pid) ?? 'tablet does not hold the replica';
  };

  let partitions = 0;
  let withLeader = 0;
  let fullyReplicated = 0;
  let lagging = 0;
  const known = new Map<number, TableInfo>(input.tables.map((t) => [t.tid, t]));

  for (const table of input.tables) {
    for (const p of table.partitions) {
      partitions++;
      const name = partitionName(table, p.pid);
      const term = currentTerm(p);
      const metaLeader = p.replicas.find((r) => r.isLeader && r.isAlive);
      let leaderStatus: ReplicaStatus | undefined;
      if (!metaLeader) {
        unavailable(name, 'no alive leader in the metadata');
      } else {
        const st = reported(metaLeader.endpoint, table.tid, p.pid);
        if (typeof st === 'string') unavailable(name, `leader ${metaLeader.endpoint}: ${st}`);
        else if (st.role !== 'leader' || st.state !== 'normal') unavailable(name, `leader ${metaLeader.endpoint} reports role ${st.role}, state ${st.state} (metadata: leader)`);
        else {
          leaderStatus = st;
          withLeader++;
          if (st.term !== term) degraded(name, `leader ${metaLeader.endpoint} reports term ${st.term}, metadata term ${term}`);
        }
      }
      let healthyReplicas = 0;
      for (const r of p.replicas) {
        if (!r.isAlive) {
          degraded(name, `replica on ${r.endpoint} is not alive in the metadata`);
          continue;
        }
        if (r.isLeader) {
          if (leaderStatus) healthyReplicas++;
          continue;
        }
        const st = reported(r.endpoint, table.tid, p.pid);
        if (typeof st === 'string') {
          degraded(name, `follower ${r.endpoint}: ${st}`);
          continue;
        }
        if (st.role !== 'follower' || st.state !== 'normal') {
          degraded(name, `follower ${r.endpoint} reports role ${st.role}, state ${st.state} (metadata: follower)`);
          continue;
        }
        let ok = true;
        if (!p.inSync.includes(r.endpoint)) {
          degraded(name, `follower ${r.endpoint} is not in the in-sync set`);
          ok = false;
        }
        if (leaderStatus) {
          const lag = leaderStatus.offset - st.offset;
          if (lag > input.lagEntriesMax) {
            lagging++;
            degraded(name, `follower ${r.endpoint} is ${lag} entries behind its leader (bound ${input.lagEntriesMax})`);
            ok = false;
          }
        }
        if (ok) healthyReplicas++;
      }
      if (healthyReplicas < table.replicaNum) degraded(name, `${healthyReplicas} of ${table.replicaNum} replicas alive and in sync`);
      else fullyReplicated++;
    }
  }

  // What tablets hold that the metadata does not list (a leftover, a half-done op).
  for (const [endpoint, r] of input.reports) {
    if ('error' in r) continue;
    for (const st of r.replicas) {
      const table = known.get(st.tid);
      const p = table?.partitions.find((x) => x.pid === st.pid);
      if (!table || !p) degraded(`tablet ${endpoint}`, `holds replica ${st.tid}_${st.pid} of no table in the metadata`);
      else if (!p.replicas.some((x) => x.endpoint === endpoint)) degraded(partitionName(table, st.pid), `tablet ${endpoint} holds a replica the metadata does not list (role ${st.role})`);
    }
  }

  let checksums: HealthSummary['checksums'] = null;
  if (input.checksums) {
    checksums = { equal: 0, differ: 0, skipped: 0 };
    for (const c of input.checksums) {
      checksums[c.outcome]++;
      const table = known.get(c.tid);
      const subject = table ? partitionName(table, c.pid) : `${c.tid}_${c.pid}`;
      if (c.outcome === 'differ') degraded(subject, `replicas differ: ${c.detail}`);
    }
  }

  const status: HealthStatus = problems.some((p) => p.level === 'unavailable') ? 'unavailable' : problems.length > 0 ? 'degraded' : 'healthy';
  return {
    status,
    exitCode: HEALTH_EXIT_CODES[status],
    summary: {
      nameservers: input.nameservers.length,
      leader: leaderNs?.endpoint ?? null,
      tablets: input.tablets.length,
      tabletsHealthy: input.tablets.filter((t) => t.state === 'kTabletHealthy').length,
      tables: input.tables.length,
      partitions,
      partitionsWithLeader: withLeader,
      partitionsFullyReplicated: fullyReplicated,
      followersLagging: lagging,
      checksums,
    },
    problems,
  };
}

/** The text ns_client prints: a summary, then one line per problem (unavailable ones first). */
export function renderHealth(report: HealthReport): string {
  const s = report.summary;
  const lines = [
    `status: ${report.status} (exit code ${report.exitCode})`,
    `nameservers: ${s.nameservers} (leader ${s.leader ?? '-'})`,
    `tablets: ${s.tabletsHealthy} of ${s.tablets} healthy`,
    `partitions: ${s.partitions} in ${s.tables} table(s): ${s.partitionsWithLeader} with a serving leader, ${s.partitionsFullyReplicated} with replica_num alive in-sync replicas, ${s.followersLagging} follower(s) lagging`,
    `checksums: ${s.checksums ? `${s.checksums.equal} partition(s) equal, ${s.checksums.differ} differ, ${s.checksums.skipped} not compared` : 'not compared (healthcheck --checksum)'}`,
  ];
  const sorted = [...report.problems].sort((a, b) => (a.level === b.level ? 0 : a.level === 'unavailable' ? -1 : 1));
  lines.push(sorted.length === 0 ? 'problems: none' : `problems: ${sorted.length}`);
  for (const p of sorted) lines.push(`  ${p.level.toUpperCase().padEnd(11)} ${p.subject}: ${p.message}`);
  return lines.join('\n');
}
