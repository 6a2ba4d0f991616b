"""MCP Server (docs/mcp.md): the Streamable HTTP transport at 9000 /mcp, spoken with plain
HTTP so every protocol rule is visible — initialize and version negotiation, sessions
(404 once unknown or deleted), the MCP-Protocol-Version header, Origin/Host checks (403),
202 for notifications, JSON-RPC errors for malformed, unknown and ill-typed requests
(naming the field), the 401 that points at the RFC 9728 document, and tools and resources
that act exactly like the HTTP routes they call (tenants, permissions, problem details).
The official SDK client drives it too: test_mcp_sdk.py."""

import base64
import hashlib
import html
import http.client
import json
import os
import re
import secrets
import urllib.parse
import threading
import time

from harness import (ADMIN_EMAIL, ADMIN_PASSWORD, Server, assert_problem as _assert_problem, http_request,
                     wait_until)
from exec_support import bpmn, chain

LATEST = "2025-11-25"
TITLES = {400: "Session Required", 404: "Session Not Found", 403: None}


def assert_problem(r, status, title=None):
    """The MCP transport's problems have their own titles (any for 403: origin or role)."""
    return _assert_problem(r, status, title or TITLES.get(status) or r.json and r.json.get("title"))


def post(srv, msg, headers=None, session=None, auth=True, version=LATEST, raw_body=None):
    h = {"Accept": "application/json, text/event-stream"}
    if version:
        h["MCP-Protocol-Version"] = version
    if session:
        h["Mcp-Session-Id"] = session
    h.update(headers or {})
    body = raw_body if raw_body is not None else msg
    return srv.req("POST", 9000, "/mcp", body=body, headers=h, auth=auth)


def init(srv, headers=None, version=LATEST):
    r = post(srv, {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                   "params": {"protocolVersion": version, "capabilities": {},
                              "clientInfo": {"name": "test", "version": "1"}}},
             headers=headers, version=None)
    assert r.status == 200, r
    sid = r.headers.get("mcp-session-id")
    assert sid, "no Mcp-Session-Id in %r" % (r.headers,)
    r2 = post(srv, {"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers,
              session=sid, version=r.json["result"]["protocolVersion"])
    assert r2.status == 202 and not r2.body, r2
    return sid, r.json["result"]


def call(srv, sid, method, params=None, headers=None, rid=7):
    msg = {"jsonrpc": "2.0", "id": rid, "method": method}
    if params is not None:
        msg["params"] = params
    r = post(srv, msg, headers=headers, session=sid)
    assert r.status == 200 and r.json and r.json.get("id") == rid, r
    return r.json


def tool(srv, sid, name, args, headers=None):
    res = call(srv, sid, "tools/call", {"name": name, "arguments": args}, headers)
    assert "result" in res, res
    return res["result"]


def test_initialize_negotiates_and_pings(srv):
    sid, res = init(srv)
    assert res["protocolVersion"] == LATEST
    assert res["serverInfo"]["name"] == "flowmaster"
    assert {"tools", "resources", "logging"} <= set(res["capabilities"])
    for v in ("2025-06-18", "2025-03-26"):
        _, res = init(srv, version=v)
        assert res["protocolVersion"] == v, res
    _, res = init(srv, version="1999-01-01")    # unknown: we offer our newest
    assert res["protocolVersion"] == LATEST
    assert call(srv, sid, "ping") == {"jsonrpc": "2.0", "id": 7, "result": {}}
    assert call(srv, sid, "logging/setLevel", {"level": "warning"})["result"] == {}


def test_sessions_headers_and_delete(srv):
    sid, _ = init(srv)
    r = post(srv, {"jsonrpc": "2.0", "id": 2, "method": "ping"})
    assert_problem(r, 400)      # no session
    r = post(srv, {"jsonrpc": "2.0", "id": 2, "method": "ping"}, session="mcp_nosuchsession000000")
    assert_problem(r, 404)
    r = post(srv, {"jsonrpc": "2.0", "id": 2, "method": "ping"}, session=sid, version="2024-01-01")
    assert "MCP-Protocol-Version" in assert_problem(r, 400, "Unsupported MCP Protocol Version")["detail"]
    # another user of the same tenant cannot use the session
    other = srv.tenant_headers("default", roles=("designer",), email="mcp-other@default.test")
    r = post(srv, {"jsonrpc": "2.0", "id": 2, "method": "ping"}, session=sid, headers=other)
    assert_problem(r, 404)
    r = srv.req("GET", 9000, "/mcp", headers={"Mcp-Session-Id": sid, "Accept": "application/json"})
    assert_problem(r, 406, "Not Acceptable")    # GET /mcp is the SSE stream only
    r = srv.req("GET", 9000, "/mcp", headers={"Mcp-Session-Id": "mcp_nosuchsession000000",
                                              "Accept": "text/event-stream"})
    assert_problem(r, 404)
    r = srv.req("DELETE", 9000, "/mcp", headers={"Mcp-Session-Id": sid})
    assert r.status == 204, r
    r = post(srv, {"jsonrpc": "2.0", "id": 2, "method": "ping"}, session=sid)
    assert_problem(r, 404)
    r = srv.req("DELETE", 9000, "/mcp", headers={"Mcp-Session-Id": sid})
    assert_problem(r, 404)


def test_protocol_errors(srv):
    sid, _ = init(srv)
    r = post(srv, None, session=sid, raw_body='{"jsonrpc": "2.0", "id": 1, "method": ')
    assert r.status == 400 and r.json["error"]["code"] == -32700 and r.json["id"] is None, r
    r = post(srv, {"jsonrpc": "1.0", "id": 3, "method": "ping"}, session=sid)
    assert r.status == 400 and r.json["error"]["code"] == -32600, r
    assert r.json["error"]["data"]["field"] == "jsonrpc"
    r = post(srv, {"jsonrpc": "2.0", "id": 3, "method": "no/such"}, session=sid)
    assert r.status == 200 and r.json["error"]["code"] == -32601 and "no/such" in r.json["error"]["message"], r
    e = call(srv, sid, "tools/call", {"arguments": {}})["error"]
    assert e["code"] == -32602 and e["data"]["field"] == "params.name", e
    e = call(srv, sid, "tools/call", {"name": "list_processes", "arguments": [1]})["error"]
    assert e["code"] == -32602 and e["data"]["field"] == "params.arguments", e
    e = call(srv, sid, "tools/call", {"name": "no_such_tool"})["error"]
    assert e["code"] == -32602 and "no_such_tool" in e["message"], e
    e = call(srv, sid, "logging/setLevel", {"level": "loud"})["error"]
    assert e["code"] == -32602 and e["data"]["field"] == "params.level", e
    e = call(srv, sid, "resources/read", {"uri": "file:///etc/passwd"})["error"]
    assert e["code"] == -32002, e
    # batches: refused from 2025-06-18 on, answered in a 2025-03-26 session
    r = post(srv, [{"jsonrpc": "2.0", "id": 1, "method": "ping"}], session=sid)
    assert r.status == 400 and r.json["error"]["code"] == -32600, r
    old, _ = init(srv, version="2025-03-26")
    r = post(srv, [{"jsonrpc": "2.0", "id": 1, "method": "ping"}, {"jsonrpc": "2.0", "method": "notifications/x"},
                   {"jsonrpc": "2.0", "id": 2, "method": "nope"}], session=old, version="2025-03-26")
    assert r.status == 200 and [m["id"] for m in r.json] == [1, 2], r
    assert r.json[1]["error"]["code"] == -32601
    # a response from the client is accepted with 202
    r = post(srv, {"jsonrpc": "2.0", "id": 99, "result": {}}, session=sid)
    assert r.status == 202, r
    # initialize without its version names the field
    r = post(srv, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}, version=None)
    assert r.json["error"]["code"] == -32602 and r.json["error"]["data"]["field"] == "params.protocolVersion", r
    # oversized: the server's body limit (1 MiB by default)
    big = '{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"x": "%s"}}' % ("a" * (1 << 20))
    r = post(srv, None, session=sid, raw_body=big)
    assert_problem(r, 413, "Content Too Large")


