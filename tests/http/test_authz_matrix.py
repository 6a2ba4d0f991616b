"""The authorization matrix (issue 3): every route of the routing table, on every port,
read from `flowmaster routes --json` — so it grows by itself as modules add routes.

For each non-public route: 401 (with WWW-Authenticate) without a token; 403 with a valid
token of tenant B sent with X-Tenant-Id of tenant A; and, for routes that name a
permission, 403 with a token of the right tenant that holds no role. The API routes are
also reached through /api/ on the web-app ports. Public routes must not answer 401
(except the few listed in SELF_AUTH, which are probed as protected ones).

Catalogue routes that are not built yet (501) are checked too: the guard runs first."""

import json
import re

from harness import (PORTS, WEB_PORTS, Server, assert_problem, http_request, run_cli)

# Several hundred requests from one IP: the per-IP and per-tenant buckets are off here.
FIXTURES = {
    "srv": lambda: Server(env={"FLOWMASTER_GATEWAY_RATE_PER_IP": "0",
                               "FLOWMASTER_GATEWAY_RATE_PER_TENANT": "0"}),
}

BODY_METHODS = ("POST", "PUT", "PATCH")

# Public in the router but checking a bearer token themselves, for a protocol that
# defines how they answer (OIDC userinfo: RFC 6750 errors, no X-Tenant-Id). They are
# probed like protected routes (401 without a token, 403 for another tenant's token);
# any other public route that answers 401 fails the matrix.
SELF_AUTH = {
    ("GET", "/sso/userinfo"),
    ("POST", "/sso/userinfo"),
    # MCP: the 401 carries RFC 9728 resource_metadata; the tenant may come from the token
    ("POST", "/mcp"),
    ("GET", "/mcp"),
    ("DELETE", "/mcp"),
}


def self_auth(route):
    return route["auth"] == "public" and (route["method"], route["pattern"]) in SELF_AUTH


def protected_routes(table):
    return [r for r in table if r["auth"] != "public" or self_auth(r)]


def routes():
    r = run_cli(["routes", "--json"])
    assert r.returncode == 0, r.stderr
    table = json.loads(r.stdout)
    assert isinstance(table, list) and table, table
    return table


def fill(pattern):
    """A concrete path for a pattern: {*tail} -> two segments, {p} -> a dummy value
    (keeping a literal suffix such as {p}.svg)."""
    path = re.sub(r"\{\*[^}]+\}", "dummy-a/dummy-b", pattern)
    return re.sub(r"\{[^}*]+\}", "dummy-1", path)


def send(srv, port, method, path, headers):
    body = "{}" if method in BODY_METHODS else None
    return http_request(srv.port(port), method, path, body, headers)


def check(failures, what, route, r, want):
    if r.status != want:
        failures.append("%s %s %s on %d: %s, expected %d (%s)"
                        % (what, route["method"], route["pattern"], route["port"], r.status,
                           want, r.body[:120]))
        return False
    return True


def test_matrix_covers_every_port(srv):
    table = routes()
    ports = {r["port"] for r in table}
    assert ports == set(PORTS), sorted(set(PORTS) ^ ports)
    protected = protected_routes(table)
    # the auth module's admin routes and the registry are there on their own ports
    keys = {(r["port"], r["method"], r["pattern"]) for r in protected}
    for k in ((8002, "GET", "/auth/users"), (8002, "POST", "/auth/keys/rotate"),
              (8001, "GET", "/services"), (9000, "GET", "/auth/users")):
        assert k in keys, k
    assert len(protected) >= 200, len(protected)


