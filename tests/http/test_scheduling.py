"""Scheduling Service (9008, issue 15; docs/scheduling.md): schedules CRUD with If-Match,
pause/resume, list filters, next fire times, execute now; the three actions (a process
instance with the schedule id in its variables, a bus event through the outbox, a
webhook to a local receiver); misfire policies after the server was down; kill -9 in
the middle of fires starts each run's instance exactly once; bad input answered 422
naming the field. Fire times themselves are checked against cron-parser in
test_scheduling_cron.py."""

import http.server
import json
import os
import random
import sqlite3
import tempfile
import threading
import time

from harness import bind_low, Server, assert_json, assert_problem, wait_until
from exec_support import bpmn, chain, deploy

MODULES = "auth,design,execution,scheduling"
NO_LIMITS = {"FLOWMASTER_GATEWAY_RATE_PER_IP": "0", "FLOWMASTER_GATEWAY_RATE_PER_TENANT": "0"}
FIXTURES = {"srv": lambda: Server(modules=MODULES, env=NO_LIMITS)}

EVENT = {"kind": "event", "type": "test.tick", "data": {"n": 1}}


def create(srv, status=201, **body):
    body.setdefault("name", "s")
    body.setdefault("action", EVENT)
    r = srv.req("POST", 9008, "/schedules", body)
    if status is None:
        return r
    return assert_json(r, status)


def runs(srv, sid):
    return assert_json(srv.get(9008, "/schedules/%s/runs?limit=500" % sid))["items"]


def simple_process(srv, pid):
    return deploy(srv, bpmn(pid, '<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>' + chain("s", "e")))


def test_crud_if_match_pause_resume(srv):
    s = create(srv, name="nightly", cron="30 2 * * *", timezone="Europe/Berlin", enabled=True)
    assert s["trigger"] == "cron" and s["revision"] == 1 and s["nextFireAt"].endswith("Z"), s
    assert s["nextFireAtLocal"][-6:] in ("+01:00", "+02:00") and s["nextFireAtLocal"][11:16] == "02:30", s
    r = srv.get(9008, "/schedules/" + s["id"])
    assert assert_json(r)["name"] == "nightly" and r.headers["etag"] == '"r1"'
    body = {"name": "nightly-2", "cron": "0 3 * * *", "timezone": "UTC", "action": EVENT}
    assert_problem(srv.req("PUT", 9008, "/schedules/" + s["id"], body, headers={"If-Match": '"r7"'}), 412)
    u = assert_json(srv.req("PUT", 9008, "/schedules/" + s["id"], body, headers={"If-Match": '"r1"'}))
    assert u["revision"] == 2 and u["name"] == "nightly-2" and u["nextFireAt"][11:19] == "03:00:00", u
    p = assert_json(srv.req("POST", 9008, "/schedules/%s/pause" % s["id"]))
    assert p["enabled"] is False and p["nextFireAt"] is None, p
    lst = assert_json(srv.get(9008, "/schedules?enabled=false&actionKind=event"))
    assert s["id"] in [i["id"] for i in lst["items"]], lst
    assert s["id"] not in [i["id"] for i in assert_json(srv.get(9008, "/schedules?enabled=true"))["items"]]
    assert assert_json(srv.get(9008, "/schedules?actionKind=webhook"))["total"] == 0
    q = assert_json(srv.req("POST", 9008, "/schedules/%s/resume" % s["id"]))
    assert q["enabled"] is True and q["nextFireAt"], q
    n = assert_json(srv.get(9008, "/schedules/%s/next?count=3&after=2027-01-01T00:00:00Z" % s["id"]))
    assert [i["utc"] for i in n["items"]] == ["2027-01-01T03:00:00Z", "2027-01-02T03:00:00Z",
                                             "2027-01-03T03:00:00Z"], n
    assert n["items"][0]["local"] == "2027-01-01T03:00:00+00:00", n
    assert_problem(srv.get(9008, "/schedules/%s/next?count=101" % s["id"]), 422)
    assert_problem(srv.req("DELETE", 9008, "/schedules/" + s["id"], headers={"If-Match": '"r1"'}), 412)
    assert srv.req("DELETE", 9008, "/schedules/" + s["id"]).status == 204
    assert_problem(srv.get(9008, "/schedules/" + s["id"]), 404)


