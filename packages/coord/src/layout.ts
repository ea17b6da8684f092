/**
 * The typed ZooKeeper layout of DESIGN.md §5 under `--zk_root_path`. This is the only place a
 * ZooKeeper path is built; everything else asks this object. Names that become one path segment
 * (endpoints, database names, op ids) are checked so that they can never add or escape a level.
 */
import { invalidArgument } from '@tessera/common';

export interface ZkLayout {
  /** `--zk_root_path`, normalised (leading `/`, no trailing `/`). */
  readonly root: string;
  /** Parent of the tablets' ephemeral registrations. */
  readonly nodes: string;
  node(endpoint: string): string;
  /** Parent of the nameserver election nodes. */
  readonly leaderDir: string;
  /** Prefix of the ephemeral sequential election nodes (`<root>/leader/lock_request`). */
  readonly leaderLockPrefix: string;
  /** Name of an election node without its sequence suffix (`lock_request`). */
  readonly leaderLockName: string;
  readonly nsEpoch: string;
  readonly dbDir: string;
  db(name: string): string;
  readonly tableDir: string;
  /** tid allocator (decimal counter). */
  readonly tableIndex: string;
  /** Partition term allocator (decimal counter). */
  readonly term: string;
  readonly tableDataDir: string;
  tableData(tid: number): string;
  /** Counter bumped on every metadata change; SDKs and tablets watch it. */
  readonly notify: string;
  readonly opDir: string;
  /** op id allocator (decimal counter). */
  readonly opIndex: string;
  readonly opDataDir: string;
  opData(id: number): string;
  readonly configDir: string;
  readonly autoFailover: string;
}

/** Builds the layout for one root path; throws INVALID_ARGUMENT for a malformed root. */
export function zkLayout(root: string): ZkLayout {
  const r = normaliseRoot(root);
  const at = (...segments: string[]): string => `${r}/${segments.join('/')}`;
  return Object.freeze({
    root: r,
    nodes: at('nodes'),
    node: (endpoint: string) => at('nodes', segment('endpoint', endpoint)),
    leaderDir: at('leader'),
    leaderLockPrefix: at('leader', 'lock_request'),
    leaderLockName: 'lock_request',
    nsEpoch: at('ns_epoch'),
    dbDir: at('db'),
    db: (name: string) => at('db', segment('database name', name)),
    tableDir: at('table'),
    tableIndex: at('table', 'table_index'),
    term: at('table', 'term'),
    tableDataDir: at('table', 'db_table_data'),
    tableData: (tid: number) => at('table', 'db_table_data', String(nonNegativeInteger('tid', tid))),
    notify: at('table', 'notify'),
    opDir: at('op'),
    opIndex: at('op', 'op_index'),
    opDataDir: at('op', 'op_data'),
    opData: (id: number) => at('op', 'op_data', String(nonNegativeInteger('op id', id))),
    configDir: at('config'),
    autoFailover: at('config', 'auto_failover'),
  });
}

/** Parent path of an absolute path (`/a/b` → `/a`, `/a` → `/`). */
export function parentPath(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

function normaliseRoot(root: string): string {
  if (!root.startsWith('/')) throw invalidArgument(`zk root path must start with '/': ${JSON.stringify(root)}`);
  const trimmed = root.replace(/\/+$/, '');
  if (trimmed === '') throw invalidArgument('zk root path must not be "/" itself');
  for (const part of trimmed.slice(1).split('/')) {
    if (part === '' || part === '.' || part === '..') {
      throw invalidArgument(`zk root path has an empty or relative segment: ${JSON.stringify(root)}`);
    }
  }
  return trimmed;
}

function segment(what: string, value: string): string {
  if (typeof value !== 'string' || value === '' || value === '.' || value === '..' || value.includes('/')) {
    throw invalidArgument(`${what} must be a non-empty string without '/': ${JSON.stringify(value)}`, { [what]: value });
  }
  return value;
}

function nonNegativeInteger(what: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw invalidArgument(`${what} must be a non-negative integer: ${String(value)}`, { [what]: value });
  }
  return value;
}
