// The SDK against a real cluster (ZooKeeper, a nameserver, three tablets): 100,000 rows written
// with replica_ack=all converge on every replica; a follower killed during writes is dropped from
// the in-sync set by the nameserver so writes go on, and catches up after restart; one kept down
// past binlog retention is rebuilt from a snapshot; every acknowledged write is counted back.
import t from 'tap';
import path from 'node:path';
import { HttpClient, TesseraError, waitFor, type TableInfo } from '@tessera/common';
import { spawnRole, startProcessTest, type RoleProcess } from '@tessera/testkit';
import { Client } from '../src/index.js';

const RETENTION = 3000;
const ROWS = 100_000;

t.test('SDK writes, replication, follower loss and return', async (t) => {
  const { dir, http, zk, beforeTeardown } = await startProcessTest(t, 'sdk-repl', { httpTimeoutMs: 20_000, zk: true });
  let client: Client | undefined;
  beforeTeardown(() => client?.close());
  const common = { zk_cluster: zk.connectString, zk_root_path: '/sdk', zk_session_timeout: 3000 };
  await spawnRole('nameserver', { ...common, get_table_status_interval: 300, in_sync_silent_ms: 1500 }, { logFile: path.join(dir, 'ns.log') });
  const startTablet = (i: number, endpoint?: string): Promise<RoleProcess> =>
    spawnRole('tablet', { ...common, db_root_path: path.join(dir, `t${i}`), binlog_retention_entries: RETENTION, ...(endpoint ? { endpoint } : {}) }, { logFile: path.join(dir, `t${i}.log`) });
  const tablets = [await startTablet(1), await startTablet(2), await startTablet(3)];
  const [t1, t2, t3] = tablets.map((x) => x.endpoint) as [string, string, string];

  client = await Client.connect({ zkCluster: zk.connectString, zkRootPath: '/sdk' });
  await waitFor('3 tablets', async () => (await client!.admin.showtablet({})).tablets.filter((x) => x.state === 'kTabletHealthy').length === 3, { timeoutMs: 20_000, intervalMs: 100 });
  await client.createDatabase('db');
  // Tablet 3 only follows, so that losing it tests follower loss alone (leader loss is failover).
  const partitions = [0, 1, 2, 3].map((pid) => ({ pid, leader: pid % 2 ? t2 : t1, followers: pid % 2 ? [t1, t3] : [t2, t3] }));
  await client.createTable('db', {
    name: 'events', partitionNum: 4, replicaNum: 3, replicaAck: 'all', partitions,
    columns: [{ name: 'id', type: 'string' }, { name: 'n', type: 'int64' }, { name: 'at', type: 'timestamp' }],
    indexes: [{ name: 'id', keys: ['id'], ts: 'at' }],
  });

  const acked = new Set<string>();
  const table = await client.table('db', 'events');

  async function replicaOffsets(info: TableInfo): Promise<Map<number, number[]>> {
    const out = new Map<number, number[]>();
    for (const p of info.partitions) {
      const offsets = await Promise.all(p.replicas.map(async (r) => (await http.call<{ replicas: Array<{ offset: number }> }>(r.endpoint, '/v1/control/status', { tid: info.tid, pid: p.pid })).replicas[0]!.offset));
      out.set(p.pid, offsets);
    }
    return out;
  }
  async function checksums(info: TableInfo, pid: number): Promise<string[]> {
    const p = info.partitions[pid]!;
    return Promise.all(p.replicas.map(async (r) => (await http.call<{ sha256: string }>(r.endpoint, '/v1/control/checksum', { tid: info.tid, pid })).sha256));
  }
  async function converged(info: TableInfo): Promise<boolean> {
    for (const offs of (await replicaOffsets(info)).values()) if (new Set(offs).size !== 1) return false;
    return true;
  }

  await t.test(`${ROWS} rows through putBatch converge on every replica`, async (t) => {
    const started = Date.now();
    let next = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next < ROWS) {
        const base = next;
        next += 500;
        const rows = Array.from({ length: Math.min(500, ROWS - base) }, (_, i) => ({ id: `b${base + i}`, n: base + i, at: 1_000_000 + base + i }));
        await client!.putBatch('db', 'events', rows);
        for (const r of rows) acked.add(r.id);
      }
    }));
    t.comment(`${ROWS} rows acknowledged in ${Date.now() - started} ms with replica_ack=all`);
    t.equal(acked.size, ROWS);
    await waitFor('replicas converged', () => converged(table), { timeoutMs: 30_000, intervalMs: 100 });
    for (const p of table.partitions) {
      const sums = await checksums(table, p.pid);
      t.equal(new Set(sums).size, 1, `pid ${p.pid}: every replica has the same content checksum`);
    }
    const counts = await Promise.all(table.partitions.map(async (p) => (await http.call<{ rows: number }>(p.replicas[0]!.endpoint, '/v1/control/checksum', { tid: table.tid, pid: p.pid })).rows));
    t.equal(counts.reduce((a, b) => a + b, 0), ROWS, 'every acknowledged row is stored once');
  });

  await t.test('a follower killed during writes: writes go on, it catches up after restart', async (t) => {
    let stop = false;
    let failed = 0;
    let seq = 0;
    const writer = async (): Promise<void> => {
      while (!stop) {
        const id = `k${seq++}`;
        try {
          await client!.put('db', 'events', { id, n: seq, at: 2_000_000 + seq });
          acked.add(id);
        } catch {
          failed++;
        }
      }
    };
    const writers = Array.from({ length: 8 }, writer);
    await waitFor('writes flowing', () => seq > 200, { timeoutMs: 20_000, intervalMs: 10 });
    const killedAt = Date.now();
    tablets[2]!.kill('SIGKILL');
    const ackedAtKill = acked.size;
    await waitFor('t3 out of every in-sync set', async () => {
      const info = await client!.table('db', 'events');
      return info.partitions.every((p) => !p.inSync.includes(t3));
    }, { timeoutMs: 30_000, intervalMs: 100 });
    const removedAfterMs = Date.now() - killedAt;
    await waitFor('writes acknowledged again', () => acked.size > ackedAtKill + 200, { timeoutMs: 30_000, intervalMs: 20 });
    t.comment(`t3 left the in-sync sets ${removedAfterMs} ms after SIGKILL; writes resumed; ${failed} calls failed meanwhile (retried ones succeed inside the SDK)`);
    tablets[2] = await startTablet(3, t3);
    await waitFor('t3 back in every in-sync set', async () => {
      const info = await client!.table('db', 'events');
      return info.partitions.every((p) => p.inSync.includes(t3));
    }, { timeoutMs: 60_000, intervalMs: 100 });
    stop = true;
    await Promise.all(writers);
    await waitFor('replicas converged', () => converged(table), { timeoutMs: 30_000, intervalMs: 100 });
    for (const p of table.partitions) t.equal(new Set(await checksums(table, p.pid)).size, 1, `pid ${p.pid}: t3 has the same content as its leader`);
    const rows = await Promise.all(table.partitions.map(async (p) => (await http.call<{ rows: number }>(t3, '/v1/control/checksum', { tid: table.tid, pid: p.pid })).rows));
    t.equal(rows.reduce((a, b) => a + b, 0), acked.size, `t3 holds every acknowledged write (${acked.size})`);
  });

  await t.test('a follower kept down past binlog retention is rebuilt from a snapshot', async (t) => {
    const t3Before = await Promise.all(table.partitions.map(async (p) => (await http.call<{ replicas: Array<{ offset: number }> }>(t3, '/v1/control/status', { tid: table.tid, pid: p.pid })).replicas[0]!.offset));
    tablets[2]!.kill('SIGKILL');
    await tablets[2]!.exited;
    await waitFor('t3 out of every in-sync set', async () => (await client!.table('db', 'events')).partitions.every((p) => !p.inSync.includes(t3)), { timeoutMs: 30_000, intervalMs: 100 });
    const more = Array.from({ length: RETENTION * 8 }, (_, i) => ({ id: `s${i}`, n: i, at: 3_000_000 + i }));
    for (let i = 0; i < more.length; i += 1000) {
      await client!.putBatch('db', 'events', more.slice(i, i + 1000));
      for (const r of more.slice(i, i + 1000)) acked.add(r.id);
    }
    const oldestRetained = (): Promise<number[]> => Promise.all(table.partitions.map(async (p) => {
      const leader = p.replicas.find((r) => r.isLeader)!.endpoint;
      return (await http.call<{ replicas: Array<{ binlogFirstOffset: number }> }>(leader, '/v1/control/status', { tid: table.tid, pid: p.pid })).replicas[0]!.binlogFirstOffset;
    }));
    // Retention runs on a timer: wait until no leader's binlog reaches back to where t3 stopped.
    const firsts = await waitFor('binlogs truncated past t3', async () => {
      const f = await oldestRetained();
      return f.every((x, i) => t3Before[i]! + 1 < x) ? f : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    t.comment(`leaders' oldest retained offsets: ${firsts.join(', ')}`);
    tablets[2] = await startTablet(3, t3);
    await waitFor('replicas converged', () => converged(table), { timeoutMs: 60_000, intervalMs: 200 });
    let snapshots = 0;
    for (const p of table.partitions) {
      const leader = p.replicas.find((r) => r.isLeader)!.endpoint;
      const st = await http.call<{ replicas: Array<{ replication: { followers: Array<{ endpoint: string; snapshotsSent: number }> } }> }>(leader, '/v1/control/status', { tid: table.tid, pid: p.pid });
      snapshots += st.replicas[0]!.replication.followers.find((f) => f.endpoint === t3)!.snapshotsSent;
      t.equal(new Set(await checksums(table, p.pid)).size, 1, `pid ${p.pid}: same content after the rebuild`);
    }
    // No leader's binlog reached back to where t3 stopped (waited for above), so the equal content
    // can only have come from a snapshot. (The leaders' own count can restart from 0 when a
    // leader's replication is set up again meanwhile, e.g. after a lost ZooKeeper session.)
    t.comment(`t3 stopped at offsets ${t3Before.join(', ')}; snapshots the leaders report sending to it: ${snapshots}`);
  });

  await t.test('a put whose answer is lost is retried and applied once', async (t) => {
    const { DataClient } = await import('../src/index.js');
    // The first answer of each call is dropped after the tablet applied the write: the SDK sees
    // a transport failure and retries with the same write id.
    class LossyHttp extends HttpClient {
      private drop = true;
      override async call<T>(endpoint: string, p: string, body: unknown): Promise<T> {
        const res = await super.call<T>(endpoint, p, body);
        if (this.drop && p === '/v1/data/put') {
          this.drop = false;
          throw new TesseraError('UNAVAILABLE', 'answer lost');
        }
        return res;
      }
    }
    const lossy = new LossyHttp();
    const tables = (client as unknown as { tables: ConstructorParameters<typeof DataClient>[0] }).tables;
    const data = new DataClient(tables, lossy);
    const info = await client!.table('db', 'events');
    await data.put(info, ['retried-1', 1, 5_000_000], 0);
    await lossy.close();
    t.equal(await client!.count('db', 'events', { key: 'retried-1' }), 1, 'one row despite the retry');
  });

  await t.test('a row whose key is the empty string is read back by that key', async (t) => {
    await client!.put('db', 'events', { id: '', n: 1, at: 6_000_000 });
    const row = await client!.get('db', 'events', { key: '' });
    t.equal(Number(row?.n), 1, 'get(\'\') finds it');
    t.equal(await client!.count('db', 'events', { key: '' }), 1, 'count(\'\') counts it');
    t.equal((await client!.scan('db', 'events', { key: '', st: 6_000_000, et: 0 })).length, 1, 'scan(\'\') returns it');
  });
});
