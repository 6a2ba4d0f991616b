"""Error contract (docs/core.md, "Errors"): RFC 9457 problems for 400, 404, 405, 409,
413, 422 and 501, each with instance == X-Request-Id."""

import json

from harness import run_cli, Server, assert_problem, unique_name

FIXTURES = {
    "small": lambda: Server(env={"FLOWMASTER_SERVER_BODY_LIMIT": "1024"}),
}


def test_404_unknown_path(srv):
    for p, path in ((8001, "/nope"), (9000, "/no/such/route"), (9003, "/services"),
                    (8001, "/services/design/health/extra")):
        r = srv.get(p, path)
        assert_problem(r, 404)


def test_405_with_allow(srv):
    r = srv.req("DELETE", 8001, "/services")
    assert_problem(r, 405)
    allow = {m.strip() for m in r.headers.get("allow", "").split(",")}
    assert {"GET", "POST"} <= allow, "Allow header %r" % r.headers.get("allow")
    assert "DELETE" not in allow, "Allow lists DELETE: %r" % r.headers.get("allow")
    # same through the gateway
    r = srv.req("PATCH", 9000, "/services")
    assert_problem(r, 405)
    allow = {m.strip() for m in r.headers.get("allow", "").split(",")}
    assert {"GET", "POST"} <= allow, "gateway Allow header %r" % r.headers.get("allow")
    # /health is GET only
    r = srv.req("POST", 9003, "/health", body={})
    assert_problem(r, 405)
    assert "GET" in r.headers.get("allow", ""), r.headers


def test_413_body_over_limit(small):
    body = json.dumps({"name": unique_name("big"), "url": "http://127.0.0.1:1",
                       "metadata": {"pad": "x" * 4096}})
    assert len(body) > 4096
    r = small.req("POST", 8001, "/services", body=body)
    p = assert_problem(r, 413)
    assert p.get("limit") == 1024, "limit extension %r" % p.get("limit")
    # under the limit is served normally
    body = json.dumps({"name": unique_name("small"), "url": "http://127.0.0.1:1",
                       "metadata": {"pad": "x" * 800}})
    assert len(body) < 1024
    r = small.req("POST", 8001, "/services", body=body)
    assert r.status == 201, "body under the limit: %r" % (r,)


def test_413_default_limit_is_1mib(srv):
    body = '{"name":"x","metadata":{"pad":"%s"}}' % ("x" * (1024 * 1024 + 10))
    r = srv.req("POST", 8001, "/services", body=body)
    p = assert_problem(r, 413)
    assert p.get("limit") == 1048576, "limit %r" % p.get("limit")


def test_400_malformed_json(srv):
    body = b'{"name": "x",\n  "url": }'
    r = srv.req("POST", 8001, "/services", body=body,
                headers={"Content-Type": "application/json"})
    p = assert_problem(r, 400)
    for k in ("line", "column", "offset"):
        assert isinstance(p.get(k), int), "%s extension %r" % (k, p.get(k))
    assert p["line"] == 2, "line %r, expected 2" % p["line"]
    assert 1 <= p["column"] <= 12, "column %r" % p["column"]
    assert body.index(b"\n") < p["offset"] <= len(body), "offset %r" % p["offset"]
    assert str(p["line"]) in p["detail"] and str(p["column"]) in p["detail"], \
        "detail does not say line/column: %r" % p["detail"]
    # other shapes of broken JSON
    for bad in (b"{", b"not json", b'{"name": "x"} trailing', b'{"a":1,}'):
        r = srv.req("POST", 8001, "/services", body=bad,
                    headers={"Content-Type": "application/json"})
        assert r.status == 400, "body %r: expected 400 Malformed JSON, got %r" % (bad, r)
        assert_problem(r, 400)


def _pointers(p):
    errs = p.get("errors")
    assert isinstance(errs, list) and errs, "errors[] missing: %r" % p
    for e in errs:
        assert isinstance(e.get("pointer"), str) and isinstance(e.get("detail"), str), e
    return {e["pointer"] for e in errs}


