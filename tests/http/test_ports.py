"""Every-port endpoints (docs/core.md, "Every port"): /health, /ready, X-Request-Id,
/metrics, web-app ports."""

import re
import uuid

from harness import (PORTS, PORT_MODULES, WEB_PORTS, RID_RE, run_cli, assert_json,
                     assert_problem, metric_values, wait_until)


LABELS = r'\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\}'
SAMPLE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(' + LABELS + r')? (-?[0-9.eE+-]+|[+-]Inf|NaN)( -?\d+)?$')


def _version():
    r = run_cli(["version"], timeout=5)
    m = re.search(r"flowmaster (\d+\.\d+\.\d+)", r.stdout)
    assert m, "version output: %r" % r.stdout
    return m.group(1)


def test_health_every_port(srv):
    version = _version()
    bad = []
    for p in PORTS:
        r = srv.get(p, "/health")
        try:
            h = assert_json(r, 200)
            assert h.get("status") == "ok", "status %r" % h.get("status")
            assert h.get("port") == p, "port %r (canonical expected)" % h.get("port")
            assert sorted(h.get("modules") or []) == sorted(PORT_MODULES[p]), \
                "modules %r, expected %r" % (h.get("modules"), PORT_MODULES[p])
            assert h.get("module") in PORT_MODULES[p], "module %r" % h.get("module")
            assert h.get("version") == version, "version %r != %r" % (h.get("version"), version)
            u = h.get("uptimeSeconds")
            assert isinstance(u, (int, float)) and 0 <= u < 3600, "uptimeSeconds %r" % (u,)
        except AssertionError as e:
            bad.append("%d: %s" % (p, e))
    assert not bad, "; ".join(bad)


def test_ready_every_port(srv):
    bad = []
    for p in PORTS:
        r = srv.get(p, "/ready")
        try:
            j = assert_json(r, 200)
            assert j.get("status") == "ready", "status %r" % j.get("status")
            mods = j.get("modules")
            assert isinstance(mods, list), "modules %r" % (mods,)
            names = sorted(m.get("name") for m in mods)
            assert names == sorted(PORT_MODULES[p]), "module names %r" % names
            for m in mods:
                assert m.get("database") in ("open", "none"), "database %r" % m.get("database")
                mg = m.get("migrations")
                assert isinstance(mg, dict) and mg.get("pending") == 0 \
                    and isinstance(mg.get("applied"), int), "migrations %r" % (mg,)
        except AssertionError as e:
            bad.append("%d: %s" % (p, e))
    assert not bad, "; ".join(bad)
    # the registry owns a database, migrated
    j = srv.get(8001, "/ready").json
    reg = [m for m in j["modules"] if m["name"] == "registry"][0]
    assert reg["database"] == "open" and reg["migrations"]["applied"] >= 1, reg


def test_request_id_echoed(srv):
    for p in (8001, 9000, 9003, 3000):
        rid = "t-" + uuid.uuid4().hex + ".x:1"
        r = srv.get(p, "/health", headers={"X-Request-Id": rid})
        assert r.status == 200
        assert r.headers.get("x-request-id") == rid, "port %d: %r != %r" % (
            p, r.headers.get("x-request-id"), rid)
    # also on errors
    rid = "err-rid-1"
    r = srv.get(8001, "/no/such/path", headers={"X-Request-Id": rid})
    assert_problem(r, 404, rid=rid)
    # 128 chars is still fine
    rid = "a" * 128
    r = srv.get(8001, "/health", headers={"X-Request-Id": rid})
    assert r.headers.get("x-request-id") == rid, "128-char id not echoed"


def test_request_id_generated(srv):
    ids = set()
    for p in (8001, 9000, 9016):
        r = srv.get(p, "/health")
        rid = r.headers.get("x-request-id")
        assert rid and RID_RE.match(rid), "generated id %r" % rid
        ids.add(rid)
    assert len(ids) == 3, "generated ids not unique: %r" % ids
    # invalid ones are replaced
    for bad in ("a" * 129, "has space", "semi;colon", "slash/x"):
        r = srv.get(8001, "/health", headers={"X-Request-Id": bad})
        rid = r.headers.get("x-request-id")
        assert rid and rid != bad and RID_RE.match(rid), \
            "invalid id %r answered with %r" % (bad, rid)


