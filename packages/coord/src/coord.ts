/**
 * The coordination interface every package uses: what a ZooKeeper session offers (versioned
 * nodes, ephemeral and sequential nodes, watches, session events). Two backends implement it and
 * are held to one conformance suite (coord/test/conformance.ts): `CoordSession` over a real
 * ZooKeeper, and `MemoryCoord` (memory.ts), an in-process tree for tests of the servers' routes
 * that need no ZooKeeper process. Code outside this package names `Coord`, never a backend,
 * except where a process opens its session.
 */
import type { EventEmitter } from 'node:events';
import { TesseraError, invalidArgument } from '@tessera/common';
import type { ZkLayout } from './layout.js';

/** Bounds of the coordination backends, named once. */
export const COORD_LIMITS = {
  /** Default wait for the first connection in connect() / reconnect(). */
  connectTimeoutMsDefault: 15_000,
  /** Reads one readJsonMany() keeps in flight: ZooKeeper answers a session's requests in order, so this pipelines them. */
  readsInFlightMax: 64,
  /** Compare-and-set rounds of incrementCounter before it gives up under contention. */
  counterAttemptsMax: 200,
  counterBackoffBaseMs: 1,
  counterBackoffMaxMs: 50,
  /** Rounds of createOrSet / deleteRecursive when other writers race with them. */
  raceAttemptsMax: 20,
  /** Backoff between re-reads of a watch whose read failed while connected. */
  watchRetryBaseMs: 50,
  watchRetryMaxMs: 2_000,
  /**
   * The native wrapper gives a session up after this many consecutive empty reads (its default,
   * 10, fires while the server is merely paused and loses sessions that would have survived).
   * Wake-ups with nothing to read come without end when the descriptor's old connection lives on
   * in a child process (still in libuv's epoll set under that number): the C client is built with
   * SOCK_CLOEXEC for that (patches/zookeeper@7.3.0.patch; docs/architecture.md).
   */
  nativeEmptyReadsMax: 10_000,
  /**
   * How often the native connection state is sampled. The native client does not always report a
   * lost connection (its event stays queued while every reconnect attempt fails), so this class
   * looks for itself; a sample is a field read, no I/O.
   */
  connectionPollMs: 100,
  /** Bytes of one node's data (ZooKeeper's own jute.maxbuffer is 1 MiB including overhead). */
  nodeDataBytesMax: 1_000_000,
} as const;

/** A counter step: a positive safe integer, else INVALID_ARGUMENT. */
export function counterStep(by: number): number {
  if (!Number.isSafeInteger(by) || by < 1) throw new TesseraError('INVALID_ARGUMENT', `a counter step must be a positive integer, not ${by}`, { field: 'by' });
  return by;
}

/** Data accepted by writes: bytes as is, a string as UTF-8, anything else as UTF-8 JSON. */
export type CoordData = Buffer | string | object;

export type SetResult = { ok: true; version: number } | { ok: false; reason: 'badVersion' | 'noNode' };
export type DeleteResult = { ok: true } | { ok: false; reason: 'badVersion' | 'noNode' };

export interface NodeData {
  data: Buffer;
  version: number;
  /** Session id (hex, as `sessionId`) owning an ephemeral node; undefined for persistent nodes. */
  ephemeralOwner: string | undefined;
}

export interface CoordSessionEvents {
  /** The session is usable: after the first connect, after a reconnect, after a new session. */
  connected: [info: { sessionId: string; newSession: boolean }];
  /** The connection is lost (the session may still be alive) or was dropped on purpose. */
  disconnected: [];
  /** The session is gone with its ephemeral nodes and watches; a new one is being opened. */
  expired: [info: { sessionId: string | undefined }];
}

/**
 * One coordination session. Failures surface as `TesseraError('COORD_ERROR')` with ZooKeeper's
 * error name in `details.zkError` (ZNODEEXISTS, ZNONODE, ZNOTEMPTY, ZINVALIDSTATE after
 * disconnect(), ZCLOSING after close()); paths are absolute (INVALID_ARGUMENT otherwise).
 */
export interface Coord extends EventEmitter<CoordSessionEvents> {
  readonly rootPath: string;
  readonly layout: ZkLayout;
  readonly sessionTimeoutMs: number;
  /** Hex id of the current session; undefined while no session is established. */
  readonly sessionId: string | undefined;
  /** True while calls go through. */
  readonly isConnected: boolean;
  /** Resolves when connected (at once if already); rejects with COORD_ERROR after timeoutMs or on close. */
  waitConnected(timeoutMs: number): Promise<void>;

