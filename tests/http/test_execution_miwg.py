"""The BPMN MIWG reference models (../shared/conformance/bpmn-miwg/reference, see its
README.md) run on the Execution Engine: each executable one is imported and published
unchanged through Process Design (9003), started, its user tasks/jobs/messages answered,
and its exact element path (element.entered, in order) and end state asserted. The suite
tests interchange, not execution, so most models are not executable; which are and why:

Which process runs: Process Design records one `bpmnProcessId` per definition — the
`isExecutable="true"` process, else the first in the file — and POST /executions with
the design id starts that one (asserted). Plain `task`s pass through (docs/execution.md).
A.1.0, A.2.0, A.4.x and B.1.0 mark every process `isExecutable="false"`: the engine
refuses them as they are (422 naming the process, asserted), so each runs as a copy
with `isExecutable="true"`.

Executable (asserted here):
- A.1.0  none start -> 3 tasks -> end: completes.
- A.2.0  none start -> task -> exclusive gateway whose three flows have neither
         conditions nor a default (design warns `exclusive-gateway-unguarded`). A flow
         without a condition counts as true (BPMN 2.0 13.3.2; docs/execution.md says the
         same of inclusive gateways), so "the first flow (document order) whose condition
         is true" is Task 2 -> end: completes, Task 3 and Task 4 never entered.
- A.4.0, A.4.1  two pools; the first process (start -> 2 tasks -> end) runs and
         completes; the message flows are collaboration-only.
- B.1.0  four processes, none executable; the first (start -> task -> end) completes.
- C.9.1  (Camunda 8) none start -> send task with `zeebe:taskDefinition type="email"`
         (a job, completed here) -> receive task for `MESSAGE_documentReceived` keyed by
         `= documentReferenceId` (with an interrupting P7D and a non-interrupting R6/P1D
         timer boundary that must not fire) -> end: completes after the message.

Not executable (imported by test_design.py, not run here unless said):
- C.1.0, C.1.1  the Invoice process (C.1.0: message start `invoice-received-C.1.0`;
         C.1.1: none start) has a serviceTask `archiveInvoice` without
         `zeebe:taskDefinition`, and its gateway conditions are JUEL (`${approved}`) or
         XPath-style (`bpmn:getDataObject('approved')`), not FEEL. The engine refuses the
         definition up front; test_C_1_x_refused_up_front asserts that refusal (422 at
         /processId, the message start correlates to nothing, no instance made).
- A.2.1  conditional sequence flows leave tasks (Task 2, Task 4 carry `default`) and
         several conditions are empty; the engine evaluates conditions on gateways only.
- A.3.0  the collapsed sub-process is empty (no none start event to start its scope);
         its message boundary has no message (no name to correlate).
- B.2.0  the first process starts with a conditional start event alongside the none
         one, has a multi-instance user task without cardinality or collection, a service
         task without `zeebe:taskDefinition` and a message boundary without a message.
- C.2.0  the first process has only a message start whose message has no name; the
         others need messages from other pools.
- C.3.0  message start event only ("Service Level"), boundary message without key,
         itp-commerce conditions.
- C.4.0  intermediate signal throw (unsupported), message catches without messages,
         unguarded exclusive gateway.
- C.5.0  signal end events, a call activity to a process that is not published on its
         own, unguarded exclusive gateways.
- C.6.0  compensation, message start without name, send tasks without job definitions.
- C.7.0  service tasks without `zeebe:taskDefinition`, a business rule task without a
         called decision, unguarded exclusive gateway.
- C.8.0  not executable (`isExecutable="false"`, Trisotech/KnowProcess extensions).
- C.8.1  its first service task is an `http` connector to an external URL (tests send
         traffic only to 127.0.0.1), the DMN decision is referenced by a Trisotech id, and
         the conditions use names with spaces (`Vacation Approval = ...`).
- C.9.0  business rule task calls decision `risk_check` (not a FlowMaster rule set id),
         SendGrid connector jobs need secrets, a call to `ManualCheck` that nothing
         publishes.
- C.9.2  its user task's form is a Camunda Forms document (not a JSON Schema) and its
         `zeebe:ioMapping` inputs need `risks`/`applicant`, which nothing provides.
"""

import os

from harness import REPO, Skip, assert_json, assert_problem
from exec_support import (XML, assert_not_correlated, assert_ran_once, count, entered_path,
                          jobs, pointers, start, wait_for, wait_state, waiting)

