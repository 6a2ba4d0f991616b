"""Camunda Forms (issue 11 item 6; docs/tasks.md "Forms" and "The form store"): form-js
schemas as Camunda Modeler writes them, validated by the Human Task Service (9006);
the form store of Process Design (9003: POST/GET/PUT /forms, publish, versions); user
tasks whose form is embedded (zeebe:userTaskForm + formKey "camunda-forms:bpmn:…") or
linked (zeebe:formDefinition formId, latest published or bound to a version tag) run,
refuse a bad answer with 422 and complete on a good one."""

import copy
import json
from xml.sax.saxutils import escape

from exec_support import deploy, respond, start, wait_for, wait_state, wait_task
from harness import assert_json, assert_problem

FIXTURES = {}

T = 9006

# A Camunda Modeler 5.28 .form file (form-js schemaVersion 16), as saved.
INVOICE_FORM = {
    "components": [
        {"text": "# Approve invoice", "type": "text", "layout": {"row": "Row_0", "columns": None},
         "id": "Field_0hxw2kq"},
        {"label": "Approved", "type": "checkbox", "layout": {"row": "Row_1", "columns": None},
         "id": "Field_1q1ak7d", "key": "approved", "defaultValue": False},
        {"label": "Amount approved", "type": "number", "layout": {"row": "Row_2", "columns": None},
         "id": "Field_0r0m1fy", "key": "approvedAmount", "decimalDigits": 2,
         "validate": {"required": True, "min": 0, "max": 5000}},
        {"label": "Cost centre", "type": "select", "layout": {"row": "Row_2", "columns": None},
         "id": "Field_0y7z7h3", "key": "costCentre", "validate": {"required": True},
         "values": [{"label": "Sales", "value": "CC-100"}, {"label": "IT", "value": "CC-200"}]},
        {"label": "Reason", "type": "textarea", "layout": {"row": "Row_3", "columns": None},
         "id": "Field_1hb4ol0", "key": "reason", "validate": {"required": True, "minLength": 10},
         "conditional": {"hide": "=approved"}},
        {"action": "submit", "label": "Submit", "type": "button", "id": "Field_0ldr1vj"},
    ],
    "type": "default",
    "id": "invoice-approval",
    "executionPlatform": "Camunda Cloud",
    "executionPlatformVersion": "8.6.0",
    "exporter": {"name": "Camunda Modeler", "version": "5.28.0"},
    "schemaVersion": 16,
}

GOOD = {"approved": True, "approvedAmount": 1200.5, "costCentre": "CC-200"}


def modeler_process(pid, task_ext, proc_ext=""):
    """A Camunda Modeler 5 file: start → userTask Activity_approve → end."""
    return ("""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" xmlns:modeler="http://camunda.org/schema/modeler/1.0"
    id="Definitions_%s" targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler"
    exporterVersion="5.28.0" modeler:executionPlatform="Camunda Cloud" modeler:executionPlatformVersion="8.6.0">
  <bpmn:process id="%s" name="Invoice approval" isExecutable="true">%s
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Activity_approve" name="Approve invoice">
      <bpmn:extensionElements>%s</bpmn:extensionElements>
      <bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="Event_done"><bpmn:incoming>Flow_2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_approve"/>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_approve" targetRef="Event_done"/>
  </bpmn:process>
</bpmn:definitions>""" % (pid, pid, proc_ext, task_ext)).encode()


def errors_of(p):
    return [(e["pointer"], e["detail"]) for e in p["errors"]]


def task(srv, tid):
    return assert_json(srv.get(T, "/tasks/" + tid))


