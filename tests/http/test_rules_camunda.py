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

from exec_support import bpmn, chain, deploy, entered_path, history, start, wait_for, wait_state
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


# ---- item 1: tables without inputData read the variables of the evaluation context ----

DISCOUNT = """  <decision id="%(id)s" name="Discount">
    <decisionTable id="DecisionTable_discount" hitPolicy="FIRST">
      <input id="Input_1" label="Order size" biodi:width="192">
        <inputExpression id="InputExpression_1" typeRef="number"><text>orderSize</text></inputExpression>
      </input>
      <input id="Input_2" label="Customer type">
        <inputExpression id="InputExpression_2" typeRef="string"><text>customerType</text></inputExpression>
      </input>
      <output id="Output_1" label="Discount" name="discount" typeRef="number" />
      <rule id="Rule_big_business">
        <inputEntry id="UnaryTests_1"><text>&gt;= 10</text></inputEntry>
        <inputEntry id="UnaryTests_2"><text>"business"</text></inputEntry>
        <outputEntry id="LiteralExpression_1"><text>0.15</text></outputEntry>
      </rule>
      <rule id="Rule_business">
        <inputEntry id="UnaryTests_3"><text></text></inputEntry>
        <inputEntry id="UnaryTests_4"><text>"business"</text></inputEntry>
        <outputEntry id="LiteralExpression_2"><text>0.1</text></outputEntry>
      </rule>
      <rule id="Rule_big_private">
        <inputEntry id="UnaryTests_5"><text>&gt;= 10</text></inputEntry>
        <inputEntry id="UnaryTests_6"><text>"private"</text></inputEntry>
        <outputEntry id="LiteralExpression_3"><text>0.05</text></outputEntry>
      </rule>
      <rule id="Rule_else">
        <inputEntry id="UnaryTests_7"><text>-</text></inputEntry>
        <inputEntry id="UnaryTests_8"><text>-</text></inputEntry>
        <outputEntry id="LiteralExpression_4"><text>0</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
"""


def evaluate(srv, rid, inputs, decision=None):
    body = {"inputs": inputs}
    if decision:
        body["decision"] = decision
    return assert_json(srv.req("POST", P, "/rules/%s/evaluate" % rid, body=body))


def test_table_without_input_data_reads_variables(srv):
    did = unique_name("Decision_discount")
    j = assert_json(post_xml(srv, camunda_dmn(DISCOUNT % {"id": did}, [did])), 201)
    assert j["decisions"] == ["Discount"] and j["warnings"] == [], j
    # before: 'unknown name orderSize', both inputs null, Rule_else matched: 0 with 200
    e = evaluate(srv, j["id"], {"orderSize": 15, "customerType": "business"})
    assert e["outputs"] == {"Discount": 0.15}, e
    assert e["matchedRules"] == [{"decision": "Discount", "table": "DecisionTable_discount",
                                  "rules": ["Rule_big_business"]}], e
    assert e["warnings"] == [], e
    e = evaluate(srv, j["id"], {"orderSize": 3, "customerType": "private"})
    assert (e["outputs"], e["matchedRules"][0]["rules"], e["warnings"]) == (
        {"Discount": 0}, ["Rule_else"], []), e
    # by decision id through the decisions route, same answer
    e = assert_json(by_id(srv, did, {"inputs": {"orderSize": 12, "customerType": "private"}}))
    assert (e["outputs"], e["matchedRules"][0]["rules"]) == ({"Discount": 0.05}, ["Rule_big_private"]), e


def test_missing_variable_is_null_and_named(srv):
    did = unique_name("Decision_discount")
    j = assert_json(post_xml(srv, camunda_dmn(DISCOUNT % {"id": did}, [did])), 201)
    # orderSize missing: null; '>= 10' does not match null, the empty entry (-) does
    e = evaluate(srv, j["id"], {"customerType": "business"})
    assert e["outputs"] == {"Discount": 0.1}, e
    assert e["matchedRules"][0]["rules"] == ["Rule_business"], e
    assert e["warnings"] == ["DecisionTable_discount: unknown name 'orderSize' (line 1, column 1)"], e
    e = evaluate(srv, j["id"], {})
    assert (e["outputs"], e["matchedRules"][0]["rules"]) == ({"Discount": 0}, ["Rule_else"]), e
    assert e["warnings"] == ["DecisionTable_discount: unknown name 'orderSize' (line 1, column 1)",
                             "DecisionTable_discount: unknown name 'customerType' (line 1, column 1)"], e


