"""Process Analytics on 9014 (docs/analytics.md): numbers checked against instances run
by the test with controlled durations (a timer of known length, a user task answered
after a known wait), a bottleneck whose slow element is known, path variants through a
gateway, SLA breaches, incidents, the heatmap, dashboard, CSV/JSON reports, backfill
giving the same numbers as live ingestion, tenants and bad input."""

import os
import time

from exec_support import bpmn, chain, deploy, start, wait_state, wait_task, respond
from harness import Server, assert_json, assert_problem, wait_until

P = 9014


class Mail:
    """A server whose Notification Service mails to the real aiosmtpd receiver
    (smtp_sink.py, as test_notifications.py runs it)."""

    def __init__(self):
        from test_notifications import Smtp, env_for
        self.smtp = Smtp()
        try:
            self.srv = Server(env=env_for(self.smtp.port))
        except BaseException:
            self.smtp.close()
            raise

    def close(self):
        self.srv.close()
        self.smtp.close()


FIXTURES = {"solo": lambda: Server(), "mail": Mail}


def timed_process(srv, pid, headers=None):
    """start -> timer 0.6 s (slow) -> script (fast) -> end"""
    body = ('<bpmn:startEvent id="s"/>'
            '<bpmn:intermediateCatchEvent id="slow"><bpmn:timerEventDefinition>'
            '<bpmn:timeDuration>PT0.6S</bpmn:timeDuration></bpmn:timerEventDefinition>'
            '</bpmn:intermediateCatchEvent>'
            '<bpmn:scriptTask id="fast"><bpmn:extensionElements><zeebe:script expression="=1" '
            'resultVariable="x"/></bpmn:extensionElements></bpmn:scriptTask>'
            '<bpmn:endEvent id="e"/>' + chain("s", "slow", "fast", "e"))
    return deploy(srv, bpmn(pid, body), headers=headers)


def branching_process(srv, pid):
    """start -> gateway: n > 1 goes through big, else small -> end"""
    body = ('<bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="gw" default="f_gw_small"/>'
            '<bpmn:scriptTask id="big"><bpmn:extensionElements><zeebe:script expression="=1" '
            'resultVariable="y"/></bpmn:extensionElements></bpmn:scriptTask>'
            '<bpmn:scriptTask id="small"><bpmn:extensionElements><zeebe:script expression="=2" '
            'resultVariable="y"/></bpmn:extensionElements></bpmn:scriptTask>'
            '<bpmn:exclusiveGateway id="join"/><bpmn:endEvent id="e"/>'
            '<bpmn:sequenceFlow id="f_s_gw" sourceRef="s" targetRef="gw"/>'
            '<bpmn:sequenceFlow id="f_gw_big" sourceRef="gw" targetRef="big">'
            '<bpmn:conditionExpression>=n &gt; 1</bpmn:conditionExpression></bpmn:sequenceFlow>'
            '<bpmn:sequenceFlow id="f_gw_small" sourceRef="gw" targetRef="small"/>'
            + chain("big", "join") + chain("small", "join") + chain("join", "e"))
    return deploy(srv, bpmn(pid, body))


def metrics(srv, proc, query="", headers=None):
    return assert_json(srv.req("GET", P, "/analytics/processes/%s%s" % (proc, query), headers=headers))


def wait_ingested(srv, proc, n, headers=None):
    """Ingestion is asynchronous (bus -> worker -> the engine's history)."""
    def done():
        m = metrics(srv, proc, headers=headers)
        ended = m["instances"]["completed"] + m["instances"]["failed"] + m["instances"]["cancelled"]
        return m if ended >= n else None
    return wait_until(done, 20, what="%d ended instances of %s in analytics" % (n, proc))


def element(m, eid):
    return next(e for e in m["elements"] if e["elementId"] == eid)


