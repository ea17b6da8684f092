/**
 * The row every write benchmark writes (`bench tablet`, `bench hops`, `bench cluster`): a string
 * key, a time, a 64-byte payload and a counter, indexed by key. One shape, so that their figures
 * are of the same bytes a row.
 */

export const BENCH_COLUMNS = [
  { name: 'key', type: 'string' }, { name: 'ts', type: 'timestamp' }, { name: 'payload', type: 'string' }, { name: 'n', type: 'int64' },
] as const;
export const BENCH_INDEXES = [{ name: 'key', keys: ['key'], ts: 'ts' }];
export const BENCH_PAYLOAD = 'x'.repeat(64);

/** The tablet schema of a replica created directly (`create_replica`), named `name`. */
export function benchSchema(name: string): { name: string; db: string; columns: typeof BENCH_COLUMNS; indexes: typeof BENCH_INDEXES } {
  return { name, db: 'bench_db', columns: BENCH_COLUMNS, indexes: BENCH_INDEXES };
}

/** Row `n` as the wire's values in column order, its key one of `keys`. */
export function benchRowValues(n: number, keys: number): [string, number, string, number] {
  return [`k${n % keys}`, 1_000_000 + n, BENCH_PAYLOAD, n];
}
