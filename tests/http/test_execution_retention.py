"""History retention (docs/execution.md, "History retention"): ended instances of a
process with historyTimeToLive (a zeebe:property, or camunda:historyTimeToLive) are
removed with their history once it has passed, by the sweep on the engine's loop; active
ones and those of processes without it stay (global execution.history_retention_days =
0); GET /executions/retention shows the policy, the last sweep and the caller's tenant's
count; a bad historyTimeToLive is a 422 at start; under a steady load of instances the
database file stops growing (size measured)."""

import os
import time

import harness
from exec_support import bpmn, chain, deploy, history, start, wait_state
from harness import assert_json, assert_problem, unique_name, wait_until

E = 9005
FIXTURES = {
    # no rate limit: the steady-load test sends rounds of 150 starts as fast as it can
    "ret": lambda: harness.Server(env={"FLOWMASTER_EXECUTION_RETENTION_INTERVAL_MS": "200",
                                       "FLOWMASTER_EXECUTION_RETENTION_BATCH": "50",
                                       "FLOWMASTER_GATEWAY_RATE_PER_IP": "0",
                                       "FLOWMASTER_GATEWAY_RATE_PER_TENANT": "0"}),
    "days": lambda: harness.Server(env={"FLOWMASTER_EXECUTION_HISTORY_RETENTION_DAYS": "1",
                                        "FLOWMASTER_EXECUTION_RETENTION_INTERVAL_MS": "200"}),
}


def ttl_ext(value):
    return ('<zeebe:properties><zeebe:property name="historyTimeToLive" value="%s"/>'
            '</zeebe:properties>' % value)


def straight(srv, ttl=None, headers=None):
    pid = unique_name("ret")
    body = '<bpmn:startEvent id="start"/><bpmn:task id="work"/><bpmn:endEvent id="end"/>' + \
        chain("start", "work", "end")
    return deploy(srv, bpmn(pid, body, proc_ext=ttl_ext(ttl) if ttl else ""), headers=headers)["id"]


def waiting_task(srv, ttl):
    pid = unique_name("retw")
    body = '<bpmn:startEvent id="start"/><bpmn:userTask id="review"/><bpmn:endEvent id="end"/>' + \
        chain("start", "review", "end")
    return deploy(srv, bpmn(pid, body, proc_ext=ttl_ext(ttl)))["id"]


def gone(srv, eid):
    return srv.get(E, "/executions/" + eid).status == 404


def test_ended_instances_removed_after_their_ttl(ret):
    short, keep = straight(ret, "PT1S"), straight(ret)
    done = [start(ret, short, {"n": n}) for n in range(3)]
    assert all(d["state"] == "completed" for d in done), done
    kept = start(ret, keep)
    w = waiting_task(ret, "PT1S")
    active = start(ret, w)
    cancelled = start(ret, w)
    assert_json(ret.req("PUT", E, "/executions/%s/cancel" % cancelled["id"]))
    assert len(history(ret, done[0]["id"])) > 0
    t0 = time.monotonic()
    # not before the TTL
    time.sleep(0.5)
    assert not gone(ret, done[0]["id"]), "removed before its historyTimeToLive"
    wait_until(lambda: all(gone(ret, d["id"]) for d in done + [cancelled]), timeout=10,
               what="ended instances past their TTL removed")
    assert time.monotonic() - t0 >= 0.9
    r = ret.get(E, "/executions/%s/history" % done[0]["id"])
    assert_problem(r, 404)
    # the active instance of the same process, and the process without a TTL, stay
    assert assert_json(ret.get(E, "/executions/" + active["id"]))["state"] == "active"
    assert assert_json(ret.get(E, "/executions/" + kept["id"]))["state"] == "completed"
    assert len(history(ret, kept["id"])) > 0
    lst = assert_json(ret.get(E, "/executions?processId=%s&limit=100" % short))
    assert lst["items"] == [], lst
    j = assert_json(ret.get(E, "/executions/retention"))
    assert j["policy"] == {"historyRetentionDays": 0, "intervalMs": 200, "batch": 50,
                           "processSetting": "historyTimeToLive"}, j
    assert j["lastRun"]["at"].endswith("Z") and j["lastRun"]["durationMs"] >= 0, j
    # an instance that ends later is removed later too
    wait_state(ret, active["id"], "active")
    assert_json(ret.req("PUT", E, "/executions/%s/cancel" % active["id"]))
    wait_until(lambda: gone(ret, active["id"]), timeout=10, what="the later cancelled instance removed")


