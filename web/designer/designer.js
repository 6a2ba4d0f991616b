// designer.js — the Process Designer (3002): the vendored bpmn-js modeler on processes of
// Process Design through /api/processes on this origin — open, save (If-Match: a stale
// draft is shown as a conflict, never overwritten), validate and publish, with the API's
// errors and warnings listed and marked on the elements they name. The properties panel
// (bpmn-js-properties-panel with the zeebe: moddle) edits what the engine honours; the
// version history compares a published version with the draft through the Process
// Versioning API and marks what changed; a selected call activity links to the process
// it calls.
import { api, signIn, signOut, start } from '/common/auth.js';

const $ = id => document.getElementById(id);
const PP = window.BpmnJSPropertiesPanel;
const zeebe = await (await fetch('/vendor/zeebe-bpmn-moddle-1.18.0/resources/zeebe.json')).json();
const modeler = new window.BpmnJS({
  container: '#canvas', keyboard: { bindTo: document },
  propertiesPanel: { parent: '#properties' },
  additionalModules: [PP.BpmnPropertiesPanelModule, PP.BpmnPropertiesProviderModule, PP.ZeebePropertiesProviderModule],
  moddleExtensions: { zeebe },
});
let proc = null;        // {id, etag} of the process open, null for a new one
let marked = [];
let diffMarked = [];
let known = [];         // the processes listed: {id, name, bpmnProcessId, status}

function say(text, isError) {
  const s = $('status');
  s.className = isError ? 'notice error' : (text ? 'notice' : '');
  s.textContent = text || '';
}

function detail(r) {
  return (r.json && (r.json.detail || r.json.title)) || 'HTTP ' + r.status;
}

function setState() {
  $('state').textContent = proc ? 'draft ' + proc.id + ' (' + proc.etag + ')' : 'not saved yet';
}

function showProblems(list) {
  const canvas = modeler.get('canvas'), registry = modeler.get('elementRegistry');
  for (const m of marked) if (registry.get(m.id)) canvas.removeMarker(m.id, m.cls);
  marked = [];
  const ul = $('problems');
  ul.replaceChildren();
  $('problems-none').textContent = list.length ? '' : 'No problems.';
  for (const p of list) {
    const id = p.id || (p.pointer || '').replace(/^#/, '');
    const cls = p.severity === 'error' ? 'fm-error' : 'fm-warning';
    if (id && registry.get(id)) {
      canvas.addMarker(id, cls);
      marked.push({ id, cls });
    }
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    const sev = document.createElement('span');
    sev.className = 'sev ' + (p.severity || 'error');
    sev.textContent = (p.severity || 'error') + ' ';
    b.append(sev, document.createTextNode((id ? id + ': ' : '') + p.message));
    b.addEventListener('click', () => {
      const el = id && registry.get(id);
      if (el) {
        modeler.get('selection').select(el);
        canvas.scrollToElement(el);
      }
    });
    li.append(b);
    ul.append(li);
  }
}

async function listProcesses() {
  const r = await api('GET', '/processes?limit=100');
  if (!r.ok) return say('Could not list the processes: ' + detail(r), true);
  const sel = $('open');
  known = r.json.items;
  sel.replaceChildren(new Option('New process', ''),
    ...r.json.items.map(p => new Option(p.name + ' (' + p.status + ')', p.id)));
  if (proc) sel.value = proc.id;
}

// ---- version history and the visual diff (Process Versioning) ----

function clearDiff() {
  const canvas = modeler.get('canvas');
  const registry = modeler.get('elementRegistry');
  for (const m of diffMarked) if (registry.get(m.id)) canvas.removeMarker(m.id, m.cls);
  diffMarked = [];
  $('diff').replaceChildren();
}

async function loadVersions() {
  const ul = $('versions');
  ul.replaceChildren();
  clearDiff();
  if (!proc) return;
  const r = await api('GET', '/processes/' + encodeURIComponent(proc.id) + '/versions?limit=20');
  const items = r.ok ? r.json.items : [];
  $('history-none').textContent = items.length ? '' : 'Not published yet.';
  for (const v of items) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = 'Compare version ' + v.version + ' with the draft';
    b.addEventListener('click', () => compare(v.version));
    li.append('Version ' + v.version + ' · ' + new Date(v.publishedAt).toLocaleString() + ' ', b);
    ul.append(li);
  }
}

async function compare(version) {
  clearDiff();
  const r = await api('GET', '/versions/' + encodeURIComponent(proc.id) + '/diff?from=' + version + '&to=draft&format=json');
  if (!r.ok) return say('Could not compare: ' + detail(r), true);
  const d = r.json, canvas = modeler.get('canvas'), registry = modeler.get('elementRegistry');
  const out = $('diff');
  const head = document.createElement('p');
  const n = (d.added || []).length + (d.removed || []).length + (d.changed || []).length;
  head.textContent = n ? 'Version ' + version + ' → draft: ' + n + ' difference' + (n > 1 ? 's' : '') +
    ' (added in green, changed in blue on the diagram).' : 'The draft is the same as version ' + version + '.';
  const ul = document.createElement('ul');
  for (const [kind, cls, list] of [['added', 'fm-added', d.added], ['changed', 'fm-changed', d.changed], ['removed', null, d.removed]]) {
    for (const e of list || []) {
      if (cls && registry.get(e.id)) {
        canvas.addMarker(e.id, cls);
        diffMarked.push({ id: e.id, cls });
      }
      const li = document.createElement('li');
      const what = (e.changes || []).map(c => c.field).join(', ');
      li.textContent = kind + ': ' + (e.name ? e.name + ' (' + e.id + ')' : e.id) + (what ? ' — ' + what : '');
      ul.append(li);
    }
  }
  out.replaceChildren(head, ul);
}

