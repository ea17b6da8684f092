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
 *   make_snapshot {endOffset}           release binlog below what every follower has (and
 *                                      endOffset): our LevelDB is the snapshot, so making one is
 *                                      freeing the log it no longer needs
 */
import { bodyObject, TesseraError, type HttpServer } from '@tessera/common';
import type { ReplicaManager } from './replica-manager.js';
import type { EpochFence } from './routes-control.js';
import type { ReplicationManager } from './replication/manager.js';
import { endpoint, optUint, tidPid, uint } from './validate.js';

export function registerOpRoutes(app: HttpServer, replicas: ReplicaManager, fence: EpochFence, repl: ReplicationManager, selfEndpoint: string): void {
  app.post('/v1/control/pause_snapshot', async (req) => {
    const body = bodyObject(req.body);
    const { tid, pid } = tidPid(body);
    fence.check(body);
    const r = replicas.require(tid, pid);
    if (r.state === 'normal') r.state = 'snapshotPaused';
    else if (r.state !== 'snapshotPaused') throw new TesseraError('PRECONDITION_FAILED', `replica ${tid}_${pid} is ${r.state}, not normal`);
    return { ok: true };
  });

  app.post('/v1/control/recover_snapshot', async (req) => {
    const body = bodyObject(req.body);
    const { tid, pid } = tidPid(body);
    fence.check(body);
    const r = replicas.require(tid, pid);
    if (r.state === 'snapshotPaused') r.state = 'normal';
    return { ok: true };
  });

  app.post('/v1/control/send_snapshot', async (req) => {
    const body = bodyObject(req.body);
    const { tid, pid } = tidPid(body);
    const des = endpoint(body, 'des');
    fence.check(body);
    const r = replicas.require(tid, pid);
    if (r.role !== 'leader') throw new TesseraError('NOT_LEADER', `replica ${tid}_${pid} is not a leader`);
    if (des === selfEndpoint) throw new TesseraError('INVALID_ARGUMENT', 'des is this tablet');
    await repl.createFollowerOn(r, des, fence.value, selfEndpoint);
    return { ok: true };
  });

  app.post('/v1/control/add_replica', async (req) => {
    const body = bodyObject(req.body);
    const { tid, pid } = tidPid(body);
    const follower = endpoint(body, 'follower');
    fence.check(body);
    const r = replicas.require(tid, pid);
    if (r.role !== 'leader') throw new TesseraError('NOT_LEADER', `replica ${tid}_${pid} is not a leader`);
    if (!r.followers.includes(follower)) {
      r.followers = [...r.followers, follower];
      await repl.roleChanged(r, undefined);
    }
    return { ok: true };
  });

  app.post('/v1/control/del_replica', async (req) => {
    const body = bodyObject(req.body);
    const { tid, pid } = tidPid(body);
    const follower = endpoint(body, 'follower');
    fence.check(body);
    const r = replicas.require(tid, pid);
    if (r.role !== 'leader') throw new TesseraError('NOT_LEADER', `replica ${tid}_${pid} is not a leader`);
    if (r.followers.includes(follower)) {
      r.followers = r.followers.filter((f) => f !== follower);
      await repl.roleChanged(r, undefined);
    }
    return { ok: true };
  });

  app.post('/v1/control/fence_leader', async (req) => {
    const body = bodyObject(req.body);
    const { tid, pid } = tidPid(body);
    const term = uint(body, 'term');
    fence.check(body);
    const r = replicas.require(tid, pid);
    if (r.role !== 'leader' || r.term !== term) throw new TesseraError('NOT_LEADER', `replica ${tid}_${pid} is not the leader of term ${term}`);
    r.fenced = true;
    return { ok: true };
  });

  app.post('/v1/control/make_snapshot', async (req) => {
    const body = bodyObject(req.body);
    const { tid, pid } = tidPid(body);
    const endOffset = optUint(body, 'endOffset', Number.MAX_SAFE_INTEGER);
    fence.check(body);
    const r = replicas.require(tid, pid);
    const keepFrom = Math.min(endOffset, repl.lowestFollowerOffset(r) ?? r.store.offset) + 1;
    if (r.state !== 'snapshotPaused' && keepFrom > (await r.store.firstBinlogOffset())) await r.store.truncateBinlog(keepFrom);
    return { ok: true, binlogFirstOffset: await r.store.firstBinlogOffset() };
  });
}