def test_422_validation(srv):
    r = srv.req("POST", 8001, "/services", body={})
    p = assert_problem(r, 422)
    assert "/name" in _pointers(p), "no /name pointer: %r" % p.get("errors")

    r = srv.req("POST", 8001, "/services",
                body={"name": 5, "url": "http://127.0.0.1:1", "ttlSeconds": "ten"})
    p = assert_problem(r, 422)
    ptrs = _pointers(p)
    assert {"/name", "/ttlSeconds"} <= ptrs, "pointers %r" % ptrs
    assert "/url" not in ptrs, "valid url reported: %r" % ptrs

    cases = [
        ({"name": "has space", "url": "http://127.0.0.1:1"}, "/name"),
        ({"name": "x" * 65, "url": "http://127.0.0.1:1"}, "/name"),
        ({"name": "", "url": "http://127.0.0.1:1"}, "/name"),
        ({"name": unique_name(), "url": "ftp://127.0.0.1/"}, "/url"),
        ({"name": unique_name(), "url": "http://127.0.0.1:1", "healthUrl": "nope"}, "/healthUrl"),
        ({"name": unique_name(), "url": "http://" + "a" * 2050}, "/url"),
        ({"name": unique_name(), "url": "http://127.0.0.1:1", "ttlSeconds": 0}, "/ttlSeconds"),
        ({"name": unique_name(), "url": "http://127.0.0.1:1", "ttlSeconds": 86401}, "/ttlSeconds"),
        ({"name": unique_name(), "url": "http://127.0.0.1:1", "metadata": "x"}, "/metadata"),
    ]
    for body, ptr in cases:
        r = srv.req("POST", 8001, "/services", body=body)
        p = assert_problem(r, 422)
        assert ptr in _pointers(p), "%r: pointers %r, expected %s" % (body, _pointers(p), ptr)
    # a JSON value that is not an object
    r = srv.req("POST", 8001, "/services", body=[1, 2])
    assert_problem(r, 422)


def test_every_catalogue_route_is_built():
    """Every route of the service catalogue has a handler: none answers 501 any more
    (`flowmaster routes --json` marks a route registered without one)."""
    r = run_cli(["routes", "--json"])
    assert r.returncode == 0, r.stderr
    routes = json.loads(r.stdout)
    missing = ["%s %s (%s)" % (x["method"], x["pattern"], x["module"]) for x in routes if not x["implemented"]]
    assert not missing, missing
    assert len(routes) > 300, len(routes)


def test_gateway_disambiguation(srv):
    r = srv.req("POST", 9000, "/agents/abc/invoke", body={})
    assert "no agent configuration" in assert_problem(r, 404)["detail"]    # orchestration's answer
    r = srv.req("POST", 9000, "/agents/abc/learn", body={})
    assert "no agent 'abc'" in assert_problem(r, 404)["detail"]   # the Agent Service answered
    # a module's port serves only its own routes
    r = srv.req("POST", 9016, "/agents/abc/invoke", body={})
    assert r.status in (404, 405), "invoke on 9016 (agents) answered %r" % (r,)
    assert_problem(r, r.status)
    r = srv.req("POST", 9007, "/agents/abc/learn", body={})
    assert r.status in (404, 405), "learn on 9007 (orchestration) answered %r" % (r,)
    assert_problem(r, r.status)
    r = srv.req("POST", 9007, "/processes", body={})
    assert_problem(r, 404)


def test_409_conflict(srv):
    name = unique_name("dup")
    r = srv.req("POST", 8001, "/services", body={"name": name, "url": "http://127.0.0.1:1"})
    assert r.status == 201, r
    r = srv.req("POST", 8001, "/services", body={"name": name, "url": "http://127.0.0.1:2"})
    assert_problem(r, 409)


def test_instance_is_request_id(srv):
    """Every error body carries the request's id as instance, sent or generated."""
    reqs = [("GET", 8001, "/nope", None), ("DELETE", 8001, "/services", None),
            ("POST", 8001, "/services", b"{"), ("POST", 8001, "/services", {}),
            ("POST", 9003, "/processes", {})]
    for i, (m, p, path, body) in enumerate(reqs):
        rid = "inst-%d" % i
        r = srv.req(m, p, path, body=body, headers={"X-Request-Id": rid})
        assert r.status >= 400, r
        assert_problem(r, r.status, rid=rid)
        r = srv.req(m, p, path, body=body)
        assert_problem(r, r.status)
        assert r.json["instance"] != rid


def _chunked(path, body, srv):
    auth = ("Authorization: Bearer %s\r\nX-Tenant-Id: default\r\n" % srv.admin_token()).encode()
    raw = (b"POST " + path.encode() + b" HTTP/1.1\r\nHost: localhost\r\n" + auth +
           b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
           b"Connection: close\r\n\r\n")
    for i in range(0, len(body), 100):
        c = body[i:i + 100]
        raw += b"%x\r\n" % len(c) + c + b"\r\n"
    return raw + b"0\r\n\r\n"


def test_chunked_bodies(small):
    """A chunked body is read like any other, and the limit holds without Content-Length."""
    ok = json.dumps({"name": unique_name("chunk"), "url": "http://127.0.0.1:1"}).encode()
    r = small.req("POST", 8001, "/services", raw=_chunked("/services", ok, small))
    assert r.status == 201, "chunked POST under the limit: %r" % (r,)
    big = json.dumps({"name": unique_name("chunk"), "url": "http://127.0.0.1:1",
                      "metadata": {"pad": "x" * 4000}}).encode()
    r = small.req("POST", 8001, "/services", raw=_chunked("/services", big, small))
    p = assert_problem(r, 413)
    assert p.get("limit") == 1024, p
