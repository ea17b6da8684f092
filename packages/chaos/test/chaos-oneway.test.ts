// A per-direction partition between two tablets (network namespaces, the chaos harness's own
// cluster: ZooKeeper, a nameserver and three tablets, each in a namespace of its own): what a
// partition's leader sends one of its followers is dropped (an nftables rule in the leader's
// namespace), while both still reach ZooKeeper and everyone else. Expected, each within a bound:
// the follower leaves the in-sync set (ZooKeeper), writes go on (acknowledged with replica_ack
// all) with the same leader (no failover), and after the heal the follower rejoins the in-sync
// set at the leader's offset with the leader's checksum; every acknowledged write is read back.
// Skipped with the reason where network namespaces are not available (not root, not Linux).
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HttpClient, sleep, type ReplicaStatus, type TableInfo } from '@tessera/common';
import { Client } from '@tessera/client';
import { netnsUnsupported } from '@tessera/testkit';
import { Cluster, type Proc } from '../src/harness/cluster.js';
import { NamespaceNetwork } from '../src/harness/network.js';
import { Recorder } from '../src/harness/recorder.js';
import { TIMEOUTS } from '../src/harness/runner.js';

/** Bounds of each expectation (the machine may be loaded: these are bounds, not expected times). */
const LIMITS = {
  setupMs: 90_000,
  /** Cut → the follower gone from the in-sync set (in_sync_silent_ms 2 s + status interval). */
  leaveMs: 30_000,
  /** Acknowledged writes needed after the follower left, and the time they may take. */
  writesAfterLeave: 30,
  writesAfterLeaveMs: 30_000,
  /** Heal → back in the in-sync set at the leader's offset. */
  rejoinMs: 60_000,
  pollMs: 200,
  callTimeoutMs: 10_000,
} as const;

const reason = await netnsUnsupported();

