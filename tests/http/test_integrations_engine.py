"""Connector tasks the engine runs itself (docs/integrations.md "Connectors in
processes"): Camunda's REST connector `io.camunda:http-json:1` written as Camunda
Modeler's element template writes it (each auth kind, resultVariable/resultExpression,
errorExpression, failure -> retries -> incident, publish warnings for inputs not
honoured) and `type="integration"` naming a stored connector (bearer, OAuth with its
token cache, the call log, tenant isolation, unknown connectors). Everything talks to a
local receiver started here."""

import base64
import json
import os
import re
import threading
import http.server
import urllib.parse

from harness import bind_low, Server, assert_json, unique_name, wait_until
from exec_support import bpmn, chain, deploy, get, start, wait_for, wait_state, waiting

TOKEN = "bearer-SECRET-e1e1e1"
PASSWORD = "pw-SECRET-a2a2a2"
CLIENT_SECRET = "client-SECRET-b3b3b3"


class Receiver:
    """Records every request. /echo answers {method, path, query, headers, body};
    /status/N answers N; /oauth/token issues tokens (client credentials in the body or as
    HTTP Basic); /oauth/api wants the last token issued."""

    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        self.tokens = 0
        self.valid = None
        self.gate_closed = True
        rec = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Answer", "yes")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n).decode() if n else ""
                u = urllib.parse.urlsplit(self.path)
                e = {"method": self.command, "path": u.path, "query": dict(urllib.parse.parse_qsl(u.query)),
                     "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                with rec.lock:
                    rec.requests.append(e)
                if u.path == "/oauth/token":
                    form = dict(urllib.parse.parse_qsl(body))
                    basic = self.headers.get("Authorization", "")
                    creds = (form.get("client_id"), form.get("client_secret"))
                    if basic.startswith("Basic "):
                        creds = tuple(base64.b64decode(basic[6:]).decode().split(":", 1))
                    if creds != ("app", CLIENT_SECRET) or form.get("grant_type") != "client_credentials":
                        return self._answer(401, {"error": "invalid_client"})
                    with rec.lock:
                        rec.tokens += 1
                        rec.valid = "tok-%d" % rec.tokens
                        tok = rec.valid
                    return self._answer(200, {"access_token": tok, "token_type": "Bearer", "expires_in": 3600})
                if u.path == "/oauth/api":
                    if self.headers.get("Authorization") != "Bearer %s" % rec.valid:
                        return self._answer(401, {"error": "invalid_token"})
                    return self._answer(200, {"ok": True, "token": rec.valid})
                if u.path == "/gate":
                    return self._answer(503 if rec.gate_closed else 200, {"open": not rec.gate_closed})
                m = re.match(r"^/status/(\d{3})$", u.path)
                if m:
                    return self._answer(int(m.group(1)), {"failed": True, "status": int(m.group(1))})
                return self._answer(200, e)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

        self.httpd = bind_low(lambda a: http.server.ThreadingHTTPServer(a, H))
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def hits(self, path):
        with self.lock:
            return [r for r in self.requests if r["path"] == path]


_RECV = []


def recv():
    if not _RECV:
        _RECV.append(Receiver())
    return _RECV[0]


def esc(s):
    return s.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def rest_task(inputs, headers=None, retries=3, tid="rest"):
    """A serviceTask as Camunda Modeler writes it with the REST Outbound Connector
    template applied: zeebe:modelerTemplate attributes, the hidden task type, inputs
    (static values without '=', FEEL with '='), the template's task headers."""
    ins = "".join('<zeebe:input source="%s" target="%s" />' % (esc(src), tgt) for src, tgt in inputs)
    hs = [("elementTemplateVersion", "10"), ("elementTemplateId", "io.camunda.connectors.HttpJson.v2")]
    hs += list(headers or [])
    hdrs = "".join('<zeebe:header key="%s" value="%s" />' % (k, esc(v)) for k, v in hs)
    return ('<bpmn:serviceTask id="%s" name="REST call" zeebe:modelerTemplate="io.camunda.connectors.HttpJson.v2" '
            'zeebe:modelerTemplateVersion="10"><bpmn:extensionElements>'
            '<zeebe:taskDefinition type="io.camunda:http-json:1" retries="%d" />'
            '<zeebe:ioMapping>%s</zeebe:ioMapping><zeebe:taskHeaders>%s</zeebe:taskHeaders>'
            '</bpmn:extensionElements></bpmn:serviceTask>' % (tid, retries, ins, hdrs))


def integ_task(connector, headers=(), inputs=(), retries=3, tid="call"):
    ins = "".join('<zeebe:input source="%s" target="%s" />' % (esc(src), tgt) for src, tgt in inputs)
    hs = ([("connector", connector)] if connector is not None else []) + list(headers)
    hdrs = "".join('<zeebe:header key="%s" value="%s" />' % (k, esc(v)) for k, v in hs)
    return ('<bpmn:serviceTask id="%s"><bpmn:extensionElements>'
            '<zeebe:taskDefinition type="integration" retries="%d" />'
            '<zeebe:ioMapping>%s</zeebe:ioMapping><zeebe:taskHeaders>%s</zeebe:taskHeaders>'
            '</bpmn:extensionElements></bpmn:serviceTask>' % (tid, retries, ins, hdrs))


def process(srv, task, tid, headers=None):
    pid = unique_name("conn")
    xml = bpmn(pid, '<bpmn:startEvent id="s"/>%s<bpmn:endEvent id="e"/>%s' % (task, chain("s", tid, "e")))
    deploy(srv, xml, headers=headers)
    return pid


def run(srv, task, tid, variables=None, headers=None):
    """Deploys, starts, waits until completed; returns the instance."""
    pid = process(srv, task, tid, headers)
    inst = start(srv, pid, variables or {}, headers=headers)
    return wait_state(srv, inst["id"], "completed", headers=headers)


def wait_incident(srv, eid, element, headers=None):
    inst = wait_for(srv, eid, lambda i: waiting(i, element, "incident"), headers=headers,
                    what="an incident at %s" % element)
    incs = assert_json(srv.get(9005, "/incidents?executionId=%s" % eid, headers=headers))["items"]
    assert incs, inst
    return inst, incs[0]


# ---- the Camunda REST connector ----

def test_rest_connector_no_auth_result_variable_and_expression(srv):
    rv = recv()
    task = rest_task([("noAuth", "authentication.type"), ("POST", "method"),
                      ("=\"%s/echo/\" + orderId" % rv.url, "url"),
                      ("={\"X-Order\": orderId, \"X-Count\": 2}", "headers"),
                      ("={page: \"1\", q: \"a b\"}", "queryParameters"),
                      ("={order: orderId, items: [1, 2]}", "body"),
                      ("20", "connectionTimeoutInSeconds"), ("20", "readTimeoutInSeconds")],
                     [("resultVariable", "restResult"),
                      ("resultExpression", "={echoedPath: response.body.path, code: status}"),
                      ("retryBackoff", "PT0S")])
    inst = run(srv, task, "rest", {"orderId": "o-17"})
    v = inst["variables"]
    assert v["restResult"]["status"] == 200, v
    assert v["restResult"]["headers"]["x-answer"] == "yes", v
    got = v["restResult"]["body"]
    assert got["method"] == "POST" and got["path"] == "/echo/o-17", got
    assert got["query"] == {"page": "1", "q": "a b"}, got
    assert got["headers"]["x-order"] == "o-17" and got["headers"]["x-count"] == "2", got
    assert "authorization" not in got["headers"], got
    assert got["headers"]["content-type"] == "application/json", got
    assert json.loads(got["body"]) == {"order": "o-17", "items": [1, 2]}, got
    assert v["echoedPath"] == "/echo/o-17" and v["code"] == 200, v
    # the inputs stay local to the task
    assert "url" not in v and "authentication.type" not in v, v


def test_rest_connector_basic_and_bearer_auth(srv):
    rv = recv()
    basic = rest_task([("basic", "authentication.type"), ("ops", "authentication.username"),
                       ("=pw", "authentication.password"), ("GET", "method"), (rv.url + "/echo", "url")],
                      [("resultExpression", "={auth: response.body.headers.authorization}")])
    inst = run(srv, basic, "rest", {"pw": PASSWORD})
    assert inst["variables"]["auth"] == "Basic " + base64.b64encode(("ops:" + PASSWORD).encode()).decode()
    bearer = rest_task([("bearer", "authentication.type"), (TOKEN, "authentication.token"),
                        ("GET", "method"), (rv.url + "/echo", "url")],
                       [("resultExpression", "={auth: body.headers.authorization}")])
    inst = run(srv, bearer, "rest")
    assert inst["variables"]["auth"] == "Bearer " + TOKEN, inst["variables"]


def test_rest_connector_oauth_client_credentials(srv):
    rv = recv()
    before = rv.tokens
    for how in ("basicAuthHeader", "credentialsBody"):
        task = rest_task([("oauth-client-credentials-flow", "authentication.type"),
                          (rv.url + "/oauth/token", "authentication.oauthTokenEndpoint"),
                          ("app", "authentication.clientId"), (CLIENT_SECRET, "authentication.clientSecret"),
                          ("read write", "authentication.scopes"), (how, "authentication.clientAuthentication"),
                          ("GET", "method"), (rv.url + "/oauth/api", "url")],
                         [("resultVariable", "r")])
        inst = run(srv, task, "rest")
        assert inst["variables"]["r"]["body"]["ok"] is True, inst["variables"]
    token_calls = rv.hits("/oauth/token")[-2:]
    assert token_calls[0]["headers"]["authorization"].startswith("Basic "), token_calls[0]
    assert "client_secret" not in token_calls[0]["body"], token_calls[0]
    assert "client_secret=" + CLIENT_SECRET in token_calls[1]["body"], token_calls[1]
    assert "scope=read+write" in token_calls[1]["body"] or "scope=read%20write" in token_calls[1]["body"]
    assert rv.tokens == before + 2


def test_rest_connector_failure_retries_then_incident_and_error_expression(srv):
    rv = recv()
    n0 = len(rv.hits("/status/503"))
    task = rest_task([("noAuth", "authentication.type"), ("GET", "method"), (rv.url + "/status/503", "url")],
                     [("retryBackoff", "PT0S")], retries=3)
    pid = process(srv, task, "rest")
    inst = start(srv, pid, {})
    inst, inc = wait_incident(srv, inst["id"], "rest")
    assert len(rv.hits("/status/503")) - n0 == 3, "three attempts (retries=3)"
    assert "HTTP 503" in inc["message"] and "no retries left" in inc["message"], inc
    assert inst["state"] == "active" and inst["incidents"] == 1, inst
    # errorExpression: a 404 becomes a BPMN error caught by a boundary event
    pid = unique_name("conn")
    task = rest_task([("noAuth", "authentication.type"), ("GET", "method"), (rv.url + "/status/404", "url")],
                     [("errorExpression", '=if error != null and error.code = "404" then '
                       'bpmnError("NOT_FOUND", "no such thing", {lookedFor: "x"}) else null')])
    xml = bpmn(pid, '<bpmn:startEvent id="s"/>%s'
               '<bpmn:boundaryEvent id="b" attachedToRef="rest"><bpmn:errorEventDefinition errorRef="err"/>'
               '</bpmn:boundaryEvent><bpmn:endEvent id="e"/><bpmn:endEvent id="e2"/>%s%s'
               % (task, chain("s", "rest", "e"), chain("b", "e2")),
               defs_extra='<bpmn:error id="err" errorCode="NOT_FOUND"/>')
    deploy(srv, xml)
    done = wait_state(srv, start(srv, pid, {})["id"], "completed")
    assert done["variables"].get("lookedFor") == "x", done["variables"]
    # jobError on a 200: the job fails with that message (no retries left -> incident)
    task = rest_task([("noAuth", "authentication.type"), ("GET", "method"), (rv.url + "/echo", "url")],
                     [("errorExpression", '=if response.status = 200 then jobError("refused by rule") else null')],
                     retries=1)
    pid = process(srv, task, "rest")
    _, inc = wait_incident(srv, start(srv, pid, {})["id"], "rest")
    assert "refused by rule" in inc["message"], inc


def test_rest_connector_timeout_is_a_failure(srv):
    """A receiver that never answers: readTimeoutInSeconds=1 ends the call; with
    retries=1 the timeout is the incident's message."""
    import socket
    s = socket.socket()
    bind_low(s.bind)
    s.listen(8)    # accepts connections, never answers
    try:
        url = "http://127.0.0.1:%d/hang" % s.getsockname()[1]
        task = rest_task([("noAuth", "authentication.type"), ("GET", "method"), (url, "url"),
                          ("1", "connectionTimeoutInSeconds"), ("1", "readTimeoutInSeconds")], retries=1)
        pid = process(srv, task, "rest")
        _, inc = wait_incident(srv, start(srv, pid, {})["id"], "rest")
        assert "timed out" in inc["message"].lower() or "timeout" in inc["message"].lower(), inc
    finally:
        s.close()


def test_rest_connector_publish_warnings_and_refusals(srv):
    rv = recv()
    task = rest_task([("noAuth", "authentication.type"), ("GET", "method"), (rv.url + "/echo", "url"),
                      ("true", "storeResponse"), ("{{secrets.API_TOKEN}}", "authentication.token")],
                     [("resultVariable", "r"), ("fancyHeader", "x")])
    pid = unique_name("conn")
    xml = bpmn(pid, '<bpmn:startEvent id="s"/>%s<bpmn:endEvent id="e"/>%s' % (task, chain("s", "rest", "e")))
    r = srv.req("POST", 9003, "/processes", body=xml, headers={"Content-Type": "application/xml"})
    p = assert_json(r, 201)
    msgs = [w["message"] for w in p["warnings"] if w["code"] == "connector-not-honoured"]
    assert any("'storeResponse'" in m for m in msgs), p["warnings"]
    assert any("'fancyHeader'" in m for m in msgs), p["warnings"]
    assert any("Camunda secret" in m for m in msgs), p["warnings"]
    assert not any("'url'" in m or "'elementTemplateVersion'" in m for m in msgs), msgs
    # a Camunda secret is never sent as the literal placeholder: an incident says why
    assert srv.req("POST", 9003, "/processes/%s/publish" % p["id"], body={}).status == 201
    n0 = len(rv.hits("/echo"))
    _, inc = wait_incident(srv, start(srv, pid, {})["id"], "rest")
    assert "{{secrets" in inc["message"] and "type=\"integration\"" in inc["message"], inc
    assert len(rv.hits("/echo")) == n0
    # no url input: a warning at publish, an incident when it runs
    task = rest_task([("noAuth", "authentication.type"), ("GET", "method")], retries=1)
    pid = unique_name("conn")
    xml = bpmn(pid, '<bpmn:startEvent id="s"/>%s<bpmn:endEvent id="e"/>%s' % (task, chain("s", "rest", "e")))
    p = assert_json(srv.req("POST", 9003, "/processes", body=xml, headers={"Content-Type": "application/xml"}), 201)
    assert [w for w in p["warnings"] if w["code"] == "connector-no-url"], p["warnings"]
    assert srv.req("POST", 9003, "/processes/%s/publish" % p["id"], body={}).status == 201
    _, inc = wait_incident(srv, start(srv, pid, {})["id"], "rest")
    assert "input 'url' is missing" in inc["message"], inc
    # an unsupported authentication type: an incident, nothing sent
    task = rest_task([("digest", "authentication.type"), ("GET", "method"), (rv.url + "/echo", "url")])
    pid = process(srv, task, "rest")
    _, inc = wait_incident(srv, start(srv, pid, {})["id"], "rest")
    assert "authentication.type 'digest' is not supported" in inc["message"], inc
    assert len(rv.hits("/echo")) == n0


# ---- type="integration": stored connectors ----

def connector(srv, tenant=None, **kw):
    body = {"name": unique_name("c"), "baseUrl": recv().url}
    body.update(kw)
    return assert_json(srv.req("POST", 9015, "/integrations", body=body, headers=tenant), 201)


def test_integration_task_with_bearer_connector_and_call_log(srv):
    c = connector(srv, auth={"type": "bearer", "token": TOKEN}, headers={"X-Default": "d"})
    task = integ_task(c["name"], [("method", "PUT"), ("path", "/echo/items"), ("resultVariable", "res"),
                                  ("resultExpression", "={sentBody: response.body.body}")],
                      [("={id: itemId}", "query"), ("={\"X-Item\": itemId}", "headers"),
                       ("={name: \"widget\"}", "body")])
    inst = run(srv, task, "call", {"itemId": "i-9"})
    got = inst["variables"]["res"]["body"]
    assert got["method"] == "PUT" and got["path"] == "/echo/items" and got["query"] == {"id": "i-9"}, got
    assert got["headers"]["authorization"] == "Bearer " + TOKEN, got
    assert got["headers"]["x-item"] == "i-9" and got["headers"]["x-default"] == "d", got
    assert json.loads(inst["variables"]["sentBody"]) == {"name": "widget"}, inst["variables"]
    # by id as well; the call log names the job, never the token
    task = integ_task(c["id"], [("path", "/echo"), ("resultVariable", "res")])
    run(srv, task, "call")
    calls = assert_json(srv.get(9015, "/integrations/%s/calls" % c["id"]))["items"]
    assert len(calls) == 2, calls
    assert all(x.get("origin", "").startswith("exe_") and "/job_" in x["origin"] for x in calls), calls
    assert TOKEN not in json.dumps(calls) and "Bearer ***" in calls[0]["responseBody"], calls


def test_integration_task_with_oauth_connector_uses_the_token_cache(srv):
    rv = recv()
    c = connector(srv, auth={"type": "oauth2", "tokenUrl": rv.url + "/oauth/token", "clientId": "app",
                             "clientSecret": CLIENT_SECRET})
    before = rv.tokens
    task = integ_task(c["name"], [("path", "/oauth/api"), ("resultExpression", "={ok: response.body.ok}")])
    for _ in range(3):
        assert run(srv, task, "call")["variables"]["ok"] is True
    assert rv.tokens == before + 1, "one token for three calls (cached)"
    # the same cache as POST /integrations/{id}/execute
    r = assert_json(srv.req("POST", 9015, "/integrations/%s/execute" % c["id"], body={"path": "/oauth/api"}))
    assert r["status"] == 200 and rv.tokens == before + 1, r
    # a token revoked early: one fresh token, the call succeeds
    with rv.lock:
        rv.valid = "revoked"
    assert run(srv, task, "call")["variables"]["ok"] is True
    assert rv.tokens == before + 2


def test_integration_task_failure_retries_then_incident(srv):
    rv = recv()
    c = connector(srv)
    n0 = len(rv.hits("/status/500"))
    task = integ_task(c["id"], [("path", "/status/500"), ("retryBackoff", "PT0.1S")], retries=2)
    pid = process(srv, task, "call")
    _, inc = wait_incident(srv, start(srv, pid, {})["id"], "call")
    assert len(rv.hits("/status/500")) - n0 == 2, "two attempts (retries=2)"
    assert "HTTP 500" in inc["message"], inc
    calls = assert_json(srv.get(9015, "/integrations/%s/calls" % c["id"]))["items"]
    assert [x["status"] for x in calls] == [500, 500], calls


def test_integration_task_tenant_isolation_and_unknown_connector():
    with Server(env={"FLOWMASTER_INTEGRATIONS_ALLOW_PRIVATE": "true"}) as s:
        rv = recv()
        a, b = s.tenant_headers("tenant-a"), s.tenant_headers("tenant-b")
        ca = connector(s, tenant=a)
        n0 = len(rv.hits("/echo"))
        # tenant B names A's connector, by name and by id: an incident, nothing sent
        for ref in (ca["name"], ca["id"]):
            pid = process(s, integ_task(ref, [("path", "/echo")]), "call", headers=b)
            _, inc = wait_incident(s, start(s, pid, {}, headers=b)["id"], "call", headers=b)
            assert "no stored connector '%s'" % ref in inc["message"] and "in this tenant" in inc["message"], inc
        assert len(rv.hits("/echo")) == n0
        # tenant A reaches it (private addresses allowed by config here)
        inst = run(s, integ_task(ca["name"], [("path", "/echo"), ("resultVariable", "r")]), "call", headers=a)
        assert inst["variables"]["r"]["status"] == 200
        assert len(rv.hits("/echo")) == n0 + 1


def test_integration_task_private_address_policy_and_bad_models(srv):
    rv = recv()
    h = srv.tenant_headers("acme")
    c = connector(srv, tenant=h)
    n0 = len(rv.hits("/echo"))
    pid = process(srv, integ_task(c["id"], [("path", "/echo")], retries=1), "call", headers=h)
    _, inc = wait_incident(srv, start(srv, pid, {}, headers=h)["id"], "call", headers=h)
    assert "loopback, private or link-local" in inc["message"], inc
    assert len(rv.hits("/echo")) == n0
    # no connector header: refused at publish with the reason
    pid = unique_name("conn")
    xml = bpmn(pid, '<bpmn:startEvent id="s"/>%s<bpmn:endEvent id="e"/>%s'
               % (integ_task(None, [("path", "/echo")]), chain("s", "call", "e")))
    p = assert_json(srv.req("POST", 9003, "/processes", body=xml, headers={"Content-Type": "application/xml"}), 201)
    r = srv.req("POST", 9003, "/processes/%s/publish" % p["id"], body={})
    assert r.status == 422, r
    assert any('zeebe:header key="connector"' in e["message"] for e in r.json["errors"]), r.json
    # an unknown connector: an incident naming it
    pid = process(srv, integ_task("no-such-connector", [("path", "/echo")]), "call")
    _, inc = wait_incident(srv, start(srv, pid, {})["id"], "call")
    assert "no stored connector 'no-such-connector'" in inc["message"], inc


def test_docs_example_model(srv):
    """The Camunda Modeler model of docs/integrations.md, as written there (the
    receiver's address in place of 127.0.0.1:8080)."""
    from harness import REPO
    with open(os.path.join(REPO, "docs", "integrations.md"), encoding="utf-8") as f:
        doc = f.read()
    at = doc.index("`test_docs_example_model`")
    xml = doc[doc.index("```xml\n", at) + 7:doc.index("```", doc.index("```xml\n", at) + 7)]
    rv = recv()
    xml = xml.replace("http://127.0.0.1:8080", rv.url)
    r = srv.req("POST", 9003, "/processes", body=xml.encode(), headers={"Content-Type": "application/xml"})
    p = assert_json(r, 201)
    assert not [w for w in p.get("warnings", []) if w["code"] == "connector-not-honoured"], p["warnings"]
    assert srv.req("POST", 9003, "/processes/%s/publish" % p["id"], body={}).status == 201
    inst = start(srv, "order_lookup", {"orderId": "o-1", "apiToken": TOKEN})
    v = wait_state(srv, inst["id"], "completed")["variables"]
    assert v["orderPath"] == "/orders/o-1" and v["orderStatus"] == 200, v
    sent = v["orderResponse"]["body"]
    assert sent["headers"]["authorization"] == "Bearer " + TOKEN and sent["headers"]["x-request-id"] == "o-1", sent
    assert sent["query"] == {"fields": "status,total"}, sent


def test_rest_connector_private_address_policy(srv):
    """A tenant other than the operator's may not reach loopback through the REST
    connector either (the same [integrations] allow_private rule as stored connectors)."""
    rv = recv()
    h = srv.tenant_headers("acme")
    n0 = len(rv.hits("/echo"))
    task = rest_task([("noAuth", "authentication.type"), ("GET", "method"), (rv.url + "/echo", "url")], retries=1)
    pid = process(srv, task, "rest", headers=h)
    _, inc = wait_incident(srv, start(srv, pid, {}, headers=h)["id"], "rest", headers=h)
    assert "loopback, private or link-local" in inc["message"], inc
    assert len(rv.hits("/echo")) == n0


def test_connector_job_left_activatable_runs_again_at_start():
    """A REST connector job that failed once and waits out a long retryBackoff when the
    server stops is sent again when it starts (as type="http" jobs are)."""
    import shutil
    import tempfile
    rv = recv()
    path = tempfile.mkdtemp(prefix="fm-integ-engine-")
    try:
        with Server(data_dir=path) as s:
            task = rest_task([("noAuth", "authentication.type"), ("GET", "method"), (rv.url + "/gate", "url")],
                             [("retryBackoff", "PT1H"), ("resultVariable", "r")])
            pid = process(s, task, "rest")
            n0 = len(rv.hits("/gate"))
            eid = start(s, pid, {})["id"]
            # answered 503: the job waits an hour (or, stopped before the answer was
            # recorded, still holds all its retries); either way it is left activatable
            wait_until(lambda: len(rv.hits("/gate")) > n0, what="the first attempt")
        rv.gate_closed = False
        with Server(data_dir=path) as s:
            inst = wait_state(s, eid, "completed")
            assert inst["variables"]["r"]["body"] == {"open": True}, inst
    finally:
        rv.gate_closed = True
        shutil.rmtree(path, ignore_errors=True)
