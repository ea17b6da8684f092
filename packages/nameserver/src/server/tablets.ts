/**
 * Which tablets are in the cluster: watches `/nodes` and keeps, per endpoint, its state
 * (kTabletHealthy while registered, kTabletOffline after it vanished), when that state began, and
 * its registration (start time, startup mark). Standbys run it too, so a new leader knows the
 * tablets' states at once. Emits `up` and `down` for the leader's reactions.
 */
import { EventEmitter } from 'node:events';
import type { Logger, TabletRegistration } from '@tessera/common';
import type { Coord, ZkLayout } from '@tessera/coord';
import { systemClock, type Clock } from './clock.js';

export type TabletState = 'kTabletHealthy' | 'kTabletOffline';

export interface TabletInfo {
  endpoint: string;
  state: TabletState;
  /** When the current state began, epoch ms. */
  sinceMs: number;
  registration: TabletRegistration | undefined;
}

export interface TabletTrackerEvents {
  up: [tablet: TabletInfo];
  down: [tablet: TabletInfo];
}

export class TabletTracker extends EventEmitter<TabletTrackerEvents> {
  private readonly tablets = new Map<string, TabletInfo>();
  private unwatch: (() => void) | undefined;
  private generation = 0;

  constructor(
    private readonly session: Coord,
    private readonly layout: ZkLayout,
    private readonly log: Logger,
    private readonly clock: Clock = systemClock,
  ) {
    super();
  }

  async start(): Promise<void> {
    await this.session.ensurePath(this.layout.nodes);
    this.unwatch = this.session.watchChildren(this.layout.nodes, (children) => void this.sync(children));
  }

  stop(): void {
    this.unwatch?.();
    this.unwatch = undefined;
  }

  private async sync(children: string[]): Promise<void> {
    const gen = ++this.generation;
    const present = new Set(children);
    const regs = new Map<string, TabletRegistration | undefined>();
    for (const ep of children) {
      try {
        const node = await this.session.getJson<TabletRegistration>(this.layout.node(ep));
        regs.set(ep, node?.value);
      } catch {
        regs.set(ep, undefined);
      }
    }
    if (gen !== this.generation) return; // a newer listing superseded this one
    const now = this.clock.nowMs();
    for (const ep of present) {
      const prev = this.tablets.get(ep);
      const registration = regs.get(ep);
      const restarted = prev?.registration && registration && prev.registration.startMs !== registration.startMs;
      if (!prev || prev.state !== 'kTabletHealthy' || restarted) {
        const info: TabletInfo = { endpoint: ep, state: 'kTabletHealthy', sinceMs: now, registration };
        this.tablets.set(ep, info);
        this.log.info(`tablet ${ep} is healthy${registration?.startup ? ' (process start)' : ''}`);
        this.emit('up', info);
      } else if (registration) {
        prev.registration = registration;
      }
    }
    for (const [ep, info] of this.tablets) {
      if (!present.has(ep) && info.state === 'kTabletHealthy') {
        const down: TabletInfo = { ...info, state: 'kTabletOffline', sinceMs: now };
        this.tablets.set(ep, down);
        this.log.warn(`tablet ${ep} is offline`);
        this.emit('down', down);
      }
    }
  }

  /** Records an endpoint known from metadata but never seen registered (offline). */
  noteKnown(endpoint: string): void {
    if (!this.tablets.has(endpoint)) this.tablets.set(endpoint, { endpoint, state: 'kTabletOffline', sinceMs: this.clock.nowMs(), registration: undefined });
  }

  get(endpoint: string): TabletInfo | undefined {
    return this.tablets.get(endpoint);
  }

  isHealthy(endpoint: string): boolean {
    return this.tablets.get(endpoint)?.state === 'kTabletHealthy';
  }

  healthy(): string[] {
    return [...this.tablets.values()].filter((t) => t.state === 'kTabletHealthy').map((t) => t.endpoint).sort();
  }

  /** How long the tablet has been in its state (showtablet's age), by the tracker's clock. */
  ageMs(info: TabletInfo): number {
    return Math.max(0, this.clock.nowMs() - info.sinceMs);
  }

  all(): TabletInfo[] {
    return [...this.tablets.values()].sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0));
  }
}
