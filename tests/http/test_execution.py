"""Execution Engine on 9005 (docs/execution.md), element by element: for every row of
"BPMN supported" a small model is deployed through Process Design (POST /processes +
publish), run, and checked by the exact path it took (the element.entered/element.left
entries of GET /executions/{id}/history), its final variables and state. Plus jobs,
incidents, user tasks in 9006, the HTTP connector (against a local http.server),
business rules (8018), pause/resume/cancel and Idempotency-Key.

Models are inline: `definitions(pid, body, top)` wraps process content; `flow`/`chain`
write sequence flows with ids `f_<source>_<target>`. Every test uses its own BPMN process
id, message names and job types, so the tests share one server without seeing each
other. Timers are short (PT0.3S) and waits poll (wait_until), never sleep blindly."""

import http.server
import json
import threading
import time
from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import escape

import harness
from harness import bind_low, assert_json, assert_problem, unique_name, wait_until

# the timer tests below use cycles of 0.2-0.3 s: below the default minimum
# (execution.timer_min_cycle_ms = 1000), which test_execution_limits.py covers
FIXTURES = {"srv": lambda: harness.Server(env={"FLOWMASTER_EXECUTION_TIMER_MIN_CYCLE_MS": "100"})}

E = 9005          # execution
D = 9003          # process design
T = 9006          # human tasks
R = 8018          # business rules

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
NOT_CORRELATED = "urn:flowmaster:problem:message-not-correlated"


# --- writing models ---------------------------------------------------------------------

def a(s):
    """An attribute value (FEEL with quotes, < and &)."""
    return escape(s, {'"': "&quot;"})


def definitions(pid, body, top="", process_ext=""):
    ext = "<extensionElements>%s</extensionElements>" % process_ext if process_ext else ""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<definitions xmlns="%s" xmlns:zeebe="%s" xmlns:xsi="%s" id="defs_%s"'
            ' targetNamespace="http://flowmaster.test/execution">\n%s\n'
            '<process id="%s" isExecutable="true">%s\n%s\n</process>\n</definitions>\n'
            % (BPMN_NS, ZEEBE_NS, XSI_NS, pid, top, pid, ext, body))


def fid(src, tgt):
    return "f_%s_%s" % (src, tgt)


def flow(src, tgt, cond=None):
    c = ('<conditionExpression xsi:type="tFormalExpression">%s</conditionExpression>'
         % escape(cond)) if cond else ""
    return '<sequenceFlow id="%s" sourceRef="%s" targetRef="%s">%s</sequenceFlow>\n' % (
        fid(src, tgt), src, tgt, c)


def chain(*ids):
    return "".join(flow(s, t) for s, t in zip(ids, ids[1:]))


def node(tag, id, inner="", attrs=""):
    return '<%s id="%s"%s>%s</%s>\n' % (tag, id, (" " + attrs) if attrs else "", inner, tag)


def timer(kind, value):
    """kind: timeDuration | timeDate | timeCycle."""
    return ('<timerEventDefinition><%s xsi:type="tFormalExpression">%s</%s></timerEventDefinition>'
            % (kind, escape(value), kind))


def msgdef(ref):
    return '<messageEventDefinition messageRef="%s"/>' % ref


def errdef(ref):
    return '<errorEventDefinition errorRef="%s"/>' % ref


def escdef(ref):
    return '<escalationEventDefinition escalationRef="%s"/>' % ref


def message(id, name, key="=orderId"):
    sub = ('<extensionElements><zeebe:subscription correlationKey="%s"/></extensionElements>'
           % a(key)) if key else ""
    return '<message id="%s" name="%s">%s</message>\n' % (id, a(name), sub)


def error(id, code):
    return '<error id="%s" errorCode="%s"/>\n' % (id, a(code))


def escalation(id, code):
    return '<escalation id="%s" escalationCode="%s"/>\n' % (id, a(code))


def job(id, type, retries=3, headers=None, inner="", tag="serviceTask", attrs=""):
    h = ""
    if headers:
        h = "<zeebe:taskHeaders>%s</zeebe:taskHeaders>" % "".join(
            '<zeebe:header key="%s" value="%s"/>' % (a(k), a(v)) for k, v in headers.items())
    return node(tag, id, '<extensionElements><zeebe:taskDefinition type="%s" retries="%d"/>%s'
                '</extensionElements>%s' % (a(type), retries, h, inner), attrs)


def script(id, expr, result, inner=""):
    return node("scriptTask", id, '<extensionElements><zeebe:script expression="%s" '
                'resultVariable="%s"/></extensionElements>%s' % (a(expr), result, inner))


def user(id, name="Review", ext=""):
    return node("userTask", id, "<extensionElements>%s</extensionElements>" % ext if ext else "",
                'name="%s"' % a(name))


def boundary(id, attached, definition, interrupting=True):
    return node("boundaryEvent", id, definition, 'attachedToRef="%s"%s' % (
        attached, "" if interrupting else ' cancelActivity="false"'))


# --- talking to the services --------------------------------------------------------------

def deploy(srv, xml):
    """POST /processes + publish; returns the Process Design id."""
    r = srv.req("POST", D, "/processes", body=xml.encode(),
                headers={"Content-Type": "application/xml"})
    p = assert_json(r, 201)
    assert_json(srv.req("POST", D, "/processes/%s/publish" % p["id"]), 201)
    return p["id"]


def new_pid(tag):
    return unique_name(tag).replace("-", "_")


def deploy_model(srv, tag, body, top="", process_ext=""):
    """Deploys a process with a fresh BPMN id; returns (design id, bpmn id)."""
    pid = new_pid(tag)
    return deploy(srv, definitions(pid, body, top, process_ext)), pid


def start(srv, prc, variables=None, status=201, headers=None, **extra):
    body = {"processId": prc}
    if variables is not None:
        body["variables"] = variables
    body.update(extra)
    r = srv.req("POST", E, "/executions", body=body, headers=headers)
    inst = assert_json(r, status)
    if status == 201:
        assert r.headers.get("location") == "/executions/" + inst["id"], (r.headers, inst)
        assert inst["id"].startswith("exe_"), inst
    return inst


def inst(srv, exe):
    return assert_json(srv.get(E, "/executions/" + exe))


def wait_state(srv, exe, state, timeout=5.0):
    return wait_until(lambda: (lambda i: i if i["state"] == state else None)(inst(srv, exe)),
                      timeout=timeout, what="%s %s" % (exe, state))


def active(instance, element):
    """The activeElements entry of `element`, or None."""
    return next((x for x in instance["activeElements"] if x["elementId"] == element), None)


def wait_active(srv, exe, element, waiting_for, timeout=5.0):
    def ok():
        x = active(inst(srv, exe), element)
        return x if x and x.get("waitingFor") == waiting_for else None
    return wait_until(ok, timeout=timeout, what="%s waiting at %s for %s" % (exe, element, waiting_for))


def history(srv, exe):
    items, cursor = [], None
    while True:
        q = "/executions/%s/history?limit=500" % exe + ("&cursor=" + cursor if cursor else "")
        j = assert_json(srv.get(E, q))
        items += j["items"]
        cursor = j.get("nextCursor")
        if not cursor:
            return items


def steps(srv, exe):
    """[(type, elementId)] of the element entries, oldest first (the process itself and
    sequence flows aside, should the engine record them)."""
    return [(h["type"], h["elementId"]) for h in history(srv, exe)
            if h["type"] in ("element.entered", "element.left")
            and h.get("elementType") not in ("process", "sequenceFlow")]


def entered(srv, exe):
    return [e for t, e in steps(srv, exe) if t == "element.entered"]


def before(seq, x, y):
    """x occurs in seq, and before y (first occurrences)."""
    assert x in seq and y in seq, (x, y, seq)
    assert seq.index(x) < seq.index(y), "%s should come before %s in %s" % (x, y, seq)


def jobs(srv, exe, state="activatable"):
    q = "/jobs?executionId=%s&limit=500" % exe + ("&state=" + state if state else "")
    return assert_json(srv.get(E, q))["items"]


def wait_job(srv, exe, element, timeout=5.0):
    return wait_until(lambda: next((j for j in jobs(srv, exe) if j["elementId"] == element), None),
                      timeout=timeout, what="an activatable job of %s at %s" % (exe, element))


def complete(srv, job_id, variables=None, status=200):
    """status: 200 (answers the job), 409, or "gone" (404 or 409: a job withdrawn)."""
    body = {} if variables is None else {"variables": variables}
    r = srv.req("POST", E, "/jobs/%s/complete" % job_id, body=body)
    if status == 200:
        return assert_json(r)
    if status == "gone":
        assert r.status in (404, 409), "completing %s: expected 404/409, got %r" % (job_id, r)
    else:
        assert_problem(r, status)
    return r


def fail(srv, exe, job_id, **body):
    """POST /jobs/{id}/fail; returns the job (the answer, or as GET /jobs lists it)."""
    r = srv.req("POST", E, "/jobs/%s/fail" % job_id, body=body)
    assert r.status in (200, 204), "failing %s: %r" % (job_id, r)
    if r.status == 200 and isinstance(r.json, dict) and "retries" in r.json:
        return r.json
    return job_by_id(srv, exe, job_id)


def all_jobs(srv, exe):
    """Every job of the instance, whatever its state."""
    return [j for st in ("activatable", "failed", "completed") for j in jobs(srv, exe, st)]


def job_by_id(srv, exe, job_id):
    """The job as GET /jobs lists it, or None (a job that threw an error may be gone)."""
    return next((j for j in all_jobs(srv, exe) if j["id"] == job_id), None)


def send(srv, name, key=None, variables=None):
    body = {"name": name}
    if key is not None:
        body["correlationKey"] = key
    if variables is not None:
        body["variables"] = variables
    return srv.req("POST", E, "/messages", body=body)


def assert_not_correlated(r):
    """404 urn:flowmaster:problem:message-not-correlated (docs/execution.md, POST /messages)."""
    assert r.status == 404 and r.json and r.json.get("type") == NOT_CORRELATED, r
    return assert_problem(r, 404, title=r.json.get("title"))


def incidents(srv, exe, state=None):
    q = "/incidents?executionId=%s" % exe + ("&state=" + state if state else "")
    return assert_json(srv.get(E, q))["items"]