def test_auth_401_points_at_resource_metadata(srv):
    r = post(srv, {"jsonrpc": "2.0", "id": 1, "method": "ping"}, auth=False)
    assert_problem(r, 401, "Unauthorized")
    h = r.headers.get("www-authenticate", "")
    want = "http://127.0.0.1:%d/.well-known/oauth-protected-resource" % srv.port(9000)
    assert h == 'Bearer resource_metadata="%s"' % want, h
    r = post(srv, {"jsonrpc": "2.0", "id": 1, "method": "ping"}, auth=False,
             headers={"Authorization": "Bearer not-a-token"})
    assert_problem(r, 401, "Unauthorized")
    assert 'error="invalid_token"' in r.headers.get("www-authenticate", ""), r.headers
    doc = http_request(srv.port(9000), "GET", "/.well-known/oauth-protected-resource")
    assert doc.status == 200, doc
    assert doc.json["resource"] == "http://127.0.0.1:%d/mcp" % srv.port(9000), doc.json
    issuer = http_request(srv.port(8002), "GET", "/.well-known/openid-configuration").json["issuer"]
    assert doc.json["authorization_servers"] == [issuer], doc.json
    # a role without mcp:use
    h = srv.tenant_headers("default", roles=(), email="mcp-noroles@default.test")
    r = post(srv, {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                   "params": {"protocolVersion": LATEST}}, headers=h, version=None)
    assert "mcp:use" in assert_problem(r, 403)["detail"]


def test_origin_and_host_are_checked(srv):
    for origin in ("http://evil.example", "null", "https://127.0.0.1.evil.example"):
        r = post(srv, {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                       "params": {"protocolVersion": LATEST}}, headers={"Origin": origin}, version=None)
        assert_problem(r, 403)
    r = post(srv, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": LATEST}},
             headers={"Host": "evil.example:9000"}, version=None)
    assert_problem(r, 403)
    r = post(srv, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": LATEST}},
             headers={"Origin": "http://localhost:3000"}, version=None)
    assert r.status == 200, r


