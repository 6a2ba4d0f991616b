"""Human Task Service on 9006 (docs/tasks.md): tasks, the inbox, assignment, claiming,
delegation, responses validated against forms, comments, ABAC on task:work, tenant
isolation and escalation of overdue tasks."""

import base64
import json
import threading
import time

from harness import Server, assert_json, assert_problem, metric_values, wait_until

FIXTURES = {
    "fast": lambda: Server(env={"FLOWMASTER_TASKS_ESCALATION_INTERVAL_MS": "100"}),
}

FORM = {
    "type": "object",
    "properties": {
        "approved": {"type": "boolean"},
        "amount": {"type": "number", "minimum": 0, "maximum": 1000},
        "reason": {"type": "string", "minLength": 3, "maxLength": 50, "pattern": "^[a-z ]+$"},
        "level": {"enum": ["low", "high"]},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["approved", "amount"],
    "additionalProperties": False,
}


def sub_of(headers):
    tok = headers["Authorization"].split()[1].split(".")[1]
    return json.loads(base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4)))["sub"]


def admin_sub(s):
    return sub_of({"Authorization": "Bearer " + s.admin_token()})


def create(s, headers=None, status=201, **body):
    body.setdefault("name", "Review")
    r = s.req("POST", 9006, "/tasks", body=body, headers=headers)
    if status != 201:
        return r
    t = assert_json(r, 201)
    assert r.headers.get("location") == "/tasks/" + t["id"], r.headers
    return t


def put(s, tid, action, body=None, headers=None):
    return s.req("PUT", 9006, "/tasks/%s/%s" % (tid, action), body=body, headers=headers)


def test_create_and_get(srv):
    t = create(srv, description="check it", candidateUsers=["u1"], candidateGroups=["finance"],
               dueDate="2030-01-02T03:04:05Z", followUpDate="2029-12-31T23:00:00+01:00",
               priority=70, form=FORM, variables={"x": 1},
               processInstanceId="pi-1", elementId="review")
    assert t["status"] == "created" and t["assignee"] is None and t["priority"] == 70, t
    assert t["dueDate"] == "2030-01-02T03:04:05.000Z", t
    assert t["followUpDate"] == "2029-12-31T22:00:00.000Z", t
    assert t["candidateUsers"] == ["u1"] and t["candidateGroups"] == ["finance"], t
    assert t["form"] == FORM and t["variables"] == {"x": 1}, t
    assert t["processInstanceId"] == "pi-1" and t["elementId"] == "review", t
    assert t["escalated"] is False and t["response"] is None, t
    r = srv.get(9006, "/tasks/" + t["id"])
    got = assert_json(r)
    assert got == t and r.headers.get("etag") == '"%d"' % t["version"], (got, r.headers)
    assert_problem(srv.get(9006, "/tasks/task_nope"), 404)
    # created with an assignee: assigned at once
    t2 = create(srv, assignee="someone")
    assert t2["status"] == "assigned" and t2["assignee"] == "someone", t2
    # also through the gateway
    assert assert_json(srv.get(9000, "/tasks/" + t["id"]))["id"] == t["id"]