def executions_of(srv, prc):
    return assert_json(srv.get(E, "/executions?processId=%s&limit=500" % prc))["items"]


def finished(i):
    assert i["state"] == "completed", i
    assert i["endedAt"] and i["activeElements"] == [] and i["incidents"] == 0, i
    return i


# --- start events ---------------------------------------------------------------------------

def test_none_start_tasks_pass_through_and_none_end(srv):
    body = (node("startEvent", "start") + node("task", "t") + node("manualTask", "m") +
            node("intermediateThrowEvent", "thr") + node("endEvent", "end") +
            chain("start", "t", "m", "thr", "end"))
    prc, pid = deploy_model(srv, "none", body)
    i = start(srv, prc, {"amount": 120}, businessKey="A-17")
    # no wait state: the answer is the instance after it ran to its end
    finished(i)
    assert i["processId"] == prc and i["bpmnProcessId"] == pid and i["version"] == 1, i
    assert i["businessKey"] == "A-17" and i["parentId"] is None, i
    assert i["variables"] == {"amount": 120}, i
    assert inst(srv, i["id"]) == i
    want = []
    for e in ["start", "t", "m", "thr", "end"]:
        want += [("element.entered", e), ("element.left", e)]
    assert steps(srv, i["id"]) == want, steps(srv, i["id"])
    h = history(srv, i["id"])
    assert h[0]["type"] == "instance.started" and h[-1]["type"] == "instance.completed", h
    assert [x["seq"] for x in h] == sorted(x["seq"] for x in h), h
    types = {x["elementId"]: x["elementType"] for x in h if x["type"] == "element.entered"}
    assert types == {"start": "startEvent", "t": "task", "m": "manualTask",
                     "thr": "intermediateThrowEvent", "end": "endEvent"}, types
    # the list: found by processId, without variables
    items = executions_of(srv, prc)
    assert [x["id"] for x in items] == [i["id"]] and "variables" not in items[0], items
    # the BPMN process id works as processId too
    j = start(srv, pid, {"amount": 1})
    finished(j)
    assert j["processId"] == prc and j["id"] != i["id"], j


def test_message_start_latest_version(srv):
    name = unique_name("order-placed")
    pid = new_pid("msgstart")
    top = message("m_start", name, key=None)
    body = (node("startEvent", "start", msgdef("m_start")) + node("task", "v1") +
            node("endEvent", "end") + chain("start", "v1", "end"))
    prc = deploy(srv, definitions(pid, body, top))
    # the engine learns of the version through the bus: until then nobody takes the
    # message (a 404 changes nothing, so asking again is safe)
    r = wait_until(lambda: (lambda r: r if r.status != 404 else None)(
        send(srv, name, variables={"orderId": "A1"})), what="the message start deployed")
    m = assert_json(r)
    assert m["started"] is True and m["elementId"] == "start", m
    i = wait_state(srv, m["executionId"], "completed")
    assert i["processId"] == prc and i["version"] == 1 and i["variables"] == {"orderId": "A1"}, i
    assert entered(srv, i["id"]) == ["start", "v1", "end"]
    # version 2 (another task): the next message starts the latest version
    body2 = body.replace('"v1"', '"v2"').replace("_v1", "_v2")
    r = srv.req("PUT", D, "/processes/" + prc, body=definitions(pid, body2, top).encode(),
                headers={"Content-Type": "application/xml"})
    assert_json(r)
    assert_json(srv.req("POST", D, "/processes/%s/publish" % prc), 201)
    # once the engine has seen version 2 (the bus again), messages start it and only it
    def started_v2():
        m2 = assert_json(send(srv, name, variables={"orderId": "A2"}))
        assert m2["started"] is True and m2["executionId"] != m["executionId"], m2
        return inst(srv, m2["executionId"])["version"] == 2
    wait_until(started_v2, what="a message starting version 2")
    for _ in range(3):
        m3 = assert_json(send(srv, name, variables={"orderId": "A3"}))
        i3 = wait_state(srv, m3["executionId"], "completed")
        assert i3["version"] == 2 and entered(srv, i3["id"]) == ["start", "v2", "end"], i3
        assert i3["variables"] == {"orderId": "A3"}, i3


def test_timer_start_events(srv):
    """timeDuration: one instance that long after publish; timeCycle R2/…: two;
    timeDate: one at that instant."""
    def timed(tag, kind, value):
        body = (node("startEvent", "start", timer(kind, value)) + node("endEvent", "end") +
                chain("start", "end"))
        return deploy_model(srv, tag, body)[0]
    due = (datetime.now(timezone.utc) + timedelta(seconds=1.2)).replace(microsecond=0)
    t0 = time.monotonic()
    dur = timed("tdur", "timeDuration", "PT0.3S")
    cyc = timed("tcyc", "timeCycle", "R2/PT0.3S")
    dat = timed("tdat", "timeDate", due.strftime("%Y-%m-%dT%H:%M:%SZ"))

    def counts():
        return [len([x for x in executions_of(srv, p) if x["state"] == "completed"])
                for p in (dur, cyc, dat)]
    wait_until(lambda: counts() == [1, 2, 1], timeout=6, what="timer-started instances")
    assert time.monotonic() - t0 >= 0.55, "two cycles of 0.3 s took less than 0.6 s"
    time.sleep(0.5)      # nothing more: R2 means two, a duration or a date fires once
    assert counts() == [1, 2, 1], counts()
    for p in (dur, cyc, dat):
        for x in executions_of(srv, p):
            assert entered(srv, x["id"]) == ["start", "end"], x


# --- end events -------------------------------------------------------------------------

def test_terminate_end(srv):
    # top level: the other branch (a job) is ended, the instance completes
    body = (node("startEvent", "start") + node("parallelGateway", "fork") +
            job("wait", unique_name("term")) + node("endEvent", "end_a") +
            node("endEvent", "term", "<terminateEventDefinition/>") +
            chain("start", "fork", "wait", "end_a") + flow("fork", "term"))
    prc, _ = deploy_model(srv, "term", body)
    i = start(srv, prc, {})
    finished(i)
    e = entered(srv, i["id"])
    assert "term" in e and "end_a" not in e, e
    assert jobs(srv, i["id"]) == [], "terminate left a job activatable"
    # in a subprocess: only its scope ends, the parent goes on
    sub = (node("startEvent", "s_start") + node("parallelGateway", "s_fork") +
           job("s_wait", unique_name("term-sub")) + node("endEvent", "s_end") +
           node("endEvent", "s_term", "<terminateEventDefinition/>") +
           chain("s_start", "s_fork", "s_wait", "s_end") + flow("s_fork", "s_term"))
    body = (node("startEvent", "start") + node("subProcess", "sub", sub) + node("task", "after") +
            node("endEvent", "end") + chain("start", "sub", "after", "end"))
    prc, _ = deploy_model(srv, "termsub", body)
    i = wait_state(srv, start(srv, prc, {})["id"], "completed")
    e = entered(srv, i["id"])
    assert "s_term" in e and "s_end" not in e, e
    before(e, "s_term", "after")
    assert e[-2:] == ["after", "end"], e
    assert jobs(srv, i["id"]) == []


def test_error_end_caught_by_boundary_and_uncaught(srv):
    code = unique_name("E")
    top = error("err", code)
    sub = (node("startEvent", "s_start") + node("endEvent", "s_err", errdef("err")) +
           chain("s_start", "s_err"))
    body = (node("startEvent", "start") + node("subProcess", "sub", sub) +
            boundary("caught", "sub", errdef("err")) + node("task", "after") +
            node("task", "handled") + node("endEvent", "end") + node("endEvent", "end_h") +
            chain("start", "sub", "after", "end") + chain("caught", "handled", "end_h"))
    prc, _ = deploy_model(srv, "errend", body, top)
    i = wait_state(srv, start(srv, prc, {"x": 1})["id"], "completed")
    assert entered(srv, i["id"]) == ["start", "sub", "s_start", "s_err", "caught", "handled",
                                     "end_h"], entered(srv, i["id"])
    assert i["variables"] == {"x": 1}, i
    # nobody catches it: the instance fails
    body = (node("startEvent", "start") + node("endEvent", "boom", errdef("err")) +
            chain("start", "boom"))
    prc, _ = deploy_model(srv, "errend2", body, top)
    i = wait_state(srv, start(srv, prc, {})["id"], "failed")
    assert i["endedAt"] and i["activeElements"] == [], i
    assert entered(srv, i["id"]) == ["start", "boom"]
    assert history(srv, i["id"])[-1]["type"] == "instance.failed"


def test_escalation_end_caught_by_boundary_and_uncaught(srv):
    top = escalation("esc", unique_name("X"))
    sub = (node("startEvent", "s_start") + node("endEvent", "s_esc", escdef("esc")) +
           chain("s_start", "s_esc"))
    body = (node("startEvent", "start") + node("subProcess", "sub", sub) +
            boundary("on_esc", "sub", escdef("esc")) + node("task", "after") +
            node("task", "escalated") + node("endEvent", "end") + node("endEvent", "end_e") +
            chain("start", "sub", "after", "end") + chain("on_esc", "escalated", "end_e"))
    prc, _ = deploy_model(srv, "escend", body, top)
    i = wait_state(srv, start(srv, prc, {})["id"], "completed")
    e = entered(srv, i["id"])
    assert e == ["start", "sub", "s_start", "s_esc", "on_esc", "escalated", "end_e"], e
    # not caught: an escalation is no error, the instance just ends
    body = (node("startEvent", "start") + node("endEvent", "up", escdef("esc")) +
            chain("start", "up"))
    prc, _ = deploy_model(srv, "escend2", body, top)
    i = wait_state(srv, start(srv, prc, {})["id"], "completed")
    assert entered(srv, i["id"]) == ["start", "up"]


# --- gateways -------------------------------------------------------------------------------

