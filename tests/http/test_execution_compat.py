"""Execution Engine compatibility with models as Camunda Modeler writes them (issue 11,
items 5, 7, 8, 9, 12; docs/execution.md): processes that end without end events,
message starts of several processes and right after publish, the variables of a job's
BPMN error, isExecutable="false", and signals (start, intermediate catch and throw,
boundary interrupting or not, event subprocess, end event, POST /signals). Each test
deploys its own small model through Process Design and asserts the exact path from
/history, the variables and the state; the wrong answers each fix removes are asserted
not to come back."""

import random

from harness import assert_json, assert_problem
from exec_support import (BPMN_NS, ZEEBE_NS, XML, assert_not_correlated, assert_ran_once, chain,
                          count, deploy, entered_path, flows, get, history, jobs, parallel, pointers, start,
                          wait_for, wait_state, waiting)

UNIQ = "%06x" % random.getrandbits(24)


def modeler(pid, body, defs_extra="", executable="true"):
    """A definitions document the way Camunda Modeler 5 writes it for Camunda 8."""
    return ("""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="%s" xmlns:zeebe="%s"
    xmlns:modeler="http://camunda.org/schema/modeler/1.0"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    id="Definitions_%s" targetNamespace="http://bpmn.io/schema/bpmn"
    exporter="Camunda Modeler" exporterVersion="5.28.0"
    modeler:executionPlatform="Camunda Cloud" modeler:executionPlatformVersion="8.6.0">
  <bpmn:process id="%s" name="%s" isExecutable="%s">
%s
  </bpmn:process>%s
</bpmn:definitions>""" % (BPMN_NS, ZEEBE_NS, pid, pid, pid, executable, body, defs_extra)).encode()


def job(id_, type_):
    return ('<bpmn:serviceTask id="%s"><bpmn:extensionElements><zeebe:taskDefinition type="%s"/>'
            '</bpmn:extensionElements></bpmn:serviceTask>' % (id_, type_))


def script(id_, expr, var):
    return ('<bpmn:scriptTask id="%s"><bpmn:extensionElements><zeebe:script expression="%s" '
            'resultVariable="%s"/></bpmn:extensionElements></bpmn:scriptTask>' % (id_, expr, var))


def the_job(srv, eid, element, headers=None):
    inst = wait_for(srv, eid, lambda i: waiting(i, element, "job"), headers=headers,
                    what="%s waiting for a job at %s" % (eid, element))
    return waiting(inst, element, "job")[0]["jobId"]


def executions_of(srv, process_id, headers=None):
    j = assert_json(srv.get(9005, "/executions?limit=500&processId=" + process_id, headers=headers))
    return j["items"]


# ---- item 5: no outgoing flow ends the token ----

def test_dead_end_task_in_parallel_branch(srv):
    """A task without outgoing flow ends its token (Zeebe); the instance completes only
    when its last token has ended — after the end event of the other branch."""
    body = ('<bpmn:startEvent id="start"/><bpmn:parallelGateway id="fork"/>'
            + job("audit", "audit-%s" % UNIQ) + script("calc", "=x * 2", "y")
            + '<bpmn:endEvent id="end"/>'
            + flows(("f1", "start", "fork"), ("f2", "fork", "audit"), ("f3", "fork", "calc"),
                    ("f4", "calc", "end")))
    p = deploy(srv, modeler("dead_end_%s" % UNIQ, body))
    inst = start(srv, p["id"], {"x": 21})
    assert inst["state"] == "active", inst            # end reached, audit still running
    assert [a["elementId"] for a in inst["activeElements"]] == ["audit"], inst
    jid = the_job(srv, inst["id"], "audit")
    assert_json(srv.req("POST", 9005, "/jobs/%s/complete" % jid, body={"variables": {"ok": True}}))
    done = wait_state(srv, inst["id"], "completed")
    assert done["variables"] == {"x": 21, "y": 42, "ok": True}, done
    h = assert_ran_once(srv, inst["id"], ["start", "fork", "calc", "end", "audit"])
    assert entered_path(h) == ["start", "fork", "audit", "calc", "end"], entered_path(h)


