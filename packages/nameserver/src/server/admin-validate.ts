/**
 * Field checks of the admin commands the op engine answers, so that a missing or wrong-typed
 * field is INVALID_ARGUMENT naming it (not a not-found from deeper down). Shapes from ns-api;
 * the checks are common's one field validator (common/src/fields.ts).
 */
import { fields, invalidArgument, type NsCommand } from '@tessera/common';

type Body = fields.Body;
type Check = (b: Body, f: string) => unknown;

const { text, uint, endpoint, pids, endpointList, textList, bool, optional } = fields;

const isUint = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isEndpoint = fields.isEndpoint;
/** A PartitionMeta: pid, replicas { endpoint, isLeader, isAlive }, termOffsets { term, offset }, inSync (optional). */
const partition: Check = (b, f) => {
  const bad = (what: string) => invalidArgument(`${f}.${what}`, { field: f });
  const p = b[f];
  if (typeof p !== 'object' || p === null || Array.isArray(p)) throw invalidArgument(`${f} must be a partition's metadata`, { field: f });
  const m = p as Record<string, unknown>;
  if (!isUint(m.pid)) throw bad('pid must be a non-negative integer');
  const list = (v: unknown): v is unknown[] => Array.isArray(v) && v.length <= 1024;
  if (!list(m.replicas)) throw bad('replicas must be a list');
  for (const r of m.replicas) {
    const x = r as Record<string, unknown> | null;
    if (typeof x !== 'object' || x === null || !isEndpoint(x.endpoint) || typeof x.isLeader !== 'boolean' || typeof x.isAlive !== 'boolean') {
      throw bad('replicas must be { endpoint: host:port, isLeader: bool, isAlive: bool }');
    }
  }
  if (!list(m.termOffsets) || m.termOffsets.some((x) => typeof x !== 'object' || x === null || !isUint((x as Record<string, unknown>).term) || !isUint((x as Record<string, unknown>).offset))) {
    throw bad('termOffsets must be a list of { term, offset }');
  }
  if (m.inSync !== undefined && (!list(m.inSync) || m.inSync.some((e) => !isEndpoint(e)))) throw bad('inSync must be a list of host:port endpoints');
};

const FIELDS: Partial<Record<NsCommand, Record<string, Check>>> = {
  migrate: { db: text, name: text, src: endpoint, des: endpoint, pids },
  addreplica: { db: text, name: text, pids, endpoint },
  delreplica: { db: text, name: text, pids, endpoint },
  changeleader: { db: text, name: text, pid: uint, candidate: optional(endpoint), auto: optional(bool) },
  showopstatus: { db: optional(text), name: optional(text), pid: optional(uint), detail: optional(bool) },
  showop: { opId: uint },
  cancelop: { opId: uint },
  offlineendpoint: { endpoint, concurrency: optional(uint) },
  recoverendpoint: { endpoint, needRestore: optional(bool), concurrency: optional(uint) },
  recovertable: { db: text, name: text, pid: uint, endpoint },
  makesnapshot: { db: text, name: text, pid: uint },
  preupgrade: { endpoint },
  postupgrade: { endpoint },
  scalein: { endpoints: endpointList, dryRun: optional(bool) },
  scaleout: { endpoints: optional(endpointList), dryRun: optional(bool) },
  rebalance: { db: optional(text), tables: optional(textList), dryRun: optional(bool) },
  apply: { planId: uint },
  updatetablealive: { db: text, name: text, pid: optional(uint), endpoint, isAlive: bool },
  gettablepartition: { db: text, name: text, pid: uint },
  settablepartition: { db: text, name: text, tid: optional(uint), partition },
};

/** Throws INVALID_ARGUMENT for the first field of `body` that does not fit `command`. */
export function validateAdminBody(command: NsCommand, body: Body): void {
  if (command === 'deleteop') {
    if (body.status !== undefined) {
      if (body.status !== 'done' && body.status !== 'failed' && body.status !== 'canceled') throw invalidArgument('status must be done, failed or canceled', { field: 'status' });
      return;
    }
    uint(body, 'opId');
    return;
  }
  const fields = FIELDS[command];
  if (!fields) return;
  for (const [f, check] of Object.entries(fields)) check(body, f);
}