def test_exclusive_first_true_flow_then_default(srv):
    body = (node("startEvent", "start") +
            node("exclusiveGateway", "gw", attrs='default="%s"' % fid("gw", "c")) +
            node("task", "a") + node("task", "b") + node("task", "c") + node("endEvent", "end") +
            flow("start", "gw") + flow("gw", "a", "=x > 10") + flow("gw", "b", "=x > 5") +
            flow("gw", "c") + chain("a", "end") + chain("b", "end") + chain("c", "end"))
    prc, _ = deploy_model(srv, "xor", body)
    for x, via in ((20, "a"), (7, "b"), (1, "c")):
        i = finished(start(srv, prc, {"x": x}))
        assert entered(srv, i["id"]) == ["start", "gw", via, "end"], (x, entered(srv, i["id"]))
        assert i["variables"] == {"x": x}, i


def test_exclusive_no_match_incident_then_fix_and_resolve(srv):
    body = (node("startEvent", "start") + node("exclusiveGateway", "gw") +
            node("task", "a") + node("task", "b") + node("endEvent", "end") +
            flow("start", "gw") + flow("gw", "a", "=x > 10") + flow("gw", "b", "=x < 0") +
            chain("a", "end") + chain("b", "end"))
    prc, _ = deploy_model(srv, "xorinc", body)
    i = start(srv, prc, {"x": 5})
    assert i["state"] == "active" and i["incidents"] == 1, i
    w = active(i, "gw")
    assert w and w["waitingFor"] == "incident" and w["incidentId"].startswith("inc_"), i
    incs = incidents(srv, i["id"])
    assert len(incs) == 1, incs
    inc = incs[0]
    assert inc["id"] == w["incidentId"] and inc["elementId"] == "gw", inc
    assert inc["type"] == "condition" and inc["state"] == "open" and inc["resolvedAt"] is None, inc
    assert inc["executionId"] == i["id"] and inc["message"], inc
    v = assert_json(srv.req("PUT", E, "/executions/%s/variables" % i["id"],
                            body={"variables": {"x": 11, "note": "fixed"}}))
    assert v["variables"] == {"x": 11, "note": "fixed"}, v
    res = assert_json(srv.req("PUT", E, "/incidents/%s/resolve" % inc["id"]))
    assert res["state"] == "resolved" and res["resolvedAt"], res
    i = wait_state(srv, i["id"], "completed")
    assert entered(srv, i["id"]) == ["start", "gw", "gw", "a", "end"] or \
        entered(srv, i["id"]) == ["start", "gw", "a", "end"], entered(srv, i["id"])
    assert i["incidents"] == 0 and i["variables"] == {"x": 11, "note": "fixed"}, i
    assert incidents(srv, i["id"], "open") == []
    assert [x["id"] for x in incidents(srv, i["id"], "resolved")] == [inc["id"]]
    assert_problem(srv.req("PUT", E, "/incidents/%s/resolve" % inc["id"]), 409)
    types = [h["type"] for h in history(srv, i["id"])]
    before(types, "incident.created", "incident.resolved")
    # an ended instance takes no variables
    assert_problem(srv.req("PUT", E, "/executions/%s/variables" % i["id"],
                           body={"variables": {"x": 1}}), 409)


def test_parallel_fork_and_join(srv):
    ta, tb = unique_name("par-a"), unique_name("par-b")
    body = (node("startEvent", "start") + node("parallelGateway", "fork") +
            job("ja", ta) + job("jb", tb) + node("parallelGateway", "join") +
            script("after", '="joined"', "done") + node("endEvent", "end") +
            chain("start", "fork", "ja", "join", "after", "end") + chain("fork", "jb", "join"))
    prc, _ = deploy_model(srv, "par", body)
    i = start(srv, prc, {})
    assert i["state"] == "active", i
    got = sorted(j["elementId"] for j in jobs(srv, i["id"]))
    assert got == ["ja", "jb"], got
    complete(srv, wait_job(srv, i["id"], "ja")["id"], {"a": 1})
    wait_active(srv, i["id"], "join", "join")
    j = inst(srv, i["id"])
    assert "after" not in entered(srv, i["id"]) and active(j, "jb")["waitingFor"] == "job", j
    complete(srv, wait_job(srv, i["id"], "jb")["id"], {"b": 2})
    i = wait_state(srv, i["id"], "completed")
    assert i["variables"] == {"a": 1, "b": 2, "done": "joined"}, i
    e = entered(srv, i["id"])
    assert e.count("after") == 1 and e.count("end") == 1 and e.count("fork") == 1, e
    before(e, "ja", "after")
    before(e, "jb", "after")
    assert e[-2:] == ["after", "end"], e


def test_inclusive_fork_and_join(srv):
    body = (node("startEvent", "start") +
            node("inclusiveGateway", "fork", attrs='default="%s"' % fid("fork", "c")) +
            node("task", "a") + node("task", "b") + node("task", "c") +
            node("inclusiveGateway", "join") + node("task", "after") + node("endEvent", "end") +
            flow("start", "fork") + flow("fork", "a", "=ga") + flow("fork", "b", "=gb") +
            flow("fork", "c") + chain("a", "join") + chain("b", "join") + chain("c", "join") +
            chain("join", "after", "end"))
    prc, _ = deploy_model(srv, "or", body)
    for ga, gb, taken in ((True, True, {"a", "b"}), (True, False, {"a"}),
                          (False, True, {"b"}), (False, False, {"c"})):
        i = wait_state(srv, start(srv, prc, {"ga": ga, "gb": gb})["id"], "completed")
        e = entered(srv, i["id"])
        assert {x for x in e if x in ("a", "b", "c")} == taken, (ga, gb, e)
        assert e.count("after") == 1 and e[-2:] == ["after", "end"], (ga, gb, e)
        assert e[:2] == ["start", "fork"], e
    # a flow without a condition is always taken, and the default then is not
    body = (node("startEvent", "start") +
            node("inclusiveGateway", "fork", attrs='default="%s"' % fid("fork", "c")) +
            node("task", "a") + node("task", "u") + node("task", "c") +
            node("inclusiveGateway", "join") + node("endEvent", "end") +
            flow("start", "fork") + flow("fork", "a", "=ga") + flow("fork", "u") +
            flow("fork", "c") + chain("a", "join") + chain("u", "join") + chain("c", "join") +
            chain("join", "end"))
    prc, _ = deploy_model(srv, "or2", body)
    i = wait_state(srv, start(srv, prc, {"ga": False})["id"], "completed")
    e = entered(srv, i["id"])
    assert "u" in e and "c" not in e and "a" not in e and e.count("end") == 1, e


def test_inclusive_join_waits_for_a_token_that_can_still_arrive(srv):
    body = (node("startEvent", "start") + node("inclusiveGateway", "fork") +
            job("slow", unique_name("or-slow")) + node("task", "fast") +
            node("inclusiveGateway", "join") + node("task", "after") + node("endEvent", "end") +
            chain("start", "fork", "slow", "join") + chain("fork", "fast", "join") +
            chain("join", "after", "end"))
    prc, _ = deploy_model(srv, "orwait", body)
    i = start(srv, prc, {})
    assert i["state"] == "active", i
    wait_active(srv, i["id"], "join", "join")
    w = inst(srv, i["id"])
    assert active(w, "slow")["waitingFor"] == "job", w
    assert "after" not in entered(srv, i["id"])
    complete(srv, wait_job(srv, i["id"], "slow")["id"])
    i = wait_state(srv, i["id"], "completed")
    e = entered(srv, i["id"])
    assert e.count("after") == 1 and e[-2:] == ["after", "end"], e


def test_inclusive_join_does_not_wait_for_a_branch_that_ended_before_it(srv):
    body = (node("startEvent", "start") + node("inclusiveGateway", "fork") +
            node("task", "a") + job("side", unique_name("or-side")) + node("endEvent", "end_b") +
            node("inclusiveGateway", "join") + node("task", "after") + node("endEvent", "end") +
            chain("start", "fork", "a", "join", "after", "end") + chain("fork", "side", "end_b"))
    prc, _ = deploy_model(srv, "orend", body)
    i = start(srv, prc, {})
    # the side branch can never reach the join: the join fired at once
    i = wait_until(lambda: (lambda x: x if "after" in entered(srv, x["id"]) else None)(
        inst(srv, i["id"])), what="the join firing while the side job waits")
    assert i["state"] == "active" and active(i, "side")["waitingFor"] == "job", i
    assert active(i, "join") is None, i
    complete(srv, wait_job(srv, i["id"], "side")["id"], {"s": 1})
    i = wait_state(srv, i["id"], "completed")
    e = entered(srv, i["id"])
    assert e.count("after") == 1 and e.count("join") == 1 and "end_b" in e, e
    assert i["variables"] == {"s": 1}, i


def evgw_model(srv, name, dur):
    top = message("m_ev", name)
    body = (node("startEvent", "start") + node("eventBasedGateway", "gw") +
            node("intermediateCatchEvent", "catch_msg", msgdef("m_ev")) +
            node("intermediateCatchEvent", "catch_timer", timer("timeDuration", dur)) +
            node("endEvent", "end_m") + node("endEvent", "end_t") +
            chain("start", "gw", "catch_msg", "end_m") + chain("gw", "catch_timer", "end_t"))
    return deploy_model(srv, "evgw", body, top)[0]


def test_event_based_gateway_message_wins(srv):
    name = unique_name("paid")
    prc = evgw_model(srv, name, "PT0.6S")
    i = start(srv, prc, {"orderId": "O-1"})
    w = active(i, "gw")
    assert i["state"] == "active" and w and w["waitingFor"] == "event", i
    m = assert_json(send(srv, name, "O-1", {"paid": True}))
    assert m["executionId"] == i["id"] and m["elementId"] == "catch_msg" and m["started"] is False, m
    i = wait_state(srv, i["id"], "completed")
    assert i["variables"] == {"orderId": "O-1", "paid": True}, i
    time.sleep(0.7)     # past the timer: it was withdrawn and never fires
    assert entered(srv, i["id"]) == ["start", "gw", "catch_msg", "end_m"], entered(srv, i["id"])


def test_event_based_gateway_timer_wins(srv):
    name = unique_name("paid")
    prc = evgw_model(srv, name, "PT0.3S")
    i = start(srv, prc, {"orderId": "O-2"})
    assert active(i, "gw")["waitingFor"] == "event", i
    i = wait_state(srv, i["id"], "completed")
    assert entered(srv, i["id"]) == ["start", "gw", "catch_timer", "end_t"], entered(srv, i["id"])
    # the message subscription went with the gateway
    assert_not_correlated(send(srv, name, "O-2", {"paid": True}))
    assert inst(srv, i["id"])["variables"] == {"orderId": "O-2"}


