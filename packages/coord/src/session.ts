/**
 * One ZooKeeper session over the native `zookeeper` client, as a small promise API with typed
 * results. Owns the native handle and its lifecycle: a session that expires (or that the native
 * client gives up) is replaced by a fresh one transparently (`expired`, then `connected` with
 * `newSession: true`), and `disconnect()`/`reconnect()` drop and re-open it on purpose (OpenMLDB's
 * `disconnectzk`/`connectzk`). Watches registered here are re-armed after every firing, every
 * reconnect and every new session. Invariants: every ZooKeeper failure surfaces as
 * `TesseraError('COORD_ERROR')` with the ZooKeeper error name in `details.zkError`; no promise
 * this module creates is ever left unhandled; a pending call never outlives its native handle.
 * Ephemeral nodes are not re-created here: their owners listen for `connected` with `newSession`.
 * A lost connection is noticed by sampling the native state (COORD_LIMITS.connectionPollMs) and on
 * every call failing with ZCONNECTIONLOSS, because the native `connecting` event is not reliable.
 */
import { EventEmitter } from 'node:events';
import ZooKeeper from 'zookeeper';
import { TesseraError, backoffMs, invalidArgument, silentLogger, sleep, type Logger } from '@tessera/common';
import { COORD_LIMITS, checkPath, counterStep, coordErrorNamed, encodeData as encode, parseJson, type Coord, type CoordData, type CoordSessionEvents, type DeleteResult, type NodeData, type SetResult } from './coord.js';
import { parentPath, zkLayout, type ZkLayout } from './layout.js';
import { firstEventWithin } from './owned-node.js';
import { SessionWatches, type WatchSnapshot } from './session-watches.js';
import type { WatchKind } from './watch-registry.js';

const C = ZooKeeper.constants;

export interface CoordSessionOptions {
  /** `host:port[,host:port...]`, OpenMLDB's `--zk_cluster`. */
  zkCluster: string;
  /** `--zk_root_path`; created at connect if missing. */
  rootPath: string;
  /** Requested session timeout; the server clamps it to its min/max. */
  sessionTimeoutMs: number;
  logger?: Logger;
  /** Bound on connect() and reconnect(); default COORD_LIMITS.connectTimeoutMsDefault. */
  connectTimeoutMs?: number;
  /**
   * The native C client's own log (to this process's stderr): why it drops a connection, why a
   * handshake fails. Off by default. The C client keeps one level per process: the last session
   * opened with this option sets it for all.
   */
  nativeLogLevel?: NativeLogLevel;
}

/** Levels of the native C client's stderr log. */
export type NativeLogLevel = 'off' | 'error' | 'warn' | 'info' | 'debug';

const NATIVE_LOG_LEVELS: Readonly<Record<NativeLogLevel, number>> = { off: 0, error: 1, warn: 2, info: 3, debug: 4 };

type Mode = 'active' | 'disconnectedOnPurpose' | 'closed';

type Done<T> = (rc: number, value?: T) => void;

const ZK_ERROR_NAMES: ReadonlyMap<number, string> = new Map(
  [
    'ZSYSTEMERROR', 'ZRUNTIMEINCONSISTENCY', 'ZDATAINCONSISTENCY', 'ZCONNECTIONLOSS', 'ZMARSHALLINGERROR',
    'ZUNIMPLEMENTED', 'ZOPERATIONTIMEOUT', 'ZBADARGUMENTS', 'ZINVALIDSTATE', 'ZAPIERROR', 'ZNONODE', 'ZNOAUTH',
    'ZBADVERSION', 'ZNOCHILDRENFOREPHEMERALS', 'ZNODEEXISTS', 'ZNOTEMPTY', 'ZSESSIONEXPIRED', 'ZINVALIDACL',
    'ZAUTHFAILED', 'ZCLOSING', 'ZNOTHING', 'ZSESSIONMOVED',
  ].map((name) => [(C as unknown as Record<string, number>)[name] as number, name]),
);

const NATIVE_STATE_NAMES: ReadonlyMap<number, string> = new Map(
  ['ZOO_EXPIRED_SESSION_STATE', 'ZOO_AUTH_FAILED_STATE', 'ZOO_CONNECTING_STATE', 'ZOO_ASSOCIATING_STATE', 'ZOO_CONNECTED_STATE', 'ZOO_READONLY_STATE', 'ZOO_NOTCONNECTED_STATE']
    .map((name) => [(C as unknown as Record<string, number>)[name] as number, name]),
);

