// outwork dashboard. Plain JS, no framework. Message data is untrusted
// (subjects, addresses, headers come from attackers): it only ever reaches
// the page as text nodes (el(), textContent), never as markup.
'use strict';

const SVG = 'http://www.w3.org/2000/svg';
const ACTIONS = ['accept', 'tag', 'quarantine', 'reject', 'other'];
const state = { loggedIn: false, info: null, verdictsBefore: null, qid: null, keepNotice: false, paged: false };

function $(sel) { return document.querySelector(sel); }

// An element with attributes and children (strings become text nodes).
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of kids.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function svg(tag, attrs, ...kids) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  for (const c of kids.flat()) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

// Navigate to hash, keeping the notice just shown.
function go(hash) {
  state.keepNotice = true;
  if (location.hash === hash) route();
  else location.hash = hash;
}

function notice(msg, isError) {
  const n = $('#notice');
  n.textContent = msg || '';
  n.hidden = !msg;
  n.classList.toggle('error', !!isError);
}

function csrfToken() {
  for (const part of document.cookie.split(';')) {
    const [k, v] = part.trim().split('=');
    if (k === 'outwork_csrf') return v || '';
  }
  return '';
}

// fetch a dashboard API; JSON in and out. Throws Error(message) on failure.
async function api(path, opts) {
  const o = Object.assign({ method: 'GET', credentials: 'same-origin', headers: {} }, opts || {});
  if (o.method !== 'GET') o.headers['X-CSRF-Token'] = csrfToken();
  if (o.json !== undefined) {
    o.headers['Content-Type'] = 'application/json';
    o.body = JSON.stringify(o.json);
    delete o.json;
  }
  const r = await fetch('/dashboard/api/' + path, o);
  let body = null;
  try { body = await r.json(); } catch (_) { body = null; }
  if (!r.ok) {
    const e = new Error((body && body.error) || ('HTTP ' + r.status));
    e.status = r.status;
    throw e;
  }
  return body;
}

function fmtTime(ms) {
  if (ms === null || ms === undefined) return '';
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + ' ' +
    p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds());
}

function fmtAge(secs) {
  if (secs === null || secs === undefined) return 'unknown';
  if (secs < 120) return secs + ' s';
  if (secs < 7200) return Math.round(secs / 60) + ' min';
  if (secs < 172800) return Math.round(secs / 3600) + ' h';
  return Math.round(secs / 86400) + ' days';
}

function fmtBytes(n) {
  if (n < 1024) return n + ' B';
  if (n < 1048576) return (n / 1024).toFixed(1) + ' KiB';
  return (n / 1048576).toFixed(1) + ' MiB';
}

function actionBadge(a) {
  const known = ACTIONS.includes(a) ? a : 'other';
  return el('span', { class: 'action action-' + known, text: a || '?' });
}

function meta(dl, pairs) {
  clear(dl);
  for (const [k, v] of pairs) {
    if (v === null || v === undefined || v === '') continue;
    dl.append(el('dt', { text: k }), el('dd', {}, v));
  }
}

function symbolRows(tbody, symbols) {
  clear(tbody);
  for (const s of symbols || []) {
    const ev = el('ul', { class: 'evidence mono' }, (s.evidence || []).map((e) => el('li', { text: e })));
    tbody.append(el('tr', {},
      el('th', { scope: 'row', class: 'mono', text: s.name }),
      el('td', { class: 'num', text: Number(s.score).toFixed(2) }),
      el('td', { text: s.description || '' }),
      el('td', { class: 'wrap' }, ev)));
  }
  if (!symbols || symbols.length === 0) {
    tbody.append(el('tr', {}, el('td', { colspan: 4, text: 'No symbols.' })));
  }
}

function toggle(button, pre) {
  button.addEventListener('click', () => {
    const show = pre.hidden;
    pre.hidden = !show;
    button.setAttribute('aria-expanded', String(show));
    button.textContent = show ? 'Hide raw headers' : 'Show raw headers';
  });
}

