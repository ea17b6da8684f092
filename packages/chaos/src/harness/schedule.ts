/**
 * The fault schedule, a pure function of (seed, scenario, duration, settings): which faults, when,
 * for how long, and the random numbers that later pick their targets among what exists at that
 * moment. The same seed gives the same schedule; what the cluster does in between is not
 * deterministic, and nemesis.jsonl records what really happened.
 */
import type { FaultKind } from './history.js';
import { Prng } from './prng.js';

/** Fault kinds that need no proxy. */
export const BASE_FAULT_KINDS: readonly FaultKind[] = ['tablet-kill', 'ns-kill', 'pause-short', 'pause-long', 'zk-restart', 'zk-disconnect', 'op-kill', 'operator'];
export const PROXY_FAULT_KINDS: readonly FaultKind[] = ['partition'];
/** Fault kinds between two hosts: only when every process runs in a network namespace of its own. */
export const NETNS_FAULT_KINDS: readonly FaultKind[] = ['link'];
/**
 * `link` variants: what a partition's leader and one of its followers send each other is dropped
 * both ways, one way (leader → follower, or follower → leader), rejected (TCP reset) both ways, or
 * delayed (where the kernel has tc netem). Both still reach ZooKeeper and everyone else.
 */
export const LINK_VARIANTS = ['drop-both', 'drop-leader-to-follower', 'drop-follower-to-leader', 'reject-both', 'delay-both'] as const;

/** A scenario: the fault kinds it enables and, for some, the only variants it draws. */
export interface Scenario {
  kinds: readonly FaultKind[];
  variants?: Partial<Record<FaultKind, readonly string[]>>;
  doc: string;
}

/**
 * Faults that never take a tablet leader away (no tablet kill, no tablet pause or session loss
 * longer than the session timeout, no tablet cut off), so no partition fails over. Two open bugs
 * make every tablet-leader failover a coin toss (README, track record): a deposed leader's reads
 * return writes that are then lost, and a tablet back while its failover ops run is never
 * recovered. The CI seeds use this scenario until they are fixed.
 */
const NO_TABLET_FAILOVER: Scenario = {
  kinds: ['ns-kill', 'pause-short', 'pause-long', 'zk-restart', 'zk-disconnect', 'partition', 'operator', 'op-kill'],
  variants: {
    'pause-long': ['ns-leader'],
    'zk-restart': ['short'],
    'zk-disconnect': ['ns-leader'],
    partition: ['ns-zk'],
    'op-kill': ['migrate:*:ns-leader', 'addreplica:*:ns-leader', 'changeleader:*:ns-leader'],
  },
  doc: 'every kind but tablet-kill, in variants that fail over no tablet leader (the CI seeds)',
};

/** Named scenarios. `random` draws a mix of kinds from the seed. */
export const SCENARIOS: Readonly<Record<string, Scenario>> = {
  kill: { kinds: ['tablet-kill', 'ns-kill'], doc: 'SIGKILL and restart of tablets and the leader nameserver' },
  pause: { kinds: ['pause-short', 'pause-long'], doc: 'SIGSTOP/SIGCONT shorter and longer than the session timeout' },
  zk: { kinds: ['zk-restart', 'zk-disconnect'], doc: 'ZooKeeper killed and restarted; sessions dropped without a kill' },
  ops: { kinds: ['operator', 'op-kill'], doc: 'operator commands, and kills between named op tasks' },
  partition: { kinds: ['partition'], doc: 'a process cut off (by the proxies, or nftables rules in its namespace)' },
  network: { kinds: ['partition', 'link'], doc: 'processes cut off and links between two hosts cut, one way or both, or delayed (namespaces only)' },
  processes: { kinds: ['tablet-kill', 'ns-kill', 'pause-short', 'pause-long'], doc: 'every process fault' },
  'zk-net': { kinds: ['zk-restart', 'zk-disconnect', 'partition'], doc: 'every coordination and network fault' },
  'no-tablet-failover': NO_TABLET_FAILOVER,
  ...Object.fromEntries([...BASE_FAULT_KINDS, ...PROXY_FAULT_KINDS, ...NETNS_FAULT_KINDS].map((k) => [k, { kinds: [k], doc: `only ${k}` }])),
};

