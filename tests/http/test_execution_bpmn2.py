"""The rest of BPMN (issue 19 item 1; docs/execution.md, "BPMN supported"): link events,
conditional events (intermediate catch, interrupting boundary, interrupting event
subprocess start; evaluated again after every step, PUT /variables included), the
complex gateway (activationCondition), compensation (boundaries and handlers, throw and
end events, per activity instance, newest first, subprocess contents, activityRef) and
a transaction with a cancel end event and cancel boundary; what the engine cannot
honour is refused at start with a 422 naming the element (non-interrupting conditional
events, handlers without a boundary, cancel outside a transaction, ...), never run
differently. Each model is written as Camunda Modeler 5 writes it (bpmn:
prefix, incoming/outgoing, definition ids); each run is checked by its exact path in
the history and its final variables."""

from xml.sax.saxutils import escape

import harness
from exec_support import BPMN_NS, ZEEBE_NS, entered_path, history, start, deploy, wait_state
from harness import assert_json, assert_problem, unique_name

E = 9005
FIXTURES = {}


def model(pid, body, extra=""):
    return ("""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="%s" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
    xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:zeebe="%s"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:modeler="http://camunda.org/schema/modeler/1.0" id="Definitions_%s"
    targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.31.0"
    modeler:executionPlatform="Camunda Cloud" modeler:executionPlatformVersion="8.6.0">
  <bpmn:process id="%s" isExecutable="true">
%s
  </bpmn:process>%s
</bpmn:definitions>""" % (BPMN_NS, ZEEBE_NS, pid, pid, body, extra)).encode()


def seq(fid, src, tgt, cond=None):
    c = ('<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">%s</bpmn:conditionExpression>'
         % cond) if cond else ""
    return '<bpmn:sequenceFlow id="%s" sourceRef="%s" targetRef="%s">%s</bpmn:sequenceFlow>' % (fid, src, tgt, c)


def script(id, expr, result, inc, out):
    return ('<bpmn:scriptTask id="%s"><bpmn:extensionElements><zeebe:script expression="%s" '
            'resultVariable="%s" /></bpmn:extensionElements><bpmn:incoming>%s</bpmn:incoming>'
            '<bpmn:outgoing>%s</bpmn:outgoing></bpmn:scriptTask>' % (id, escape(expr, {'"': "&quot;"}), result,
                                                                     inc, out))


def run(srv, xml, variables=None):
    pid = deploy(srv, xml)["id"]
    return pid, start(srv, pid, variables or {})


def put_vars(srv, eid, variables):
    return assert_json(srv.req("PUT", E, "/executions/%s/variables" % eid, body={"variables": variables}))


def refused(srv, xml, element, words):
    pid = deploy(srv, xml)["id"]
    p = assert_problem(start(srv, pid, {}, status=None), 422)
    assert element in p["detail"] and words in p["detail"], p
    return p


# --- link events ---------------------------------------------------------------------