AGE = """  <inputData id="InputData_age" name="Age">
    <variable id="InformationItem_age" name="Age" typeRef="number" />
  </inputData>
  <decision id="%(id)s" name="Ticket">
    <informationRequirement id="InformationRequirement_1">
      <requiredInput href="#InputData_age" />
    </informationRequirement>
    <decisionTable id="DecisionTable_ticket" hitPolicy="UNIQUE">
      <input id="Input_age" label="Age">
        <inputExpression id="InputExpression_age" typeRef="number"><text>age</text></inputExpression>
      </input>
      <output id="Output_ticket" name="ticket" typeRef="string" />
      <rule id="Rule_child"><inputEntry id="U1"><text>&lt; 12</text></inputEntry>
        <outputEntry id="L1"><text>"child"</text></outputEntry></rule>
      <rule id="Rule_adult"><inputEntry id="U2"><text>&gt;= 12</text></inputEntry>
        <outputEntry id="L2"><text>"adult"</text></outputEntry></rule>
    </decisionTable>
  </decision>
"""


def test_input_data_label_does_not_hide_the_variable(srv):
    """An inputData named 'Age' whose table reads the variable `age`: `age` stays in
    scope (and 'Age' binds too)."""
    did = unique_name("Decision_ticket")
    j = assert_json(post_xml(srv, camunda_dmn(AGE % {"id": did}, ["InputData_age", did])), 201)
    e = evaluate(srv, j["id"], {"age": 8})
    assert (e["outputs"], e["warnings"]) == ({"Ticket": "child"}, []), e
    e = evaluate(srv, j["id"], {"age": 40, "Age": 5})
    assert (e["outputs"], e["matchedRules"][0]["rules"]) == ({"Ticket": "adult"}, ["Rule_adult"]), e
    # only the inputData's name given: the expression's variable is missing, no rule matches
    e = evaluate(srv, j["id"], {"Age": 40})
    assert (e["outputs"], e["matchedRules"][0]["rules"]) == ({"Ticket": None}, []), e
    assert e["warnings"] == ["DecisionTable_ticket: unknown name 'age' (line 1, column 1)"], e


# ---- item 2: required decisions by name, id, variable name and output name ----

DRG = """  <decision id="Decision_season" name="Season">
    <decisionTable id="DecisionTable_season" hitPolicy="UNIQUE">
      <input id="Input_month" label="Month">
        <inputExpression id="InputExpression_month" typeRef="number"><text>month</text></inputExpression>
      </input>
      <output id="Output_season" label="Season" name="season" typeRef="string" />
      <rule id="Rule_winter"><inputEntry id="U1"><text>[12,1,2]</text></inputEntry>
        <outputEntry id="L1"><text>"Winter"</text></outputEntry></rule>
      <rule id="Rule_other"><inputEntry id="U2"><text>[3..11]</text></inputEntry>
        <outputEntry id="L2"><text>"Other"</text></outputEntry></rule>
    </decisionTable>
  </decision>
  <decision id="Decision_guests" name="Guest Band">
    <variable id="InformationItem_guests" name="guestBand" typeRef="string" />
    <literalExpression id="LiteralExpression_guests"><text>if guestCount &gt; 8 then "many" else "few"</text></literalExpression>
  </decision>
  <decision id="%(id)s" name="Dish">
    <informationRequirement id="InformationRequirement_1"><requiredDecision href="#Decision_season" /></informationRequirement>
    <informationRequirement id="InformationRequirement_2"><requiredDecision href="#Decision_guests" /></informationRequirement>
    <decisionTable id="DecisionTable_dish" hitPolicy="FIRST">
      <input id="Input_c7" label="Season (Camunda 7: output name)">
        <inputExpression id="InputExpression_c7" typeRef="string"><text>season</text></inputExpression>
      </input>
      <input id="Input_c8" label="Guests (Camunda 8: variable name)">
        <inputExpression id="InputExpression_c8" typeRef="string"><text>guestBand</text></inputExpression>
      </input>
      <input id="Input_id" label="Season (by id)">
        <inputExpression id="InputExpression_id" typeRef="string"><text>Decision_season</text></inputExpression>
      </input>
      <output id="Output_dish" name="dish" typeRef="string" />
      <rule id="Rule_stew"><inputEntry id="U3"><text>"Winter"</text></inputEntry><inputEntry id="U4"><text>"many"</text></inputEntry>
        <inputEntry id="U5"><text>"Winter"</text></inputEntry><outputEntry id="L3"><text>"Stew"</text></outputEntry></rule>
      <rule id="Rule_roast"><inputEntry id="U6"><text>"Winter"</text></inputEntry><inputEntry id="U7"><text>"few"</text></inputEntry>
        <inputEntry id="U8"><text>"Winter"</text></inputEntry><outputEntry id="L4"><text>"Roast"</text></outputEntry></rule>
      <rule id="Rule_salad"><inputEntry id="U9"><text>-</text></inputEntry><inputEntry id="U10"><text>-</text></inputEntry>
        <inputEntry id="U11"><text>-</text></inputEntry><outputEntry id="L5"><text>"Salad"</text></outputEntry></rule>
    </decisionTable>
  </decision>
"""


