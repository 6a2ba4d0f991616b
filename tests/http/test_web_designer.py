"""Process Designer (3002) in a real browser (issue 18): tests/browser/designer_journey.mjs
drives Debian's Chromium with playwright-core — sign in through the OIDC page, save a new
diagram (its warnings listed), append an end event on the canvas, publish; a concurrent
save makes the next save a 412 conflict that is shown; a process whose condition the FEEL
parser refuses is refused at publish with the error listed and marked on its flow; the
properties panel sets a user task's candidate groups (saved as zeebe:assignmentDefinition);
version 1 compared with the draft marks the changed task; a call activity opens the
process it calls; axe-core on the page. The
API is then asked what the browser did. Screenshots as in test_web_engage."""

import json
import os
import subprocess
import sys

from harness import ADMIN_EMAIL, ADMIN_PASSWORD, Server, Skip, assert_json
from test_web_engage import BROWSER_DIR, artifacts_dir, chromium_ok, npm_ci

FIXTURES = {"web": lambda: Server()}
TEST_TIMEOUT = 180

DI_NS = ('xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
         'xmlns:di="http://www.omg.org/spec/DD/20100524/DI"')

CALLEE = ("""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" %s id="Defs_callee"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="Process_callee" name="Called checks" isExecutable="true">
    <bpmn:startEvent id="CS"/><bpmn:endEvent id="CE"/>
    <bpmn:sequenceFlow id="CF" sourceRef="CS" targetRef="CE"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="D_callee"><bpmndi:BPMNPlane id="P_callee" bpmnElement="Process_callee">
    <bpmndi:BPMNShape id="CS_di" bpmnElement="CS"><dc:Bounds x="100" y="100" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="CE_di" bpmnElement="CE"><dc:Bounds x="250" y="100" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="CF_di" bpmnElement="CF"><di:waypoint x="136" y="118"/><di:waypoint x="250" y="118"/></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>""" % DI_NS).encode()

CALLER = ("""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" %s
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="Defs_caller" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="Process_caller" name="Caller" isExecutable="true">
    <bpmn:startEvent id="S"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Approve" name="Approve it"><bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing></bpmn:userTask>
    <bpmn:callActivity id="Checks" name="Run the checks">
      <bpmn:extensionElements><zeebe:calledElement processId="Process_callee" propagateAllChildVariables="false"/></bpmn:extensionElements>
      <bpmn:incoming>F2</bpmn:incoming><bpmn:outgoing>F3</bpmn:outgoing></bpmn:callActivity>
    <bpmn:endEvent id="E"><bpmn:incoming>F3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="Approve"/>
    <bpmn:sequenceFlow id="F2" sourceRef="Approve" targetRef="Checks"/>
    <bpmn:sequenceFlow id="F3" sourceRef="Checks" targetRef="E"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="D_caller"><bpmndi:BPMNPlane id="P_caller" bpmnElement="Process_caller">
    <bpmndi:BPMNShape id="S_di" bpmnElement="S"><dc:Bounds x="100" y="100" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="Approve_di" bpmnElement="Approve"><dc:Bounds x="190" y="78" width="100" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="Checks_di" bpmnElement="Checks"><dc:Bounds x="340" y="78" width="100" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="E_di" bpmnElement="E"><dc:Bounds x="490" y="100" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="F1_di" bpmnElement="F1"><di:waypoint x="136" y="118"/><di:waypoint x="190" y="118"/></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="F2_di" bpmnElement="F2"><di:waypoint x="290" y="118"/><di:waypoint x="340" y="118"/></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="F3_di" bpmnElement="F3"><di:waypoint x="440" y="118"/><di:waypoint x="490" y="118"/></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>""" % DI_NS).encode()

