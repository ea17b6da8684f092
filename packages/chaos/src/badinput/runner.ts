/**
 * Runs the bad-input catalogue against a real cluster and says which cases held. A case holds
 * when
 *   HTTP       the answer is a 4xx whose catalogue code is one the case expects (a body over
 *              the route's limit must get BODY_TOO_LARGE), and
 *   ns_client  the line fails with a failure or usage line (a process: exits non-zero or prints
 *              one), matching the case's text when it has one, and nothing prints a stack trace,
 * and, for every kind, afterwards every process is alive and answers, and nothing changed: the
 * tablets' replicas (role, state, term, offset, rows, followers, the epoch fence), the
 * nameserver's databases, tables, ops and configuration — checked after every case — and every
 * replica's content checksum — checked after every phase and at the end against the start.
 */
import type { ErrorCode, HttpClient } from '@tessera/common';
import { startCluster, type Cluster } from './cluster.js';
import { httpCatalogue } from './catalogue.js';
import { closeAgent, send } from './http.js';
import { PHASES, type At, type BuildContext, type Case, type CaseResult, type CliLineCase, type CliProcessCase, type ClusterView, type HttpCase, type Phase } from './model.js';
import { cliLineCases, cliProcessCases, FAIL_TEXT, writeMetaFiles } from './nsclient-cases.js';
import { InteractiveNsClient, runNsClientOnce, STACK_TRACE } from './nsclient-proc.js';
import { diffSnapshots, liveFrom, mergeSnapshot, takeSnapshot, type Snapshot } from './state.js';

export interface BadInputOptions {
  log?: (line: string) => void;
  /** Only cases whose id matches (the final checks always run). */
  only?: RegExp;
  /** Print every case as it runs. */
  verbose?: boolean;
}

export interface BadInputReport {
  tried: number;
  held: number;
  /** Cases that did not hold, and the final checks that failed, in run order. */
  failures: CaseResult[];
  /** Cases not run because a process died. */
  notRun: number;
  byPhase: Record<string, { tried: number; held: number; ms: number }>;
  durationMs: number;
}

const HTTP_TIMEOUT_MS = 15_000;
/** A request whose Content-Length alone is over the limit must be answered without its body. */
const DECLARED_TIMEOUT_MS = 3_000;
const CLI_LINE_TIMEOUT_MS = 20_000;
const CLI_PROCESS_TIMEOUT_MS = 30_000;
/** ns_client processes started at once (each is mostly start-up time). */
const CLI_PROCESS_CONCURRENCY = 4;

/** Every case of the suite, in run order (by phase). */
export function badInputCases(): Case[] {
  const all: Case[] = [...httpCatalogue(), ...cliLineCases(), ...cliProcessCases()];
  return PHASES.flatMap((p) => all.filter((c) => c.phase === p));
}

function endpointOf(v: ClusterView, at: At): string {
  switch (at) {
    case 'ns':
      return v.ns;
    case 'tabletA':
      return v.tablets[0];
    case 'tabletB':
      return v.tablets[1];
    case 'p0leader':
      return v.parts[0]!.leader;
    case 'p0follower':
      return v.parts[0]!.follower;
    case 'p1leader':
      return v.parts[1]!.leader;
    case 'p1follower':
      return v.parts[1]!.follower;
  }
}

