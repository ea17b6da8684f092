/**
 * Control routes (`/v1/control/*`), sent by the nameserver (or an operator): create a replica as
 * leader or follower with its schema, drop it, change its role and term, report status and
 * checksums, and close / reopen the ZooKeeper session on purpose (OpenMLDB's disconnectzk /
 * connectzk: the registration vanishes until connectzk registers again). Each request carries the sender's nameserver epoch; a lower epoch than one already
 * seen is refused (STALE_NS_EPOCH), so a deposed nameserver cannot give orders.
 */
import { type HttpServer, type ReplicationReport, bodyObject, invalidArgument, TesseraError, validateSchema, type CompressType, type ReplicaAck, type TtlDef, validateTtlRequired } from '@tessera/common';
import type { ReplicaManager } from './replica-manager.js';
import { batchable } from './routes-batch.js';
import type { Replica } from './replica.js';
import type { LeaseStatus, LeaseToken } from './lease.js';
import { optEndpoint, optUint, strList, tidPid, uint } from './validate.js';
import { reportCursor, StatusReports } from './status-report.js';

export interface ControlRouteHooks {
  /** Replication progress of a leader replica, for status reports. */
  progress(replica: Replica): unknown;
  /** A replica is about to be dropped. */
  dropping(replica: Replica): Promise<void>;
  /** The ZooKeeper session (disconnectzk / connectzk); undefined for a tablet without ZooKeeper. */
  zkSession(): { disconnect(): Promise<void>; reconnect(): Promise<void> } | undefined;
  /** The leader lease (lease.ts): a leader role is taken only under it. */
  lease: LeaderGate;
}

/** What role assignment needs of the lease: a token at arrival, confirmed, still unchanged later. */
export interface LeaderGate {
  token(): LeaseToken;
  /** Refuses (REPLICA_NOT_SERVING) unless leased in the token's session, after at most a short wait. */
  confirm(token: LeaseToken, what: string): Promise<void>;
  unchangedSince(token: LeaseToken): boolean;
  /** The lease as /v1/control/status reports it. */
  status(): LeaseStatus;
}

/**
 * A leader role is taken only if no lease loss (a step-down) happened between the order's arrival
 * and its effect: relinquish racing a role assignment cannot be overwritten by it. (Waiting for
 * a confirmed lease here as well refused assignments right after a restart; not done.) The guard
 * is checked by the state machine before the role is persisted and again before it takes effect.
 */
function leaderGuard(gate: LeaderGate, token: LeaseToken, tid: number, pid: number): () => void {
  const what = `replica ${tid}_${pid}`;
  let checks = 0;
  return () => {
    const when = checks++ === 0 ? 'since this order arrived' : 'while it took the leader role';
    if (!gate.unchangedSince(token)) throw new TesseraError('REPLICA_NOT_SERVING', `${what}: the ZooKeeper session or lease was lost ${when}; it waits for the nameserver`);
  };
}

/** The highest nameserver epoch seen by this tablet process. */
export class EpochFence {
  private highest = 0;

  get value(): number {
    return this.highest;
  }

  check(body: Record<string, unknown>): void {
    const epoch = optUint(body, 'nsEpoch', 0);
    if (epoch < this.highest) {
      throw new TesseraError('STALE_NS_EPOCH', `nameserver epoch ${epoch} is lower than ${this.highest}`, { epoch: this.highest });
    }
    this.highest = epoch;
  }

  /** Raises the epoch from a request that is not refused for an old one (status polls). */
  observe(body: Record<string, unknown>): void {
    const epoch = body.nsEpoch;
    if (typeof epoch === 'number' && Number.isSafeInteger(epoch) && epoch > this.highest) this.highest = epoch;
  }
}

function role(body: Record<string, unknown>): 'leader' | 'follower' {
  const r = body.role;
  if (r !== 'leader' && r !== 'follower') throw invalidArgument("role must be 'leader' or 'follower'", { field: 'role' });
  return r;
}

function compressType(body: Record<string, unknown>): CompressType {
  const c = body.compressType ?? 'kNoCompress';
  if (c !== 'kNoCompress' && c !== 'kSnappy') throw invalidArgument('compressType must be kNoCompress or kSnappy', { field: 'compressType' });
  return c;
}

function replicaAck(body: Record<string, unknown>): ReplicaAck {
  const a = body.replicaAck ?? 'all';
  if (a !== 'all' && a !== 'leader') throw invalidArgument("replicaAck must be 'all' or 'leader'", { field: 'replicaAck' });
  return a;
}

