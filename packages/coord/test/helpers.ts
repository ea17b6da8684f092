/**
 * Shared set-up for the coord tests: one real ZooKeeper per test file, sessions closed in
 * teardown, unique root paths per test, bounded waits for events, and a tablet registration's
 * registrar (stopped in teardown) and watcher.
 */
import type { Test } from 'tap';
import { createLogger, waitFor, type Logger, type TabletRegistration } from '@tessera/common';
import { startZooKeeper, type ZkServer } from '@tessera/testkit';
import { CoordSession, TabletRegistrar, type Coord } from '../src/index.js';

/** Generous bound for anything that should happen within a second or two on a loaded machine. */
export const WAIT_MS = 20_000;

let rootCounter = 0;

/** A root path used by one test only. */
export function uniqueRoot(name: string): string {
  return `/tessera-test/${name}-${process.pid}-${++rootCounter}`;
}

export const testLogger: Logger = createLogger('coord-test', process.env['TESSERA_TEST_LOG'] === '1' ? 'debug' : 'silent');

export async function startZk(t: Test): Promise<ZkServer> {
  const zk = await startZooKeeper();
  t.teardown(() => zk.stop());
  return zk;
}

export async function connect(
  t: Test,
  zk: ZkServer,
  rootPath: string,
  sessionTimeoutMs = 4_000,
): Promise<CoordSession> {
  const session = await CoordSession.connect({ zkCluster: zk.connectString, rootPath, sessionTimeoutMs, logger: testLogger });
  t.teardown(() => session.close());
  return session;
}

/** Records every value a watch delivers and waits for one that matches. */
export class Recorder<T> {
  readonly values: T[] = [];
  readonly push = (value: T): void => {
    this.values.push(value);
  };

  get last(): T | undefined {
    return this.values[this.values.length - 1];
  }

  waitFor(what: string, match: (value: T) => boolean, timeoutMs = WAIT_MS): Promise<T> {
    return waitFor(what, () => {
      const last = this.last;
      return this.values.length > 0 && match(last as T) ? ({ value: last as T }) : undefined;
    }, { timeoutMs, intervalMs: 10 }).then((r) => r.value);
  }
}

/** Resolves with the arguments of the next `event` emitted by `emitter`, or rejects after timeoutMs. */
export function nextEvent<A extends unknown[]>(
  emitter: { once(event: string, cb: (...args: A) => void): unknown; off(event: string, cb: (...args: A) => void): unknown },
  event: string,
  timeoutMs = WAIT_MS,
): Promise<A> {
  return new Promise((resolve, reject) => {
    const onEvent = (...args: A): void => {
      clearTimeout(timer);
      resolve(args);
    };
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      reject(new Error(`no '${event}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    emitter.once(event, onEvent);
  });
}

/** A registrar of `endpoint` on `session`, stopped in teardown (not started). */
export function registrar(t: Test, session: Coord, endpoint: string): TabletRegistrar {
  const r = new TabletRegistrar(session, session.layout, endpoint, { logger: testLogger });
  t.teardown(() => r.stop());
  return r;
}

export function parseRegistration(value: Buffer | undefined): TabletRegistration | undefined {
  return value === undefined ? undefined : (JSON.parse(value.toString()) as TabletRegistration);
}

/** Watches /nodes/<endpoint> from another session and records what it holds. */
export function observeRegistration(observer: Coord, endpoint: string): Recorder<TabletRegistration | undefined> {
  const seen = new Recorder<TabletRegistration | undefined>();
  observer.watchData(observer.layout.node(endpoint), (v) => seen.push(parseRegistration(v)));
  return seen;
}
