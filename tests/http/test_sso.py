"""SSO: FlowMaster as an OpenID Connect provider on 8002 (docs/auth.md, "SSO / OpenID
Connect"): discovery, JWKS, the client registry, authorization code + PKCE end to end
with nothing but the standard library (ID token signatures are checked with a small
pure-Python Ed25519 verifier against the JWKS), and the ways it must refuse."""

import base64
import hashlib
import html.parser
import json
import os
import urllib.parse

from harness import (Server, ADMIN_EMAIL, ADMIN_PASSWORD, assert_json, assert_problem,
                     http_request)

FIXTURES = {
    # its own server: these tests fail logins on purpose, which throttles 127.0.0.1
    "throttle": lambda: Server(modules="registry,auth,sso"),
}

CB = "http://127.0.0.1:5555/cb"
FORM = "application/x-www-form-urlencoded"


# --- Ed25519 verification (RFC 8032 §6 reference arithmetic; slow but tiny) ------------

_P = 2 ** 255 - 19
_L = 2 ** 252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_I = pow(2, (_P - 1) // 4, _P)


def _recover_x(y, sign):
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P)
    if x2 % _P == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _I % _P
    if (x * x - x2) % _P:
        return None
    return _P - x if (x & 1) != sign else x


def _add(a, b):
    A = (a[1] - a[0]) * (b[1] - b[0]) % _P
    B = (a[1] + a[0]) * (b[1] + b[0]) % _P
    C = 2 * a[3] * b[3] * _D % _P
    D = 2 * a[2] * b[2] % _P
    E, F, G, H = B - A, D - C, D + C, B + A
    return (E * F % _P, G * H % _P, F * G % _P, E * H % _P)


def _mul(s, pt):
    q = (0, 1, 1, 0)
    while s:
        if s & 1:
            q = _add(q, pt)
        pt = _add(pt, pt)
        s >>= 1
    return q


def _decompress(b):
    y = int.from_bytes(b, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % _P)


_GY = 4 * pow(5, _P - 2, _P) % _P
_G = (_recover_x(_GY, 0), _GY, 1, _recover_x(_GY, 0) * _GY % _P)


def ed25519_verify(pub, msg, sig):
    if len(pub) != 32 or len(sig) != 64:
        return False
    A, R = _decompress(pub), _decompress(sig[:32])
    s = int.from_bytes(sig[32:], "little")
    if A is None or R is None or s >= _L:
        return False
    h = int.from_bytes(hashlib.sha512(sig[:32] + pub + msg).digest(), "little") % _L
    lhs, rhs = _mul(s, _G), _add(R, _mul(h, A))
    return (lhs[0] * rhs[2] - rhs[0] * lhs[2]) % _P == 0 and \
        (lhs[1] * rhs[2] - rhs[1] * lhs[2]) % _P == 0


# --- helpers ---------------------------------------------------------------------------

def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_parts(tok):
    h, p, s = tok.split(".")
    return json.loads(unb64u(h)), json.loads(unb64u(p)), unb64u(s)


def jwt_verify(srv, tok):
    """The token's signature checks against the key of its kid in the JWKS."""
    h, _, sig = jwt_parts(tok)
    keys = assert_json(srv.req("GET", 8002, "/.well-known/jwks.json", auth=False))["keys"]
    key = next(k for k in keys if k["kid"] == h["kid"])
    signed = tok.rsplit(".", 1)[0].encode()
    return ed25519_verify(unb64u(key["x"]), signed, sig)


def pkce():
    v = b64u(os.urandom(32))
    return v, b64u(hashlib.sha256(v.encode()).digest())


def new_client(srv, uris=(CB,), confidential=False, headers=None, name="Test app"):
    body = {"name": name, "redirectUris": list(uris)}
    if confidential:
        body["confidential"] = True
    r = srv.req("POST", 8002, "/sso/clients", body=body, headers=headers)
    return assert_json(r, 201)


