"""Process Design API on 9003 (docs/bpmn.md): create from XML and JSON, list and search,
get, update with If-Match, archive, publish (bus event), versions, export; hostile and
broken input refused; tenants kept apart."""

import os
import xml.etree.ElementTree as ET

from harness import REPO, Server, assert_json, assert_problem, metric_values, wait_until

MIWG = os.path.join(REPO, "..", "shared", "conformance", "bpmn-miwg")
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
XML = {"Content-Type": "application/xml"}

FIXTURES = {
    "small": lambda: Server(env={"FLOWMASTER_SERVER_BODY_LIMIT": "65536"},
                            modules="design,eventbus,auth"),
}


def miwg(rel):
    with open(os.path.join(MIWG, rel), "rb") as f:
        return f.read()


def simple_xml(pid="order", name="Order", task="Check order", extra=""):
    return ("""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="%s" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    id="Defs_1" targetNamespace="http://example.com">
  <bpmn:process id="%s" name="%s" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="check" name="%s">
      <bpmn:extensionElements><zeebe:taskDefinition type="check-order" retries="3"/></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check"/>
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="end"/>%s
  </bpmn:process>
</bpmn:definitions>""" % (BPMN_NS, pid, name, task, extra)).encode()


JSON_MODEL = {
    "name": "Invoice",
    "tags": ["finance", "approval"],
    "model": {"processes": [{"id": "invoice", "name": "Invoice", "elements": [
        {"id": "s", "type": "startEvent"},
        {"id": "gw", "type": "exclusiveGateway", "default": "f3"},
        {"id": "approve", "type": "userTask", "name": "Approve",
         "extensionElements": '<zeebe:assignmentDefinition candidateGroups="finance"/>'},
        {"id": "e", "type": "endEvent"}],
        "flows": [{"id": "f1", "source": "s", "target": "gw"},
                  {"id": "f2", "source": "gw", "target": "approve", "condition": "=amount > 1000"},
                  {"id": "f3", "source": "gw", "target": "e"},
                  {"id": "f4", "source": "approve", "target": "e"}]}]},
}


def create_xml(srv, body=None, query="", headers=None):
    h = dict(XML)
    h.update(headers or {})
    return srv.req("POST", 9003, "/processes" + query, body=body or simple_xml(), headers=h)


def test_create_from_xml_and_get(srv):
    r = create_xml(srv, query="?tags=sales,orders")
    p = assert_json(r, 201)
    pid = p["id"]
    assert pid.startswith("proc_"), p
    assert r.headers["location"] == "/processes/" + pid
    assert r.headers["etag"] == '"r1"' and p["etag"] == '"r1"', (r.headers, p)
    assert p["name"] == "Order" and p["status"] == "draft" and p["bpmnProcessId"] == "order", p
    assert p["tags"] == ["orders", "sales"] and p["latestVersion"] == 0, p
    g = assert_json(srv.get(9003, "/processes/" + pid))
    assert g["id"] == pid and g["problems"] == [], g
    els = {e["id"]: e for e in g["model"]["processes"][0]["elements"]}
    assert els["check"]["type"] == "serviceTask", els
    assert 'type="check-order"' in els["check"]["extensionElements"], els["check"]
    # export keeps the zeebe extension, and re-imports to the same process
    x = srv.get(9003, "/processes/%s/bpmn" % pid)
    assert x.status == 200 and x.headers["content-type"].startswith("application/xml"), x
    root = ET.fromstring(x.body)
    td = root.findall(".//{http://camunda.org/schema/zeebe/1.0}taskDefinition")
    assert len(td) == 1 and td[0].get("type") == "check-order" and td[0].get("retries") == "3"
    assert root.find("{%s}process" % BPMN_NS).get("id") == "order"


