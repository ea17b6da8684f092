/**
 * A whole test cluster on real processes, for the process tests: owns a temp dir, a ZooKeeper
 * server, an HttpClient, a client connected to the cluster, the nameserver and tablet processes
 * (logs `ns<i>.log` / `t<i>.log`, tablet data `t<i>/` in the dir), and their teardown, which it
 * registers on the test: close the client and the HttpClient, stop every role process, stop
 * ZooKeeper, then remove the dir — or keep it and print its path when the test failed.
 *
 * The client is made by the caller (`connect`), so testkit does not depend on @tessera/client
 * (whose tests depend on testkit). The test handle is the part of tap's `Test` used here.
 */
import path from 'node:path';
import { HttpClient, waitFor, type NsAdmin } from '@tessera/common';
import { nsClient, type NsClientResult } from './nsclient.js';
import { spawnRole, stopAllRoles, type FlagMap, type RoleProcess } from './roles.js';
import { removeDir, tempDir } from './tmp.js';
import { startZooKeeper, type ZkServer } from './zookeeper.js';

/** What the fixture needs of a test (tap's `Test` has it). */
export interface TestHandle {
  teardown(fn: () => unknown): void;
  passing(): boolean;
  comment(message: string): void;
}

/** What the fixture needs of a client (`Client` from @tessera/client has it). */
export interface ClusterClient {
  readonly admin: Pick<NsAdmin, 'showtablet'>;
  createDatabase(db: string): Promise<void>;
  close(): Promise<void>;
}

export interface TestClusterOptions<C extends ClusterClient> {
  /** Prefix of the temp dir. */
  name: string;
  zkRootPath: string;
  zkSessionTimeoutMs: number;
  /** Connects the client once the processes are up, e.g. `(zkCluster, zkRootPath) => Client.connect({ zkCluster, zkRootPath })`. */
  connect: (zkCluster: string, zkRootPath: string) => Promise<C>;
  nameservers: number;
  tablets: number;
  /** Flags of every nameserver beside `zk_cluster`, `zk_root_path`, `zk_session_timeout`. */
  nsFlags?: FlagMap;
  /** Flags of every tablet beside those and `db_root_path`. */
  tabletFlags?: FlagMap;
  httpTimeoutMs: number;
  /** Bound on the wait for every tablet to be healthy. */
  tabletsHealthyTimeoutMs: number;
  /** Created once the tablets are healthy; the `--database` of `cli`. */
  database?: string;
}

export interface TestCluster<C extends ClusterClient> {
  dir: string;
  zk: ZkServer;
  http: HttpClient;
  client: C;
  /** The processes started by the fixture, in order; the test may replace or remove entries. */
  ns: RoleProcess[];
  tablets: RoleProcess[];
  /** Starts nameserver `i` (log `ns<i>.log`); not added to `ns`. */
  startNs(i: number): Promise<RoleProcess>;
  /** Starts tablet `i` (data `t<i>/`, log `t<i>.log`), on `endpoint` if given (a restart); not added to `tablets`. */
  startTablet(i: number, endpoint?: string): Promise<RoleProcess>;
  /** Runs ns_client once against the cluster, with `--database` and any `extra` flags. */
  cli(cmd: string, extra?: Record<string, string>): Promise<NsClientResult>;
}

/** Starts ZooKeeper, the nameservers, the tablets and the client, and waits until every tablet is healthy. */
export async function startTestCluster<C extends ClusterClient>(t: TestHandle, opts: TestClusterOptions<C>): Promise<TestCluster<C>> {
  const dir = tempDir(opts.name);
  const http = new HttpClient({ timeoutMs: opts.httpTimeoutMs });
  let zk: ZkServer | undefined;
  let client: C | undefined;
  t.teardown(async () => {
    await client?.close().catch(() => undefined);
    await http.close();
    await stopAllRoles();
    await zk?.stop();
    if (t.passing()) removeDir(dir);
    else t.comment(`logs kept in ${dir}`);
  });
  zk = await startZooKeeper({ dir: path.join(dir, 'zk') });
  const zkCluster = zk.connectString;
  const common: FlagMap = { zk_cluster: zkCluster, zk_root_path: opts.zkRootPath, zk_session_timeout: opts.zkSessionTimeoutMs };
  const startNs = (i: number): Promise<RoleProcess> => spawnRole('nameserver', { ...common, ...opts.nsFlags }, { logFile: path.join(dir, `ns${i}.log`) });
  const startTablet = (i: number, endpoint?: string): Promise<RoleProcess> =>
    spawnRole('tablet', { ...common, db_root_path: path.join(dir, `t${i}`), ...opts.tabletFlags, ...(endpoint ? { endpoint } : {}) }, { logFile: path.join(dir, `t${i}.log`) });
  const ns: RoleProcess[] = [];
  for (let i = 1; i <= opts.nameservers; i++) ns.push(await startNs(i));
  const tablets: RoleProcess[] = [];
  for (let i = 1; i <= opts.tablets; i++) tablets.push(await startTablet(i));
  const connected = await opts.connect(zkCluster, opts.zkRootPath);
  client = connected;
  await waitFor(`${opts.tablets} tablets`, async () => (await connected.admin.showtablet({})).tablets.filter((x) => x.state === 'kTabletHealthy').length === opts.tablets, { timeoutMs: opts.tabletsHealthyTimeoutMs, intervalMs: 100 });
  if (opts.database !== undefined) await connected.createDatabase(opts.database);
  const database: Record<string, string> = opts.database === undefined ? {} : { database: opts.database };
  const cli = (cmd: string, extra: Record<string, string> = {}): Promise<NsClientResult> => nsClient(zkCluster, cmd, { ...database, ...extra }, opts.zkRootPath);
  return { dir, zk, http, client: connected, ns, tablets, startNs, startTablet, cli };
}
