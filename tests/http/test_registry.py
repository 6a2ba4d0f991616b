"""Service Registry API on 8001 (docs/core.md, "Service Registry")."""

import http.server
import threading
import time

from harness import (bind_low, Server, MODULES, MODULE_PORT, assert_json, assert_problem,
                     metric_values, parse_time, unique_name, wait_until)

FIXTURES = {
    # fast sweeps and probes
    "fast": lambda: Server(env={"FLOWMASTER_REGISTRY_SWEEP_INTERVAL_MS": "100",
                                "FLOWMASTER_REGISTRY_PROBE_INTERVAL_MS": "100",
                                "FLOWMASTER_REGISTRY_PROBE_TIMEOUT_MS": "500"}),
}


def _register(s, name=None, headers=None, **kw):
    body = {"name": name or unique_name(), "url": "http://127.0.0.1:7000"}
    body.update(kw)
    r = s.req("POST", 8001, "/services", body=body, headers=headers)
    return r


def _all_items(s, headers=None, limit=None):
    items, cursor, pages = [], None, 0
    while True:
        q = []
        if limit:
            q.append("limit=%d" % limit)
        if cursor:
            q.append("cursor=" + cursor)
        path = "/services" + ("?" + "&".join(q) if q else "")
        j = assert_json(s.get(8001, path, headers=headers))
        items += j["items"]
        pages += 1
        cursor = j.get("nextCursor")
        assert pages < 200, "paging does not end"
        if not cursor:
            return items, pages


def test_list_modules(srv):
    j = assert_json(srv.get(8001, "/services"))
    assert "nextCursor" in j and j["nextCursor"] is None, "nextCursor %r" % j.get("nextCursor")
    mods = {i["name"]: i for i in j["items"] if i.get("kind") == "module"}
    assert sorted(mods) == MODULES, "module names %r" % sorted(mods)
    reg, des = mods["registry"], mods["design"]
    assert reg["implemented"] is True and reg["implementedRoutes"] >= 1, reg
    assert des["implemented"] is True and des["implementedRoutes"] == des["routes"] >= 9, des
    assert des["ports"] == [9003] and des["listenPorts"] == [9003 + srv.offset], des
    for name, m in mods.items():
        assert m["ports"] == [MODULE_PORT[name]], "%s ports %r" % (name, m["ports"])
        assert m.get("health") == "up", "%s health %r" % (name, m.get("health"))
        assert isinstance(m.get("title"), str) and m["title"], "%s title %r" % (name, m.get("title"))
        assert isinstance(m.get("routes"), int) and 0 <= m["implementedRoutes"] <= m["routes"], m


def test_get_module(srv):
    m = assert_json(srv.get(8001, "/services/design"))
    assert m["name"] == "design" and m["kind"] == "module" and m["ports"] == [9003], m
    h = assert_json(srv.get(8001, "/services/design/health"))
    assert h["name"] == "design" and h["status"] == "up", h
    parse_time(h["checkedAt"])
    assert "detail" in h, h
    assert_problem(srv.get(8001, "/services/no-such-service"), 404)
    assert_problem(srv.get(8001, "/services/no-such-service/health"), 404)


