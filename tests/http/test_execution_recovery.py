"""Execution Engine crash recovery (docs/execution.md, "How an instance runs"): after
`kill -9` every instance is exactly at its last committed state, timers that fell due
while the server was down fire at start, user tasks answered while the engine was down
(or while the instance was paused) move on, and a job whose completion was acknowledged
is never lost nor run twice. Each test owns its data dir and restarts the binary on it."""

import os
import random
import shutil
import tempfile
import threading
import time

from harness import Server, assert_json, assert_problem, wait_until
from exec_support import (ENDED, all_tasks, assert_ran_once, bpmn, chain, deploy, get,
                          jobs, respond, start, wait_for, wait_state, wait_task, waiting)

FORM = ('{"type": "object", "properties": {"approved": {"type": "boolean"},'
        ' "comment": {"type": "string"}}, "required": ["approved"]}')


def timer_model(pid):
    """start -> PT1S timer -> review (userTask, form) -> calc (FEEL script) -> end"""
    body = """
    <bpmn:startEvent id="start"/>
    <bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition>
      <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT1S</bpmn:timeDuration>
    </bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:userTask id="review" name="Review">
      <bpmn:extensionElements><zeebe:formDefinition formKey="camunda-forms:bpmn:reviewForm"/></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:scriptTask id="calc"><bpmn:extensionElements>
      <zeebe:script expression="=amount * 2" resultVariable="doubled"/>
    </bpmn:extensionElements></bpmn:scriptTask>
    <bpmn:endEvent id="end"/>
    """ + chain("start", "wait", "review", "calc", "end")
    return bpmn(pid, body, proc_ext='<zeebe:userTaskForm id="reviewForm">%s</zeebe:userTaskForm>' % FORM)


def task_model(pid):
    """start -> review (userTask) -> calc (script) -> end"""
    body = """
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="review" name="Review"/>
    <bpmn:scriptTask id="calc"><bpmn:extensionElements>
      <zeebe:script expression="=amount * 2" resultVariable="doubled"/>
    </bpmn:extensionElements></bpmn:scriptTask>
    <bpmn:endEvent id="end"/>
    """ + chain("start", "review", "calc", "end")
    return bpmn(pid, body)


def job_model(pid, job_type):
    """start -> work (job) -> calc (script) -> end"""
    body = """
    <bpmn:startEvent id="start"/>
    <bpmn:serviceTask id="work"><bpmn:extensionElements>
      <zeebe:taskDefinition type="%s" retries="3"/>
    </bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:scriptTask id="calc"><bpmn:extensionElements>
      <zeebe:script expression="=x * 3" resultVariable="tripled"/>
    </bpmn:extensionElements></bpmn:scriptTask>
    <bpmn:endEvent id="end"/>
    """ % job_type + chain("start", "work", "calc", "end")
    return bpmn(pid, body)


class DataDir:
    """A data dir that outlives the Servers started on it."""

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="fm-exec-recovery-")
        self.servers = []

    def server(self, **kw):
        s = Server(data_dir=self.path, **kw)
        self.servers.append(s)
        return s

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for s in self.servers:
            s.close()
        shutil.rmtree(self.path, ignore_errors=True)


def no_open_tasks_for(srv, eids):
    """No task of 9006 that names one of eids is still open (a task made twice across a
    crash would be left behind), and each instance has exactly one completed task."""
    by = {}
    for t in all_tasks(srv):
        if t.get("processInstanceId") in eids:
            by.setdefault(t["processInstanceId"], []).append(t)
    for eid in eids:
        ts = by.get(eid, [])
        st = sorted(t["status"] for t in ts)
        assert st == ["completed"], "%s: tasks in 9006 %r (want exactly one, completed)" % (
            eid, [(t["id"], t["status"], t["elementId"]) for t in ts])


