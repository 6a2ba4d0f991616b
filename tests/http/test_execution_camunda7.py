"""Camunda 7 models in the Execution Engine (docs/execution.md, "Camunda 7 models").

Each test deploys a small model written the way Camunda Modeler 5 writes one for
Camunda 7 (`xmlns:camunda`, `modeler:executionPlatform="Camunda Platform"`, camunda:
attributes and extension elements, JUEL `${…}` conditions) through Process Design, runs
it and checks the exact path, the variables, the jobs and the tasks in 9006; and that
what cannot be honoured is a warning at publish, and what cannot run a 422 at start
naming the element and the construct."""

import json
from xml.sax.saxutils import escape

from exec_support import (deploy, entered_path, get, history, jobs, start, wait_for,
                          wait_state, wait_task, waiting)
from harness import assert_json, assert_problem, unique_name, wait_until

E, D, T, R = 9005, 9003, 9006, 8018


def c7(pid, body):
    """A Camunda 7 definitions document, as Camunda Modeler 5 starts one."""
    return ("""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
    xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    xmlns:modeler="http://camunda.org/schema/modeler/1.0"
    id="Definitions_%s" targetNamespace="http://bpmn.io/schema/bpmn"
    exporter="Camunda Modeler" exporterVersion="5.17.0"
    modeler:executionPlatform="Camunda Platform" modeler:executionPlatformVersion="7.20.0">
  <bpmn:process id="%s" isExecutable="true">
%s
  </bpmn:process>
</bpmn:definitions>""" % (pid, pid, body)).encode()


def flow(src, tgt, cond=None):
    c = ('<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">%s'
         '</bpmn:conditionExpression>' % escape(cond)) if cond else ""
    return '<bpmn:sequenceFlow id="f_%s_%s" sourceRef="%s" targetRef="%s">%s</bpmn:sequenceFlow>\n' % (
        src, tgt, src, tgt, c)


def chain(*ids):
    return "".join(flow(s, t) for s, t in zip(ids, ids[1:]))


def pid_of(prefix):
    return unique_name(prefix).replace("-", "_")


def run_jobs(srv, eid, jtype):
    return wait_until(lambda: [j for j in jobs(srv, executionId=eid) if j["type"] == jtype],
                      what="a job of type %s" % jtype)


def complete(srv, job_id, variables=None):
    return assert_json(srv.req("POST", E, "/jobs/%s/complete" % job_id,
                               body={"variables": variables or {}}))


def test_user_task_assignee_candidates_due_date_form(srv):
    pid = pid_of("c7user")
    grp = unique_name("accounting")
    body = ('<bpmn:startEvent id="start"/>'
            '<bpmn:userTask id="approve" name="Approve invoice" camunda:assignee="${approver}" '
            'camunda:candidateUsers="ann, bob" camunda:candidateGroups="%s,sales" '
            'camunda:dueDate="${due}">'
            '<bpmn:extensionElements><camunda:formData>'
            '<camunda:formField id="approved" label="Approved?" type="boolean">'
            '<camunda:validation><camunda:constraint name="required"/></camunda:validation>'
            '</camunda:formField>'
            '<camunda:formField id="amount" type="long">'
            '<camunda:validation><camunda:constraint name="min" config="1"/></camunda:validation>'
            '</camunda:formField>'
            '</camunda:formData></bpmn:extensionElements></bpmn:userTask>'
            '<bpmn:endEvent id="end"/>' % grp + chain("start", "approve", "end"))
    p = deploy(srv, c7(pid, body))
    i = start(srv, p["id"], {"approver": "carol", "due": "2030-01-31T12:00:00Z"})
    tid = wait_task(srv, i["id"], "approve")
    t = assert_json(srv.get(T, "/tasks/" + tid))
    assert t["name"] == "Approve invoice" and t["assignee"] == "carol", t
    assert t["candidateUsers"] == ["ann", "bob"] and t["candidateGroups"] == [grp, "sales"], t
    assert t["dueDate"] == "2030-01-31T12:00:00.000Z", t
    assert t["form"]["required"] == ["approved"], t
    assert t["form"]["properties"]["amount"] == {"type": "integer", "minimum": 1}, t
    # the generated form is enforced
    assert_problem(srv.req("PUT", T, "/tasks/%s/respond" % tid,
                           body={"response": {"approved": True, "amount": 0}}), 422)
    assert_json(srv.req("PUT", T, "/tasks/%s/respond" % tid,
                        body={"response": {"approved": True, "amount": 3}}))
    i = wait_state(srv, i["id"], "completed")
    assert i["variables"]["approved"] is True and i["variables"]["amount"] == 3, i