def test_form_store(srv):
    form = copy.deepcopy(INVOICE_FORM)
    form["id"] = "store-demo"
    r = srv.req("POST", 9003, "/forms", body=form)
    f = assert_json(r, 201)
    assert r.headers["location"] == "/forms/store-demo" and r.headers["etag"] == '"r1"', r.headers
    assert f["formId"] == "store-demo" and f["name"] == "store-demo" and f["status"] == "draft", f
    assert f["latestVersion"] == 0 and f["schema"] == form, f
    assert_problem(srv.req("POST", 9003, "/forms", body=form), 409)
    # the envelope form names it
    other = {"name": "Other form", "schema": {"id": "store-other", "type": "default", "components": []}}
    assert assert_json(srv.req("POST", 9003, "/forms", body=other), 201)["name"] == "Other form"
    items = assert_json(srv.get(9003, "/forms"))["items"]
    assert [i["formId"] for i in items] == ["store-other", "store-demo"], items   # by name
    assert "schema" not in items[0], items
    # publish: version 1 (no tag), then an edit published as version 2 tagged v2
    v = assert_json(srv.req("POST", 9003, "/forms/store-demo/publish"), 201)
    assert v["version"] == 1 and v["versionTag"] is None, v
    form["components"][2]["validate"]["max"] = 9000
    assert_problem(srv.req("PUT", 9003, "/forms/store-demo", body=form, headers={"If-Match": '"r9"'}),
                   412, "Precondition Failed")
    r = srv.req("PUT", 9003, "/forms/store-demo", body=form, headers={"If-Match": '"r1"'})
    assert assert_json(r)["revision"] == 2 and r.headers["etag"] == '"r2"', r
    v = assert_json(srv.req("POST", 9003, "/forms/store-demo/publish", body={"versionTag": "v2", "note": "max 9000"}),
                    201)
    assert v["version"] == 2 and v["versionTag"] == "v2" and v["note"] == "max 9000", v
    vs = assert_json(srv.get(9003, "/forms/store-demo/versions"))
    assert [x["version"] for x in vs["items"]] == [2, 1] and vs["total"] == 2, vs
    tagged = assert_json(srv.get(9003, "/forms/store-demo/versions?versionTag=v2"))["items"]
    assert [x["version"] for x in tagged] == [2], tagged
    one = assert_json(srv.get(9003, "/forms/store-demo/versions/1"))
    assert one["schema"]["components"][2]["validate"]["max"] == 5000 and one["versionTag"] is None, one
    assert assert_json(srv.get(9003, "/forms/store-demo/versions/2"))["schema"] == form
    # a versionTag written into the schema (Camunda 8.6 form-js) is the default tag
    form["versionTag"] = "v3"
    assert_json(srv.req("PUT", 9003, "/forms/store-demo", body=form))
    assert assert_json(srv.req("POST", 9003, "/forms/store-demo/publish"), 201)["versionTag"] == "v3"
    g = assert_json(srv.get(9003, "/forms/store-demo"))
    assert g["status"] == "published" and g["latestVersion"] == 3, g
    # refusals: 404s, not a form-js schema, unusable components, ids
    assert_problem(srv.get(9003, "/forms/nope"), 404)
    assert_problem(srv.get(9003, "/forms/store-demo/versions/9"), 404)
    assert_problem(srv.req("POST", 9003, "/forms/nope/publish"), 404)
    p = assert_problem(srv.req("POST", 9003, "/forms", body={"type": "object", "properties": {}}), 422)
    assert "components" in p["detail"] or "components" in json.dumps(p.get("errors")), p
    p = assert_problem(srv.req("POST", 9003, "/forms", body={"id": "bad", "components": [{"type": "textfield"}]}),
                       422)
    assert "/components/0/key: is required" in json.dumps(p), p
    assert_problem(srv.req("POST", 9003, "/forms", body={"id": "a/b", "components": []}), 422)
    assert_problem(srv.req("POST", 9003, "/forms", body={"components": []}), 422)      # no id
    assert_problem(srv.req("PUT", 9003, "/forms/store-demo", body={"id": "other", "components": []}), 422)
    # tenants apart
    h = srv.tenant_headers("forms-other")
    assert_problem(srv.req("GET", 9003, "/forms/store-demo", headers=h), 404)
    assert assert_json(srv.req("GET", 9003, "/forms", headers=h))["items"] == []


