"""Buffered messages (docs/execution.md, "Buffered messages"): POST /messages with a
timeToLive that nobody waits for answers 202 and keeps the message; an instance that
later opens a matching subscription (intermediate catch, receive task, boundary,
event-based gateway branch, event subprocess start) takes the oldest one at once; an
expired one is taken by nobody; messageId makes publishing idempotent within the TTL;
the buffer is bounded per tenant (429) and kept per tenant; bad input is refused (422) and
stores nothing. Models are inline (exec_support.bpmn, bpmn: prefix as Camunda Modeler
writes them)."""

import time

import harness
from exec_support import bpmn, chain, deploy, entered_path, history, start, wait_for, waiting
from harness import assert_json, assert_problem, unique_name

E = 9005
FIXTURES = {"small": lambda: harness.Server(env={"FLOWMASTER_EXECUTION_MESSAGE_BUFFER_MAX": "2"})}


def publish(srv, name, key, variables=None, headers=None, **extra):
    body = {"name": name, "correlationKey": key}
    if variables is not None:
        body["variables"] = variables
    body.update(extra)
    return srv.req("POST", E, "/messages", body=body, headers=headers)


def message(mid, name):
    return ('<bpmn:message id="%s" name="%s"><bpmn:extensionElements>'
            '<zeebe:subscription correlationKey="=orderId"/></bpmn:extensionElements>'
            '</bpmn:message>' % (mid, name))


def catch_process(srv, name, waiter="catch", headers=None):
    """start -> wait (message catch or receive task on `name`, keyed by orderId) -> end."""
    pid = unique_name("buf")
    if waiter == "receive":
        w = '<bpmn:receiveTask id="wait" messageRef="Msg_1"/>'
    else:
        w = ('<bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition '
             'id="MED_1" messageRef="Msg_1"/></bpmn:intermediateCatchEvent>')
    body = ('<bpmn:startEvent id="start"/>' + w + '<bpmn:endEvent id="end"/>' +
            chain("start", "wait", "end"))
    return deploy(srv, bpmn(pid, body, defs_extra=message("Msg_1", name)), headers=headers)["id"]


def test_buffered_then_taken_by_catch(srv):
    name = unique_name("paid")
    prc = catch_process(srv, name)
    r = publish(srv, name, "B-1", {"amount": 5}, timeToLive="PT30S")
    j = assert_json(r, 202)
    assert j["buffered"] is True and j["executions"] == [] and j["expiresAt"].endswith("Z"), j
    # a later instance waiting for it takes it while it starts
    i = start(srv, prc, {"orderId": "B-1"})
    assert i["state"] == "completed", i
    assert i["variables"] == {"orderId": "B-1", "amount": 5}, i
    assert entered_path(history(srv, i["id"])) == ["start", "wait", "end"]
    # it was taken once: the next instance waits
    i2 = start(srv, prc, {"orderId": "B-1"})
    assert i2["state"] == "active" and waiting(i2, "wait", "message"), i2
    # another key is not taken by it
    assert_json(publish(srv, name, "B-2", {"amount": 7}, timeToLive=30000), 202)
    assert start(srv, prc, {"orderId": "B-3"})["state"] == "active"
    # oldest first
    assert_json(publish(srv, name, "B-2", {"amount": 8}, timeToLive="PT30S"), 202)
    got = [start(srv, prc, {"orderId": "B-2"})["variables"]["amount"] for _ in range(2)]
    assert got == [7, 8], got


def test_buffered_receive_task_and_boundary(srv):
    name = unique_name("signed")
    prc = catch_process(srv, name, "receive")
    assert_json(publish(srv, name, "R-1", {"by": "bob"}, timeToLive="PT30S"), 202)
    i = start(srv, prc, {"orderId": "R-1"})
    assert i["state"] == "completed" and i["variables"]["by"] == "bob", i
    # a boundary on a user task: interrupting, taken when the task is entered
    bname = unique_name("abort")
    pid = unique_name("bufb")
    body = ('<bpmn:startEvent id="start"/><bpmn:userTask id="review"/>'
            '<bpmn:boundaryEvent id="aborted" attachedToRef="review"><bpmn:messageEventDefinition '
            'id="MED_2" messageRef="Msg_2"/></bpmn:boundaryEvent>'
            '<bpmn:endEvent id="end"/><bpmn:endEvent id="end_aborted"/>' +
            chain("start", "review", "end") + chain("aborted", "end_aborted"))
    prc2 = deploy(srv, bpmn(pid, body, defs_extra=message("Msg_2", bname)))["id"]
    assert_json(publish(srv, bname, "A-1", {"why": "late"}, timeToLive="PT30S"), 202)
    i = start(srv, prc2, {"orderId": "A-1"})
    assert i["state"] == "completed" and i["variables"] == {"orderId": "A-1", "why": "late"}, i
    assert entered_path(history(srv, i["id"])) == ["start", "review", "aborted", "end_aborted"]