def test_process_without_end_event(srv):
    """The whole process has no end event (Zeebe deploys and runs it): Process Design
    stores it with a `no-end-event` warning, publish accepts it, and the instance
    completes when its last token reaches the element without outgoing flow."""
    body = ('<bpmn:startEvent id="start"/>' + script("calc", "=x + 1", "y")
            + job("notify", "notify-%s" % UNIQ) + chain("start", "calc", "notify"))
    r = srv.req("POST", 9003, "/processes", body=modeler("no_end_%s" % UNIQ, body), headers=XML)
    p = assert_json(r, 201)
    assert "no-end-event" in str(p.get("warnings")), p
    r = srv.req("POST", 9003, "/processes/%s/publish" % p["id"], body={})
    assert r.status == 201, r
    inst = start(srv, p["id"], {"x": 1})
    jid = the_job(srv, inst["id"], "notify")
    assert_json(srv.req("POST", 9005, "/jobs/%s/complete" % jid, body={}))
    done = wait_state(srv, inst["id"], "completed")
    assert done["variables"] == {"x": 1, "y": 2}, done
    h = assert_ran_once(srv, inst["id"], ["start", "calc", "notify"])
    assert entered_path(h) == ["start", "calc", "notify"], entered_path(h)


# ---- item 7: message starts ----

def message_start_model(pid, msg, var):
    body = ('<bpmn:startEvent id="on_msg"><bpmn:messageEventDefinition messageRef="Message_%s"/>'
            '</bpmn:startEvent>' % pid + script("mark", "=&quot;%s&quot;" % pid, var)
            + '<bpmn:endEvent id="end"/>' + chain("on_msg", "mark", "end"))
    return modeler(pid, body, '<bpmn:message id="Message_%s" name="%s"/>' % (pid, msg))


def test_message_starts_every_process(srv):
    """Two published processes start on the same message name: one instance of each
    (Camunda 8), not one of the oldest."""
    msg = "order-placed-%s" % UNIQ
    a = deploy(srv, message_start_model("ship_%s" % UNIQ, msg, "shipped"))
    b = deploy(srv, message_start_model("bill_%s" % UNIQ, msg, "billed"))
    r = assert_json(srv.req("POST", 9005, "/messages", body={"name": msg, "variables": {"order": 7}}))
    assert r["started"] is True and len(r["executions"]) == 2, r
    assert all(e["started"] and e["elementId"] == "on_msg" for e in r["executions"]), r
    for p, var in ((a, "shipped"), (b, "billed")):
        items = executions_of(srv, p["id"])
        assert len(items) == 1, (p["id"], items)
        inst = get(srv, items[0]["id"])
        assert inst["state"] == "completed", inst
        assert inst["variables"] == {"order": 7, var: p["bpmnProcessId"]}, inst
        h = assert_ran_once(srv, inst["id"], ["on_msg", "mark", "end"])
        assert entered_path(h) == ["on_msg", "mark", "end"], entered_path(h)
    assert {e["executionId"] for e in r["executions"]} == \
        {executions_of(srv, a["id"])[0]["id"], executions_of(srv, b["id"])[0]["id"]}


def test_message_right_after_publish(srv):
    """The message is sent as soon as publish answered: it must find the new message
    start every time. The engine learns of publications through the bus (the outbox of
    Process Design, then its worker registers the start events), so before the fix a
    message sent at once lost that race — most often when several publish at the same
    time (here: 12 clients, each publishing then sending at once). POST /messages now
    catches up with every publication committed before it."""
    def one(i):
        msg = "fresh-%s-%d" % (UNIQ, i)
        p = deploy(srv, message_start_model("fresh_%s_%d" % (UNIQ, i), msg, "v"))
        r = srv.req("POST", 9005, "/messages", body={"name": msg, "variables": {"i": i}})
        return p, r
    for i, res in enumerate(parallel([lambda i=i: one(i) for i in range(12)])):
        assert not isinstance(res, Exception), res
        p, r = res
        j = assert_json(r)
        assert j["started"] is True, (i, j)
        inst = get(srv, j["executionId"])
        assert inst["processId"] == p["id"] and inst["variables"]["i"] == i, inst


