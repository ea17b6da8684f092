/**
 * Placement of a new table's partitions on tablets (OpenMLDB's SetPartitionInfo, made
 * deterministic): every replica of a partition on a distinct healthy tablet, replicas and
 * leaders spread evenly over the tablets counting what they already hold, ties broken by an
 * injected seeded random so that pid 0 does not always land on the same tablet (OpenMLDB #1465).
 * Also the check of an explicit placement given by the operator. Pure functions; no I/O.
 */
import { LIMITS, TesseraError, invalidArgument } from '@tessera/common';
import type { Endpoint, PartitionMeta, PartitionPlacement, Pid, TableInfo, Term } from '@tessera/common';
import { shuffled, type Random } from './random.js';

/** What a tablet already holds over existing tables: alive replicas and alive leaders. */
export interface TabletLoad {
  replicas: number;
  leaders: number;
}

export interface PlacementRequest {
  partitionNum: number;
  replicaNum: number;
  /** Endpoints of the healthy tablets; the only candidates. */
  healthyEndpoints: readonly Endpoint[];
  /** Existing load per endpoint; endpoints not listed hold nothing. */
  load?: ReadonlyMap<Endpoint, TabletLoad>;
  /** Term of the new partitions: their history starts with `{ term, offset: 0 }`. */
  term: Term;
  random: Random;
}

/** Counts alive replicas and alive leaders per endpoint over `tables` (OpenMLDB counts the same db's tables). */
export function tabletLoadOf(tables: Iterable<TableInfo>): Map<Endpoint, TabletLoad> {
  const load = new Map<Endpoint, TabletLoad>();
  for (const table of tables) {
    for (const partition of table.partitions) {
      for (const replica of partition.replicas) {
        if (!replica.isAlive) continue;
        const entry = load.get(replica.endpoint) ?? { replicas: 0, leaders: 0 };
        entry.replicas += 1;
        if (replica.isLeader) entry.leaders += 1;
        load.set(replica.endpoint, entry);
      }
    }
  }
  return load;
}

function checkCounts(partitionNum: number, replicaNum: number): void {
  if (!Number.isSafeInteger(partitionNum) || partitionNum <= 0) {
    throw invalidArgument('partition_num should be large than zero', { field: 'partitionNum' });
  }
  if (partitionNum > LIMITS.partitionsMax) {
    throw new TesseraError('LIMIT_EXCEEDED', `partition_num ${partitionNum} is greater than ${LIMITS.partitionsMax}`, { field: 'partitionNum' });
  }
  if (!Number.isSafeInteger(replicaNum) || replicaNum < 1) {
    throw invalidArgument('replica_num cannot be less than 1', { field: 'replicaNum' });
  }
  if (replicaNum > LIMITS.replicasMax) {
    throw new TesseraError('LIMIT_EXCEEDED', `replica_num ${replicaNum} is greater than ${LIMITS.replicasMax}`, { field: 'replicaNum' });
  }
}

/**
 * Places `partitionNum` partitions of `replicaNum` replicas. Guarantees: replicas of one partition
 * on distinct tablets; each partition takes the least-loaded tablets (existing + already placed),
 * so replica counts differ by at most one when the tablets start equal; leaders are then moved
 * inside each partition until no move lowers the spread, so leader counts differ by at most one
 * whenever the layout allows it. Every replica alive, the leader flagged, all followers in sync.
 */