// ---- pages ----

function filterParams() {
  const f = $('#filters');
  const p = new URLSearchParams();
  for (const name of ['action', 'symbol', 'domain', 'q']) {
    const v = f.elements[name].value.trim();
    if (v) p.set(name, v);
  }
  for (const name of ['since', 'until']) {
    const v = f.elements[name].value;
    if (v) {
      const t = Math.floor(new Date(v).getTime() / 1000);
      if (!Number.isNaN(t)) p.set(name, String(t));
    }
  }
  return p;
}

// Symbols as Rspamd's history shows them: NAME(score), highest first.
function symbolList(symbols) {
  return (symbols || []).map((x) => {
    const name = typeof x === 'string' ? x : x.name;
    const score = typeof x === 'string' ? null : Number(x.score);
    const text = score === null ? name : name + '(' + score.toFixed(2) + ')';
    return el('span', { class: 'sym' + (score !== null && score < 0 ? ' neg' : '') }, text);
  });
}

async function loadVerdicts(append) {
  const p = filterParams();
  p.set('limit', '100');
  if (append && state.verdictsBefore) p.set('before', String(state.verdictsBefore));
  const tbody = $('#verdicts-table tbody');
  const data = await api('verdicts?' + p.toString());
  state.paged = !!append;
  if (!append) clear(tbody);
  for (const v of data.verdicts) {
    const link = el('a', { href: '#/message/' + encodeURIComponent(v.id) }, v.subject || '(no subject)');
    tbody.append(el('tr', {},
      el('td', { class: 'num', 'data-label': 'Time', text: fmtTime(v.time_ms) }),
      el('td', { class: 'source', 'data-label': 'Source', text: v.source || '' }),
      el('td', { 'data-label': 'Action' }, actionBadge(v.action)),
      el('td', { class: 'num', 'data-label': 'Score', text: Number(v.score).toFixed(2) }),
      el('td', { class: 'wrap', 'data-label': 'From', text: v.from || v.mail_from || '' }),
      el('td', { class: 'wrap', 'data-label': 'To', text: (v.rcpt_to || []).join(', ') }),
      el('td', { class: 'subject', 'data-label': 'Subject', title: v.subject || null }, link),
      el('td', { class: 'symbols mono', 'data-label': 'Symbols' }, symbolList(v.symbols))));
  }
  if (!append && data.verdicts.length === 0) {
    tbody.append(el('tr', {}, el('td', { colspan: 8, text: 'No messages match.' })));
  }
  const last = data.verdicts[data.verdicts.length - 1];
  state.verdictsBefore = last ? last.id : null;
  $('#verdicts-count').textContent = data.total === undefined ? '' :
    (append ? 'More loaded.' : data.total + ' matching message' + (data.total === 1 ? '' : 's') + '.');
  $('#more').hidden = !last || data.verdicts.length < 100;
}

