// The table the storage tests use: a card/mcc flow with three indexes (two with a ts column,
// one ordered by write time), all with the same TTL.
import { validateSchema, type TableSchema } from '@tessera/common';

export function schemaOf(ttl: TableSchema['indexes'][number]['ttl'] = { type: 'absolute', absMinutes: 0, latest: 0 }): TableSchema {
  return validateSchema({
    name: 'flow', db: 'demo_db',
    columns: [
      { name: 'card', type: 'string' }, { name: 'mcc', type: 'string' }, { name: 'amt', type: 'double' },
      { name: 'ts', type: 'timestamp' }, { name: 'n', type: 'int64' },
    ],
    indexes: [
      { name: 'card', keys: ['card'], ts: 'ts', ttl },
      { name: 'mcc', keys: ['mcc'], ttl },
      { name: 'card_mcc', keys: ['card', 'mcc'], ts: 'ts', ttl },
    ],
  });
}
