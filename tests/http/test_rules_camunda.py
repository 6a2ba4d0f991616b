"""DMN as Camunda Modeler and dmn-js write it (issue 11 items 1-4, docs/rules.md
"Camunda Modeler models"): tables without inputData whose input expressions name
variables of the evaluation context, required decisions reached by name, id and output
name, decisions addressed by their DMN id (POST /rules/decisions/{decisionId}/evaluate,
zeebe:calledDecision decisionId), and DRDs with placeholder BKMs and decisions that have
no logic yet. Every model here is our own, written in the Camunda Modeler style:
DMN 1.3 namespace, camunda:/modeler:/biodi: attributes, a dmndi section."""

import os
import shutil
import sqlite3
import tempfile

from harness import Server, assert_json, assert_problem, unique_name

P = 8018

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"
    xmlns:dmndi="https://www.omg.org/spec/DMN/20191111/DMNDI/"
    xmlns:dc="http://www.omg.org/spec/DMN/20180521/DC/"
    xmlns:di="http://www.omg.org/spec/DMN/20180521/DI/"
    xmlns:modeler="http://camunda.org/schema/modeler/1.0"
    xmlns:biodi="http://bpmn.io/schema/dmn/biodi/2.0"
    xmlns:camunda="http://camunda.org/schema/1.0/dmn"
    id="%s" name="%s" namespace="http://camunda.org/schema/1.0/dmn"
    exporter="Camunda Modeler" exporterVersion="5.20.0"
    modeler:executionPlatform="Camunda Cloud" modeler:executionPlatformVersion="8.4.0">