class Form(html.parser.HTMLParser):
    """Inputs, labels and landmarks of the login page."""

    def __init__(self, text):
        super().__init__()
        self.inputs, self.labels, self.tags, self.alert = {}, set(), [], None
        self._in_alert = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "input":
            self.inputs[a.get("name")] = a
        if tag == "label":
            self.labels.add(a.get("for"))
        if a.get("role") == "alert":
            self._in_alert, self.alert = True, ""

    def handle_endtag(self, tag):
        self._in_alert = False

    def handle_data(self, data):
        if self._in_alert:
            self.alert += data

    def hidden(self):
        return {n: a.get("value", "") for n, a in self.inputs.items() if a.get("type") == "hidden"}


def authorize_url(cid, challenge, redirect_uri=CB, **extra):
    q = {"response_type": "code", "client_id": cid, "redirect_uri": redirect_uri,
         "scope": "openid email", "state": "st-" + b64u(os.urandom(6)), "nonce": "n-" + b64u(os.urandom(6)),
         "code_challenge": challenge, "code_challenge_method": "S256"}
    q.update(extra)
    q = {k: v for k, v in q.items() if v is not None}
    return "/sso/authorize?" + urllib.parse.urlencode(q), q


def open_form(srv, cid, challenge, **extra):
    path, q = authorize_url(cid, challenge, **extra)
    r = srv.req("GET", 8002, path, auth=False)
    assert r.status == 200, "GET authorize: %r" % (r,)
    assert r.headers.get("content-type", "").startswith("text/html"), r.headers
    cookie = r.headers["set-cookie"].split(";")[0]
    return Form(r.text), cookie, q


def post_form(srv, fields, cookie=None, port=8002):
    h = {"Content-Type": FORM}
    if cookie:
        h["Cookie"] = cookie
    return srv.req("POST", port, "/sso/authorize", body=urllib.parse.urlencode(fields).encode(),
                   headers=h, auth=False)


def sign_in(srv, cid, email=ADMIN_EMAIL, password=ADMIN_PASSWORD, tenant="default", **extra):
    """GET authorize, POST the credentials; returns (302 response, verifier, query)."""
    verifier, challenge = pkce()
    form, cookie, q = open_form(srv, cid, challenge, **extra)
    fields = form.hidden()
    fields.update(email=email, password=password, tenant=tenant)
    return post_form(srv, fields, cookie), verifier, q


def redirect_params(r):
    assert r.status == 302, "expected a redirect, got %r" % (r,)
    loc = r.headers["location"]
    assert loc.startswith(CB + "?") or loc.startswith(CB.rsplit("/", 1)[0]), loc
    return {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlparse(loc).query).items()}


def token(srv, fields, headers=None):
    h = {"Content-Type": FORM}
    h.update(headers or {})
    return srv.req("POST", 8002, "/sso/token", body=urllib.parse.urlencode(fields).encode(),
                   headers=h, auth=False)


def code_grant(cid, code, verifier, redirect_uri=CB, **extra):
    f = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
         "client_id": cid, "code_verifier": verifier}
    f.update(extra)
    return {k: v for k, v in f.items() if v is not None}


def oauth_error(r, status, error):
    assert r.status == status, "expected %d %s, got %r" % (status, error, r)
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    assert r.json.get("error") == error, "error %r, expected %r" % (r.json, error)
    assert isinstance(r.json.get("error_description"), str), r.json
    return r.json


def issuer(srv):
    return "http://127.0.0.1:%d" % (8002 + srv.offset)


# --- discovery and keys ------------------------------------------------------------------

