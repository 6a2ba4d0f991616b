"""Prompt Engineering on 8012 (docs/prompts.md): prompts as Mustache templates with a
JSON Schema for their variables, immutable versions, labels, rendering (a missing or
ill-typed variable is a 422 naming it), composition through partials (inline and other
prompts by name), test runs stored beside the version, tenants, bad input."""

from harness import assert_json, assert_problem, metric_values, unique_name, wait_until

P = 8012

SUMMARY = {
    "description": "Summarises a case for a clerk",
    "tags": ["claims", "summary"],
    "template": "{{> greeting}}\nCase {{caseId}} for {{customer.name}}:\n"
                "{{#items}}- {{name}} ({{amount}} EUR)\n{{/items}}{{^items}}no items\n{{/items}}{{> house-style}}",
    "partials": {"greeting": "You are a careful assistant.\n"},
    "variables": {"type": "object", "required": ["caseId", "customer"],
                  "properties": {"caseId": {"type": "string", "minLength": 3},
                                 "customer": {"type": "object", "required": ["name"],
                                              "properties": {"name": {"type": "string"}}},
                                 "items": {"type": "array", "items": {"type": "object"}}}},
    "outputFormat": "json",
    "outputSchema": {"type": "object", "required": ["summary"], "properties": {"summary": {"type": "string"}}},
}

VARS = {"caseId": "C-17", "customer": {"name": "Ada <Lovelace>"},
        "items": [{"name": "laptop", "amount": 1200}, {"name": "bag", "amount": 80}]}


def mk(s, name=None, headers=None, **over):
    body = dict(SUMMARY, name=name or unique_name("p").lower())
    body.update(over)
    body = {k: v for k, v in body.items() if v is not None}
    return assert_json(s.req("POST", P, "/prompts", body=body, headers=headers), 201)


def house_style(s, headers=None, text="Answer in JSON."):
    r = s.req("POST", P, "/prompts", body={"name": "house-style", "template": text}, headers=headers)
    if r.status == 409:
        return None
    return assert_json(r, 201)


def test_create_render_compose(srv):
    house_style(srv)
    p = mk(srv)
    assert p["latestVersion"] == 1 and p["version"]["version"] == 1 and p["labels"] == {}, p
    assert p["version"]["outputFormat"] == "json" and p["version"]["variables"]["required"] == ["caseId", "customer"]
    r = assert_json(srv.req("POST", P, "/prompts/%s/render" % p["id"], body={"variables": VARS}))
    # partials inline and by prompt name; no HTML escaping in prompts; sections over lists
    assert r["text"] == ("You are a careful assistant.\nCase C-17 for Ada <Lovelace>:\n"
                         "- laptop (1200 EUR)\n- bag (80 EUR)\nAnswer in JSON."), r["text"]
    assert r["version"] == 1 and r["outputFormat"] == "json" and r["outputSchema"]["required"] == ["summary"], r
    # by name as well as id; inverted section when the list is empty
    r = assert_json(srv.req("POST", P, "/prompts/%s/render" % p["name"],
                            body={"variables": dict(VARS, items=[])}))
    assert "no items" in r["text"], r


def test_versions_and_labels(srv):
    house_style(srv)
    p = mk(srv)
    url = "/prompts/%s" % p["id"]
    g = srv.get(P, url)
    assert g.headers.get("etag") == '"r1"', g.headers
    v2 = assert_json(srv.req("PUT", P, url, body={"template": "v2 {{caseId}}", "changelog": "shorter"},
                             headers={"If-Match": '"r1"'}))
    assert v2["latestVersion"] == 2 and v2["version"]["template"] == "v2 {{caseId}}", v2
    # a stale If-Match changes nothing
    assert_problem(srv.req("PUT", P, url, body={"template": "lost"}, headers={"If-Match": '"r1"'}), 412)
    assert_json(srv.req("PUT", P, url + "/labels/production", body={"version": 1}))
    assert_json(srv.req("PUT", P, url + "/labels/staging", body={"version": 2}))
    got = assert_json(srv.get(P, url))
    assert got["labels"] == {"production": 1, "staging": 2} and got["version"]["version"] == 2, got
    assert assert_json(srv.get(P, url + "?label=production"))["version"]["version"] == 1
    assert assert_json(srv.get(P, url + "?version=1"))["version"]["template"] == SUMMARY["template"]
    r = assert_json(srv.req("POST", P, url + "/render", body={"variables": VARS, "label": "production"}))
    assert r["version"] == 1 and r["text"].startswith("You are"), r
    r = assert_json(srv.req("POST", P, url + "/render", body={"variables": VARS, "label": "staging"}))
    assert r["version"] == 2 and r["text"] == "v2 C-17", r
    vs = assert_json(srv.get(P, url + "/versions"))
    assert [v["version"] for v in vs["items"]] == [2, 1] and vs["total"] == 2, vs
    assert vs["items"][1]["labels"] == ["production"] and vs["items"][0]["changelog"] == "shorter", vs
    # moving a label; a label on a version that does not exist is refused
    assert_json(srv.req("PUT", P, url + "/labels/production", body={"version": 2}))
    assert assert_json(srv.get(P, url))["labels"]["production"] == 2
    assert_problem(srv.req("PUT", P, url + "/labels/production", body={"version": 9}), 422)
    assert_problem(srv.req("PUT", P, url + "/labels/Bad%20Label", body={"version": 1}), 422)
    assert srv.req("DELETE", P, url + "/labels/staging").status == 204
    assert "staging" not in assert_json(srv.get(P, url))["labels"]
    assert_problem(srv.req("POST", P, url + "/render", body={"variables": VARS, "label": "staging"}), 404)
    assert_problem(srv.get(P, url + "?version=7"), 404)