def test_create_from_json(srv):
    r = srv.req("POST", 9003, "/processes", body=JSON_MODEL)
    p = assert_json(r, 201)
    assert p["name"] == "Invoice" and sorted(p["tags"]) == ["approval", "finance"], p
    assert p["warnings"] == [], p
    x = srv.get(9003, "/processes/%s/bpmn" % p["id"])
    root = ET.fromstring(x.body)
    cond = root.find(".//{%s}sequenceFlow[@id='f2']/{%s}conditionExpression" % (BPMN_NS, BPMN_NS))
    assert cond is not None and cond.text == "=amount > 1000"
    assert root.find(".//{%s}exclusiveGateway" % BPMN_NS).get("default") == "f3"
    # the JSON form alone (no envelope) works too
    p2 = assert_json(srv.req("POST", 9003, "/processes", body=JSON_MODEL["model"]), 201)
    assert p2["name"] == "Invoice" and p2["tags"] == [], p2
    # XML inside a JSON envelope
    p3 = assert_json(srv.req("POST", 9003, "/processes",
                             body={"name": "Wrapped", "xml": simple_xml().decode()}), 201)
    assert p3["name"] == "Wrapped" and p3["bpmnProcessId"] == "order", p3


def test_every_miwg_model_is_accepted(srv):
    names = []
    for d in ("reference",):
        for f in sorted(os.listdir(os.path.join(MIWG, d))):
            if f.endswith(".bpmn"):
                names.append(d + "/" + f)
    for vendor in sorted(os.listdir(os.path.join(MIWG, "vendor-exports"))):
        if "signavio" in vendor:
            continue    # has two flows with dangling ends: tested below
        names.append("vendor-exports/%s/B.1.0-export.bpmn" % vendor)
    for n in names:
        r = create_xml(srv, miwg(n))
        p = assert_json(r, 201)
        back = srv.get(9003, "/processes/%s/bpmn" % p["id"])
        assert back.status == 200, (n, back)
        orig = ET.fromstring(miwg(n))
        again = ET.fromstring(back.body)
        # same elements, in the same order, with the same attributes
        a = [(e.tag, sorted(e.attrib.items())) for e in orig.iter()]
        b = [(e.tag, sorted(e.attrib.items())) for e in again.iter()]
        assert a == b, "%s: export differs from the import" % n


def test_dangling_references_stored_as_draft_refused_at_publish(srv):
    """A draft with flows to nowhere is stored with its problems as warnings; the
    publish is what refuses it (422, every run-blocking problem in errors[])."""
    r = create_xml(srv, miwg("vendor-exports/sap-signavio-process-manager-19.9.0/B.1.0-export.bpmn"))
    p = assert_json(r, 201)
    ids = {(e["code"], e["id"]) for e in p["warnings"]}
    assert ("broken-reference", "sid-E1638278-7098-4BFF-9F77-653EA156C782") in ids, p["warnings"]
    assert p["publishable"] is False, p
    pr = assert_problem(srv.req("POST", 9003, "/processes/%s/publish" % p["id"]), 422)
    assert ("broken-reference", "sid-E1638278-7098-4BFF-9F77-653EA156C782") in \
        {(e["code"], e["id"]) for e in pr["errors"]}, pr
    for e in pr["errors"]:
        assert e["severity"] == "error" and e["detail"] and e["pointer"].startswith("#"), e
    bad = simple_xml(extra='<bpmn:sequenceFlow id="f9" sourceRef="check" targetRef="ghost"/>'
                           '<bpmn:exclusiveGateway id="gw"/>')
    p = assert_json(create_xml(srv, bad), 201)
    got = {(e["code"], e["id"], e["severity"]) for e in p["warnings"]}
    assert ("broken-reference", "f9", "error") in got, got
    assert ("gateway-without-outgoing", "gw", "warning") in got, got
    assert ("unreachable", "gw", "warning") in got, got
    pr = assert_problem(srv.req("POST", 9003, "/processes/%s/publish" % p["id"]), 422)
    assert [(e["code"], e["id"]) for e in pr["errors"]] == [("broken-reference", "f9")], pr
    assert {(e["code"], e["id"]) for e in pr["warnings"]} == {("gateway-without-outgoing", "gw"),
                                                             ("unreachable", "gw")}, pr
    # JSON form errors carry pointers into the body
    body = {"name": "x", "model": {"processes": [{"id": "p", "elements": [{"id": "a", "type": "nope"}]}]}}
    p = assert_problem(srv.req("POST", 9003, "/processes", body=body), 422)
    assert p["errors"][0]["pointer"] == "/model/processes/0/elements/0/type", p