def test_tools_follow_the_routes(srv):
    sid, _ = init(srv)
    tools = {t["name"]: t for t in call(srv, sid, "tools/list")["result"]["tools"]}
    for name in ("list_processes", "create_process", "publish_process", "start_execution", "list_tasks",
                 "respond_task", "evaluate_feel", "get_execution_history"):
        t = tools[name]
        assert t["inputSchema"]["type"] == "object" and t["outputSchema"]["type"] == "object", t
        assert set(t["annotations"]) >= {"readOnlyHint", "destructiveHint", "idempotentHint"}, t
    assert tools["list_processes"]["annotations"]["readOnlyHint"] is True
    assert tools["cancel_execution"]["annotations"]["destructiveHint"] is True
    res = tool(srv, sid, "evaluate_feel", {"expression": "1 + 2 * x", "context": {"x": 4}})
    assert not res.get("isError") and res["structuredContent"]["result"] == 9, res
    assert json.loads(res["content"][0]["text"]) == res["structuredContent"]
    # a route's problem is a tool error with its detail
    res = tool(srv, sid, "get_process", {"processId": "proc_doesnotexist"})
    assert res["isError"] is True and "HTTP 404" in res["content"][0]["text"], res
    res = tool(srv, sid, "evaluate_feel", {"expression": "1 +"})
    assert res["isError"] is True and "422" in res["content"][0]["text"], res
    # arguments against the inputSchema, naming the argument
    res = tool(srv, sid, "get_process", {})
    assert res["isError"] and "'processId' is required" in res["content"][0]["text"], res
    res = tool(srv, sid, "get_process", {"processId": 5})
    assert res["isError"] and "'processId' must be a string" in res["content"][0]["text"], res
    res = tool(srv, sid, "list_processes", {"bogus": 1})
    assert res["isError"] and "'bogus'" in res["content"][0]["text"], res
    res = tool(srv, sid, "list_processes", {"limit": 0})
    assert res["isError"] and "'limit'" in res["content"][0]["text"], res
    res = tool(srv, sid, "get_process_bpmn", {"processId": "proc_x", "version": 1e300})
    assert res["isError"] and "'version' must be an integer" in res["content"][0]["text"], res
    e = call(srv, sid, "resources/list", {"cursor": "not a cursor/&x=1"})["error"]
    assert e["code"] == -32602 and e["data"]["field"] == "params.cursor", e
    # paging goes through
    xml = bpmn("mcp_page", '<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>' + chain("s", "e")).decode()
    for i in range(3):
        assert not tool(srv, sid, "create_process", {"name": "mcp-page-%d" % i, "xml": xml}).get("isError")
    page = tool(srv, sid, "list_processes", {"q": "mcp-page-", "limit": 2})["structuredContent"]
    assert len(page["items"]) == 2 and page["total"] == 3 and page["nextCursor"], page
    rest = tool(srv, sid, "list_processes", {"q": "mcp-page-", "limit": 2, "cursor": page["nextCursor"]})
    assert len(rest["structuredContent"]["items"]) == 1, rest


def test_process_to_completed_instance(srv):
    sid, _ = init(srv)
    xml = bpmn("mcp_flow", '<bpmn:startEvent id="s"/><bpmn:userTask id="ut" name="Check"/>'
               '<bpmn:endEvent id="e"/>' + chain("s", "ut", "e")).decode()
    p = tool(srv, sid, "create_process", {"name": "mcp-flow", "xml": xml})["structuredContent"]
    v = tool(srv, sid, "validate_process", {"processId": p["id"]})["structuredContent"]
    assert v["publishable"] is True, v
    assert not tool(srv, sid, "publish_process", {"processId": p["id"], "note": "via mcp"}).get("isError")
    ex = tool(srv, sid, "start_execution", {"processId": p["id"], "variables": {"n": 1}})["structuredContent"]
    tasks = tool(srv, sid, "list_tasks", {"status": "created"})["structuredContent"]["items"]
    mine = [t for t in tasks if t.get("processInstanceId") == ex["id"]]
    assert len(mine) == 1, tasks
    assert not tool(srv, sid, "claim_task", {"taskId": mine[0]["id"]}).get("isError")
    assert not tool(srv, sid, "respond_task", {"taskId": mine[0]["id"], "response": {"ok": True}}).get("isError")
    wait_until(lambda: tool(srv, sid, "get_execution", {"executionId": ex["id"]})["structuredContent"]["state"]
               == "completed", what="the instance completed after the task's answer")
    # the BPMN and the history as resources
    res = call(srv, sid, "resources/read", {"uri": "flowmaster://processes/%s" % p["id"]})["result"]
    assert res["contents"][0]["mimeType"] == "application/xml" and "mcp_flow" in res["contents"][0]["text"]
    res = call(srv, sid, "resources/read", {"uri": "flowmaster://executions/%s/history" % ex["id"]})["result"]
    types = [h["type"] for h in json.loads(res["contents"][0]["text"])["items"]]
    assert types[0] == "instance.started" and types[-1] == "instance.completed", types
    uris = [x["uri"] for x in call(srv, sid, "resources/list")["result"]["resources"]]
    assert "flowmaster://processes/%s" % p["id"] in uris
    tpl = call(srv, sid, "resources/templates/list")["result"]["resourceTemplates"]
    assert "flowmaster://processes/{processId}" in [t["uriTemplate"] for t in tpl]


