// The status page's script: polls /status.json every second and renders tablets, the partition ×
// tablet map of every table, and ops (elapsed time counts up live). No framework, no build step.
'use strict';
const POLL_INTERVAL_MS = 1000;
let last = null;

const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
};
const badge = (text, kind) => el('span', { class: `badge ${kind}` }, text);

function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}
function bytes(n) {
  if (n === null) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

function renderTablets(v) {
  const body = document.querySelector('#tablets tbody');
  body.replaceChildren(...v.tablets.map((t) => el('tr', { 'data-endpoint': t.endpoint },
    el('td', {}, t.endpoint),
    el('td', {}, badge(t.state, t.state === 'kTabletHealthy' ? 'ok' : 'bad')),
    el('td', { class: 'num' }, duration(t.ageMs)),
    el('td', { class: 'num' }, t.replicas),
    el('td', { class: 'num' }, t.leaders),
    el('td', { class: 'num' }, bytes(t.diskBytes)))));
  const healthy = v.tablets.filter((t) => t.state === 'kTabletHealthy').length;
  document.getElementById('tablet-summary').replaceChildren(badge(`${healthy}/${v.tablets.length} healthy`, healthy === v.tablets.length ? 'ok' : 'bad'));
}

function cell(c) {
  if (!c) return el('td', { class: 'cell none' }, '·');
  const lag = c.lagEntries ? ` +${c.lagEntries}` : '';
  if (!c.alive) return el('td', { class: 'cell dead', title: `${c.role}, not alive` }, `✕ ${c.role === 'leader' ? 'L' : 'F'}`);
  if (c.role === 'leader') return el('td', { class: 'cell leader', title: `leader, offset ${c.offset ?? '?'}` }, 'L');
  return el('td', { class: `cell ${c.inSync ? 'follower' : 'lagging'}`, title: `follower${c.inSync ? '' : ' not in sync'}, offset ${c.offset ?? '?'}` }, `F${lag}`);
}

function renderTables(v) {
  let unhealthy = 0;
  const blocks = v.tables.map((t) => {
    const bad = t.partitions.filter((p) => !p.healthy).length;
    unhealthy += bad;
    const head = el('tr', {}, el('th', {}, 'pid'), ...t.endpoints.map((ep) => el('th', {}, ep)));
    const rows = t.partitions.map((p) => el('tr', { 'data-pid': p.pid, class: p.healthy ? '' : 'unhealthy' },
      el('th', {}, p.pid, ' ', p.healthy ? '' : badge('degraded', 'bad')), ...t.endpoints.map((ep) => cell(p.cells[ep]))));
    return el('div', { class: 'table-block', 'data-table': `${t.db}.${t.name}` },
      el('h3', {}, `${t.db}.${t.name} `, el('small', {}, `tid ${t.tid}, ${t.partitionNum} partitions × ${t.replicaNum} replicas `),
        bad ? badge(`${bad} partition(s) degraded`, 'bad') : badge('healthy', 'ok')),
      el('table', {}, el('thead', {}, head), el('tbody', {}, ...rows)));
  });
  document.getElementById('tables').replaceChildren(...(blocks.length ? blocks : [el('p', {}, 'no tables')]));
  document.getElementById('table-summary').replaceChildren(unhealthy ? badge(`${unhealthy} partition(s) degraded`, 'bad') : badge('all partitions healthy', 'ok'));
}

function renderOps(v, nowMs) {
  const body = document.querySelector('#ops tbody');
  const kind = { kDone: 'ok', kFailed: 'bad', kCanceled: 'warn', kDoing: 'warn', kInited: 'warn' };
  body.replaceChildren(...v.ops.map((o) => {
    const pct = o.tasksTotal ? Math.round((100 * o.tasksDone) / o.tasksTotal) : 0;
    const ms = (o.endMs || nowMs) - o.startMs;
    // Most ops take under a second: tenths until 10 s.
    const elapsed = !o.startMs ? '' : ms < 10_000 ? `${(Math.max(0, ms) / 1000).toFixed(1)}s` : duration(ms);
    return el('tr', { 'data-op': o.id },
      el('td', { class: 'num' }, o.id), el('td', {}, o.type), el('td', {}, `${o.db}.${o.name}`), el('td', { class: 'num' }, o.pid),
      el('td', {}, badge(o.status, kind[o.status] || 'warn')), el('td', {}, o.curTask || ''),
      el('td', {}, el('span', { class: 'bar' }, el('i', { style: `width:${pct}%` })), ` ${o.tasksDone}/${o.tasksTotal}`),
      el('td', { class: 'num' }, elapsed),
      el('td', {}, o.error || (o.lagEntries !== null && o.status === 'kDoing' ? `${o.lagEntries} entries behind` : '')));
  }));
  if (!v.ops.length) body.replaceChildren(el('tr', {}, el('td', { colspan: 9 }, 'no ops')));
}

function render(v, fetchedAtMs) {
  // Elapsed times count on from the leader's clock at the last answer.
  const nowMs = v.nowMs + (Date.now() - fetchedAtMs);
  document.getElementById('meta').textContent = `leader ${v.leader} · epoch ${v.epoch} · updated ${new Date(v.nowMs).toLocaleTimeString()}`;
  renderTablets(v);
  renderTables(v);
  renderOps(v, nowMs);
}

async function poll() {
  try {
    const res = await fetch('/status.json', { cache: 'no-store' });
    if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
    last = { v: await res.json(), at: Date.now() };
    document.getElementById('error').textContent = '';
    render(last.v, last.at);
  } catch (err) {
    document.getElementById('error').textContent = `cannot read the status (${err.message}); showing the last answer, retrying every second`;
  } finally {
    setTimeout(poll, POLL_INTERVAL_MS);
  }
}
poll();
