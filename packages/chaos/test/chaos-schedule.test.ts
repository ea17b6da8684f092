// The fault schedule is a pure function of (seed, scenario, duration): the same seed gives the
// same steps, another seed other steps; a scenario draws only its kinds and allowed variants;
// steps are ordered, within the duration and bounded; the PRNG's streams are reproducible.
import t from 'tap';
import { BASE_FAULT_KINDS, LINK_VARIANTS, makeSchedule, NETNS_FAULT_KINDS, PROXY_FAULT_KINDS, SCENARIOS } from '../src/harness/schedule.js';
import { parseSeed, Prng } from '../src/harness/prng.js';

const settings = { zkSessionTimeoutMs: 3000, available: [...BASE_FAULT_KINDS, ...PROXY_FAULT_KINDS] };

t.test('same seed, same schedule; another seed, another', async (t) => {
  const a = makeSchedule(7, 'random', 120_000, settings);
  t.same(makeSchedule(7, 'random', 120_000, settings), a);
  t.notSame(makeSchedule(8, 'random', 120_000, settings).steps, a.steps);
  t.ok(a.steps.length > 5);
  for (let i = 1; i < a.steps.length; i++) t.ok(a.steps[i]!.atMs > a.steps[i - 1]!.atMs + a.steps[i - 1]!.durationMs, `step ${i} starts after the previous one ends`);
  t.ok(a.steps.every((s) => s.atMs < 120_000 && a.kinds.includes(s.kind)));
});

t.test('scenarios draw only their kinds and allowed variants', async (t) => {
  const sc = SCENARIOS['no-tablet-failover']!;
  let steps = 0;
  for (let seed = 0; seed < 200; seed++) {
    for (const s of makeSchedule(seed, 'no-tablet-failover', 60_000, settings).steps) {
      steps++;
      if (!sc.kinds.includes(s.kind)) t.fail(`seed ${seed}: kind ${s.kind}`);
      const allowed = sc.variants?.[s.kind];
      if (allowed && !allowed.some((p) => p.split(':').every((x, i) => x === '*' || x === s.variant.split(':')[i]))) t.fail(`seed ${seed}: ${s.kind} ${s.variant}`);
      if (s.kind === 'pause-short' && s.durationMs >= settings.zkSessionTimeoutMs) t.fail('a short pause is shorter than the session');
    }
  }
  t.ok(steps > 1000, `${steps} steps drawn`);
  t.throws(() => makeSchedule(1, 'no-such-scenario', 60_000, settings));
  t.throws(() => makeSchedule(1, 'partition', 60_000, { ...settings, available: BASE_FAULT_KINDS }), 'a scenario needing the proxy where there is none');
});

t.test('link faults: only with namespaces; every variant drawn; the proxy-mode seeds keep their schedules', async (t) => {
  t.throws(() => makeSchedule(1, 'link', 60_000, settings), 'link needs network namespaces');
  const withNetns = { ...settings, available: [...settings.available, ...NETNS_FAULT_KINDS] };
  const seen = new Set<string>();
  for (let seed = 0; seed < 50; seed++) for (const s of makeSchedule(seed, 'link', 60_000, withNetns).steps) seen.add(s.variant);
  t.same([...seen].sort(), [...LINK_VARIANTS].sort(), 'every link variant is drawn');
  // A named scenario without link draws the same steps whether or not namespaces are there.
  for (const seed of [101, 103, 210, 678]) {
    for (const sc of ['processes', 'no-tablet-failover']) t.same(makeSchedule(seed, sc, 60_000, withNetns), makeSchedule(seed, sc, 60_000, settings), `seed ${seed} ${sc}`);
  }
});

t.test('prng', async (t) => {
  const a = new Prng(42);
  const b = new Prng(42);
  const xs = Array.from({ length: 100 }, () => a.next());
  t.same(Array.from({ length: 100 }, () => b.next()), xs);
  t.ok(xs.every((x) => x >= 0 && x < 1));
  t.not(new Prng(42).fork('x').next(), new Prng(42).fork('y').next());
  t.equal(parseSeed('123'), 123);
  t.equal(parseSeed('abc'), parseSeed('abc'));
  for (let i = 0; i < 1000; i++) {
    const v = a.int(3, 5);
    if (v < 3 || v > 5) t.fail(`int out of range: ${v}`);
  }
});