# --- subprocesses ---------------------------------------------------------------------------

def test_embedded_subprocess(srv):
    sub = (node("startEvent", "s_start") + script("inner", "=x + 1", "y") +
           node("endEvent", "s_end") + chain("s_start", "inner", "s_end"))
    body = (node("startEvent", "start") + node("subProcess", "sub", sub) +
            script("after", "=y * 10", "z") + node("endEvent", "end") +
            chain("start", "sub", "after", "end"))
    prc, _ = deploy_model(srv, "sub", body)
    i = wait_state(srv, start(srv, prc, {"x": 1})["id"], "completed")
    assert steps(srv, i["id"]) == [
        ("element.entered", "start"), ("element.left", "start"),
        ("element.entered", "sub"),
        ("element.entered", "s_start"), ("element.left", "s_start"),
        ("element.entered", "inner"), ("element.left", "inner"),
        ("element.entered", "s_end"), ("element.left", "s_end"),
        ("element.left", "sub"),
        ("element.entered", "after"), ("element.left", "after"),
        ("element.entered", "end"), ("element.left", "end")], steps(srv, i["id"])
    assert i["variables"] == {"x": 1, "y": 2, "z": 20}, i


def test_event_subprocess_interrupting_message(srv):
    name = unique_name("cancel-order")
    top = message("m_cancel", name)
    evsub = (node("startEvent", "ev_start", msgdef("m_cancel")) +
             script("handled", '="cancelled by " + who', "outcome") + node("endEvent", "ev_end") +
             chain("ev_start", "handled", "ev_end"))
    body = (node("startEvent", "start") + job("work", unique_name("evsub-msg")) +
            node("endEvent", "end") + chain("start", "work", "end") +
            node("subProcess", "ev", evsub, 'triggeredByEvent="true"'))
    prc, _ = deploy_model(srv, "evmsg", body, top)
    i = start(srv, prc, {"orderId": "C-1"})
    jb = wait_job(srv, i["id"], "work")
    m = assert_json(send(srv, name, "C-1", {"who": "alice"}))
    assert m["executionId"] == i["id"] and m["elementId"] == "ev_start", m
    i = wait_state(srv, i["id"], "completed")
    assert i["variables"] == {"orderId": "C-1", "who": "alice", "outcome": "cancelled by alice"}, i
    e = entered(srv, i["id"])
    assert "end" not in e and e[-4:] == ["ev", "ev_start", "handled", "ev_end"], e
    # the interrupted job is gone
    complete(srv, jb["id"], status="gone")
    assert jobs(srv, i["id"]) == []


def test_event_subprocess_non_interrupting_timer(srv):
    evsub = (node("startEvent", "ev_start", timer("timeDuration", "PT0.3S"),
                  'isInterrupting="false"') +
             script("mark", '="fired"', "flag") + node("endEvent", "ev_end") +
             chain("ev_start", "mark", "ev_end"))
    body = (node("startEvent", "start") + job("work", unique_name("evsub-timer")) +
            node("endEvent", "end") + chain("start", "work", "end") +
            node("subProcess", "ev", evsub, 'triggeredByEvent="true"'))
    prc, _ = deploy_model(srv, "evtimer", body)
    i = start(srv, prc, {})
    jb = wait_job(srv, i["id"], "work")
    i = wait_until(lambda: (lambda x: x if x["variables"].get("flag") == "fired" else None)(
        inst(srv, i["id"])), what="the event subprocess's timer")
    assert i["state"] == "active" and active(i, "work")["waitingFor"] == "job", i
    complete(srv, jb["id"], {"worked": True})
    i = wait_state(srv, i["id"], "completed")
    assert i["variables"] == {"flag": "fired", "worked": True}, i
    e = entered(srv, i["id"])
    assert e.count("ev_start") == 1 and "end" in e and "ev_end" in e, e
    before(e, "mark", "end")


def test_event_subprocess_non_interrupting_message(srv):
    name = unique_name("note")
    top = message("m_note", name)
    evsub = (node("startEvent", "ev_start", msgdef("m_note"), 'isInterrupting="false"') +
             script("count", "=hits + 1", "hits") + node("endEvent", "ev_end") +
             chain("ev_start", "count", "ev_end"))
    body = (node("startEvent", "start") + job("work", unique_name("evsub-nimsg")) +
            node("endEvent", "end") + chain("start", "work", "end") +
            node("subProcess", "ev", evsub, 'triggeredByEvent="true"'))
    prc, _ = deploy_model(srv, "evnimsg", body, top)
    i = start(srv, prc, {"orderId": "N-1", "hits": 0})
    jb = wait_job(srv, i["id"], "work")
    for n in (1, 2):     # the scope is still active: it can be triggered again
        m = assert_json(send(srv, name, "N-1", {"last": n}))
        assert m["executionId"] == i["id"] and m["elementId"] == "ev_start", m
        wait_until(lambda: inst(srv, i["id"])["variables"]["hits"] == n, what="handler run %d" % n)
    x = inst(srv, i["id"])
    assert x["state"] == "active" and active(x, "work")["waitingFor"] == "job", x
    complete(srv, jb["id"])
    i = wait_state(srv, i["id"], "completed")
    assert i["variables"] == {"orderId": "N-1", "hits": 2, "last": 2}, i
    e = entered(srv, i["id"])
    assert e.count("ev_start") == 2 and e.count("count") == 2 and e[-1] == "end", e
    # the subscription ended with its scope
    assert_not_correlated(send(srv, name, "N-1"))


def test_event_subprocess_escalation_start(srv):
    top = escalation("esc", unique_name("LATE"))
    evsub = (node("startEvent", "ev_start", escdef("esc"), 'isInterrupting="false"') +
             script("tell", '="told"', "told") + node("endEvent", "ev_end") +
             chain("ev_start", "tell", "ev_end"))
    sub = (node("startEvent", "s_start") + node("intermediateThrowEvent", "s_raise", escdef("esc")) +
           node("endEvent", "s_end") + chain("s_start", "s_raise", "s_end"))
    body = (node("startEvent", "start") + node("subProcess", "sub", sub) + node("task", "after") +
            node("endEvent", "end") + chain("start", "sub", "after", "end") +
            node("subProcess", "ev", evsub, 'triggeredByEvent="true"'))
    prc, _ = deploy_model(srv, "evesc", body, top)
    i = wait_state(srv, start(srv, prc, {})["id"], "completed")
    e = entered(srv, i["id"])
    before(e, "s_raise", "ev_start")
    assert e.count("tell") == 1 and "after" in e and "end" in e and "s_end" in e, e
    assert i["variables"] == {"told": "told"}, i


def test_event_subprocess_error(srv):
    code = unique_name("E")
    top = error("err", code)
    evsub = (node("startEvent", "ev_start", errdef("err")) + script("recover", '="recovered"', "r") +
             node("endEvent", "ev_end") + chain("ev_start", "recover", "ev_end"))
    body = (node("startEvent", "start") + job("risky", unique_name("evsub-err")) +
            node("endEvent", "end") + chain("start", "risky", "end") +
            node("subProcess", "ev", evsub, 'triggeredByEvent="true"'))
    prc, _ = deploy_model(srv, "everr", body, top)
    i = start(srv, prc, {})
    jb = wait_job(srv, i["id"], "risky")
    fail(srv, i["id"], jb["id"], errorCode=code, errorMessage="no stock")
    i = wait_state(srv, i["id"], "completed")
    assert i["variables"] == {"r": "recovered"}, i
    e = entered(srv, i["id"])
    assert e == ["start", "risky", "ev", "ev_start", "recover", "ev_end"], e


def test_event_subprocess_in_subprocess_interrupting_timer(srv):
    evsub = (node("startEvent", "ev_start", timer("timeDuration", "PT0.3S")) +
             script("timeout", '="timed out"', "result") + node("endEvent", "ev_end") +
             chain("ev_start", "timeout", "ev_end"))
    sub = (node("startEvent", "s_start") + job("s_work", unique_name("evsub-sub")) +
           node("endEvent", "s_end") + chain("s_start", "s_work", "s_end") +
           node("subProcess", "ev", evsub, 'triggeredByEvent="true"'))
    body = (node("startEvent", "start") + node("subProcess", "sub", sub) + node("task", "after") +
            node("endEvent", "end") + chain("start", "sub", "after", "end"))
    prc, _ = deploy_model(srv, "evinsub", body)
    i = start(srv, prc, {})
    wait_job(srv, i["id"], "s_work")
    i = wait_state(srv, i["id"], "completed")
    e = entered(srv, i["id"])
    assert "s_end" not in e and e[-5:] == ["ev_start", "timeout", "ev_end", "after", "end"], e
    assert i["variables"] == {"result": "timed out"}, i
    assert jobs(srv, i["id"]) == []


# --- call activities -------------------------------------------------------------------------

def child_model(srv, tag, job_type=None):
    """A child process: doubles x into y (then waits for a job when job_type is given)."""
    body = node("startEvent", "c_start") + script("double", "=x * 2", "y")
    if job_type:
        body += job("c_work", job_type) + chain("c_start", "double", "c_work", "c_end")
    else:
        body += chain("c_start", "double", "c_end")
    return deploy_model(srv, tag, body + node("endEvent", "c_end"))


def test_call_activity_with_io_mappings(srv):
    cprc, cpid = child_model(srv, "child", unique_name("child-work"))
    io = ('<zeebe:ioMapping><zeebe:input source="=a" target="x"/>'
          '<zeebe:output source="=y" target="b"/></zeebe:ioMapping>')
    body = (node("startEvent", "start") +
            node("callActivity", "call", "<extensionElements>%s</extensionElements>" % io,
                 'calledElement="%s"' % cpid) +
            node("endEvent", "end") + chain("start", "call", "end"))
    prc, _ = deploy_model(srv, "parent", body)
    p = start(srv, prc, {"a": 21, "secret": "s"})
    w = wait_active(srv, p["id"], "call", "call")
    child = inst(srv, w["childId"])
    assert child["parentId"] == p["id"] and child["processId"] == cprc, child
    assert child["state"] == "active" and child["variables"] == {"x": 21, "y": 42}, child
    assert [x["id"] for x in executions_of(srv, cprc)] == [child["id"]]
    complete(srv, wait_job(srv, child["id"], "c_work")["id"], {"z": 1})
    child = wait_state(srv, child["id"], "completed")
    assert child["variables"] == {"x": 21, "y": 42, "z": 1}, child
    p = wait_state(srv, p["id"], "completed")
    assert p["variables"] == {"a": 21, "secret": "s", "b": 42}, p
    assert entered(srv, p["id"]) == ["start", "call", "end"]
    assert entered(srv, child["id"]) == ["c_start", "double", "c_work", "c_end"]


