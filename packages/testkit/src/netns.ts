/**
 * Network namespaces for tests and the chaos harness (Linux, root): a bridge in the root namespace
 * with the first address of a private /24 no route on this machine uses yet, and one namespace per
 * host, joined to the bridge by a veth pair, holding its own address. Faults between hosts are
 * nftables rules inside the namespaces (drop or reject what one host sends another: one direction
 * or both) and, where the kernel has sch_netem, a tc delay towards one address. Everything is
 * named with a prefix and this process's pid, so `destroy()` (and `removeNetnsLeftovers()` for a
 * run that was killed) removes exactly what it created: namespaces (their veth ends, and with
 * them the pairs, go too) and the bridge.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { ensureDebianPackage } from './chromium.js';

const run = promisify(execFile);

export const NETNS_LIMITS = {
  /** One ip/nft/tc command. */
  commandTimeoutMs: 10_000,
  /** Third octet candidates of 10.<second>.X.0/24. */
  subnetsTried: 250,
  /** Subnets given up because another process took the same one at the same moment. */
  subnetRaceAttempts: 5,
} as const;

const IP_PATHS = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'];
const NFT_PATHS = ['/usr/sbin/nft', '/sbin/nft', '/usr/bin/nft'];

async function cmd(file: string, args: string[]): Promise<string> {
  try {
    return (await run(file, args, { timeout: NETNS_LIMITS.commandTimeoutMs })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${file} ${args.join(' ')}: ${(e.stderr ?? e.message).trim()}`);
  }
}
const ip = (...args: string[]): Promise<string> => cmd('ip', args);

/**
 * Why network namespaces cannot be used here, or undefined when they can. As root on Linux it
 * installs Debian's iproute2 and nftables when missing (ensureDebianPackage), then creates and
 * deletes a probe namespace with an nftables table in it.
 */
export async function netnsUnsupported(): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'network namespaces are Linux only';
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root (not root here)';
  for (const [pkg, paths] of [['iproute2', IP_PATHS], ['nftables', NFT_PATHS]] as const) {
    const got = await ensureDebianPackage(pkg, [...paths]);
    if ('skip' in got) return got.skip;
  }
  const probe = `tsprobe${process.pid}`;
  try {
    await ip('netns', 'add', probe);
    try {
      await cmd('ip', ['netns', 'exec', probe, 'nft', 'add table inet probe']);
    } finally {
      await ip('netns', 'del', probe);
    }
  } catch (err) {
    return `ip netns / nft failed (no network namespace support here): ${(err as Error).message.split('\n')[0]}`;
  }
  return undefined;
}

/** Whether a name made by `prefix + pid + ...` belongs to a process that no longer runs. */
function deadOwner(name: string, prefix: string): boolean {
  const m = new RegExp(`^${prefix}(\\d+)`).exec(name);
  return m !== null && Number(m[1]) !== process.pid && !existsSync(`/proc/${m[1]}`);
}

/**
 * Removes namespaces `<prefix>n<pid>...` (and tc probes `<prefix>q<pid>`) and bridges `<prefix>b<pid>` left by a process that was
 * killed before it could clean up (its pid no longer runs).
 */
export async function removeNetnsLeftovers(prefix: string): Promise<string[]> {
  const removed: string[] = [];
  const nss = (await ip('netns', 'list')).split('\n').map((l) => l.split(' ')[0]!).filter((n) => ['n', 'q'].some((k) => n.startsWith(`${prefix}${k}`) && deadOwner(n, `${prefix}${k}`)));
  for (const ns of nss) if (await ip('netns', 'del', ns).then(() => true, () => false)) removed.push(ns);
  const bridges = (await ip('-br', 'link', 'show', 'type', 'bridge')).split('\n').map((l) => l.split(/\s+/)[0]!).filter((n) => n.startsWith(`${prefix}b`) && deadOwner(n, `${prefix}b`));
  for (const br of bridges) if (await ip('link', 'del', br).then(() => true, () => false)) removed.push(br);
  return removed;
}

/** A 10.<second>.X.0/24 that no route on this machine uses yet. */
async function freeSubnet(second: number, skip: ReadonlySet<string>): Promise<string> {
  const routes = await ip('-4', 'route', 'show');
  for (let i = 0; i < NETNS_LIMITS.subnetsTried; i++) {
    const x = ((process.pid + i) % 250) + 1;
    if (!routes.includes(`10.${second}.${x}.`) && !skip.has(`10.${second}.${x}`)) return `10.${second}.${x}`;
  }
  throw new Error(`no free 10.${second}.X.0/24`);
}

export type LinkFault = 'drop' | 'reject' | 'delay';

interface Host {
  name: string;
  ns: string;
  address: string;
}

/**
 * A bridge and namespaces on it. Names: bridge `<prefix>b<pid>`, namespace `<prefix>n<pid><host>`,
 * veth `<prefix>v<pid><host>` (host names are short: interface names hold 15 characters).
 */
export class NetLab {
  private readonly hosts = new Map<string, Host>();
  private readonly delayed = new Set<string>();
  private netemChecked: string | null | undefined;
  private constructor(readonly prefix: string, readonly subnet: string, readonly bridge: string) {}

  /**
   * Creates the bridge with address `<subnet>.1` (the root namespace's address on it). Another
   * process choosing the same /24 at the same moment is noticed (its route beside ours) and the
   * next free one is taken.
   */
  static async create(prefix: string, opts: { subnetSecondOctet?: number } = {}): Promise<NetLab> {
    await removeNetnsLeftovers(prefix);
    const taken = new Set<string>();
    for (let attempt = 0; ; attempt++) {
      const subnet = await freeSubnet(opts.subnetSecondOctet ?? 232, taken);
      const lab = new NetLab(prefix, subnet, `${prefix}b${process.pid}`);
      try {
        await ip('link', 'add', lab.bridge, 'type', 'bridge');
        await ip('addr', 'add', `${subnet}.1/24`, 'dev', lab.bridge);
        await ip('link', 'set', lab.bridge, 'up');
        const routes = (await ip('-4', 'route', 'show', 'to', `${subnet}.0/24`)).trim().split('\n').filter((l) => l.length > 0);
        if (routes.every((l) => l.includes(`dev ${lab.bridge} `) || l.endsWith(`dev ${lab.bridge}`))) return lab;
        if (attempt >= NETNS_LIMITS.subnetRaceAttempts) throw new Error(`${subnet}.0/24 is also routed elsewhere: ${routes.join('; ')}`);
        taken.add(subnet);
      } catch (err) {
        await lab.destroy();
        throw err;
      }
      await lab.destroy();
    }
  }

  /** The root namespace's address on the bridge (where the test or harness itself is reached from). */
  get rootAddress(): string {
    return `${this.subnet}.1`;
  }

  /** Adds a namespace for `name` with address `<subnet>.<hostByte>`; returns its address. */
  async addHost(name: string, hostByte: number): Promise<string> {
    if (this.hosts.has(name)) throw new Error(`host ${name} exists`);
    if (!Number.isInteger(hostByte) || hostByte < 2 || hostByte > 254) throw new Error(`host byte ${hostByte} is not in 2..254`);
    const ns = `${this.prefix}n${process.pid}${name}`;
    const outer = `${this.prefix}v${process.pid}${name}`;
    if (outer.length > 15) throw new Error(`interface name ${outer} is longer than 15 characters (shorter host name or prefix)`);
    const address = `${this.subnet}.${hostByte}`;
    await ip('netns', 'add', ns);
    this.hosts.set(name, { name, ns, address });
    await ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    await ip('link', 'set', outer, 'master', this.bridge);
    await ip('link', 'set', outer, 'up');
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
    await ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
    await ip('-n', ns, 'link', 'set', 'eth0', 'up');
    // One table per namespace; faults are rules in its two chains, heal flushes them.
    await cmd('ip', ['netns', 'exec', ns, 'nft',
      'add table inet chaos; ' +
      'add chain inet chaos out { type filter hook output priority 0; policy accept; }; ' +
      'add chain inet chaos in { type filter hook input priority 0; policy accept; }']);
    return address;
  }

  private host(name: string): Host {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no host ${name}`);
    return h;
  }

  address(name: string): string {
    return this.host(name).address;
  }

  namespace(name: string): string {
    return this.host(name).ns;
  }

  /** The command prefix that runs a program in the host's namespace (it execs: the pid stays the program's). */
  wrap(name: string): string[] {
    return ['ip', 'netns', 'exec', this.host(name).ns];
  }

  /** Why tc delay is not available (no sch_netem in this kernel), or undefined. */
  async delayUnsupported(): Promise<string | undefined> {
    if (this.netemChecked === undefined) {
      const probe = `${this.prefix}q${process.pid}`;
      try {
        await ip('netns', 'add', probe);
        await ip('-n', probe, 'link', 'set', 'lo', 'up');
        await cmd('tc', ['-n', probe, 'qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1:', 'prio', 'bands', '4']);
        await cmd('tc', ['-n', probe, 'qdisc', 'add', 'dev', 'lo', 'parent', '1:4', 'handle', '40:', 'netem', 'delay', '1ms']);
        this.netemChecked = null;
      } catch (err) {
        this.netemChecked = `tc prio/netem qdiscs are not available in this kernel (${(err as Error).message.split('\n').pop()})`;
      } finally {
        await ip('netns', 'del', probe).catch(() => undefined);
      }
    }
    return this.netemChecked ?? undefined;
  }

  /**
   * What `from` sends to `to` is dropped (silently), rejected (TCP reset / ICMP unreachable) or
   * delayed by `delayMs`. One direction; call it twice for both. Returns a description.
   */
  async fault(from: string, to: string, kind: LinkFault, delayMs = 0): Promise<string> {
    const a = this.host(from);
    const dst = to === 'root' ? this.rootAddress : this.host(to).address;
    if (kind === 'delay') {
      const why = await this.delayUnsupported();
      if (why) throw new Error(why);
      // A prio qdisc whose extra band 4 is netem; a u32 filter sends packets for `dst` there.
      if (!this.delayed.has(from)) {
        await cmd('tc', ['-n', a.ns, 'qdisc', 'add', 'dev', 'eth0', 'root', 'handle', '1:', 'prio', 'bands', '4']);
        await cmd('tc', ['-n', a.ns, 'qdisc', 'add', 'dev', 'eth0', 'parent', '1:4', 'handle', '40:', 'netem', 'delay', `${delayMs}ms`]);
        this.delayed.add(from);
      }
      await cmd('tc', ['-n', a.ns, 'filter', 'add', 'dev', 'eth0', 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32', 'match', 'ip', 'dst', `${dst}/32`, 'flowid', '1:4']);
      return `${from}→${to} delayed ${delayMs} ms`;
    }
    const verdict = kind === 'drop' ? 'drop' : 'reject with tcp reset';
    const proto = kind === 'drop' ? '' : 'meta l4proto tcp ';
    await cmd('ip', ['netns', 'exec', a.ns, 'nft', `add rule inet chaos out ip daddr ${dst} ${proto}${verdict}`]);
    return `${from}→${to} ${kind === 'drop' ? 'dropped' : 'rejected'}`;
  }

  /** Everything sent to `name` is dropped, except from the hosts in `except` (by rules inside its namespace). */
  async isolate(name: string, except: string[]): Promise<string> {
    const h = this.host(name);
    const allowed = except.map((x) => (x === 'root' ? this.rootAddress : this.host(x).address));
    const keep = allowed.length > 0 ? `ip saddr != { ${allowed.join(', ')} } ` : '';
    const keepOut = allowed.length > 0 ? `ip daddr != { ${allowed.join(', ')} } ` : '';
    await cmd('ip', ['netns', 'exec', h.ns, 'nft', `add rule inet chaos in ${keep}ip saddr ${this.subnet}.0/24 drop; add rule inet chaos out ${keepOut}ip daddr ${this.subnet}.0/24 drop`]);
    return `${name} isolated${except.length > 0 ? ` (except ${except.join(', ')})` : ''}`;
  }

  /** Removes every fault rule and delay. */
  async healAll(): Promise<void> {
    for (const h of this.hosts.values()) {
      await cmd('ip', ['netns', 'exec', h.ns, 'nft', 'flush chain inet chaos out; flush chain inet chaos in']).catch(() => undefined);
    }
    for (const name of [...this.delayed]) {
      await cmd('tc', ['-n', this.host(name).ns, 'qdisc', 'del', 'dev', 'eth0', 'root']).catch(() => undefined);
      this.delayed.delete(name);
    }
  }

  /** The fault rules in force in a host's namespace (for reports). */
  async rules(name: string): Promise<string> {
    return cmd('ip', ['netns', 'exec', this.host(name).ns, 'nft', 'list', 'table', 'inet', 'chaos']);
  }

  /** Deletes every namespace (and so its veth pair) and the bridge; never throws. */
  async destroy(): Promise<void> {
    for (const h of this.hosts.values()) await ip('netns', 'del', h.ns).catch(() => undefined);
    this.hosts.clear();
    await ip('link', 'del', this.bridge).catch(() => undefined);
  }

  /** Synchronous last resort (process exit hook): the same as destroy(). */
  destroySync(): void {
    for (const h of this.hosts.values()) {
      try {
        execFileSync('ip', ['netns', 'del', h.ns], { timeout: NETNS_LIMITS.commandTimeoutMs, stdio: 'ignore' });
      } catch {
        // gone already
      }
    }
    try {
      execFileSync('ip', ['link', 'del', this.bridge], { timeout: NETNS_LIMITS.commandTimeoutMs, stdio: 'ignore' });
    } catch {
      // gone already
    }
  }
}
