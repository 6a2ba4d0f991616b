"""Process Versioning on 8020 (docs/bpmn.md): diff of versions/draft/branches/tags in
JSON and text, branches with three-way merge and conflict report, tags, rollback."""

from harness import assert_json, assert_problem


def model(task_name="Check", extra_task=None, cond="=amount > 1000"):
    els = [{"id": "s", "type": "startEvent"},
           {"id": "check", "type": "serviceTask", "name": task_name},
           {"id": "gw", "type": "exclusiveGateway", "default": "f3"},
           {"id": "approve", "type": "userTask", "name": "Approve"},
           {"id": "e", "type": "endEvent"}]
    flows = [{"id": "f1", "source": "s", "target": "check"},
             {"id": "f2", "source": "check", "target": "gw"},
             {"id": "f3", "source": "gw", "target": "e"},
             {"id": "f4", "source": "gw", "target": "approve", "condition": cond},
             {"id": "f5", "source": "approve", "target": "e"}]
    if extra_task:
        els.append({"id": extra_task, "type": "task", "name": "Archive"})
        flows[2] = {"id": "f3", "source": "gw", "target": extra_task}
        flows.append({"id": "f9", "source": extra_task, "target": "e"})
    return {"name": "Versioned", "model": {"processes": [{"id": "order", "elements": els, "flows": flows}]}}


def new_process(srv, headers=None):
    pid = assert_json(srv.req("POST", 9003, "/processes", body=model(), headers=headers), 201)["id"]
    assert_json(srv.req("POST", 9003, "/processes/%s/publish" % pid, headers=headers), 201)   # v1
    return pid


def test_diff_versions_and_draft(srv):
    pid = new_process(srv)
    assert_json(srv.req("PUT", 9003, "/processes/" + pid, body=model("Check stock", "arch", "=amount > 5000")))
    assert_json(srv.req("POST", 9003, "/processes/%s/publish" % pid), 201)   # v2
    d = assert_json(srv.get(8020, "/versions/%s/diff?from=1&to=2" % pid))
    assert [a["id"] for a in d["added"]] == ["arch", "f9"], d["added"]
    assert d["removed"] == [], d
    ch = {c["id"]: c["changes"] for c in d["changed"]}
    assert set(ch) == {"check", "f3", "f4"}, ch
    assert ch["check"] == [{"field": "name", "from": "Check", "to": "Check stock"}], ch["check"]
    assert ch["f3"] == [{"field": "targetRef", "from": "e", "to": "arch"}], ch["f3"]
    assert d["summary"]["flowsAdded"] == 1 and d["identical"] is False, d["summary"]
    t = srv.get(8020, "/versions/%s/diff?from=1&to=2&format=text" % pid)
    assert t.status == 200 and t.headers["content-type"].startswith("text/plain"), t
    assert "+ task arch \"Archive\"" in t.text and "name: Check -> Check stock" in t.text, t.text
    same = assert_json(srv.get(8020, "/versions/%s/diff?from=2" % pid))   # to defaults to the draft
    assert same["identical"] is True and same["to"] == "draft", same
    back = assert_json(srv.get(8020, "/versions/%s/diff?from=2&to=1" % pid))
    assert [x["id"] for x in back["removed"]] == ["arch", "f9"], back
    assert_problem(srv.get(8020, "/versions/%s/diff" % pid), 422)
    assert_problem(srv.get(8020, "/versions/%s/diff?from=x" % pid), 422)
    assert_problem(srv.get(8020, "/versions/%s/diff?from=1&format=xml" % pid), 422)
    assert_problem(srv.get(8020, "/versions/%s/diff?from=7" % pid), 404)
    assert_problem(srv.get(8020, "/versions/proc_nope/diff?from=1"), 404)
    assert_problem(srv.get(8020, "/versions/%s/diff?from=branch:none" % pid), 404)