def test_discovery_document(srv):
    r = srv.req("GET", 8002, "/.well-known/openid-configuration", auth=False)
    d = assert_json(r)
    assert r.headers.get("cache-control") == "no-store", r.headers
    iss = issuer(srv)
    assert d["issuer"] == iss, d["issuer"]
    assert d["authorization_endpoint"] == iss + "/sso/authorize", d
    assert d["token_endpoint"] == iss + "/sso/token", d
    assert d["userinfo_endpoint"] == iss + "/sso/userinfo", d
    assert d["jwks_uri"] == iss + "/.well-known/jwks.json", d
    assert d["response_types_supported"] == ["code"], d
    assert d["grant_types_supported"] == ["authorization_code", "refresh_token"], d
    assert d["code_challenge_methods_supported"] == ["S256"], d
    assert d["id_token_signing_alg_values_supported"] == ["EdDSA"], d
    assert d["subject_types_supported"] == ["public"], d
    assert "openid" in d["scopes_supported"], d
    assert sorted(d["token_endpoint_auth_methods_supported"]) == \
        ["client_secret_basic", "client_secret_post", "none"], d
    # the issuer is the one in the tokens
    h, p, _ = jwt_parts(srv.admin_token())
    assert p["iss"] == iss, p


def test_jwks_key_matches_access_token(srv):
    keys = assert_json(srv.req("GET", 8002, "/.well-known/jwks.json", auth=False))["keys"]
    assert keys, "empty JWKS"
    for k in keys:
        assert k["kty"] == "OKP" and k["crv"] == "Ed25519", k
        assert len(unb64u(k["x"])) == 32 and "d" not in k, k
    tok = srv.admin_token()
    h, _, _ = jwt_parts(tok)
    assert h["alg"] == "EdDSA", h
    assert h["kid"] in {k["kid"] for k in keys}, (h, keys)
    assert jwt_verify(srv, tok), "access token signature does not verify against the JWKS"
    # and the verifier is not a rubber stamp
    head, pay, sig = tok.split(".")
    forged = b64u(json.dumps(dict(jwt_parts(tok)[1], sub="someone-else")).encode())
    assert not jwt_verify(srv, head + "." + forged + "." + sig)


# --- client registry ----------------------------------------------------------------------

def test_client_registry(srv):
    r = srv.req("POST", 8002, "/sso/clients", body={"name": "Public", "redirectUris": [CB]})
    c = assert_json(r, 201)
    assert r.headers.get("location") == "/sso/clients/" + c["clientId"], r.headers
    assert c["redirectUris"] == [CB] and c["confidential"] is False and "clientSecret" not in c, c
    conf = new_client(srv, uris=["https://app.example.com/callback", CB], confidential=True, name="Conf")
    assert isinstance(conf.get("clientSecret"), str) and len(conf["clientSecret"]) >= 32, conf
    got = assert_json(srv.get(8002, "/sso/clients/" + conf["clientId"]))
    assert "clientSecret" not in got and got["confidential"] is True, got
    assert got["redirectUris"] == ["https://app.example.com/callback", CB], got
    ids = [i["clientId"] for i in assert_json(srv.get(8002, "/sso/clients"))["items"]]
    assert c["clientId"] in ids and conf["clientId"] in ids, ids
    # paging
    page = assert_json(srv.get(8002, "/sso/clients?limit=1"))
    assert len(page["items"]) == 1 and page["nextCursor"], page

    # another tenant sees none of it, not even that it exists
    other = srv.tenant_headers("ssoother")
    assert_problem(srv.req("GET", 8002, "/sso/clients/" + c["clientId"], headers=other), 404)
    assert_problem(srv.req("DELETE", 8002, "/sso/clients/" + c["clientId"], headers=other), 404)
    assert c["clientId"] not in [i["clientId"] for i in
                                 assert_json(srv.req("GET", 8002, "/sso/clients", headers=other))["items"]]
    # admin permission, a token and the tenant header are required
    viewer = srv.tenant_headers("default", roles=("viewer",))
    assert_problem(srv.req("GET", 8002, "/sso/clients", headers=viewer), 403)
    assert_problem(srv.req("POST", 8002, "/sso/clients", body={"name": "x", "redirectUris": [CB]},
                           headers=viewer), 403)
    assert_problem(srv.req("GET", 8002, "/sso/clients", auth=False), 401)

    assert srv.req("DELETE", 8002, "/sso/clients/" + c["clientId"]).status == 204
    assert_problem(srv.get(8002, "/sso/clients/" + c["clientId"]), 404)
    assert_problem(srv.req("DELETE", 8002, "/sso/clients/" + c["clientId"]), 404)


