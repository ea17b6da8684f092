/**
 * Creating and dropping tables on the cluster. Create: allocate a tid and a term, place the
 * partitions, send each tablet its replicas (followers first, then leaders with their followers),
 * then write TableInfo to ZooKeeper and notify; any failure drops what was created. Drop: drop
 * every replica (unreachable tablets are told later: their replicas are unknown to metadata and
 * are dropped when they report them), then delete the metadata and notify.
 */
import {
  TesseraError, validateSchema, type CreateTableRequest, type Logger, type PartitionMeta, type TableInfo,
} from '@tessera/common';
import { placePartitions, placementFromExplicit, tabletLoadOf } from '../core/placement.js';
import type { Random } from '../core/random.js';
import type { MetadataStore } from './metadata.js';
import type { TabletControl } from './tablet-client.js';
import type { TabletTracker } from './tablets.js';

export interface TableDefaults {
  partitionNum: number;
  replicaNum: number;
}

export async function createTable(
  req: CreateTableRequest,
  deps: { meta: MetadataStore; tablets: TabletTracker; control: TabletControl; random: Random; defaults: TableDefaults; log: Logger },
): Promise<TableInfo> {
  const { meta, tablets, control, log } = deps;
  const schema = validateSchema(req.schema);
  meta.requireDb(schema.db);
  if (meta.findTable(schema.db, schema.name)) throw new TesseraError('TABLE_EXISTS', 'table already exists', { name: schema.name });
  const healthy = tablets.healthy();
  const partitionNum = req.partitionNum ?? (req.partitions ? req.partitions.length : deps.defaults.partitionNum);
  const replicaNum = req.replicaNum ?? (req.partitions?.[0] ? 1 + req.partitions[0].followers.length : Math.min(deps.defaults.replicaNum, Math.max(1, healthy.length)));
  if (Number.isSafeInteger(replicaNum) && replicaNum >= 1 && healthy.length < replicaNum) {
    throw new TesseraError('PRECONDITION_FAILED', 'healthy endpoint num is less than replica num', { healthy: healthy.length, replicaNum });
  }
  const compressType = req.compressType ?? 'kNoCompress';
  if (compressType !== 'kNoCompress' && compressType !== 'kSnappy') throw new TesseraError('INVALID_ARGUMENT', 'compress_type must be kNoCompress or kSnappy');
  const replicaAck = req.replicaAck ?? 'all';
  if (replicaAck !== 'all' && replicaAck !== 'leader') throw new TesseraError('INVALID_ARGUMENT', "replica_ack must be 'all' or 'leader'");
  // Validate the placement before allocating anything.
  const probe = (term: number): PartitionMeta[] =>
    req.partitions
      ? placementFromExplicit({ partitionNum, replicaNum, partitions: req.partitions, healthyEndpoints: healthy, term })
      : placePartitions({ partitionNum, replicaNum, healthyEndpoints: healthy, load: tabletLoadOf(meta.tablesOf(schema.db)), term, random: deps.random });
  probe(0);
  const tid = await meta.allocTid();
  const term = await meta.allocTerm();
  const partitions = probe(term);
  const info: TableInfo = { tid, schema, partitionNum, replicaNum, compressType, replicaAck, partitions, createdMs: Date.now() };
  const created: Array<{ endpoint: string; pid: number }> = [];
  try {
    // Followers first, so that a leader's followers exist when it starts replicating.
    for (const p of partitions) {
      const leader = p.replicas.find((r) => r.isLeader)!;
      await Promise.all(
        p.replicas.filter((r) => !r.isLeader).map(async (r) => {
          await control.createReplica(r.endpoint, { tid, pid: p.pid, schema, compressType, replicaAck, role: 'follower', term, leader: leader.endpoint });
          created.push({ endpoint: r.endpoint, pid: p.pid });
        }),
      );
    }
    await Promise.all(
      partitions.map(async (p) => {
        const leader = p.replicas.find((r) => r.isLeader)!;
        const followers = p.replicas.filter((r) => !r.isLeader).map((r) => r.endpoint);
        await control.createReplica(leader.endpoint, { tid, pid: p.pid, schema, compressType, replicaAck, role: 'leader', term, followers, inSync: p.inSync });
        created.push({ endpoint: leader.endpoint, pid: p.pid });
      }),
    );
    await meta.addTable(info);
  } catch (err) {
    log.warn(`create table ${schema.db}.${schema.name} failed, dropping ${created.length} created replica(s): ${(err as Error).message}`);
    await Promise.all(created.map((c) => control.dropReplica(c.endpoint, tid, c.pid).catch(() => undefined)));
    throw err;
  }
  log.info(`created table ${schema.db}.${schema.name} tid ${tid}: ${partitionNum} partition(s) x ${replicaNum} replica(s)`);
  return info;
}

export async function dropTable(info: TableInfo, deps: { meta: MetadataStore; tablets: TabletTracker; control: TabletControl; log: Logger }): Promise<void> {
  const { meta, tablets, control, log } = deps;
  await Promise.all(
    info.partitions.flatMap((p) =>
      p.replicas.map(async (r) => {
        if (!tablets.isHealthy(r.endpoint)) return;
        try {
          await control.dropReplica(r.endpoint, info.tid, p.pid);
        } catch (err) {
          if ((err as TesseraError).code !== 'TABLE_NOT_FOUND') log.warn(`drop of ${info.tid}_${p.pid} on ${r.endpoint} failed: ${(err as Error).message}`);
        }
      }),
    ),
  );
  await meta.deleteTable(info.tid);
  log.info(`dropped table ${info.schema.db}.${info.schema.name} tid ${info.tid}`);
}