def test_message_starts_and_waiting_instance(srv):
    """A message some instance waits for is delivered to it, and also starts the
    processes with a message start of that name — but not a second instance of the
    process whose instance got it (once per process)."""
    msg = "paid-%s" % UNIQ
    waiter_body = ('<bpmn:startEvent id="start"/><bpmn:receiveTask id="wait" messageRef="m"/>'
                   '<bpmn:endEvent id="end"/>' + chain("start", "wait", "end"))
    waiter = deploy(srv, modeler("waiter_%s" % UNIQ, waiter_body, '<bpmn:message id="m" name="%s">'
                                 '<bpmn:extensionElements><zeebe:subscription correlationKey="=orderId"/>'
                                 '</bpmn:extensionElements></bpmn:message>' % msg))
    starter = deploy(srv, message_start_model("starter_%s" % UNIQ, msg, "started_by"))
    w = start(srv, waiter["id"], {"orderId": "A-1"})
    r = assert_json(srv.req("POST", 9005, "/messages",
                            body={"name": msg, "correlationKey": "A-1", "variables": {"paid": True}}))
    assert r["executionId"] == w["id"] and r["started"] is False, r
    assert [e["started"] for e in r["executions"]] == [False, True], r
    done = wait_state(srv, w["id"], "completed")
    assert done["variables"] == {"orderId": "A-1", "paid": True}, done
    assert len(executions_of(srv, starter["id"])) == 1
    assert len(executions_of(srv, waiter["id"])) == 1


# ---- item 8: error variables ----

def error_model(pid, with_outputs):
    out = ('<bpmn:extensionElements><zeebe:ioMapping>'
           '<zeebe:output source="=reason" target="failure"/>'
           '<zeebe:output source="=count(missing)" target="missingCount"/>'
           '</zeebe:ioMapping></bpmn:extensionElements>') if with_outputs else ""
    body = ('<bpmn:startEvent id="start"/>' + job("reserve", "reserve-%s" % UNIQ)
            + '<bpmn:boundaryEvent id="out_of_stock" attachedToRef="reserve">%s'
              '<bpmn:errorEventDefinition errorRef="Error_stock"/></bpmn:boundaryEvent>' % out
            + '<bpmn:endEvent id="reserved"/><bpmn:endEvent id="backorder"/>'
            + flows(("f1", "start", "reserve"), ("f2", "reserve", "reserved"),
                    ("f3", "out_of_stock", "backorder")))
    return modeler(pid, body, '<bpmn:error id="Error_stock" name="Out of stock" errorCode="OUT_OF_STOCK"/>')


def test_job_error_variables_reach_boundary_outputs(srv):
    """POST /jobs/{id}/fail with errorCode and variables: the catching boundary's output
    mappings see them (and only their outputs reach the instance, Camunda 8)."""
    p = deploy(srv, error_model("err_out_%s" % UNIQ, True))
    inst = start(srv, p["id"], {"order": 1})
    jid = the_job(srv, inst["id"], "reserve")
    r = srv.req("POST", 9005, "/jobs/%s/fail" % jid, body={
        "errorCode": "OUT_OF_STOCK", "errorMessage": "no stock",
        "variables": {"reason": "sold out", "missing": ["sku-1", "sku-2"]}})
    assert_json(r)
    done = wait_state(srv, inst["id"], "completed")
    assert done["variables"] == {"order": 1, "failure": "sold out", "missingCount": 2}, done
    h = assert_ran_once(srv, inst["id"], ["start", "out_of_stock", "backorder"])
    assert entered_path(h) == ["start", "reserve", "out_of_stock", "backorder"], entered_path(h)
    assert count(h, "element.entered", "reserved") == 0