t.test('leader → one follower dropped (one direction): the follower leaves the in-sync set, writes go on, nothing is lost, it rejoins after the heal', { skip: reason ?? false }, async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-oneway-'));
  const rec = new Recorder(dir);
  const net = await NamespaceNetwork.create(['zk', 'ns1', 't1', 't2', 't3']);
  const cluster = await Cluster.create({ runDir: dir, tablets: 3, nameservers: 1, timeouts: TIMEOUTS, rec, zkRootPath: '/oneway', hostOf: net.hostOf, wrap: net.wrap });
  const http = new HttpClient({ connectionsPerEndpoint: 2, timeoutMs: LIMITS.callTimeoutMs });
  let client: Client | undefined;
  let writing = false;
  let writer: Promise<void> | undefined;
  t.teardown(async () => {
    writing = false;
    await writer?.catch(() => undefined);
    await client?.close().catch(() => undefined);
    await cluster.stopAll();
    await net.close();
    await http.close();
    if (t.passing()) rmSync(dir, { recursive: true, force: true });
    else t.comment(`run directory kept: ${dir}`);
  });
  const waitFor = async <T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> => {
    const deadline = Date.now() + ms;
    let last = '';
    while (Date.now() < deadline) {
      try {
        const v = await probe();
        if (v !== undefined) return v;
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(LIMITS.pollMs);
    }
    throw new Error(`${what}: not within ${ms} ms ${last}`);
  };

  await cluster.startAll();
  client = await Client.connect({ zkCluster: cluster.zkConnect, zkRootPath: '/oneway', requestTimeoutMs: 2000 });
  const c = client;
  await waitFor('3 healthy tablets', LIMITS.setupMs, async () => ((await c.admin.showtablet({})).tablets.filter((x) => x.state === 'kTabletHealthy').length === 3 ? true : undefined));
  await c.createDatabase('d');
  await c.createTable('d', {
    name: 'kv', partitionNum: 1, replicaNum: 3, replicaAck: 'all',
    columns: [{ name: 'k', type: 'string' }, { name: 'v', type: 'string' }, { name: 'ts', type: 'timestamp' }],
    indexes: [{ name: 'k', keys: ['k'], ts: 'ts' }],
  });
  const schema = async (): Promise<TableInfo> => (await c.admin.showschema({ db: 'd', name: 'kv' })).table;
  const proc = (ep: string): Proc => {
    const p = cluster.byEndpoint(ep);
    if (!p) throw new Error(`no process at ${ep}`);
    return p;
  };
  const status = async (p: Proc): Promise<ReplicaStatus | undefined> => (await http.call<{ replicas: ReplicaStatus[] }>(p.endpoint, '/v1/control/status', {})).replicas.find((r) => r.pid === 0);
  // Ready: a leader and both followers in the in-sync set.
  const ready = await waitFor('the partition led, both followers in sync', LIMITS.setupMs, async () => {
    const p = (await schema()).partitions[0]!;
    const leader = p.replicas.find((r) => r.isLeader && r.isAlive);
    const followers = p.replicas.filter((r) => !r.isLeader && r.isAlive).map((r) => r.endpoint);
    return leader && followers.length === 2 && followers.every((f) => p.inSync.includes(f)) ? { leader: leader.endpoint, followers } : undefined;
  });
  const leader = proc(ready.leader);
  const cutOff = proc(ready.followers[0]!);
  const other = proc(ready.followers[1]!);
  const termBefore = (await status(leader))!.term;
  t.comment(`leader ${leader.name} (${leader.endpoint}), cut-off follower ${cutOff.name}, other ${other.name}; term ${termBefore}`);

  // One writer, one put at a time: each value unique; acknowledged ones are remembered with when.
  const acked: Array<{ v: string; ts: number; atMs: number }> = [];
  const errors = new Map<string, number>();
  let seq = 0;
  writing = true;
  writer = (async () => {
    while (writing) {
      const n = ++seq;
      const row = { k: 'key', v: `w${n}`, ts: 1_000_000 + n };
      try {
        await c.put('d', 'kv', row);
        acked.push({ v: row.v, ts: row.ts, atMs: Date.now() });
      } catch (err) {
        const code = (err as { code?: string }).code ?? 'ERROR';
        errors.set(code, (errors.get(code) ?? 0) + 1);
      }
      await sleep(20);
    }
  })();
  await waitFor('writes acknowledged before the cut', LIMITS.setupMs, async () => (acked.length >= 20 ? true : undefined));

  const cutAt = Date.now();
  t.comment(await net.lab.fault(leader.name, cutOff.name, 'drop'));
  const leftAt = await waitFor(`${cutOff.name} out of the in-sync set`, LIMITS.leaveMs, async () => (!(await schema()).partitions[0]!.inSync.includes(cutOff.endpoint) ? Date.now() : undefined));
  t.pass(`${cutOff.name} left the in-sync set ${leftAt - cutAt} ms after the cut`);
  t.ok((await schema()).partitions[0]!.inSync.includes(other.endpoint), `${other.name} stays in the in-sync set`);
  const before = acked.length;
  await waitFor(`${LIMITS.writesAfterLeave} writes acknowledged after ${cutOff.name} left`, LIMITS.writesAfterLeaveMs, async () => (acked.filter((a) => a.atMs > leftAt).length >= LIMITS.writesAfterLeave ? true : undefined));
  t.pass(`writes go on: ${acked.length - before} acknowledged after ${cutOff.name} left`);
  const leaderNow = (await schema()).partitions[0]!.replicas.find((r) => r.isLeader && r.isAlive)?.endpoint;
  t.equal(leaderNow, leader.endpoint, 'the leader did not change (both still reach ZooKeeper)');
  t.equal((await status(leader))!.term, termBefore, 'no new term');

  const healAt = Date.now();
  await net.healAll();
  await waitFor(`${cutOff.name} back in the in-sync set`, LIMITS.rejoinMs, async () => ((await schema()).partitions[0]!.inSync.includes(cutOff.endpoint) ? true : undefined));
  t.pass(`${cutOff.name} rejoined the in-sync set ${Date.now() - healAt} ms after the heal`);
  writing = false;
  await writer;
  t.comment(`writes: ${acked.length} acknowledged, failed by code ${JSON.stringify(Object.fromEntries(errors))}`);

  // Converged: all three at the leader's offset with the leader's content.
  const sums = await waitFor('every replica at the leader\'s offset and checksum', LIMITS.rejoinMs, async () => {
    const tid = (await schema()).tid;
    const all = await Promise.all([leader, cutOff, other].map((p) => http.call<{ rows: number; sha256: string; offset: number }>(p.endpoint, '/v1/control/checksum', { tid, pid: 0 })));
    return all.every((s) => s.offset === all[0]!.offset && s.sha256 === all[0]!.sha256) ? all : undefined;
  });
  t.pass(`every replica at offset ${sums[0]!.offset} with ${sums[0]!.rows} rows and the same checksum`);
  const st = await status(cutOff);
  t.equal(st?.role, 'follower', `${cutOff.name} is a follower`);

  // Nothing lost: every acknowledged write is read back at its ts.
  const rows = await c.scan('d', 'kv', { key: 'key', st: 0, et: 0, limit: 10_000 });
  const have = new Map(rows.map((r) => [String(r.v), Number(r.ts)]));
  const lost = acked.filter((a) => have.get(a.v) !== a.ts);
  t.equal(lost.length, 0, `no acknowledged write lost (${acked.length} acknowledged, ${rows.length} rows read)${lost.length ? `: ${lost.slice(0, 5).map((l) => l.v).join(', ')}` : ''}`);
});
