/**
 * `migrate` of a leader replica (OpenMLDB refuses it with `cannot migrate leader`): planned as a
 * short chain of ops on the partition, created together and started one after the other (the
 * engine starts a partition's waiting ops in id order, and plans each again when it starts):
 *   1. kAddReplicaOP des — snapshot sent, binlog caught up to within syncDeltaEntriesMax;
 *   2. kChangeLeaderOP candidate des, a hand-over — the leader is fenced only until des has every
 *      entry, so no acknowledged write is lost;
 *   3. kDelReplicaOP src — src is a follower by then.
 * If a step fails, the next ones are refused when they start (des not a follower; src still the
 * leader: `can not del leader`) and end kFailed with that reason; nothing is removed while src
 * still leads. `migrate` of followers keeps OpenMLDB's single kMigrateOP. Pure: no I/O.
 */
import type { Endpoint, PartitionMeta, TableInfo } from '@tessera/common';
import type { AdminView, OpRequest } from './admin.js';
import type { ReplyError } from './events.js';
import { aliveLeader, replicaOn } from './partition.js';
import { planOp } from './plan.js';
import { changeLeaderTo } from './restore.js';

/** The ops that move the leader replica of `p` from src to des, or the refusal. */
export function planLeaderMigrate(table: TableInfo, p: PartitionMeta, src: Endpoint, des: Endpoint, view: AdminView): { ok: true; ops: OpRequest[] } | { ok: false; error: ReplyError } {
  const name = table.schema.name;
  if (aliveLeader(p) !== src) return { ok: false, error: { code: 'PRECONDITION_FAILED', message: `src_endpoint[${src}] does not lead partition[${p.pid}]. name[${name}]` } };
  if (replicaOn(p, des) !== undefined) return { ok: false, error: { code: 'PRECONDITION_FAILED', message: `partition[${p.pid}] is already in des_endpoint[${des}]. name[${name}]` } };
  const ctx = { table, partition: p, observed: view.observed, config: view.config, random: view.random, reservedTermMax: view.reservedTermMax(table.tid, p.pid) };
  const add = planOp('kAddReplicaOP', { kind: 'replica', endpoint: des }, ctx);
  if (!add.ok) return add;
  const base = { tid: table.tid, pid: p.pid, db: table.schema.db, name };
  return {
    ok: true,
    ops: [
      { ...base, type: 'kAddReplicaOP', data: add.data, tasks: add.tasks, commitTaskIndex: add.commitTaskIndex },
      // Planned when they start, against the metadata the previous step left.
      { ...base, type: 'kChangeLeaderOP', data: changeLeaderTo(des), tasks: [], commitTaskIndex: 0 },
      { ...base, type: 'kDelReplicaOP', data: { kind: 'replica', endpoint: src }, tasks: [], commitTaskIndex: 0 },
    ],
  };
}