def test_retention_per_tenant_counts(ret):
    b = ret.tenant_headers("ret-b-%s" % unique_name("t"))
    before_a = assert_json(ret.get(E, "/executions/retention"))["removedSinceStart"]
    assert assert_json(ret.get(E, "/executions/retention", headers=b))["removedSinceStart"] == 0
    pb = straight(ret, "PT0S", headers=b)
    ids = [start(ret, pb, headers=b)["id"] for _ in range(4)]
    wait_until(lambda: all(ret.get(E, "/executions/" + i, headers=b).status == 404 for i in ids),
               timeout=10, what="tenant B's instances removed")
    assert assert_json(ret.get(E, "/executions/retention", headers=b))["removedSinceStart"] == 4
    # tenant A's count does not include B's
    assert assert_json(ret.get(E, "/executions/retention"))["removedSinceStart"] == before_a


def test_bad_history_ttl_refused(ret):
    pid = unique_name("retbad")
    body = '<bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>' + chain("start", "end")
    p = deploy(ret, bpmn(pid, body, proc_ext=ttl_ext("soon")))["id"]
    r = start(ret, p, status=None)
    prob = assert_problem(r, 422)
    assert "historyTimeToLive" in prob["detail"], prob
    # Camunda 7's attribute: a number of days
    pid = unique_name("retc7")
    xml = bpmn(pid, body).decode().replace(
        'isExecutable="true"', 'isExecutable="true" camunda:historyTimeToLive="180"').replace(
        'xmlns:zeebe=', 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:zeebe=')
    p = deploy(ret, xml.encode())["id"]
    i = start(ret, p)
    assert i["state"] == "completed"
    time.sleep(0.5)
    assert not gone(ret, i["id"]), "a 180-day TTL removed it"


def test_global_days_keep_recent(days):
    p = straight(days)
    i = start(days, p)
    assert i["state"] == "completed"
    wait_until(lambda: assert_json(days.get(E, "/executions/retention"))["lastRun"], timeout=10,
               what="a sweep")
    time.sleep(0.5)
    assert not gone(days, i["id"]), "ended a moment ago, removed under a one-day policy"
    j = assert_json(days.get(E, "/executions/retention"))
    assert j["policy"]["historyRetentionDays"] == 1, j


def db_bytes(srv):
    """(the database file, its WAL) in bytes."""
    path = os.path.join(srv.data_dir, "execution.db")
    return tuple(os.path.getsize(p) if os.path.exists(p) else 0 for p in (path, path + "-wal"))


def test_database_stops_growing_under_steady_load(ret):
    """Rounds of 150 straight-through instances with a 0 s TTL: once the sweep has
    removed a round, the next one reuses the freed pages, so the database file stops
    growing. The WAL is reused from its start after each checkpoint (its file stays at
    its high-water mark, truncated past 64 MiB: test_db.c)."""
    p = straight(ret, "PT0S")
    sizes = []
    for rnd in range(8):
        ids = [start(ret, p, {"round": rnd, "pad": "x" * 2000})["id"] for _ in range(150)]
        wait_until(lambda: gone(ret, ids[-1]) and gone(ret, ids[0]), timeout=20,
                   what="round %d removed" % rnd)
        wait_until(lambda: assert_json(ret.get(E, "/executions?processId=%s&limit=1" % p))["items"] == [],
                   timeout=20, what="round %d all removed" % rnd)
        sizes.append(db_bytes(ret))
    print("execution.db, WAL after each round (bytes):", sizes)
    files = [s[0] for s in sizes]
    # the file grows only when a checkpoint first copies the working set into it (when
    # that happens depends on the machine's load): at most twice over the eight rounds,
    # where without removal every checkpointed round would add its 150 x 2 KB of
    # variables (2.4 MB over the eight)
    grew = sum(1 for a, b in zip(files, files[1:]) if b > a)
    assert grew <= 2, sizes
    assert files[-1] < 8 * 150 * 2000 / 2, sizes
    assert all(s[1] <= (64 << 20) + (8 << 20) for s in sizes), sizes