def test_client_registry_validation(srv):
    bad = [
        ({"redirectUris": [CB]}, "/name"),
        ({"name": "x"}, "/redirectUris"),
        ({"name": "x", "redirectUris": []}, "/redirectUris"),
        ({"name": "x", "redirectUris": "http://127.0.0.1/cb"}, "/redirectUris"),
        ({"name": "x", "redirectUris": [42]}, "/redirectUris/0"),
        ({"name": "x", "redirectUris": ["http://evil.example.com/cb"]}, "/redirectUris/0"),
        ({"name": "x", "redirectUris": [CB, "https://a.example.com/cb#frag"]}, "/redirectUris/1"),
        ({"name": "x", "redirectUris": ["javascript:alert(1)"]}, "/redirectUris/0"),
        ({"name": "x", "redirectUris": ["/relative/cb"]}, "/redirectUris/0"),
        ({"name": "x", "redirectUris": ["https://user:pw@a.example.com/cb"]}, "/redirectUris/0"),
        ({"name": "x", "redirectUris": [CB] * 21}, "/redirectUris"),
        ({"name": "", "redirectUris": [CB]}, "/name"),
        ({"name": "x", "redirectUris": [CB], "confidential": "yes"}, "/confidential"),
    ]
    for body, pointer in bad:
        p = assert_problem(srv.req("POST", 8002, "/sso/clients", body=body), 422)
        assert pointer in [e["pointer"] for e in p["errors"]], (body, p)
    # accepted shapes: https anywhere, loopback http, a native app's private-use scheme
    new_client(srv, uris=["https://a.example.com/cb?x=1", "http://localhost:8080/cb",
                          "http://[::1]/cb", "com.example.app:/oauth2redirect"])


# --- the flow -------------------------------------------------------------------------------

def test_login_page_is_plain_accessible_html(srv):
    c = new_client(srv, name="Páge <Test> & co")
    verifier, challenge = pkce()
    path, q = authorize_url(c["clientId"], challenge, state='"><script>x</script>')
    r = srv.req("GET", 8002, path, auth=False)
    assert r.status == 200, r
    text = r.text
    assert "<script" not in text.lower(), "reflected markup or script on the page"
    assert "Páge &lt;Test&gt; &amp; co" in text, "client name not shown escaped"
    f = Form(text)
    assert "main" in f.tags and "form" in f.tags, f.tags
    assert f.alert is not None and f.alert.strip() == "", "error region (role=alert) missing or not empty"
    for name in ("email", "password", "tenant"):
        assert name in f.inputs, "no %s field" % name
        assert f.inputs[name].get("id") in f.labels, "field %s has no label" % name
    assert f.inputs["password"].get("type") == "password"
    h = f.hidden()
    for k in ("client_id", "redirect_uri", "state", "nonce", "code_challenge", "code_challenge_method", "form"):
        assert k in h, "hidden field %s missing" % k
    assert h["state"] == q["state"] and h["code_challenge"] == challenge, h
    assert "frame-ancestors 'none'" in r.headers.get("content-security-policy", ""), r.headers
    ck = r.headers.get("set-cookie", "")
    assert "HttpOnly" in ck and "SameSite=Strict" in ck, ck


