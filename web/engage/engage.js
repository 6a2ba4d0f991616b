// engage.js — the Engage task inbox (3001): filters, the task list, a task's details,
// claim/unclaim, its form (Camunda Forms with the vendored form-js viewer, or a JSON
// Schema rendered here), completing it with the server's 422 errors shown beside their
// fields, and comments. Talks to the Human Task Service through /api/tasks on this origin.
import { api, diagramUrl, signIn, signOut, start, user } from '/common/auth.js';

const $ = id => document.getElementById(id);
const FILTERS = [
  { id: 'mine', label: 'My tasks', query: () => 'assignee=me' },
  { id: 'groups', label: 'My groups', query: () => 'candidateGroup=me' },
  { id: 'unassigned', label: 'Unassigned', query: () => 'status=created' },
  { id: 'due', label: 'Due today', query: () => 'dueBefore=' + encodeURIComponent(endOfToday()) },
  { id: 'overdue', label: 'Overdue', query: () => 'dueBefore=' + encodeURIComponent(new Date().toISOString()) },
  { id: 'all', label: 'All open', query: () => '' },
];
const OPEN = new Set(['created', 'assigned']);

let current = null;     // the task shown
let formjs = null;      // the form-js viewer of the task shown

function endOfToday() {
  const d = new Date();
  d.setHours(23, 59, 59, 999);
  return d.toISOString();
}

function say(text, isError) {
  const s = $('status');
  s.className = isError ? 'notice error' : (text ? 'notice' : '');
  s.textContent = text || '';
}

function problemText(r) {
  if (r.json && r.json.detail) return r.json.detail;
  return 'The server answered HTTP ' + r.status + '.';
}

