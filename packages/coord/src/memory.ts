/**
 * The in-memory coordination backend: `MemoryCoordServer` is one node tree in this process (as
 * one ZooKeeper ensemble), `MemoryCoord` one session on it, implementing `Coord` with ZooKeeper's
 * semantics as the conformance suite states them: versions and compare-and-set, ephemeral nodes
 * owned by a session and removed with it, sequential names from the parent's child counter,
 * watches delivered asynchronously and re-armed, session events. For in-process tests of the
 * tablet and nameserver shells (fastify inject()); `expire()` ends a session as ZooKeeper does
 * when it times out. No timers of its own: every change is delivered on the next turn.
 */
import { EventEmitter } from 'node:events';
import { TesseraError, silentLogger, type Logger } from '@tessera/common';
import {
  checkPath, coordErrorNamed, counterStep, encodeData, parseJson,
  type Coord, type CoordData, type CoordSessionEvents, type DeleteResult, type NodeData, type SetResult,
} from './coord.js';
import { parentPath, zkLayout, type ZkLayout } from './layout.js';
import { firstEventWithin } from './owned-node.js';
import { deliverIfChanged, WatchRegistry, type WatchBase, type WatchKind, type WatchValue } from './watch-registry.js';

interface MemNode {
  data: Buffer;
  version: number;
  /** Session id owning an ephemeral node. */
  owner: string | undefined;
  /** zxid of the create and of the last change (a data watch's fingerprint, as ZooKeeper's czxid:mzxid). */
  czxid: number;
  mzxid: number;
  /** Child creates so far: the next sequential child's suffix (ZooKeeper's cversion). */
  childSeq: number;
}

type Mode = 'active' | 'disconnectedOnPurpose' | 'closed';

interface MemWatch extends WatchBase {
  scheduled: boolean;
}

const deactivate = (w: MemWatch): void => {
  w.active = false;
};

/** One node tree shared by the sessions opened on it. */
export class MemoryCoordServer {
  private readonly nodes = new Map<string, MemNode>([['/', { data: Buffer.alloc(0), version: 0, owner: undefined, czxid: 0, mzxid: 0, childSeq: 0 }]]);
  private readonly sessions = new Set<MemoryCoord>();
  private zxid = 0;
  private sessionCounter = 0;

  /** Opens a session and creates its root path; resolves once connected. */
  async connect(opts: { rootPath: string; sessionTimeoutMs?: number; logger?: Logger }): Promise<MemoryCoord> {
    const session = new MemoryCoord(this, opts.rootPath, opts.sessionTimeoutMs ?? 10_000, opts.logger ?? silentLogger);
    this.sessions.add(session);
    await session.ensurePath(session.rootPath);
    return session;
  }

  /** Ends a session as ZooKeeper does when it times out: its ephemeral nodes go, then it opens a new session. */
  expire(session: MemoryCoord): void {
    session.expireNow();
  }

  /** @internal a new session id (hex, as ZooKeeper's). */
  newSessionId(): string {
    return (0x7e57_0000_0000 + ++this.sessionCounter).toString(16);
  }

  /** @internal */
  forget(session: MemoryCoord): void {
    this.sessions.delete(session);
  }

  // ---- the tree: each call is atomic; errors are ZooKeeper's names ----

  /** @internal */
  read(path: string): MemNode | undefined {
    return this.nodes.get(path);
  }

  /** @internal sorted child names. */
  childrenOf(path: string): string[] | undefined {
    if (!this.nodes.has(path)) return undefined;
    const prefix = path === '/' ? '/' : `${path}/`;
    const out: string[] = [];
    for (const p of this.nodes.keys()) {
      if (p !== '/' && p.startsWith(prefix) && !p.slice(prefix.length).includes('/')) out.push(p.slice(prefix.length));
    }
    return out.sort();
  }

