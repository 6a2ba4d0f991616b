"""BPMN serviceTasks with zeebe:taskDefinition type="ai-agent" (docs/execution.md, "AI agent
tasks"): the engine invokes an agent of AI Agent Orchestration (9007) — here with the
built-in `local` provider, no network — stores its answer in the result variable (parsed
when outputFormat is json) and a gateway routes on it; an agent that does not exist and
a bad header end in incidents naming the cause."""

from exec_support import bpmn, chain, deploy, get, start, wait_for, wait_state, waiting
from harness import assert_json, unique_name

X = 9005


def agent_task(tid, headers, retries=1):
    hs = "".join('<zeebe:header key="%s" value="%s" />' % kv for kv in headers)
    return ('<bpmn:serviceTask id="%s"><bpmn:extensionElements><zeebe:taskDefinition type="ai-agent" retries="%d" />'
            '<zeebe:taskHeaders>%s</zeebe:taskHeaders></bpmn:extensionElements></bpmn:serviceTask>'
            % (tid, retries, hs))


def configure(srv, agent, rules):
    r = srv.req("PUT", 9007, "/agents/%s/config" % agent, body={"provider": "local", "local": {"rules": rules}})
    assert r.status in (200, 201), r


def test_agent_decides_and_the_gateway_routes(srv):
    agent = unique_name("reviewer").lower()
    configure(srv, agent, [{"when": "small", "reply": '{"decision": "approve"}'},
                           {"when": "", "reply": '{"decision": "escalate"}'}])
    pid = unique_name("agent_flow").replace("-", "_")
    body = ('<bpmn:startEvent id="s"/>'
            + agent_task("review", [("agentId", agent), ("prompt", "Review the {{size}} claim {{claimId}}"),
                                    ("resultVariable", "review"), ("outputFormat", "json")])
            + '<bpmn:exclusiveGateway id="g"/><bpmn:endEvent id="ok"/><bpmn:endEvent id="esc"/>'
            + chain("s", "review", "g")
            + '<bpmn:sequenceFlow id="f_ok" sourceRef="g" targetRef="ok"><bpmn:conditionExpression>'
              '=review.output.decision = "approve"</bpmn:conditionExpression></bpmn:sequenceFlow>'
              '<bpmn:sequenceFlow id="f_esc" sourceRef="g" targetRef="esc"><bpmn:conditionExpression>'
              '=review.output.decision = "escalate"</bpmn:conditionExpression></bpmn:sequenceFlow>')
    deploy(srv, bpmn(pid, body))
    a = start(srv, pid, {"claimId": "C-1", "size": "small"})
    wait_state(srv, a["id"], "completed")
    v = get(srv, a["id"])["variables"]
    assert v["review"]["output"] == {"decision": "approve"} and v["review"]["provider"] == "local", v
    assert v["review"]["usage"]["inputTokens"] > 0, v
    b = start(srv, pid, {"claimId": "C-2", "size": "large"})
    wait_state(srv, b["id"], "completed")
    assert get(srv, b["id"])["variables"]["review"]["output"]["decision"] == "escalate"
    hist = assert_json(srv.get(X, "/executions/%s/history?limit=500" % b["id"]))["items"]
    assert any(h.get("elementId") == "esc" for h in hist), hist
    # the agent's audit shows the prompt rendered over the instance's variables
    audit = assert_json(srv.get(9007, "/agents/%s/audit" % agent))["items"]
    assert any("Review the large claim C-2" in str(x.get("prompt")) for x in audit), audit


def test_default_input_and_result_variable(srv):
    agent = unique_name("echo").lower()
    configure(srv, agent, [])
    pid = unique_name("agent_default").replace("-", "_")
    deploy(srv, bpmn(pid, '<bpmn:startEvent id="s"/>' + agent_task("ask", [("agentId", "=who")])
                     + '<bpmn:endEvent id="e"/>' + chain("s", "ask", "e")))
    i = start(srv, pid, {"who": agent, "input": "hello there"})
    wait_state(srv, i["id"], "completed")
    v = get(srv, i["id"])["variables"]
    assert v["agent"]["output"] == "You said: hello there", v


def test_unknown_agent_and_bad_header_are_incidents(srv):
    pid = unique_name("agent_bad").replace("-", "_")
    deploy(srv, bpmn(pid, '<bpmn:startEvent id="s"/>' + agent_task("ask", [("agentId", "nobody-configured")])
                     + '<bpmn:endEvent id="e"/>' + chain("s", "ask", "e")))
    i = start(srv, pid, {"input": "x"})
    wait_for(srv, i["id"], lambda x: waiting(x, "ask", "incident"), what="an incident at ask")
    inc = assert_json(srv.get(X, "/incidents?executionId=%s" % i["id"]))["items"][0]
    assert "nobody-configured" in inc["message"] and "404" in inc["message"], inc
    pid2 = unique_name("agent_badh").replace("-", "_")
    deploy(srv, bpmn(pid2, '<bpmn:startEvent id="s"/>' + agent_task("ask", [("agentId", "not an id")], retries=3)
                     + '<bpmn:endEvent id="e"/>' + chain("s", "ask", "e")))
    j = start(srv, pid2, {"input": "x"})
    wait_for(srv, j["id"], lambda x: waiting(x, "ask", "incident"), what="an incident at ask")
    inc = assert_json(srv.get(X, "/incidents?executionId=%s" % j["id"]))["items"][0]
    assert "not an agent id" in inc["message"], inc