export function registerControlRoutes(app: HttpServer, replicas: ReplicaManager, fence: EpochFence, hooks: ControlRouteHooks): void {
  const reports = new StatusReports(() => replicas.all(), (r) => hooks.progress(r) as ReplicationReport | undefined);
  batchable(app, '/v1/control/create_replica', async (raw) => {
    const body = bodyObject(raw);
    const { tid, pid } = tidPid(body);
    const schema = validateSchema(body.schema);
    const r = role(body);
    const term = uint(body, 'term');
    const followers = strList(body, 'followers');
    const ack = replicaAck(body);
    const ct = compressType(body);
    const leader = optEndpoint(body, 'leader');
    const inSync = body.inSync === undefined ? undefined : strList(body, 'inSync');
    fence.check(body);
    const token = hooks.lease.token();
    const replica = await replicas.create({ tid, pid, schema, compressType: ct });
    if (r === 'leader') await replica.machine.becomeLeader({ term, followers, replicaAck: ack, inSync, guard: leaderGuard(hooks.lease, token, tid, pid) });
    else await replica.machine.becomeFollower({ term, replicaAck: ack, inSync, ...(leader ? { leader } : {}) });
    return { ok: true };
  });

  app.post('/v1/control/drop_replica', async (req) => {
    const body = bodyObject(req.body);
    const { tid, pid } = tidPid(body);
    fence.check(body);
    const replica = replicas.require(tid, pid);
    await hooks.dropping(replica);
    await replicas.drop(tid, pid);
    return { ok: true };
  });

  batchable(app, '/v1/control/change_role', async (raw) => {
    const token = hooks.lease.token();
    const body = bodyObject(raw);
    const { tid, pid } = tidPid(body);
    const r = role(body);
    const term = uint(body, 'term');
    const followers = strList(body, 'followers');
    const leader = optEndpoint(body, 'leader');
    const ack = body.replicaAck === undefined ? undefined : replicaAck(body);
    const inSync = body.inSync === undefined ? undefined : strList(body, 'inSync');
    fence.check(body);
    const replica = replicas.require(tid, pid);
    // The state machine refuses a lower term (STALE_TERM) and an illegal change; an unassigned
    // replica starts serving (loading when its store holds an interrupted snapshot load).
    if (r === 'leader') await replica.machine.becomeLeader({ term, followers, inSync, ...(ack ? { replicaAck: ack } : {}), guard: leaderGuard(hooks.lease, token, tid, pid) });
    else await replica.machine.becomeFollower({ term, inSync, ...(ack ? { replicaAck: ack } : {}), ...(leader ? { leader } : {}) });
    return { ok: true };
  });

  app.post('/v1/control/status', async (req) => {
    const body = req.body === undefined ? {} : bodyObject(req.body);
    // The leader nameserver polls status right after it takes over: its epoch fences the old one.
    fence.observe(body);
    if (body.tid !== undefined) {
      const { tid, pid } = tidPid(body);
      const r = replicas.require(tid, pid);
      return { replicas: [{ ...(await r.status()), replication: hooks.progress(r) }], nsEpoch: fence.value, lease: hooks.lease.status() };
    }
    // A poller's report: only what changed since its last one (status-report.ts).
    const cursor = reportCursor(body);
    if (cursor !== undefined) return { ...(await reports.report(cursor)), nsEpoch: fence.value, lease: hooks.lease.status() };
    return { replicas: await Promise.all(replicas.all().map(async (r) => ({ ...(await r.status()), replication: hooks.progress(r) }))), nsEpoch: fence.value, lease: hooks.lease.status() };
  });

  /** disconnectzk / connectzk: same fields and fence as every control route, then the session. */
  function zkSessionFor(raw: unknown, route: string): { disconnect(): Promise<void>; reconnect(): Promise<void> } {
    const body = bodyObject(raw);
    fence.check(body);
    const session = hooks.zkSession();
    if (!session) throw new TesseraError('PRECONDITION_FAILED', `${route}: this tablet runs without ZooKeeper (--zk_cluster is empty)`);
    return session;
  }

  app.post('/v1/control/disconnectzk', async (req) => {
    await zkSessionFor(req.body, 'disconnectzk').disconnect();
    return { ok: true };
  });

  app.post('/v1/control/connectzk', async (req) => {
    await zkSessionFor(req.body, 'connectzk').reconnect();
    return { ok: true };
  });

  /** setttl: new TTLs for named indexes of a replica (the nameserver sends it to every replica). */
  app.post('/v1/control/set_ttl', async (req) => {
    const body = bodyObject(req.body);
    const { tid, pid } = tidPid(body);
    const changes = body.ttls;
    if (changes === null || typeof changes !== 'object' || Array.isArray(changes) || Buffer.isBuffer(changes)) throw invalidArgument('ttls must be a map of index name to ttl', { field: 'ttls' });
    // Every field is checked before the replica is looked up (unknown index names by the store).
    const ttls = new Map<string, TtlDef>(Object.entries(changes as Record<string, unknown>).map(([index, ttl]) => [index, validateTtlRequired(ttl, `ttls.${index}`)]));
    if (ttls.size === 0) throw invalidArgument('ttls names no index', { field: 'ttls' });
    fence.check(body);
    const replica = replicas.require(tid, pid);
    await replica.store.setTtl(ttls);
    return { ok: true };
  });

  app.post('/v1/control/checksum', async (req) => {
    const body = bodyObject(req.body);
    const { tid, pid } = tidPid(body);
    const replica = replicas.require(tid, pid);
    const sum = await replica.store.checksum();
    return { ...sum, offset: replica.store.offset };
  });
}
