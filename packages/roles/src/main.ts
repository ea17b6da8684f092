#!/usr/bin/env node
/**
 * `scripts/tessera --role=tablet|nameserver|ns_client [--flagfile=FILE] [--flag=value ...]`:
 * finds the role (also inside flagfiles) and runs it — the servers from server-roles.ts, the
 * ns_client command line from @tessera/cli. Bad flags print a one-line reason and exit 1;
 * nothing starts. Only the role that runs is loaded (an ns_client process starts in about half the
 * CPU time when it does not load the servers' modules).
 */
import { findFlag, flagsHelp, TesseraError } from '@tessera/common';
import { ROLE_FLAG, tesseraVersion } from './role-entry.js';

const ROLES = ['tablet', 'nameserver', 'ns_client'] as const;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

async function runNsClient(argv: string[]): Promise<void> {
  const { runNsClientCommandLine } = await import('@tessera/cli');
  const code = await runNsClientCommandLine(argv, ROLE_FLAG);
  process.exitCode = code;
  // The ZooKeeper client's native handles may keep the loop alive a moment; nothing is left to
  // do but print. On a pipe stdout is asynchronous: exit only once everything written has been
  // handed to the pipe (an empty write's callback runs after every earlier write), or a reader
  // such as `| wc -c` gets the output cut.
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(code);
}

export async function main(argv: string[]): Promise<void> {
  if (argv.includes('--version') || argv.includes('-v')) {
    process.stdout.write(`tessera ${tesseraVersion()}\n`);
    return;
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    const [{ TABLET_FLAGS }, { NAMESERVER_FLAGS }, { NS_CLIENT_FLAGS }] = await Promise.all([import('@tessera/tablet'), import('@tessera/nameserver'), import('@tessera/cli')]);
    process.stdout.write(`usage: scripts/tessera --role=${ROLES.join('|')} [--flagfile=FILE] [--flag=value ...]\n\ntablet flags:\n${flagsHelp(TABLET_FLAGS)}\n\nnameserver flags:\n${flagsHelp(NAMESERVER_FLAGS)}\n\nns_client flags:\n${flagsHelp(NS_CLIENT_FLAGS)}\n`);
    return;
  }
  const role = findFlag(argv, 'role');
  switch (role) {
    case 'tablet':
      return (await import('./server-roles.js')).runTablet(argv);
    case 'nameserver':
      return (await import('./server-roles.js')).runNameserver(argv);
    case 'ns_client':
      return runNsClient(argv);
    default:
      fail(`--role must be one of ${ROLES.join(', ')}${role ? `, not '${role}'` : ''}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof TesseraError) fail(err.message);
  fail(`fatal: ${(err as Error)?.stack ?? String(err)}`);
});
