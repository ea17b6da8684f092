/**
 * What scripts/test.sh asks of tap: with TAP_TS_LOADER=off (its default) a test process does not
 * load ts-node (patches/@tapjs__typescript@3.5.12.patch; the test files are compiled JavaScript).
 * Run under tap without that setting, the check is skipped, not passed.
 */
import { createRequire } from 'node:module';
import t from 'tap';

const require = createRequire(import.meta.url);

const skip = process.env.TAP_TS_LOADER === 'off' ? false : 'TAP_TS_LOADER is not off (scripts/test.sh sets it)';

t.test('ts-node is not loaded into a test process when TAP_TS_LOADER=off', { skip }, async (t) => {
  const loaded = Object.keys(require.cache);
  t.same(loaded.filter((p) => /ts-node/.test(p)), [], 'no ts-node module in the CommonJS cache');
  t.notOk(loaded.some((p) => /node_modules\/typescript\//.test(p)), 'nor the TypeScript compiler');
});