  /** @internal returns the created path or a ZooKeeper error name. */
  create(path: string, data: Buffer, owner: string | undefined, sequential: boolean): { path: string } | { error: string } {
    const parent = this.nodes.get(parentPath(path));
    if (parent === undefined) return { error: 'ZNONODE' };
    if (parent.owner !== undefined) return { error: 'ZNOCHILDRENFOREPHEMERALS' };
    const created = sequential ? `${path}${String(parent.childSeq).padStart(10, '0')}` : path;
    if (this.nodes.has(created)) return { error: 'ZNODEEXISTS' };
    parent.childSeq++;
    const zxid = ++this.zxid;
    this.nodes.set(created, { data, version: 0, owner, czxid: zxid, mzxid: zxid, childSeq: 0 });
    this.changed(created, true);
    return { path: created };
  }

  /** @internal */
  set(path: string, data: Buffer, expectedVersion: number): SetResult {
    const node = this.nodes.get(path);
    if (node === undefined) return { ok: false, reason: 'noNode' };
    if (expectedVersion !== -1 && node.version !== expectedVersion) return { ok: false, reason: 'badVersion' };
    node.data = data;
    node.version++;
    node.mzxid = ++this.zxid;
    this.changed(path, false);
    return { ok: true, version: node.version };
  }

  /** @internal */
  delete(path: string, expectedVersion: number): DeleteResult | { error: string } {
    const node = this.nodes.get(path);
    if (node === undefined) return { ok: false, reason: 'noNode' };
    if (expectedVersion !== -1 && node.version !== expectedVersion) return { ok: false, reason: 'badVersion' };
    if ((this.childrenOf(path) ?? []).length > 0) return { error: 'ZNOTEMPTY' };
    this.nodes.delete(path);
    this.zxid++;
    this.changed(path, true);
    return { ok: true };
  }

  /** @internal removes the ephemeral nodes a session owned. */
  dropEphemerals(owner: string): void {
    for (const [path, node] of [...this.nodes]) {
      if (node.owner === owner) {
        this.nodes.delete(path);
        this.zxid++;
        this.changed(path, true);
      }
    }
  }

  /** Tells every session's watches on the node (and on its parent's children when it came or went). */
  private changed(path: string, membership: boolean): void {
    for (const s of this.sessions) s.nodeChanged(path, membership ? parentPath(path) : undefined);
  }
}

/** One session on a MemoryCoordServer; see the module header. */
export class MemoryCoord extends EventEmitter<CoordSessionEvents> implements Coord {
  readonly rootPath: string;
  readonly layout: ZkLayout;
  private mode: Mode = 'active';
  private currentSessionId: string | undefined;
  private readonly watches = new WatchRegistry<MemWatch>();

  /** @internal use MemoryCoordServer.connect(). */
  constructor(
    private readonly server: MemoryCoordServer,
    rootPath: string,
    readonly sessionTimeoutMs: number,
    private readonly log: Logger,
  ) {
    super();
    this.layout = zkLayout(rootPath);
    this.rootPath = this.layout.root;
    this.currentSessionId = server.newSessionId();
  }

  get sessionId(): string | undefined {
    return this.currentSessionId;
  }

  get isConnected(): boolean {
    return this.mode === 'active' && this.currentSessionId !== undefined;
  }

  waitConnected(timeoutMs: number): Promise<void> {
    if (this.isConnected) return Promise.resolve();
    if (this.mode !== 'active') return Promise.reject(this.unusable('waitConnected', this.rootPath));
    return firstEventWithin(this, ['connected'], timeoutMs, () => new TesseraError('COORD_ERROR', `not connected within ${timeoutMs} ms`, { zkError: 'ZCONNECTIONLOSS' }));
  }

  // ---- reads ----

  async get(path: string): Promise<NodeData | undefined> {
    this.usable('get', path);
    const node = this.server.read(path);
    return node === undefined ? undefined : { data: Buffer.from(node.data), version: node.version, ephemeralOwner: node.owner };
  }

  async getJson<T>(path: string): Promise<{ value: T; version: number } | undefined> {
    const node = await this.get(path);
    return node === undefined ? undefined : { value: parseJson<T>(path, node.data), version: node.version };
  }

  async exists(path: string): Promise<boolean> {
    this.usable('exists', path);
    return this.server.read(path) !== undefined;
  }