def test_required_decision_by_output_name_variable_name_and_id(srv):
    did = unique_name("Decision_dish")
    j = assert_json(post_xml(srv, camunda_dmn(DRG % {"id": did},
                                              ["Decision_season", "Decision_guests", did])), 201)
    # before: season, guestBand and Decision_season were unknown names (null) and
    # Rule_salad answered with 200
    e = evaluate(srv, j["id"], {"month": 1, "guestCount": 10}, decision=did)
    assert e["outputs"] == {"Dish": "Stew"} and e["decision"] == "Dish", e
    assert e["matchedRules"] == [
        {"decision": "Season", "table": "DecisionTable_season", "rules": ["Rule_winter"]},
        {"decision": "Dish", "table": "DecisionTable_dish", "rules": ["Rule_stew"]}], e
    assert e["warnings"] == [], e
    e = evaluate(srv, j["id"], {"month": 12, "guestCount": 2}, decision="Dish")
    assert (e["outputs"], e["warnings"]) == ({"Dish": "Roast"}, []), e
    e = evaluate(srv, j["id"], {"month": 7, "guestCount": 2})
    assert e["outputs"] == {"Season": "Other", "Guest Band": "few", "Dish": "Salad"}, e
    # a caller's variable named like an output does not override the required decision
    e = evaluate(srv, j["id"], {"month": 1, "guestCount": 10, "season": "Summer"}, decision="Dish")
    assert e["outputs"] == {"Dish": "Stew"}, e


# ---- item 4: placeholders without logic ----

PLACEHOLDERS = """  <businessKnowledgeModel id="BusinessKnowledgeModel_1" name="Pricing Rules" />
  <decision id="Decision_later" name="Later" />
  <decision id="%(id)s" name="Greeting">
    <knowledgeRequirement id="KnowledgeRequirement_1"><requiredKnowledge href="#BusinessKnowledgeModel_1" /></knowledgeRequirement>
    <literalExpression id="LiteralExpression_1"><text>"Hello " + name</text></literalExpression>
  </decision>
  <decision id="Decision_price" name="Price">
    <knowledgeRequirement id="KnowledgeRequirement_2"><requiredKnowledge href="#BusinessKnowledgeModel_1" /></knowledgeRequirement>
    <literalExpression id="LiteralExpression_2"><text>Pricing Rules(amount)</text></literalExpression>
  </decision>
  <decision id="Decision_after" name="After Later">
    <informationRequirement id="InformationRequirement_1"><requiredDecision href="#Decision_later" /></informationRequirement>
    <literalExpression id="LiteralExpression_3"><text>Later</text></literalExpression>
  </decision>
"""


