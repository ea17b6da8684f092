/**
 * A headless browser for end-to-end tests of the status page: Debian's `chromium`, installed with
 * apt-get when missing and the test runs as root. Resolves with the binary's path, or with the
 * reason it cannot be had (the caller skips with that reason; never a download from elsewhere).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);
const CHROMIUM_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
/** apt-get waits this long for another install's lock before giving up. */
const APT_LOCK_TIMEOUT_S = 300;
const APT_INSTALL_TIMEOUT_MS = 900_000;

export async function ensureChromium(): Promise<{ path: string } | { skip: string }> {
  const found = (): string | undefined => CHROMIUM_PATHS.find((p) => existsSync(p));
  let path = found();
  if (path) return { path };
  if (process.platform !== 'linux') return { skip: `no chromium at ${CHROMIUM_PATHS.join(' or ')} and not Linux (install Chromium to run this test)` };
  if (process.getuid?.() !== 0) return { skip: `no chromium at ${CHROMIUM_PATHS.join(' or ')}; run as root to let the test install it, or: sudo apt-get install -y chromium` };
  const apt = (args: string[]): Promise<unknown> => run('apt-get', ['-o', `DPkg::Lock::Timeout=${APT_LOCK_TIMEOUT_S}`, ...args], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: APT_INSTALL_TIMEOUT_MS,
  });
  const install = ['install', '-y', '-qq', '--no-install-recommends', 'chromium'];
  try {
    // Stale package lists are refreshed once when the first try fails.
    await apt(install).catch(async () => { await apt(['update', '-qq']); await apt(install); });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    return { skip: `chromium missing and apt-get install -y chromium failed: ${(e.stderr ?? e.message).trim().split('\n').slice(-3).join(' ')}` };
  }
  path = found();
  return path ? { path } : { skip: 'apt-get installed chromium but no binary is at /usr/bin/chromium' };
}
