/**
 * The ns_client command line (`scripts/tessera --role=ns_client`, launched by @tessera/roles):
 * its flags, then the role itself, which connects to ZooKeeper, finds the leader nameserver (and follows it), and
 * runs the command line over the admin API and the SDK's data path. `showns` is read from
 * ZooKeeper directly, as OpenMLDB's ns_client does, so it works while no nameserver leads.
 * `disconnectzk` / `connectzk` act on one process: with `--endpoint` they go to that nameserver
 * (the only way to reach one that left ZooKeeper), otherwise to the leader.
 */
import { findFlag, nsRoute, parseFlags, TesseraError, type DataOps, type FlagSpecs, type NsAdmin } from '@tessera/common';
import { CoordSession, zkLayout, type ZkLayout } from '@tessera/coord';
import { DataClient, NsAdminClient, TableCache } from '@tessera/client';
import { HttpClient } from '@tessera/common';
import { runNsClient } from './nsclient/index.js';
import { clusterProbe } from './health-probe.js';

export const NS_CLIENT_FLAGS = {
  zk_cluster: { type: 'string', default: '', doc: 'ZooKeeper servers, host:port,host:port' },
  zk_root_path: { type: 'string', default: '/tessera', doc: 'root node of the cluster in ZooKeeper' },
  zk_session_timeout: { type: 'int', default: 10000, doc: 'ZooKeeper session timeout, ms' },
  endpoint: { type: 'string', default: '', doc: 'nameserver that disconnectzk/connectzk act on (default the leader); other commands go to the leader found in ZooKeeper' },
  cmd: { type: 'string', default: '', doc: "commands to run and exit, separated by ';'" },
  database: { type: 'string', default: '', doc: 'database to use' },
  interactive: { type: 'bool', default: true, doc: 'ask yes/no before destructive commands' },
  format: { type: 'string', default: 'table', doc: 'table | json' },
  log_level: { type: 'string', default: 'warn', doc: 'debug | info | warn | error' },
} as const satisfies FlagSpecs;

/**
 * Parses ns_client's flags strictly (with the launcher's own, such as `--role`, accepted beside
 * them) and runs the command line; returns the exit code. Bad flags throw INVALID_ARGUMENT with
 * the one-line reason the launcher prints.
 */
export async function runNsClientCommandLine(argv: string[], launcherFlags: FlagSpecs): Promise<number> {
  const flags = parseFlags({ ...launcherFlags, ...NS_CLIENT_FLAGS }, argv);
  if (!flags.zk_cluster) throw new TesseraError('INVALID_ARGUMENT', '--zk_cluster is required for ns_client');
  if (flags.format !== 'table' && flags.format !== 'json') throw new TesseraError('INVALID_ARGUMENT', '--format must be table or json');
  // --cmd given but holding no command (`--cmd=`, `--cmd=";"`) is a mistake, not a request for a prompt.
  if (findFlag(argv, 'cmd') !== undefined && flags.cmd.split(';').every((c) => c.trim() === '')) throw new TesseraError('INVALID_ARGUMENT', 'Fail to run command: --cmd holds no command');
  return runNsClientRole({
    zkCluster: flags.zk_cluster,
    zkRootPath: flags.zk_root_path,
    zkSessionTimeoutMs: flags.zk_session_timeout,
    ...(flags.endpoint ? { endpoint: flags.endpoint } : {}),
    ...(flags.database ? { database: flags.database } : {}),
    ...(flags.cmd ? { cmd: flags.cmd } : {}),
    interactive: flags.interactive,
    format: flags.format,
  });
}

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

export async function runNsClientRole(options: NsClientRoleOptions): Promise<number> {
  let session: CoordSession;
  try {
    session = await CoordSession.connect({ zkCluster: options.zkCluster, rootPath: options.zkRootPath, sessionTimeoutMs: options.zkSessionTimeoutMs, connectTimeoutMs: 10_000 });
  } catch (err) {
    throw new TesseraError('COORD_ERROR', `cannot connect to ZooKeeper at ${options.zkCluster}: ${(err as Error).message}`);
  }
  const layout = zkLayout(options.zkRootPath);
  const adminClient = new NsAdminClient(session, layout);
  const tables = new TableCache(session, layout);
  const http = new HttpClient({ connectionsPerEndpoint: 4, timeoutMs: 20_000 });
  try {
    await tables.start();
    await adminClient.leaderEndpoint(true);
    const admin: NsAdmin = { ...adminClient.asNsAdmin(), showns: () => showNsFromZk(session, layout) };
    const target = options.endpoint;
    if (target !== undefined) {
      admin.disconnectzk = (req) => http.call(target, nsRoute('disconnectzk'), req);
      admin.connectzk = (req) => http.call(target, nsRoute('connectzk'), req);
    }
    const probe = clusterProbe(session, layout, http);
    const opts: Parameters<typeof runNsClient>[0] = {
      admin,
      data: dataOps(new DataClient(tables, http)),
      interactive: options.interactive,
      leaderEndpoint: () => adminClient.cachedLeader,
      format: options.format,
      probe,
      completion: {
        tables: async (db) => (await probe.tables()).filter((t) => t.schema.db === db).map((t) => t.schema.name),
        dbs: async () => (await admin.showdb({})).dbs,
      },
    };
    if (options.database) opts.database = options.database;
    if (options.cmd !== undefined) opts.cmd = options.cmd;
    return await runNsClient(opts);
  } finally {
    tables.stop();
    await adminClient.close();
    await http.close();
    await session.close();
  }
}