def test_tenants_and_permissions_as_over_http(srv):
    a, _ = init(srv)
    xml = bpmn("mcp_secret", '<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>' + chain("s", "e")).decode()
    p = tool(srv, a, "create_process", {"name": "mcp-secret", "xml": xml})["structuredContent"]
    hb = srv.tenant_headers("mcpb")
    b, _ = init(srv, headers=hb)
    res = tool(srv, b, "get_process", {"processId": p["id"]}, headers=hb)
    assert res["isError"] and "404" in res["content"][0]["text"], res
    items = tool(srv, b, "list_processes", {}, headers=hb)["structuredContent"]["items"]
    assert p["id"] not in [x["id"] for x in items]
    e = call(srv, b, "resources/read", {"uri": "flowmaster://processes/%s" % p["id"]}, headers=hb)["error"]
    assert e["code"] == -32002, e
    assert p["id"] not in json.dumps(call(srv, b, "resources/list", headers=hb))
    # B's session is not A's: A's token on B's session is 404
    assert_problem(post(srv, {"jsonrpc": "2.0", "id": 1, "method": "ping"}, session=b), 404)
    # the tenant comes from the token when X-Tenant-Id is absent; another one is 403
    tok = {"Authorization": hb["Authorization"]}
    c, _ = init(srv, headers=tok)
    assert tool(srv, c, "get_process", {"processId": p["id"]}, headers=tok)["isError"]
    r = post(srv, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": LATEST}},
             headers=dict(tok, **{"X-Tenant-Id": "default"}), version=None)
    assert_problem(r, 403)
    # an operator may read processes but not create them, through MCP as over HTTP
    hv = srv.tenant_headers("default", roles=("operator",), email="mcp-operator@default.test")
    v, _ = init(srv, headers=hv)
    assert not tool(srv, v, "list_processes", {}, headers=hv).get("isError")
    res = tool(srv, v, "create_process", {"name": "nope", "xml": xml}, headers=hv)
    assert res["isError"] and "403" in res["content"][0]["text"] and "process:write" in res["content"][0]["text"], res


def test_prompts_and_completion(srv):
    sid, res = init(srv)
    assert {"prompts", "completions"} <= set(res["capabilities"])
    names = [p["name"] for p in call(srv, sid, "prompts/list")["result"]["prompts"]]
    assert names == ["explain_execution", "review_process", "draft_dmn_table"], names
    xml = bpmn("mcp_prompt", '<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>' + chain("s", "e")).decode()
    p = tool(srv, sid, "create_process", {"name": "mcp-prompt", "xml": xml})["structuredContent"]
    got = call(srv, sid, "prompts/get", {"name": "review_process", "arguments": {"processId": p["id"]}})["result"]
    assert p["id"] in got["messages"][0]["content"]["text"]
    emb = got["messages"][1]["content"]
    assert emb["type"] == "resource" and "mcp_prompt" in emb["resource"]["text"], emb
    e = call(srv, sid, "prompts/get", {"name": "review_process", "arguments": {}})["error"]
    assert e["code"] == -32602 and e["data"]["field"] == "params.arguments.processId", e
    e = call(srv, sid, "prompts/get", {"name": "review_process", "arguments": {"processId": "proc_nope"}})["error"]
    assert e["code"] == -32002, e
    comp = call(srv, sid, "completion/complete", {"ref": {"type": "ref/prompt", "name": "review_process"},
                                                  "argument": {"name": "processId", "value": p["id"][:-3]}})
    assert comp["result"]["completion"]["values"] == [p["id"]], comp
    comp = call(srv, sid, "completion/complete", {"ref": {"type": "ref/resource", "uri": "flowmaster://processes/{processId}"},
                                                  "argument": {"name": "other", "value": "x"}})
    assert comp["result"]["completion"]["values"] == [], comp
    e = call(srv, sid, "completion/complete", {"ref": {"type": "ref/x"}, "argument": {"name": "a", "value": ""}})["error"]
    assert e["data"]["field"] == "params.ref.type", e


def test_keep_alive_outlives_an_agents_think_time(srv):
    """An agent calls a tool, thinks for a second or two, calls the next on the same
    keep-alive connection. Node's fetch (the SDK's) keeps an idle connection for 4 s; with
    CivetWeb's default of 500 ms the server had closed it and the next POST failed with
    "other side closed". The server now keeps idle connections 5 s (docs/core.md)."""
    import http.client
    import time
    sid, _ = init(srv)
    h = {"Authorization": "Bearer " + srv.admin_token(), "Content-Type": "application/json",
         "Mcp-Session-Id": sid, "MCP-Protocol-Version": LATEST}
    c = http.client.HTTPConnection("127.0.0.1", srv.port(9000), timeout=10)
    try:
        for i in range(2):
            c.request("POST", "/mcp", json.dumps({"jsonrpc": "2.0", "id": i, "method": "ping"}), h)
            r = c.getresponse()
            body = r.read()
            assert r.status == 200 and json.loads(body)["id"] == i, (r.status, body)
            if i == 0:
                time.sleep(1.5)     # the think time between two calls, not a timed assertion
    finally:
        c.close()