def test_job_error_variables_without_outputs_reach_scope(srv):
    """Without output mappings the error's variables go to the scope; POST
    /jobs/{id}/error (Camunda 8's throw-error command) carries them as /fail does."""
    p = deploy(srv, error_model("err_scope_%s" % UNIQ, False))
    inst = start(srv, p["id"], {"order": 2})
    jid = the_job(srv, inst["id"], "reserve")
    assert_json(srv.req("POST", 9005, "/jobs/%s/error" % jid, body={
        "errorCode": "OUT_OF_STOCK", "variables": {"reason": "discontinued"}}))
    done = wait_state(srv, inst["id"], "completed")
    assert done["variables"] == {"order": 2, "reason": "discontinued"}, done
    h = history(srv, inst["id"])
    assert entered_path(h) == ["start", "reserve", "out_of_stock", "backorder"], entered_path(h)
    # /error without errorCode is refused and changes nothing
    inst2 = start(srv, p["id"], {"order": 3})
    jid2 = the_job(srv, inst2["id"], "reserve")
    pr = assert_problem(srv.req("POST", 9005, "/jobs/%s/error" % jid2, body={"variables": {}}), 422)
    assert "/errorCode" in pointers(pr), pr
    assert waiting(get(srv, inst2["id"]), "reserve", "job"), get(srv, inst2["id"])
    pr = assert_problem(srv.req("POST", 9005, "/jobs/%s/fail" % jid2,
                                body={"errorCode": "OUT_OF_STOCK", "variables": [1]}), 422)
    assert "/variables" in pointers(pr), pr


# ---- item 9: isExecutable="false" ----

def test_not_executable_refused(srv):
    body = '<bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>' + chain("start", "end")
    pid = "doc_only_%s" % UNIQ
    p = deploy(srv, modeler(pid, body, executable="false"))
    before = assert_json(srv.get(9005, "/executions?limit=1"))["total"]
    for ref in (p["id"], pid):
        r = srv.req("POST", 9005, "/executions", body={"processId": ref})
        pr = assert_problem(r, 422)
        assert "/processId" in pointers(pr) and pid in pr["detail"] and "isExecutable" in pr["detail"], pr
    # a message start of a process that is not executable starts nothing
    msg = "doc-msg-%s" % UNIQ
    mbody = ('<bpmn:startEvent id="on_msg"><bpmn:messageEventDefinition messageRef="m"/></bpmn:startEvent>'
             '<bpmn:endEvent id="end"/>' + chain("on_msg", "end"))
    deploy(srv, modeler("doc_msg_%s" % UNIQ, mbody, '<bpmn:message id="m" name="%s"/>' % msg, "false"))
    assert_not_correlated(srv.req("POST", 9005, "/messages", body={"name": msg}))
    assert assert_json(srv.get(9005, "/executions?limit=1"))["total"] == before


# ---- item 12: signals ----

def signal_def(sid, name):
    return '<bpmn:signal id="%s" name="%s"/>' % (sid, name)


def sig(sid):
    return '<bpmn:signalEventDefinition signalRef="%s"/>' % sid


