"""Execution Engine refusals (docs/execution.md, "API"): every bad request answers RFC
9457 problem+json with the documented status (and JSON Pointer for 422s), and changes
nothing stored — the instance, its history, the list of instances and the jobs are read
before and after. Tenants are kept apart: another tenant's instance, job, incident or
message subscription is a 404."""

import random

from harness import assert_json, assert_problem
from exec_support import (assert_not_correlated, assert_ran_once, bpmn, chain, deploy, flows,
                          get, history, jobs, pointers, respond, stable, start, wait_state,
                          wait_task, waiting)

UNIQ = "%06x" % random.getrandbits(24)
FORM = ('{"type": "object", "properties": {"amount": {"type": "number", "minimum": 0},'
        ' "approved": {"type": "boolean"}}, "required": ["amount", "approved"],'
        ' "additionalProperties": false}')
MSG = "err-msg-%s" % UNIQ
JOB = "err-job-%s" % UNIQ


def form_model():
    body = ('<bpmn:startEvent id="start"/><bpmn:userTask id="review"><bpmn:extensionElements>'
            '<zeebe:formDefinition formKey="camunda-forms:bpmn:f1"/></bpmn:extensionElements>'
            '</bpmn:userTask><bpmn:endEvent id="end"/>' + chain("start", "review", "end"))
    return bpmn("err_form", body, proc_ext='<zeebe:userTaskForm id="f1">%s</zeebe:userTaskForm>' % FORM)


def job_model():
    body = ('<bpmn:startEvent id="start"/><bpmn:serviceTask id="work"><bpmn:extensionElements>'
            '<zeebe:taskDefinition type="%s" retries="2"/></bpmn:extensionElements></bpmn:serviceTask>'
            '<bpmn:endEvent id="end"/>' % JOB + chain("start", "work", "end"))
    return bpmn("err_job", body)


def msg_model():
    body = ('<bpmn:startEvent id="start"/><bpmn:receiveTask id="wait" messageRef="m"/>'
            '<bpmn:endEvent id="end"/>' + chain("start", "wait", "end"))
    m = ('<bpmn:message id="m" name="%s"><bpmn:extensionElements>'
         '<zeebe:subscription correlationKey="=orderId"/></bpmn:extensionElements></bpmn:message>' % MSG)
    return bpmn("err_msg", body, defs_extra=m)


def gw_model():
    """An exclusive gateway without default: with no `amount` no flow is true -> incident."""
    body = ('<bpmn:startEvent id="start"/><bpmn:exclusiveGateway id="gw"/>'
            '<bpmn:task id="big"/><bpmn:task id="small"/><bpmn:endEvent id="end"/>'
            + flows(("f1", "start", "gw"), ("f2", "gw", "big", "=amount &gt; 100"),
                    ("f3", "gw", "small", "=amount &lt;= 100"), ("f4", "big", "end"),
                    ("f5", "small", "end")))
    return bpmn("err_gw", body)


_P = {}


def procs(srv):
    """Deployed once per server (default tenant)."""
    if id(srv) not in _P:
        _P[id(srv)] = {"form": deploy(srv, form_model()), "job": deploy(srv, job_model()),
                       "msg": deploy(srv, msg_model()), "gw": deploy(srv, gw_model())}
    return _P[id(srv)]


def total(srv, headers=None):
    return assert_json(srv.get(9005, "/executions?limit=1", headers=headers))["total"]


