// decisions.js — the Designer's decisions page (3002/decisions.html): the vendored dmn-js
// modeler (DRD, decision tables, literal expressions) on the rule sets of the Business
// Rules Engine through /api/rules — open, save a new version (If-Match; a 412 is shown as
// a conflict) or create one, and "try it": evaluate the saved version with inputs given
// as JSON, the outputs listed and the matched rules highlighted in the decision table.
import { api, signIn, signOut, start } from '/common/auth.js';

const $ = id => document.getElementById(id);
const modeler = new window.DmnJS({ container: '#canvas', common: { keyboard: { bindTo: document } } });
let rule = null;       // {id, etag} of the rule set open, null for a new one
let matched = [];      // the decision table cells marked by the last evaluation

const NEW_DMN = `<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" xmlns:dmndi="https://www.omg.org/spec/DMN/20191111/DMNDI/"
  xmlns:dc="http://www.omg.org/spec/DMN/20180521/DC/" id="Definitions_1" name="New decisions" namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="Decision_1" name="Decision 1">
    <decisionTable id="DecisionTable_1">
      <input id="Input_1" label="Input"><inputExpression id="InputExpression_1" typeRef="string"><text>input</text></inputExpression></input>
      <output id="Output_1" label="Output" name="output" typeRef="string"/>
    </decisionTable>
  </decision>
  <dmndi:DMNDI><dmndi:DMNDiagram id="DMNDiagram_1"><dmndi:DMNShape id="DMNShape_1" dmnElementRef="Decision_1">
    <dc:Bounds height="80" width="180" x="160" y="100"/></dmndi:DMNShape></dmndi:DMNDiagram></dmndi:DMNDI>
</definitions>`;

function say(text, isError) {
  const s = $('status');
  s.className = isError ? 'notice error' : (text ? 'notice' : '');
  s.textContent = text || '';
}

function detail(r) {
  return (r.json && (r.json.detail || r.json.title)) || 'HTTP ' + r.status;
}

function setState() {
  $('state').textContent = rule ? rule.id + ' (' + rule.etag + ')' : 'not saved yet';
}

// one tab per view dmn-js offers (the DRD, each decision's table or literal expression)
function renderViews() {
  const bar = $('views');
  const active = modeler.getActiveView();
  bar.replaceChildren(...modeler.getViews().map(v => {
    const b = document.createElement('button');
    b.type = 'button';
    b.setAttribute('role', 'tab');
    b.setAttribute('aria-selected', String(v === active));
    const what = v.type === 'drd' ? 'Requirements diagram' : v.type === 'decisionTable' ? 'Decision table' : 'Literal expression';
    b.textContent = v.type === 'drd' ? what : what + ': ' + (v.element.name || v.element.id);
    b.addEventListener('click', () => modeler.open(v));
    return b;
  }));
}

async function listRules() {
  const r = await api('GET', '/rules?limit=200');
  if (!r.ok) return say('Could not list the rule sets: ' + detail(r), true);
  $('open').replaceChildren(new Option('New rule set', ''),
    ...r.json.items.filter(x => !x.format || x.format === 'dmn').map(x => new Option(x.name + ' (v' + (x.latestVersion || x.version) + ')', x.id)));
  if (rule) $('open').value = rule.id;
}

async function open(id) {
  say('');
  $('try-result').replaceChildren();
  if (!id) {
    rule = null;
    $('name').value = 'New decisions';
    await modeler.importXML(NEW_DMN);
  } else {
    const r = await api('GET', '/rules/' + encodeURIComponent(id));
    if (!r.ok) return say('Could not open the rule set: ' + detail(r), true);
    if (!r.json.dmn) return say('This rule set is a JSON model; the DMN editor opens DMN XML only.', true);
    rule = { id, etag: r.etag };
    $('name').value = r.json.name || '';
    await modeler.importXML(r.json.dmn);
    location.hash = 'rule=' + encodeURIComponent(id);
  }
  const table = modeler.getViews().find(v => v.type === 'decisionTable');
  if (table) await modeler.open(table);
  setState();
}

