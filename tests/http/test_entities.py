"""Legal Entity Service on 8014 (docs/entities.md): entities, identifiers (LEI check
digits), relationships with validity dates, ultimate beneficial owners over chains, two
paths and cross-holdings (checked against answers computed by hand), the group
structure as JSON and SVG, history, tenants, bad input."""

from harness import assert_json, assert_problem, unique_name, wait_until

P = 8014
APPLE_LEI = "HWUPKR0MPOU8FGXBT394"      # real LEIs (GLEIF), valid check digits
DB_LEI = "7LTWFZYICNSX8D621K86"


def _mk(s, type_, name=None, headers=None, **kw):
    body = {"type": type_, "name": name or unique_name()}
    body.update(kw)
    return assert_json(s.req("POST", P, "/entities", body=body, headers=headers), 201)


def _own(s, held, owner, pct, headers=None, **kw):
    body = {"type": "ownership", "ownerId": owner, "percentage": pct}
    body.update(kw)
    return assert_json(s.req("POST", P, "/entities/%s/relationships" % held, body=body, headers=headers), 201)


def _ubo(s, eid, query=""):
    return assert_json(s.get(P, "/entities/%s/ubo%s" % (eid, query)))


def _pct(ubo):
    return {i["entityId"]: i["percentage"] for i in ubo["items"]}


def test_create_get_and_etag(srv):
    r = srv.req("POST", P, "/entities", body={
        "type": "company", "name": "Apple Inc.", "country": "US",
        "identifiers": [{"scheme": "LEI", "value": APPLE_LEI}, {"scheme": "REG", "value": "C0806592",
                                                                 "authority": "California SOS"}],
        "addresses": [{"type": "registered", "street": "One Apple Park Way", "city": "Cupertino",
                       "country": "US"}],
        "validFrom": "1977-01-03", "attributes": {"sector": "technology"}})
    e = assert_json(r, 201)
    assert e["id"].startswith("ent_") and e["revision"] == 1, e
    assert r.headers["location"] == "/entities/" + e["id"] and r.headers["etag"] == '"r1"', r.headers
    g = srv.get(P, "/entities/" + e["id"])
    got = assert_json(g)
    assert got["identifiers"][0] == {"scheme": "LEI", "value": APPLE_LEI}, got
    assert got["addresses"][0]["city"] == "Cupertino" and got["attributes"] == {"sector": "technology"}, got
    assert got["validFrom"] == "1977-01-03" and got["validTo"] is None and got["country"] == "US", got
    assert g.headers["etag"] == '"r1"'


def test_lei_check_digits_and_identifier_rules(srv):
    for bad, word in (("HWUPKR0MPOU8FGXBT395", "check digits"), ("HWUPKR0MPOU8FGXBT39", "20 characters"),
                      ("hwupkr0mpou8fgxbt394", "capital"), ("HWUPKR0MPOU8FGXBT3A4", "check digits")):
        p = assert_problem(srv.req("POST", P, "/entities", body={
            "type": "company", "name": "x", "identifiers": [{"scheme": "LEI", "value": bad}]}), 422)
        assert p["errors"][0]["pointer"] == "/identifiers/0/value", p
        assert word in p["errors"][0]["detail"], (bad, p)
    p = assert_problem(srv.req("POST", P, "/entities", body={
        "type": "company", "name": "x", "identifiers": [{"scheme": "VAT", "value": "DE12345678"}]}), 422)
    assert "9 digits" in p["errors"][0]["detail"], p
    _mk(srv, "company", identifiers=[{"scheme": "VAT", "value": "DE123456789"}])
    # one identifier belongs to one entity of a tenant; the refused one stores nothing
    name = unique_name()
    _mk(srv, "company", identifiers=[{"scheme": "LEI", "value": DB_LEI}])
    p = assert_problem(srv.req("POST", P, "/entities", body={
        "type": "company", "name": name, "identifiers": [{"scheme": "LEI", "value": DB_LEI}]}), 409)
    assert DB_LEI in p["detail"], p
    assert assert_json(srv.get(P, "/entities?q=" + name))["total"] == 0
    found = assert_json(srv.get(P, "/entities?identifier=" + DB_LEI))
    assert found["total"] == 1, found