def test_start_bad_input(srv):
    p = procs(srv)["form"]
    before = total(srv)
    cases = [
        ({"processId": "proc_doesnotexist"}, "/processId"),
        ({"processId": "no_such_bpmn_process_%s" % UNIQ}, "/processId"),
        ({"processId": p["id"], "version": 99}, "/version"),
        ({"processId": p["id"], "version": 0}, "/version"),
        ({"processId": p["id"], "variables": [1, 2]}, "/variables"),
        ({"processId": p["id"], "variables": "x=1"}, "/variables"),
        ({"processId": p["id"], "variables": 5}, "/variables"),
        ({}, "/processId"),
        ({"processId": 17}, "/processId"),
    ]
    for body, ptr in cases:
        r = srv.req("POST", 9005, "/executions", body=body)
        pr = assert_problem(r, 422)
        assert ptr in pointers(pr), (body, pr)
    for raw in ("{not json", "[1,", '{"processId": "x"'):
        assert_problem(srv.req("POST", 9005, "/executions", body=raw), 400)
    # the body is not an object at all
    r = srv.req("POST", 9005, "/executions", body=[p["id"]])
    assert r.status in (400, 422), r
    assert_problem(r, r.status)
    assert total(srv) == before, "a refused start made an instance"
    # a good start still works (the refusals were not about the process)
    inst = start(srv, p["id"], {"x": 1}, version=p["version"])
    assert inst["version"] == p["version"] and inst["processId"] == p["id"], inst
    assert total(srv) == before + 1


def test_unknown_instance_is_404(srv):
    for method, path, body in [
            ("GET", "/executions/exe_nope", None),
            ("GET", "/executions/exe_nope/history", None),
            ("PUT", "/executions/exe_nope/pause", None),
            ("PUT", "/executions/exe_nope/resume", None),
            ("PUT", "/executions/exe_nope/cancel", None),
            ("PUT", "/executions/exe_nope/variables", {"variables": {"a": 1}}),
            ("POST", "/jobs/job_nope/complete", {}),
            ("POST", "/jobs/job_nope/fail", {}),
            ("PUT", "/incidents/inc_nope/resolve", None)]:
        assert_problem(srv.req(method, 9005, path, body=body), 404)


def test_message_nobody_waits_for(srv):
    inst = start(srv, procs(srv)["msg"]["id"], {"orderId": "k-%s" % UNIQ})
    assert waiting(inst, "wait", "message"), inst
    before = stable(srv, inst["id"])
    for body in ({"name": MSG, "correlationKey": "other-key", "variables": {"hack": 1}},
                 {"name": "nobody-%s" % UNIQ, "correlationKey": "k-%s" % UNIQ},
                 {"name": "nobody-%s" % UNIQ}):
        assert_not_correlated(srv.req("POST", 9005, "/messages", body=body))
    assert stable(srv, inst["id"]) == before
    for body, ptr in (({}, "/name"), ({"name": 5}, "/name"),
                      ({"name": MSG, "correlationKey": "k-%s" % UNIQ, "variables": [1]}, "/variables")):
        pr = assert_problem(srv.req("POST", 9005, "/messages", body=body), 422)
        assert ptr in pointers(pr), (body, pr)
    assert_problem(srv.req("POST", 9005, "/messages", body="{nope"), 400)
    assert stable(srv, inst["id"]) == before
    # the right key still correlates
    r = assert_json(srv.req("POST", 9005, "/messages",
                            body={"name": MSG, "correlationKey": "k-%s" % UNIQ, "variables": {"ok": 1}}))
    assert r["executionId"] == inst["id"] and r["elementId"] == "wait" and r["started"] is False, r
    done = wait_state(srv, inst["id"], "completed")
    assert "hack" not in done["variables"] and done["variables"]["ok"] == 1, done


