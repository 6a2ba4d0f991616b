"""Event Bus on 9013 (docs/eventbus.md): publish, the durable log and its replay, schemas,
subscriptions and webhook delivery (retries, order, signatures, dead letters,
redelivery, resumption after kill -9), tenants and bad input."""

import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time

from harness import bind_low, Server, assert_json, assert_problem, wait_until

MODS = "auth,eventbus,registry"
FAST = {"FLOWMASTER_EVENTBUS_WEBHOOK_TIMEOUT_MS": "400",
        "FLOWMASTER_EVENTBUS_WEBHOOK_BACKOFF_MS": "40",
        "FLOWMASTER_EVENTBUS_WEBHOOK_BACKOFF_MAX_MS": "200",
        "FLOWMASTER_EVENTBUS_WEBHOOK_MAX_ATTEMPTS": "4"}

# Tenants other than `default` may deliver to loopback only with allow_private (the
# receivers here listen on 127.0.0.1); test_private_targets_refused_for_other_tenants
# checks the default.
FIXTURES = {
    "bus": lambda: Server(modules=MODS, env=dict(FAST, FLOWMASTER_INTEGRATIONS_ALLOW_PRIVATE="true")),
}

DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "eventbus.md")


def _doc_block(lang):
    text = open(DOC).read()
    m = re.search(r"```%s\n(.*?)```" % lang, text, re.S)
    assert m, "docs/eventbus.md has no %s block" % lang
    return m.group(1)


def _verify_py(secret, header, body):
    ns = {}
    exec(_doc_block("python"), ns)
    return ns["verify"](secret, header, body)


def _verify_node(secret, header, body):
    if not shutil.which("node"):
        return None
    script = _doc_block("js") + """
const chunks = [];
process.stdin.on("data", (c) => chunks.push(c));
process.stdin.on("end", () => {
  const ok = verify(process.argv[2], process.argv[3], Buffer.concat(chunks));
  process.stdout.write(ok ? "ok" : "bad");
});
"""
    with tempfile.NamedTemporaryFile("w", suffix=".js", delete=False) as f:
        f.write(script)
    try:
        out = subprocess.run(["node", f.name, secret, header], input=body, capture_output=True,
                             timeout=20)
        return out.stdout.decode() == "ok"
    finally:
        os.unlink(f.name)


def _publish(s, ev, headers=None):
    return s.req("POST", 9013, "/events", ev, headers=headers)


def _replay_all(s, query="", headers=None, limit=7):
    items, off, pages = [], 1, 0
    while True:
        sep = "&" if query else ""
        j = assert_json(s.req("GET", 9013, "/events/replay?%s%soffset=%d&limit=%d" % (query, sep, off, limit),
                              headers=headers))
        items += j["items"]
        pages += 1
        assert pages < 500, "paging does not end"
        if not j["more"]:
            return items, pages
        assert j["next"] > off, j
        off = j["next"]


