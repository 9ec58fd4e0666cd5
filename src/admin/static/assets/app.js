/* global document, window, fetch, EventSource, Headers, FormData */
// The admin console page: plain DOM, no framework, no network beyond this server's /api.
// Every piece of server data goes through textContent or an attribute, never innerHTML: user
// names, chat and task text come from artists' machines.

const PAGES = ['overview', 'users', 'chat', 'backups', 'activity'];
const FEED_MAX = 200;
const HOUR_MS = 3_600_000;
/** The page re-reads everything this often anyway (uptime, next auto-save, missed events). */
const REFRESH_MS = 15_000;

const state = {
  csrf: null,
  events: null,
  samples: [],
  refreshTimer: null,
  refreshQueued: false,
};

const $ = (id) => document.getElementById(id);

/** `el('td', {class: 'num'}, 'text', child)`: attributes and text only. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(typeof c === 'string' || typeof c === 'number' ? String(c) : c);
  }
  return node;
}

function clear(node) {
  node.replaceChildren();
  return node;
}

// ---- formatting ----

function formatBytes(n) {
  if (n === null || n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

function formatDuration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${s % 60} s`;
  return `${s} s`;
}

function formatTime(iso) {
  if (!iso) return '—';
  const t = new Date(iso);
  return Number.isNaN(t.getTime()) ? String(iso) : t.toLocaleString();
}

function relative(iso) {
  if (!iso) return '';
  const diff = (new Date(iso).getTime() - Date.now()) / 1000;
  if (Number.isNaN(diff)) return '';
  return diff >= 0 ? `in ${formatDuration(diff)}` : `${formatDuration(-diff)} ago`;
}

/** A `<time>` element: readable text, machine value in `datetime`. */
function timeEl(iso, withRelative = false) {
  if (!iso) return el('span', {}, '—');
  const rel = withRelative ? relative(iso) : '';
  return el('time', { datetime: iso }, rel ? `${formatTime(iso)} (${rel})` : formatTime(iso));
}

// ---- HTTP ----

class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** JSON API call; every POST carries the CSRF token. A 401 returns to the login form. */
async function api(path, { method = 'GET', body } = {}) {
  const headers = new Headers({ Accept: 'application/json' });
  if (method !== 'GET') {
    if (state.csrf) headers.set('X-CSRF-Token', state.csrf);
    if (body !== undefined) headers.set('Content-Type', 'application/json');
  }
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 204) return null;
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = data && data.error ? data.error : { code: 'http', message: `HTTP ${res.status}` };
    throw new ApiError(res.status, err.code, err.message, res.headers.get('Retry-After'));
  }
  return data;
}

function notice(text) {
  const n = $('notice');
  n.textContent = text;
  n.hidden = !text;
}

function handleError(err) {
  if (err instanceof ApiError && err.status === 401 && err.code !== 'bad_password') {
    showLogin('Your session ended; log in again.');
    return;
  }
  notice(err instanceof Error ? err.message : String(err));
}

// ---- login ----

function showLogin(message = '') {
  stopLive();
  state.csrf = null;
  $('nav').hidden = true;
  $('account').hidden = true;
  for (const p of PAGES) $(`page-${p}`).hidden = true;
  $('login').hidden = false;
  const e = $('login-error');
  e.textContent = message;
  e.hidden = !message;
  $('password').focus();
}

async function onLogin(ev) {
  ev.preventDefault();
  const form = new FormData(ev.target);
  const button = ev.target.querySelector('button');
  button.disabled = true;
  try {
    const r = await api('/api/login', { method: 'POST', body: { password: String(form.get('password') ?? '') } });
    state.csrf = r.csrfToken;
    $('password').value = '';
    await enter();
  } catch (err) {
    const text =
      err instanceof ApiError && err.code === 'bad_password'
        ? 'Wrong password.'
        : err instanceof ApiError && err.code === 'rate_limited'
          ? `Too many attempts; try again in ${err.retryAfter ?? 'a few'} s.`
          : err.message;
    const e = $('login-error');
    e.textContent = text;
    e.hidden = false;
  } finally {
    button.disabled = false;
  }
}

