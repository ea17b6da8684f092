#!/usr/bin/env node
/**
 * `scripts/tessera --role=tablet|nameserver|ns_client [--flagfile=FILE] [--flag=value ...]`:
 * finds the role (also inside flagfiles), parses that role's flags strictly, and runs it. Bad
 * flags print a one-line reason and exit 1; nothing starts.
 */
import { readFileSync } from 'node:fs';
import { createLogger, findFlag, flagsHelp, isLogLevel, parseFlags, TesseraError, type FlagSpecs, type Logger, type LogLevel } from '@tessera/common';
import { TABLET_FLAGS, TabletServer } from '@tessera/tablet';
import { NAMESERVER_FLAGS, NameServer } from '@tessera/nameserver';
import { runNsClientRole } from './ns-client-role.js';
import { watchParent } from './parent-watch.js';

const NS_CLIENT_FLAGS = {
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

const ROLE_FLAG = { role: { type: 'string', default: '', doc: 'tablet | nameserver | ns_client' } } as const satisfies FlagSpecs;
const ROLES = ['tablet', 'nameserver', 'ns_client'] as const;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

async function runTablet(argv: string[]): Promise<void> {
  const flags = parseFlags({ ...ROLE_FLAG, ...TABLET_FLAGS }, argv);
  if (!flags.endpoint) fail('--endpoint is required for a tablet (host:port)');
  if (!isLogLevel(flags.log_level)) fail(`--log_level must be debug, info, warn or error`);
  const logger = roleLogger(`tablet ${flags.advertise_endpoint || flags.endpoint}`, flags.log_level, flags.log_file);
  const server = await TabletServer.start({
    endpoint: flags.endpoint,
    ...(flags.advertise_endpoint ? { advertiseEndpoint: flags.advertise_endpoint } : {}),
    dbRootPath: flags.db_root_path,
    gcIntervalMinutes: flags.gc_interval,
    bodyBytesMax: flags.http_body_bytes_max,
    shutdownTimeoutMs: flags.shutdown_timeout,
    binlogRetentionEntries: flags.binlog_retention_entries,
    replicaAckTimeoutMs: flags.replica_ack_timeout,
    snapshotBytesPerSecondMax: flags.stream_bandwidth_limit,
    minInSyncReplicas: flags.min_in_sync_replicas,
    logger,
    ...(flags.zk_cluster ? { zk: { cluster: flags.zk_cluster, rootPath: flags.zk_root_path, sessionTimeoutMs: flags.zk_session_timeout } } : {}),
  });
  installShutdown(logger, () => server.stop());
}

async function runNameserver(argv: string[]): Promise<void> {
  const flags = parseFlags({ ...ROLE_FLAG, ...NAMESERVER_FLAGS }, argv);
  if (!flags.endpoint) fail('--endpoint is required for a nameserver (host:port)');
  if (!flags.zk_cluster) fail('--zk_cluster is required for a nameserver');
  if (!isLogLevel(flags.log_level)) fail(`--log_level must be debug, info, warn or error`);
  const logger = roleLogger(`nameserver ${flags.advertise_endpoint || flags.endpoint}`, flags.log_level, flags.log_file);
  const ns = await NameServer.start({
    endpoint: flags.endpoint,
    ...(flags.advertise_endpoint ? { advertiseEndpoint: flags.advertise_endpoint } : {}),
    zkCluster: flags.zk_cluster,
    zkRootPath: flags.zk_root_path,
    zkSessionTimeoutMs: flags.zk_session_timeout,
    autoFailover: flags.auto_failover,
    tabletHeartbeatTimeoutMs: flags.tablet_heartbeat_timeout,
    taskConcurrency: flags.name_server_task_concurrency,
    tableStatusIntervalMs: flags.get_table_status_interval,
    inSyncLagEntriesMax: flags.in_sync_lag_entries,
    syncDeltaEntriesMax: flags.check_binlog_sync_progress_delta,
    syncStallTimeoutMs: flags.sync_stall_timeout,
    inSyncSilentMsMax: flags.in_sync_silent_ms,
    partitionNumDefault: flags.partition_num,
    replicaNumDefault: flags.replica_num,
    requestTimeoutMs: flags.request_timeout,
    logger,
  });
  installShutdown(logger, () => ns.stop());
}

async function runNsClientCli(argv: string[]): Promise<void> {
  const flags = parseFlags({ ...ROLE_FLAG, ...NS_CLIENT_FLAGS }, argv);
  if (!flags.zk_cluster) fail('--zk_cluster is required for ns_client');
  if (flags.format !== 'table' && flags.format !== 'json') fail('--format must be table or json');
  // --cmd given but holding no command (`--cmd=`, `--cmd=";"`) is a mistake, not a request for a prompt.
  if (findFlag(argv, 'cmd') !== undefined && flags.cmd.split(';').every((c) => c.trim() === '')) fail('Fail to run command: --cmd holds no command');
  const code = await runNsClientRole({
    zkCluster: flags.zk_cluster,
    zkRootPath: flags.zk_root_path,
    zkSessionTimeoutMs: flags.zk_session_timeout,
    ...(flags.endpoint ? { endpoint: flags.endpoint } : {}),
    ...(flags.database ? { database: flags.database } : {}),
    ...(flags.cmd ? { cmd: flags.cmd } : {}),
    interactive: flags.interactive,
    format: flags.format,
  });
  process.exitCode = code;
  // The ZooKeeper client's native handles may keep the loop alive a moment; nothing is left to
  // do but print. On a pipe stdout is asynchronous: exit only once everything written has been
  // handed to the pipe (an empty write's callback runs after every earlier write), or a reader
  // such as `| wc -c` gets the output cut.
  await flushStdout();
  process.exit(code);
}

/**
 * The version printed by --version and at startup: @tessera/cli's package.json (next to dist/ in
 * the repository and in a `pnpm deploy` output alike; kept equal to the root package's version).
 */
export function tesseraVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The role's logger: JSON lines to --log_file (reopened on SIGHUP, for logrotate), or stdout. */
function roleLogger(name: string, level: LogLevel, file: string): Logger {
  const logger = createLogger(name, level, file ? { file } : {});
  // logrotate moves the file and sends SIGHUP: go on in a new file at the same path.
  process.on('SIGHUP', () => {
    logger.reopen();
    logger.info(`SIGHUP: log file ${file || '(stdout)'} reopened`);
  });
  logger.info(`tessera ${tesseraVersion()} starting (node ${process.version}, pid ${process.pid})`);
  return logger;
}

function flushStdout(): Promise<void> {
  return new Promise((resolve) => {
    process.stdout.write('', () => resolve());
  });
}

function installShutdown(logger: ReturnType<typeof createLogger>, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal} received; shutting down`);
    stop().then(
      () => process.exit(0),
      (err) => {
        logger.error(`shutdown failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  watchParent((reason) => {
    logger.warn(`${reason}: stopping`);
    onSignal('SIGTERM');
  });
}

export async function main(argv: string[]): Promise<void> {
  if (argv.includes('--version') || argv.includes('-v')) {
    process.stdout.write(`tessera ${tesseraVersion()}\n`);
    return;
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`usage: scripts/tessera --role=${ROLES.join('|')} [--flagfile=FILE] [--flag=value ...]\n\ntablet flags:\n${flagsHelp(TABLET_FLAGS)}\n\nnameserver flags:\n${flagsHelp(NAMESERVER_FLAGS)}\n\nns_client flags:\n${flagsHelp(NS_CLIENT_FLAGS)}\n`);
    return;
  }
  const role = findFlag(argv, 'role');
  switch (role) {
    case 'tablet':
      return runTablet(argv);
    case 'nameserver':
      return runNameserver(argv);
    case 'ns_client':
      return runNsClientCli(argv);
    default:
      fail(`--role must be one of ${ROLES.join(', ')}${role ? `, not '${role}'` : ''}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof TesseraError) fail(err.message);
  fail(`fatal: ${(err as Error)?.stack ?? String(err)}`);
});