def test_signal_broadcast_reaches_every_subscription(srv):
    """POST /signals reaches every waiting catch, every boundary (interrupting and not),
    every event subprocess and starts one instance of each process with a signal start
    — in the caller's tenant only."""
    name = "alarm-%s" % UNIQ
    # a: an intermediate catch
    catch_body = ('<bpmn:startEvent id="start"/><bpmn:intermediateCatchEvent id="wait_alarm">%s'
                  '</bpmn:intermediateCatchEvent><bpmn:endEvent id="end"/>' % sig("S")
                  + chain("start", "wait_alarm", "end"))
    pa = deploy(srv, modeler("sig_catch_%s" % UNIQ, catch_body, signal_def("S", name)))
    # b: a job with an interrupting and a non-interrupting boundary
    bnd_body = ('<bpmn:startEvent id="start"/>' + job("work", "sigwork-%s" % UNIQ)
                + '<bpmn:boundaryEvent id="stop" attachedToRef="work">%s</bpmn:boundaryEvent>' % sig("S")
                + '<bpmn:endEvent id="done"/><bpmn:endEvent id="stopped"/>'
                + flows(("f1", "start", "work"), ("f2", "work", "done"), ("f3", "stop", "stopped")))
    pb = deploy(srv, modeler("sig_bnd_%s" % UNIQ, bnd_body, signal_def("S", name)))
    nb_body = ('<bpmn:startEvent id="start"/>' + job("work", "signb-%s" % UNIQ)
               + '<bpmn:boundaryEvent id="note" cancelActivity="false" attachedToRef="work">%s'
                 '</bpmn:boundaryEvent>' % sig("S")
               + script("count_it", "=1", "noted") + '<bpmn:endEvent id="done"/><bpmn:endEvent id="noted_end"/>'
               + flows(("f1", "start", "work"), ("f2", "work", "done"), ("f3", "note", "count_it"),
                       ("f4", "count_it", "noted_end")))
    pn = deploy(srv, modeler("sig_nb_%s" % UNIQ, nb_body, signal_def("S", name)))
    # d: an interrupting event subprocess with a signal start
    ev_body = ('<bpmn:startEvent id="start"/>' + job("work", "sigev-%s" % UNIQ) + '<bpmn:endEvent id="done"/>'
               + chain("start", "work", "done")
               + '<bpmn:subProcess id="on_alarm" triggeredByEvent="true">'
                 '<bpmn:startEvent id="alarm_start">%s</bpmn:startEvent>' % sig("S")
               + script("evac", "=&quot;evacuated&quot;", "status") + '<bpmn:endEvent id="alarm_end"/>'
               + chain("alarm_start", "evac", "alarm_end") + '</bpmn:subProcess>')
    pe = deploy(srv, modeler("sig_ev_%s" % UNIQ, ev_body, signal_def("S", name)))
    # e: a signal start
    st_body = ('<bpmn:startEvent id="on_alarm">%s</bpmn:startEvent>' % sig("S")
               + script("log", "=level", "logged") + '<bpmn:endEvent id="end"/>' + chain("on_alarm", "log", "end"))
    ps = deploy(srv, modeler("sig_start_%s" % UNIQ, st_body, signal_def("S", name)))
    ia = [start(srv, pa["id"], {"n": k}) for k in range(2)]
    ib = start(srv, pb["id"])
    inb = start(srv, pn["id"])
    ie = start(srv, pe["id"])
    for i in ia:
        assert waiting(i, "wait_alarm", "signal"), i
    # another tenant's broadcast of the same name reaches none of them
    other = srv.tenant_headers("sig-b-%s" % UNIQ)
    r = assert_json(srv.req("POST", 9005, "/signals", body={"name": name}, headers=other))
    assert (r["started"], r["triggered"], r["executions"]) == (0, 0, []), r
    assert waiting(get(srv, ia[0]["id"]), "wait_alarm", "signal")

    r = assert_json(srv.req("POST", 9005, "/signals", body={"name": name, "variables": {"level": 3}}))
    assert r["name"] == name and r["started"] == 1 and r["triggered"] == 5, r
    got = {(e["executionId"], e["elementId"], e["started"]) for e in r["executions"]}
    started = [e for e in r["executions"] if e["started"]]
    assert got - {(started[0]["executionId"], "on_alarm", True)} == {
        (ia[0]["id"], "wait_alarm", False), (ia[1]["id"], "wait_alarm", False), (ib["id"], "stop", False),
        (inb["id"], "note", False), (ie["id"], "alarm_start", False)}, r
    for k, i in enumerate(ia):
        done = get(srv, i["id"])
        assert done["state"] == "completed" and done["variables"] == {"n": k, "level": 3}, done
        h = assert_ran_once(srv, i["id"], ["start", "wait_alarm", "end"])
        assert entered_path(h) == ["start", "wait_alarm", "end"]
    done = get(srv, ib["id"])
    assert done["state"] == "completed" and done["variables"] == {"level": 3}, done
    assert entered_path(history(srv, ib["id"])) == ["start", "work", "stop", "stopped"]
    assert jobs(srv, type="sigwork-%s" % UNIQ) == []        # the interrupted job is gone
    nb = get(srv, inb["id"])                                 # non-interrupting: work goes on
    assert nb["state"] == "active" and [a["elementId"] for a in nb["activeElements"]] == ["work"], nb
    assert nb["variables"] == {"level": 3, "noted": 1}, nb
    assert entered_path(history(srv, inb["id"])) == ["start", "work", "note", "count_it", "noted_end"]
    ev = get(srv, ie["id"])
    assert ev["state"] == "completed" and ev["variables"] == {"level": 3, "status": "evacuated"}, ev
    assert entered_path(history(srv, ie["id"])) == ["start", "work", "on_alarm", "alarm_start", "evac",
                                                    "alarm_end"]
    s = get(srv, started[0]["executionId"])
    assert s["processId"] == ps["id"] and s["state"] == "completed", s
    assert s["variables"] == {"level": 3, "logged": 3}, s
    # a second broadcast: the catches are used up, the non-interrupting boundary fires again
    r = assert_json(srv.req("POST", 9005, "/signals", body={"name": name}))
    assert r["started"] == 1 and r["triggered"] == 1, r
    assert count(history(srv, inb["id"]), "element.entered", "note") == 2
    jid = the_job(srv, inb["id"], "work")
    assert_json(srv.req("POST", 9005, "/jobs/%s/complete" % jid, body={}))
    wait_state(srv, inb["id"], "completed")


