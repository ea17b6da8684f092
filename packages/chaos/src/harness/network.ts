/**
 * The network of a chaos run, in one of two modes, and the network faults of each:
 *
 * - `netns` (Linux, root, `ip netns` and nftables work): every process (ZooKeeper, each nameserver,
 *   each tablet) runs in a network namespace of its own on its own address of a private /24, joined
 *   to a bridge whose address (.1) the harness and its clients use (@tessera/testkit NetLab).
 *   Faults are nftables rules inside the namespaces: a process cut off from everyone (but
 *   ZooKeeper), from ZooKeeper, or from both; and `link` faults between two hosts — drop one way or
 *   both, reject both, or delay (tc netem, where the kernel has it) — while both still reach
 *   ZooKeeper.
 * - `proxy` (anywhere): every process on 127.0.0.1; a TCP proxy in front of each tablet (which it
 *   advertises) and one per process on its way to ZooKeeper; a partition blackholes proxies. No
 *   `link` faults: a proxy cannot cut A from B while both reach C.
 *
 * `auto` picks netns when it works and says why not otherwise.
 */
import { NetLab, netnsUnsupported } from '@tessera/testkit';
import type { Cluster, Proc } from './cluster.js';
import { startProxy, type Proxy } from './proxy.js';

export type NetMode = 'netns' | 'proxy';
export type NetChoice = NetMode | 'auto';

/** Address bytes of the hosts on the /24 (the bridge, where the harness is, is .1). */
export function hostByte(name: string): number {
  if (name === 'zk') return 2;
  const m = /^(ns|t)(\d+)$/.exec(name);
  if (!m) throw new Error(`no address for ${name}`);
  return (m[1] === 'ns' ? 10 : 20) + Number(m[2]);
}

/** Prefix of every namespace and bridge the harness creates (`tcn<pid>t1`, `tcb<pid>`). */
export const NETNS_PREFIX = 'tc';

/** The mode to run in, and why netns was not used when it was not. */
export async function chooseNetMode(choice: NetChoice): Promise<{ mode: NetMode; why?: string }> {
  if (choice === 'proxy') return { mode: 'proxy', why: 'asked for (--net proxy)' };
  const why = await netnsUnsupported();
  if (why === undefined) return { mode: 'netns' };
  if (choice === 'netns') throw new Error(`--net netns: ${why}`);
  return { mode: 'proxy', why };
}

/** What the nemesis needs of the network. */
export interface NetworkControl {
  readonly mode: NetMode;
  /** Cuts `target` off as `variant` says (tablet-peers, tablet-zk, tablet-all, ns-zk); returns what was cut. */
  cut(target: Proc, variant: string): Promise<string>;
  /** A fault between two hosts (LINK_VARIANTS); undefined in proxy mode. */
  link?(leader: Proc, follower: Proc, variant: string, durationMs: number): Promise<string>;
  /** Why a `link` variant cannot run here, or undefined. */
  linkUnsupported(variant: string): Promise<string | undefined>;
  healAll(): Promise<void>;
  close(): Promise<void>;
}

/** netns mode: the lab and its rules. Create it before the cluster; the cluster takes hostOf/wrap from it. */
export class NamespaceNetwork implements NetworkControl {
  readonly mode = 'netns' as const;
  private readonly exitHook = (): void => this.lab.destroySync();
  private constructor(readonly lab: NetLab) {}

  static async create(names: string[]): Promise<NamespaceNetwork> {
    const lab = await NetLab.create(NETNS_PREFIX);
    const net = new NamespaceNetwork(lab);
    process.on('exit', net.exitHook);
    try {
      for (const name of names) await lab.addHost(name, hostByte(name));
    } catch (err) {
      await net.close();
      throw err;
    }
    return net;
  }

  hostOf = (name: string): string => this.lab.address(name);
  wrap = (name: string): string[] => this.lab.wrap(name);