class Receiver:
    """A local webhook receiver. `plan` is a list of actions for the first requests
    ("fail", "hang"); after it, every request gets 204 (or `after` when set)."""

    def __init__(self, plan=(), after="ok"):
        self.plan, self.after = list(plan), after
        self.got = []           # (headers dict, body bytes, answered status)
        self.lock = threading.Lock()
        rcv = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with rcv.lock:
                    action = rcv.plan.pop(0) if rcv.plan else rcv.after
                    rcv.got.append((dict((k.lower(), v) for k, v in self.headers.items()), body, action))
                if action == "hang":
                    time.sleep(2.0)
                    return
                self.send_response(500 if action == "fail" else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = bind_low(lambda a: http.server.ThreadingHTTPServer(a, H))
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d/hook" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def delivered(self):
        with self.lock:
            return [(h, b) for h, b, a in self.got if a == "ok"]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# ---- publish and replay ----

def test_publish_replay_order_paging(bus):
    h = bus.tenant_headers("replay")
    evs = [{"type": "order.created" if i % 2 else "order.paid", "source": "/shop",
            "subject": "o%d" % (i % 3), "data": {"i": i}} for i in range(25)]
    r = _publish(bus, evs, h)
    assert r.status == 201, r
    offs = [e["offset"] for e in r.json["items"]]
    assert offs == list(range(1, 26)), offs
    one = assert_json(_publish(bus, {"type": "order.shipped", "source": "/shop", "data": None}, h), 201)
    assert one["offset"] == 26 and one["specversion"] == "1.0" and one["tenantid"] == "replay", one

    items, pages = _replay_all(bus, headers=h)
    assert [e["offset"] for e in items] == list(range(1, 27)), [e["offset"] for e in items]
    assert [e["data"]["i"] for e in items[:25]] == list(range(25))
    assert pages == 4, pages
    paid, _ = _replay_all(bus, "types=order.paid", h)
    assert [e["data"]["i"] for e in paid] == list(range(0, 25, 2))
    star, _ = _replay_all(bus, "types=order.*", h)
    assert len(star) == 26
    rest, _ = _replay_all(bus, "types=%3E", h)
    assert len(rest) == 26
    none, _ = _replay_all(bus, "types=order", h)
    assert none == []
    subj, _ = _replay_all(bus, "subject=o1", h)
    assert [e["data"]["i"] for e in subj] == [i for i in range(25) if i % 3 == 1]

    # resume by offset: from 20 on
    j = assert_json(bus.req("GET", 9013, "/events/replay?offset=20&limit=3", headers=h))
    assert [e["offset"] for e in j["items"]] == [20, 21, 22] and j["next"] == 23 and j["more"], j
    # by time: everything appended after a mark
    time.sleep(0.05)
    mark = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".%03dZ" % (int(time.time() * 1000) % 1000)
    time.sleep(0.05)
    assert_json(_publish(bus, {"type": "order.late", "source": "/shop", "data": 1}, h), 201)
    j = assert_json(bus.req("GET", 9013, "/events/replay?from=" + mark, headers=h))
    assert [e["type"] for e in j["items"]] == ["order.late"], j
    j = assert_json(bus.req("GET", 9013, "/events/replay?from=2000-01-01T00:00:00Z&limit=1", headers=h))
    assert j["items"][0]["offset"] == 1, j

    # by id
    got = assert_json(bus.req("GET", 9013, "/events/" + items[3]["id"], headers=h))
    assert got["offset"] == 4 and got["data"] == {"i": 3}, got
    assert_problem(bus.req("GET", 9013, "/events/nope", headers=h), 404)

    # the same id + source again is the same event
    again = dict(evs[0], id=items[0]["id"])
    r = assert_json(_publish(bus, again, h), 201)
    assert r["offset"] == 1, r
    j = assert_json(bus.req("GET", 9013, "/events/replay?offset=1&limit=1000", headers=h))
    assert len(j["items"]) == 27, len(j["items"])


def test_replay_from_selects_by_event_time(bus):
    """from= compares the event's own `time`, not when the log appended it: an event
    published later with an earlier time is left out, and paging keeps the filter."""
    h = bus.tenant_headers("evtime")
    times = ["2030-01-01T00:00:00Z", "2020-01-01T00:00:00Z", "2031-05-01T10:00:00.250+02:00",
             "2019-12-31T23:59:59.999Z", "2030-01-01T00:00:00.001Z"]
    r = _publish(bus, [{"type": "t.e", "source": "/t", "time": t, "data": i} for i, t in enumerate(times)], h)
    assert r.status == 201, r
    j = assert_json(bus.req("GET", 9013, "/events/replay?from=2025-01-01T00:00:00Z", headers=h))
    assert [e["data"] for e in j["items"]] == [0, 2, 4], j
    j = assert_json(bus.req("GET", 9013, "/events/replay?from=2030-01-01T00:00:00.001Z", headers=h))
    assert [e["data"] for e in j["items"]] == [2, 4], j
    j = assert_json(bus.req("GET", 9013, "/events/replay?from=2031-05-01T08:00:00.250Z", headers=h))
    assert [e["data"] for e in j["items"]] == [2], j
    # paged: the next page keeps the time filter when from= is sent with offset=next
    got, off = [], 1
    for _ in range(10):
        j = assert_json(bus.req("GET", 9013, "/events/replay?from=2025-01-01T00:00:00Z&limit=1&offset=%d" % off,
                                headers=h))
        got += [e["data"] for e in j["items"]]
        if not j["more"]:
            break
        off = j["next"]
    assert got == [0, 2, 4], got
    j = assert_json(bus.req("GET", 9013, "/events/replay?from=2032-01-01T00:00:00Z", headers=h))
    assert j["items"] == [] and not j["more"], j


def test_module_events_reach_the_log(bus):
    """A module's outbox event (the registry's) is in the log with its real type."""
    r = bus.req("POST", 8001, "/services", {"name": "logged-svc", "url": "http://127.0.0.1:7000"})
    assert r.status == 201, r

    def found():
        j = assert_json(bus.req("GET", 9013, "/events/replay?types=registry.service.%3E&limit=1000"))
        return [e for e in j["items"] if e.get("subject") == r.json["id"] or
                (e.get("data") or {}).get("name") == "logged-svc"]
    wait_until(found, what="registry.service.registered in the log")
    ev = found()[0]
    assert ev["type"] == "registry.service.registered", ev
    assert ev["source"] == "/flowmaster/registry" and ev["tenantid"] == "default", ev
    assert ev["data"]["url"] == "http://127.0.0.1:7000" and ev["offset"] >= 1, ev


def test_engine_task_rules_registry_events_reach_the_log():
    """Issue 14 item 5: a process started over HTTP, its user task completed, a rule
    evaluated and a service registered: each module's events are in the durable log
    with their real types."""
    from exec_support import bpmn, chain, deploy, respond, start, wait_state, wait_task
    s = Server(modules="auth,eventbus,registry,design,execution,tasks,rules")
    try:
        xml = bpmn("logged_proc", '<bpmn:startEvent id="s"/><bpmn:userTask id="approve"/>'
                   '<bpmn:endEvent id="e"/>' + chain("s", "approve", "e"))
        deploy(s, xml)
        inst = start(s, "logged_proc", {"amount": 3})
        task = wait_task(s, inst["id"], "approve")
        assert respond(s, task, {"ok": True}).status in (200, 204)
        wait_state(s, inst["id"], "completed")
        rule = assert_json(s.req("POST", 8018, "/rules", body={"name": "logged-rule", "model": {
            "inputs": [{"name": "Amount", "type": "number"}],
            "decisions": [{"name": "Fee", "requires": ["Amount"], "literal": "Amount * 2"}]}}), 201)
        e = assert_json(s.req("POST", 8018, "/rules/%s/evaluate" % rule["id"], body={"inputs": {"Amount": 4}}))
        assert e["outputs"] == {"Fee": 8}, e
        assert s.req("POST", 8001, "/services", {"name": "logged-svc2", "url": "http://127.0.0.1:7001"}).status == 201

        want = ["execution.instance.started", "task.created", "task.completed", "execution.instance.completed",
                "rules.decision.evaluated", "registry.service.registered"]

        def logged():
            items, _ = _replay_all(s, limit=100)
            return items if all(any(i["type"] == w for i in items) for w in want) else None
        items = wait_until(logged, what="every module's events in the log")
        mine = [i for i in items if i.get("subject") in (inst["id"], task, rule["id"]) or
                i["type"].startswith("registry.")]
        types = [i["type"] for i in mine]
        assert sorted(set(t for t in types if t in want)) == sorted(want), types
        # within a module, in the order they happened (across modules the bus drains
        # each module's outbox in turn)
        assert types.index("execution.instance.started") < types.index("execution.instance.completed"), types
        assert types.index("task.created") < types.index("task.completed"), types
        first = {t: next(i for i in mine if i["type"] == t) for t in want}
        assert first["execution.instance.completed"]["source"] == "/flowmaster/execution", first
        assert first["execution.instance.completed"]["data"]["executionId"] == inst["id"], first
        assert first["task.created"]["subject"] == task and first["task.created"]["tenantid"] == "default", first
        assert first["rules.decision.evaluated"]["subject"] == rule["id"], first
        # the engine's per-step events are left out of the log by default ([eventbus] log_skip)
        assert not [t for t in types if t.startswith("execution.element.")], types
        offs = [i["offset"] for i in items]
        assert offs == sorted(offs) and len(set(offs)) == len(offs), offs
    finally:
        s.stop()


def test_replay_after_restart_and_kill9():
    s = Server(modules=MODS)
    try:
        r = _publish(s, [{"type": "k.a", "source": "/k", "data": i} for i in range(50)])
        assert r.status == 201, r
        s.stop()
        s.start()
        r = _publish(s, [{"type": "k.b", "source": "/k", "data": i} for i in range(50)])
        assert r.status == 201, r
        assert r.json["items"][0]["offset"] == 51, r.json["items"][0]
        reg = s.req("POST", 8001, "/services", {"name": "before-kill", "url": "http://127.0.0.1:7000"})
        assert reg.status == 201, reg
        s.kill()
        s.start()
        r = _publish(s, {"type": "k.c", "source": "/k", "data": 0})
        assert r.status == 201, r
        items, _ = _replay_all(s, "types=k.%3E", limit=40)
        assert [e["data"] for e in items] == list(range(50)) * 2 + [0], [e["data"] for e in items]
        offs = [e["offset"] for e in items]
        assert offs == sorted(set(offs)), "offsets repeat or go back: %r" % offs
        # the registry event committed before the kill is logged once
        wait_until(lambda: [e for e in _replay_all(s, "types=registry.service.registered")[0]
                            if (e.get("data") or {}).get("name") == "before-kill"], what="registry event")
        regs = [e for e in _replay_all(s, "types=registry.service.registered")[0]
                if (e.get("data") or {}).get("name") == "before-kill"]
        assert len(regs) == 1, regs
    finally:
        s.close()


# ---- schemas ----

SCHEMA = {
    "type": "object", "required": ["id", "amount"], "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "minLength": 3, "maxLength": 8, "pattern": "^inv-[0-9]+$"},
        "amount": {"type": "number", "minimum": 0, "maximum": 1000},
        "currency": {"enum": ["EUR", "USD"]},
        "kind": {"const": "invoice"},
        "lines": {"type": "array", "items": {"type": "integer"}},
        "at": {"type": "string", "format": "date-time"},
        "mail": {"type": "string", "format": "email"},
        "link": {"type": "string", "format": "uri"},
    },
}


