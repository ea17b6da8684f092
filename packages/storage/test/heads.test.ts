// Head records (src/heads.ts): a get answered from the key's head must equal the get by seeking,
// whatever the history — rows out of time order (in one group commit too, beside a refused item),
// deletes (a leader's versioned ones, purged; a follower's at once), TTL GC, snapshot loads, reads
// bounded by a commit point or a time. Checked against `scan(..., limit 1)`, which always seeks,
// over random histories on memory-level and on a range of a classic-level tablet store.
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode, type TtlDef } from '@tessera/common';
import { ReplicaStore, TabletStore, type Level, type ReplicaInfo } from '../src/index.js';
import { HEAD_END, HEAD_START, META_STATE } from '../src/keys.js';
import { schemaOf } from './schema.js';

const MIN = 60_000;
const CARDS = ['c', 'c1', 'c2', 'c10'];
const MCCS = ['m', 'm1', 'm2'];
const STEPS = 30;
/** Over rowBytesMax: the put that carries it is refused whole, in the middle of a group commit. */
const TOO_BIG = 'x'.repeat(4 * 1024 * 1024 + 1);

function info(ttl: TtlDef, pid = 0): ReplicaInfo {
  return { tid: 1, pid, schema: schemaOf(ttl), compressType: 'kNoCompress' };
}

/** A small seeded generator (mulberry32), so a failing history can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

interface Tablet {
  level(pid: number): Level;
  close(): Promise<void>;
}

const backends: Array<{ name: string; make(): Promise<Tablet>; ttls: number[] }> = [
  {
    name: 'memory-level tablet store',
    async make() {
      const tablet = await TabletStore.memory();
      return { level: (pid) => tablet.replicaLevel(1, pid), close: () => tablet.close() };
    },
    ttls: [0, 1, 2, 3, 4],
  },
  {
    name: 'classic-level tablet store',
    async make() {
      const dir = mkdtempSync(join(tmpdir(), 'tessera-heads-'));
      const tablet = await TabletStore.openDir(dir);
      return {
        level: (pid) => tablet.replicaLevel(1, pid),
        close: async () => {
          await tablet.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
    // The same code on disk: two of the TTLs, to keep the file short on a loaded machine.
    ttls: [1, 3],
  },
];

const TTLS: TtlDef[] = [
  { type: 'absolute', absMinutes: 0, latest: 0 },
  { type: 'absolute', absMinutes: 10, latest: 0 },
  { type: 'latest', absMinutes: 0, latest: 2 },
  { type: 'absorlat', absMinutes: 10, latest: 3 },
  { type: 'absandlat', absMinutes: 10, latest: 1 },
];

/** Every get of every key (and a missing one), each unbounded and bounded by a few times. */
function allGets(): Array<{ indexNo: number; key: string; ts?: number }> {
  const keys: Array<[number, string]> = [
    ...CARDS.map((c): [number, string] => [0, c]), ...MCCS.map((m): [number, string] => [1, m]),
    ...CARDS.flatMap((c) => MCCS.map((m): [number, string] => [2, `${c}|${m}`])), [0, 'nobody'],
  ];
  return keys.flatMap(([indexNo, key]) => [{ indexNo, key }, { indexNo, key, ts: 1050 }]);
}

/** get and getMany (heads) against scan with limit 1 (always a seek). */
async function check(t: Test, s: ReplicaStore, nowMs: number, maxOffset: number, what: string): Promise<number> {
  const gets = allGets();
  const want = await Promise.all(gets.map(async (g) => (await s.scan(g.indexNo, g.key, g.ts ?? 0, -1, 1, nowMs, maxOffset))[0]));
  const one = await Promise.all(gets.map((g) => s.get(g.indexNo, g.key, g.ts, nowMs, maxOffset)));
  const many = await s.getMany(gets, nowMs, maxOffset);
  let bad = 0;
  gets.forEach((g, i) => {
    if (JSON.stringify(one[i]) !== JSON.stringify(want[i]) || JSON.stringify(many[i]) !== JSON.stringify(want[i])) {
      bad++;
      if (bad <= 3) t.fail(`${what}: get ${JSON.stringify(g)} at ${maxOffset}: seek ${JSON.stringify(want[i])}, get ${JSON.stringify(one[i])}, getMany ${JSON.stringify(many[i])}`);
    }
  });
  return want.filter((w) => w !== undefined).length;
}

