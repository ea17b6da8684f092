/**
 * The leveled logger of every role, backed by pino (fastify's own logger): one JSON line per
 * event (`{"level":30,"time":...,"pid":...,"name":"tablet 127.0.0.1:9921.replicas","msg":...}`)
 * to a file (`--log_file`) or stdout, or one readable line (`time LEVEL [name] message`) when
 * stdout is a terminal. Writes are synchronous (pino's sync destination), so the last line before
 * a crash is on disk. `reopen()` reopens the file at its path: logrotate moves the file and sends
 * SIGHUP, and the process goes on in a new file. The call sites' API is the small one below
 * (`info(msg)`, `child(name)`); names join with dots as before.
 */
import pino, { type DestinationStream, type Logger as PinoLogger } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const ORDER: Record<LogLevel, number> = { debug: 20, info: 30, warn: 40, error: 50, silent: Infinity };

export interface Logger {
  /** `fields` become keys of the JSON line (structured logs: the op log, ...). */
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(name: string): Logger;
  /** True when debug lines are written (callers skip building costly debug text otherwise). */
  readonly debugEnabled: boolean;
  /** Reopens the log file at its path (after logrotate moved it); a no-op on stdout. */
  reopen(): void;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** File to append to; absent = stdout. */
  file?: string;
  /** `json` (default for files and pipes) or `pretty` (default when stdout is a terminal). */
  format?: 'json' | 'pretty';
  /** Where lines go instead (tests); each call gets one complete line. */
  write?: (line: string) => void;
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

const LEVEL_NUMBERS: Record<string, number> = Object.fromEntries(Object.entries(LEVEL_NAMES).map(([n, name]) => [name, Number(n)]));

/**
 * The level (pino's number: 40 WARN, 50 ERROR) of one log line in either format a role writes —
 * a JSON line (files and pipes) or a terminal line (`time LEVEL [name] message`); undefined for
 * anything else (a stack trace's continuation, a blank line).
 */
export function logLineLevel(line: string): number | undefined {
  if (line.startsWith('{')) {
    try {
      const level = (JSON.parse(line) as { level?: unknown }).level;
      return typeof level === 'number' ? level : undefined;
    } catch {
      return undefined;
    }
  }
  const m = /^\S+ (TRACE|DEBUG|INFO|WARN|ERROR|FATAL) /.exec(line);
  return m ? LEVEL_NUMBERS[m[1]!] : undefined;
}

/** Turns one pino JSON line into `time LEVEL [name] message` (the terminal format). */
export function prettyLine(json: string): string {
  try {
    const o = JSON.parse(json) as { level?: number; time?: number; name?: string; msg?: string };
    const time = new Date(o.time ?? Date.now()).toISOString();
    const level = (LEVEL_NAMES[o.level ?? 30] ?? String(o.level)).padEnd(5);
    return `${time} ${level} [${o.name ?? ''}] ${o.msg ?? ''}\n`;
  } catch {
    return json;
  }
}

class LineStream implements DestinationStream {
  constructor(
    private readonly out: (line: string) => void,
    private readonly pretty: boolean,
  ) {}
  write(line: string): void {
    this.out(this.pretty ? prettyLine(line) : line);
  }
}

class PinoBacked implements Logger {
  constructor(
    private readonly p: PinoLogger,
    private readonly root: PinoLogger,
    private readonly name: string,
    private readonly onReopen: () => void,
  ) {}
  get debugEnabled(): boolean {
    return this.p.isLevelEnabled('debug');
  }
  debug(msg: string, fields?: Record<string, unknown>): void {
    this.write('debug', msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.write('info', msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.write('warn', msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.write('error', msg, fields);
  }
  private write(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown> | undefined): void {
    if (fields === undefined) this.p[level](msg);
    else this.p[level](fields, msg);
  }
  child(sub: string): Logger {
    const name = `${this.name}.${sub}`;
    // A child of the root, not of this one: pino would repeat the `name` key otherwise.
    return new PinoBacked(this.root.child({ name }), this.root, name, this.onReopen);
  }
  reopen(): void {
    this.onReopen();
  }
}

/**
 * A logger named `name`. The third argument may be a line writer (the former signature, for
 * tests) or the options.
 */
export function createLogger(name: string, level: LogLevel = 'info', options: LoggerOptions | ((line: string) => void) = {}): Logger {
  const opts: LoggerOptions = typeof options === 'function' ? { write: options } : options;
  const pinoLevel = level === 'silent' ? 'silent' : level;
  let stream: DestinationStream;
  let reopen = (): void => undefined;
  if (opts.write) {
    stream = new LineStream(opts.write, opts.format === 'pretty');
  } else if (opts.file) {
    const dest = pino.destination({ dest: opts.file, sync: true, mkdir: true, append: true });
    stream = opts.format === 'pretty' ? new LineStream((l) => dest.write(l), true) : dest;
    reopen = () => dest.reopen();
  } else {
    const pretty = opts.format === 'pretty' || (opts.format === undefined && process.stdout.isTTY === true);
    stream = pretty ? new LineStream((l) => process.stdout.write(l), true) : pino.destination({ dest: 1, sync: true });
  }
  const root = pino({ level: pinoLevel, base: { pid: process.pid } }, stream);
  return new PinoBacked(root.child({ name }), root, name, reopen);
}

export function isLogLevel(value: string): value is LogLevel {
  return Object.prototype.hasOwnProperty.call(ORDER, value);
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = createLogger('silent', 'silent', { write: () => undefined });