def test_placeholders_without_logic_import_with_warnings(srv):
    did = unique_name("Decision_greeting")
    xml = camunda_dmn(PLACEHOLDERS % {"id": did}, ["BusinessKnowledgeModel_1", "Decision_later", did])
    r = post_xml(srv, xml)
    j = assert_json(r, 201)     # before: 422 "business knowledge model ... has no encapsulatedLogic"
    warnings = ["business knowledge model 'Pricing Rules' (BusinessKnowledgeModel_1) has no logic: "
                "invoking it gives null",
                "decision 'Later' (Decision_later) has no decision logic: evaluating it gives null"]
    assert j["warnings"] == warnings, j
    assert j["decisions"] == ["Later", "Greeting", "Price", "After Later"], j
    assert assert_json(srv.get(P, "/rules/" + j["id"]))["warnings"] == warnings
    # what does not need the missing logic evaluates normally
    e = evaluate(srv, j["id"], {"name": "Ada"}, decision=did)
    assert (e["outputs"], e["warnings"]) == ({"Greeting": "Hello Ada"}, []), e
    # what does: null, and the warning says why
    e = evaluate(srv, j["id"], {"amount": 5}, decision="Price")
    assert e["outputs"] == {"Price": None}, e
    assert e["warnings"] == ["'Pricing Rules' has no logic yet: invoking it gives null"], e
    e = evaluate(srv, j["id"], {}, decision="After Later")
    assert e["outputs"] == {"After Later": None}, e
    assert e["warnings"] == ["decision 'Later' has no decision logic yet: its value is null"], e
    e = evaluate(srv, j["id"], {}, decision="Decision_later")
    assert (e["outputs"], e["decision"]) == ({"Later": None}, "Later"), e
    assert e["warnings"] == ["decision 'Later' has no decision logic yet: its value is null"], e


# ---- item 3, engine side: zeebe:calledDecision decisionId as in Camunda 8 ----

ENGINE_DMN = """  <decision id="%(single)s" name="Discount"%(tag)s>
    <decisionTable id="DecisionTable_single" hitPolicy="FIRST">
      <input id="Input_1" label="Customer type">
        <inputExpression id="InputExpression_1" typeRef="string"><text>customerType</text></inputExpression>
      </input>
      <output id="Output_1" name="discount" typeRef="number" />
      <rule id="Rule_business"><inputEntry id="U1"><text>"business"</text></inputEntry>
        <outputEntry id="L1"><text>%(rate)s</text></outputEntry></rule>
      <rule id="Rule_else"><inputEntry id="U2"><text>-</text></inputEntry>
        <outputEntry id="L2"><text>0</text></outputEntry></rule>
    </decisionTable>
  </decision>
  <decision id="%(multi)s" name="Shipping">
    <decisionTable id="DecisionTable_multi" hitPolicy="UNIQUE">
      <input id="Input_2" label="Weight">
        <inputExpression id="InputExpression_2" typeRef="number"><text>weight</text></inputExpression>
      </input>
      <output id="Output_2" name="carrier" typeRef="string" />
      <output id="Output_3" name="days" typeRef="number" />
      <rule id="Rule_light"><inputEntry id="U3"><text>&lt; 5</text></inputEntry>
        <outputEntry id="L3"><text>"post"</text></outputEntry><outputEntry id="L4"><text>2</text></outputEntry></rule>
      <rule id="Rule_heavy"><inputEntry id="U4"><text>&gt;= 5</text></inputEntry>
        <outputEntry id="L5"><text>"freight"</text></outputEntry><outputEntry id="L6"><text>5</text></outputEntry></rule>
    </decisionTable>
  </decision>
  <decision id="%(collect)s" name="Perks">
    <decisionTable id="DecisionTable_collect" hitPolicy="COLLECT">
      <input id="Input_3" label="Customer type">
        <inputExpression id="InputExpression_3" typeRef="string"><text>customerType</text></inputExpression>
      </input>
      <output id="Output_4" name="perk" typeRef="string" />
      <rule id="Rule_p1"><inputEntry id="U5"><text>"business"</text></inputEntry>
        <outputEntry id="L7"><text>"invoice"</text></outputEntry></rule>
      <rule id="Rule_p2"><inputEntry id="U6"><text>-</text></inputEntry>
        <outputEntry id="L8"><text>"newsletter"</text></outputEntry></rule>
    </decisionTable>
  </decision>
"""


def rule_task(tid, did, var, extra=""):
    return ('<bpmn:businessRuleTask id="%s" name="%s"><bpmn:extensionElements>'
            '<zeebe:calledDecision decisionId="%s" resultVariable="%s"%s />'
            '</bpmn:extensionElements></bpmn:businessRuleTask>' % (tid, tid, did, var, extra))


