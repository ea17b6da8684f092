// A leader's replication in process (src/replication/leader-replication.ts) over memory-level
// stores: the followers are real ReplicaStores that apply the leader's appends as the follower
// route does (probe, then binlog batches), delivered in process instead of over HTTP.
//
// The case it pins (failover.test under load, whole-cluster restart): a new leader whose followers
// already hold everything it has, the nameserver emptying the in-sync set on a status report taken
// before the followers answered, the order arriving after they did, and no write after that. The
// leader must still wait for those followers (so the nameserver adds them back) and serve reads
// at its commit point; before, it dropped them for good and refused every read ("took over as
// leader and its followers do not yet hold what it took over with").
import t, { type Test } from 'tap';
import { decode, HttpClient, silentLogger, validateSchema, waitFor } from '@tessera/common';
import { openMemoryLevel, ReplicaStore, validateEntry, type BinlogEntry } from '@tessera/storage';
import { LeaderReplication } from '../src/replication/leader-replication.js';
import type { AppendMux, AppendSource } from '../src/replication/append-mux.js';
import { WriteIdIndex } from '../src/replication/write-ids.js';
import { SnapshotThrottle } from '../src/replication/snapshot-throttle.js';

const schema = validateSchema({
  name: 'ev', db: 'db',
  columns: [{ name: 'id', type: 'string' }, { name: 'n', type: 'int64' }, { name: 'at', type: 'timestamp' }],
  indexes: [{ name: 'id', keys: ['id'], ts: 'at' }],
});
const ROWS = 20;

async function store(role: 'leader' | 'follower'): Promise<ReplicaStore> {
  const s = await ReplicaStore.create(openMemoryLevel(), { tid: 1, pid: 3, schema, compressType: 'kNoCompress' });
  await s.setRole(role, 1);
  return s;
}

/**
 * Appends delivered to in-process follower stores, answered as /v1/replica/append answers: the
 * body the leader encodes for the wire, decoded and checked as the follower route does.
 */
function inProcessAppends(followers: Map<string, ReplicaStore>): AppendMux {
  const append = async (endpoint: string, source: AppendSource, sent: BinlogEntry[]): Promise<unknown> => {
    const payload = source.encodeAppend(sent);
    const f = followers.get(endpoint)!;
    const body = decode(payload) as { entries: unknown[] };
    if (body.entries.length === 0) {
      const offsetTerm = await f.termAt(f.offset);
      return { offset: f.offset, ...(offsetTerm !== undefined ? { offsetTerm } : {}) };
    }
    const first = (body.entries[0] as { offset: number }).offset;
    const entries: BinlogEntry[] = body.entries.map((e, i) => validateEntry(e, first + i));
    return { offset: await f.appendReplicated(entries) };
  };
  return { append } as unknown as AppendMux;
}

/**
 * In-process appends whose entries to an endpoint `held(endpoint)` picks wait until `release()`
 * (probes, empty appends, pass at once).
 */
function heldAppends(followers: Map<string, ReplicaStore>, held: (endpoint: string) => boolean): { appends: AppendMux; release(): void } {
  const all = inProcessAppends(followers);
  let released = false;
  const append = async (ep: string, source: AppendSource, entries: BinlogEntry[]): Promise<unknown> => {
    if (held(ep) && entries.length > 0 && !released) await waitFor(`delivery to ${ep} allowed`, () => released, { timeoutMs: 10_000, intervalMs: 5 });
    return all.append(ep, source, entries);
  };
  return { appends: { append } as unknown as AppendMux, release: () => (released = true) };
}

/** A leader store of pid 3 holding ROWS rows. */
async function loadedLeader(): Promise<ReplicaStore> {
  const leader = await store('leader');
  await leader.put(Array.from({ length: ROWS }, (_, i) => ({ values: [`k${i}`, i, 1000 + i], ts: 1000 + i })));
  return leader;
}

/** The leader's replication to `followers` (replica_ack all, 2 in-sync replicas at least), stopped in teardown after `beforeStop`. */
function replication(t: Test, leader: ReplicaStore, followers: Map<string, ReplicaStore>, o: { inSync: string[]; ackTimeoutMs: number; appends: AppendMux; beforeStop?: () => void }): LeaderReplication {
  const http = new HttpClient({ connectionsPerEndpoint: 1, timeoutMs: 1000 });
  const lr = new LeaderReplication({
    store: leader, tid: 1, pid: 3, term: 1, followers: [...followers.keys()], inSync: o.inSync, replicaAck: 'all',
    writeIds: new WriteIdIndex(), ackTimeoutMs: o.ackTimeoutMs, minInSyncReplicas: 2, snapshotThrottle: new SnapshotThrottle(0), http,
    appends: o.appends, log: silentLogger, sentBytes: { binlog: 0, snapshot: 0 }, onDeposed: () => t.fail('not deposed'),
  });
  t.teardown(async () => {
    o.beforeStop?.();
    await lr.stop('test over');
    await http.close();
  });
  return lr;
}