def test_hostile_and_malformed_input(srv):
    lol = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
           b'<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
           b'<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>'
           b'<definitions xmlns="' + BPMN_NS.encode() + b'"><process id="p" name="&lol2;"/></definitions>')
    p = assert_problem(create_xml(srv, lol), 400, "Malformed XML")
    assert "DOCTYPE" in p["detail"], p
    xxe = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<definitions xmlns="' + BPMN_NS.encode() + b'"><process id="p" name="&x;"/></definitions>')
    p = assert_problem(create_xml(srv, xxe), 400, "Malformed XML")
    assert "root:" not in p["detail"]
    p = assert_problem(create_xml(srv, b"<definitions xmlns='%s'><process id='p'>" % BPMN_NS.encode()),
                       400, "Malformed XML")
    assert "line" in p["detail"], p
    assert_problem(create_xml(srv, b"<html/>"), 400, "Malformed XML")
    assert_problem(srv.req("POST", 9003, "/processes", body='{"name": '), 400, "Malformed JSON")
    assert_problem(srv.req("POST", 9003, "/processes", body=b"hello", headers={"Content-Type": "text/plain"}),
                   415, "Unsupported Media Type")
    assert_problem(srv.req("POST", 9003, "/processes", body=b"", headers=XML), 422)
    assert_problem(srv.req("POST", 9003, "/processes", body={"name": "no model"}), 422)
    assert_problem(srv.req("POST", 9003, "/processes", body={"name": "", "xml": simple_xml().decode()}), 422)
    assert_problem(srv.req("POST", 9003, "/processes", body={"tags": "x", "xml": simple_xml().decode()}), 422)
    # nothing of the above was stored
    j = assert_json(srv.get(9003, "/processes?q=lol"))
    assert j["items"] == [], j


def test_oversized_upload(small):
    big = simple_xml(extra="<bpmn:documentation>%s</bpmn:documentation>" % ("x" * 70000))
    assert_problem(create_xml(small, big), 413)
    ok = assert_json(create_xml(small), 201)
    assert ok["name"] == "Order"


