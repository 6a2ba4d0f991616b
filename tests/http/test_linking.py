"""Process Linking on 8021 (docs/bpmn.md): call links from published definitions, message
flows, explicit depends-on links; graph both ways; impact analysis; call cycles warned
at publish."""

from harness import assert_json, assert_problem, wait_until


def caller(bpmn_id, calls=None, zeebe=False):
    els = [{"id": "s", "type": "startEvent"}, {"id": "e", "type": "endEvent"}]
    flows = [{"id": "f1", "source": "s", "target": "e"}]
    if calls:
        ca = {"id": "call_" + calls, "type": "callActivity"}
        if zeebe:
            ca["extensionElements"] = '<zeebe:calledElement processId="%s" propagateAllChildVariables="false"/>' % calls
        else:
            ca["calledElement"] = calls
        els.append(ca)
        flows = [{"id": "f1", "source": "s", "target": ca["id"]}, {"id": "f2", "source": ca["id"], "target": "e"}]
    return {"name": bpmn_id, "model": {"processes": [{"id": bpmn_id, "elements": els, "flows": flows}]}}


def publish(srv, body, headers=None):
    pid = assert_json(srv.req("POST", 9003, "/processes", body=body, headers=headers), 201)["id"]
    return pid, assert_json(srv.req("POST", 9003, "/processes/%s/publish" % pid, headers=headers), 201)


def indexed(srv, pid, headers=None):
    def ok():
        r = srv.req("GET", 8021, "/links/%s/graph" % pid, headers=headers)
        return r.status == 200 and r.json["name"] != ""
    wait_until(ok, what="linking indexed %s" % pid)


def test_graph_impact_and_cycles(srv):
    h = srv.tenant_headers("link-t")
    billing, _ = publish(srv, caller("billing"), h)
    order, _ = publish(srv, caller("order", calls="billing"), h)
    shop, _ = publish(srv, caller("shop", calls="order", zeebe=True), h)
    for p in (billing, order, shop):
        indexed(srv, p, h)
    g = assert_json(srv.req("GET", 8021, "/links/%s/graph" % order, headers=h))
    assert [(e["kind"], e["to"], e["ref"]) for e in g["outgoing"]] == [("calls", billing, "billing")], g
    assert [(e["kind"], e["from"]) for e in g["incoming"]] == [("calls", shop)], g
    imp = assert_json(srv.req("GET", 8021, "/links/%s/impact" % billing, headers=h))
    got = {(i["processId"], i["depth"]) for i in imp["affected"]}
    assert got == {(order, 1), (shop, 2)} and imp["affectedCount"] == 2, imp
    # billing now calls shop: a cycle billing -> shop -> order -> billing; publish warns
    assert_json(srv.req("PUT", 9003, "/processes/" + billing, body=caller("billing", calls="shop"), headers=h))
    pub = assert_json(srv.req("POST", 9003, "/processes/%s/publish" % billing, headers=h), 201)
    cyc = [w for w in pub["warnings"] if w["code"] == "call-cycle"]
    assert len(cyc) == 1 and cyc[0]["cycle"] == [billing, shop, order, billing], pub["warnings"]
    # a process calling itself is a cycle too
    _, pub = publish(srv, caller("loop", calls="loop"), h)
    assert any(w["code"] == "call-cycle" for w in pub["warnings"]), pub
    # nothing of this is visible to another tenant
    assert assert_json(srv.get(8021, "/links/%s/graph" % order))["outgoing"] == []


def test_depends_links_and_messages(srv):
    a = assert_json(srv.req("POST", 9003, "/processes", body=caller("a")), 201)["id"]
    b = assert_json(srv.req("POST", 9003, "/processes", body=caller("b")), 201)["id"]
    r = srv.req("POST", 8021, "/links", body={"from": a, "to": b, "note": "uses b's data"})
    link = assert_json(r, 201)
    assert link["kind"] == "depends" and link["from"] == a and link["to"] == b, link
    g = assert_json(srv.get(8021, "/links/%s/graph" % b))
    assert [(e["kind"], e["from"]) for e in g["incoming"]] == [("depends", a)], g
    assert [i["processId"] for i in assert_json(srv.get(8021, "/links/%s/impact" % b))["affected"]] == [a]
    assert_problem(srv.req("POST", 8021, "/links", body={"from": a, "to": "proc_ghost"}), 422)
    assert_problem(srv.req("POST", 8021, "/links", body={"from": a, "to": a}), 422)
    assert_problem(srv.req("POST", 8021, "/links", body={"from": a, "to": b, "kind": "calls"}), 422)
    assert_problem(srv.req("POST", 8021, "/links", body={"from": a}), 422)
    assert_problem(srv.req("POST", 8021, "/links", body="{"), 400)
    # message flows between pools of a collaboration link to the other pool's process
    collab = {"name": "collab", "model": {
        "participants": [{"id": "P1", "name": "Shop", "processRef": "shop_proc"},
                         {"id": "P2", "name": "Bank", "processRef": "bank_proc"}],
        "messageFlows": [{"id": "m1", "source": "send", "target": "P2"}],
        "processes": [
            {"id": "shop_proc", "elements": [{"id": "s", "type": "startEvent"},
                                             {"id": "send", "type": "sendTask"}, {"id": "e", "type": "endEvent"}],
             "flows": [{"id": "f1", "source": "s", "target": "send"}, {"id": "f2", "source": "send", "target": "e"}]},
            {"id": "bank_proc", "isExecutable": False}]}}
    bank, _ = publish(srv, caller("bank_proc"))
    shop, _ = publish(srv, collab)
    indexed(srv, shop)
    indexed(srv, bank)
    g = assert_json(srv.get(8021, "/links/%s/graph" % shop))
    assert ("message", "bank_proc") in [(e["kind"], e["ref"]) for e in g["outgoing"]], g
    assert bank in [e["to"] for e in g["outgoing"]], g