def test_exclusive_gateway_juel_conditions(srv):
    pid = pid_of("c7xor")
    body = ('<bpmn:startEvent id="start"/>'
            '<bpmn:exclusiveGateway id="gw" default="f_gw_normal"/>'
            '<bpmn:task id="big"/><bpmn:task id="vip"/><bpmn:task id="none"/><bpmn:task id="normal"/>'
            '<bpmn:endEvent id="end"/>' + flow("start", "gw") +
            flow("gw", "big", "${amount > 1000 && !vip}") +
            flow("gw", "vip", "${vip || customer.region eq 'EU' and not empty items}") +
            flow("gw", "none", "#{empty items && amount le 0}") +
            flow("gw", "normal") + chain("big", "end") + chain("vip", "end") + chain("none", "end") +
            chain("normal", "end"))
    p = deploy(srv, c7(pid, body))
    cases = [
        ({"amount": 5000, "vip": False, "customer": {"region": "US"}, "items": [1]}, "big"),
        ({"amount": 5000, "vip": True, "customer": {"region": "US"}, "items": []}, "vip"),
        ({"amount": 10, "vip": False, "customer": {"region": "EU"}, "items": ["x"]}, "vip"),
        ({"amount": 10, "vip": False, "customer": {"region": "EU"}, "items": []}, "normal"),
        ({"amount": 0, "vip": None, "customer": {"region": "US"}, "items": []}, "none"),
        ({"amount": 10, "vip": None, "customer": {"region": "US"}, "items": None}, "normal"),
    ]
    for variables, path in cases:
        i = wait_state(srv, start(srv, p["id"], variables)["id"], "completed")
        assert entered_path(history(srv, i["id"])) == ["start", "gw", path, "end"], (variables, path)


def test_external_task_topic_is_a_job(srv):
    pid, topic = pid_of("c7ext"), unique_name("charge-card")
    body = ('<bpmn:startEvent id="start"/>'
            '<bpmn:serviceTask id="charge" name="Charge card" camunda:type="external" '
            'camunda:topic="%s"/>'
            '<bpmn:endEvent id="end"/>' % topic + chain("start", "charge", "end"))
    p = deploy(srv, c7(pid, body))
    i = start(srv, p["id"], {"amount": 42})
    j = run_jobs(srv, i["id"], topic)
    assert len(j) == 1 and j[0]["elementId"] == "charge" and j[0]["retries"] == 3, j
    assert j[0]["variables"] == {"amount": 42}, j
    complete(srv, j[0]["id"], {"receipt": "R-7"})
    i = wait_state(srv, i["id"], "completed")
    assert i["variables"] == {"amount": 42, "receipt": "R-7"}, i


def test_java_delegates_become_jobs_of_their_text(srv):
    pid = pid_of("c7class")
    body = ('<bpmn:startEvent id="start"/>'
            '<bpmn:serviceTask id="mail" camunda:class="com.acme.SendMailDelegate"/>'
            '<bpmn:serviceTask id="bean" camunda:delegateExpression="${archiveDelegate}">'
            '<bpmn:extensionElements><camunda:failedJobRetryTimeCycle>R5/PT1M'
            '</camunda:failedJobRetryTimeCycle></bpmn:extensionElements></bpmn:serviceTask>'
            '<bpmn:sendTask id="notify" camunda:expression="${notifier.send(execution)}"/>'
            '<bpmn:intermediateThrowEvent id="tell"><bpmn:messageEventDefinition id="med" '
            'camunda:class="com.acme.TellPartner"/></bpmn:intermediateThrowEvent>'
            '<bpmn:endEvent id="end"/>' + chain("start", "mail", "bean", "notify", "tell", "end"))
    p = deploy(srv, c7(pid, body))
    i = start(srv, p["id"], {})
    for el, jt, retries in (("mail", "com.acme.SendMailDelegate", 3), ("bean", "${archiveDelegate}", 5),
                            ("notify", "${notifier.send(execution)}", 3), ("tell", "com.acme.TellPartner", 3)):
        j = run_jobs(srv, i["id"], jt)
        assert len(j) == 1 and j[0]["elementId"] == el and j[0]["retries"] == retries, j
        complete(srv, j[0]["id"], {"done_" + el: True})
    i = wait_state(srv, i["id"], "completed")
    assert i["variables"] == {"done_mail": True, "done_bean": True, "done_notify": True, "done_tell": True}, i
    assert entered_path(history(srv, i["id"])) == ["start", "mail", "bean", "notify", "tell", "end"]