BROKEN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="Defs_broken" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="Process_broken" isExecutable="true">
    <bpmn:startEvent id="Start"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="Split"><bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>Flow_big</bpmn:outgoing><bpmn:outgoing>Flow_small</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="End"><bpmn:incoming>Flow_big</bpmn:incoming><bpmn:incoming>Flow_small</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Start" targetRef="Split"/>
    <bpmn:sequenceFlow id="Flow_big" sourceRef="Split" targetRef="End">
      <bpmn:conditionExpression>= amount &gt;</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_small" sourceRef="Split" targetRef="End">
      <bpmn:conditionExpression>= amount &lt;= 1000</bpmn:conditionExpression></bpmn:sequenceFlow>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="Diagram_1"><bpmndi:BPMNPlane id="Plane_1" bpmnElement="Process_broken">
    <bpmndi:BPMNShape id="Start_di" bpmnElement="Start"><dc:Bounds x="100" y="100" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="Split_di" bpmnElement="Split" isMarkerVisible="true"><dc:Bounds x="200" y="93" width="50" height="50"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="End_di" bpmnElement="End"><dc:Bounds x="350" y="100" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="F1_di" bpmnElement="F1"><di:waypoint x="136" y="118"/><di:waypoint x="200" y="118"/></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="Flow_big_di" bpmnElement="Flow_big"><di:waypoint x="250" y="118"/><di:waypoint x="350" y="118"/></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="Flow_small_di" bpmnElement="Flow_small"><di:waypoint x="225" y="143"/><di:waypoint x="225" y="200"/><di:waypoint x="368" y="200"/><di:waypoint x="368" y="136"/></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>"""


def test_designer_journey_in_chromium(web):
    if not chromium_ok():
        raise Skip("Debian's chromium is not installed (scripts/deps.sh test installs it); "
                   "the browser journey needs it")
    node = npm_ci()
    broken = assert_json(web.req("POST", 9003, "/processes?name=Broken%20split", body=BROKEN,
                                 headers={"Content-Type": "application/xml"}), 201)
    assert not broken["publishable"], broken
    xml_h = {"Content-Type": "application/xml"}
    callee = assert_json(web.req("POST", 9003, "/processes", body=CALLEE, headers=xml_h), 201)
    caller = assert_json(web.req("POST", 9003, "/processes", body=CALLER, headers=xml_h), 201)
    for p in (callee, caller):
        assert web.req("POST", 9003, "/processes/%s/publish" % p["id"], body={}).status == 201

    shots = artifacts_dir()
    cfg = {"designer": "http://127.0.0.1:%d/" % web.port(3002), "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD,
           "tenant": "default", "artifacts": shots,
           "broken": {"id": broken["id"], "flow": "Flow_big"},
           "caller": {"id": caller["id"]}, "callee": {"id": callee["id"], "name": "Called checks"}}
    r = subprocess.run([node, os.path.join(BROWSER_DIR, "designer_journey.mjs"), json.dumps(cfg)],
                       cwd=BROWSER_DIR, capture_output=True, text=True, timeout=240)
    sys.stderr.write("designer screenshots: %s\n" % shots)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    out = json.loads(lines[-1]) if lines else {}
    assert r.returncode == 0 and out.get("ok"), "browser journey failed (screenshots in %s): %r\n%s" % (
        shots, out, r.stderr[-1500:])
    assert {"published", "conflict", "refused-and-marked", "properties-saved", "diff-marked",
            "call-activity-opened"} <= set(out["steps"]), out

    # what the browser did, seen through the API
    # (the other writer's rename stands: the conflicting save overwrote nothing)
    items = assert_json(web.get(9003, "/processes?q=Renamed%20elsewhere"))["items"]
    assert len(items) == 1 and items[0]["status"] == "published", items
    assert assert_json(web.get(9003, "/processes?q=Designer%20journey"))["items"] == []
    xml = web.get(9003, "/processes/%s/bpmn?version=1" % items[0]["id"]).text
    assert "endEvent" in xml and "StartEvent_1" in xml, xml
    assert assert_json(web.get(9003, "/processes/" + broken["id"]))["status"] == "draft"
    # the properties panel's edit is in the saved draft, as the engine reads it
    xml = web.get(9003, "/processes/%s/bpmn" % caller["id"]).text
    assert 'zeebe:assignmentDefinition' in xml and 'candidateGroups="clerks"' in xml, xml
