/**
 * What the two backends' watches share (session-watches.ts for ZooKeeper, memory.ts in process):
 * the watches held per path — added, removed again (the path's set dropped once empty), listed —
 * and delivering a read value only when it differs from the one delivered last.
 */
import type { Logger } from '@tessera/common';

export type WatchKind = 'children' | 'data';
export type WatchValue = string[] | Buffer | undefined;

/** The fields every backend's watch has. */
export interface WatchBase {
  readonly kind: WatchKind;
  readonly path: string;
  readonly deliver: (value: WatchValue) => void;
  active: boolean;
  /** What was last delivered: the children list, or czxid:mzxid of the node ('none' while absent). */
  fingerprint: string | undefined;
}

export class WatchRegistry<W extends WatchBase> {
  private readonly byPath = new Map<string, Set<W>>();

  /** Holds w until the returned remove() runs; `onRemove` runs first (it deactivates w). */
  add(w: W, onRemove: (w: W) => void): () => void {
    let set = this.byPath.get(w.path);
    if (set === undefined) {
      set = new Set();
      this.byPath.set(w.path, set);
    }
    set.add(w);
    return () => {
      onRemove(w);
      const current = this.byPath.get(w.path);
      current?.delete(w);
      if (current?.size === 0) this.byPath.delete(w.path);
    };
  }

  /** The watches on one path. */
  at(path: string): Iterable<W> {
    return this.byPath.get(path) ?? [];
  }

  /** Every watch held. */
  *all(): Iterable<W> {
    for (const set of this.byPath.values()) yield* set;
  }

  /** Drops every watch, `onRemove` run on each first. */
  clear(onRemove: (w: W) => void): void {
    for (const w of this.all()) onRemove(w);
    this.byPath.clear();
  }
}

/** Delivers `value` unless its fingerprint equals the last delivered; a throwing callback is logged. */
export function deliverIfChanged(w: WatchBase, value: WatchValue, fingerprint: string, log: Logger): void {
  if (!w.active || fingerprint === w.fingerprint) return;
  w.fingerprint = fingerprint;
  try {
    w.deliver(value);
  } catch (err) {
    log.error(`watch callback for ${w.path} threw: ${(err as Error).stack ?? String(err)}`);
  }
}