export const SCHEDULE_LIMITS = {
  /** Workload only, before the first fault. */
  warmupMs: 3_000,
  /** Quiet time between the end of one fault and the start of the next. */
  gapMinMs: 1_500,
  gapMaxMs: 6_000,
  /** Faults in one run at most. */
  faultsMax: 1_000,
} as const;

/** Operator commands, and the ops whose named tasks op-kill stops between. */
export const OPERATOR_COMMANDS = ['migrate', 'changeleader', 'addreplica', 'delreplica'] as const;
export type OperatorCommand = (typeof OPERATOR_COMMANDS)[number];

export const OP_KILL_TASKS: Readonly<Record<'migrate' | 'addreplica' | 'changeleader' | 'failover', readonly string[]>> = {
  migrate: ['kPauseSnapshot', 'kSendSnapshot', 'kLoadTable', 'kAddReplica', 'kCheckBinlogSyncProgress', 'kDelReplica', 'kUpdateTableInfo', 'kDropTable'],
  addreplica: ['kSendSnapshot', 'kLoadTable', 'kAddReplica', 'kAddTableInfo', 'kCheckBinlogSyncProgress', 'kUpdatePartitionStatus'],
  changeleader: ['kFenceLeader', 'kCheckBinlogSyncProgress', 'kSelectLeader', 'kChangeLeader', 'kUpdateLeaderInfo'],
  failover: ['kSelectLeader', 'kChangeLeader', 'kUpdateLeaderInfo', 'kDelReplica', 'kUpdatePartitionStatus'],
};
/** Who op-kill kills when the op reaches its task. */
export const OP_KILL_VICTIMS: Readonly<Record<keyof typeof OP_KILL_TASKS, readonly string[]>> = {
  migrate: ['src', 'des', 'ns-leader'],
  addreplica: ['des', 'ns-leader'],
  changeleader: ['candidate', 'old-leader', 'ns-leader'],
  failover: ['ns-leader'],
};

export interface FaultStep {
  n: number;
  /** Planned start, ms after the fault phase began (a fault that overruns delays the next). */
  atMs: number;
  kind: FaultKind;
  /** How long the fault lasts (down, paused, disconnected, partitioned) before it is undone. */
  durationMs: number;
  /** Which flavour: e.g. `leader`/`any` tablet, `short`/`long`, `migrate:kSendSnapshot:src`. */
  variant: string;
  /** Random numbers in [0,1) that pick targets among those that exist when the step runs. */
  picks: [number, number, number];
}

export interface ScheduleSettings {
  zkSessionTimeoutMs: number;
  /** Fault kinds that can run here (link only with network namespaces). */
  available: readonly FaultKind[];
}

export function scenarioOf(scenario: string, prng: Prng, available: readonly FaultKind[]): Scenario {
  if (scenario === 'random') {
    const chosen = available.filter(() => prng.chance(0.6));
    return { kinds: chosen.length > 0 ? chosen : [prng.pick(available)], doc: 'a mix drawn from the seed' };
  }
  const s = Object.hasOwn(SCENARIOS, scenario) ? SCENARIOS[scenario] : undefined;
  if (!s) throw new Error(`unknown scenario ${scenario}; known: random, ${Object.keys(SCENARIOS).join(', ')}`);
  const missing = s.kinds.filter((k) => !available.includes(k));
  if (missing.length > 0) throw new Error(`scenario ${scenario} needs ${missing.join(', ')}, not available here`);
  return s;
}