function route() {
  const m = location.hash.match(/^#\/([a-z]+)(?:\/task\/([^/]+))?$/);
  return { filter: m && FILTERS.some(f => f.id === m[1]) ? m[1] : 'mine', task: m && m[2] ? decodeURIComponent(m[2]) : null };
}

function fmtDate(s) {
  return s ? new Date(s).toLocaleString() : '—';
}

function renderFilters(active) {
  const ul = $('filters');
  ul.replaceChildren(...FILTERS.map(f => {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = '#/' + f.id;
    a.textContent = f.label;
    if (f.id === active) a.setAttribute('aria-current', 'page');
    li.append(a);
    return li;
  }));
}

async function loadList(filter, selected) {
  const f = FILTERS.find(x => x.id === filter);
  $('list-title').textContent = f.label;
  const q = f.query();
  const r = await api('GET', '/tasks?limit=50' + (q ? '&' + q : ''));
  if (!r.ok) {
    say('Could not load the tasks: ' + problemText(r), true);
    return;
  }
  const now = Date.now();
  let items = r.json.items.filter(t => OPEN.has(t.status));
  if (filter === 'due') items = items.filter(t => t.dueDate && Date.parse(t.dueDate) >= now);
  $('list-count').textContent = items.length === 1 ? '1 task' : items.length + ' tasks';
  $('tasks').replaceChildren(...items.map(t => {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = '#/' + filter + '/task/' + encodeURIComponent(t.id);
    if (t.id === selected) a.setAttribute('aria-current', 'true');
    const name = document.createElement('strong');
    name.textContent = t.name;
    const meta = document.createElement('span');
    meta.className = 'meta';
    const overdue = t.dueDate && Date.parse(t.dueDate) < now;
    meta.textContent = (t.assignee ? (t.assignee === user().sub ? 'Assigned to me' : 'Assigned') : 'Unassigned') +
      ' · priority ' + t.priority + (t.dueDate ? ' · due ' + fmtDate(t.dueDate) : '');
    a.append(name, meta);
    if (overdue) {
      const o = document.createElement('span');
      o.className = 'meta overdue';
      o.textContent = 'Overdue';
      a.append(o);
    }
    li.append(a);
    return li;
  }));
}

function fact(dl, term, value) {
  const dt = document.createElement('dt'), dd = document.createElement('dd');
  dt.textContent = term;
  dd.textContent = value;
  dl.append(dt, dd);
}

function isFormJs(form) {
  return form && Array.isArray(form.components);
}

async function showTask(id) {
  $('task-alert').replaceChildren();
  const r = await api('GET', '/tasks/' + encodeURIComponent(id));
  if (!r.ok) {
    say('Could not open the task: ' + problemText(r), true);
    return;
  }
  const t = current = r.json;
  const me = user().sub;
  $('detail').hidden = false;
  $('app').classList.add('showing-task');
  $('task-title').textContent = t.name;
  const dl = $('task-facts');
  dl.replaceChildren();
  fact(dl, 'Status', t.status);
  fact(dl, 'Assignee', t.assignee ? (t.assignee === me ? 'me' : t.assignee) : 'nobody');
  if (t.candidateGroups.length) fact(dl, 'Groups', t.candidateGroups.join(', '));
  fact(dl, 'Due', fmtDate(t.dueDate));
  fact(dl, 'Priority', String(t.priority));
  if (t.description) fact(dl, 'Description', t.description);
  const open = OPEN.has(t.status), mine = t.assignee === me;
  $('claim').hidden = !open || mine;
  $('unclaim').hidden = !open || !mine;
  $('submit').hidden = !open || !mine;
  await renderForm(t, open && mine);
  await showDiagram(t);
  await loadComments(t.id);
  $('task-title').focus();
}

// The task's process diagram with the task's element highlighted: the instance gives the
// process and version; the vendored bpmn-js navigated viewer draws that version's XML
// (GET /processes/{id}/bpmn?version=n) with a marker on the task. When the XML cannot be
// drawn (or has no diagram interchange), the Process Views API's SVG (GET
// /views/{processId}.svg?highlight=, laid out automatically) stands in.
let diagramShown = null;   // an object URL (the Views fallback) to revoke
let viewer = null;
async function showDiagram(t) {
  const sec = $('diagram-section'), host = $('diagram');
  if (diagramShown) { URL.revokeObjectURL(diagramShown); diagramShown = null; }
  if (viewer) { viewer.destroy(); viewer = null; }
  host.replaceChildren();
  sec.hidden = true;
  if (!t.processInstanceId || !t.elementId) return;
  const x = await api('GET', '/executions/' + encodeURIComponent(t.processInstanceId));
  if (!x.ok || current !== t) return;
  const label = 'This task (' + t.elementId + ') is highlighted in its process.';
  const xml = await api('GET', '/processes/' + encodeURIComponent(x.json.processId) + '/bpmn?version=' +
                        encodeURIComponent(x.json.version));
  // a figure named by its caption: the viewer's canvas holds a link (the bpmn.io
  // watermark), so it may not be a role="img"
  const caption = document.createElement('figcaption');
  caption.textContent = label;
  if (xml.ok && window.BpmnJS && current === t) {
    const box = document.createElement('div');
    box.className = 'bpmn-viewer';
    const fig = document.createElement('figure');
    fig.append(box, caption);
    host.append(fig);
    sec.hidden = false;
    try {
      viewer = new window.BpmnJS({ container: box });
      await viewer.importXML(xml.text);
      const canvas = viewer.get('canvas');
      canvas.zoom('fit-viewport', 'auto');
      // a model without diagram interchange (BPMNDI) has no shapes: the Views API lays it out
      if (!viewer.get('elementRegistry').get(t.elementId)) throw new Error('no shape for ' + t.elementId);
      canvas.addMarker(t.elementId, 'fm-current');
      return;
    } catch (e) {
      if (viewer) { viewer.destroy(); viewer = null; }
      host.replaceChildren();
    }
  }
  const url = await diagramUrl('/views/' + encodeURIComponent(x.json.processId) + '.svg?version=' +
                               encodeURIComponent(x.json.version) + '&highlight=' + encodeURIComponent(t.elementId));
  if (!url || current !== t) return;
  diagramShown = url;
  const img = document.createElement('img');
  img.src = url;
  img.alt = 'The process diagram';
  const fig = document.createElement('figure');
  fig.append(img, caption);
  host.append(fig);
  sec.hidden = false;
}

async function renderForm(t, editable) {
  const host = $('formjs'), jf = $('jsonschema-form');
  if (formjs) { formjs.destroy(); formjs = null; }
  host.replaceChildren();
  jf.replaceChildren();
  host.hidden = jf.hidden = true;
  if (isFormJs(t.form)) {
    host.hidden = false;
    formjs = new window.FormViewer.Form({ container: host, properties: { readOnly: !editable } });
    await formjs.importSchema(t.form, { ...(t.variables || {}), ...(t.response || {}) });
    if (editable) formjs.on('submit', formjsSubmitted);
  } else if (t.form && typeof t.form === 'object') {
    jf.hidden = false;
    renderJsonSchema(jf, t.form, { ...(t.variables || {}), ...(t.response || {}) }, editable);
  }
}

// A JSON Schema object form: one labelled field per property (string, enum, number,
// integer, boolean); the server checks the rest and its 422 errors land beside them.
function renderJsonSchema(formEl, schema, data, editable) {
  const props = schema.properties || {};
  const required = new Set(schema.required || []);
  for (const [key, p] of Object.entries(props)) {
    const div = document.createElement('div');
    div.className = 'field';
    const id = 'f-' + key;
    const label = document.createElement('label');
    label.htmlFor = id;
    label.textContent = (p.title || key) + (required.has(key) ? ' (required)' : '');
    let input;
    const type = Array.isArray(p.type) ? p.type.find(x => x !== 'null') : p.type;
    if (Array.isArray(p.enum)) {
      input = document.createElement('select');
      input.append(new Option('', ''), ...p.enum.map(v => new Option(String(v), JSON.stringify(v))));
      if (data[key] !== undefined) input.value = JSON.stringify(data[key]);
    } else if (type === 'boolean') {
      input = document.createElement('input');
      input.type = 'checkbox';
      input.checked = data[key] === true;
    } else {
      input = document.createElement('input');
      input.type = type === 'number' || type === 'integer' ? 'number' : 'text';
      if (input.type === 'number') input.step = type === 'integer' ? '1' : 'any';
      if (data[key] !== undefined) input.value = data[key];
    }
    input.id = id;
    input.name = key;
    input.dataset.kind = Array.isArray(p.enum) ? 'enum' : type || 'string';
    input.disabled = !editable;
    if (required.has(key)) input.setAttribute('aria-required', 'true');
    const err = document.createElement('div');
    err.id = id + '-error';
    err.className = 'field-error';
    input.setAttribute('aria-describedby', err.id);
    div.append(label, input, err);
    formEl.append(div);
  }
}

function jsonSchemaValues(formEl) {
  const out = {};
  for (const el of formEl.querySelectorAll('[name]')) {
    const kind = el.dataset.kind;
    if (kind === 'boolean') out[el.name] = el.checked;
    else if (el.value === '') continue;
    else if (kind === 'enum') out[el.name] = JSON.parse(el.value);
    else if (kind === 'number' || kind === 'integer') out[el.name] = Number(el.value);
    else out[el.name] = el.value;
  }
  return out;
}

// The 422's errors beside their fields: {pointer: "/response/<key>…", detail}.
function showServerErrors(problem) {
  const errors = problem.errors || [];
  const rest = [];
  const byFormJsField = {};
  const jf = $('jsonschema-form');
  for (const e of jf.querySelectorAll('.field-error')) e.textContent = '';
  for (const el of jf.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  let first = null;
  for (const e of errors) {
    const key = (e.pointer || '').replace(/^\/response\//, '').split('/')[0];
    if (formjs) {
      const field = formjs.get('formFieldRegistry').getAll().find(f => f.key === key || (f.key || '').split('.')[0] === key);
      if (field) { (byFormJsField[field.id] ||= []).push(e.detail); continue; }
    } else {
      const input = jf.querySelector('[name="' + CSS.escape(key) + '"]');
      if (input) {
        $(input.id + '-error').textContent = e.detail;
        input.setAttribute('aria-invalid', 'true');
        first ||= input;
        continue;
      }
    }
    rest.push((e.pointer ? e.pointer + ': ' : '') + e.detail);
  }
  if (formjs) formjs._setState({ errors: byFormJsField });
  const alert = $('task-alert');
  const p = document.createElement('p');
  p.className = 'notice error';
  p.textContent = problem.detail || 'The answer was not accepted.';
  alert.replaceChildren(p);
  for (const line of rest) {
    const q = document.createElement('p');
    q.className = 'error';
    q.textContent = line;
    alert.append(q);
  }
  if (first) first.focus();
}

// "Complete task", or the form's own submit button: form-js checks its rules first.
function complete() {
  if (formjs) formjs.submit();      // its 'submit' event calls send()
  else send(!$('jsonschema-form').hidden ? jsonSchemaValues($('jsonschema-form')) : {});
}

function formjsSubmitted({ data, errors }) {
  if (Object.keys(errors).length) {
    const p = document.createElement('p');
    p.className = 'notice error';
    p.textContent = 'Please correct the marked fields.';
    $('task-alert').replaceChildren(p);
    return;
  }
  send(data);
}

async function send(response) {
  const t = current;
  $('submit').disabled = true;
  const r = await api('PUT', '/tasks/' + encodeURIComponent(t.id) + '/respond', { response });
  $('submit').disabled = false;
  if (r.status === 422 && r.json) return showServerErrors(r.json);
  if (!r.ok) {
    $('task-alert').replaceChildren(Object.assign(document.createElement('p'), { className: 'notice error', textContent: problemText(r) }));
    return;
  }
  say('Task "' + t.name + '" completed.');
  location.hash = '#/' + route().filter;
}

async function claim(action) {
  const r = await api('PUT', '/tasks/' + encodeURIComponent(current.id) + '/' + action, {});
  if (!r.ok) {
    $('task-alert').replaceChildren(Object.assign(document.createElement('p'), { className: 'notice error', textContent: problemText(r) }));
    return;
  }
  say(action === 'claim' ? 'You claimed "' + current.name + '".' : 'You gave "' + current.name + '" back.');
  await render();
}

async function loadComments(id) {
  const r = await api('GET', '/tasks/' + encodeURIComponent(id) + '/comments?limit=100');
  const ul = $('comments');
  ul.replaceChildren();
  if (!r.ok) return;
  for (const c of r.json.items) {
    const li = document.createElement('li');
    const meta = document.createElement('div');
    meta.className = 'muted';
    meta.textContent = (c.author === user().sub ? 'me' : c.author) + ' · ' + fmtDate(c.createdAt);
    const text = document.createElement('div');
    text.textContent = c.text;
    li.append(meta, text);
    ul.append(li);
  }
}

async function render() {
  const { filter, task } = route();
  renderFilters(filter);
  await loadList(filter, task);
  if (task) {
    await showTask(task);
  } else {
    current = null;
    if (formjs) { formjs.destroy(); formjs = null; }
    $('detail').hidden = true;
    $('app').classList.remove('showing-task');
  }
}

function showSignedIn(u) {
  $('signin').hidden = true;
  $('app').hidden = false;
  $('who').hidden = $('signout').hidden = false;
  $('who').textContent = u.email + ' · tenant ' + u.tenant;
}

function showSignedOut(error) {
  $('app').hidden = true;
  $('who').hidden = $('signout').hidden = true;
  $('signin').hidden = false;
  $('signin-error').textContent = error || '';
}

async function main() {
  $('signin-button').addEventListener('click', () => signIn().catch(e => showSignedOut(e.message)));
  $('signout').addEventListener('click', async () => { await signOut(); say('You are signed out.'); showSignedOut(); });
  $('claim').addEventListener('click', () => claim('claim'));
  $('unclaim').addEventListener('click', () => claim('unclaim'));
  $('submit').addEventListener('click', complete);
  $('comment-form').addEventListener('submit', async ev => {
    ev.preventDefault();
    const text = $('comment-text').value.trim();
    if (!text) return;
    const r = await api('POST', '/tasks/' + encodeURIComponent(current.id) + '/comments', { text });
    if (!r.ok) return say('Could not post the comment: ' + problemText(r), true);
    $('comment-text').value = '';
    await loadComments(current.id);
  });
  window.addEventListener('hashchange', () => user() && render());
  let u = null;
  try {
    u = await start();
  } catch (e) {
    return showSignedOut(e.message);
  }
  if (!u) return showSignedOut();
  showSignedIn(u);
  await render();
}

main();
