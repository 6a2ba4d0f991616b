"""Hostile input the dispatcher must turn away with a problem, never a crash or a quiet
wrong answer (issue 10 items 1, 6, 8, 9, 10; docs/core.md "Limits on input"):

- JSON nested deeper than 64 levels: 400 `json-too-deep` with the pointer where it was
  exceeded, on public and protected routes, on the module port, through the gateway and
  inside execution/task variables; exactly 64 levels still work end to end (engine to
  Human Task Service and back, FEEL results included). Before the fix ~740 nested
  arrays to the public login killed the whole server.
- strings that are not UTF-8 or hold NUL: 400 with pointer and byte offset; nothing is
  stored; every JSON answer (problem details echoing ids included) is valid UTF-8.
- query values: read whole up to 8192 bytes (before: over ~256 they were dropped, so a
  filter became no filter); longer is a 422 naming the parameter.
- login throttling counts an account once whatever the e-mail's case.
"""

import base64
import http.client
import http.server
import json
import threading

from exec_support import bpmn, chain, deploy, respond, start, wait_state, wait_task
from harness import (ADMIN_EMAIL, ADMIN_PASSWORD, HOST, Server, assert_json, assert_problem,
                     unique_name, wait_until)

AUTH, RULES, DESIGN, EXEC, TASKS, GATEWAY = 8002, 8018, 9003, 9005, 9006, 9000
LIMIT = 64
TOO_DEEP = "urn:flowmaster:problem:json-too-deep"
MALFORMED = "urn:flowmaster:problem:malformed-json"
NUL = "urn:flowmaster:problem:nul-in-json"

FIXTURES = {
    "srv": lambda: Server(modules="auth,sso,gateway,rules,design,execution,tasks"),
    # five free failures per account (the default) and as many per client address
    "throttled": lambda: Server(modules="auth,sso",
                                env={"FLOWMASTER_AUTH_LOGIN_MAX_DELAY_S": "60"}),
}


def arrays(n, inner="1"):
    """n nested arrays around inner, as JSON text."""
    return "[" * n + inner + "]" * n


def nested(n):
    """A value of n nested arrays (n >= 1)."""
    v = 1
    for _ in range(n):
        v = [v]
    return v


def pointer(n):
    return "/0" * n


def raw_post(srv, port, path, data, auth=True):
    return srv.req("POST", port, path, body=data, auth=auth,
                   headers={"Content-Type": "application/json"})


def still_serving(srv):
    assert srv.alive(), "the server died: %s" % srv.stderr_tail()
    assert srv.get(GATEWAY, "/health").status == 200
    assert srv.login(ADMIN_EMAIL, ADMIN_PASSWORD)["accessToken"]


def assert_too_deep(r, ptr, limit=LIMIT):
    p = assert_problem(r, 400, "JSON Nested Too Deeply")
    assert p["type"] == TOO_DEEP and p["limit"] == limit, p
    assert p["pointer"] == ptr, p
    assert ptr in p["detail"] and str(limit) in p["detail"], p
    return p


def strict_json(r):
    """The body decodes as strict UTF-8 and parses as JSON."""
    return json.loads(r.body.decode("utf-8", "strict"))


# --- item 1: depth -------------------------------------------------------------------------

def test_deep_json_on_a_public_route(srv):
    for port in (AUTH, GATEWAY):
        # exactly at the limit the body is parsed (and refused for what it is: not an object)
        assert_problem(raw_post(srv, port, "/auth/login", arrays(LIMIT), auth=False), 422)
        for n in (LIMIT + 1, 100000):
            p = assert_too_deep(raw_post(srv, port, "/auth/login", arrays(n), auth=False), pointer(LIMIT))
            assert p["offset"] == LIMIT, p
        # objects count the same; the pointer names the members
        body = '{"a":' * LIMIT + '{"b":{}}' + "}" * LIMIT
        assert_too_deep(raw_post(srv, port, "/auth/login", body, auth=False), "/a" * LIMIT)
    still_serving(srv)


