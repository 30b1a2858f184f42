// panel_test.mjs: the control panel (GET / of the admin port) in a real
// headless Chromium, against the real src/subwsgi. Prints TAP.
//
// The server gets two users, alice (role user) and root (role admin), and
// two apps: ablog (owner alice, a writable copy of tests/apps/hello.py, so
// the test can break it) and ops (owner root). Steps: the page's security
// headers; a wrong token shows an error; alice signs in and sees only
// ablog; Reload raises the generation shown; broken code, Reload shows the
// 422 and its traceback (as text: markup in it stays text); the Log view
// shows that traceback from the app's log, with the markup the app writes
// to wsgi.errors on every request shown as text, and works from the
// keyboard; Destroy leaves the app idle; log out clears sessionStorage;
// root sees both apps; in host mode (root only: it makes two OS users) the
// admin sees both owners' apps with their worker processes and a log; the
// page logged no CSP violation or script error; the server exits cleanly
// (exit status 0, which ASan's leak check would change).
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const srcdir = process.env.SW_SRCDIR || path.resolve(here, '../..');
const builddir = process.env.SW_BUILDDIR || srcdir;
const chromiumPath = process.env.SW_CHROMIUM || '/usr/bin/chromium';
const binary = path.join(builddir, 'src/subwsgi');
const scgiRequest = path.join(builddir, 'src/scgi-request');
const artifacts = path.join(builddir, 'tests/browser/artifacts');
const STEP_MS = 15000;        // any one wait; a reload under ASan takes a few s
const WHOLE_RUN_MS = 150000;  // then everything is stopped, the run fails

const ALICE = 'alice-panel-token-0123456789';
const ROOT = 'root-panel-token-ZYXWVUTSRQ';
const BOB = 'bob-panel-token-9876543210';
// What ablog writes to wsgi.errors on each request and prints at import:
// app output is hostile, the page must show it as text.
const HOSTILE = `<img src=x class=hostile onerror="document.title='pwned'">`;
const PRINTED = '<b id=printed-markup>printed at import</b>';

// ---- TAP --------------------------------------------------------------------

let testNo = 0;
let failed = 0;

function comment(text) {
  for (const line of String(text).split('\n')) console.log('# ' + line);
}