  async children(path: string): Promise<string[]> {
    this.usable('getChildren', path);
    return this.server.childrenOf(path) ?? [];
  }

  // ---- writes ----

  async create(path: string, data: CoordData, opts: { ephemeral?: boolean; sequential?: boolean } = {}): Promise<string> {
    this.usable('create', path);
    const r = this.server.create(path, encodeData(data), opts.ephemeral ? this.currentSessionId : undefined, opts.sequential === true);
    if ('error' in r) throw coordErrorNamed('create', path, r.error);
    return r.path;
  }

  async ensurePath(path: string): Promise<void> {
    this.usable('create', path);
    this.ensurePathNow(path);
  }

  async set(path: string, data: CoordData, expectedVersion?: number): Promise<SetResult> {
    this.usable('set', path);
    return this.server.set(path, encodeData(data), expectedVersion ?? -1);
  }

  setJson(path: string, value: unknown, expectedVersion?: number): Promise<SetResult> {
    return this.set(path, Buffer.from(JSON.stringify(value), 'utf8'), expectedVersion);
  }

  async createOrSet(path: string, data: CoordData): Promise<{ version: number }> {
    this.usable('set', path);
    const bytes = encodeData(data);
    const r = this.server.set(path, bytes, -1);
    if (r.ok) return { version: r.version };
    this.ensurePathNow(parentPath(path));
    this.createNow(path, bytes);
    return { version: 0 };
  }

  async delete(path: string, expectedVersion?: number): Promise<DeleteResult> {
    this.usable('delete', path);
    const r = this.server.delete(path, expectedVersion ?? -1);
    if ('error' in r) throw coordErrorNamed('delete', path, r.error);
    return r;
  }

  async deleteRecursive(path: string): Promise<void> {
    this.usable('delete', path);
    if (path === '/' || path === '/zookeeper' || path.startsWith('/zookeeper/')) {
      throw new TesseraError('INVALID_ARGUMENT', `refusing to delete ${path}`);
    }
    for (const child of this.server.childrenOf(path) ?? []) await this.deleteRecursive(`${path}/${child}`);
    const r = this.server.delete(path, -1);
    if ('error' in r) throw coordErrorNamed('delete', path, r.error);
  }

  async incrementCounter(path: string, by = 1): Promise<number> {
    this.usable('incrementCounter', path);
    counterStep(by);
    const node = this.server.read(path);
    if (node === undefined) {
      this.ensurePathNow(parentPath(path));
      this.createNow(path, Buffer.from(String(by)));
      return by;
    }
    const text = node.data.toString('utf8').trim();
    const current = text === '' ? 0 : Number(text);
    if (!Number.isSafeInteger(current) || current < 0) {
      throw new TesseraError('INTERNAL', `counter ${path} holds ${JSON.stringify(text)}, not a decimal count`, { path });
    }
    this.server.set(path, Buffer.from(String(current + by)), -1);
    return current + by;
  }

  // ---- watches ----

  watchChildren(path: string, cb: (children: string[]) => void): () => void {
    return this.addWatch('children', path, cb as MemWatch['deliver']);
  }

  watchData(path: string, cb: (value: Buffer | undefined) => void): () => void {
    return this.addWatch('data', path, cb as MemWatch['deliver']);
  }

  // ---- lifecycle ----

  async disconnect(): Promise<void> {
    if (this.mode !== 'active') return;
    this.mode = 'disconnectedOnPurpose';
    this.endSession('closed on purpose');
  }

  async reconnect(): Promise<void> {
    if (this.mode === 'closed') throw this.unusable('reconnect', this.rootPath);
    if (this.mode === 'disconnectedOnPurpose') {
      this.mode = 'active';
      this.openSession();
    }
  }

  async close(): Promise<void> {
    if (this.mode === 'closed') return;
    const wasConnected = this.isConnected;
    const owner = this.currentSessionId;
    this.mode = 'closed';
    this.currentSessionId = undefined;
    this.watches.clear(deactivate);
    if (owner !== undefined) this.server.dropEphemerals(owner);
    this.server.forget(this);
    if (wasConnected) this.safeEmit('disconnected');
  }

