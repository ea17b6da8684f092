// The bad-input suite against a real cluster (ZooKeeper, a nameserver, 2 tablets, one table with
// rows): every case must get a 4xx with an expected code (ns_client: a failure line, never a
// stack trace), every process must stay up, and no refused request may change anything.
// Each case that does not hold is one failed assertion here, with what came back and why.
// Runs in CI (scripts/test.sh); by hand: `pnpm chaos badinput [--only=REGEX]`.
import t from 'tap';
import { badInputCases, formatReport, runBadInput } from '../src/index.js';

/** The whole run: about 2–2.5 min on a busy 2-core machine (cluster start-up included). */
const SUITE_TIMEOUT_MS = 10 * 60_000;

t.test('the catalogue covers every kind of bad input', async (t) => {
  const cases = badInputCases();
  const ids = cases.map((c) => c.id);
  t.equal(new Set(ids).size, ids.length, 'case ids are unique');
  t.ok(cases.length >= 500, `${cases.length} cases`);
  for (const needle of ['truncated msgpack', 'length bomb', 'over the route limit', 'content type', 'empty body', 'non-map body', '__proto__', 'constructor', 'prototype',
    '2^53+1', '2^64-1', 'NaN', 'Infinity', 'unknown tid', 'no such partition', '1024', '"../x"', '"a/b"', '"a\\0b"', '129 chars', 'unknown route', 'method GET',
    'ns_client: unknown command', 'pid group 1-', 'pid group 3-1', 'pid group a', 'ttl', 'with no arguments', '--cmd= (empty command)', 'quote left open',
    '0xc1', 'invalid UTF-8', 'updatetablealive', 'timestamp nil', 'gettablepartition', 'settablepartition']) {
    t.ok(ids.some((id) => id.includes(needle)), `a case for ${needle}`);
  }
});

t.test('every bad input is refused cleanly and changes nothing', async (t) => {
  t.setTimeout(SUITE_TIMEOUT_MS);
  const lines: string[] = [];
  const report = await runBadInput({ log: (line) => lines.push(line) });
  t.comment(formatReport(report).split('\n').slice(0, 8).join('\n'));
  t.ok(report.tried > 0, `${report.tried} cases tried, ${report.held} held`);
  t.equal(report.notRun, 0, 'every case ran (no process died)');
  for (const f of report.failures) t.fail(f.id, { why: f.why, got: f.got });
  t.equal(report.failures.length, 0, `${report.failures.length} case(s) or check(s) did not hold`);
});