/* Runs one check: ok, or not ok with the error. Returns whether it passed. */
async function check(name, fn) {
  testNo++;
  try {
    await fn();
    console.log(`ok ${testNo} - ${name}`);
    return true;
  } catch (e) {
    failed++;
    console.log(`not ok ${testNo} - ${name}`);
    comment(e && e.stack ? e.stack : String(e));
    return false;
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

/* Polls fn until it returns something truthy; throws what after STEP_MS. */
async function until(fn, what) {
  const end = Date.now() + STEP_MS;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (last: ${last})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---- the server ---------------------------------------------------------------

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/* The token-sha256 line for token, from the binary itself. */
function hashLine(token) {
  const r = spawnSync(binary, ['--hash-token'], { input: token + '\n', encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`subwsgi --hash-token: ${r.stderr}`);
  return r.stdout.trim();
}

/* ablog's code: hello.py that prints PRINTED at import and writes HOSTILE
 * to wsgi.errors on each request, or a SyntaxError whose line carries
 * markup (the page must show it as text). Each version has a different
 * size, so no stale bytecode can match. */
function writeApp(dir, broken) {
  const file = path.join(dir, 'ablog.py');
  if (!broken) {
    fs.writeFileSync(file, fs.readFileSync(path.join(srcdir, 'tests/apps/hello.py'), 'utf8') +
      '\n\nprint(' + JSON.stringify(PRINTED) + ')\n' +
      '_hello = application\n\n\n' +
      'def application(environ, start_response):\n' +
      '    environ["wsgi.errors"].write(' + JSON.stringify(HOSTILE + ' from a request\n') + ')\n' +
      '    return _hello(environ, start_response)\n');
  } else {
    fs.writeFileSync(file,
      "NAME = 'broken'\n\n" +
      'def application(environ, start_response:  # <img src=x id=injected>\n' +
      '    return []\n');
  }
}

async function startServer(dir) {
  const scgi = `127.0.0.1:${await freePort()}`;
  const adminPort = await freePort();
  writeApp(dir, false);
  fs.copyFileSync(path.join(srcdir, 'tests/apps/hello.py'), path.join(dir, 'ops.py'));
  const config = path.join(dir, 'subwsgi.ini');
  fs.writeFileSync(config, [
    '[server]', `scgi = ${scgi}`, `admin = 127.0.0.1:${adminPort}`, 'drain-timeout = 5', '',
    '[user:alice]', hashLine(ALICE), 'role = user', '',
    '[user:root]', hashLine(ROOT), 'role = admin', '',
    '[app:ablog]', 'owner = alice', `wsgi = ${dir}/ablog.py`, 'mount = /alice', '',
    '[app:ops]', 'owner = root', `wsgi = ${dir}/ops.py`, 'mount = /ops', '',
  ].join('\n'));
  const log = fs.openSync(path.join(dir, 'server.log'), 'w');
  const proc = spawn(binary, ['-c', config], { stdio: ['ignore', log, log] });
  const exited = new Promise((resolve) => proc.on('exit', (code, sig) => resolve({ code, sig })));
  await until(async () => {
    if (proc.exitCode !== null) throw new Error(`subwsgi exited: ${proc.exitCode}`);
    const r = await fetch(`http://127.0.0.1:${adminPort}/healthz`).catch(() => null);
    return r && r.status === 200;
  }, 'the admin port to answer /healthz');
  return { proc, exited, scgi, url: `http://127.0.0.1:${adminPort}/`, dir };
}

/* Quick mode: one app, no config file, no tokens. */
async function startQuickServer(dir) {
  const scgi = `127.0.0.1:${await freePort()}`;
  const adminPort = await freePort();
  const log = fs.openSync(path.join(dir, 'quick.log'), 'w');
  const proc = spawn(binary, ['--app', path.join(srcdir, 'tests/apps/hello.py'), '--scgi', scgi,
    '--admin', `127.0.0.1:${adminPort}`], { stdio: ['ignore', log, log] });
  const exited = new Promise((resolve) => proc.on('exit', (code, sig) => resolve({ code, sig })));
  await until(async () => {
    if (proc.exitCode !== null) throw new Error(`subwsgi exited: ${proc.exitCode}`);
    const r = await fetch(`http://127.0.0.1:${adminPort}/healthz`).catch(() => null);
    return r && r.status === 200;
  }, 'the quick-mode admin port to answer /healthz');
  return { proc, exited, url: `http://127.0.0.1:${adminPort}/` };
}

function serverLogTail(dir, lines = 30, name = 'server.log') {
  try {
    return fs.readFileSync(path.join(dir, name), 'utf8').split('\n').slice(-lines).join('\n');
  } catch (e) {
    return '(no log)';
  }
}

// ---- host mode: a master and two owners' workers, as two OS users -----------

const hostUsers = [];   // the OS users this run made, removed at the end

/* Why host mode cannot run here, or null. */
function hostModeUnavailable() {
  if (process.getuid() !== 0)
    return 'host mode needs root (it makes two OS users and the master starts each ' +
      "owner's worker as one): run make check as root, as CI does";
  if (!fs.existsSync('/usr/sbin/useradd'))
    return "no /usr/sbin/useradd (Debian's passwd package) on this machine";
  // The workers run as their owners: they must be able to read the CPython
  // this build embeds (pyenv's under /root cannot be).
  const ldd = spawnSync('/usr/bin/ldd', [binary], { encoding: 'utf8' });
  const lib = /libpython\S* => (\S+)/.exec(ldd.stdout || '');
  if (lib && spawnSync('/usr/sbin/runuser', ['-u', 'nobody', '--', '/usr/bin/test', '-r',
                                             lib[1]]).status !== 0)
    return `host mode's workers run as their owners, and this build's CPython (${lib[1]}) ` +
      "cannot be read by other users (pyenv's under /root cannot): build against one they can read";
  return null;
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error}`);
  return r.stdout.trim();
}

/* userdel refuses a user who still has processes: the workers end with
 * their master, a moment later. Tries for STEP_MS. */
async function removeHostUsers() {
  const end = Date.now() + STEP_MS;
  while (hostUsers.length) {
    const r = spawnSync('/usr/sbin/userdel', [hostUsers[hostUsers.length - 1]], { encoding: 'utf8' });
    if (r.status === 0 || r.status === 6 /* no such user */ || Date.now() > end) {
      if (r.status !== 0) comment(`userdel ${hostUsers[hostUsers.length - 1]}: ${r.stderr}`);
      hostUsers.pop();
    } else {
      await new Promise((res) => setTimeout(res, 100));
    }
  }
}

/* mode = host with owners alice (her own listener too) and bob, one app
 * each (ablog's code, which logs HOSTILE), mounted on the shared listener;
 * tokens ROOT (admin), ALICE, BOB. Returns when both workers serve. */
async function startHostServer(dir) {
  const shared = `127.0.0.1:${await freePort()}`;
  const own = `127.0.0.1:${await freePort()}`;
  const adminPort = await freePort();
  fs.chmodSync(dir, 0o755);   // the workers, as their owners, read below it
  const users = {};
  for (const owner of ['alice', 'bob']) {
    const user = `swp${process.pid}${owner[0]}`;
    run('/usr/sbin/useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', user]);
    hostUsers.push(user);
    const uid = Number(run('id', ['-u', user]));
    const gid = Number(run('id', ['-g', user]));
    const home = path.join(dir, owner);
    fs.mkdirSync(home, { mode: 0o700 });
    writeApp(home, false);
    fs.chownSync(home, uid, gid);
    fs.chownSync(path.join(home, 'ablog.py'), uid, gid);
    users[owner] = user;
  }
  const config = path.join(dir, 'host.ini');
  fs.writeFileSync(config, [
    '[server]', 'mode = host', `scgi = ${shared}`, `admin = 127.0.0.1:${adminPort}`,
    'drain-timeout = 2', '',
    '[user:root]', hashLine(ROOT), 'role = admin', '',
    '[user:alice]', hashLine(ALICE), `run-as = ${users.alice}`, `scgi = ${own}`, '',
    '[user:bob]', hashLine(BOB), `run-as = ${users.bob}`, '',
    '[app:asite]', 'owner = alice', `wsgi = ${dir}/alice/ablog.py`, 'mount = /a', '',
    '[app:bsite]', 'owner = bob', `wsgi = ${dir}/bob/ablog.py`, 'mount = /b', '',
  ].join('\n'));
  const log = fs.openSync(path.join(dir, 'host.log'), 'w');
  const proc = spawn(binary, ['-c', config], { stdio: ['ignore', log, log] });
  const exited = new Promise((resolve) => proc.on('exit', (code, sig) => resolve({ code, sig })));
  const url = `http://127.0.0.1:${adminPort}/`;
  await until(async () => {
    if (proc.exitCode !== null) throw new Error(`the master exited: ${proc.exitCode}`);
    const r = await fetch(url + 'v1/apps', { headers: { Authorization: 'Bearer ' + ROOT } })
      .catch(() => null);
    if (!r || r.status !== 200) return false;
    const apps = (await r.json()).apps;
    return apps.length === 2 && apps.every((a) => a.process && a.process.state === 'serving');
  }, "both owners' workers to serve");
  return { proc, exited, url, shared, own, users };
}

/* A TAP skip line for a check that cannot run here. */
function skip(name, reason) {
  testNo++;
  console.log(`ok ${testNo} - ${name} # SKIP ${reason}`);
}

/* Real SCGI requests, so the table's counters are not all zero. */
function traffic(scgi, uri, n) {
  for (let i = 0; i < n; i++) spawnSync(scgiRequest, [scgi, uri], { stdio: 'ignore' });
}

// ---- the page ----------------------------------------------------------------

const row = (name) => `#apps-body tr[data-app="${name}"]`;

async function field(page, app, name) {
  return (await page.locator(`${row(app)} [data-field="${name}"]`).textContent()).trim();
}

async function shownApps(page) {
  return page.locator('#apps-body tr[data-app]').evaluateAll(
    (rows) => rows.map((r) => r.dataset.app));
}

async function signIn(page, token) {
  await page.fill('#token', token);
  await page.click('#login-form button[type=submit]');
}

async function outcome(page) {
  return page.evaluate(() => {
    const box = document.getElementById('outcome');
    return {
      hidden: box.hidden, kind: box.className,
      text: document.getElementById('outcome-text').textContent,
      detail: document.getElementById('outcome-detail').textContent,
    };
  });
}

/* The log dialog as drawn: open, title, each line's level and text. */
async function logView(page) {
  return page.evaluate(() => {
    const d = document.getElementById('log');
    return {
      open: d.open,
      title: document.getElementById('log-title').textContent,
      process: document.getElementById('log-process').textContent,
      status: document.getElementById('log-status').textContent,
      lines: [...document.querySelectorAll('#log-lines .line')].map((l) => ({
        level: l.dataset.level,
        text: (l.querySelector('.text') || l).textContent,
      })),
    };
  });
}

/* Opens name's log with its row's Log button; waits for lines matching re. */
async function openLog(page, name, re) {
  await page.click(`button[data-action="log"][data-app="${name}"]`);
  return until(async () => {
    const v = await logView(page);
    return v.open && v.lines.some((l) => re.test(l.text)) && v;
  }, `${name}'s log to show ${re}`);
}

async function storage(page) {
  return page.evaluate(() => ({
    token: sessionStorage.getItem('subwsgi.token'),
    local: localStorage.length,
    cookie: document.cookie,
  }));
}

// ---- the run ------------------------------------------------------------------

async function main() {
  const require = createRequire(path.join(srcdir, 'tests/browser/package.json'));
  const { chromium } = require('playwright-core');
  fs.mkdirSync(artifacts, { recursive: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'subwsgi-panel-'));
  let server = null;
  let host = null;
  let browser = null;
  const watchdog = setTimeout(() => {
    console.log(`Bail out! the run took over ${WHOLE_RUN_MS / 1000} s`);
    if (server) server.proc.kill('SIGKILL');
    if (host) host.proc.kill('SIGKILL');
    for (const u of hostUsers) spawnSync('/usr/sbin/userdel', [u]);
    process.exit(1);
  }, WHOLE_RUN_MS);

  try {
    server = await startServer(dir);
    traffic(server.scgi, '/alice/', 5);
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true });
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_MS);
    const problems = [];   // CSP violations and script errors
    page.on('pageerror', (e) => problems.push('page error: ' + e.message));
    page.on('console', (m) => {
      // A 401 or 422 answer is logged by Chromium as a failed resource: expected.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
        problems.push('console: ' + m.text());
    });

    let response;
    const served = await check('GET / serves the page with its security headers', async () => {
      response = await page.goto(server.url);
      assert(response.status() === 200, `status ${response.status()}`);
      const h = response.headers();
      assert(h['content-type'].startsWith('text/html'), `Content-Type ${h['content-type']}`);
      const csp = h['content-security-policy'] || '';
      assert(/script-src 'self'/.test(csp) && !/unsafe-inline/.test(csp) &&
        /frame-ancestors 'none'/.test(csp), `CSP: ${csp}`);
      assert(h['x-frame-options'] === 'DENY', `X-Frame-Options ${h['x-frame-options']}`);
      assert(h['x-content-type-options'] === 'nosniff', 'no nosniff');
      assert(h['referrer-policy'] === 'no-referrer', `Referrer-Policy ${h['referrer-policy']}`);
      assert(h['cache-control'] === 'no-store', `Cache-Control ${h['cache-control']}`);
      await page.waitForSelector('#token', { state: 'visible' });
    });
    // Each step below would only wait out its timeout on a page that is not there.
    if (!served) throw new Error('no panel page: the steps in it are not run');

    await check('a wrong token shows an error and keeps the token form', async () => {
      await signIn(page, 'not-the-right-token-at-all');
      await page.waitForSelector('#login-error', { state: 'visible' });
      const text = await page.textContent('#login-error');
      assert(/401/.test(text) && /refused/.test(text), `error text: ${text}`);
      assert(await page.isHidden('#apps'), 'the apps section is shown');
      assert((await storage(page)).token === null, 'the wrong token stayed in sessionStorage');
    });

    await check('alice signs in and sees only her app; the token is in sessionStorage only',
      async () => {
        await signIn(page, ALICE);
        await page.waitForSelector(row('ablog'));
        assert(await page.isHidden('#login'), 'the token form is still shown');
        assert(await page.isHidden('#login-error'), 'the old error is still shown');
        const apps = await shownApps(page);
        assert(JSON.stringify(apps) === '["ablog"]', `apps shown: ${apps}`);
        assert(await field(page, 'ablog', 'state') === 'serving',
          `state ${await field(page, 'ablog', 'state')}`);
        const requests = await field(page, 'ablog', 'requests');
        assert(/^5 \/ 0 \/ 0$/.test(requests), `requests ${requests}`);
        const s = await storage(page);
        assert(s.token === ALICE, `sessionStorage token ${s.token}`);
        assert(s.local === 0 && s.cookie === '', `localStorage ${s.local}, cookie "${s.cookie}"`);
        assert((await context.cookies()).length === 0, 'a cookie was set');
      });

    await check('Reload raises the generation shown', async () => {
      const before = Number(await field(page, 'ablog', 'generation'));
      assert(before >= 1, `generation before: ${before}`);
      await page.click('button[data-action="reload"][data-app="ablog"]');
      const o = await until(async () => {
        const x = await outcome(page);
        return /\(200\)/.test(x.text) && x;
      }, 'the reload outcome');
      assert(/ok/.test(o.kind), `outcome class ${o.kind}`);
      await until(async () => Number(await field(page, 'ablog', 'generation')) === before + 1,
        `generation ${before + 1} in the table`);
      assert(/^ok/.test(await field(page, 'ablog', 'last-reload')), 'last reload is not ok');
    });

    await check('broken code: Reload shows the 422 and its traceback, as text', async () => {
      const before = await field(page, 'ablog', 'generation');
      writeApp(dir, true);
      await page.click('button[data-action="reload"][data-app="ablog"]');
      const o = await until(async () => {
        const x = await outcome(page);
        return /\(422\)/.test(x.text) && x;
      }, 'the 422 outcome');
      assert(/bad/.test(o.kind), `outcome class ${o.kind}`);
      assert(/Traceback/.test(o.detail) && /SyntaxError/.test(o.detail),
        `outcome detail: ${o.detail}`);
      assert(await page.isVisible('#outcome-detail'), 'the traceback <pre> is hidden');
      // The failure stays under the app's row after refreshes: its last
      // line, and the traceback in a <details> that opens on a click.
      const detail = page.locator('#apps-body tr[data-app-detail="ablog"]');
      const summary = detail.locator('summary');
      await summary.waitFor();
      assert(/SyntaxError/.test(await summary.textContent()), 'no SyntaxError in the summary');
      await summary.click();
      const pre = detail.locator('pre');
      await pre.waitFor();
      await new Promise((r) => setTimeout(r, 3500));   // a periodic refresh redraws the row
      assert(await pre.isVisible(), 'the opened traceback closed on a refresh');
      const t = await pre.textContent();
      assert(/SyntaxError/.test(t), `row traceback: ${t}`);
      assert(t.includes('<img src=x id=injected>'), 'the markup in the traceback is not shown');
      assert(await page.locator('#injected').count() === 0, 'markup from the server was parsed');
      assert(await field(page, 'ablog', 'generation') === before, 'the generation changed');
      assert(/^failed/.test(await field(page, 'ablog', 'last-reload')), 'last reload not failed');
      assert(await field(page, 'ablog', 'state') === 'serving', 'the old code stopped serving');
      const shot = path.join(artifacts, 'panel.png');
      await page.screenshot({ path: shot, fullPage: true });
      comment(`screenshot: ${shot}`);
    });

    await check('Log shows the failed reload\'s traceback, newest last, levels apart', async () => {
      const v = await openLog(page, 'ablog', /^SyntaxError/);
      assert(v.title === 'Log: ablog', `title ${v.title}`);
      assert(v.process === '', `a process line in single mode: ${v.process}`);
      const texts = v.lines.map((l) => l.text);
      const tb = texts.findIndex((t) => t.startsWith('Traceback'));
      const se = texts.findIndex((t) => t.startsWith('SyntaxError'));
      assert(tb >= 0 && se > tb, `no traceback before the SyntaxError:\n${texts.join('\n')}`);
      assert(v.lines[tb].level === 'error' && v.lines[se].level === 'error',
        `traceback levels ${v.lines[tb].level}, ${v.lines[se].level}`);
      // Oldest first: the reload's failure comes after the requests' lines.
      const req = texts.findIndex((t) => t.includes('from a request'));
      assert(req >= 0 && req < tb, `request lines at ${req}, traceback at ${tb}`);
      assert(/failed/.test(texts[texts.length - 1]), `last line: ${texts[texts.length - 1]}`);
      // Newest at the bottom, and scrolled there.
      const box = page.locator('#log-lines');
      const gap = await box.evaluate((b) => b.scrollHeight - b.scrollTop - b.clientHeight);
      assert(gap < 8, `not scrolled to the newest line (${gap} px left)`);
      // Levels look different, not only by their word.
      const colour = (level) => page.locator(`#log-lines .line[data-level="${level}"] .level`)
        .first().evaluate((e) => getComputedStyle(e).color);
      const [err, warn] = [await colour('error'), await colour('warn')];
      assert(err !== warn, `error and warn in the same colour ${err}`);
      assert(await box.evaluate((b) => /mono/i.test(getComputedStyle(b).fontFamily)),
        'the lines are not in a monospace font');
      const shot = path.join(artifacts, 'panel-log.png');
      await page.screenshot({ path: shot });
      comment(`screenshot: ${shot}`);
    });

    await check('Log: what the app writes is shown as text, never parsed as HTML', async () => {
      const v = await logView(page);
      const hostile = v.lines.filter((l) => l.text === HOSTILE + ' from a request');
      assert(hostile.length === 5, `${hostile.length} hostile lines shown literally, want 5 ` +
        `(one per request):\n${v.lines.map((l) => l.text).join('\n')}`);
      assert(hostile.every((l) => l.level === 'warn'), 'wsgi.errors lines are not warn');
      assert(v.lines.some((l) => l.text === PRINTED && l.level === 'info'),
        'the markup printed at import is not shown as an info line');
      assert(v.lines.some((l) => l.text.includes('<img src=x id=injected>')),
        'the markup in the traceback is not shown');
      assert(await page.locator('#log img, img.hostile, #printed-markup, #injected').count() === 0,
        'markup from the log was parsed');
      assert(await page.title() !== 'pwned', 'the onerror handler ran');
    });

    await check('Log from the keyboard: Refresh, Follow, Escape returns focus', async () => {
      traffic(server.scgi, '/alice/', 1);
      await page.focus('#log-refresh');
      await page.keyboard.press('Enter');
      await until(async () => (await logView(page)).lines
        .filter((l) => l.text.includes('from a request')).length === 6, 'the 6th request line');
      assert(/lines/.test((await logView(page)).status), 'no status after the refresh');
      // Follow redraws on its own.
      await page.focus('#log-follow');
      await page.keyboard.press('Space');
      traffic(server.scgi, '/alice/', 1);
      await until(async () => (await logView(page)).lines
        .filter((l) => l.text.includes('from a request')).length === 7, 'a followed line');
      await page.keyboard.press('Space');
      await page.keyboard.press('Escape');
      await until(async () => !(await logView(page)).open, 'the dialog to close');
      // The dialog's close event (a task after close()) moves the focus.
      await until(async () => await page.evaluate(() => {
        const a = document.activeElement;
        return a && a.dataset ? `${a.dataset.action}:${a.dataset.app}` : String(a);
      }) === 'log:ablog', 'the focus back on ablog\'s Log button');
    });

    await check('Destroy asks to confirm, then the app is idle', async () => {
      writeApp(dir, false);
      let dialog = null;
      page.once('dialog', async (d) => {
        dialog = { type: d.type(), message: d.message() };
        await d.accept();
      });
      await page.click('button[data-action="destroy"][data-app="ablog"]');
      const o = await until(async () => {
        const x = await outcome(page);
        return /destroyed \(200\)/.test(x.text) && x;
      }, 'the destroy outcome');
      assert(dialog && dialog.type === 'confirm' && /ablog/.test(dialog.message),
        `dialog: ${JSON.stringify(dialog)}`);
      assert(/idle/.test(o.text), `outcome: ${o.text}`);
      await until(async () => await field(page, 'ablog', 'state') === 'idle', 'state idle');
      assert(await field(page, 'ablog', 'interpreters') === '0',
        `interpreters ${await field(page, 'ablog', 'interpreters')}`);
    });

    await check('log out clears sessionStorage and shows the token form', async () => {
      await page.click('#logout');
      await page.waitForSelector('#token', { state: 'visible' });
      assert(await page.isHidden('#apps'), 'the apps are still shown');
      assert(await page.locator('#apps-body tr').count() === 0, 'rows left in the DOM');
      const s = await storage(page);
      assert(s.token === null && s.local === 0, `storage after log out: ${JSON.stringify(s)}`);
      await page.reload();
      await page.waitForSelector('#token', { state: 'visible' });
      assert(await page.isHidden('#apps'), 'a page reload signed in again');
    });

    await check('root (admin) sees every app', async () => {
      await signIn(page, ROOT);
      await page.waitForSelector(row('ops'));
      const apps = await shownApps(page);
      assert(JSON.stringify(apps) === '["ablog","ops"]', `apps shown: ${apps}`);
      await page.click('#logout');
    });

    await check('quick mode (no tokens) opens without the token form', async () => {
      const quick = await startQuickServer(dir);
      try {
        await page.goto(quick.url);
        await page.waitForSelector(row('hello'));
        assert(await page.isHidden('#login'), 'the token form is shown');
        assert(JSON.stringify(await shownApps(page)) === '["hello"]', 'apps shown');
      } finally {
        quick.proc.kill('SIGTERM');
        await quick.exited;
      }
    });

    const hostChecks = [
      "host mode: the admin sees both owners' apps and their worker processes",
      "host mode: Log shows an app's lines, relayed from its owner's worker, as text",
      'host mode: a killed worker shows its restart and last exit',
    ];
    const noHost = hostModeUnavailable();
    if (noHost) {
      for (const name of hostChecks) skip(name, noHost);
    } else {
      host = await startHostServer(dir);
      traffic(host.shared, '/b/x', 2);
      await page.goto(host.url);
      await check(hostChecks[0], async () => {
        await signIn(page, ROOT);
        await page.waitForSelector(row('bsite'));
        const apps = await shownApps(page);
        assert(JSON.stringify(apps) === '["asite","bsite"]', `apps shown: ${apps}`);
        for (const [app, owner] of [['asite', 'alice'], ['bsite', 'bob']]) {
          const p = await field(page, app, 'process-summary');
          const want = new RegExp(`^worker pid \\d+ · as ${host.users[owner]} · 0 restarts$`);
          assert(want.test(p), `${app}'s process: ${p}`);
        }
        assert(await page.locator(`${row('asite')} [data-field="last-exit"]`).count() === 0,
          'a last exit before any');
      });
      await check(hostChecks[1], async () => {
        const v = await openLog(page, 'bsite', /from a request/);
        assert(v.title === 'Log: bsite', `title ${v.title}`);
        assert(v.process.includes(`user ${host.users.bob}`), `process line: ${v.process}`);
        const hostile = v.lines.filter((l) => l.text === HOSTILE + ' from a request');
        assert(hostile.length === 2 && hostile.every((l) => l.level === 'warn'),
          `hostile lines: ${JSON.stringify(hostile)}`);
        assert(await page.locator('#log img, img.hostile, #printed-markup').count() === 0,
          'markup from the log was parsed');
        await page.keyboard.press('Escape');
        await until(async () => !(await logView(page)).open, 'the dialog to close');
      });
      await check(hostChecks[2], async () => {
        const before = await field(page, 'asite', 'process-summary');
        const pid = Number(/pid (\d+)/.exec(before)[1]);
        process.kill(pid, 'SIGKILL');
        await until(async () => /· 1 restart$/.test(await field(page, 'asite', 'process-summary')) &&
          /signal 9/.test(await field(page, 'asite', 'last-exit')), 'the restart in the table');
        const after = await field(page, 'asite', 'process-summary');
        assert(!after.includes(`pid ${pid} `), `the same pid after the restart: ${after}`);
        const bob = await field(page, 'bsite', 'process-summary');
        assert(bob.endsWith('· 0 restarts'), `bob's worker restarted too: ${bob}`);
        const shot = path.join(artifacts, 'panel-host.png');
        await page.screenshot({ path: shot, fullPage: true });
        comment(`screenshot: ${shot}`);
        await page.click('#logout');
      });
    }

    await check('no CSP violation or script error on the page', async () => {
      assert(problems.length === 0, problems.join('\n'));
    });
  } catch (e) {
    testNo++;
    failed++;
    console.log(`not ok ${testNo} - the run stopped`);
    comment(e && e.stack ? e.stack : String(e));
  } finally {
    if (browser) await browser.close().catch(() => {});
  }

  if (host) {
    await check('the host-mode master exits cleanly on SIGTERM', async () => {
      host.proc.kill('SIGTERM');
      const { code, sig } = await Promise.race([host.exited,
        new Promise((r) => setTimeout(() => r({ code: 'none', sig: 'still running' }), STEP_MS))]);
      if (code === 'none') host.proc.kill('SIGKILL');
      assert(code === 0, `exit ${code} ${sig || ''}`);
    });
  }
  await removeHostUsers();
  if (server) {
    await check('the server exits cleanly on SIGTERM', async () => {
      server.proc.kill('SIGTERM');
      const { code, sig } = await Promise.race([server.exited,
        new Promise((r) => setTimeout(() => r({ code: 'none', sig: 'still running' }), STEP_MS))]);
      if (code === 'none') server.proc.kill('SIGKILL');
      assert(code === 0, `exit ${code} ${sig || ''}`);
    });
  }
  clearTimeout(watchdog);
  if (failed) {
    comment('server log (tail):\n' + serverLogTail(dir));
    if (host) comment('host-mode master log (tail):\n' + serverLogTail(dir, 40, 'host.log'));
  }
  else fs.rmSync(dir, { recursive: true, force: true });
  console.log(`1..${testNo}`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.log('Bail out! ' + (e && e.message));
  process.exit(1);
});
