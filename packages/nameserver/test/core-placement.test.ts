import t from 'tap';
import type { PartitionMeta } from '@tessera/common';
import { placePartitions, placementFromExplicit, seededRandom, tabletLoadOf, type TabletLoad } from '../src/core/index.js';

function counts(parts: PartitionMeta[]): { replicas: Record<string, number>; leaders: Record<string, number> } {
  const replicas: Record<string, number> = {};
  const leaders: Record<string, number> = {};
  for (const p of parts) {
    for (const r of p.replicas) {
      replicas[r.endpoint] = (replicas[r.endpoint] ?? 0) + 1;
      if (r.isLeader) leaders[r.endpoint] = (leaders[r.endpoint] ?? 0) + 1;
    }
  }
  return { replicas, leaders };
}

/** Problems with the shape of a placement: one line each (empty when fine). */
function shapeProblems(parts: PartitionMeta[], partitionNum: number, replicaNum: number, term: number): string[] {
  const out: string[] = [];
  if (parts.length !== partitionNum) out.push(`${parts.length} partitions`);
  parts.forEach((p, i) => {
    if (p.pid !== i) out.push(`pid ${p.pid} at ${i}`);
    if (p.replicas.length !== replicaNum) out.push(`pid ${i}: ${p.replicas.length} replicas`);
    if (new Set(p.replicas.map((r) => r.endpoint)).size !== p.replicas.length) out.push(`pid ${i}: two replicas on one tablet`);
    if (p.replicas.filter((r) => r.isLeader).length !== 1) out.push(`pid ${i}: not one leader`);
    if (!p.replicas.every((r) => r.isAlive)) out.push(`pid ${i}: a replica not alive`);
    if (JSON.stringify(p.termOffsets) !== JSON.stringify([{ term, offset: 0 }])) out.push(`pid ${i}: term history ${JSON.stringify(p.termOffsets)}`);
    const followers = p.replicas.filter((r) => !r.isLeader).map((r) => r.endpoint).sort();
    if (JSON.stringify([...p.inSync].sort()) !== JSON.stringify(followers)) out.push(`pid ${i}: in-sync set is not all followers`);
  });
  return out;
}

const ep = (n: number): string[] => Array.from({ length: n }, (_, i) => `10.0.0.${i + 1}:9527`);

t.test('3 tablets, 8 partitions x 3 replicas: 8 replicas each, 2 or 3 leaders each', async (t) => {
  for (let seed = 1; seed <= 50; seed++) {
    const parts = placePartitions({ partitionNum: 8, replicaNum: 3, healthyEndpoints: ep(3), term: 5, random: seededRandom(seed) });
    t.same(shapeProblems(parts, 8, 3, 5), [], `seed ${seed} shape`);
    const c = counts(parts);
    t.same(Object.values(c.replicas).sort(), [8, 8, 8], `seed ${seed}`);
    t.same(Object.values(c.leaders).sort(), [2, 3, 3], `seed ${seed}`);
  }
});

t.test('4 tablets, 8 partitions x 3 replicas: 6 replicas and 2 leaders each', async (t) => {
  for (let seed = 1; seed <= 50; seed++) {
    const parts = placePartitions({ partitionNum: 8, replicaNum: 3, healthyEndpoints: ep(4), term: 1, random: seededRandom(seed) });
    t.same(shapeProblems(parts, 8, 3, 1), [], `seed ${seed} shape`);
    const c = counts(parts);
    t.same(Object.values(c.replicas), [6, 6, 6, 6], `seed ${seed}`);
    t.same(Object.values(c.leaders), [2, 2, 2, 2], `seed ${seed}`);
  }
});

