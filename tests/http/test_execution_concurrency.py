"""Execution Engine under concurrent requests (docs/execution.md: "two racing requests
on the same instance run one after the other on the committed state: no lost update, no
double join"): messages fired at once into a parallel fork, racing job completions,
racing task answers, racing variable writes and racing correlations of one message."""

import random

from harness import assert_json, assert_problem, wait_until
from exec_support import (assert_not_correlated, assert_ran_once, bpmn, chain, count, deploy, flows, get, history,
                          jobs, parallel, respond, start, wait_for, wait_state, wait_task,
                          waiting)

UNIQ = "%06x" % random.getrandbits(24)


def message(mid, name, key="=orderId"):
    return ('<bpmn:message id="%s" name="%s"><bpmn:extensionElements>'
            '<zeebe:subscription correlationKey="%s"/></bpmn:extensionElements></bpmn:message>'
            % (mid, name, key))


def fork_model(pid, names, same_name=False):
    """start -> fork -> r1..rN (receive tasks, correlation key orderId) -> join -> sum -> end.
    With same_name every receive task waits for names[0]."""
    ids = ["r%d" % (k + 1) for k in range(len(names))]
    body = ['<bpmn:startEvent id="start"/>', '<bpmn:parallelGateway id="fork"/>',
            '<bpmn:parallelGateway id="join"/>', '<bpmn:endEvent id="end"/>']
    fl = [("f_start_fork", "start", "fork"), ("f_join_sum", "join", "sum"), ("f_sum_end", "sum", "end")]
    for k, rid in enumerate(ids):
        body.append('<bpmn:receiveTask id="%s" messageRef="msg%d"/>' % (rid, 0 if same_name else k))
        fl += [("f_fork_%s" % rid, "fork", rid), ("f_%s_join" % rid, rid, "join")]
    expr = "1" if same_name else " + ".join("%s" % v for v in ("a", "b", "c", "d", "e")[:len(ids)])
    body.append('<bpmn:scriptTask id="sum"><bpmn:extensionElements>'
                '<zeebe:script expression="=%s" resultVariable="total"/>'
                '</bpmn:extensionElements></bpmn:scriptTask>' % expr)
    msgs = "".join(message("msg%d" % k, n) for k, n in enumerate(names[:1] if same_name else names))
    return bpmn(pid, "\n".join(body) + "\n" + flows(*fl), defs_extra=msgs), ids


def post_message(srv, name, key, variables=None):
    body = {"name": name, "correlationKey": key}
    if variables is not None:
        body["variables"] = variables
    return srv.req("POST", 9005, "/messages", body=body)


def test_messages_into_parallel_fork_join_once(srv):
    names = ["cc-part-%s-%s" % (c, UNIQ) for c in "abcde"]
    xml, rids = fork_model("cc_fork", names)
    p = deploy(srv, xml)
    insts = []
    for k in range(8):
        inst = start(srv, p["id"], {"orderId": "ord-%s-%d" % (UNIQ, k)})
        assert sorted(a["elementId"] for a in waiting(inst, kind="message")) == rids, inst
        insts.append(inst)
    calls, meta = [], []
    for inst in insts:
        key = inst["variables"]["orderId"]
        for var, (name, val) in zip("abcde", zip(names, (1, 2, 3, 4, 5))):
            calls.append(lambda n=name, k=key, v={var: val}: post_message(srv, n, k, v))
            meta.append((inst["id"], name))
    res = parallel(calls)
    for (eid, name), r in zip(meta, res):
        assert not isinstance(r, Exception), (name, r)
        j = assert_json(r)
        assert j["executionId"] == eid and j["started"] is False, (name, j)
        assert j["elementId"] == rids[names.index(name)], (name, j)
    for inst in insts:
        done = wait_state(srv, inst["id"], "completed")
        v = done["variables"]
        assert [v.get(c) for c in "abcde"] == [1, 2, 3, 4, 5], "lost variable update: %r" % v
        assert v.get("total") == 15, v
        h = assert_ran_once(srv, inst["id"], ["start", "fork", "sum", "end"] + rids)
        assert count(h, "element.left", "join") == 1, \
            "join left %d times" % count(h, "element.left", "join")
        assert count(h, "element.entered", "sum") == 1, h
    # everything was consumed: the same messages again find nobody
    r = post_message(srv, names[0], insts[0]["variables"]["orderId"], {"a": 99})
    assert_not_correlated(r)
    assert get(srv, insts[0]["id"])["variables"]["a"] == 1