function short(text: string, max = 160): string {
  // eslint-disable-next-line no-control-regex
  const one = text.replace(/\s+/g, ' ').replace(/[\u0000-\u001f\u007f]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`).trim();
  return one.length > max ? `${one.slice(0, max)}…` : one;
}

/**
 * What to read after a case to see whether it changed anything: the tablets, or the nameserver; everything for ns_client lines and the last phase. Transport cases (refused
 * before any handler) are checked once per route, and ns_client processes (run a few at a time)
 * once for all of them, when their group ends.
 */
function probeFor(c: Case, v: ClusterView): { tablets: string[]; ns: boolean } | undefined {
  if (c.kind === 'cli-process') return undefined;
  if (c.kind !== 'http' || c.phase === 'risky') return { tablets: [...v.tablets], ns: true };
  if (c.phase === 'transport') return undefined;
  // Both tablets: a write on a leader moves its follower too.
  return c.at === 'ns' ? { tablets: [], ns: true } : { tablets: [...v.tablets], ns: false };
}

/** Cases checked together at the end of their group share this key. */
function groupOf(c: Case): string {
  return c.kind === 'http' ? `${c.phase} ${c.path}` : `${c.phase} ${c.kind}`;
}

async function runHttp(c: HttpCase, ctx: BuildContext): Promise<{ why: string[]; got: string }> {
  const body = c.body(ctx);
  const overLimit = (body !== undefined && c.method === 'POST' && body.length > c.limit) || (c.declaredLength ?? 0) > c.limit;
  const expected: readonly ErrorCode[] = overLimit ? ['BODY_TOO_LARGE'] : c.expect.codes;
  const ans = await send({ endpoint: endpointOf(ctx.v, c.at), method: c.method, path: c.path, contentType: c.contentType, body, timeoutMs: c.declaredLength !== undefined ? DECLARED_TIMEOUT_MS : HTTP_TIMEOUT_MS, ...(c.declaredLength !== undefined ? { declaredLength: c.declaredLength } : {}) });
  const got = ans.status === 0 ? (ans.problem ?? 'no answer') : `${ans.status} ${ans.code ?? ans.problem ?? ''}`.trim();
  const why: string[] = [];
  const bare = c.expect.bareStatus !== undefined && ans.status === c.expect.bareStatus && ans.code === undefined;
  const parts = ans.partCodes ?? [];
  const refusedPerPart = c.expect.perPart === true && !overLimit && ans.status >= 200 && ans.status < 300 && parts.length > 0 && parts.every((p) => p !== undefined && expected.includes(p as ErrorCode));
  if (refusedPerPart) return { why, got: `${ans.status} results [${parts.join(', ')}]` };
  if (ans.status === 0) why.push(`no HTTP answer: ${ans.problem}`);
  else if (ans.status < 400) why.push(`accepted (HTTP ${ans.status}${parts.length > 0 ? `, results [${parts.map((p) => p ?? 'ok').join(', ')}]` : ''}); expected ${expected.join(' or ')}`);
  else if (ans.status >= 500) why.push(`server error HTTP ${ans.status} ${ans.code ?? ''}; expected ${expected.join(' or ')}`);
  else if (!bare && (ans.code === undefined || !expected.includes(ans.code as ErrorCode))) {
    why.push(`answered ${got}; expected ${expected.join(' or ')}`);
  }
  return { why, got };
}

function checkCliText(text: string, match: RegExp | undefined, why: string[]): void {
  if (STACK_TRACE.test(text)) why.push(`printed a stack trace: ${short(text)}`);
  if (match && !match.test(text)) why.push(`failure text does not match ${match}: ${short(text)}`);
}

class CliLines {
  private readonly clients = new Map<boolean, InteractiveNsClient>();

  constructor(private readonly v: ClusterView) {}

  async run(c: CliLineCase): Promise<{ why: string[]; got: string }> {
    let client = this.clients.get(c.withDb);
    if (!client) {
      const args = [`--zk_cluster=${this.v.zkCluster}`, `--zk_root_path=${this.v.zkRootPath}`, '--interactive=false', '--format=json'];
      if (c.withDb) args.push(`--database=${this.v.db}`);
      client = new InteractiveNsClient(args);
      this.clients.set(c.withDb, client);
    }
    const ans = await client.send(c.line(this.v), CLI_LINE_TIMEOUT_MS);
    const why: string[] = [];
    if (ans.problem) {
      why.push(`${ans.problem}; output: ${short(ans.text || ans.stderr)}`);
      return { why, got: ans.problem };
    }
    if (!ans.json) {
      why.push(`printed no JSON answer: ${short(ans.text)}`);
      return { why, got: short(ans.text, 80) };
    }
    const error = typeof ans.json.error === 'string' ? ans.json.error : '';
    const got = ans.json.ok === false ? `fail: ${short(error, 100)}` : `ok: ${short(JSON.stringify(ans.json), 100)}`;
    if (ans.json.ok !== false) why.push(`the command succeeded: ${short(JSON.stringify(ans.json))}`);
    else if (error.trim() === '') why.push(`failed without a failure or usage line: ${short(JSON.stringify(ans.json))}`);
    checkCliText(`${error}\n${ans.stderr}`, ans.json.ok === false ? c.match : undefined, why);
    return { why, got };
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.close()));
  }
}

async function runCliProcess(c: CliProcessCase, v: ClusterView): Promise<{ why: string[]; got: string }> {
  const ans = await runNsClientOnce(c.args(v), CLI_PROCESS_TIMEOUT_MS);
  const text = `${ans.stdout}\n${ans.stderr}`;
  const why: string[] = [];
  const got = `exit ${ans.code ?? ans.signal}: ${short(text, 100)}`;
  if (ans.timedOut) why.push(`did not exit within ${CLI_PROCESS_TIMEOUT_MS} ms`);
  else if (ans.code === 0 && !FAIL_TEXT.test(text)) why.push(`exited 0 without a failure or usage line; output: ${short(text) || '(none)'}`);
  checkCliText(text, c.match, why);
  return { why, got };
}

/** Runs the process cases at most CLI_PROCESS_CONCURRENCY at a time; their outcomes go into `runs`. */
function startProcessBatch(batch: CliProcessCase[], v: ClusterView, runs: Map<Case, Promise<{ why: string[]; got: string }>>): void {
  const slots: Array<() => void> = [];
  let running = 0;
  const acquire = (): Promise<void> => {
    if (running < CLI_PROCESS_CONCURRENCY) {
      running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => slots.push(resolve));
  };
  const release = (): void => {
    const s = slots.shift();
    if (s) s();
    else running--;
  };
  for (const c of batch) {
    runs.set(c, acquire().then(async () => {
      try {
        return await runCliProcess(c, v);
      } finally {
        release();
      }
    }));
  }
}

export async function runBadInput(options: BadInputOptions = {}): Promise<BadInputReport> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const started = Date.now();
  const cases = badInputCases().filter((c) => !options.only || options.only.test(c.id));
  const byPhase: Record<string, { tried: number; held: number; ms: number }> = {};
  const failures: CaseResult[] = [];
  let tried = 0;
  let held = 0;
  let notRun = 0;

  const cluster: Cluster = await startCluster(log);
  const { view: v, http } = cluster;
  const cli = new CliLines(v);
  try {
    writeMetaFiles(v);
    const snap = (what: { tablets?: readonly string[]; ns: boolean; checksums: boolean }): Promise<Snapshot> => takeSnapshot(http as HttpClient, v, what);
    const first = await snap({ ns: true, checksums: true });
    /** The state as last seen, part by part (probes refresh the parts they read). */
    let last = first;
    let lastFull = first;
    const ctx = (n: number): BuildContext => ({ v, live: liveFrom(() => last), n });
    log(`bad input: ${cases.length} cases against ${v.tablets.length} tablets and a nameserver (cluster up in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    const casesStarted = Date.now();

    const dead = (): string[] => cluster.processes.filter((p) => !p.alive()).map((p) => `${p.role} ${p.endpoint} died (log: ${p.logFile})`);
    let aborted: string | undefined;
    const fail = (id: string, why: string[]): void => {
      failures.push({ id, held: false, why, got: 'changed' });
      log(`NOT HELD  ${id}\n      ${why.join('\n      ')}`);
    };
    /** Everything but checksums, after a group: changes no case was charged with go to the group. */
    const endGroup = async (group: string, n: number): Promise<void> => {
      if (aborted) return;
      try {
        const now = await snap({ ns: true, checksums: false });
        const changes = diffSnapshots(last, now);
        if (changes.length > 0) fail(n === 1 ? `${group}: changed state (seen after the case)` : `${group}: one of these ${n} cases changed state`, changes);
        last = mergeSnapshot(last, now);
      } catch (err) {
        fail(`${group}: a good request after these ${n} cases`, [`failed: ${(err as Error).message}`]);
      }
    };
    /**
     * Checksums after a phase: content that changed while the replica's offset did not (a change
     * of offset was charged to its case already).
     */
    const endPhase = async (p: Phase): Promise<void> => {
      if (aborted) return;
      const full = await snap({ ns: true, checksums: true });
      const offsetOf = (text: string | undefined): string | undefined => /offset (\d+)/.exec(text ?? '')?.[1];
      const before: Record<string, string> = {};
      for (const [k, sum] of Object.entries(lastFull.checksums ?? {})) if (offsetOf(sum) === offsetOf(full.checksums?.[k])) before[k] = sum;
      const changes = diffSnapshots({ tablets: {}, checksums: before }, { tablets: {}, checksums: full.checksums ?? {} });
      if (changes.length > 0) fail(`after phase ${p}: replica content unchanged`, changes);
      lastFull = full;
      last = mergeSnapshot(last, full);
    };

    const processRuns = new Map<Case, Promise<{ why: string[]; got: string }>>();
    let phase: Phase | undefined;
    let group: string | undefined;
    let groupSize = 0;
    for (let i = 0; i < cases.length; i++) {
      const c = cases[i]!;
      if (aborted) {
        notRun = cases.length - i;
        break;
      }
      if (group !== undefined && group !== groupOf(c)) {
        await endGroup(group, groupSize);
        groupSize = 0;
      }
      group = groupOf(c);
      groupSize++;
      if (phase !== c.phase) {
        if (phase) await endPhase(phase);
        phase = c.phase;
        log(`-- phase ${phase}`);
      }
      const stats = (byPhase[c.phase] ??= { tried: 0, held: 0, ms: 0 });
      const caseStarted = Date.now();
      let outcome: { why: string[]; got: string };
      try {
        if (c.kind === 'http') outcome = await runHttp(c, ctx(i));
        else if (c.kind === 'cli-line') outcome = await cli.run(c);
        else {
          // The following process cases start now too; each is reported in its turn.
          if (!processRuns.has(c)) {
            const batch: CliProcessCase[] = [];
            for (let j = i; j < cases.length && cases[j]!.kind === 'cli-process'; j++) batch.push(cases[j] as CliProcessCase);
            startProcessBatch(batch, v, processRuns);
          }
          outcome = await processRuns.get(c)!;
        }
      } catch (err) {
        outcome = { why: [`the suite could not run it: ${(err as Error).message}`], got: 'error' };
      }
      // Still alive, still answering, nothing changed.
      const died = dead();
      if (died.length > 0) {
        outcome.why.push(...died);
        aborted = died.join('; ');
      } else {
        const probe = probeFor(c, v);
        if (probe) {
          try {
            const now = await snap({ ...probe, checksums: false });
            const changes = diffSnapshots(last, now);
            if (changes.length > 0) outcome.why.push(...changes.map((x) => `changed: ${x}`));
            last = mergeSnapshot(last, now);
          } catch (err) {
            outcome.why.push(`a good request right after it failed: ${(err as Error).message}`);
          }
        }
      }
      tried++;
      stats.tried++;
      stats.ms += Date.now() - caseStarted;
      const ok = outcome.why.length === 0;
      if (ok) {
        held++;
        stats.held++;
      } else {
        failures.push({ id: c.id, held: false, why: outcome.why, got: outcome.got });
      }
      if (options.verbose || !ok) log(`${ok ? 'held' : 'NOT HELD'}  ${c.id}  → ${outcome.got} (${Date.now() - caseStarted} ms)${ok ? '' : `\n      ${outcome.why.join('\n      ')}`}`);
    }
    if (group !== undefined) await endGroup(group, groupSize);
    if (phase) await endPhase(phase);
    await cli.close();
    log(`${tried} cases in ${((Date.now() - casesStarted) / 1000).toFixed(1)} s`);

    // Final: every process alive, and data and tables as at the start.
    const died = dead();
    if (died.length > 0) failures.push({ id: 'final: every process alive', held: false, why: died, got: 'died' });
    if (!aborted) {
      const end = await snap({ ns: true, checksums: true });
      const changes = diffSnapshots(first, end);
      if (changes.length > 0) failures.push({ id: 'final: replicas, checksums and table list as at the start', held: false, why: changes, got: 'changed' });
    }
    if (aborted) log(`aborted: ${aborted}`);
  } finally {
    await cli.close().catch(() => undefined);
    closeAgent();
    await cluster.stop();
  }
  return { tried, held, failures, notRun, byPhase, durationMs: Date.now() - started };
}

/** The report as text: the counts, then every case that did not hold with why. */
export function formatReport(r: BadInputReport): string {
  const lines = [`bad input: ${r.tried} cases tried, ${r.held} held, ${r.tried - r.held} did not hold${r.notRun ? `, ${r.notRun} not run` : ''} (${(r.durationMs / 1000).toFixed(1)} s)`];
  for (const [p, s] of Object.entries(r.byPhase)) lines.push(`  ${p.padEnd(10)} ${s.held}/${s.tried} held (${(s.ms / 1000).toFixed(1)} s)`);
  if (r.failures.length > 0) {
    lines.push('did not hold:');
    for (const f of r.failures) {
      lines.push(`  ${f.id}`);
      for (const w of f.why) lines.push(`      ${w}`);
    }
  }
  return lines.join('\n');
}
