/**
 * Carries out a fault schedule against the harness's cluster, one fault at a time: SIGKILL and
 * restart (tablet, leader nameserver, ZooKeeper), SIGSTOP/SIGCONT shorter or longer than the
 * ZooKeeper session, a dropped ZooKeeper session without a kill (disconnectzk/connectzk on the
 * leader nameserver or a tablet), operator commands (migrate, changeleader, addreplica,
 * delreplica), a kill between two named tasks of an op (polling showopstatus for the op's current
 * task), network partitions (nftables rules in the processes' namespaces, or the proxies) and
 * faults on the link between a partition's leader and one follower (namespaces only). Every
 * fault is recorded (start with its target and the partitions whose leader it hit, stop), and
 * `heal()` undoes whatever is still in effect. Every wait is bounded.
 */
import { HttpClient, sleep, type TableInfo } from '@tessera/common';
import type { Client } from '@tessera/client';
import type { Cluster, Proc } from './cluster.js';
import type { FaultKind } from './history.js';
import type { Recorder } from './recorder.js';
import type { FaultStep } from './schedule.js';
import type { NetworkControl } from './network.js';

export const NEMESIS_LIMITS = {
  /** One admin or control call made by the nemesis. */
  callTimeoutMs: 10_000,
  /** Polling showopstatus for an op's task (op-kill). */
  taskPollMs: 20,
  taskWaitMs: 20_000,
  /** Waiting for a leader nameserver to target. */
  leaderWaitMs: 10_000,
  leaderPollMs: 200,
  /** Attempts to restart a process (a port may be slow to free). */
  restartAttempts: 3,
  restartRetryMs: 1_000,
} as const;


