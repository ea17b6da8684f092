/**
 * Real role processes for integration tests: spawns `node packages/roles/dist/src/main.js
 * --role=...` (what scripts/tessera runs) with flags, logs to a file, waits (bounded) until the
 * endpoint answers, and stops or kills it by pid. Every process started here is tracked so a
 * test's teardown can stop them all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
export const MAIN_JS = path.join(REPO_ROOT, 'packages/roles/dist/src/main.js');

export type FlagMap = Record<string, string | number | boolean>;

export interface RoleProcess {
  role: string;
  endpoint: string;
  pid: number;
  logFile: string;
  flags: FlagMap;
  child: ChildProcess;
  /** Resolves when the process exits. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves once it has exited. */
  stop(timeoutMs?: number): Promise<void>;
  log(): string;
}

const live = new Set<RoleProcess>();

function toArgs(flags: FlagMap): string[] {
  return Object.entries(flags).map(([k, v]) => `--${k}=${String(v)}`);
}

async function endpointAnswers(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`http://${endpoint}/v1/health`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/**
 * Starts a role process. `flags.endpoint` may be omitted: a free port on 127.0.0.1 is chosen
 * (and another one tried if the port was taken meanwhile).
 */
/**
 * Extra node options for every role process, from `TESSERA_ROLE_NODE_ARGS` (space-separated),
 * e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile a benchmark's roles (node refuses
 * `--cpu-prof` in NODE_OPTIONS).
 */
const ROLE_NODE_ARGS = (process.env.TESSERA_ROLE_NODE_ARGS ?? '').split(' ').filter((a) => a.length > 0);

export async function spawnRole(role: string, flags: FlagMap, options: {
  logFile: string; readyTimeoutMs?: number; waitReady?: boolean;
  /** A command the role runs under, which must exec it (e.g. `ip netns exec NS`): the pid stays the role's. */
  wrap?: string[];
}): Promise<RoleProcess> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const chooseEndpoint = flags.endpoint === undefined;
  for (let attempt = 0; ; attempt++) {
    const endpoint = chooseEndpoint ? `127.0.0.1:${await freePort()}` : String(flags.endpoint);
    const allFlags: FlagMap = role === 'ns_client' ? { ...flags } : { ...flags, endpoint };
    const fd = openSync(options.logFile, 'a');
    // The role exits by itself if this process dies without stopping it (packages/roles parent-watch).
    const env = { ...process.env, TESSERA_EXIT_WITH_PARENT: String(process.pid) };
    const argv = [process.execPath, ...ROLE_NODE_ARGS, MAIN_JS, `--role=${role}`, ...toArgs(allFlags)];
    const [cmd, ...args] = [...(options.wrap ?? []), ...argv];
    const child = spawn(cmd!, args, { cwd: REPO_ROOT, stdio: ['ignore', fd, fd], env });
    closeSync(fd);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    let done = false;
    void exited.then(() => {
      done = true;
    });
    const rp: RoleProcess = {
      role,
      endpoint,
      pid: child.pid!,
      logFile: options.logFile,
      flags: allFlags,
      child,
      exited,
      alive: () => !done,
      kill: (signal = 'SIGKILL') => {
        if (!done) child.kill(signal);
      },
      stop: async (timeoutMs = 15_000) => {
        if (done) return;
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        await exited;
        clearTimeout(t);
      },
      log: () => (existsSync(options.logFile) ? readFileSync(options.logFile, 'utf8') : ''),
    };
    live.add(rp);
    void exited.then(() => live.delete(rp));
    if (options.waitReady === false) return rp;
    const deadline = Date.now() + readyTimeoutMs;
    while (Date.now() < deadline && !done) {
      if (await endpointAnswers(endpoint)) return rp;
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!done) {
      await rp.stop();
      throw new Error(`${role} at ${endpoint} did not answer within ${readyTimeoutMs} ms; log:\n${rp.log().slice(-4000)}`);
    }
    const log = rp.log();
    if (chooseEndpoint && attempt < 3 && /EADDRINUSE/.test(log)) continue;
    throw new Error(`${role} at ${endpoint} exited during start; log:\n${log.slice(-4000)}`);
  }
}

/** Stops every role process still running (for teardown). */
export async function stopAllRoles(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop()));
}

/** Whether a process with this pid exists (signal 0), e.g. one a test expects gone. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
