// designer_journey.mjs — the Process Designer (3002) in Debian's Chromium: sign in through
// the OIDC page, draw (append an end event from the start event's context pad), save,
// publish; a concurrent save elsewhere makes the next save a conflict that is shown;
// opening a process with a broken condition, publish is refused and the API's error is
// listed and marked on the flow it names.
// Usage: node designer_journey.mjs CONFIG_JSON
// CONFIG: {designer, email, password, tenant, artifacts, broken: {id, name, flow}}
import { run, signIn } from './browser.mjs';

const cfg = JSON.parse(process.argv[2]);

await run(cfg.artifacts, async b => {
  const page = b.page;
  await signIn(b, cfg.designer, cfg.email, cfg.password, cfg.tenant);
  await page.locator('.djs-shape[data-element-id="StartEvent_1"]').waitFor();
  await page.getByLabel('Name').fill('Designer journey');
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
});