def test_interval_at_and_dates(srv):
    i = create(srv, interval="PT1H30M", startDate="2030-01-01T00:00:00Z", endDate="2030-01-01T04:00:00Z",
               enabled=False)
    n = assert_json(srv.get(9008, "/schedules/%s/next?count=10&after=2029-12-31T00:00:00Z" % i["id"]))
    assert [x["utc"] for x in n["items"]] == ["2030-01-01T00:00:00Z", "2030-01-01T01:30:00Z",
                                             "2030-01-01T03:00:00Z"], n
    a = create(srv, at="2031-05-06T07:08:09+02:00", timezone="Europe/Berlin")
    assert a["nextFireAt"] == "2031-05-06T05:08:09Z" and a["nextFireAtLocal"] == "2031-05-06T07:08:09+02:00", a
    n = assert_json(srv.get(9008, "/schedules/%s/next?count=5" % a["id"]))
    assert len(n["items"]) == 1, n


def test_bad_input(srv):
    cases = [
        ({"cron": "0 0 32 * *"}, "dayOfMonth"),
        ({"cron": "61 * * * *"}, "minute"),
        ({"cron": "0 25 * * *"}, "hour"),
        ({"cron": "0 0 * 13 *"}, "month"),
        ({"cron": "0 0 * * 8"}, "dayOfWeek"),
        ({"cron": "0 0 * * mon#6"}, "dayOfWeek"),
        ({"cron": "0 0 * * 1-5#2"}, "dayOfWeek"),
        ({"cron": "*/0 * * * *"}, "minute"),
        ({"cron": "0 0 1W * *"}, "dayOfMonth"),
        ({"cron": "70 0 0 * * *"}, "second"),
        ({"cron": "0 0 30 2 *"}, "dayOfMonth"),
    ]
    for body, field in cases:
        r = create(srv, status=None, **body)
        p = assert_problem(r, 422)
        assert p["errors"][0]["cronField"] == field and field in p["detail"], (body, p)
    for expr in ("* * * *", "* * * * * * *", "@often", ""):
        p = assert_problem(create(srv, status=None, cron=expr), 422)
        assert p["errors"][0]["pointer"] == "/cron", (expr, p)
    p = assert_problem(create(srv, status=None, cron="0 0 * * *", timezone="Mars/Olympus_Mons"), 422)
    assert p["errors"][0]["pointer"] == "/timezone" and "time zone" in p["errors"][0]["detail"], p
    assert_problem(create(srv, status=None, cron="0 0 * * *", timezone="../../etc/passwd"), 422)
    assert_problem(create(srv, status=None, interval="P1M"), 422)
    assert_problem(create(srv, status=None, interval="PT0S"), 422)
    assert_problem(create(srv, status=None, interval="soon"), 422)
    assert_problem(create(srv, status=None, at="tomorrow"), 422)
    assert_problem(create(srv, status=None, cron="* * * * *", interval="PT1M"), 422)
    assert_problem(create(srv, status=None, cron="* * * * *", misfirePolicy="sometimes"), 422)
    assert_problem(create(srv, status=None, cron="* * * * *", action={"kind": "email"}), 422)
    assert_problem(create(srv, status=None, cron="* * * * *", action={"kind": "webhook", "url": "ftp://x"}), 422)
    assert_problem(create(srv, status=None, cron="* * * * *", action={"kind": "process"}), 422)
    assert_problem(create(srv, status=None, cron="* * * * *", startDate="2030-01-02T00:00:00Z",
                          endDate="2030-01-01T00:00:00Z"), 422)
    assert_problem(create(srv, status=None, cron="x" * 300), 422)
    assert assert_json(srv.get(9008, "/schedules?limit=1"))["total"] >= 0


