// When a tablet's status report is still read, and when a poll is too old (src/core/report-age.ts):
// pure functions of the times the shell keeps and the now it passes.
import t from 'tap';
import { pollIsOlderThan, reportIsFresh, STALE_AFTER_INTERVALS } from '../src/core/report-age.js';

t.test('a report is read for STALE_AFTER_INTERVALS poll intervals, not after', async (t) => {
  const intervalMs = 200;
  const limit = intervalMs * STALE_AFTER_INTERVALS;
  t.ok(reportIsFresh(10_000, 10_000, intervalMs), 'just taken');
  t.ok(reportIsFresh(10_000, 10_000 + limit, intervalMs), 'at the limit');
  t.notOk(reportIsFresh(10_000, 10_000 + limit + 1, intervalMs), 'one ms past it');
  t.ok(reportIsFresh(10_000, 10_000 + limit + 1, intervalMs * 2), 'a slower poll keeps reports longer');
  t.ok(reportIsFresh(10_000, 9_000, intervalMs), 'a clock that stepped back reads the report as fresh');
});

t.test('a poll older than the age asked for is redone', async (t) => {
  t.notOk(pollIsOlderThan(5_000, 5_500, 1_000), '500 ms old, 1 s allowed');
  t.notOk(pollIsOlderThan(5_000, 6_000, 1_000), 'exactly 1 s old');
  t.ok(pollIsOlderThan(5_000, 6_001, 1_000), 'older');
  t.ok(pollIsOlderThan(0, 5_000, 1_000), 'never polled');
});
