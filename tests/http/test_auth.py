"""Authentication end to end (issue 3): login -> call -> refresh with rotation and reuse
detection -> logout; validate; failed logins and their throttling; the gateway's rate
limit, CORS and security headers; the admin API (tenants, users, roles with conditions,
service accounts); signing-key rotation."""

import base64
import json
import time

from harness import (ADMIN_EMAIL, ADMIN_PASSWORD, Server, assert_json, assert_problem,
                     http_request, unique_name, Skip)

AUTH = 8002

# The shared server allows more failed logins than the default (5 per client IP): the
# tests below fail on purpose a few times, and every request comes from 127.0.0.1.
FIXTURES = {
    "srv": lambda: Server(env={"FLOWMASTER_AUTH_LOGIN_FREE_FAILURES": "50"}),
    "throttled": lambda: Server(modules="auth,sso",
                                env={"FLOWMASTER_AUTH_LOGIN_FREE_FAILURES": "2",
                                     "FLOWMASTER_AUTH_LOGIN_MAX_DELAY_S": "60"}),
    "limited": lambda: Server(modules="auth,sso,registry",
                              env={"FLOWMASTER_GATEWAY_RATE_PER_IP": "5",
                                   "FLOWMASTER_GATEWAY_BURST_PER_IP": "5"}),
    "tenant_limited": lambda: Server(modules="auth,sso,registry",
                                     env={"FLOWMASTER_GATEWAY_RATE_PER_IP": "0",
                                          "FLOWMASTER_GATEWAY_RATE_PER_TENANT": "1",
                                          "FLOWMASTER_GATEWAY_BURST_PER_TENANT": "3"}),
    "cors": lambda: Server(modules="auth,sso,registry",
                           env={"FLOWMASTER_GATEWAY_CORS_ORIGINS": "http://app.test"}),
}


# --- helpers ---------------------------------------------------------------------------

def post(srv, path, body, headers=None, port=AUTH):
    return http_request(srv.port(port), "POST", path, body, headers or {})


def call(srv, method, path, headers, body=None, port=AUTH):
    return http_request(srv.port(port), method, path, body, headers)


def login(srv, email, password, tenant="default"):
    return post(srv, "/auth/login", {"email": email, "password": password, "tenant": tenant})


def bearer(token, tenant="default"):
    return {"Authorization": "Bearer " + token, "X-Tenant-Id": tenant}


def jwt_part(token, i):
    s = token.split(".")[i]
    return json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))


def admin(srv):
    return bearer(srv.admin_token())


def make_user(srv, headers, roles, password="pw-user-0123456789", email=None):
    email = email or "%s@example.test" % unique_name("user")
    r = post(srv, "/auth/users", {"email": email, "password": password, "roles": roles,
                                  "name": "Test User"}, headers)
    u = assert_json(r, 201)
    return u, email, password


# --- login, refresh, logout, validate ----------------------------------------------------

