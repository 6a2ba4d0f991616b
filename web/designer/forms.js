// forms.js — the Designer's forms page (3002/forms.html): the vendored form-js editor on
// the form store of Process Design through /api/forms — open a form's draft, save it
// (create, or replace with If-Match: a 412 is a conflict, nothing overwritten), publish
// it as a new version. The schema's own id is the form's id, which user tasks name with
// zeebe:formDefinition formId; the server checks it with the task service's checker and
// its 422 says where and why.
import { api, signIn, signOut, start } from '/common/auth.js';

const $ = id => document.getElementById(id);
const editor = new window.FormEditor.FormEditor({ container: '#form-editor' });
let form = null;       // {id, etag} of the form open, null for a new one

const NEW_FORM = id => ({
  type: 'default', id, schemaVersion: 16, components: [
    { type: 'textfield', id: 'Field_name', key: 'name', label: 'Name', validate: { required: true } },
  ],
});

function say(text, isError) {
  const s = $('status');
  s.className = isError ? 'notice error' : (text ? 'notice' : '');
  s.textContent = text || '';
}

function detail(r) {
  const why = ((r.json && r.json.errors) || []).map(e => (e.pointer ? e.pointer + ': ' : '') + e.detail).join('; ');
  return ((r.json && (r.json.detail || r.json.title)) || 'HTTP ' + r.status) + (why && !(r.json.detail || '').includes(why) ? ' (' + why + ')' : '');
}

function setState(status) {
  $('state').textContent = form ? form.id + ' ' + (status || '') + ' (' + form.etag + ')' : 'not saved yet';
  $('form-id').readOnly = !!form;
}

async function listForms() {
  const r = await api('GET', '/forms?limit=200');
  if (!r.ok) return say('Could not list the forms: ' + detail(r), true);
  $('open').replaceChildren(new Option('New form', ''),
    ...r.json.items.map(f => new Option(f.name + ' (' + f.status + ')', f.formId)));
  if (form) $('open').value = form.id;
}

async function open(id) {
  say('');
  if (!id) {
    form = null;
    $('name').value = 'New form';
    $('form-id').value = 'form-' + Math.random().toString(36).slice(2, 8);
    await editor.importSchema(NEW_FORM($('form-id').value));
    return setState();
  }
  const r = await api('GET', '/forms/' + encodeURIComponent(id));
  if (!r.ok) return say('Could not open the form: ' + detail(r), true);
  form = { id, etag: r.etag };
  $('name').value = r.json.name || '';
  $('form-id').value = id;
  await editor.importSchema(r.json.schema);
  location.hash = 'form=' + encodeURIComponent(id);
  setState(r.json.status);
}

async function save() {
  const id = $('form-id').value.trim();
  if (!id) {
    say('Give the form an id: user tasks name it with formId.', true);
    $('form-id').setAttribute('aria-invalid', 'true');
    $('form-id').focus();
    return false;
  }
  $('form-id').removeAttribute('aria-invalid');
  const schema = { ...editor.saveSchema(), id };
  const body = { name: $('name').value.trim() || id, schema };
  const r = form ? await api('PUT', '/forms/' + encodeURIComponent(form.id), body, { 'If-Match': form.etag })
                 : await api('POST', '/forms', body);
  if (r.status === 412) {
    say('Conflict: someone else saved this form since you opened it. Nothing was saved; reopen it to see theirs.', true);
    return false;
  }
  if (!r.ok) {
    say('Not saved: ' + detail(r), true);
    return false;
  }
  form = { id, etag: r.etag };
  say('Saved the draft of ' + id + '.');
  setState(r.json.status);
  await listForms();
  return true;
}

async function publish() {
  if (!(await save())) return;
  const r = await api('POST', '/forms/' + encodeURIComponent(form.id) + '/publish', {});
  if (!r.ok) return say('Not published: ' + detail(r), true);
  const again = await api('GET', '/forms/' + encodeURIComponent(form.id));
  if (again.ok) form.etag = again.etag;
  say('Published version ' + r.json.version + ' of ' + form.id + '.');
  setState('published');
  await listForms();
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
  $('publish').addEventListener('click', publish);
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
  await listForms();
  const want = new URLSearchParams(location.hash.slice(1)).get('form');
  await open(want || '');
}

main();