t.test('spread stays within one for many shapes', async (t) => {
  const problems: string[] = [];
  for (let seed = 1; seed <= 20; seed++) {
    for (const [tablets, partitionNum, replicaNum] of [[5, 8, 3], [5, 7, 2], [6, 16, 3], [2, 9, 1], [7, 3, 3], [9, 32, 3]] as const) {
      const parts = placePartitions({ partitionNum, replicaNum, healthyEndpoints: ep(tablets), term: 1, random: seededRandom(seed) });
      const where = `${tablets}t ${partitionNum}x${replicaNum} seed ${seed}`;
      problems.push(...shapeProblems(parts, partitionNum, replicaNum, 1).map((p) => `${where}: ${p}`));
      const c = counts(parts);
      const reps = ep(tablets).map((e) => c.replicas[e] ?? 0);
      const leads = ep(tablets).map((e) => c.leaders[e] ?? 0);
      if (Math.max(...reps) - Math.min(...reps) > 1) problems.push(`${where}: replicas ${reps}`);
      if (Math.max(...leads) - Math.min(...leads) > 1) problems.push(`${where}: leaders ${leads}`);
    }
  }
  t.same(problems, []);
});

t.test('deterministic for a seed, and pid 0 does not always land on the same tablet', async (t) => {
  const a = placePartitions({ partitionNum: 8, replicaNum: 3, healthyEndpoints: ep(4), term: 1, random: seededRandom(42) });
  const b = placePartitions({ partitionNum: 8, replicaNum: 3, healthyEndpoints: [...ep(4)].reverse(), term: 1, random: seededRandom(42) });
  t.same(a, b, 'same seed, same layout, whatever the input order');
  const firstLeaders = new Set<string>();
  for (let seed = 1; seed <= 40; seed++) {
    const parts = placePartitions({ partitionNum: 8, replicaNum: 3, healthyEndpoints: ep(4), term: 1, random: seededRandom(seed) });
    firstLeaders.add(parts[0]!.replicas.find((r) => r.isLeader)!.endpoint);
  }
  t.equal(firstLeaders.size, 4, 'every tablet leads pid 0 for some seed');
});

t.test('existing load is counted: a new tablet takes the new replicas and leaders first', async (t) => {
  const existing = placePartitions({ partitionNum: 8, replicaNum: 3, healthyEndpoints: ep(3), term: 1, random: seededRandom(3) });
  const load = tabletLoadOf([
    { tid: 1, schema: { name: 'a', db: 'd', columns: [], indexes: [] }, partitionNum: 8, replicaNum: 3, compressType: 'kNoCompress', replicaAck: 'leader', partitions: existing, createdMs: 0 },
  ]);
  t.same([...load.values()].map((l) => l.replicas), [8, 8, 8]);
  const parts = placePartitions({ partitionNum: 4, replicaNum: 1, healthyEndpoints: ep(4), load, term: 1, random: seededRandom(9) });
  t.same(parts.map((p) => p.replicas[0]!.endpoint), ['10.0.0.4:9527', '10.0.0.4:9527', '10.0.0.4:9527', '10.0.0.4:9527']);
  const leaderLoad = new Map<string, TabletLoad>([
    ['10.0.0.1:9527', { replicas: 4, leaders: 4 }],
    ['10.0.0.2:9527', { replicas: 4, leaders: 0 }],
    ['10.0.0.3:9527', { replicas: 4, leaders: 0 }],
  ]);
  const more = placePartitions({ partitionNum: 3, replicaNum: 3, healthyEndpoints: ep(3), load: leaderLoad, term: 1, random: seededRandom(1) });
  t.notOk(more.some((p) => p.replicas.find((r) => r.isLeader)!.endpoint === '10.0.0.1:9527'), 'the tablet that already leads 4 gets no new leader');
});