def test_link_events_jump_and_loop(srv):
    pid = unique_name("link")
    body = """
    <bpmn:startEvent id="start"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    """ + script("inc", "=n + 1", "n", "Flow_1</bpmn:incoming><bpmn:incoming>Flow_5", "Flow_2") + """
    <bpmn:exclusiveGateway id="more" default="Flow_4"><bpmn:incoming>Flow_2</bpmn:incoming>
      <bpmn:outgoing>Flow_3</bpmn:outgoing><bpmn:outgoing>Flow_4</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:intermediateThrowEvent id="go_again" name="again"><bpmn:incoming>Flow_3</bpmn:incoming>
      <bpmn:linkEventDefinition id="LinkEventDefinition_0a" name="again" /></bpmn:intermediateThrowEvent>
    <bpmn:intermediateCatchEvent id="again" name="again"><bpmn:outgoing>Flow_5</bpmn:outgoing>
      <bpmn:linkEventDefinition id="LinkEventDefinition_0b" name="again" /></bpmn:intermediateCatchEvent>
    <bpmn:intermediateThrowEvent id="go_done" name="done"><bpmn:incoming>Flow_4</bpmn:incoming>
      <bpmn:linkEventDefinition id="LinkEventDefinition_0c" name="done" /></bpmn:intermediateThrowEvent>
    <bpmn:intermediateCatchEvent id="done" name="done"><bpmn:outgoing>Flow_6</bpmn:outgoing>
      <bpmn:linkEventDefinition id="LinkEventDefinition_0d" name="done" /></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>Flow_6</bpmn:incoming></bpmn:endEvent>
    """ + seq("Flow_1", "start", "inc") + seq("Flow_2", "inc", "more") + \
        seq("Flow_3", "more", "go_again", "=n &lt; 3") + seq("Flow_4", "more", "go_done") + \
        seq("Flow_5", "again", "inc") + seq("Flow_6", "done", "end")
    _, i = run(srv, model(pid, body), {"n": 0})
    assert i["state"] == "completed", i
    assert i["variables"] == {"n": 3}, i
    assert entered_path(history(srv, i["id"])) == [
        "start", "inc", "more", "go_again", "again", "inc", "more", "go_again", "again", "inc", "more",
        "go_done", "done", "end"], entered_path(history(srv, i["id"]))


def test_link_without_catch_refused(srv):
    pid = unique_name("linkbad")
    body = """
    <bpmn:startEvent id="start"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateThrowEvent id="jump"><bpmn:incoming>Flow_1</bpmn:incoming>
      <bpmn:linkEventDefinition id="LinkEventDefinition_1" name="nowhere" /></bpmn:intermediateThrowEvent>
    """ + seq("Flow_1", "start", "jump")
    refused(srv, model(pid, body), "jump", "no link catch event named 'nowhere'")
    # two catches of one name in one scope: ambiguous
    body += """
    <bpmn:intermediateCatchEvent id="c1"><bpmn:linkEventDefinition id="L2" name="nowhere" /></bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="c2"><bpmn:linkEventDefinition id="L3" name="nowhere" /></bpmn:intermediateCatchEvent>
    """
    refused(srv, model(unique_name("linkbad"), body), "jump", "two link catch events")


# --- conditional events --------------------------------------------------------------

def cond(expr, did="ConditionalEventDefinition_1"):
    return ('<bpmn:conditionalEventDefinition id="%s"><bpmn:condition xsi:type="bpmn:tFormalExpression">'
            '%s</bpmn:condition></bpmn:conditionalEventDefinition>' % (did, expr))


def test_conditional_intermediate_catch(srv):
    pid = unique_name("condc")
    body = """
    <bpmn:startEvent id="start"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="approved" name="approved"><bpmn:incoming>Flow_1</bpmn:incoming>
      <bpmn:outgoing>Flow_2</bpmn:outgoing>""" + cond("=approved = true") + """</bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>Flow_2</bpmn:incoming></bpmn:endEvent>
    """ + seq("Flow_1", "start", "approved") + seq("Flow_2", "approved", "end")
    p, i = run(srv, model(pid, body), {"approved": False})
    assert i["state"] == "active", i
    assert [(a["elementId"], a["waitingFor"]) for a in i["activeElements"]] == [("approved", "condition")], i
    i = put_vars(srv, i["id"], {"other": 1})            # still false: waits
    assert i["state"] == "active", i
    i = put_vars(srv, i["id"], {"approved": True})
    assert i["state"] == "completed", i
    assert i["variables"] == {"approved": True, "other": 1}, i
    assert entered_path(history(srv, i["id"])) == ["start", "approved", "end"]
    # true on arrival: passes at once
    j = start(srv, p, {"approved": True})
    assert j["state"] == "completed" and entered_path(history(srv, j["id"])) == ["start", "approved", "end"]


