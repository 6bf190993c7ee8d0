// The outwork dashboard in a real browser (Debian's chromium, headless,
// driven by playwright-core). Starts nothing itself: the Rust test
// crates/outwork-server/tests/dashboard_browser.rs starts the server, seeds
// it with real scans and a quarantined message, then runs this with:
//   DASH_URL          http://127.0.0.1:PORT/dashboard/
//   DASH_TOKEN        the admin token
//   RELEASE_SUBJECT   subject of the quarantined message to release
//   SCREENSHOT_DIR    where the PNGs go
//   CHROMIUM          the browser binary (default /usr/bin/chromium)
// Exits non-zero on any failed check, console error or CSP violation.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const url = process.env.DASH_URL;
const token = process.env.DASH_TOKEN;
const releaseSubject = process.env.RELEASE_SUBJECT || '';
const shots = process.env.SCREENSHOT_DIR || 'target/dashboard-screenshots';
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!url || !token) {
  console.error('DASH_URL and DASH_TOKEN are required');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

const problems = [];
const fail = (m) => { problems.push(m); console.error('FAIL: ' + m); };
const step = (m) => console.log('-- ' + m);

const browser = await chromium.launch({
  executablePath,
  headless: true,
  // Root in CI containers: chromium's sandbox needs user namespaces.
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  // Collect CSP violations from inside the page (the init script is
  // injected by the browser, not subject to the page's CSP).
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
    });
  });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') fail('console error: ' + m.text());
  });
  page.on('pageerror', (e) => fail('page error: ' + e.message));
  // The only dialog the flow opens is the delete confirmation; any other
  // (an alert) would be script injected from a message.
  let expectConfirm = false;
  page.on('dialog', async (d) => {
    if (expectConfirm && d.type() === 'confirm') {
      expectConfirm = false;
      await d.accept();
      return;
    }
    fail('unexpected dialog: ' + d.type() + ' ' + d.message());
    await d.dismiss();
  });
  const cspCheck = async (where) => {
    const v = await page.evaluate(() => window.__csp || []);
    for (const x of v) fail('CSP violation on ' + where + ': ' + x);
  };
  const shot = async (name) => {
    await page.screenshot({ path: join(shots, name + '.png'), fullPage: true });
  };

  step('verdicts');
  const resp = await page.goto(url, { waitUntil: 'networkidle' });
  const csp = resp.headers()['content-security-policy'] || '';
  if (!csp.includes("script-src 'self'")) fail('no strict CSP header: ' + csp);
  await page.waitForSelector('#verdicts-table tbody tr a');
  const rows = await page.locator('#verdicts-table tbody tr').count();
  if (rows < 4) fail('expected at least 4 verdict rows, got ' + rows);
  // The hostile subject is shown as text, and made no element.
  const hostile = page.getByRole('link', { name: '<img src=x onerror=alert(1)>' });
  if ((await hostile.count()) !== 1) fail('hostile subject not shown as text');
  if ((await page.locator('main img').count()) !== 0) fail('an <img> made it into the page');
  await shot('verdicts');
  await cspCheck('verdicts');

  step('verdicts fit 1400 px');
  await page.setViewportSize({ width: 1400, height: 900 });
  const fit = await page.evaluate(() => {
    const t = document.querySelector('#verdicts-table');
    const heads = [...t.querySelectorAll('thead th')].map((h) => h.textContent);
    const symHead = [...t.querySelectorAll('thead th')].find((h) => h.textContent === 'Symbols');
    const long = [...t.querySelectorAll('td.subject')].find((c) => c.textContent.includes('security questions'));
    const cs = long ? getComputedStyle(long) : null;
    return {
      heads,
      overflow: t.scrollWidth - t.parentElement.clientWidth,
      pageOverflow: document.documentElement.scrollWidth - window.innerWidth,
      symRight: symHead ? symHead.getBoundingClientRect().right : 1e9,
      ellipsis: !!cs && cs.textOverflow === 'ellipsis' && long.scrollWidth > long.clientWidth,
      title: long ? long.title : '',
      symbols: [...t.querySelectorAll('td.symbols')].map((c) => c.textContent).join(' '),
      sources: [...t.querySelectorAll('td.source')].map((c) => c.textContent),
      since: document.querySelector('label[for=f-since]').textContent,
    };
  });
  if (fit.overflow > 1 || fit.pageOverflow > 1) fail('verdict table overflows at 1400 px: ' + JSON.stringify(fit));
  if (fit.symRight > 1400) fail('Symbols column off-screen: ' + fit.symRight);
  if (!fit.ellipsis || !fit.title.includes('security questions')) fail('long subject not ellipsised with a tooltip');
  if (!/LINK_TEXT_TYPOSQUAT\(\d+\.\d\d\)/.test(fit.symbols)) fail('symbols without scores: ' + fit.symbols);
  if (fit.heads.join('|') !== 'Time|Source|Action|Score|From|To|Subject|Symbols') fail('columns: ' + fit.heads.join('|'));
  if (!fit.sources.includes('checkv2') || !fit.sources.includes('scan')) fail('sources: ' + fit.sources);
  if (fit.since !== 'Since') fail('date filter named ' + fit.since);
  await shot('verdicts-1400');
  await page.setViewportSize({ width: 1280, height: 900 });

  step('filter by action');
  await page.selectOption('#f-action', 'accept');
  await page.click('#filters button[type=submit]');
  await page.waitForFunction(() => {
    const b = [...document.querySelectorAll('#verdicts-table tbody .action')];
    return b.length > 0 && b.every((x) => x.textContent === 'accept');
  });
  await shot('verdicts-filtered');
  step('search');
  await page.selectOption('#f-action', '');
  await page.fill('#f-q', 'bob@example');
  await page.press('#f-q', 'Enter');
  await page.waitForFunction(() => document.querySelectorAll('#verdicts-table tbody tr').length === 1);
  if ((await page.locator('#verdicts-count').textContent()) !== '1 matching message.') fail('search count wrong');
  await page.click('#filters button[type=reset]');
  await page.waitForFunction(() => document.querySelectorAll('#verdicts-table tbody tr').length >= 4);

  step('message view');
  await hostile.click();
  await page.waitForSelector('#page-message:not([hidden]) #msg-symbols tbody tr');
  const subj = await page.locator('#msg-meta dd').first().textContent();
  if (subj !== '<img src=x onerror=alert(1)>') fail('message subject shown as ' + JSON.stringify(subj));
  if (!(await page.locator('#msg-headers').isHidden())) fail('raw headers shown before the toggle');
  // Keyboard: focus the toggle and press Enter.
  await page.focus('#toggle-headers');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#msg-headers:not([hidden])');
  const raw = await page.locator('#msg-headers').textContent();
  if (!raw.includes('Subject: <img src=x onerror=alert(1)>')) fail('raw headers lack the subject as text');
  if ((await page.locator('main img, main script').count()) !== 0) fail('markup from the message was rendered');
  await shot('message');
  await cspCheck('message');

  step('status');
  await page.goto(url + '#/status', { waitUntil: 'networkidle' });
  await page.waitForSelector('#chart-throughput svg rect');
  await page.waitForSelector('#chart-days svg rect');
  await page.waitForSelector('#status-config');
  const cfg = await page.locator('#status-config').textContent();
  if (cfg.includes(token)) fail('the token appears on the status page');
  if ((await page.locator('#intel-table tr.stale').count()) < 1) fail('no stale intel source highlighted');
  // Round y-axis ticks (1, 2 or 5 × 10^k apart, from 0), and the hourly
  // chart names the time zone its hours are in.
  for (const id of ['#chart-throughput', '#chart-days']) {
    const ticks = (await page.locator(id + ' svg text.tick').allTextContents()).map(Number);
    const step = ticks[1] - ticks[0];
    const round = step >= 1 && /^[125]0*$/.test(String(step));
    if (ticks[0] !== 0 || !round || ticks.some((v, i) => v !== i * step)) fail(id + ' ticks not round: ' + ticks);
  }
  const hh = await page.locator('#hours-heading').textContent();
  if (!/your time: .*UTC[+−]\d\d:\d\d/.test(hh)) fail('hourly chart without its time zone: ' + hh);
  await shot('status');
  await cspCheck('status');

  step('log in and release');
  await page.goto(url + '#/quarantine', { waitUntil: 'networkidle' });
  if (!(await page.locator('#page-quarantine .needs-login').isVisible())) fail('quarantine did not ask to log in');
  await page.goto(url + '#/login');
  await page.fill('#token', token);
  await page.press('#token', 'Enter');
  await page.waitForFunction(() => document.querySelector('#auth-state').textContent === 'logged in');
  await page.waitForSelector('#quarantine-table tbody tr button[data-action=release]');
  // The session cookie is HttpOnly: no script can read it.
  const visible = await page.evaluate(() => document.cookie);
  if (visible.includes('outwork_session')) fail('session cookie readable by script');
  await shot('quarantine');
  // Each quarantined message says why it is there: its action and what
  // weighed most.
  const whys = await page.locator('#quarantine-table tbody td[data-label=Why]').allTextContents();
  if (!whys.length || !whys.every((w) => /^(accept|tag|quarantine|reject):/.test(w))) fail('quarantine reasons: ' + JSON.stringify(whys));
  const row = page.locator('#quarantine-table tbody tr', { hasText: releaseSubject });
  if ((await row.count()) !== 1) fail('quarantined message ' + releaseSubject + ' not listed');
  await row.getByRole('button', { name: 'Release' }).click();
  await page.waitForFunction(() => /^Released /.test(document.querySelector('#notice').textContent));
  await page.waitForFunction((s) => ![...document.querySelectorAll('#quarantine-table tbody tr')]
    .some((r) => r.textContent.includes(s)), releaseSubject);
  await shot('quarantine-released');
  await cspCheck('quarantine');

  step('quarantined message view and delete');
  const left = await page.locator('#quarantine-table tbody tr a').count();
  if (left < 1) fail('nothing left in the quarantine to view');
  await page.locator('#quarantine-table tbody tr a').first().click();
  await page.waitForSelector('#page-qmessage:not([hidden]) #q-symbols tbody tr');
  await page.click('#q-toggle-headers');
  await page.waitForSelector('#q-headers:not([hidden])');
  await shot('quarantine-message');
  expectConfirm = true;
  await page.click('#q-delete');
  await page.waitForFunction(() => /^Deleted /.test(document.querySelector('#notice').textContent));
  await page.waitForFunction((n) => location.hash === '#/quarantine' &&
    document.querySelectorAll('#quarantine-table tbody tr a').length === n - 1, left);
  if (expectConfirm) fail('delete asked for no confirmation');
  await cspCheck('quarantine message');

  step('scan a URL');
  await page.goto(url + '#/scan', { waitUntil: 'networkidle' });
  await page.fill('#scan-url', 'http://paypa1-secure.example/login');
  await page.click('#scan-url-form button[type=submit]');
  await page.waitForSelector('#scan-result:not([hidden]) #scan-meta dd');
  await shot('scan');
  step('upload a message');
  await page.setInputFiles('#scan-file', fileURLToPath(new URL('../../samples/phish-typosquat.eml', import.meta.url)));
  await page.click('#scan-file-form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#scan-meta .action')?.textContent === 'reject');
  await page.locator('#scan-meta a', { hasText: 'open' }).click();
  await page.waitForSelector('#page-message:not([hidden]) #msg-symbols tbody tr');
  const src = await page.locator('#msg-meta dt', { hasText: 'Scanned by' }).locator('xpath=following-sibling::dd[1]').textContent();
  if (src !== 'dashboard') fail('uploaded scan recorded as ' + src);
  await cspCheck('scan');

  step('reports');
  await page.goto(url + '#/reports', { waitUntil: 'networkidle' });
  await page.waitForSelector('#reports-list li');
  await shot('reports');
  await cspCheck('reports');

  step('phone');
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const p2 = await phone.newPage();
  p2.on('console', (m) => { if (m.type() === 'error') fail('console error (phone): ' + m.text()); });
  await p2.goto(url, { waitUntil: 'networkidle' });
  await p2.waitForSelector('#verdicts-table tbody tr a');
  const overflow = await p2.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 2) fail('the page scrolls sideways on a phone by ' + overflow + 'px');
  await p2.screenshot({ path: join(shots, 'verdicts-phone.png'), fullPage: true });
  await phone.close();
} catch (e) {
  fail(String(e && e.stack || e));
  // Where it stopped, for the log and a look.
  for (const pg of browser.contexts().flatMap((c) => c.pages())) {
    try {
      console.error('at ' + pg.url() + ', notice: ' + JSON.stringify(await pg.locator('#notice').textContent()));
      await pg.screenshot({ path: join(shots, 'failure.png'), fullPage: true });
    } catch (_) { /* the page may be gone */ }
  }
} finally {
  await browser.close();
}
if (problems.length) {
  console.error(problems.length + ' problem(s)');
  process.exit(1);
}
console.log('ok: screenshots in ' + shots);
