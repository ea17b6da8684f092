// Issue 16's failover at CI size, on real processes: N tables of 8 partitions × 3 replicas on 3
// tablets (TESSERA_FAILOVER_SCALE_TABLES, default 50: 1,200 replicas), auto_failover on, SIGKILL of
// the tablet leading the most partitions. Checks: every partition it led is writable again; the
// failover ran in bulk (kFailoverEndpointOP, issue 16): at most one op per table in all, at most one
// per partition it held a replica of, and every one of them is done (no duplicate op for a
// partition, none failed); nothing else fails over — no other process loses
// its ZooKeeper session, the nameserver keeps leading, and no partition the victim did not lead
// changes leader. Prints the time to writable and the ops by type.
import t from 'tap';
import { pidOfKey, waitFor, type TableInfo } from '@tessera/common';
import { Client } from '@tessera/client';
import { startTestCluster } from '@tessera/testkit';

const TABLES = Number(process.env.TESSERA_FAILOVER_SCALE_TABLES ?? 50);
const PARTITIONS = 8;
const SESSION_TIMEOUT_MS = 3000;
const HEARTBEAT_TIMEOUT_MS = 1000;
/** Bound on every awaited condition (a loaded 2-core machine). */
const WAIT_MS = 300_000;

/** A counter from `endpoint`'s /metrics (0 when the process does not list it). */
async function metric(endpoint: string, name: string): Promise<number> {
  const text = await (await fetch(`http://${endpoint}/metrics`, { signal: AbortSignal.timeout(30_000) })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  // A process without a ZooKeeper session counter has lost none.
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

t.test(`SIGKILL of the busiest tablet with ${TABLES} tables of ${PARTITIONS}×3`, async (t) => {
  const { client, ns, tablets } = await startTestCluster(t, {
    name: 'failover-scale', zkRootPath: '/fos', zkSessionTimeoutMs: SESSION_TIMEOUT_MS,
    connect: (zkCluster, zkRootPath) => Client.connect({ zkCluster, zkRootPath, requestTimeoutMs: 60_000 }),
    nameservers: 1, tablets: 3,
    nsFlags: { auto_failover: true, tablet_heartbeat_timeout: HEARTBEAT_TIMEOUT_MS },
    httpTimeoutMs: 60_000, tabletsHealthyTimeoutMs: 60_000, database: 'db',
  });
  const names = Array.from({ length: TABLES }, (_, i) => `t${i}`);
  const createdAt = performance.now();
  for (const name of names) {
    await client.createTable('db', {
      name, partitionNum: PARTITIONS, replicaNum: 3,
      columns: [{ name: 'id', type: 'string' }, { name: 'v', type: 'string' }, { name: 'at', type: 'timestamp' }],
      indexes: [{ name: 'id', keys: ['id'], ts: 'at' }],
    });
  }
  t.comment(`${TABLES} tables created in ${Math.round(performance.now() - createdAt)} ms`);
  const tables = async (): Promise<Map<string, TableInfo>> => new Map(await Promise.all(names.map(async (n) => [n, (await client.admin.showschema({ db: 'db', name: n })).table] as const)));
  await waitFor('every follower in sync', async () => [...(await tables()).values()].every((x) => x.partitions.every((p) => p.inSync.length === 2)), { timeoutMs: WAIT_MS, intervalMs: 500 });

  const before = await tables();
  const leaderOf = (info: TableInfo, pid: number): string | undefined => info.partitions.find((p) => p.pid === pid)!.replicas.find((r) => r.isLeader && r.isAlive)?.endpoint;
  const ledBy = (ep: string) => [...before].flatMap(([name, info]) => info.partitions.filter((p) => leaderOf(info, p.pid) === ep).map((p) => ({ name, pid: p.pid })));
  const victim = [...tablets].sort((a, b) => ledBy(b.endpoint).length - ledBy(a.endpoint).length)[0]!;
  const led = ledBy(victim.endpoint);
  const held = [...before.values()].reduce((n, info) => n + info.partitions.filter((p) => p.replicas.some((r) => r.endpoint === victim.endpoint)).length, 0);
  const others = [...tablets.filter((x) => x !== victim).map((x) => x.endpoint), ...ns.map((x) => x.endpoint)];
  const expirations = new Map(await Promise.all(others.map(async (ep) => [ep, await metric(ep, 'tessera_zk_session_expirations_total')] as const)));
  const opsBefore = (await client.admin.showopstatus({})).ops.reduce((m, o) => Math.max(m, o.opId), 0);

  const killedAt = performance.now();
  victim.kill('SIGKILL');
  const keyFor = (pid: number, name: string): string => {
    let k = `probe-${name}-${pid}`;
    for (let i = 0; pidOfKey(k, PARTITIONS) !== pid; i++) k = `probe-${name}-${pid}-${i}`;
    return k;
  };
  let pending = [...led];
  await waitFor(`every partition ${victim.endpoint} led writable again`, async () => {
    const failed: typeof pending = [];
    for (let i = 0; i < pending.length; i += 32) {
      await Promise.all(pending.slice(i, i + 32).map(async (x) => {
        if (!(await client.put('db', x.name, { id: keyFor(x.pid, x.name), v: 'p', at: 1 }).then(() => true, () => false))) failed.push(x);
      }));
    }
    pending = failed;
    return pending.length === 0;
  }, { timeoutMs: WAIT_MS, intervalMs: 250 });
  const writableMs = Math.round(performance.now() - killedAt);
  // The failover is over when no replica on the victim is credited alive and no op is unfinished.
  await waitFor('the failover ops finished', async () => {
    const ops = (await client.admin.showopstatus({})).ops.filter((o) => o.opId > opsBefore);
    const infos = await tables();
    return ops.every((o) => o.status !== 'kInited' && o.status !== 'kDoing')
      && [...infos.values()].every((info) => info.partitions.every((p) => p.replicas.every((r) => r.endpoint !== victim.endpoint || !r.isAlive)));
  }, { timeoutMs: WAIT_MS, intervalMs: 500 });
  const ops = (await client.admin.showopstatus({})).ops.filter((o) => o.opId > opsBefore);
  const byType = new Map<string, number>();
  for (const o of ops) byType.set(o.opType, (byType.get(o.opType) ?? 0) + 1);
  t.comment(`${victim.endpoint} led ${led.length} partitions and held ${held} replicas: all writable ${writableMs} ms after SIGKILL; ${ops.length} ops (${[...byType].map(([k, v]) => `${v} ${k}`).join(', ')})`);

  // Where the time went: when the first op was created and started, when the last ended, how
  // long ops waited to start, and the summed wall time of each task kind.
  const details = ((await client.admin.showopstatus({ detail: true })).details ?? []).filter((d) => d.opId > opsBefore);
  if (details.length > 0) {
    const killedEpochMs = Date.now() - (performance.now() - killedAt);
    const rel = (ms: number): number => Math.round(ms - killedEpochMs);
    const waits = details.map((d) => (d.startMs ?? d.createdMs) - d.createdMs).sort((a, b) => a - b);
    const perKind = new Map<string, { n: number; ms: number }>();
    for (const d of details) for (const task of d.tasks) {
      if (task.startMs === undefined || task.endMs === undefined) continue;
      const k = perKind.get(task.kind) ?? { n: 0, ms: 0 };
      perKind.set(task.kind, { n: k.n + 1, ms: k.ms + task.endMs - task.startMs });
    }
    t.comment(`ops created ${rel(Math.min(...details.map((d) => d.createdMs)))}..${rel(Math.max(...details.map((d) => d.createdMs)))} ms after the kill, first started ${rel(Math.min(...details.map((d) => d.startMs ?? Infinity)))} ms, last ended ${rel(Math.max(...details.map((d) => d.endMs ?? 0)))} ms; wait to start p50 ${waits[Math.floor(waits.length / 2)]} ms max ${waits[waits.length - 1]} ms`);
    t.comment(`task wall time: ${[...perKind].map(([k, v]) => `${k} ${v.n}× mean ${Math.round(v.ms / v.n)} ms`).join(', ')}`);
  }

  t.ok(ops.length <= held, `at most one op per partition the victim held a replica of (${ops.length} ≤ ${held})`);
  const bulk = ops.filter((o) => o.opType === 'kFailoverEndpointOP');
  t.ok(bulk.length >= 1 && ops.length <= TABLES, `the failover in bulk: ${bulk.length} kFailoverEndpointOP, ${ops.length} ops in all (≤ one per table, ${TABLES})`);
  const perPartition = new Map<string, number>();
  for (const o of ops) perPartition.set(`${o.name}/${o.pid}`, (perPartition.get(`${o.name}/${o.pid}`) ?? 0) + 1);
  t.same([...perPartition].filter(([, n]) => n > 1), [], 'no partition got two ops');
  t.same(ops.filter((o) => o.status !== 'kDone').map((o) => `${o.opId} ${o.opType} ${o.name}/${o.pid} ${o.status} ${o.error ?? ''}`), [], 'every op done');

  for (const [ep, n] of expirations) t.equal(await metric(ep, 'tessera_zk_session_expirations_total'), n, `${ep} kept its ZooKeeper session`);
  t.ok((await client.admin.showns({})).nameservers.some((x) => x.role === 'leader' && x.endpoint === ns[0]!.endpoint), 'the nameserver still leads');
  const after = await tables();
  const moved = [...before].flatMap(([name, info]) => info.partitions
    .filter((p) => leaderOf(info, p.pid) !== victim.endpoint && leaderOf(after.get(name)!, p.pid) !== leaderOf(info, p.pid))
    .map((p) => `${name}/${p.pid}`));
  t.same(moved, [], 'no partition the victim did not lead changed leader');
});