function nativeStateName(state: number): string {
  return NATIVE_STATE_NAMES.get(state) ?? `state ${state}`;
}

/**
 * The native state a handle is left in when the C client closed its socket inside an API call
 * (`nonblocking_send`: a send failed because the server went away). The C client's
 * NOTCONNECTED_STATE_DEF; the wrapper does not export it.
 */
const NATIVE_SOCKET_DROPPED_IN_CALL_STATE = 999;

/** A session to resume on a fresh native handle (its id and password, as the wrapper gives them). */
interface ResumeSession {
  clientId: string;
  password: string;
}

/** Name of a ZooKeeper return code (`ZNONODE` ...). */
export function zkErrorName(rc: number): string {
  return ZK_ERROR_NAMES.get(rc) ?? `ZUNKNOWN(${rc})`;
}

function coordError(op: string, path: string, rc: number, why?: string): TesseraError {
  return coordErrorNamed(op, path, zkErrorName(rc), why, { zkCode: rc });
}

function toBuffer(data: string | Buffer | null | undefined): Buffer {
  if (data === null || data === undefined) return Buffer.alloc(0);
  return Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
}

function ownerOf(stat: stat): string | undefined {
  const owner = String(stat.ephemeralOwner);
  return owner === '0' || owner === '' ? undefined : owner;
}

/** A ZooKeeper session that survives reconnects and expiry; see the module header. */
export class CoordSession extends EventEmitter<CoordSessionEvents> implements Coord {
  readonly rootPath: string;
  readonly layout: ZkLayout;
  readonly sessionTimeoutMs: number;
  private readonly zkCluster: string;
  private readonly connectTimeoutMs: number;
  private readonly nativeLogLevel: number;
  private readonly log: Logger;
  private mode: Mode = 'active';
  private handle: ZooKeeper | undefined;
  /** Bumped whenever a handle is replaced; events and completions of older handles are ignored. */
  private generation = 0;
  private handleHasConnected = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private connectedNow = false;
  /** What incrementCounter wrote last per counter (tried first; a compare-and-set keeps it honest). */
  private readonly counterHints = new Map<string, { value: number; version: number }>();
  /** Native state at the last poll, to log its changes (debug). */
  private lastNativeState: number | undefined;
  private currentSessionId: string | undefined;
  private readonly pending = new Map<number, Set<(rc: number) => void>>();
  private readonly watches: SessionWatches;

  private constructor(opts: CoordSessionOptions) {
    super();
    if (typeof opts.zkCluster !== 'string' || opts.zkCluster.trim() === '') throw invalidArgument('zkCluster is empty');
    if (!Number.isSafeInteger(opts.sessionTimeoutMs) || opts.sessionTimeoutMs <= 0) {
      throw invalidArgument(`sessionTimeoutMs must be a positive integer: ${String(opts.sessionTimeoutMs)}`);
    }
    this.layout = zkLayout(opts.rootPath);
    this.rootPath = this.layout.root;
    this.zkCluster = opts.zkCluster;
    this.sessionTimeoutMs = opts.sessionTimeoutMs;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? COORD_LIMITS.connectTimeoutMsDefault;
    const nativeLevel = NATIVE_LOG_LEVELS[opts.nativeLogLevel ?? 'off'];
    if (nativeLevel === undefined) throw invalidArgument(`nativeLogLevel must be one of ${Object.keys(NATIVE_LOG_LEVELS).join(', ')}: ${String(opts.nativeLogLevel)}`);
    this.nativeLogLevel = nativeLevel;
    this.log = opts.logger ?? silentLogger;
    this.watches = new SessionWatches({
      read: (kind, path) => (kind === 'children' ? this.readChildrenArmed(path) : this.readDataArmed(path)),
      usable: () => this.mode === 'active',
      connected: () => this.connectedNow,
      log: this.log,
    });
  }

  /** Resolves once connected and the root path exists; rejects with COORD_ERROR after connectTimeoutMs. */
  static async connect(opts: CoordSessionOptions): Promise<CoordSession> {
    const session = new CoordSession(opts);
    session.openHandle();
    try {
      await session.waitConnected(session.connectTimeoutMs);
      await session.ensurePath(session.rootPath);
    } catch (err) {
      await session.close();
      throw err;
    }
    return session;
  }