def test_task_with_form_js_form(srv):
    t = assert_json(srv.req("POST", T, "/tasks", body={"name": "Approve", "form": INVOICE_FORM,
                                                       "assignee": "usr_x"}), 201)
    assert t["form"] == INVOICE_FORM, t
    # not approved: the reason shows, and is required; wrong type, range and option
    p = assert_problem(respond(srv, t["id"], {"approved": False, "approvedAmount": 6000,
                                              "costCentre": "CC-999"}), 422)
    assert p["type"] == "urn:flowmaster:problem:validation", p
    assert errors_of(p) == [
        ("/response/approvedAmount", "Field must have maximum value of 5000."),
        ("/response/costCentre", "Field must be one of the options."),
        ("/response/reason", "Field is required."),
    ], p
    p = assert_problem(respond(srv, t["id"], {"approved": "yes", "approvedAmount": 1.005}), 422)
    assert errors_of(p) == [
        ("/response/approved", "Field must be true or false."),
        ("/response/approvedAmount", "Value is expected to have at most 2 decimal digits."),
        ("/response/costCentre", "Field is required."),
        ("/response/reason", "Field is required."),
    ], p
    assert task(srv, t["id"])["status"] == "assigned"       # nothing stored
    done = assert_json(respond(srv, t["id"], GOOD))
    assert done["status"] == "completed" and done["response"] == GOOD, done
    # a form-js schema that cannot be used is refused at creation, at /form (a bound may be
    # a numeric string, as the form-js editor writes it, but not just any string)
    p = assert_problem(srv.req("POST", T, "/tasks", body={"name": "x", "form": {
        "type": "default", "components": [{"type": "number", "key": "a", "validate": {"min": "one"}}]}}), 422)
    assert p["errors"][0]["pointer"] == "/form", p
    assert "/components/0/validate/min" in p["errors"][0]["detail"], p
    t = assert_json(srv.req("POST", T, "/tasks", body={"name": "x", "assignee": "usr_x", "form": {
        "type": "default", "components": [{"type": "number", "key": "a", "validate": {"min": "1"}}]}}), 201)
    p = assert_problem(respond(srv, t["id"], {"a": 0}), 422)
    assert p["errors"] == [{"pointer": "/response/a", "detail": "Field must have minimum value of 1."}], p


def test_embedded_camunda_form_runs(srv):
    pid = "Process_embedded_form"
    proc_ext = ('\n    <bpmn:extensionElements>\n      <zeebe:userTaskForm id="UserTaskForm_1">%s'
                '</zeebe:userTaskForm>\n    </bpmn:extensionElements>'
                % escape(json.dumps(INVOICE_FORM), {'"': "&quot;"}))
    xml = modeler_process(pid, '<zeebe:formDefinition formKey="camunda-forms:bpmn:UserTaskForm_1"/>', proc_ext)
    p = deploy(srv, xml)
    i = start(srv, p["id"], {"invoiceId": "INV-7"})
    tid = wait_task(srv, i["id"], "Activity_approve")
    t = task(srv, tid)
    assert t["form"] == INVOICE_FORM, t
    p422 = assert_problem(respond(srv, tid, {"approved": False, "approvedAmount": 10, "costCentre": "CC-100",
                                             "reason": "too short"}), 422)
    assert errors_of(p422) == [("/response/reason", "Field must have minimum length of 10.")], p422
    assert wait_task(srv, i["id"], "Activity_approve") == tid       # still waiting
    assert_json(respond(srv, tid, {"approved": False, "approvedAmount": 10, "costCentre": "CC-100",
                                   "reason": "over budget this quarter"}))
    done = wait_state(srv, i["id"], "completed")
    assert done["variables"] == {"invoiceId": "INV-7", "approved": False, "approvedAmount": 10,
                                 "costCentre": "CC-100", "reason": "over budget this quarter"}, done