def test_durations_elements_and_bottleneck(srv):
    p = timed_process(srv, "an_timed")
    ids = [start(srv, p["id"])["id"] for _ in range(4)]
    for i in ids:
        wait_state(srv, i, "completed")
    m = wait_ingested(srv, p["id"], 4)
    assert m["instances"]["started"] == 4 and m["instances"]["completed"] == 4, m
    d = m["duration"]
    assert d["count"] == 4 and 600 <= d["p50Ms"] <= d["p90Ms"] <= d["maxMs"] < 10000, d
    slow, fast = element(m, "slow"), element(m, "fast")
    assert slow["count"] == 4 and slow["p50Ms"] >= 600 and slow["elementType"] == "intermediateCatchEvent", slow
    assert fast["p50Ms"] < slow["p50Ms"], (fast, slow)
    assert slow["shareOfCycleTime"] > 0.5, slow
    assert m["versions"][0]["version"] == p["version"] and m["versions"][0]["started"] == 4, m
    assert m["incidentRate"] == 0 and sum(x["started"] for x in m["series"]) == 4, m
    b = assert_json(srv.get(P, "/analytics/processes/%s/bottlenecks" % p["id"]))
    assert b["items"][0]["elementId"] == "slow" and b["items"][0]["rank"] == 1, b
    assert b["items"][0]["totalMs"] >= 2400 and b["cycleTimeTotalMs"] >= b["items"][0]["totalMs"], b
    paths = assert_json(srv.get(P, "/analytics/processes/%s/paths" % p["id"]))
    assert paths["items"] == [{"path": ["s", "slow", "fast", "e"], "count": 4,
                               "meanMs": paths["items"][0]["meanMs"], "minMs": paths["items"][0]["minMs"],
                               "maxMs": paths["items"][0]["maxMs"]}], paths
    svg = srv.get(P, "/analytics/processes/%s/heatmap" % p["id"])
    assert svg.status == 200 and svg.headers["content-type"].startswith("image/svg+xml"), svg
    assert "highlight" in svg.text, svg.text[:300]


def test_path_variants(srv):
    p = branching_process(srv, "an_branch")
    ids = [start(srv, p["id"], {"n": n})["id"] for n in (5, 7, 9, 0)]
    for i in ids:
        wait_state(srv, i, "completed")
    wait_ingested(srv, p["id"], 4)
    v = assert_json(srv.get(P, "/analytics/processes/%s/paths" % p["id"]))["items"]
    assert [(x["path"], x["count"]) for x in v] == [(["s", "gw", "big", "join", "e"], 3),
                                                   (["s", "gw", "small", "join", "e"], 1)], v


def test_user_task_wait_sla_and_incidents(srv):
    body = ('<bpmn:startEvent id="s"/><bpmn:userTask id="review"/><bpmn:endEvent id="e"/>'
            + chain("s", "review", "e"))
    p = deploy(srv, bpmn("an_review", body))
    quick = start(srv, p["id"])["id"]
    respond(srv, wait_task(srv, quick, "review"), {})
    slow = start(srv, p["id"])["id"]
    tid = wait_task(srv, slow, "review")
    time.sleep(1.2)
    assert respond(srv, tid, {}).status == 200
    wait_state(srv, slow, "completed")
    # a third that fails a script and is cancelled: an incident, then cancelled
    assert_json(srv.req("PUT", P, "/analytics/processes/%s/sla" % p["id"], body={"targetSeconds": 1}))
    m = wait_ingested(srv, p["id"], 2)
    r = element(m, "review")
    assert r["count"] == 2 and r["maxMs"] >= 1200, r
    assert m["sla"] == {"targetMs": 1000, "breachedCompleted": 1, "breachedActive": 0, "breachRate": 0.5}, m["sla"]
    bad = ('<bpmn:startEvent id="s"/><bpmn:scriptTask id="boom"><bpmn:extensionElements>'
           '<zeebe:script expression="=1 + &quot;a&quot;" resultVariable="x"/></bpmn:extensionElements>'
           '</bpmn:scriptTask><bpmn:endEvent id="e"/>' + chain("s", "boom", "e"))
    pb = deploy(srv, bpmn("an_boom", bad))
    eid = start(srv, pb["id"])["id"]
    wait_until(lambda: assert_json(srv.get(9005, "/incidents?executionId=" + eid))["items"], 10,
               what="an incident")
    assert srv.req("PUT", 9005, "/executions/%s/cancel" % eid, body={}).status in (200, 204)
    m = wait_ingested(srv, pb["id"], 1)
    assert m["instances"]["cancelled"] == 1 and m["incidentRate"] == 1, m


