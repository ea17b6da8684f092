/**
 * Temporary directories for tests. The caller owns the directory and removes it in teardown
 * (`removeDir`), so nothing is left behind in the system temp dir.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Creates a fresh, empty directory `<tmpdir>/tessera-<prefix>-<six random characters>` and returns its path. */
export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `tessera-${prefix}-`));
}

/** Removes a directory tree; a missing directory is not an error. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