def test_call_activity_without_mappings_by_design_id(srv):
    cprc, _ = child_model(srv, "child2")
    body = (node("startEvent", "start") + node("callActivity", "call", "", 'calledElement="%s"' % cprc)
            + node("endEvent", "end") + chain("start", "call", "end"))
    prc, _ = deploy_model(srv, "parent2", body)
    p = wait_state(srv, start(srv, prc, {"x": 5, "keep": True})["id"], "completed")
    # all parent variables went in, all child variables came back
    assert p["variables"] == {"x": 5, "keep": True, "y": 10}, p
    kids = executions_of(srv, cprc)
    assert len(kids) == 1 and kids[0]["parentId"] == p["id"], kids
    c = inst(srv, kids[0]["id"])
    assert c["state"] == "completed" and c["variables"] == {"x": 5, "keep": True, "y": 10}, c


def test_call_activity_child_error_and_unknown_process(srv):
    code = unique_name("CE")
    cbody = (node("startEvent", "c_start") + node("endEvent", "c_err", errdef("cerr")) +
             chain("c_start", "c_err"))
    cprc, cpid = deploy_model(srv, "childerr", cbody, error("cerr", code))
    body = (node("startEvent", "start") + node("callActivity", "call", "", 'calledElement="%s"' % cpid)
            + boundary("on_err", "call", errdef("perr")) + node("task", "recover") +
            node("endEvent", "end") + node("endEvent", "end_r") +
            chain("start", "call", "end") + chain("on_err", "recover", "end_r"))
    prc, _ = deploy_model(srv, "parenterr", body, error("perr", code))
    p = wait_state(srv, start(srv, prc, {})["id"], "completed")
    assert entered(srv, p["id"]) == ["start", "call", "on_err", "recover", "end_r"], \
        entered(srv, p["id"])
    # an unknown called process: an incident of type call on the call activity
    body = (node("startEvent", "start") +
            node("callActivity", "call", "", 'calledElement="%s"' % new_pid("nobody")) +
            node("endEvent", "end") + chain("start", "call", "end"))
    prc, _ = deploy_model(srv, "parentunk", body)
    p = start(srv, prc, {})
    w = wait_active(srv, p["id"], "call", "incident")
    inc = incidents(srv, p["id"])
    assert [(x["type"], x["elementId"], x["id"]) for x in inc] == [("call", "call", w["incidentId"])], inc
    assert inst(srv, p["id"])["state"] == "active"


# --- boundary events -------------------------------------------------------------------------

def task_of(srv, tid):
    return assert_json(srv.get(T, "/tasks/" + tid))


def test_boundary_timer_interrupting_on_user_task(srv):
    body = (node("startEvent", "start") + user("review") +
            boundary("late", "review", timer("timeDuration", "PT0.3S")) +
            node("task", "escalate") + node("endEvent", "end") + node("endEvent", "end_late") +
            chain("start", "review", "end") + chain("late", "escalate", "end_late"))
    prc, _ = deploy_model(srv, "btimer", body)
    i = start(srv, prc, {})
    w = active(i, "review")
    assert w and w["waitingFor"] == "task" and w["taskId"].startswith("task_"), i
    assert task_of(srv, w["taskId"])["status"] == "created"
    i = wait_state(srv, i["id"], "completed")
    assert entered(srv, i["id"]) == ["start", "review", "late", "escalate", "end_late"], \
        entered(srv, i["id"])
    wait_until(lambda: task_of(srv, w["taskId"])["status"] == "cancelled",
               what="the interrupted task cancelled in 9006")


def test_boundary_timer_non_interrupting_cycle_on_user_task(srv):
    body = (node("startEvent", "start") + user("review") +
            boundary("remind", "review", timer("timeCycle", "R2/PT0.2S"), interrupting=False) +
            script("count_up", "=count + 1", "count") + node("endEvent", "end") +
            node("endEvent", "end_r") +
            chain("start", "review", "end") + chain("remind", "count_up", "end_r"))
    prc, _ = deploy_model(srv, "bcycle", body)
    i = start(srv, prc, {"count": 0})
    tid = active(i, "review")["taskId"]
    wait_until(lambda: inst(srv, i["id"])["variables"]["count"] == 2, timeout=5,
               what="two reminders")
    i = inst(srv, i["id"])
    assert i["state"] == "active" and active(i, "review")["taskId"] == tid, i
    assert task_of(srv, tid)["status"] == "created"
    assert_json(srv.req("PUT", T, "/tasks/%s/respond" % tid, body={"response": {"ok": True}}))
    i = wait_state(srv, i["id"], "completed")
    assert i["variables"] == {"count": 2, "ok": True}, i
    e = entered(srv, i["id"])
    assert e.count("remind") == 2 and e.count("count_up") == 2 and e.count("end") == 1, e


def test_boundary_error_on_service_task(srv):
    code = unique_name("NO_FUNDS")
    top = error("nofunds", code)
    body = (node("startEvent", "start") + job("pay", unique_name("pay")) +
            boundary("refused", "pay", errdef("nofunds")) + node("task", "refund") +
            node("endEvent", "end") + node("endEvent", "end_r") +
            chain("start", "pay", "end") + chain("refused", "refund", "end_r"))
    prc, _ = deploy_model(srv, "berr", body, top)
    i = start(srv, prc, {})
    jb = wait_job(srv, i["id"], "pay")
    fail(srv, i["id"], jb["id"], errorCode=code, errorMessage="balance too low")
    i = wait_state(srv, i["id"], "completed")
    assert entered(srv, i["id"]) == ["start", "pay", "refused", "refund", "end_r"], entered(srv, i["id"])
    assert incidents(srv, i["id"]) == []
    # a code nobody catches: the instance fails
    i = start(srv, prc, {})
    jb = wait_job(srv, i["id"], "pay")
    fail(srv, i["id"], jb["id"], errorCode=code + "-other")
    i = wait_state(srv, i["id"], "failed")
    assert "refused" not in entered(srv, i["id"])


def test_boundary_message_on_service_task(srv):
    name = unique_name("abort")
    top = message("m_abort", name)
    body = (node("startEvent", "start") + job("ship", unique_name("ship")) +
            boundary("aborted", "ship", msgdef("m_abort")) + node("task", "undo") +
            node("endEvent", "end") + node("endEvent", "end_a") +
            chain("start", "ship", "end") + chain("aborted", "undo", "end_a"))
    prc, _ = deploy_model(srv, "bmsg", body, top)
    i = start(srv, prc, {"orderId": "S-1"})
    jb = wait_job(srv, i["id"], "ship")
    assert_not_correlated(send(srv, name, "S-2"))
    m = assert_json(send(srv, name, "S-1", {"reason": "customer"}))
    assert m["executionId"] == i["id"] and m["elementId"] == "aborted", m
    i = wait_state(srv, i["id"], "completed")
    assert entered(srv, i["id"]) == ["start", "ship", "aborted", "undo", "end_a"], entered(srv, i["id"])
    assert i["variables"] == {"orderId": "S-1", "reason": "customer"}, i
    complete(srv, jb["id"], status="gone")


def test_boundary_escalation_non_interrupting_on_subprocess(srv):
    top = escalation("esc", unique_name("NEEDS_HELP"))
    sub = (node("startEvent", "s_start") + node("intermediateThrowEvent", "s_raise", escdef("esc")) +
           job("s_work", unique_name("esc-work")) + node("endEvent", "s_end") +
           chain("s_start", "s_raise", "s_work", "s_end"))
    body = (node("startEvent", "start") + node("subProcess", "sub", sub) +
            boundary("helped", "sub", escdef("esc"), interrupting=False) +
            script("notify", '="notified"', "n") + node("task", "after") +
            node("endEvent", "end") + node("endEvent", "end_h") +
            chain("start", "sub", "after", "end") + chain("helped", "notify", "end_h"))
    prc, _ = deploy_model(srv, "besc", body, top)
    i = start(srv, prc, {})
    jb = wait_job(srv, i["id"], "s_work")
    i = wait_until(lambda: (lambda x: x if x["variables"].get("n") == "notified" else None)(
        inst(srv, i["id"])), what="the escalation path")
    assert i["state"] == "active" and active(i, "s_work"), i
    assert "after" not in entered(srv, i["id"])
    complete(srv, jb["id"])
    i = wait_state(srv, i["id"], "completed")
    e = entered(srv, i["id"])
    before(e, "s_raise", "helped")
    before(e, "s_work", "after")
    assert e.count("helped") == 1 and "end_h" in e and e[-2:] == ["after", "end"], e
    assert i["variables"] == {"n": "notified"}, i


# --- intermediate events, receive and send ------------------------------------------------

def test_intermediate_timer_catch(srv):
    body = (node("startEvent", "start") +
            node("intermediateCatchEvent", "wait", timer("timeDuration", "PT0.3S")) +
            node("intermediateCatchEvent", "wait2", timer("timeDuration", "=delay")) +
            node("endEvent", "end") + chain("start", "wait", "wait2", "end"))
    prc, _ = deploy_model(srv, "itimer", body)
    t0 = time.monotonic()
    i = start(srv, prc, {"delay": "PT0.2S"})
    assert i["state"] == "active" and active(i, "wait")["waitingFor"] == "timer", i
    wait_active(srv, i["id"], "wait2", "timer")
    assert time.monotonic() - t0 >= 0.28, "the timer fired early"
    i = wait_state(srv, i["id"], "completed")
    assert time.monotonic() - t0 >= 0.48, "the expression timer fired early"
    assert entered(srv, i["id"]) == ["start", "wait", "wait2", "end"]
    assert i["variables"] == {"delay": "PT0.2S"}, i