/** Whether a drawn variant is one the scenario allows (`*` matches one `:` field). */
function allowed(variant: string, patterns: readonly string[] | undefined): boolean {
  if (!patterns) return true;
  return patterns.some((p) => {
    const a = p.split(':');
    const b = variant.split(':');
    return a.length === b.length && a.every((x, i) => x === '*' || x === b[i]);
  });
}

/** Attempts at drawing a variant the scenario allows before giving up. */
const VARIANT_DRAWS_MAX = 1000;

function durationOf(kind: FaultKind, variant: string, prng: Prng, sessionMs: number): number {
  const between = (lo: number, hi: number): number => Math.round(lo + prng.next() * (hi - lo));
  switch (kind) {
    case 'tablet-kill':
    case 'ns-kill':
    case 'op-kill':
      return between(500, 2 * sessionMs);
    case 'pause-short':
      return between(0.15 * sessionMs, 0.6 * sessionMs);
    case 'pause-long':
      return between(1.5 * sessionMs, 3 * sessionMs);
    case 'zk-restart':
      return variant === 'long' ? between(1.5 * sessionMs, 2.5 * sessionMs) : between(200, 0.5 * sessionMs);
    case 'zk-disconnect':
      return between(0.5 * sessionMs, 2 * sessionMs);
    case 'partition':
    case 'link':
      return between(0.5 * sessionMs, 3 * sessionMs);
    case 'operator':
      return 0;
  }
}

function variantOf(kind: FaultKind, prng: Prng): string {
  switch (kind) {
    case 'tablet-kill':
      return prng.chance(0.7) ? 'leader' : 'any';
    case 'ns-kill':
      return 'leader';
    case 'pause-short':
    case 'pause-long':
      return prng.pick(['tablet-leader', 'tablet-leader', 'tablet', 'ns-leader']);
    case 'zk-restart':
      return prng.chance(0.5) ? 'short' : 'long';
    case 'zk-disconnect':
      return prng.pick(['ns-leader', 'tablet', 'tablet-leader']);
    case 'op-kill': {
      const op = prng.pick(Object.keys(OP_KILL_TASKS) as Array<keyof typeof OP_KILL_TASKS>);
      return `${op}:${prng.pick(OP_KILL_TASKS[op])}:${prng.pick(OP_KILL_VICTIMS[op])}`;
    }
    case 'operator':
      return prng.pick(OPERATOR_COMMANDS);
    case 'partition':
      return prng.pick(['tablet-peers', 'tablet-zk', 'tablet-all', 'ns-zk']);
    case 'link':
      return prng.pick(LINK_VARIANTS);
  }
}

/** The schedule of one run. */
export function makeSchedule(seed: number, scenario: string, durationMs: number, settings: ScheduleSettings): { kinds: FaultKind[]; steps: FaultStep[] } {
  const root = new Prng(seed);
  const sc = scenarioOf(scenario, root.fork('kinds'), settings.available);
  const kinds = [...sc.kinds];
  const prng = root.fork('steps');
  const steps: FaultStep[] = [];
  let at = SCHEDULE_LIMITS.warmupMs;
  while (at < durationMs && steps.length < SCHEDULE_LIMITS.faultsMax) {
    const kind = prng.pick(kinds);
    let variant = variantOf(kind, prng);
    for (let draw = 1; !allowed(variant, sc.variants?.[kind]); draw++) {
      if (draw >= VARIANT_DRAWS_MAX) throw new Error(`scenario ${scenario}: no allowed variant of ${kind} drawn`);
      variant = variantOf(kind, prng);
    }
    const durationMs = durationOf(kind, variant, prng, settings.zkSessionTimeoutMs);
    steps.push({ n: steps.length, atMs: at, kind, durationMs, variant, picks: [prng.next(), prng.next(), prng.next()] });
    at += durationMs + prng.int(SCHEDULE_LIMITS.gapMinMs, SCHEDULE_LIMITS.gapMaxMs);
  }
  return { kinds, steps };
}