def test_deep_json_on_a_protected_route(srv):
    # {"name","variables":{"x": ...}}: the root and "variables" take two levels
    for port in (TASKS, GATEWAY):
        t = assert_json(srv.req("POST", port, "/tasks",
                                body={"name": "at the limit", "variables": {"x": nested(LIMIT - 2)}}), 201)
        assert t["variables"]["x"] == nested(LIMIT - 2), t
        again = strict_json(srv.get(port, "/tasks/" + t["id"]))
        assert again["variables"] == t["variables"], again
        r = srv.req("POST", port, "/tasks", body={"name": "over", "variables": {"x": nested(LIMIT - 1)}})
        assert_too_deep(r, "/variables/x" + pointer(LIMIT - 2))
        data = '{"name":"far over","variables":{"x":%s}}' % arrays(100000)
        assert_too_deep(raw_post(srv, port, "/tasks", data), "/variables/x" + pointer(LIMIT - 2))
    # without a token the guard answers first, before the body is read
    assert_problem(raw_post(srv, TASKS, "/tasks", arrays(100000), auth=False), 401)
    # routes whose module parses the body itself (JSON or XML) are checked alike
    r = raw_post(srv, DESIGN, "/processes", '{"name":"deep","model":%s}' % arrays(500))
    assert_too_deep(r, "/model" + pointer(LIMIT - 1))
    r = raw_post(srv, RULES, "/rules", '{"name":"deep","model":%s}' % arrays(500))
    assert_too_deep(r, "/model" + pointer(LIMIT - 1))
    still_serving(srv)


def test_deep_json_in_a_token_header(srv):
    # the token's header is read before its signature is checked (before: SIGSEGV)
    head = base64.urlsafe_b64encode(arrays(900).encode()).decode().rstrip("=")
    for port in (TASKS, GATEWAY):
        r = srv.req("GET", port, "/tasks", headers={"Authorization": "Bearer %s.e30.%s" % (head, "A" * 86)})
        p = assert_problem(r, 401)
        assert "header" in p["detail"], p
    still_serving(srv)


def user_task_process(srv, tag):
    pid = unique_name(tag).replace("-", "_")
    body = ('<bpmn:startEvent id="start"/>'
            '<bpmn:scriptTask id="calc"><bpmn:extensionElements><zeebe:script expression="%s" '
            'resultVariable="made"/></bpmn:extensionElements></bpmn:scriptTask>'
            '<bpmn:userTask id="review"/><bpmn:endEvent id="end"/>'
            % "=if depth = null then null else for i in 1..depth return if i = 1 then 1 else [partial[-1]]"
            + chain("start", "calc", "review", "end"))
    deploy(srv, bpmn(pid, body))
    return pid


def test_deep_json_in_execution_and_task_variables(srv):
    pid = user_task_process(srv, "deepvars")
    # {"processId","variables":{"deep": ...}}: the value may nest 62 levels
    inst = start(srv, pid, {"deep": nested(LIMIT - 2), "depth": None})
    tid = wait_task(srv, inst["id"], "review")
    task = strict_json(srv.get(TASKS, "/tasks/" + tid))
    assert task["variables"]["deep"] == nested(LIMIT - 2), task
    # the answer at the limit resumes the instance through the engine
    assert_json(respond(srv, tid, {"answer": nested(LIMIT - 2)}))
    done = wait_state(srv, inst["id"], "completed")
    assert done["variables"]["answer"] == nested(LIMIT - 2), done
    assert done["variables"]["deep"] == nested(LIMIT - 2), done

    # one level more is refused, at the start and in an answer
    r = srv.req("POST", EXEC, "/executions",
                body={"processId": pid, "variables": {"deep": nested(LIMIT - 1)}})
    assert_too_deep(r, "/variables/deep" + pointer(LIMIT - 2))
    r = raw_post(srv, GATEWAY, "/executions",
                 '{"processId":"%s","variables":{"deep":%s}}' % (pid, arrays(100000)))
    assert_too_deep(r, "/variables/deep" + pointer(LIMIT - 2))
    inst = start(srv, pid, {"depth": None})
    tid = wait_task(srv, inst["id"], "review")
    r = respond(srv, tid, {"answer": nested(LIMIT - 1)})
    assert_too_deep(r, "/response/answer" + pointer(LIMIT - 2))
    r = srv.req("PUT", GATEWAY, "/tasks/%s/respond" % tid,
                body='{"response":{"answer":%s}}' % arrays(100000))
    assert_too_deep(r, "/response/answer" + pointer(LIMIT - 2))
    assert strict_json(srv.get(TASKS, "/tasks/" + tid))["status"] != "completed"
    assert wait_state(srv, inst["id"], "active")["state"] == "active"
    still_serving(srv)