def test_signal_throw_and_end_events(srv):
    """An intermediate signal throw (its zeebe:input mappings are the signal's
    variables) and a signal end event broadcast after their step commits: the waiting
    catch in another instance and an event-based gateway's signal branch move on."""
    name, name2 = "ready-%s" % UNIQ, "closed-%s" % UNIQ
    catch_body = ('<bpmn:startEvent id="start"/><bpmn:eventBasedGateway id="gw"/>'
                  '<bpmn:intermediateCatchEvent id="on_ready">%s</bpmn:intermediateCatchEvent>' % sig("R")
                  + '<bpmn:intermediateCatchEvent id="timeout"><bpmn:timerEventDefinition>'
                    '<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>'
                    '</bpmn:intermediateCatchEvent>'
                  + '<bpmn:intermediateCatchEvent id="on_closed">%s</bpmn:intermediateCatchEvent>' % sig("C")
                  + '<bpmn:endEvent id="end"/><bpmn:endEvent id="late"/>'
                  + flows(("f1", "start", "gw"), ("f2", "gw", "on_ready"), ("f3", "gw", "timeout"),
                          ("f4", "on_ready", "on_closed"), ("f5", "on_closed", "end"), ("f6", "timeout", "late")))
    pc = deploy(srv, modeler("sig_wait_%s" % UNIQ, catch_body, signal_def("R", name) + signal_def("C", name2)))
    waiter = start(srv, pc["id"], {"who": "w"})
    assert waiting(waiter, "gw", "event"), waiter
    throw_body = ('<bpmn:startEvent id="start"/><bpmn:intermediateThrowEvent id="announce">'
                  '<bpmn:extensionElements><zeebe:ioMapping><zeebe:input source="=batch * 10" target="size"/>'
                  '</zeebe:ioMapping></bpmn:extensionElements>%s</bpmn:intermediateThrowEvent>' % sig("R")
                  + job("closing", "closing-%s" % UNIQ)
                  + '<bpmn:endEvent id="close">%s</bpmn:endEvent>' % sig("C")
                  + chain("start", "announce", "closing", "close"))
    pt = deploy(srv, modeler("sig_throw_%s" % UNIQ, throw_body, signal_def("R", name) + signal_def("C", name2)))
    thrower = start(srv, pt["id"], {"batch": 4})
    # a broadcast reaches who waits when it is thrown: on_closed subscribes only now
    mid = wait_for(srv, waiter["id"], lambda i: waiting(i, "on_closed", "signal"))
    assert mid["variables"] == {"who": "w", "size": 40}, mid
    jid = the_job(srv, thrower["id"], "closing")
    assert_json(srv.req("POST", 9005, "/jobs/%s/complete" % jid, body={}))
    assert wait_state(srv, thrower["id"], "completed")["variables"] == {"batch": 4}
    h = assert_ran_once(srv, thrower["id"], ["start", "announce", "closing", "close"])
    assert [x["data"]["signalName"] for x in h if x["type"] == "signal.thrown"] == [name, name2], h
    done = wait_state(srv, waiter["id"], "completed")
    assert done["variables"] == {"who": "w", "size": 40}, done
    assert entered_path(history(srv, waiter["id"])) == ["start", "gw", "on_ready", "on_closed", "end"]