// ---- linked call activities ----

function showCalled(el) {
  const p = $('called');
  p.replaceChildren();
  p.hidden = true;
  const bo = el && el.businessObject;
  if (!bo || bo.$type !== 'bpmn:CallActivity') return;
  const ext = (bo.extensionElements && bo.extensionElements.values) || [];
  const ce = ext.find(x => x.$type === 'zeebe:CalledElement');
  const target = (ce && ce.processId) || bo.calledElement;
  if (!target) return;
  const hit = known.find(k => k.bpmnProcessId === target || k.id === target);
  p.hidden = false;
  if (!hit) return p.append('Calls ' + target + ' (no process of this tenant has that id).');
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = 'Open the called process "' + hit.name + '"';
  b.addEventListener('click', async () => {
    $('open').value = hit.id;
    await open(hit.id);
  });
  p.append(b);
}

async function open(id) {
  say('');
  if (!id) {
    proc = null;
    $('name').value = 'New process';
    await modeler.createDiagram();
    showProblems([]);
    await loadVersions();
    return setState();
  }
  const meta = await api('GET', '/processes/' + encodeURIComponent(id));
  const xml = await api('GET', '/processes/' + encodeURIComponent(id) + '/bpmn');
  if (!meta.ok || !xml.ok) return say('Could not open the process: ' + detail(meta.ok ? xml : meta), true);
  proc = { id, etag: meta.etag };
  $('name').value = meta.json.name || '';
  await modeler.importXML(xml.text);
  modeler.get('canvas').zoom('fit-viewport', 'auto');
  showProblems(meta.json.problems || []);
  setState();
  location.hash = 'process=' + encodeURIComponent(id);
  await loadVersions();
}

async function save() {
  const { xml } = await modeler.saveXML({ format: true });
  const name = $('name').value.trim() || 'Untitled process';
  const body = { name, xml };
  let r;
  if (!proc) {
    r = await api('POST', '/processes', body);
  } else {
    r = await api('PUT', '/processes/' + encodeURIComponent(proc.id), body, { 'If-Match': proc.etag });
  }
  if (r.status === 412) {
    say('Conflict: someone else saved this process since you opened it. Your diagram is not saved; ' +
        'reopen the process to see their version, then redo your change.', true);
    return false;
  }
  if (!r.ok) {
    say('Not saved: ' + detail(r), true);
    if (r.json && (r.json.errors || r.json.warnings)) showProblems([...(r.json.errors || []), ...(r.json.warnings || [])]);
    return false;
  }
  proc = { id: r.json.id, etag: r.etag };
  showProblems(r.json.warnings || []);
  const n = (r.json.warnings || []).length;
  say('Saved' + (n ? ' with ' + n + ' problem' + (n > 1 ? 's' : '') + ' (listed beside the diagram).' : '.') +
      (r.json.publishable === false ? ' It cannot be published until the errors are fixed.' : ''));
  setState();
  await listProcesses();
  return true;
}

async function validate() {
  if (!proc) return save();
  const r = await api('GET', '/processes/' + encodeURIComponent(proc.id));
  if (!r.ok) return say('Could not validate: ' + detail(r), true);
  showProblems(r.json.problems || []);
  say('Validated the saved draft' + ((r.json.problems || []).length ? '.' : ': no problems.'));
}

async function publish() {
  if (!(await save())) return;
  const r = await api('POST', '/processes/' + encodeURIComponent(proc.id) + '/publish', {});
  if (r.status === 422 && r.json) {
    showProblems([...(r.json.errors || []), ...(r.json.warnings || [])]);
    return say('Not published: ' + detail(r), true);
  }
  if (!r.ok) return say('Not published: ' + detail(r), true);
  showProblems(r.json.warnings || []);
  say('Published version ' + r.json.version + '.');
  await listProcesses();
  await loadVersions();
}

async function main() {
  $('signin-button').addEventListener('click', () => signIn().catch(e => { $('signin-error').textContent = e.message; }));
  $('signout').addEventListener('click', async () => {
    await signOut();
    $('app').hidden = $('who').hidden = $('signout').hidden = true;
    $('signin').hidden = false;
  });
  $('open').addEventListener('change', e => open(e.target.value));
  $('save').addEventListener('click', save);
  $('validate').addEventListener('click', validate);
  $('publish').addEventListener('click', publish);
  modeler.get('eventBus').on('selection.changed', e => showCalled(e.newSelection.length === 1 ? e.newSelection[0] : null));
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
  await listProcesses();
  const want = new URLSearchParams(location.hash.slice(1)).get('process');
  await open(want || '');
}

main();