  // ---- internals ----

  /** @internal see MemoryCoordServer.expire(). */
  expireNow(): void {
    if (this.mode !== 'active' || this.currentSessionId === undefined) return;
    this.endSession('expired');
    setImmediate(() => {
      if (this.mode === 'active' && this.currentSessionId === undefined) this.openSession();
    });
  }

  /** @internal a node changed: refresh the watches on it, and the children watches on its parent. */
  nodeChanged(path: string, parent: string | undefined): void {
    for (const w of this.watches.at(path)) this.schedule(w);
    if (parent !== undefined) for (const w of this.watches.at(parent)) if (w.kind === 'children') this.schedule(w);
  }

  private endSession(why: string): void {
    const lost = this.currentSessionId;
    this.currentSessionId = undefined;
    if (lost !== undefined) this.server.dropEphemerals(lost);
    this.log.warn(`in-memory session ${lost ?? '-'} ${why}`);
    this.safeEmit('disconnected');
    this.safeEmit('expired', { sessionId: lost });
  }

  private openSession(): void {
    const sessionId = this.server.newSessionId();
    this.currentSessionId = sessionId;
    this.safeEmit('connected', { sessionId, newSession: true });
    for (const w of this.watches.all()) this.schedule(w);
  }

  /** mkdir -p in one step (no other call runs in between). */
  private ensurePathNow(path: string): void {
    if (path === '/') return;
    let prefix = '';
    for (const part of path.slice(1).split('/')) {
      prefix = `${prefix}/${part}`;
      if (this.server.read(prefix) === undefined) this.createNow(prefix, Buffer.alloc(0));
    }
  }

  private createNow(path: string, bytes: Buffer): void {
    const r = this.server.create(path, bytes, undefined, false);
    if ('error' in r) throw coordErrorNamed('create', path, r.error);
  }

  private usable(op: string, path: string): void {
    checkPath(path);
    if (this.mode !== 'active') throw this.unusable(op, path);
    if (this.currentSessionId === undefined) throw coordErrorNamed(op, path, 'ZCONNECTIONLOSS');
  }

  private unusable(op: string, path: string): TesseraError {
    return this.mode === 'closed'
      ? new TesseraError('COORD_ERROR', `ZooKeeper ${op} ${path}: session is closed`, { op, path, zkError: 'ZCLOSING' })
      : new TesseraError('COORD_ERROR', `ZooKeeper ${op} ${path}: disconnected on purpose`, { op, path, zkError: 'ZINVALIDSTATE' });
  }

  private addWatch(kind: WatchKind, path: string, deliver: (value: WatchValue) => void): () => void {
    checkPath(path);
    if (this.mode === 'closed') throw this.unusable(kind === 'children' ? 'watchChildren' : 'watchData', path);
    const w: MemWatch = { kind, path, deliver, active: true, scheduled: false, fingerprint: undefined };
    const remove = this.watches.add(w, deactivate);
    this.schedule(w);
    return remove;
  }

  /** Delivers the watch's current value on the next turn (changes in one turn coalesce). */
  private schedule(w: MemWatch): void {
    if (w.scheduled || !w.active) return;
    w.scheduled = true;
    setImmediate(() => {
      w.scheduled = false;
      if (!w.active || !this.isConnected) return;
      let value: WatchValue;
      let fingerprint: string;
      if (w.kind === 'children') {
        const children = this.server.childrenOf(w.path) ?? [];
        value = children;
        fingerprint = JSON.stringify(children);
      } else {
        const node = this.server.read(w.path);
        value = node === undefined ? undefined : Buffer.from(node.data);
        fingerprint = node === undefined ? 'none' : `${node.czxid}:${node.mzxid}`;
      }
      deliverIfChanged(w, value, fingerprint, this.log);
    });
  }

  private safeEmit<K extends keyof CoordSessionEvents>(event: K, ...args: CoordSessionEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: CoordSessionEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.log.error(`a '${event}' listener threw: ${(err as Error).stack ?? String(err)}`);
    }
  }
}
