"""Agent Service on 9016 /agents (docs/agents.md): personas with skills, If-Match,
lessons (feedback, corrections, examples) listed, deleted and retrieved by similarity as
few-shot examples, tenants, bad input."""

from harness import assert_json, assert_problem, metric_values, unique_name, wait_until

P = 9016


def persona(name=None, **over):
    body = {"name": name or unique_name("agent").lower(), "description": "Answers claims questions",
            "systemPrompt": "You are a claims clerk. Be brief.", "tone": "friendly",
            "tools": ["start_process", "list_tasks"], "defaultModel": "local:echo",
            "skills": [{"name": "triage", "description": "sorts a claim", "promptId": "claim-triage",
                        "tools": ["evaluate_decision"]},
                       {"name": "summarise", "promptId": "case-summary"}]}
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


def mk(s, headers=None, **over):
    return assert_json(s.req("POST", P, "/agents", body=persona(**over), headers=headers), 201)


def test_persona_crud_and_skills(srv):
    a = mk(srv)
    assert a["id"].startswith("agt") and a["revision"] == 1 and a["tools"] == ["start_process", "list_tasks"], a
    url = "/agents/" + a["id"]
    g = srv.get(P, url)
    assert g.headers.get("etag") == '"r1"' and assert_json(g)["systemPrompt"].startswith("You are"), g.headers
    assert assert_json(srv.get(P, "/agents/" + a["name"]))["id"] == a["id"]       # by name too
    sk = assert_json(srv.get(P, url + "/skills"))["items"]
    assert [x["name"] for x in sk] == ["triage", "summarise"] and sk[0]["promptId"] == "claim-triage", sk
    b = assert_json(srv.req("PUT", P, url, body=persona(a["name"], tone="formal", skills=[]),
                            headers={"If-Match": '"r1"'}))
    assert b["revision"] == 2 and b["tone"] == "formal" and b["skills"] == [], b
    assert_problem(srv.req("PUT", P, url, body=persona(a["name"]), headers={"If-Match": '"r1"'}), 412)
    found = assert_json(srv.get(P, "/agents?q=" + a["name"][3:]))
    assert [x["id"] for x in found["items"]] == [a["id"]], found
    assert_problem(srv.req("POST", P, "/agents", body=persona(a["name"])), 409)
    assert srv.req("DELETE", P, url).status == 204
    assert_problem(srv.get(P, url), 404)
    wait_until(lambda: sum(metric_values(srv.metrics(), "fm_bus_events_by_type_total",
                                         type="agent.created")) >= 1, what="agent.created event")


def test_learn_list_examples_and_forget(srv):
    a = mk(srv)
    url = "/agents/%s" % a["id"]
    lessons = [
        {"kind": "example", "input": "How do I report water damage in my kitchen?",
         "output": "Open a claim of type property and attach photos."},
        {"kind": "correction", "input": "Is theft of a bicycle covered by household insurance?",
         "output": "Yes, up to 1,000 EUR when it was locked."},
        {"kind": "feedback", "input": "What is the deductible for water damage?", "output": "150 EUR", "rating": 1},
        {"kind": "feedback", "input": "Water damage claim deadline?", "output": "No idea", "rating": -1,
         "note": "wrong: 30 days"},
    ]
    ids = [assert_json(srv.req("POST", P, url + "/learn", body=l), 201)["id"] for l in lessons]
    listed = assert_json(srv.get(P, url + "/learned"))
    assert listed["total"] == 4 and [x["id"] for x in listed["items"]] == ids[::-1], listed
    assert assert_json(srv.get(P, url + "/learned?kind=feedback"))["total"] == 2
    ex = assert_json(srv.get(P, url + "/examples?q=water%20damage%20in%20the%20kitchen&k=5"))["items"]
    # the most similar first; negative feedback is never an example; the bicycle one shares no word
    assert ex[0]["id"] == ids[0], ex
    assert ids[3] not in [x["id"] for x in ex] and ids[1] not in [x["id"] for x in ex], ex
    assert ids[2] in [x["id"] for x in ex] and ex[0]["score"] >= ex[-1]["score"], ex
    ex = assert_json(srv.get(P, url + "/examples?q=bicycle%20stolen%3F&k=1"))["items"]
    assert [x["id"] for x in ex] == [ids[1]] and ex[0]["output"].startswith("Yes"), ex
    # FTS5 syntax in the text is only words
    assert assert_json(srv.get(P, url + '/examples?q=%22water%22%20OR%20NEAR(x*%20%5E)'))["items"] is not None
    assert assert_json(srv.get(P, url + "/examples?q=%21%21%21"))["items"] == []
    # forgetting removes it from the list and from the examples
    assert srv.req("DELETE", P, url + "/learned/" + ids[0]).status == 204
    assert_problem(srv.req("DELETE", P, url + "/learned/" + ids[0]), 404)
    ex = assert_json(srv.get(P, url + "/examples?q=water%20damage%20kitchen&k=5"))["items"]
    assert ids[0] not in [x["id"] for x in ex], ex
    assert assert_json(srv.get(P, url + "/learned"))["total"] == 3