def test_process_calls_decisions_by_dmn_id(srv):
    """A Camunda 8 process: businessRuleTasks with zeebe:calledDecision decisionId (DMN
    ids of a rule set published in the tenant) and resultVariable. Single output → the
    value, several outputs → a context, COLLECT → a list; bindingType versionTag picks
    the tagged version, the default the latest."""
    ids = {k: unique_name("Decision_" + k) for k in ("single", "multi", "collect")}
    v1 = dict(ids, tag=' camunda:versionTag="v1"', rate="0.15")
    r = post_xml(srv, camunda_dmn(ENGINE_DMN % v1, list(ids.values())))
    rs = assert_json(r, 201)
    v2 = dict(ids, tag="", rate="0.2")
    assert_json(put_xml(srv, rs["id"], r.headers["etag"], camunda_dmn(ENGINE_DMN % v2, list(ids.values()))))
    pid = unique_name("order").replace("-", "_")
    body = ('<bpmn:startEvent id="StartEvent_1" />' +
            rule_task("discount", ids["single"], "discount") +
            rule_task("shipping", ids["multi"], "shipping") +
            rule_task("perks", ids["collect"], "perks") +
            rule_task("tagged", ids["single"], "oldDiscount",
                      ' bindingType="versionTag" versionTag="v1"') +
            rule_task("pinned", "%s#%s" % (rs["id"], ids["single"]), "pinned") +
            '<bpmn:endEvent id="EndEvent_1" />' +
            chain("StartEvent_1", "discount", "shipping", "perks", "tagged", "pinned", "EndEvent_1"))
    p = deploy(srv, bpmn(pid, body))
    i = start(srv, p["id"], {"customerType": "business", "weight": 7})
    i = wait_state(srv, i["id"], "completed")
    assert i["variables"] == {
        "customerType": "business", "weight": 7,
        "discount": 0.2,                                # latest version, single output: the value
        "shipping": {"carrier": "freight", "days": 5},  # several outputs: a context
        "perks": ["invoice", "newsletter"],             # COLLECT: a list
        "oldDiscount": 0.15,                            # bindingType versionTag v1
        "pinned": 0.2,                                  # rul_…#decisionId still works
    }, i["variables"]
    assert entered_path(history(srv, i["id"])) == [
        "StartEvent_1", "discount", "shipping", "perks", "tagged", "pinned", "EndEvent_1"]


def test_process_unknown_decision_id_is_an_incident(srv):
    pid = unique_name("missing").replace("-", "_")
    did = unique_name("Decision_nowhere")
    body = ('<bpmn:startEvent id="s" />' + rule_task("decide", did, "out") + '<bpmn:endEvent id="e" />' +
            chain("s", "decide", "e"))
    p = deploy(srv, bpmn(pid, body))
    i = start(srv, p["id"], {})
    i = wait_for(srv, i["id"], lambda x: x["incidents"] == 1)
    assert i["state"] == "active" and "out" not in i["variables"], i
    inc = assert_json(srv.get(9005, "/incidents?executionId=%s" % i["id"]))["items"]
    assert [(x["type"], x["elementId"]) for x in inc] == [("expression", "decide")], inc
    assert "decision '%s' could not be evaluated (404)" % did in inc[0]["message"], inc
    assert "no published rule set holds decision" in inc[0]["message"], inc
    # once a rule set publishes the decision, resolving the incident retries the task
    assert_json(post_xml(srv, camunda_dmn(literal_decision(did, "Late", '"arrived"'), [did])), 201)
    assert_json(srv.req("PUT", 9005, "/incidents/%s/resolve" % inc[0]["id"]))
    i = wait_state(srv, i["id"], "completed")
    assert i["variables"] == {"out": "arrived"}, i


def test_process_binding_it_cannot_honour_is_refused(srv):
    cases = ((("Decision_x", ' bindingType="deployment"'), "bindingType 'deployment' is not supported"),
             (("=decisionVar", ""), "FEEL expressions are not supported"))
    for (did, extra), why in cases:
        pid = unique_name("bound").replace("-", "_")
        body = ('<bpmn:startEvent id="s" />' + rule_task("decide", did, "out", extra) +
                '<bpmn:endEvent id="e" />' + chain("s", "decide", "e"))
        p = deploy(srv, bpmn(pid, body))
        pr = assert_problem(start(srv, p["id"], {}, status=None), 422)
        assert why in pr["detail"], pr