async function loadMessage(id) {
  const m = await api('verdicts/' + encodeURIComponent(id));
  meta($('#msg-meta'), [
    ['Subject', m.subject || '(no subject)'],
    ['Action', actionBadge(m.action)],
    ['Score', Number(m.score).toFixed(2)],
    ['Time', fmtTime(m.time_ms)],
    ['From header', m.from_name ? m.from_name + ' <' + (m.from || '') + '>' : m.from],
    ['Envelope sender', m.mail_from],
    ['Recipients', (m.rcpt_to || []).join(', ')],
    ['Queue id', m.queue_id],
    ['Message-ID', m.message_id],
    ['Client', [m.client_ip, m.helo].filter(Boolean).join(' / ')],
    ['Scanned by', m.source],
    ['Size', fmtBytes(m.size || 0)],
    ['Scan time', Number(m.took_ms).toFixed(1) + ' ms'],
    ['Quarantine id', m.quarantine_id ? el('a', { href: '#/quarantine/' + encodeURIComponent(m.quarantine_id) }, m.quarantine_id) : null],
  ]);
  symbolRows($('#msg-symbols tbody'), m.symbols);
  const urls = clear($('#msg-urls'));
  for (const u of m.urls || []) urls.append(el('li', { text: u }));
  if (!m.urls || m.urls.length === 0) urls.append(el('li', { text: 'None.' }));
  const at = clear($('#msg-attachments tbody'));
  for (const a of m.attachments || []) {
    at.append(el('tr', {},
      el('td', { class: 'wrap', text: a.name || '(unnamed)' }),
      el('td', { class: 'mono', text: a.declared_type }),
      el('td', { class: 'mono', text: a.sniffed }),
      el('td', { class: 'num', text: fmtBytes(a.size) })));
  }
  if (!m.attachments || m.attachments.length === 0) at.append(el('tr', {}, el('td', { colspan: 4, text: 'None.' })));
  const auth = clear($('#msg-auth'));
  for (const a of m.authentication_results || []) auth.append(el('li', { text: a }));
  if (!m.authentication_results || m.authentication_results.length === 0) auth.append(el('li', { text: 'None.' }));
  const pre = $('#msg-headers');
  pre.textContent = m.headers + (m.headers_truncated ? '\n[… truncated at 32 KiB]' : '');
  pre.hidden = true;
  $('#toggle-headers').setAttribute('aria-expanded', 'false');
  $('#toggle-headers').textContent = 'Show raw headers';
}

async function qAction(id, what) {
  if (what === 'delete' && !window.confirm('Delete this quarantined message for good?')) return false;
  const r = await api('quarantine/' + encodeURIComponent(id) + '/' + what, { method: 'POST' });
  notice(what === 'release' ? 'Released ' + r.released + '.' : 'Deleted ' + r.deleted + '.');
  return true;
}

async function loadQuarantine() {
  const tbody = clear($('#quarantine-table tbody'));
  if (!state.loggedIn) return;
  const data = await api('quarantine');
  for (const m of data.messages) {
    // Without a release command the server can't deliver: say so up front.
    const canRelease = !state.info || state.info.release_command;
    const release = el('button', { type: 'button', class: 'secondary', 'data-action': 'release', 'data-id': m.id,
      disabled: !canRelease, title: canRelease ? null : 'No [http] release_command: use outwork quarantine release' }, 'Release');
    const del = el('button', { type: 'button', class: 'danger', 'data-action': 'delete', 'data-id': m.id }, 'Delete');
    // Why it is here: the action it got and what weighed most.
    const top = (m.symbols || []).filter((x) => typeof x === 'string' || x.score > 0).slice(0, 3);
    const why = el('td', { class: 'symbols mono', 'data-label': 'Why' },
      el('span', { class: 'sym' }, (m.action || 'quarantine') + ':'),
      top.length ? symbolList(top) : el('span', { class: 'sym', text: 'no symbols (held by policy)' }));
    tbody.append(el('tr', {},
      el('td', { class: 'num', 'data-label': 'Time', text: fmtTime(m.time * 1000) }),
      el('td', { class: 'wrap', 'data-label': 'From', text: m.from || m.mail_from || '' }),
      el('td', { class: 'wrap', 'data-label': 'To', text: (m.rcpt_to || []).join(', ') }),
      el('td', { class: 'subject', 'data-label': 'Subject', title: m.subject || null }, el('a', { href: '#/quarantine/' + encodeURIComponent(m.id) }, m.subject || '(no subject)')),
      el('td', { class: 'num', 'data-label': 'Score', text: Number(m.score).toFixed(2) }),
      why,
      el('td', { 'data-label': 'Actions' }, release, ' ', del)));
  }
  if (data.messages.length === 0) tbody.append(el('tr', {}, el('td', { colspan: 7, text: 'The quarantine is empty.' })));
}

