/**
 * The ZooKeeper session's watches (session.ts owns the native handle): each watch is read with
 * the watch flag set, delivered when its value changed, and read again (arming it again) after
 * every native firing, every reconnect and every new session. Reads requested while one is under
 * way coalesce into one more read; a read that fails while connected is retried with backoff,
 * otherwise the next connect reads it again.
 */
import { backoffMs, type Logger } from '@tessera/common';
import { COORD_LIMITS } from './coord.js';
import { deliverIfChanged, WatchRegistry, type WatchBase, type WatchKind, type WatchValue } from './watch-registry.js';

interface Watch extends WatchBase {
  reading: boolean;
  dirty: boolean;
  retryAttempt: number;
  retryTimer: NodeJS.Timeout | undefined;
}

/** A watch's value as read, with its fingerprint; undefined: the node came or went between two reads. */
export type WatchSnapshot = { value: WatchValue; fingerprint: string } | undefined;

/** The native events that concern watches. */
export type NativeWatchEvent = 'created' | 'deleted' | 'changed' | 'child' | 'notwatching';

export interface SessionWatchesDeps {
  /** Reads the watch's value with the watch flag set (session.ts: native get/getChildren/exists). */
  read(kind: WatchKind, path: string): Promise<WatchSnapshot>;
  /** True while the session may be used (not closed, not disconnected on purpose). */
  usable(): boolean;
  /** True while connected now. */
  connected(): boolean;
  log: Logger;
}

export class SessionWatches {
  private readonly registry = new WatchRegistry<Watch>();

  constructor(private readonly deps: SessionWatchesDeps) {}

  /** Starts a watch and reads it at once; returns its stop(). */
  add(kind: WatchKind, path: string, deliver: (value: WatchValue) => void): () => void {
    const w: Watch = { kind, path, deliver, active: true, reading: false, dirty: false, fingerprint: undefined, retryAttempt: 0, retryTimer: undefined };
    const remove = this.registry.add(w, deactivate);
    this.refresh(w);
    return remove;
  }

  /** A native watch fired on path: reads again the watches it concerns. */
  onNativeEvent(event: NativeWatchEvent, path: string): void {
    for (const w of this.registry.at(path)) {
      if (event === 'child' && w.kind !== 'children') continue;
      if (event === 'changed' && w.kind !== 'data') continue;
      this.refresh(w);
    }
  }

  /** (Re)connected: every watch is read again, which arms it on the current handle. */
  refreshAll(): void {
    for (const w of this.registry.all()) this.refresh(w);
  }

  /** The session closed: every watch stops. */
  closeAll(): void {
    this.registry.clear(deactivate);
  }

  /** Re-reads a watch (arming it again); coalesces requests that arrive during a read. */
  private refresh(w: Watch): void {
    if (!w.active) return;
    if (w.reading) {
      w.dirty = true;
      return;
    }
    w.reading = true;
    void this.readWatch(w);
  }

  private async readWatch(w: Watch): Promise<void> {
    try {
      do {
        w.dirty = false;
        if (!w.active || !this.deps.usable()) return;
        const snapshot = await this.deps.read(w.kind, w.path);
        if (snapshot === undefined) {
          w.dirty = true; // the node appeared or vanished between the two reads
          continue;
        }
        w.retryAttempt = 0;
        deliverIfChanged(w, snapshot.value, snapshot.fingerprint, this.deps.log);
      } while (w.dirty && w.active);
    } catch (err) {
      this.scheduleRetry(w, err);
    } finally {
      w.reading = false;
    }
  }

  /** A failed read while connected is retried with backoff; otherwise the next connect re-reads. */
  private scheduleRetry(w: Watch, err: unknown): void {
    if (!w.active || !this.deps.usable()) return;
    this.deps.log.debug(`watch read of ${w.path} failed: ${(err as Error).message}`);
    if (!this.deps.connected() || w.retryTimer !== undefined) return;
    const delayMs = backoffMs(w.retryAttempt++, COORD_LIMITS.watchRetryBaseMs, COORD_LIMITS.watchRetryMaxMs);
    w.retryTimer = setTimeout(() => {
      w.retryTimer = undefined;
      this.refresh(w);
    }, delayMs);
  }
}

function deactivate(w: Watch): void {
  w.active = false;
  if (w.retryTimer !== undefined) clearTimeout(w.retryTimer);
  w.retryTimer = undefined;
}