def test_bad_input(srv):
    r = srv.req("POST", 9006, "/tasks", raw=None, body=None,
                headers={"Content-Type": "application/json"})
    assert r.status in (400, 422), r
    r = srv.req("POST", 9006, "/tasks", headers={"Content-Type": "application/json"},
                body="{not json")
    assert r.status in (400, 422), r
    cases = [
        ({}, "/name"),
        ({"name": 5}, "/name"),
        ({"name": "x", "priority": 101}, "/priority"),
        ({"name": "x", "priority": "high"}, "/priority"),
        ({"name": "x", "dueDate": "tomorrow"}, "/dueDate"),
        ({"name": "x", "dueDate": "2030-02-30T00:00:00Z"}, "/dueDate"),
        ({"name": "x", "followUpDate": "2030-01-01 10:00:00"}, "/followUpDate"),
        ({"name": "x", "candidateUsers": "u1"}, "/candidateUsers"),
        ({"name": "x", "candidateGroups": [1]}, "/candidateGroups"),
        ({"name": "x", "form": {"type": "nonsense"}}, "/form"),
        ({"name": "x", "form": {"properties": {"a": {"pattern": "("}}}}, "/form"),
        ({"name": "x", "variables": [1]}, "/variables"),
    ]
    for body, ptr in cases:
        p = assert_problem(srv.req("POST", 9006, "/tasks", body=body), 422)
        assert ptr in [e["pointer"] for e in p.get("errors", [])], (body, p)
    t = create(srv)
    assert_problem(put(srv, t["id"], "assign", {"assignee": 3}), 422)
    assert_problem(put(srv, t["id"], "assign", {}), 422)
    assert_problem(put(srv, t["id"], "delegate", {}), 422)
    assert_problem(put(srv, t["id"], "respond", {"response": "yes"}), 422)
    assert_problem(put(srv, t["id"], "respond", {}), 422)
    assert_problem(srv.get(9006, "/tasks?status=done"), 422)
    assert_problem(srv.get(9006, "/tasks?dueBefore=soon"), 422)
    assert_problem(srv.get(9006, "/tasks?cursor=zz"), 422)
    # nothing of it changed the task
    assert assert_json(srv.get(9006, "/tasks/" + t["id"]))["version"] == t["version"]


def test_list_filters_and_paging(srv):
    tag = "grp-%d" % id(srv)
    a = create(srv, name="a", candidateGroups=[tag], candidateUsers=["alice-" + tag],
               dueDate="2031-01-01T00:00:00Z")
    b = create(srv, name="b", candidateGroups=[tag], assignee="bob-" + tag,
               dueDate="2032-01-01T00:00:00Z")
    c = create(srv, name="c", candidateGroups=[tag])
    ids = lambda j: [t["id"] for t in j["items"]]
    j = assert_json(srv.get(9006, "/tasks?candidateGroup=" + tag))
    assert ids(j) == [a["id"], b["id"], c["id"]] and j["total"] == 3, j
    j = assert_json(srv.get(9006, "/tasks?candidateUser=alice-" + tag))
    assert ids(j) == [a["id"]], j
    j = assert_json(srv.get(9006, "/tasks?assignee=bob-" + tag))
    assert ids(j) == [b["id"]], j
    j = assert_json(srv.get(9006, "/tasks?candidateGroup=%s&status=assigned" % tag))
    assert ids(j) == [b["id"]], j
    j = assert_json(srv.get(9006, "/tasks?candidateGroup=%s&status=created" % tag))
    assert ids(j) == [a["id"], c["id"]], j
    j = assert_json(srv.get(9006, "/tasks?candidateGroup=%s&dueBefore=2031-06-01T00:00:00Z" % tag))
    assert ids(j) == [a["id"]], j
    # paging: two pages of 2 and 1
    j = assert_json(srv.get(9006, "/tasks?candidateGroup=%s&limit=2" % tag))
    assert ids(j) == [a["id"], b["id"]] and j["nextCursor"] and j["total"] == 3, j
    j2 = assert_json(srv.get(9006, "/tasks?candidateGroup=%s&limit=2&cursor=%s" % (tag, j["nextCursor"])))
    assert ids(j2) == [c["id"]] and j2["nextCursor"] is None, j2
    # assignee=me
    me = create(srv, assignee=admin_sub(srv))
    assert me["id"] in ids(assert_json(srv.get(9006, "/tasks?assignee=me&limit=500")))


