/* panel.js: the control panel's behaviour. Asks for a token, keeps it in
 * sessionStorage only (never localStorage or a cookie: it should not outlive
 * the tab), lists the caller's apps from GET /v1/apps every few seconds,
 * runs reload/destroy and shows an app's last log lines (GET
 * /v1/apps/NAME/log). Everything from the server goes in as textContent,
 * never as HTML: app names, errors, tracebacks and log lines come from user
 * code. In host mode each app also shows its owner's worker process. */
'use strict';

(function () {
  const TOKEN_KEY = 'subwsgi.token';
  const REFRESH_MS = 3000;
  const RELOAD_WAIT_S = 60;
  const LOG_LEVELS = ['debug', 'info', 'warn', 'error'];   // applog.h's, for classes

  const $ = (id) => document.getElementById(id);
  let refreshTimer = null;
  let refreshSeq = 0;           // only the newest list answer is drawn
  const busyApps = new Set();   // apps with a reload or destroy in flight
  const openTracebacks = new Set();   // apps whose failure <details> is open
  let logApp = null;            // the app whose log the dialog shows, or null
  let logSeq = 0;               // only the newest log answer is drawn
  let logTimer = null;          // "Follow": the log's own refresh

  /* A 401: the token is wrong or was removed from the config. */
  class Unauthorized extends Error {}

  function token() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  /* One API call; {status, body} with body the parsed JSON (or null). A 401
   * signs out, whatever the call was. */
  async function api(method, path) {
    const resp = await fetch(path, {
      method,
      headers: { Authorization: 'Bearer ' + token(), Accept: 'application/json' },
      cache: 'no-store',
      credentials: 'omit',
    });
    let body = null;
    try {
      body = await resp.json();
    } catch (e) {
      body = null;
    }
    if (resp.status === 401) {
      signOut('The token was refused (401 unauthorized): check it and sign in again.');
      throw new Unauthorized();
    }
    return { status: resp.status, body };
  }

  /* ---- sign in and out ---------------------------------------------------- */

  function showLogin(message) {
    stopRefresh();
    $('apps').hidden = true;
    $('session').hidden = true;
    $('login').hidden = false;
    $('apps-body').replaceChildren();
    closeLog();
    hideOutcome();
    const err = $('login-error');
    err.textContent = message || '';
    err.hidden = !message;
    $('token').value = '';
    $('token').focus();
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin(message);
  }

  async function signIn(event) {
    event.preventDefault();
    const value = $('token').value.trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    $('token').value = '';
    if (await refresh()) showApps();
  }

  function showApps() {
    $('login').hidden = true;
    $('login-error').hidden = true;
    $('apps').hidden = false;
    $('session').hidden = false;
    startRefresh();
  }

  function startRefresh() {
    stopRefresh();
    refreshTimer = setInterval(refresh, REFRESH_MS);
  }

  function stopRefresh() {
    if (refreshTimer !== null) clearInterval(refreshTimer);
    refreshTimer = null;
  }

  /* ---- the list ----------------------------------------------------------- */

  /* Fetches and draws the apps; true when it worked. */
  async function refresh() {
    if (!token()) return false;
    const seq = ++refreshSeq;
    try {
      const r = await api('GET', '/v1/apps');
      if (seq !== refreshSeq) return true;   // a newer refresh draws instead
      if (r.status !== 200 || !r.body || !Array.isArray(r.body.apps)) {
        showAppsError('Could not list the apps: ' + describe(r));
        return false;
      }
      $('apps-error').hidden = true;
      render(r.body.apps);
      $('refreshed').textContent = 'updated ' + new Date().toLocaleTimeString();
      return true;
    } catch (e) {
      if (!(e instanceof Unauthorized))
        showAppsError('The admin port did not answer: ' + e.message);
      return false;
    }
  }

  function showAppsError(text) {
    const err = $('apps-error');
    err.textContent = text;
    err.hidden = false;
    if ($('apps').hidden) {
      // Signing in: the list is not shown yet, so say it on the form.
      $('login-error').textContent = text;
      $('login-error').hidden = false;
      sessionStorage.removeItem(TOKEN_KEY);
    }
  }

  /* Redraws the table; keeps keyboard focus on the same button across it. */
  function render(apps) {
    const focused = document.activeElement;
    const focusKey = focused && focused.dataset && focused.dataset.action
      ? [focused.dataset.action, focused.dataset.app] : null;
    const body = $('apps-body');
    body.replaceChildren();
    for (const app of apps) {
      body.append(appRow(app));
      const detail = failureRow(app);
      if (detail) body.append(detail);
    }
    $('apps-empty').hidden = apps.length > 0;
    if (logApp !== null) {
      const shown = apps.find((a) => String(a.name) === logApp);
      if (shown) $('log-process').textContent = processText(shown.process);
    }
    if (focusKey) {
      for (const b of body.querySelectorAll('button')) {
        if (b.dataset.action === focusKey[0] && b.dataset.app === focusKey[1]) b.focus();
      }
    }
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k.startsWith('data-')) e.setAttribute(k, v);
      else e[k] = v;
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function cell(field, ...children) {
    return el('td', { 'data-field': field }, ...children);
  }

  function num(field, text) {
    return el('td', { class: 'num', 'data-field': field }, text);
  }

  function badge(word) {
    return el('span', { class: 'badge ' + String(word).replace(/[^a-z-]/g, '') }, word);
  }

  function n(v) {
    return typeof v === 'number' ? v : 0;
  }

  function ms(v) {
    return typeof v === 'number' ? v.toFixed(1) : '-';
  }

  function time(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    return isNaN(d) ? String(iso) : d.toLocaleTimeString();
  }

  function appRow(app) {
    const name = String(app.name);
    const rq = app.requests || {};
    const lat = app.latency_ms || {};
    const interps = Array.isArray(app.interpreters) ? app.interpreters : [];
    const states = {};
    for (const it of interps) states[it.state] = (states[it.state] || 0) + 1;
    const stateText = Object.entries(states).map(([s, c]) => c + ' ' + s).join(', ');

    const reload = el('button', {
      type: 'button', textContent: 'Reload', disabled: busyApps.has(name),
      'data-action': 'reload', 'data-app': name,
    });
    reload.setAttribute('aria-label', 'Reload ' + name);
    reload.addEventListener('click', () => runReload(name));
    const destroy = el('button', {
      type: 'button', class: 'danger', textContent: 'Destroy', disabled: busyApps.has(name),
      'data-action': 'destroy', 'data-app': name,
    });
    destroy.setAttribute('aria-label', 'Destroy ' + name);
    destroy.addEventListener('click', () => runDestroy(name));
    const log = el('button', {
      type: 'button', textContent: 'Log', 'data-action': 'log', 'data-app': name,
    });
    log.setAttribute('aria-label', 'Log of ' + name);
    log.setAttribute('aria-haspopup', 'dialog');
    log.addEventListener('click', () => openLog(name, app));

    return el('tr', { 'data-app': name },
      el('th', { scope: 'row', class: 'name', 'data-field': 'name' }, name,
        app.wsgi ? el('span', { class: 'sub' }, app.wsgi) : null,
        app.owner ? el('span', { class: 'sub' }, 'owner ' + app.owner) : null,
        processCell(app.process)),
      cell('state', badge(app.state)),
      cell('isolation', app.isolation,
        app.isolation_reason ? el('span', { class: 'sub' }, app.isolation_reason) : null),
      num('generation', n(app.generation)),
      cell('interpreters', String(interps.length),
        stateText ? el('span', { class: 'sub' }, stateText) : null),
      num('requests', n(rq.total) + ' / ' + n(rq.active) + ' / ' + n(rq.queued)),
      num('statuses', [rq.status_2xx, rq.status_3xx, rq.status_4xx, rq.status_5xx]
        .map(n).join(' / ')),
      num('latency', ms(lat.p50) + ' / ' + ms(lat.p99)),
      num('reloads', n(app.reloads)),
      cell('last-reload', lastReload(app.last_reload)),
      el('td', {}, el('div', { class: 'actions' }, log, reload, destroy)));
  }

  /* Host mode: APP.process, the owner's worker (pid, user, restarts, last
   * exit; while it is not serving, its state and the seconds to its next
   * start). null in single mode, where there is no such field. */
  function processCell(p) {
    if (!p || typeof p !== 'object') return null;
    const what = [p.pid ? 'pid ' + p.pid : 'no pid'];
    if (p.user) what.push('as ' + p.user);
    const r = n(p.restarts);
    what.push(r + (r === 1 ? ' restart' : ' restarts'));
    const box = el('span', { class: 'sub process', 'data-field': 'process' },
      el('span', { 'data-field': 'process-summary' }, 'worker ' + what.join(' · ')));
    if (p.state && p.state !== 'serving') {
      box.append(' ', badge(p.state));
      if (typeof p.restart_in_s === 'number')
        box.append(', restart in ' + p.restart_in_s.toFixed(1) + ' s');
    }
    if (p.last_exit)
      box.append(el('span', { class: 'exit', 'data-field': 'last-exit' }, 'last exit: ' + p.last_exit));
    return box;
  }

  /* The same, as one sentence (the log dialog's subtitle); '' without. */
  function processText(p) {
    if (!p || typeof p !== 'object') return '';
    let s = 'Worker process ' + (p.pid ? p.pid : '(none)');
    if (p.user) s += ', user ' + p.user;
    if (p.state) s += ', ' + p.state;
    if (p.started_at) s += ' since ' + time(p.started_at);
    const r = n(p.restarts);
    s += ', ' + r + (r === 1 ? ' restart' : ' restarts');
    if (typeof p.restart_in_s === 'number') s += ', restart in ' + p.restart_in_s.toFixed(1) + ' s';
    if (p.last_exit) s += '; last exit: ' + p.last_exit;
    return s + '.';
  }

  function lastReload(lr) {
    if (!lr) return el('span', { class: 'sub' }, 'none yet');
    const what = [lr.action || 'reload', 'gen ' + lr.generation];
    if (lr.requested_by) what.push('by ' + lr.requested_by);
    if (lr.finished_at) what.push(time(lr.finished_at));
    if (typeof lr.duration_ms === 'number') what.push(lr.duration_ms + ' ms');
    return el('span', {}, badge(lr.result), ' ', el('span', { class: 'sub' }, what.join(' · ')));
  }

  /* A row under a failed app: the error's last line, and its traceback in a
   * <details> that stays open across refreshes once opened. */
  function failureRow(app) {
    const lr = app.last_reload;
    if (!lr || lr.result !== 'failed' || !lr.error) return null;
    const name = String(app.name);
    const lines = String(lr.error).trim().split('\n');
    const details = el('details', { open: openTracebacks.has(name) },
      el('summary', {}, 'Last ' + (lr.action || 'reload') + ' failed: ' + lines[lines.length - 1]),
      el('pre', { 'data-field': 'error' }, lr.error));
    details.addEventListener('toggle', () => {
      if (details.open) openTracebacks.add(name);
      else openTracebacks.delete(name);
    });
    return el('tr', { class: 'detail', 'data-app-detail': name },
      el('td', { colSpan: 11 }, details));
  }

  /* ---- actions ------------------------------------------------------------ */

  function hideOutcome() {
    $('outcome').hidden = true;
  }

  /* kind: ok | bad | warn. detail (may be empty) goes in a <pre>. */
  function showOutcome(kind, text, detail) {
    const box = $('outcome');
    box.className = 'outcome ' + kind;
    $('outcome-text').textContent = text;
    const pre = $('outcome-detail');
    pre.textContent = detail || '';
    pre.hidden = !detail;
    box.hidden = false;
  }

  /* "STATUS error: message" for an answer that did not work. */
  function describe(r) {
    const b = r.body || {};
    let s = 'HTTP ' + r.status;
    if (b.error) s += ' ' + b.error;
    if (b.message) s += ': ' + b.message;
    return s;
  }

  async function command(name, verb, path) {
    busyApps.add(name);
    setButtons(name, true);
    showOutcome('warn', verb + ' ' + name + '…', '');
    try {
      return await api('POST', path);
    } catch (e) {
      if (!(e instanceof Unauthorized))
        showOutcome('bad', verb + ' ' + name + ': the admin port did not answer: ' + e.message, '');
      return null;
    } finally {
      busyApps.delete(name);
      setButtons(name, false);
    }
  }

  function setButtons(name, disabled) {
    for (const b of $('apps-body').querySelectorAll('button')) {
      if (b.dataset.app === name) b.disabled = disabled;
    }
  }

  async function runReload(name) {
    const path = '/v1/apps/' + encodeURIComponent(name) + '/reload?wait=' + RELOAD_WAIT_S;
    const r = await command(name, 'Reloading', path);
    if (!r) return;
    const b = r.body || {};
    const app = b.app || b;
    const lr = app.last_reload || {};
    switch (r.status) {
    case 200:
      showOutcome('ok', name + ' reloaded (200): generation ' + app.generation + ' is serving.', '');
      break;
    case 202:
      showOutcome('warn', name + ': reload accepted (202), still in progress.', '');
      break;
    case 422:
      showOutcome('bad', name + ': the new code failed to load (422); the old generation keeps serving.',
        lr.error || b.message || '');
      break;
    case 409:
      showOutcome('bad', name + ': not possible now (409 conflict): ' + (b.message || ''), '');
      break;
    case 504:
      showOutcome('bad', name + ': not finished within ' + RELOAD_WAIT_S + ' s (504 timeout): ' +
        (b.message || ''), '');
      break;
    default:
      showOutcome('bad', name + ': reload failed: ' + describe(r), '');
    }
    await refresh();
  }

  async function runDestroy(name) {
    if (!window.confirm('Destroy ' + name + '? Its interpreters end once their requests ' +
        'finish; the next request loads it again.')) return;
    const r = await command(name, 'Destroying', '/v1/apps/' + encodeURIComponent(name) + '/destroy');
    if (!r) return;
    const b = r.body || {};
    switch (r.status) {
    case 200:
      showOutcome('ok', name + ' destroyed (200): state ' + b.state + '.', '');
      break;
    case 202:
      showOutcome('warn', name + ': destroy accepted (202), still draining.', '');
      break;
    case 409:
      showOutcome('bad', name + ': not possible now (409 conflict): ' + (b.message || ''), '');
      break;
    case 504:
      showOutcome('bad', name + ': requests still running when the wait ended (504 timeout): ' +
        (b.message || ''), '');
      break;
    default:
      showOutcome('bad', name + ': destroy failed: ' + describe(r), '');
    }
    await refresh();
  }

  /* ---- the log dialog ------------------------------------------------------- */

  /* Opens the dialog on name's log. app (as last listed) gives the process
   * line until the next refresh. */
  function openLog(name, app) {
    const dialog = $('log');
    logApp = name;
    $('log-title').textContent = 'Log: ' + name;
    $('log-process').textContent = processText(app && app.process);
    $('log-lines').replaceChildren();
    $('log-status').textContent = '';
    if (!dialog.open) dialog.showModal();
    $('log-lines').focus();
    followLog();
    loadLog(true);
  }

  function closeLog() {
    const dialog = $('log');
    if (dialog.open) dialog.close();   // the close event does the rest
    else logClosed();
  }

  /* Escape, Close or signing out: stop, and give focus back to the app's
   * Log button (a refresh may have redrawn it). */
  function logClosed() {
    const name = logApp;
    logApp = null;
    logSeq++;
    stopFollow();
    if (name === null || $('apps').hidden) return;
    for (const b of $('apps-body').querySelectorAll('button[data-action="log"]')) {
      if (b.dataset.app === name) b.focus();
    }
  }

  function followLog() {
    stopFollow();
    if ($('log-follow').checked && logApp !== null)
      logTimer = setInterval(() => loadLog(false), REFRESH_MS);
  }

  function stopFollow() {
    if (logTimer !== null) clearInterval(logTimer);
    logTimer = null;
  }

  /* Fetches and draws the lines. first: scroll to the newest line whatever
   * the reader's position; later draws stay where the reader scrolled to
   * unless that was the bottom. */
  async function loadLog(first) {
    const name = logApp;
    if (name === null) return;
    const seq = ++logSeq;
    const count = Number($('log-count').value) || 200;
    $('log-status').textContent = 'Reading the log…';
    try {
      const r = await api('GET', '/v1/apps/' + encodeURIComponent(name) + '/log?lines=' + count);
      if (seq !== logSeq || logApp !== name) return;
      if (r.status !== 200 || !r.body || !Array.isArray(r.body.lines)) {
        $('log-status').textContent = 'Could not read the log: ' + describe(r);
        return;
      }
      drawLog(r.body.lines, first);
      const k = r.body.lines.length;
      $('log-status').textContent = (k === 1 ? '1 line' : k + ' lines') + ', oldest first; updated ' +
        new Date().toLocaleTimeString();
    } catch (e) {
      if (!(e instanceof Unauthorized) && seq === logSeq)
        $('log-status').textContent = 'The admin port did not answer: ' + e.message;
    }
  }

  function drawLog(lines, first) {
    const box = $('log-lines');
    const atBottom = first || box.scrollHeight - box.scrollTop - box.clientHeight < 8;
    box.replaceChildren();
    if (lines.length === 0)
      box.append(el('div', { class: 'line empty' }, 'No lines yet.'));
    for (const l of lines) box.append(logLine(l || {}));
    if (atBottom) box.scrollTop = box.scrollHeight;
  }

  /* One line: time, level, text; the class only from the known levels. */
  function logLine(l) {
    const level = String(l.level || '');
    const cls = LOG_LEVELS.includes(level) ? level : 'info';
    return el('div', { class: 'line lvl-' + cls, 'data-level': cls },
      el('span', { class: 'time', title: String(l.time || '') }, clock(l.time)), ' ',
      el('span', { class: 'level' }, level.toUpperCase().padEnd(5)), ' ',
      el('span', { class: 'text' }, String(l.text === undefined || l.text === null ? '' : l.text)));
  }

  /* "HH:MM:SS.mmm", local time, from an RFC 3339 time. */
  function clock(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    if (isNaN(d)) return String(iso);
    const two = (x) => String(x).padStart(2, '0');
    return two(d.getHours()) + ':' + two(d.getMinutes()) + ':' + two(d.getSeconds()) + '.' +
      String(d.getMilliseconds()).padStart(3, '0');
  }

  /* ---- start -------------------------------------------------------------- */

  /* Quick mode (subwsgi --app ... --admin ADDR, loopback or a unix socket
   * only) has no tokens: the API answers without one, and then there is
   * nothing to sign in with. Any other admin port answers 401. */
  async function needsNoToken() {
    try {
      const resp = await fetch('/v1/apps', { cache: 'no-store', credentials: 'omit' });
      return resp.status === 200;
    } catch (e) {
      return false;
    }
  }

  document.addEventListener('DOMContentLoaded', async () => {
    $('login-form').addEventListener('submit', signIn);
    $('logout').addEventListener('click', () => signOut(''));
    $('refresh').addEventListener('click', refresh);
    $('log').addEventListener('close', logClosed);
    $('log-close').addEventListener('click', closeLog);
    $('log-refresh').addEventListener('click', () => loadLog(false));
    $('log-count').addEventListener('change', () => loadLog(true));
    $('log-follow').addEventListener('change', followLog);
    // A token from earlier in this tab (a page reload) signs in directly.
    if (!token() && await needsNoToken())
      sessionStorage.setItem(TOKEN_KEY, 'quick-mode-needs-no-token');
    if (token() && await refresh()) showApps();
    else showLogin('');
  });
})();