def test_conditional_boundary_interrupts(srv):
    pid = unique_name("condb")
    body = """
    <bpmn:startEvent id="start"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="review" name="Review"><bpmn:incoming>Flow_1</bpmn:incoming>
      <bpmn:outgoing>Flow_2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>Flow_2</bpmn:incoming></bpmn:endEvent>
    <bpmn:boundaryEvent id="withdrawn" name="withdrawn" attachedToRef="review">
      <bpmn:outgoing>Flow_3</bpmn:outgoing>""" + cond("=status = \"withdrawn\"") + """</bpmn:boundaryEvent>
    """ + script("note", '="closed: " + status', "outcome", "Flow_3", "Flow_4") + """
    <bpmn:endEvent id="end_withdrawn"><bpmn:incoming>Flow_4</bpmn:incoming></bpmn:endEvent>
    """ + seq("Flow_1", "start", "review") + seq("Flow_2", "review", "end") + \
        seq("Flow_3", "withdrawn", "note") + seq("Flow_4", "note", "end_withdrawn")
    _, i = run(srv, model(pid, body), {"status": "open"})
    assert i["state"] == "active" and i["activeElements"][0]["waitingFor"] == "task", i
    task = i["activeElements"][0]["taskId"]
    i = put_vars(srv, i["id"], {"status": "withdrawn"})
    assert i["state"] == "completed", i
    assert i["variables"] == {"status": "withdrawn", "outcome": "closed: withdrawn"}, i
    h = history(srv, i["id"])
    assert entered_path(h) == ["start", "review", "withdrawn", "note", "end_withdrawn"], entered_path(h)
    # the task was withdrawn in 9006
    harness.wait_until(lambda: assert_json(srv.get(9006, "/tasks/" + task))["status"] == "cancelled",
                       what="the review task cancelled")


def test_conditional_event_subprocess(srv):
    pid = unique_name("conde")
    body = """
    <bpmn:startEvent id="start"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="work"><bpmn:extensionElements><zeebe:taskDefinition type="%s" />
      </bpmn:extensionElements><bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>Flow_2</bpmn:incoming></bpmn:endEvent>
    <bpmn:subProcess id="limit" triggeredByEvent="true">
      <bpmn:startEvent id="over_limit" name="over limit"><bpmn:outgoing>Flow_3</bpmn:outgoing>%s
      </bpmn:startEvent>
      %s
      <bpmn:endEvent id="limit_end"><bpmn:incoming>Flow_4</bpmn:incoming></bpmn:endEvent>
      %s%s
    </bpmn:subProcess>
    %s%s""" % (unique_name("condjob"), cond("=total &gt; 100"),
               script("escalate", '="manager"', "approver", "Flow_3", "Flow_4"),
               seq("Flow_3", "over_limit", "escalate"), seq("Flow_4", "escalate", "limit_end"),
               seq("Flow_1", "start", "work"), seq("Flow_2", "work", "end"))
    _, i = run(srv, model(pid, body), {"total": 10})
    assert i["state"] == "active" and i["activeElements"][0]["waitingFor"] == "job", i
    i = put_vars(srv, i["id"], {"total": 50})
    assert i["state"] == "active", i
    i = put_vars(srv, i["id"], {"total": 150})
    assert i["state"] == "completed", i
    assert i["variables"] == {"total": 150, "approver": "manager"}, i
    e = entered_path(history(srv, i["id"]))
    assert e == ["start", "work", "limit", "over_limit", "escalate", "limit_end"], e
    # the interrupted job is gone
    assert assert_json(srv.get(E, "/jobs?executionId=%s" % i["id"]))["items"] == []