async function onLogout() {
  try {
    await api('/api/logout', { method: 'POST' });
  } catch {
    // Logged out either way: the form comes back.
  }
  showLogin();
}

/** Shows the console once logged in (after the form, or a reload with a live cookie). */
async function enter() {
  $('login').hidden = true;
  $('nav').hidden = false;
  $('account').hidden = false;
  notice('');
  showPage();
  await Promise.all([refresh(), loadHistory()]);
  startLive();
}

// ---- pages ----

function currentPage() {
  const p = window.location.hash.slice(1);
  return PAGES.includes(p) ? p : 'overview';
}

function showPage() {
  if (!$('login').hidden) return;
  const page = currentPage();
  for (const p of PAGES) $(`page-${p}`).hidden = p !== page;
  for (const a of $('nav').querySelectorAll('a')) {
    if (a.dataset.page === page) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

async function refresh() {
  state.refreshQueued = false;
  try {
    const [session, users, nodes, chat, tasks, backups] = await Promise.all([
      api('/api/session'),
      api('/api/users'),
      api('/api/nodes'),
      api('/api/chat'),
      api('/api/tasks'),
      api('/api/backups'),
    ]);
    const focused = focusedLabel();
    renderOverview(session, users.users, nodes);
    renderUsers(users.users);
    renderChat(chat.messages);
    renderTasks(tasks.tasks);
    renderBackups(backups.backups);
    restoreFocus(focused);
  } catch (err) {
    handleError(err);
  }
}

/**
 * Re-rendering replaces the tables' buttons; a keyboard user must not be thrown back to the top
 * every refresh, so focus returns to the control with the same label when it still exists.
 */
function focusedLabel() {
  const a = document.activeElement;
  return a && a !== document.body ? a.getAttribute('aria-label') : null;
}

function restoreFocus(label) {
  if (label === null || (document.activeElement && document.activeElement !== document.body)) return;
  for (const c of $('main').querySelectorAll('button[aria-label], a[aria-label]')) {
    if (c.getAttribute('aria-label') === label) {
      c.focus();
      return;
    }
  }
}

/** Events arrive in bursts (a login brings a lock or two): one refresh per burst. */
function queueRefresh() {
  if (state.refreshQueued) return;
  state.refreshQueued = true;
  window.setTimeout(refresh, 250);
}

function lockList(locks) {
  if (!locks || locks.length === 0) return el('div', { class: 'muted' }, 'no locks');
  const ul = el('ul', { class: 'locks' });
  for (const l of locks) {
    ul.append(el('li', {}, l.name ?? l.uuid, l.type ? el('span', { class: 'muted' }, ` (${l.type})`) : null));
  }
  return ul;
}

function latencyText(ms) {
  return ms === null || ms === undefined ? '—' : `${Math.round(ms)} ms`;
}

function renderOverview(s, users, nodes) {
  const facts = [
    ['State', s.state],
    ['Uptime', formatDuration(s.uptimeSeconds)],
    ['Version', s.version],
    ['Ports', `${s.ports.command} / ${s.ports.data} / ${s.ports.heartbeat}`],
    ['Users online', String(s.usersOnline)],
    ['Nodes', String(s.nodes)],
    ['Session size', formatBytes(s.sessionBytes)],
    [
      'Last save',
      s.lastSave === null
        ? el('span', {}, 'none yet')
        : el(
            'span',
            { class: s.lastSave.ok ? '' : 'bad' },
            timeEl(s.lastSave.at, true),
            ` — ${s.lastSave.reason}, ${s.lastSave.ok ? formatBytes(s.lastSave.bytes) : 'FAILED'}`,
          ),
    ],
    ['Next auto-save', s.nextAutoSaveAt === null ? el('span', {}, 'off') : timeEl(s.nextAutoSaveAt, true)],
    ['Disk free', formatBytes(s.diskFreeBytes)],
  ];
  const dl = clear($('facts'));
  for (const [k, v] of facts) dl.append(el('div', {}, el('dt', {}, k), el('dd', {}, v)));

  const w = clear($('warnings'));
  if (s.warnings.length > 0) {
    const ul = el('ul', { class: 'plain warnings', 'aria-label': 'Warnings' });
    for (const x of s.warnings) ul.append(el('li', {}, timeEl(x.at), ' ', x.message));
    w.append(el('h3', {}, `Warnings (${s.warnings.length})`), ul);
  }

  const list = clear($('overview-users'));
  if (users.length === 0) list.append(el('li', { class: 'muted' }, 'Nobody is online.'));
  for (const u of users) {
    list.append(
      el(
        'li',
        { class: 'user-card', 'data-user': u.name },
        el('strong', {}, u.name),
        u.admin ? el('span', { class: 'tag' }, 'admin') : null,
        el('span', { class: 'muted' }, ` ${u.status} · ${latencyText(u.latencyMs)}`),
        lockList(u.lockedNodes),
      ),
    );
  }

  const t = clear($('nodes-by-type'));
  t.append(
    el('caption', {}, `${nodes.count} nodes, ${formatBytes(nodes.bytes)}`),
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Type'), numTh('Count'), numTh('Size'))),
  );
  const body = el('tbody');
  for (const r of nodes.byType) {
    body.append(el('tr', {}, el('td', {}, r.type), numTd(r.count), numTd(formatBytes(r.bytes))));
  }
  t.append(body);
}

const numTh = (text) => el('th', { scope: 'col', class: 'num' }, text);
const numTd = (text) => el('td', { class: 'num' }, String(text));

function renderUsers(users) {
  const t = clear($('users-table'));
  t.className = 'stack';
  t.append(
    el('caption', {}, users.length === 1 ? '1 user online' : `${users.length} users online`),
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        ...['Name', 'Status', 'Latency', 'Address', 'Locked nodes'].map((h) => el('th', { scope: 'col' }, h)),
        el('th', { scope: 'col' }, el('span', { class: 'sr-only' }, 'Actions')),
      ),
    ),
  );
  const body = el('tbody');
  for (const u of users) {
    const kick = el('button', { type: 'button', class: 'danger', 'aria-label': `Kick ${u.name}` }, 'Kick');
    kick.addEventListener('click', () => kickUser(u.name, kick));
    body.append(
      el(
        'tr',
        { 'data-user': u.name },
        el('td', {}, el('strong', {}, u.name), u.admin ? el('span', { class: 'tag' }, 'admin') : null),
        el('td', { 'data-label': 'Status' }, u.status),
        el('td', { 'data-label': 'Latency' }, latencyText(u.latencyMs)),
        el('td', { 'data-label': 'Address' }, u.address ?? '—'),
        el('td', { 'data-label': 'Locks' }, lockList(u.lockedNodes)),
        el('td', {}, kick),
      ),
    );
  }
  if (users.length === 0) body.append(el('tr', {}, el('td', { colspan: 6, class: 'muted' }, 'Nobody is online.')));
  t.append(body);
}

