// admin.js — the admin console (3000): processes (versions, publish, archive, start),
// instances (filter, detail with the diagram coloured by the Process Views API, history,
// variables, pause/resume/cancel, incidents with retry), open incidents, rule sets
// (versions, evaluate), users, groups and their members, roles, tenants, service
// accounts (API keys), and the service registry with each module's health. Every call
// goes through the same-origin /api/ with the signed-in user's token (common/auth.js);
// a problem+json answer is shown at the field its errors[].pointer names.
import { api, diagramUrl, signIn, signOut, start, user } from '/common/auth.js';

const $ = id => document.getElementById(id);
const enc = encodeURIComponent;

const SECTIONS = [
  { id: 'processes', label: 'Processes', render: processes },
  { id: 'instances', label: 'Instances', render: instances },
  { id: 'incidents', label: 'Incidents', render: incidents },
  { id: 'rules', label: 'Rule sets', render: rules },
  { id: 'users', label: 'Users', render: users },
  { id: 'groups', label: 'Groups', render: groups },
  { id: 'roles', label: 'Roles', render: roles },
  { id: 'tenants', label: 'Tenants', render: tenants },
  { id: 'service-accounts', label: 'Service accounts', render: serviceAccounts },
  { id: 'services', label: 'Services and health', render: services },
];

// ---- small DOM helpers ----

function el(tag, props = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k in e && typeof v !== 'string') e[k] = v;
    else e.setAttribute(k, v);
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
  return e;
}

function say(text, isError) {
  const s = $('status');
  s.className = isError ? 'notice error' : (text ? 'notice' : '');
  s.textContent = text || '';
}

function alertBox(text) {
  $('view-alert').replaceChildren(text ? el('p', { class: 'notice error' }, text) : '');
}

function problemText(r) {
  if (r.json && (r.json.detail || r.json.title)) return r.json.detail || r.json.title;
  return 'The server answered HTTP ' + r.status + '.';
}

function fmtDate(s) {
  return s ? new Date(s).toLocaleString() : '—';
}

function btn(label, onclick, extra = {}) {
  return el('button', { type: 'button', onclick, ...extra }, label);
}