  /** Hex id of the current session; undefined while no session is established. */
  get sessionId(): string | undefined {
    return this.currentSessionId;
  }

  /** True while the connection is up and calls go through. */
  get isConnected(): boolean {
    return this.connectedNow;
  }

  /** Resolves when connected (at once if already); rejects with COORD_ERROR after timeoutMs or on close. */
  waitConnected(timeoutMs: number): Promise<void> {
    if (this.connectedNow) return Promise.resolve();
    if (this.mode !== 'active') return Promise.reject(this.unusableError('waitConnected', this.rootPath));
    return firstEventWithin(this, ['connected'], timeoutMs, () => new TesseraError('COORD_ERROR', `not connected to ZooKeeper ${this.zkCluster} within ${timeoutMs} ms`, {
      zkError: 'ZCONNECTIONLOSS',
      zkCluster: this.zkCluster,
    }));
  }

  // ---- reads ----

  async get(path: string): Promise<NodeData | undefined> {
    checkPath(path);
    const { rc, value } = await this.call<[stat, string | Buffer | null]>('get', path, (zk, done) =>
      zk.a_get(path, false, (rc, _e, st, data) => done(rc, [st, data])),
    );
    if (rc === C.ZNONODE) return undefined;
    if (rc !== C.ZOK || value === undefined) throw coordError('get', path, rc);
    const [st, data] = value;
    return { data: toBuffer(data), version: st.version, ephemeralOwner: ownerOf(st) };
  }

  async getJson<T>(path: string): Promise<{ value: T; version: number } | undefined> {
    const node = await this.get(path);
    return node === undefined ? undefined : { value: parseJson<T>(path, node.data), version: node.version };
  }

  async exists(path: string): Promise<boolean> {
    checkPath(path);
    const { rc } = await this.call<stat>('exists', path, (zk, done) => zk.a_exists(path, false, (rc, _e, st) => done(rc, st)));
    if (rc === C.ZNONODE) return false;
    if (rc !== C.ZOK) throw coordError('exists', path, rc);
    return true;
  }

  /** Names of the children, sorted; [] when the node does not exist. */
  async children(path: string): Promise<string[]> {
    checkPath(path);
    const { rc, value } = await this.call<string[]>('getChildren', path, (zk, done) =>
      zk.a_get_children(path, false, (rc, _e, children) => done(rc, children)),
    );
    if (rc === C.ZNONODE) return [];
    if (rc !== C.ZOK) throw coordError('getChildren', path, rc);
    return [...(value ?? [])].sort();
  }

  // ---- writes ----

  /** Creates a node and returns its path (with the sequence suffix for sequential nodes). */
  async create(path: string, data: CoordData, opts: { ephemeral?: boolean; sequential?: boolean } = {}): Promise<string> {
    checkPath(path);
    const { rc, value } = await this.rawCreate(path, encode(data), (opts.ephemeral ? C.ZOO_EPHEMERAL : 0) | (opts.sequential ? C.ZOO_SEQUENCE : 0));
    if (rc !== C.ZOK || value === undefined) throw coordError('create', path, rc);
    return value;
  }

  /** mkdir -p of persistent, empty nodes; existing nodes are left as they are. */
  async ensurePath(path: string): Promise<void> {
    checkPath(path);
    if (path === '/' || (await this.exists(path))) return;
    let prefix = '';
    for (const part of path.slice(1).split('/')) {
      prefix = `${prefix}/${part}`;
      const { rc } = await this.rawCreate(prefix, Buffer.alloc(0), 0);
      if (rc !== C.ZOK && rc !== C.ZNODEEXISTS) throw coordError('create', prefix, rc);
    }
  }

  /** Writes data; with expectedVersion it is a compare-and-set. */
  async set(path: string, data: CoordData, expectedVersion?: number): Promise<SetResult> {
    checkPath(path);
    const bytes = encode(data);
    const version = expectedVersion ?? -1;
    const { rc, value } = await this.call<stat>('set', path, (zk, done) => zk.a_set(path, bytes, version, (rc, _e, st) => done(rc, st)));
    if (rc === C.ZOK && value !== undefined) return { ok: true, version: value.version };
    if (rc === C.ZBADVERSION) return { ok: false, reason: 'badVersion' };
    if (rc === C.ZNONODE) return { ok: false, reason: 'noNode' };
    throw coordError('set', path, rc);
  }

