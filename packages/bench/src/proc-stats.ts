/**
 * Per-process costs read from /proc (Linux): CPU time (user + system) of any process by pid, and
 * its peak resident set (VmHWM). Benchmarks divide CPU deltas by acknowledged operations, which
 * is far less sensitive to a loaded machine than throughput. Elsewhere than Linux both read 0.
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const TICKS_PER_S = 100;

/** CPU time (user + system) of a process so far, in microseconds; 0 if unreadable. */
export function cpuMicros(pid: number): number {
  return statCpuMicros(`/proc/${pid}/stat`);
}

/** CPU time of a process's main thread (the thread whose id is the pid) so far, in microseconds. */
export function mainThreadCpuMicros(pid: number): number {
  return statCpuMicros(`/proc/${pid}/task/${pid}/stat`);
}

/** utime + stime of a /proc stat file (a process's or one thread's), in microseconds; 0 if unreadable. */
function statCpuMicros(statPath: string): number {
  try {
    const stat = readFileSync(statPath, 'utf8');
    // Fields after the command name (which may contain spaces) start at the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1e6) / TICKS_PER_S;
  } catch {
    return 0;
  }
}

/** The kB fields of /proc/<pid>/status named, in MiB (0 for one missing); all 0 if unreadable. */
function statusMiB<K extends string>(pid: number, names: readonly K[]): Record<K, number> {
  let status = '';
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    // Gone or not Linux: zeros.
  }
  const out = {} as Record<K, number>;
  for (const name of names) out[name] = Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024;
  return out;
}

/** Peak resident set size of a process so far, in MiB; 0 if unreadable. */
export function peakRssMiB(pid: number): number {
  return statusMiB(pid, ['VmHWM']).VmHWM;
}

/**
 * Resident memory of a process now, in MiB, split as the kernel counts it: `anon` (heaps, malloc)
 * and `file` (mapped files — LevelDB maps its table files — page cache the kernel can drop); 0s if unreadable.
 */
export function rssSplitMiB(pid: number): { anon: number; file: number } {
  const m = statusMiB(pid, ['RssAnon', 'RssFile']);
  return { anon: m.RssAnon, file: m.RssFile };
}

/** How often `rssPeaks` reads each process's resident memory. */
export const RSS_SAMPLE_INTERVAL_MS = 100;

/**
 * The peaks of each process's resident memory split (`rssSplitMiB`), read every
 * RSS_SAMPLE_INTERVAL_MS until `stop()`: VmHWM is the peak of the sum, which counts LevelDB's
 * mapped table files while a snapshot reads them; `anon` is what the process itself holds.
 * A peak between two reads is missed.
 */
export function rssPeaks(pids: Record<string, number>): { stop(): Record<string, { anon: number; file: number }> } {
  const peaks: Record<string, { anon: number; file: number }> = Object.fromEntries(Object.keys(pids).map((name) => [name, { anon: 0, file: 0 }]));
  const read = (): void => {
    for (const [name, pid] of Object.entries(pids)) {
      const now = rssSplitMiB(pid);
      const peak = peaks[name]!;
      peak.anon = Math.max(peak.anon, now.anon);
      peak.file = Math.max(peak.file, now.file);
    }
  };
  read();
  const timer = setInterval(read, RSS_SAMPLE_INTERVAL_MS);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      read();
      return peaks;
    },
  };
}

/** CPU of several processes over one phase: `stop()` gives microseconds per process. */
export function cpuMeter(pids: Record<string, number>): { stop(): Record<string, number> } {
  const start = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMicros(pid)]));
  const self = process.cpuUsage();
  return {
    stop() {
      const out: Record<string, number> = {};
      for (const [name, pid] of Object.entries(pids)) out[name] = cpuMicros(pid) - start[name]!;
      const d = process.cpuUsage(self);
      out.client = d.user + d.system;
      return out;
    },
  };
}