export function placePartitions(req: PlacementRequest): PartitionMeta[] {
  checkCounts(req.partitionNum, req.replicaNum);
  const endpoints = [...new Set(req.healthyEndpoints)].sort();
  if (endpoints.length < req.replicaNum) {
    throw new TesseraError('PRECONDITION_FAILED', 'healthy endpoint num is less than replica num', {
      healthy: endpoints.length,
      replicaNum: req.replicaNum,
    });
  }
  // A random order over the sorted endpoints breaks every tie below, so the layout is uniform over
  // seeds yet reproducible for one seed.
  const order = shuffled(req.random, endpoints);
  const position = new Map(order.map((e, i) => [e, i]));
  const replicaCount = new Map(order.map((e) => [e, req.load?.get(e)?.replicas ?? 0]));
  const leaderCount = new Map(order.map((e) => [e, req.load?.get(e)?.leaders ?? 0]));
  const byLoad = (count: Map<Endpoint, number>) => (a: Endpoint, b: Endpoint): number =>
    count.get(a)! - count.get(b)! || position.get(a)! - position.get(b)!;

  // Replicas: each partition takes the replicaNum least-loaded tablets.
  const members: Endpoint[][] = [];
  for (let pid = 0; pid < req.partitionNum; pid++) {
    const chosen = order.slice().sort(byLoad(replicaCount)).slice(0, req.replicaNum);
    for (const e of chosen) replicaCount.set(e, replicaCount.get(e)! + 1);
    members.push(chosen);
  }

  // Leaders: greedy first, then single moves inside a partition while they narrow the spread.
  const leaders: Endpoint[] = members.map((chosen) => {
    const leader = chosen.slice().sort(byLoad(leaderCount))[0]!;
    leaderCount.set(leader, leaderCount.get(leader)! + 1);
    return leader;
  });
  const movesMax = req.partitionNum * endpoints.length;
  for (let moves = 0; moves < movesMax; moves++) {
    let moved = false;
    for (let pid = 0; pid < req.partitionNum && !moved; pid++) {
      const current = leaders[pid]!;
      const better = members[pid]!.filter((e) => leaderCount.get(e)! + 1 < leaderCount.get(current)!).sort(byLoad(leaderCount))[0];
      if (better === undefined) continue;
      leaderCount.set(current, leaderCount.get(current)! - 1);
      leaderCount.set(better, leaderCount.get(better)! + 1);
      leaders[pid] = better;
      moved = true;
    }
    if (!moved) break;
  }

  return members.map((chosen, pid) => {
    const leader = leaders[pid]!;
    const followers = chosen.filter((e) => e !== leader);
    return {
      pid,
      replicas: [
        { endpoint: leader, isLeader: true, isAlive: true },
        ...followers.map((endpoint) => ({ endpoint, isLeader: false, isAlive: true })),
      ],
      termOffsets: [{ term: req.term, offset: 0 }],
      inSync: followers,
    };
  });
}

export interface ExplicitPlacementRequest {
  partitionNum: number;
  /** When given, every partition must hold exactly this many replicas. */
  replicaNum?: number;
  partitions: readonly PartitionPlacement[];
  healthyEndpoints: readonly Endpoint[];
  term: Term;
}

/**
 * Checks an operator's placement (SQL DISTRIBUTION / ns_client's explicit partitions) and turns
 * it into partition metadata: every pid 0..partitionNum-1 exactly once, a leader and distinct
 * endpoints in each, every endpoint healthy, the same replica count everywhere.
 */
export function placementFromExplicit(req: ExplicitPlacementRequest): PartitionMeta[] {
  const first = req.partitions[0];
  const replicaNum = req.replicaNum ?? (first === undefined ? 0 : 1 + first.followers.length);
  checkCounts(req.partitionNum, replicaNum);
  const healthy = new Set(req.healthyEndpoints);
  if (req.partitions.length !== req.partitionNum) {
    throw invalidArgument(`partition num ${req.partitions.length} in the placement does not match partition_num ${req.partitionNum}`);
  }
  const byPid = new Map<Pid, PartitionPlacement>();
  for (const p of req.partitions) {
    if (!Number.isSafeInteger(p.pid) || p.pid < 0 || p.pid >= req.partitionNum) throw invalidArgument(`pid ${String(p.pid)} is out of range`, { pid: p.pid });
    if (byPid.has(p.pid)) throw invalidArgument(`pid ${p.pid} is duplicated in the placement`, { pid: p.pid });
    byPid.set(p.pid, p);
  }
  const out: PartitionMeta[] = [];
  for (let pid = 0; pid < req.partitionNum; pid++) {
    const p = byPid.get(pid);
    if (p === undefined) throw invalidArgument(`pid ${pid} is missing from the placement`, { pid });
    if (typeof p.leader !== 'string' || p.leader === '') throw invalidArgument(`partition ${pid} has no leader`, { pid });
    if (!Array.isArray(p.followers)) throw invalidArgument(`partition ${pid}: followers must be a list`, { pid });
    const all = [p.leader, ...p.followers];
    if (new Set(all).size !== all.length) throw invalidArgument(`partition ${pid} names an endpoint twice`, { pid });
    if (all.length !== replicaNum) {
      throw invalidArgument(`partition ${pid} has ${all.length} replicas, replica_num is ${replicaNum}`, { pid });
    }
    for (const e of all) {
      if (!healthy.has(e)) throw new TesseraError('TABLET_NOT_HEALTHY', `endpoint ${e} does not exist or not healthy`, { pid, endpoint: e });
    }
    out.push({
      pid,
      replicas: [
        { endpoint: p.leader, isLeader: true, isAlive: true },
        ...p.followers.map((endpoint) => ({ endpoint, isLeader: false, isAlive: true })),
      ],
      termOffsets: [{ term: req.term, offset: 0 }],
      inSync: [...p.followers],
    });
  }
  return out;
}
