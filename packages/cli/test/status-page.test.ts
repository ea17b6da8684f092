/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The status page end to end: Debian's chromium (headless, driven by puppeteer-core) opens a
// standby nameserver's `/`, is redirected to the leader's page, which shows the tablets, the
// partition × tablet map and ops; then a tablet is stopped and the page, polling by itself,
// shows that tablet not healthy and its replicas not alive, then failover's ops, then the
// partitions healthy again once the tablet is restarted. Screenshots of the three states are
// written and their paths printed. Skipped (with the reason) where chromium cannot be had.
import t from 'tap';
import os from 'node:os';
import path from 'node:path';
import { ensureChromium, startTestCluster } from '@tessera/testkit';
import puppeteer from 'puppeteer-core';
import { Client } from '@tessera/client';

const HEARTBEAT_TIMEOUT_MS = 1000;
const TABLE_STATUS_INTERVAL_MS = 500;
/** Bound on the page showing a change (it polls every second; failover marks replicas after the heartbeat timeout). */
const PAGE_CHANGE_TIMEOUT_MS = 30_000;
/** Bound on a restarted tablet's replicas being recovered (recovery ops) and shown healthy. */
const PAGE_RECOVERY_TIMEOUT_MS = 90_000;

const browser = await ensureChromium();

t.test('status page: redirect to the leader, tablets, partition map, ops, and a stopped tablet', { skip: 'skip' in browser ? browser.skip : false }, async (t) => {
  if ('skip' in browser) return;
  const c = await startTestCluster(t, {
    name: 'status-page', zkRootPath: '/status', zkSessionTimeoutMs: 3000, nameservers: 2, tablets: 3,
    nsFlags: { auto_failover: true, tablet_heartbeat_timeout: HEARTBEAT_TIMEOUT_MS, get_table_status_interval: TABLE_STATUS_INTERVAL_MS },
    connect: (zkCluster, zkRootPath) => Client.connect({ zkCluster, zkRootPath }),
    httpTimeoutMs: 10_000, tabletsHealthyTimeoutMs: 30_000, database: 'demo',
  });
  await c.client.createTable('demo', {
    name: 'flow', partitionNum: 4, replicaNum: 3,
    columns: [{ name: 'card', type: 'string' }, { name: 'amt', type: 'double' }],
    indexes: [{ name: 'card', keys: ['card'] }],
  });
  for (let i = 0; i < 40; i++) await c.client.put('demo', 'flow', { card: `c${i}`, amt: i });
  const snap = await c.cli('makesnapshot flow 0');
  t.equal(snap.code, 0, `makesnapshot: an op to show\n${snap.stdout}${snap.stderr}`);
  const { nameservers } = await c.client.admin.showns({});
  const leader = nameservers.find((n) => n.role === 'leader')!.endpoint;
  const standby = nameservers.find((n) => n.role === 'standby')!.endpoint;

  const b = await puppeteer.launch({ executablePath: browser.path, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  t.teardown(() => b.close());
  const page = await b.newPage();
  await page.setViewport({ width: 1100, height: 900 });
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  await page.goto(`http://${standby}/`, { waitUntil: 'load' });
  t.equal(page.url(), `http://${leader}/`, 'the standby redirects to the leader');

  const shot = path.join(os.tmpdir(), `tessera-status-page-${process.pid}`);
  const tablets = c.tablets.map((p) => p.endpoint);
  await page.waitForFunction((n: number) => [...document.querySelectorAll('#tablets tbody tr')].filter((r) => r.textContent!.includes('kTabletHealthy')).length === n, { timeout: PAGE_CHANGE_TIMEOUT_MS }, tablets.length);
  await page.waitForFunction(() => document.querySelectorAll('[data-table="demo.flow"] td.leader').length === 4 && document.querySelectorAll('[data-op]').length > 0, { timeout: PAGE_CHANGE_TIMEOUT_MS });
  const healthy = await page.evaluate(() => ({
    meta: document.getElementById('meta')!.textContent,
    rows: [...document.querySelectorAll('#tablets tbody tr')].map((r) => [...r.querySelectorAll('td')].map((d) => d.textContent)),
    map: [...document.querySelectorAll('[data-table="demo.flow"] tbody tr')].map((r) => [...r.querySelectorAll('td')].map((d) => d.textContent)),
    heads: [...document.querySelectorAll('[data-table="demo.flow"] thead th')].map((h) => h.textContent),
    ops: [...document.querySelectorAll('#ops tbody tr')].map((r) => r.textContent),
    summary: document.getElementById('table-summary')!.textContent,
  }));
  t.match(healthy.meta, `leader ${leader}`, 'the page names the leader');
  t.same(healthy.rows.map((r) => r[0]).sort(), [...tablets].sort(), 'one row per tablet');
  t.equal(healthy.rows.reduce((n, r) => n + Number(r[3]), 0), 12, 'replicas column: 4 partitions × 3 replicas');
  t.equal(healthy.rows.reduce((n, r) => n + Number(r[4]), 0), 4, 'leaders column: one per partition');
  t.ok(healthy.rows.every((r) => /\d/.test(r[5] ?? '')), 'disk column filled from the tablets\' reports');
  t.same(healthy.heads.slice(1).sort(), [...tablets].sort(), 'the map has a column per tablet');
  t.equal(healthy.map.length, 4, 'and a row per partition');
  t.ok(healthy.map.every((r) => r.filter((x) => x === 'L').length === 1 && r.filter((x) => x?.startsWith('F')).length === 2), 'each partition: one leader, two followers');
  t.match(healthy.summary, 'all partitions healthy');
  t.match(healthy.ops.join('\n'), /kMakeSnapshotOP\s*demo\.flow/, 'the makesnapshot op is listed');
  await page.screenshot({ path: `${shot}-healthy.png`, fullPage: true });
  t.comment(`screenshot (healthy): ${shot}-healthy.png`);

  // The tablet leading the most partitions, so that failover has leaders to move.
  const victimEp = healthy.rows.reduce((best, r) => (Number(r[4]) > Number(best[4]) ? r : best))[0]!;
  const victimIndex = c.tablets.findIndex((p) => p.endpoint === victimEp);
  const victim = c.tablets[victimIndex]!;
  await victim.stop();
  await page.waitForFunction((ep: string) => {
    const row = document.querySelector(`#tablets tr[data-endpoint="${ep}"]`);
    const table = document.querySelector('[data-table="demo.flow"]');
    if (!row || !table) return false;
    const col = [...table.querySelectorAll('thead th')].findIndex((h) => h.textContent === ep);
    const cells = [...table.querySelectorAll('tbody tr')].map((r) => r.children[col]);
    return !row.textContent!.includes('kTabletHealthy') && cells.every((x) => x?.classList.contains('dead'));
  }, { timeout: PAGE_CHANGE_TIMEOUT_MS }, victim.endpoint);
  const after = await page.evaluate((ep: string) => ({
    state: document.querySelector(`#tablets tr[data-endpoint="${ep}"] td:nth-child(2)`)!.textContent,
    tabletSummary: document.getElementById('tablet-summary')!.textContent,
    summary: document.getElementById('table-summary')!.textContent,
  }), victim.endpoint);
  t.not(after.state, 'kTabletHealthy', `the stopped tablet shows ${after.state}`);
  t.equal(after.tabletSummary, '2/3 healthy');
  t.match(after.summary, /partition\(s\) degraded/, 'the tables show degraded partitions (2 alive replicas of 3)');
  t.pass('every replica on the stopped tablet shows not alive (✕) without a reload');
  await page.screenshot({ path: `${shot}-tablet-stopped.png`, fullPage: true });
  t.comment(`screenshot (tablet stopped): ${shot}-tablet-stopped.png`);
  // Failover's ops appear as they are made, then the tablet comes back and the map heals.
  await page.waitForFunction(() => [...document.querySelectorAll('#ops tbody tr')].some((r) => r.textContent!.includes('kFailoverEndpointOP')), { timeout: PAGE_CHANGE_TIMEOUT_MS });
  t.pass('the failover op of the stopped tablet appears on the page without a reload');
  c.tablets[victimIndex] = await c.startTablet(victimIndex + 1, victim.endpoint);
  await page.waitForFunction(() => document.getElementById('tablet-summary')!.textContent === '3/3 healthy'
    && document.getElementById('table-summary')!.textContent === 'all partitions healthy', { timeout: PAGE_RECOVERY_TIMEOUT_MS });
  t.pass('the restarted tablet is healthy again and every partition has its replicas back');
  await page.screenshot({ path: `${shot}-recovered.png`, fullPage: true });
  t.comment(`screenshot (tablet back): ${shot}-recovered.png`);
  t.same(pageErrors, [], 'no script errors on the page');
});
