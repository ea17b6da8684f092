/**
 * Free TCP ports for tests, taken outside the kernel's ephemeral range.
 *
 * A test picks a port and the server it starts binds it a moment later. Every outgoing
 * connection on the machine (clients of other tests, benchmarks, a server's own ZooKeeper
 * connection made before it listens) takes its local port from the ephemeral range
 * (`/proc/sys/net/ipv4/ip_local_port_range`, 32768–60999 by default); a port picked inside it can
 * be taken as a source port in between, and the server exits with EADDRINUSE. That happened in a
 * loaded CI run: a nameserver alone in its network namespace could not listen on its port after
 * its own ZooKeeper connection was made (chaos-oneway.test, 6 Dec). Outside that range only
 * another explicit bind can take the port, which a probe sees. The caller must still be ready for
 * another test to bind the same port first (retry on bind failure).
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';

export const PORT_LIMITS = {
  /** Lowest port handed out (below: well-known and registered services). */
  lowest: 10_000,
  highest: 65_535,
  /** Random candidates probed before giving up. */
  attemptsMax: 200,
} as const;

/** The kernel's ephemeral port range, [low, high] (Linux's default when it cannot be read). */
export function ephemeralPortRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high) && low! <= high!) return [low!, high!];
  } catch {
    // not Linux, or no /proc: the default
  }
  return [32_768, 60_999];
}

/** A random base P such that P..P+span-1 lie outside the ephemeral range (not probed). */
function candidateBase(span: number): number {
  const [low, high] = ephemeralPortRange();
  const below = Math.max(0, low - span - PORT_LIMITS.lowest + 1); // bases in [lowest, low - span]
  const above = Math.max(0, PORT_LIMITS.highest - span - high + 1); // bases in [high + 1, highest - span + 1]
  if (below + above === 0) throw new Error(`no ${span} ports outside the ephemeral range ${low}-${high}`);
  const pick = Math.floor(Math.random() * (below + above));
  return pick < below ? PORT_LIMITS.lowest + pick : high + 1 + (pick - below);
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.unref();
    s.once('error', () => resolve(false));
    s.listen({ host: '127.0.0.1', port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** A base port P such that P..P+span-1 are all free on 127.0.0.1 now, outside the ephemeral range. */
export async function freePortRange(span: number): Promise<number> {
  for (let attempt = 0; attempt < PORT_LIMITS.attemptsMax; attempt++) {
    const base = candidateBase(span);
    let ok = true;
    for (let p = base; p < base + span && ok; p++) ok = await portFree(p);
    if (ok) return base;
  }
  throw new Error(`no free range of ${span} ports found outside the ephemeral range`);
}

/** A port that was free on 127.0.0.1 a moment ago, outside the ephemeral range. */
export function freePort(): Promise<number> {
  return freePortRange(1);
}
