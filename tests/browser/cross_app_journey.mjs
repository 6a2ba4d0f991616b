// cross_app_journey.mjs — one person's first day across the three apps in Debian's
// Chromium: in the Designer draw start → user task (made a user task with the replace
// menu, named and offered to a group in the properties panel) → end, publish; in the
// admin console start an instance of it; in Engage claim the task and complete it; back
// in the admin console the instance is completed with its history.
// Usage: node cross_app_journey.mjs CONFIG_JSON
// CONFIG: {designer, admin, engage, email, password, tenant, artifacts, name, task, group}
import { axe, run, signIn } from './browser.mjs';

const cfg = JSON.parse(process.argv[2]);

await run(cfg.artifacts, async b => {
  const page = b.page;
  // designer: draw and publish
  await signIn(b, cfg.designer, cfg.email, cfg.password, cfg.tenant);
  await page.locator('.djs-shape[data-element-id="StartEvent_1"]').click();
  await page.locator('.djs-context-pad [data-action="append.append-task"]').click();
  await page.keyboard.press('Escape');                     // leave the label editing, keep the task selected
  await page.locator('.djs-context-pad [data-action="replace"]').click();
  await page.locator('.djs-popup [data-id="replace-with-user-task"]').click();
  const taskId = await page.locator('.djs-shape.selected').getAttribute('data-element-id');
  if (!taskId) throw new Error('no user task selected after the replace');
  const nameField = page.locator('#properties').getByLabel('Name', { exact: true });
  if (!(await nameField.isVisible())) await page.locator('#properties').getByText('General', { exact: true }).click();
  await nameField.fill(cfg.task);
  await page.locator('#properties').getByText('Assignment', { exact: true }).click();
  await page.locator('#properties').getByLabel('Candidate groups').fill(cfg.group);
  // select the task afresh (the panel's edits re-render the context pad), append an end event
  await page.locator('#canvas svg').first().click({ position: { x: 600, y: 500 } });
  await page.locator('.djs-shape[data-element-id="' + taskId + '"]').click({ position: { x: 8, y: 40 } });
  const pad = page.locator('.djs-context-pad.open [data-action="append.end-event"], .djs-context-pad [data-action="append.end-event"]').first();
  await pad.click();
  await page.locator('.djs-shape[data-element-id^="Event_"]').first().waitFor({ state: 'attached' });
  await page.getByLabel('Process name').fill(cfg.name);
  await page.getByRole('button', { name: 'Publish' }).click();
  await page.getByText('Published version 1.').waitFor();
  await b.shot('j01-designed-published');
  b.steps.push('designed');

  // admin console: start it
  await signIn(b, cfg.admin, cfg.email, cfg.password, cfg.tenant);
  await page.getByRole('link', { name: cfg.name }).click();
  await page.getByRole('heading', { level: 2, name: 'Process: ' + cfg.name }).waitFor();
  await page.getByLabel('Business key').fill('JOURNEY-1');
  await page.getByRole('button', { name: 'Start' }).click();
  await page.getByRole('heading', { level: 2, name: /^Instance exe_/ }).waitFor();
  const instance = (await page.getByRole('heading', { level: 2 }).textContent()).replace('Instance ', '');
  await page.locator('.facts').getByText('active', { exact: true }).waitFor();
  await b.shot('j02-started');
  b.steps.push('started ' + instance);

  // engage: claim and complete
  await signIn(b, cfg.engage, cfg.email, cfg.password, cfg.tenant);
  await page.getByRole('link', { name: 'My groups' }).click();
  await page.getByRole('link', { name: new RegExp(cfg.task) }).click();
  await page.getByRole('button', { name: 'Claim' }).click();
  await page.getByRole('figure', { name: 'This task (' + taskId + ') is highlighted in its process.' }).waitFor();
  // drawn by the bpmn-js viewer (the designer wrote BPMNDI), the task marked
  await page.locator('.bpmn-viewer .djs-element.fm-current[data-element-id="' + taskId + '"]').waitFor();
  await axe(b, 'engage task with the bpmn-js viewer');
  await b.shot('j03a-task-diagram');
  await page.getByRole('button', { name: 'Complete task' }).click();
  await page.getByText('Task "' + cfg.task + '" completed.').waitFor();
  await b.shot('j03-answered');
  b.steps.push('answered');

  // admin console: completed, with its history
  await page.goto(cfg.admin + '#/instances/' + instance);
  await page.getByRole('heading', { level: 2, name: 'Instance ' + instance }).waitFor();
  await page.locator('.facts').getByText('completed', { exact: true }).waitFor();
  await page.getByRole('table', { name: 'History' }).getByText('instance.completed').first().waitFor();
  await b.shot('j04-completed');
  b.steps.push('completed-in-admin');
});