def test_code_flow_with_pkce_end_to_end(srv):
    c = new_client(srv)
    cid = c["clientId"]
    r, verifier, q = sign_in(srv, cid)
    p = redirect_params(r)
    assert p["state"] == q["state"], p
    assert p["iss"] == issuer(srv), p
    assert len(p["code"]) >= 32, p

    r = token(srv, code_grant(cid, p["code"], verifier))
    t = assert_json(r)
    assert r.headers.get("cache-control") == "no-store", r.headers
    assert t["token_type"] == "Bearer" and 0 < t["expires_in"] <= 900, t
    assert set(t["scope"].split()) == {"openid", "email"}, t
    assert t["refresh_token"], t

    h, idp, _ = jwt_parts(t["id_token"])
    assert h["alg"] == "EdDSA" and h["kid"], h
    assert jwt_verify(srv, t["id_token"]), "id_token signature does not verify against the JWKS"
    assert idp["iss"] == issuer(srv) and idp["aud"] == cid, idp
    assert idp["nonce"] == q["nonce"], idp
    assert idp["email"] == ADMIN_EMAIL and idp["tenant"] == "default", idp
    _, atp, _ = jwt_parts(t["access_token"])
    assert idp["sub"] == atp["sub"] and atp["email"] == ADMIN_EMAIL, (idp, atp)
    assert idp["exp"] > idp["iat"], idp

    # the access token is a FlowMaster token: it works on another module's API
    bearer = {"Authorization": "Bearer " + t["access_token"]}
    r = srv.req("GET", 8001, "/services", headers=dict(bearer, **{"X-Tenant-Id": "default"}))
    assert_json(r)
    # the id token is not: its audience is the client
    r = srv.req("GET", 8001, "/services", headers={"Authorization": "Bearer " + t["id_token"],
                                                  "X-Tenant-Id": "default"})
    assert_problem(r, 401)

    # userinfo, as a plain OIDC client calls it (no X-Tenant-Id)
    u = assert_json(srv.req("GET", 8002, "/sso/userinfo", headers=bearer))
    assert u["email"] == ADMIN_EMAIL and u["sub"] == idp["sub"] and u["tenant"] == "default", u
    assert "admin" in u["roles"], u

    # refresh through the token endpoint; the old refresh token then works no more
    r = token(srv, {"grant_type": "refresh_token", "refresh_token": t["refresh_token"], "client_id": cid})
    t2 = assert_json(r)
    assert t2["access_token"] != t["access_token"] and t2["refresh_token"] != t["refresh_token"], t2
    assert jwt_parts(t2["id_token"])[1]["aud"] == cid
    oauth_error(token(srv, {"grant_type": "refresh_token", "refresh_token": t["refresh_token"],
                            "client_id": cid}), 400, "invalid_grant")


def test_confidential_client_authentication(srv):
    c = new_client(srv, confidential=True)
    cid, secret = c["clientId"], c["clientSecret"]

    def fresh():
        r, verifier, _ = sign_in(srv, cid)
        return redirect_params(r)["code"], verifier

    code, v = fresh()
    basic = "Basic " + base64.b64encode(("%s:%s" % (cid, secret)).encode()).decode()
    assert_json(token(srv, code_grant(cid, code, v, client_id=None), {"Authorization": basic}))

    code, v = fresh()
    assert_json(token(srv, code_grant(cid, code, v, client_secret=secret)))

    code, v = fresh()
    r = token(srv, code_grant(cid, code, v, client_id=None),
              {"Authorization": "Basic " + base64.b64encode(("%s:wrong" % cid).encode()).decode()})
    oauth_error(r, 401, "invalid_client")
    assert r.headers.get("www-authenticate", "").startswith("Basic"), r.headers
    oauth_error(token(srv, code_grant(cid, code, v)), 401, "invalid_client")          # no secret
    oauth_error(token(srv, code_grant(cid, code, v, client_secret=secret),
                      {"Authorization": basic}), 400, "invalid_request")               # two methods
    # the failed attempts never reached the code: it still works once
    assert_json(token(srv, code_grant(cid, code, v, client_secret=secret)))


