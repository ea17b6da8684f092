/**
 * The ns_client role: connects to ZooKeeper, finds the leader nameserver (and follows it), and
 * runs the command line over the admin API and the SDK's data path. `showns` is read from
 * ZooKeeper directly, as OpenMLDB's ns_client does, so it works while no nameserver leads.
 * `disconnectzk` / `connectzk` act on one process: with `--endpoint` they go to that nameserver
 * (the only way to reach one that left ZooKeeper), otherwise to the leader.
 */
import { nsRoute, TesseraError, type DataOps, type NsAdmin } from '@tessera/common';
import { CoordSession, zkLayout, type ZkLayout } from '@tessera/coord';
import { DataClient, NsAdminClient, TableCache } from '@tessera/client';
import { HttpClient } from '@tessera/common';
import { runNsClient } from './nsclient/index.js';
import { clusterProbe } from './health-probe.js';

export interface NsClientRoleOptions {
  zkCluster: string;
  zkRootPath: string;
  zkSessionTimeoutMs: number;
  /** Nameserver that disconnectzk / connectzk go to (default: the leader). */
  endpoint?: string;
  database?: string;
  cmd?: string;
  interactive: boolean;
  format: 'table' | 'json';
}

/** Reads `/leader` children in sequence order: the first leads. */
async function showNsFromZk(session: CoordSession, layout: ZkLayout): Promise<{ nameservers: Array<{ endpoint: string; role: 'leader' | 'standby' }> }> {
  const names = (await session.children(layout.leaderDir)).filter((n) => n.startsWith(layout.leaderLockName));
  names.sort((a, b) => Number(a.slice(layout.leaderLockName.length)) - Number(b.slice(layout.leaderLockName.length)));
  const out: Array<{ endpoint: string; role: 'leader' | 'standby' }> = [];
  for (const n of names) {
    const node = await session.get(`${layout.leaderDir}/${n}`);
    if (node) out.push({ endpoint: node.data.toString('utf8'), role: out.length === 0 ? 'leader' : 'standby' });
  }
  return { nameservers: out };
}

/** DataOps of ns_client on top of the SDK's routed data client. */
function dataOps(data: DataClient): DataOps {
  return {
    put: (table, tsMs, values) => data.put(table, values, tsMs),
    get: async (table, key, index, tsMs) => {
      const r = await data.get(table, index, key, tsMs);
      return r ? { tsMs: r.ts, values: r.values } : undefined;
    },
    scan: async (table, key, index, stMs, etMs, limit) => (await data.scan(table, index, key, stMs, etMs, limit)).map((r) => ({ tsMs: r.ts, values: r.values })),
    count: (table, key, index) => data.count(table, index, key),
    preview: async (table, limit) => (await data.preview(table, limit)).map((r) => ({ tsMs: r.ts, values: r.values })),
    delete: async (table, key, index) => {
      await data.delete(table, index, key);
    },
  };
}

export async function runNsClientRole(o: NsClientRoleOptions): Promise<number> {
  let session: CoordSession;
  try {
    session = await CoordSession.connect({ zkCluster: o.zkCluster, rootPath: o.zkRootPath, sessionTimeoutMs: o.zkSessionTimeoutMs, connectTimeoutMs: 10_000 });
  } catch (err) {
    throw new TesseraError('COORD_ERROR', `cannot connect to ZooKeeper at ${o.zkCluster}: ${(err as Error).message}`);
  }
  const layout = zkLayout(o.zkRootPath);
  const adminClient = new NsAdminClient(session, layout);
  const tables = new TableCache(session, layout);
  const http = new HttpClient({ connectionsPerEndpoint: 4, timeoutMs: 20_000 });
  try {
    await tables.start();
    await adminClient.leaderEndpoint(true);
    const admin: NsAdmin = { ...adminClient.asNsAdmin(), showns: () => showNsFromZk(session, layout) };
    const target = o.endpoint;
    if (target !== undefined) {
      admin.disconnectzk = (req) => http.call(target, nsRoute('disconnectzk'), req);
      admin.connectzk = (req) => http.call(target, nsRoute('connectzk'), req);
    }
    const probe = clusterProbe(session, layout, http);
    const opts: Parameters<typeof runNsClient>[0] = {
      admin,
      data: dataOps(new DataClient(tables, http)),
      interactive: o.interactive,
      leaderEndpoint: () => adminClient.cachedLeader,
      format: o.format,
      probe,
      completion: {
        tables: async (db) => (await probe.tables()).filter((t) => t.schema.db === db).map((t) => t.schema.name),
        dbs: async () => (await admin.showdb({})).dbs,
      },
    };
    if (o.database) opts.database = o.database;
    if (o.cmd !== undefined) opts.cmd = o.cmd;
    return await runNsClient(opts);
  } finally {
    tables.stop();
    await adminClient.close();
    await http.close();
    await session.close();
  }
}
