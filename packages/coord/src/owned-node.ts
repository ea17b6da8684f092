/**
 * What the owners of an ephemeral node (election.ts: the candidate's lock node; registration.ts:
 * the tablet's `/nodes/<endpoint>`) and the two backends share, kept once: waiting for the first
 * of some events within a bound, following a session's events while running, and creating a node
 * that is taken back at once when its owner stopped while the create was in flight.
 */
import type { EventEmitter } from 'node:events';
import type { TesseraError } from '@tessera/common';
import type { Coord, CoordData, CoordSessionEvents } from './coord.js';

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

/** Listeners on a session's events, and the owner's watch, attached and detached together. */
export class SessionListeners {
  private attached = false;
  private stopWatch: (() => void) | undefined;

  constructor(
    private readonly session: Coord,
    private readonly handlers: { [K in keyof CoordSessionEvents]?: (...args: CoordSessionEvents[K]) => void },
  ) {}

  /** Attaches the listeners and opens the owner's watch (`watch` returns its stop()). */
  attach(watch: () => () => void): void {
    if (this.attached) return;
    this.attached = true;
    for (const [event, fn] of Object.entries(this.handlers)) this.session.on(event as keyof CoordSessionEvents, fn as () => void);
    this.stopWatch = watch();
  }

  detach(): void {
    if (!this.attached) return;
    this.attached = false;
    this.stopWatch?.();
    this.stopWatch = undefined;
    for (const [event, fn] of Object.entries(this.handlers)) this.session.off(event as keyof CoordSessionEvents, fn as () => void);
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