async function loadQMessage(id) {
  state.qid = id;
  const m = await api('quarantine/' + encodeURIComponent(id));
  meta($('#q-meta'), [
    ['Subject', m.subject || '(no subject)'],
    ['From header', m.from],
    ['Envelope sender', m.envelope && m.envelope.mail_from],
    ['Recipients', ((m.envelope && m.envelope.rcpt_to) || []).join(', ')],
    ['Score', Number(m.score).toFixed(2)],
    ['Quarantined', fmtTime(m.time * 1000)],
    ['Size', fmtBytes(m.size || 0)],
    ['Id', m.id],
    ['Verdict', m.verdict_id ? el('a', { href: '#/message/' + encodeURIComponent(m.verdict_id) }, 'full verdict (URLs, attachments, auth)') : null],
  ]);
  symbolRows($('#q-symbols tbody'), m.symbols);
  $('#q-release').disabled = !!state.info && !state.info.release_command;
  const pre = $('#q-headers');
  pre.textContent = m.headers;
  pre.hidden = true;
  $('#q-toggle-headers').setAttribute('aria-expanded', 'false');
  $('#q-toggle-headers').textContent = 'Show raw headers';
}

// Axis ticks at round numbers (1, 2 or 5 × a power of ten, whole
// messages): [step, top], top a multiple of step at or above max.
function niceTicks(max, want) {
  const raw = Math.max(1, max) / (want || 4);
  const pow = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * pow).find((x) => x >= raw));
  return [step, Math.max(step, Math.ceil(Math.max(1, max) / step) * step)];
}

// The browser's time zone, as the hourly chart's times are in it.
function zoneName() {
  const off = -new Date().getTimezoneOffset();
  const p = (n) => String(Math.floor(Math.abs(n))).padStart(2, '0');
  const utc = 'UTC' + (off < 0 ? '−' : '+') + p(off / 60) + ':' + p(off % 60);
  let name = '';
  try { name = Intl.DateTimeFormat().resolvedOptions().timeZone || ''; } catch (_) { name = ''; }
  return name && name !== 'UTC' ? name + ', ' + utc : utc;
}

// Stacked bars by action; label(start, i) names every third bar.
function bars(container, hours, what, label) {
  clear(container);
  const W = 720, H = 220, L = 40, B = 28, T = 8;
  const totals = hours.map((h) => ACTIONS.reduce((s, a) => s + (h[a] || 0), 0));
  const [step, max] = niceTicks(Math.max(...totals, 1), 4);
  const bw = (W - L - 4) / hours.length;
  const s = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-labelledby': container.id + '-title' });
  s.append(svg('title', { id: container.id + '-title' }, 'Messages per ' + what + ' by action; ' + totals.reduce((a, b) => a + b, 0) + ' in all'));
  for (let v = 0; v <= max; v += step) {
    const y = T + (H - T - B) * (1 - v / max);
    s.append(svg('line', { class: 'grid', x1: L, x2: W, y1: y, y2: y }));
    s.append(svg('text', { class: 'tick', x: L - 6, y: y + 4, 'text-anchor': 'end' }, String(v)));
  }
  hours.forEach((h, i) => {
    let y = H - B;
    const x = L + 2 + i * bw;
    for (const a of ACTIONS) {
      const n = h[a] || 0;
      if (!n) continue;
      const bh = (H - T - B) * n / max;
      y -= bh;
      const r = svg('rect', { class: 'bar-' + a, x: x, y: y, width: Math.max(1, bw - 2), height: bh });
      r.append(svg('title', {}, fmtTime(h.start * 1000) + ': ' + n + ' ' + a));
      s.append(r);
    }
    const text = label(h.start, i);
    if (text) s.append(svg('text', { x: x + bw / 2, y: H - B + 16, 'text-anchor': 'middle' }, text));
  });
  s.append(svg('line', { class: 'axis', x1: L, x2: W, y1: H - B, y2: H - B }));
  container.append(s);
  container.append(el('figcaption', {}, el('ul', { class: 'legend' },
    ACTIONS.map((a) => el('li', {}, el('span', { class: 'swatch bar-' + a, 'aria-hidden': 'true' }), a)))));
}