async function save() {
  const { xml } = await modeler.saveXML({ format: true });
  const body = { name: $('name').value.trim() || 'Untitled decisions', dmn: xml };
  const r = rule ? await api('PUT', '/rules/' + encodeURIComponent(rule.id), body, { 'If-Match': rule.etag })
                 : await api('POST', '/rules', body);
  if (r.status === 412) {
    say('Conflict: someone else saved a new version of this rule set since you opened it. Nothing was saved; ' +
        'reopen it to see theirs.', true);
    return;
  }
  if (!r.ok) return say('Not saved: ' + detail(r), true);
  rule = { id: r.json.id, etag: r.etag };
  const w = (r.json.warnings || []).length;
  say('Saved version ' + r.json.version + '.' + (w ? ' ' + w + ' warning' + (w > 1 ? 's' : '') + ': ' +
      r.json.warnings.map(x => x.message || x.detail || JSON.stringify(x)).join('; ') : ''));
  setState();
  await listRules();
}

function clearMatched() {
  for (const c of matched) c.classList.remove('fm-matched');
  matched = [];
}

// the matched rules of the table shown: its rows' cells carry data-row-id
function markMatched(result) {
  clearMatched();
  const view = modeler.getActiveView();
  if (!view || view.type !== 'decisionTable') return;
  const tableId = view.element.decisionLogic && view.element.decisionLogic.id;
  for (const m of result.matchedRules || []) {
    if (m.table && tableId && m.table !== tableId) continue;
    for (const id of m.rules || [])
      for (const c of document.querySelectorAll('#canvas td[data-row-id="' + CSS.escape(id) + '"]')) {
        c.classList.add('fm-matched');
        matched.push(c);
      }
  }
}

async function tryIt(ev) {
  ev.preventDefault();
  const out = $('try-result'), err = $('try-inputs-error'), input = $('try-inputs');
  err.textContent = '';
  input.removeAttribute('aria-invalid');
  out.replaceChildren();
  if (!rule) return say('Save the rule set first: "try it" evaluates the saved version.', true);
  let inputs;
  try {
    inputs = JSON.parse(input.value || '{}');
  } catch (e) {
    err.textContent = 'not valid JSON: ' + e.message;
    input.setAttribute('aria-invalid', 'true');
    return input.focus();
  }
  const payload = { inputs };
  if ($('try-decision').value.trim()) payload.decision = $('try-decision').value.trim();
  const r = await api('POST', '/rules/' + encodeURIComponent(rule.id) + '/evaluate', payload);
  if (!r.ok) {
    const first = (r.json && r.json.errors || []).find(e => (e.pointer || '').startsWith('/inputs'));
    if (first) { err.textContent = first.detail; input.setAttribute('aria-invalid', 'true'); }
    return say('Not evaluated: ' + detail(r), true);
  }
  const pre = document.createElement('pre');
  pre.id = 'try-outputs';
  pre.textContent = JSON.stringify(r.json.outputs, null, 2);
  const p = document.createElement('p');
  const ids = (r.json.matchedRules || []).flatMap(m => m.rules || []);
  p.textContent = ids.length ? 'Matched rules: ' + ids.join(', ') + ' (highlighted in the table).' : 'No rule matched.';
  out.replaceChildren(p, pre);
  markMatched(r.json);
}

async function main() {
  $('signin-button').addEventListener('click', () => signIn().catch(e => { $('signin-error').textContent = e.message; }));
  $('signout').addEventListener('click', async () => {
    await signOut();
    $('app').hidden = $('who').hidden = $('signout').hidden = true;
    $('signin').hidden = false;
  });
  modeler.on('views.changed', () => { clearMatched(); renderViews(); });
  $('open').addEventListener('change', e => open(e.target.value));
  $('save').addEventListener('click', save);
  $('try-form').addEventListener('submit', tryIt);
  let u = null;
  try {
    u = await start();
  } catch (e) {
    $('signin-error').textContent = e.message;
  }
  if (!u) {
    $('signin').hidden = false;
    return;
  }
  $('app').hidden = false;
  $('who').hidden = $('signout').hidden = false;
  $('who').textContent = u.email + ' · tenant ' + u.tenant;
  await listRules();
  const want = new URLSearchParams(location.hash.slice(1)).get('rule');
  await open(want || '');
}

main();