def test_assign_claim_unclaim_delegate(srv):
    t = create(srv)
    r = put(srv, t["id"], "assign", {"assignee": "carol"})
    t2 = assert_json(r)
    assert t2["assignee"] == "carol" and t2["status"] == "assigned" and t2["version"] == t["version"] + 1, t2
    # If-Match with a stale version
    assert_problem(put(srv, t["id"], "assign", {"assignee": "dave"},
                       headers={"If-Match": '"%d"' % t["version"]}), 412)
    assert_json(put(srv, t["id"], "assign", {"assignee": "dave"},
                    headers={"If-Match": r.headers["etag"]}))
    # the admin holds task:work unconditionally: may unclaim someone else's task
    t3 = assert_json(put(srv, t["id"], "unclaim"))
    assert t3["assignee"] is None and t3["status"] == "created", t3
    assert_problem(put(srv, t["id"], "unclaim"), 409)
    # claim: the caller becomes the assignee; claiming again is a no-op
    admin = admin_sub(srv)
    t4 = assert_json(put(srv, t["id"], "claim"))
    assert t4["assignee"] == admin and t4["status"] == "assigned", t4
    assert assert_json(put(srv, t["id"], "claim"))["version"] == t4["version"]
    # delegate: hand over, the task remembers its owner
    t5 = assert_json(put(srv, t["id"], "delegate", {"to": "erin"}))
    assert t5["assignee"] == "erin" and t5["owner"] == admin, t5
    t6 = assert_json(put(srv, t["id"], "delegate", {"to": "frank"}))
    assert t6["assignee"] == "frank" and t6["owner"] == admin, t6
    # someone else holds it now: claim is a conflict
    assert_problem(put(srv, t["id"], "claim"), 409)
    # comments
    r = srv.req("POST", 9006, "/tasks/%s/comments" % t["id"], body={"text": "first"})
    c1 = assert_json(r, 201)
    assert c1["author"] == admin and c1["text"] == "first", c1
    assert_json(srv.req("POST", 9006, "/tasks/%s/comments" % t["id"], body={"text": "second"}), 201)
    assert_problem(srv.req("POST", 9006, "/tasks/%s/comments" % t["id"], body={"text": ""}), 422)
    j = assert_json(srv.get(9006, "/tasks/%s/comments" % t["id"]))
    assert [c["text"] for c in j["items"]] == ["first", "second"] and j["total"] == 2, j
    assert_problem(srv.req("POST", 9006, "/tasks/task_nope/comments", body={"text": "x"}), 404)


def test_respond_against_form(srv):
    t = create(srv, form=FORM, processInstanceId="pi-9", elementId="approve")
    assert_json(put(srv, t["id"], "claim"))
    bad = {"approved": "yes", "amount": 5000, "reason": "NO", "level": "mid", "tags": ["a", 2],
           "extra": 1}
    p = assert_problem(put(srv, t["id"], "respond", {"response": bad}), 422)
    ptrs = sorted(e["pointer"] for e in p["errors"])
    assert ptrs == sorted(["/response/approved", "/response/amount", "/response/reason",
                           "/response/reason", "/response/level", "/response/tags/1",
                           "/response/extra"]), p
    p = assert_problem(put(srv, t["id"], "respond", {"response": {"approved": True}}), 422)
    assert [e["pointer"] for e in p["errors"]] == ["/response/amount"], p
    # nothing stored on failure
    cur = assert_json(srv.get(9006, "/tasks/" + t["id"]))
    assert cur["status"] == "assigned" and cur["response"] is None, cur
    good = {"approved": True, "amount": 12.5, "reason": "fine by me", "level": "low", "tags": ["x"]}
    done = assert_json(put(srv, t["id"], "respond", {"response": good}))
    assert done["status"] == "completed" and done["response"] == good, done
    assert done["completedAt"] and done["completedBy"], done
    assert_problem(put(srv, t["id"], "respond", {"response": good}), 409)
    assert_problem(put(srv, t["id"], "claim"), 409)
    assert_problem(put(srv, t["id"], "assign", {"assignee": "x"}), 409)
    j = assert_json(srv.get(9006, "/tasks?status=completed&limit=500"))
    assert t["id"] in [x["id"] for x in j["items"]]
    # the events went out (outbox → bus); the outbox drains on the loop, so wait for them
    for typ in ("task.created", "task.assigned", "task.completed"):
        wait_until(lambda: sum(metric_values(srv.metrics(), "fm_bus_events_by_type_total",
                                             type=typ)) >= 1, timeout=5, what=typ + " event")


