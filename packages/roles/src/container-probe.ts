/**
 * The container image's HEALTHCHECK: finds the Tessera role running in this container (a process
 * whose command line has `--role=tablet|nameserver` and `--endpoint=host:port`), asks its
 * `/v1/health`, and exits 0 when it answers 200, 1 otherwise. Linux only (reads /proc); run as
 * `node dist/src/container-probe.js [PID]` in the image (PID: look at that process only).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** The probe gives the role this long to answer. */
const PROBE_TIMEOUT_MS = 2000;

function roleEndpoint(only?: string): string | undefined {
  const pids = only ? [only] : readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  for (const pid of pids) {
    let args: string[];
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!args.some((a) => a === '--role=tablet' || a === '--role=nameserver')) continue;
    const endpoint = args.find((a) => a.startsWith('--endpoint='))?.slice('--endpoint='.length);
    if (endpoint) return endpoint.replace(/^0\.0\.0\.0:/, '127.0.0.1:');
  }
  return undefined;
}

const endpoint = roleEndpoint(process.argv[2]);
if (!endpoint) {
  console.error('no tablet or nameserver process with --endpoint= in this container');
  process.exit(1);
}
try {
  const res = await fetch(`http://${endpoint}/v1/health`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`status ${res.status}`);
  console.log(`${endpoint} healthy`);
} catch (err) {
  console.error(`${endpoint} unhealthy: ${(err as Error).message}`);
  process.exit(1);
}
