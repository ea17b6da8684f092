import t from 'tap';
import { parentPath, zkLayout } from '../src/index.js';

t.test('paths of DESIGN.md §5 under the root', async (t) => {
  const l = zkLayout('/openmldb');
  t.equal(l.root, '/openmldb');
  t.equal(l.nodes, '/openmldb/nodes');
  t.equal(l.node('127.0.0.1:9527'), '/openmldb/nodes/127.0.0.1:9527');
  t.equal(l.leaderDir, '/openmldb/leader');
  t.equal(l.leaderLockPrefix, '/openmldb/leader/lock_request');
  t.equal(l.leaderLockName, 'lock_request');
  t.equal(l.nsEpoch, '/openmldb/ns_epoch');
  t.equal(l.dbDir, '/openmldb/db');
  t.equal(l.db('demo_db'), '/openmldb/db/demo_db');
  t.equal(l.tableDir, '/openmldb/table');
  t.equal(l.tableIndex, '/openmldb/table/table_index');
  t.equal(l.term, '/openmldb/table/term');
  t.equal(l.tableDataDir, '/openmldb/table/db_table_data');
  t.equal(l.tableData(7), '/openmldb/table/db_table_data/7');
  t.equal(l.notify, '/openmldb/table/notify');
  t.equal(l.opDir, '/openmldb/op');
  t.equal(l.opIndex, '/openmldb/op/op_index');
  t.equal(l.opDataDir, '/openmldb/op/op_data');
  t.equal(l.opData(12), '/openmldb/op/op_data/12');
  t.equal(l.configDir, '/openmldb/config');
  t.equal(l.autoFailover, '/openmldb/config/auto_failover');
  t.ok(Object.isFrozen(l));
});

t.test('roots are normalised; bad roots and names are refused', async (t) => {
  t.equal(zkLayout('/a/b/').root, '/a/b');
  t.equal(zkLayout('/a/b').tableDir, '/a/b/table');
  for (const bad of ['', '/', 'a', '/a//b', '/a/../b', '/./a']) {
    t.throws(() => zkLayout(bad), { code: 'INVALID_ARGUMENT' }, `root ${JSON.stringify(bad)}`);
  }
  const l = zkLayout('/r');
  for (const bad of ['', 'a/b', '/x', '..', '.']) {
    t.throws(() => l.node(bad), { code: 'INVALID_ARGUMENT' }, `endpoint ${JSON.stringify(bad)}`);
    t.throws(() => l.db(bad), { code: 'INVALID_ARGUMENT' }, `db ${JSON.stringify(bad)}`);
  }
  for (const bad of [-1, 1.5, Number.NaN, 2 ** 60]) {
    t.throws(() => l.tableData(bad), { code: 'INVALID_ARGUMENT' });
    t.throws(() => l.opData(bad), { code: 'INVALID_ARGUMENT' });
  }
});

t.test('parentPath', async (t) => {
  t.equal(parentPath('/a/b/c'), '/a/b');
  t.equal(parentPath('/a'), '/');
  t.equal(parentPath('/'), '/');
});