# ---- SSE: progress, cancellation, the GET stream (resource updates, log messages) ----

class Sse:
    """An SSE reply read event by event (JSON-RPC messages; comments and empty data skipped)."""

    def __init__(self, srv, method, msg=None, session=None, timeout=20):
        token = srv.admin_token()
        self.conn = http.client.HTTPConnection("127.0.0.1", srv.port(9000), timeout=timeout)
        h = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": LATEST,
             "Authorization": "Bearer " + token, "X-Tenant-Id": "default", "Content-Type": "application/json"}
        if session:
            h["Mcp-Session-Id"] = session
        self.conn.request(method, "/mcp", body=json.dumps(msg) if msg is not None else None, headers=h)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.ctype = self.resp.getheader("Content-Type", "")

    def next(self):
        """The next JSON-RPC message, or None at the end of the stream."""
        data = []
        while True:
            line = self.resp.readline()
            if not line:
                return None
            line = line.decode().rstrip("\r\n")
            if line.startswith("data:"):
                data.append(line[5:].strip())
            elif not line and data:
                text = "".join(data)
                data = []
                if text:
                    return json.loads(text)

    def close(self):
        self.conn.close()


def start_waiting_instance(srv, sid, name):
    xml = bpmn(name, '<bpmn:startEvent id="s"/><bpmn:userTask id="ut" name="Wait"/>'
               '<bpmn:endEvent id="e"/>' + chain("s", "ut", "e")).decode()
    p = tool(srv, sid, "create_process", {"name": name, "xml": xml})["structuredContent"]
    assert not tool(srv, sid, "publish_process", {"processId": p["id"]}).get("isError")
    return p, tool(srv, sid, "start_execution", {"processId": p["id"]})["structuredContent"]


def test_progress_token_answers_with_an_sse_stream(srv):
    """A tools/call with _meta.progressToken: text/event-stream with notifications/progress
    carrying the caller's token, then the response; without a token, plain JSON."""
    sid, _ = init(srv)
    _, ex = start_waiting_instance(srv, sid, "mcp_sse_progress")
    msg = {"jsonrpc": "2.0", "id": 41, "method": "tools/call",
           "params": {"name": "wait_for_execution", "_meta": {"progressToken": "tok-1"},
                      "arguments": {"executionId": ex["id"], "timeoutSeconds": 1}}}
    s = Sse(srv, "POST", msg, session=sid)
    assert s.status == 200 and s.ctype.startswith("text/event-stream"), (s.status, s.ctype)
    got = []
    while True:
        m = s.next()
        if m is None:
            break
        got.append(m)
    s.close()
    prog = [m for m in got if m.get("method") == "notifications/progress"]
    assert prog and all(m["params"]["progressToken"] == "tok-1" for m in prog), got
    assert [m["params"]["progress"] for m in prog] == sorted(m["params"]["progress"] for m in prog)
    assert got[-1]["id"] == 41 and got[-1]["result"]["isError"] is True, got[-1]
    assert "still active" in got[-1]["result"]["content"][0]["text"]
    # a token that is neither string nor number names the field
    bad = dict(msg, params=dict(msg["params"], _meta={"progressToken": {"x": 1}}))
    e = post(srv, bad, session=sid).json["error"]
    assert e["code"] == -32602 and e["data"]["field"] == "params._meta.progressToken", e
    # the instance ends: the wait answers it (no token: application/json)
    task = [t for t in tool(srv, sid, "list_tasks", {})["structuredContent"]["items"]
            if t.get("processInstanceId") == ex["id"]][0]
    assert not tool(srv, sid, "respond_task", {"taskId": task["id"], "response": {}}).get("isError")
    res = tool(srv, sid, "wait_for_execution", {"executionId": ex["id"], "timeoutSeconds": 10})
    assert res["structuredContent"]["state"] == "completed", res
    res = tool(srv, sid, "wait_for_execution", {"executionId": "exe_nosuch", "timeoutSeconds": 1})
    assert res["isError"] and "HTTP 404" in res["content"][0]["text"], res


def test_cancelled_stops_a_running_call(srv):
    """notifications/cancelled for a running wait: it stops within a fraction of a second
    and its stream ends without a response."""
    sid, _ = init(srv)
    _, ex = start_waiting_instance(srv, sid, "mcp_sse_cancel")
    msg = {"jsonrpc": "2.0", "id": "w-1", "method": "tools/call",
           "params": {"name": "wait_for_execution", "_meta": {"progressToken": 5},
                      "arguments": {"executionId": ex["id"], "timeoutSeconds": 60}}}
    s = Sse(srv, "POST", msg, session=sid)
    first = s.next()
    assert first["method"] == "notifications/progress" and first["params"]["progressToken"] == 5, first
    t0 = time.monotonic()
    r = post(srv, {"jsonrpc": "2.0", "method": "notifications/cancelled",
                   "params": {"requestId": "w-1", "reason": "user"}}, session=sid)
    assert r.status == 202, r
    rest = []
    while True:
        m = s.next()
        if m is None:
            break
        rest.append(m)
    s.close()
    assert time.monotonic() - t0 < 5
    assert not [m for m in rest if m.get("id") == "w-1"], rest
    # a cancel for an unknown request, or of another session, changes nothing
    other, _ = init(srv)
    assert post(srv, {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 12345}},
                session=other).status == 202