/** Resolves true when the operator confirms (Enter on the dialog's default stays on Cancel). */
function confirmAction(text, okLabel) {
  const dialog = $('confirm');
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = okLabel;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
  });
}

async function kickUser(name, button) {
  if (
    !(await confirmAction(`Kick ${name}? Their add-on is disconnected; unsaved work stays on their machine.`, 'Kick'))
  ) {
    // A refresh while the dialog was open may have replaced the button.
    if (button.isConnected) button.focus();
    else restoreFocus(button.getAttribute('aria-label'));
    return;
  }
  try {
    await api(`/api/users/${encodeURIComponent(name)}/kick`, { method: 'POST' });
    notice('');
  } catch (err) {
    handleError(err);
  }
  await refresh();
}

function renderChat(messages) {
  const ol = clear($('chat-log'));
  if (messages.length === 0) ol.append(el('li', { class: 'muted' }, 'No messages.'));
  for (const m of messages) {
    ol.append(el('li', {}, el('strong', {}, m.user), ' ', m.time ? timeEl(m.time) : null, el('p', {}, m.text)));
  }
}

const TASK_STATUS = { todo: 'To do', in_progress: 'In progress', done: 'Done' };

function renderTasks(tasks) {
  const ul = clear($('task-list'));
  if (tasks.length === 0) ul.append(el('li', { class: 'muted' }, 'No tasks.'));
  for (const t of tasks) {
    const task = t !== null && typeof t === 'object' ? t : { title: String(t) };
    const status = typeof task.status === 'string' ? task.status : '';
    const who = [
      task.assigned_to ? `for ${task.assigned_to}` : '',
      task.created_by ? `by ${task.created_by}` : '',
      task.object_name ? `on ${task.object_name}` : '',
    ].filter(Boolean);
    ul.append(
      el(
        'li',
        {},
        el('span', { class: `tag status-${status.replace(/[^a-z_]/g, '')}` }, TASK_STATUS[status] ?? (status || '?')),
        ' ',
        el('strong', {}, String(task.title ?? task.id ?? '(untitled)')),
        task.description ? el('p', {}, String(task.description)) : null,
        who.length > 0 ? el('p', { class: 'muted' }, who.join(' · ')) : null,
      ),
    );
  }
}