def test_conditional_after_a_step(srv):
    """No PUT: a script's result makes the catch's condition true in the same step."""
    pid = unique_name("condstep")
    body = """
    <bpmn:startEvent id="start"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="fork"><bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>
      <bpmn:outgoing>Flow_3</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:intermediateCatchEvent id="ready"><bpmn:incoming>Flow_2</bpmn:incoming>
      <bpmn:outgoing>Flow_4</bpmn:outgoing>""" + cond("=x = 2") + """</bpmn:intermediateCatchEvent>
    """ + script("set", "=2", "x", "Flow_3", "Flow_5") + """
    <bpmn:endEvent id="end_a"><bpmn:incoming>Flow_4</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_b"><bpmn:incoming>Flow_5</bpmn:incoming></bpmn:endEvent>
    """ + seq("Flow_1", "start", "fork") + seq("Flow_2", "fork", "ready") + seq("Flow_3", "fork", "set") + \
        seq("Flow_4", "ready", "end_a") + seq("Flow_5", "set", "end_b")
    _, i = run(srv, model(pid, body), {"x": 0})
    assert i["state"] == "completed", i
    e = entered_path(history(srv, i["id"]))
    assert e.index("set") < e.index("end_a") and sorted(e) == sorted(
        ["start", "fork", "ready", "set", "end_a", "end_b"]), e


# --- what is refused -----------------------------------------------------------------

START = '<bpmn:startEvent id="start"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>'


def handler(id, expr, result):
    return ('<bpmn:scriptTask id="%s" isForCompensation="true"><bpmn:extensionElements><zeebe:script '
            'expression="%s" resultVariable="%s" /></bpmn:extensionElements></bpmn:scriptTask>'
            % (id, escape(expr, {'"': "&quot;"}), result))


def compensable(bid, activity, hid, n):
    return ('<bpmn:boundaryEvent id="%s" attachedToRef="%s"><bpmn:compensateEventDefinition '
            'id="CompensateEventDefinition_%d" /></bpmn:boundaryEvent>'
            '<bpmn:association id="Association_%d" associationDirection="One" sourceRef="%s" targetRef="%s" />'
            % (bid, activity, n, n, bid, hid))


def test_compensation_in_reverse_order(srv):
    """hotel, flight twice (a loop), a car inside a subprocess; the throw compensates
    every completed activity instance, newest first, then goes on."""
    body = START + script("hotel", '="booked"', "hotel", "Flow_1", "Flow_2") + \
        script("flight", "=flights + 1", "flights", "Flow_2</bpmn:incoming><bpmn:incoming>Flow_again", "Flow_3") + """
    <bpmn:exclusiveGateway id="more" default="Flow_4"><bpmn:incoming>Flow_3</bpmn:incoming>
      <bpmn:outgoing>Flow_again</bpmn:outgoing><bpmn:outgoing>Flow_4</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:subProcess id="extras"><bpmn:incoming>Flow_4</bpmn:incoming><bpmn:outgoing>Flow_5</bpmn:outgoing>
      <bpmn:startEvent id="extras_start"><bpmn:outgoing>Flow_e1</bpmn:outgoing></bpmn:startEvent>
      """ + script("car", '="rented"', "car", "Flow_e1", "Flow_e2") + """
      <bpmn:endEvent id="extras_end"><bpmn:incoming>Flow_e2</bpmn:incoming></bpmn:endEvent>
      """ + seq("Flow_e1", "extras_start", "car") + seq("Flow_e2", "car", "extras_end") + \
        compensable("car_comp", "car", "undo_car", 3) + handler("undo_car", '=append(undone, "car")', "undone") + """
    </bpmn:subProcess>
    <bpmn:intermediateThrowEvent id="compensate"><bpmn:incoming>Flow_5</bpmn:incoming>
      <bpmn:outgoing>Flow_6</bpmn:outgoing><bpmn:compensateEventDefinition id="CompensateEventDefinition_9" />
    </bpmn:intermediateThrowEvent>
    """ + script("after", "=count(undone)", "undoneCount", "Flow_6", "Flow_7") + """
    <bpmn:endEvent id="end"><bpmn:incoming>Flow_7</bpmn:incoming></bpmn:endEvent>
    """ + compensable("hotel_comp", "hotel", "undo_hotel", 1) + \
        handler("undo_hotel", '=append(undone, "hotel")', "undone") + \
        compensable("flight_comp", "flight", "undo_flight", 2) + \
        handler("undo_flight", '=append(undone, "flight " + string(flights))', "undone") + \
        seq("Flow_1", "start", "hotel") + seq("Flow_2", "hotel", "flight") + seq("Flow_3", "flight", "more") + \
        seq("Flow_again", "more", "flight", "=flights &lt; 2") + seq("Flow_4", "more", "extras") + \
        seq("Flow_5", "extras", "compensate") + seq("Flow_6", "compensate", "after") + seq("Flow_7", "after", "end")
    _, i = run(srv, model(unique_name("comp"), body), {"flights": 0, "undone": []})
    assert i["state"] == "completed", i
    assert i["variables"]["undone"] == ["car", "flight 2", "flight 2", "hotel"], i
    assert i["variables"]["undoneCount"] == 4, i
    h = history(srv, i["id"])
    e = entered_path(h)
    assert e == ["start", "hotel", "flight", "more", "flight", "more", "extras", "extras_start", "car",
                 "extras_end", "compensate", "undo_car", "undo_flight", "undo_flight", "undo_hotel", "after",
                 "end"], e
    thrown = [x for x in h if x["type"] == "compensation.thrown"]
    assert len(thrown) == 1 and thrown[0]["elementId"] == "compensate" and thrown[0]["data"] == {"handlers": 4}, h
    # nothing is compensated twice: a second throw would find no records (the instance ended)


