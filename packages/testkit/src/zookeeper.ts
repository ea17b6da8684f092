/**
 * A real, standalone ZooKeeper server for tests: Debian's ZooKeeper 3.8 jars run as a plain `java`
 * process with its own zoo.cfg, data and log under one directory, listening on 127.0.0.1 (or the
 * address given).
 * Owns the process: it is killed by pid on stop() and, as a last resort, when the test process
 * exits, or by a watchdog when that process was killed (no exit hook ran). Never used by production code (scripts/lib/zk.sh is the operator's equivalent).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort } from './ports.js';
import { removeDir, tempDir } from './tmp.js';

/** Classpath of Debian's ZooKeeper: the server jar (its manifest pulls in the rest) + a log4j backend. */
const ZK_CLASSPATH_JARS = ['/usr/share/java/zookeeper.jar', '/usr/share/java/slf4j-log4j12.jar', '/usr/share/java/log4j-1.2.jar'];
const ZK_MAIN_CLASS = 'org.apache.zookeeper.server.ZooKeeperServerMain';
/** Small tick so that tests may ask for sessions down to 2 × tick. */
const ZK_TICK_TIME_MS = 200;
const ZK_MIN_SESSION_TIMEOUT_MS = 2 * ZK_TICK_TIME_MS;
const ZK_MAX_SESSION_TIMEOUT_MS = 60_000;
/** From spawn until `srvr` answers `Mode: standalone`. */
const ZK_READY_TIMEOUT_MS = 20_000;
const ZK_READY_POLL_MS = 25;
/** One four-letter command round trip. */
const ZK_COMMAND_TIMEOUT_MS = 1_000;
/** SIGTERM grace before SIGKILL, and the bound on waiting for exit after SIGKILL. */
const ZK_STOP_GRACE_MS = 5_000;
const ZK_KILL_WAIT_MS = 5_000;
/** Fresh ports tried when the chosen one turns out to be taken (only when no port was given). */
const ZK_PORT_ATTEMPTS_MAX = 5;

export interface StartZooKeeperOptions {
  /** Directory for conf/, data/ and logs; kept on stop(). Default: a fresh temp dir removed on stop(). */
  dir?: string;
  /** Client port. Default: a free port. */
  port?: number;
  /** Address to listen on (e.g. a bridge address other network namespaces reach). Default 127.0.0.1. */
  host?: string;
}

export interface ZkServer {
  readonly port: number;
  /** `<host>:<port>` (host 127.0.0.1 unless given), for `--zk_cluster`. */
  readonly connectString: string;
  readonly dir: string;
  /** Pid of the current java process (changes on restart()). */
  readonly pid: number;
  /** SIGTERM, SIGKILL after a bound, wait for exit; removes the dir if startZooKeeper created it. Idempotent. */
  stop(): Promise<void>;
  /** Sends a signal to the java process (SIGKILL by default; SIGSTOP/SIGCONT to pause it). */
  kill(signal?: NodeJS.Signals): void;
  /** Stops the process (data kept) and starts it again on the same port and dir; resolves when ready. */
  restart(): Promise<void>;
}

/** How often a ZooKeeper's watchdog checks that the test process that started it is alive. */
const PARENT_CHECK_INTERVAL_S = 1;

/**
 * A watchdog beside each java process: a detached `sh` loop that SIGKILLs the server once the test
 * process that started it is gone, and ends by itself when the server does. The exit hook below
 * does not run when the test process is SIGKILLed (tap's timeout, --bail), which left ZooKeepers
 * running after such a file (the role processes have their own watch, roles/src/parent-watch.ts).
 */
function watchOwner(serverPid: number): void {
  const loop = `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${serverPid} 2>/dev/null; do sleep ${PARENT_CHECK_INTERVAL_S}; done; kill -0 ${process.pid} 2>/dev/null || kill -9 ${serverPid} 2>/dev/null; exit 0`;
  const dog = spawn('sh', ['-c', loop], { detached: true, stdio: 'ignore' });
  dog.on('error', () => undefined); // no sh: the exit hook is all there is
  dog.unref();
}

