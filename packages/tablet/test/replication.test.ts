// Replication between three real tablet processes, driven through the control routes (the
// nameserver's part is played by the test): convergence with equal checksums, a follower killed
// and restarted catches up, one kept down past binlog retention is rebuilt from a snapshot,
// replica_ack=all waits for the in-sync set and goes on once the set shrinks, retried writes are
// applied once, a delete is visible only once committed (on every replica, snapshots included),
// and a deposed leader is refused by its followers.
import t from 'tap';
import path from 'node:path';
import { TesseraError, waitFor } from '@tessera/common';
import { spawnRole, startProcessTest, type RoleProcess } from '@tessera/testkit';

const schema = {
  name: 'events', db: 'repl_db',
  columns: [{ name: 'id', type: 'string' }, { name: 'n', type: 'int64' }, { name: 'ts', type: 'timestamp' }],
  indexes: [{ name: 'id', keys: ['id'], ts: 'ts' }],
};
const RETENTION = 500;
const TID = 3;
const PID = 1;

interface Status { offset: number; binlogFirstOffset?: number; role: string; term: number; state: string; replication?: { inSync: string[]; followers: Array<{ endpoint: string; ackedOffset: number; snapshotsSent: number }> } }

t.test('replication between three tablets', async (t) => {
  const { dir, http } = await startProcessTest(t, 'replication', { httpTimeoutMs: 20_000, connectionsPerEndpoint: 16, zk: false });
  const start = (name: string, endpoint?: string): Promise<RoleProcess> =>
    spawnRole('tablet', {
      db_root_path: path.join(dir, name), zk_cluster: '', binlog_retention_entries: RETENTION, replica_ack_timeout: 3000,
      ...(endpoint ? { endpoint } : {}),
    }, { logFile: path.join(dir, `${name}.log`) });
  const [a, b, c] = [await start('a'), await start('b'), await start('c')];
  const leader = a.endpoint;
  const status = async (ep: string): Promise<Status> => (await http.call<{ replicas: Status[] }>(ep, '/v1/control/status', { tid: TID, pid: PID })).replicas[0]!;
  const checksum = async (ep: string): Promise<{ sha256: string; offset: number; rows: number }> => http.call(ep, '/v1/control/checksum', { tid: TID, pid: PID });

  for (const f of [b, c]) await http.call(f.endpoint, '/v1/control/create_replica', { tid: TID, pid: PID, schema, role: 'follower', term: 1, leader });
  await http.call(leader, '/v1/control/create_replica', { tid: TID, pid: PID, schema, role: 'leader', term: 1, followers: [b.endpoint, c.endpoint], replicaAck: 'all' });

  let seq = 0;
  const put = (id = `r${seq++}`, writeId?: string) => http.call<{ offset: number }>(leader, '/v1/data/put', { tid: TID, pid: PID, row: { id, n: seq, ts: 1000 + seq }, ...(writeId ? { writeId } : {}) });
  const putMany = async (n: number, concurrency = 16): Promise<void> => {
    let left = n;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (left-- > 0) await put();
    }));
  };

  await t.test('acked writes are on every in-sync follower; replicas converge with equal checksums', async (t) => {
    await putMany(2000);
    // With replica_ack=all an acknowledged write is already applied on every in-sync follower.
    const [sa, sb, sc] = await Promise.all([status(leader), status(b.endpoint), status(c.endpoint)]);
    t.equal(sa.offset, 2000);
    t.equal(sb.offset, 2000, 'follower b holds every acknowledged write');
    t.equal(sc.offset, 2000, 'follower c holds every acknowledged write');
    const sums = await Promise.all([checksum(leader), checksum(b.endpoint), checksum(c.endpoint)]);
    t.same(sums[1], sums[0]);
    t.same(sums[2], sums[0]);
    t.equal(sums[0].rows, 2000);
    t.same(sa.replication?.inSync.sort(), [b.endpoint, c.endpoint].sort());
  });

  await t.test('writes to a follower are refused; a lower term is refused', async (t) => {
    await t.rejects(http.call(b.endpoint, '/v1/data/put', { tid: TID, pid: PID, row: { id: 'x', n: 1, ts: 1 } }), { code: 'NOT_LEADER' });
    await t.rejects(http.call(b.endpoint, '/v1/replica/append', { tid: TID, pid: PID, term: 0, entries: [] }), { code: 'STALE_TERM' });
  });

  await t.test('retried puts are applied once', async (t) => {
    const before = (await status(leader)).offset;
    const first = await put('dup-1', 'w-dup-1');
    const again = await put('dup-1', 'w-dup-1');
    t.equal(again.offset, first.offset, 'the retry returns the first offset');
    const batchRows = [{ row: { id: 'dup-2', n: 1, ts: 1 }, writeId: 'w-dup-2' }, { row: { id: 'dup-3', n: 1, ts: 1 }, writeId: 'w-dup-3' }];
    await http.call(leader, '/v1/data/put_batch', { tid: TID, pid: PID, rows: batchRows });
    await http.call(leader, '/v1/data/put_batch', { tid: TID, pid: PID, rows: batchRows });
    t.equal((await status(leader)).offset, before + 3, 'three writes, not five');
    t.equal((await http.call<{ count: number }>(leader, '/v1/data/count', { tid: TID, pid: PID, key: 'dup-2' })).count, 1);
  });

  await t.test('a follower killed during writes catches up after restart', async (t) => {
    // Fewer writes while c is down than the binlog retains, so c can catch up from the binlog.
    const base = (await status(leader)).offset;
    const writing = putMany(300, 8);
    await waitFor('some writes', async () => (await status(leader)).offset > base + 50, { timeoutMs: 20_000, intervalMs: 10 });
    c.kill('SIGKILL');
    await c.exited;
    // In-sync c is gone: writes wait for it (replica_ack=all) until the set shrinks without it.
    await http.call(leader, '/v1/control/set_in_sync', { tid: TID, pid: PID, term: 1, inSync: [b.endpoint] });
    await writing.catch(() => undefined);
    const c2 = await start('c', c.endpoint);
    await http.call(c2.endpoint, '/v1/control/change_role', { tid: TID, pid: PID, role: 'follower', term: 1, leader });
    await putMany(100);
    const target = (await status(leader)).offset;
    await waitFor('c caught up', async () => (await status(c2.endpoint)).offset === target, { timeoutMs: 30_000, intervalMs: 50 });
    t.same(await checksum(c2.endpoint), await checksum(leader), 'same content as the leader');
    const prog = (await status(leader)).replication!.followers.find((f) => f.endpoint === c2.endpoint)!;
    t.equal(prog.snapshotsSent, 0, 'caught up from the binlog, no snapshot');
    await http.call(leader, '/v1/control/set_in_sync', { tid: TID, pid: PID, term: 1, inSync: [b.endpoint, c2.endpoint] });
  });

  await t.test('an in-sync follower that is down blocks replica_ack=all writes until the set shrinks', async (t) => {
    b.kill('SIGKILL');
    await b.exited;
    const t0 = Date.now();
    try {
      await put('unacked-1');
      t.fail('must not be acknowledged while b is in sync and down');
    } catch (err) {
      t.equal((err as TesseraError).code, 'TIMEOUT', `refused with TIMEOUT after ${Date.now() - t0} ms`);
    }
    const get = async (id: string): Promise<unknown> => (await http.call<{ row: unknown }>(leader, '/v1/data/get', { tid: TID, pid: PID, key: id })).row;
    t.equal(await get('unacked-1'), null, 'the leader does not read a write its in-sync followers may not have (no dirty read)');
    t.equal((await http.call<{ count: number }>(leader, '/v1/data/count', { tid: TID, pid: PID, key: 'unacked-1' })).count, 0, 'nor count it');
    // A delete goes through the binlog like a put: not committed, it is not visible (versioned deletes).
    const del = await http.call(leader, '/v1/data/delete', { tid: TID, pid: PID, key: 'r5' }).then(() => 'acknowledged', (err: TesseraError) => err.code);
    t.equal(del, 'TIMEOUT', 'a delete is not acknowledged while b is in sync and down');
    t.not(await get('r5'), null, 'a delete not yet committed is not visible: the leader still reads the row');
    t.equal((await http.call<{ count: number }>(leader, '/v1/data/count', { tid: TID, pid: PID, key: 'r5' })).count, 1, 'and counts it');
    await http.call(leader, '/v1/control/set_in_sync', { tid: TID, pid: PID, term: 1, inSync: [c.endpoint] });
    await put();
    t.pass('acknowledged once b left the in-sync set');
    t.not(await get('unacked-1'), null, 'the earlier write is committed (held by every in-sync follower) and read');
    t.equal(await get('r5'), null, 'the delete is committed: the row is gone on the leader');
    // A follower serves no reads (NOT_LEADER): its content is compared by checksum instead.
    const leaderOffset = (await status(leader)).offset;
    await waitFor('c at the leader offset', async () => (await status(c.endpoint)).offset === leaderOffset, { timeoutMs: 20_000, intervalMs: 50 });
    t.same(await checksum(c.endpoint), await checksum(leader), 'and on the in-sync follower (same content as the leader)');
    await t.rejects(http.call(c.endpoint, '/v1/data/get', { tid: TID, pid: PID, key: 'r5' }), { code: 'NOT_LEADER' }, 'the follower refuses the read itself');
  });

  await t.test('a follower down past binlog retention is rebuilt from a snapshot', async (t) => {
    const bOffset = (await status(leader)).offset; // b is down; it holds at most this much
    await putMany(RETENTION * 3);
    // Retention runs on a timer: wait until the leader no longer holds what b would need.
    await waitFor('binlog truncated past b', async () => ((await status(leader)).binlogFirstOffset ?? 0) > bOffset + 1, { timeoutMs: 20_000, intervalMs: 100 });
    const b2 = await start('b', b.endpoint);
    await http.call(b2.endpoint, '/v1/control/change_role', { tid: TID, pid: PID, role: 'follower', term: 1, leader });
    await putMany(50);
    const final = (await status(leader)).offset;
    await waitFor('b at the leader offset', async () => (await status(b2.endpoint)).offset === final, { timeoutMs: 30_000, intervalMs: 50 });
    const prog = (await status(leader)).replication!.followers.find((f) => f.endpoint === b2.endpoint)!;
    t.ok(prog.snapshotsSent >= 1, `rebuilt from ${prog.snapshotsSent} snapshot(s)`);
    t.same(await checksum(b2.endpoint), await checksum(leader), 'same content as the leader after the rebuild, so the delete b missed while down is in the snapshot it was rebuilt from');
    // The check a move ends with, on a replica built from a snapshot: no scan, the digest the
    // leader took of what it sent against what b's load read back, at the snapshot's offset.
    await putMany(10); // b is past its snapshot now: a scan would compare at its offset now
    const { loaded } = await http.call<{ loaded: { session: string; offset: number; rows: number; sha256: string } | null }>(b2.endpoint, '/v1/control/loaded_checksum', { tid: TID, pid: PID });
    t.ok(loaded !== null && loaded.offset > bOffset && loaded.offset <= final, `b keeps the checksum of its load (at offset ${loaded?.offset})`);
    const compared = await http.call<{ offset: number; leader: { rows: number; sha256: string }; replica: { endpoint: string; rows: number; sha256: string } }>(leader, '/v1/control/compare_checksum', { tid: TID, pid: PID, replica: b2.endpoint, opId: 1 });
    t.equal(compared.offset, loaded!.offset, 'compared at the snapshot offset, not at b\'s offset now');
    t.ok(compared.offset < (await status(b2.endpoint)).offset, 'which is behind b\'s offset now');
    t.same(compared.replica, { endpoint: b2.endpoint, rows: loaded!.rows, sha256: loaded!.sha256 }, 'the replica side is its load');
    t.same({ rows: compared.leader.rows, sha256: compared.leader.sha256 }, { rows: loaded!.rows, sha256: loaded!.sha256 }, 'equal to what the leader sent');
    t.equal(loaded!.rows, (await http.call<{ ok: boolean; rows: number }>(leader, '/v1/control/checksum_at', { tid: TID, pid: PID, ttlAtMs: Date.now(), offset: loaded!.offset })).rows, 'as many rows as the leader held at that offset');
  });

  await t.test('a deposed leader is refused by its followers and steps down', async (t) => {
    // a is paused (SIGSTOP); meanwhile the "nameserver" makes c the leader of term 2. When a
    // resumes it still believes it leads term 1.
    a.kill('SIGSTOP');
    await http.call(c.endpoint, '/v1/control/change_role', { tid: TID, pid: PID, role: 'leader', term: 2, followers: [b.endpoint], replicaAck: 'all' });
    await http.call(b.endpoint, '/v1/control/change_role', { tid: TID, pid: PID, role: 'follower', term: 2, leader: c.endpoint });
    a.kill('SIGCONT');
    try {
      await put();
      t.fail('the old leader must not acknowledge');
    } catch (err) {
      t.ok(['NOT_LEADER', 'TIMEOUT'].includes((err as TesseraError).code), `old leader's write refused: ${(err as TesseraError).code}`);
    }
    await waitFor('a stepped down', async () => (await status(leader)).role === 'follower', { timeoutMs: 20_000, intervalMs: 50 });
    const sa = await status(leader);
    t.equal(sa.term, 2, 'a adopted term 2');
    t.equal(sa.state, 'unassigned', 'a serves nothing until it is told its role again');
    const refused = await put().then(() => 'acknowledged', (err: TesseraError) => err.code);
    t.ok(['NOT_LEADER', 'REPLICA_NOT_SERVING'].includes(refused), `a write on the deposed leader is refused (${refused})`);
    const read = await http.call(a.endpoint, '/v1/data/get', { tid: TID, pid: PID, index: 'id', key: 'r1' }).then(() => 'answered', (err: TesseraError) => err.code);
    t.equal(read, 'REPLICA_NOT_SERVING', 'a read on the deposed leader is refused, not answered as a follower read');
  });
});
