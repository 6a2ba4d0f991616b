// engage_journey.mjs — one user's journey through Engage (3001) in Debian's Chromium,
// driven by playwright-core: sign in through the real OIDC page, open the inbox, claim
// the process's task, submit its form-js form with an invalid value (form-js shows the
// error), then a valid one; then a JSON Schema task whose invalid answer the server
// refuses with a 422 shown beside the field; a comment; sign out. Screenshots go to the
// artifacts directory. Usage: node engage_journey.mjs CONFIG_JSON
// CONFIG: {engage, email, password, tenant, artifacts, processTask, schemaTask}
// Prints one JSON line {ok, error, steps, blocked, pageErrors}; exit code 0 only when ok.
import { axe, run, signIn } from './browser.mjs';

const cfg = JSON.parse(process.argv[2]);

await run(cfg.artifacts, async b => {
  const page = b.page;
  // the provider's page (8002): labelled fields, plain HTML
  await signIn(b, cfg.engage, cfg.email, cfg.password, cfg.tenant, '01-oidc-sign-in');
  await b.shot('02-inbox-mine');
  // a refresh through the token endpoint gives a new access token that works
  const refreshed = await page.evaluate(async () => {
    const m = await import('/common/auth.js');
    const before = JSON.parse(sessionStorage.getItem('fm.session')).access;
    await m.refresh();
    const after = JSON.parse(sessionStorage.getItem('fm.session')).access;
    return before !== after && (await m.api('GET', '/tasks?limit=1')).ok;
  });
  if (!refreshed) throw new Error('token refresh did not give a working new access token');
  b.steps.push('refreshed');

  await axe(b, 'inbox');

  // keyboard only: the process's task is offered, not assigned: "Unassigned" lists it
  await page.reload();
  await page.getByRole('heading', { name: 'My tasks' }).waitFor();
  const focused = () => page.evaluate(() => (document.activeElement.textContent || '').trim());
  const tabTo = async (re, max = 40) => {
    for (let i = 0; i < max; i++) {
      await page.keyboard.press('Tab');
      if (re.test(await focused())) return;
    }
    throw new Error('Tab never reached ' + re + ' (last: ' + (await focused()) + ')');
  };
  await page.keyboard.press('Tab');
  if ((await focused()) !== 'Skip to content') throw new Error('the first Tab stop is not the skip link');
  await page.keyboard.press('Enter');
  await tabTo(/^Unassigned$/);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Unassigned' }).waitFor();
  await tabTo(new RegExp('^' + cfg.processTask));
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: cfg.processTask }).waitFor();
  await page.waitForFunction(() => document.activeElement.id === 'task-title');
  await tabTo(/^Claim$/);
  await page.keyboard.press('Enter');
  await page.getByRole('button', { name: 'Complete task' }).waitFor();
  b.steps.push('keyboard-claim');
  // the task's place in its process: the Views API's diagram, the task highlighted
  // (this model has no BPMNDI: the Views API's laid-out SVG, as an <img>)
  await page.getByRole('figure', { name: 'This task (Approve) is highlighted in its process.' })
    .getByRole('img', { name: 'The process diagram' }).waitFor();
  await axe(b, 'task');
  await b.shot('02b-task-claimed-diagram');
  await page.getByLabel('Amount approved').fill('9000');
  await page.getByLabel('Comment', { exact: false }).first().fill('looks fine');
  await page.getByRole('button', { name: 'Complete task' }).click();
  await page.getByText('Field must have maximum value of 5000.').waitFor();
  await b.shot('03-formjs-invalid');
  await page.getByLabel('Amount approved').fill('1200');
  await page.getByRole('button', { name: 'Complete task' }).click();
  await page.getByText('Task "' + cfg.processTask + '" completed.').waitFor();
  await b.shot('04-formjs-completed');

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
  b.steps.push('server-422: ' + (await err.textContent()));
  await b.shot('05-jsonschema-server-422');
  await page.getByLabel('Add a comment').fill('Over budget, trying again');
  await page.getByRole('button', { name: 'Post comment' }).click();
  await page.locator('#comments').getByText('Over budget, trying again').waitFor();
  await page.getByLabel(/^amount/).fill('4000');
  await page.getByRole('button', { name: 'Complete task' }).click();
  await page.getByText('Task "' + cfg.schemaTask + '" completed.').waitFor();

  // a phone: one column
  await page.setViewportSize({ width: 390, height: 844 });
  await b.shot('06-phone-inbox');

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
  b.steps.push('signed-out-revoked');
  await b.shot('07-signed-out');
});