function hbars(container, items) {
  clear(container);
  if (!items.length) { container.append(el('p', { text: 'No symbols in the last 24 hours.' })); return; }
  const W = 720, row = 22, L = 250;
  const H = items.length * row + 8;
  const max = Math.max(1, ...items.map((i) => i.count));
  const s = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-labelledby': container.id + '-title' });
  s.append(svg('title', { id: container.id + '-title' }, 'Most frequent symbols, last 24 hours'));
  items.forEach((it, i) => {
    const y = 4 + i * row;
    s.append(svg('text', { x: L - 6, y: y + 14, 'text-anchor': 'end' }, it.name));
    const w = (W - L - 50) * it.count / max;
    s.append(svg('rect', { class: 'bar-symbol', x: L, y: y + 3, width: Math.max(1, w), height: row - 6 }));
    s.append(svg('text', { x: L + w + 6, y: y + 14 }, String(it.count)));
  });
  container.append(s);
}

async function loadStatus() {
  const st = await api('status');
  const v = st.verdicts;
  if (v) {
    bars($('#chart-throughput'), v.hours, 'hour',
      (t, i) => (i % 3 === 0 ? String(new Date(t * 1000).getHours()).padStart(2, '0') + 'h' : ''));
    $('#hours-heading').textContent = 'Messages per hour, last 24 hours (your time: ' + zoneName() + ')';
    const step = Math.ceil(v.days.length / 10);
    bars($('#chart-days'), v.days, 'day',
      (t, i) => (i % step === 0 ? new Date(t * 1000).toISOString().slice(5, 10) : ''));
    $('#days-heading').textContent = 'Messages per day (UTC), last ' + v.days.length + ' days';
    const tb = clear($('#status-totals tbody'));
    const order = (a) => (ACTIONS.includes(a) ? ACTIONS.indexOf(a) : ACTIONS.length);
    const totals = Object.entries(v.totals || {}).sort((x, y) => order(x[0]) - order(y[0]) || x[0].localeCompare(y[0]));
    for (const [a, n] of totals) {
      tb.append(el('tr', {}, el('th', { scope: 'row' }, actionBadge(a)), el('td', { class: 'num', text: n })));
    }
    const l = v.latency_ms || {};
    const ms = (x) => (x === null || x === undefined ? '–' : Number(x).toFixed(1) + ' ms');
    meta($('#status-latency'), [['Scans', String(l.count || 0)], ['Median', ms(l.p50)], ['95th percentile', ms(l.p95)], ['99th percentile', ms(l.p99)], ['Slowest', ms(l.max)]]);
    hbars($('#chart-symbols'), v.top_symbols || []);
    meta($('#status-log'), [['Records', String(v.records)], ['Keeps at most', String(v.keep)], ['Retention', v.retention_days + ' days'], ['File', v.path || '(memory only)'], ['Oldest', v.oldest ? fmtTime(v.oldest * 1000) : 'none']]);
  }
  const intel = st.intel || {};
  const store = intel.store || {};
  const sources = store.sources || [];
  const stale = sources.filter((s) => s.stale).length;
  const parts = [];
  if (!intel.available) parts.push('The scanner has no intel store loaded' + (intel.error ? ': ' + intel.error : '') + '.');
  if (store.file) {
    parts.push('Store file ' + store.file + (store.error ? ' (' + store.error + ')' : '') +
      (store.file_age_secs !== undefined ? ', written ' + fmtAge(store.file_age_secs) + ' ago' : '') + ': ' +
      sources.length + ' source' + (sources.length === 1 ? '' : 's') +
      (stale ? ', ' + stale + ' stale (not imported for over ' + fmtAge(store.stale_after_secs) + ')' : '') + '.');
  } else if (intel.available) {
    parts.push('A shared (Redis) store: list its sources with `outwork intel stats`.');
  }
  $('#intel-summary').textContent = parts.join(' ');
  const it = clear($('#intel-table tbody'));
  for (const s of sources) {
    const tr = el('tr', { class: s.stale ? 'stale' : null },
      el('th', { scope: 'row', class: 'mono', text: s.name }),
      el('td', { text: s.kind }),
      el('td', { class: 'num', text: s.entries }),
      el('td', { class: 'num', text: fmtTime(s.imported_at * 1000) }),
      el('td', {}, fmtAge(s.age_secs), s.stale ? el('span', { class: 'stale-badge' }, ' stale') : null));
    it.append(tr);
  }
  if (!sources.length) it.append(el('tr', {}, el('td', { colspan: 5, text: 'No sources.' })));
  const h = st.http || {};
  meta($('#status-http'), [
    ['Thresholds', 'tag ' + st.thresholds.tag + ', quarantine ' + st.thresholds.quarantine + ', reject ' + st.thresholds.reject],
    ['HTTP listen', h.listen], ['Scan slots', h.scans_free + ' free of ' + h.max_scans],
    ['Max body', fmtBytes(h.max_body_bytes || 0)], ['Request timeout', h.request_timeout_ms + ' ms'],
    ['Bodies in flight', fmtBytes(h.buffered_bytes || 0) + ' of ' + fmtBytes(h.max_buffered_bytes || 0)],
    ['Admin token', h.admin_token], ['Release command', h.release_command ? 'configured' : 'none'],
    ['/checkv2 quarantine answer', h.rspamd_quarantine_action],
  ]);
  $('#status-config').textContent = st.config_file || '(no config file: defaults)';
}