def test_schema_violations(bus):
    h = bus.tenant_headers("schemas")
    r = bus.req("POST", 9013, "/schemas", {"type": "invoice.issued", "schema": SCHEMA}, headers=h)
    assert r.status == 201 and r.json["version"] == 1, r
    r = bus.req("POST", 9013, "/schemas", {"type": "invoice.issued", "schema": SCHEMA}, headers=h)
    assert r.json["version"] == 2, r
    j = assert_json(bus.req("GET", 9013, "/schemas/invoice.issued", headers=h))
    assert [v["version"] for v in j["versions"]] == [1, 2], j
    assert assert_json(bus.req("GET", 9013, "/schemas", headers=h))["items"] == \
        [{"type": "invoice.issued", "latestVersion": 2}]
    assert_problem(bus.req("GET", 9013, "/schemas/other.type", headers=h), 404)

    cases = [
        ({"id": "inv-1"}, "/data/amount", "required"),
        ({"id": "inv-1", "amount": "x"}, "/data/amount", "type"),
        ({"id": "inv-1", "amount": 5, "extra": 1}, "/data/extra", "not an allowed"),
        ({"id": "inv-1", "amount": 5, "currency": "GBP"}, "/data/currency", "allowed values"),
        ({"id": "inv-1", "amount": 5, "kind": "credit"}, "/data/kind", "constant"),
        ({"id": "inv-1", "amount": 5, "lines": [1, "2"]}, "/data/lines/1", "type"),
        ({"id": "inv-1", "amount": -1}, "/data/amount", "at least"),
        ({"id": "inv-1", "amount": 1001}, "/data/amount", "at most"),
        ({"id": "in", "amount": 1}, "/data/id", "characters long"),
        ({"id": "inv-12345", "amount": 1}, "/data/id", "at most 8"),
        ({"id": "inx-1", "amount": 1}, "/data/id", "pattern"),
        ({"id": "inv-1", "amount": 1, "at": "yesterday"}, "/data/at", "date-time"),
        ({"id": "inv-1", "amount": 1, "mail": "no-at-sign"}, "/data/mail", "email"),
        ({"id": "inv-1", "amount": 1, "link": "not a uri"}, "/data/link", "uri"),
        ("just text", "/data", "type"),
    ]
    for data, ptr, word in cases:
        r = _publish(bus, {"type": "invoice.issued", "source": "/billing", "data": data}, h)
        p = assert_problem(r, 422)
        assert any(e["pointer"] == ptr and word in e["detail"] for e in p["errors"]), \
            "%r: %r" % (data, p["errors"])
    # several violations at once, in a batch: each named
    r = _publish(bus, [{"type": "invoice.issued", "source": "/b", "data": {"id": "inv-1", "amount": 2}},
                       {"type": "invoice.issued", "source": "/b", "data": {"amount": -5, "x": 1}}], h)
    p = assert_problem(r, 422)
    assert {e["pointer"] for e in p["errors"]} == {"/1/data/id", "/1/data/amount", "/1/data/x"}, p
    j = assert_json(bus.req("GET", 9013, "/events/replay", headers=h))
    assert j["items"] == [] and j["lastOffset"] == 0, "an invalid event was stored: %r" % j
    ok = assert_json(_publish(bus, {"type": "invoice.issued", "source": "/b", "data": {
        "id": "inv-7", "amount": 10.5, "currency": "EUR", "kind": "invoice", "lines": [1, 2],
        "at": "2026-12-04T10:00:00+01:00", "mail": "a@b.example", "link": "https://x.example/1"}}, h), 201)
    assert ok["offset"] == 1, ok
    # a schema outside the subset names its pointer
    p = assert_problem(bus.req("POST", 9013, "/schemas", {"type": "bad.schema", "schema": {
        "properties": {"age": {"minimum": "ten"}}}}, headers=h), 422)
    assert p["errors"][0]["pointer"] == "/schema/properties/age", p
    p = assert_problem(bus.req("POST", 9013, "/schemas", {"type": "bad.schema", "schema": {
        "properties": {"s": {"pattern": "("}}}}, headers=h), 422)
    assert p["errors"][0]["pointer"] == "/schema/properties/s", p