def test_render_errors_name_the_variable(srv):
    house_style(srv)
    p = mk(srv)
    url = "/prompts/%s/render" % p["id"]
    # required by the schema
    pr = assert_problem(srv.req("POST", P, url, body={"variables": {"caseId": "C-17"}}), 422)
    assert any(e["pointer"] == "/variables/customer" for e in pr["errors"]), pr
    # ill-typed
    pr = assert_problem(srv.req("POST", P, url, body={"variables": dict(VARS, caseId=17)}), 422)
    assert any(e["pointer"] == "/variables/caseId" for e in pr["errors"]), pr
    pr = assert_problem(srv.req("POST", P, url, body={"variables": dict(VARS, caseId="C")}), 422)
    assert any(e["pointer"] == "/variables/caseId" for e in pr["errors"]), pr
    # missing without a schema: strict rendering names it
    q = mk(srv, variables=None, partials=None, outputFormat="text", outputSchema=None,
           template="Dear {{title}} {{lastName}},")
    pr = assert_problem(srv.req("POST", P, "/prompts/%s/render" % q["id"], body={"variables": {"title": "Dr"}}), 422)
    assert pr["errors"][0]["pointer"] == "/variables/lastName" and "line 1" in pr["errors"][0]["detail"], pr
    # a partial that is nowhere
    z = mk(srv, variables=None, partials=None, outputFormat="text", outputSchema=None, template="{{> nowhere-x}}")
    pr = assert_problem(srv.req("POST", P, "/prompts/%s/render" % z["id"], body={}), 422)
    assert "nowhere-x" in pr["errors"][0]["detail"], pr
    assert_problem(srv.req("POST", P, url, body={"variables": [1]}), 422)
    assert_problem(srv.req("POST", P, url, body={"variables": VARS, "version": 0}), 422)
    assert_problem(srv.req("POST", P, url, body={"variables": VARS, "colour": "red"}), 422)
    assert_problem(srv.req("POST", P, "/prompts/prm_nope/render", body={}), 404)


def test_bad_templates_and_bodies_store_nothing(srv):
    name = unique_name("bad").lower()
    pr = assert_problem(srv.req("POST", P, "/prompts", body={"name": name, "template": "Hi\n{{#a}} x {{/b}}"}), 422)
    e = pr["errors"][0]
    assert e["pointer"] == "/template" and e["line"] == 2 and e["column"] >= 1, pr
    pr = assert_problem(srv.req("POST", P, "/prompts", body={"name": name, "template": "ok",
                                                              "partials": {"p": "{{unclosed"}}), 422)
    assert pr["errors"][0]["pointer"] == "/partials/p", pr
    cases = [
        ({"template": "x"}, "/name"),
        ({"name": "has space", "template": "x"}, "/name"),
        ({"name": name}, "/template"),
        ({"name": name, "template": "x", "variables": {"type": 7}}, "/variables"),
        ({"name": name, "template": "x", "outputFormat": "xml"}, "/outputFormat"),
        ({"name": name, "template": "x", "outputSchema": {"type": "object"}}, "/outputSchema"),
        ({"name": name, "template": "x", "tags": ["a"] * 21}, "/tags"),
        ({"name": name, "template": "x", "colour": "red"}, "/colour"),
        ({"name": name, "template": "x" * (256 * 1024 + 1)}, "/template"),
    ]
    for body, ptr in cases:
        pr = assert_problem(srv.req("POST", P, "/prompts", body=body), 422)
        assert pr["errors"][0]["pointer"] == ptr, (ptr, pr)
    assert assert_json(srv.get(P, "/prompts?q=" + name))["total"] == 0, "a refused prompt was stored"
    p = mk(srv)
    assert_problem(srv.req("POST", P, "/prompts", body=dict(SUMMARY, name=p["name"])), 409)
    # a refused version leaves the prompt as it was
    assert_problem(srv.req("PUT", P, "/prompts/" + p["id"], body={"template": "{{#open}}"}), 422)
    assert_problem(srv.req("PUT", P, "/prompts/" + p["id"], body={"name": "renamed", "template": "x"}), 422)
    assert_problem(srv.req("PUT", P, "/prompts/" + p["id"], body={"template": "x"}, headers={"If-Match": "r1"}), 412)
    assert assert_json(srv.get(P, "/prompts/" + p["id"]))["latestVersion"] == 1