def test_tenant_client_signs_in_its_own_users_only(srv):
    acme = srv.tenant_headers("ssoacme")
    c = new_client(srv, headers=acme)
    assert c["tenant"] == "ssoacme", c
    # the default tenant's admin is no user of acme
    r, _, _ = sign_in(srv, c["clientId"])
    assert r.status == 401 and "location" not in r.headers, r
    assert Form(r.text).alert.strip(), "no error shown"
    r, v, _ = sign_in(srv, c["clientId"], email="admin@ssoacme.test", password="pw-ssoacme-0123456789",
                      tenant="ssoacme")
    t = assert_json(token(srv, code_grant(c["clientId"], redirect_params(r)["code"], v)))
    assert jwt_parts(t["id_token"])[1]["tenant"] == "ssoacme"
    u = assert_json(srv.req("GET", 8002, "/sso/userinfo",
                            headers={"Authorization": "Bearer " + t["access_token"]}))
    assert u["email"] == "admin@ssoacme.test" and u["tenant"] == "ssoacme", u
    # a tenant header that is sent must be the token's
    r = srv.req("GET", 8002, "/sso/userinfo", headers={"Authorization": "Bearer " + t["access_token"],
                                                       "X-Tenant-Id": "default"})
    assert_problem(r, 403)


# --- refusals -------------------------------------------------------------------------------

def test_authorize_without_valid_client_or_redirect_never_redirects(srv):
    c = new_client(srv, uris=[CB])
    _, ch = pkce()
    cases = [
        authorize_url("cli_doesnotexist0000000", ch)[0],
        authorize_url(c["clientId"], ch, redirect_uri="http://127.0.0.1:5555/other")[0],
        authorize_url(c["clientId"], ch, redirect_uri=CB + "/more")[0],
        authorize_url(c["clientId"], ch, redirect_uri=CB + "?x=1")[0],
        authorize_url(c["clientId"], ch, redirect_uri=None)[0],
        authorize_url(None, ch)[0],
    ]
    for path in cases:
        r = srv.req("GET", 8002, path, auth=False)
        assert r.status == 400 and "location" not in r.headers, "%s: %r" % (path, r)
        assert r.headers.get("content-type", "").startswith("text/html"), r.headers
        assert Form(r.text).alert.strip(), "no error text on %s" % path


def test_authorize_errors_go_back_to_the_client(srv):
    c = new_client(srv)
    cid = c["clientId"]
    _, ch = pkce()
    cases = [
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),   # no PKCE
        ({"code_challenge_method": None}, "invalid_request"),       # method defaults to plain
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": None}, "invalid_request"),
        ({"scope": "email"}, "invalid_scope"),
        ({"prompt": "none"}, "login_required"),
        ({"request": "eyJhbGciOiJub25lIn0." + "x" * 300 + "."}, "request_not_supported"),
        ({"request_uri": "https://a.example.com/r"}, "request_uri_not_supported"),
    ]
    for extra, error in cases:
        path, q = authorize_url(cid, ch, **extra)
        r = srv.req("GET", 8002, path, auth=False)
        p = redirect_params(r)
        assert p.get("error") == error, "%r: %r" % (extra, p)
        assert p.get("state") == q["state"] and "code" not in p, p
        assert p.get("error_description"), p


def test_bad_password_gives_no_code(srv):
    c = new_client(srv)
    r, _, _ = sign_in(srv, c["clientId"], password="wrong-password-123")
    assert r.status == 401 and "location" not in r.headers, r
    f = Form(r.text)
    msg = f.alert.strip()
    assert msg, "no error in the role=alert region"
    assert f.inputs["email"].get("value") == ADMIN_EMAIL, "the email should be kept"
    assert not f.inputs["password"].get("value"), "the password must not be echoed"
    # an unknown account reads exactly the same
    r, _, _ = sign_in(srv, c["clientId"], email="nobody@localhost", password="wrong-password-123")
    assert r.status == 401 and Form(r.text).alert.strip() == msg, r
    # empty fields
    r, _, _ = sign_in(srv, c["clientId"], password="")
    assert r.status == 400 and "location" not in r.headers, r