function renderBackups(backups) {
  const t = clear($('backups-table'));
  t.className = 'stack';
  t.append(
    el('caption', {}, `${backups.length} backup(s), newest first`),
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', { scope: 'col' }, 'Name'),
        el('th', { scope: 'col' }, 'Saved'),
        numTh('Size'),
        el('th', { scope: 'col' }, 'Verified'),
        el('th', { scope: 'col' }, el('span', { class: 'sr-only' }, 'Actions')),
      ),
    ),
  );
  const body = el('tbody');
  const sorted = [...backups].sort((a, b) => String(b.savedAt).localeCompare(String(a.savedAt)));
  for (const b of sorted) {
    const verify = el('button', { type: 'button', 'aria-label': `Verify ${b.name}` }, 'Verify');
    const cell = el('td', { 'data-label': 'Verified' }, verifiedText(b));
    verify.addEventListener('click', () => verifyBackup(b.name, verify, cell));
    const path = `/api/backups/${encodeURIComponent(b.name)}/download`;
    const download = el('a', { href: path, download: `${b.name}.db`, class: 'button' }, 'Download .db');
    download.setAttribute('aria-label', `Download ${b.name} as .db`);
    body.append(
      el(
        'tr',
        { 'data-backup': b.name },
        el('td', {}, el('strong', {}, b.name)),
        el('td', { 'data-label': 'Saved' }, timeEl(b.savedAt)),
        el('td', { 'data-label': 'Size', class: 'num' }, formatBytes(b.bytes)),
        cell,
        el('td', { class: 'row-actions' }, verify, download),
      ),
    );
  }
  if (backups.length === 0) body.append(el('tr', {}, el('td', { colspan: 5, class: 'muted' }, 'No backup yet.')));
  t.append(body);
}

function verifiedText(b) {
  const label = b.verified === 'ok' ? 'OK' : b.verified === 'bad' ? 'DAMAGED' : 'not checked';
  return el(
    'span',
    { class: `verified-${b.verified}` },
    label,
    b.detail ? el('span', { class: 'muted' }, ` ${b.detail}`) : null,
  );
}

