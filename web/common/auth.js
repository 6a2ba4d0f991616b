// auth.js — sign-in for the FlowMaster web apps through our OpenID Connect provider
// (docs/auth.md, "The web apps' client"): authorization code + PKCE (S256) as the public
// client cli_flowmaster_web, the code redeemed and the tokens refreshed on this origin
// (POST /api/sso/token), a refresh about a minute before the access token expires, and
// sign-out (POST /api/auth/logout). Tokens live in this tab's sessionStorage.
// Also api(): fetch on /api/… with the bearer token and the tenant of the signed-in user.

const CLIENT_ID = 'cli_flowmaster_web';
const KEY = 'fm.session';
const PENDING = 'fm.pending';
const REFRESH_MARGIN_MS = 60000;

let session = load();
let refreshing = null;
let timer = null;

function load() {
  try { return JSON.parse(sessionStorage.getItem(KEY)) || null; } catch { return null; }
}

function save(s) {
  session = s;
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
  schedule();
}

function b64url(bytes) {
  let s = '';
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function random(n) {
  return b64url(crypto.getRandomValues(new Uint8Array(n)));
}

function claims(jwt) {
  const p = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
  return JSON.parse(decodeURIComponent(escape(atob(p))));
}

function redirectUri() {
  return location.origin + '/';
}

async function discovery() {
  const r = await fetch('/api/.well-known/openid-configuration');
  if (!r.ok) throw new Error('the sign-in service is not available (HTTP ' + r.status + ')');
  return r.json();
}

async function tokenRequest(fields) {
  const r = await fetch('/api/sso/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  const j = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(j.error_description || j.error || 'sign-in failed (HTTP ' + r.status + ')');
  return j;
}

function fromTokens(t) {
  const id = claims(t.id_token);
  return {
    access: t.access_token,
    refresh: t.refresh_token,
    expiresAt: Date.now() + t.expires_in * 1000,
    user: { sub: id.sub, email: id.email, tenant: id.tenant },
  };
}

function schedule() {
  clearTimeout(timer);
  if (!session) return;
  const wait = Math.max(1000, session.expiresAt - Date.now() - REFRESH_MARGIN_MS);
  timer = setTimeout(() => refresh().catch(() => {}), wait);
}

/** Sends the browser to the provider's sign-in page; returns to `returnTo` (a hash). */
export async function signIn(returnTo = location.hash) {
  const d = await discovery();
  const verifier = random(32);
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const state = random(16), nonce = random(16);
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, nonce, returnTo }));
  const q = new URLSearchParams({
    response_type: 'code', client_id: CLIENT_ID, redirect_uri: redirectUri(),
    scope: 'openid email offline_access', state, nonce,
    code_challenge: challenge, code_challenge_method: 'S256',
  });
  location.assign(d.authorization_endpoint + '?' + q.toString());
}

/** Finishes a sign-in when the URL carries the provider's answer. Returns the user or null. */
export async function start() {
  const q = new URLSearchParams(location.search);
  if (q.has('state') && (q.has('code') || q.has('error'))) {
    const pending = JSON.parse(sessionStorage.getItem(PENDING) || 'null');
    sessionStorage.removeItem(PENDING);
    history.replaceState(null, '', location.pathname + (pending?.returnTo || ''));
    if (!pending || pending.state !== q.get('state'))
      throw new Error('the sign-in answer does not match this tab\'s request; please sign in again');
    if (q.has('error'))
      throw new Error(q.get('error_description') || q.get('error'));
    const t = await tokenRequest({
      grant_type: 'authorization_code', code: q.get('code'), redirect_uri: redirectUri(),
      client_id: CLIENT_ID, code_verifier: pending.verifier,
    });
    if (claims(t.id_token).nonce !== pending.nonce)
      throw new Error('the ID token was not issued for this sign-in');
    save(fromTokens(t));
  } else if (session && session.expiresAt - Date.now() < REFRESH_MARGIN_MS) {
    await refresh().catch(() => save(null));
  } else {
    schedule();
  }
  return session ? session.user : null;
}

/** A new access token from the refresh token (one at a time). */
export function refresh() {
  if (!session) return Promise.reject(new Error('not signed in'));
  if (!refreshing) {
    refreshing = tokenRequest({ grant_type: 'refresh_token', refresh_token: session.refresh, client_id: CLIENT_ID })
      .then(t => save(fromTokens(t)))
      .catch(e => { save(null); throw e; })
      .finally(() => { refreshing = null; });
  }
  return refreshing;
}

/** Revokes the session's refresh tokens on the server, then forgets them here. */
export async function signOut() {
  const s = session;
  save(null);
  if (s) {
    await fetch('/api/auth/logout', {
      method: 'POST',
      headers: { 'Authorization': 'Bearer ' + s.access, 'X-Tenant-Id': s.user.tenant,
                 'Content-Type': 'application/json' },
      body: JSON.stringify({ refreshToken: s.refresh }),
    }).catch(() => {});
  }
}

/**
 * A process diagram from the Process Views API (`path`: /views/{processId}.svg?…) as an
 * object URL for an <img>, so the server's SVG never enters the page's DOM; null when
 * it cannot be had. The caller revokes it (URL.revokeObjectURL) when done.
 */
export async function diagramUrl(path) {
  const r = await api('GET', path);
  if (!r.ok || !r.text) return null;
  return URL.createObjectURL(new Blob([r.text], { type: 'image/svg+xml' }));
}

export function user() {
  return session ? session.user : null;
}

/** An API call on this origin: {status, ok, json, etag}. A 401 refreshes once. */
export async function api(method, path, body, headers = {}) {
  if (!session) throw new Error('not signed in');
  if (session.expiresAt - Date.now() < REFRESH_MARGIN_MS / 2) await refresh();
  for (let attempt = 0; ; attempt++) {
    const h = { 'Authorization': 'Bearer ' + session.access, 'X-Tenant-Id': session.user.tenant, ...headers };
    let payload = body;
    if (body !== undefined && typeof body !== 'string') {
      h['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const r = await fetch('/api' + path, { method, headers: h, body: payload });
    if (r.status === 401 && attempt === 0) {
      await refresh();
      continue;
    }
    const text = await r.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = null; }
    return { status: r.status, ok: r.ok, json, text, etag: r.headers.get('ETag') };
  }
}