  async setJson(path: string, value: unknown, expectedVersion?: number): Promise<SetResult> {
    return this.set(path, Buffer.from(JSON.stringify(value), 'utf8'), expectedVersion);
  }

  /** Writes data whether or not the node exists (creating its parents); returns the new version. */
  async createOrSet(path: string, data: CoordData): Promise<{ version: number }> {
    checkPath(path);
    const bytes = encode(data);
    for (let attempt = 0; attempt < COORD_LIMITS.raceAttemptsMax; attempt++) {
      const r = await this.set(path, bytes);
      if (r.ok) return { version: r.version };
      let { rc } = await this.rawCreate(path, bytes, 0);
      if (rc === C.ZNONODE) {
        await this.ensurePath(parentPath(path));
        ({ rc } = await this.rawCreate(path, bytes, 0));
      }
      if (rc === C.ZOK) return { version: 0 };
      if (rc !== C.ZNODEEXISTS && rc !== C.ZNONODE) throw coordError('create', path, rc);
    }
    throw coordError('createOrSet', path, C.ZNODEEXISTS, 'other writers kept racing with it');
  }

  /** Deletes one node; with expectedVersion only if it still has that version. */
  async delete(path: string, expectedVersion?: number): Promise<DeleteResult> {
    checkPath(path);
    const rc = await this.rawDelete(path, expectedVersion ?? -1);
    if (rc === C.ZOK) return { ok: true };
    if (rc === C.ZBADVERSION) return { ok: false, reason: 'badVersion' };
    if (rc === C.ZNONODE) return { ok: false, reason: 'noNode' };
    throw coordError('delete', path, rc);
  }

  /** Deletes a node and everything under it; a missing node is not an error. */
  async deleteRecursive(path: string): Promise<void> {
    checkPath(path);
    if (path === '/' || path === '/zookeeper' || path.startsWith('/zookeeper/')) {
      throw invalidArgument(`refusing to delete ${path}`);
    }
    for (let attempt = 0; attempt < COORD_LIMITS.raceAttemptsMax; attempt++) {
      for (const child of await this.children(path)) await this.deleteRecursive(`${path}/${child}`);
      const rc = await this.rawDelete(path, -1);
      if (rc === C.ZOK || rc === C.ZNONODE) return;
      if (rc !== C.ZNOTEMPTY) throw coordError('delete', path, rc);
    }
    throw coordError('deleteRecursive', path, C.ZNOTEMPTY, 'children kept being added');
  }

  /**
   * Adds `by` to a decimal counter with compare-and-set and returns the new value; a missing node
   * counts from 0. Every caller gets distinct values (the `by` values up to the one returned). The value and version this session wrote last
   * are tried first (one compare-and-set: the leading nameserver is the only writer of its
   * counters); the counter is read only when that misses.
   */
  async incrementCounter(path: string, by = 1): Promise<number> {
    checkPath(path);
    counterStep(by);
    const hint = this.counterHints.get(path);
    if (hint !== undefined) {
      const r = await this.set(path, Buffer.from(String(hint.value + by)), hint.version);
      if (r.ok) {
        this.counterHints.set(path, { value: hint.value + by, version: r.version });
        return hint.value + by;
      }
      this.counterHints.delete(path);
    }
    for (let attempt = 0; attempt < COORD_LIMITS.counterAttemptsMax; attempt++) {
      const node = await this.get(path);
      if (node === undefined) {
        let { rc } = await this.rawCreate(path, Buffer.from(String(by)), 0);
        if (rc === C.ZNONODE) {
          await this.ensurePath(parentPath(path));
          ({ rc } = await this.rawCreate(path, Buffer.from(String(by)), 0));
        }
        if (rc === C.ZOK) {
          this.counterHints.set(path, { value: by, version: 0 });
          return by;
        }
        if (rc !== C.ZNODEEXISTS) throw coordError('create', path, rc);
      } else {
        const text = node.data.toString('utf8').trim();
        const current = text === '' ? 0 : Number(text);
        if (!Number.isSafeInteger(current) || current < 0) {
          throw new TesseraError('INTERNAL', `counter ${path} holds ${JSON.stringify(text)}, not a decimal count`, { path });
        }
        const r = await this.set(path, Buffer.from(String(current + by)), node.version);
        if (r.ok) {
          this.counterHints.set(path, { value: current + by, version: r.version });
          return current + by;
        }
      }
      await sleep(backoffMs(attempt, COORD_LIMITS.counterBackoffBaseMs, COORD_LIMITS.counterBackoffMaxMs));
    }
    throw coordError('incrementCounter', path, C.ZBADVERSION, `still contended after ${COORD_LIMITS.counterAttemptsMax} attempts`);
  }