def test_register_and_get(srv):
    name = unique_name("billing")
    r = _register(srv, name, url="http://127.0.0.1:7000", ttlSeconds=30, metadata={"team": "x"})
    it = assert_json(r, 201)
    sid = it.get("id")
    assert isinstance(sid, str) and sid.startswith("svc_"), "id %r" % sid
    assert r.headers.get("location") == "/services/" + sid, "Location %r" % r.headers.get("location")
    assert it["name"] == name and it["kind"] == "external" and it["url"] == "http://127.0.0.1:7000", it
    assert it["ttlSeconds"] == 30 and it["metadata"] == {"team": "x"}, it
    assert it["health"] == "up", "no healthUrl: health should be up, got %r" % it["health"]
    reg, hb, exp = (parse_time(it[k]) for k in ("registeredAt", "lastHeartbeat", "expiresAt"))
    d = (exp - hb).total_seconds()
    assert 29 <= d <= 31, "expiresAt - lastHeartbeat = %s s" % d
    by_id = assert_json(srv.get(8001, "/services/" + sid))
    by_name = assert_json(srv.get(8001, "/services/" + name))
    assert by_id["id"] == sid and by_name["id"] == sid, (by_id, by_name)
    assert by_id["name"] == name
    h = assert_json(srv.get(8001, "/services/%s/health" % sid))
    assert h["status"] == "up" and h["name"] == name, h
    items, _ = _all_items(srv)
    assert [i for i in items if i.get("id") == sid], "registered service not listed"
    # defaults: ttlSeconds 30
    it = assert_json(_register(srv), 201)
    assert it["ttlSeconds"] == 30, "default ttlSeconds %r" % it["ttlSeconds"]


def test_register_with_health_url_starts_unknown(srv):
    # default probe interval is 10 s: right after registering nothing was probed yet
    it = assert_json(_register(srv, healthUrl="http://127.0.0.1:9/health"), 201)
    assert it["health"] == "unknown", "health before first probe %r" % it["health"]
    assert it["healthUrl"] == "http://127.0.0.1:9/health"


def test_duplicate_name_conflict(srv):
    name = unique_name("dup")
    assert _register(srv, name).status == 201
    assert_problem(_register(srv, name), 409)
    for mod in ("design", "registry", "gateway"):
        assert_problem(_register(srv, mod), 409)


def test_heartbeat(srv):
    it = assert_json(_register(srv, ttlSeconds=60), 201)
    time.sleep(1.1)
    r = srv.req("PUT", 8001, "/services/%s/heartbeat" % it["id"])
    it2 = assert_json(r, 200)
    assert it2["id"] == it["id"]
    assert parse_time(it2["expiresAt"]) > parse_time(it["expiresAt"]), \
        "expiresAt not extended: %s -> %s" % (it["expiresAt"], it2["expiresAt"])
    assert parse_time(it2["lastHeartbeat"]) > parse_time(it["lastHeartbeat"])
    assert_problem(srv.req("PUT", 8001, "/services/svc_doesnotexist/heartbeat"), 404)


def test_delete(srv):
    name = unique_name("del")
    it = assert_json(_register(srv, name), 201)
    r = srv.req("DELETE", 8001, "/services/" + it["id"])
    assert r.status == 204, r
    assert r.body == b"", "204 with a body: %r" % r.body
    assert_problem(srv.get(8001, "/services/" + it["id"]), 404)
    assert_problem(srv.get(8001, "/services/" + name), 404)
    assert_problem(srv.req("PUT", 8001, "/services/%s/heartbeat" % it["id"]), 404)
    # the name is free again
    assert _register(srv, name).status == 201
    wait_until(lambda: (metric_values(srv.metrics(), "fm_bus_events_by_type_total",
                                      type="registry.service.deregistered") or [0])[0] >= 1,
               timeout=5, what="fm_bus_events_by_type_total{type=registry.service.deregistered} >= 1")


def test_ttl_expiry(fast):
    name = unique_name("ttl")
    it = assert_json(_register(fast, name, ttlSeconds=1), 201)
    assert fast.get(8001, "/services/" + it["id"]).status == 200
    wait_until(lambda: fast.get(8001, "/services/" + it["id"]).status == 404,
               timeout=4, interval=0.1, what="expiry of a 1 s TTL service")
    assert_problem(fast.get(8001, "/services/" + name), 404)
    items, _ = _all_items(fast)
    assert not [i for i in items if i.get("id") == it["id"]], "expired service still listed"
    assert_problem(fast.req("PUT", 8001, "/services/%s/heartbeat" % it["id"]), 404)
    wait_until(lambda: metric_values(fast.metrics(), "fm_bus_events_by_type_total",
                                     type="registry.service.expired"),
               timeout=5, what="fm_bus_events_by_type_total{type=registry.service.expired}")
    m = fast.metrics()
    exp = metric_values(m, "fm_bus_events_by_type_total", type="registry.service.expired")
    reg = metric_values(m, "fm_bus_events_by_type_total", type="registry.service.registered")
    assert exp and exp[0] >= 1, "expired events %r" % exp
    assert reg and reg[0] >= 1, "registered events %r" % reg
    pub = metric_values(m, "fm_bus_events_published_total")
    assert pub and pub[0] >= 2, "fm_bus_events_published_total %r" % pub
    # a name freed by expiry can be registered again
    assert _register(fast, name).status == 201


