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

  // decisions: a new rule set saved from the DMN editor; a rule set opened, saved as a
  // new version and tried, its matched rule highlighted in the table
  await page.goto(cfg.designer + 'decisions.html');
  await page.locator('#canvas .tjs-table, #canvas table').first().waitFor();
  await page.getByLabel('Rule set name').fill('Journey decisions');
  await page.getByRole('button', { name: 'Save version' }).click();
  await page.getByText('Saved version 1.').waitFor();
  await axe(b, 'decisions');
  await page.getByRole('combobox', { name: 'Rule set', exact: true }).selectOption(cfg.rule.id);
  await page.locator('#canvas td[data-row-id="r_adult"]').first().waitFor();
  await page.getByRole('button', { name: 'Save version' }).click();
  await page.getByText('Saved version 2.').waitFor();
  await page.getByLabel('Inputs (JSON object)').fill('{"Applicant Age": 30, "Risk Category": "Low"');
  await page.getByRole('button', { name: 'Evaluate the saved version' }).click();
  await page.locator('#try-inputs-error').filter({ hasText: /not valid JSON/ }).waitFor();
  await page.getByLabel('Inputs (JSON object)').fill('{"Applicant Age": 30, "Risk Category": "Low"}');
  await page.getByRole('button', { name: 'Evaluate the saved version' }).click();
  await page.locator('#try-outputs').filter({ hasText: '"Approved"' }).waitFor();
  const hl = await page.locator('#canvas td.fm-matched[data-row-id="r_adult"]').count();
  if (hl < 1) throw new Error('the matched rule is not highlighted');
  b.steps.push('dmn-tried');
  await b.shot('d08-dmn-tried');

  // forms: a new form edited in the form-js editor (label, minimum length), saved, published
  await page.goto(cfg.designer + 'forms.html');
  await page.locator('#form-editor .fjs-editor-container, #form-editor .fjs-container').first().waitFor();
  await page.getByLabel('Form id').fill('journey-form');
  await page.getByLabel('Form name').fill('Journey form');
  await page.locator('#form-editor .fjs-form-field-textfield').first().click();
  const props = page.locator('#form-editor .fjs-properties-container');
  await props.getByText('General', { exact: true }).click();
  await props.getByLabel('Field label').fill('Customer name');
  // the panel's inputs are debounced: the canvas shows the label once it is applied
  await page.locator('#form-editor .fjs-form-field-textfield').getByText('Customer name').first().waitFor();
  const validation = page.locator('#form-editor .fjs-properties-container').getByText('Validation', { exact: true });
  await validation.click();
  await page.locator('#form-editor .fjs-properties-container').getByLabel('Minimum length').fill('2');
  await page.keyboard.press('Tab');
  await page.waitForTimeout(600);   // form-js's debounce (300 ms) before the schema has it
  await page.getByRole('button', { name: 'Publish' }).click();
  await page.getByText('Published version 1 of journey-form.').waitFor();
  await axe(b, 'forms');
  b.steps.push('form-published');
  await b.shot('d09-form-published');
});
