// admin_journey.mjs — the admin console (3000) in Debian's Chromium: sign in through the
// OIDC page; users (a 422 shown at its field, then a user added), a group and a member,
// a role, a service account (its API key shown once), a tenant with its own admin, the
// registry's health; a draft process published and started with variables; an instance
// stopped by an incident fixed (variables) and retried; a rule set evaluated; the
// process archived; axe-core on every section. Then the new tenant's admin sees none of
// the first tenant's data, here and in Engage.
// Usage: node admin_journey.mjs CONFIG_JSON
// CONFIG: {admin, engage, email, password, tenant, artifacts, draft: {id, name}, stuck, rule: {id, name}}
import { axe, run, signIn } from './browser.mjs';

const cfg = JSON.parse(process.argv[2]);

await run(cfg.artifacts, async b => {
  const page = b.page;
  const heading = text => page.getByRole('heading', { level: 2, name: text, exact: true }).waitFor();
  const nav = async name => {   // the heading changes with the section's body (admin.js render)
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name, exact: true }).click();
    await heading(name);
  };
  await signIn(b, cfg.admin, cfg.email, cfg.password, cfg.tenant, 'a01-oidc-sign-in');
  await heading('Processes');
  await axe(b, 'processes');
  await b.shot('a02-processes');

  // users: the server's 422 lands at the email field, then a good user is added
  await nav('Users');
  await heading('Users');
  await axe(b, 'users');
  await page.getByLabel('Email (required)').fill('not-an-email');
  await page.getByLabel('Password (required)').fill('a long enough password 1');
  await page.getByRole('button', { name: 'Add user' }).click();
  const err = page.locator('#user-form-email-error');
  await err.filter({ hasText: /./ }).waitFor();
  if ((await page.getByLabel('Email (required)').getAttribute('aria-invalid')) !== 'true') throw new Error('email not marked invalid');
  b.steps.push('field-error: ' + (await err.textContent()));
  await b.shot('a03-user-field-error');
  await page.getByLabel('Email (required)').fill('clerk@example.org');
  await page.getByLabel('Name', { exact: true }).fill('Carla Clerk');
  await page.getByRole('button', { name: 'Add user' }).click();
  await page.getByRole('cell', { name: 'clerk@example.org', exact: true }).waitFor();

  // a group with the clerk as member
  await nav('Groups');
  await page.getByLabel('Name (required)').fill('clerks');
  await page.getByRole('button', { name: 'Add group' }).click();
  await page.getByRole('link', { name: 'clerks' }).click();
  await heading('Group: clerks');
  const clerkId = await page.locator('#member-form-userId option').evaluateAll(
    (opts, hint) => opts.map(o => o.value).find(v => hint.includes(v + ' = clerk@example.org')),
    await page.locator('#member-form-userId-hint').textContent());
  await page.getByLabel('User (required)').selectOption(clerkId);
  await page.getByRole('button', { name: 'Add member' }).click();
  await page.getByRole('cell', { name: 'clerk@example.org', exact: true }).waitFor();
  await axe(b, 'group');

  // a custom role
  await nav('Roles');
  await page.getByLabel('Name (required)').fill('auditor');
  await page.getByLabel('Grants (required)').fill('process:read, execution:read');
  await page.getByRole('button', { name: 'Add role' }).click();
  await page.getByRole('cell', { name: 'auditor', exact: true }).waitFor();
  await axe(b, 'roles');

  // a service account: its API key is shown once
  await nav('Service accounts');
  await page.getByLabel('Name (required)').fill('ci-bot');
  await page.getByRole('button', { name: 'Add service account' }).click();
  await page.locator('#api-key pre').filter({ hasText: /\S{16,}/ }).waitFor();
  await axe(b, 'service accounts');
  await b.shot('a04-api-key');

  // a second tenant with its own admin
  await nav('Tenants');
  await page.getByLabel('Id (required)').fill('acme');
  await page.getByLabel('Name (required)').fill('ACME Ltd');
  await page.getByLabel('Its first admin: email').fill('boss@acme.example');
  await page.getByLabel('Its first admin: password').fill('acme admin password 1');
  await page.getByRole('button', { name: 'Add tenant' }).click();
  await page.getByRole('cell', { name: 'ACME Ltd', exact: true }).waitFor();
  await axe(b, 'tenants');

  // the registry and health
  await nav('Services and health');
  await page.getByRole('cell', { name: /Authentication Service/ }).waitFor();
  const up = await page.locator('.health-up').count();
  if (up < 10) throw new Error('only ' + up + ' services shown up');
  await axe(b, 'services');
  await b.shot('a05-services');

  // a draft process: publish it, start it with variables, see it completed
  await nav('Processes');
  await page.getByRole('link', { name: cfg.draft.name }).click();
  await heading('Process: ' + cfg.draft.name);
  await page.getByRole('button', { name: 'Publish' }).click();
  await page.getByRole('cell', { name: '1', exact: true }).waitFor();
  await page.getByLabel('Business key').fill('BK-7');
  await page.getByLabel('Variables (JSON object)').fill('{"region": ');
  await page.getByRole('button', { name: 'Start' }).click();
  await page.locator('#start-form-variables-error').filter({ hasText: /not valid JSON/ }).waitFor();
  await page.getByLabel('Variables (JSON object)').fill('{"region": "north"}');
  await page.getByRole('button', { name: 'Start' }).click();
  await heading(/^Instance exe_/);
  await page.locator('.facts').getByText('completed').waitFor();
  await page.getByRole('img', { name: /elements this instance reached: S, E/ }).waitFor();
  await axe(b, 'instance');
  await b.shot('a06-started-completed');

  // the stuck instance: an incident on Split; fix its variables, retry, completed
  await nav('Incidents');
  await page.getByRole('cell', { name: 'Split', exact: true }).waitFor();
  await axe(b, 'incidents');
  await page.getByRole('link', { name: cfg.stuck }).first().click();
  await heading('Instance ' + cfg.stuck);
  await b.shot('a07-incident');
  await page.getByLabel('Variables (JSON object)').fill('{"customer": "ACME", "amount": 500}');
  await page.getByRole('button', { name: 'Save variables' }).click();
  await page.getByText('Variables saved.').waitFor();
  await page.getByRole('button', { name: /^Retry incident/ }).click();
  await page.getByText('Incident retried.').waitFor();
  await page.locator('.facts').getByText('completed').waitFor();
  await page.getByRole('cell', { name: 'resolved', exact: true }).waitFor();
  await b.shot('a08-incident-retried');

  // instances list filtered by state
  await nav('Instances');
  await page.getByLabel('State').selectOption('completed');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.getByRole('link', { name: cfg.stuck }).waitFor();
  await axe(b, 'instances');

  // a rule set: evaluate it
  await nav('Rule sets');
  await page.getByRole('link', { name: cfg.rule.name }).click();
  await page.getByLabel(/^Decision/).fill('Approval Status');
  await page.getByLabel('Inputs (JSON object)').fill('{"Applicant Age": 30, "Risk Category": "Low"}');
  await page.getByRole('button', { name: 'Evaluate' }).click();
  await page.locator('#evaluate-result').filter({ hasText: '"Approved"' }).waitFor();
  await axe(b, 'rule set');
  await b.shot('a09-rule-evaluated');

  // archive the process
  await nav('Processes');
  await page.getByRole('link', { name: cfg.draft.name }).click();
  await heading('Process: ' + cfg.draft.name);
  page.once('dialog', d => d.accept());
  await page.getByRole('button', { name: 'Archive' }).click();
  await page.getByText('Archived "' + cfg.draft.name + '".').waitFor();

  // keyboard: on a fresh load the first Tab stop is the skip link
  await page.goto(cfg.admin + '#/processes');
  await page.reload();
  await heading('Processes');
  await page.keyboard.press('Tab');
  const skip = await page.evaluate(() => document.activeElement.textContent);
  if (skip !== 'Skip to content') throw new Error('first Tab stop: ' + skip);
  b.steps.push('keyboard-skip-link');

  // the other tenant's admin sees none of it
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await signIn(b, cfg.admin, 'boss@acme.example', 'acme admin password 1', 'acme');
  await heading('Processes');
  await page.getByText('Processes: Nothing here yet.').waitFor();
  for (const [section, empty] of [['Instances', 'Instances: none match.'], ['Incidents', 'Incidents: none.'],
                                  ['Rule sets', 'Rule sets: Nothing here yet.']]) {
    await nav(section);
    await page.getByText(empty).waitFor();
  }
  await nav('Users');
  await page.getByRole('cell', { name: 'boss@acme.example', exact: true }).waitFor();
  if (await page.getByText('clerk@example.org').count()) throw new Error('acme sees the default tenant\'s users');
  await b.shot('a10-other-tenant');
  await signIn(b, cfg.engage, 'boss@acme.example', 'acme admin password 1', 'acme');
  await page.getByRole('link', { name: 'All open' }).click();
  await page.getByText('0 tasks').waitFor();
  b.steps.push('wrong-tenant-sees-nothing');
});