def test_get_stream_carries_resource_updates_and_log_messages(srv):
    sid, _ = init(srv)
    xml = bpmn("mcp_sse_sub", '<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>' + chain("s", "e")).decode()
    p = tool(srv, sid, "create_process", {"name": "sub", "xml": xml})["structuredContent"]
    uri = "flowmaster://processes/%s" % p["id"]
    assert call(srv, sid, "resources/subscribe", {"uri": uri})["result"] == {}
    assert call(srv, sid, "logging/setLevel", {"level": "debug"})["result"] == {}
    s = Sse(srv, "GET", session=sid)
    assert s.status == 200 and s.ctype.startswith("text/event-stream"), s.status
    assert not tool(srv, sid, "publish_process", {"processId": p["id"]}).get("isError")
    seen = []
    while not any(m.get("method") == "notifications/resources/updated" for m in seen):
        m = s.next()
        assert m is not None, seen
        seen.append(m)
    upd = [m for m in seen if m.get("method") == "notifications/resources/updated"][0]
    assert upd["params"]["uri"] == uri, upd
    logs = [m for m in seen if m.get("method") == "notifications/message"]
    assert logs and logs[0]["params"]["level"] == "debug" and "publish_process" in logs[0]["params"]["data"], seen
    # unsubscribed: the next publish says nothing (a log line at warning does come)
    assert call(srv, sid, "resources/unsubscribe", {"uri": uri})["result"] == {}
    assert call(srv, sid, "logging/setLevel", {"level": "warning"})["result"] == {}
    assert tool(srv, sid, "get_process", {"processId": "proc_nosuch"})["isError"]
    m = s.next()
    assert m["method"] == "notifications/message" and m["params"]["level"] == "warning", m
    # a second GET of the session replaces the first, whose stream ends
    s2 = Sse(srv, "GET", session=sid)
    assert s2.status == 200
    assert s.next() is None
    s.close()
    # DELETE ends the session and its stream
    assert srv.req("DELETE", 9000, "/mcp", headers={"Mcp-Session-Id": sid}).status == 204
    assert s2.next() is None
    s2.close()
    # subscriptions are bounded per session
    sid, _ = init(srv)
    for i in range(64):
        assert "result" in call(srv, sid, "resources/subscribe", {"uri": "flowmaster://processes/p%d" % i})
    e = call(srv, sid, "resources/subscribe", {"uri": "flowmaster://processes/one-more"})["error"]
    assert e["code"] == -32600 and "64" in e["message"], e
    e = call(srv, sid, "resources/subscribe", {"uri": "x" * 600})["error"]
    assert e["code"] == -32602 and e["data"]["field"] == "params.uri", e


def test_get_streams_are_bounded(srv):
    """At most 32 GET streams in all (each holds a worker): the 33rd is 503 with Retry-After."""
    streams = []
    try:
        for i in range(32):
            sid, _ = init(srv)
            s = Sse(srv, "GET", session=sid)
            assert s.status == 200, (i, s.status)
            streams.append(s)
        sid, _ = init(srv)
        r = srv.req("GET", 9000, "/mcp", headers={"Mcp-Session-Id": sid, "Accept": "text/event-stream",
                                                  "MCP-Protocol-Version": LATEST})
        assert_problem(r, 503, "Service Unavailable")
        assert r.headers.get("retry-after"), r
    finally:
        for s in streams:
            s.close()


# ---- OAuth the MCP way: RFC 8414 metadata, RFC 7591 registration, RFC 8707 audience ----

REDIRECT = "http://127.0.0.1:9/cb"


def register(srv, meta):
    return http_request(srv.port(8002), "POST", "/sso/register", body=meta)