def test_search_filters_and_paging(srv):
    tag = unique_name()
    ids = [_mk(srv, "company", "%s Holding %d" % (tag, i), country="DE")["id"] for i in range(3)]
    _mk(srv, "person", "%s Person" % tag, country="FR")
    j = assert_json(srv.get(P, "/entities?q=%s&country=DE" % tag.upper()))
    assert sorted(i["id"] for i in j["items"]) == sorted(ids) and j["total"] == 3, j
    assert assert_json(srv.get(P, "/entities?q=%s&type=person" % tag))["total"] == 1
    page1 = assert_json(srv.get(P, "/entities?q=%s&limit=2" % tag))
    assert len(page1["items"]) == 2 and page1["nextCursor"], page1
    page2 = assert_json(srv.get(P, "/entities?q=%s&limit=2&cursor=%s" % (tag, page1["nextCursor"])))
    assert len(page2["items"]) == 2 and not page2["nextCursor"], page2
    # LIKE's own characters are literal
    assert assert_json(srv.get(P, "/entities?q=%25"))["total"] == 0


def test_update_if_match_and_history(srv):
    e = _mk(srv, "company", "Old Name GmbH", country="DE")
    body = {"type": "company", "name": "New Name GmbH", "country": "AT"}
    assert_problem(srv.req("PUT", P, "/entities/" + e["id"], body=body, headers={"If-Match": '"r7"'}), 412)
    r = srv.req("PUT", P, "/entities/" + e["id"], body=body, headers={"If-Match": '"r1"'})
    u = assert_json(r)
    assert u["name"] == "New Name GmbH" and u["revision"] == 2 and r.headers["etag"] == '"r2"', u
    assert_problem(srv.req("PUT", P, "/entities/" + e["id"], body=body, headers={"If-Match": '"r1"'}), 412)
    h = assert_json(srv.get(P, "/entities/%s/history" % e["id"]))
    assert [i["action"] for i in h["items"]] == ["created", "updated"], h
    upd = h["items"][1]
    assert upd["detail"]["before"]["name"] == "Old Name GmbH", upd
    assert upd["detail"]["after"]["country"] == "AT" and upd["actor"], upd


def test_ubo_chain_and_two_paths(srv):
    t = _mk(srv, "company", "Target AG")
    a = _mk(srv, "company", "Alpha GmbH")
    b = _mk(srv, "company", "Beta GmbH")
    p = _mk(srv, "person", "Petra Muster")
    q = _mk(srv, "person", "Quentin Muster")
    _own(srv, a["id"], p["id"], 60)
    _own(srv, a["id"], q["id"], 40)
    _own(srv, t["id"], a["id"], 50)          # P: 60 % x 50 % = 30 %, Q: 20 %
    _own(srv, t["id"], p["id"], 10)          # P also holds 10 % directly
    _own(srv, b["id"], p["id"], 50)
    _own(srv, t["id"], b["id"], 20)          # and 50 % x 20 % = 10 % through Beta: 50 % in all
    u = _ubo(srv, t["id"])
    assert _pct(u) == {p["id"]: 50.0}, u
    assert u["items"][0]["name"] == "Petra Muster" and u["threshold"] == 25, u
    paths = u["items"][0]["paths"]
    assert [x["percentage"] for x in paths] == [30.0, 10.0, 10.0], paths
    assert [e["name"] for e in paths[0]["entities"]] == ["Petra Muster", "Alpha GmbH", "Target AG"], paths
    low = _ubo(srv, t["id"], "?threshold=20")
    assert _pct(low) == {p["id"]: 50.0, q["id"]: 20.0}, low
    assert [i["entityId"] for i in low["items"]] == [p["id"], q["id"]], "sorted by share: %r" % low


