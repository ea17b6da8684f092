/**
 * What a refused request must not change, read from the running cluster:
 *   tablets    per replica: role, state, term, offset, record count, followers, fencing; and the
 *              tablet's nameserver epoch (a refused request must not raise the fence)
 *   nameserver databases, tables and their replicas (showtable), ops, configuration
 *   checksums  the content checksum and offset of every replica (`/v1/control/checksum`)
 * A fingerprint (tablets, plus the nameserver when asked) is taken after every case; the full
 * state with checksums at the start, after every phase and at the end.
 */
import type { HttpClient } from '@tessera/common';
import type { ClusterView, Live } from './model.js';

export interface ReplicaState {
  tid: number;
  pid: number;
  role: string;
  state: string;
  term: number;
  offset: number;
  recordCnt: number;
  followers?: string[];
  fenced?: boolean;
}

export interface TabletState {
  nsEpoch: number;
  replicas: ReplicaState[];
}

export interface NsState {
  dbs: string[];
  replicas: string[];
  ops: string[];
  conf: string[];
}

export interface Snapshot {
  tablets: Record<string, TabletState>;
  ns?: NsState;
  checksums?: Record<string, string>;
}

type StatusReply = { nsEpoch: number; replicas: Array<ReplicaState & Record<string, unknown>> };

async function tabletState(http: HttpClient, endpoint: string): Promise<TabletState> {
  const st = await http.call<StatusReply>(endpoint, '/v1/control/status', {});
  const replicas = st.replicas
    .map((r) => {
      const out: ReplicaState = { tid: r.tid, pid: r.pid, role: r.role, state: r.state, term: r.term, offset: r.offset, recordCnt: r.recordCnt };
      if (r.followers !== undefined) out.followers = [...r.followers].sort();
      if (r.fenced !== undefined) out.fenced = r.fenced;
      return out;
    })
    .sort((a, b) => a.tid - b.tid || a.pid - b.pid);
  return { nsEpoch: st.nsEpoch, replicas };
}

async function nsState(http: HttpClient, ns: string): Promise<NsState> {
  const { dbs } = await http.call<{ dbs: string[] }>(ns, '/v1/ns/showdb', {});
  type Shown = { replicas: Array<{ name: string; tid: number; pid: number; endpoint: string; role: string; isAlive: boolean }> };
  const [shown, { ops }, { conf }] = await Promise.all([
    Promise.all([...dbs].sort().map(async (db) => ({ db, res: await http.call<Shown>(ns, '/v1/ns/showtable', { db }) }))),
    http.call<{ ops: Array<{ opId: number; opType: string; status: string }> }>(ns, '/v1/ns/showopstatus', {}),
    http.call<{ conf: Array<{ key: string; value: string }> }>(ns, '/v1/ns/confget', {}),
  ]);
  const replicas: string[] = [];
  for (const { db, res } of shown) {
    for (const r of res.replicas) replicas.push(`${db}.${r.name} tid ${r.tid} pid ${r.pid} ${r.endpoint} ${r.role}${r.isAlive ? '' : ' (not alive)'}`);
  }
  return {
    dbs: [...dbs].sort(),
    replicas: replicas.sort(),
    // An op's progress is not a change; a new op (or one gone) is.
    ops: ops.map((o) => `op ${o.opId} ${o.opType}`),
    conf: conf.map((c) => `${c.key}=${c.value}`),
  };
}

/** The state of the given tablets (all by default), of the nameserver, and checksums, as asked. */
export async function takeSnapshot(http: HttpClient, v: ClusterView, what: { tablets?: readonly string[]; ns: boolean; checksums: boolean }): Promise<Snapshot> {
  const eps = what.tablets ?? v.tablets;
  const tablets: Record<string, TabletState> = {};
  const [states, ns] = await Promise.all([Promise.all(eps.map((ep) => tabletState(http, ep))), what.ns ? nsState(http, v.ns) : undefined]);
  eps.forEach((ep, i) => (tablets[ep] = states[i]!));
  const snap: Snapshot = { tablets };
  if (ns) snap.ns = ns;
  if (what.checksums) {
    const sums: Record<string, string> = {};
    for (const ep of eps) {
      for (const r of tablets[ep]!.replicas) {
        const c = await http.call<{ rows: number; sha256: string; offset: number }>(ep, '/v1/control/checksum', { tid: r.tid, pid: r.pid });
        sums[`${ep} ${r.tid}_${r.pid}`] = `rows ${c.rows} offset ${c.offset} sha256 ${c.sha256.slice(0, 16)}`;
      }
    }
    snap.checksums = sums;
  }
  return snap;
}

