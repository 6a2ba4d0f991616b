"""Business Rules Engine API on 8018 (docs/rules.md)."""

import os
import threading

from harness import Server, assert_json, assert_problem, metric_values, unique_name, wait_until

P = 8018
HERE = os.path.dirname(os.path.abspath(__file__))
TCK = os.path.join(HERE, "..", "..", "..", "shared", "conformance", "dmn-tck")

FIXTURES = {
    "noaudit": lambda: Server(env={"FLOWMASTER_RULES_AUDIT": "false"}),
    "feelmem": lambda: Server(env={"FLOWMASTER_RULES_FEEL_MEMORY_MIB": "8",
                                   "FLOWMASTER_RULES_FEEL_MEMORY_TOTAL_MIB": "16"}),
}

NS = 'xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"'

DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions %s id="defs" name="%s">
  <inputData id="i_age" name="Applicant Age"><variable name="Applicant Age" typeRef="number"/></inputData>
  <inputData id="i_risk" name="Risk Category"><variable name="Risk Category" typeRef="string"/></inputData>
  <decision id="d_status" name="Approval Status">
    <variable name="Approval Status" typeRef="string"/>
    <informationRequirement><requiredInput href="#i_age"/></informationRequirement>
    <informationRequirement><requiredInput href="#i_risk"/></informationRequirement>
    <decisionTable id="dt_status" hitPolicy="%s">
      <input id="in_age"><inputExpression typeRef="number"><text>Applicant Age</text></inputExpression></input>
      <input id="in_risk"><inputExpression typeRef="string"><text>Risk Category</text></inputExpression></input>
      <output id="out_status" name="status"/>
      <rule id="r_adult"><inputEntry><text>&gt;= 18</text></inputEntry><inputEntry><text>"Low","Medium"</text></inputEntry>
        <outputEntry><text>"Approved"</text></outputEntry></rule>
      <rule id="r_minor"><inputEntry><text>&lt; 18</text></inputEntry><inputEntry><text>-</text></inputEntry>
        <outputEntry><text>"Declined"</text></outputEntry></rule>
      <rule id="r_high"><inputEntry><text>-</text></inputEntry><inputEntry><text>"High"</text></inputEntry>
        <outputEntry><text>"Declined"</text></outputEntry></rule>
    </decisionTable>
  </decision>
  <decision id="d_msg" name="Message">
    <informationRequirement><requiredDecision href="#d_status"/></informationRequirement>
    <literalExpression><text>"Status: " + Approval Status</text></literalExpression>
  </decision>