t.test('a caught-up follower left out of the in-sync set on a stale report is waited for again; reads are served', async (t) => {
  const leader = await loadedLeader();
  const followers = new Map<string, ReplicaStore>();
  for (const ep of ['127.0.0.1:1', '127.0.0.1:2']) {
    const f = await store('follower');
    await f.appendReplicated(await leader.readBinlog(1, 1000, 1 << 24));
    followers.set(ep, f);
  }
  t.equal(followers.get('127.0.0.1:1')!.offset, ROWS, 'the followers hold everything the leader has');
  const lr = replication(t, leader, followers, { inSync: [...followers.keys()], ackTimeoutMs: 1000, appends: inProcessAppends(followers) });
  // What the nameserver's status poll saw right after the takeover: nothing acknowledged yet.
  const staleReport = lr.progress();
  t.ok(staleReport.every((f) => f.ackedOffset < 0), 'the first report shows no follower answer yet');
  await waitFor('both followers matched and streaming', () => lr.progress().every((f) => f.state === 'stream' && f.ackedOffset === ROWS), { timeoutMs: 5000, intervalMs: 5 });

  // The nameserver's order, decided on the stale report, arrives now; no write follows.
  lr.setInSync([]);
  t.same(lr.inSync, [], 'the recorded set is what the nameserver said');
  t.same(lr.waitingFor.sort(), [...followers.keys()].sort(), 'followers holding everything are waited for again (the nameserver adds them back from waitingFor)');
  t.equal(lr.visibleOffset(), ROWS, 'reads see the commit point at once instead of waiting for it');

  // A follower that does not hold everything stays out until it acknowledges the rest.
  await leader.put([{ values: ['late', 1, 5000], ts: 5000 }]);
  lr.setInSync([]);
  t.equal(lr.visibleOffset(), ROWS, 'the commit point stays where the followers are');
  lr.wrote();
  await waitFor('the new write acknowledged by the followers', () => lr.progress().every((f) => f.ackedOffset === ROWS + 1), { timeoutMs: 5000, intervalMs: 5 });
  t.equal(lr.visibleOffset(), ROWS + 1, 'and moves once they hold the new write');
});

t.test('a follower that is behind is not waited for again on an in-sync change', async (t) => {
  const leader = await loadedLeader();
  const f = await store('follower');
  const followers = new Map([['127.0.0.1:1', f]]);
  // Deliveries held back: the follower is probed (offset 0) but receives nothing.
  const held = heldAppends(followers, () => true);
  const lr = replication(t, leader, followers, { inSync: [], ackTimeoutMs: 1000, appends: held.appends, beforeStop: held.release });
  await waitFor('probed', () => lr.progress()[0]!.state === 'stream', { timeoutMs: 5000, intervalMs: 5 });
  lr.setInSync([]);
  t.same(lr.waitingFor, [], 'a follower missing entries is not waited for');
  t.equal(lr.visibleOffset(), undefined, 'no commit point before a follower holds what the leader took over with');
  held.release();
  await waitFor('caught up', () => lr.progress()[0]!.ackedOffset === ROWS, { timeoutMs: 5000, intervalMs: 5 });
  t.same(lr.waitingFor, ['127.0.0.1:1'], 'it joins by its acknowledgement');
  t.equal(lr.visibleOffset(), ROWS);
});

t.test('a read never sees less than a write this leader acknowledged, whatever the in-sync set does after', async (t) => {
  // Chaos seed 101: the read bound was raised only on reads, to the lowest offset of the followers
  // waited for; when the nameserver then recorded a lagging follower in the in-sync set, a read
  // answered below a write acknowledged before it.
  const leader = await loadedLeader();
  const a = await store('follower');
  await a.appendReplicated(await leader.readBinlog(1, 1000, 1 << 24));
  const b = await store('follower');
  const followers = new Map([['127.0.0.1:1', a], ['127.0.0.1:2', b]]);
  const toB = heldAppends(followers, (ep) => ep === '127.0.0.1:2');
  const lr = replication(t, leader, followers, { inSync: ['127.0.0.1:1'], ackTimeoutMs: 5000, appends: toB.appends, beforeStop: toB.release });
  await waitFor('a streaming and caught up', () => lr.progress().some((f) => f.endpoint === '127.0.0.1:1' && f.ackedOffset === ROWS), { timeoutMs: 5000, intervalMs: 5 });
  t.equal(lr.visibleOffset(), ROWS, 'a read before the write sees the commit point');
  await leader.put([{ values: ['new', 1, 5000], ts: 5000 }]);
  lr.wrote();
  await lr.waitAcked(ROWS + 1);
  // No read between the acknowledgement and the nameserver recording the lagging b as in sync.
  lr.setInSync(['127.0.0.1:1', '127.0.0.1:2']);
  const visible = lr.visibleOffset();
  t.ok(visible !== undefined && visible >= ROWS + 1, `a read after it sees the acknowledged write (visible ${visible}, acknowledged ${ROWS + 1})`);
});