def test_heartbeat_keeps_alive(fast):
    # TTL 2 s, heartbeats every 0.25 s for 4.5 s: alive well past its first TTL, with
    # room for a loaded machine (ASan, parallel builds) to answer late.
    it = assert_json(_register(fast, ttlSeconds=2), 201)
    last = time.monotonic()
    for i in range(18):
        time.sleep(0.25)
        r = fast.req("PUT", 8001, "/services/%s/heartbeat" % it["id"])
        now = time.monotonic()
        assert r.status == 200, "heartbeat %d, %.2fs after the previous answer, failed " \
            "(TTL 2 s): %r" % (i, now - last, r)
        last = now
    assert fast.get(8001, "/services/" + it["id"]).status == 200


class _Health(http.server.BaseHTTPRequestHandler):
    code = 200

    def do_GET(self):
        c = type(self).code if self.path == "/health" else 404
        body = b'{"status":"ok"}'
        self.send_response(c)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def test_health_probes(fast):
    handler = type("H", (_Health,), {"code": 200})
    hs = bind_low(lambda a: http.server.ThreadingHTTPServer(a, handler))
    th = threading.Thread(target=hs.serve_forever, daemon=True)
    th.start()
    url = "http://127.0.0.1:%d/health" % hs.server_address[1]
    stopped = False
    try:
        it = assert_json(_register(fast, url="http://127.0.0.1:%d" % hs.server_address[1],
                                   healthUrl=url, ttlSeconds=120), 201)
        sid = it["id"]

        def health():
            return fast.get(8001, "/services/" + sid).json.get("health")

        wait_until(lambda: health() == "up", timeout=5, interval=0.1, what="health up")
        h = assert_json(fast.get(8001, "/services/%s/health" % sid))
        assert h["status"] == "up", h
        parse_time(h["checkedAt"])
        item = fast.get(8001, "/services/" + sid).json
        parse_time(item["lastProbeAt"])

        handler.code = 503
        wait_until(lambda: health() == "down", timeout=5, interval=0.1, what="health down on 503")
        handler.code = 200
        wait_until(lambda: health() == "up", timeout=5, interval=0.1, what="health up again")

        hs.shutdown()
        hs.server_close()
        stopped = True
        wait_until(lambda: health() == "down", timeout=5, interval=0.1,
                   what="health down after the service stopped")
        h = assert_json(fast.get(8001, "/services/%s/health" % sid))
        assert h["status"] == "down", h
    finally:
        if not stopped:
            hs.shutdown()
            hs.server_close()