class Receiver(http.server.BaseHTTPRequestHandler):
    got = []

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        Receiver.got.append((self.path, self.headers.get("Content-Type"), self.rfile.read(n)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):
        pass


def test_webhook_and_event_actions(srv):
    httpd = bind_low(lambda a: http.server.ThreadingHTTPServer(a, Receiver))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = "http://127.0.0.1:%d/hook" % httpd.server_address[1]
        w = create(srv, cron="0 0 1 1 *", enabled=False,
                   action={"kind": "webhook", "url": url, "body": {"hello": "world"}})
        r = srv.req("POST", 9008, "/schedules/%s/execute" % w["id"])
        assert r.status in (201, 202) and r.json["trigger"] == "manual", r
        wait_until(lambda: runs(srv, w["id"])[0]["status"] != "firing", what="webhook run finished")
        run = runs(srv, w["id"])[0]
        assert run["status"] == "succeeded" and "204" in run["detail"], run
        assert Receiver.got and json.loads(Receiver.got[0][2]) == {"hello": "world"}, Receiver.got
        # an event action on a one-second interval fires from the loop timer, on its own
        e = create(srv, interval="PT1S")
        wait_until(lambda: len(runs(srv, e["id"])) >= 2, timeout=10, what="two interval runs")
        rs = runs(srv, e["id"])
        assert all(x["status"] == "succeeded" and x["trigger"] == "schedule" for x in rs), rs
        dues = [x["dueAt"] for x in rs]
        assert len(set(dues)) == len(dues), dues
        # a webhook nobody answers is a failed run with the reason
        bad = create(srv, cron="0 0 1 1 *", enabled=False,
                     action={"kind": "webhook", "url": "http://127.0.0.1:9/none"})
        srv.req("POST", 9008, "/schedules/%s/execute" % bad["id"])
        wait_until(lambda: runs(srv, bad["id"])[0]["status"] != "firing", what="failed webhook run")
        assert runs(srv, bad["id"])[0]["status"] == "failed", runs(srv, bad["id"])
    finally:
        httpd.shutdown()


def test_webhook_private_address_rule(srv):
    """[integrations] allow_private (off by default) holds for schedule webhooks too: a tenant
    other than the operator's does not reach a loopback target; the run fails saying why."""
    httpd = bind_low(lambda a: http.server.ThreadingHTTPServer(a, Receiver))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = "http://127.0.0.1:%d/private" % httpd.server_address[1]
        h = srv.tenant_headers("acme")
        body = {"name": "p", "cron": "0 0 1 1 *", "enabled": False,
                "action": {"kind": "webhook", "url": url, "body": {"x": 1}}}
        s = assert_json(srv.req("POST", 9008, "/schedules", body, headers=h), 201)
        srv.req("POST", 9008, "/schedules/%s/execute" % s["id"], headers=h)
        done = lambda: [x for x in assert_json(srv.get(9008, "/schedules/%s/runs" % s["id"], headers=h))["items"]
                        if x["status"] != "firing"]
        wait_until(done, what="refused webhook run")
        run = done()[0]
        assert run["status"] == "failed" and "loopback, private or link-local" in run["detail"], run
        assert "allow_private" in run["detail"], run
        assert not [g for g in Receiver.got if g[0] == "/private"], "the private target was reached"
        # the operator's tenant may
        ok = create(srv, cron="0 0 1 1 *", enabled=False, action={"kind": "webhook", "url": url, "body": {"x": 2}})
        srv.req("POST", 9008, "/schedules/%s/execute" % ok["id"])
        wait_until(lambda: runs(srv, ok["id"])[0]["status"] != "firing", what="operator webhook run")
        assert runs(srv, ok["id"])[0]["status"] == "succeeded", runs(srv, ok["id"])
        assert [g for g in Receiver.got if g[0] == "/private"], Receiver.got
    finally:
        httpd.shutdown()


def test_process_action_carries_schedule_id(srv):
    p = simple_process(srv, "sched_proc_vars")
    s = create(srv, cron="0 0 1 1 *", enabled=False,
               action={"kind": "process", "processId": p["bpmnProcessId"], "variables": {"k": "v"}})
    r = assert_json(srv.req("POST", 9008, "/schedules/%s/execute" % s["id"]), 201)
    assert r["status"] == "succeeded" and r["instanceId"].startswith("exe_"), r
    assert r["instance"] == "/executions/" + r["instanceId"], r
    inst = assert_json(srv.get(9005, "/executions/" + r["instanceId"]))
    v = inst["variables"]
    assert v["scheduleId"] == s["id"] and v["scheduleRunId"] == r["id"] and v["k"] == "v", v
    # and from the timer
    t = create(srv, interval="PT1S", action={"kind": "process", "processId": p["id"]})
    wait_until(lambda: any(x["status"] == "succeeded" for x in runs(srv, t["id"])), timeout=10,
               what="timed process run")
    run = [x for x in runs(srv, t["id"]) if x["status"] == "succeeded"][0]
    inst = assert_json(srv.get(9005, "/executions/" + run["instanceId"]))
    assert inst["variables"]["scheduleId"] == t["id"], inst
    # an unknown process is a failed run naming the engine's answer
    u = create(srv, cron="0 0 1 1 *", enabled=False, action={"kind": "process", "processId": "no_such_process"})
    r = assert_json(srv.req("POST", 9008, "/schedules/%s/execute" % u["id"]), 201)
    assert r["status"] == "failed" and "422" in r["detail"], r


def test_process_timers_listed_read_only(srv):
    """Timer start events of published processes are read-only `process-timer` entries of
    GET /schedules (after the stored schedules, counted in total); changing one is a 409."""
    pid = "sched_ptimer_proc"
    timer = ('<bpmn:startEvent id="tick"><bpmn:timerEventDefinition><bpmn:timeCycle xsi:type="bpmn:tFormalExpression">'
             'R/PT1H</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:startEvent><bpmn:endEvent id="e"/>')
    create(srv, name="zz-stored", cron="0 0 1 1 *", enabled=False)
    p = deploy(srv, bpmn(pid, timer + chain("tick", "e")))
    sid = "process-timer:%s:tick" % p["id"]

    def entry():
        items = assert_json(srv.get(9008, "/schedules?limit=500"))["items"]
        return [x for x in items if x["id"] == sid]
    wait_until(entry, what="the process timer listed")
    e = entry()[0]
    assert e["kind"] == "process-timer" and e["readOnly"] is True and e["enabled"] is True, e
    assert e["process"]["bpmnProcessId"] == pid and e["process"]["elementId"] == "tick", e
    assert e["action"] == {"kind": "process", "processId": p["id"]}, e
    assert e["nextFireAt"] and e["nextFireAt"].endswith("Z"), e
    assert assert_json(srv.get(9008, "/schedules/" + sid)) == e
    # stored schedules first, the process timers after them, all counted
    page = assert_json(srv.get(9008, "/schedules?limit=500"))
    kinds = [x["kind"] for x in page["items"]]
    assert kinds == sorted(kinds, key=lambda k: k == "process-timer"), kinds
    assert page["total"] == len(page["items"]), page["total"]
    stored = kinds.count("schedule")
    first = assert_json(srv.get(9008, "/schedules?limit=%d" % stored))
    assert [x["kind"] for x in first["items"]] == ["schedule"] * stored and first["nextCursor"], first
    tail = assert_json(srv.get(9008, "/schedules?limit=500&cursor=" + first["nextCursor"]))["items"]
    assert first["total"] == page["total"], first
    assert tail and all(x["kind"] == "process-timer" for x in tail) and sid in [x["id"] for x in tail], tail
    # filters: they are enabled and start a process
    assert not [x for x in assert_json(srv.get(9008, "/schedules?enabled=false&limit=500"))["items"]
                if x["kind"] == "process-timer"]
    assert not [x for x in assert_json(srv.get(9008, "/schedules?actionKind=event&limit=500"))["items"]
                if x["kind"] == "process-timer"]
    # read-only: every change is a 409 problem saying where the entry comes from
    for method, path, body in (("PUT", "", {"name": "x", "cron": "* * * * *", "action": EVENT}),
                               ("DELETE", "", None), ("POST", "/pause", None), ("POST", "/execute", None)):
        r = srv.req(method, 9008, "/schedules/" + sid + path, body)
        assert_problem(r, 409, title="Read-only Schedule")
        assert r.json["type"] == "urn:flowmaster:problem:schedule-read-only", r.json
        assert "timer start event 'tick'" in r.json["detail"] and p["id"] in r.json["detail"], r.json
    assert_problem(srv.req("DELETE", 9008, "/schedules/process-timer:%s:nope" % p["id"]), 404)
    # another tenant does not see them
    other = srv.tenant_headers("ptimer-other")
    items = assert_json(srv.get(9008, "/schedules?limit=500", headers=other))["items"]
    assert not [x for x in items if x["kind"] == "process-timer"], items


def test_misfire_policies_after_restart():
    data = tempfile.mkdtemp(prefix="fm-sched-")
    srv = Server(modules=MODULES, env=NO_LIMITS, data_dir=os.path.join(data, "d"))
    try:
        ids = {}
        for policy in ("skip", "fire-once", "fire-all"):
            ids[policy] = create(srv, name=policy, cron="* * * * * *", misfirePolicy=policy, misfireMax=2)["id"]
        srv.kill()
        time.sleep(3.5)     # at least three fire times pass while the server is down
        srv.start()
        wait_until(lambda: all(any(x["trigger"] == "misfire" for x in runs(srv, i)) for i in ids.values()),
                   timeout=10, what="misfire runs after restart")
        mis = {p: [x for x in runs(srv, i) if x["trigger"] == "misfire"] for p, i in ids.items()}
        assert len(mis["skip"]) == 1 and mis["skip"][0]["status"] == "skipped", mis["skip"]
        assert "while the server was down" in mis["skip"][0]["detail"], mis["skip"]
        assert len(mis["fire-once"]) == 1 and mis["fire-once"][0]["status"] == "succeeded", mis["fire-once"]
        assert len(mis["fire-all"]) == 2, mis["fire-all"]
        assert mis["fire-all"][0]["dueAt"] < mis["fire-all"][1]["dueAt"], mis["fire-all"]
        # fire-once fires the latest missed time
        once = mis["fire-once"][0]["dueAt"]
        assert once >= mis["fire-all"][1]["dueAt"], (once, mis["fire-all"])
    finally:
        srv.close()


def test_kill_during_fires_starts_each_instance_once():
    data = tempfile.mkdtemp(prefix="fm-sched-")
    srv = Server(modules=MODULES, env=NO_LIMITS, data_dir=os.path.join(data, "d"))
    try:
        p = simple_process(srv, "sched_proc_kill")
        sids = [create(srv, name="k%d" % k, cron="* * * * * *", misfirePolicy="skip",
                       action={"kind": "process", "processId": p["id"]})["id"] for k in range(8)]
        time.sleep(1.2 + random.random())
        srv.kill()
        # the two crash points, made certain: a run committed whose instance was never
        # started, and a run whose instance started but whose outcome was not recorded
        db = sqlite3.connect(os.path.join(srv.data_dir, "scheduling.db"))
        done = db.execute("SELECT id FROM runs WHERE status = 'succeeded' LIMIT 2").fetchall()
        db.execute("UPDATE runs SET status = 'firing', instance_id = NULL WHERE id IN (%s)"
                   % ",".join("'%s'" % d[0] for d in done))
        action = json.dumps({"kind": "process", "processId": p["id"]})
        db.execute("INSERT INTO runs(id, schedule_id, tenant_id, due_ms, fired_ms, trigger, status, action) "
                   "VALUES ('run_injected_crash', ?, 'default', 1, 1, 'schedule', 'firing', ?)", (sids[0], action))
        db.commit()
        db.close()
        srv.start()
        for sid in sids:
            srv.req("POST", 9008, "/schedules/%s/pause" % sid)

        def all_runs():
            return [x for sid in sids for x in runs(srv, sid) if x["status"] != "skipped"]
        wait_until(lambda: all(x["status"] != "firing" for x in all_runs()), timeout=15, what="no run firing")
        rs = all_runs()
        assert all(x["status"] == "succeeded" for x in rs), [x for x in rs if x["status"] != "succeeded"]
        assert "run_injected_crash" in [x["id"] for x in rs]
        for d in done:
            assert d[0] in [x["id"] for x in rs]
        insts, cursor = [], None
        while True:
            j = assert_json(srv.get(9005, "/executions?limit=500" + ("&cursor=" + cursor if cursor else "")))
            insts += j["items"]
            cursor = j.get("nextCursor")
            if not cursor:
                break
        by_run = {}
        for i in insts:
            v = assert_json(srv.get(9005, "/executions/" + i["id"]))["variables"]
            by_run.setdefault(v["scheduleRunId"], []).append(i["id"])
        dup = {k: v for k, v in by_run.items() if len(v) > 1}
        assert not dup, "runs with more than one instance: %r" % dup
        assert set(by_run) == {x["id"] for x in rs}, (set(by_run) ^ {x["id"] for x in rs})
        for x in rs:
            assert by_run[x["id"]] == [x["instanceId"]], x
    finally:
        srv.close()
