"""Drafts need not be finished (issue 11 item 5, design-time half; docs/bpmn.md,
"Validation"): Process Design stores an unfinished process and lists its problems as
`warnings`; publish refuses only what cannot run (severity "error"). Models are written
the way Camunda Modeler 5 writes them for Camunda 8 (bpmn: prefix, zeebe: extensions,
`=`-FEEL, incoming/outgoing children, BPMNDI)."""

from harness import assert_json, assert_problem

XML = {"Content-Type": "application/xml"}

FIXTURES = {}


def modeler(body, di=""):
    """A Camunda Modeler 5 (Camunda 8 platform) file with one process Process_draft."""
    return ("""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"
    xmlns:modeler="http://camunda.org/schema/modeler/1.0" id="Definitions_1"
    targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.28.0"
    modeler:executionPlatform="Camunda Cloud" modeler:executionPlatformVersion="8.6.0">
  <bpmn:process id="Process_draft" name="Draft" isExecutable="true">
%s
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_1">
    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="Process_draft">
      <bpmndi:BPMNShape id="_BPMNShape_StartEvent_2" bpmnElement="StartEvent_1">
        <dc:Bounds x="179" y="99" width="36" height="36"/>
      </bpmndi:BPMNShape>%s
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>""" % (body, di)).encode()


START = """    <bpmn:startEvent id="StartEvent_1" name="Order received">
      <bpmn:outgoing>Flow_1</bpmn:outgoing>
    </bpmn:startEvent>"""

REVIEW = """    <bpmn:userTask id="Activity_review" name="Review order">
      <bpmn:extensionElements>
        <zeebe:assignmentDefinition assignee="=initiator"/>
      </bpmn:extensionElements>
      <bpmn:incoming>Flow_1</bpmn:incoming>%s
    </bpmn:userTask>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_review"/>"""


def problems(items):
    return sorted((p["code"], p["id"], p["severity"]) for p in items)


def save(srv, xml):
    return srv.req("POST", 9003, "/processes", body=xml, headers=XML)


def publish(srv, pid):
    return srv.req("POST", 9003, "/processes/%s/publish" % pid, body={})


def test_no_end_event_is_a_draft_and_publishes(srv):
    xml = modeler(START + "\n" + REVIEW % "")
    p = assert_json(save(srv, xml), 201)
    assert problems(p["warnings"]) == [("no-end-event", "Process_draft", "warning")], p["warnings"]
    w = p["warnings"][0]
    assert w["message"] == "process 'Process_draft' has no end event", w
    assert w["pointer"] == "#Process_draft" and w["detail"] == w["message"], w
    assert p["publishable"] is True and p["status"] == "draft", p
    # Zeebe deploys it (the token ends at the task): publish does too, still warning
    v = assert_json(publish(srv, p["id"]), 201)
    assert v["version"] == 1, v
    assert problems(v["warnings"]) == [("no-end-event", "Process_draft", "warning")], v
    # GET lists the same problems
    g = assert_json(srv.get(9003, "/processes/%s" % p["id"]))
    assert problems(g["problems"]) == [("no-end-event", "Process_draft", "warning")], g
    assert g["publishable"] is True, g


def test_gateway_with_one_flow_and_unconnected_task_are_warnings(srv):
    body = START + "\n" + REVIEW % "\n      <bpmn:outgoing>Flow_2</bpmn:outgoing>" + """
    <bpmn:exclusiveGateway id="Gateway_ok" name="Approved?">
      <bpmn:incoming>Flow_2</bpmn:incoming>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_review" targetRef="Gateway_ok"/>
    <bpmn:serviceTask id="Activity_ship" name="Ship">
      <bpmn:extensionElements><zeebe:taskDefinition type="ship"/></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:endEvent id="Event_done"/>"""
    di = """
      <bpmndi:BPMNShape id="Activity_ship_di" bpmnElement="Activity_ship">
        <dc:Bounds x="400" y="200" width="100" height="80"/>
      </bpmndi:BPMNShape>"""
    p = assert_json(save(srv, modeler(body, di)), 201)
    assert problems(p["warnings"]) == [
        ("gateway-without-outgoing", "Gateway_ok", "warning"),
        ("unreachable", "Activity_ship", "warning"),
        ("unreachable", "Event_done", "warning"),
    ], p["warnings"]
    assert p["publishable"] is True, p
    v = assert_json(publish(srv, p["id"]), 201)
    assert len(v["warnings"]) == 3, v


def test_what_cannot_run_is_saved_but_refused_at_publish(srv):
    # no start event, a condition that is not FEEL, a flow to a deleted task
    body = """    <bpmn:userTask id="Activity_review" name="Review order">
      <bpmn:outgoing>Flow_1</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="Activity_review" targetRef="Event_done">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">=amount &gt; &gt; 1</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_review" targetRef="Activity_deleted"/>
    <bpmn:endEvent id="Event_done"/>"""
    p = assert_json(save(srv, modeler(body)), 201)
    assert problems(p["warnings"]) == [
        ("broken-di-reference", "StartEvent_1", "warning"),
        ("broken-reference", "Flow_2", "error"),
        ("invalid-expression", "Flow_1", "error"),
        ("no-start-event", "Process_draft", "error"),
    ], p["warnings"]
    assert p["publishable"] is False, p
    pr = assert_problem(publish(srv, p["id"]), 422)
    assert pr["type"] == "urn:flowmaster:problem:invalid-bpmn", pr
    assert problems(pr["errors"]) == [
        ("broken-reference", "Flow_2", "error"),
        ("invalid-expression", "Flow_1", "error"),
        ("no-start-event", "Process_draft", "error"),
    ], pr
    assert problems(pr["warnings"]) == [("broken-di-reference", "StartEvent_1", "warning")], pr
    # nothing was published
    g = assert_json(srv.get(9003, "/processes/%s" % p["id"]))
    assert g["status"] == "draft" and g["publishable"] is False, g
    # finishing the draft with PUT makes it publishable
    fixed = modeler(START + "\n" + REVIEW % "\n      <bpmn:outgoing>Flow_2</bpmn:outgoing>" + """
    <bpmn:endEvent id="Event_done"><bpmn:incoming>Flow_2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_review" targetRef="Event_done"/>""")
    u = assert_json(srv.req("PUT", 9003, "/processes/%s" % p["id"], body=fixed,
                            headers={"Content-Type": "application/xml", "If-Match": '"r1"'}))
    assert u["warnings"] == [] and u["publishable"] is True, u
    assert_json(publish(srv, p["id"]), 201)


def test_not_bpmn_still_refused(srv):
    # duplicate ids and a document without a process are refused even as drafts
    dup = modeler(START + "\n" + REVIEW % "" + """
    <bpmn:endEvent id="Activity_review"/>""")
    pr = assert_problem(save(srv, dup), 422)
    assert problems(pr["errors"]) == [("duplicate-id", "Activity_review", "error")], pr
    none = (b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D">'
            b'<bpmn:message id="m" name="x"/></bpmn:definitions>')
    pr = assert_problem(save(srv, none), 422)
    assert [e["code"] for e in pr["errors"]] == ["no-process"], pr
    # not well-formed XML, and well-formed XML that is not BPMN (a DMN file), stay 400
    assert_problem(save(srv, b"<bpmn:definitions"), 400, "Malformed XML")
    dmn = (b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" '
           b'namespace="x"/>')
    pr = assert_problem(save(srv, dmn), 400, "Malformed XML")
    assert "BPMN" in pr["detail"], pr