def test_dashboard_reports_and_tenants(srv):
    p = timed_process(srv, "an_dash")
    eid = start(srv, p["id"])["id"]
    wait_state(srv, eid, "completed")
    wait_ingested(srv, p["id"], 1)
    d = assert_json(srv.get(P, "/analytics/dashboard"))
    assert d["throughput"]["completed"] >= 1 and isinstance(d["overdueTasks"], int), d
    assert any(x["processId"] == p["id"] and x["completed"] == 1 for x in d["processes"]), d
    assert d["topBottlenecks"] and all("totalMs" in x for x in d["topBottlenecks"]), d
    csv = srv.req("POST", P, "/analytics/reports", body={"format": "csv", "processId": p["id"]})
    assert csv.status == 200 and csv.headers["content-type"].startswith("text/csv"), csv
    lines = csv.text.strip().split("\r\n")
    assert lines[0] == "instanceId,processId,version,state,startedAt,endedAt,durationMs,incidents", lines
    assert len(lines) == 2 and lines[1].startswith(eid + "," + p["id"] + ",1,completed,"), lines
    js = assert_json(srv.req("POST", P, "/analytics/reports", body={"kind": "elements", "processId": p["id"]}))
    assert js["count"] == 4 and {r["elementId"] for r in js["rows"]} == {"s", "slow", "fast", "e"}, js
    other = srv.tenant_headers("analyticsb")
    assert metrics(srv, p["id"], headers=other)["instances"]["started"] == 0
    od = assert_json(srv.req("GET", P, "/analytics/dashboard", headers=other))
    assert od["processes"] == [] and od["throughput"]["started"] == 0, od
    rows = assert_json(srv.req("POST", P, "/analytics/reports", body={}, headers=other))
    assert rows["count"] == 0, rows


def test_backfill_equals_live(solo):
    p = timed_process(solo, "an_backfill")
    ids = [start(solo, p["id"])["id"] for _ in range(3)]
    for i in ids:
        wait_state(solo, i, "completed")
    live = wait_ingested(solo, p["id"], 3)
    assert solo.stop() == 0
    for suffix in ("", "-wal", "-shm"):
        path = os.path.join(solo.data_dir, "analytics.db" + suffix)
        if os.path.exists(path):
            os.remove(path)
    solo.start()
    back = wait_ingested(solo, p["id"], 3)
    for k in ("instances", "duration", "elements", "versions", "incidentRate"):
        assert back[k] == live[k], "%s: backfill %r, live %r" % (k, back[k], live[k])


def test_bad_input(srv):
    for q, field in (("?from=yesterday", "from"), ("?to=2020-01-01T00:00:00Z&from=2021-01-01T00:00:00Z", "to"),
                     ("?period=month", "period"), ("?version=0", "version"),
                     ("?period=hour&from=2000-01-01T00:00:00Z", "period")):
        pr = assert_problem(srv.get(P, "/analytics/processes/proc_x" + q), 422)
        assert pr["errors"][0]["pointer"] == "/" + field, (q, pr)
    assert_problem(srv.get(P, "/analytics/processes/proc_x/heatmap?metric=colour"), 422)
    assert_problem(srv.get(P, "/analytics/processes/proc_x/bottlenecks?limit=0"), 422)
    for body, field in (({"format": "xlsx"}, "format"), ({"kind": "tasks"}, "kind"), ({"from": "x"}, "from")):
        pr = assert_problem(srv.req("POST", P, "/analytics/reports", body=body), 422)
        assert pr["errors"][0]["pointer"] == "/" + field, (body, pr)
    assert_problem(srv.req("PUT", P, "/analytics/processes/proc_x/sla", body={"targetSeconds": 0}), 422)
    # a process with no instances: zeros, not an error
    m = metrics(srv, "proc_nothing")
    assert m["instances"]["started"] == 0 and m["duration"]["count"] == 0 and m["elements"] == [], m


def ms(t):
    """RFC 3339 with milliseconds (as the Human Task Service writes them) -> epoch ms."""
    import datetime
    return round(datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() * 1000)