def test_deep_feel_results(srv):
    pid = user_task_process(srv, "deepfeel")
    # a FEEL result as deep as the limit becomes a variable and reaches the task
    # (the engine's in-process call wraps it in two more levels: allowed for calls)
    inst = start(srv, pid, {"depth": LIMIT})
    tid = wait_task(srv, inst["id"], "review")
    task = strict_json(srv.get(TASKS, "/tasks/" + tid))
    made = task["variables"]["made"]
    assert len(made) == LIMIT and made[-1] == nested(LIMIT - 1), str(task)[:300]
    # one level more is an incident that says why, not a crash
    inst = start(srv, pid, {"depth": LIMIT + 1})
    inc = wait_until(lambda: assert_json(srv.get(EXEC, "/incidents?executionId=" + inst["id"]))["items"],
                     what="the incident of the too-deep result")
    assert "nests deeper than 64" in inc[0]["message"], inc
    inst = start(srv, pid, {"depth": 5000})
    wait_until(lambda: assert_json(srv.get(EXEC, "/incidents?executionId=" + inst["id"]))["items"],
               what="the incident of the far too deep result")
    # POST /rules/expression: null with the reason
    expr = "for i in 1..%d return if i = 1 then 1 else [partial[-1]]"
    j = assert_json(srv.req("POST", RULES, "/rules/expression", body={"expression": expr % LIMIT}))
    assert j["result"][-1] == nested(LIMIT - 1) and j["error"] is None, str(j)[:200]
    for n in (LIMIT + 1, 3000):
        j = assert_json(srv.req("POST", RULES, "/rules/expression", body={"expression": expr % n}))
        assert j["result"] is None and "nests deeper than 64" in j["error"], j
    # a decision's result the same way: 422, no partial outputs
    model = {"inputs": [], "decisions": [{"name": "Deep", "literal": expr % 70}]}
    rs = assert_json(srv.req("POST", RULES, "/rules", body={"name": unique_name("deep"), "model": model}), 201)
    r = srv.req("POST", RULES, "/rules/%s/evaluate" % rs["id"], body={"inputs": {}})
    p = assert_problem(r, 422)
    assert "nests deeper than 64" in p["detail"], p
    still_serving(srv)


def test_deep_json_in_text_the_engine_reads_as_json(srv):
    # a candidate list given as a JSON text in a variable, and a form embedded in the
    # BPMN: both are read with cJSON on a worker thread (before: SIGSEGV)
    pid = unique_name("deeptext").replace("-", "_")
    form = "<zeebe:userTaskForm id=\"f_deep\">%s</zeebe:userTaskForm>" % arrays(900)
    body = ('<bpmn:startEvent id="start"/><bpmn:userTask id="review"><bpmn:extensionElements>'
            '<zeebe:assignmentDefinition candidateUsers="=cands"/>'
            '<zeebe:formDefinition formKey="camunda-forms:bpmn:f_deep"/>'
            '</bpmn:extensionElements></bpmn:userTask><bpmn:endEvent id="end"/>'
            + chain("start", "review", "end"))
    r = srv.req("POST", DESIGN, "/processes", body=bpmn(pid, body, proc_ext=form),
                headers={"Content-Type": "application/xml"})
    assert r.status == 201 or 400 <= r.status < 500, r      # refusing the form at design time is fine too
    pub = srv.req("POST", DESIGN, "/processes/%s/publish" % r.json["id"], body={}) if r.status == 201 else r
    if pub.status == 201:
        inst = start(srv, pid, {"cands": arrays(900)})
        # a task with the text as one candidate, or an incident: never a dead server
        wait_until(lambda: assert_json(srv.get(EXEC, "/executions/" + inst["id"]))["activeElements"],
                   what="the instance waiting at review")
    still_serving(srv)