def test_same_message_name_each_subscription_once(srv):
    name = "cc-same-%s" % UNIQ
    xml, rids = fork_model("cc_same", [name, name, name], same_name=True)
    p = deploy(srv, xml)
    key = "same-%s" % UNIQ
    inst = start(srv, p["id"], {"orderId": key})
    assert len(waiting(inst, kind="message")) == 3, inst
    res = parallel([lambda k=k: post_message(srv, name, key, {"v%d" % k: k}) for k in range(5)])
    ok = [(k, r) for k, r in enumerate(res) if not isinstance(r, Exception) and r.status == 200]
    assert len(ok) == 3, "want 3 deliveries (one per subscription), got %r" % (res,)
    assert sorted(r.json["elementId"] for _, r in ok) == rids, [r.json for _, r in ok]
    for k, r in enumerate(res):
        if (k, r) not in ok:
            assert_not_correlated(r)
    done = wait_state(srv, inst["id"], "completed")
    got = sorted(n for n in done["variables"] if n.startswith("v"))
    assert got == sorted("v%d" % k for k, _ in ok), \
        "variables of refused messages were merged, or accepted ones lost: %r" % done["variables"]
    h = assert_ran_once(srv, inst["id"], ["start", "fork", "sum", "end"] + rids)
    assert count(h, "element.left", "join") == 1


def test_single_subscription_one_of_racing_messages_wins(srv):
    name = "cc-one-%s" % UNIQ
    body = ('<bpmn:startEvent id="start"/><bpmn:receiveTask id="wait" messageRef="m"/>'
            '<bpmn:endEvent id="end"/>' + chain("start", "wait", "end"))
    p = deploy(srv, bpmn("cc_one", body, defs_extra=message("m", name)))
    for round_ in range(3):
        key = "one-%s-%d" % (UNIQ, round_)
        inst = start(srv, p["id"], {"orderId": key})
        res = parallel([lambda k=k: post_message(srv, name, key, {"who": k}) for k in range(6)])
        winners = [k for k, r in enumerate(res) if not isinstance(r, Exception) and r.status == 200]
        assert len(winners) == 1, "exactly one delivery wanted: %r" % (res,)
        for k, r in enumerate(res):
            if k != winners[0]:
                assert_not_correlated(r)
        done = wait_state(srv, inst["id"], "completed")
        assert done["variables"]["who"] == winners[0], done
        assert_ran_once(srv, inst["id"], ["start", "wait", "end"])


def job_model(pid, jt):
    body = ('<bpmn:startEvent id="start"/><bpmn:serviceTask id="work"><bpmn:extensionElements>'
            '<zeebe:taskDefinition type="%s" retries="3"/></bpmn:extensionElements></bpmn:serviceTask>'
            '<bpmn:scriptTask id="calc"><bpmn:extensionElements>'
            '<zeebe:script expression="=&quot;done by &quot; + winner" resultVariable="note"/>'
            '</bpmn:extensionElements></bpmn:scriptTask><bpmn:endEvent id="end"/>' % jt
            + chain("start", "work", "calc", "end"))
    return bpmn(pid, body)