# ---- bad input ----

def test_bad_input(bus):
    h = bus.tenant_headers("badinput")
    bad_events = [
        ({"source": "/x"}, "/type"),
        ({"type": "a b", "source": "/x"}, "/type"),
        ({"type": "a.", "source": "/x"}, "/type"),
        ({"type": "a", "source": ""}, "/source"),
        ({"type": "a", "source": "/x", "specversion": "0.3"}, "/specversion"),
        ({"type": "a", "source": "/x", "time": "monday"}, "/time"),
        ({"type": "a", "source": "/x", "id": 5}, "/id"),
        ({"type": "a", "source": "/x", "data_base64": "AAAA"}, "/data_base64"),
        ({"type": "a", "source": "/x", "tenantid": "other"}, "/tenantid"),
        ({"type": "a", "source": "/x", "Bad_Ext": 1}, "/"),
        ({"type": "a", "source": "/x", "ext": {"o": 1}}, "/ext"),
        ({"type": "a", "source": "/x", "datacontenttype": "text/xml"}, "/datacontenttype"),
    ]
    for ev, ptr in bad_events:
        p = assert_problem(_publish(bus, ev, h), 422)
        assert ptr in [e["pointer"] for e in p["errors"]], "%r: %r" % (ev, p)
    assert_problem(_publish(bus, [], h), 422)
    assert_problem(_publish(bus, "42", h), 422)
    assert_problem(_publish(bus, "\"text\"", h), 422)
    assert_problem(_publish(bus, [{"type": "a", "source": "/x"}] * 1001, h), 422)
    # over the size limits: a 300 KiB event (ours), a 1 MiB body (the server's)
    big = {"type": "a", "source": "/x", "data": "x" * (300 * 1024)}
    p = assert_problem(_publish(bus, big, h), 422)
    assert "larger" in p["errors"][0]["detail"], p
    huge = {"type": "a", "source": "/x", "data": "x" * (1024 * 1024)}
    r = _publish(bus, huge, h)
    assert r.status == 413 and r.headers.get("content-type", "").startswith("application/problem+json"), r
    # replay parameters
    for q in ("offset=0", "offset=x", "from=yesterday", "types=a..b", "types=%3E.a", "types=a*",
              "limit=0", "limit=5000", "offset=1&from=never"):
        assert_problem(bus.req("GET", 9013, "/events/replay?" + q, headers=h), 422)
    # subscriptions
    for body, ptr in [({"kind": "carrier-pigeon"}, "/kind"),
                      ({"kind": "webhook", "url": "ftp://127.0.0.1/x"}, "/url"),
                      ({"kind": "webhook", "url": "file:///etc/passwd"}, "/url"),
                      ({"kind": "webhook"}, "/url"),
                      ({"kind": "webhook", "url": "http://127.0.0.1:1/x", "types": "a.>.b"}, "/types"),
                      ({"kind": "webhook", "url": "http://127.0.0.1:1/x", "secret": "short"}, "/secret"),
                      ({"kind": "webhook", "url": "http://127.0.0.1:1/x", "from": "later"}, "/from"),
                      ({"kind": "internal", "url": "http://127.0.0.1:1/x"}, "/url")]:
        p = assert_problem(bus.req("POST", 9013, "/subscriptions", body, headers=h), 422)
        assert ptr in [e["pointer"] for e in p["errors"]], "%r: %r" % (body, p)
    j = assert_json(bus.req("GET", 9013, "/subscriptions", headers=h))
    assert j["items"] == [] and j["total"] == 0, j
    j = assert_json(bus.req("GET", 9013, "/events/replay", headers=h))
    assert j["items"] == [] and j["lastOffset"] == 0, "bad input was stored: %r" % j
    assert_problem(bus.req("GET", 9013, "/subscriptions/sub_nope/status", headers=h), 404)
    assert_problem(bus.req("POST", 9013, "/subscriptions/sub_nope/redeliver", headers=h), 404)


