// web_load.mjs — first-load numbers of the web apps in Debian's Chromium (playwright-core
// from tests/browser/node_modules): per app, with the browser cache off, the time from
// navigation start until the app is usable (Engage: the task list shown; Designer: the
// canvas drawn) and the bytes transferred (Resource Timing transferSize: the server does
// not compress, so these are the plain sizes); then the designer opening a large model.
// Usage: node bench/web_load.mjs CONFIG_JSON — run by bench/web_bench.py.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'tests', 'browser', 'package.json'));
const { chromium } = require('playwright-core');
const cfg = JSON.parse(process.argv[2]);
const runs = cfg.runs || 5;

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 800 },
});
await context.route('**/*', r => new URL(r.request().url()).hostname === '127.0.0.1' ? r.continue() : r.abort());
const page = context.pages()[0] || await context.newPage();
page.setDefaultTimeout(60000);
const cdp = await context.newCDPSession(page);
await cdp.send('Network.enable');
await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });

const signedIn = new Set();   // origins: the session lives in each origin's sessionStorage
async function signIn(url) {
  if (signedIn.has(new URL(url).origin)) return;
  signedIn.add(new URL(url).origin);
  await page.goto(url);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('Email').fill(cfg.email);
  await page.getByLabel('Password').fill(cfg.password);
  await page.getByLabel('Tenant').fill(cfg.tenant);
  await page.getByRole('button', { name: /sign in/i }).click();
  await page.waitForURL(u => new URL(u).port === new URL(url).port);
  await page.getByText(cfg.email + ' · tenant ' + cfg.tenant).waitFor();
}

async function measure(url, ready) {
  await page.goto(url);
  await ready();
  return page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const res = performance.getEntriesByType('resource');
    const bytes = nav.transferSize + res.reduce((n, r) => n + r.transferSize, 0);
    return { ms: performance.now(), bytes, requests: res.length + 1 };
  });
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function report(label, samples) {
  console.log(label.padEnd(44) + ' median ' + median(samples.map(s => s.ms)).toFixed(0).padStart(6) + ' ms  ' +
              (samples[0].bytes / 1024).toFixed(0).padStart(6) + ' KiB in ' + samples[0].requests + ' requests' +
              '  (' + samples.length + ' runs)');
}

const apps = [
  { name: 'admin (3000) processes', url: cfg.admin,
    ready: () => page.getByRole('table', { name: 'Processes' }).waitFor() },
  { name: 'designer (3002) decisions page', url: cfg.designer + 'decisions.html',
    ready: () => page.locator('#canvas table').first().waitFor() },
  { name: 'designer (3002) forms page', url: cfg.designer + 'forms.html',
    ready: () => page.locator('#form-editor .fjs-form-field-textfield').first().waitFor() },
  { name: 'engage (3001) inbox', url: cfg.engage, ready: () => page.locator('#list-count').filter({ hasText: /task/ }).waitFor() },
  { name: 'designer (3002) new diagram', url: cfg.designer,
    ready: () => page.locator('.djs-shape[data-element-id="StartEvent_1"]').waitFor({ state: 'attached' }) },
];
for (const app of apps) {
  await signIn(app.url);
  const samples = [];
  for (let i = 0; i < runs; i++) samples.push(await measure(app.url, app.ready));
  report(app.name, samples);
}
const big = [];
for (let i = 0; i < runs; i++) {
  await page.goto('about:blank');
  big.push(await measure(cfg.designer + '#process=' + cfg.bigProcess, () => page.waitForFunction(
    n => document.querySelectorAll('.djs-element[data-element-id]').length >= n, cfg.bigElements, { polling: 50 })));
}
report('designer opening a ' + cfg.bigElements + '-element model', big);
await context.close();
fs.rmSync(profile, { recursive: true, force: true });