def test_every_protected_route(srv):
    table = routes()
    tenant_b = srv.tenant_headers("matrix-b")                 # admin of tenant B
    srv.tenant_headers("matrix-a")                            # tenant A exists too
    no_roles = srv.tenant_headers("matrix-a", roles=())       # a user of A without roles
    token_b = tenant_b["Authorization"]
    failures, counts = [], {"401": 0, "403-tenant": 0, "403-perm": 0}

    def probe(route, port, path):
        m = route["method"]
        r = send(srv, port, m, path, {"X-Tenant-Id": "matrix-a"})
        if check(failures, "no token:", route, r, 401):
            counts["401"] += 1
            if not r.headers.get("www-authenticate", "").startswith("Bearer"):
                failures.append("no WWW-Authenticate on %s %s (%d)" % (m, path, port))
            if not r.headers.get("content-type", "").startswith("application/problem+json"):
                failures.append("401 is not a problem on %s %s (%d)" % (m, path, port))
        r = send(srv, port, m, path, {"Authorization": token_b, "X-Tenant-Id": "matrix-a"})
        if check(failures, "tenant B token for A:", route, r, 403):
            counts["403-tenant"] += 1
        if route["auth"] not in ("authenticated", "public"):
            r = send(srv, port, m, path, no_roles)
            if check(failures, "no permission:", route, r, 403):
                counts["403-perm"] += 1

    protected = protected_routes(table)
    for route in protected:
        probe(route, route["port"], fill(route["pattern"]))
    # the API through /api/ on the web-app ports (each route on one of them, in turn)
    api = [r for r in protected if r["port"] == 9000]
    for i, route in enumerate(api):
        probe(route, WEB_PORTS[i % len(WEB_PORTS)], "/api" + fill(route["pattern"]))

    assert not failures, "%d failures, first: %s" % (len(failures), "\n".join(failures[:15]))
    assert counts["401"] == len(protected) + len(api), counts
    assert counts["403-tenant"] == counts["401"], counts
    assert counts["403-perm"] > 150, counts


def test_public_routes_need_no_token(srv):
    table = routes()
    public = [r for r in table if r["auth"] == "public" and not self_auth(r)]
    assert len(public) >= 2 * len(PORTS), len(public)      # at least /health and /ready each
    bad = []
    for route in public:
        path = fill(route["pattern"])
        r = send(srv, route["port"], route["method"], path, {})
        if r.status == 401 or "www-authenticate" in r.headers:
            bad.append("%s %s on %d: %s" % (route["method"], path, route["port"], r.status))
        # a junk token on a public route is ignored rather than refused
        r = send(srv, route["port"], route["method"], path, {"Authorization": "Bearer junk"})
        if r.status == 401:
            bad.append("junk token: %s %s on %d: 401" % (route["method"], path, route["port"]))
    assert not bad, bad
    # and login, the door itself, answers on the auth and gateway ports
    for port in (8002, 9000):
        r = http_request(srv.port(port), "POST", "/auth/login",
                         {"email": "nobody@x.test", "password": "wrong-password"})
        assert_problem(r, 401, "Unauthorized")
        assert "www-authenticate" not in r.headers, r.headers


def test_participant_task_read_is_conditional(srv):
    """The participant role's task:read covers only tasks assigned or offered to the
    person (docs/auth.md): a task offered only to the admin is neither listed nor
    readable, on the task port, through the gateway and through /api/ of a web app."""
    import base64
    admin = {"Authorization": "Bearer " + srv.admin_token(), "X-Tenant-Id": "default"}
    admin_sub = json.loads(base64.urlsafe_b64decode(srv.admin_token().split(".")[1] + "=="))["sub"]
    part = srv.tenant_headers("default", roles=("participant",), email="matrix-part@x.test")
    r = http_request(srv.port(9006), "POST", "/tasks",
                     {"name": "Admin only", "candidateUsers": [admin_sub], "variables": {"secret": "s3cr3t-salary"}},
                     admin)
    assert r.status == 201, r
    tid = r.json["id"]
    for port, prefix in ((9006, ""), (9000, ""), (WEB_PORTS[0], "/api")):
        for path in ("/tasks/" + tid, "/tasks/%s/comments" % tid):
            got = http_request(srv.port(port), "GET", prefix + path, None, part)
            assert_problem(got, 403, "Forbidden")
            assert "s3cr3t" not in got.body.decode(), got
        listed = http_request(srv.port(port), "GET", prefix + "/tasks?limit=500", None, part)
        assert listed.status == 200 and tid not in [t["id"] for t in listed.json["items"]], listed
        # the admin (unconditional task:read) reads it everywhere
        assert http_request(srv.port(port), "GET", prefix + "/tasks/" + tid, None, admin).status == 200