def test_tenants_and_bad_input(srv):
    a = mk(srv)
    url = "/agents/%s" % a["id"]
    assert_json(srv.req("POST", P, url + "/learn", body={"kind": "example", "input": "tenant secret question",
                                                         "output": "tenant secret answer"}), 201)
    other = srv.tenant_headers("agents-other")
    assert assert_json(srv.get(P, "/agents", headers=other))["total"] == 0
    for method, path, body in (("GET", url, None), ("GET", url + "/skills", None), ("GET", url + "/learned", None),
                               ("GET", url + "/examples?q=secret", None), ("DELETE", url, None),
                               ("POST", url + "/learn", {"kind": "example", "input": "x", "output": "y"}),
                               ("PUT", url, persona("x"))):
        assert_problem(srv.req(method, P, path, body=body, headers=other), 404)
    # the same name is another agent in another tenant, with its own lessons
    b = mk(srv, headers=other, name=a["name"])
    assert assert_json(srv.get(P, "/agents/%s/examples?q=secret" % b["id"], headers=other))["items"] == []
    cases = [
        (persona(name="has space"), "/name"),
        ({k: v for k, v in persona().items() if k != "name"}, "/name"),
        (persona(tools=["ok", "not ok"]), "/tools"),
        (persona(tools=["t"] * 51), "/tools"),
        (persona(systemPrompt="x" * (64 * 1024 + 1)), "/systemPrompt"),
        (persona(skills=[{"name": "a"}, {"name": "a"}]), "/skills/1/name"),
        (persona(skills=[{"name": "a", "colour": "red"}]), "/skills/0/colour"),
        (persona(skills=[{"name": "a", "promptId": "bad id"}]), "/skills/0/promptId"),
        (persona(colour="red"), "/colour"),
    ]
    for body, ptr in cases:
        pr = assert_problem(srv.req("POST", P, "/agents", body=body), 422)
        assert pr["errors"][0]["pointer"] == ptr, (ptr, pr)
    lcases = [
        ({"kind": "lecture", "input": "x", "output": "y"}, "/kind"),
        ({"kind": "example", "output": "y"}, "/input"),
        ({"kind": "example", "input": "x"}, "/output"),
        ({"kind": "example", "input": "x" * (16 * 1024 + 1), "output": "y"}, "/input"),
        ({"kind": "feedback", "input": "x", "output": "y"}, "/rating"),
        ({"kind": "feedback", "input": "x", "output": "y", "rating": 5}, "/rating"),
        ({"kind": "example", "input": "x", "output": "y", "rating": 1}, "/rating"),
    ]
    for body, ptr in lcases:
        pr = assert_problem(srv.req("POST", P, url + "/learn", body=body), 422)
        assert pr["errors"][0]["pointer"] == ptr, (ptr, pr)
    assert assert_json(srv.get(P, url + "/learned"))["total"] == 1, "a refused lesson was stored"
    assert_problem(srv.get(P, url + "/examples"), 422)
    assert_problem(srv.get(P, url + "/examples?q=x&k=11"), 422)
    assert_problem(srv.get(P, "/agents/agt_nope"), 404)


def test_invocations_use_what_the_agent_learned(srv):
    """AI Agent Orchestration (9007) puts the lessons most like the question before the
    conversation as example turns, for the agent of the same name (docs/agents.md)."""
    a = mk(srv)
    name = a["name"]
    assert_json(srv.req("POST", P, "/agents/%s/learn" % a["id"], body={
        "kind": "example", "input": "How do I report water damage?", "output": "Open a property claim."}), 201)
    assert_json(srv.req("POST", P, "/agents/%s/learn" % a["id"], body={
        "kind": "feedback", "input": "water damage deadline?", "output": "No idea", "rating": -1}), 201)
    r = srv.req("PUT", 9007, "/agents/%s/config" % name, body={"provider": "local"})
    assert r.status in (200, 201), r
    res = assert_json(srv.req("POST", 9007, "/agents/%s/invoke" % name,
                              body={"input": "water damage in the bathroom", "cache": False}))
    assert res["examples"] == 1 and res["output"] == "You said: water damage in the bathroom", res
    audit = assert_json(srv.get(9007, "/agents/%s/audit" % name))["items"]
    prompt = str(audit[0]["prompt"])
    assert "Open a property claim." in prompt and "No idea" not in prompt, prompt
    # a question sharing no word with any lesson gets none; an agent without a persona neither
    res = assert_json(srv.req("POST", 9007, "/agents/%s/invoke" % name, body={"input": "bicycle", "cache": False}))
    assert res["examples"] == 0, res
    other = unique_name("plain").lower()
    assert srv.req("PUT", 9007, "/agents/%s/config" % other, body={"provider": "local"}).status in (200, 201)
    res = assert_json(srv.req("POST", 9007, "/agents/%s/invoke" % other, body={"input": "water damage"}))
    assert res["examples"] == 0, res
