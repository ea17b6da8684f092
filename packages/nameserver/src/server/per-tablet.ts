/**
 * What the leading nameserver keeps per tablet that the tablet's coming up or going down makes
 * stale (its last status report, the snapshot limits it acknowledged): a map by endpoint that
 * forgets a tablet on both of the tracker's events. A restarted tablet holds anything now; one
 * that went away must not be read as current.
 */
import type { TabletInfo, TabletTracker } from './tablets.js';

export class PerTablet<V> {
  private readonly values = new Map<string, V>();

  constructor(tablets: TabletTracker) {
    const forget = (t: TabletInfo): void => {
      this.values.delete(t.endpoint);
    };
    tablets.on('up', forget);
    tablets.on('down', forget);
  }

  get(endpoint: string): V | undefined {
    return this.values.get(endpoint);
  }

  set(endpoint: string, value: V): void {
    this.values.set(endpoint, value);
  }

  has(endpoint: string): boolean {
    return this.values.has(endpoint);
  }

  clear(): void {
    this.values.clear();
  }
}