MIWG = os.path.join(REPO, "..", "shared", "conformance", "bpmn-miwg")


def ref(name):
    path = os.path.join(MIWG, "reference", name)
    if not os.path.isdir(os.path.join(MIWG, "reference")):
        raise Skip("BPMN MIWG suite not found at %s" % os.path.normpath(MIWG))
    with open(path, "rb") as f:
        return f.read()


def deploy_ref(srv, name, executable=False):
    """executable: the copy with every isExecutable="false" made "true" (these models
    are drawn for interchange; the engine refuses isExecutable="false", issue 11 item 9)."""
    xml = ref(name)
    if executable:
        xml = xml.replace(b'isExecutable="false"', b'isExecutable="true"')
    r = srv.req("POST", 9003, "/processes?name=miwg-" + name, body=xml, headers=XML)
    p = assert_json(r, 201)
    r = srv.req("POST", 9003, "/processes/%s/publish" % p["id"], body={})
    assert r.status == 201, "publish %s: %r" % (name, r)
    return p


def run_linear(srv, name, bpmn_id, path):
    p = deploy_ref(srv, name)
    assert p["bpmnProcessId"] == bpmn_id, p
    pr = assert_problem(srv.req("POST", 9005, "/executions", body={"processId": p["id"]}), 422)
    assert "/processId" in pointers(pr) and "'%s' is not executable" % bpmn_id in pr["detail"], pr
    p = deploy_ref(srv, name, executable=True)
    assert p["bpmnProcessId"] == bpmn_id, p
    inst = start(srv, p["id"], {"model": name})
    assert inst["processId"] == p["id"] and inst["bpmnProcessId"] == bpmn_id, inst
    assert inst["version"] == 1 and inst["businessKey"] is None, inst
    done = wait_state(srv, inst["id"], "completed")
    assert done["activeElements"] == [] and done["incidents"] == 0, done
    assert done["variables"] == {"model": name}, done
    h = assert_ran_once(srv, inst["id"], path)
    assert entered_path(h) == path, "%s: path %r, want %r" % (name, entered_path(h), path)
    return h


def test_A_1_0(srv):
    run_linear(srv, "A.1.0.bpmn", "WFP-6-", [
        "_93c466ab-b271-4376-a427-f4c353d55ce8",    # Start Event
        "_ec59e164-68b4-4f94-98de-ffb1c58a84af",    # Task 1
        "_820c21c0-45f3-473b-813f-06381cc637cd",    # Task 2
        "_e70a6fcb-913c-4a7b-a65d-e83adc73d69c",    # Task 3
        "_a47df184-085b-49f7-bb82-031c84625821"])   # End Event


def test_A_2_0_unguarded_gateway(srv):
    run_linear(srv, "A.2.0.bpmn", "WFP-6-", [
        "_6b5db6a9-037a-49ad-9201-09201e2aaa97",    # Start Event
        "_5a972b87-735d-454a-b31c-f52fb3afc5c7",    # Task 1
        "_35fe57a7-1302-44e2-bf58-032f11af7ecb",    # Gateway (Split Flow), no conditions
        "_4f7d62d7-f0e6-46bc-be00-69e02da38f65",    # Task 2: the first outgoing flow
        "_258f51eb-b764-4a71-b681-3a01cca14143"])   # End Event


def test_A_4_0_first_pool(srv):
    run_linear(srv, "A.4.0.bpmn", "WFP-6-1", [
        "_c03f2b1f-32dc-41ef-b325-c9811a814fbe",    # Start Event 1
        "_ab851300-b5de-4ad3-bbec-215553757fc8",    # Task 1
        "_80d1f02b-f39c-45c2-b731-43df75d81779",    # Task 2
        "_6e79c19f-749d-48c4-8271-d9ca028354fa"])   # End Event 1


def test_A_4_1_first_pool(srv):
    run_linear(srv, "A.4.1.bpmn", "sid-34746A54-1D7D-46CA-B219-0C4CEAE51170", [
        "sid-70D2F83B-77E6-4301-835C-AFF6357344F8",  # Start Event 1
        "sid-3D477D07-D669-4A26-9454-12AD775FDE70",  # Task 1
        "sid-1208A5BA-9E1C-49D2-82E3-5DB2C0E9887D",  # Task 2
        "sid-5F0F3508-96EF-4F9B-9182-64AD17334E23"])  # End Event 1