def test_form_is_bound_to_browser_and_request(srv):
    c = new_client(srv)
    _, ch = pkce()
    form, cookie, _ = open_form(srv, c["clientId"], ch)
    good = dict(form.hidden(), email=ADMIN_EMAIL, password=ADMIN_PASSWORD, tenant="default")
    # no cookie (another site posting the form), a foreign cookie, changed parameters
    r = post_form(srv, good)
    assert r.status == 403 and "location" not in r.headers, r
    r = post_form(srv, good, "fm_sso_csrf=" + b64u(os.urandom(32)))
    assert r.status == 403 and "location" not in r.headers, r
    r = post_form(srv, dict(good, state="changed"), cookie)
    assert r.status == 403 and "location" not in r.headers, r
    _, other_ch = pkce()
    r = post_form(srv, dict(good, code_challenge=other_ch), cookie)
    assert r.status == 403 and "location" not in r.headers, r
    r = post_form(srv, dict(good, form=""), cookie)
    assert r.status == 403 and "location" not in r.headers, r
    # a form post that is not form-encoded
    r = srv.req("POST", 8002, "/sso/authorize", body=json.dumps(good), auth=False,
                headers={"Cookie": cookie})
    assert r.status == 415 and "location" not in r.headers, r
    # tampering with the hidden redirect_uri is caught before anything else
    r = post_form(srv, dict(good, redirect_uri="http://127.0.0.1:6666/steal"), cookie)
    assert r.status == 400 and "location" not in r.headers, r
    # and the untouched form still works
    assert "code" in redirect_params(post_form(srv, good, cookie))


def test_token_endpoint_refusals(srv):
    c = new_client(srv)
    cid = c["clientId"]
    other = new_client(srv, name="Other")

    # wrong verifier: refused, and the code is spent
    r, v, _ = sign_in(srv, cid)
    code = redirect_params(r)["code"]
    oauth_error(token(srv, code_grant(cid, code, pkce()[0])), 400, "invalid_grant")
    oauth_error(token(srv, code_grant(cid, code, v)), 400, "invalid_grant")

    # reused code: the second use fails and revokes what the first one got
    r, v, _ = sign_in(srv, cid)
    code = redirect_params(r)["code"]
    t = assert_json(token(srv, code_grant(cid, code, v)))
    oauth_error(token(srv, code_grant(cid, code, v)), 400, "invalid_grant")
    oauth_error(token(srv, {"grant_type": "refresh_token", "refresh_token": t["refresh_token"],
                            "client_id": cid}), 400, "invalid_grant")
    r = http_request(8002 + srv.offset, "POST", "/auth/refresh", {"refreshToken": t["refresh_token"]})
    assert r.status == 401, r

    # another client, another redirect_uri
    r, v, _ = sign_in(srv, cid)
    code = redirect_params(r)["code"]
    oauth_error(token(srv, code_grant(other["clientId"], code, v)), 400, "invalid_grant")
    r, v, _ = sign_in(srv, cid)
    code = redirect_params(r)["code"]
    oauth_error(token(srv, code_grant(cid, code, v, redirect_uri="http://127.0.0.1:5555/other")),
                400, "invalid_grant")

    # malformed requests (these leave a code alone)
    r, v, _ = sign_in(srv, cid)
    code = redirect_params(r)["code"]
    oauth_error(token(srv, code_grant(cid, code, None)), 400, "invalid_request")       # no verifier
    oauth_error(token(srv, code_grant(cid, code, "short")), 400, "invalid_request")
    oauth_error(token(srv, code_grant(cid, None, v)), 400, "invalid_request")
    oauth_error(token(srv, code_grant(cid, code, v, grant_type="password")), 400, "unsupported_grant_type")
    oauth_error(token(srv, code_grant(cid, code, v, grant_type=None)), 400, "invalid_request")
    oauth_error(token(srv, code_grant("cli_doesnotexist0000000", code, v)), 401, "invalid_client")
    oauth_error(token(srv, code_grant(None, code, v)), 401, "invalid_client")
    oauth_error(token(srv, code_grant(cid, code, v, client_secret="x")), 401, "invalid_client")
    body = urllib.parse.urlencode(code_grant(cid, code, v)) + "&code=again"
    oauth_error(srv.req("POST", 8002, "/sso/token", body=body.encode(), auth=False,
                        headers={"Content-Type": FORM}), 400, "invalid_request")       # repeated
    r = srv.req("POST", 8002, "/sso/token", body=code_grant(cid, code, v), auth=False)   # JSON
    oauth_error(r, 400, "invalid_request")
    oauth_error(token(srv, code_grant(cid, "x" * 43, v)), 400, "invalid_grant")        # unknown code
    # after all that the code still works, once
    assert_json(token(srv, code_grant(cid, code, v)))