/** A tablet of `backend` holding a leader (pid 0) and another replica (pid 1), and a count of each one's heads. */
async function leaderAndReplica(t: Test, backend: (typeof backends)[number], ttl: TtlDef): Promise<{ leader: ReplicaStore; other: ReplicaStore; heads: (pid: number) => Promise<number> }> {
  const tablet = await backend.make();
  t.teardown(() => tablet.close());
  const leader = await ReplicaStore.create(tablet.level(0), info(ttl));
  await leader.setRole('leader', 1);
  const other = await ReplicaStore.create(tablet.level(1), info(ttl));
  const heads = async (pid: number): Promise<number> => {
    let n = 0;
    for await (const _ of tablet.level(pid).keys({ gte: HEAD_START, lt: HEAD_END })) n++;
    return n;
  };
  return { leader, other, heads };
}

for (const backend of backends) {
  t.test(backend.name, async (t) => {
    for (const n of backend.ttls) {
      const ttl = TTLS[n]!;
      t.test(`random histories, ttl ${ttl.type} ${ttl.absMinutes}m/${ttl.latest}`, async (t) => {
        const tablet = await backend.make();
        t.teardown(() => tablet.close());
        const r = rng(1000 + n);
        const leader = await ReplicaStore.create(tablet.level(0), info(ttl, 0));
        await leader.setRole('leader', 1);
        const follower = await ReplicaStore.create(tablet.level(1), info(ttl, 0));
        let copy: ReplicaStore | undefined;
        let copyPid = 2;
        let purgedTo = 0;
        let found = 0;
        let checks = 0;
        const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)]!;
        for (let step = 0; step < STEPS; step++) {
          const x = r();
          const nowMs = 1000 + 10 * MIN + Math.floor(r() * 80); // absolute TTL: rows up to ts ~1000-1080 expire
          if (x < 0.55) {
            // Puts, several calls at once (one group commit), rows out of time order, sometimes a refused one.
            const calls = 1 + Math.floor(r() * 4);
            const ps: Array<Promise<unknown>> = [];
            for (let c = 0; c < calls; c++) {
              const rows = Array.from({ length: 1 + Math.floor(r() * 3) }, () => {
                const ts = 1000 + Math.floor(r() * 100);
                return { values: [pick(CARDS), pick(MCCS), 1.5, ts, step], ts: 900 + Math.floor(r() * 300) };
              });
              if (r() < 0.1) rows.push({ values: ['c1', 'm1', 1.5, 1050, TOO_BIG], ts: 1050 } as never);
              ps.push(leader.put(rows).catch((err: { code?: string }) => t.equal(err.code, 'LIMIT_EXCEEDED')));
            }
            await Promise.all(ps);
          } else if (x < 0.7) {
            const indexNo = Math.floor(r() * 3);
            await leader.delete(indexNo, indexNo === 0 ? pick(CARDS) : indexNo === 1 ? pick(MCCS) : `${pick(CARDS)}|${pick(MCCS)}`);
          } else if (x < 0.8) {
            purgedTo = Math.max(purgedTo, purgedTo + Math.floor(r() * (leader.offset - purgedTo + 1)));
            await leader.purgeDeletes(purgedTo);
          } else if (x < 0.9) {
            await leader.gc(nowMs, 1 + Math.floor(r() * 3));
            await follower.gc(nowMs, 1 + Math.floor(r() * 3));
            if (copy) await copy.gc(nowMs);
          } else {
            if (copy) await copy.close();
            copy = await ReplicaStore.create(tablet.level(copyPid++), info(ttl, 0));
            await copy.loadSnapshot(leader.snapshot(nowMs));
          }
          // Followers apply everything the leader wrote (deletes remove rows at once there).
          await follower.appendReplicated(await leader.readBinlog(follower.offset + 1, 10_000, 1e9));
          if (copy) await copy.appendReplicated(await leader.readBinlog(copy.offset + 1, 10_000, 1e9));
          const readAt = purgedTo + Math.floor(r() * (leader.offset - purgedTo + 1));
          found += await check(t, leader, nowMs, leader.offset, `step ${step} leader`);
          found += await check(t, leader, nowMs, readAt, `step ${step} leader below its offset`);
          found += await check(t, follower, nowMs, Infinity, `step ${step} follower`);
          if (copy) found += await check(t, copy, nowMs, Infinity, `step ${step} snapshot copy`);
          checks++;
        }
        t.ok(found > checks * 10, `the gets found rows (${found} in ${checks} steps)`);
        t.ok(leader.offset > 40, `writes happened (offset ${leader.offset})`);
        if (copy) await copy.close();
        await leader.close();
        await follower.close();
      });
    }

    t.test('a get whose head settles it reads no iterator; one that does not, falls back', async (t) => {
      const tablet = await backend.make();
      t.teardown(() => tablet.close());
      const db = tablet.level(0);
      const s = await ReplicaStore.create(db, info(TTLS[0]!));
      await s.setRole('leader', 1);
      await s.put([1010, 1030, 1020].map((ts) => ({ values: ['c1', 'm1', 1.5, ts, ts], ts: 5 })));
      const heads: Buffer[] = [];
      for await (const k of db.keys({ gte: HEAD_START, lt: HEAD_END })) heads.push(k);
      t.equal(heads.length, 3, 'one head per key per index');
      let iterators = 0;
      const iterator = db.iterator.bind(db);
      (db as { iterator: unknown }).iterator = (...a: Parameters<typeof iterator>) => {
        iterators++;
        return iterator(...a);
      };
      const got = await s.getMany([{ indexNo: 0, key: 'c1' }, { indexNo: 1, key: 'm1' }, { indexNo: 2, key: 'c1|m1' }, { indexNo: 0, key: 'nobody' }]);
      t.same(got.map((x) => x && 'ts' in x ? x.ts : x), [1030, 5, 1030, undefined]);
      t.equal(iterators, 0, 'answered from the heads');
      t.equal((await s.get(0, 'c1', 1025))?.ts, 1020, 'a time bound below the head: by seeking');
      t.equal(iterators, 1);
      t.equal((await s.get(0, 'c1', 0, Date.now(), 1))?.ts, 1010, 'the head written after the read point: by seeking');
      t.equal(iterators, 2);
    });

    t.test('heads do not outlive their rows: a follower delete and TTL GC remove them', async (t) => {
      const { leader, other: follower, heads } = await leaderAndReplica(t, backend, TTLS[1]!);
      await leader.put([
        { values: ['c1', 'm1', 1.5, 1000, 1], ts: 1000 }, { values: ['c2', 'm2', 1.5, 2000, 2], ts: 2000 }, { values: ['c10', 'm', 1.5, 1000, 3], ts: 1000 },
      ]);
      await leader.delete(0, 'c1');
      await follower.appendReplicated(await leader.readBinlog(1, 100, 1e9));
      t.equal(await heads(0), 9, 'the leader keeps the deleted key\'s heads (reads below the delete)');
      t.equal(await heads(1), 8, 'the follower removed the head of the key it deleted');
      t.equal(await follower.get(0, 'c1', 0, 1500), undefined);
      const now = 1000 + 10 * MIN + 500; // c10's row (ts 1000) expired, c2's (2000) not
      await leader.gc(now);
      await follower.gc(now);
      t.equal(await heads(0), 6, 'GC removed the heads of the expired row on the leader');
      t.equal(await heads(1), 5, 'and on the follower');
      t.equal((await follower.get(0, 'c2', 0, now))?.ts, 2000);
      t.equal(await follower.get(0, 'c10', 0, now), undefined);
      await follower.close();
      await leader.close();
    });

    t.test('a snapshot load keeps no heads: the loaded replica reads by seeking', async (t) => {
      const { leader, other: copy, heads } = await leaderAndReplica(t, backend, TTLS[0]!);
      await copy.put([{ values: ['c2', 'm2', 1.5, 5000, 0], ts: 5000 }]); // heads the load must clear
      await leader.put([1010, 1030, 1020].map((ts) => ({ values: ['c1', 'm1', 1.5, ts, ts], ts })));
      t.equal(await heads(1), 3);
      await copy.loadSnapshot(leader.snapshot());
      t.equal(await heads(1), 0, 'the load cleared them and wrote none');
      await copy.appendReplicated([{ offset: 4, term: 1, kind: 'put', ts: 1040, values: ['c1', 'm1', 1.5, 1040, 4] }]);
      t.equal(await heads(1), 0, 'and writes after it keep none');
      t.equal((await copy.get(0, 'c1'))?.ts, 1040);
      t.equal((await copy.get(0, 'c1', 1025))?.ts, 1020);
      t.equal(await copy.get(0, 'c2'), undefined);
      await copy.close();
      await leader.close();
    });

    t.test('a replica from before heads (no heads in its counters) reads by seeking, and keeps none', async (t) => {
      const tablet = await backend.make();
      t.teardown(() => tablet.close());
      const db = tablet.level(0);
      const s = await ReplicaStore.create(db, info(TTLS[0]!));
      await s.close();
      await db.open();
      await db.put(META_STATE, encode({ offset: 0, recordCnt: 0, memUsed: 0 }));
      const old = (await ReplicaStore.open(db))!;
      await old.setRole('leader', 1);
      await old.put([1010, 1030, 1020].map((ts) => ({ values: ['c1', 'm1', 1.5, ts, ts], ts: 5 })));
      let heads = 0;
      for await (const _ of db.keys({ gte: HEAD_START, lt: HEAD_END })) heads++;
      t.equal(heads, 0);
      t.equal((await old.get(0, 'c1'))?.ts, 1030);
      t.same((await old.getMany([{ indexNo: 0, key: 'c1', ts: 1025 }, { indexNo: 2, key: 'c1|m1' }])).map((x) => x && 'ts' in x ? x.ts : x), [1020, 1030]);
      await old.close();
    });
  });
}