def test_cancel(srv):
    t = create(srv, candidateUsers=["u1"])
    bob = srv.tenant_headers("default", roles=("participant",), email="bob@tasks.test")
    assert_problem(put(srv, t["id"], "cancel", headers=bob), 403, title="Forbidden")
    c = assert_json(put(srv, t["id"], "cancel"))
    assert c["status"] == "cancelled", c
    assert_problem(put(srv, t["id"], "cancel"), 409)
    assert_problem(put(srv, t["id"], "claim"), 409)
    assert_problem(put(srv, t["id"], "respond", {"response": {}}), 409)
    assert_problem(put(srv, "task_nope", "cancel"), 404)
    j = assert_json(srv.get(9006, "/tasks?status=cancelled&limit=500"))
    assert t["id"] in [x["id"] for x in j["items"]], j
    wait_until(lambda: sum(metric_values(srv.metrics(), "fm_bus_events_by_type_total",
                                         type="task.cancelled")) >= 1, timeout=5,
               what="task.cancelled event")


def test_abac_participants(srv):
    alice = srv.tenant_headers("default", roles=("participant",), email="alice@tasks.test")
    bob = srv.tenant_headers("default", roles=("participant",), email="bob@tasks.test")
    r = srv.req("POST", 8002, "/auth/roles", body={"name": "reviewers", "description": "reviews",
                                                   "grants": ["task:read"]})
    assert r.status in (201, 409), r
    grp = srv.tenant_headers("default", roles=("participant", "reviewers"), email="gina@tasks.test")
    a_sub, b_sub = sub_of(alice), sub_of(bob)
    t = create(srv, candidateUsers=[a_sub], form={"type": "object"})
    # participants read only what is assigned or offered to them, and never create or assign
    assert_json(srv.get(9006, "/tasks/" + t["id"], headers=alice))
    assert_problem(srv.get(9006, "/tasks/" + t["id"], headers=bob), 403, title="Forbidden")
    assert_problem(srv.req("POST", 9006, "/tasks", body={"name": "x"}, headers=bob), 403, title="Forbidden")
    assert_problem(put(srv, t["id"], "assign", {"assignee": b_sub}, headers=bob), 403, title="Forbidden")
    # bob is neither assignee nor candidate
    assert_problem(put(srv, t["id"], "claim", headers=bob), 403, title="Forbidden")
    assert_problem(put(srv, t["id"], "respond", {"response": {}}, headers=bob), 403, title="Forbidden")
    # a candidate must claim before responding
    assert_problem(put(srv, t["id"], "respond", {"response": {}}, headers=alice), 403, title="Forbidden")
    c = assert_json(put(srv, t["id"], "claim", headers=alice))
    assert c["assignee"] == a_sub, c
    # alice hands it to bob, who may then work it
    d = assert_json(put(srv, t["id"], "delegate", {"to": b_sub}, headers=alice))
    assert d["assignee"] == b_sub and d["owner"] == a_sub, d
    assert_problem(put(srv, t["id"], "unclaim", headers=alice), 403, title="Forbidden")
    done = assert_json(put(srv, t["id"], "respond", {"response": {"ok": 1}}, headers=bob))
    assert done["completedBy"] == b_sub and done["status"] == "completed", done
    # a candidate group
    g = create(srv, candidateGroups=["reviewers"])
    assert_problem(put(srv, g["id"], "claim", headers=bob), 403, title="Forbidden")
    assert assert_json(put(srv, g["id"], "claim", headers=grp))["assignee"] == sub_of(grp)
    mine = assert_json(srv.get(9006, "/tasks?assignee=me", headers=grp))
    assert [x["id"] for x in mine["items"]] == [g["id"]], mine