def test_juel_in_loops_and_timers(srv):
    pid = pid_of("c7loop")
    body = ('<bpmn:startEvent id="start"/>'
            '<bpmn:task id="step"><bpmn:multiInstanceLoopCharacteristics isSequential="true">'
            '<bpmn:loopCardinality xsi:type="bpmn:tFormalExpression">${count}</bpmn:loopCardinality>'
            '<bpmn:completionCondition xsi:type="bpmn:tFormalExpression">'
            '${nrOfCompletedInstances == stopAfter}</bpmn:completionCondition>'
            '</bpmn:multiInstanceLoopCharacteristics></bpmn:task>'
            '<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition>'
            '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">${delay}</bpmn:timeDuration>'
            '</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'
            '<bpmn:endEvent id="end"/>' + chain("start", "step", "wait", "end"))
    p = deploy(srv, c7(pid, body))
    i = wait_state(srv, start(srv, p["id"], {"count": 5, "stopAfter": 2, "delay": "PT0.2S"})["id"],
                   "completed")
    hist = history(srv, i["id"])
    assert sum(1 for h in hist if h["type"] == "element.entered" and h.get("elementId") == "step") == 3, \
        entered_path(hist)     # the body and two iterations of five
    assert entered_path(hist)[-2:] == ["wait", "end"], entered_path(hist)


def test_input_output_mappings(srv):
    pid, topic = pid_of("c7io"), unique_name("quote")
    io = ('<camunda:inputOutput>'
          '<camunda:inputParameter name="customerName">${customer.name}</camunda:inputParameter>'
          '<camunda:inputParameter name="channel">web shop</camunda:inputParameter>'
          '<camunda:inputParameter name="net">${price * qty}</camunda:inputParameter>'
          '<camunda:inputParameter name="nothing"/>'
          '<camunda:inputParameter name="tags"><camunda:list><camunda:value>a</camunda:value>'
          '<camunda:value>${customer.tier}</camunda:value></camunda:list></camunda:inputParameter>'
          '<camunda:inputParameter name="meta"><camunda:map><camunda:entry key="source">c7</camunda:entry>'
          '<camunda:entry key="first item">${items[0]}</camunda:entry></camunda:map></camunda:inputParameter>'
          '<camunda:outputParameter name="total">${quote + 1}</camunda:outputParameter>'
          '<camunda:outputParameter name="greeting">Dear ${customerName}</camunda:outputParameter>'
          '</camunda:inputOutput>')
    body = ('<bpmn:startEvent id="start"/>'
            '<bpmn:serviceTask id="price" camunda:type="external" camunda:topic="%s">'
            '<bpmn:extensionElements>%s</bpmn:extensionElements></bpmn:serviceTask>'
            '<bpmn:endEvent id="end"/>' % (topic, io) + chain("start", "price", "end"))
    p = deploy(srv, c7(pid, body))
    v0 = {"customer": {"name": "Ann", "tier": "gold"}, "price": 2.5, "qty": 4, "items": ["x", "y"]}
    i = start(srv, p["id"], v0)
    j = run_jobs(srv, i["id"], topic)[0]
    # the worker sees the inputs as the element's local variables
    v = j["variables"]
    assert v["customerName"] == "Ann" and v["channel"] == "web shop" and v["net"] == 10, v
    assert v["nothing"] is None and v["tags"] == ["a", "gold"], v
    assert v["meta"] == {"source": "c7", "first item": "x"}, v
    complete(srv, j["id"], {"quote": 99})
    i = wait_state(srv, i["id"], "completed")
    want = dict(v0, total=100, greeting="Dear Ann")
    assert i["variables"] == want, i["variables"]


