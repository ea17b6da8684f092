/**
 * The tablet commands of the nameserver's op engine (`/v1/control/*`), each idempotent so that a
 * resent or resumed task is safe, each fenced by the nameserver epoch:
 *   pause_snapshot / recover_snapshot  hold / release the binlog (no retention truncation) so a
 *                                      new replica can catch up from it
 *   send_snapshot {des}                 leader: create the replica on `des` as an empty follower;
 *                                      its content arrives by the replication stream (a snapshot,
 *                                      then the binlog) once add_replica names it
 *   add_replica / del_replica           leader: start / stop replicating to a follower
 *   fence_leader {term}                 leader: refuse writes from now on, keep replicating
 *   snapshot_limit {perStreamBytesPerSec, perDestinationBytesPerSec}
 *                                      the tablet's snapshot bandwidth limits (0 = unlimited),
 *                                      effective for running transfers within a throttle slice
 *   make_snapshot {endOffset}           release binlog below what every follower has (and
 *                                      endOffset): our LevelDB is the snapshot, so making one is
 *                                      freeing the log it no longer needs
 */
import { bodyObject, TesseraError, type HttpServer } from '@tessera/common';
import type { ReplicaManager } from './replica-manager.js';
import type { EpochFence } from './routes-control.js';
import { batchable } from './routes-batch.js';
import type { TabletReplication } from './replication/tablet-replication.js';
import type { Replica } from './replica.js';
import { endpoint, optUint, tidPid, uint } from './validate.js';

export function registerOpRoutes(app: HttpServer, replicas: ReplicaManager, fence: EpochFence, repl: TabletReplication, selfEndpoint: string): void {
  /**
   * Every command's preamble, in its one safe order: read the fields (refusing bad ones), pass
   * the epoch fence, then find the replica. Nothing changes before all three hold.
   */
  function target<T>(raw: unknown, fields: (body: Record<string, unknown>) => T): { r: Replica; tid: number; pid: number; f: T } {
    const body = bodyObject(raw);
    const { tid, pid } = tidPid(body);
    const f = fields(body);
    fence.check(body);
    return { r: replicas.require(tid, pid), tid, pid, f };
  }

  function requireLeader(r: Replica, tid: number, pid: number): void {
    if (r.role !== 'leader') throw new TesseraError('NOT_LEADER', `replica ${tid}_${pid} is not a leader`);
  }

  /** add_replica / del_replica: the follower list with or without one endpoint (idempotent). */
  async function setFollower(raw: unknown, present: boolean): Promise<{ ok: true }> {
    const { r, tid, pid, f: follower } = target(raw, (b) => endpoint(b, 'follower'));
    requireLeader(r, tid, pid);
    if (r.followers.includes(follower) !== present) {
      await r.machine.setFollowers(present ? [...r.followers, follower] : r.followers.filter((x) => x !== follower));
    }
    return { ok: true };
  }

  app.post('/v1/control/pause_snapshot', async (req) => {
    const { r } = target(req.body, () => undefined);
    await r.machine.pauseSnapshot();
    return { ok: true };
  });

  app.post('/v1/control/recover_snapshot', async (req) => {
    const { r } = target(req.body, () => undefined);
    await r.machine.resumeSnapshot();
    return { ok: true };
  });

  app.post('/v1/control/send_snapshot', async (req) => {
    const { r, tid, pid, f: des } = target(req.body, (b) => endpoint(b, 'des'));
    requireLeader(r, tid, pid);
    if (des === selfEndpoint) throw new TesseraError('INVALID_ARGUMENT', 'des is this tablet');
    await repl.createFollowerOn(r, des, fence.value, selfEndpoint);
    return { ok: true };
  });

  batchable(app, '/v1/control/add_replica', (body) => setFollower(body, true));
  batchable(app, '/v1/control/del_replica', (body) => setFollower(body, false));

  app.post('/v1/control/fence_leader', async (req) => {
    const { r, f: term } = target(req.body, (b) => uint(b, 'term'));
    await r.machine.fence(term);
    return { ok: true };
  });

  app.post('/v1/control/snapshot_limit', async (req) => {
    const body = bodyObject(req.body);
    // A limit the nameserver does not send (never set with confset) stays as it is: the
    // --stream_bandwidth_limit flag for the per-stream one.
    const now = repl.snapshotThrottle.current;
    const perStreamBytesPerSec = optUint(body, 'perStreamBytesPerSec', now.perStreamBytesPerSec);
    const perDestinationBytesPerSec = optUint(body, 'perDestinationBytesPerSec', now.perDestinationBytesPerSec);
    fence.check(body);
    repl.snapshotThrottle.set({ perStreamBytesPerSec, perDestinationBytesPerSec });
    return { ok: true, ...repl.snapshotThrottle.current };
  });

  app.post('/v1/control/make_snapshot', async (req) => {
    const { r, f: endOffset } = target(req.body, (b) => optUint(b, 'endOffset', Number.MAX_SAFE_INTEGER));
    const keepFrom = Math.min(endOffset, repl.lowestFollowerOffset(r) ?? r.store.offset) + 1;
    if (r.state !== 'snapshotPaused' && keepFrom > (await r.store.firstBinlogOffset())) await r.store.truncateBinlog(keepFrom);
    return { ok: true, binlogFirstOffset: await r.store.firstBinlogOffset() };
  });
}