def test_concurrent_claims(srv):
    users = [srv.tenant_headers("default", roles=("participant",), email="racer%d@tasks.test" % i)
             for i in range(4)]
    for _ in range(3):
        t = create(srv, candidateUsers=[sub_of(u) for u in users])
        results = [None] * len(users)
        go = threading.Barrier(len(users))

        def claim(i):
            go.wait()
            results[i] = put(srv, t["id"], "claim", headers=users[i])

        threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(users))]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        won = [i for i, r in enumerate(results) if r.status == 200]
        assert len(won) == 1, [r.status for r in results]
        assert all(r.status == 409 for i, r in enumerate(results) if i not in won), results
        cur = assert_json(srv.get(9006, "/tasks/" + t["id"]))
        assert cur["assignee"] == sub_of(users[won[0]]) and cur["version"] == t["version"] + 1, cur


def test_tenant_isolation(srv):
    t = create(srv)
    other = srv.tenant_headers("tasks-other", roles=("participant",))
    other_admin = srv.tenant_headers("tasks-other", roles=("admin",))
    assert_problem(srv.get(9006, "/tasks/" + t["id"], headers=other), 404)
    assert_problem(srv.get(9006, "/tasks/" + t["id"], headers=other_admin), 404)
    assert_problem(put(srv, t["id"], "claim", headers=other_admin), 404)
    assert_problem(put(srv, t["id"], "assign", {"assignee": "x"}, headers=other_admin), 404)
    j = assert_json(srv.get(9006, "/tasks?limit=500", headers=other_admin))
    assert t["id"] not in [x["id"] for x in j["items"]], j
    mine = create(srv, headers=other_admin, name="theirs", candidateUsers=[sub_of(other)])
    assert_json(srv.get(9006, "/tasks/" + mine["id"], headers=other))
    assert_problem(srv.get(9006, "/tasks/" + mine["id"]), 404)


def test_escalation(fast):
    before = sum(metric_values(fast.metrics(), "fm_bus_events_by_type_total", type="task.escalated"))
    overdue = create(fast, dueDate="2020-01-01T00:00:00Z")
    later = create(fast, dueDate="2099-01-01T00:00:00Z")
    held = create(fast, dueDate="2020-01-01T00:00:00Z", assignee="x")
    wait_until(lambda: assert_json(fast.get(9006, "/tasks/" + overdue["id"]))["escalated"],
               timeout=5, what="the overdue task escalated")
    t = assert_json(fast.get(9006, "/tasks/" + overdue["id"]))
    assert t["escalatedAt"], t
    assert assert_json(fast.get(9006, "/tasks/" + later["id"]))["escalated"] is False
    wait_until(lambda: sum(metric_values(fast.metrics(), "fm_bus_events_by_type_total",
                                         type="task.escalated")) >= before + 2,
               timeout=5, what="task.escalated events")
    # escalated once only
    v = t["version"]
    time.sleep(0.4)
    assert assert_json(fast.get(9006, "/tasks/" + overdue["id"]))["version"] == v
    assert assert_json(fast.get(9006, "/tasks/" + held["id"]))["escalated"] is True


def test_create_idempotency_key(srv):
    # the same key in the same tenant answers with the first task and creates nothing;
    # another tenant's key space is its own
    h = {"Idempotency-Key": "exe_x/7"}
    r1 = srv.req("POST", 9006, "/tasks", body={"name": "Once"}, headers=h)
    t1 = assert_json(r1, 201)
    r2 = srv.req("POST", 9006, "/tasks", body={"name": "Twice"}, headers=h)
    t2 = assert_json(r2, 200)
    assert t2["id"] == t1["id"] and t2["name"] == "Once", t2
    other = dict(srv.tenant_headers("idem-other"), **h)
    t3 = assert_json(srv.req("POST", 9006, "/tasks", body={"name": "Elsewhere"}, headers=other), 201)
    assert t3["id"] != t1["id"]
    assert_problem(srv.req("POST", 9006, "/tasks", body={"name": "x"}, headers={"Idempotency-Key": "k" * 201}), 400,
                   "Bad Request")