def test_ubo_cross_holdings_solved_not_cut(srv):
    # A and B hold each other. With the target absorbing walks:
    #   xA = 0.4 + 0.2 xB, xB = 0.3 + 0.5 xA  =>  xA = 0.46 / 0.9, xB = 0.3 + 0.5 xA
    # P (50 % of A) = 25.5556 %, Q (80 % of B) = 44.4444 %. Cutting the cycle would give
    # P 23 % (under the threshold).
    t = _mk(srv, "company", "Cross Target")
    a = _mk(srv, "company", "Cross A")
    b = _mk(srv, "company", "Cross B")
    p = _mk(srv, "person", "Cross P")
    q = _mk(srv, "person", "Cross Q")
    _own(srv, t["id"], a["id"], 40)
    _own(srv, t["id"], b["id"], 30)
    _own(srv, a["id"], b["id"], 50)
    _own(srv, b["id"], a["id"], 20)
    _own(srv, a["id"], p["id"], 50)
    _own(srv, b["id"], q["id"], 80)
    u = _ubo(srv, t["id"])
    xa = 0.46 / 0.9
    xb = 0.3 + 0.5 * xa
    want = {p["id"]: round(50 * xa, 6), q["id"]: round(80 * xb, 6)}
    got = _pct(u)
    assert got.keys() == want.keys(), u
    for k in want:
        assert abs(got[k] - want[k]) < 1e-6, (got, want)
    assert u["unresolved"] == [], u


def test_ubo_closed_cycle_and_unresolved_holders(srv):
    t = _mk(srv, "company", "Closed Target")
    a = _mk(srv, "company", "Closed A")
    b = _mk(srv, "company", "Closed B")
    _own(srv, t["id"], a["id"], 50)
    _own(srv, a["id"], b["id"], 100)
    _own(srv, b["id"], a["id"], 100)
    p = assert_problem(srv.get(P, "/entities/%s/ubo" % t["id"]), 422, title="Unprocessable Content")
    assert "cycle" in p["detail"], p
    # A trust at the top of a chain with no recorded owners is reported, not hidden.
    t2 = _mk(srv, "company", "Held by trust")
    tr = _mk(srv, "trust", "Family Trust")
    _own(srv, t2["id"], tr["id"], 75)
    u = _ubo(srv, t2["id"])
    assert u["items"] == [] and [x["entityId"] for x in u["unresolved"]] == [tr["id"]], u
    assert u["unresolved"][0]["percentage"] == 75.0, u


def test_validity_dates_and_as_of(srv):
    t = _mk(srv, "company", "Dated Target")
    p = _mk(srv, "person", "Former Owner")
    q = _mk(srv, "person", "Current Owner")
    _own(srv, t["id"], p["id"], 100, validFrom="2010-01-01", validTo="2020-12-31")
    _own(srv, t["id"], q["id"], 100, validFrom="2021-01-01")
    assert _pct(_ubo(srv, t["id"], "?asOf=2015-06-30")) == {p["id"]: 100.0}
    assert _pct(_ubo(srv, t["id"], "?asOf=2021-01-01")) == {q["id"]: 100.0}
    assert _pct(_ubo(srv, t["id"])) == {q["id"]: 100.0}
    rels = assert_json(srv.get(P, "/entities/%s/relationships?asOf=2015-01-01" % t["id"]))
    assert [r["ownerId"] for r in rels["items"]] == [p["id"]], rels
    assert assert_json(srv.get(P, "/entities/%s/relationships" % t["id"]))["total"] == 2
    # overlapping with the former owner's 100 %: 110 % on its first day; nothing stored
    x = _mk(srv, "person", "Too Much")
    pr = assert_problem(srv.req("POST", P, "/entities/%s/relationships" % t["id"], body={
        "type": "ownership", "ownerId": x["id"], "percentage": 10, "validFrom": "2019-01-01"}), 422)
    assert "110 % on 2019-01-01" in pr["errors"][0]["detail"], pr
    assert assert_json(srv.get(P, "/entities/%s/relationships" % t["id"]))["total"] == 2
    # before 2010 there is room
    _own(srv, t["id"], x["id"], 10, validFrom="2000-01-01", validTo="2009-12-31")