def test_kill_with_timers_due_and_pending():
    with DataDir() as dd:
        s1 = dd.server()
        p = deploy(s1, timer_model("recov_timer"))
        n = 50
        insts = {}
        # first half: their timers fall due (and fire) before the kill
        for i in range(n // 2):
            insts[i] = start(s1, p["id"], {"n": i, "amount": i * 10, "tag": "t%02d" % i})
        time.sleep(1.4)
        for i in range(n // 2, n):
            insts[i] = start(s1, p["id"], {"n": i, "amount": i * 10, "tag": "t%02d" % i})
        # right after start, the second half still waits on its timer
        for i in (n // 2, n - 1):
            assert waiting(insts[i], "wait", "timer"), insts[i]
            assert insts[i]["state"] == "active", insts[i]
        # the first half's timers are due by now; at least one must have fired
        wait_task(s1, insts[0]["id"], "review", timeout=5)
        s1.kill()
        time.sleep(1.3)            # the second half's timers fall due while down
        s2 = dd.server()
        task_of = {}
        for i, inst in insts.items():
            task_of[i] = wait_task(s2, inst["id"], "review", timeout=15)
        assert len(set(task_of.values())) == n, "two instances share a task: %r" % task_of
        for i, tid in task_of.items():
            t = assert_json(s2.get(9006, "/tasks/" + tid))
            assert t["processInstanceId"] == insts[i]["id"] and t["elementId"] == "review", t
            assert t["status"] in ("created", "assigned"), t
            r = respond(s2, tid, {"approved": i % 2 == 0, "comment": "c%d" % i})
            assert_json(r)
        for i, inst in insts.items():
            done = wait_state(s2, inst["id"], "completed", timeout=15)
            v = done["variables"]
            assert v.get("n") == i and v.get("amount") == i * 10 and v.get("tag") == "t%02d" % i, v
            assert v.get("approved") is (i % 2 == 0) and v.get("comment") == "c%d" % i, v
            assert v.get("doubled") == i * 20, v
            assert done["activeElements"] == [] and done["endedAt"], done
            assert_ran_once(s2, inst["id"], ["start", "wait", "review", "calc", "end"])
        no_open_tasks_for(s2, {inst["id"] for inst in insts.values()})


def test_answers_while_paused_and_while_engine_down():
    with DataDir() as dd:
        s1 = dd.server()
        p = deploy(s1, task_model("recov_answer"))
        insts, tids = [], []
        for i in range(12):
            inst = start(s1, p["id"], {"n": i, "amount": i})
            insts.append(inst)
            tids.append(wait_task(s1, inst["id"], "review"))
        # 0..3 paused, then answered: the answer is kept, the token waits
        for i in range(4):
            assert assert_json(s1.req("PUT", 9005, "/executions/%s/pause" % insts[i]["id"]))["state"] == "paused"
        for i in range(8):
            assert_json(respond(s1, tids[i], {"ans": "a%d" % i}))
        for i in range(4, 8):
            wait_state(s1, insts[i]["id"], "completed")
        for i in range(4):
            inst = get(s1, insts[i]["id"])
            assert inst["state"] == "paused" and waiting(inst, "review"), inst
            assert "ans" not in inst["variables"], inst
        s1.kill()

        # the engine is down, the Human Task Service is up: answer 8..11 there
        s2 = dd.server(modules="auth,tasks,gateway")
        try:
            r = s2.req("GET", 9005, "/executions/" + insts[8]["id"], timeout=2)
            assert r.status != 200, "the engine answers although it is not loaded: %r" % (r,)
        except OSError:
            pass                   # nothing listens on 9005: the engine is down
        for i in range(8, 12):
            assert_json(respond(s2, tids[i], {"ans": "a%d" % i}))
        s2.kill()

        s3 = dd.server()
        # answered while down: found at start, moved on
        for i in range(8, 12):
            done = wait_state(s3, insts[i]["id"], "completed", timeout=15)
            assert done["variables"].get("ans") == "a%d" % i and done["variables"].get("doubled") == 2 * i, done
        # paused ones are still paused at the task, with the answer not yet merged
        time.sleep(0.3)
        for i in range(4):
            inst = get(s3, insts[i]["id"])
            assert inst["state"] == "paused" and waiting(inst, "review"), inst
            assert "ans" not in inst["variables"], inst
            r = s3.req("PUT", 9005, "/executions/%s/resume" % insts[i]["id"])
            assert_json(r)
        for i in range(4):
            done = wait_state(s3, insts[i]["id"], "completed", timeout=10)
            assert done["variables"].get("ans") == "a%d" % i and done["variables"].get("doubled") == 2 * i, done
        for i, inst in enumerate(insts):
            h = assert_ran_once(s3, inst["id"], ["start", "review", "calc", "end"])
            types = [x["type"] for x in h]
            if i < 4:
                assert types.count("instance.paused") == 1 and types.count("instance.resumed") == 1, types
            else:
                assert "instance.paused" not in types, types
        no_open_tasks_for(s3, {inst["id"] for inst in insts})


def test_kill_right_after_job_completions():
    jt = "recov-job-%06x" % random.getrandbits(24)
    with DataDir() as dd:
        s1 = dd.server()
        p = deploy(s1, job_model("recov_job", jt))
        n = 30
        insts = {}
        for i in range(n):
            inst = start(s1, p["id"], {"n": i})
            assert waiting(inst, "work", "job"), inst
            insts[inst["id"]] = i
        js = wait_until(lambda: (lambda l: l if len(l) == n else None)(
            jobs(s1, type=jt, state="activatable")), timeout=5, what="%d jobs" % n)
        assert sorted(j["executionId"] for j in js) == sorted(insts), js
        for j in js:
            assert j["elementId"] == "work" and j["type"] == jt and j["state"] == "activatable", j
            assert j["variables"].get("n") == insts[j["executionId"]], j

        acked = {}                 # job id -> status of the answer we got
        lock = threading.Lock()
        go = threading.Event()

        def complete(j):
            go.wait(5)
            x = insts[j["executionId"]]
            try:
                r = s1.req("POST", 9005, "/jobs/%s/complete" % j["id"], body={"variables": {"x": x}},
                           timeout=5)
                st = r.status
            except Exception:
                st = None          # cut off by the kill
            with lock:
                acked[j["id"]] = st
        threads = [threading.Thread(target=complete, args=(j,), daemon=True) for j in js]
        for t in threads:
            t.start()
        go.set()
        wait_until(lambda: sum(1 for v in list(acked.values()) if v == 200) >= n // 3,
                   timeout=10, interval=0.001, what="a third of the completions")
        s1.kill()                  # while the rest may still be in flight
        for t in threads:
            t.join(6)
        assert all(st in (200, None) for st in acked.values()), acked

        s2 = dd.server()
        job_by_exe = {j["executionId"]: j for j in js}
        for eid, i in insts.items():
            inst = get(s2, eid)
            j = job_by_exe[eid]
            if acked.get(j["id"]) == 200:
                # acknowledged: committed, so the token moved on and the instance is done
                assert inst["state"] == "completed", (acked[j["id"]], inst)
            else:
                # not acknowledged: either committed just before the kill, or untouched
                assert inst["state"] in ("completed", "active"), inst
                if inst["state"] == "active":
                    assert [a["elementId"] for a in inst["activeElements"]] == ["work"], inst
                    assert waiting(inst, "work", "job"), inst
                    assert "x" not in inst["variables"], inst
        left = jobs(s2, type=jt, state="activatable")
        active = {eid for eid in insts if get(s2, eid)["state"] == "active"}
        assert {j["executionId"] for j in left} == active, (left, active)
        assert all(j["id"] == job_by_exe[j["executionId"]]["id"] for j in left), \
            "a job was re-created under a new id after the restart: %r" % left
        for j in left:
            assert_json(s2.req("POST", 9005, "/jobs/%s/complete" % j["id"],
                               body={"variables": {"x": insts[j["executionId"]]}}))
        for eid, i in insts.items():
            done = wait_state(s2, eid, "completed", timeout=10)
            assert done["variables"].get("x") == i and done["variables"].get("tripled") == 3 * i, done
            assert_ran_once(s2, eid, ["start", "work", "calc", "end"])
        # every job is completed once; completing it again changes nothing
        for j in js:
            r = s2.req("POST", 9005, "/jobs/%s/complete" % j["id"], body={"variables": {"x": -1}})
            assert r.status in (404, 409), r
            assert_problem(r, r.status)
        assert sorted(j["state"] for j in jobs(s2, type=jt, state="completed")) == ["completed"] * n
        assert jobs(s2, type=jt) == [] and jobs(s2, type=jt, state="failed") == []
        for eid, i in insts.items():
            assert get(s2, eid)["variables"]["x"] == i


def test_kill_during_task_answers():
    """An answer is stored by 9006 first and reaches the engine as task.completed; a kill
    between the two leaves a completed task under a waiting token, which the engine must
    find at start (it asks 9006 for each waiting task). Every acknowledged answer ends up
    in its instance exactly once; unacknowledged ones are either in or can be given again."""
    with DataDir() as dd:
        s1 = dd.server()
        p = deploy(s1, task_model("recov_race"))
        n = 30
        insts, tids = [], []
        for i in range(n):
            inst = start(s1, p["id"], {"n": i, "amount": i})
            insts.append(inst)
            tids.append(wait_task(s1, inst["id"], "review"))
        acked = {}
        lock = threading.Lock()
        go = threading.Event()

        def answer(i):
            go.wait(5)
            try:
                st = respond(s1, tids[i], {"ans": "a%d" % i}).status
            except Exception:
                st = None
            with lock:
                acked[i] = st
        threads = [threading.Thread(target=answer, args=(i,), daemon=True) for i in range(n)]
        for t in threads:
            t.start()
        go.set()
        wait_until(lambda: sum(1 for v in list(acked.values()) if v == 200) >= n // 3,
                   timeout=10, interval=0.001, what="a third of the answers")
        s1.kill()
        for t in threads:
            t.join(6)
        assert all(st in (200, None) for st in acked.values()), acked

        s2 = dd.server()
        for i, inst in enumerate(insts):
            task = assert_json(s2.get(9006, "/tasks/" + tids[i]))
            if acked.get(i) == 200:
                assert task["status"] == "completed", task
            if task["status"] == "completed":
                assert task["response"] == {"ans": "a%d" % i}, task
                # stored by 9006: the engine must pick it up by itself
                done = wait_state(s2, inst["id"], "completed", timeout=15)
            else:
                assert task["status"] in ("created", "assigned"), task
                cur = get(s2, inst["id"])
                assert cur["state"] == "active" and waiting(cur, "review", "task"), cur
                assert waiting(cur, "review", "task")[0]["taskId"] == tids[i], cur
                assert_json(respond(s2, tids[i], {"ans": "a%d" % i}))
                done = wait_state(s2, inst["id"], "completed", timeout=10)
            assert done["variables"].get("ans") == "a%d" % i, done
            assert done["variables"].get("doubled") == 2 * i, done
            assert_ran_once(s2, inst["id"], ["start", "review", "calc", "end"])
        no_open_tasks_for(s2, {inst["id"] for inst in insts})


def test_paused_timers_and_idempotency_keys_survive_kill():
    """Paused instances keep their due timers through a crash (they fire on resume, not at
    start); an Idempotency-Key answered before the crash still names the same instance."""
    with DataDir() as dd:
        s1 = dd.server()
        p = deploy(s1, timer_model("recov_pause"))
        insts = []
        for i in range(6):
            h = {"Idempotency-Key": "recov-pause-%d" % i}
            r = s1.req("POST", 9005, "/executions", headers=h,
                       body={"processId": p["id"], "variables": {"n": i, "amount": i}})
            insts.append(assert_json(r, 201))
        for inst in insts[:3]:
            assert assert_json(s1.req("PUT", 9005, "/executions/%s/pause" % inst["id"]))["state"] == "paused"
        total = assert_json(s1.get(9005, "/executions?limit=1"))["total"]
        s1.kill()
        time.sleep(1.3)            # every timer falls due while down
        s2 = dd.server()
        for i, inst in enumerate(insts):
            r = s2.req("POST", 9005, "/executions", headers={"Idempotency-Key": "recov-pause-%d" % i},
                       body={"processId": p["id"], "variables": {"n": 100 + i}})
            again = assert_json(r, 200)
            assert again["id"] == inst["id"] and again["variables"]["n"] == i, again
        assert assert_json(s2.get(9005, "/executions?limit=1"))["total"] == total
        for inst in insts[3:]:
            wait_task(s2, inst["id"], "review", timeout=10)
        time.sleep(0.5)            # the paused ones must not move meanwhile
        for inst in insts[:3]:
            cur = get(s2, inst["id"])
            assert cur["state"] == "paused" and waiting(cur, "wait", "timer"), cur
            assert_json(s2.req("PUT", 9005, "/executions/%s/resume" % inst["id"]))
        for i, inst in enumerate(insts):
            tid = wait_task(s2, inst["id"], "review", timeout=10)
            assert_json(respond(s2, tid, {"approved": True}))
        for i, inst in enumerate(insts):
            done = wait_state(s2, inst["id"], "completed")
            assert done["variables"]["doubled"] == 2 * i, done
            assert_ran_once(s2, inst["id"], ["start", "wait", "review", "calc", "end"])