def test_user_task_waiting_working_and_queue(srv):
    """Three instances wait at a user task: one is claimed after a delay and answered
    after another, one is claimed and left open, one is never claimed. Waiting, working
    and the queue are checked exactly against the tasks' own timestamps."""
    body = ('<bpmn:startEvent id="s"/><bpmn:userTask id="approve"/><bpmn:endEvent id="e"/>'
            + chain("s", "approve", "e"))
    p = deploy(srv, bpmn("an_queue", body))
    ids = [start(srv, p["id"])["id"] for _ in range(3)]
    tids = [wait_task(srv, i, "approve") for i in ids]
    time.sleep(0.3)
    claimed = assert_json(srv.req("PUT", 9006, "/tasks/%s/claim" % tids[0], body={}))
    time.sleep(0.2)
    assert respond(srv, tids[0], {}).status == 200
    done = assert_json(srv.get(9006, "/tasks/" + tids[0]))
    assert_json(srv.req("PUT", 9006, "/tasks/%s/claim" % tids[1], body={}))
    wait_state(srv, ids[0], "completed")
    m = wait_ingested(srv, p["id"], 1)

    def settled():
        a = element(assert_json(srv.get(P, "/analytics/processes/" + p["id"])), "approve")
        return a if a.get("queue", {}).get("workingNow") == 1 and "waiting" in a else None
    a = wait_until(settled, 20, what="the task events in analytics")
    wait_ms = ms(claimed["updatedAt"]) - ms(done["createdAt"])
    work_ms = ms(done["completedAt"]) - ms(claimed["updatedAt"])
    assert wait_ms >= 300 and work_ms >= 200, (claimed, done)
    assert a["waiting"] == {"count": 1, "meanMs": wait_ms, "p50Ms": wait_ms, "p90Ms": wait_ms, "p99Ms": wait_ms,
                            "maxMs": wait_ms, "totalMs": wait_ms}, a
    assert a["working"]["count"] == 1 and a["working"]["totalMs"] == work_ms, a
    assert a["queue"] == {"now": 2, "waitingNow": 1, "workingNow": 1, "maxInWindow": 3}, a
    assert a["count"] == 1 and a["p50Ms"] >= wait_ms + work_ms, a
    b = assert_json(srv.get(P, "/analytics/processes/%s/bottlenecks" % p["id"]))
    top = next(x for x in b["items"] if x["elementId"] == "approve")
    assert top["rank"] == 1 and top["queue"]["now"] == 2 and top["waiting"]["totalMs"] == wait_ms, b
    # the unclaimed one is answered straight away: all of its time was waiting
    assert respond(srv, tids[2], {}).status == 200
    t2 = assert_json(srv.get(9006, "/tasks/" + tids[2]))
    wait_state(srv, ids[2], "completed")
    a = wait_until(lambda: (lambda e: e if e["waiting"]["count"] == 2 else None)(
        element(assert_json(srv.get(P, "/analytics/processes/" + p["id"])), "approve")), 20,
        what="the second completed task")
    assert a["waiting"]["totalMs"] == wait_ms + ms(t2["completedAt"]) - ms(t2["createdAt"]), a
    assert a["working"]["totalMs"] == work_ms and a["working"]["maxMs"] == work_ms, a
    assert a["queue"] == {"now": 1, "waitingNow": 0, "workingNow": 1, "maxInWindow": 3}, a
    # another tenant sees none of it
    other = srv.tenant_headers("analyticsq")
    assert metrics(srv, p["id"], headers=other)["elements"] == []


def test_scheduled_report_is_mailed(mail):
    """A report schedule creates a schedule in 9008 (event action); its firing mails the
    report through 9009 to the real SMTP receiver, CSV in the body."""
    from test_notifications import mail_for, parse
    srv, smtp = mail.srv, mail.smtp
    p = timed_process(srv, "an_mailed")
    eid = start(srv, p["id"])["id"]
    wait_state(srv, eid, "completed")
    wait_ingested(srv, p["id"], 1)
    rs = assert_json(srv.req("POST", P, "/analytics/reports/schedules",
                             body={"processId": p["id"], "format": "csv", "interval": "PT1H",
                                   "recipients": ["ops@example.com", "boss@example.com"]}), 201)
    assert rs["kind"] == "instances" and rs["rangeDays"] == 7 and rs["runs"] == 0, rs
    assert rs["trigger"] == {"interval": "PT1H"} and rs["nextFireAt"], rs
    sched = assert_json(srv.get(9008, "/schedules/" + rs["scheduleId"]))
    assert sched["action"]["kind"] == "event" and sched["action"]["type"] == "analytics.report.due", sched
    assert sched["action"]["data"] == {"reportScheduleId": rs["id"]}, sched
    # fire it now, through Scheduling (the run is the scheduler's own)
    assert srv.req("POST", 9008, "/schedules/%s/execute" % rs["scheduleId"], body={}).status in (201, 202)
    for rcpt in ("ops@example.com", "boss@example.com"):
        m = parse(mail_for(smtp, rcpt, timeout=20)[0])
        assert m["Subject"].startswith("FlowMaster report: process %s (instances)" % p["id"]), m["Subject"]
        text = m.get_content() if not m.is_multipart() else m.get_body(("plain",)).get_content()
        lines = text.strip().splitlines()
        assert lines[0] == "instanceId,processId,version,state,startedAt,endedAt,durationMs,incidents", lines
        assert len(lines) == 2 and lines[1].startswith(eid + "," + p["id"] + ",1,completed,"), lines
    got = wait_until(lambda: [x for x in assert_json(srv.get(P, "/analytics/reports/schedules"))["items"]
                              if x["id"] == rs["id"] and x["runs"] == 1], 10, what="the run recorded")[0]
    assert got["lastResult"] == "sent to 2" and got["lastRunAt"], got
    # a dashboard report as JSON, on a cron
    ds = assert_json(srv.req("POST", P, "/analytics/reports/schedules",
                             body={"dashboard": True, "format": "json", "cron": "0 7 * * 1",
                                   "timezone": "Europe/Vienna", "rangeDays": 30,
                                   "recipients": ["dash@example.com"]}), 201)
    assert srv.req("POST", 9008, "/schedules/%s/execute" % ds["scheduleId"], body={}).status in (201, 202)
    m = parse(mail_for(smtp, "dash@example.com", timeout=20)[0])
    text = m.get_content() if not m.is_multipart() else m.get_body(("plain",)).get_content()
    import json as _json
    d = _json.loads(text)
    assert any(x["processId"] == p["id"] and x["completed"] == 1 for x in d["processes"]), d
    # another tenant neither sees nor deletes them
    other = srv.tenant_headers("analyticsm")
    assert assert_json(srv.get(P, "/analytics/reports/schedules", headers=other))["items"] == []
    assert_problem(srv.req("DELETE", P, "/analytics/reports/schedules/" + rs["id"], headers=other), 404)
    # delete removes the schedule in 9008 too
    assert srv.req("DELETE", P, "/analytics/reports/schedules/" + rs["id"]).status == 204
    assert srv.get(9008, "/schedules/" + rs["scheduleId"]).status == 404
    assert [x["id"] for x in assert_json(srv.get(P, "/analytics/reports/schedules"))["items"]] == [ds["id"]]