def test_B_1_0_first_process(srv):
    run_linear(srv, "B.1.0.bpmn", "Process_ba16239e-181e-4b9f-bc5b-0bb2ee973450", [
        "_200f43e7-1385-46e2-a380-3ef16ebe7847",    # Start Event None 1
        "_c57a5344-213f-4834-a6c3-94ce878b413c",    # Abstract Task 4
        "_ed405919-9fd6-47d0-bb00-9be7d5467efb"])   # End Event None 2


def test_C_1_x_refused_up_front(srv):
    """C.1.0/C.1.1 would run two user tasks and then stop at non-FEEL gateway conditions,
    but their `archiveInvoice` serviceTask has no `zeebe:taskDefinition`, which the
    engine's table does not cover: the definition is refused before anything runs —
    POST /executions is a 422 at /processId, the message start of C.1.0 correlates to
    nothing — and no instance is left behind."""
    before = assert_json(srv.get(9005, "/executions?limit=1"))["total"]
    p = deploy_ref(srv, "C.1.1.bpmn")
    assert p["bpmnProcessId"] == "handle-invoice", p
    r = srv.req("POST", 9005, "/executions", body={"processId": p["id"], "variables": {"i": 1}})
    pr = assert_problem(r, 422)
    assert "/processId" in pointers(pr) and "archiveInvoice" in pr["detail"], pr
    p = deploy_ref(srv, "C.1.0.bpmn")
    assert p["bpmnProcessId"] == "bpmn-miwg-test-case-c.1.0", p
    assert_not_correlated(srv.req("POST", 9005, "/messages", body={
        "name": "invoice-received-C.1.0", "variables": {"invoice": "INV-1"}}))
    assert assert_json(srv.get(9005, "/executions?limit=1"))["total"] == before


def test_C_9_1_job_then_message(srv):
    p = deploy_ref(srv, "C.9.1.bpmn")
    assert p["bpmnProcessId"] == "requestDocument_en", p
    inst = start(srv, p["id"], {"documentReferenceId": "doc-42"})
    assert [(a["elementId"], a["waitingFor"]) for a in inst["activeElements"]] == \
        [("SendTask_RequestDocument", "job")], inst
    js = jobs(srv, executionId=inst["id"])
    assert [(j["type"], j["elementId"], j["state"]) for j in js] == \
        [("email", "SendTask_RequestDocument", "activatable")], js
    assert js[0]["variables"].get("documentReferenceId") == "doc-42", js
    # the message before the receive task waits: nobody is subscribed yet
    assert_not_correlated(srv.req("POST", 9005, "/messages", body={
        "name": "MESSAGE_documentReceived", "correlationKey": "doc-42"}))
    assert_json(srv.req("POST", 9005, "/jobs/%s/complete" % js[0]["id"], body={"variables": {"sent": True}}))
    inst = wait_for(srv, inst["id"], lambda i: waiting(i, "ReceiveTask_WaitForDocument", "message"))
    assert [a["elementId"] for a in inst["activeElements"]] == ["ReceiveTask_WaitForDocument"], inst
    # another key does not correlate
    assert_not_correlated(srv.req("POST", 9005, "/messages", body={
        "name": "MESSAGE_documentReceived", "correlationKey": "doc-41"}))
    j = assert_json(srv.req("POST", 9005, "/messages", body={
        "name": "MESSAGE_documentReceived", "correlationKey": "doc-42", "variables": {"document": "pdf"}}))
    assert (j["executionId"], j["elementId"], j["started"]) == \
        (inst["id"], "ReceiveTask_WaitForDocument", False), j
    done = wait_state(srv, inst["id"], "completed")
    assert done["variables"] == {"documentReferenceId": "doc-42", "sent": True, "document": "pdf"}, done
    path = ["StartEvent_DocumentRequested", "SendTask_RequestDocument",
            "ReceiveTask_WaitForDocument", "EndEvent_GotDocument"]
    h = assert_ran_once(srv, inst["id"], path)
    assert entered_path(h) == path, entered_path(h)
    for never in ("BoundaryEvent_1", "BoundaryEvent_2", "SendTask_SendReminderEmail",
                  "UserTask_CallCustomer"):
        assert count(h, "element.entered", never) == 0, (never, entered_path(h))
    assert [(j["state"], j["elementId"]) for j in jobs(srv, executionId=inst["id"], state="completed")] == \
        [("completed", "SendTask_RequestDocument")]
    assert jobs(srv, executionId=inst["id"]) == []