# ---- webhooks ----

def _sub(s, body, headers=None):
    r = s.req("POST", 9013, "/subscriptions", body, headers=headers)
    assert r.status == 201, r
    return r.json


def _status(s, sid, headers=None):
    return assert_json(s.req("GET", 9013, "/subscriptions/%s/status" % sid, headers=headers))


def test_webhook_retries_order_signature(bus):
    h = bus.tenant_headers("hooks")
    rcv = Receiver(plan=["fail", "fail", "hang"])
    try:
        secret = "s3cret-for-the-test-0123"
        sub = _sub(bus, {"kind": "webhook", "url": rcv.url, "secret": secret, "types": "order.>"}, h)
        assert "secret" not in sub and sub["state"] == "active" and sub["lastDeliveredOffset"] == 0, sub
        evs = [{"type": "order.created", "source": "/shop", "subject": "o%d" % i, "data": {"i": i}}
               for i in range(5)]
        evs.insert(2, {"type": "invoice.issued", "source": "/b", "data": {}})   # not matched
        assert _publish(bus, evs, h).status == 201
        wait_until(lambda: len(rcv.delivered()) == 5, timeout=20, what="5 deliveries")
        got = rcv.got
        # the first event was tried 4 times: 500, 500, a hang cut by the timeout, then 2xx
        firsts = [g for g in got if json.loads(g[1]) == {"i": 0}]
        assert [g[2] for g in firsts] == ["fail", "fail", "hang", "ok"], [g[2] for g in got]
        assert len({g[0]["ce-id"] for g in firsts}) == 1
        # order kept, one type only
        assert [json.loads(b)["i"] for hd, b in rcv.delivered()] == [0, 1, 2, 3, 4]
        for hd, body in rcv.delivered():
            assert hd["ce-type"] == "order.created" and hd["ce-source"] == "/shop", hd
            assert hd["ce-specversion"] == "1.0" and hd["ce-tenantid"] == "hooks", hd
            assert hd["content-type"].startswith("application/json"), hd
            sig = hd["x-flowmaster-signature"]
            assert re.match(r"^t=\d+,v1=[0-9a-f]{64}$", sig), sig
            assert _verify_py(secret, sig, body) is True
            assert _verify_py("another-secret-000000", sig, body) is False
            assert _verify_py(secret, sig, body + b" ") is False
        hd, body = rcv.delivered()[-1]
        node = _verify_node(secret, hd["x-flowmaster-signature"], body)
        assert node in (True, None), "the Node recipe did not verify"
        if node is not None:
            assert _verify_node("wrong-secret-0000000", hd["x-flowmaster-signature"], body) is False
        st = wait_until(lambda: (lambda j: j if j["lastDeliveredOffset"] == 6 else None)(
            _status(bus, sub["id"], h)), timeout=20, what="the last delivery recorded")
        assert st["lastDeliveredOffset"] == 6 and st["lag"] == 0 and st["consecutiveFailures"] == 0, st
        assert st["delivered"] == 5 and st["deadLetters"] == 0, st
    finally:
        rcv.close()


