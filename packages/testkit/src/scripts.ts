/**
 * Running the project's shell scripts (scripts/cluster.sh, scripts/start.sh) from tests. The tree
 * is built by scripts/test.sh before the tests run, so the scripts' set-up step is skipped.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './roles.js';

const run = promisify(execFile);

/** Runs `scripts/<script> args...`; resolves with its exit code and combined output. */
export async function runScript(script: string, args: string[], timeoutMs = 180_000): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run('bash', [path.join(REPO_ROOT, 'scripts', script), ...args], { timeout: timeoutMs, env: { ...process.env, TESSERA_SKIP_SETUP: '1' } });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}