  // ---- watches ----

  /**
   * Calls cb with the sorted children of path ([] while it does not exist) as soon as they are
   * read, then again whenever they change, across reconnects and new sessions. Returns stop().
   */
  watchChildren(path: string, cb: (children: string[]) => void): () => void {
    return this.addWatch('children', path, cb as (value: string[] | Buffer | undefined) => void);
  }

  /** Like watchChildren for the node's data (undefined while the node does not exist). */
  watchData(path: string, cb: (value: Buffer | undefined) => void): () => void {
    return this.addWatch('data', path, cb as (value: string[] | Buffer | undefined) => void);
  }

  // ---- lifecycle ----

  /**
   * Closes the session on purpose without closing this object (OpenMLDB's `disconnectzk`): its
   * ephemeral nodes go away, `disconnected` and `expired` are emitted, and every call fails fast
   * with COORD_ERROR until reconnect().
   */
  async disconnect(): Promise<void> {
    if (this.mode !== 'active') return;
    this.mode = 'disconnectedOnPurpose';
    const lost = this.currentSessionId;
    const wasConnected = this.connectedNow;
    this.connectedNow = false;
    this.currentSessionId = undefined;
    this.closeHandle();
    this.log.warn(`ZooKeeper session ${lost ?? '-'} closed on purpose`);
    if (wasConnected) this.safeEmit('disconnected');
    this.safeEmit('expired', { sessionId: lost });
  }

  /** Opens a new session after disconnect() (OpenMLDB's `connectzk`); resolves when connected. */
  async reconnect(): Promise<void> {
    if (this.mode === 'closed') throw this.unusableError('reconnect', this.rootPath);
    if (this.mode === 'disconnectedOnPurpose') {
      this.mode = 'active';
      this.openHandle();
    }
    await this.waitConnected(this.connectTimeoutMs);
  }

  /** Closes the session for good: ephemeral nodes go away, watches stop, later calls fail. */
  async close(): Promise<void> {
    if (this.mode === 'closed') return;
    const wasConnected = this.connectedNow;
    this.mode = 'closed';
    this.connectedNow = false;
    this.currentSessionId = undefined;
    this.watches.closeAll();
    this.closeHandle();
    if (wasConnected) this.safeEmit('disconnected');
  }

  // ---- internals: the native handle ----

  private openHandle(resume?: ResumeSession): void {
    const generation = ++this.generation;
    // A resumed session is not a new one: its ephemeral nodes are still there.
    this.handleHasConnected = resume !== undefined;
    const zk = new ZooKeeper({
      connect: this.zkCluster,
      timeout: this.sessionTimeoutMs,
      debug_level: this.nativeLogLevel, // the C client's own stderr log; off unless asked for
      host_order_deterministic: false,
      response_counter_limit: COORD_LIMITS.nativeEmptyReadsMax,
      ...(resume ? { client_id: resume.clientId, client_password: resume.password } : {}),
    });
    const current = (): boolean => generation === this.generation;
    zk.on('connect', () => current() && this.markConnected(zk));
    zk.on('connecting', () => current() && this.markDisconnected());
    zk.on('close', (_zk: unknown, code: number) => this.onHandleClosed(generation, code));
    for (const event of ['created', 'deleted', 'changed', 'child', 'notwatching'] as const) {
      zk.on(event, (_zk: unknown, path: string) => current() && this.watches.onNativeEvent(event, path));
    }
    zk.on('error', (err: unknown) => this.log.error(`native ZooKeeper client error: ${String(err)}`));
    this.handle = zk;
    zk.init({});
    this.pollTimer = setInterval(() => this.pollConnection(), COORD_LIMITS.connectionPollMs);
    this.pollTimer.unref();
  }