def test_job_finished_or_unknown(srv):
    inst = start(srv, procs(srv)["job"]["id"], {"n": 1})
    js = jobs(srv, type=JOB, executionId=inst["id"])
    assert len(js) == 1 and js[0]["state"] == "activatable", js
    jid = js[0]["id"]
    # bad body: nothing changes
    before = stable(srv, inst["id"])
    pr = assert_problem(srv.req("POST", 9005, "/jobs/%s/complete" % jid, body={"variables": [1]}), 422)
    assert "/variables" in pointers(pr), pr
    assert_problem(srv.req("POST", 9005, "/jobs/%s/complete" % jid, body="{x"), 400)
    assert stable(srv, inst["id"]) == before
    assert jobs(srv, type=JOB, executionId=inst["id"])[0]["state"] == "activatable"
    assert_json(srv.req("POST", 9005, "/jobs/%s/complete" % jid, body={"variables": {"r": 1}}))
    done = wait_state(srv, inst["id"], "completed")
    after = stable(srv, inst["id"])
    for path, body in (("/jobs/%s/complete" % jid, {"variables": {"r": 2}}),
                       ("/jobs/%s/fail" % jid, {"errorMessage": "late", "retries": 0})):
        r = srv.req("POST", 9005, path, body=body)
        assert r.status in (404, 409), r
        assert_problem(r, r.status)
    assert stable(srv, inst["id"]) == after and after[0]["variables"]["r"] == 1, after
    assert [j["state"] for j in jobs(srv, type=JOB, executionId=inst["id"], state="completed")] == ["completed"]
    assert jobs(srv, type=JOB, executionId=inst["id"]) == []
    assert done["incidents"] == 0


def test_job_of_paused_instance_is_409(srv):
    inst = start(srv, procs(srv)["job"]["id"], {"n": 2})
    jid = jobs(srv, type=JOB, executionId=inst["id"])[0]["id"]
    assert assert_json(srv.req("PUT", 9005, "/executions/%s/pause" % inst["id"]))["state"] == "paused"
    before = stable(srv, inst["id"])
    assert_problem(srv.req("POST", 9005, "/jobs/%s/complete" % jid, body={"variables": {"z": 1}}), 409)
    assert stable(srv, inst["id"]) == before
    assert_problem(srv.req("PUT", 9005, "/executions/%s/pause" % inst["id"]), 409)
    assert stable(srv, inst["id"]) == before
    assert_json(srv.req("PUT", 9005, "/executions/%s/resume" % inst["id"]))
    assert_problem(srv.req("PUT", 9005, "/executions/%s/resume" % inst["id"]), 409)
    assert_json(srv.req("POST", 9005, "/jobs/%s/complete" % jid, body={"variables": {"z": 2}}))
    assert wait_state(srv, inst["id"], "completed")["variables"]["z"] == 2


def test_respond_wrong_types_and_twice(srv):
    inst = start(srv, procs(srv)["form"]["id"], {"n": 3})
    tid = wait_task(srv, inst["id"], "review")
    task = assert_json(srv.get(9006, "/tasks/" + tid))
    assert task["form"].get("required") == ["amount", "approved"], task
    before = stable(srv, inst["id"])
    for resp, ptr in (({"amount": "ten", "approved": True}, "/response/amount"),
                      ({"amount": -1, "approved": True}, "/response/amount"),
                      ({"amount": 5, "approved": "yes"}, "/response/approved"),
                      ({"amount": 5}, "/response"),
                      ({"amount": 5, "approved": True, "extra": 1}, "/response")):
        pr = assert_problem(respond(srv, tid, resp), 422)
        assert any(p and p.startswith(ptr) for p in pointers(pr)), (resp, pr)
    assert stable(srv, inst["id"]) == before, "a refused answer changed the instance"
    assert assert_json(srv.get(9006, "/tasks/" + tid))["status"] == task["status"]
    assert_json(respond(srv, tid, {"amount": 5, "approved": True}))
    done = wait_state(srv, inst["id"], "completed")
    after = stable(srv, inst["id"])
    assert_problem(respond(srv, tid, {"amount": 7, "approved": False}), 409)
    assert stable(srv, inst["id"]) == after
    assert done["variables"]["amount"] == 5 and done["variables"]["approved"] is True, done
    assert_ran_once(srv, inst["id"], ["start", "review", "end"])