def catch_model(srv, tag, name, waiter):
    """start -> waiter (a message catch event or receive task on `name`) -> end."""
    top = message("m1", name)
    if waiter == "receiveTask":
        w = node("receiveTask", "wait", "", 'messageRef="m1"')
    else:
        w = node("intermediateCatchEvent", "wait", msgdef("m1"))
    body = node("startEvent", "start") + w + node("endEvent", "end") + chain("start", "wait", "end")
    return deploy_model(srv, tag, body, top)[0]


def test_intermediate_message_catch_correlation(srv):
    name = unique_name("approved")
    prc = catch_model(srv, "imsg", name, "intermediateCatchEvent")
    first = start(srv, prc, {"orderId": "K-1"})
    second = start(srv, prc, {"orderId": "K-1"})
    other = start(srv, prc, {"orderId": "K-2"})
    for x in (first, second, other):
        assert active(x, "wait")["waitingFor"] == "message", x
    # wrong key / wrong name: nothing happens
    assert_not_correlated(send(srv, name, "K-3", {"v": 0}))
    assert_not_correlated(send(srv, name + "-x", "K-1"))
    # the oldest waiting subscription of that name and key gets it
    m = assert_json(send(srv, name, "K-1", {"v": 1}))
    assert m == {"executionId": first["id"], "elementId": "wait", "started": False,
                 "executions": [{"executionId": first["id"], "elementId": "wait", "started": False}]}, m
    f = wait_state(srv, first["id"], "completed")
    assert f["variables"] == {"orderId": "K-1", "v": 1}, f
    assert entered(srv, f["id"]) == ["start", "wait", "end"]
    assert inst(srv, second["id"])["state"] == "active"
    assert inst(srv, other["id"])["state"] == "active"
    m = assert_json(send(srv, name, "K-1", {"v": 2}))
    assert m["executionId"] == second["id"], m
    assert wait_state(srv, second["id"], "completed")["variables"] == {"orderId": "K-1", "v": 2}
    assert_not_correlated(send(srv, name, "K-1"))
    assert inst(srv, other["id"])["variables"] == {"orderId": "K-2"}


def test_receive_task(srv):
    name = unique_name("signed")
    prc = catch_model(srv, "recv", name, "receiveTask")
    i = start(srv, prc, {"orderId": "R-42"})
    assert active(i, "wait")["waitingFor"] == "message", i
    m = assert_json(send(srv, name, "R-42", {"signedBy": "bob"}))
    assert m["executionId"] == i["id"] and m["elementId"] == "wait", m
    i = wait_state(srv, i["id"], "completed")
    assert i["variables"] == {"orderId": "R-42", "signedBy": "bob"}, i
    assert entered(srv, i["id"]) == ["start", "wait", "end"]


def sender_model(srv, tag, name, tell):
    """start -> tell (a sendTask or message throw event on `name`, keyed by orderId) -> end."""
    return deploy_model(srv, tag, node("startEvent", "start") + tell + node("endEvent", "end") +
                        chain("start", "tell", "end"), message("m1", name))[0]


def check_correlates(srv, name, sender):
    recv = catch_model(srv, "recv", name, "receiveTask")
    key = unique_name("k")
    r = start(srv, recv, {"orderId": key})
    other = start(srv, recv, {"orderId": key + "-other"})
    s = start(srv, sender, {"orderId": key, "payload": 7})
    # correlated inside the sender's own transaction: both are done when it answers
    finished(s)
    assert entered(srv, s["id"]) == ["start", "tell", "end"], entered(srv, s["id"])
    assert incidents(srv, s["id"]) == []
    r = wait_state(srv, r["id"], "completed")
    assert entered(srv, r["id"]) == ["start", "wait", "end"]
    assert r["variables"]["orderId"] == key, r
    assert inst(srv, other["id"])["state"] == "active"
    # nobody waiting: an incident of type message on the sending element
    s = start(srv, sender, {"orderId": unique_name("nobody")})
    inc = wait_until(lambda: incidents(srv, s["id"]), what="the message incident")
    assert [(x["type"], x["elementId"]) for x in inc] == [("message", "tell")], inc
    x = inst(srv, s["id"])
    assert x["state"] == "active" and "end" not in entered(srv, s["id"]), x
    w = active(x, "tell")
    assert w["waitingFor"] == "incident" and w["incidentId"] == inc[0]["id"], x


def test_send_task_correlates(srv):
    name = unique_name("ping")
    check_correlates(srv, name, sender_model(
        srv, "sender", name, node("sendTask", "tell", "", 'messageRef="m1"')))


def test_message_throw_event_correlates(srv):
    name = unique_name("ping")
    check_correlates(srv, name, sender_model(
        srv, "thrower", name, node("intermediateThrowEvent", "tell", msgdef("m1"))))


# --- multi-instance --------------------------------------------------------------------------

def test_multi_instance_parallel_output_collection(srv):
    mi = ('<multiInstanceLoopCharacteristics><extensionElements>'
          '<zeebe:loopCharacteristics inputCollection="=items" inputElement="item" '
          'outputCollection="results" outputElement="%s"/></extensionElements>'
          '</multiInstanceLoopCharacteristics>' % a('={"v": item * 10, "i": loopCounter}'))
    body = (node("startEvent", "start") + job("w", unique_name("mi-par"), inner=mi) +
            node("endEvent", "end") + chain("start", "w", "end"))
    prc, _ = deploy_model(srv, "mipar", body)
    i = start(srv, prc, {"items": [1, 2, 3]})
    js = wait_until(lambda: (lambda l: l if len(l) == 3 else None)(jobs(srv, i["id"])),
                    what="three parallel jobs")
    assert all(j["elementId"] == "w" for j in js), js
    assert active(inst(srv, i["id"]), "w")["waitingFor"] in ("mi", "job"), inst(srv, i["id"])
    # finish them in reverse order: the output collection keeps the input order
    for n, j in enumerate(reversed(js)):
        complete(srv, j["id"])
        if n < 2:
            assert inst(srv, i["id"])["state"] == "active"
    i = wait_state(srv, i["id"], "completed")
    assert i["variables"] == {"items": [1, 2, 3], "results": [
        {"v": 10, "i": 1}, {"v": 20, "i": 2}, {"v": 30, "i": 3}]}, i
    assert entered(srv, i["id"])[-1] == "end"
    # a worker sees what the iteration sees: its inputElement and loopCounter
    got = sorted((j["variables"].get("item"), j["variables"].get("loopCounter")) for j in js)
    assert got == [(1, 1), (2, 2), (3, 3)], js


def test_multi_instance_sequential_completion_condition(srv):
    mi = ('<multiInstanceLoopCharacteristics isSequential="true"><extensionElements>'
          '<zeebe:loopCharacteristics inputCollection="=items" inputElement="item" '
          'outputCollection="doubled" outputElement="=item * 2"/></extensionElements>'
          '<completionCondition xsi:type="tFormalExpression">=nrOfCompletedInstances &gt;= 2'
          '</completionCondition></multiInstanceLoopCharacteristics>')
    body = (node("startEvent", "start") + job("w", unique_name("mi-seq"), inner=mi) +
            node("endEvent", "end") + chain("start", "w", "end"))
    prc, _ = deploy_model(srv, "miseq", body)
    i = start(srv, prc, {"items": [5, 6, 7, 8]})
    seen = []
    for n in range(2):
        js = wait_until(lambda: [j for j in jobs(srv, i["id"]) if j["id"] not in
                                 [s["id"] for s in seen]], what="the next sequential job")
        assert len(js) == 1 and len(jobs(srv, i["id"])) == 1, js     # one at a time
        seen.append(js[0])
        complete(srv, js[0]["id"])
    i = wait_state(srv, i["id"], "completed")
    # two iterations ran, then the condition held; 7 and 8 never started
    assert len(all_jobs(srv, i["id"])) == 2, all_jobs(srv, i["id"])
    d = i["variables"]["doubled"]
    assert d[:2] == [10, 12] and all(x is None for x in d[2:]) and len(d) in (2, 4), d
    assert set(i["variables"]) == {"items", "doubled"}, i
    assert [j["variables"].get("item") for j in seen] == [5, 6], seen


def test_multi_instance_parallel_subprocess(srv):
    mi = ('<multiInstanceLoopCharacteristics><extensionElements>'
          '<zeebe:loopCharacteristics inputCollection="=orders" inputElement="order" '
          'outputCollection="totals" outputElement="=order.qty * order.price"/>'
          '</extensionElements></multiInstanceLoopCharacteristics>')
    sub = (node("startEvent", "s_start") + script("seen", "=append(seen, order.id)", "seen") +
           node("endEvent", "s_end") + chain("s_start", "seen", "s_end"))
    body = (node("startEvent", "start") + node("subProcess", "each", sub + mi) +
            node("endEvent", "end") + chain("start", "each", "end"))
    prc, _ = deploy_model(srv, "misub", body)
    orders = [{"id": "a", "qty": 2, "price": 5}, {"id": "b", "qty": 1, "price": 7},
              {"id": "c", "qty": 3, "price": 1}]
    i = wait_state(srv, start(srv, prc, {"orders": orders, "seen": []})["id"], "completed")
    # every iteration ran the subprocess with its own element; `seen` lives in the root
    assert i["variables"] == {"orders": orders, "seen": ["a", "b", "c"], "totals": [10, 7, 3]}, i
    e = entered(srv, i["id"])
    assert e.count("s_start") == 3 and e.count("seen") == 3 and e.count("s_end") == 3, e
    assert e[0] == "start" and e[-1] == "end" and e.count("end") == 1, e


def test_multi_instance_loop_cardinality(srv):
    mi = ('<multiInstanceLoopCharacteristics isSequential="true">'
          '<loopCardinality xsi:type="tFormalExpression">3</loopCardinality>'
          '</multiInstanceLoopCharacteristics>')
    body = (node("startEvent", "start") + script("add", "=n + loopCounter", "n", inner=mi) +
            node("endEvent", "end") + chain("start", "add", "end"))
    prc, _ = deploy_model(srv, "micard", body)
    i = wait_state(srv, start(srv, prc, {"n": 0})["id"], "completed")
    # loopCounter counts 1, 2, 3; n lives in the root scope, so every write lands there
    assert i["variables"] == {"n": 6}, i