def test_login_refresh_logout(srv):
    r = login(srv, ADMIN_EMAIL, ADMIN_PASSWORD)
    t = assert_json(r)
    assert set(t) >= {"accessToken", "refreshToken", "expiresIn", "tokenType"}, t
    assert t["tokenType"] == "Bearer" and t["expiresIn"] == 900, t
    h = jwt_part(t["accessToken"], 0)
    assert h["alg"] == "EdDSA" and h["kid"], h
    c = jwt_part(t["accessToken"], 1)
    assert c["aud"] == "flowmaster" and c["tenant"] == "default" and "admin" in c["roles"], c
    assert c["exp"] - c["iat"] == 900 and c["nbf"] <= c["iat"] and c["jti"], c
    assert c["iss"] == "http://127.0.0.1:%d" % srv.port(AUTH), c

    # a protected route with the token; without it, 401
    assert_json(call(srv, "GET", "/auth/users", bearer(t["accessToken"])))
    assert_problem(call(srv, "GET", "/auth/users", {"X-Tenant-Id": "default"}), 401,
                   "Unauthorized")

    # refresh: a new pair; the refresh token rotates
    r1 = t["refreshToken"]
    t2 = assert_json(post(srv, "/auth/refresh", {"refreshToken": r1}))
    r2 = t2["refreshToken"]
    assert r2 and r2 != r1
    assert t2["accessToken"] != t["accessToken"]
    assert jwt_part(t2["accessToken"], 1)["jti"] != c["jti"]
    assert_json(call(srv, "GET", "/auth/users", bearer(t2["accessToken"])))

    # the old one again: 401 -- and that revoked the whole family, so r2 is dead too
    p = assert_problem(post(srv, "/auth/refresh", {"refreshToken": r1}), 401, "Unauthorized")
    assert "revoked" in p["detail"], p
    assert_problem(post(srv, "/auth/refresh", {"refreshToken": r2}), 401, "Unauthorized")

    # another session is not affected by that family's revocation
    s = assert_json(login(srv, ADMIN_EMAIL, ADMIN_PASSWORD))
    s2 = assert_json(post(srv, "/auth/refresh", {"refreshToken": s["refreshToken"]}))

    # logout ends the session: refresh fails afterwards
    r = post(srv, "/auth/logout", {"refreshToken": s2["refreshToken"]}, bearer(s2["accessToken"]))
    assert r.status == 204, r
    assert_problem(post(srv, "/auth/refresh", {"refreshToken": s2["refreshToken"]}), 401)
    # logout needs a token, and only ends the caller's own sessions
    assert_problem(post(srv, "/auth/logout", {"refreshToken": "x"}, {"X-Tenant-Id": "default"}),
                   401)
    other = srv.tenant_headers("default", roles=("viewer",))
    mine = assert_json(login(srv, ADMIN_EMAIL, ADMIN_PASSWORD))
    assert_problem(post(srv, "/auth/logout", {"refreshToken": mine["refreshToken"]}, other), 404)
    assert_json(post(srv, "/auth/refresh", {"refreshToken": mine["refreshToken"]}))

    # junk refresh tokens
    assert_problem(post(srv, "/auth/refresh", {"refreshToken": "not-a-token"}), 401)
    assert_problem(post(srv, "/auth/refresh", {}), 422)


def test_validate(srv):
    tok = srv.admin_token()
    v = assert_json(call(srv, "GET", "/auth/validate", bearer(tok)))
    assert v["active"] is True, v
    cl = v["claims"]
    assert cl["sub"] and cl["tenant"] == "default" and cl["typ"] == "access", cl
    assert cl["email"] == ADMIN_EMAIL and cl["roles"] == ["admin"], cl
    # bad, tampered and missing tokens: 401 with WWW-Authenticate
    for h in ({"Authorization": "Bearer nope"},
              {"Authorization": "Bearer " + tok[:-4] + ("AAAA" if tok[-4:] != "AAAA" else "BBBB")},
              {}):
        h["X-Tenant-Id"] = "default"
        r = call(srv, "GET", "/auth/validate", h)
        assert_problem(r, 401, "Unauthorized")
        assert r.headers.get("www-authenticate", "").startswith("Bearer realm=\"flowmaster\""), r
    r = call(srv, "GET", "/auth/validate", {"Authorization": "Bearer nope", "X-Tenant-Id": "default"})
    assert 'error="invalid_token"' in r.headers["www-authenticate"], r.headers
    # the gateway verifies the same tokens
    assert_json(call(srv, "GET", "/auth/validate", bearer(tok), port=9000))


def test_wrong_password_and_unknown_user(srv):
    bad = login(srv, ADMIN_EMAIL, "wrong-password-123")
    p1 = assert_problem(bad, 401, "Unauthorized")
    unknown = login(srv, "nobody@nowhere.test", "wrong-password-123")
    p2 = assert_problem(unknown, 401, "Unauthorized")
    wrong_tenant = login(srv, ADMIN_EMAIL, ADMIN_PASSWORD, tenant="no-such-tenant")
    p3 = assert_problem(wrong_tenant, 401, "Unauthorized")
    # the same answer whichever part was wrong: no account enumeration
    assert p1["detail"] == p2["detail"] == p3["detail"], (p1, p2, p3)
    assert p1["type"] == p2["type"] and p1["title"] == p2["title"]
    assert "accessToken" not in bad.text and "refreshToken" not in bad.text
    # missing fields are a 422, not a 401
    assert_problem(post(srv, "/auth/login", {"email": ADMIN_EMAIL}), 422)
    # and the right password still works
    assert_json(login(srv, ADMIN_EMAIL, ADMIN_PASSWORD))