def _group(s, name, *members):
    """Group `name` of tenant default (made when missing) with these users (headers)."""
    r = s.req("POST", 8002, "/auth/groups", body={"name": name, "description": name})
    assert r.status in (201, 409), r
    for h in members:
        r = s.req("POST", 8002, "/auth/groups/%s/members" % name, body={"userId": sub_of(h)})
        assert r.status in (200, 201), r


def _relogin(s, email):
    """Fresh headers for a participant made by tenant_headers (its groups as of now)."""
    tok = s.login(email, "pw-default-participant-0123456789")["accessToken"]
    return {"Authorization": "Bearer " + tok, "X-Tenant-Id": "default"}


def _ids(r):
    return [x["id"] for x in assert_json(r)["items"]]


def test_participant_reads_only_tasks_offered_to_them(srv):
    """docs/auth.md: the participant's task:read covers the tasks assigned or offered to
    the person (user or group). A task offered only to the admin stays hidden: not
    listed, its variables not readable, nor its comments."""
    email = "paula@visible.test"
    srv.tenant_headers("default", roles=("participant",), email=email)
    _group(srv, "vis-finance", srv.tenant_headers("default", roles=("participant",), email=email))
    paula = _relogin(srv, email)
    me = sub_of(paula)
    admin_only = create(srv, name="Salary review", candidateUsers=[admin_sub(srv)],
                        variables={"salary": 123456})
    nobody = create(srv, name="Unrouted")
    mine = [create(srv, name="Offered", candidateUsers=[me]),
            create(srv, name="Assigned", assignee=me),
            create(srv, name="Group", candidateGroups=["vis-finance"])]
    # the list: exactly hers, with a total and paging over what she may see
    got = assert_json(srv.get(9006, "/tasks?limit=500", headers=paula))
    assert [x["id"] for x in got["items"]] == [t["id"] for t in mine] and got["total"] == 3, got
    page = assert_json(srv.get(9006, "/tasks?limit=2", headers=paula))
    assert [x["id"] for x in page["items"]] == [t["id"] for t in mine[:2]] and page["total"] == 3, page
    rest = assert_json(srv.get(9006, "/tasks?limit=2&cursor=" + page["nextCursor"], headers=paula))
    assert [x["id"] for x in rest["items"]] == [mine[2]["id"]], rest
    # filters narrow her view, never widen it
    assert _ids(srv.get(9006, "/tasks?candidateUser=" + admin_sub(srv), headers=paula)) == []
    assert _ids(srv.get(9006, "/tasks?candidateGroup=vis-finance", headers=paula)) == [mine[2]["id"]]
    for t in (admin_only, nobody):
        p = assert_problem(srv.get(9006, "/tasks/" + t["id"], headers=paula), 403, title="Forbidden")
        assert "salary" not in json.dumps(p), p
        assert_problem(srv.get(9006, "/tasks/%s/comments" % t["id"], headers=paula), 403)
    for t in mine:
        assert assert_json(srv.get(9006, "/tasks/" + t["id"], headers=paula))["id"] == t["id"]
    # operators and admins still see every task of the tenant
    op = srv.tenant_headers("default", roles=("operator",))
    every = _ids(srv.get(9006, "/tasks?limit=500", headers=op))
    assert {admin_only["id"], nobody["id"]} <= set(every), every