t.test('refusals with OpenMLDB texts', async (t) => {
  const base = { healthyEndpoints: ep(2), term: 1, random: seededRandom(1) };
  t.throws(() => placePartitions({ ...base, partitionNum: 8, replicaNum: 3 }), { code: 'PRECONDITION_FAILED', message: 'healthy endpoint num is less than replica num' });
  t.throws(() => placePartitions({ ...base, partitionNum: 8, replicaNum: 0 }), { code: 'INVALID_ARGUMENT', message: 'replica_num cannot be less than 1' });
  t.throws(() => placePartitions({ ...base, partitionNum: 0, replicaNum: 1 }), { code: 'INVALID_ARGUMENT', message: 'partition_num should be large than zero' });
  t.throws(() => placePartitions({ ...base, partitionNum: -3, replicaNum: 1 }), { code: 'INVALID_ARGUMENT' });
  t.throws(() => placePartitions({ ...base, partitionNum: 1.5, replicaNum: 1 }), { code: 'INVALID_ARGUMENT' });
  t.throws(() => placePartitions({ ...base, partitionNum: 100_000, replicaNum: 1 }), { code: 'LIMIT_EXCEEDED' });
  t.throws(() => placePartitions({ ...base, healthyEndpoints: ['a', 'a'], partitionNum: 1, replicaNum: 2 }), { message: 'healthy endpoint num is less than replica num' }, 'duplicates count once');
});

t.test('explicit placement: accepted as given, refused when inconsistent', async (t) => {
  const healthy = ep(3);
  const [a, b, c] = healthy as [string, string, string];
  const parts = placementFromExplicit({
    partitionNum: 2,
    partitions: [
      { pid: 1, leader: b, followers: [c, a] },
      { pid: 0, leader: a, followers: [b, c] },
    ],
    healthyEndpoints: healthy,
    term: 7,
  });
  t.same(parts[0], {
    pid: 0,
    replicas: [
      { endpoint: a, isLeader: true, isAlive: true },
      { endpoint: b, isLeader: false, isAlive: true },
      { endpoint: c, isLeader: false, isAlive: true },
    ],
    termOffsets: [{ term: 7, offset: 0 }],
    inSync: [b, c],
  });
  t.equal(parts[1]!.replicas[0]!.endpoint, b);

  const base = { partitionNum: 2, healthyEndpoints: healthy, term: 1 };
  t.throws(() => placementFromExplicit({ ...base, partitions: [{ pid: 0, leader: a, followers: [] }] }), { code: 'INVALID_ARGUMENT' }, 'a pid missing');
  t.throws(
    () => placementFromExplicit({ ...base, partitions: [{ pid: 0, leader: a, followers: [] }, { pid: 0, leader: b, followers: [] }] }),
    { message: 'pid 0 is duplicated in the placement' },
  );
  t.throws(
    () => placementFromExplicit({ ...base, partitions: [{ pid: 0, leader: a, followers: [a] }, { pid: 1, leader: b, followers: [c] }] }),
    { message: 'partition 0 names an endpoint twice' },
  );
  t.throws(
    () => placementFromExplicit({ ...base, partitions: [{ pid: 0, leader: a, followers: [b] }, { pid: 1, leader: b, followers: [] }] }),
    { message: 'partition 1 has 1 replicas, replica_num is 2' },
  );
  t.throws(
    () => placementFromExplicit({ ...base, replicaNum: 3, partitions: [{ pid: 0, leader: a, followers: [b] }, { pid: 1, leader: b, followers: [c] }] }),
    { code: 'INVALID_ARGUMENT' },
    'replicaNum given and not matched',
  );
  t.throws(
    () => placementFromExplicit({ ...base, partitions: [{ pid: 0, leader: 'x:1', followers: [] }, { pid: 1, leader: b, followers: [] }] }),
    { code: 'TABLET_NOT_HEALTHY' },
  );
  t.throws(
    () => placementFromExplicit({ ...base, partitions: [{ pid: 0, leader: '', followers: [] }, { pid: 1, leader: b, followers: [] }] }),
    { message: 'partition 0 has no leader' },
  );
  t.throws(
    () => placementFromExplicit({ ...base, partitions: [{ pid: 0, leader: a, followers: [] }, { pid: 2, leader: b, followers: [] }] }),
    { message: 'pid 2 is out of range' },
  );
});
