/**
 * The auto_failover gate: which admin commands the nameserver refuses while `/config/auto_failover`
 * is true, each with the reason, in one table. OpenMLDB refuses offlineendpoint, recoverendpoint,
 * changeleader, recovertable, migrate, cancelop, updatetablealive and settablepartition with
 * `auto_failover is enabled`; Tessera keeps that for the commands that would race the failover
 * monitor or take a partition away from it, and lets planned hand-overs run (the op engine runs
 * one op per partition at a time, so the monitor's ops and an operator's wait for each other).
 * Pure data; the HTTP shell applies it to the admin routes only, never to the monitor's own ops;
 * cancelop, allowed, is refused for the monitor's own ops (cancelRefusedWithAutoFailover).
 * docs/ns_client.md holds the table as `renderFailoverGateDoc` prints it (a test compares them).
 */
import { openmldbText, type NsCommand } from '@tessera/common';
import type { Op } from './op.js';
import { priorityOf } from './schedule.js';

/** OpenMLDB's refusal text (ReturnCode 301 kAutoFailoverIsEnabled). */
export const AUTO_FAILOVER_ENABLED = openmldbText('autoFailoverEnabled');

export interface GateRule {
  /** Whether the command runs while auto_failover is on. */
  allowed: boolean;
  /** What OpenMLDB does with it while auto_failover is on. */
  openmldb: 'refuses' | 'runs' | 'no such command (its ops tool turns auto_failover off around it)';
  why: string;
}

/** Every admin command that changes replicas, leaders or ops; the rest are never gated. */
export const FAILOVER_GATE = {
  migrate: {
    allowed: true,
    openmldb: 'refuses',
    why: 'A planned move of a follower: the leader and the source stay alive throughout, and the engine runs one op per partition, so a failover of the same partition waits for it (or it for the failover, which re-plans it against the new leader).',
  },
  changeleader: {
    allowed: true,
    openmldb: 'refuses',
    why: 'A hand-over fences the leader and waits until the candidate has every entry; with a dead leader it is the failover the monitor would run, and one op per partition keeps the two from overlapping.',
  },
  addreplica: {
    allowed: true,
    openmldb: 'runs',
    why: 'Adds a follower next to a live leader; nothing the monitor does is undone (as OpenMLDB).',
  },
  delreplica: {
    allowed: true,
    openmldb: 'runs',
    why: 'Removes a follower, never a leader; as OpenMLDB.',
  },
  makesnapshot: {
    allowed: true,
    openmldb: 'runs',
    why: 'Changes no replica or role; as OpenMLDB.',
  },
  offlineendpoint: {
    allowed: false,
    openmldb: 'refuses',
    why: 'The monitor owns taking tablets offline while it is on. Offlining a live tablet by hand races it: the monitor recovers a healthy tablet that holds replicas marked not alive within about 2 s, undoing the offline halfway through. Turn auto_failover off first, as OpenMLDB.',
  },
  recoverendpoint: {
    allowed: false,
    openmldb: 'refuses',
    why: 'The monitor already recovers every healthy tablet that holds replicas marked not alive (retried every 2 s), so a manual run only competes with it for the same partitions.',
  },
  recovertable: {
    allowed: false,
    openmldb: 'refuses',
    why: 'Same as recoverendpoint, for one replica: the monitor recovers it on its own.',
  },
  cancelop: {
    allowed: true,
    openmldb: 'refuses',
    why: 'A move or other operator op (migrate, addreplica, delreplica, a hand-over changeleader, scalein and its children, the moves of rebalance and apply) is canceled and undone: the monitor leaves a partition alone while an op holds it (a move\'s destination, recorded not alive while it is built, is no tablet back to recover), and the undone move leaves nothing for it. The monitor\'s own ops (failover, recovery, repair) are refused with `auto_failover is enabled`: canceling one leaves the partition without an alive leader or replica, and the monitor does not start that failover again for a tablet it already took offline.',
  },
  preupgrade: {
    allowed: true,
    openmldb: 'no such command (its ops tool turns auto_failover off around it)',
    why: 'Planned hand-overs and temporary replicas of a live tablet, each an op on its partition (serialised with the monitor\'s); the monitor then fails over or recovers the restarted tablet either way.',
  },
  postupgrade: {
    allowed: true,
    openmldb: 'no such command (its ops tool turns auto_failover off around it)',
    why: 'Gives the leaderships back by hand-over and removes the temporary replicas, ops serialised per partition like migrate.',
  },
  settablepartition: {
    allowed: false,
    openmldb: 'refuses',
    why: 'A hand edit of a partition\'s replicas and roles: the monitor would fail over or recover from metadata the operator is rewriting.',
  },
  updatetablealive: {
    allowed: false,
    openmldb: 'refuses',
    why: 'Flipping is_alive by hand would start or stop the monitor\'s recovery of that replica behind the operator\'s back.',
  },
} as const satisfies Partial<Record<NsCommand, GateRule>>;

export type GatedCommand = { [K in keyof typeof FAILOVER_GATE]: (typeof FAILOVER_GATE)[K]['allowed'] extends false ? K : never }[keyof typeof FAILOVER_GATE];

/**
 * cancelop while auto_failover is on: refused for the monitor's own ops (the repair class of the
 * scheduler: failover, recovery, the reconciler's repairs), run for moves and other operator ops.
 */
export function cancelRefusedWithAutoFailover(op: Op): boolean {
  return priorityOf(op) === 'repair';
}

/** Whether `command` is refused while auto_failover is on. */
export function refusedWithAutoFailover(command: string): boolean {
  const rule = (FAILOVER_GATE as Record<string, GateRule>)[command];
  return rule !== undefined && !rule.allowed;
}

/** The table of docs/ns_client.md (Markdown, one row per command). */
export function renderFailoverGateDoc(): string {
  const lines = ['| command | runs with auto_failover on? | OpenMLDB | why |', '|---|---|---|---|'];
  for (const [command, rule] of Object.entries(FAILOVER_GATE) as Array<[string, GateRule]>) {
    lines.push(`| \`${command}\` | ${rule.allowed ? 'yes' : `no: \`${AUTO_FAILOVER_ENABLED}\``} | ${rule.openmldb} | ${rule.why} |`);
  }
  return `${lines.join('\n')}\n`;
}
