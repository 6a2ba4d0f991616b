// engage_journey.mjs — one user's journey through Engage (3001) in Debian's Chromium,
// driven by playwright-core: sign in through the real OIDC page, open the inbox, claim
// the process's task, submit its form-js form with an invalid value (form-js shows the
// error), then a valid one; then a JSON Schema task whose invalid answer the server
// refuses with a 422 shown beside the field; a comment; sign out. Screenshots go to the
// artifacts directory. Usage: node engage_journey.mjs CONFIG_JSON
// CONFIG: {engage, email, password, tenant, artifacts, processTask, schemaTask}
// Prints one JSON line {ok, steps, blocked} on stdout; exit code 0 only when ok.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const cfg = JSON.parse(process.argv[2]);
const steps = [];
const blocked = [];
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-chromium-'));

const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 800 },
});
// loopback only: anything else is refused and reported
await context.route('**/*', route => {
  const u = new URL(route.request().url());
  if (u.hostname === '127.0.0.1' || u.protocol === 'data:' || u.protocol === 'blob:') return route.continue();
  blocked.push(route.request().url());
  return route.abort();
});
const page = context.pages()[0] || await context.newPage();
const consoleErrors = [];
page.on('pageerror', e => consoleErrors.push(String(e)));

async function shot(name) {
  await page.screenshot({ path: path.join(cfg.artifacts, name + '.png'), fullPage: true });
  steps.push(name);
}

let ok = false, error = null;
try {
  page.setDefaultTimeout(15000);
  await page.goto(cfg.engage);
  await page.getByRole('button', { name: 'Sign in' }).click();
  // the provider's page (8002): labelled fields, plain HTML
  await page.getByLabel('Email').fill(cfg.email);
  await page.getByLabel('Password').fill(cfg.password);
  await page.getByLabel('Tenant').fill(cfg.tenant);
  await shot('01-oidc-sign-in');
  await page.getByRole('button', { name: /sign in/i }).click();
  await page.waitForURL(u => new URL(u).port === new URL(cfg.engage).port);
  await page.getByText(cfg.email + ' · tenant ' + cfg.tenant).waitFor();
  await shot('02-inbox-mine');
  // a refresh through the token endpoint gives a new access token that works
  const refreshed = await page.evaluate(async () => {
    const m = await import('/common/auth.js');
    const before = JSON.parse(sessionStorage.getItem('fm.session')).access;
    await m.refresh();
    const after = JSON.parse(sessionStorage.getItem('fm.session')).access;
    return before !== after && (await m.api('GET', '/tasks?limit=1')).ok;
  });
  if (!refreshed) throw new Error('token refresh did not give a working new access token');
  steps.push('refreshed');

  // the process's task is offered, not assigned: "Unassigned" lists it
  await page.getByRole('navigation', { name: 'Task filters' }).getByRole('link', { name: 'Unassigned' }).click();
  await page.getByRole('link', { name: new RegExp(cfg.processTask) }).click();
  await page.getByRole('button', { name: 'Claim' }).click();
  await page.getByRole('button', { name: 'Complete task' }).waitFor();
  await page.getByLabel('Amount approved').fill('9000');
  await page.getByLabel('Comment', { exact: false }).first().fill('looks fine');
  await page.getByRole('button', { name: 'Complete task' }).click();
  await page.getByText('Field must have maximum value of 5000.').waitFor();
  await shot('03-formjs-invalid');
  await page.getByLabel('Amount approved').fill('1200');
  await page.getByRole('button', { name: 'Complete task' }).click();
  await page.getByText('Task "' + cfg.processTask + '" completed.').waitFor();
  await shot('04-formjs-completed');

  // a JSON Schema task: the server's 422 lands beside the field
  await page.getByRole('link', { name: 'All open' }).click();
  await page.getByRole('link', { name: new RegExp(cfg.schemaTask) }).click();
  await page.getByRole('button', { name: 'Claim' }).click();
  await page.getByRole('button', { name: 'Complete task' }).waitFor();
  await page.getByLabel(/^amount/).fill('9000');
  await page.getByRole('button', { name: 'Complete task' }).click();
  const err = page.locator('#f-amount-error');
  await err.filter({ hasText: /5000/ }).waitFor();
  if ((await page.locator('#f-amount').getAttribute('aria-invalid')) !== 'true') throw new Error('amount not marked invalid');
  steps.push('server-422: ' + (await err.textContent()));
  await shot('05-jsonschema-server-422');
  await page.getByLabel('Add a comment').fill('Over budget, trying again');
  await page.getByRole('button', { name: 'Post comment' }).click();
  await page.locator('#comments').getByText('Over budget, trying again').waitFor();
  await page.getByLabel(/^amount/).fill('4000');
  await page.getByRole('button', { name: 'Complete task' }).click();
  await page.getByText('Task "' + cfg.schemaTask + '" completed.').waitFor();

  // a phone: one column
  await page.setViewportSize({ width: 390, height: 844 });
  await shot('06-phone-inbox');

  const refreshToken = await page.evaluate(() => JSON.parse(sessionStorage.getItem('fm.session')).refresh);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  // sign-out revoked the session: its refresh token is refused now
  const after = await page.evaluate(async rt => {
    const r = await fetch('/api/sso/token', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: rt, client_id: 'cli_flowmaster_web' }) });
    return { status: r.status, stored: sessionStorage.getItem('fm.session') };
  }, refreshToken);
  if (after.status !== 400 || after.stored !== null) throw new Error('sign-out left a usable session: ' + JSON.stringify(after));
  steps.push('signed-out-revoked');
  await shot('07-signed-out');
  ok = blocked.length === 0 && consoleErrors.length === 0;
  if (!ok) error = 'blocked or page errors';
} catch (e) {
  error = String(e && e.message || e).slice(0, 2000);
  await page.screenshot({ path: path.join(cfg.artifacts, 'failure.png'), fullPage: true }).catch(() => {});
}
await context.close();
fs.rmSync(profile, { recursive: true, force: true });
console.log(JSON.stringify({ ok, error, steps, blocked, consoleErrors }));
process.exit(ok ? 0 : 1);
