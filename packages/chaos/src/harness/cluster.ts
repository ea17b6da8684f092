/**
 * The harness's own cluster, started from the project's scripts in the run directory: ZooKeeper
 * through scripts/lib/zk.sh (zk_start), nameservers and tablets through scripts/start.sh with
 * flagfiles generated here, all on 127.0.0.1. Every process is tracked by pid (read from the pid
 * files the scripts write, and checked against /proc/<pid>/cmdline naming the run directory, so a
 * recycled pid is never signalled). A monitor notes every exit the harness did not cause and
 * samples each process's peak RSS. `stopAll()` (and, as a last resort, the process exit hook)
 * kills every process ever started, by pid.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { sleep } from '@tessera/common';
import { freePortRange, REPO_ROOT } from '@tessera/testkit';
import type { Recorder } from './recorder.js';

const run = promisify(execFile);

export const CLUSTER_LIMITS = {
  /** One script call (start.sh waits up to its own START_TIMEOUT_S=30 s). */
  scriptTimeoutMs: 60_000,
  /** Waiting for a killed process to be gone. */
  exitWaitMs: 10_000,
  exitPollMs: 20,
  /** How often the monitor checks processes and samples RSS. */
  monitorIntervalMs: 250,
  /** Ports: ZooKeeper at base, nameservers base+1.., tablets base+11.., proxies base+21... */
  portSpan: 40,
} as const;

export type Role = 'zk' | 'nameserver' | 'tablet';

export interface ClusterTimeouts {
  zkSessionTimeoutMs: number;
  tabletHeartbeatTimeoutMs: number;
  tableStatusIntervalMs: number;
  inSyncSilentMs: number;
  replicaAckTimeoutMs: number;
}

export interface Proc {
  /** zk, ns1, ns2, t1..t4 */
  name: string;
  role: Role;
  /** Where it listens. */
  endpoint: string;
  /** Where others reach it (a proxy in front of it, or `endpoint`). */
  advertised: string;
  dir: string;
  pidFile: string;
  pid: number | undefined;
  paused: boolean;
  /** Set while the harness has it down on purpose (killed, not yet restarted). */
  downOnPurpose: boolean;
  starts: number;
  unexpectedExits: number;
  peakRssKb: number;
}

export interface ClusterOptions {
  runDir: string;
  tablets: number;
  nameservers: number;
  timeouts: ClusterTimeouts;
  rec: Recorder;
  zkRootPath: string;
  /** Extra flags per role (e.g. a ZooKeeper address through a proxy), by process name. */
  extraFlags?: (name: string) => Record<string, string>;
  /** The advertised endpoint of a process (a proxy port), by name; default its endpoint. */
  advertise?: (name: string, endpoint: string) => string;
  /** The address a process listens on, by name (its namespace's address); default 127.0.0.1. */
  hostOf?: (name: string) => string;
  /** A command prefix a process is started under (`ip netns exec NS`, which execs), by name. */
  wrap?: (name: string) => string[];
}

function procStat(pid: number): { state: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return { state: stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) };
  } catch {
    return undefined;
  }
}