def test_compensation_end_event_activity_ref_waits_for_a_job(srv):
    jt = unique_name("undojob")
    body = START + script("hotel", '="booked"', "hotel", "Flow_1", "Flow_2") + \
        script("flight", '="booked"', "flight", "Flow_2", "Flow_3") + """
    <bpmn:endEvent id="undo_hotel_only"><bpmn:incoming>Flow_3</bpmn:incoming>
      <bpmn:compensateEventDefinition id="CompensateEventDefinition_9" activityRef="hotel" /></bpmn:endEvent>
    <bpmn:serviceTask id="cancel_hotel" isForCompensation="true"><bpmn:extensionElements>
      <zeebe:taskDefinition type="%s" /></bpmn:extensionElements></bpmn:serviceTask>
    """ % jt + compensable("hotel_comp", "hotel", "cancel_hotel", 1) + \
        compensable("flight_comp", "flight", "undo_flight", 2) + \
        handler("undo_flight", '="cancelled"', "flight") + \
        seq("Flow_1", "start", "hotel") + seq("Flow_2", "hotel", "flight") + seq("Flow_3", "flight", "undo_hotel_only")
    _, i = run(srv, model(unique_name("compref"), body))
    assert i["state"] == "active", i
    assert sorted((a["elementId"], a["waitingFor"]) for a in i["activeElements"]) == [
        ("cancel_hotel", "job"), ("undo_hotel_only", "compensation")], i
    jb = [j for j in assert_json(srv.get(E, "/jobs?type=%s" % jt))["items"] if j["executionId"] == i["id"]]
    assert_json(srv.req("POST", E, "/jobs/%s/complete" % jb[0]["id"], body={"variables": {"hotel": "cancelled"}}))
    i = wait_state(srv, i["id"], "completed")
    assert i["variables"] == {"hotel": "cancelled", "flight": "booked"}, i     # flight not compensated
    assert entered_path(history(srv, i["id"])) == ["start", "hotel", "flight", "undo_hotel_only", "cancel_hotel"]