def code_flow(srv, client_id, resource):
    """Authorization code + PKCE as a browser and a client would do it; the token answer."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    q = {"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT, "scope": "openid",
         "state": "s1", "code_challenge": challenge, "code_challenge_method": "S256"}
    if resource:
        q["resource"] = resource
    page = http_request(srv.port(8002), "GET", "/sso/authorize?" + urllib.parse.urlencode(q))
    assert page.status == 200, page
    fields = {k: html.unescape(v) for k, v in
              re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text)}
    cookie = page.headers.get("set-cookie", "").split(";")[0]
    fields.update(email=ADMIN_EMAIL, password=ADMIN_PASSWORD, tenant="default")
    conn = http.client.HTTPConnection("127.0.0.1", srv.port(8002), timeout=10)
    conn.request("POST", "/sso/authorize", body=urllib.parse.urlencode(fields),
                 headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    r = conn.getresponse()
    r.read()
    loc = r.getheader("Location") or ""
    conn.close()
    assert r.status in (302, 303) and loc.startswith(REDIRECT), (r.status, loc)
    code = urllib.parse.parse_qs(urllib.parse.urlparse(loc).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": client_id,
            "code_verifier": verifier}
    if resource:
        form["resource"] = resource
    return token_request(srv, form)


def token_request(srv, form):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port(8002), timeout=10)
    conn.request("POST", "/sso/token", body=urllib.parse.urlencode(form),
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    r = conn.getresponse()
    out = (r.status, json.loads(r.read() or b"{}"))
    conn.close()
    return out


def claims(token):
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_authorization_server_metadata_and_registration(srv):
    meta = http_request(srv.port(8002), "GET", "/.well-known/oauth-authorization-server")
    assert meta.status == 200, meta
    oidc = http_request(srv.port(8002), "GET", "/.well-known/openid-configuration").json
    m = meta.json
    assert m["issuer"] == oidc["issuer"] and m["registration_endpoint"] == oidc["registration_endpoint"]
    assert m["registration_endpoint"].endswith("/sso/register") and m["code_challenge_methods_supported"] == ["S256"]
    assert "none" in m["token_endpoint_auth_methods_supported"] and "userinfo_endpoint" not in m
    r = register(srv, {"client_name": "agent", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none",
                       "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"]})
    assert r.status == 201 and r.json["client_id"].startswith("cli_"), r
    assert r.json["token_endpoint_auth_method"] == "none" and r.json["redirect_uris"] == [REDIRECT]
    assert "client_secret" not in r.json
    # the platform's admin sees it among the clients
    got = srv.req("GET", 8002, "/sso/clients/%s" % r.json["client_id"])
    assert got.status == 200 and got.json["confidential"] is False, got
    # bad metadata: RFC 7591 errors, nothing stored
    before = srv.req("GET", 8002, "/sso/clients").json["total"]
    for meta_, err, word in (
            ({}, "invalid_redirect_uri", "redirect_uris"),
            ({"redirect_uris": []}, "invalid_redirect_uri", "1 to 5"),
            ({"redirect_uris": [REDIRECT] * 6}, "invalid_redirect_uri", "1 to 5"),
            ({"redirect_uris": ["http://evil.example/cb"]}, "invalid_redirect_uri", "redirect_uris[0]"),
            ({"redirect_uris": ["https://ok.example/cb#frag"]}, "invalid_redirect_uri", "redirect_uris[0]"),
            ({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_basic"},
             "invalid_client_metadata", "public clients only"),
            ({"redirect_uris": [REDIRECT], "grant_types": ["client_credentials"]}, "invalid_client_metadata",
             "grant_types"),
            ({"redirect_uris": [REDIRECT], "client_name": "x" * 129}, "invalid_client_metadata", "client_name")):
        r = register(srv, meta_)
        assert r.status == 400 and r.json["error"] == err and word in r.json["error_description"], (meta_, r)
    r = http_request(srv.port(8002), "POST", "/sso/register", raw=None, body="[1, 2]")
    assert r.status == 400 and r.json["error"] == "invalid_client_metadata", r
    assert srv.req("GET", 8002, "/sso/clients").json["total"] == before


def test_resource_indicator_puts_mcp_in_the_audience(srv):
    mcp = "http://127.0.0.1:%d/mcp" % srv.port(9000)
    cid = register(srv, {"redirect_uris": [REDIRECT]}).json["client_id"]
    status, tok = code_flow(srv, cid, mcp)
    assert status == 200, tok
    assert claims(tok["access_token"])["aud"] == ["flowmaster", mcp]
    h = {"Authorization": "Bearer " + tok["access_token"]}
    sid, _ = init(srv, headers=h)
    assert "tools" in call(srv, sid, "tools/list", headers=h)["result"]
    # the refresh grant keeps the resource when asked again
    status, ref = token_request(srv, {"grant_type": "refresh_token", "refresh_token": tok["refresh_token"],
                                      "client_id": cid, "resource": mcp})
    assert status == 200 and claims(ref["access_token"])["aud"] == ["flowmaster", mcp], ref
    # a resource that is not ours: invalid_target, at the token endpoint and on the redirect
    status, e = token_request(srv, {"grant_type": "refresh_token", "refresh_token": ref["refresh_token"],
                                    "client_id": cid, "resource": "https://other.example/mcp"})
    assert status == 400 and e["error"] == "invalid_target", e
    q = {"response_type": "code", "client_id": cid, "redirect_uri": REDIRECT, "scope": "openid",
         "code_challenge": "a" * 43, "code_challenge_method": "S256", "resource": "https://other.example/mcp"}
    r = http_request(srv.port(8002), "GET", "/sso/authorize?" + urllib.parse.urlencode(q))
    assert r.status in (302, 303) and "error=invalid_target" in r.headers.get("location", ""), r
    # without a resource: a platform token, as before
    status, plain = code_flow(srv, cid, None)
    assert status == 200 and claims(plain["access_token"])["aud"] == "flowmaster", plain


def test_mcp_refuses_a_token_for_another_resource():
    """A token issued for the MCP server at another address (same keys and issuer: the
    same data directory served again on other ports) is 401 at /mcp with
    WWW-Authenticate error="invalid_token"; the platform API still takes it."""
    env = {"FLOWMASTER_AUTH_ISSUER": "https://issuer.flowmaster.test"}
    a = Server(env=env)
    try:
        mcp_a = "http://127.0.0.1:%d/mcp" % a.port(9000)
        cid = register(a, {"redirect_uris": [REDIRECT]}).json["client_id"]
        status, tok = code_flow(a, cid, mcp_a)
        assert status == 200, tok
        a.stop()
        assert not os.path.exists(os.path.join(a.data_dir, "serve.json"))     # gone after a clean stop
        b = Server(env=env, data_dir=a.data_dir)
        assert b.offset != a.offset
        h = {"Authorization": "Bearer " + tok["access_token"]}
        r = post(b, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": LATEST}},
                 headers=h, version=None)
        assert_problem(r, 401, "Unauthorized")
        assert 'error="invalid_token"' in r.headers["www-authenticate"] and mcp_a in r.json["detail"], r
        assert "resource_metadata=" in r.headers["www-authenticate"]
        assert b.req("GET", 9003, "/processes", headers=dict(h, **{"X-Tenant-Id": "default"})).status == 200
        b.stop()
    finally:
        a.stop()


# ---- the tools of the Event Bus, Scheduling, Process Views and Analytics ----

def test_event_schedule_view_and_analytics_tools(srv):
    sid, _ = init(srv)
    names = [t["name"] for t in call(srv, sid, "tools/list")["result"]["tools"]]
    for n in ("publish_event", "replay_events", "list_schedules", "create_schedule", "trigger_schedule",
              "render_process_svg", "process_metrics", "process_bottlenecks", "wait_for_execution"):
        assert n in names, (n, names)
    # events: publish, then replay from its offset
    ev = tool(srv, sid, "publish_event", {"type": "mcp.test.done", "source": "/tests/mcp", "subject": "s-1",
                                          "data": {"n": 7}})
    assert not ev.get("isError"), ev
    off = ev["structuredContent"]["offset"]
    rep = tool(srv, sid, "replay_events", {"offset": off, "types": "mcp.test.*"})["structuredContent"]
    assert [e["data"] for e in rep["items"]] == [{"n": 7}], rep
    bad = tool(srv, sid, "publish_event", {"type": "no spaces allowed", "source": "/x"})
    assert bad["isError"] and "HTTP 4" in bad["content"][0]["text"], bad
    # another tenant replays nothing of ours
    other = srv.tenant_headers("mcp-tools-b", roles=("admin",))
    sid_b, _ = init(srv, headers=other)
    rep_b = tool(srv, sid_b, "replay_events", {"types": "mcp.test.*"}, headers=other)["structuredContent"]
    assert rep_b["items"] == [], rep_b
    # a process to draw, measure and schedule
    xml = bpmn("mcp_tools_p", '<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>' + chain("s", "e")).decode()
    p = tool(srv, sid, "create_process", {"name": "tools", "xml": xml})["structuredContent"]
    assert not tool(srv, sid, "publish_process", {"processId": p["id"]}).get("isError")
    img = tool(srv, sid, "render_process_svg", {"processId": p["id"], "highlight": "s:3"})
    c = img["content"][0]
    assert c["type"] == "image" and c["mimeType"] == "image/svg+xml", img
    svg = base64.b64decode(c["data"]).decode()
    assert svg.startswith("<svg") or "<svg" in svg[:200], svg[:200]
    assert img["structuredContent"]["bytes"] == len(svg.encode())
    missing = tool(srv, sid, "render_process_svg", {"processId": "proc_nosuch"})
    assert missing["isError"] and "HTTP 404" in missing["content"][0]["text"], missing
    # schedules: create (process action), list, run now
    sc = tool(srv, sid, "create_schedule", {"name": "mcp nightly", "cron": "30 2 * * *",
                                            "action": {"kind": "process", "processId": p["id"]}})
    assert not sc.get("isError"), sc
    sched = sc["structuredContent"]
    listed = tool(srv, sid, "list_schedules", {"actionKind": "process"})["structuredContent"]["items"]
    assert sched["id"] in [x["id"] for x in listed], listed
    run = tool(srv, sid, "trigger_schedule", {"scheduleId": sched["id"]})
    assert not run.get("isError") and run["structuredContent"]["trigger"] == "manual", run
    bad = tool(srv, sid, "create_schedule", {"name": "x", "action": {"kind": "process", "processId": p["id"]}})
    assert bad["isError"] and "HTTP 422" in bad["content"][0]["text"], bad    # no cron/interval/at
    # analytics of the process (the instance the schedule started)
    m = tool(srv, sid, "process_metrics", {"processId": p["id"]})
    assert not m.get("isError") and "instances" in m["structuredContent"], m
    b = tool(srv, sid, "process_bottlenecks", {"processId": p["id"], "limit": 5})
    assert not b.get("isError"), b
    e = tool(srv, sid, "process_metrics", {"processId": p["id"], "period": "year"})
    assert e["isError"] and "period" in e["content"][0]["text"], e