"""


def shape(ref, x):
    return ('    <dmndi:DMNShape id="DMNShape_%s" dmnElementRef="%s">\n'
            '      <dc:Bounds height="80" width="180" x="%d" y="100" />\n'
            '    </dmndi:DMNShape>\n' % (ref, ref, x))


def camunda_dmn(body, shapes=(), name=None, defs=None):
    """A definitions document as Camunda Modeler saves it: `body` (decisions, BKMs),
    then a DMNDI section with one shape per id in `shapes`."""
    name = name or unique_name("drd")
    di = "".join(shape(ref, 160 + 220 * i) for i, ref in enumerate(shapes))
    return (HEAD % (defs or "Definitions_" + name.replace("-", "_"), name) + body +
            '  <dmndi:DMNDI>\n    <dmndi:DMNDiagram id="DMNDiagram_1">\n' + di +
            '    </dmndi:DMNDiagram>\n  </dmndi:DMNDI>\n</definitions>\n')


def literal_decision(did, name, text, tag=None):
    vt = ' camunda:versionTag="%s"' % tag if tag else ""
    return ('  <decision id="%s" name="%s"%s>\n'
            '    <variable id="InformationItem_%s" name="%s" typeRef="string" />\n'
            '    <literalExpression id="LiteralExpression_%s"><text>%s</text></literalExpression>\n'
            '  </decision>\n' % (did, name, vt, did, name, did, text))


def post_xml(srv, xml, query=""):
    return srv.req("POST", P, "/rules" + query, body=xml.encode(),
                   headers={"Content-Type": "application/xml"})


def put_xml(srv, rid, etag, xml, query=""):
    return srv.req("PUT", P, "/rules/%s%s" % (rid, query), body=xml.encode(),
                   headers={"Content-Type": "application/xml", "If-Match": etag})


def by_id(srv, did, body=None):
    return srv.req("POST", P, "/rules/decisions/%s/evaluate" % did, body=body or {})


# ---- item 3: decisions addressed by their DMN id ----

def test_evaluate_by_decision_id_latest_published_wins(srv):
    did = unique_name("pick")
    a = post_xml(srv, camunda_dmn(literal_decision(did, "Pick", '"A1"'), [did]))
    aj = assert_json(a, 201)
    e = assert_json(by_id(srv, did))
    assert e["ruleSetId"] == aj["id"] and e["ruleId"] == aj["id"] and e["version"] == 1, e
    assert e["decision"] == "Pick" and e["decisionId"] == did, e
    assert e["outputs"] == {"Pick": "A1"} and e["warnings"] == [], e
    # a second rule set publishing the same decision id: the most recent one answers
    bj = assert_json(post_xml(srv, camunda_dmn(literal_decision(did, "Pick", '"B1"'), [did])), 201)
    e = assert_json(by_id(srv, did, {"inputs": {}}))
    assert (e["ruleSetId"], e["version"], e["outputs"]) == (bj["id"], 1, {"Pick": "B1"}), e
    # a new version of the first one is now the most recently published
    assert_json(put_xml(srv, aj["id"], a.headers["etag"], camunda_dmn(literal_decision(did, "Pick", '"A2"'), [did])))
    e = assert_json(by_id(srv, did))
    assert (e["ruleSetId"], e["version"], e["outputs"]) == (aj["id"], 2, {"Pick": "A2"}), e
    # ...and when its next version drops the decision, the other rule set holds it again
    other = unique_name("other")
    assert_json(put_xml(srv, aj["id"], '"%s.v2"' % aj["id"],
                        camunda_dmn(literal_decision(other, "Other", '"O"'), [other])))
    e = assert_json(by_id(srv, did))
    assert (e["ruleSetId"], e["version"], e["outputs"]) == (bj["id"], 1, {"Pick": "B1"}), e


def test_evaluate_by_decision_id_version_tag(srv):
    did = unique_name("tagged")
    # camunda:versionTag on the decision
    a = post_xml(srv, camunda_dmn(literal_decision(did, "Tagged", '"first"', tag="v1"), [did]))
    aj = assert_json(a, 201)
    # a version tag given on PUT for a decision without its own
    assert_json(put_xml(srv, aj["id"], a.headers["etag"],
                        camunda_dmn(literal_decision(did, "Tagged", '"second"'), [did]), "?versionTag=v2"))
    e = assert_json(by_id(srv, did, {"versionTag": "v1"}))
    assert (e["version"], e["outputs"]) == (1, {"Tagged": "first"}), e
    e = assert_json(by_id(srv, did, {"versionTag": "v2"}))
    assert (e["version"], e["outputs"]) == (2, {"Tagged": "second"}), e
    assert assert_json(srv.get(P, "/rules/%s/versions/2" % aj["id"]))["versionTag"] == "v2"
    assert "versionTag" not in assert_json(srv.get(P, "/rules/%s/versions/1" % aj["id"]))
    e = assert_json(by_id(srv, did))
    assert (e["version"], e["outputs"]) == (2, {"Tagged": "second"}), e
    # a JSON body carries it as a field
    j2 = assert_json(srv.req("POST", P, "/rules", body={
        "dmn": camunda_dmn(literal_decision(did, "Tagged", '"third"'), [did]), "versionTag": "v3"}), 201)
    assert j2["versionTag"] == "v3", j2
    e = assert_json(by_id(srv, did, {"versionTag": "v3"}))
    assert (e["ruleSetId"], e["outputs"]) == (j2["id"], {"Tagged": "third"}), e
    p = assert_problem(by_id(srv, did, {"versionTag": "v9"}), 404)
    assert did in p["detail"] and "v9" in p["detail"], p


def test_evaluate_by_decision_id_refusals(srv):
    p = assert_problem(by_id(srv, unique_name("nothing")), 404)
    assert "no published rule set" in p["detail"], p
    did = unique_name("ref")
    assert_json(post_xml(srv, camunda_dmn(literal_decision(did, "Ref", '"x"'), [did])), 201)
    p = assert_problem(by_id(srv, did, {"version": 1}), 422)
    assert p["errors"][0]["pointer"] == "/version", p
    p = assert_problem(by_id(srv, did, {"inputs": []}), 422)
    # another tenant does not see it
    other = srv.tenant_headers(unique_name("t"))
    r = srv.req("POST", P, "/rules/decisions/%s/evaluate" % did, body={}, headers=other)
    assert_problem(r, 404)


def test_rule_set_evaluate_accepts_decision_id(srv):
    did = unique_name("invoice-assign-approver")
    j = assert_json(post_xml(srv, camunda_dmn(literal_decision(did, "Assign Approver", '"accounting"'), [did])), 201)
    e = assert_json(srv.req("POST", P, "/rules/%s/evaluate" % j["id"], body={"decision": did}))
    assert e["decision"] == "Assign Approver" and e["decisionId"] == did, e
    assert e["outputs"] == {"Assign Approver": "accounting"}, e
    e = assert_json(srv.req("POST", P, "/rules/%s/evaluate" % j["id"], body={"decision": "Assign Approver"}))
    assert e["outputs"] == {"Assign Approver": "accounting"} and e["decisionId"] == did, e
    p = assert_problem(srv.req("POST", P, "/rules/%s/evaluate" % j["id"], body={"decision": "nope"}), 422)
    assert p["errors"][0]["pointer"] == "/decision", p


def test_decision_ids_of_versions_stored_before_the_index(srv):
    """Rule sets stored before decision ids were indexed (migration 0002) are indexed
    at start: their decisions answer by id after a restart."""
    data = tempfile.mkdtemp(prefix="fm-rules-backfill-")
    try:
        did = unique_name("old")
        with Server(data_dir=data, modules="auth,rules") as s:
            j = assert_json(post_xml(s, camunda_dmn(literal_decision(did, "Old", '"kept"'), [did])), 201)
        db = sqlite3.connect(os.path.join(data, "rules.db"))
        db.execute("DELETE FROM rule_decisions")
        db.execute("UPDATE rule_versions SET indexed = 0")
        db.commit()
        db.close()
        with Server(data_dir=data, modules="auth,rules") as s:
            e = assert_json(by_id(s, did))
            assert (e["ruleSetId"], e["outputs"]) == (j["id"], {"Old": "kept"}), e
    finally:
        shutil.rmtree(data, ignore_errors=True)