def test_list_search_and_paging(srv):
    t = srv.tenant_headers("tenant-search")
    ids = []
    for i in range(5):
        r = create_xml(srv, simple_xml(pid="p%d" % i, name="Claim %d" % i),
                       query="?tags=%s" % ("even" if i % 2 == 0 else "odd"), headers=t)
        ids.append(assert_json(r, 201)["id"])
    create_xml(srv, simple_xml(pid="other", name="Payroll"), headers=t)
    j = assert_json(srv.req("GET", 9003, "/processes?q=claim", headers=t))
    assert j["total"] == 5 and len(j["items"]) == 5, j
    j = assert_json(srv.req("GET", 9003, "/processes?q=claim&tag=even", headers=t))
    assert sorted(i["name"] for i in j["items"]) == ["Claim 0", "Claim 2", "Claim 4"], j
    seen, cursor = [], None
    while True:
        path = "/processes?q=claim&limit=2" + ("&cursor=" + cursor if cursor else "")
        j = assert_json(srv.req("GET", 9003, path, headers=t))
        assert len(j["items"]) <= 2
        seen += [i["id"] for i in j["items"]]
        cursor = j["nextCursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids), (seen, ids)
    assert_problem(srv.req("GET", 9003, "/processes?cursor=zzz", headers=t), 422)
    assert_problem(srv.req("GET", 9003, "/processes?status=weird", headers=t), 422)
    assert_problem(srv.req("GET", 9003, "/processes?limit=0", headers=t), 422)
    # status filter and archived ones
    assert_json(srv.req("POST", 9003, "/processes/%s/publish" % ids[0], headers=t), 201)
    j = assert_json(srv.req("GET", 9003, "/processes?status=published", headers=t))
    assert [i["id"] for i in j["items"]] == [ids[0]], j
    r = srv.req("DELETE", 9003, "/processes/" + ids[1], headers=t)
    assert r.status == 204, r
    j = assert_json(srv.req("GET", 9003, "/processes?q=claim", headers=t))
    assert ids[1] not in [i["id"] for i in j["items"]] and j["total"] == 4, j
    j = assert_json(srv.req("GET", 9003, "/processes?status=archived", headers=t))
    assert [i["id"] for i in j["items"]] == [ids[1]], j


def test_update_if_match(srv):
    pid = assert_json(create_xml(srv), 201)["id"]
    r = srv.req("PUT", 9003, "/processes/" + pid, body=simple_xml(task="Check stock"),
                headers={"Content-Type": "application/xml", "If-Match": '"r1"'})
    p = assert_json(r)
    assert p["revision"] == 2 and r.headers["etag"] == '"r2"', (p, r.headers)
    g = assert_json(srv.get(9003, "/processes/" + pid))
    names = {e["id"]: e.get("name") for e in g["model"]["processes"][0]["elements"]}
    assert names["check"] == "Check stock", names
    # stale ETag
    r = srv.req("PUT", 9003, "/processes/" + pid, body=simple_xml(task="Lost update"),
                headers={"Content-Type": "application/xml", "If-Match": '"r1"'})
    assert_problem(r, 412, "Precondition Failed")
    assert_problem(srv.req("PUT", 9003, "/processes/" + pid, body=simple_xml(),
                           headers={"Content-Type": "application/xml", "If-Match": "garbage"}), 412,
                   "Precondition Failed")
    g = assert_json(srv.get(9003, "/processes/" + pid))
    assert g["revision"] == 2, g
    # a model that is not BPMN any more (duplicate ids) on update: 422 and nothing changes
    bad = simple_xml(extra='<bpmn:task id="check"/>')
    assert_problem(srv.req("PUT", 9003, "/processes/" + pid, body=bad,
                           headers={"Content-Type": "application/xml", "If-Match": '"r2"'}), 422)
    assert assert_json(srv.get(9003, "/processes/" + pid))["revision"] == 2
    # metadata through the JSON envelope
    r = srv.req("PUT", 9003, "/processes/" + pid, headers={"If-Match": '"r2"'},
                body={"name": "Renamed", "tags": ["x"], "xml": simple_xml().decode()})
    p = assert_json(r)
    assert p["name"] == "Renamed" and p["tags"] == ["x"] and p["revision"] == 3, p
    assert_problem(srv.req("PUT", 9003, "/processes/proc_nope", body=simple_xml(), headers=XML), 404)
    # archived: no more edits
    assert srv.req("DELETE", 9003, "/processes/" + pid).status == 204
    assert srv.req("DELETE", 9003, "/processes/" + pid).status == 204
    assert_problem(srv.req("PUT", 9003, "/processes/" + pid, body=simple_xml(), headers=XML), 409)
    assert_problem(srv.req("POST", 9003, "/processes/%s/publish" % pid), 409)
    assert assert_json(srv.get(9003, "/processes/" + pid))["status"] == "archived"
    assert_problem(srv.req("DELETE", 9003, "/processes/proc_nope"), 404)


def test_publish_versions_and_event(srv):
    pid = assert_json(create_xml(srv), 201)["id"]
    r = srv.req("POST", 9003, "/processes/%s/publish" % pid, body={"note": "first"})
    v1 = assert_json(r, 201)
    assert v1["version"] == 1 and v1["note"] == "first", v1
    assert r.headers["location"] == "/processes/%s/versions/1" % pid
    srv.req("PUT", 9003, "/processes/" + pid, body=simple_xml(task="Check v2"), headers=XML)
    v2 = assert_json(srv.req("POST", 9003, "/processes/%s/publish" % pid), 201)
    assert v2["version"] == 2, v2
    # versions are immutable: editing the draft does not change version 2
    srv.req("PUT", 9003, "/processes/" + pid, body=simple_xml(task="Check draft"), headers=XML)
    one = assert_json(srv.get(9003, "/processes/%s/versions/2" % pid))
    names = {e["id"]: e.get("name") for e in one["model"]["processes"][0]["elements"]}
    assert names["check"] == "Check v2" and one["version"] == 2, one
    x1 = srv.get(9003, "/processes/%s/bpmn?version=1" % pid)
    assert b'name="Check order"' in x1.body, x1
    assert b'name="Check draft"' in srv.get(9003, "/processes/%s/bpmn" % pid).body
    lst = assert_json(srv.get(9003, "/processes/%s/versions" % pid))
    assert [v["version"] for v in lst["items"]] == [2, 1] and lst["total"] == 2, lst
    p = assert_json(srv.get(9003, "/processes/" + pid))
    assert p["status"] == "published" and p["latestVersion"] == 2, p
    assert_problem(srv.get(9003, "/processes/%s/versions/9" % pid), 404)
    assert_problem(srv.get(9003, "/processes/%s/versions/x" % pid), 422)
    assert_problem(srv.get(9003, "/processes/%s/bpmn?version=0" % pid), 422)
    assert_problem(srv.get(9003, "/processes/proc_nope/versions"), 404)
    assert_problem(srv.req("POST", 9003, "/processes/proc_nope/publish"), 404)
    assert_problem(srv.req("POST", 9003, "/processes/%s/publish" % pid, body="[1]"), 422)
    assert_problem(srv.req("POST", 9003, "/processes/%s/publish" % pid, body={"fromVersion": 7}), 422)
    # rollback: version 1 published again as version 3
    v3 = assert_json(srv.req("POST", 9003, "/processes/%s/publish" % pid, body={"fromVersion": 1}), 201)
    assert v3["version"] == 3 and v3["source"] == "rollback:1", v3
    assert b'name="Check order"' in srv.get(9003, "/processes/%s/bpmn?version=3" % pid).body

    # the bus carried one event per publish (three so far in this test at least)
    def published():
        v = metric_values(srv.metrics(), "fm_bus_events_by_type_total", type="process.definition.published")
        return v and v[0] >= 3
    wait_until(published, what="process.definition.published on the bus")


def test_tenants_apart(srv):
    a, b = srv.tenant_headers("tenant-a"), srv.tenant_headers("tenant-b")
    pid = assert_json(create_xml(srv, headers=a), 201)["id"]
    assert_problem(srv.req("GET", 9003, "/processes/" + pid, headers=b), 404)
    assert_problem(srv.req("GET", 9003, "/processes/%s/bpmn" % pid, headers=b), 404)
    assert_problem(srv.req("PUT", 9003, "/processes/" + pid, body=simple_xml(),
                           headers=dict(XML, **b)), 404)
    assert_problem(srv.req("POST", 9003, "/processes/%s/publish" % pid, headers=b), 404)
    assert_problem(srv.req("DELETE", 9003, "/processes/" + pid, headers=b), 404)
    j = assert_json(srv.req("GET", 9003, "/processes", headers=b))
    assert pid not in [i["id"] for i in j["items"]]
    assert assert_json(srv.req("GET", 9003, "/processes/" + pid, headers=a))["status"] == "draft"


def test_gateway_serves_design(srv):
    r = srv.req("POST", 9000, "/processes", body=simple_xml(), headers=XML)
    p = assert_json(r, 201)
    assert assert_json(srv.get(9003, "/processes/" + p["id"]))["name"] == "Order"
