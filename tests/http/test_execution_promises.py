"""What the docs promise about instances and processes (issue 12 item 5,
docs/execution.md): a message sent to a paused instance that waits for it is kept and
delivered on resume (not a 404 "nobody waits"), also across a restart; an archived
process starts no new instance (422 naming the state) while running ones go on."""

import random

from harness import assert_json, assert_problem
from exec_support import (assert_not_correlated, bpmn, chain, deploy, entered_path, get, history, start,
                          wait_for, wait_state, waiting)

UNIQ = "%06x" % random.getrandbits(24)
E = 9005


def _catch_model(pid, msg):
    body = ('<bpmn:startEvent id="start"/>'
            '<bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition messageRef="m1"/>'
            '</bpmn:intermediateCatchEvent><bpmn:endEvent id="end"/>' + chain("start", "wait", "end"))
    extra = ('<bpmn:message id="m1" name="%s"><bpmn:extensionElements>'
             '<zeebe:subscription correlationKey="=orderId"/></bpmn:extensionElements></bpmn:message>' % msg)
    return bpmn(pid, body, defs_extra=extra)


def _send(srv, name, key, variables=None):
    body = {"name": name, "correlationKey": key}
    if variables is not None:
        body["variables"] = variables
    return srv.req("POST", E, "/messages", body=body)


def test_message_to_paused_instance_is_kept_until_resume(srv):
    name = "paused-msg-" + UNIQ
    prc = deploy(srv, _catch_model("paused_" + UNIQ, name))
    i = start(srv, prc["id"], {"orderId": "P-1"})
    wait_for(srv, i["id"], lambda x: waiting(x, "wait", "message"), what="the message catch")
    assert assert_json(srv.req("PUT", E, "/executions/%s/pause" % i["id"]))["state"] == "paused"
    # kept, not refused: the answer says where it went and that it is held
    m = assert_json(_send(srv, name, "P-1", {"paid": True}))
    assert m["executionId"] == i["id"] and m["elementId"] == "wait" and m["started"] is False, m
    assert m["executions"][0].get("held") is True, m
    # still paused, still waiting, nothing moved
    x = get(srv, i["id"])
    assert x["state"] == "paused" and waiting(x, "wait") and "paid" not in x["variables"], x
    # a second message for the same wait is not taken twice
    assert_not_correlated(_send(srv, name, "P-1", {"paid": "twice"}))
    # resume delivers it: the instance goes on with the message's variables
    assert_json(srv.req("PUT", E, "/executions/%s/resume" % i["id"]))
    done = wait_state(srv, i["id"], "completed")
    assert done["variables"] == {"orderId": "P-1", "paid": True}, done
    assert entered_path(history(srv, i["id"])) == ["start", "wait", "end"]


def test_held_message_survives_a_restart(srv_restartable):
    srv = srv_restartable
    name = "paused-restart-" + UNIQ
    prc = deploy(srv, _catch_model("pausedr_" + UNIQ, name))
    i = start(srv, prc["id"], {"orderId": "R-1"})
    wait_for(srv, i["id"], lambda x: waiting(x, "wait", "message"), what="the message catch")
    assert_json(srv.req("PUT", E, "/executions/%s/pause" % i["id"]))
    assert assert_json(_send(srv, name, "R-1", {"n": 7}))["executions"][0]["held"] is True
    srv.kill()
    srv.start()
    assert get(srv, i["id"])["state"] == "paused"
    assert_json(srv.req("PUT", E, "/executions/%s/resume" % i["id"]))
    assert wait_state(srv, i["id"], "completed")["variables"] == {"orderId": "R-1", "n": 7}


def test_archived_process_starts_no_instance(srv):
    name = "archived-msg-" + UNIQ
    prc = deploy(srv, _catch_model("archived_" + UNIQ, name))
    running = start(srv, prc["id"], {"orderId": "A-1"})
    wait_for(srv, running["id"], lambda x: waiting(x, "wait", "message"), what="the message catch")
    assert srv.req("DELETE", 9003, "/processes/" + prc["id"]).status == 204
    for ref in (prc["id"], "archived_" + UNIQ):     # by Process Design id and by BPMN id
        r = srv.req("POST", E, "/executions", body={"processId": ref, "variables": {"orderId": "A-2"}})
        p = assert_problem(r, 422, "Process Archived")
        assert p["state"] == "archived" and p["processId"] == prc["id"] and "archived" in p["detail"], p
    # the instance that was running goes on
    assert_json(_send(srv, name, "A-1"))
    wait_state(srv, running["id"], "completed")
    assert all(x["id"] == running["id"] for x in assert_json(
        srv.get(E, "/executions?processId=" + prc["id"]))["items"])


FIXTURES = {"srv_restartable": lambda: __import__("harness").Server()}