def test_signal_bad_input_and_gateway(srv):
    before = assert_json(srv.get(9005, "/executions?limit=1"))["total"]
    for body, ptr in (({}, "/name"), ({"name": ""}, "/name"), ({"name": 5}, "/name"),
                      ({"name": "x", "variables": [1]}, "/variables")):
        pr = assert_problem(srv.req("POST", 9005, "/signals", body=body), 422)
        assert ptr in pointers(pr), (body, pr)
    # through the gateway (9000), nobody waiting: 200 and nothing started
    r = assert_json(srv.req("POST", 9000, "/signals", body={"name": "nobody-%s" % UNIQ}))
    assert (r["started"], r["triggered"], r["executions"]) == (0, 0, []), r
    assert assert_json(srv.get(9005, "/executions?limit=1"))["total"] == before


def test_signal_right_after_publish(srv):
    for i in range(4):
        name = "go-%s-%d" % (UNIQ, i)
        body = ('<bpmn:startEvent id="go">%s</bpmn:startEvent><bpmn:endEvent id="end"/>' % sig("G")
                + chain("go", "end"))
        p = deploy(srv, modeler("sig_fresh_%s_%d" % (UNIQ, i), body, signal_def("G", name)))
        r = assert_json(srv.req("POST", 9005, "/signals", body={"name": name}))
        assert r["started"] == 1 and get(srv, r["executions"][0]["executionId"])["processId"] == p["id"], (i, r)


def test_signal_subscriptions_survive_kill():
    """Signal subscriptions are rows: after kill -9 and a restart on the same data dir the
    waiting catches, the boundary and the signal start are all still reached."""
    import test_execution_recovery as rec
    name = "restart-%s" % UNIQ
    with rec.DataDir() as dd:
        s1 = dd.server()
        catch_body = ('<bpmn:startEvent id="start"/><bpmn:intermediateCatchEvent id="wait_sig">%s'
                      '</bpmn:intermediateCatchEvent><bpmn:endEvent id="end"/>' % sig("S")
                      + chain("start", "wait_sig", "end"))
        pc = deploy(s1, modeler("sig_kill_%s" % UNIQ, catch_body, signal_def("S", name)))
        st_body = ('<bpmn:startEvent id="go">%s</bpmn:startEvent><bpmn:endEvent id="end"/>' % sig("S")
                   + chain("go", "end"))
        ps = deploy(s1, modeler("sig_kill_start_%s" % UNIQ, st_body, signal_def("S", name)))
        insts = [start(s1, pc["id"], {"n": i}) for i in range(20)]   # more than one delivery batch
        s1.kill()
        s2 = dd.server()
        for i in (insts[0], insts[-1]):
            assert waiting(get(s2, i["id"]), "wait_sig", "signal"), get(s2, i["id"])
        r = assert_json(s2.req("POST", 9005, "/signals", body={"name": name, "variables": {"after": "restart"}}))
        assert r["triggered"] == 20 and r["started"] == 1, r
        for k, i in enumerate(insts):
            done = get(s2, i["id"])
            assert done["state"] == "completed" and done["variables"] == {"n": k, "after": "restart"}, done
            assert entered_path(history(s2, i["id"])) == ["start", "wait_sig", "end"]
        assert len(executions_of(s2, ps["id"])) == 1
        # used up: a second broadcast reaches only the signal start
        r = assert_json(s2.req("POST", 9005, "/signals", body={"name": name}))
        assert (r["triggered"], r["started"]) == (0, 1), r