  /** Brings connectedNow in line with the native state (see COORD_LIMITS.connectionPollMs). */
  private pollConnection(): void {
    const zk = this.handle;
    if (zk === undefined || this.mode !== 'active') return;
    if (zk.state !== this.lastNativeState) {
      this.lastNativeState = zk.state;
      if (this.log.debugEnabled) this.log.debug(`native ZooKeeper state ${nativeStateName(zk.state)} (handle ${this.generation})`);
    }
    if (zk.state === C.ZOO_CONNECTED_STATE) this.markConnected(zk);
    else this.markDisconnected();
  }

  private closeHandle(failWith: number = C.ZCLOSING): void {
    const zk = this.handle;
    const generation = this.generation;
    this.generation++;
    this.handle = undefined;
    if (this.pollTimer !== undefined) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    if (zk !== undefined) {
      try {
        zk.close();
      } catch (err) {
        this.log.warn(`closing the native ZooKeeper handle failed: ${String(err)}`);
      }
    }
    this.failPending(generation, failWith);
  }

  /**
   * The C client closed its socket inside a call (a send failed: the server went away) without
   * the wrapper knowing: the wrapper's uv_poll still watches that descriptor number, and the next
   * socket the process opens under the same number (an HTTP connection, the next ZooKeeper
   * attempt) has its readiness delivered to this handle and its own lost. A process that opens
   * sockets all the time then never completes a ZooKeeper handshake again, fresh handles included
   * (chaos seed 198: the harness's SDK client after a ZooKeeper restart). The handle is replaced
   * at once, before any other socket can take the number, by one that resumes the same session.
   */
  private resumeOnFreshHandle(zk: ZooKeeper): void {
    const clientId = String(zk.client_id);
    const password = String(zk.client_password);
    const wasConnected = this.connectedNow;
    this.connectedNow = false;
    const resume = clientId !== '0' && clientId !== '' ? { clientId, password } : undefined;
    this.log.warn(`ZooKeeper ${this.zkCluster}: the native client dropped its connection inside a call; ${resume ? `resuming session ${clientId}` : 'opening a session'} on a new handle`);
    this.closeHandle(C.ZCONNECTIONLOSS);
    this.openHandle(resume);
    if (wasConnected) this.safeEmit('disconnected');
  }

  private markConnected(zk: ZooKeeper): void {
    if (this.connectedNow) return;
    const sessionId = String(zk.client_id);
    const newSession = !this.handleHasConnected;
    this.handleHasConnected = true;
    this.connectedNow = true;
    this.currentSessionId = sessionId;
    this.log.info(`ZooKeeper ${this.zkCluster} connected, session ${sessionId}${newSession ? ' (new)' : ''}`);
    this.safeEmit('connected', { sessionId, newSession });
    this.watches.refreshAll();
  }

  private markDisconnected(): void {
    if (!this.connectedNow) return;
    this.connectedNow = false;
    this.log.warn(`ZooKeeper ${this.zkCluster} connection lost, session ${this.currentSessionId ?? '-'} reconnecting`);
    this.safeEmit('disconnected');
  }

  /** The native client closed its handle by itself: the session expired (or was given up). */
  private onHandleClosed(generation: number, code: number): void {
    this.failPending(generation, code === 0 ? C.ZCLOSING : C.ZSESSIONEXPIRED);
    if (generation !== this.generation || this.mode !== 'active') return;
    const lost = this.currentSessionId;
    const wasConnected = this.connectedNow;
    this.connectedNow = false;
    this.currentSessionId = undefined;
    this.log.warn(`ZooKeeper session ${lost ?? '-'} expired (code ${code}); opening a new session`);
    // Open the next handle first, so that calls made by listeners queue on it.
    if (this.pollTimer !== undefined) clearInterval(this.pollTimer);
    this.openHandle();
    if (wasConnected) this.safeEmit('disconnected');
    this.safeEmit('expired', { sessionId: lost });
  }

  private failPending(generation: number, rc: number): void {
    const set = this.pending.get(generation);
    if (set === undefined) return;
    this.pending.delete(generation);
    for (const fail of set) fail(rc);
  }

  private unusableError(op: string, path: string): TesseraError {
    return this.mode === 'closed'
      ? new TesseraError('COORD_ERROR', `ZooKeeper ${op} ${path}: session is closed`, { op, path, zkError: 'ZCLOSING' })
      : new TesseraError('COORD_ERROR', `ZooKeeper ${op} ${path}: disconnected on purpose`, { op, path, zkError: 'ZINVALIDSTATE' });
  }

