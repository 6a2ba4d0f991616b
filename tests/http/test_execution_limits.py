"""Execution Engine limits (issue 10 items 2, 4, 12; docs/execution.md "Limits"):
multi-instance collections are bounded (execution.mi_max_items) and a large one starts
its iterations in slices that other instances interleave with and that survive kill -9;
timer cycles shorter than execution.timer_min_cycle_ms are refused at publish (or an
incident at run time); archiving a process withdraws its timer and message starts; a
step-limit incident is not re-run blindly."""

import time

from harness import Server, assert_json, assert_problem, wait_until
from exec_support import bpmn, chain, deploy, get, start, wait_for, wait_state, waiting

FIXTURES = {
    # a small bound, so that going over it needs no large request
    "limited": lambda: Server(env={"FLOWMASTER_EXECUTION_MI_MAX_ITEMS": "1000"}),
}


def mi_task(tid, out=True, seq=False):
    """A plain task, parallel (or sequential) multi-instance over `items`, each output
    item * 2 into `results`."""
    outs = ' outputCollection="results" outputElement="=item * 2"' if out else ""
    return ('<bpmn:task id="%s"><bpmn:multiInstanceLoopCharacteristics%s><bpmn:extensionElements>'
            '<zeebe:loopCharacteristics inputCollection="=items" inputElement="item"%s/>'
            '</bpmn:extensionElements></bpmn:multiInstanceLoopCharacteristics></bpmn:task>'
            % (tid, ' isSequential="true"' if seq else "", outs))


def mi_model(pid, seq=False):
    return bpmn(pid, '<bpmn:startEvent id="s"/>' + mi_task("each", seq=seq) + '<bpmn:endEvent id="e"/>' +
                chain("s", "each", "e"))


def small_model(pid):
    return bpmn(pid, '<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>' + chain("s", "e"))


def incidents_of(srv, eid, state=None):
    q = "/incidents?executionId=%s%s" % (eid, "&state=" + state if state else "")
    return assert_json(srv.get(9005, q))["items"]


def history_total(srv, eid):
    return assert_json(srv.get(9005, "/executions/%s/history?limit=1" % eid))["total"]


# --- multi-instance --------------------------------------------------------------------

def test_mi_collection_above_the_bound_is_an_incident(limited):
    p = deploy(limited, mi_model("lim_mi"))
    over = start(limited, p["id"], {"items": list(range(1001))})
    assert over["state"] == "active" and over["incidents"] == 1, over
    assert waiting(over, "each", "incident"), over
    inc = incidents_of(limited, over["id"])
    assert len(inc) == 1 and inc[0]["type"] == "limit" and inc[0]["elementId"] == "each", inc
    msg = inc[0]["message"]
    assert "1001" in msg and "1000" in msg and "execution.mi_max_items" in msg and "'each'" in msg, msg
    # at the bound it runs
    ok = wait_state(limited, start(limited, p["id"], {"items": list(range(1000))})["id"], "completed")
    assert ok["variables"]["results"] == [2 * i for i in range(1000)], ok["variables"]["results"][:5]
    # loopCardinality is bounded the same way
    card = bpmn("lim_card", '<bpmn:startEvent id="s"/><bpmn:task id="each"><bpmn:multiInstanceLoopCharacteristics>'
                '<bpmn:loopCardinality>=n</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics></bpmn:task>'
                '<bpmn:endEvent id="e"/>' + chain("s", "each", "e"))
    pc = deploy(limited, card)
    c = start(limited, pc["id"], {"n": 5000})
    inc = incidents_of(limited, c["id"])
    assert c["incidents"] == 1 and inc[0]["type"] == "limit" and "loopCardinality" in inc[0]["message"], inc


def test_large_mi_is_sliced_and_keeps_output_order(srv):
    """5,000 iterations start in slices (the POST answers before they all ran); an
    instance started meanwhile completes before the big one; the output collection
    keeps input order."""
    n = 5000
    p = deploy(srv, mi_model("big_mi"))
    q = deploy(srv, small_model("small_mi"))
    big = start(srv, p["id"], {"items": list(range(n))})
    # the first slice ran in the POST's transaction; the rest comes in later ones
    assert big["state"] == "active" and waiting(big, "each", "mi"), big["state"]
    other = start(srv, q["id"])
    assert other["state"] == "completed", other
    assert get(srv, big["id"])["state"] == "active", "the big instance finished before the small one was served"
    done = wait_state(srv, big["id"], "completed", timeout=60)
    assert done["incidents"] == 0, done
    assert done["variables"]["results"] == [2 * i for i in range(n)], "output collection out of order"
    # sequential: the same, one at a time, also spread over transactions
    s = deploy(srv, mi_model("big_mi_seq", seq=True))
    seq = wait_state(srv, start(srv, s["id"], {"items": list(range(3000))})["id"], "completed", timeout=60)
    assert seq["variables"]["results"] == [2 * i for i in range(3000)]


