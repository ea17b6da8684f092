/**
 * Test runs only: when `TESSERA_EXIT_WITH_PARENT` holds a pid (the test kit sets it on the role
 * processes it spawns), this process exits once that process is gone, so a test runner killed
 * mid-run (a timeout, --bail) leaves no role process behind. Unset in production.
 */
export const PARENT_WATCH_ENV = 'TESSERA_EXIT_WITH_PARENT';
const PARENT_CHECK_INTERVAL_MS = 1000;

export function watchParent(exit: (reason: string) => void): void {
  const text = process.env[PARENT_WATCH_ENV];
  if (text === undefined || text === '') return;
  const parentPid = Number(text);
  if (!Number.isSafeInteger(parentPid) || parentPid <= 1) return;
  const timer = setInterval(() => {
    try {
      process.kill(parentPid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') {
        clearInterval(timer);
        exit(`parent process ${parentPid} is gone`);
      }
    }
  }, PARENT_CHECK_INTERVAL_MS);
  timer.unref();
}