/** A table with a caption; columns: [header, row => cell]. */
function table(caption, columns, rows, empty = 'Nothing here yet.') {
  if (!rows.length) return el('p', { class: 'muted' }, caption + ': ' + empty);
  return el('div', { class: 'scroll' }, el('table', {},
    el('caption', {}, caption),
    el('thead', {}, el('tr', {}, columns.map(([h]) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows.map(row => el('tr', {}, columns.map(([, f]) => el('td', {}, f(row))))))));
}

/**
 * A labelled form; fields: {name, label, type?, required?, options?, value?, hint?}.
 * onSubmit(values) returns the API answer; a problem's errors[] land beside their fields.
 */
function form(id, legend, fields, submitLabel, onSubmit) {
  const f = el('form', { class: 'inline', id, novalidate: true, 'aria-label': legend });
  for (const d of fields) {
    const fid = id + '-' + d.name;
    let input;
    if (d.type === 'textarea') input = el('textarea', { rows: 3 });
    else if (d.options) input = el('select', {}, d.options.map(o => el('option', { value: o }, o)));
    else input = el('input', { type: d.type || 'text' });
    Object.assign(input, { id: fid, name: d.name });
    if (d.value !== undefined) input.value = d.value;
    if (d.required) input.setAttribute('aria-required', 'true');
    const err = el('div', { id: fid + '-error', class: 'field-error' });
    input.setAttribute('aria-describedby', err.id + (d.hint ? ' ' + fid + '-hint' : ''));
    f.append(el('div', { class: 'field' },
      el('label', { for: fid }, d.label + (d.required ? ' (required)' : '')), input,
      d.hint ? el('div', { id: fid + '-hint', class: 'muted' }, d.hint) : null, err));
  }
  const general = el('div', { class: 'field-error', role: 'alert' });
  f.append(el('button', { type: 'submit', class: 'primary' }, submitLabel), general);
  f.addEventListener('submit', async ev => {
    ev.preventDefault();
    for (const e of f.querySelectorAll('.field-error')) e.textContent = '';
    for (const e of f.querySelectorAll('[aria-invalid]')) e.removeAttribute('aria-invalid');
    const values = {};
    for (const d of fields) values[d.name] = f.elements[d.name].value;
    let r;
    try {
      r = await onSubmit(values);
    } catch (e) {
      r = { ok: false, status: 0, json: { detail: e.message, errors: e.errors } };
    }
    if (r && !r.ok) showProblem(f, id, r, general);
  });
  return f;
}

// errors[].pointer "/email" or "/variables/x" → the field named email / variables
function showProblem(f, id, r, general) {
  const rest = [];
  let first = null;
  for (const e of (r.json && r.json.errors) || []) {
    const key = (e.pointer || e.field || '').replace(/^\//, '').split('/')[0];
    const input = key && f.elements[key];
    if (input && input.id) {
      $(input.id + '-error').textContent = e.detail || e.message || 'is not valid';
      input.setAttribute('aria-invalid', 'true');
      first ||= input;
    } else {
      rest.push((e.pointer ? e.pointer + ': ' : '') + (e.detail || ''));
    }
  }
  general.textContent = problemText(r) + (rest.length ? ' ' + rest.join('; ') : '');
  if (first) first.focus();
}

function parseJson(text, field) {
  if (!text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch (e) {
    const err = new Error('The ' + field + ' are not valid JSON.');
    err.errors = [{ pointer: '/' + field, detail: 'not valid JSON: ' + e.message }];
    throw err;
  }
}

async function act(promise, okText) {
  const r = await promise;
  if (!r.ok) {
    alertBox(problemText(r));
    return null;
  }
  alertBox('');
  if (okText) say(okText);
  return r;
}

async function list(path) {
  const r = await api('GET', path);
  if (!r.ok) {
    alertBox('Could not load ' + path.split('?')[0] + ': ' + problemText(r));
    return null;
  }
  return r.json.items || r.json;
}

function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

// ---- Processes ----

async function processes(body, arg) {
  if (arg) return processDetail(body, arg);
  const q = new URLSearchParams(location.hash.split('?')[1] || '');
  const status = q.get('status') || '';
  const filter = form('process-filter', 'Filter processes', [
    { name: 'q', label: 'Name contains', value: q.get('q') || '' },
    { name: 'status', label: 'Status', options: ['', 'draft', 'published', 'archived'], value: status },
  ], 'Filter', async v => { go('#/processes?' + new URLSearchParams(v)); return { ok: true }; });
  const items = await list('/processes?limit=100' + (q.get('q') ? '&q=' + enc(q.get('q')) : '') +
                           (status ? '&status=' + enc(status) : ''));
  if (!items) return;
  body.append(filter, table('Processes', [
    ['Name', p => el('a', { href: '#/processes/' + enc(p.id) }, p.name || p.id)],
    ['Status', p => p.status],
    ['Latest version', p => p.latestVersion ?? p.version ?? '—'],
    ['Updated', p => fmtDate(p.updatedAt)],
    ['Actions', p => el('div', { class: 'row-actions' },
      p.status !== 'archived' ? btn('Publish', () => publish(p)) : null,
      p.status !== 'archived' ? btn('Archive', () => archive(p)) : null)],
  ], items));
}

async function publish(p) {
  if (await act(api('POST', '/processes/' + enc(p.id) + '/publish', {}), 'Published "' + (p.name || p.id) + '".')) render();
}

async function archive(p) {
  if (!confirm('Archive "' + (p.name || p.id) + '"? It can no longer be started.')) return;
  if (await act(api('DELETE', '/processes/' + enc(p.id)), 'Archived "' + (p.name || p.id) + '".')) render();
}

async function processDetail(body, id) {
  const r = await api('GET', '/processes/' + enc(id) + '?model=false');
  if (!r.ok) return alertBox(problemText(r));
  const p = r.json;
  body.dataset.title = 'Process: ' + (p.name || p.id);
  const facts = el('dl', { class: 'facts' });
  for (const [k, v] of [['Id', p.id], ['Status', p.status], ['Updated', fmtDate(p.updatedAt)]])
    facts.append(el('dt', {}, k), el('dd', {}, v ?? '—'));
  const versions = await list('/processes/' + enc(id) + '/versions?limit=50') || [];
  body.append(el('p', {}, el('a', { href: '#/processes' }, '← All processes')), facts,
    el('div', { class: 'row-actions' },
      p.status !== 'archived' ? btn('Publish', () => publish(p)) : null,
      p.status !== 'archived' ? btn('Archive', () => archive(p)) : null,
      el('a', { class: 'button', href: '#/instances?processId=' + enc(p.id) }, 'Its instances')),
    table('Versions', [
      ['Version', v => String(v.version ?? v.n)],
      ['Published', v => fmtDate(v.publishedAt)],
      ['Note', v => v.note || ''],
    ], versions, 'not published yet.'),
    el('h3', {}, 'Start an instance'),
    form('start-form', 'Start an instance', [
      { name: 'businessKey', label: 'Business key' },
      { name: 'variables', label: 'Variables (JSON object)', type: 'textarea', value: '{}' },
    ], 'Start', async v => {
      const payload = { processId: p.id, variables: parseJson(v.variables, 'variables') };
      if (v.businessKey) payload.businessKey = v.businessKey;
      const s = await api('POST', '/executions', payload);
      if (s.ok) { say('Started instance ' + s.json.id + '.'); go('#/instances/' + enc(s.json.id)); }
      return s;
    }));
}

// ---- Instances ----

const STATES = ['', 'active', 'completed', 'cancelled', 'paused', 'failed', 'terminated'];

async function instances(body, arg) {
  if (arg) return instanceDetail(body, arg);
  const q = new URLSearchParams(location.hash.split('?')[1] || '');
  const filter = form('instance-filter', 'Filter instances', [
    { name: 'processId', label: 'Process id', value: q.get('processId') || '' },
    { name: 'state', label: 'State', options: STATES, value: q.get('state') || '' },
    { name: 'businessKey', label: 'Business key', value: q.get('businessKey') || '' },
  ], 'Filter', async v => {
    const p = new URLSearchParams();
    for (const [k, x] of Object.entries(v)) if (x) p.set(k, x);
    go('#/instances?' + p);
    return { ok: true };
  });
  const p = new URLSearchParams({ limit: '100' });
  for (const k of ['processId', 'state', 'businessKey']) if (q.get(k)) p.set(k, q.get(k));
  const items = await list('/executions?' + p);
  if (!items) return;
  body.append(filter, table('Instances', [
    ['Instance', x => el('a', { href: '#/instances/' + enc(x.id) }, x.id)],
    ['Process', x => (x.processId || '') + (x.version ? ' v' + x.version : '')],
    ['State', x => el('span', { class: 'state-' + x.state }, x.state)],
    ['Business key', x => x.businessKey || ''],
    ['Started', x => fmtDate(x.createdAt)], ['Incidents', x => String(x.incidents ?? 0)],
  ], items, 'none match.'));
}

async function instanceDetail(body, id) {
  const r = await api('GET', '/executions/' + enc(id));
  if (!r.ok) return alertBox(problemText(r));
  const x = r.json;
  body.dataset.title = 'Instance ' + x.id;
  const facts = el('dl', { class: 'facts' });
  for (const [k, v] of [['Process', x.processId + (x.version ? ' version ' + x.version : '')], ['State', x.state],
    ['Business key', x.businessKey], ['Started', fmtDate(x.createdAt)], ['Ended', fmtDate(x.endedAt)],
    ['Active at', (x.activeElements || []).map(a => a.elementId + ' (' + a.elementType + ')').join(', ') || 'nothing'],
    ['Open incidents', String(x.incidents ?? 0)]])
    facts.append(el('dt', {}, k), el('dd', {}, v ?? '—'));
  const op = (action, label) => btn(label, async () => {
    if (await act(api('PUT', '/executions/' + enc(id) + '/' + action, {}), 'Instance ' + action + 'd.')) render();
  });
  const live = ['active', 'paused'].includes(x.state);
  const hist = await list('/executions/' + enc(id) + '/history?limit=500') || [];
  const incs = await list('/incidents?executionId=' + enc(id) + '&limit=100') || [];
  body.append(el('p', {}, el('a', { href: '#/instances' }, '← All instances')), facts,
    el('div', { class: 'row-actions' },
      live && x.state !== 'paused' ? op('pause', 'Pause') : null,
      x.state === 'paused' ? op('resume', 'Resume') : null,
      live ? op('cancel', 'Cancel') : null),
    el('h3', {}, 'Diagram'), await diagram(x, hist, incs),
    el('h3', {}, 'Incidents'), incidentTable(incs),
    el('h3', {}, 'Variables'),
    form('variables-form', 'Edit variables', [
      { name: 'variables', label: 'Variables (JSON object)', type: 'textarea',
        value: JSON.stringify(x.variables || {}, null, 2) },
    ], 'Save variables', async v => {
      const s = await api('PUT', '/executions/' + enc(id) + '/variables', { variables: parseJson(v.variables, 'variables') });
      if (s.ok) say('Variables saved.');
      return s;
    }),
    el('h3', {}, 'History'),
    table('History', [
      ['When', h => fmtDate(h.at)], ['Event', h => h.type], ['Element', h => h.elementId || ''],
      ['Type', h => h.elementType || ''],
    ], hist));
}

// The instance's diagram from the Process Views API: the elements it entered highlighted
// with their counts; an <img> from a blob keeps the server's SVG out of the page's DOM.
async function diagram(x, hist, incs) {
  const counts = {};
  for (const h of hist) if (h.type === 'element.entered' && h.elementId) counts[h.elementId] = (counts[h.elementId] || 0) + 1;
  for (const i of incs) if (i.elementId) counts[i.elementId] ||= 1;
  const hl = Object.entries(counts).slice(0, 2000).map(([k, n]) => k + ':' + n).join(',');
  const r = await diagramUrl('/views/' + enc(x.processId) + '.svg?' + (x.version ? 'version=' + x.version + '&' : '') +
                           (hl ? 'highlight=' + enc(hl) : ''));
  if (!r) return el('p', { class: 'muted' }, 'The diagram is not available.');
  const names = Object.keys(counts);
  return el('div', { class: 'diagram' }, el('img', { src: r, alt: 'Process diagram; elements this instance reached: ' +
    (names.length ? names.join(', ') : 'none') }));
}

function incidentTable(items) {
  return table('Incidents', [
    ['Instance', i => el('a', { href: '#/instances/' + enc(i.executionId) }, i.executionId)],
    ['Element', i => i.elementId || ''], ['Type', i => i.type], ['Message', i => i.message || ''],
    ['State', i => el('span', { class: 'state-' + i.state }, i.state)], ['Created', i => fmtDate(i.createdAt)],
    ['Actions', i => i.state === 'open' ? btn('Retry', async () => {
      if (await act(api('PUT', '/incidents/' + enc(i.id) + '/resolve', {}), 'Incident retried.')) render();
    }, { 'aria-label': 'Retry incident ' + i.id }) : ''],
  ], items, 'none.');
}

async function incidents(body) {
  const items = await list('/incidents?state=open&limit=100');
  if (items) body.append(incidentTable(items));
}

// ---- Rule sets ----

async function rules(body, arg) {
  if (arg) return ruleDetail(body, arg);
  const items = await list('/rules?limit=100');
  if (!items) return;
  body.append(table('Rule sets', [
    ['Name', x => el('a', { href: '#/rules/' + enc(x.id) }, x.name || x.id)],
    ['Format', x => x.format || ''], ['Version', x => String(x.version ?? x.latestVersion ?? '—')],
    ['Decisions', x => (x.decisions || []).join(', ')],
    ['Updated', x => fmtDate(x.updatedAt)],
  ], items));
}

async function ruleDetail(body, id) {
  const r = await api('GET', '/rules/' + enc(id));
  if (!r.ok) return alertBox(problemText(r));
  const x = r.json;
  body.dataset.title = 'Rule set: ' + (x.name || x.id);
  const versions = await list('/rules/' + enc(id) + '/versions?limit=50') || [];
  const out = el('pre', { id: 'evaluate-result', 'aria-live': 'polite' });
  body.append(el('p', {}, el('a', { href: '#/rules' }, '← All rule sets')),
    table('Versions', [['Version', v => String(v.version ?? v.n)], ['Created', v => fmtDate(v.createdAt || v.publishedAt)]],
          versions, 'none.'),
    el('h3', {}, 'Evaluate'),
    form('evaluate-form', 'Evaluate the rule set', [
      { name: 'decision', label: 'Decision (name or id; empty: every decision)' },
      { name: 'inputs', label: 'Inputs (JSON object)', type: 'textarea', value: '{}' },
    ], 'Evaluate', async v => {
      const payload = { inputs: parseJson(v.inputs, 'inputs') };
      if (v.decision) payload.decision = v.decision;
      const s = await api('POST', '/rules/' + enc(id) + '/evaluate', payload);
      out.textContent = s.ok ? JSON.stringify(s.json, null, 2) : '';
      return s;
    }), out);
}

// ---- Users, groups, roles, tenants, service accounts ----

const csv = s => s.split(',').map(x => x.trim()).filter(Boolean);

async function users(body) {
  const items = await list('/auth/users?limit=200');
  if (!items) return;
  body.append(table('Users', [
    ['Email', u => u.email], ['Name', u => u.name || ''], ['Roles', u => (u.roles || []).join(', ')],
    ['Status', u => u.status], ['Id', u => u.id],
    ['Actions', u => el('div', { class: 'row-actions' },
      btn(u.status === 'disabled' ? 'Enable' : 'Disable', async () => {
        if (await act(api('PATCH', '/auth/users/' + enc(u.id), { status: u.status === 'disabled' ? 'active' : 'disabled' }),
                      'User ' + u.email + ' updated.')) render();
      }, { 'aria-label': (u.status === 'disabled' ? 'Enable ' : 'Disable ') + u.email }),
      btn('Delete', async () => {
        if (!confirm('Delete ' + u.email + '?')) return;
        if (await act(api('DELETE', '/auth/users/' + enc(u.id)), 'User ' + u.email + ' deleted.')) render();
      }, { 'aria-label': 'Delete ' + u.email }))],
  ], items), el('h3', {}, 'Add a user'),
  form('user-form', 'Add a user', [
    { name: 'email', label: 'Email', type: 'email', required: true },
    { name: 'name', label: 'Name' },
    { name: 'password', label: 'Password', type: 'password', required: true },
    { name: 'roles', label: 'Roles', hint: 'comma-separated, e.g. participant', value: 'participant' },
  ], 'Add user', async v => {
    const s = await api('POST', '/auth/users', { email: v.email, name: v.name || undefined, password: v.password, roles: csv(v.roles) });
    if (s.ok) { say('User ' + v.email + ' added.'); render(); }
    return s;
  }));
}

async function groups(body, arg) {
  if (arg) return groupDetail(body, arg);
  const items = await list('/auth/groups');
  if (!items) return;
  body.append(table('Groups', [
    ['Name', g => el('a', { href: '#/groups/' + enc(g.name) }, g.name)], ['Description', g => g.description || ''],
    ['Members', g => String(g.members ?? 0)],
    ['Actions', g => btn('Delete', async () => {
      if (!confirm('Delete group ' + g.name + '?')) return;
      if (await act(api('DELETE', '/auth/groups/' + enc(g.name)), 'Group ' + g.name + ' deleted.')) render();
    }, { 'aria-label': 'Delete group ' + g.name })],
  ], items), el('h3', {}, 'Add a group'),
  form('group-form', 'Add a group', [
    { name: 'name', label: 'Name', required: true }, { name: 'description', label: 'Description' },
  ], 'Add group', async v => {
    const s = await api('POST', '/auth/groups', { name: v.name, description: v.description || undefined });
    if (s.ok) { say('Group ' + v.name + ' added.'); render(); }
    return s;
  }));
}

async function groupDetail(body, name) {
  body.dataset.title = 'Group: ' + name;
  const members = await list('/auth/groups/' + enc(name) + '/members');
  if (!members) return;
  const all = await list('/auth/users?limit=200') || [];
  body.append(el('p', {}, el('a', { href: '#/groups' }, '← All groups')),
    table('Members', [
      ['Email', m => m.email], ['Name', m => m.name || ''], ['Added', m => fmtDate(m.addedAt)],
      ['Actions', m => btn('Remove', async () => {
        if (await act(api('DELETE', '/auth/groups/' + enc(name) + '/members/' + enc(m.id)), m.email + ' removed.')) render();
      }, { 'aria-label': 'Remove ' + m.email })],
    ], members, 'no members.'),
    form('member-form', 'Add a member', [
      { name: 'userId', label: 'User', options: all.map(u => u.id), required: true,
        hint: all.map(u => u.id + ' = ' + u.email).join('; ') },
    ], 'Add member', async v => {
      const s = await api('POST', '/auth/groups/' + enc(name) + '/members', { userId: v.userId });
      if (s.ok) { say('Member added.'); render(); }
      return s;
    }));
}

async function roles(body) {
  const items = await list('/auth/roles');
  if (!items) return;
  body.append(table('Roles', [
    ['Name', x => x.name], ['Description', x => x.description || ''], ['Grants', x => (x.grants || []).join(', ')],
    ['Kind', x => x.builtIn || x.builtin ? 'built-in' : 'custom'],
    ['Actions', x => x.builtIn || x.builtin ? '' : btn('Delete', async () => {
      if (await act(api('DELETE', '/auth/roles/' + enc(x.name)), 'Role ' + x.name + ' deleted.')) render();
    }, { 'aria-label': 'Delete role ' + x.name })],
  ], items), el('h3', {}, 'Add a role'),
  form('role-form', 'Add a role', [
    { name: 'name', label: 'Name', required: true }, { name: 'description', label: 'Description' },
    { name: 'grants', label: 'Grants', hint: 'comma-separated area:action, e.g. process:read, task:*', required: true },
  ], 'Add role', async v => {
    const s = await api('POST', '/auth/roles', { name: v.name, description: v.description || undefined, grants: csv(v.grants) });
    if (s.ok) { say('Role ' + v.name + ' added.'); render(); }
    return s;
  }));
}

async function tenants(body) {
  const items = await list('/auth/tenants');
  if (!items) return;
  body.append(table('Tenants', [['Id', t => t.id], ['Name', t => t.name], ['Created', t => fmtDate(t.createdAt)]], items),
    el('h3', {}, 'Add a tenant'),
    form('tenant-form', 'Add a tenant', [
      { name: 'id', label: 'Id', required: true }, { name: 'name', label: 'Name', required: true },
      { name: 'adminEmail', label: 'Its first admin: email', type: 'email' },
      { name: 'adminPassword', label: 'Its first admin: password', type: 'password' },
    ], 'Add tenant', async v => {
      const payload = { id: v.id, name: v.name };
      if (v.adminEmail) payload.admin = { email: v.adminEmail, password: v.adminPassword };
      const s = await api('POST', '/auth/tenants', payload);
      if (s.ok) { say('Tenant ' + v.id + ' added.'); render(); }
      if (!s.ok && s.json && s.json.errors)   // /admin/email → the adminEmail field
        s.json.errors = s.json.errors.map(e => ({ ...e, pointer: (e.pointer || '').replace(/^\/admin\/(\w)/, (_, c) => '/admin' + c.toUpperCase()) }));
      return s;
    }));
}

async function serviceAccounts(body) {
  const items = await list('/auth/service-accounts');
  if (!items) return;
  const key = el('div', { id: 'api-key', 'aria-live': 'polite' });
  body.append(table('Service accounts', [
    ['Name', x => x.name], ['Roles', x => (x.roles || []).join(', ')], ['Id', x => x.id],
    ['Created', x => fmtDate(x.createdAt)],
    ['Actions', x => btn('Delete', async () => {
      if (!confirm('Delete service account ' + x.name + '? Its API key stops working.')) return;
      if (await act(api('DELETE', '/auth/service-accounts/' + enc(x.id)), 'Service account ' + x.name + ' deleted.')) render();
    }, { 'aria-label': 'Delete service account ' + x.name })],
  ], items), el('h3', {}, 'Add a service account'),
  form('sa-form', 'Add a service account', [
    { name: 'name', label: 'Name', required: true },
    { name: 'roles', label: 'Roles', hint: 'comma-separated, e.g. service', value: 'service' },
  ], 'Add service account', async v => {
    const s = await api('POST', '/auth/service-accounts', { name: v.name, roles: csv(v.roles) });
    if (s.ok) {
      await render();
      $('view-body').append(el('div', { class: 'notice', id: 'api-key' },
        el('p', {}, 'The API key of ' + v.name + ', shown this once:'), el('pre', {}, s.json.apiKey)));
    }
    return s;
  }), key);
}

async function services(body) {
  const items = await list('/services?limit=500');
  if (!items) return;
  body.append(table('Services', [
    ['Name', s => s.title ? s.title + ' (' + s.name + ')' : s.name || s.id], ['Kind', s => s.kind || ''],
    ['Ports', s => (s.ports || []).join(', ')],
    ['Routes', s => s.routes !== undefined ? s.implementedRoutes + ' of ' + s.routes + ' implemented' : ''],
    ['Health', s => el('span', { class: 'health-' + (s.health || 'unknown') }, s.health || 'unknown')],
  ], items));
}

// ---- routing, sign-in ----

function route() {
  const h = location.hash.replace(/^#\/?/, '').split('?')[0];
  const [id, ...rest] = h.split('/');
  const s = SECTIONS.find(x => x.id === id) || SECTIONS[0];
  return { section: s, arg: rest.length ? decodeURIComponent(rest.join('/')) : null };
}

let rendering = 0;

async function render() {
  const mine = ++rendering;
  const { section, arg } = route();
  $('sections').replaceChildren(...SECTIONS.map(s => el('li', {},
    el('a', { href: '#/' + s.id, ...(s === section ? { 'aria-current': 'page' } : {}) }, s.label))));
  alertBox('');
  const body = el('div', {});
  try {
    await section.render(body, arg);
  } catch (e) {
    alertBox('Something went wrong: ' + e.message);
  }
  if (mine !== rendering) return;
  // the heading and the body change together, so what the heading names is what shows
  $('view-title').textContent = body.dataset.title || section.label;
  $('view-body').replaceWith(Object.assign(body, { id: 'view-body' }));
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
  window.addEventListener('hashchange', async () => {
    if (!user()) return;
    await render();
    $('view-title').focus();
  });
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