function showVerdict(r) {
  $('#scan-result').hidden = false;
  meta($('#scan-meta'), [
    ['Action', actionBadge(r.action)],
    ['Score', Number(r.score).toFixed(2)],
    ['URL', r.url],
    ['Intel hits', r.intel ? String((r.intel.hits || []).length) : null],
    ['Scan time', Number(r.time_ms).toFixed(1) + ' ms'],
    ['In the log', r.verdict_id ? el('a', { href: '#/message/' + encodeURIComponent(r.verdict_id) }, 'open') : null],
  ]);
  symbolRows($('#scan-symbols tbody'), r.symbols);
}

async function loadReports() {
  const data = await api('reports');
  $('#reports-dir').textContent = data.dir ? 'From ' + data.dir + (data.error ? ' (' + data.error + ')' : '') + '.' :
    'No reports directory: set [dashboard] reports_dir.';
  const ul = clear($('#reports-list'));
  for (const r of data.reports || []) {
    ul.append(el('li', {}, el('a', { href: '/dashboard/reports/' + encodeURIComponent(r.name), target: '_blank', rel: 'noopener noreferrer' }, r.name),
      ' — ' + fmtTime(r.modified * 1000) + ', ' + fmtBytes(r.size)));
  }
  if (data.dir && !(data.reports || []).length) ul.append(el('li', { text: 'No HTML reports yet.' }));
}

// ---- routing ----

async function refreshSession() {
  try {
    state.info = await api('session');
    state.loggedIn = !!state.info.logged_in;
  } catch (_) {
    state.loggedIn = false;
  }
  $('#auth-state').textContent = state.loggedIn ? 'logged in' : 'not logged in';
  $('#login-link').hidden = state.loggedIn;
  $('#logout').hidden = !state.loggedIn;
  for (const n of document.querySelectorAll('.needs-login')) n.hidden = state.loggedIn;
}