export interface NemesisContext {
  cluster: Cluster;
  client: Client;
  rec: Recorder;
  db: string;
  table: string;
  /** Network faults (namespaces or proxies, network.ts); absent: none. */
  partitions?: NetworkControl;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export class Nemesis {
  private readonly http = new HttpClient({ connectionsPerEndpoint: 2, timeoutMs: NEMESIS_LIMITS.callTimeoutMs });
  /** Processes whose ZooKeeper session the nemesis dropped and has not restored. */
  private readonly disconnected = new Set<Proc>();
  private stopped = false;
  /** Faults started, by kind. */
  readonly started: Record<string, number> = {};
  readonly skipped: Record<string, number> = {};

  constructor(private readonly ctx: NemesisContext) {}

  /** Runs the steps in order, each at its planned time (or right after the previous one). */
  async run(steps: FaultStep[], phaseEndsAtMs: number): Promise<void> {
    const t0 = Date.now();
    for (const step of steps) {
      if (this.stopped) break;
      const waitMs = t0 + step.atMs - Date.now();
      if (waitMs > 0) await this.sleepUnlessStopped(waitMs);
      if (this.stopped || Date.now() - t0 >= phaseEndsAtMs) break;
      try {
        await this.runStep(step);
      } catch (err) {
        this.ctx.rec.nemesis({ type: 'note', n: step.n, fault: step.kind, detail: `fault step failed: ${(err as Error).message}` });
      }
    }
  }

  stop(): void {
    this.stopped = true;
  }

  private async sleepUnlessStopped(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (!this.stopped && Date.now() < until) await sleep(Math.min(200, until - Date.now()));
  }

  // --- what exists now -------------------------------------------------------------------------

  async tableInfo(): Promise<TableInfo> {
    const { client, db, table } = this.ctx;
    try {
      return (await withTimeout(client.admin.showschema({ db, name: table }), NEMESIS_LIMITS.callTimeoutMs, 'showschema')).table;
    } catch {
      return client.table(db, table);
    }
  }

  /** The leader nameserver, waiting (bounded) while there is none, e.g. right after a kill. */
  async leaderNs(): Promise<Proc | undefined> {
    const deadline = Date.now() + NEMESIS_LIMITS.leaderWaitMs;
    for (;;) {
      const ep = await withTimeout(this.ctx.client.leaderNameserver(true), NEMESIS_LIMITS.callTimeoutMs, 'leader nameserver').catch(() => undefined);
      const p = ep ? this.ctx.cluster.byEndpoint(ep) : undefined;
      if ((p && this.ctx.cluster.isUp(p)) || Date.now() >= deadline || this.stopped) return p;
      await sleep(NEMESIS_LIMITS.leaderPollMs);
    }
  }

  private ledBy(info: TableInfo, p: Proc): number[] {
    return info.partitions.filter((x) => x.replicas.some((r) => r.isLeader && r.isAlive && (r.endpoint === p.advertised || r.endpoint === p.endpoint))).map((x) => x.pid);
  }

  private upTablets(): Proc[] {
    return this.ctx.cluster.tablets.filter((p) => this.ctx.cluster.isUp(p) && !p.paused);
  }

  private static choose<T>(items: T[], pick: number): T | undefined {
    return items.length === 0 ? undefined : items[Math.floor(pick * items.length) % items.length];
  }

  // --- one step ------------------------------------------------------------------------------

  private begin(step: FaultStep, target: string, affectedPids: number[], detail?: string, pid?: number): void {
    this.started[step.kind] = (this.started[step.kind] ?? 0) + 1;
    this.ctx.rec.nemesis({ type: 'start', n: step.n, fault: step.kind, target, affectedPids, detail: detail ?? step.variant, ...(pid !== undefined ? { pid } : {}) });
  }

  private end(step: FaultStep, target: string, detail?: string): void {
    this.ctx.rec.nemesis({ type: 'stop', n: step.n, fault: step.kind, target, ...(detail ? { detail } : {}) });
  }

  private skip(step: FaultStep, why: string): void {
    this.skipped[step.kind] = (this.skipped[step.kind] ?? 0) + 1;
    this.ctx.rec.nemesis({ type: 'note', n: step.n, fault: step.kind, detail: `skipped: ${why}` });
  }

  private async runStep(step: FaultStep): Promise<void> {
    switch (step.kind) {
      case 'tablet-kill':
        return this.tabletKill(step);
      case 'ns-kill':
        return this.nsKill(step);
      case 'pause-short':
      case 'pause-long':
        return this.pause(step);
      case 'zk-restart':
        return this.zkRestart(step);
      case 'zk-disconnect':
        return this.zkDisconnect(step);
      case 'operator':
        return this.operator(step);
      case 'op-kill':
        return this.opKill(step);
      case 'partition':
        return this.partition(step);
      case 'link':
        return this.link(step);
    }
  }

  private async pickTablet(step: FaultStep, leaderOnly: boolean, info: TableInfo): Promise<Proc | undefined> {
    const up = this.upTablets();
    const leaders = up.filter((p) => this.ledBy(info, p).length > 0);
    return Nemesis.choose(leaderOnly && leaders.length > 0 ? leaders : up, step.picks[0]);
  }

  private allPids(info: TableInfo): number[] {
    return info.partitions.map((p) => p.pid);
  }

  private async tabletKill(step: FaultStep): Promise<void> {
    const info = await this.tableInfo();
    const victim = await this.pickTablet(step, step.variant === 'leader', info);
    if (!victim) return this.skip(step, 'no tablet up');
    this.begin(step, victim.name, this.ledBy(info, victim), step.variant, victim.pid);
    await this.ctx.cluster.kill(victim);
    await this.sleepDuring(step.durationMs);
    await this.restart(victim);
    this.end(step, victim.name);
  }

  private async nsKill(step: FaultStep): Promise<void> {
    const victim = await this.leaderNs();
    if (!victim || !this.ctx.cluster.isUp(victim)) return this.skip(step, 'no leader nameserver found');
    const info = await this.tableInfo();
    this.begin(step, victim.name, this.allPids(info), step.variant, victim.pid);
    await this.ctx.cluster.kill(victim);
    await this.sleepDuring(step.durationMs);
    await this.restart(victim);
    this.end(step, victim.name);
  }

  private async pause(step: FaultStep): Promise<void> {
    const info = await this.tableInfo();
    let victim: Proc | undefined;
    if (step.variant === 'ns-leader') victim = await this.leaderNs();
    else victim = await this.pickTablet(step, step.variant === 'tablet-leader', info);
    if (!victim || !this.ctx.cluster.isUp(victim)) return this.skip(step, `no ${step.variant} to pause`);
    const affected = victim.role === 'tablet' ? this.ledBy(info, victim) : this.allPids(info);
    this.begin(step, victim.name, affected, `${step.variant} ${step.durationMs} ms`, victim.pid);
    this.ctx.cluster.signal(victim, 'SIGSTOP');
    await this.sleepDuring(step.durationMs);
    this.ctx.cluster.signal(victim, 'SIGCONT');
    this.end(step, victim.name);
  }

  private async zkRestart(step: FaultStep): Promise<void> {
    const zk = this.ctx.cluster.zk;
    if (!this.ctx.cluster.isUp(zk)) return this.skip(step, 'ZooKeeper is not up');
    const info = await this.tableInfo();
    this.begin(step, 'zk', this.allPids(info), `${step.variant} ${step.durationMs} ms`, zk.pid);
    await this.ctx.cluster.kill(zk);
    await this.sleepDuring(step.durationMs);
    await this.restart(zk);
    this.end(step, 'zk');
  }

  private controlPath(p: Proc, what: 'disconnectzk' | 'connectzk'): string {
    return p.role === 'nameserver' ? `/v1/ns/${what}` : `/v1/control/${what}`;
  }

  private async zkDisconnect(step: FaultStep): Promise<void> {
    const info = await this.tableInfo();
    const victim = step.variant === 'ns-leader' ? await this.leaderNs() : await this.pickTablet(step, step.variant === 'tablet-leader', info);
    if (!victim || !this.ctx.cluster.isUp(victim)) return this.skip(step, `no ${step.variant} to disconnect`);
    const affected = victim.role === 'tablet' ? this.ledBy(info, victim) : this.allPids(info);
    this.begin(step, victim.name, affected, `${step.variant} ${step.durationMs} ms`, victim.pid);
    const ok = await this.control(victim, 'disconnectzk');
    if (ok) this.disconnected.add(victim);
    await this.sleepDuring(step.durationMs);
    if (ok && (await this.control(victim, 'connectzk'))) this.disconnected.delete(victim);
    this.end(step, victim.name, ok ? undefined : 'disconnectzk was refused');
  }

  private async control(p: Proc, what: 'disconnectzk' | 'connectzk'): Promise<boolean> {
    try {
      // A tablet fences control calls by nameserver epoch: send the highest it has seen.
      const body = p.role === 'tablet' ? { nsEpoch: (await this.http.call<{ nsEpoch: number }>(p.endpoint, '/v1/control/status', {})).nsEpoch } : {};
      const res = await this.http.call(p.endpoint, this.controlPath(p, what), body);
      this.ctx.rec.admin({ command: `${what} ${p.name}`, request: {}, ok: true, response: res });
      return true;
    } catch (err) {
      this.ctx.rec.admin({ command: `${what} ${p.name}`, request: {}, ok: false, error: (err as Error).message });
      return false;
    }
  }

  private async partition(step: FaultStep): Promise<void> {
    const pc = this.ctx.partitions;
    if (!pc) return this.skip(step, 'this run has no network control');
    const info = await this.tableInfo();
    let victim: Proc | undefined;
    if (step.variant === 'ns-zk') victim = await this.leaderNs();
    else victim = await this.pickTablet(step, true, info);
    if (!victim) return this.skip(step, `no target for ${step.variant}`);
    const affected = victim.role === 'tablet' ? this.ledBy(info, victim) : this.allPids(info);
    const what = await pc.cut(victim, step.variant);
    this.begin(step, victim.name, affected, `${what} ${step.durationMs} ms`);
    await this.sleepDuring(step.durationMs);
    await pc.healAll();
    this.end(step, victim.name);
  }

  /** A fault on the link between a partition's leader and one of its followers (both still reach ZooKeeper). */
  private async link(step: FaultStep): Promise<void> {
    const pc = this.ctx.partitions;
    const why = pc ? await pc.linkUnsupported(step.variant) : 'this run has no network control';
    if (!pc?.link || why) return this.skip(step, why ?? 'no link faults here');
    const info = await this.tableInfo();
    const up = this.upTablets();
    const procOf = (ep: string): Proc | undefined => up.find((p) => p.advertised === ep || p.endpoint === ep);
    const pairs = info.partitions.flatMap((x) => {
      const leader = x.replicas.find((r) => r.isLeader && r.isAlive);
      const lp = leader ? procOf(leader.endpoint) : undefined;
      if (!lp) return [];
      return x.replicas.filter((r) => !r.isLeader && r.isAlive).map((r) => procOf(r.endpoint)).filter((f): f is Proc => f !== undefined).map((f) => ({ leader: lp, follower: f }));
    });
    const pair = Nemesis.choose(pairs, step.picks[0]);
    if (!pair) return this.skip(step, 'no partition with an alive leader and follower up');
    const { leader, follower } = pair;
    // Hit: partitions led by either end that have a replica on the other.
    const holds = (pid: number, p: Proc): boolean => info.partitions[pid]!.replicas.some((r) => r.endpoint === p.advertised || r.endpoint === p.endpoint);
    const affected = [...new Set([...this.ledBy(info, leader).filter((pid) => holds(pid, follower)), ...this.ledBy(info, follower).filter((pid) => holds(pid, leader))])];
    const what = await pc.link(leader, follower, step.variant, step.durationMs);
    const target = `${leader.name}-${follower.name}`;
    this.begin(step, target, affected, `${what} ${step.durationMs} ms`);
    await this.sleepDuring(step.durationMs);
    await pc.healAll();
    this.end(step, target);
  }

  // --- operator commands and op-kill ---------------------------------------------------------

  /** Issues an operator command chosen by `command` against the current placement. */
  private async issue(command: string, info: TableInfo, picks: readonly number[]): Promise<{ opIds: number[]; pid: number; roles: Record<string, Proc | undefined> } | string> {
    const { db, table } = this.ctx;
    const up = this.upTablets();
    const upEps = new Set(up.map((p) => p.advertised));
    const holders = (pid: number): string[] => info.partitions[pid]!.replicas.map((r) => r.endpoint);
    const leaderOf = (pid: number): string | undefined => info.partitions[pid]!.replicas.find((r) => r.isLeader && r.isAlive)?.endpoint;
    const followersOf = (pid: number): string[] => info.partitions[pid]!.replicas.filter((r) => !r.isLeader && r.isAlive).map((r) => r.endpoint);
    const pids = info.partitions.map((p) => p.pid);
    const ep = (e: string | undefined): Proc | undefined => (e ? this.ctx.cluster.byEndpoint(e) : undefined);
    const admin = this.ctx.client.admin;
    let choice: { pid: number; call: () => Promise<{ opIds: number[] }>; request: unknown; roles: Record<string, Proc | undefined> } | undefined;
    if (command === 'migrate') {
      const options = pids.flatMap((pid) => followersOf(pid).filter((s) => upEps.has(s)).flatMap((src) => up.filter((d) => !holders(pid).includes(d.advertised)).map((d) => ({ pid, src, des: d.advertised }))));
      const o = Nemesis.choose(options, picks[1]!);
      if (o) {
        const request = { db, name: table, src: o.src, des: o.des, pids: [o.pid] };
        choice = { pid: o.pid, request, call: () => admin.migrate(request), roles: { src: ep(o.src), des: ep(o.des), leader: ep(leaderOf(o.pid)) } };
      }
    } else if (command === 'changeleader') {
      const options = pids.flatMap((pid) => (leaderOf(pid) ? followersOf(pid).filter((f) => upEps.has(f) && info.partitions[pid]!.inSync.includes(f)).map((candidate) => ({ pid, candidate })) : []));
      const o = Nemesis.choose(options, picks[1]!);
      if (o) {
        const request = { db, name: table, pid: o.pid, candidate: o.candidate };
        choice = { pid: o.pid, request, call: () => admin.changeleader(request), roles: { candidate: ep(o.candidate), 'old-leader': ep(leaderOf(o.pid)), leader: ep(leaderOf(o.pid)) } };
      }
    } else if (command === 'addreplica' || (command === 'delreplica' && !pids.some((pid) => holders(pid).length > info.replicaNum))) {
      const options = pids.flatMap((pid) => up.filter((d) => !holders(pid).includes(d.advertised)).map((d) => ({ pid, endpoint: d.advertised })));
      const o = Nemesis.choose(options, picks[1]!);
      if (o) {
        const request = { db, name: table, pids: [o.pid], endpoint: o.endpoint };
        choice = { pid: o.pid, request, call: () => admin.addreplica(request), roles: { des: ep(o.endpoint), leader: ep(leaderOf(o.pid)) } };
      }
    } else if (command === 'delreplica') {
      const options = pids.filter((pid) => holders(pid).length > info.replicaNum).flatMap((pid) => followersOf(pid).map((endpoint) => ({ pid, endpoint })));
      const o = Nemesis.choose(options, picks[1]!);
      if (o) {
        const request = { db, name: table, pids: [o.pid], endpoint: o.endpoint };
        choice = { pid: o.pid, request, call: () => admin.delreplica(request), roles: { des: ep(o.endpoint), leader: ep(leaderOf(o.pid)) } };
      }
    }
    if (!choice) return `no valid target for ${command}`;
    const name = command;
    try {
      const res = await withTimeout(choice.call(), NEMESIS_LIMITS.callTimeoutMs, name);
      this.ctx.rec.admin({ command: name, request: choice.request, ok: true, response: res });
      return { opIds: res.opIds, pid: choice.pid, roles: choice.roles };
    } catch (err) {
      this.ctx.rec.admin({ command: name, request: choice.request, ok: false, error: `${(err as { code?: string }).code ?? ''} ${(err as Error).message}` });
      return `${command} refused: ${(err as Error).message}`;
    }
  }

  private async operator(step: FaultStep): Promise<void> {
    const info = await this.tableInfo();
    const r = await this.issue(step.variant, info, step.picks);
    if (typeof r === 'string') return this.skip(step, r);
    this.begin(step, `pid ${r.pid}`, [], `${step.variant} ops ${r.opIds.join(',')}`);
    this.end(step, `pid ${r.pid}`);
  }

  /** Polls showopstatus until one of `opIds` (or a new op on `pids`) shows `task`, ends, or time runs out. */
  private async waitForTask(match: (op: { opId: number; pid: number; opType: string }) => boolean, task: string): Promise<string> {
    const { client, db, table } = this.ctx;
    const deadline = Date.now() + NEMESIS_LIMITS.taskWaitMs;
    let last = 'not seen';
    while (Date.now() < deadline && !this.stopped) {
      const res = await withTimeout(client.admin.showopstatus({ db, name: table }), NEMESIS_LIMITS.callTimeoutMs, 'showopstatus').catch(() => undefined);
      const ops = res?.ops.filter(match) ?? [];
      const hit = ops.find((o) => o.curTask === task && (o.status === 'kDoing' || o.status === 'kInited'));
      if (hit) return `op ${hit.opId} ${hit.opType} at ${task}`;
      if (ops.length > 0) {
        last = ops.map((o) => `op ${o.opId} ${o.opType} ${o.status}${o.curTask ? ` at ${o.curTask}` : ''}`).join('; ');
        if (ops.every((o) => o.status === 'kDone' || o.status === 'kFailed' || o.status === 'kCanceled')) return `missed ${task}: ${last}`;
      }
      await sleep(NEMESIS_LIMITS.taskPollMs);
    }
    return `missed ${task} (waited ${NEMESIS_LIMITS.taskWaitMs} ms): ${last}`;
  }

  private async opKill(step: FaultStep): Promise<void> {
    const [op, task, victimRole] = step.variant.split(':') as [string, string, string];
    const info = await this.tableInfo();
    const killed: Proc[] = [];
    let seen: string;
    let affected: number[];
    let roles: Record<string, Proc | undefined>;
    if (op === 'failover') {
      const leader = await this.pickTablet(step, true, info);
      if (!leader) return this.skip(step, 'no leader tablet up');
      const before = await withTimeout(this.ctx.client.admin.showopstatus({ db: this.ctx.db, name: this.ctx.table }), NEMESIS_LIMITS.callTimeoutMs, 'showopstatus').catch(() => undefined);
      if (!before) return this.skip(step, 'showopstatus did not answer');
      const maxId = Math.max(0, ...before.ops.map((o) => o.opId));
      affected = this.ledBy(info, leader);
      roles = { 'ns-leader': await this.leaderNs() };
      this.begin(step, leader.name, affected, `${step.variant}: kill leader ${leader.name}, then ${victimRole} at ${task}`, leader.pid);
      await this.ctx.cluster.kill(leader);
      killed.push(leader);
      seen = await this.waitForTask((o) => o.opId > maxId && affected.includes(o.pid), task);
    } else {
      const r = await this.issue(op, info, step.picks);
      if (typeof r === 'string') return this.skip(step, r);
      roles = { ...r.roles, 'ns-leader': await this.leaderNs() };
      affected = [r.pid];
      this.begin(step, `${victimRole} of ${op} pid ${r.pid}`, affected, `${step.variant} ops ${r.opIds.join(',')}`);
      seen = await this.waitForTask((o) => r.opIds.includes(o.opId), task);
    }
    const victim = roles[victimRole];
    if (victim && this.ctx.cluster.isUp(victim)) {
      this.ctx.rec.nemesis({ type: 'note', n: step.n, fault: step.kind, target: victim.name, pid: victim.pid, detail: `kill ${victimRole} ${victim.name}: ${seen}` });
      await this.ctx.cluster.kill(victim);
      killed.push(victim);
    } else {
      this.ctx.rec.nemesis({ type: 'note', n: step.n, fault: step.kind, detail: `no ${victimRole} to kill (${seen})` });
    }
    await this.sleepDuring(step.durationMs);
    for (const p of killed) await this.restart(p);
    this.end(step, killed.map((p) => p.name).join(',') || 'none', seen);
  }

  // --- restarting and healing ----------------------------------------------------------------

  private async sleepDuring(ms: number): Promise<void> {
    // A fault's own duration is part of the schedule; it is cut short only by stop().
    await this.sleepUnlessStopped(ms);
  }

  /** Restarts a process (bounded attempts). */
  async restart(p: Proc): Promise<void> {
    let lastErr: unknown;
    for (let attempt = 0; attempt < NEMESIS_LIMITS.restartAttempts; attempt++) {
      if (this.ctx.cluster.isUp(p)) return;
      try {
        await this.ctx.cluster.start(p);
        return;
      } catch (err) {
        lastErr = err;
        await sleep(NEMESIS_LIMITS.restartRetryMs);
      }
    }
    throw new Error(`could not restart ${p.name}: ${(lastErr as Error)?.message}`);
  }

  /** Undoes every fault still in effect: resumes, restarts, reconnects, heals the network. */
  async heal(): Promise<string[]> {
    const done: string[] = [];
    await this.ctx.partitions?.healAll();
    const cluster = this.ctx.cluster;
    for (const p of cluster.procs) {
      if (p.paused) {
        cluster.signal(p, 'SIGCONT');
        done.push(`resumed ${p.name}`);
      }
    }
    // ZooKeeper first, then nameservers, then tablets (the order of cluster.procs).
    for (const p of cluster.procs) {
      if (!cluster.isUp(p)) {
        await this.restart(p);
        done.push(`restarted ${p.name}`);
      }
    }
    for (const p of [...this.disconnected]) {
      if (await this.control(p, 'connectzk')) {
        this.disconnected.delete(p);
        done.push(`reconnected ${p.name} to ZooKeeper`);
      }
    }
    return done;
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}

export type { FaultKind };