def test_ended_instance_refuses_control(srv):
    inst = start(srv, procs(srv)["form"]["id"], {"n": 4})
    tid = wait_task(srv, inst["id"], "review")
    assert_json(respond(srv, tid, {"amount": 1, "approved": False}))
    wait_state(srv, inst["id"], "completed")
    before = stable(srv, inst["id"])
    for action, body in (("cancel", None), ("pause", None), ("resume", None),
                         ("variables", {"variables": {"late": 1}})):
        assert_problem(srv.req("PUT", 9005, "/executions/%s/%s" % (inst["id"], action), body=body), 409)
    assert stable(srv, inst["id"]) == before
    # cancelled: cancel/pause again are 409 too, and its open task was withdrawn in 9006
    inst2 = start(srv, procs(srv)["form"]["id"], {"n": 5})
    tid2 = wait_task(srv, inst2["id"], "review")
    c = assert_json(srv.req("PUT", 9005, "/executions/%s/cancel" % inst2["id"]))
    assert c["state"] == "cancelled" and c["endedAt"], c
    assert assert_json(srv.get(9006, "/tasks/" + tid2))["status"] == "cancelled"
    before = stable(srv, inst2["id"])
    assert_problem(srv.req("PUT", 9005, "/executions/%s/cancel" % inst2["id"]), 409)
    assert_problem(srv.req("PUT", 9005, "/executions/%s/pause" % inst2["id"]), 409)
    assert_problem(respond(srv, tid2, {"amount": 1, "approved": True}), 409)
    assert stable(srv, inst2["id"]) == before
    h = history(srv, inst2["id"])
    assert [x["type"] for x in h].count("instance.cancelled") == 1, h


def test_variables_bad_body(srv):
    inst = start(srv, procs(srv)["form"]["id"], {"n": 6})
    wait_task(srv, inst["id"], "review")
    before = stable(srv, inst["id"])
    for body in ({}, {"variables": [1]}, {"variables": "a"}, {"vars": {"a": 1}}):
        pr = assert_problem(srv.req("PUT", 9005, "/executions/%s/variables" % inst["id"], body=body), 422)
        assert "/variables" in pointers(pr), (body, pr)
    assert_problem(srv.req("PUT", 9005, "/executions/%s/variables" % inst["id"], body="{"), 400)
    assert stable(srv, inst["id"]) == before


def test_incident_resolve_twice(srv):
    inst = start(srv, procs(srv)["gw"]["id"], {"n": 7})
    assert inst["state"] == "active" and inst["incidents"] == 1, inst
    at = waiting(inst, "gw", "incident")
    assert at and at[0].get("incidentId"), inst
    iid = at[0]["incidentId"]
    incs = assert_json(srv.get(9005, "/incidents?executionId=%s" % inst["id"]))["items"]
    assert [(i["id"], i["elementId"], i["state"], i["type"]) for i in incs] == \
        [(iid, "gw", "open", "condition")], incs
    assert_json(srv.req("PUT", 9005, "/executions/%s/variables" % inst["id"],
                        body={"variables": {"amount": 5}}))
    r = assert_json(srv.req("PUT", 9005, "/incidents/%s/resolve" % iid))
    assert r["state"] == "resolved" and r["resolvedAt"], r
    done = wait_state(srv, inst["id"], "completed")
    assert done["incidents"] == 0, done
    after = stable(srv, inst["id"])
    assert_problem(srv.req("PUT", 9005, "/incidents/%s/resolve" % iid), 409)
    assert stable(srv, inst["id"]) == after
    h = history(srv, inst["id"])
    types = [x["type"] for x in h]
    assert types.count("incident.created") == 1 and types.count("incident.resolved") == 1, types
    assert [x["elementId"] for x in h if x["type"] == "element.entered"].count("small") == 1, types
    assert not [x for x in h if x["type"] == "element.entered" and x["elementId"] == "big"]