def test_untranslatable_juel_is_refused_at_start(srv):
    pid = pid_of("c7bad")
    body = ('<bpmn:startEvent id="start"/><bpmn:exclusiveGateway id="gw"/>'
            '<bpmn:endEvent id="a"/><bpmn:endEvent id="b"/>' + flow("start", "gw") +
            flow("gw", "a", "${execution.getVariable('amount') > 10}") + flow("gw", "b", "${true}"))
    p = deploy(srv, c7(pid, body))
    r = start(srv, p["id"], {"amount": 1}, status=None)
    pr = assert_problem(r, 422)
    assert "f_gw_a" in pr["detail"] and "'execution' (the Camunda 7 execution object)" in pr["detail"], pr
    assert assert_json(srv.get(E, "/executions?processId=" + p["id"]))["total"] == 0
    # a bean's method call in a user task attribute, named with its element
    pid2 = pid_of("c7bean")
    body2 = ('<bpmn:startEvent id="start"/>'
             '<bpmn:userTask id="review" camunda:assignee="${userService.pickReviewer(order)}"/>'
             '<bpmn:endEvent id="end"/>' + chain("start", "review", "end"))
    p2 = deploy(srv, c7(pid2, body2))
    pr = assert_problem(start(srv, p2["id"], {}, status=None), 422)
    assert "'review'" in pr["detail"] and "method call 'userService.pickReviewer(…)'" in pr["detail"], pr
    # a script condition
    pid3 = pid_of("c7script")
    body3 = ('<bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>'
             '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end">'
             '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" language="javascript">'
             'amount &gt; 1</bpmn:conditionExpression></bpmn:sequenceFlow>')
    p3 = deploy(srv, c7(pid3, body3))
    pr = assert_problem(start(srv, p3["id"], {}, status=None), 422)
    assert "'f1'" in pr["detail"] and "javascript" in pr["detail"], pr


def test_decision_ref_and_map_decision_result(srv):
    model = {"inputs": [{"name": "Amount", "type": "number"}],
             "decisions": [
                 {"name": "Band", "requires": ["Amount"], "table": {
                     "hitPolicy": "FIRST", "inputs": ["Amount"], "outputs": [{"name": "band"}],
                     "rules": [{"when": ["> 1000"], "then": ['"high"']}, {"when": ["-"], "then": ['"low"']}]}},
                 {"name": "Route", "requires": ["Amount"], "table": {
                     "hitPolicy": "COLLECT", "inputs": ["Amount"],
                     "outputs": [{"name": "team"}, {"name": "sla"}],
                     "rules": [{"when": ["> 100"], "then": ['"risk"', "2"]},
                               {"when": ["-"], "then": ['"ops"', "5"]}]}}]}
    rid = assert_json(srv.req("POST", R, "/rules", body={"name": unique_name("c7dmn"), "model": model}),
                      201)["id"]
    pid = pid_of("c7rule")

    def rule(id_, decision, var, mapping):
        m = ' camunda:mapDecisionResult="%s"' % mapping if mapping else ""
        return ('<bpmn:businessRuleTask id="%s" camunda:decisionRef="%s#%s" camunda:resultVariable="%s"%s/>'
                % (id_, rid, decision, var, m))
    body = ('<bpmn:startEvent id="start"/>' + rule("band", "Band", "band", "singleEntry") +
            rule("bands", "Band", "bands", "collectEntries") + rule("route", "Route", "routes", None) +
            rule("first", "Route", "first", "collectEntries") + '<bpmn:endEvent id="end"/>' +
            chain("start", "band", "bands", "route", "first", "end"))
    p = deploy(srv, c7(pid, body))
    i = start(srv, p["id"], {"Amount": 2000})
    # collectEntries over a two-output result cannot pick one entry: an incident, not a guess
    i = wait_for(srv, i["id"], lambda x: waiting(x, "first", "incident"))
    v = i["variables"]
    assert v["band"] == "high" and v["bands"] == ["high"], v
    assert v["routes"] == [{"team": "risk", "sla": 2}, {"team": "ops", "sla": 5}], v
    inc = assert_json(srv.get(E, "/incidents?executionId=" + i["id"]))["items"]
    assert len(inc) == 1 and "'collectEntries': a result has 2 outputs" in inc[0]["message"], inc
    # resultList (the default) of a single-output decision: an incident naming the way out
    pid2 = pid_of("c7rule2")
    p2 = deploy(srv, c7(pid2, '<bpmn:startEvent id="start"/>' + rule("band", "Band", "band", None) +
                        '<bpmn:endEvent id="end"/>' + chain("start", "band", "end")))
    i2 = start(srv, p2["id"], {"Amount": 5})
    i2 = wait_for(srv, i2["id"], lambda x: waiting(x, "band", "incident"))
    inc = assert_json(srv.get(E, "/incidents?executionId=" + i2["id"]))["items"]
    assert "use singleEntry or collectEntries" in inc[0]["message"], inc
    assert "band" not in i2["variables"], i2