def test_metrics(srv):
    srv.get(8001, "/services")
    srv.get(8001, "/services/design")
    # a request may be counted just after its response went out: poll briefly
    wait_until(lambda: sum(metric_values(srv.metrics(), "fm_http_requests_total",
                                         module="registry", method="GET", status="200")) >= 2,
               timeout=2, what="fm_http_requests_total{module=registry,method=GET,status=200} >= 2")
    r = srv.get(9000, "/metrics")
    assert r.status == 200, r
    ctype = r.headers.get("content-type", "")
    assert ctype.startswith("text/plain"), "content-type %r" % ctype
    t = r.text
    for name in ("fm_http_requests_total{", "fm_http_request_duration_seconds_bucket{",
                 "fm_http_request_duration_seconds_sum", "fm_http_request_duration_seconds_count",
                 "fm_bus_events_published_total", "fm_bus_events_delivered_total",
                 "fm_bus_events_rejected_total", "fm_bus_queue_depth", "fm_bus_queue_capacity",
                 "fm_outbox_events_drained_total", "fm_db_size_bytes{", "fm_uptime_seconds",
                 "fm_build_info{"):
        assert name in t, "metrics lack %s" % name
    # request counter has the documented labels and counted our registry requests
    v = metric_values(t, "fm_http_requests_total", module="registry", method="GET",
                      status="200")
    assert v and sum(v) >= 2, "fm_http_requests_total{module=registry,method=GET,status=200}: %r" % v
    assert re.search(r'fm_http_requests_total\{[^}]*route="[^"]+"', t), "no route label"
    assert re.search(r'fm_http_request_duration_seconds_bucket\{[^}]*le="\+Inf"', t), "no +Inf bucket"
    assert metric_values(t, "fm_http_request_duration_seconds_bucket", module="registry"), \
        "no histogram buckets for module registry"
    db = metric_values(t, "fm_db_size_bytes", module="registry")
    assert db and db[0] > 0, "fm_db_size_bytes{module=registry} %r" % db
    assert metric_values(t, "fm_bus_queue_capacity")[0] > 0
    # every sample line is well formed
    for line in t.splitlines():
        if line and not line.startswith("#"):
            assert SAMPLE.match(line), \
                "malformed sample line %r" % line


def test_metrics_only_on_gateway(srv):
    for p in (8001, 9003):
        r = srv.get(p, "/metrics")
        assert_problem(r, 404)


def test_web_app_ports(srv):
    for p in WEB_PORTS:
        r = srv.get(p, "/")
        assert r.status == 200, "port %d GET /: %r" % (p, r)
        assert r.headers.get("content-type", "").startswith("text/html"), \
            "port %d content-type %r" % (p, r.headers.get("content-type"))
        assert b"<" in r.body, "port %d: body is not HTML" % p
    a = assert_json(srv.get(3000, "/api/services"))
    b = assert_json(srv.get(8001, "/services"))
    na = sorted(i["name"] for i in a["items"])
    nb = sorted(i["name"] for i in b["items"])
    assert na == nb and len(na) >= 30, "/api/services on 3000 differs from /services on 8001"
    # the API under /api is the gateway's: any module's route answers there as on its port
    r = srv.req("POST", 3002, "/api/prompts/prm_nope/render", body={})
    assert "no prompt 'prm_nope'" in assert_problem(r, 404)["detail"]
    # and a built one answers as on its own port
    r = srv.req("POST", 3002, "/api/processes", body={})
    assert_problem(r, 422)


def test_gateway_serves_registry(srv):
    a = assert_json(srv.get(9000, "/services"))
    assert len([i for i in a["items"] if i["kind"] == "module"]) == 30
