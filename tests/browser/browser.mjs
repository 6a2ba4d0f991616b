// browser.mjs — what the browser journeys share: Debian's Chromium launched headless by
// playwright-core with a fresh profile, every request outside 127.0.0.1 refused and
// recorded, page errors recorded, screenshots into the artifacts directory, and signing
// in through the real OIDC page of the SSO module.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

export async function launch(artifacts) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 800 },
  });
  const b = { context, profile, artifacts, steps: [], blocked: [], pageErrors: [] };
  await context.route('**/*', route => {
    const u = new URL(route.request().url());
    if (u.hostname === '127.0.0.1' || u.protocol === 'data:' || u.protocol === 'blob:') return route.continue();
    b.blocked.push(route.request().url());
    return route.abort();
  });
  b.page = context.pages()[0] || await context.newPage();
  b.page.on('pageerror', e => b.pageErrors.push(String(e)));
  b.page.setDefaultTimeout(15000);
  b.shot = async name => {
    await b.page.screenshot({ path: path.join(artifacts, name + '.png'), fullPage: true });
    b.steps.push(name);
  };
  return b;
}

/** From the app's "Sign in" button through the provider's page back to the app. */
export async function signIn(b, appUrl, email, password, tenant, shotName) {
  const page = b.page;
  await page.goto(appUrl);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByLabel('Tenant').fill(tenant);
  if (shotName) await b.shot(shotName);
  await page.getByRole('button', { name: /sign in/i }).click();
  await page.waitForURL(u => new URL(u).port === new URL(appUrl).port);
  await page.getByText(email + ' · tenant ' + tenant).waitFor();
}

/**
 * axe-core (pinned in package-lock.json) on the page as it stands: throws on any
 * violation of impact serious or critical, records the rest as a step.
 */
export async function axe(b, label) {
  const page = b.page;
  if (!(await page.evaluate(() => !!window.axe))) await page.addScriptTag({ path: AXE });
  const v = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ['violations'] }))
    .violations.map(x => ({ id: x.id, impact: x.impact, nodes: x.nodes.slice(0, 3).map(n => n.target.join(' ')) })));
  const bad = v.filter(x => x.impact === 'serious' || x.impact === 'critical');
  if (bad.length) throw new Error('axe on ' + label + ': ' + JSON.stringify(bad).slice(0, 1500));
  b.steps.push('axe ' + label + ': ' + v.length + ' minor');
}

/** Runs the journey, prints one JSON line {ok, error, steps, blocked, pageErrors}, exits. */
export async function run(artifacts, journey) {
  const b = await launch(artifacts);
  let ok = false, error = null;
  try {
    await journey(b);
    ok = b.blocked.length === 0 && b.pageErrors.length === 0;
    if (!ok) error = 'requests outside 127.0.0.1 or page errors';
  } catch (e) {
    error = String(e && e.message || e).slice(0, 2000);
    await b.page.screenshot({ path: path.join(artifacts, 'failure.png'), fullPage: true }).catch(() => {});
  }
  await b.context.close();
  fs.rmSync(b.profile, { recursive: true, force: true });
  console.log(JSON.stringify({ ok, error, steps: b.steps, blocked: b.blocked, pageErrors: b.pageErrors }));
  process.exit(ok ? 0 : 1);
}