  /**
   * Issues one native call and resolves with its return code and result. Never rejects for a
   * ZooKeeper failure (the caller maps rc); rejects only when the session is unusable.
   */
  private call<T>(op: string, path: string, issue: (zk: ZooKeeper, done: Done<T>) => unknown): Promise<{ rc: number; value?: T }> {
    const zk = this.handle;
    if (this.mode !== 'active' || zk === undefined) return Promise.reject(this.unusableError(op, path));
    const generation = this.generation;
    let set = this.pending.get(generation);
    if (set === undefined) {
      set = new Set();
      this.pending.set(generation, set);
    }
    const pendingSet = set;
    return new Promise((resolve) => {
      let settled = false;
      const finish: Done<T> = (rc, value) => {
        if (settled) return;
        settled = true;
        pendingSet.delete(fail);
        // A lost connection shows first in failed calls; notice it now rather than at the next poll.
        if ((rc === C.ZCONNECTIONLOSS || rc === C.ZOPERATIONTIMEOUT) && generation === this.generation) this.pollConnection();
        resolve(value === undefined ? { rc } : { rc, value });
      };
      const fail = (rc: number): void => finish(rc);
      pendingSet.add(fail);
      const ret = issue(zk, finish);
      if (typeof ret === 'number' && ret !== C.ZOK) finish(ret);
      if (zk.state === NATIVE_SOCKET_DROPPED_IN_CALL_STATE && zk === this.handle && this.mode === 'active') this.resumeOnFreshHandle(zk);
    });
  }

  private rawCreate(path: string, bytes: Buffer, flags: number): Promise<{ rc: number; value?: string }> {
    return this.call<string>('create', path, (zk, done) => zk.a_create(path, bytes, flags, (rc, _e, created) => done(rc, created)));
  }

  private async rawDelete(path: string, version: number): Promise<number> {
    const { rc } = await this.call<never>('delete', path, (zk, done) => zk.a_delete_(path, version, (rc) => done(rc)));
    return rc;
  }

  private safeEmit<K extends keyof CoordSessionEvents>(event: K, ...args: CoordSessionEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: CoordSessionEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.log.error(`a '${event}' listener threw: ${(err as Error).stack ?? String(err)}`);
    }
  }

  // ---- internals: the reads that arm watches (session-watches.ts keeps the watches) ----

  private addWatch(kind: WatchKind, path: string, deliver: (value: string[] | Buffer | undefined) => void): () => void {
    checkPath(path);
    if (this.mode === 'closed') throw this.unusableError(kind === 'children' ? 'watchChildren' : 'watchData', path);
    return this.watches.add(kind, path, deliver);
  }

  /** getChildren with the watch flag; while the node is missing, an exists watch waits for it. */
  private async readChildrenArmed(path: string): Promise<WatchSnapshot> {
    const { rc, value } = await this.call<string[]>('getChildren', path, (zk, done) =>
      zk.a_get_children(path, true, (rc, _e, children) => done(rc, children)),
    );
    if (rc === C.ZOK) {
      const children = [...(value ?? [])].sort();
      return { value: children, fingerprint: JSON.stringify(children) };
    }
    if (rc !== C.ZNONODE) throw coordError('getChildren', path, rc);
    return (await this.armExists(path)) ? undefined : { value: [], fingerprint: '[]' };
  }

  private async readDataArmed(path: string): Promise<WatchSnapshot> {
    const { rc, value } = await this.call<[stat, string | Buffer | null]>('get', path, (zk, done) =>
      zk.a_get(path, true, (rc, _e, st, data) => done(rc, [st, data])),
    );
    if (rc === C.ZOK && value !== undefined) {
      const [st, data] = value;
      return { value: toBuffer(data), fingerprint: `${st.czxid}:${st.mzxid}` };
    }
    if (rc !== C.ZNONODE) throw coordError('get', path, rc);
    return (await this.armExists(path)) ? undefined : { value: undefined, fingerprint: 'none' };
  }

  /** Sets an exists watch; returns whether the node exists now. */
  private async armExists(path: string): Promise<boolean> {
    const { rc } = await this.call<stat>('exists', path, (zk, done) => zk.a_exists(path, true, (rc, _e, st) => done(rc, st)));
    if (rc === C.ZOK) return true;
    if (rc === C.ZNONODE) return false;
    throw coordError('exists', path, rc);
  }
}
