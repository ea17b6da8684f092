/**
 * The two server roles, `--role=tablet` and `--role=nameserver`: parses the role's flags
 * strictly, checks what it cannot start without, opens its logger (JSON lines to --log_file,
 * reopened on SIGHUP) and starts the server; SIGTERM/SIGINT (or the test runner's exit, see
 * parent-watch.ts) stop it. Both roles share one start path; each says only its required flags
 * and how its flags become the server's options.
 */
import { createLogger, isLogLevel, parseFlags, TesseraError, type FlagSpecs, type FlagValues, type Logger, type LogLevel } from '@tessera/common';
import { TABLET_FLAGS, TabletServer } from '@tessera/tablet';
import { NAMESERVER_FLAGS, NameServer } from '@tessera/nameserver';
import { watchParent } from './parent-watch.js';
import { ROLE_FLAG, tesseraVersion } from './role-entry.js';
import { applyV8Flags, TABLET_V8_FLAGS } from './v8-settings.js';

/** Flags every server role has. */
interface ServerFlags {
  endpoint: string;
  advertise_endpoint: string;
  log_level: string;
  log_file: string;
}

/** What a server role's start gets besides its flags. */
interface ServerBase {
  endpoint: string;
  advertiseEndpoint?: string;
  logger: Logger;
}

interface ServerRole<S extends FlagSpecs> {
  name: 'tablet' | 'nameserver';
  flags: S;
  /** Flags the role cannot start without: returns the refusal, or undefined. */
  missing(flags: FlagValues<S>): string | undefined;
  start(flags: FlagValues<S>, base: ServerBase): Promise<{ stop(): Promise<void> }>;
  /** V8 flags the role's process sets before it starts (v8-settings.ts). */
  v8Flags?: readonly string[];
}

const TABLET_ROLE: ServerRole<typeof TABLET_FLAGS> = {
  name: 'tablet',
  flags: TABLET_FLAGS,
  missing: (flags) => (flags.endpoint ? undefined : '--endpoint is required for a tablet (host:port)'),
  v8Flags: TABLET_V8_FLAGS,
  start: (flags, base) =>
    TabletServer.start({
      ...base,
      dbRootPath: flags.db_root_path,
      gcIntervalMinutes: flags.gc_interval,
      bodyBytesMax: flags.http_body_bytes_max,
      shutdownTimeoutMs: flags.shutdown_timeout,
      binlogRetentionEntries: flags.binlog_retention_entries,
      replicaAckTimeoutMs: flags.replica_ack_timeout,
      snapshotBytesPerSecondMax: flags.stream_bandwidth_limit,
      minInSyncReplicas: flags.min_in_sync_replicas,
      slowRequestMs: flags.slow_request_ms,
      ...(flags.zk_cluster ? { zk: { cluster: flags.zk_cluster, rootPath: flags.zk_root_path, sessionTimeoutMs: flags.zk_session_timeout } } : {}),
    }),
};

const NAMESERVER_ROLE: ServerRole<typeof NAMESERVER_FLAGS> = {
  name: 'nameserver',
  flags: NAMESERVER_FLAGS,
  missing: (flags) => {
    if (!flags.endpoint) return '--endpoint is required for a nameserver (host:port)';
    if (!flags.zk_cluster) return '--zk_cluster is required for a nameserver';
    return undefined;
  },
  start: (flags, base) =>
    NameServer.start({
      ...base,
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
    }),
};

async function runServerRole<S extends FlagSpecs>(role: ServerRole<S>, argv: string[]): Promise<void> {
  const flags = parseFlags({ ...ROLE_FLAG, ...role.flags }, argv) as FlagValues<S> & ServerFlags;
  const refusal = role.missing(flags);
  if (refusal) throw new TesseraError('INVALID_ARGUMENT', refusal);
  if (!isLogLevel(flags.log_level)) throw new TesseraError('INVALID_ARGUMENT', '--log_level must be debug, info, warn or error');
  const logger = roleLogger(`${role.name} ${flags.advertise_endpoint || flags.endpoint}`, flags.log_level, flags.log_file);
  const v8Flags = applyV8Flags(role.v8Flags ?? []);
  if (v8Flags.length > 0) logger.info(`V8 flags set: ${v8Flags.join(' ')}`);
  const server = await role.start(flags, {
    endpoint: flags.endpoint,
    ...(flags.advertise_endpoint ? { advertiseEndpoint: flags.advertise_endpoint } : {}),
    logger,
  });
  installShutdown(logger, () => server.stop());
}

export const runTablet = (argv: string[]): Promise<void> => runServerRole(TABLET_ROLE, argv);
export const runNameserver = (argv: string[]): Promise<void> => runServerRole(NAMESERVER_ROLE, argv);

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

function installShutdown(logger: Logger, stop: () => Promise<void>): void {
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