/** Peak resident set (VmHWM) of a process in kB, 0 when unknown. */
function peakRssKb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export class Cluster {
  readonly procs: Proc[] = [];
  readonly basePort: number;
  readonly zkConnect: string;
  /** Every pid ever started here (killed at the end whatever state the harness thinks it is in). */
  private readonly everyPid = new Set<number>();
  private monitor: NodeJS.Timeout | undefined;
  private readonly exitHook = (): void => this.killEverythingSync();

  private constructor(readonly options: ClusterOptions, basePort: number) {
    this.basePort = basePort;
    const hostOf = options.hostOf ?? ((): string => '127.0.0.1');
    this.zkConnect = `${hostOf('zk')}:${basePort}`;
    const { runDir } = options;
    const add = (name: string, role: Role, port: number): void => {
      const dir = path.join(runDir, name);
      const endpoint = `${hostOf(name)}:${port}`;
      const pidFile = role === 'zk' ? path.join(dir, 'zk', 'zk.pid') : path.join(dir, `${role}.pid`);
      this.procs.push({
        name, role, endpoint, advertised: options.advertise?.(name, endpoint) ?? endpoint, dir, pidFile, pid: undefined,
        paused: false, downOnPurpose: false, starts: 0, unexpectedExits: 0, peakRssKb: 0,
      });
    };
    add('zk', 'zk', basePort);
    for (let i = 1; i <= options.nameservers; i++) add(`ns${i}`, 'nameserver', basePort + i);
    for (let i = 1; i <= options.tablets; i++) add(`t${i}`, 'tablet', basePort + 10 + i);
  }

  /** Chooses ports; starts nothing yet. */
  static async create(options: ClusterOptions): Promise<Cluster> {
    return new Cluster(options, await freePortRange(CLUSTER_LIMITS.portSpan));
  }

  /** A port of the cluster's range not used by a process (for proxies): base + 21 + i. */
  sparePort(i: number): number {
    if (21 + i >= CLUSTER_LIMITS.portSpan) throw new Error(`spare port ${i} is outside the range`);
    return this.basePort + 21 + i;
  }

  get zk(): Proc {
    return this.procs[0]!;
  }

  get nameservers(): Proc[] {
    return this.procs.filter((p) => p.role === 'nameserver');
  }

  get tablets(): Proc[] {
    return this.procs.filter((p) => p.role === 'tablet');
  }

  byName(name: string): Proc {
    const p = this.procs.find((x) => x.name === name);
    if (!p) throw new Error(`no process ${name}`);
    return p;
  }

  /** The process known by an endpoint (advertised or listening). */
  byEndpoint(endpoint: string): Proc | undefined {
    return this.procs.find((p) => p.advertised === endpoint || p.endpoint === endpoint);
  }

  /** Starts ZooKeeper, the nameservers and the tablets, in that order. */
  async startAll(): Promise<void> {
    process.on('exit', this.exitHook);
    for (const p of this.procs) await this.start(p);
    this.monitor = setInterval(() => this.check(), CLUSTER_LIMITS.monitorIntervalMs);
  }

  private writeFlags(p: Proc): string {
    const t = this.options.timeouts;
    mkdirSync(p.dir, { recursive: true });
    const flags: Record<string, string | number> = {
      endpoint: p.endpoint,
      zk_cluster: this.zkConnect,
      zk_root_path: this.options.zkRootPath,
      zk_session_timeout: t.zkSessionTimeoutMs,
      log_level: 'info',
    };
    if (p.advertised !== p.endpoint) flags.advertise_endpoint = p.advertised;
    if (p.role === 'nameserver') {
      Object.assign(flags, {
        auto_failover: 'true',
        tablet_heartbeat_timeout: t.tabletHeartbeatTimeoutMs,
        get_table_status_interval: t.tableStatusIntervalMs,
        in_sync_silent_ms: t.inSyncSilentMs,
      });
    } else {
      Object.assign(flags, { db_root_path: path.join(p.dir, 'db'), replica_ack_timeout: t.replicaAckTimeoutMs });
    }
    Object.assign(flags, this.options.extraFlags?.(p.name) ?? {});
    const file = path.join(p.dir, `${p.role}.flags`);
    writeFileSync(file, Object.entries(flags).map(([k, v]) => `--${k}=${v}`).join('\n') + '\n');
    return file;
  }

  /** Starts (or restarts) one process through the scripts; resolves once it listens. */
  async start(p: Proc): Promise<void> {
    if (p.pid !== undefined && this.alive(p.pid)) throw new Error(`${p.name} is already running (pid ${p.pid})`);
    let args: string[];
    const env: NodeJS.ProcessEnv = { ...process.env, TESSERA_SKIP_SETUP: '1' };
    if (p.role === 'zk') {
      args = ['-c', 'source "$1" && zk_start "$2" "$3"', 'zk_start', path.join(REPO_ROOT, 'scripts/lib/zk.sh'), p.dir, String(this.basePort)];
      // In a namespace of its own, ZooKeeper listens on every address of it (loopback for the script's checks).
      if (this.options.wrap) env.ZK_CLIENT_PORT_ADDRESS = '0.0.0.0';
    } else {
      args = [path.join(REPO_ROOT, 'scripts/start.sh'), 'start', p.role, this.writeFlags(p)];
    }
    const [file, ...argv] = [...(this.options.wrap?.(p.name) ?? []), 'bash', ...args];
    try {
      await run(file!, argv, { cwd: REPO_ROOT, timeout: CLUSTER_LIMITS.scriptTimeoutMs, env });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message?: string };
      throw new Error(`starting ${p.name} failed: ${e.message ?? ''}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
    const pid = Number(readFileSync(p.pidFile, 'utf8').trim());
    if (!Number.isSafeInteger(pid) || pid <= 0 || !this.ours(pid)) throw new Error(`${p.name}: pid file ${p.pidFile} does not name our process`);
    p.pid = pid;
    p.paused = false;
    p.downOnPurpose = false;
    p.starts++;
    this.everyPid.add(pid);
    this.options.rec.nemesis({ type: 'proc-start', target: p.name, pid, detail: p.advertised });
  }

  /** Whether /proc/<pid> is a live (not zombie) process whose command line names the run dir. */
  private ours(pid: number): boolean {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(this.options.runDir);
    } catch {
      return false;
    }
  }

  alive(pid: number): boolean {
    const s = procStat(pid);
    return s !== undefined && s.state !== 'Z' && this.ours(pid);
  }

  isUp(p: Proc): boolean {
    return p.pid !== undefined && this.alive(p.pid);
  }

  /** Sends a signal to a process the harness started (no-op when it is not running). */
  signal(p: Proc, sig: NodeJS.Signals): boolean {
    if (p.pid === undefined || !this.alive(p.pid)) return false;
    process.kill(p.pid, sig);
    if (sig === 'SIGSTOP') p.paused = true;
    if (sig === 'SIGCONT') p.paused = false;
    return true;
  }

  /** SIGKILL, then waits (bounded) until it is gone. */
  async kill(p: Proc): Promise<void> {
    const pid = p.pid;
    p.downOnPurpose = true;
    if (pid === undefined) return;
    if (this.alive(pid)) process.kill(pid, 'SIGKILL');
    const deadline = Date.now() + CLUSTER_LIMITS.exitWaitMs;
    while (this.alive(pid)) {
      if (Date.now() > deadline) throw new Error(`${p.name} (pid ${pid}) still alive ${CLUSTER_LIMITS.exitWaitMs} ms after SIGKILL`);
      await sleep(CLUSTER_LIMITS.exitPollMs);
    }
    p.pid = undefined;
    p.paused = false;
    this.options.rec.nemesis({ type: 'proc-exit', target: p.name, pid, expected: true });
  }

  /** Monitor tick: unexpected exits and peak RSS. */
  private check(): void {
    for (const p of this.procs) {
      if (p.pid === undefined) continue;
      if (!this.alive(p.pid)) {
        if (!p.downOnPurpose) {
          p.unexpectedExits++;
          this.options.rec.nemesis({ type: 'proc-exit', target: p.name, pid: p.pid, expected: false, detail: 'exited without the harness killing it' });
        }
        p.pid = undefined;
        continue;
      }
      p.peakRssKb = Math.max(p.peakRssKb, peakRssKb(p.pid));
    }
  }

  /** Kills every process ever started, by pid; waits (bounded) until they are gone. */
  async stopAll(): Promise<void> {
    if (this.monitor) clearInterval(this.monitor);
    this.monitor = undefined;
    for (const p of this.procs) p.downOnPurpose = true;
    this.killEverythingSync();
    const deadline = Date.now() + CLUSTER_LIMITS.exitWaitMs;
    while ([...this.everyPid].some((pid) => this.alive(pid)) && Date.now() < deadline) await sleep(CLUSTER_LIMITS.exitPollMs);
    for (const p of this.procs) p.pid = undefined;
    process.removeListener('exit', this.exitHook);
  }

  private killEverythingSync(): void {
    for (const pid of this.everyPid) {
      if (!this.alive(pid)) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }

  /** The last lines of a process's log (for reports). */
  logTail(p: Proc, lines = 30): string {
    const file = p.role === 'zk' ? path.join(p.dir, 'zk', 'zk.log') : path.join(p.dir, `${p.role}.log`);
    if (!existsSync(file)) return '';
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  }

  logFile(p: Proc): string {
    return p.role === 'zk' ? path.join(p.dir, 'zk', 'zk.log') : path.join(p.dir, `${p.role}.log`);
  }
}