# --- tasks that do work ----------------------------------------------------------------------

def test_script_task(srv):
    body = (node("startEvent", "start") + script("sum", "=a + b", "sum") +
            node("scriptTask", "prod", "<script>a * b + sum</script>",
                 'scriptFormat="feel" zeebe:resultVariable="product"') +
            node("endEvent", "end") + chain("start", "sum", "prod", "end"))
    prc, _ = deploy_model(srv, "script", body)
    i = finished(start(srv, prc, {"a": 2, "b": 3.5}))
    assert i["variables"] == {"a": 2, "b": 3.5, "sum": 5.5, "product": 12.5}, i
    assert entered(srv, i["id"]) == ["start", "sum", "prod", "end"]
    hv = [h for h in history(srv, i["id"]) if h["type"] == "variables.changed"]
    assert any("sum" in json.dumps(h["data"]) for h in hv), hv


def test_script_task_feel_error_is_an_incident(srv):
    body = (node("startEvent", "start") + script("div", "=10 / d", "q") +
            node("endEvent", "end") + chain("start", "div", "end"))
    prc, _ = deploy_model(srv, "scripterr", body)
    i = start(srv, prc, {"d": 0})
    w = wait_active(srv, i["id"], "div", "incident")
    inc = incidents(srv, i["id"])
    assert [(x["type"], x["id"]) for x in inc] == [("expression", w["incidentId"])], inc
    assert "q" not in inst(srv, i["id"])["variables"]
    assert_json(srv.req("PUT", E, "/executions/%s/variables" % i["id"], body={"variables": {"d": 4}}))
    assert_json(srv.req("PUT", E, "/incidents/%s/resolve" % w["incidentId"]))
    i = wait_state(srv, i["id"], "completed")
    assert i["variables"] == {"d": 4, "q": 2.5}, i


def test_business_rule_task(srv):
    model = {"inputs": [{"name": "Amount", "type": "number"}],
             "decisions": [
                 {"name": "Fee", "requires": ["Amount"], "literal": "Amount * 0.01"},
                 {"name": "Band", "requires": ["Amount"], "table": {
                     "hitPolicy": "FIRST", "inputs": ["Amount"],
                     "outputs": [{"name": "band"}],
                     "rules": [{"when": ["> 1000"], "then": ['"high"']},
                               {"when": ["-"], "then": ['"low"']}]}}]}
    rs = assert_json(srv.req("POST", R, "/rules", body={"name": unique_name("fees"),
                                                        "model": model}), 201)
    rid = rs["id"]
    assert rid.startswith("rul_"), rs
    body = (node("startEvent", "start") +
            node("businessRuleTask", "band", '<extensionElements><zeebe:calledDecision '
                 'decisionId="%s#Band" resultVariable="band"/></extensionElements>' % rid) +
            node("businessRuleTask", "all", '<extensionElements><zeebe:calledDecision '
                 'decisionId="%s" resultVariable="all"/></extensionElements>' % rid) +
            node("endEvent", "end") + chain("start", "band", "all", "end"))
    prc, _ = deploy_model(srv, "rules", body)
    for amount, band in ((2000, "high"), (50, "low")):
        i = wait_state(srv, start(srv, prc, {"Amount": amount})["id"], "completed")
        v = i["variables"]
        assert v["band"] == band, v
        assert v["all"] == {"Fee": amount * 0.01, "Band": band}, v
        assert set(v) == {"Amount", "band", "all"}, v
        assert entered(srv, i["id"]) == ["start", "band", "all", "end"]


def test_service_task_job_complete(srv):
    jt = unique_name("charge")
    body = (node("startEvent", "start") +
            job("charge", jt, retries=3, headers={"currency": "EUR", "mode": "live"}) +
            node("endEvent", "end") + chain("start", "charge", "end"))
    prc, _ = deploy_model(srv, "job", body)
    i = start(srv, prc, {"amount": 10})
    w = active(i, "charge")
    assert i["state"] == "active" and w["waitingFor"] == "job", i
    listed = assert_json(srv.get(E, "/jobs?type=%s" % jt))["items"]
    assert len(listed) == 1, listed
    j = listed[0]
    assert j["id"].startswith("job_") and j["type"] == jt and j["state"] == "activatable", j
    assert j["executionId"] == i["id"] and j["elementId"] == "charge" and j["retries"] == 3, j
    assert j["variables"] == {"amount": 10}, j
    assert j["customHeaders"] == {"currency": "EUR", "mode": "live"}, j
    assert j["errorMessage"] is None and j["createdAt"], j
    done = complete(srv, j["id"], {"receipt": "R-1", "amount": 11})
    assert done["id"] == j["id"] and done["state"] == "completed", done
    i = wait_state(srv, i["id"], "completed")
    assert i["variables"] == {"amount": 11, "receipt": "R-1"}, i
    assert entered(srv, i["id"]) == ["start", "charge", "end"]
    # a completed job stays completed; nothing changes
    complete(srv, j["id"], {"receipt": "R-2"}, status="gone")
    assert inst(srv, i["id"])["variables"]["receipt"] == "R-1"
    assert_problem(srv.req("POST", E, "/jobs/job_nope/complete", body={}), 404)
    assert [x["state"] for x in jobs(srv, i["id"], state="completed")] == ["completed"]


def test_service_task_job_fail_retries_then_incident(srv):
    jt = unique_name("flaky")
    body = (node("startEvent", "start") + job("flaky", jt, retries=2) + node("endEvent", "end") +
            chain("start", "flaky", "end"))
    prc, _ = deploy_model(srv, "jobfail", body)
    i = start(srv, prc, {})
    j = wait_job(srv, i["id"], "flaky")
    f = fail(srv, i["id"], j["id"], errorMessage="timeout 1", retryBackOffMs=300)
    assert f and f["retries"] == 1 and f["errorMessage"] == "timeout 1", f
    # in back-off: not offered to workers yet, then offered again
    t0 = time.monotonic()
    assert jobs(srv, i["id"]) == [], "a job in back-off is activatable"
    j = wait_job(srv, i["id"], "flaky")
    assert time.monotonic() - t0 >= 0.2 and j["retries"] == 1, j
    f = fail(srv, i["id"], j["id"], errorMessage="timeout 2")
    assert f and f["retries"] == 0 and f["state"] == "failed" and f["errorMessage"] == "timeout 2", f
    inc = wait_until(lambda: incidents(srv, i["id"]), what="the job's incident")
    assert len(inc) == 1 and inc[0]["type"] == "job" and inc[0]["jobId"] == j["id"], inc
    assert inc[0]["elementId"] == "flaky" and inc[0]["state"] == "open" and inc[0]["message"], inc
    stuck = inst(srv, i["id"])
    assert stuck["state"] == "active" and stuck["incidents"] == 1, stuck
    complete(srv, j["id"], status="gone")
    # resolving gives the job its retries back
    assert_json(srv.req("PUT", E, "/incidents/%s/resolve" % inc[0]["id"]))
    j = wait_job(srv, i["id"], "flaky")
    assert j["retries"] > 0, j
    complete(srv, j["id"], {"ok": True})
    i = wait_state(srv, i["id"], "completed")
    assert i["variables"] == {"ok": True} and i["incidents"] == 0, i
    # while the incident was open the instance said so at the element
    w = active(stuck, "flaky")
    assert w["waitingFor"] == "incident" and w["incidentId"] == inc[0]["id"], stuck


