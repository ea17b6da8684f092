// The hops benchmark's split of a CPU cost a row into a row's own part and a request's fixed part
// (src/hops-bench.ts splitCost): recovered exactly from figures made on its model, in either order.
import t from 'tap';
import { splitCost } from '../src/hops-bench.js';

const onModel = (perRowUs: number, perRequestUs: number, rowsPerRequest: number) => ({ rowsPerRequest, usPerRow: perRowUs + perRequestUs / rowsPerRequest });

t.test('a row and a request recovered from two request sizes', async (t) => {
  const got = splitCost(onModel(15, 170, 16), onModel(15, 170, 160))!;
  t.ok(Math.abs(got.perRowUs - 15) < 1e-9, `a row: ${got.perRowUs}`);
  t.ok(Math.abs(got.perRequestUs - 170) < 1e-9, `a request: ${got.perRequestUs}`);
  const swapped = splitCost(onModel(40, 1600, 160), onModel(40, 1600, 16))!;
  t.ok(Math.abs(swapped.perRowUs - 40) < 1e-9 && Math.abs(swapped.perRequestUs - 1600) < 1e-9, 'the order of the runs does not matter');
});

t.test('no fixed part: a row costs the same at any size', async (t) => {
  const got = splitCost({ rowsPerRequest: 16, usPerRow: 20 }, { rowsPerRequest: 160, usPerRow: 20 })!;
  t.equal(got.perRequestUs, 0);
  t.equal(got.perRowUs, 20);
});

t.test('equal sizes cannot be split', async (t) => {
  t.equal(splitCost({ rowsPerRequest: 16, usPerRow: 20 }, { rowsPerRequest: 16, usPerRow: 30 }), undefined);
});