function show(page) {
  for (const s of document.querySelectorAll('main > section')) s.hidden = s.dataset.page !== page;
  const navPage = { message: 'verdicts', qmessage: 'quarantine' }[page] || page;
  for (const a of document.querySelectorAll('nav a')) {
    if (a.dataset.page === navPage) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

async function route(ev) {
  const parts = (location.hash || '#/verdicts').slice(2).split('/');
  const page = parts[0] || 'verdicts';
  // A notice set just before navigating ("Released …") outlives the move.
  if (!state.keepNotice) notice('');
  state.keepNotice = false;
  try {
    const arg = parts.length > 1 ? decodeURIComponent(parts.slice(1).join('/')) : null;
    if (page === 'message' && arg) { show('message'); await loadMessage(arg); }
    else if (page === 'quarantine' && arg) { show('qmessage'); await loadQMessage(arg); }
    else if (page === 'quarantine') { show('quarantine'); await loadQuarantine(); }
    else if (page === 'status') { show('status'); await loadStatus(); }
    else if (page === 'scan') { show('scan'); }
    else if (page === 'reports') { show('reports'); await loadReports(); }
    else if (page === 'login') { show('login'); $('#token').focus(); }
    else { show('verdicts'); await loadVerdicts(false); }
    document.title = 'outwork: ' + page;
    // A screen reader or keyboard user lands on the new page's heading.
    if (ev && ev.type === 'hashchange' && page !== 'login') {
      const h = document.querySelector('main > section:not([hidden]) h1');
      if (h) h.focus();
    }
  } catch (e) {
    notice(e.message, true);
  }
}

function guard(fn) {
  return async (ev) => {
    if (ev) ev.preventDefault();
    try { await fn(ev); } catch (e) { notice(e.message, true); }
  };
}

function init() {
  toggle($('#toggle-headers'), $('#msg-headers'));
  toggle($('#q-toggle-headers'), $('#q-headers'));
  $('#filters').addEventListener('submit', guard(() => loadVerdicts(false)));
  $('#filters').addEventListener('reset', () => setTimeout(() => route(), 0));
  $('#more').addEventListener('click', guard(() => loadVerdicts(true)));
  $('#login-form').addEventListener('submit', guard(async () => {
    const t = $('#token');
    await api('login', { method: 'POST', json: { token: t.value } });
    t.value = '';
    await refreshSession();
    notice('Logged in.');
    go('#/quarantine');
  }));
  $('#logout').addEventListener('click', guard(async () => {
    await api('logout', { method: 'POST' });
    await refreshSession();
    notice('Logged out.');
    await route();
  }));
  // Delegated: only the row buttons; links in the rows navigate as usual.
  $('#quarantine-table').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-action]');
    if (!b) return;
    guard(async () => {
      if (await qAction(b.dataset.id, b.dataset.action)) await loadQuarantine();
    })(ev);
  });
  $('#q-release').addEventListener('click', guard(async () => {
    if (await qAction(state.qid, 'release')) go('#/quarantine');
  }));
  $('#q-delete').addEventListener('click', guard(async () => {
    if (await qAction(state.qid, 'delete')) go('#/quarantine');
  }));
  $('#scan-url-form').addEventListener('submit', guard(async () => {
    showVerdict(await api('url', { method: 'POST', json: { url: $('#scan-url').value } }));
  }));
  $('#scan-file-form').addEventListener('submit', guard(async () => {
    const f = $('#scan-file').files[0];
    const body = f ? await f.arrayBuffer() : $('#scan-text').value;
    if (!body || (body.byteLength === 0) || body.length === 0) throw new Error('Choose a file or paste a message.');
    showVerdict(await api('scan', { method: 'POST', body: body, headers: { 'Content-Type': 'message/rfc822' } }));
  }));
  // The first page of verdicts follows new mail while it is on screen.
  setInterval(() => {
    const onList = !$('#page-verdicts').hidden && !document.hidden;
    const typing = document.activeElement && $('#filters').contains(document.activeElement);
    if (onList && !typing && !state.paged) loadVerdicts(false).catch(() => {});
  }, 30000);
  window.addEventListener('hashchange', route);
  refreshSession().then(route);
}

document.addEventListener('DOMContentLoaded', init);