def transaction_model(pid):
    body = START + """
    <bpmn:transaction id="booking"><bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>
      <bpmn:startEvent id="tx_start"><bpmn:outgoing>Flow_t1</bpmn:outgoing></bpmn:startEvent>
      """ + script("reserve", '="reserved"', "seat", "Flow_t1", "Flow_t2") + """
      <bpmn:exclusiveGateway id="paid" default="Flow_t4"><bpmn:incoming>Flow_t2</bpmn:incoming>
        <bpmn:outgoing>Flow_t3</bpmn:outgoing><bpmn:outgoing>Flow_t4</bpmn:outgoing></bpmn:exclusiveGateway>
      <bpmn:endEvent id="tx_end"><bpmn:incoming>Flow_t3</bpmn:incoming></bpmn:endEvent>
      <bpmn:endEvent id="tx_cancel"><bpmn:incoming>Flow_t4</bpmn:incoming>
        <bpmn:cancelEventDefinition id="CancelEventDefinition_1" /></bpmn:endEvent>
      """ + compensable("reserve_comp", "reserve", "release", 1) + \
        handler("release", '="released"', "seat") + \
        seq("Flow_t1", "tx_start", "reserve") + seq("Flow_t2", "reserve", "paid") + \
        seq("Flow_t3", "paid", "tx_end", "=ok") + seq("Flow_t4", "paid", "tx_cancel") + """
    </bpmn:transaction>
    <bpmn:boundaryEvent id="cancelled" attachedToRef="booking"><bpmn:outgoing>Flow_3</bpmn:outgoing>
      <bpmn:cancelEventDefinition id="CancelEventDefinition_2" /></bpmn:boundaryEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>Flow_2</bpmn:incoming></bpmn:endEvent>
    """ + script("notify", '="sorry"', "message", "Flow_3", "Flow_4") + """
    <bpmn:endEvent id="end_cancelled"><bpmn:incoming>Flow_4</bpmn:incoming></bpmn:endEvent>
    """ + seq("Flow_1", "start", "booking") + seq("Flow_2", "booking", "end") + seq("Flow_3", "cancelled", "notify") + \
        seq("Flow_4", "notify", "end_cancelled")
    return model(pid, body)


def test_transaction_cancel_compensates_and_takes_the_boundary(srv):
    pid = deploy(srv, transaction_model(unique_name("txn")))["id"]
    i = start(srv, pid, {"ok": False})
    assert i["state"] == "completed", i
    assert i["variables"] == {"ok": False, "seat": "released", "message": "sorry"}, i
    h = history(srv, i["id"])
    assert entered_path(h) == ["start", "booking", "tx_start", "reserve", "paid", "tx_cancel", "release",
                               "cancelled", "notify", "end_cancelled"], entered_path(h)
    assert [x["elementId"] for x in h if x["type"] == "transaction.cancelled"] == ["tx_cancel"], h
    # paid: the transaction completes, nothing is compensated
    j = start(srv, pid, {"ok": True})
    assert j["state"] == "completed" and j["variables"] == {"ok": True, "seat": "reserved"}, j
    assert entered_path(history(srv, j["id"])) == ["start", "booking", "tx_start", "reserve", "paid", "tx_end", "end"]


def test_compensation_and_cancel_refusals(srv):
    # a handler nobody points at, a cancel end outside a transaction, waitForCompletion=false
    body = START + """<bpmn:endEvent id="end"><bpmn:incoming>Flow_1</bpmn:incoming></bpmn:endEvent>
    """ + handler("orphan", "=1", "x") + seq("Flow_1", "start", "end")
    refused(srv, model(unique_name("cr1"), body), "orphan", "no compensation boundary")
    body = START + """<bpmn:endEvent id="stop"><bpmn:incoming>Flow_1</bpmn:incoming>
      <bpmn:cancelEventDefinition id="CancelEventDefinition_1" /></bpmn:endEvent>""" + seq("Flow_1", "start", "stop")
    refused(srv, model(unique_name("cr2"), body), "stop", "inside a transaction")
    body = START + """<bpmn:endEvent id="undo"><bpmn:incoming>Flow_1</bpmn:incoming>
      <bpmn:compensateEventDefinition id="C1" waitForCompletion="false" /></bpmn:endEvent>""" + \
        seq("Flow_1", "start", "undo")
    refused(srv, model(unique_name("cr3"), body), "undo", "waitForCompletion")


