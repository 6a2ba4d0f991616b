// designer_journey.mjs — the Process Designer (3002) in Debian's Chromium: sign in through
// the OIDC page, draw (append an end event from the start event's context pad), save,
// publish; a concurrent save elsewhere makes the next save a conflict that is shown;
// opening a process with a broken condition, publish is refused and the API's error is
// listed and marked on the flow it names.
// Usage: node designer_journey.mjs CONFIG_JSON
// CONFIG: {designer, email, password, tenant, artifacts, broken: {id, name, flow}}
import { axe, run, signIn } from './browser.mjs';

const cfg = JSON.parse(process.argv[2]);

await run(cfg.artifacts, async b => {
  const page = b.page;
  await signIn(b, cfg.designer, cfg.email, cfg.password, cfg.tenant);
  await page.locator('.djs-shape[data-element-id="StartEvent_1"]').waitFor();
  await page.getByLabel('Process name').fill('Designer journey');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText(/^Saved with \d+ problems?/).waitFor();
  await page.locator('#problems').getByText('no-end-event', { exact: false }).or(
    page.locator('#problems').getByText(/end event/i)).first().waitFor();
  await b.shot('d01-saved-with-warning');

  // draw: the start event's context pad appends an end event
  await page.locator('.djs-shape[data-element-id="StartEvent_1"]').click();
  await page.locator('.djs-context-pad [data-action="append.end-event"]').click();
  await page.getByRole('button', { name: 'Publish' }).click();
  await page.getByText('Published version 1.').waitFor();
  await b.shot('d02-published');
  b.steps.push('published');

  // someone else saves the draft: our next save is a conflict, shown, nothing overwritten
  const theirs = await page.evaluate(async () => {
    const m = await import('/common/auth.js');
    const id = document.getElementById('open').value;
    const xml = (await m.api('GET', '/processes/' + id + '/bpmn')).text;
    return (await m.api('PUT', '/processes/' + id, { name: 'Renamed elsewhere', xml })).status;
  });
  if (theirs !== 200) throw new Error('the concurrent save failed: ' + theirs);
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText(/^Conflict: someone else saved this process/).waitFor();
  await b.shot('d03-conflict');
  b.steps.push('conflict');

  // a process with a condition the FEEL parser refuses: publish lists and marks the error
  await page.getByRole('combobox', { name: 'Process', exact: true }).selectOption(cfg.broken.id);
  await page.locator('.djs-connection[data-element-id="' + cfg.broken.flow + '"]').waitFor({ state: 'attached' });
  await page.getByRole('button', { name: 'Publish' }).click();
  await page.getByText(/^Not published/).waitFor();
  await page.locator('#problems').getByText(cfg.broken.flow + ':', { exact: false }).first().waitFor();
  const marked = await page.locator('.djs-element.fm-error[data-element-id="' + cfg.broken.flow + '"]').count();
  if (marked !== 1) throw new Error('the broken flow is not marked on the diagram');
  await b.shot('d04-publish-refused');
  b.steps.push('refused-and-marked');

  // the properties panel: candidate groups on the user task (zeebe:assignmentDefinition)
  await page.getByRole('combobox', { name: 'Process', exact: true }).selectOption(cfg.caller.id);
  await page.locator('.djs-shape[data-element-id="Approve"]').waitFor();
  await axe(b, 'designer');
  await page.locator('.djs-shape[data-element-id="Approve"]').click();
  await page.locator('#properties').getByText('Assignment', { exact: true }).click();
  await page.locator('#properties').getByLabel('Candidate groups').fill('clerks');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText(/^Saved/).waitFor();
  b.steps.push('properties-saved');
  await b.shot('d05-properties-panel');

  // version history: version 1 against the draft, the changed task marked
  await page.getByRole('button', { name: 'Compare version 1 with the draft' }).click();
  await page.locator('#diff').getByText(/changed: Approve it \(Approve\)/).waitFor();
  if (await page.locator('.djs-element.fm-changed[data-element-id="Approve"]').count() !== 1)
    throw new Error('the changed task is not marked');
  b.steps.push('diff-marked');
  await b.shot('d06-diff');

  // a call activity links to the process it calls
  await page.locator('.djs-shape[data-element-id="Checks"]').click();
  await page.getByRole('button', { name: 'Open the called process "' + cfg.callee.name + '"' }).click();
  await page.locator('.djs-shape[data-element-id="CS"]').waitFor();
  if (await page.getByRole('combobox', { name: 'Process', exact: true }).inputValue() !== cfg.callee.id)
    throw new Error('the called process is not the one open');
  b.steps.push('call-activity-opened');
  await b.shot('d07-called-process');
});