def test_linked_form_by_form_id_runs(srv):
    v1 = copy.deepcopy(INVOICE_FORM)
    v1["id"] = "linked-invoice"
    v1["components"][2]["validate"]["max"] = 100            # v1: at most 100
    assert_json(srv.req("POST", 9003, "/forms", body=v1), 201)
    assert_json(srv.req("POST", 9003, "/forms/linked-invoice/publish", body={"versionTag": "v1"}), 201)
    latest = copy.deepcopy(v1)
    latest["components"][2]["validate"]["max"] = 5000       # latest: at most 5000
    assert_json(srv.req("PUT", 9003, "/forms/linked-invoice", body=latest))
    assert_json(srv.req("POST", 9003, "/forms/linked-invoice/publish"), 201)
    # a draft edit after that is not what tasks get
    draft = copy.deepcopy(latest)
    draft["components"][2]["validate"]["max"] = 1
    assert_json(srv.req("PUT", 9003, "/forms/linked-invoice", body=draft))

    # latest published (no bindingType: "latest", as in Camunda 8)
    p = deploy(srv, modeler_process("Process_linked_latest", '<zeebe:formDefinition formId="linked-invoice"/>'))
    i = start(srv, p["id"], {})
    tid = wait_task(srv, i["id"], "Activity_approve")
    assert task(srv, tid)["form"] == latest
    p422 = assert_problem(respond(srv, tid, {"approved": True, "approvedAmount": 6000, "costCentre": "CC-100"}), 422)
    assert errors_of(p422) == [("/response/approvedAmount", "Field must have maximum value of 5000.")], p422
    assert_json(respond(srv, tid, {"approved": True, "approvedAmount": 4000, "costCentre": "CC-100"}))
    assert wait_state(srv, i["id"], "completed")["variables"]["approvedAmount"] == 4000

    # bound to a version tag
    p = deploy(srv, modeler_process("Process_linked_tag", '<zeebe:formDefinition formId="linked-invoice" '
                                                          'bindingType="versionTag" versionTag="v1"/>'))
    i = start(srv, p["id"], {})
    tid = wait_task(srv, i["id"], "Activity_approve")
    assert task(srv, tid)["form"] == v1
    p422 = assert_problem(respond(srv, tid, {"approved": True, "approvedAmount": 4000, "costCentre": "CC-100"}), 422)
    assert errors_of(p422) == [("/response/approvedAmount", "Field must have maximum value of 100.")], p422
    assert_json(respond(srv, tid, {"approved": True, "approvedAmount": 99, "costCentre": "CC-200"}))
    wait_state(srv, i["id"], "completed")


def test_unresolvable_form_id_is_an_incident(srv):
    cases = [
        ('<zeebe:formDefinition formId="never-published"/>',
         "form 'never-published' is not published in this tenant (Process Design, /forms)"),
        ('<zeebe:formDefinition formId="linked-missing-tag" bindingType="versionTag" versionTag="v9"/>',
         "form 'linked-missing-tag' has no published version tagged 'v9' in this tenant"),
    ]
    assert_json(srv.req("POST", 9003, "/forms", body={"id": "linked-missing-tag", "type": "default",
                                                      "components": []}), 201)
    assert_json(srv.req("POST", 9003, "/forms/linked-missing-tag/publish", body={"versionTag": "v1"}), 201)
    ids = []
    for n, (ext, message) in enumerate(cases):
        p = deploy(srv, modeler_process("Process_bad_form_%d" % n, ext))
        i = start(srv, p["id"], {})
        i = wait_for(srv, i["id"], lambda x: x["incidents"] == 1, what="an incident")
        inc = assert_json(srv.get(9005, "/incidents?executionId=%s" % i["id"]))["items"]
        assert len(inc) == 1 and inc[0]["elementId"] == "Activity_approve", inc
        assert inc[0]["message"] == message, inc
        assert i["state"] == "active", i
        ids.append(i["id"])
    # no task was made for them
    tasks = assert_json(srv.get(T, "/tasks?limit=200"))["items"]
    assert not [t for t in tasks if t.get("processInstanceId") in ids], tasks
