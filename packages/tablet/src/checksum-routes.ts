/**
 * The check a replica move ends with (issue 12): the new replica's content checksum against its
 * leader's at one binlog offset. The nameserver's kCheckChecksum task asks the leader:
 *   checksum_at {tid, pid, ttlAtMs, offset?}   any replica: its checksum as of `offset` (its own
 *                                             offset when absent), from one LevelDB snapshot
 *                                             (storage maintenance.ts checksumAt)
 *   compare_checksum {tid, pid, replica, opId} leader: asks `replica` for its checksum at its own
 *                                             offset Y, takes its own at Y, answers both
 *   loaded_checksum {tid, pid}                 any replica: the checksum of the last snapshot
 *                                             loaded into it (read back as it was written) and
 *                                             the sender's session, or null
 * A new replica built from a snapshot this leader sent is checked without a scan: the leader
 * digested every row it sent (follower-stream.ts) and the replica read back every batch it wrote
 * (storage snapshot.ts), both at the snapshot's offset; when the replica's load is the leader's
 * last transfer to it (same session and offset), those two are the comparison. What the replica
 * applied after that offset came down the replication stream every follower gets, verified by
 * offset and term. Otherwise (a replica caught up from the binlog, a leader that changed since
 * the transfer) both sides scan, as follows.
 * The follower is never ahead of its leader: the leader reads the follower's offset Y (its
 * status, one small call), then both sum their rows as of Y at the same time, each from its own
 * LevelDB snapshot — one scan a side, the two in parallel (they ran one after the other, which
 * doubled the check of a large partition). A point where that is not exact (a delete ran between Y
 * and either side's snapshot, the follower is loading) is given up and another taken, at most
 * COMPARE_ATTEMPTS_MAX times, then TIMEOUT (the nameserver sends again). TTLs are judged on both
 * sides at one time CHECKSUM_TTL_HORIZON_MS ahead, so a GC pass on either side meanwhile cannot
 * make them differ. A compare already running for the same replica is joined, and its answer kept
 * for ANSWER_KEPT_MS, so a command the same op resends does not start a second scan; a request
 * waits at most COMPARE_ANSWER_WAIT_MS for it (TIMEOUT, retried by the nameserver, after that).
 */
import { bodyObject, HttpClient, TesseraError, type ChecksumComparison, type HttpServer } from '@tessera/common';
import type { ChecksumAtOffset } from '@tessera/storage';
import type { Replica } from './replica.js';
import type { DeliveredSnapshot } from './replication/follower-stream.js';
import type { ReplicaManager } from './replica-manager.js';
import type { EpochFence } from './routes-control.js';
import { endpoint, optUint, tidPid, uint } from './validate.js';

/** TTLs are judged this far ahead of the leader's clock on both sides. */
export const CHECKSUM_TTL_HORIZON_MS = 10 * 60_000;
/** Points tried before the leader answers TIMEOUT. */
export const COMPARE_ATTEMPTS_MAX = 5;
/** Pause between two points. */
const ATTEMPT_PAUSE_MS = 200;
/** Bound on the follower's scan (it reads every row of the replica). */
export const CHECKSUM_CALL_TIMEOUT_MS = 5 * 60_000;
/** A request waits this long for its compare; a longer one is answered TIMEOUT and then when asked again. */
export const COMPARE_ANSWER_WAIT_MS = 5_000;
/** A finished compare is answered again for this long (a resend after a lost answer). */
const ANSWER_KEPT_MS = 60_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

/** What a leader sent in its last snapshot transfer to a follower (TabletReplication.deliveredSnapshot). */
export type DeliveredTo = (replica: Replica, follower: string) => DeliveredSnapshot | undefined;

/** A replica's answer to loaded_checksum (Replica.loadedSnapshot). */
interface LoadedAnswer {
  loaded: NonNullable<Replica['loadedSnapshot']> | null;
}