function replicaText(r: ReplicaState): string {
  const f = r.followers === undefined ? '' : ` followers [${r.followers.join(',')}]${r.fenced ? ' fenced' : ''}`;
  return `${r.role} ${r.state} term ${r.term} offset ${r.offset} rows ${r.recordCnt}${f}`;
}

function diffLists(what: string, a: string[], b: string[], out: string[]): void {
  const gone = a.filter((x) => !b.includes(x));
  const added = b.filter((x) => !a.includes(x));
  for (const x of gone) out.push(`${what}: gone: ${x}`);
  for (const x of added) out.push(`${what}: new: ${x}`);
}

/** What differs between two snapshots, as lines; only parts present in both are compared. */
export function diffSnapshots(a: Snapshot, b: Snapshot): string[] {
  const out: string[] = [];
  for (const ep of Object.keys(a.tablets)) {
    const x = a.tablets[ep]!;
    const y = b.tablets[ep];
    if (!y) continue;
    if (x.nsEpoch !== y.nsEpoch) out.push(`tablet ${ep}: nameserver epoch fence ${x.nsEpoch} → ${y.nsEpoch}`);
    const key = (r: ReplicaState): string => `${r.tid}_${r.pid}`;
    const ym = new Map(y.replicas.map((r) => [key(r), r]));
    const xm = new Map(x.replicas.map((r) => [key(r), r]));
    for (const [k, r] of xm) {
      const s = ym.get(k);
      if (!s) out.push(`tablet ${ep}: replica ${k} gone`);
      else if (replicaText(r) !== replicaText(s)) out.push(`tablet ${ep}: replica ${k}: ${replicaText(r)} → ${replicaText(s)}`);
    }
    for (const [k, s] of ym) if (!xm.has(k)) out.push(`tablet ${ep}: new replica ${k}: ${replicaText(s)}`);
  }
  if (a.ns && b.ns) {
    diffLists('nameserver databases', a.ns.dbs, b.ns.dbs, out);
    diffLists('nameserver tables', a.ns.replicas, b.ns.replicas, out);
    diffLists('nameserver ops', a.ns.ops, b.ns.ops, out);
    diffLists('nameserver conf', a.ns.conf, b.ns.conf, out);
  }
  if (a.checksums && b.checksums) {
    // Replicas that came or went are reported above; content is compared where both have it.
    for (const k of Object.keys(a.checksums)) {
      const y = b.checksums[k];
      if (y !== undefined && a.checksums[k] !== y) out.push(`checksum ${k}: ${a.checksums[k]} → ${y}`);
    }
  }
  return out;
}

/** `base` with the parts `probe` holds replaced by the probe's (a fuller picture of now). */
export function mergeSnapshot(base: Snapshot, probe: Snapshot): Snapshot {
  const out: Snapshot = { tablets: { ...base.tablets, ...probe.tablets } };
  const ns = probe.ns ?? base.ns;
  if (ns) out.ns = ns;
  const checksums = probe.checksums ?? base.checksums;
  if (checksums) out.checksums = checksums;
  return out;
}

/** Epochs, terms and offsets as the last snapshot saw them. */
export function liveFrom(get: () => Snapshot): Live {
  const replica = (ep: string, tid: number, pid: number): ReplicaState | undefined => get().tablets[ep]?.replicas.find((r) => r.tid === tid && r.pid === pid);
  return {
    epoch: (ep) => get().tablets[ep]?.nsEpoch ?? 0,
    term: (ep, tid, pid) => replica(ep, tid, pid)?.term ?? 0,
    offset: (ep, tid, pid) => replica(ep, tid, pid)?.offset ?? 0,
  };
}
