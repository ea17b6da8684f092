/**
 * What each role process of a cluster.sh cluster does while a bench phase runs (issue 16): its
 * worst event-loop delay over the phase (prom-client's `nodejs_eventloop_lag_max_seconds`, over
 * perf_hooks monitorEventLoopDelay, reset at every scrape: one scrape at the start opens the
 * window, one at the end reads it) and its CPU time over the phase (/proc/<pid>/stat). Only two
 * scrapes a phase, so the sampling does not change what it measures (when a tablet's /metrics
 * still listed every replica, scraping it every second cost a tablet of 3,000 replicas a third of
 * its CPU; it gives totals only above 256 replicas now). The scale bench prints it per step of
 * creates: which process is busy and which one stalls.
 */
import { cpuMicros } from './proc-stats.js';

const SCRAPE_TIMEOUT_MS = 5_000;

export interface SampledRole {
  /** cluster.sh's role directory name (tablet-1, nameserver-2, ...). */
  role: string;
  pid: number;
  /** host:port of its /metrics; undefined for CPU only (ZooKeeper). */
  endpoint: string | undefined;
}

export interface RoleSample {
  role: string;
  /** Worst event-loop delay over the phase (ms); undefined without /metrics or when the last scrape got no answer. */
  lagMaxMs: number | undefined;
  /** CPU seconds (user + system) over the phase. */
  cpuS: number;
}

async function lagSeconds(endpoint: string): Promise<number | undefined> {
  try {
    const res = await fetch(`http://${endpoint}/metrics`, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
    const text = await res.text();
    const m = /^nodejs_eventloop_lag_max_seconds(?:\{[^}]*\})? (\S+)$/m.exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Starts sampling `roles`; `stop()` ends it and gives one RoleSample per role. */
export function sampleRoles(roles: SampledRole[]): { stop(): Promise<RoleSample[]> } {
  const cpuStart = new Map(roles.map((r) => [r.pid, cpuMicros(r.pid)]));
  const opened = Promise.all(roles.map((r) => (r.endpoint === undefined ? undefined : lagSeconds(r.endpoint))));
  return {
    async stop() {
      await opened;
      return Promise.all(roles.map(async (r) => {
        const s = r.endpoint === undefined ? undefined : await lagSeconds(r.endpoint);
        return { role: r.role, lagMaxMs: s === undefined ? undefined : s * 1000, cpuS: (cpuMicros(r.pid) - cpuStart.get(r.pid)!) / 1e6 };
      }));
    },
  };
}