def test_large_mi_survives_kill_9():
    """kill -9 while the slices of a large multi-instance are being started: after the
    restart it goes on from its last committed slice and completes with every output."""
    srv = Server()
    try:
        n = 20000
        p = deploy(srv, mi_model("kill_mi"))
        big = start(srv, p["id"], {"items": list(range(n))})
        assert big["state"] == "active", big["state"]
        srv.kill()
        srv2 = Server(data_dir=srv.data_dir)
        try:
            done = wait_state(srv2, big["id"], "completed", timeout=90)
            r = done["variables"]["results"]
            assert len(r) == n and r == [2 * i for i in range(n)], "outputs lost or doubled"
            assert done["incidents"] == 0, done
        finally:
            srv2.stop()
    finally:
        srv.stop()


# --- timers ----------------------------------------------------------------------------

def timer_start_model(pid, cycle):
    return bpmn(pid, '<bpmn:startEvent id="tick"><bpmn:timerEventDefinition><bpmn:timeCycle>%s'
                     '</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:startEvent>'
                     '<bpmn:endEvent id="e"/>' % cycle + chain("tick", "e"))


def test_publish_refuses_a_cycle_below_the_minimum(srv):
    for pid, xml, el in (
            ("fast_start", timer_start_model("fast_start", "R/PT0.001S"), "tick"),
            ("fast_bound", bpmn("fast_bound",
                                '<bpmn:startEvent id="s"/><bpmn:serviceTask id="work"><bpmn:extensionElements>'
                                '<zeebe:taskDefinition type="w"/></bpmn:extensionElements></bpmn:serviceTask>'
                                '<bpmn:boundaryEvent id="nag" attachedToRef="work" cancelActivity="false">'
                                '<bpmn:timerEventDefinition><bpmn:timeCycle>R/PT0.5S</bpmn:timeCycle>'
                                '</bpmn:timerEventDefinition></bpmn:boundaryEvent><bpmn:endEvent id="e"/>'
                                '<bpmn:endEvent id="e2"/>' + chain("s", "work", "e") + chain("nag", "e2")),
             "nag")):
        c = assert_json(srv.req("POST", 9003, "/processes", body=xml,
                                headers={"Content-Type": "application/xml"}), 201)
        r = srv.req("POST", 9003, "/processes/%s/publish" % c["id"], body={})
        p = assert_problem(r, 422, title="Validation Failed")
        assert "'%s'" % el in p["detail"] and "execution.timer_min_cycle_ms" in p["detail"], p
        assert [e["pointer"] for e in p["errors"]] == ["#" + el], p
        # nothing was published
        assert assert_json(srv.get(9003, "/processes/" + c["id"])).get("latestVersion") in (None, 0), pid
    # at the minimum it publishes
    deploy(srv, timer_start_model("ok_start", "R2/PT1S"))


def test_feel_cycle_below_the_minimum_is_an_incident(srv):
    xml = bpmn("feel_bound",
               '<bpmn:startEvent id="s"/><bpmn:serviceTask id="work"><bpmn:extensionElements>'
               '<zeebe:taskDefinition type="w"/></bpmn:extensionElements></bpmn:serviceTask>'
               '<bpmn:boundaryEvent id="nag" attachedToRef="work" cancelActivity="false">'
               '<bpmn:timerEventDefinition><bpmn:timeCycle>=duration("PT0.01S")</bpmn:timeCycle>'
               '</bpmn:timerEventDefinition></bpmn:boundaryEvent><bpmn:endEvent id="e"/><bpmn:endEvent id="e2"/>'
               + chain("s", "work", "e") + chain("nag", "e2"))
    p = deploy(srv, xml)
    i = start(srv, p["id"])
    inc = incidents_of(srv, i["id"])
    assert i["incidents"] == 1 and len(inc) == 1 and inc[0]["elementId"] == "work", (i, inc)
    assert "'nag'" in inc[0]["message"] and "execution.timer_min_cycle_ms" in inc[0]["message"], inc