def test_racing_job_completions_one_wins(srv):
    jt = "cc-job-%s" % UNIQ
    p = deploy(srv, job_model("cc_job", jt))
    eids = [start(srv, p["id"], {"n": k})["id"] for k in range(10)]
    js = wait_until(lambda: (lambda l: l if len(l) == 10 else None)(jobs(srv, type=jt)),
                    timeout=5, what="10 jobs")
    calls, meta = [], []
    for j in js:
        for who in ("A", "B"):
            calls.append(lambda j=j, who=who: srv.req(
                "POST", 9005, "/jobs/%s/complete" % j["id"], body={"variables": {"winner": who}}))
            meta.append((j, who))
    res = parallel(calls)
    by_job = {}
    for (j, who), r in zip(meta, res):
        assert not isinstance(r, Exception), r
        by_job.setdefault(j["id"], []).append((who, r))
    for j in js:
        pair = by_job[j["id"]]
        wins = [who for who, r in pair if r.status == 200]
        assert len(wins) == 1, "job %s: %r" % (j["id"], pair)
        for who, r in pair:
            if r.status != 200:
                assert r.status in (404, 409), r
                assert_problem(r, r.status)
            else:
                assert assert_json(r)["state"] == "completed", r.json
        done = wait_state(srv, j["executionId"], "completed")
        assert done["variables"]["winner"] == wins[0], (wins, done["variables"])
        assert done["variables"]["note"] == "done by " + wins[0], done["variables"]
        assert_ran_once(srv, j["executionId"], ["start", "work", "calc", "end"])
    assert sorted(x["state"] for x in jobs(srv, type=jt, state="completed")) == ["completed"] * 10
    assert jobs(srv, type=jt) == [], "a completed job is still activatable"


def test_racing_task_answers_one_wins(srv):
    body = ('<bpmn:startEvent id="start"/><bpmn:userTask id="review"/>'
            '<bpmn:scriptTask id="calc"><bpmn:extensionElements>'
            '<zeebe:script expression="=pick * 10" resultVariable="scaled"/>'
            '</bpmn:extensionElements></bpmn:scriptTask><bpmn:endEvent id="end"/>'
            + chain("start", "review", "calc", "end"))
    p = deploy(srv, bpmn("cc_task", body))
    eids = [start(srv, p["id"], {"n": k})["id"] for k in range(8)]
    tids = [wait_task(srv, e, "review") for e in eids]
    calls, meta = [], []
    for e, t in zip(eids, tids):
        for pick in (1, 2, 3):
            calls.append(lambda t=t, pick=pick: respond(srv, t, {"pick": pick}))
            meta.append((e, pick))
    res = parallel(calls)
    for e, t in zip(eids, tids):
        mine = [(pick, r) for (ee, pick), r in zip(meta, res) if ee == e]
        assert not any(isinstance(r, Exception) for _, r in mine), mine
        wins = [pick for pick, r in mine if r.status == 200]
        assert len(wins) == 1, "task %s: %r" % (t, mine)
        for pick, r in mine:
            if r.status != 200:
                assert_problem(r, 409)
        done = wait_state(srv, e, "completed")
        assert done["variables"]["pick"] == wins[0] and done["variables"]["scaled"] == wins[0] * 10, done
        assert_ran_once(srv, e, ["start", "review", "calc", "end"])
        task = assert_json(srv.get(9006, "/tasks/" + t))
        assert task["status"] == "completed" and task["response"] == {"pick": wins[0]}, task


def test_racing_variable_writes_none_lost(srv):
    body = ('<bpmn:startEvent id="start"/><bpmn:userTask id="hold"/><bpmn:endEvent id="end"/>'
            + chain("start", "hold", "end"))
    p = deploy(srv, bpmn("cc_vars", body))
    inst = start(srv, p["id"], {"base": 0})
    wait_task(srv, inst["id"], "hold")
    res = parallel([lambda k=k: srv.req("PUT", 9005, "/executions/%s/variables" % inst["id"],
                                        body={"variables": {"v%02d" % k: k, "last": k}})
                    for k in range(30)])
    for r in res:
        assert not isinstance(r, Exception), r
        assert_json(r)
    v = get(srv, inst["id"])["variables"]
    missing = [k for k in range(30) if v.get("v%02d" % k) != k]
    assert not missing, "lost variable updates %r: %r" % (missing, v)
    assert v["base"] == 0 and v["last"] in range(30), v
    h = history(srv, inst["id"])
    assert count(h, "variables.changed") >= 30, [x["type"] for x in h]