def test_search_tenants_and_delete(srv):
    house_style(srv)
    p = mk(srv, tags=["claims", "triage"])
    assert_json(srv.req("PUT", P, "/prompts/%s/labels/production" % p["id"], body={"version": 1}))
    found = assert_json(srv.get(P, "/prompts?q=%s" % p["name"][2:]))
    assert [x["id"] for x in found["items"]] == [p["id"]], found
    assert p["id"] in [x["id"] for x in assert_json(srv.get(P, "/prompts?tag=triage&limit=500"))["items"]]
    assert p["id"] in [x["id"] for x in assert_json(srv.get(P, "/prompts?label=production&limit=500"))["items"]]
    assert p["id"] not in [x["id"] for x in assert_json(srv.get(P, "/prompts?tag=nope"))["items"]]
    other = srv.tenant_headers("prompts-other")
    assert assert_json(srv.get(P, "/prompts", headers=other))["total"] == 0
    assert_problem(srv.req("GET", P, "/prompts/" + p["id"], headers=other), 404)
    assert_problem(srv.req("POST", P, "/prompts/%s/render" % p["id"], body={"variables": VARS}, headers=other), 404)
    assert_problem(srv.req("PUT", P, "/prompts/" + p["id"], body={"template": "x"}, headers=other), 404)
    assert_problem(srv.req("DELETE", P, "/prompts/" + p["id"], headers=other), 404)
    # the same name in another tenant is another prompt; partials resolve in the caller's tenant
    house_style(srv, headers=other, text="Other tenant's style.")
    q = mk(srv, name=p["name"], headers=other)
    r = assert_json(srv.req("POST", P, "/prompts/%s/render" % q["id"], body={"variables": VARS}, headers=other))
    assert r["text"].endswith("Other tenant's style."), r
    # participants read and render, they do not write
    reader = srv.tenant_headers("default", roles=("participant",), email="reader@prompts.test")
    r = srv.req("POST", P, "/prompts", body=dict(SUMMARY, name=unique_name("r").lower()), headers=reader)
    assert r.status == 403, r.status
    assert srv.req("DELETE", P, "/prompts/" + p["id"]).status == 204
    assert_problem(srv.get(P, "/prompts/" + p["id"]), 404)
    wait_until(lambda: sum(metric_values(srv.metrics(), "fm_bus_events_by_type_total",
                                         type="prompt.created")) >= 1, what="prompt.created event")


def test_test_runs_are_kept_with_the_version(srv):
    house_style(srv)
    p = mk(srv)
    url = "/prompts/%s" % p["id"]
    # no such agent on 9007: a 502 naming it, and the failed run is stored
    pr = assert_problem(srv.req("POST", P, url + "/test", body={"variables": VARS, "agentId": "no-such-agent"}), 502)
    assert "no-such-agent" in pr["detail"] and pr["test"]["status"] == "failed", pr
    bad = pr["test"]
    assert bad["version"] == 1 and bad["rendered"].startswith("You are") and bad["variables"] == VARS, bad
    # an agent configured on 9007 with the built-in local provider answers; the run is kept
    agent = unique_name("clerk").lower()
    r = srv.req("PUT", 9007, "/agents/%s/config" % agent, body={
        "provider": "local", "local": {"rules": [{"when": "case c-17", "reply": "Summary of: {{input}}"}]}})
    assert r.status in (200, 201), r
    t = assert_json(srv.req("POST", P, url + "/test", body={"variables": VARS, "agentId": agent}), 201)
    assert t["status"] == "passed" and t["httpStatus"] == 200, t
    assert t["output"]["output"].startswith("Summary of: You are a careful assistant."), t
    assert t["output"]["provider"] == "local", t
    runs = assert_json(srv.get(P, url + "/tests?version=1"))
    assert [x["id"] for x in runs["items"]] == [t["id"], bad["id"]], runs
    assert assert_json(srv.get(P, url + "/tests?version=2"))["total"] == 0
    # a render error runs nothing and stores nothing
    assert_problem(srv.req("POST", P, url + "/test", body={"variables": {}, "agentId": agent}), 422)
    assert_problem(srv.req("POST", P, url + "/test", body={"variables": VARS}), 422)
    assert_problem(srv.req("POST", P, url + "/test", body={"variables": VARS, "agentId": "../x"}), 422)
    assert assert_json(srv.get(P, url + "/tests"))["total"] == 2