def test_throttled_logins(throttled):
    srv = throttled
    # two free failures ...
    for _ in range(2):
        assert_problem(login(srv, ADMIN_EMAIL, "wrong-password-1"), 401)
    # ... then 429 with Retry-After, even with the right password
    r = login(srv, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert_problem(r, 429)
    assert int(r.headers["retry-after"]) >= 1, r.headers
    assert "refreshToken" not in r.text
    # after the wait one more failure doubles the delay
    time.sleep(1.1)
    assert_problem(login(srv, ADMIN_EMAIL, "wrong-password-2"), 401)
    r = login(srv, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert_problem(r, 429)
    assert int(r.headers["retry-after"]) >= 2, r.headers
    # the per-IP count holds other accounts back too
    r = login(srv, "other@nowhere.test", "whatever-password")
    assert r.status == 429, r
    time.sleep(2.1)
    t = assert_json(login(srv, ADMIN_EMAIL, ADMIN_PASSWORD))
    assert t["accessToken"]


def test_rate_limit_burst(limited):
    srv = limited
    statuses, last = [], None
    for _ in range(15):
        r = http_request(srv.port(AUTH), "GET", "/.well-known/openid-configuration")
        statuses.append(r.status)
        if r.status == 429:
            last = r
    assert statuses[:5] == [200] * 5, statuses
    assert statuses.count(429) >= 8, statuses
    assert_problem(last, 429)
    assert int(last.headers["retry-after"]) >= 1, last.headers
    # every port shares the per-IP bucket, public or not
    r = http_request(srv.port(8001), "GET", "/services", headers={"X-Tenant-Id": "default"})
    assert r.status == 429, r
    # health and readiness probes are never throttled (monitors poll from one address)
    assert http_request(srv.port(AUTH), "GET", "/health").status == 200
    assert http_request(srv.port(8001), "GET", "/ready").status == 200
    # it refills: after ~1 s, a few requests pass again
    time.sleep(1.1)
    assert http_request(srv.port(AUTH), "GET", "/.well-known/openid-configuration").status == 200


def test_tenant_rate_limit(tenant_limited):
    srv = tenant_limited
    tok = srv.admin_token()
    # anonymous callers naming the tenant do not drain its bucket ...
    for _ in range(6):
        r = http_request(srv.port(8001), "GET", "/services", headers={"X-Tenant-Id": "default"})
        assert_problem(r, 401)
    # ... its own users do
    statuses = [call(srv, "GET", "/services", bearer(tok), port=8001).status for _ in range(6)]
    assert statuses[:3] == [200] * 3 and 429 in statuses, statuses
    r = call(srv, "GET", "/services", bearer(tok), port=8001)
    assert_problem(r, 429)
    assert int(r.headers["retry-after"]) >= 1, r.headers


def test_cors(cors):
    srv = cors
    pre = {"Origin": "http://app.test", "Access-Control-Request-Method": "POST",
           "Access-Control-Request-Headers": "authorization, content-type, x-tenant-id"}
    for port, path in ((AUTH, "/auth/login"), (AUTH, "/auth/users"), (8001, "/services")):
        r = http_request(srv.port(port), "OPTIONS", path, headers=pre)
        assert r.status == 204, (path, r)
        assert r.headers.get("access-control-allow-origin") == "http://app.test", r.headers
        allow_h = r.headers.get("access-control-allow-headers", "").lower()
        for h in ("authorization", "content-type", "x-tenant-id"):
            assert h in allow_h, (h, r.headers)
        assert "POST" in r.headers.get("access-control-allow-methods", ""), r.headers
        assert "origin" in r.headers.get("vary", "").lower(), r.headers
    # an actual request from the allowed origin carries the header
    r = login(srv, ADMIN_EMAIL, ADMIN_PASSWORD)
    r = http_request(srv.port(AUTH), "POST", "/auth/login",
                     {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
                     {"Origin": "http://app.test"})
    assert r.status == 200 and r.headers.get("access-control-allow-origin") == "http://app.test"
    # other origins get no CORS headers at all, and no 204 preflight
    for origin in ("http://evil.test", "http://app.test.evil.test", "https://app.test"):
        h = dict(pre, Origin=origin)
        r = http_request(srv.port(AUTH), "OPTIONS", "/auth/users", headers=h)
        assert r.status != 204, (origin, r)
        assert not any(k.startswith("access-control-") for k in r.headers), (origin, r.headers)
        r = http_request(srv.port(AUTH), "GET", "/health", headers={"Origin": origin})
        assert r.status == 200 and "access-control-allow-origin" not in r.headers, r.headers


def test_security_headers(srv):
    tok = admin(srv)
    cases = [
        call(srv, "GET", "/health", {}),
        call(srv, "GET", "/auth/users", tok),
        call(srv, "GET", "/auth/users", {"X-Tenant-Id": "default"}),          # 401
        call(srv, "GET", "/nope", {}),                                        # 404
        call(srv, "GET", "/services", tok, port=8001),
        call(srv, "GET", "/health", {}, port=9000),
        call(srv, "GET", "/", {}, port=3000),                                 # a web app
    ]
    for r in cases:
        assert r.headers.get("x-content-type-options") == "nosniff", r
        assert r.headers.get("x-frame-options", "").upper() == "DENY", r
    # credentials are never cached: /auth answers say no-store, including failures
    for r in (login(srv, ADMIN_EMAIL, ADMIN_PASSWORD),
              post(srv, "/auth/login", {"email": ADMIN_EMAIL, "password": "wrong-pw-123"}),
              post(srv, "/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
                   port=9000),
              call(srv, "GET", "/auth/validate", tok),
              call(srv, "GET", "/auth/users", tok),
              post(srv, "/auth/refresh", {"refreshToken": "nope"})):
        assert "no-store" in r.headers.get("cache-control", ""), r


# --- admin API -------------------------------------------------------------------------

def test_tenants_only_by_default_admins(srv):
    plat = admin(srv)
    tid = unique_name("acme").lower()
    r = post(srv, "/auth/tenants", {"id": tid, "name": "Acme",
                                    "admin": {"email": "boss@acme.test",
                                              "password": "boss-password-1"}}, plat)
    t = assert_json(r, 201)
    assert t["id"] == tid and r.headers.get("location") == "/auth/tenants/" + tid, r
    assert_problem(post(srv, "/auth/tenants", {"id": tid, "name": "again"}, plat), 409)
    ids = [x["id"] for x in assert_json(call(srv, "GET", "/auth/tenants", plat))["items"]]
    assert "default" in ids and tid in ids, ids
    assert assert_json(call(srv, "GET", "/auth/tenants/" + tid, plat))["name"] == "Acme"
    # the new tenant's admin manages users of that tenant, not tenants
    boss = bearer(assert_json(login(srv, "boss@acme.test", "boss-password-1", tid))["accessToken"], tid)
    assert_json(call(srv, "GET", "/auth/users", boss))
    assert_problem(call(srv, "GET", "/auth/tenants", boss), 403)
    assert_problem(post(srv, "/auth/tenants", {"id": "x" + tid, "name": "X"}, boss), 403)
    assert_problem(call(srv, "GET", "/auth/tenants/default", boss), 403)
    assert_problem(call(srv, "POST", "/auth/keys/rotate", boss), 403)
    # a non-admin of tenant default cannot either
    viewer = srv.tenant_headers("default", roles=("viewer",))
    assert_problem(call(srv, "GET", "/auth/tenants", viewer), 403)
    # bad input
    assert_problem(post(srv, "/auth/tenants", {"id": "Bad Id!", "name": "x"}, plat), 422)
    assert_problem(post(srv, "/auth/tenants", {"id": "short-pw", "name": "x",
                                               "admin": {"email": "a@b.test", "password": "short"}},
                        plat), 422)


def test_users_crud(srv):
    plat = admin(srv)
    u, email, pw = make_user(srv, plat, ["viewer"])
    assert u["email"] == email and u["roles"] == ["viewer"] and u["status"] == "active", u
    assert "password" not in json.dumps(u).lower() and "hash" not in json.dumps(u).lower(), u
    got = assert_json(call(srv, "GET", "/auth/users/" + u["id"], plat))
    assert got["email"] == email
    listed = assert_json(call(srv, "GET", "/auth/users", plat))["items"]
    assert any(x["id"] == u["id"] for x in listed)
    assert not any("hash" in k.lower() or "password" in k.lower() for x in listed for k in x)
    # update name and roles
    up = assert_json(call(srv, "PATCH", "/auth/users/" + u["id"], plat,
                          {"name": "Renamed", "roles": ["designer"]}))
    assert up["name"] == "Renamed" and up["roles"] == ["designer"], up
    # PUT replaces the user: a missing field is a 422 naming it, and nothing changes
    p = assert_problem(call(srv, "PUT", "/auth/users/" + u["id"], plat, {"name": "Only"}), 422)
    assert p["errors"][0]["pointer"] == "/roles" and "PATCH" in p["detail"], p
    assert assert_json(call(srv, "GET", "/auth/users/" + u["id"], plat))["name"] == "Renamed"
    up = assert_json(call(srv, "PUT", "/auth/users/" + u["id"], plat,
                          {"name": "Whole", "roles": ["viewer"], "status": "active"}))
    assert (up["name"], up["roles"], up["status"]) == ("Whole", ["viewer"], "active"), up
    # invalid input
    assert_problem(post(srv, "/auth/users", {"email": email, "password": pw}, plat), 409)
    assert_problem(post(srv, "/auth/users", {"email": "x@y.test", "password": "short"}, plat), 422)
    assert_problem(post(srv, "/auth/users", {"email": "x@y.test", "password": "long-enough-pw",
                                             "roles": ["no-such-role"]}, plat), 422)
    assert_problem(post(srv, "/auth/users", {"email": "not-an-email", "password": "long-enough-pw"},
                        plat), 422)
    assert_problem(call(srv, "PATCH", "/auth/users/" + u["id"], plat, {"status": "gone"}), 422)
    # other tenants do not see it
    other = srv.tenant_headers("tenant-users")
    assert_problem(call(srv, "GET", "/auth/users/" + u["id"], other), 404)
    assert not any(x["id"] == u["id"]
                   for x in assert_json(call(srv, "GET", "/auth/users", other))["items"])
    assert_problem(call(srv, "DELETE", "/auth/users/" + u["id"], other), 404)
    # a password change takes effect
    assert_json(call(srv, "PATCH", "/auth/users/" + u["id"], plat, {"password": "new-password-42"}))
    assert_problem(login(srv, email, pw), 401)
    assert_json(login(srv, email, "new-password-42"))
    # delete
    assert call(srv, "DELETE", "/auth/users/" + u["id"], plat).status == 204
    assert_problem(call(srv, "GET", "/auth/users/" + u["id"], plat), 404)
    assert_problem(call(srv, "DELETE", "/auth/users/" + u["id"], plat), 404)
    assert_problem(login(srv, email, "new-password-42"), 401)
    # nobody deletes their own account
    me = jwt_part(srv.admin_token(), 1)["sub"]
    assert_problem(call(srv, "DELETE", "/auth/users/" + me, plat), 409)


def test_text_that_looks_like_json_stays_text(srv):
    """A user named "[1]", a role and a group described "{}": only the JSON columns
    (roles, grants) come back parsed; every other text comes back as the string stored."""
    plat = admin(srv)
    email = unique_name("brackets") + "@example.test"
    u = assert_json(post(srv, "/auth/users", {"email": email, "password": "long-enough-pw",
                                              "name": "[1]", "roles": ["viewer"]}, plat), 201)
    assert u["name"] == "[1]" and u["roles"] == ["viewer"], u
    got = assert_json(call(srv, "GET", "/auth/users/" + u["id"], plat))
    assert got["name"] == "[1]" and got["roles"] == ["viewer"], got
    listed = [x for x in assert_json(call(srv, "GET", "/auth/users", plat))["items"] if x["id"] == u["id"]]
    assert listed[0]["name"] == "[1]", listed
    up = assert_json(call(srv, "PATCH", "/auth/users/" + u["id"], plat, {"name": '{"a": 1}'}))
    assert up["name"] == '{"a": 1}', up
    role = unique_name("brackets")
    assert_json(post(srv, "/auth/roles", {"name": role, "description": "[2]",
                                          "grants": ["tasks:read"]}, plat), 201)
    r = assert_json(call(srv, "GET", "/auth/roles/" + role, plat))
    assert r["description"] == "[2]" and r["grants"] == ["tasks:read"], r
    group = unique_name("brackets")
    g = assert_json(post(srv, "/auth/groups", {"name": group, "description": "{}"}, plat), 201)
    assert g["description"] == "{}" and g["members"] == 0, g


def test_custom_role_with_condition(srv):
    plat = admin(srv)
    name = unique_name("own-work")
    grants = ["task:work|resource.assignee == user.sub", "registry:read"]
    r = post(srv, "/auth/roles", {"name": name, "description": "own tasks", "grants": grants}, plat)
    role = assert_json(r, 201)
    assert role["grants"] == grants and role["builtIn"] is False, role
    got = assert_json(call(srv, "GET", "/auth/roles/" + name, plat))
    assert got["grants"] == grants, got
    names = {x["name"]: x for x in assert_json(call(srv, "GET", "/auth/roles", plat))["items"]}
    assert name in names and names["viewer"]["builtIn"] is True, names.keys()
    # bad grants and conditions are refused when saved
    for bad in (["task:work|resource.assignee = user.sub"],
                ["task:work|resource.owner == user.password"],
                ["task:work|resource.a == user.sub ||"],
                ["nocolon"], [], [7]):
        assert_problem(post(srv, "/auth/roles", {"name": unique_name("bad"), "grants": bad}, plat),
                       422)
    assert_problem(post(srv, "/auth/roles", {"name": "admin", "grants": ["*"]}, plat), 409)
    assert_problem(call(srv, "DELETE", "/auth/roles/viewer", plat), 409)
    # a user holding it: the grants are in the token, and the plain one works
    u, email, pw = make_user(srv, plat, [name])
    tok = assert_json(login(srv, email, pw))["accessToken"]
    claims = jwt_part(tok, 1)
    assert claims["roles"] == [name] and set(grants) <= set(claims["perms"]), claims
    assert_json(call(srv, "GET", "/services", bearer(tok), port=8001))
    assert_problem(post(srv, "/services", {"name": "x"}, bearer(tok), port=8001), 403)
    # roles are per tenant
    other = srv.tenant_headers("tenant-roles")
    assert_problem(call(srv, "GET", "/auth/roles/" + name, other), 404)
    # update and delete
    # PUT replaces the role: grants alone are a 422 naming 'description', which stays
    p = assert_problem(call(srv, "PUT", "/auth/roles/" + name, plat, {"grants": ["registry:*"]}), 422)
    assert p["errors"][0]["pointer"] == "/description" and "PATCH" in p["detail"], p
    got = assert_json(call(srv, "GET", "/auth/roles/" + name, plat))
    assert got["description"] == "own tasks" and got["grants"] == grants, got
    # PATCH changes what it sends and keeps the rest
    up = assert_json(call(srv, "PATCH", "/auth/roles/" + name, plat, {"grants": ["registry:*"]}))
    assert up["grants"] == ["registry:*"] and up["description"] == "own tasks", up
    assert_problem(call(srv, "PATCH", "/auth/roles/" + name, plat, {"grants": ["nocolon"]}), 422)
    assert_problem(call(srv, "PATCH", "/auth/roles/nosuch-role", plat, {"description": "x"}), 404)
    up = assert_json(call(srv, "PUT", "/auth/roles/" + name, plat,
                          {"description": "registry", "grants": ["registry:read"]}))
    assert up["grants"] == ["registry:read"] and up["description"] == "registry", up
    assert assert_json(call(srv, "GET", "/auth/roles/" + name, plat))["grants"] == ["registry:read"]
    assert call(srv, "DELETE", "/auth/roles/" + name, plat).status == 204
    assert_problem(call(srv, "GET", "/auth/roles/" + name, plat), 404)


def test_role_change_reaches_token_after_refresh(srv):
    plat = admin(srv)
    u, email, pw = make_user(srv, plat, ["viewer"])
    t = assert_json(login(srv, email, pw))
    h = bearer(t["accessToken"])
    svc = {"name": unique_name("rc"), "url": "http://127.0.0.1:1/", "ttlSeconds": 60}
    assert_json(call(srv, "GET", "/services", h, port=8001))
    assert_problem(post(srv, "/services", svc, h, port=8001), 403)
    # promote to operator (registry:*)
    assert_json(call(srv, "PATCH", "/auth/users/" + u["id"], plat, {"roles": ["operator"]}))
    # the old token still carries the old roles
    assert_problem(post(srv, "/services", svc, h, port=8001), 403)
    t2 = assert_json(post(srv, "/auth/refresh", {"refreshToken": t["refreshToken"]}))
    assert jwt_part(t2["accessToken"], 1)["roles"] == ["operator"]
    r = post(srv, "/services", svc, bearer(t2["accessToken"]), port=8001)
    assert r.status not in (401, 403), r
    # and back down: the next refresh loses the permission again
    assert_json(call(srv, "PATCH", "/auth/users/" + u["id"], plat, {"roles": ["viewer"]}))
    t3 = assert_json(post(srv, "/auth/refresh", {"refreshToken": t2["refreshToken"]}))
    assert_problem(post(srv, "/services", svc, bearer(t3["accessToken"]), port=8001), 403)


def test_disabled_user_cannot_log_in(srv):
    plat = admin(srv)
    u, email, pw = make_user(srv, plat, ["viewer"])
    t = assert_json(login(srv, email, pw))
    up = assert_json(call(srv, "PATCH", "/auth/users/" + u["id"], plat, {"status": "disabled"}))
    assert up["status"] == "disabled"
    p = assert_problem(login(srv, email, pw), 401)
    assert "accessToken" not in json.dumps(p)
    # existing sessions end with it
    assert_problem(post(srv, "/auth/refresh", {"refreshToken": t["refreshToken"]}), 401)
    # re-enabled: logs in again
    assert_json(call(srv, "PATCH", "/auth/users/" + u["id"], plat, {"status": "active"}))
    assert_json(login(srv, email, pw))


def test_service_account(srv):
    plat = admin(srv)
    name = unique_name("billing")
    r = post(srv, "/auth/service-accounts", {"name": name}, plat)
    acct = assert_json(r, 201)
    key = acct["apiKey"]
    assert key.startswith("fmk_") and len(key) > 40 and acct["roles"] == ["service"], acct
    # shown once: never in a listing
    listing = call(srv, "GET", "/auth/service-accounts", plat)
    assert key not in listing.text
    items = assert_json(listing)["items"]
    mine = [x for x in items if x["id"] == acct["id"]]
    assert mine and "apiKey" not in mine[0], items
    # exchanged for an access token that works
    t = assert_json(post(srv, "/auth/token", {"apiKey": key}))
    assert "refreshToken" not in t, t
    cl = jwt_part(t["accessToken"], 1)
    assert cl["sub"] == "svc:" + name and cl["svc"] == name and cl["tenant"] == "default", cl
    h = bearer(t["accessToken"])
    assert_json(call(srv, "GET", "/services", h, port=8001))
    assert_problem(call(srv, "GET", "/auth/users", h), 403)          # service: no auth:admin
    assert_problem(post(srv, "/auth/token", {"apiKey": key + "x"}), 401)
    assert_problem(post(srv, "/auth/token", {"apiKey": "short"}), 422)
    # deleting it revokes the key
    assert call(srv, "DELETE", "/auth/service-accounts/" + acct["id"], plat).status == 204
    assert_problem(post(srv, "/auth/token", {"apiKey": key}), 401)
    assert_problem(call(srv, "DELETE", "/auth/service-accounts/" + acct["id"], plat), 404)


def test_key_rotation(srv):
    plat = admin(srv)
    old_tok = assert_json(login(srv, ADMIN_EMAIL, ADMIN_PASSWORD))["accessToken"]
    old_kid = jwt_part(old_tok, 0)["kid"]
    r = call(srv, "POST", "/auth/keys/rotate", plat)
    new_kid = assert_json(r)["kid"]
    assert new_kid and new_kid != old_kid
    # tokens signed before still verify, here and on other ports
    assert_json(call(srv, "GET", "/auth/validate", bearer(old_tok)))
    assert_json(call(srv, "GET", "/services", bearer(old_tok), port=8001))
    # new tokens carry the new kid and verify too
    new_tok = assert_json(login(srv, ADMIN_EMAIL, ADMIN_PASSWORD))["accessToken"]
    assert jwt_part(new_tok, 0)["kid"] == new_kid
    assert_json(call(srv, "GET", "/services", bearer(new_tok), port=8001))
    assert_json(call(srv, "GET", "/auth/validate", bearer(new_tok), port=9000))
    # the JWKS (SSO module) lists both
    r = http_request(srv.port(AUTH), "GET", "/.well-known/jwks.json")
    if r.status == 501:
        raise Skip("JWKS part: GET /.well-known/jwks.json is still 501 in this tree (SSO module, "
                   "built in parallel); rotation was checked through tokens only")
    keys = assert_json(r)["keys"]
    kids = [k["kid"] for k in keys]
    assert old_kid in kids and new_kid in kids, kids
    for k in keys:
        assert k["kty"] == "OKP" and k["crv"] == "Ed25519" and "d" not in k, k


def test_groups_and_members(srv):
    """Groups of a tenant (docs/auth.md "Groups"): create/list/get/PUT/PATCH/delete,
    members added and removed by user id, the member's token carrying claim `groups`
    from its next login or refresh; tenant-scoped."""
    plat = admin(srv)
    name = unique_name("finance")
    g = assert_json(post(srv, "/auth/groups", {"name": name, "description": "Finance"}, plat), 201)
    assert g == {"name": name, "description": "Finance", "createdAt": g["createdAt"], "members": 0}, g
    assert_problem(post(srv, "/auth/groups", {"name": name}, plat), 409)
    assert_problem(post(srv, "/auth/groups", {"name": "me"}, plat), 422)
    assert_problem(post(srv, "/auth/groups", {"name": "bad name!"}, plat), 422)
    assert name in [x["name"] for x in assert_json(call(srv, "GET", "/auth/groups", plat))["items"]]
    # PUT replaces (description required); PATCH changes what it sends
    p = assert_problem(call(srv, "PUT", "/auth/groups/" + name, plat, {}), 422)
    assert p["errors"][0]["pointer"] == "/description", p
    assert assert_json(call(srv, "PUT", "/auth/groups/" + name, plat,
                            {"description": "Accounts"}))["description"] == "Accounts"
    assert assert_json(call(srv, "PATCH", "/auth/groups/" + name, plat, {}))["description"] == "Accounts"
    assert_problem(call(srv, "PUT", "/auth/groups/nosuch-group", plat, {"description": "x"}), 404)
    # members
    u, email, pw = make_user(srv, plat, ["participant"])
    t0 = assert_json(login(srv, email, pw))
    assert "groups" not in jwt_part(t0["accessToken"], 1)
    m = assert_json(post(srv, "/auth/groups/%s/members" % name, {"userId": u["id"]}, plat), 201)
    assert m == {"group": name, "userId": u["id"]}, m
    assert_json(post(srv, "/auth/groups/%s/members" % name, {"userId": u["id"]}, plat), 200)
    assert_problem(post(srv, "/auth/groups/%s/members" % name, {"userId": "usr_nosuch"}, plat), 422)
    assert_problem(post(srv, "/auth/groups/nosuch-group/members", {"userId": u["id"]}, plat), 404)
    listed = assert_json(call(srv, "GET", "/auth/groups/%s/members" % name, plat))["items"]
    assert [(x["id"], x["email"]) for x in listed] == [(u["id"], email)], listed
    assert assert_json(call(srv, "GET", "/auth/groups/" + name, plat))["members"] == 1
    # the membership reaches the token at the next refresh
    t1 = assert_json(post(srv, "/auth/refresh", {"refreshToken": t0["refreshToken"]}))
    assert jwt_part(t1["accessToken"], 1)["groups"] == [name]
    # a participant may not manage groups; another tenant does not see them
    assert_problem(post(srv, "/auth/groups", {"name": unique_name("x")}, bearer(t1["accessToken"])), 403)
    other = srv.tenant_headers("tenant-groups")
    assert_problem(call(srv, "GET", "/auth/groups/" + name, other), 404)
    assert_problem(call(srv, "DELETE", "/auth/groups/%s/members/%s" % (name, u["id"]), other), 404)
    # remove the member, then the group
    assert call(srv, "DELETE", "/auth/groups/%s/members/%s" % (name, u["id"]), plat).status == 204
    assert_problem(call(srv, "DELETE", "/auth/groups/%s/members/%s" % (name, u["id"]), plat), 404)
    t2 = assert_json(post(srv, "/auth/refresh", {"refreshToken": t1["refreshToken"]}))
    assert "groups" not in jwt_part(t2["accessToken"], 1)
    assert_json(post(srv, "/auth/groups/%s/members" % name, {"userId": u["id"]}, plat), 201)
    assert call(srv, "DELETE", "/auth/groups/" + name, plat).status == 204
    assert_problem(call(srv, "GET", "/auth/groups/" + name, plat), 404)
    # deleting the group (or the user) leaves no membership behind
    assert_json(post(srv, "/auth/groups", {"name": name}, plat), 201)
    assert assert_json(call(srv, "GET", "/auth/groups/" + name, plat))["members"] == 0