export function registerChecksumRoutes(app: HttpServer, replicas: ReplicaManager, fence: EpochFence, selfEndpoint: string, deliveredTo: DeliveredTo = () => undefined): { close(): Promise<void> } {
  const http = new HttpClient({ connectionsPerEndpoint: 1, timeoutMs: CHECKSUM_CALL_TIMEOUT_MS });
  const running = new Map<string, { promise: Promise<ChecksumComparison>; doneMs?: number }>();

  app.post('/v1/control/checksum_at', async (req) => {
    const body = bodyObject(req.body);
    const { tid, pid } = tidPid(body);
    const ttlAtMs = uint(body, 'ttlAtMs');
    const offset = body.offset === undefined || body.offset === null ? undefined : optUint(body, 'offset', 0);
    return replicas.require(tid, pid).store.checksumAt(offset, ttlAtMs);
  });

  app.post('/v1/control/loaded_checksum', async (req): Promise<LoadedAnswer> => {
    const { tid, pid } = tidPid(bodyObject(req.body));
    return { loaded: replicas.require(tid, pid).loadedSnapshot ?? null };
  });

  /** The comparison of the snapshot this leader last sent `replica` with what the replica's load wrote, if that load was it. */
  async function compareLoaded(r: Replica, replica: string, unanswered: (err: TesseraError) => never): Promise<ChecksumComparison | undefined> {
    const sent = deliveredTo(r, replica);
    if (sent === undefined) return undefined;
    const { loaded } = await http.call<LoadedAnswer>(replica, '/v1/control/loaded_checksum', { tid: r.tid, pid: r.pid }).catch(unanswered);
    if (loaded === null || loaded.session !== sent.session || loaded.offset !== sent.offset) return undefined;
    return {
      offset: sent.offset,
      leader: { endpoint: selfEndpoint, rows: sent.checksum.rows, sha256: sent.checksum.sha256 },
      replica: { endpoint: replica, rows: loaded.rows, sha256: loaded.sha256 },
    };
  }

  async function compare(tid: number, pid: number, replica: string): Promise<ChecksumComparison> {
    let last = '';
    // A new replica whose tablet does not answer cannot be checked: the move fails (and is
    // undone) now rather than resending until the task's timeout.
    const unanswered = (err: TesseraError): never => {
      if (err.code === 'UNAVAILABLE') throw new TesseraError('PRECONDITION_FAILED', `new replica ${replica} does not answer: ${err.message}`);
      throw err;
    };
    // No transfer is known unless this replica leads at its term (deliveredSnapshot).
    const loaded = await compareLoaded(replicas.require(tid, pid), replica, unanswered);
    if (loaded !== undefined) return loaded;
    for (let attempt = 0; attempt < COMPARE_ATTEMPTS_MAX; attempt++) {
      if (attempt > 0) await sleep(ATTEMPT_PAUSE_MS);
      const r = replicas.require(tid, pid);
      if (r.role !== 'leader') throw new TesseraError('NOT_LEADER', `replica ${tid}_${pid} is not a leader`);
      const ttlAtMs = Date.now() + CHECKSUM_TTL_HORIZON_MS;
      const status = await http.call<{ replicas: Array<{ offset: number }> }>(replica, '/v1/control/status', { tid, pid }).catch(unanswered);
      const at = status.replicas[0]?.offset;
      if (at === undefined) throw new TesseraError('PRECONDITION_FAILED', `${replica} holds no replica ${tid}_${pid}`);
      const [theirs, mine] = await Promise.all([
        http.call<ChecksumAtOffset>(replica, '/v1/control/checksum_at', { tid, pid, ttlAtMs, offset: at }).catch(unanswered),
        r.store.checksumAt(at, ttlAtMs),
      ]);
      if (!theirs.ok) {
        last = `${replica}: ${theirs.detail}`;
        continue;
      }
      if (!mine.ok) {
        if (mine.reason === 'behind') throw new TesseraError('PRECONDITION_FAILED', `${replica} is at offset ${at}, ahead of its leader (${mine.offset})`);
        last = `${selfEndpoint}: ${mine.detail}`;
        continue;
      }
      return {
        offset: at,
        leader: { endpoint: selfEndpoint, rows: mine.rows, sha256: mine.sha256 },
        replica: { endpoint: replica, rows: theirs.rows, sha256: theirs.sha256 },
      };
    }
    throw new TesseraError('TIMEOUT', `no offset to compare ${tid}_${pid} with ${replica} at in ${COMPARE_ATTEMPTS_MAX} tries (${last})`);
  }

  app.post('/v1/control/compare_checksum', async (req) => {
    const body = bodyObject(req.body);
    const { tid, pid } = tidPid(body);
    const replica = endpoint(body, 'replica');
    const opId = optUint(body, 'opId', 0);
    fence.check(body);
    const r = replicas.require(tid, pid);
    if (r.role !== 'leader') throw new TesseraError('NOT_LEADER', `replica ${tid}_${pid} is not a leader`);
    if (!r.followers.includes(replica)) throw new TesseraError('PRECONDITION_FAILED', `${replica} is not a follower of ${tid}_${pid} here`);
    const key = `${tid}_${pid}_${replica}_${opId}`;
    const nowMs = Date.now();
    for (const [k, v] of running) if (v.doneMs !== undefined && nowMs - v.doneMs > ANSWER_KEPT_MS) running.delete(k);
    let entry = running.get(key);
    if (entry === undefined) {
      const e: { promise: Promise<ChecksumComparison>; doneMs?: number } = { promise: compare(tid, pid, replica) };
      e.promise.then(
        () => { e.doneMs = Date.now(); },
        () => { running.delete(key); },
      );
      running.set(key, e);
      entry = e;
    }
    // A long scan is not waited for on one request (it would hold one of the nameserver's few
    // connections to this tablet): TIMEOUT, and the nameserver's resend gets the answer.
    const answer = await Promise.race([entry.promise, sleep(COMPARE_ANSWER_WAIT_MS).then(() => undefined)]);
    if (answer === undefined) throw new TesseraError('TIMEOUT', `still comparing ${tid}_${pid} with ${replica}; ask again`);
    return answer;
  });

  return { close: () => http.close() };
}