def test_buffered_event_gateway_and_event_subprocess(srv):
    name = unique_name("go")
    pid = unique_name("bufg")
    body = ('<bpmn:startEvent id="start"/><bpmn:eventBasedGateway id="gw"/>'
            '<bpmn:intermediateCatchEvent id="msg"><bpmn:messageEventDefinition id="MED_3" '
            'messageRef="Msg_3"/></bpmn:intermediateCatchEvent>'
            '<bpmn:intermediateCatchEvent id="later"><bpmn:timerEventDefinition id="TED_1">'
            '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT1H</bpmn:timeDuration>'
            '</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'
            '<bpmn:endEvent id="end_msg"/><bpmn:endEvent id="end_later"/>' +
            chain("start", "gw", "msg", "end_msg") + chain("gw", "later", "end_later"))
    prc = deploy(srv, bpmn(pid, body, defs_extra=message("Msg_3", name)))["id"]
    assert_json(publish(srv, name, "G-1", {"x": 1}, timeToLive="PT30S"), 202)
    i = start(srv, prc, {"orderId": "G-1"})
    assert i["state"] == "completed", i
    assert entered_path(history(srv, i["id"])) == ["start", "gw", "msg", "end_msg"]
    # an event subprocess's message start (interrupting)
    ename = unique_name("stop")
    pid = unique_name("bufe")
    body = ('<bpmn:startEvent id="start"/><bpmn:userTask id="work"/><bpmn:endEvent id="end"/>' +
            chain("start", "work", "end") +
            '<bpmn:subProcess id="ev" triggeredByEvent="true"><bpmn:startEvent id="ev_start">'
            '<bpmn:messageEventDefinition id="MED_4" messageRef="Msg_4"/></bpmn:startEvent>'
            '<bpmn:endEvent id="ev_end"/>' + chain("ev_start", "ev_end") + '</bpmn:subProcess>')
    prc = deploy(srv, bpmn(pid, body, defs_extra=message("Msg_4", ename)))["id"]
    assert_json(publish(srv, ename, "E-1", {"stopped": True}, timeToLive="PT30S"), 202)
    i = start(srv, prc, {"orderId": "E-1"})
    assert i["state"] == "completed" and i["variables"]["stopped"] is True, i
    e = entered_path(history(srv, i["id"]))
    assert e[:2] == ["start", "work"] and e[-3:] == ["ev", "ev_start", "ev_end"] and "end" not in e, e


def test_expired_message_is_not_taken(srv):
    name = unique_name("late")
    prc = catch_process(srv, name)
    assert_json(publish(srv, name, "X-1", {"v": "old"}, timeToLive="PT0.3S"), 202)
    time.sleep(0.6)
    i = start(srv, prc, {"orderId": "X-1"})
    assert i["state"] == "active" and waiting(i, "wait", "message"), i
    # a fresh one without TTL goes to the waiting instance
    m = assert_json(publish(srv, name, "X-1", {"v": "new"}))
    assert m["executionId"] == i["id"], m
    i = wait_for(srv, i["id"], lambda x: x["state"] == "completed")
    assert i["variables"] == {"orderId": "X-1", "v": "new"}, i
    # no TTL and nobody waiting: still 404 (nothing kept)
    assert_problem(publish(srv, name, "X-2"), 404, "Message Not Correlated")
    assert start(srv, prc, {"orderId": "X-2"})["state"] == "active"


