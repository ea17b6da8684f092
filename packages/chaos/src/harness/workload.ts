/**
 * The client workload (reliability.md §3.5): `clients` logical clients in this process, each
 * issuing one call at a time through the real SDK, the total rate bounded. 70 % put of a unique
 * value `c<client>-<seq>` with a ts unique per key (a per-key counter taken at invocation), 20 %
 * get (the newest row), 10 % scan of a short ts window. Every call is recorded as `invoke` and
 * then `ok`, `fail` or `info` (see classify.ts).
 */
import { pidOfKey, sleep } from '@tessera/common';
import type { Client } from '@tessera/client';
import { classify } from './classify.js';
import type { CallKind, RowRef } from './history.js';
import type { Prng } from './prng.js';
import type { Recorder } from './recorder.js';

export const WORKLOAD_LIMITS = {
  /** A call the SDK has not finished after this long is recorded `info` and left behind. */
  callTimeoutMs: 45_000,
  /** Rows of the ts window a workload scan reads. */
  scanWindowTs: 16,
  /** ts of a key's first row (then +1 per put to that key). */
  tsBase: 1_000_000_000,
  /** Waiting for in-flight calls when stopping. */
  drainTimeoutMs: 50_000,
} as const;

export interface WorkloadOptions {
  client: Client;
  db: string;
  table: string;
  partitionNum: number;
  rec: Recorder;
  prng: Prng;
  clients: number;
  rateOpsPerS: number;
  keysPerPartition: number;
}

/** Keys spread evenly: the first `perPartition` names `k<i>` that hash to each partition. */
export function chooseKeys(partitionNum: number, perPartition: number): string[] {
  const byPid = new Map<number, string[]>();
  const limit = partitionNum * perPartition * 1000;
  for (let i = 0; i < limit; i++) {
    const key = `k${i}`;
    const pid = pidOfKey(key, partitionNum);
    const list = byPid.get(pid) ?? [];
    if (list.length < perPartition) list.push(key);
    byPid.set(pid, list);
    if ([...byPid.values()].reduce((n, l) => n + l.length, 0) === partitionNum * perPartition) break;
  }
  return [...byPid.values()].flat().sort();
}

export class Workload {
  readonly keys: string[];
  private running = false;
  private nextCallId = 1;
  private readonly tsNext = new Map<string, number>();
  private loops: Array<Promise<void>> = [];
  /** Calls by kind and result, as they complete. */
  readonly counts: Record<string, number> = {};

  constructor(private readonly o: WorkloadOptions) {
    this.keys = chooseKeys(o.partitionNum, o.keysPerPartition);
  }

  start(): void {
    this.running = true;
    for (let c = 0; c < this.o.clients; c++) this.loops.push(this.loop(c, this.o.prng.fork(`client-${c}`)));
  }

  /** Stops issuing calls and waits (bounded) for those in flight. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.race([Promise.all(this.loops), sleep(WORKLOAD_LIMITS.drainTimeoutMs)]);
  }

  private async loop(client: number, prng: Prng): Promise<void> {
    const intervalMs = (1000 * this.o.clients) / this.o.rateOpsPerS;
    let nextAt = Date.now() + prng.next() * intervalMs;
    let seq = 0;
    while (this.running) {
      const waitMs = nextAt - Date.now();
      if (waitMs > 0) await sleep(waitMs);
      if (!this.running) break;
      nextAt = Math.max(nextAt + intervalMs, Date.now());
      const key = prng.pick(this.keys);
      const dice = prng.next();
      const f: CallKind = dice < 0.7 ? 'put' : dice < 0.9 ? 'get' : 'scan';
      await this.call(client, f, key, f === 'put' ? `c${client}-${seq++}` : undefined);
    }
  }

  private async call(client: number, f: CallKind, key: string, value: string | undefined): Promise<void> {
    const { rec, db, table } = this.o;
    const id = this.nextCallId++;
    const pid = pidOfKey(key, this.o.partitionNum);
    const issued = this.tsNext.get(key) ?? 0;
    let row: RowRef | undefined;
    let st: number | undefined;
    let et: number | undefined;
    if (f === 'put') {
      row = { v: value!, ts: WORKLOAD_LIMITS.tsBase + issued + 1 };
      this.tsNext.set(key, issued + 1);
    } else if (f === 'scan') {
      st = WORKLOAD_LIMITS.tsBase + issued + 1;
      et = st - WORKLOAD_LIMITS.scanWindowTs;
    }
    rec.history({ type: 'invoke', id, client, f, key, pid, tUs: rec.nowUs(), ...(row ? { row } : {}), ...(st !== undefined ? { st, et: et! } : {}) });
    const c = this.o.client;
    const work: Promise<{ read?: RowRef | null; rows?: RowRef[] }> =
      f === 'put'
        ? c.put(db, table, { k: key, v: row!.v, ts: row!.ts }).then(() => ({}))
        : f === 'get'
          ? c.get(db, table, { key }).then((r) => ({ read: r ? { v: String(r.v), ts: Number(r.ts) } : null }))
          : c.scan(db, table, { key, st: st!, et: et! }).then((rs) => ({ rows: rs.map((r) => ({ v: String(r.v), ts: Number(r.ts) })) }));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), WORKLOAD_LIMITS.callTimeoutMs);
    });
    try {
      const res = await Promise.race([work, timeout]);
      if (res === 'timeout') {
        work.catch(() => undefined);
        rec.history({ type: 'info', id, tUs: rec.nowUs(), error: 'HARNESS_TIMEOUT' });
        this.count(f, 'info');
      } else {
        rec.history({ type: 'ok', id, tUs: rec.nowUs(), ...res });
        this.count(f, 'ok');
      }
    } catch (err) {
      const { result, error } = classify(err);
      rec.history({ type: result, id, tUs: rec.nowUs(), error });
      this.count(f, result);
    } finally {
      clearTimeout(timer);
    }
  }

  private count(f: CallKind, result: string): void {
    const k = `${f}:${result}`;
    this.counts[k] = (this.counts[k] ?? 0) + 1;
  }
}
