/**
 * The base of every process test (`startProcessTest`: a temp dir, an HttpClient, optionally
 * ZooKeeper, and their teardown) and on it a whole test cluster on real processes
 * (`startTestCluster`): owns a temp dir, a ZooKeeper
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

export interface ProcessTestBase<Z extends ZkServer | undefined> {
  dir: string;
  http: HttpClient;
  zk: Z;
  /** Runs `fn` at teardown before anything of the base is stopped (a client, a proxy), in the order added. */
  beforeTeardown(fn: () => unknown): void;
}

/**
 * What every process test stands on: a temp dir (prefix `name`), an HttpClient, and with `zk` a
 * ZooKeeper server under `<dir>/zk`. Teardown, registered on the test: the `beforeTeardown`
 * functions, close the HttpClient, stop every role process, stop ZooKeeper, then remove the dir —
 * or keep it and print its path when the test failed.
 */
export async function startProcessTest<WithZk extends boolean>(t: TestHandle, name: string, o: { httpTimeoutMs: number; connectionsPerEndpoint?: number; zk: WithZk }): Promise<ProcessTestBase<WithZk extends true ? ZkServer : undefined>> {
  const dir = tempDir(name);
  const http = new HttpClient({ timeoutMs: o.httpTimeoutMs, ...(o.connectionsPerEndpoint !== undefined ? { connectionsPerEndpoint: o.connectionsPerEndpoint } : {}) });
  const first: Array<() => unknown> = [];
  const base: ProcessTestBase<ZkServer | undefined> = { dir, http, zk: undefined, beforeTeardown: (fn) => first.push(fn) };
  t.teardown(async () => {
    for (const fn of first) await fn();
    await http.close();
    await stopAllRoles();
    await base.zk?.stop();
    if (t.passing()) removeDir(dir);
    else t.comment(`logs kept in ${dir}`);
  });
  if (o.zk) base.zk = await startZooKeeper({ dir: path.join(dir, 'zk') });
  return base as ProcessTestBase<WithZk extends true ? ZkServer : undefined>;
}

/** Starts ZooKeeper, the nameservers, the tablets and the client, and waits until every tablet is healthy. */
export async function startTestCluster<C extends ClusterClient>(t: TestHandle, opts: TestClusterOptions<C>): Promise<TestCluster<C>> {
  const { dir, http, zk, beforeTeardown } = await startProcessTest(t, opts.name, { httpTimeoutMs: opts.httpTimeoutMs, zk: true });
  let client: C | undefined;
  beforeTeardown(() => client?.close().catch(() => undefined));
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
