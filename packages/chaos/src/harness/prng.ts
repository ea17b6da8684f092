/**
 * A small seeded PRNG (mulberry32) for the fault schedule and the workload. One seed gives the
 * same sequence on every machine, so `--seed S` reproduces the schedule (not the interleaving:
 * real processes are not deterministic). `fork(label)` derives an independent stream, so adding a
 * draw in one place (e.g. the workload) does not shift another (e.g. the schedule).
 */

/** 32-bit FNV-1a of a string, to mix labels into seeds. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = (seed >>> 0) ^ 0x9e3779b9;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [lo, hi] (both included). */
  int(lo: number, hi: number): number {
    if (hi < lo) throw new Error(`Prng.int: empty range [${lo}, ${hi}]`);
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Prng.pick: no items');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** A stream independent of this one's future draws, named by `label`. */
  fork(label: string): Prng {
    return new Prng((this.state ^ fnv1a(label)) >>> 0);
  }
}

/** A seed from a text (`--seed 42` or `--seed abc`): numbers are taken as they are. */
export function parseSeed(text: string): number {
  return /^\d+$/.test(text) ? Number(text) >>> 0 : fnv1a(text);
}