def test_structure_tree_and_svg(srv):
    top = _mk(srv, "company", "Group Top <&>")
    s1 = _mk(srv, "company", "Sub One")
    s2 = _mk(srv, "company", "Sub Two")
    s11 = _mk(srv, "company", "Sub One One")
    _own(srv, s1["id"], top["id"], 100)
    _own(srv, s2["id"], top["id"], 60)
    _own(srv, s11["id"], s1["id"], 51)
    _own(srv, s11["id"], s2["id"], 49)       # a second path to Sub One One
    d = assert_json(srv.req("POST", P, "/entities/%s/relationships" % s1["id"],
                            body={"type": "director", "ownerId": _mk(srv, "person", "Dora Director")["id"]}), 201)
    assert d["percentage"] is None and d["type"] == "director", d
    tree = assert_json(srv.get(P, "/entities/%s/structure" % top["id"]))
    kids = {c["name"]: c for c in tree["children"]}
    assert set(kids) == {"Sub One", "Sub Two"}, tree
    assert kids["Sub One"]["relationship"]["percentage"] == 100, kids
    g1 = kids["Sub One"]["children"][0]
    g2 = kids["Sub Two"]["children"][0]
    assert g1["name"] == g2["name"] == "Sub One One", tree
    assert g1.get("repeat") is True or g2.get("repeat") is True, "a second path is marked: %r" % tree
    up = assert_json(srv.get(P, "/entities/%s/structure?direction=up" % s1["id"]))
    assert sorted(c["name"] for c in up["children"]) == ["Dora Director", "Group Top <&>"], up
    r = srv.get(P, "/entities/%s/structure?format=svg" % top["id"])
    assert r.status == 200 and r.headers["content-type"].startswith("image/svg+xml"), r
    assert r.text.startswith("<svg") and "Group Top &lt;&amp;&gt;" in r.text and "Sub One One" in r.text, r.text[:400]
    assert "100%" in r.text, r.text[:800]
    one = assert_json(srv.get(P, "/entities/%s/structure?depth=1" % top["id"]))
    assert all("children" not in c for c in one["children"]) and one["truncated"] is True, one


def test_delete_with_and_without_cascade(srv):
    a = _mk(srv, "company", "To Delete")
    p = _mk(srv, "person", "Its Owner")
    _own(srv, a["id"], p["id"], 100)
    pr = assert_problem(srv.req("DELETE", P, "/entities/" + a["id"]), 409)
    assert "cascade" in pr["detail"], pr
    assert_json(srv.get(P, "/entities/" + a["id"]))
    assert srv.req("DELETE", P, "/entities/%s?cascade=true" % a["id"]).status == 204
    assert_problem(srv.get(P, "/entities/" + a["id"]), 404)
    h = assert_json(srv.get(P, "/entities/%s/history" % p["id"]))
    assert h["items"][-1]["action"] == "relationship.removed", h
    assert assert_json(srv.get(P, "/entities/%s/relationships" % p["id"]))["total"] == 0
    # the deleted entity's history stays readable
    dh = assert_json(srv.get(P, "/entities/%s/history" % a["id"]))
    assert dh["items"][-1]["action"] == "deleted", dh


def test_relationship_delete(srv):
    a = _mk(srv, "company", "Rel Del")
    p = _mk(srv, "person", "Rel Owner")
    rel = _own(srv, a["id"], p["id"], 30)
    assert_problem(srv.req("DELETE", P, "/entities/%s/relationships/rel_nope" % a["id"]), 404)
    assert srv.req("DELETE", P, "/entities/%s/relationships/%s" % (a["id"], rel["id"])).status == 204
    assert _ubo(srv, a["id"])["items"] == []


def test_tenants_apart(srv):
    other = srv.tenant_headers("entitiesb")
    a = _mk(srv, "company", "Tenant A Co", identifiers=[{"scheme": "LEI", "value": "529900T8BM49AURSDO55"}])
    assert_problem(srv.req("GET", P, "/entities/" + a["id"], headers=other), 404)
    assert assert_json(srv.req("GET", P, "/entities?q=tenant%20a%20co", headers=other))["total"] == 0
    assert_problem(srv.req("GET", P, "/entities/%s/ubo" % a["id"], headers=other), 404)
    assert_problem(srv.req("DELETE", P, "/entities/%s?cascade=true" % a["id"], headers=other), 404)
    # the same LEI is free in another tenant; another tenant's entity is no owner here
    b = _mk(srv, "company", "Tenant B Co", headers=other,
            identifiers=[{"scheme": "LEI", "value": "529900T8BM49AURSDO55"}])
    pr = assert_problem(srv.req("POST", P, "/entities/%s/relationships" % b["id"], headers=other,
                                body={"type": "ownership", "ownerId": a["id"], "percentage": 10}), 422)
    assert pr["errors"][0]["pointer"] == "/ownerId", pr
    assert_json(srv.get(P, "/entities/" + a["id"]))