def test_paging(srv):
    for _ in range(3):
        assert _register(srv).status == 201
    full = assert_json(srv.get(8001, "/services?limit=500"))
    total = len(full["items"])
    assert total >= 33 and full["nextCursor"] is None, (total, full["nextCursor"])
    p1 = assert_json(srv.get(8001, "/services?limit=5"))
    assert len(p1["items"]) == 5, "limit=5 gave %d" % len(p1["items"])
    assert isinstance(p1["nextCursor"], str) and p1["nextCursor"], "nextCursor %r" % p1["nextCursor"]
    p2 = assert_json(srv.get(8001, "/services?limit=5&cursor=" + p1["nextCursor"]))
    k = lambda i: i.get("id") or i["name"]
    assert not {k(i) for i in p1["items"]} & {k(i) for i in p2["items"]}, "page 2 repeats page 1"
    items, pages = _all_items(srv, limit=5)
    keys = [k(i) for i in items]
    assert len(keys) == len(set(keys)), "duplicates across pages"
    assert len(keys) == total, "paging reached %d of %d" % (len(keys), total)
    assert pages in (-(-total // 5), total // 5 + 1), "pages %d for %d items" % (pages, total)
    assert set(MODULES) <= {i["name"] for i in items}, "not every module reached"


def test_tenant_isolation(srv):
    A, B = srv.tenant_headers("tenant-a"), srv.tenant_headers("tenant-b")
    name = unique_name("tenant")
    it = assert_json(_register(srv, name, headers=A), 201)
    sid = it["id"]
    assert srv.get(8001, "/services/" + sid, headers=A).status == 200
    assert srv.get(8001, "/services/" + name, headers=A).status == 200
    assert_problem(srv.get(8001, "/services/" + sid, headers=B), 404)
    assert_problem(srv.get(8001, "/services/" + name, headers=B), 404)
    assert_problem(srv.get(8001, "/services/" + sid), 404)  # tenant "default"
    assert_problem(srv.get(8001, "/services/%s/health" % sid, headers=B), 404)
    items_b, _ = _all_items(srv, headers=B)
    assert not [i for i in items_b if i.get("id") == sid or i["name"] == name], "visible to tenant b"
    items_a, _ = _all_items(srv, headers=A)
    assert [i for i in items_a if i.get("id") == sid], "not listed for tenant a"
    # tenant b cannot touch it
    assert_problem(srv.req("PUT", 8001, "/services/%s/heartbeat" % sid, headers=B), 404)
    r = srv.req("DELETE", 8001, "/services/" + sid, headers=B)
    r0 = srv.req("DELETE", 8001, "/services/svc_doesnotexist", headers=B)
    assert r.status == r0.status and r.status in (204, 404), \
        "DELETE by another tenant %r vs DELETE of an unknown id %r" % (r, r0)
    assert srv.get(8001, "/services/" + sid, headers=A).status == 200, "deleted by tenant b"
    # names are per tenant
    it_b = assert_json(_register(srv, name, headers=B), 201)
    assert it_b["id"] != sid
    # modules are visible to every tenant
    assert srv.get(8001, "/services/design", headers=B).status == 200


def test_paging_bad_params(srv):
    """limit outside 1..500 or not a number, and a cursor the server never gave out,
    are 422 Validation Failed problems (with errors[] like every 422)."""
    for q in ("limit=0", "limit=501", "limit=abc", "cursor=garbage"):
        r = srv.get(8001, "/services?" + q)
        p = assert_problem(r, 422)
        errs = p.get("errors")
        assert isinstance(errs, list) and errs and all("pointer" in e and "detail" in e for e in errs), \
            "%s: 422 without errors[] entries: %r" % (q, p)
    assert srv.get(8001, "/services?limit=1").status == 200
    assert srv.get(8001, "/services?limit=500").status == 200


def test_concurrent_registrations(srv):
    """Parallel writes all succeed (one writer per database, no SQLITE_BUSY leaks)."""
    names = [unique_name("par%02d" % i) for i in range(24)]
    results = [None] * len(names)

    def work(i):
        try:
            results[i] = _register(srv, names[i])
        except Exception as e:  # reported below
            results[i] = e

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(names))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    bad = [(n, r) for n, r in zip(names, results) if not (hasattr(r, "status") and r.status == 201)]
    assert not bad, "%d of %d parallel registrations failed, e.g. %r" % (len(bad), len(names), bad[:2])
    ids = {r.json["id"] for r in results}
    assert len(ids) == len(names), "duplicate ids"
    items, _ = _all_items(srv, limit=500)
    assert ids <= {i.get("id") for i in items}, "not every registration is listed"