</definitions>
"""


def dmn(name=None, hp="UNIQUE"):
    return DMN % (NS, name or unique_name("loan"), hp)


def post_dmn(s, xml, query=""):
    return s.req("POST", P, "/rules" + query, body=xml.encode(), headers={"Content-Type": "application/xml"})


def create(s, name=None, hp="UNIQUE"):
    r = post_dmn(s, dmn(name, hp))
    return assert_json(r, 201), r


JSON_MODEL = {
    "inputs": [{"name": "Amount", "type": "number"}, {"name": "Start", "type": "date"}],
    "decisions": [
        {"name": "Fee", "requires": ["Amount"], "literal": "Amount * 0.01"},
        {"name": "Band", "requires": ["Amount"], "table": {
            "hitPolicy": "FIRST", "inputs": ["Amount"], "outputs": ["band"],
            "rules": [{"id": "big", "when": ["> 1000"], "then": ['"big"']},
                      {"id": "small", "when": ["-"], "then": ['"small"']}]}},
        {"name": "Next", "requires": ["Start"], "literal": 'Start + duration("P1M")'},
    ],
}


def test_create_get_and_evaluate_dmn(srv):
    j, r = create(srv)
    assert j["version"] == 1 and j["format"] == "dmn", j
    assert j["decisions"] == ["Approval Status", "Message"], j
    assert r.headers.get("location") == "/rules/" + j["id"], r.headers
    etag = r.headers.get("etag")
    assert etag == '"%s.v1"' % j["id"], etag
    g = srv.get(P, "/rules/" + j["id"])
    gj = assert_json(g)
    assert gj["name"] == j["name"] and "<definitions" in gj["dmn"], gj
    assert g.headers.get("etag") == etag
    e = assert_json(srv.req("POST", P, "/rules/%s/evaluate" % j["id"],
                            body={"inputs": {"Applicant Age": 30, "Risk Category": "Low"}}))
    assert e["outputs"] == {"Approval Status": "Approved", "Message": "Status: Approved"}, e
    assert e["version"] == 1 and e["decision"] is None, e
    assert e["matchedRules"] == [{"decision": "Approval Status", "table": "dt_status", "rules": ["r_adult"]}], e
    assert e["warnings"] == [], e
    one = assert_json(srv.req("POST", P, "/rules/%s/evaluate" % j["id"],
                              body={"decision": "Approval Status", "inputs": {"Applicant Age": 12, "Risk Category": "Low"}}))
    assert one["outputs"] == {"Approval Status": "Declined"}, one


def test_unique_violation_is_a_warning_not_a_first_match(srv):
    j, _ = create(srv)
    e = assert_json(srv.req("POST", P, "/rules/%s/evaluate" % j["id"],
                            body={"decision": "Approval Status", "inputs": {"Applicant Age": 10, "Risk Category": "High"}}))
    assert e["outputs"] == {"Approval Status": None}, e
    assert e["matchedRules"][0]["rules"] == ["r_minor", "r_high"], e
    assert any("UNIQUE" in w for w in e["warnings"]), e
    # the same table under FIRST picks the first match
    f, _ = create(srv, hp="FIRST")
    e = assert_json(srv.req("POST", P, "/rules/%s/evaluate" % f["id"],
                            body={"decision": "Approval Status", "inputs": {"Applicant Age": 10, "Risk Category": "High"}}))
    assert e["outputs"] == {"Approval Status": "Declined"} and e["matchedRules"][0]["rules"] == ["r_minor"], e


def test_json_model_and_decimal_outputs(srv):
    r = srv.req("POST", P, "/rules", body={"name": unique_name("fees"), "model": JSON_MODEL})
    j = assert_json(r, 201)
    assert j["format"] == "json" and j["decisions"] == ["Fee", "Band", "Next"], j
    r = srv.req("POST", P, "/rules/%s/evaluate" % j["id"], body={"inputs": {"Amount": 1500.1, "Start": "2024-01-31"}})
    e = assert_json(r)
    assert e["outputs"]["Band"] == "big" and e["outputs"]["Next"] == "2024-02-29", e
    assert b'"Fee":15.001' in r.body, r.body      # exact decimal text, not 15.001000000000001
    g = assert_json(srv.get(P, "/rules/" + j["id"]))
    assert g["model"]["decisions"][0]["name"] == "Fee", g


def test_versions_and_if_match(srv):
    j, r = create(srv)
    rid, etag = j["id"], r.headers["etag"]
    url = "/rules/" + rid
    hdr = {"Content-Type": "application/xml"}
    # no If-Match: 428; a stale one: 412
    assert_problem(srv.req("PUT", P, url, body=dmn().encode(), headers=hdr), 428, "Precondition Required")
    bad = dict(hdr, **{"If-Match": '"%s.v7"' % rid})
    assert_problem(srv.req("PUT", P, url, body=dmn().encode(), headers=bad), 412, "Precondition Failed")
    ok = dict(hdr, **{"If-Match": etag})
    p = srv.req("PUT", P, url + "?name=renamed", body=dmn(hp="FIRST").encode(), headers=ok)
    pj = assert_json(p)
    assert pj["version"] == 2 and pj["name"] == "renamed" and p.headers["etag"] == '"%s.v2"' % rid, pj
    # the old ETag is stale now
    assert_problem(srv.req("PUT", P, url, body=dmn().encode(), headers=ok), 412)
    vs = assert_json(srv.get(P, url + "/versions"))["items"]
    assert [v["version"] for v in vs] == [1, 2], vs
    v1 = assert_json(srv.get(P, url + "/versions/1"))
    assert 'hitPolicy="UNIQUE"' in v1["dmn"] and v1["version"] == 1 and v1["latestVersion"] == 2, v1
    assert_problem(srv.get(P, url + "/versions/3"), 404)
    assert_problem(srv.get(P, url + "/versions/zero"), 404)
    # evaluate an older version explicitly
    body = {"decision": "Approval Status", "version": 1, "inputs": {"Applicant Age": 10, "Risk Category": "High"}}
    e = assert_json(srv.req("POST", P, url + "/evaluate", body=body))
    assert e["version"] == 1 and e["outputs"]["Approval Status"] is None, e
    body["version"] = 2
    e = assert_json(srv.req("POST", P, url + "/evaluate", body=body))
    assert e["version"] == 2 and e["outputs"]["Approval Status"] == "Declined", e


def test_list_paging_and_search(srv):
    tag = unique_name("pg")
    ids = set()
    for i in range(5):
        j, _ = create(srv, name="%s-%d" % (tag, i))
        ids.add(j["id"])
    seen, cursor, pages = [], None, 0
    while True:
        q = "/rules?limit=2&q=" + tag + ("&cursor=" + cursor if cursor else "")
        j = assert_json(srv.get(P, q))
        seen += j["items"]
        cursor = j["nextCursor"]
        pages += 1
        assert pages < 10
        if not cursor:
            break
    assert pages == 3 and {i["id"] for i in seen} == ids, (pages, seen)
    assert [i["name"] for i in seen] == sorted(i["name"] for i in seen)
    assert assert_json(srv.get(P, "/rules?q=no-such-" + tag))["items"] == []
    assert_problem(srv.get(P, "/rules?cursor=zz"), 422)
    assert_problem(srv.get(P, "/rules?limit=0"), 422)


def test_expression(srv):
    e = assert_json(srv.req("POST", P, "/rules/expression", body={"expression": "1.1 + 2.2 = 3.3"}))
    assert e == {"result": True, "type": "boolean", "error": None}, e
    e = assert_json(srv.req("POST", P, "/rules/expression",
                            body={"expression": "Monthly Salary * 12", "context": {"Monthly Salary": 1000.5}}))
    assert e["result"] == 12006 and e["type"] == "number", e
    e = assert_json(srv.req("POST", P, "/rules/expression", body={"expression": "10 / 0"}))
    assert e["result"] is None and "division by zero" in e["error"], e
    e = assert_json(srv.req("POST", P, "/rules/expression",
                            body={"expression": 'matches("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", "^(a+)+$")'}))
    assert e["result"] is None and "limit" in e["error"], e
    e = assert_json(srv.req("POST", P, "/rules/expression",
                            body={"expression": "{f: function(n) f(n + 1), r: f(0)}.r"}))
    assert e["result"] is None and "nested" in e["error"], e
    p = assert_problem(srv.req("POST", P, "/rules/expression", body={"expression": "1 +\n (2"}), 422)
    assert p["errors"][0]["pointer"] == "/expression" and p["errors"][0]["line"] == 2, p
    p = assert_problem(srv.req("POST", P, "/rules/expression", body={"expression": "(" * 5000 + "1" + ")" * 5000}), 422)
    assert "deeply" in p["errors"][0]["detail"], p
    assert_problem(srv.req("POST", P, "/rules/expression", body={"context": {}}), 422)
    assert_problem(srv.req("POST", P, "/rules/expression", body="{nope"), 400)


def _expr(srv, text):
    return assert_json(srv.req("POST", P, "/rules/expression", body={"expression": text}))


def test_expression_list_builtins_are_bounded(srv):
    """Issue 10 items 3, 7, 11: list built-ins over large lists answer (linear, by FEEL
    equality), are not cut at 1024 items, and a huge amount of built-in work stops with
    the step-limit error; duration overflow is null with an error."""
    e = _expr(srv, "count(distinct values(for i in 1..40000 return i))")
    assert e == {"result": 40000, "type": "number", "error": None}, e
    e = _expr(srv, "union([3, 1], [1.0, 2, 3], [4])")
    assert e["result"] == [3, 1, 2, 4] and e["error"] is None, e
    e = _expr(srv, "count(index of(for i in 1..3000 return 1, 1))")
    assert e["result"] == 3000, e
    e = _expr(srv, 'count(split(string join(for i in 1..3000 return "a", ","), ","))')
    assert e["result"] == 3000, e
    for huge in ("{l: for i in 1..50000 return i, r: for k in 1..200 return count(distinct values(l))}.r",
                 "{l: for i in 1..50000 return i, r: for k in 1..200 return count(union(l, l))}.r"):
        e = _expr(srv, huge)
        assert e["result"] is None and e["error"] == "evaluation step limit (5000000) reached", e
    e = _expr(srv, 'duration("P999999999999999999Y")')
    assert e["result"] is None and "out of range" in e["error"], e
    e = _expr(srv, 'duration("P1D") * 1e30')
    assert e["result"] is None and "overflow" in e["error"], e
    assert _expr(srv, "1 + 1")["result"] == 2      # the server still answers


def test_expression_memory_caps(feelmem):
    """[rules] feel_memory_mib caps one evaluation; the error names the cap."""
    e = _expr(feelmem, "count(for i in 1..200000 return i)")
    assert e["result"] is None and e["error"] == "evaluation memory limit reached (8 MiB)", e
    assert _expr(feelmem, "count(for i in 1..20000 return i)")["result"] == 20000


def test_bad_models(srv):
    r = post_dmn(srv, "<definitions %s><decision" % NS)
    assert_problem(r, 400, "Malformed XML")
    laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              + "".join('<!ENTITY lol%d "%s">' % (i, ("&lol%d;" % (i - 1) if i > 1 else "&lol;") * 10) for i in range(1, 10))
              + ']><definitions %s name="x">&lol9;</definitions>' % NS)
    p = assert_problem(post_dmn(srv, laughs), 400, "Malformed XML")
    assert "DOCTYPE" in p["detail"], p
    p = assert_problem(post_dmn(srv, dmn(hp="SOMETIMES")), 422, "Invalid Model")
    assert p["errors"][0]["element"] == "dt_status" and "hit policy" in p["errors"][0]["detail"], p
    cyc = ('<definitions %s><decision id="a" name="A"><informationRequirement><requiredDecision href="#b"/>'
           '</informationRequirement><literalExpression><text>B</text></literalExpression></decision>'
           '<decision id="b" name="B"><informationRequirement><requiredDecision href="#a"/></informationRequirement>'
           '<literalExpression><text>A</text></literalExpression></decision></definitions>') % NS
    p = assert_problem(post_dmn(srv, cyc), 422, "Invalid Model")
    assert "cycle" in p["detail"], p
    badfeel = '<definitions %s><decision id="a" name="A"><literalExpression id="le1"><text>1 + </text></literalExpression></decision></definitions>' % NS
    p = assert_problem(post_dmn(srv, badfeel), 422, "Invalid Model")
    assert p["errors"][0]["element"] == "le1" and "column" in p["errors"][0]["detail"], p
    assert_problem(srv.req("POST", P, "/rules", body="{not json"), 400, "Malformed JSON")
    assert_problem(srv.req("POST", P, "/rules", body={"name": "x"}), 422)
    p = assert_problem(srv.req("POST", P, "/rules", body={"model": {"decisions": [{"name": "A", "table": {
        "hitPolicy": "MOST", "inputs": [], "outputs": ["x"], "rules": []}}]}}), 422, "Invalid Model")
    assert "hit policy" in p["detail"], p
    assert_problem(srv.req("POST", P, "/rules", body=b"x", headers={"Content-Type": "text/plain"}), 415,
                   "Unsupported Media Type")
    big = "<definitions %s>%s</definitions>" % (NS, " " * (2 << 20))
    assert_problem(post_dmn(srv, big), 413)


def test_bad_evaluations(srv):
    j, _ = create(srv)
    url = "/rules/%s/evaluate" % j["id"]
    assert_problem(srv.req("POST", P, "/rules/rul_nope/evaluate", body={"inputs": {}}), 404)
    p = assert_problem(srv.req("POST", P, url, body={"decision": "Nope", "inputs": {}}), 422)
    assert p["errors"][0]["pointer"] == "/decision", p
    assert_problem(srv.req("POST", P, url, body={"inputs": [1, 2]}), 422)
    assert_problem(srv.req("POST", P, url, body={"version": 0}), 422)
    assert_problem(srv.req("POST", P, url, body={"version": 9}), 404)
    assert_problem(srv.req("POST", P, url, body="[1"), 400)
    # a wrongly typed input is reported, not a crash: the number input gets a string
    e = assert_json(srv.req("POST", P, url, body={"inputs": {"Applicant Age": "old", "Risk Category": "Low"}}))
    assert e["outputs"]["Approval Status"] is None and e["warnings"], e


def test_tenant_isolation(srv):
    j, _ = create(srv)
    other = srv.tenant_headers("tenant-b")
    assert_problem(srv.req("GET", P, "/rules/" + j["id"], headers=other), 404)
    assert_problem(srv.req("GET", P, "/rules/%s/versions" % j["id"], headers=other), 404)
    assert_problem(srv.req("POST", P, "/rules/%s/evaluate" % j["id"], body={"inputs": {}}, headers=other), 404)
    listed = assert_json(srv.req("GET", P, "/rules?q=" + j["name"], headers=other))
    assert listed["items"] == [], listed
    mine = assert_json(srv.get(P, "/rules?q=" + j["name"]))
    assert [i["id"] for i in mine["items"]] == [j["id"]], mine


def test_tck_model_over_http(srv):
    path = os.path.join(TCK, "compliance-level-2", "0004-simpletable-U", "0004-simpletable-U.dmn")
    if not os.path.exists(path):
        return
    with open(path, "rb") as f:
        r = srv.req("POST", P, "/rules", body=f.read(), headers={"Content-Type": "application/xml"})
    j = assert_json(r, 201)
    e = assert_json(srv.req("POST", P, "/rules/%s/evaluate" % j["id"],
                            body={"inputs": {"Age": 18, "RiskCategory": "Medium", "isAffordable": True}}))
    assert e["outputs"]["Approval Status"] == "Approved", e


def test_events_without_audit(noaudit):
    j, _ = create(noaudit)
    e = noaudit.req("POST", P, "/rules/%s/evaluate" % j["id"],
                    body={"inputs": {"Applicant Age": 30, "Risk Category": "Low"}})
    assert_json(e)
    # the bus counts deliveries per event type in /metrics
    wait_until(lambda: _evaluated(noaudit) >= 1, what="a rules.decision.evaluated event")


def _evaluated(s):
    v = metric_values(s.metrics(), "fm_bus_events_by_type_total", type="rules.decision.evaluated")
    return int(v[0]) if v else 0


def test_events_with_audit(srv):
    """[rules] audit on (the default): rows are group-committed, and each evaluation's
    event leaves through the outbox once its row is committed."""
    j, _ = create(srv)
    url = "/rules/%s/evaluate" % j["id"]
    before = _evaluated(srv)
    results = []

    def one(i):
        r = srv.req("POST", P, url, body={"inputs": {"Applicant Age": 20 + i, "Risk Category": "Low"}})
        results.append(r.status)

    ts = [threading.Thread(target=one, args=(i,)) for i in range(16)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert results == [200] * 16, results
    wait_until(lambda: _evaluated(srv) >= before + 16, what="16 more rules.decision.evaluated events")


def test_audit_log_pages_newest_first(srv):
    """GET /rules/{id}/audit: every evaluation logged with its inputs, outputs and matched
    rules, newest first, paged with an opaque cursor; another tenant sees nothing."""
    j, _ = create(srv)
    url = "/rules/%s/evaluate" % j["id"]
    for age in (21, 22, 23):
        assert_json(srv.req("POST", P, url, body={"inputs": {"Applicant Age": age, "Risk Category": "Low"}}))
    audit = "/rules/%s/audit" % j["id"]
    first = assert_json(srv.get(P, audit + "?limit=2"))
    assert len(first["items"]) == 2 and first["nextCursor"], first
    ages = [it["inputs"]["Applicant Age"] for it in first["items"]]
    assert ages == [23, 22], first
    it = first["items"][0]
    assert it["ruleId"] == j["id"] and it["version"] == 1 and it["at"], it
    assert isinstance(it["outputs"], (dict, list)) and isinstance(it["matchedRules"], list), it
    rest = assert_json(srv.get(P, audit + "?limit=2&cursor=" + first["nextCursor"]))
    assert [x["inputs"]["Applicant Age"] for x in rest["items"]] == [21] and rest["nextCursor"] is None, rest
    assert_problem(srv.get(P, audit + "?cursor=zz"), 422)
    other = srv.tenant_headers("other-audit")
    assert_problem(srv.get(P, audit, headers=other), 404)