def test_bad_input(srv):
    e = _mk(srv, "company", "Bad Input Co")
    person = _mk(srv, "person", "Bad Input Person")
    cases = [
        ({"type": "robot", "name": "x"}, "/type"),
        ({"type": "company"}, "/name"),
        ({"type": "company", "name": "x", "country": "de"}, "/country"),
        ({"type": "company", "name": "x", "colour": "red"}, "/colour"),
        ({"type": "company", "name": "x", "validFrom": "2023-02-29"}, "/validFrom"),
        ({"type": "company", "name": "x", "validFrom": "2024-02-01", "validTo": "2024-01-31"}, "/validTo"),
        ({"type": "company", "name": "x", "identifiers": [{"scheme": "lei", "value": "x"}]},
         "/identifiers/0/scheme"),
        ({"type": "company", "name": "x", "identifiers": [{"scheme": "REG", "value": "1"}] * 2}, "/identifiers/1"),
        ({"type": "company", "name": "x", "identifiers": [{"scheme": "REG", "value": str(i)} for i in range(21)]},
         "/identifiers"),
        ({"type": "company", "name": "x", "addresses": [{"city": 5}]}, "/addresses/0/city"),
        ({"type": "company", "name": "x", "attributes": {"k": "v" * 17000}}, "/attributes"),
    ]
    before = assert_json(srv.get(P, "/entities"))["total"]
    for body, ptr in cases:
        p = assert_problem(srv.req("POST", P, "/entities", body=body), 422)
        assert p["errors"][0]["pointer"] == ptr, (body, p)
    assert_problem(srv.req("POST", P, "/entities", body='{"type": "company",', headers={
        "Content-Type": "application/json"}), 400)
    assert assert_json(srv.get(P, "/entities"))["total"] == before, "a refused body stored something"
    rel = "/entities/%s/relationships" % e["id"]
    for body, ptr in [({"type": "owns", "ownerId": person["id"]}, "/type"),
                      ({"type": "ownership", "ownerId": person["id"]}, "/percentage"),
                      ({"type": "ownership", "ownerId": person["id"], "percentage": 0}, "/percentage"),
                      ({"type": "ownership", "ownerId": person["id"], "percentage": 100.5}, "/percentage"),
                      ({"type": "ownership", "ownerId": e["id"], "percentage": 5}, "/ownerId"),
                      ({"type": "ownership", "ownerId": "ent_missing", "percentage": 5}, "/ownerId"),
                      ({"type": "ownership", "ownerId": person["id"], "percentage": 5, "validTo": "x"}, "/validTo")]:
        p = assert_problem(srv.req("POST", P, rel, body=body), 422)
        assert p["errors"][0]["pointer"] == ptr, (body, p)
    p = assert_problem(srv.req("POST", P, "/entities/%s/relationships" % person["id"], body={
        "type": "ownership", "ownerId": e["id"], "percentage": 5}), 422)
    assert "person" in p["errors"][0]["detail"], p
    assert_problem(srv.req("POST", P, "/entities/ent_missing/relationships",
                           body={"type": "control", "ownerId": person["id"]}), 404)
    assert assert_json(srv.get(P, rel))["total"] == 0
    for q, field in (("/ubo?threshold=0", "threshold"), ("/ubo?threshold=abc", "threshold"),
                     ("/ubo?asOf=2024-13-01", "asOf"), ("/structure?depth=99", "depth"),
                     ("/structure?format=png", "format"), ("/relationships?direction=sideways", "direction")):
        p = assert_problem(srv.get(P, "/entities/%s%s" % (e["id"], q)), 422)
        assert p["errors"][0]["pointer"] == "/" + field, (q, p)
    assert_problem(srv.get(P, "/entities/ent_missing/ubo"), 404)
    assert_problem(srv.req("PUT", P, "/entities/" + e["id"], body={"type": "company", "name": "y"},
                           headers={"If-Match": 'W/"r1"'}), 412)


def test_events_reach_the_bus(srv):
    e = _mk(srv, "company", "Evented Co")

    def seen():
        r = srv.get(9013, "/events/replay?offset=1&types=entity.%3E&limit=500")
        return r.status == 200 and any(i.get("subject") == e["id"] and i["type"] == "entity.created"
                                       for i in r.json["items"])
    wait_until(seen, 10, what="entity.created in the event log")