def test_tenant_isolation(srv):
    b = srv.tenant_headers("exec-b-%s" % UNIQ)
    ps = procs(srv)
    # A (default tenant): one instance waiting on a job, one on a message, one on an incident
    job_inst = start(srv, ps["job"]["id"], {"n": 8})
    jid = jobs(srv, type=JOB, executionId=job_inst["id"])[0]["id"]
    key = "iso-%s" % UNIQ
    msg_inst = start(srv, ps["msg"]["id"], {"orderId": key})
    gw_inst = start(srv, ps["gw"]["id"], {})
    iid = waiting(gw_inst, "gw", "incident")[0]["incidentId"]
    form_inst = start(srv, ps["form"]["id"], {"n": 10})
    tid = wait_task(srv, form_inst["id"], "review")
    before = [stable(srv, i["id"]) for i in (job_inst, msg_inst, gw_inst, form_inst)]
    # the engine's task for A is A's only
    assert_problem(srv.get(9006, "/tasks/" + tid, headers=b), 404)
    assert_problem(respond(srv, tid, {"amount": 1, "approved": True}, headers=b), 404)

    for i in (job_inst, msg_inst, gw_inst, form_inst):
        for method, path, body in (("GET", "/executions/%s", None),
                                   ("GET", "/executions/%s/history", None),
                                   ("PUT", "/executions/%s/pause", None),
                                   ("PUT", "/executions/%s/resume", None),
                                   ("PUT", "/executions/%s/cancel", None),
                                   ("PUT", "/executions/%s/variables", {"variables": {"x": 1}})):
            assert_problem(srv.req(method, 9005, path % i["id"], body=body, headers=b), 404)
    assert_problem(srv.req("POST", 9005, "/jobs/%s/complete" % jid, body={}, headers=b), 404)
    assert_problem(srv.req("POST", 9005, "/jobs/%s/fail" % jid, body={"retries": 0}, headers=b), 404)
    assert_problem(srv.req("PUT", 9005, "/incidents/%s/resolve" % iid, headers=b), 404)
    assert_not_correlated(srv.req("POST", 9005, "/messages",
                                  body={"name": MSG, "correlationKey": key, "variables": {"x": 1}},
                                  headers=b))
    # A's process cannot be started from B, and B's lists show nothing of A
    pr = assert_problem(srv.req("POST", 9005, "/executions", body={"processId": ps["job"]["id"]},
                                headers=b), 422)
    assert "/processId" in pointers(pr), pr
    pr = assert_problem(srv.req("POST", 9005, "/executions", body={"processId": "err_job"},
                                headers=b), 422)
    ids = lambda path: [x["id"] for x in assert_json(srv.get(9005, path, headers=b))["items"]]
    assert ids("/executions?limit=500") == [], "tenant B sees A's instances"
    assert assert_json(srv.get(9005, "/executions?limit=1", headers=b))["total"] == 0
    assert ids("/jobs?type=%s" % JOB) == [] and ids("/incidents") == [], "B sees A's jobs/incidents"
    assert ids("/executions?processId=%s" % ps["job"]["id"]) == []
    after = [stable(srv, i["id"]) for i in (job_inst, msg_inst, gw_inst, form_inst)]
    assert after == before, "tenant B changed tenant A's instances"
    # and A still can
    assert job_inst["id"] in [x["id"] for x in assert_json(
        srv.get(9005, "/executions?processId=%s&limit=500" % ps["job"]["id"]))["items"]]
    assert_json(srv.req("POST", 9005, "/jobs/%s/complete" % jid, body={}))
    wait_state(srv, job_inst["id"], "completed")
    # B's own process with the same BPMN id runs in B only
    pb = deploy(srv, job_model(), headers=b)
    ib = start(srv, "err_job", {"n": 9}, headers=b)
    assert ib["processId"] == pb["id"], (ib, pb)
    assert_problem(srv.get(9005, "/executions/" + ib["id"]), 404)
    jb = jobs(srv, headers=b, type=JOB)
    assert [j["executionId"] for j in jb] == [ib["id"]], jb
    assert_problem(srv.req("POST", 9005, "/jobs/%s/complete" % jb[0]["id"], body={}), 404)