def test_mixed_racing_work_on_one_instance(srv):
    """A fork into a user task, a job and a message wait; all three are finished at the
    same moment, together with variable writes: the join fires once, nothing is lost."""
    jt = "cc-mixed-%s" % UNIQ
    name = "cc-mixed-msg-%s" % UNIQ
    body = ('<bpmn:startEvent id="start"/><bpmn:parallelGateway id="fork"/>'
            '<bpmn:userTask id="u"/>'
            '<bpmn:serviceTask id="j"><bpmn:extensionElements><zeebe:taskDefinition type="%s"/>'
            '</bpmn:extensionElements></bpmn:serviceTask>'
            '<bpmn:receiveTask id="m" messageRef="mm"/>'
            '<bpmn:parallelGateway id="join"/><bpmn:endEvent id="end"/>' % jt
            + flows(("f1", "start", "fork"), ("f2", "fork", "u"), ("f3", "fork", "j"),
                    ("f4", "fork", "m"), ("f5", "u", "join"), ("f6", "j", "join"),
                    ("f7", "m", "join"), ("f8", "join", "end")))
    p = deploy(srv, bpmn("cc_mixed", body, defs_extra=message("mm", name)))
    for round_ in range(4):
        key = "mixed-%s-%d" % (UNIQ, round_)
        inst = start(srv, p["id"], {"orderId": key})
        tid = wait_task(srv, inst["id"], "u")
        job = [x for x in jobs(srv, type=jt, executionId=inst["id"])]
        assert len(job) == 1, job
        calls = [lambda: respond(srv, tid, {"fromTask": True}),
                 lambda: srv.req("POST", 9005, "/jobs/%s/complete" % job[0]["id"],
                                 body={"variables": {"fromJob": True}}),
                 lambda: post_message(srv, name, key, {"fromMsg": True})]
        calls += [lambda k=k: srv.req("PUT", 9005, "/executions/%s/variables" % inst["id"],
                                      body={"variables": {"w%d" % k: k}}) for k in range(4)]
        res = parallel(calls)
        for r in res[:3]:
            assert not isinstance(r, Exception) and r.status == 200, res
        # a write that raced with the completion may legitimately find the instance ended
        wrote = [k for k, r in enumerate(res[3:]) if r.status == 200]
        for r in res[3:]:
            assert r.status in (200, 409), r
        done = wait_state(srv, inst["id"], "completed")
        v = done["variables"]
        assert v.get("fromTask") is True and v.get("fromJob") is True and v.get("fromMsg") is True, v
        for k in wrote:
            assert v.get("w%d" % k) == k, "acknowledged write w%d lost: %r" % (k, v)
        h = assert_ran_once(srv, inst["id"], ["start", "fork", "u", "j", "m", "end"])
        assert count(h, "element.left", "join") == 1, h


def test_racing_starts_with_one_idempotency_key(srv):
    body = ('<bpmn:startEvent id="start"/><bpmn:userTask id="hold"/><bpmn:endEvent id="end"/>'
            + chain("start", "hold", "end"))
    p = deploy(srv, bpmn("cc_idem", body))
    for round_ in range(3):
        key = "idem-%s-%d" % (UNIQ, round_)
        before = assert_json(srv.get(9005, "/executions?processId=%s&limit=1" % p["id"]))["total"]
        res = parallel([lambda k=k: srv.req("POST", 9005, "/executions",
                                            headers={"Idempotency-Key": key},
                                            body={"processId": p["id"], "variables": {"k": k}})
                        for k in range(6)])
        for r in res:
            assert not isinstance(r, Exception), r
        created = [r for r in res if r.status == 201]
        assert len(created) == 1, "want one 201, got %r" % [r.status for r in res]
        assert all(r.status in (200, 201) for r in res), res
        ids = {r.json["id"] for r in res}
        assert len(ids) == 1, "one key started several instances: %r" % ids
        after = assert_json(srv.get(9005, "/executions?processId=%s&limit=1" % p["id"]))["total"]
        assert after == before + 1, (before, after)
        eid = ids.pop()
        assert get(srv, eid)["variables"]["k"] == created[0].json["variables"]["k"]
        assert len(history(srv, eid)) >= 1 and count(history(srv, eid), "instance.started") == 1