def test_multi_instance_collection_and_call_activity_mappings(srv):
    child, topic = pid_of("c7child"), unique_name("c7item")
    deploy(srv, c7(child, '<bpmn:startEvent id="s"/>'
                          '<bpmn:serviceTask id="work" camunda:type="external" camunda:topic="%s"/>'
                          '<bpmn:endEvent id="e"/>' % topic + chain("s", "work", "e")))
    pid = pid_of("c7parent")
    body = ('<bpmn:startEvent id="start"/>'
            '<bpmn:callActivity id="call" calledElement="%s">'
            '<bpmn:extensionElements><camunda:in source="item" target="thing"/>'
            '<camunda:in sourceExpression="${loopCounter * 10}" target="pos"/>'
            '<camunda:in businessKey="#{execution.processBusinessKey}"/>'
            '<camunda:out source="answer" target="lastAnswer"/></bpmn:extensionElements>'
            '<bpmn:multiInstanceLoopCharacteristics isSequential="true" camunda:collection="${items}" '
            'camunda:elementVariable="item"/></bpmn:callActivity>'
            '<bpmn:endEvent id="end"/>' % child + chain("start", "call", "end"))
    p = deploy(srv, c7(pid, body))
    i = start(srv, p["id"], {"items": ["a", "b"], "secret": 1})
    for n, item in enumerate(["a", "b"]):
        j = wait_until(lambda: [x for x in jobs(srv) if x["type"] == topic], what="child job")
        # the child gets exactly what camunda:in passes (Camunda 7 passes nothing else)
        assert j[0]["variables"] == {"thing": item, "pos": n * 10}, j
        complete(srv, j[0]["id"], {"answer": item.upper(), "junk": 1})
    i = wait_state(srv, i["id"], "completed")
    assert i["variables"] == {"items": ["a", "b"], "secret": 1, "lastAnswer": "B"}, i


def test_not_honoured_extensions_are_publish_warnings(srv):
    pid = pid_of("c7warn")
    body = ('<bpmn:startEvent id="start" camunda:initiator="starter" camunda:asyncBefore="true"/>'
            '<bpmn:userTask id="review" camunda:formKey="embedded:app:forms/review.html" camunda:priority="80">'
            '<bpmn:extensionElements><camunda:taskListener class="com.acme.Notify" event="create"/>'
            '</bpmn:extensionElements></bpmn:userTask>'
            '<bpmn:serviceTask id="http" camunda:asyncAfter="true"><bpmn:extensionElements><camunda:connector>'
            '<camunda:connectorId>http-connector</camunda:connectorId></camunda:connector>'
            '<camunda:executionListener class="com.acme.Audit" event="start"/>'
            '</bpmn:extensionElements></bpmn:serviceTask>'
            '<bpmn:endEvent id="end"/>' + chain("start", "review", "http", "end"))
    r = srv.req("POST", D, "/processes", body=c7(pid, body), headers={"Content-Type": "application/xml"})
    proc = assert_json(r, 201)
    pub = assert_json(srv.req("POST", D, "/processes/%s/publish" % proc["id"], body={}), 201)
    got = {(w["id"], w["message"].split(" on ")[0]) for w in pub["warnings"]
           if w["code"].startswith("camunda7")}
    want = {("start", "the attribute camunda:initiator"), ("start", "the attribute camunda:asyncBefore"),
            ("review", "the attribute camunda:formKey"), ("review", "the attribute camunda:priority"),
            ("review", "the extension element camunda:taskListener"),
            ("http", "the attribute camunda:asyncAfter"), ("http", "the extension element camunda:connector"),
            ("http", "the extension element camunda:executionListener")}
    assert got == want, json.dumps(pub["warnings"], indent=1)
    # it runs with what it honours: the task without a form, the connector as a job
    i = start(srv, proc["id"], {})
    tid = wait_task(srv, i["id"], "review")
    assert assert_json(srv.get(T, "/tasks/" + tid)).get("form") is None
    assert_json(srv.req("PUT", T, "/tasks/%s/respond" % tid, body={"response": {"ok": True}}))
    j = run_jobs(srv, i["id"], "http-connector")
    complete(srv, j[0]["id"])
    wait_state(srv, i["id"], "completed")
    assert get(srv, i["id"])["variables"] == {"ok": True}