def test_webhook_dead_letters_redeliver_pause(bus):
    h = bus.tenant_headers("deadletters")
    rcv = Receiver(after="fail")
    try:
        sub = _sub(bus, {"kind": "webhook", "url": rcv.url, "secret": "dead-letter-secret-0001"}, h)
        assert _publish(bus, [{"type": "dl.a", "source": "/d", "data": i} for i in range(2)], h).status == 201
        wait_until(lambda: _status(bus, sub["id"], h)["deadLetters"] == 2, timeout=20, what="2 dead letters")
        st = _status(bus, sub["id"], h)
        assert [d["offset"] for d in st["deadLetterList"]] == [1, 2], st
        assert all(d["attempts"] == 4 and d["lastError"] == "HTTP 500" for d in st["deadLetterList"]), st
        assert st["lastDeliveredOffset"] == 2 and st["consecutiveFailures"] >= 8, st
        assert len(rcv.got) == 8, len(rcv.got)
        # delivery goes on: a new event after the dead ones is tried too
        rcv.after = "ok"
        assert _publish(bus, {"type": "dl.a", "source": "/d", "data": 2}, h).status == 201
        wait_until(lambda: len(rcv.delivered()) == 1, timeout=20, what="the next event")
        assert json.loads(rcv.delivered()[0][1]) == 2
        # pause: nothing goes out; resume: it does
        p = assert_json(bus.req("POST", 9013, "/subscriptions/%s/pause" % sub["id"], headers=h))
        assert p["state"] == "paused", p
        time.sleep(0.3)     # let the dispatcher see the change (not a timing assertion)
        assert _publish(bus, {"type": "dl.a", "source": "/d", "data": 3}, h).status == 201
        r = assert_json(bus.req("POST", 9013, "/subscriptions/%s/redeliver" % sub["id"], headers=h), 202)
        assert r["redelivering"] == 2, r
        time.sleep(0.5)
        assert len(rcv.delivered()) == 1, "a paused subscription got deliveries"
        assert_json(bus.req("POST", 9013, "/subscriptions/%s/resume" % sub["id"], headers=h))
        wait_until(lambda: len(rcv.delivered()) == 4, timeout=20, what="redelivery and the rest")
        # dead letters first (oldest first), then the log
        assert [json.loads(b) for hd, b in rcv.delivered()] == [2, 0, 1, 3]
        # the receiver answers before the server records the delivery: wait for the record
        st = wait_until(lambda: (lambda j: j if j["lastDeliveredOffset"] == 4 else None)(
            _status(bus, sub["id"], h)), timeout=20, what="the last delivery recorded")
        assert st["deadLetters"] == 0 and st["lastDeliveredOffset"] == 4 and st["lag"] == 0, st
        # delete
        assert bus.req("DELETE", 9013, "/subscriptions/" + sub["id"], headers=h).status == 204
        assert_problem(bus.req("GET", 9013, "/subscriptions/" + sub["id"], headers=h), 404)
    finally:
        rcv.close()