def count_of(srv, pid):
    return assert_json(srv.get(9005, "/executions?processId=%s&limit=1" % pid))["total"]


def test_archive_stops_timer_and_message_starts(srv):
    p = deploy(srv, timer_start_model("arch_tick", "R/PT1S"))
    wait_until(lambda: count_of(srv, p["id"]) >= 1, timeout=10, what="the timer start fired")
    msg = bpmn("arch_msg", '<bpmn:startEvent id="m"><bpmn:messageEventDefinition messageRef="msg"/>'
                           '</bpmn:startEvent><bpmn:endEvent id="e"/>' + chain("m", "e"),
               defs_extra='<bpmn:message id="msg" name="arch-go"/>')
    pm = deploy(srv, msg)
    wait_until(lambda: srv.req("POST", 9005, "/messages", body={"name": "arch-go"}).status == 200,
               what="the message start registered")
    assert srv.req("DELETE", 9003, "/processes/" + p["id"]).status == 204
    assert srv.req("DELETE", 9003, "/processes/" + pm["id"]).status == 204
    # the withdrawal travels over the bus: once it is there, nothing more starts
    wait_until(lambda: srv.req("POST", 9005, "/messages", body={"name": "arch-go"}).status == 404,
               what="the message start withdrawn")
    time.sleep(1.2)                 # a firing already under way may still commit
    n = count_of(srv, p["id"])
    time.sleep(2.5)                 # more than two cycles
    assert count_of(srv, p["id"]) == n, "the timer start still fires after DELETE /processes/{id}"
    # an archived process is not published again: a clear 409 says what to do instead
    r = srv.req("POST", 9003, "/processes/%s/publish" % p["id"], body={})
    prob = assert_problem(r, 409)
    assert "archived" in prob["detail"] and "POST /processes" in prob["detail"], prob
    # ... and a new process with the same BPMN takes its place
    p2 = deploy(srv, timer_start_model("arch_tick", "R2/PT1S"))
    wait_until(lambda: count_of(srv, p2["id"]) >= 1, timeout=10, what="the replacement's timer start")


# --- step limit ------------------------------------------------------------------------

def loop_model(pid):
    """s -> inc (x = x + 1) -> gateway: x < limit back to inc, else end."""
    return bpmn(pid,
                '<bpmn:startEvent id="s"/><bpmn:scriptTask id="inc"><bpmn:extensionElements>'
                '<zeebe:script expression="=x + 1" resultVariable="x"/></bpmn:extensionElements></bpmn:scriptTask>'
                '<bpmn:exclusiveGateway id="g" default="f_done"/><bpmn:endEvent id="e"/>'
                '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="inc"/>'
                '<bpmn:sequenceFlow id="f2" sourceRef="inc" targetRef="g"/>'
                '<bpmn:sequenceFlow id="f_again" sourceRef="g" targetRef="inc"><bpmn:conditionExpression>'
                '=x &lt; limit</bpmn:conditionExpression></bpmn:sequenceFlow>'
                '<bpmn:sequenceFlow id="f_done" sourceRef="g" targetRef="e"/>')


def test_step_limit_incident_is_not_rerun_blindly(srv):
    p = deploy(srv, loop_model("endless"))
    i = start(srv, p["id"], {"x": 0, "limit": 10 ** 12})
    inc = incidents_of(srv, i["id"], "open")
    assert len(inc) == 1 and inc[0]["type"] == "limit" and "step limit" in inc[0]["message"], inc
    before = history_total(srv, i["id"])
    r = srv.req("PUT", 9005, "/incidents/%s/resolve" % inc[0]["id"])
    prob = assert_problem(r, 409)
    assert "variables" in prob["detail"] and "loop" in prob["detail"], prob
    # nothing ran, nothing was written: the incident is still open
    assert history_total(srv, i["id"]) == before
    assert [x["state"] for x in incidents_of(srv, i["id"])] == ["open"]
    # once the variables changed, resolving retries the element
    assert_json(srv.req("PUT", 9005, "/executions/%s/variables" % i["id"], body={"variables": {"limit": 0}}))
    assert_json(srv.req("PUT", 9005, "/incidents/%s/resolve" % inc[0]["id"]))
    done = wait_for(srv, i["id"], lambda x: x["state"] == "completed")
    assert done["incidents"] == 0, done