def test_complex_gateway_activation_condition(srv):
    """Two of three branches activate the join; the third is absorbed when it comes."""
    jt = unique_name("cxjob")
    body = START + """
    <bpmn:parallelGateway id="fork"><bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_a</bpmn:outgoing>
      <bpmn:outgoing>Flow_b</bpmn:outgoing><bpmn:outgoing>Flow_c</bpmn:outgoing></bpmn:parallelGateway>
    """ + script("a", "=1", "a", "Flow_a", "Flow_a2") + script("c", "=1", "c", "Flow_c", "Flow_c2") + """
    <bpmn:serviceTask id="b"><bpmn:extensionElements><zeebe:taskDefinition type="%s" /></bpmn:extensionElements>
      <bpmn:incoming>Flow_b</bpmn:incoming><bpmn:outgoing>Flow_b2</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:complexGateway id="two_of_three"><bpmn:incoming>Flow_a2</bpmn:incoming>
      <bpmn:incoming>Flow_b2</bpmn:incoming><bpmn:incoming>Flow_c2</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>
      <bpmn:activationCondition xsi:type="bpmn:tFormalExpression">=activationCount &gt;= 2</bpmn:activationCondition>
    </bpmn:complexGateway>
    """ % jt + script("after", "=count + 1", "count", "Flow_2", "Flow_3") + """
    <bpmn:endEvent id="end"><bpmn:incoming>Flow_3</bpmn:incoming></bpmn:endEvent>
    """ + seq("Flow_1", "start", "fork") + seq("Flow_a", "fork", "a") + seq("Flow_b", "fork", "b") + \
        seq("Flow_c", "fork", "c") + seq("Flow_a2", "a", "two_of_three") + seq("Flow_b2", "b", "two_of_three") + \
        seq("Flow_c2", "c", "two_of_three") + seq("Flow_2", "two_of_three", "after") + seq("Flow_3", "after", "end")
    _, i = run(srv, model(unique_name("cx"), body), {"count": 0})
    # a and c arrived: the gateway fired once, after and end ran; b's job still runs and
    # the round stays open (a's and c's tokens held at the gateway until b's comes)
    assert i["state"] == "active", i
    assert sorted((a["elementId"], a["waitingFor"]) for a in i["activeElements"]) == [
        ("b", "job"), ("two_of_three", "join"), ("two_of_three", "join")], i
    assert i["variables"] == {"count": 1, "a": 1, "c": 1}, i
    jb = [j for j in assert_json(srv.get(E, "/jobs?type=%s" % jt))["items"] if j["executionId"] == i["id"]]
    assert len(jb) == 1, jb
    assert_json(srv.req("POST", E, "/jobs/%s/complete" % jb[0]["id"], body={"variables": {"b": 1}}))
    i = wait_state(srv, i["id"], "completed")
    assert i["variables"] == {"count": 1, "a": 1, "b": 1, "c": 1}, i
    h = history(srv, i["id"])
    e = entered_path(h)
    assert e.count("two_of_three") == 1 and e.count("after") == 1 and e.count("end") == 1, e
    steps = [(x["type"], x.get("elementId")) for x in h]
    # the gateway went on before b finished; b's token was absorbed, nothing ran after it
    assert steps.index(("element.left", "end")) < steps.index(("element.left", "b")), steps
    assert steps[-2:] == [("element.left", "b"), ("instance.completed", None)], steps[-3:]
    assert e[:2] == ["start", "fork"] and set(e) == {
        "start", "fork", "a", "b", "c", "two_of_three", "after", "end"}, e


def test_complex_gateway_split(srv):
    body = START + """
    <bpmn:complexGateway id="route" default="Flow_r"><bpmn:incoming>Flow_1</bpmn:incoming>
      <bpmn:outgoing>Flow_p</bpmn:outgoing><bpmn:outgoing>Flow_q</bpmn:outgoing><bpmn:outgoing>Flow_r</bpmn:outgoing>
    </bpmn:complexGateway>
    <bpmn:endEvent id="p"><bpmn:incoming>Flow_p</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="q"><bpmn:incoming>Flow_q</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="r"><bpmn:incoming>Flow_r</bpmn:incoming></bpmn:endEvent>
    """ + seq("Flow_1", "start", "route") + seq("Flow_p", "route", "p", "=x &gt; 1") + \
        seq("Flow_q", "route", "q", "=x &gt; 5") + seq("Flow_r", "route", "r")
    pid, i = run(srv, model(unique_name("cxs"), body), {"x": 3})
    assert i["state"] == "completed" and entered_path(history(srv, i["id"])) == ["start", "route", "p"]
    i = start(srv, pid, {"x": 9})
    assert sorted(entered_path(history(srv, i["id"]))[2:]) == ["p", "q"]
    i = start(srv, pid, {"x": 0})
    assert entered_path(history(srv, i["id"])) == ["start", "route", "r"]