  get(path: string): Promise<NodeData | undefined>;
  getJson<T>(path: string): Promise<{ value: T; version: number } | undefined>;
  exists(path: string): Promise<boolean>;
  /** Names of the children, sorted; [] when the node does not exist. */
  children(path: string): Promise<string[]>;

  /** Creates a node and returns its path (with the 10-digit sequence suffix for sequential nodes). */
  create(path: string, data: CoordData, opts?: { ephemeral?: boolean; sequential?: boolean }): Promise<string>;
  /** mkdir -p of persistent, empty nodes; existing nodes are left as they are. */
  ensurePath(path: string): Promise<void>;
  /** Writes data; with expectedVersion it is a compare-and-set. */
  set(path: string, data: CoordData, expectedVersion?: number): Promise<SetResult>;
  setJson(path: string, value: unknown, expectedVersion?: number): Promise<SetResult>;
  /** Writes data whether or not the node exists (creating its parents); returns the new version. */
  createOrSet(path: string, data: CoordData): Promise<{ version: number }>;
  /** Deletes one node; with expectedVersion only if it still has that version. */
  delete(path: string, expectedVersion?: number): Promise<DeleteResult>;
  /** Deletes a node and everything under it; a missing node is not an error. */
  deleteRecursive(path: string): Promise<void>;
  /**
   * Adds `by` (a positive integer, default 1) to a decimal counter with compare-and-set and returns
   * the new value: the caller owns the `by` values up to it (a missing node starts at 0).
   */
  incrementCounter(path: string, by?: number): Promise<number>;

  /** Calls cb with the sorted children (first read, then on every change, across reconnects); returns stop(). */
  watchChildren(path: string, cb: (children: string[]) => void): () => void;
  /** Like watchChildren for the node's data (undefined while the node does not exist). */
  watchData(path: string, cb: (value: Buffer | undefined) => void): () => void;

  /** Closes the session on purpose (`disconnectzk`): ephemeral nodes go, calls fail until reconnect(). */
  disconnect(): Promise<void>;
  /** Opens a new session after disconnect() (`connectzk`). */
  reconnect(): Promise<void>;
  /** Closes the session for good. */
  close(): Promise<void>;
}

/** True for a COORD_ERROR, optionally one carrying the given ZooKeeper error name. */
export function isCoordError(err: unknown, zkError?: string): err is TesseraError {
  return err instanceof TesseraError && err.code === 'COORD_ERROR' && (zkError === undefined || err.details?.['zkError'] === zkError);
}

/** The COORD_ERROR of a failed call, named by ZooKeeper's error name (both backends use it). */
export function coordErrorNamed(op: string, path: string, zkError: string, why?: string, extra: Record<string, unknown> = {}): TesseraError {
  return new TesseraError('COORD_ERROR', `ZooKeeper ${op} ${path} failed: ${why ?? zkError}`, { op, path, zkError, ...extra });
}

/** Refuses anything but an absolute ZooKeeper path. */
export function checkPath(path: string): void {
  if (typeof path !== 'string' || !path.startsWith('/') || (path.length > 1 && path.endsWith('/')) || path.includes('//')) {
    throw invalidArgument(`not an absolute ZooKeeper path: ${JSON.stringify(path)}`);
  }
}

/** The bytes a write stores (see CoordData), refused over COORD_LIMITS.nodeDataBytesMax. */
export function encodeData(data: CoordData): Buffer {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(typeof data === 'string' ? data : JSON.stringify(data), 'utf8');
  if (bytes.length > COORD_LIMITS.nodeDataBytesMax) {
    throw new TesseraError('LIMIT_EXCEEDED', `ZooKeeper node data of ${bytes.length} bytes exceeds nodeDataBytesMax`, {
      limit: 'nodeDataBytesMax',
      bytes: bytes.length,
    });
  }
  return bytes;
}

export function parseJson<T>(path: string, data: Buffer): T {
  try {
    return JSON.parse(data.toString('utf8')) as T;
  } catch (err) {
    throw new TesseraError('INTERNAL', `ZooKeeper node ${path} does not hold JSON`, { path }, { cause: err });
  }
}
