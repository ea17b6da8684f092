/**
 * Create and drop table, as pure planners (the engine carries them out in table-jobs.ts): the
 * checks of a createtable request in OpenMLDB's order with its texts, the placement, the table's
 * metadata, and the tablet calls in the order they are made — followers of every partition
 * first (so that a leader's followers exist when it starts replicating), then every leader with
 * its followers and in-sync set. A drop is one drop per replica on a healthy tablet (a tablet
 * that is down is told later: its replicas are unknown to metadata and dropped when it reports
 * them). No I/O, no clock: time and randomness come in as arguments.
 */
import {
  TesseraError, validateSchema, type CompressType, type CreateTableRequest, type Endpoint, type PartitionMeta, type Pid,
  type ReplicaAck, type TableInfo, type TableSchema, type Term, type Tid,
} from '@tessera/common';
import { placePartitions, placementFromExplicit, tabletLoadOf } from './placement.js';
import type { Random } from './random.js';

/** Partition and replica numbers of a table whose request gives none (`--partition_num`, `--replica_num`). */
export interface TableDefaults {
  partitionNum: number;
  replicaNum: number;
}

/** A replica made or removed on a tablet by a create or drop (idempotent on the tablet's side by tid/pid). */
export type ReplicaCall =
  | {
      type: 'CreateReplica';
      endpoint: Endpoint;
      tid: Tid;
      pid: Pid;
      schema: TableSchema;
      compressType: CompressType;
      replicaAck: ReplicaAck;
      role: 'leader' | 'follower';
      term: Term;
      leader?: Endpoint;
      followers?: Endpoint[];
      inSync?: Endpoint[];
    }
  | { type: 'DropReplica'; endpoint: Endpoint; tid: Tid; pid: Pid };

/** A request that passed every check: all a placement needs but the tid and term. */
export interface CreateDraft {
  request: CreateTableRequest;
  schema: TableSchema;
  partitionNum: number;
  replicaNum: number;
  compressType: CompressType;
  replicaAck: ReplicaAck;
}

export interface CreateView {
  tables: Iterable<TableInfo>;
  /** Whether the request's database exists (databases are the shell's). */
  dbExists: boolean;
  healthy: readonly Endpoint[];
  defaults: TableDefaults;
  random: Random;
}

/** The placement of a checked request at `term` (throws the placement's refusal). */
function place(draft: CreateDraft, view: Pick<CreateView, 'tables' | 'healthy' | 'random'>, term: Term): PartitionMeta[] {
  const { request, partitionNum, replicaNum } = draft;
  if (request.partitions) {
    return placementFromExplicit({ partitionNum, replicaNum, partitions: request.partitions, healthyEndpoints: [...view.healthy], term });
  }
  const sameDb = [...view.tables].filter((t) => t.schema.db === draft.schema.db);
  return placePartitions({ partitionNum, replicaNum, healthyEndpoints: [...view.healthy], load: tabletLoadOf(sameDb), term, random: view.random });
}

/**
 * Checks a createtable request (schema, database, name taken, healthy tablets for the replicas,
 * compress type, replica ack, then the placement itself): a TesseraError with OpenMLDB's text,
 * or the draft. `taken` says whether a create of that name is already under way.
 */
export function checkCreateTable(req: CreateTableRequest, view: CreateView, taken: (db: string, name: string) => boolean): CreateDraft {
  const schema = validateSchema(req.schema);
  if (!view.dbExists) throw new TesseraError('DATABASE_NOT_FOUND', 'database not found', { db: schema.db });
  const exists = [...view.tables].some((t) => t.schema.db === schema.db && t.schema.name === schema.name);
  if (exists || taken(schema.db, schema.name)) throw new TesseraError('TABLE_EXISTS', 'table already exists', { name: schema.name });
  const healthy = view.healthy;
  const partitionNum = req.partitionNum ?? (req.partitions ? req.partitions.length : view.defaults.partitionNum);
  const replicaNum = req.replicaNum ?? (req.partitions?.[0] ? 1 + req.partitions[0].followers.length : Math.min(view.defaults.replicaNum, Math.max(1, healthy.length)));
  if (Number.isSafeInteger(replicaNum) && replicaNum >= 1 && healthy.length < replicaNum) {
    throw new TesseraError('PRECONDITION_FAILED', 'healthy endpoint num is less than replica num', { healthy: healthy.length, replicaNum });
  }
  const compressType = req.compressType ?? 'kNoCompress';
  if (compressType !== 'kNoCompress' && compressType !== 'kSnappy') throw new TesseraError('INVALID_ARGUMENT', 'compress_type must be kNoCompress or kSnappy');
  const replicaAck = req.replicaAck ?? 'all';
  if (replicaAck !== 'all' && replicaAck !== 'leader') throw new TesseraError('INVALID_ARGUMENT', "replica_ack must be 'all' or 'leader'");
  const draft: CreateDraft = { request: req, schema, partitionNum, replicaNum, compressType, replicaAck };
  // The placement is checked before a tid or a term is allocated.
  place(draft, view, 0);
  return draft;
}

/** The new table's metadata, placed at `term`, created at `nowMs`. */
export function newTableInfo(draft: CreateDraft, tid: Tid, term: Term, nowMs: number, view: Pick<CreateView, 'tables' | 'healthy' | 'random'>): TableInfo {
  const { schema, partitionNum, replicaNum, compressType, replicaAck } = draft;
  return { tid, schema, partitionNum, replicaNum, compressType, replicaAck, partitions: place(draft, view, term), createdMs: nowMs };
}

/** The tablet calls of a create, in stages: every follower, then every leader; the calls of one stage may run together. */
export function createStages(table: TableInfo, term: Term): ReplicaCall[][] {
  const { tid, schema, compressType, replicaAck } = table;
  const base = { type: 'CreateReplica' as const, tid, schema, compressType, replicaAck, term };
  const followers: ReplicaCall[] = [];
  const leaders: ReplicaCall[] = [];
  for (const p of table.partitions) {
    const leader = p.replicas.find((r) => r.isLeader)!;
    for (const r of p.replicas) {
      if (!r.isLeader) followers.push({ ...base, endpoint: r.endpoint, pid: p.pid, role: 'follower', leader: leader.endpoint });
    }
    const followerEndpoints = p.replicas.filter((r) => !r.isLeader).map((r) => r.endpoint);
    leaders.push({ ...base, endpoint: leader.endpoint, pid: p.pid, role: 'leader', followers: followerEndpoints, inSync: [...p.inSync] });
  }
  return [followers, leaders].filter((stage) => stage.length > 0);
}

/** The calls that undo a create: a drop of each replica created. */
export function undoCreate(created: readonly ReplicaCall[]): ReplicaCall[] {
  return created.map((c) => ({ type: 'DropReplica', endpoint: c.endpoint, tid: c.tid, pid: c.pid }));
}

/** The calls of a drop: every replica on a tablet that is healthy now. */
export function dropCalls(table: TableInfo, healthy: (endpoint: Endpoint) => boolean): ReplicaCall[] {
  return table.partitions.flatMap((p) =>
    p.replicas.filter((r) => healthy(r.endpoint)).map((r): ReplicaCall => ({ type: 'DropReplica', endpoint: r.endpoint, tid: table.tid, pid: p.pid })),
  );
}
