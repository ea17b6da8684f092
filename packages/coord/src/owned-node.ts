/**
 * What the owners of an ephemeral node (election.ts: the candidate's lock node; registration.ts:
 * the tablet's `/nodes/<endpoint>`) and the two backends share, kept once: waiting for the first
 * of some events within a bound, the keeper that runs an owner's passes over its session's events
 * and watch, and creating a node that is taken back at once when its owner stopped while the
 * create was in flight.
 */
import type { EventEmitter } from 'node:events';
import { TesseraError, type Logger } from '@tessera/common';
import { SerialRunner } from './serial-runner.js';
import { COORD_LIMITS, type Coord, type CoordData, type CoordSessionEvents } from './coord.js';

type AnyEmitter = Pick<EventEmitter, 'on' | 'off'>;

/**
 * Resolves at the first of `events` emitted by `emitter`, or rejects with `timeoutError()` after
 * timeoutMs; no listener or timer is left behind either way.
 */
export function firstEventWithin(emitter: AnyEmitter, events: readonly string[], timeoutMs: number, timeoutError: () => TesseraError): Promise<void> {
  return new Promise((resolve, reject) => {
    const detach = (): void => {
      clearTimeout(timer);
      for (const e of events) emitter.off(e, done);
    };
    const done = (): void => {
      detach();
      resolve();
    };
    const timer = setTimeout(() => {
      detach();
      reject(timeoutError());
    }, timeoutMs);
    for (const e of events) emitter.on(e, done);
  });
}

/** What an owner of one ephemeral node says about it; the keeper does the rest. */
export interface OwnedNodeSpec {
  /** The owner's endpoint (in the start timeout's error). */
  endpoint: string;
  /** Bound on start() reaching the owner's first decision. */
  startTimeoutMs: number;
  log: Logger;
  /** What a failed pass was, for the retry warning ("election step", "registration of host:port"). */
  pass: string;
  /** One idempotent pass: look at ZooKeeper and do whatever is still missing for the node. */
  reconcile(): Promise<void>;
  /** Opens the owner's watch on its node; `kick` asks for another pass. Returns the watch's stop(). */
  watch(kick: () => void): () => void;
  /** Session events besides `connected` (which always asks for a pass). */
  sessionEvents: { [K in keyof CoordSessionEvents]?: (...args: CoordSessionEvents[K]) => void };
  /** On stop, once passes and listeners stopped: forget the node and delete it if ours and reachable. */
  release(): Promise<void>;
}

/**
 * Keeps one ephemeral node for its owner (election.ts: the candidate's lock node; registration.ts:
 * the tablet's `/nodes/<endpoint>`): passes that never overlap and retry with backoff, run again
 * on every reconnect and whenever the owner's watch fires; start() waits (bounded) for the owner's
 * first decision and leaves again on timeout; stop() ends all of it and lets the owner release.
 */
export class OwnedNodeKeeper {
  private active = false;
  private readonly runner: SerialRunner;
  private readonly handlers: OwnedNodeSpec['sessionEvents'];
  private stopWatch: (() => void) | undefined;

  constructor(
    private readonly session: Coord,
    private readonly spec: OwnedNodeSpec,
  ) {
    this.runner = new SerialRunner(() => spec.reconcile(), {
      retryBaseMs: COORD_LIMITS.watchRetryBaseMs,
      retryMaxMs: COORD_LIMITS.watchRetryMaxMs,
      onError: (err) => spec.log.warn(`${spec.pass} failed, will retry: ${(err as Error).message}`),
    });
    this.handlers = { ...spec.sessionEvents, connected: () => this.runner.kick() };
  }

  /** True from start() until stop(). */
  get running(): boolean {
    return this.active;
  }

  /** Asks for one more pass. */
  kick(): void {
    this.runner.kick();
  }

  /**
   * Starts keeping the node and resolves at the first of `decisions` emitted by the owner; on
   * timeout it stops again and rejects with COORD_ERROR `<what> after <startTimeoutMs> ms`.
   */
  async start(owner: AnyEmitter, decisions: readonly string[], what: string): Promise<void> {
    if (this.active) return;
    this.active = true;
    const { endpoint, startTimeoutMs } = this.spec;
    const decided = firstEventWithin(owner, decisions, startTimeoutMs, () => new TesseraError('COORD_ERROR', `${what} after ${startTimeoutMs} ms`, { zkError: 'ZOPERATIONTIMEOUT', endpoint }));
    for (const [event, fn] of Object.entries(this.handlers)) this.session.on(event as keyof CoordSessionEvents, fn as () => void);
    this.stopWatch = this.spec.watch(() => this.runner.kick());
    this.runner.kick();
    try {
      await decided;
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Stops the passes, the watch and the session listeners, then lets the owner release its node. */
  async stop(): Promise<void> {
    if (!this.active) return;
    this.active = false;
    this.runner.stop();
    this.stopWatch?.();
    this.stopWatch = undefined;
    for (const [event, fn] of Object.entries(this.handlers)) this.session.off(event as keyof CoordSessionEvents, fn as () => void);
    await this.spec.release();
  }
}

/**
 * Creates an ephemeral node for an owner that may stop meanwhile: when `stillRunning()` is false
 * once the create answers, the node is deleted again and undefined returned.
 */
export async function createOwned(session: Coord, path: string, data: CoordData, opts: { sequential?: boolean }, stillRunning: () => boolean): Promise<string | undefined> {
  const created = await session.create(path, data, { ephemeral: true, ...opts });
  if (stillRunning()) return created;
  await session.delete(created);
  return undefined;
}