class _Deep(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        out = arrays(900).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


def test_deep_json_from_the_http_connector(srv):
    web = http.server.ThreadingHTTPServer((HOST, 0), _Deep)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:
        pid = unique_name("deepconn").replace("-", "_")
        body = ('<bpmn:startEvent id="start"/><bpmn:serviceTask id="call"><bpmn:extensionElements>'
                '<zeebe:taskDefinition type="http" retries="1"/><zeebe:taskHeaders>'
                '<zeebe:header key="url" value="http://%s:%d/deep"/><zeebe:header key="method" value="POST"/>'
                '</zeebe:taskHeaders></bpmn:extensionElements></bpmn:serviceTask><bpmn:endEvent id="end"/>'
                % web.server_address + chain("start", "call", "end"))
        deploy(srv, bpmn(pid, body))
        inst = start(srv, pid, {})
        inc = wait_until(lambda: assert_json(srv.get(EXEC, "/incidents?executionId=" + inst["id"]))["items"],
                         what="the connector's incident")
        assert "nests deeper than 64" in inc[0]["message"], inc
        assert "response" not in assert_json(srv.get(EXEC, "/executions/" + inst["id"]))["variables"]
    finally:
        web.shutdown()
        web.server_close()
    still_serving(srv)


# --- items 9 and 10: UTF-8 and NUL ---------------------------------------------------------

def test_invalid_utf8_is_refused_and_never_echoed(srv):
    before = strict_json(srv.get(TASKS, "/tasks?limit=500"))["total"]
    bad = {
        b'{"name":"x\xff\xfe"}': ("/name", 10),
        b'{"name":"ok","variables":{"k":["fine","\xc0\xaf"]}}': ("/variables/k/1", 39),   # overlong "/"
        b'{"name":"\xed\xa0\x80"}': ("/name", 9),                                        # a surrogate
        b'{"name":"\xf4\x90\x80\x80"}': ("/name", 9),                                    # above U+10FFFF
        b'{"name":"cut \xe2\x82"}': ("/name", 13),                                       # truncated
        b'{"variables":{"a/b~\xff":1},"name":"n"}': ("/variables", 19),                  # a bad member name
    }
    for data, (ptr, off) in bad.items():
        for port in (TASKS, GATEWAY):
            p = assert_problem(raw_post(srv, port, "/tasks", data), 400)
            assert p["type"] == MALFORMED and p["pointer"] == ptr and p["offset"] == off, (data, p)
            assert "UTF-8" in p["detail"] and str(off) in p["detail"], p
    # valid UTF-8 of every length passes and comes back as sent
    name = "caf\u00e9 \u20ac \U0001F600"
    t = assert_json(srv.req("POST", TASKS, "/tasks", body={"name": name}), 201)
    assert strict_json(srv.get(TASKS, "/tasks/" + t["id"]))["name"] == name
    # nothing bad was stored: the inbox decodes strictly
    inbox = strict_json(srv.get(TASKS, "/tasks?limit=500"))
    assert inbox["total"] == before + 1, inbox["total"]
    # a body the module parses itself (Process Design) is checked too
    p = assert_problem(raw_post(srv, DESIGN, "/processes", b'{"name":"\xff"}'), 400)
    assert p["type"] == MALFORMED and p["pointer"] == "/name", p
    # problem details echoing a path or id replace what is not UTF-8
    for path in ("/tasks/%FF%FEx", "/no/such/%C0%AF"):
        r = srv.get(TASKS, path)
        assert r.status == 404, r
        p = strict_json(r)
        assert "\ufffd" in p["detail"], p
    still_serving(srv)


def test_nul_in_strings_is_refused(srv):
    before = strict_json(srv.get(TASKS, "/tasks?limit=500"))["total"]
    for data, ptr, off in ((b'{"name":"a\\u0000b"}', "/name", 10),
                           (b'{"name":"a\x00b"}', "/name", 10),
                           (b'{"name":"n","variables":{"k\\u0000":1}}', "/variables", 27)):
        for port in (TASKS, GATEWAY):
            p = assert_problem(raw_post(srv, port, "/tasks", data), 400, "NUL in JSON String")
            assert p["type"] == NUL and p["pointer"] == ptr and p["offset"] == off, (data, p)
    assert strict_json(srv.get(TASKS, "/tasks?limit=500"))["total"] == before
    # an escaped backslash before u0000 is not NUL: stored faithfully
    t = assert_json(raw_post(srv, TASKS, "/tasks", b'{"name":"a\\\\u0000b"}'), 201)
    assert t["name"] == "a\\u0000b", t
    still_serving(srv)


# --- item 8: long query values -------------------------------------------------------------

def test_long_query_values_filter_or_fail(srv):
    pid = user_task_process(srv, "longq")
    start(srv, pid, {"depth": None}, businessKey="short-key")
    everything = assert_json(srv.get(EXEC, "/executions?limit=500"))["total"]
    assert everything >= 1
    for n in (300, 4000, 8192):
        j = assert_json(srv.get(EXEC, "/executions?businessKey=" + "k" * n))
        assert j["items"] == [] and j["total"] == 0, (n, j["total"])
    long_key = "b" * 256                        # the longest a business key may be
    mine = start(srv, pid, {"depth": None}, businessKey=long_key)
    j = assert_json(srv.get(GATEWAY, "/executions?businessKey=" + long_key))
    assert [x["id"] for x in j["items"]] == [mine["id"]], j
    # beyond the limit: 422 naming the parameter, on the port and through the gateway
    for port in (EXEC, GATEWAY):
        p = assert_problem(srv.get(port, "/executions?state=active&businessKey=" + "k" * 8193), 422)
        assert p["errors"][0]["pointer"] == "/businessKey" and "8192" in p["detail"], p
    # a number out of range is an error, not the default
    for bad in ("1" * 300, "99999999999999999999", "0", "-1"):
        p = assert_problem(srv.get(TASKS, "/tasks?limit=" + bad), 422)
        assert p["errors"][0]["pointer"] == "/limit", p
    # a long value of a closed set is refused, not ignored
    p = assert_problem(srv.get(TASKS, "/tasks?status=" + "x" * 300), 422)
    assert p["errors"][0]["pointer"] == "/status", p
    p = assert_problem(srv.get(TASKS, "/tasks?dueBefore=2030-01-01T00:00:00Z" + "0" * 300), 422)
    assert p["errors"][0]["pointer"] == "/dueBefore", p
    p = assert_problem(srv.get(EXEC, "/executions?state=" + "a" * 300), 422)
    assert p["errors"][0]["pointer"] == "/state", p


# --- item 6: login throttling and the e-mail's case ----------------------------------------

def login_from(srv, address, email, password):
    """POST /auth/login from a loopback address of our choosing, so the per-address
    counter stays out of the way of the per-account one."""
    conn = http.client.HTTPConnection(HOST, srv.port(AUTH), timeout=10, source_address=(address, 0))
    try:
        conn.request("POST", "/auth/login", json.dumps({"email": email, "password": password}),
                     {"Content-Type": "application/json"})
        return conn.getresponse().status
    finally:
        conn.close()


def test_login_throttle_ignores_email_case(throttled):
    srv = throttled
    spellings = ["Admin@localhost", "ADMIN@LOCALHOST", "admin@LocalHost", "aDmIn@localhost",
                 "admin@localhosT"]
    # four failures under four spellings, each from its own address
    for i, email in enumerate(spellings[:4]):
        assert login_from(srv, "127.0.0.%d" % (10 + i), email, "wrong-password") == 401
    # a success under a fifth spelling clears the account's count
    assert login_from(srv, "127.0.0.20", spellings[4], ADMIN_PASSWORD) == 200
    # so four more failures (under the first spellings again) do not lock it yet ...
    for i, email in enumerate(spellings[:4]):
        assert login_from(srv, "127.0.0.%d" % (30 + i), email, "wrong-password") == 401
    assert login_from(srv, "127.0.0.40", ADMIN_EMAIL, ADMIN_PASSWORD) == 200
    # ... but five in a row, whatever their case, do: even the right password waits
    for i, email in enumerate(spellings):
        assert login_from(srv, "127.0.0.%d" % (50 + i), email, "wrong-password") == 401
    for i, email in enumerate((spellings[2], ADMIN_EMAIL)):
        assert login_from(srv, "127.0.0.%d" % (60 + i), email, ADMIN_PASSWORD) == 429, email