/** Every java process started here, killed with SIGKILL if the test process exits without stop(). */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of liveChildren) {
      if (child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  });
}

/** Starts a standalone ZooKeeper and resolves once it serves requests. */
export async function startZooKeeper(opts: StartZooKeeperOptions = {}): Promise<ZkServer> {
  const ownsDir = opts.dir === undefined;
  const dir = opts.dir ?? tempDir('zk');
  const host = opts.host ?? '127.0.0.1';
  try {
    let lastErr: unknown;
    const attempts = opts.port === undefined ? ZK_PORT_ATTEMPTS_MAX : 1;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const port = opts.port ?? (await freePort());
      try {
        const child = await launch(dir, host, port);
        return new ZkServerProcess(dir, host, port, child, ownsDir);
      } catch (err) {
        lastErr = err;
      }
    }
    throw lastErr;
  } catch (err) {
    if (ownsDir) removeDir(dir);
    throw err;
  }
}

/** Sends a four-letter command (`srvr`, `ruok`, `conf`, ...) to host:port (127.0.0.1 by default) and returns the answer. */
export function zkCommand(port: number, word: string, timeoutMs = ZK_COMMAND_TIMEOUT_MS, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ host, port });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`four-letter command ${word} timed out`)));
    socket.once('connect', () => socket.end(word));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', reject);
    socket.once('close', (hadError) => {
      if (!hadError) resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

class ZkServerProcess implements ZkServer {
  readonly connectString: string;
  private stopped = false;

  constructor(
    readonly dir: string,
    private readonly host: string,
    readonly port: number,
    private child: ChildProcess,
    private readonly ownsDir: boolean,
  ) {
    this.connectString = `${host}:${port}`;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (isRunning(this.child) && this.child.pid !== undefined) process.kill(this.child.pid, signal);
  }

  async restart(): Promise<void> {
    if (this.stopped) throw new Error('ZooKeeper server was stopped; start a new one');
    await terminate(this.child);
    this.child = await launch(this.dir, this.host, this.port);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await terminate(this.child);
    if (this.ownsDir) removeDir(this.dir);
  }
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (!isRunning(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, timeoutMs);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

/** SIGCONT (a paused JVM cannot act on SIGTERM), SIGTERM, then SIGKILL after a bound. */
async function terminate(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || !isRunning(child)) {
    liveChildren.delete(child);
    return;
  }
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(pid, sig);
    } catch {
      // exited in between
    }
  };
  signal('SIGCONT');
  signal('SIGTERM');
  if (!(await waitExit(child, ZK_STOP_GRACE_MS))) {
    signal('SIGKILL');
    if (!(await waitExit(child, ZK_KILL_WAIT_MS))) throw new Error(`ZooKeeper pid ${pid} did not exit after SIGKILL`);
  }
  liveChildren.delete(child);
}

function writeConfig(dir: string, host: string, port: number): { confDir: string; cfgPath: string; dataDir: string } {
  const confDir = path.join(dir, 'conf');
  const dataDir = path.join(dir, 'data');
  mkdirSync(confDir, { recursive: true });
  mkdirSync(dataDir, { recursive: true });
  const cfgPath = path.join(confDir, 'zoo.cfg');
  writeFileSync(
    cfgPath,
    [
      `tickTime=${ZK_TICK_TIME_MS}`,
      `minSessionTimeout=${ZK_MIN_SESSION_TIMEOUT_MS}`,
      `maxSessionTimeout=${ZK_MAX_SESSION_TIMEOUT_MS}`,
      'initLimit=10',
      'syncLimit=5',
      `dataDir=${dataDir}`,
      `clientPort=${port}`,
      `clientPortAddress=${host}`,
      'admin.enableServer=false',
      '4lw.commands.whitelist=ruok,srvr,stat,mntr,conf',
      'maxClientCnxns=0',
      // Tests: a 4 MiB preallocated txn log instead of 64 MiB, and no fsync per write.
      'preAllocSize=4096',
      'forceSync=no',
      '',
    ].join('\n'),
  );
  writeFileSync(
    path.join(confDir, 'log4j.properties'),
    [
      'log4j.rootLogger=INFO, FILE',
      'log4j.appender.FILE=org.apache.log4j.FileAppender',
      `log4j.appender.FILE.File=${path.join(dir, 'zookeeper.log')}`,
      'log4j.appender.FILE.Append=true',
      'log4j.appender.FILE.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.FILE.layout.ConversionPattern=%d{ISO8601} %-5p [%t] %c{1}: %m%n',
      '',
    ].join('\n'),
  );
  return { confDir, cfgPath, dataDir };
}

/** Spawns the server and waits until it is ready, or kills it and throws. */
async function launch(dir: string, host: string, port: number): Promise<ChildProcess> {
  const { confDir, cfgPath, dataDir } = writeConfig(dir, host, port);
  const outPath = path.join(dir, 'zk.out');
  const outFd = openSync(outPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(
      'java',
      [
        '-Xms32m',
        '-Xmx256m',
        '-XX:+UseSerialGC',
        // Every pause, so that a stall of the server (all sessions' connections lost at once) can be told from a client's.
        `-Xlog:gc:file=${path.join(dir, 'gc.log')}:uptime:filecount=2,filesize=10m`,
        '-XX:TieredStopAtLevel=1',
        '-XX:-UsePerfData',
        '-Djava.net.preferIPv4Stack=true',
        '-Dzookeeper.jmx.log4j.disable=true',
        `-Dlog4j.configuration=file:${path.join(confDir, 'log4j.properties')}`,
        '-cp',
        [confDir, ...ZK_CLASSPATH_JARS].join(':'),
        ZK_MAIN_CLASS,
        cfgPath,
      ],
      { stdio: ['ignore', outFd, outFd] },
    );
  } finally {
    closeSync(outFd);
  }
  installExitHook();
  liveChildren.add(child);
  if (child.pid !== undefined) watchOwner(child.pid);
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  try {
    await waitReady(child, host, port, dataDir, spawnError);
    return child;
  } catch (err) {
    await terminate(child);
    const log = tail(path.join(dir, 'zookeeper.log')) + tail(outPath);
    throw new Error(`ZooKeeper on ${host}:${port} did not start: ${(err as Error).message}\n${log}`);
  }
}

async function waitReady(child: ChildProcess, host: string, port: number, dataDir: string, spawnError: Promise<Error>): Promise<void> {
  let failure: Error | undefined;
  void spawnError.then((err) => {
    failure = err;
  });
  const deadline = Date.now() + ZK_READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (failure) throw failure;
    if (!isRunning(child)) throw new Error(`java exited (code ${child.exitCode}, signal ${child.signalCode})`);
    const answer = await zkCommand(port, 'srvr', ZK_COMMAND_TIMEOUT_MS, host).catch(() => '');
    if (answer.includes('Mode: standalone')) {
      // The port was free when picked; make sure the server answering is ours, not a neighbour's.
      const conf = await zkCommand(port, 'conf', ZK_COMMAND_TIMEOUT_MS, host).catch(() => '');
      if (conf.includes(`dataDir=${dataDir}`)) return;
      throw new Error(`port ${port} is served by another ZooKeeper`);
    }
    await new Promise((resolve) => setTimeout(resolve, ZK_READY_POLL_MS));
  }
  throw new Error(`not ready within ${ZK_READY_TIMEOUT_MS} ms`);
}

function tail(file: string, bytesMax = 4000): string {
  if (!existsSync(file)) return '';
  const text = readFileSync(file, 'utf8');
  return `--- ${file} ---\n${text.slice(-bytesMax)}\n`;
}