def test_branch_edit_merge(srv):
    pid = new_process(srv)
    r = srv.req("POST", 8020, "/versions/%s/branches" % pid, body={"name": "feature", "fromVersion": 1})
    b = assert_json(r, 201)
    assert b["name"] == "feature" and b["baseVersion"] == 1 and b["status"] == "open", b
    assert r.headers["location"] == "/versions/%s/branches/feature" % pid
    assert_problem(srv.req("POST", 8020, "/versions/%s/branches" % pid, body={"name": "feature", "fromVersion": 1}), 409)
    assert_problem(srv.req("POST", 8020, "/versions/%s/branches" % pid, body={"name": "x", "fromVersion": 9}), 404)
    assert_problem(srv.req("POST", 8020, "/versions/%s/branches" % pid, body={"name": "bad name", "fromVersion": 1}), 422)
    # the branch adds a task; meanwhile the draft renames check
    assert_json(srv.req("PUT", 8020, "/versions/%s/branches/feature" % pid, body=model(extra_task="arch")))
    assert_json(srv.req("PUT", 9003, "/processes/" + pid, body=model("Check stock")))
    d = assert_json(srv.get(8020, "/versions/%s/diff?from=1&to=branch:feature" % pid))
    assert [a["id"] for a in d["added"]] == ["arch", "f9"], d
    lst = assert_json(srv.get(8020, "/versions/%s/branches" % pid))
    assert [x["name"] for x in lst["items"]] == ["feature"] and lst["items"][0]["revision"] == 2, lst
    m = assert_json(srv.req("POST", 8020, "/versions/%s/branches/feature/merge" % pid, body={}))
    assert m["merged"] is True and m["conflicts"] == [], m
    g = assert_json(srv.get(9003, "/processes/" + pid))
    els = {e["id"]: e for e in g["model"]["processes"][0]["elements"]}
    assert els["check"]["name"] == "Check stock" and "arch" in els, els.keys()
    flows = {f["id"]: f for f in g["model"]["processes"][0]["flows"]}
    assert flows["f3"]["target"] == "arch" and "f9" in flows, flows
    assert assert_json(srv.get(8020, "/versions/%s/branches/feature" % pid))["status"] == "merged"
    assert_problem(srv.req("POST", 8020, "/versions/%s/branches/feature/merge" % pid, body={}), 409)
    assert_problem(srv.req("POST", 8020, "/versions/%s/branches/nope/merge" % pid, body={}), 404)


def test_merge_conflict_report(srv):
    pid = new_process(srv)
    assert_json(srv.req("POST", 8020, "/versions/%s/branches" % pid, body={"name": "b1", "fromVersion": 1}), 201)
    assert_json(srv.req("PUT", 8020, "/versions/%s/branches/b1" % pid, body=model("Check credit")))
    assert_json(srv.req("PUT", 9003, "/processes/" + pid, body=model("Check stock")))
    p = assert_problem(srv.req("POST", 8020, "/versions/%s/branches/b1/merge" % pid, body={}), 409, "Merge Conflict")
    assert p["conflicts"] == [{"id": "check", "type": "serviceTask", "reason": "changed on both sides"}], p
    g = assert_json(srv.get(9003, "/processes/" + pid))
    assert g["revision"] == 2, g     # nothing written
    m = assert_json(srv.req("POST", 8020, "/versions/%s/branches/b1/merge" % pid, body={"strategy": "ours"}))
    assert m["merged"] and len(m["conflicts"]) == 1, m
    els = {e["id"]: e for e in assert_json(srv.get(9003, "/processes/" + pid))["model"]["processes"][0]["elements"]}
    assert els["check"]["name"] == "Check stock", els["check"]
    assert_problem(srv.req("POST", 8020, "/versions/%s/branches/b1/merge" % pid, body={"strategy": "theirs"}), 422)


def test_tags_and_rollback(srv):
    pid = new_process(srv)
    assert_json(srv.req("PUT", 9003, "/processes/" + pid, body=model("Check v2")))
    assert_json(srv.req("POST", 9003, "/processes/%s/publish" % pid), 201)   # v2
    t = assert_json(srv.req("POST", 8020, "/versions/%s/tags" % pid, body={"name": "golden", "version": 1}), 201)
    assert t["name"] == "golden" and t["version"] == 1, t
    assert_problem(srv.req("POST", 8020, "/versions/%s/tags" % pid, body={"name": "golden", "version": 2}), 409)
    assert_problem(srv.req("POST", 8020, "/versions/%s/tags" % pid, body={"name": "nope", "version": 9}), 404)
    assert_problem(srv.req("POST", 8020, "/versions/%s/tags" % pid, body={"version": 1}), 422)
    tags = assert_json(srv.get(8020, "/versions/%s/tags" % pid))
    assert [x["name"] for x in tags["items"]] == ["golden"], tags
    d = assert_json(srv.get(8020, "/versions/%s/diff?from=tag:golden&to=2" % pid))
    assert [c["id"] for c in d["changed"]] == ["check"], d
    r = assert_json(srv.req("POST", 8020, "/versions/%s/rollback" % pid, body={"version": 1}), 201)
    assert r["version"] == 3 and r["source"] == "rollback:1" and r["note"] == "rollback to version 1", r
    d = assert_json(srv.get(8020, "/versions/%s/diff?from=1&to=3" % pid))
    assert d["identical"] is True, d
    assert_problem(srv.req("POST", 8020, "/versions/%s/rollback" % pid, body={"version": 42}), 422)
    assert_problem(srv.req("POST", 8020, "/versions/proc_nope/rollback", body={"version": 1}), 404)
    assert_problem(srv.req("POST", 8020, "/versions/%s/rollback" % pid, body={}), 422)
    # tenants: another tenant sees neither the process nor its tags
    o = srv.tenant_headers("other")
    assert assert_json(srv.req("GET", 8020, "/versions/%s/tags" % pid, headers=o))["items"] == []
    assert_problem(srv.req("GET", 8020, "/versions/%s/diff?from=1" % pid, headers=o), 404)