class _Echo(http.server.BaseHTTPRequestHandler):
    """Answers JSON; /fail answers 500. Every request is kept in server.seen."""

    def _serve(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        self.server.seen.append((self.command, self.path, raw))
        if self.path.startswith("/fail"):
            out, status = b'{"error":"down"}', 500
        else:
            out, status = json.dumps({"method": self.command, "path": self.path,
                                      "n": len(self.server.seen)}).encode(), 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = _serve

    def log_message(self, *args):
        pass


def test_service_task_http_connector(srv):
    web = bind_low(lambda a: http.server.ThreadingHTTPServer(a, _Echo))
    web.seen = []
    th = threading.Thread(target=web.serve_forever, daemon=True)
    th.start()
    base = "http://127.0.0.1:%d" % web.server_address[1]
    try:
        def connector(tag, headers, retries=3):
            body = (node("startEvent", "start") + job("call", "http", retries, headers) +
                    node("endEvent", "end") + chain("start", "call", "end"))
            return deploy_model(srv, tag, body)[0]
        post = connector("httppost", {"url": base + "/orders", "method": "POST",
                                      "resultVariable": "resp"})
        get = connector("httpget", {"url": base + "/status"})
        down = connector("httpdown", {"url": base + "/fail", "method": "POST"}, retries=1)

        i = wait_state(srv, start(srv, post, {"orderId": "H-1", "qty": 2})["id"], "completed")
        m, path, raw = web.seen[-1]
        assert (m, path) == ("POST", "/orders") and json.loads(raw) == {"orderId": "H-1", "qty": 2}, \
            web.seen
        assert i["variables"] == {"orderId": "H-1", "qty": 2, "resp": {
            "status": 200, "body": {"method": "POST", "path": "/orders", "n": len(web.seen)}}}, i
        assert entered(srv, i["id"]) == ["start", "call", "end"]

        i = wait_state(srv, start(srv, get, {"x": 1})["id"], "completed")
        assert web.seen[-1][:2] == ("GET", "/status"), web.seen
        assert i["variables"]["response"]["status"] == 200, i
        assert i["variables"]["response"]["body"]["method"] == "GET", i

        before_n = len(web.seen)
        i = start(srv, down, {"x": 2})
        inc = wait_until(lambda: incidents(srv, i["id"]), what="the connector's incident")
        assert [(x["type"], x["elementId"]) for x in inc] == [("job", "call")], inc
        assert [s[1] for s in web.seen[before_n:]] == ["/fail"], web.seen
        x = inst(srv, i["id"])
        assert x["state"] == "active" and "response" not in x["variables"], x
        assert x["incidents"] == 1, x
        w = active(x, "call")
        assert w["waitingFor"] == "incident" and w["incidentId"] == inc[0]["id"], x
    finally:
        web.shutdown()
        web.server_close()


def test_user_task_in_human_task_service(srv):
    grp = unique_name("approvers")
    schema = {"type": "object", "properties": {"approved": {"type": "boolean"},
                                               "comment": {"type": "string"}},
              "required": ["approved"]}
    form = '<zeebe:userTaskForm id="f_approve">%s</zeebe:userTaskForm>' % escape(json.dumps(schema))
    ext = ('<zeebe:assignmentDefinition candidateGroups="=grp" candidateUsers="u1,u2"/>'
           '<zeebe:taskSchedule dueDate="2030-01-01T00:00:00Z"/>'
           '<zeebe:formDefinition formKey="camunda-forms:bpmn:f_approve"/>')
    body = (node("startEvent", "start") + user("approve", "Approve order", ext) +
            user("check", "Check", '<zeebe:assignmentDefinition assignee="=who"/>') +
            node("endEvent", "end") + chain("start", "approve", "check", "end"))
    prc, _ = deploy_model(srv, "user", body, process_ext=form)
    i = start(srv, prc, {"grp": grp, "who": "carol", "amount": 5})
    w = active(i, "approve")
    assert i["state"] == "active" and w["waitingFor"] == "task", i
    t = task_of(srv, w["taskId"])
    assert t["name"] == "Approve order" and t["status"] == "created", t
    assert t["candidateGroups"] == [grp] and t["candidateUsers"] == ["u1", "u2"], t
    assert t["dueDate"] == "2030-01-01T00:00:00.000Z" and t["form"] == schema, t
    assert t["processInstanceId"] == i["id"] and t["elementId"] == "approve", t
    assert t["variables"] == {"grp": grp, "who": "carol", "amount": 5}, t
    inbox = assert_json(srv.get(T, "/tasks?candidateGroup=" + grp))["items"]
    assert [x["id"] for x in inbox] == [t["id"]], inbox
    # the form is enforced; a refused answer does not move the instance
    assert_problem(srv.req("PUT", T, "/tasks/%s/respond" % t["id"],
                           body={"response": {"approved": "yes"}}), 422)
    assert active(inst(srv, i["id"]), "approve")["waitingFor"] == "task"
    assert_json(srv.req("PUT", T, "/tasks/%s/respond" % t["id"],
                        body={"response": {"approved": True, "comment": "fine"}}))
    w2 = wait_active(srv, i["id"], "check", "task")
    i = inst(srv, i["id"])
    assert i["variables"] == {"grp": grp, "who": "carol", "amount": 5, "approved": True,
                              "comment": "fine"}, i
    t2 = task_of(srv, w2["taskId"])
    assert t2["status"] == "assigned" and t2["assignee"] == "carol" and t2["name"] == "Check", t2
    assert t2["variables"]["approved"] is True, t2
    assert_json(srv.req("PUT", T, "/tasks/%s/respond" % t2["id"], body={"response": {"ok": 1}}))
    i = wait_state(srv, i["id"], "completed")
    assert i["variables"]["ok"] == 1 and entered(srv, i["id"]) == ["start", "approve", "check", "end"]


def test_user_task_io_mapping(srv):
    # inputs are the task's own variables (9006 shows them, the instance does not get
    # them); with an output mapping the answer stays with the task and only the
    # outputs reach the instance
    io = ('<zeebe:ioMapping><zeebe:input source="=order.total * 2" target="limit"/>'
          '<zeebe:output source="=approved and limit &gt; 50" target="ok"/></zeebe:ioMapping>')
    body = (node("startEvent", "start") + user("review", "Review", io) +
            node("endEvent", "end") + chain("start", "review", "end"))
    prc, _ = deploy_model(srv, "userio", body)
    i = start(srv, prc, {"order": {"total": 30}})
    t = task_of(srv, active(i, "review")["taskId"])
    assert t["variables"] == {"order": {"total": 30}, "limit": 60}, t
    assert "limit" not in inst(srv, i["id"])["variables"]
    assert_json(srv.req("PUT", T, "/tasks/%s/respond" % t["id"],
                        body={"response": {"approved": True, "note": "x"}}))
    i = wait_state(srv, i["id"], "completed")
    assert i["variables"] == {"order": {"total": 30}, "ok": True}, i


# --- control ---------------------------------------------------------------------------------

def test_pause_and_resume(srv):
    # a job cannot be completed while paused
    jt = unique_name("pausable")
    body = (node("startEvent", "start") + job("w", jt) + node("endEvent", "end") +
            chain("start", "w", "end"))
    prc, _ = deploy_model(srv, "pausejob", body)
    i = start(srv, prc, {})
    jb = wait_job(srv, i["id"], "w")
    p = assert_json(srv.req("PUT", E, "/executions/%s/pause" % i["id"]))
    assert p["state"] == "paused", p
    assert_problem(srv.req("PUT", E, "/executions/%s/pause" % i["id"]), 409)
    complete(srv, jb["id"], {"x": 1}, status=409)
    r = assert_json(srv.req("PUT", E, "/executions/%s/resume" % i["id"]))
    assert r["state"] == "active", r
    complete(srv, jb["id"], {"x": 2})
    i = wait_state(srv, i["id"], "completed")
    assert i["variables"] == {"x": 2}, i
    types = [h["type"] for h in history(srv, i["id"])]
    before(types, "instance.paused", "instance.resumed")

    # a timer that falls due while paused fires on resume
    body = (node("startEvent", "start") +
            node("intermediateCatchEvent", "t", timer("timeDuration", "PT0.2S")) +
            node("endEvent", "end") + chain("start", "t", "end"))
    prc, _ = deploy_model(srv, "pausetimer", body)
    i = start(srv, prc, {})
    assert_json(srv.req("PUT", E, "/executions/%s/pause" % i["id"]))
    time.sleep(0.5)
    x = inst(srv, i["id"])
    assert x["state"] == "paused" and active(x, "t")["waitingFor"] == "timer", x
    assert "end" not in entered(srv, i["id"])
    assert_json(srv.req("PUT", E, "/executions/%s/resume" % i["id"]))
    wait_state(srv, i["id"], "completed")

    # a task answered while paused: the token waits for the resume
    body = (node("startEvent", "start") + user("u") + node("endEvent", "end") +
            chain("start", "u", "end"))
    prc, _ = deploy_model(srv, "pausetask", body)
    i = start(srv, prc, {})
    tid = active(i, "u")["taskId"]
    assert_json(srv.req("PUT", E, "/executions/%s/pause" % i["id"]))
    assert_json(srv.req("PUT", T, "/tasks/%s/respond" % tid, body={"response": {"a": 1}}))
    time.sleep(0.3)
    x = inst(srv, i["id"])
    assert x["state"] == "paused" and "end" not in entered(srv, i["id"]), x
    assert_json(srv.req("PUT", E, "/executions/%s/resume" % i["id"]))
    i = wait_state(srv, i["id"], "completed")
    assert i["variables"] == {"a": 1}, i


def test_cancel(srv):
    cprc, cpid = child_model(srv, "cancelchild", unique_name("cancel-child"))
    jt = unique_name("cancel-job")
    body = (node("startEvent", "start") + node("parallelGateway", "fork") +
            user("u") + job("j", jt) +
            node("intermediateCatchEvent", "t", timer("timeDuration", "PT0.4S")) +
            node("callActivity", "call", "", 'calledElement="%s"' % cpid) +
            node("task", "after_t") + node("parallelGateway", "join") + node("endEvent", "end") +
            chain("start", "fork", "u", "join") + chain("fork", "j", "join") +
            chain("fork", "t", "after_t", "join") + chain("fork", "call", "join") +
            chain("join", "end"))
    prc, _ = deploy_model(srv, "cancel", body)
    i = start(srv, prc, {"x": 1})
    tid = active(i, "u")["taskId"]
    jb = wait_job(srv, i["id"], "j")
    cid = wait_active(srv, i["id"], "call", "call")["childId"]
    wait_job(srv, cid, "c_work")
    c = assert_json(srv.req("PUT", E, "/executions/%s/cancel" % i["id"]))
    assert c["state"] == "cancelled" and c["endedAt"], c
    assert history(srv, i["id"])[-1]["type"] == "instance.cancelled"
    wait_until(lambda: task_of(srv, tid)["status"] == "cancelled", what="the task cancelled in 9006")
    assert wait_state(srv, cid, "cancelled")["endedAt"]
    assert jobs(srv, i["id"]) == [] and jobs(srv, cid) == []
    complete(srv, jb["id"], status="gone")
    time.sleep(0.5)     # the timer would have fired by now
    x = inst(srv, i["id"])
    assert x["state"] == "cancelled" and "after_t" not in entered(srv, i["id"]), x
    assert_problem(srv.req("PUT", E, "/executions/%s/cancel" % i["id"]), 409)
    assert_problem(srv.req("PUT", E, "/executions/%s/pause" % i["id"]), 409)
    assert_problem(srv.req("PUT", E, "/executions/%s/variables" % i["id"],
                           body={"variables": {"x": 2}}), 409)
    # a completed instance cannot be cancelled either
    body = node("startEvent", "start") + node("endEvent", "end") + chain("start", "end")
    prc, _ = deploy_model(srv, "cancel2", body)
    done = finished(start(srv, prc, {}))
    assert_problem(srv.req("PUT", E, "/executions/%s/cancel" % done["id"]), 409)


def test_idempotency_key(srv):
    body = (node("startEvent", "start") + job("w", unique_name("idem")) + node("endEvent", "end") +
            chain("start", "w", "end"))
    prc, _ = deploy_model(srv, "idem", body)
    key = unique_name("key")
    first = start(srv, prc, {"n": 1}, headers={"Idempotency-Key": key})
    again = start(srv, prc, {"n": 2}, status=200, headers={"Idempotency-Key": key})
    assert again["id"] == first["id"] and again["variables"] == {"n": 1}, again
    other = start(srv, prc, {"n": 3}, headers={"Idempotency-Key": key + "-b"})
    assert other["id"] != first["id"], other
    plain = start(srv, prc, {"n": 4})
    ids = sorted(x["id"] for x in executions_of(srv, prc))
    assert ids == sorted([first["id"], other["id"], plain["id"]]), ids
    assert len(jobs(srv, first["id"])) == 1