def test_groups_as_candidate_groups_and_me(srv):
    """A Camunda group: candidateGroups=["finance"] reaches the members of group finance
    (no custom role needed); claim works for them only; ?candidateUser=me,
    ?candidateGroup=me and ?assignee=me resolve to the caller. Membership changes reach
    the next token."""
    fin = "finance-%d" % int(time.time() * 1000)
    fred_email, olga_email = "fred@%s.test" % fin, "olga@%s.test" % fin
    fred0 = srv.tenant_headers("default", roles=("participant",), email=fred_email)
    olga = srv.tenant_headers("default", roles=("participant",), email=olga_email)
    _group(srv, fin, fred0)
    fred = _relogin(srv, fred_email)
    claims = json.loads(base64.urlsafe_b64decode(fred["Authorization"].split(".")[1] + "=="))
    assert claims["groups"] == [fin], claims
    t = create(srv, name="Pay invoice", candidateGroups=[fin])
    u = create(srv, name="For fred", candidateUsers=[sub_of(fred)])
    assert _ids(srv.get(9006, "/tasks?candidateGroup=me", headers=fred)) == [t["id"]]
    assert _ids(srv.get(9006, "/tasks?candidateUser=me", headers=fred)) == [u["id"]]
    assert _ids(srv.get(9006, "/tasks?candidateGroup=me", headers=olga)) == []
    assert t["id"] not in _ids(srv.get(9006, "/tasks", headers=olga))
    assert_problem(put(srv, t["id"], "claim", headers=olga), 403, title="Forbidden")
    c = assert_json(put(srv, t["id"], "claim", headers=fred))
    assert c["assignee"] == sub_of(fred), c
    assert _ids(srv.get(9006, "/tasks?assignee=me", headers=fred)) == [t["id"]]
    assert_json(put(srv, t["id"], "respond", {"response": {"paid": True}}, headers=fred))
    # an operator's candidateGroup=me: its groups (none) and role names
    op = srv.tenant_headers("default", roles=("operator",))
    opt = create(srv, name="Ops", candidateGroups=["operator"])
    assert opt["id"] in _ids(srv.get(9006, "/tasks?candidateGroup=me", headers=op))
    # olga joins: her current token does not say so; her next one does
    t2 = create(srv, name="Second invoice", candidateGroups=[fin])
    r = srv.req("POST", 8002, "/auth/groups/%s/members" % fin, body={"userId": sub_of(olga)})
    assert r.status == 201, r
    assert_problem(put(srv, t2["id"], "claim", headers=olga), 403)
    olga2 = _relogin(srv, olga_email)
    assert _ids(srv.get(9006, "/tasks?candidateGroup=me&status=created", headers=olga2)) == [t2["id"]]
    assert assert_json(put(srv, t2["id"], "claim", headers=olga2))["assignee"] == sub_of(olga)
    # "me" without a caller (the engine's internal calls have none) cannot be resolved
    assert_problem(srv.get(9006, "/tasks?candidateGroup=me",
                           headers={"Authorization": "", "X-Tenant-Id": "default"}), 401)


def test_engine_task_with_candidate_group(srv):
    """zeebe:assignmentDefinition candidateGroups="finance" on an engine-created task: the
    members of group finance see and claim it, as in Camunda; others do not."""
    from exec_support import bpmn, chain, deploy, start, wait_task
    grp = "acct-%d" % int(time.time() * 1000)
    m_email = "mia@%s.test" % grp
    _group(srv, grp, srv.tenant_headers("default", roles=("participant",), email=m_email))
    mia = _relogin(srv, m_email)
    out = srv.tenant_headers("default", roles=("participant",), email="otto@%s.test" % grp)
    body = ('<bpmn:startEvent id="s"/>'
            '<bpmn:userTask id="pay" name="Pay"><bpmn:extensionElements>'
            '<zeebe:assignmentDefinition candidateGroups="%s"/>'
            '</bpmn:extensionElements></bpmn:userTask>'
            '<bpmn:endEvent id="e"/>' % grp) + chain("s", "pay", "e")
    p = deploy(srv, bpmn("pay_" + grp.replace("-", "_"), body))
    i = start(srv, p["id"])
    tid = wait_task(srv, i["id"], "pay")
    t = assert_json(srv.get(9006, "/tasks/" + tid, headers=mia))
    assert t["candidateGroups"] == [grp], t
    assert tid in _ids(srv.get(9006, "/tasks?candidateGroup=me", headers=mia))
    assert tid not in _ids(srv.get(9006, "/tasks", headers=out))
    assert_problem(srv.get(9006, "/tasks/" + tid, headers=out), 403)
    assert_problem(put(srv, tid, "claim", headers=out), 403)
    assert assert_json(put(srv, tid, "claim", headers=mia))["assignee"] == sub_of(mia)