  async cut(target: Proc, variant: string): Promise<string> {
    switch (variant) {
      case 'tablet-peers':
        return this.lab.isolate(target.name, ['zk']);
      case 'tablet-all':
        return this.lab.isolate(target.name, []);
      case 'tablet-zk':
      case 'ns-zk':
        await this.lab.fault(target.name, 'zk', 'drop');
        await this.lab.fault('zk', target.name, 'drop');
        return `${target.name} ↔ zk dropped`;
      default:
        throw new Error(`unknown partition variant ${variant}`);
    }
  }

  async linkUnsupported(variant: string): Promise<string | undefined> {
    return variant.startsWith('delay') ? this.lab.delayUnsupported() : undefined;
  }

  async link(leader: Proc, follower: Proc, variant: string, durationMs: number): Promise<string> {
    const [a, b] = [leader.name, follower.name];
    const done: string[] = [];
    switch (variant) {
      case 'drop-both':
        done.push(await this.lab.fault(a, b, 'drop'), await this.lab.fault(b, a, 'drop'));
        break;
      case 'drop-leader-to-follower':
        done.push(await this.lab.fault(a, b, 'drop'));
        break;
      case 'drop-follower-to-leader':
        done.push(await this.lab.fault(b, a, 'drop'));
        break;
      case 'reject-both':
        done.push(await this.lab.fault(a, b, 'reject'), await this.lab.fault(b, a, 'reject'));
        break;
      case 'delay-both': {
        // A delay of a quarter of the fault's length each way (at least 50 ms).
        const delayMs = Math.max(50, Math.round(durationMs / 4));
        done.push(await this.lab.fault(a, b, 'delay', delayMs), await this.lab.fault(b, a, 'delay', delayMs));
        break;
      }
      default:
        throw new Error(`unknown link variant ${variant}`);
    }
    return done.join(', ');
  }

  async healAll(): Promise<void> {
    await this.lab.healAll();
  }

  async close(): Promise<void> {
    await this.lab.destroy();
    process.removeListener('exit', this.exitHook);
  }
}

/** proxy mode: one proxy in front of each tablet, one per process on its way to ZooKeeper. */
export class ProxyNetwork implements NetworkControl {
  readonly mode = 'proxy' as const;
  readonly inbound = new Map<string, Proxy>();
  readonly toZk = new Map<string, Proxy>();

  /** Starts the proxies on the cluster's spare ports and points the cluster at them (before it starts). */
  static async create(cluster: Cluster): Promise<ProxyNetwork> {
    const net = new ProxyNetwork();
    let spare = 0;
    try {
      for (const p of cluster.procs) {
        if (p.role === 'zk') continue;
        net.toZk.set(p.name, await startProxy({ targetHost: '127.0.0.1', targetPort: cluster.basePort, listenPort: cluster.sparePort(spare++) }));
        if (p.role === 'tablet') {
          const inbound = await startProxy({ targetHost: '127.0.0.1', targetPort: Number(p.endpoint.split(':')[1]), listenPort: cluster.sparePort(spare++) });
          net.inbound.set(p.name, inbound);
          p.advertised = inbound.endpoint;
        }
      }
    } catch (err) {
      await net.close();
      throw err;
    }
    cluster.options.extraFlags = (name) => ({ zk_cluster: net.toZk.get(name)!.endpoint });
    return net;
  }

  private all(): Proxy[] {
    return [...this.inbound.values(), ...this.toZk.values()];
  }

  async cut(target: Proc, variant: string): Promise<string> {
    const cut: string[] = [];
    if (variant === 'tablet-peers' || variant === 'tablet-all') {
      this.inbound.get(target.name)?.blackhole();
      cut.push(`nobody reaches ${target.name}`);
    }
    if (variant === 'tablet-zk' || variant === 'tablet-all' || variant === 'ns-zk') {
      this.toZk.get(target.name)?.blackhole();
      cut.push(`${target.name} cannot reach ZooKeeper`);
    }
    return cut.join(', ');
  }

  async linkUnsupported(): Promise<string> {
    return 'a fault between two hosts needs network namespaces (proxy mode)';
  }

  async healAll(): Promise<void> {
    for (const p of this.all()) if (p.mode !== 'pass') p.heal();
  }

  async close(): Promise<void> {
    await Promise.all(this.all().map((p) => p.close().catch(() => undefined)));
  }
}