def test_webhook_resumes_after_kill9():
    s = Server(modules=MODS, env=FAST)
    rcv = Receiver()
    try:
        sub = _sub(s, {"kind": "webhook", "url": rcv.url, "secret": "resume-secret-000000001"})
        assert _publish(s, [{"type": "r.a", "source": "/r", "data": i} for i in range(10)]).status == 201
        wait_until(lambda: len(rcv.delivered()) == 10, timeout=20, what="10 deliveries")
        s.kill()
        rcv.after = "fail"      # while down and just after: nothing acknowledged
        s.start()
        assert _publish(s, [{"type": "r.a", "source": "/r", "data": i} for i in range(10, 15)]).status == 201
        wait_until(lambda: len(rcv.got) >= 12, timeout=20, what="retries after the restart")
        rcv.after = "ok"
        wait_until(lambda: len(rcv.delivered()) >= 15, timeout=20, what="the rest")
        got = [json.loads(b) for hd, b in rcv.delivered()]
        # at least once, in order: a repeat only of what was in flight at the kill
        dedup = [x for i, x in enumerate(got) if i == 0 or x != got[i - 1]]
        assert dedup == list(range(15)), got
        assert _status(s, sub["id"])["lastDeliveredOffset"] == 15
    finally:
        rcv.close()
        s.close()


def test_internal_subscription_ack(bus):
    h = bus.tenant_headers("internal")
    assert _publish(bus, [{"type": "i.a", "source": "/i", "data": i} for i in range(3)], h).status == 201
    sub = _sub(bus, {"kind": "internal", "types": "i.*", "from": 2}, h)
    assert sub["lastDeliveredOffset"] == 1 and "url" not in sub, sub
    st = _status(bus, sub["id"], h)
    assert st["lag"] == 2, st
    j = assert_json(bus.req("POST", 9013, "/subscriptions/%s/ack" % sub["id"], {"offset": 3}, headers=h))
    assert j["lastDeliveredOffset"] == 3, j
    j = assert_json(bus.req("POST", 9013, "/subscriptions/%s/ack" % sub["id"], {"offset": 1}, headers=h))
    assert j["lastDeliveredOffset"] == 3, "an ack moved back: %r" % j
    assert_problem(bus.req("POST", 9013, "/subscriptions/%s/ack" % sub["id"], {"offset": -1}, headers=h), 422)
    # from a time, and paging of the list
    sub2 = _sub(bus, {"kind": "internal", "from": "2000-01-01T00:00:00Z"}, h)
    assert sub2["lastDeliveredOffset"] == 0, sub2
    j = assert_json(bus.req("GET", 9013, "/subscriptions?limit=1", headers=h))
    assert j["total"] == 2 and len(j["items"]) == 1 and j["nextCursor"], j