def test_message_id_idempotent_within_ttl(srv):
    name = unique_name("once")
    prc = catch_process(srv, name)
    mid = unique_name("mid")
    j = assert_json(publish(srv, name, "I-1", {"n": 1}, timeToLive="PT30S", messageId=mid), 202)
    assert j["messageId"] == mid, j
    p = assert_problem(publish(srv, name, "I-1", {"n": 2}, timeToLive="PT30S", messageId=mid), 409, "Duplicate Message")
    assert p["type"] == "urn:flowmaster:problem:message-duplicate" and p["messageId"] == mid, p
    i = start(srv, prc, {"orderId": "I-1"})
    assert i["state"] == "completed" and i["variables"]["n"] == 1, i
    # taken, but its id is still known within the TTL
    assert_problem(publish(srv, name, "I-1", {"n": 3}, timeToLive="PT30S", messageId=mid), 409, "Duplicate Message")
    assert start(srv, prc, {"orderId": "I-1"})["state"] == "active"
    # correlated at once with an id: a repeat within the TTL is refused, not delivered twice
    w = start(srv, prc, {"orderId": "I-2"})
    mid2 = unique_name("mid")
    m = assert_json(publish(srv, name, "I-2", {"n": 4}, timeToLive="PT30S", messageId=mid2), 200)
    assert m["executionId"] == w["id"], m
    w2 = start(srv, prc, {"orderId": "I-2"})
    assert_problem(publish(srv, name, "I-2", {"n": 5}, timeToLive="PT30S", messageId=mid2), 409, "Duplicate Message")
    assert w2["state"] == "active" and start(srv, prc, {"orderId": "I-2"})["state"] == "active"
    # an expired id can be used again
    mid3 = unique_name("mid")
    assert_json(publish(srv, name, "I-3", timeToLive="PT0.2S", messageId=mid3), 202)
    time.sleep(0.4)
    assert_json(publish(srv, name, "I-3", timeToLive="PT30S", messageId=mid3), 202)


def test_bad_time_to_live_stores_nothing(srv):
    name = unique_name("bad")
    prc = catch_process(srv, name)
    for ttl in ("soon", -5, "P1Y", "PT-1S", 1.5, True, "P400D", {"s": 1}):
        p = assert_problem(publish(srv, name, "Z-1", {"v": 1}, timeToLive=ttl), 422, "Validation Failed")
        assert "timeToLive" in str(p), (ttl, p)
    assert_problem(publish(srv, name, "Z-1", timeToLive="PT5S", messageId=""), 422, "Validation Failed")
    assert_problem(publish(srv, name, "Z-1", timeToLive="PT5S", messageId="x" * 300), 422, "Validation Failed")
    i = start(srv, prc, {"orderId": "Z-1"})
    assert i["state"] == "active", "a refused message was kept: %r" % i


def test_buffer_kept_per_tenant(srv):
    name = unique_name("ten")
    b = srv.tenant_headers("msgbuf-b-%s" % unique_name("t"))
    prc_a = catch_process(srv, name)
    prc_b = catch_process(srv, name, headers=b)
    assert_json(publish(srv, name, "T-1", {"who": "b"}, headers=b, timeToLive="PT30S"), 202)
    assert start(srv, prc_a, {"orderId": "T-1"})["state"] == "active", "tenant A took B's message"
    i = start(srv, prc_b, {"orderId": "T-1"}, headers=b)
    assert i["state"] == "completed" and i["variables"]["who"] == "b", i


def test_buffer_bounded(small):
    name = unique_name("full")
    for n in range(2):
        assert_json(publish(small, name, "F-%d" % n, timeToLive="PT30S"), 202)
    p = assert_problem(publish(small, name, "F-9", {"v": 1}, timeToLive="PT30S"), 429, "Message Buffer Full")
    assert p["type"] == "urn:flowmaster:problem:message-buffer-full", p
    prc = catch_process(small, name)
    assert start(small, prc, {"orderId": "F-9"})["state"] == "active", "the refused message was kept"
    # taking one makes room (the waiting instance takes a fresh F-9 at once)
    assert start(small, prc, {"orderId": "F-0"})["state"] == "completed"
    assert_json(publish(small, name, "F-5", {"v": 2}, timeToLive="PT30S"), 202)
    assert_problem(publish(small, name, "F-6", timeToLive="PT30S"), 429, "Message Buffer Full")
    assert_json(publish(small, name, "F-9", {"v": 3}, timeToLive="PT30S"), 200)
