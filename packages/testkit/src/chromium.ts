/**
 * Debian packages a test needs (a headless browser for the status page: `chromium`; `docker-compose`
 * to validate the compose file), installed with apt-get when missing and the test runs as root. Each resolves with the
 * binary's path, or with the reason it cannot be had (the caller skips with that reason; never a download from elsewhere).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);
const CHROMIUM_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
/** apt-get waits this long for another install's lock before giving up. */
const APT_LOCK_TIMEOUT_S = 300;
const APT_INSTALL_TIMEOUT_MS = 900_000;

/**
 * Makes sure one of `paths` exists, installing Debian's `pkg` (no recommends) with apt-get when it
 * is missing and this process runs as root on Linux. Resolves with the path found, or the reason.
 */
export async function ensureDebianPackage(pkg: string, paths: string[]): Promise<{ path: string } | { skip: string }> {
  const found = (): string | undefined => paths.find((p) => existsSync(p));
  let path = found();
  if (path) return { path };
  if (process.platform !== 'linux') return { skip: `no ${pkg} at ${paths.join(' or ')} and not Linux (install ${pkg} to run this test)` };
  if (process.getuid?.() !== 0) return { skip: `no ${pkg} at ${paths.join(' or ')}; run as root to let the test install it, or: sudo apt-get install -y ${pkg}` };
  const apt = (args: string[]): Promise<unknown> => run('apt-get', ['-o', `DPkg::Lock::Timeout=${APT_LOCK_TIMEOUT_S}`, ...args], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: APT_INSTALL_TIMEOUT_MS,
  });
  const install = ['install', '-y', '-qq', '--no-install-recommends', pkg];
  try {
    // Stale package lists are refreshed once when the first try fails.
    await apt(install).catch(async () => { await apt(['update', '-qq']); await apt(install); });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    return { skip: `${pkg} missing and apt-get install -y ${pkg} failed: ${(e.stderr ?? e.message).trim().split('\n').slice(-3).join(' ')}` };
  }
  path = found();
  return path ? { path } : { skip: `apt-get installed ${pkg} but nothing is at ${paths.join(' or ')}` };
}

export function ensureChromium(): Promise<{ path: string } | { skip: string }> {
  return ensureDebianPackage('chromium', CHROMIUM_PATHS);
}