# ---- tenants ----

def test_tenants_isolated(bus):
    a, b = bus.tenant_headers("tena"), bus.tenant_headers("tenb")
    rcv_b = Receiver()
    try:
        sub_b = _sub(bus, {"kind": "webhook", "url": rcv_b.url, "secret": "tenant-b-secret-0000001"}, b)
        ev = assert_json(_publish(bus, {"type": "t.secret", "source": "/a", "data": "for a"}, a), 201)
        assert ev["offset"] >= 1
        assert_json(_publish(bus, {"type": "t.public", "source": "/b", "data": "for b"}, b), 201)
        wait_until(lambda: len(rcv_b.delivered()) == 1, timeout=20, what="b's delivery")
        time.sleep(0.3)
        assert [json.loads(x[1]) for x in rcv_b.delivered()] == ["for b"], rcv_b.got
        items, _ = _replay_all(bus, headers=b)
        assert [e["data"] for e in items] == ["for b"], items
        assert items[0]["offset"] == 1     # offsets are per tenant
        assert_problem(bus.req("GET", 9013, "/events/" + ev["id"], headers=b), 404)
        assert_problem(bus.req("GET", 9013, "/subscriptions/" + sub_b["id"], headers=a), 404)
        assert_problem(bus.req("DELETE", 9013, "/subscriptions/" + sub_b["id"], headers=a), 404)
        assert_problem(bus.req("POST", 9013, "/subscriptions/%s/pause" % sub_b["id"], headers=a), 404)
        assert assert_json(bus.req("GET", 9013, "/subscriptions", headers=a))["total"] == 0
        r = bus.req("POST", 9013, "/schemas", {"type": "t.secret", "schema": {"type": "string"}}, headers=a)
        assert r.status == 201
        assert_problem(bus.req("GET", 9013, "/schemas/t.secret", headers=b), 404)
        assert _publish(bus, {"type": "t.secret", "source": "/b", "data": 5}, b).status == 201
    finally:
        rcv_b.close()


def test_private_targets_refused_for_other_tenants():
    """A tenant other than the operator's cannot make the server deliver webhooks to
    loopback or private addresses (the same rule as External Integration's connectors)."""
    s = Server(modules=MODS, env=FAST)
    rcv = Receiver()
    try:
        b = s.tenant_headers("tenp")
        sub = _sub(s, {"kind": "webhook", "url": rcv.url, "secret": "tenant-p-secret-0000001"}, b)
        assert_json(_publish(s, {"type": "t.p", "source": "/p", "data": 1}, b), 201)
        st = wait_until(lambda: (lambda j: j if j.get("consecutiveFailures", 0) >= 1 else None)(
            assert_json(s.req("GET", 9013, "/subscriptions/%s/status" % sub["id"], headers=b))),
            timeout=20, what="a refused delivery")
        assert rcv.delivered() == [], rcv.got
        assert st.get("lastError"), st
    finally:
        rcv.close()
        s.stop()


def test_retention_by_size():
    """[eventbus] retain_mb: the oldest events go, offsets are not reused, the file's
    freed pages are given back (auto_vacuum=INCREMENTAL)."""
    s = Server(modules=MODS, env={"FLOWMASTER_EVENTBUS_RETAIN_MB": "1",
                                  "FLOWMASTER_EVENTBUS_RETENTION_INTERVAL_MS": "100"})
    try:
        for i in range(12):
            r = _publish(s, {"type": "big.blob", "source": "/r", "data": {"i": i, "pad": "x" * 200000}})
            assert r.status == 201, r

        def first():
            j = assert_json(s.req("GET", 9013, "/events/replay?offset=1&limit=1"))
            return j["items"] and j["items"][0]["offset"] > 1 and j["items"][0]["offset"]
        wait_until(first, timeout=20, what="retention deleting the oldest events")
        j = assert_json(s.req("GET", 9013, "/events/replay?offset=1&limit=1000"))
        assert j["items"][-1]["offset"] == 12 and len(j["items"]) < 12, [e["offset"] for e in j["items"]]
        r = _publish(s, {"type": "big.small", "source": "/r", "data": 1})
        assert r.json["offset"] == 13, r.json
        db = os.path.join(s.data_dir, "eventbus.db")
        wait_until(lambda: os.path.getsize(db) < 3 * 1024 * 1024, timeout=20,
                   what="eventbus.db below 3 MiB after incremental vacuum (%d)" % os.path.getsize(db))
    finally:
        s.close()