async function verifyBackup(name, button, cell) {
  button.disabled = true;
  clear(cell).append(el('span', { class: 'muted' }, 'checking…'));
  try {
    const b = await api(`/api/backups/${encodeURIComponent(name)}/verify`, { method: 'POST' });
    clear(cell).append(verifiedText(b));
  } catch (err) {
    clear(cell).append(el('span', { class: 'bad' }, err.message));
    handleError(err);
  } finally {
    button.disabled = false;
  }
}

async function saveNow() {
  const button = $('save-now');
  button.disabled = true;
  try {
    $('save-status').textContent = 'saving…';
    const r = await api('/api/save', { method: 'POST' });
    notice('');
    $('save-status').textContent = `Saved ${r.file} (${formatBytes(r.bytes)})`;
  } catch (err) {
    $('save-status').textContent = '';
    handleError(err);
  } finally {
    button.disabled = false;
  }
  await refresh();
}

// ---- live events ----

function describeEvent(type, d) {
  switch (type) {
    case 'login':
      return `${d.name ?? d.user ?? '?'} logged in`;
    case 'leave':
      return `${d.name ?? d.user ?? '?'} left${d.reason ? ` (${d.reason})` : ''}`;
    case 'kick':
      return `${d.name ?? d.user ?? '?'} was kicked`;
    case 'save':
      return d.ok === false
        ? `Save FAILED (${d.reason ?? '?'}): ${d.error ?? d.message ?? ''}`
        : `Saved ${d.file ?? ''} (${d.reason ?? '?'}, ${formatBytes(d.bytes)})`;
    case 'warning':
      return `Warning: ${d.message ?? ''}`;
    case 'lock':
    case 'unlock': {
      const list = Array.isArray(d.nodes) ? d.nodes : [];
      const names = list.map((n) => (n !== null && typeof n === 'object' ? (n.name ?? n.uuid) : n)).join(', ');
      const more = typeof d.count === 'number' && d.count > list.length ? ` (+${d.count - list.length} more)` : '';
      return `${d.owner ?? d.user ?? '?'} ${type === 'lock' ? 'locked' : 'unlocked'} ${names}${more}`;
    }
    case 'chat':
      return `${d.user ?? '?'}: ${d.text ?? ''}`;
    default:
      return type;
  }
}

function addFeed(type, data) {
  const feed = $('feed');
  const at = data.at ?? new Date().toISOString();
  feed.prepend(
    el(
      'li',
      { class: `ev-${type}`, 'data-event': type },
      timeEl(at),
      ' ',
      el('span', { class: 'tag' }, type),
      ' ',
      describeEvent(type, data),
    ),
  );
  while (feed.children.length > FEED_MAX) feed.lastElementChild.remove();
}