def dmn_c7(did, tag, rules):
    """A DMN 1.3 table as Camunda Modeler writes it for Camunda 7: no inputData, the input
    expression names the variable, a camunda:versionTag on the decision."""
    rows = "".join('<rule id="r%d"><inputEntry id="i%d"><text>%s</text></inputEntry>'
                   '<outputEntry id="o%d"><text>"%s"</text></outputEntry>'
                   '<outputEntry id="p%d"><text>%d</text></outputEntry></rule>'
                   % (n, n, escape(when), n, who, n, prio) for n, (when, who, prio) in enumerate(rules))
    return ("""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"
    xmlns:camunda="http://camunda.org/schema/1.0/dmn" id="defs_%s" name="Approvers"
    namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="%s" name="Assign approver" camunda:versionTag="%s">
    <decisionTable id="t1" hitPolicy="FIRST">
      <input id="in1" label="Amount"><inputExpression id="e1" typeRef="integer"><text>amount</text>
      </inputExpression></input>
      <output id="out1" name="approver" typeRef="string"/>
      <output id="out2" name="priority" typeRef="integer"/>
      %s
    </decisionTable>
  </decision>
</definitions>""" % (did, did, tag, rows)).encode()


def test_decision_ref_by_dmn_id_end_to_end(srv):
    did = pid_of("invoice_approver")
    for tag, rules in (("v1", [("> 1000", "boss", 1), ("-", "clerk", 3)]),
                       ("v2", [("> 500", "lead", 2), ("-", "clerk", 3)])):
        r = srv.req("POST", R, "/rules?name=%s" % unique_name("approvers"), body=dmn_c7(did, tag, rules),
                    headers={"Content-Type": "application/xml"})
        assert_json(r, 201)
    pid = pid_of("c7dmnid")
    body = ('<bpmn:startEvent id="start"/>'
            '<bpmn:businessRuleTask id="latest" camunda:decisionRef="%s" camunda:resultVariable="result" '
            'camunda:mapDecisionResult="singleResult"/>'
            '<bpmn:businessRuleTask id="pinned" camunda:decisionRef="%s" camunda:decisionRefBinding="versionTag" '
            'camunda:decisionRefVersionTag="v1" camunda:resultVariable="old" camunda:mapDecisionResult="resultList"/>'
            '<bpmn:endEvent id="end"/>' % (did, did) + chain("start", "latest", "pinned", "end"))
    p = deploy(srv, c7(pid, body))
    for amount, now, then in ((800, {"approver": "lead", "priority": 2}, {"approver": "clerk", "priority": 3}),
                              (2000, {"approver": "lead", "priority": 2}, {"approver": "boss", "priority": 1})):
        i = wait_state(srv, start(srv, p["id"], {"amount": amount})["id"], "completed")
        assert i["variables"] == {"amount": amount, "result": now, "old": [then]}, i["variables"]
    # another binding cannot be honoured: refused at start, naming the element
    pid2 = pid_of("c7dmnbind")
    p2 = deploy(srv, c7(pid2, '<bpmn:startEvent id="start"/><bpmn:businessRuleTask id="fixed" '
                              'camunda:decisionRef="%s" camunda:decisionRefBinding="version" '
                              'camunda:decisionRefVersion="1" camunda:resultVariable="r"/>'
                              '<bpmn:endEvent id="end"/>' % did + chain("start", "fixed", "end")))
    pr = assert_problem(start(srv, p2["id"], {}, status=None), 422)
    assert "'fixed'" in pr["detail"] and "decisionRefBinding 'version'" in pr["detail"], pr
