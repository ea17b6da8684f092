/**
 * Injected randomness for the nameserver core. The core never calls Math.random(): placement ties
 * and leader-selection ties draw from a `Random` handed in by the caller, so one seed reproduces
 * one run. `seededRandom` is a small, fast, well-mixed generator (splitmix32) for tests, the
 * simulator and the server (seeded from the clock there).
 */

/** A source of uniformly distributed integers. */
export interface Random {
  /** An integer in [0, 2^32). */
  nextUint32(): number;
}

/** A deterministic generator: the same seed gives the same sequence on every platform. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return {
    nextUint32(): number {
      state = (state + 0x9e3779b9) >>> 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    },
  };
}

/** An integer in [0, bound); bound must be a positive safe integer below 2^32. */
export function randomInt(random: Random, bound: number): number {
  if (!Number.isInteger(bound) || bound <= 0 || bound > 0x1_0000_0000) throw new RangeError(`randomInt bound ${bound} out of range`);
  // Rejection sampling keeps the distribution uniform for bounds that do not divide 2^32.
  const limit = 0x1_0000_0000 - (0x1_0000_0000 % bound);
  for (;;) {
    const x = random.nextUint32();
    if (x < limit) return x % bound;
  }
}

/** A new array with the items in a random order (Fisher-Yates). */
export function shuffled<T>(random: Random, items: readonly T[]): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(random, i + 1);
    const tmp = out[i]!;
    out[i] = out[j]!;
    out[j] = tmp;
  }
  return out;
}

/** One item chosen uniformly; the array must not be empty. */
export function pick<T>(random: Random, items: readonly T[]): T {
  if (items.length === 0) throw new RangeError('pick from an empty array');
  return items[randomInt(random, items.length)]!;
}
