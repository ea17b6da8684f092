#!/usr/bin/env node
/**
 * `scripts/tessera --role=tablet|nameserver|ns_client [--flagfile=FILE] [--flag=value ...]`:
 * finds the role (also inside flagfiles), parses that role's flags strictly, and runs it. Bad
 * flags print a one-line reason and exit 1; nothing starts.
 */
import { createLogger, findFlag, flagsHelp, isLogLevel, parseFlags, TesseraError, type FlagSpecs } from '@tessera/common';
import { TABLET_FLAGS, TabletServer } from '@tessera/tablet';

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
  const logger = createLogger(`tablet ${flags.endpoint}`, flags.log_level);
  const server = await TabletServer.start({
    endpoint: flags.endpoint,
    dbRootPath: flags.db_root_path,
    gcIntervalMinutes: flags.gc_interval,
    bodyBytesMax: flags.http_body_bytes_max,
    shutdownTimeoutMs: flags.shutdown_timeout,
    logger,
    ...(flags.zk_cluster ? { zk: { cluster: flags.zk_cluster, rootPath: flags.zk_root_path, sessionTimeoutMs: flags.zk_session_timeout } } : {}),
  });
  installShutdown(logger, () => server.stop());
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
}

export async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`usage: scripts/tessera --role=${ROLES.join('|')} [--flagfile=FILE] [--flag=value ...]\n\ntablet flags:\n${flagsHelp(TABLET_FLAGS)}\n`);
    return;
  }
  const role = findFlag(argv, 'role');
  switch (role) {
    case 'tablet':
      return runTablet(argv);
    default:
      fail(`--role must be one of ${ROLES.join(', ')}${role ? `, not '${role}'` : ''}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof TesseraError) fail(err.message);
  fail(`fatal: ${(err as Error)?.stack ?? String(err)}`);
});