def test_scheduled_report_too_long_for_a_mail_is_cut(mail):
    """200 instances' element rows as JSON pass the 60,000 bytes a mail body takes: the
    mail holds whole lines up to there and says it was cut."""
    from test_notifications import mail_for, parse
    srv, smtp = mail.srv, mail.smtp
    p = branching_process(srv, "an_big")
    ids = [start(srv, p["id"], {"n": 5})["id"] for _ in range(200)]
    for i in ids:
        wait_state(srv, i, "completed")
    wait_ingested(srv, p["id"], 200)
    rs = assert_json(srv.req("POST", P, "/analytics/reports/schedules",
                             body={"processId": p["id"], "kind": "elements", "format": "json",
                                   "interval": "PT1H", "recipients": ["big@example.com"]}), 201)
    assert srv.req("POST", 9008, "/schedules/%s/execute" % rs["scheduleId"], body={}).status in (201, 202)
    m = parse(mail_for(smtp, "big@example.com", timeout=20)[0])
    text = m.get_content() if not m.is_multipart() else m.get_body(("plain",)).get_content()
    lines = text.rstrip().splitlines()
    assert lines[-1] == "[cut at 60000 bytes: POST /analytics/reports gives the whole report]", lines[-3:]
    assert 40000 < len(text) <= 60100 and lines[0] == "{" and '"elementId":' in lines[-3], len(text)


def test_report_schedule_bad_input(srv):
    good = {"processId": "p1", "format": "csv", "interval": "PT1H", "recipients": ["a@example.com"]}
    for change, field in (({"format": "xlsx"}, "format"), ({"processId": None}, "processId"),
                          ({"dashboard": True}, "processId"), ({"interval": None}, "cron"),
                          ({"cron": "0 7 * * 1"}, "cron"), ({"recipients": []}, "recipients"),
                          ({"recipients": ["not an address"]}, "recipients"),
                          ({"recipients": ["a@example.com"] * 21}, "recipients"),
                          ({"rangeDays": 0}, "rangeDays"), ({"kind": "tasks"}, "kind")):
        body = dict(good, **change)
        body = {k: v for k, v in body.items() if v is not None}
        pr = assert_problem(srv.req("POST", P, "/analytics/reports/schedules", body=body), 422)
        assert pr["errors"][0]["pointer"] == "/" + field, (change, pr)
    # Scheduling's own refusal (a bad interval) is passed on
    pr = assert_problem(srv.req("POST", P, "/analytics/reports/schedules", body=dict(good, interval="P1Y")), 422)
    assert pr["errors"][0]["pointer"] == "/interval", pr
    assert assert_json(srv.get(P, "/analytics/reports/schedules"))["items"] == []
    assert not [x for x in assert_json(srv.get(9008, "/schedules?limit=500"))["items"]
                if x["name"].startswith("analytics report")]
    assert_problem(srv.req("DELETE", P, "/analytics/reports/schedules/rps_nothing"), 404)