def test_non_interrupting_conditional_refused(srv):
    body = START + """
    <bpmn:userTask id="review"><bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="remind" cancelActivity="false" attachedToRef="review">
      <bpmn:outgoing>Flow_3</bpmn:outgoing>""" + cond("=late") + """</bpmn:boundaryEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>Flow_2</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_r"><bpmn:incoming>Flow_3</bpmn:incoming></bpmn:endEvent>
    """ + seq("Flow_1", "start", "review") + seq("Flow_2", "review", "end") + seq("Flow_3", "remind", "end_r")
    refused(srv, model(unique_name("condni"), body), "remind", "interrupting boundary")
    # a conditional start of the process itself
    body = """
    <bpmn:startEvent id="start"><bpmn:outgoing>Flow_1</bpmn:outgoing>""" + cond("=go") + """</bpmn:startEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>Flow_1</bpmn:incoming></bpmn:endEvent>
    """ + seq("Flow_1", "start", "end")
    pid = deploy(srv, model(unique_name("condstart"), body))["id"]
    r = start(srv, pid, {}, status=None)
    assert r.status == 422, r


def test_compensation_survives_kill_9():
    """The records and a thrower waiting for its handler's job are in the instance
    document: after kill -9 the job completes and the remaining handler runs once."""
    import shutil
    import tempfile
    path = tempfile.mkdtemp(prefix="fm-exec-comp-")
    servers = []
    try:
        s1 = harness.Server(data_dir=path)
        servers.append(s1)
        jt = unique_name("undojob")
        body = START + script("hotel", '="booked"', "hotel", "Flow_1", "Flow_2") + \
            script("flight", '="booked"', "flight", "Flow_2", "Flow_3") + """
        <bpmn:endEvent id="undo_all"><bpmn:incoming>Flow_3</bpmn:incoming>
          <bpmn:compensateEventDefinition id="CompensateEventDefinition_9" /></bpmn:endEvent>
        <bpmn:serviceTask id="cancel_flight" isForCompensation="true"><bpmn:extensionElements>
          <zeebe:taskDefinition type="%s" /></bpmn:extensionElements></bpmn:serviceTask>
        """ % jt + compensable("flight_comp", "flight", "cancel_flight", 1) + \
            compensable("hotel_comp", "hotel", "undo_hotel", 2) + \
            handler("undo_hotel", '="cancelled"', "hotel") + \
            seq("Flow_1", "start", "hotel") + seq("Flow_2", "hotel", "flight") + seq("Flow_3", "flight", "undo_all")
        _, i = run(s1, model(unique_name("compkill"), body))
        assert sorted(a["waitingFor"] for a in i["activeElements"]) == ["compensation", "job"], i
        s1.kill()
        s2 = harness.Server(data_dir=path)
        servers.append(s2)
        jb = [j for j in assert_json(s2.get(E, "/jobs?type=%s" % jt))["items"] if j["executionId"] == i["id"]]
        assert len(jb) == 1, jb
        assert_json(s2.req("POST", E, "/jobs/%s/complete" % jb[0]["id"], body={"variables": {"flight": "cancelled"}}))
        i = wait_state(s2, i["id"], "completed")
        assert i["variables"] == {"hotel": "cancelled", "flight": "cancelled"}, i
        assert entered_path(history(s2, i["id"])) == ["start", "hotel", "flight", "undo_all", "cancel_flight",
                                                      "undo_hotel"]
    finally:
        for s in servers:
            s.close()
        shutil.rmtree(path, ignore_errors=True)
