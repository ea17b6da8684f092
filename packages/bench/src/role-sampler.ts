/**
 * What each role process of a cluster.sh cluster does while a bench phase runs (issue 16): its
 * worst event-loop delay, scraped every second from its /metrics (prom-client's
 * `nodejs_eventloop_lag_max_seconds`, over perf_hooks monitorEventLoopDelay and reset at every
 * scrape, so one scrape every 10 s gives the worst delay of each 10 s window; a tablet's /metrics
 * lists every replica, so a scrape a second cost a tablet of 3,000 replicas a third of its CPU),
 * how many of those windows had a delay above `stallMs`, and its CPU time over the phase (/proc/<pid>/stat). The scale bench
 * prints it per step of creates: it says which process is busy and which one stalls, which is what
 * a lost ZooKeeper session during the creates needs to be explained.
 */
import { sleep } from '@tessera/common';
import { cpuMicros } from './proc-stats.js';

/** Time between two scrapes of one role (and the window each lag maximum covers). */
const SCRAPE_INTERVAL_MS = 10_000;
const SCRAPE_TIMEOUT_MS = 5_000;

export interface SampledRole {
  /** cluster.sh's role directory name (tablet-1, nameserver-2, ...). */
  role: string;
  pid: number;
  /** host:port of its /metrics; undefined for ZooKeeper (CPU only). */
  endpoint: string | undefined;
}

export interface RoleSample {
  role: string;
  /** Worst event-loop delay seen in any one-second window (ms); 0 without /metrics. */
  lagMaxMs: number;
  /** 10 s windows with a worst delay above the stall bound. */
  stalls: number;
  /** Scrapes that got no answer within SCRAPE_TIMEOUT_MS (a process too busy to answer). */
  missed: number;
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
export function sampleRoles(roles: SampledRole[], stallMs: number): { stop(): Promise<RoleSample[]> } {
  const cpuStart = new Map(roles.map((r) => [r.pid, cpuMicros(r.pid)]));
  const out = new Map<string, RoleSample>(roles.map((r) => [r.role, { role: r.role, lagMaxMs: 0, stalls: 0, missed: 0, cpuS: 0 }]));
  let running = true;
  const loops = roles.filter((r) => r.endpoint !== undefined).map(async (r) => {
    await lagSeconds(r.endpoint!); // resets the window
    while (running) {
      await sleep(SCRAPE_INTERVAL_MS);
      const s = await lagSeconds(r.endpoint!);
      const o = out.get(r.role)!;
      if (s === undefined) {
        o.missed++;
        continue;
      }
      o.lagMaxMs = Math.max(o.lagMaxMs, s * 1000);
      if (s * 1000 > stallMs) o.stalls++;
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      for (const r of roles) out.get(r.role)!.cpuS = (cpuMicros(r.pid) - cpuStart.get(r.pid)!) / 1e6;
      return [...out.values()];
    },
  };
}
