/**
 * setttl (OpenMLDB's `setttl table_name ttl_type ttl [index_name]`): the new TTL goes into the
 * table's schema in ZooKeeper (through the op engine, which owns table metadata), then to every
 * replica on a healthy tablet, which applies it to reads and GC at once and stores it. Without an
 * index name every index of the table gets it. A replica that could not be told (its tablet is
 * down) keeps the old TTL; the command then fails naming those replicas, and running it again
 * once they are back finishes the change (it is idempotent).
 */
import { invalidArgument, TesseraError, validateSchema, validateTtlRequired, type Logger, type TtlDef } from '@tessera/common';
import type { MetadataStore } from './metadata.js';
import type { OpShell } from './op-shell.js';
import type { TabletControl } from './tablet-client.js';
import type { TabletTracker } from './tablets.js';

export interface SetTtlDeps {
  meta: MetadataStore;
  ops: OpShell;
  control: TabletControl;
  tablets: TabletTracker;
  log: Logger;
}

function str(body: Record<string, unknown>, field: string): string {
  const v = body[field];
  if (typeof v !== 'string' || v.length === 0) throw invalidArgument(`${field} must be a non-empty string`, { field });
  return v;
}

export async function setTtl(body: Record<string, unknown>, d: SetTtlDeps): Promise<Record<string, never>> {
  const db = str(body, 'db');
  const name = str(body, 'name');
  const index = body.index === undefined || body.index === null ? undefined : str(body, 'index');
  // Checked on its own first: an absent ttl is a mistake here, not "never expires".
  const requested = validateTtlRequired(body.ttl, 'ttl');
  const stored = d.meta.requireTable(db, name);
  const table = d.ops.table(stored.tid) ?? stored;
  if (index !== undefined && !table.schema.indexes.some((x) => x.name === index)) {
    throw new TesseraError('INVALID_ARGUMENT', `index ${index} does not exist in table ${name}`, { index });
  }
  const names = index === undefined ? table.schema.indexes.map((x) => x.name) : [index];
  // validateSchema checks the TTL as create does (type, bounds).
  const schema = validateSchema({ ...table.schema, indexes: table.schema.indexes.map((x) => (names.includes(x.name) ? { ...x, ttl: requested } : x)) });
  const ttl: TtlDef = schema.indexes.find((x) => x.name === names[0])!.ttl;
  await d.ops.schemaChanged(table.tid, schema);
  const ttls = Object.fromEntries(names.map((n) => [n, ttl]));
  const missed: string[] = [];
  await Promise.all(
    table.partitions.flatMap((p) =>
      p.replicas.map(async (r) => {
        const where = `${table.tid}_${p.pid} on ${r.endpoint}`;
        if (!d.tablets.isHealthy(r.endpoint)) {
          missed.push(`${where} (tablet offline)`);
          return;
        }
        try {
          await d.control.command(r.endpoint, '/v1/control/set_ttl', { tid: table.tid, pid: p.pid, ttls });
        } catch (err) {
          missed.push(`${where} (${(err as Error).message})`);
        }
      }),
    ),
  );
  d.log.info(`setttl ${db}.${name} ${names.join(',')}: ${JSON.stringify(ttl)}${missed.length ? `; not applied on ${missed.join(', ')}` : ''}`);
  if (missed.length > 0) {
    throw new TesseraError('UNAVAILABLE', `ttl changed in metadata, but not on ${missed.sort().join(', ')}; run setttl again once they are back`);
  }
  return {};
}