function startLive() {
  stopLive();
  const source = new EventSource('/api/events');
  state.events = source;
  source.addEventListener('open', () => setLive('live'));
  source.addEventListener('error', () => {
    // EventSource reconnects by itself; a 401 behind it shows up at the next refresh.
    setLive(source.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting…');
  });
  for (const type of ['login', 'leave', 'kick', 'save', 'warning', 'lock', 'unlock', 'chat']) {
    source.addEventListener(type, (ev) => {
      addFeed(type, parse(ev.data));
      queueRefresh();
    });
  }
  source.addEventListener('stats', (ev) => {
    const d = parse(ev.data);
    if (typeof d.at !== 'string') return;
    state.samples.push(d);
    trimSamples();
    renderCharts();
  });
  state.refreshTimer = window.setInterval(refresh, REFRESH_MS);
}

function stopLive() {
  if (state.events) state.events.close();
  state.events = null;
  if (state.refreshTimer !== null) window.clearInterval(state.refreshTimer);
  state.refreshTimer = null;
}

function setLive(text) {
  const n = $('live');
  n.textContent = text;
  n.dataset.state = text;
}

function parse(text) {
  try {
    const v = JSON.parse(text);
    return v !== null && typeof v === 'object' ? v : {};
  } catch {
    return {};
  }
}

// ---- charts ----

async function loadHistory() {
  try {
    const h = await api('/api/stats/history');
    state.samples = h.samples.filter((s) => typeof s.at === 'string');
    trimSamples();
    renderCharts();
  } catch (err) {
    handleError(err);
  }
}

function trimSamples() {
  const from = Date.now() - HOUR_MS;
  while (state.samples.length > 0 && new Date(state.samples[0].at).getTime() < from) state.samples.shift();
}

const SVG = 'http://www.w3.org/2000/svg';

function svgEl(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function renderCharts() {
  const s = state.samples;
  const last = s.length > 0 ? s[s.length - 1] : null;
  lineChart(
    $('chart-msgs'),
    [
      { key: 'msgsInPerSec', label: 'in', cls: 'series-a' },
      { key: 'msgsOutPerSec', label: 'out', cls: 'series-b' },
    ],
    last ? `now: ${round1(last.msgsInPerSec)} in, ${round1(last.msgsOutPerSec)} out per second` : 'no data yet',
  );
  lineChart(
    $('chart-users'),
    [{ key: 'usersOnline', label: 'users', cls: 'series-a' }],
    last ? `now: ${last.usersOnline} online` : 'no data yet',
  );
}

const round1 = (n) => (typeof n === 'number' ? Math.round(n * 10) / 10 : 0);

/** An inline SVG line chart of the last hour; its text summary is the accessible name. */
function lineChart(host, series, summary) {
  const W = 600;
  const H = 160;
  const pad = { l: 36, r: 8, t: 8, b: 20 };
  const now = Date.now();
  const from = now - HOUR_MS;
  let max = 1;
  for (const p of state.samples) for (const ser of series) max = Math.max(max, Number(p[ser.key]) || 0);
  max = niceCeil(max);
  const x = (t) => pad.l + ((t - from) / HOUR_MS) * (W - pad.l - pad.r);
  const y = (v) => H - pad.b - (v / max) * (H - pad.t - pad.b);
  const svg = svgEl('svg', {
    viewBox: `0 0 ${W} ${H}`,
    role: 'img',
    'aria-label': summary,
    preserveAspectRatio: 'none',
  });
  for (const frac of [0, 0.5, 1]) {
    const v = max * frac;
    svg.append(svgEl('line', { x1: pad.l, x2: W - pad.r, y1: y(v), y2: y(v), class: 'gridline' }));
    svg.append(svgEl('text', { x: pad.l - 4, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, String(round1(v))));
  }
  for (const [label, t] of [
    ['-60 min', from],
    ['-30 min', from + HOUR_MS / 2],
    ['now', now],
  ]) {
    const anchor = label === 'now' ? 'end' : label === '-60 min' ? 'start' : 'middle';
    svg.append(svgEl('text', { x: x(t), y: H - 4, class: 'axis', 'text-anchor': anchor }, label));
  }
  for (const ser of series) {
    const pts = state.samples
      .map((p) => [x(new Date(p.at).getTime()), y(Number(p[ser.key]) || 0)])
      .filter(([px]) => Number.isFinite(px));
    if (pts.length > 0) {
      svg.append(
        svgEl('polyline', { points: pts.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' '), class: ser.cls }),
      );
    }
  }
  const legend = el('p', { class: 'legend' });
  if (series.length > 1) for (const ser of series) legend.append(el('span', { class: `key ${ser.cls}` }, ser.label));
  legend.append(el('span', { class: 'muted' }, summary));
  clear(host).append(svg, legend);
}

function niceCeil(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

// ---- start ----

async function boot() {
  $('login-form').addEventListener('submit', onLogin);
  $('logout').addEventListener('click', onLogout);
  $('save-now').addEventListener('click', saveNow);
  window.addEventListener('hashchange', () => {
    showPage();
    $('main').focus();
  });
  try {
    await api('/api/session');
    state.csrf = (await api('/api/csrf')).csrfToken;
    await enter();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) showLogin();
    else notice(`The server did not answer: ${err.message}`);
  }
}

boot();
