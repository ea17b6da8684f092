// The tablet's V8 settings (v8-settings.ts): an operator's own node options win, whatever form
// they take; V8 accepts every flag the tablet sets (a name it does not know would be ignored).
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { TABLET_V8_FLAGS, v8FlagsToApply } from '../src/v8-settings.js';

t.test('flags the node options already set are left to them', async (t) => {
  t.same(v8FlagsToApply(TABLET_V8_FLAGS, []), [...TABLET_V8_FLAGS], 'none set: all');
  t.same(v8FlagsToApply(TABLET_V8_FLAGS, ['--heap-growing-percent=50', '--cpu-prof']), TABLET_V8_FLAGS.slice(1), 'one set');
  t.same(v8FlagsToApply(TABLET_V8_FLAGS, ['--heap_growing_percent=50']), TABLET_V8_FLAGS.slice(1), 'with underscores');
  t.same(v8FlagsToApply(['--memory-reducer'], ['--no-memory-reducer']), [], 'negated');
  t.same(v8FlagsToApply(TABLET_V8_FLAGS, ['--incremental-marking-soft-trigger=0', '--incremental-marking-hard-trigger=0', '--heap-growing-percent=0']), [], 'all set');
});

t.test('every flag the tablet sets is one this node knows', async (t) => {
  const known = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8' });
  for (const f of TABLET_V8_FLAGS) {
    const name = f.replace(/^--/, '').split('=')[0]!;
    t.match(known, new RegExp(`^\\s+--${name} `, 'm'), `${name} is a V8 flag here`);
  }
});