def test_userinfo_refusals(srv):
    r = srv.req("GET", 8002, "/sso/userinfo", auth=False)
    assert_problem(r, 401)
    assert r.headers.get("www-authenticate", "").startswith("Bearer"), r.headers
    r = srv.req("GET", 8002, "/sso/userinfo", headers={"Authorization": "Bearer not.a.token"})
    assert_problem(r, 401)
    assert 'error="invalid_token"' in r.headers.get("www-authenticate", ""), r.headers


def test_deleted_client_codes_die(srv):
    c = new_client(srv)
    r, v, _ = sign_in(srv, c["clientId"])
    code = redirect_params(r)["code"]
    assert srv.req("DELETE", 8002, "/sso/clients/" + c["clientId"]).status == 204
    oauth_error(token(srv, code_grant(c["clientId"], code, v)), 401, "invalid_client")


def test_failed_sso_logins_are_throttled_per_browser_address(throttle):
    srv = throttle
    c = new_client(srv)
    statuses = []
    # auth.login_free_failures (5) fail plainly; then each failure doubles the wait
    # (1 s, 2 s, ...), so a 429 comes within a few attempts however slow the machine
    while 429 not in statuses and len(statuses) < 12:
        r, _, _ = sign_in(srv, c["clientId"], password="wrong-password-123")
        assert "location" not in r.headers, r
        statuses.append(r.status)
    assert statuses[:5] == [401] * 5 and statuses[-1] == 429, statuses
    assert Form(r.text).alert.strip(), "no error shown on the 429 page"
    # the failures count against the browser's address (127.0.0.1), as direct logins do,
    # not against an "in-process" address every SSO user would share
    r = http_request(8002 + srv.offset, "POST", "/auth/login",
                     {"email": "someone@localhost", "password": "whatever-123456", "tenant": "default"})
    assert r.status == 429, r


def test_web_apps_client_is_registered_at_start(srv):
    """The web apps (3000/3001/3002/3005) sign in as the public client cli_flowmaster_web,
    registered at start with their roots at this run's port offset; the app redeems the
    code on its own origin (/api/sso/token)."""
    c = assert_json(srv.req("GET", 8002, "/sso/clients/cli_flowmaster_web"))
    assert c["confidential"] is False and c["tenant"] == "default", c
    want = {"http://%s:%d/" % (h, p + srv.offset) for h in ("127.0.0.1", "localhost")
            for p in (3000, 3001, 3002, 3005)}
    assert set(c["redirectUris"]) == want, c
    root = "http://127.0.0.1:%d/" % (3001 + srv.offset)
    r, verifier, q = sign_in(srv, "cli_flowmaster_web", redirect_uri=root)
    assert r.status == 302 and r.headers["location"].startswith(root + "?code="), r
    code = {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlparse(r.headers["location"]).query).items()}["code"]
    r = srv.req("POST", 3001, "/api/sso/token", auth=False, headers={"Content-Type": FORM},
                body=urllib.parse.urlencode(code_grant("cli_flowmaster_web", code, verifier, redirect_uri=root)).encode())
    t = assert_json(r)
    assert t["access_token"] and t["refresh_token"], t
    # another redirect URI is not one of its URIs: an error page, never a redirect
    path, _ = authorize_url("cli_flowmaster_web", pkce()[1], redirect_uri="http://127.0.0.1:5555/")
    r = srv.req("GET", 8002, path, auth=False)
    assert r.status == 400 and "location" not in r.headers, r
