// The OAuth flow of an MCP client, end to end, with the official SDK's own auth code
// (OAuthClientProvider + StreamableHTTPClientTransport): 401 → protected-resource
// metadata (RFC 9728) → authorization server metadata (RFC 8414) → dynamic client
// registration (RFC 7591) → authorization code + PKCE with the resource indicator
// (RFC 8707) — the sign-in page driven here like a browser (its form, its CSRF cookie) —
// → token → tools/list. Usage: node oauth.mjs <mcp url> <email> <password> <tenant>
// Prints one JSON line {ok, ...}; exit 1 on any failure (tests/http/test_mcp_sdk.py).
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";

const [url, email, password, tenant] = process.argv.slice(2);
const REDIRECT = "http://127.0.0.1:9/callback";   // never reached: the test reads the redirect itself
const seen = [];

class Provider {
  constructor() { this.info = undefined; this.tok = undefined; this.verifier = ""; this.authUrl = null; }
  get redirectUrl() { return REDIRECT; }
  get clientMetadata() {
    return { client_name: "sdk-oauth-test", redirect_uris: [REDIRECT], grant_types: ["authorization_code", "refresh_token"],
             response_types: ["code"], token_endpoint_auth_method: "none" };
  }
  clientInformation() { return this.info; }
  saveClientInformation(i) { this.info = i; seen.push("registered"); }
  tokens() { return this.tok; }
  saveTokens(t) { this.tok = t; seen.push("token"); }
  redirectToAuthorization(u) { this.authUrl = u; seen.push("authorize"); }
  saveCodeVerifier(v) { this.verifier = v; }
  codeVerifier() { return this.verifier; }
}

function must(cond, what) {
  if (!cond) throw new Error(what);
}

// The sign-in page, as a browser would use it: the form's hidden fields and cookie.
async function signIn(authUrl) {
  const page = await fetch(authUrl, { redirect: "manual" });
  must(page.status === 200, `sign-in page: HTTP ${page.status}`);
  const html = await page.text();
  const cookie = (page.headers.get("set-cookie") || "").split(";")[0];
  const form = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g))
    form.append(m[1], m[2].replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">").replace(/&amp;/g, "&"));
  form.append("email", email);
  form.append("password", password);
  form.append("tenant", tenant);
  const action = new URL("/sso/authorize", authUrl);
  const res = await fetch(action, { method: "POST", redirect: "manual", body: form,
                                    headers: { Cookie: cookie, "Content-Type": "application/x-www-form-urlencoded" } });
  must(res.status === 302 || res.status === 303, `sign-in: HTTP ${res.status}`);
  const loc = new URL(res.headers.get("location"));
  must(loc.href.startsWith(REDIRECT), `redirected to ${loc.href}`);
  return loc.searchParams.get("code");
}

const provider = new Provider();
try {
  let client = new Client({ name: "flowmaster-oauth-test", version: "1.0.0" });
  let transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
  let unauthorized = false;
  try {
    await client.connect(transport);
  } catch (e) {
    unauthorized = e instanceof UnauthorizedError;
    if (!unauthorized) throw e;
  }
  must(unauthorized && provider.authUrl, "the first connect did not ask for authorization");
  const authUrl = provider.authUrl;
  const resource = authUrl.searchParams.get("resource");
  const code = await signIn(authUrl);
  await transport.finishAuth(code);
  client = new Client({ name: "flowmaster-oauth-test", version: "1.0.0" });
  transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
  await client.connect(transport);
  const { tools } = await client.listTools();
  const payload = JSON.parse(Buffer.from(provider.tok.access_token.split(".")[1], "base64url").toString());
  await client.close();
  console.log(JSON.stringify({ ok: true, seen, resource, clientId: provider.info.client_id, aud: payload.aud,
                               tools: tools.length, accessToken: provider.tok.access_token }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, seen, error: String(e && e.stack || e) }));
  process.exit(1);
}
