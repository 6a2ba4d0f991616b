"""External Integration on 9015 (docs/integrations.md): stored connectors called against
a local HTTP receiver started by the test (every auth kind, OAuth token caching and the
refresh after a 401, timeouts, retries, redirects, the size limit, the private-address
policy), secrets never in answers, logs or the database file; inbound webhooks with
GitHub, Stripe and token verification starting processes, replays refused; tenants."""

import base64
import concurrent.futures
import glob
import hashlib
import hmac
import http.server
import json
import os
import threading
import time
import urllib.parse

from harness import bind_low, Server, assert_json, assert_problem, unique_name
from exec_support import bpmn, chain, deploy, get, wait_state

SECRET_BEARER = "bearer-SECRET-7f3a9c"
SECRET_PASSWORD = "pw-SECRET-19b2e4"
SECRET_KEY = "apikey-SECRET-55d0aa"
SECRET_CLIENT = "client-SECRET-c0ffee"
SECRET_HOOK = "hook-SECRET-abc123"
SECRET_TOKEN = "static-token-SECRET-0123456789"
ALL_SECRETS = [SECRET_BEARER, SECRET_PASSWORD, SECRET_KEY, SECRET_CLIENT, SECRET_HOOK, SECRET_TOKEN]


class Receiver:
    """A local HTTP server whose paths behave as the tests need; it records every request."""

    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        self.tokens_issued = 0
        self.valid_token = None
        self.flaky_left = 0
        rec = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _answer(self, status, body, ctype="application/json", extra=None):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _handle(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n).decode() if n else ""
                u = urllib.parse.urlsplit(self.path)
                entry = {"method": self.command, "path": u.path,
                         "query": dict(urllib.parse.parse_qsl(u.query)),
                         "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                with rec.lock:
                    rec.requests.append(entry)
                p = u.path
                if p == "/oauth/token":
                    form = dict(urllib.parse.parse_qsl(body))
                    if form.get("client_secret") != SECRET_CLIENT or form.get("grant_type") != "client_credentials":
                        return self._answer(401, {"error": "invalid_client"})
                    with rec.lock:
                        rec.tokens_issued += 1
                        rec.valid_token = "tok-%d" % rec.tokens_issued
                        tok = rec.valid_token
                    return self._answer(200, {"access_token": tok, "token_type": "Bearer", "expires_in": 3600})
                if p == "/oauth/api":
                    if self.headers.get("Authorization") != "Bearer %s" % rec.valid_token:
                        return self._answer(401, {"error": "invalid_token"})
                    return self._answer(200, {"ok": True})
                if p == "/slow":
                    time.sleep(1.5)
                    return self._answer(200, {"slow": True})
                if p == "/flaky":
                    with rec.lock:
                        rec.flaky_left -= 1
                        fail = rec.flaky_left >= 0
                    return self._answer(503 if fail else 200, {"failed": fail})
                if p == "/redirect":
                    return self._answer(302, {}, extra={"Location": "/echo"})
                if p == "/big":
                    return self._answer(200, b"x" * 200000, "text/plain")
                if p == "/text":
                    return self._answer(200, b"plain answer", "text/plain")
                return self._answer(200, entry)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

        self.httpd = bind_low(lambda a: http.server.ThreadingHTTPServer(a, H))
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def hits(self, path):
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


_RECV = []


def recv():
    if not _RECV:
        _RECV.append(Receiver())
    return _RECV[0]


def create(srv, body, headers=None, status=201):
    r = srv.req("POST", 9015, "/integrations", body=body, headers=headers)
    if status != 201:
        return r
    return assert_json(r, 201)


def execute(srv, cid, body=None, headers=None):
    return srv.req("POST", 9015, "/integrations/%s/execute" % cid, body=body or {}, headers=headers)


def conn(name=None, **kw):
    b = {"name": name or unique_name("conn"), "baseUrl": recv().url}
    b.update(kw)
    return b


# ---- connectors ----

def test_connector_crud_if_match_and_secrets_hidden(srv):
    c = create(srv, conn(auth={"type": "bearer", "token": SECRET_BEARER}, headers={"X-Team": "ops"}))
    assert c["id"].startswith("int_") and c["version"] == 1 and c["kind"] == "http", c
    assert c["auth"] == {"type": "bearer"} and c["secretsSet"] == ["auth.token"], c
    g = srv.get(9015, "/integrations/" + c["id"])
    assert_json(g)
    assert SECRET_BEARER not in g.text, g.text
    etag = g.headers.get("etag")
    assert etag == '"%s.v1"' % c["id"], etag
    lst = assert_json(srv.get(9015, "/integrations?limit=500"))
    assert any(i["id"] == c["id"] for i in lst["items"]) and SECRET_BEARER not in json.dumps(lst)
    # PUT needs If-Match; a stale one is 412; the secret is kept when not sent again
    body = conn(c["name"], auth={"type": "bearer"}, headers={"X-Team": "dev"})
    assert_problem(srv.req("PUT", 9015, "/integrations/" + c["id"], body=body), 428)
    assert_problem(srv.req("PUT", 9015, "/integrations/" + c["id"], body=body,
                           headers={"If-Match": '"%s.v7"' % c["id"]}), 412)
    p = assert_json(srv.req("PUT", 9015, "/integrations/" + c["id"], body=body, headers={"If-Match": etag}))
    assert p["version"] == 2 and p["headers"] == {"X-Team": "dev"} and p["secretsSet"] == ["auth.token"], p
    j = assert_json(execute(srv, c["id"], {"path": "/echo"}))
    assert j["status"] == 200 and j["body"]["headers"]["authorization"] == "Bearer " + SECRET_BEARER, j
    assert j["body"]["headers"]["x-team"] == "dev", j
    assert SECRET_BEARER not in json.dumps(assert_json(srv.get(9015, "/integrations/%s/calls" % c["id"])))
    # DELETE with a stale If-Match is 412, then it goes
    assert_problem(srv.req("DELETE", 9015, "/integrations/" + c["id"], headers={"If-Match": etag}), 412)
    assert srv.req("DELETE", 9015, "/integrations/" + c["id"]).status == 204
    assert_problem(srv.get(9015, "/integrations/" + c["id"]), 404)


def test_new_secret_used_at_once_and_concurrent_calls_all_logged(srv):
    """The call path keeps connectors in memory with their secrets opened: a PUT with a new
    secret is used by the very next call, a DELETE stops calls. Log entries of concurrent
    calls share transactions (group commit) and each call's entry is there when it answers."""
    c = create(srv, conn(auth={"type": "bearer", "token": "first-" + SECRET_BEARER}))
    j = assert_json(execute(srv, c["id"], {"path": "/echo"}))
    assert j["body"]["headers"]["authorization"] == "Bearer first-" + SECRET_BEARER, j
    etag = srv.get(9015, "/integrations/" + c["id"]).headers.get("etag")
    body = conn(c["name"], auth={"type": "bearer", "token": "second-" + SECRET_BEARER})
    assert_json(srv.req("PUT", 9015, "/integrations/" + c["id"], body=body, headers={"If-Match": etag}))
    j = assert_json(execute(srv, c["id"], {"path": "/echo"}))
    assert j["body"]["headers"]["authorization"] == "Bearer second-" + SECRET_BEARER, j
    # 24 calls at once: every one answers 200 and is in the log right away
    with concurrent.futures.ThreadPoolExecutor(12) as ex:
        answers = list(ex.map(lambda i: execute(srv, c["id"], {"path": "/echo", "query": {"n": i}}), range(24)))
    ids = {assert_json(a)["callId"] for a in answers}
    calls = assert_json(srv.get(9015, "/integrations/%s/calls?limit=500" % c["id"]))
    assert calls["total"] == 26 and ids <= {x["id"] for x in calls["items"]}, (len(ids), calls["total"])
    assert srv.req("DELETE", 9015, "/integrations/" + c["id"]).status == 204
    assert_problem(execute(srv, c["id"], {"path": "/echo"}), 404)


def test_every_auth_kind_reaches_the_receiver(srv):
    rv = recv()
    basic = create(srv, conn(auth={"type": "basic", "username": "ann", "password": SECRET_PASSWORD}))
    j = assert_json(execute(srv, basic["id"], {"path": "/echo"}))
    want = "Basic " + base64.b64encode(("ann:" + SECRET_PASSWORD).encode()).decode()
    assert j["body"]["headers"]["authorization"] == want, j
    hdr = create(srv, conn(auth={"type": "apiKey", "in": "header", "name": "X-Api-Key", "value": SECRET_KEY}))
    j = assert_json(execute(srv, hdr["id"], {"path": "/echo"}))
    assert j["body"]["headers"]["x-api-key"] == SECRET_KEY, j
    q = create(srv, conn(auth={"type": "apiKey", "in": "query", "name": "key", "value": SECRET_KEY}))
    j = assert_json(execute(srv, q["id"], {"path": "/echo", "query": {"page": 2}}))
    assert j["body"]["query"] == {"page": "2", "key": SECRET_KEY}, j
    none = create(srv, conn())
    j = assert_json(execute(srv, none["id"], {"path": "/echo"}))
    assert "authorization" not in j["body"]["headers"], j
    # the call log shows the URL with the key replaced and the echoed secret redacted
    calls = assert_json(srv.get(9015, "/integrations/%s/calls" % q["id"]))
    assert calls["total"] == 1 and calls["items"][0]["url"].endswith("/echo?page=2&key=***"), calls
    assert SECRET_KEY not in json.dumps(calls), calls
    for c in (basic, hdr):
        text = srv.get(9015, "/integrations/%s/calls" % c["id"]).text
        assert SECRET_KEY not in text and SECRET_PASSWORD not in text, text
    assert rv.hits("/echo")


def test_oauth_token_cached_and_refreshed_once_after_401(srv):
    rv = recv()
    c = create(srv, conn(auth={"type": "oauth2", "tokenUrl": rv.url + "/oauth/token", "clientId": "app",
                               "clientSecret": SECRET_CLIENT, "scope": "read"}))
    before = rv.tokens_issued
    for _ in range(3):
        j = assert_json(execute(srv, c["id"], {"path": "/oauth/api"}))
        assert j["status"] == 200 and j["attempts"] == 1, j
    assert rv.tokens_issued == before + 1, "the token was not cached: %d fetches" % (rv.tokens_issued - before)
    form = dict(urllib.parse.parse_qsl(rv.hits("/oauth/token")[-1]["body"]))
    assert form["client_id"] == "app" and form["scope"] == "read", form
    # the receiver forgets the token: one 401, one new token, one more try
    rv.valid_token = "revoked"
    j = assert_json(execute(srv, c["id"], {"path": "/oauth/api"}))
    assert j["status"] == 200 and j["attempts"] == 2, j
    assert rv.tokens_issued == before + 2, rv.tokens_issued
    # a 401 that persists is answered as it is, after exactly one refresh
    t = create(srv, conn(auth={"type": "oauth2", "tokenUrl": rv.url + "/oauth/token", "clientId": "app",
                               "clientSecret": SECRET_CLIENT}))
    n = rv.tokens_issued
    j = assert_json(execute(srv, t["id"], {"path": "/echo-401-never"}))
    assert j["status"] == 200, j
    test = assert_json(srv.req("POST", 9015, "/integrations/%s/test" % c["id"], body={"path": "/oauth/api"}))
    assert test["reachable"] and test["authenticated"] and test["status"] == 200, test
    assert rv.tokens_issued >= n


def test_timeouts_retries_redirects_and_size_limit(srv):
    rv = recv()
    slow = create(srv, conn(timeouts={"connectMs": 1000, "totalMs": 300}))
    r = execute(srv, slow["id"], {"path": "/slow"})
    assert_problem(r, 504, "Gateway Timeout")
    assert r.json["attempts"] == 1 and "timed out" in r.json["detail"], r.json
    # 503 twice, then 200: three attempts within the policy
    rv.flaky_left = 2
    flaky = create(srv, conn(retry={"maxAttempts": 3, "backoffMs": 10}))
    j = assert_json(execute(srv, flaky["id"], {"path": "/flaky"}))
    assert j["status"] == 200 and j["attempts"] == 3, j
    # without retries the 503 is the answer
    rv.flaky_left = 1
    once = create(srv, conn())
    j = assert_json(execute(srv, once["id"], {"path": "/flaky"}))
    assert j["status"] == 503 and j["attempts"] == 1, j
    # redirects: not followed unless allowed
    before = len(rv.hits("/echo"))
    j = assert_json(execute(srv, once["id"], {"path": "/redirect"}))
    assert j["status"] == 302 and j["headers"]["location"] == "/echo", j
    assert len(rv.hits("/echo")) == before, "the redirect was followed"
    follow = create(srv, conn(followRedirects=True))
    j = assert_json(execute(srv, follow["id"], {"path": "/redirect"}))
    assert j["status"] == 200 and j["body"]["path"] == "/echo", j
    # an answer over the limit is cut with an error, never passed on as if whole
    small = create(srv, conn(maxResponseBytes=1000))
    r = execute(srv, small["id"], {"path": "/big"})
    assert_problem(r, 502, "Bad Gateway")
    assert "larger than maxResponseBytes (1000 bytes)" in r.json["detail"], r.json
    calls = assert_json(srv.get(9015, "/integrations/%s/calls" % small["id"]))
    assert calls["items"][0]["error"].startswith("the response is larger"), calls
    # text answers stay text
    j = assert_json(execute(srv, once["id"], {"path": "/text"}))
    assert j["body"] == "plain answer", j


def test_execute_feel_and_methods(srv):
    c = create(srv, conn())
    j = assert_json(execute(srv, c["id"], {
        "method": "POST", "path": '="/orders/" + string(order.id)',
        "query": {"q": '=upper case(order.name)'}, "headers": {"X-Trace": '="t-" + string(order.id)'},
        "body": {"total": "=order.qty * 2", "literal": "plain", "items": ["=order.name"]},
        "variables": {"order": {"id": 42, "name": "box", "qty": 3}}}))
    b = j["body"]
    assert b["method"] == "POST" and b["path"] == "/orders/42" and b["query"] == {"q": "BOX"}, b
    assert b["headers"]["x-trace"] == "t-42" and b["headers"]["content-type"] == "application/json", b
    assert json.loads(b["body"]) == {"total": 6, "literal": "plain", "items": ["box"]}, b
    assert isinstance(j["durationMs"], (int, float)) and j["callId"].startswith("log_"), j
    r = execute(srv, c["id"], {"path": "=1 +"})
    assert_problem(r, 422)


def test_bad_input_is_problem_json_and_stores_nothing(srv):
    h = srv.tenant_headers("badinput")
    bad = [
        ({"baseUrl": recv().url}, "/name"),
        ({"name": "x", "baseUrl": "ftp://example.com"}, "/baseUrl"),
        ({"name": "x", "baseUrl": recv().url, "kind": "soap"}, "/kind"),
        ({"name": "x", "baseUrl": recv().url, "auth": {"type": "kerberos"}}, "/auth/type"),
        ({"name": "x", "baseUrl": recv().url, "auth": {"type": "basic", "username": "a"}}, "/auth/password"),
        ({"name": "x", "baseUrl": recv().url, "auth": {"type": "oauth2", "tokenUrl": "file:///etc/passwd",
                                                       "clientId": "a", "clientSecret": "b"}}, "/auth/tokenUrl"),
        ({"name": "x", "baseUrl": recv().url, "headers": {"Bad Name": "v"}}, "/headers/Bad Name"),
        ({"name": "x", "baseUrl": recv().url, "headers": {"X-A": "a\r\nInjected: 1"}}, "/headers/X-A"),
        ({"name": "x", "baseUrl": recv().url, "timeouts": {"totalMs": 0}}, "/timeouts/totalMs"),
        ({"name": "x", "baseUrl": recv().url, "retry": {"maxAttempts": 50}}, "/retry/maxAttempts"),
        ({"name": "x", "baseUrl": recv().url, "tls": {"verify": "no"}}, "/tls/verify"),
        ({"name": "x", "baseUrl": recv().url, "surprise": 1}, "/surprise"),
    ]
    for body, pointer in bad:
        r = srv.req("POST", 9015, "/integrations", body=body, headers=h)
        assert_problem(r, 422)
        ptrs = [e.get("pointer") for e in r.json.get("errors", [])]
        assert pointer in ptrs, "%r: %r" % (body, r.json)
    hooks_bad = [
        ({"name": "h", "verification": {"type": "github"}, "action": {"type": "publishEvent", "eventType": "a"}},
         "/verification/secret"),
        ({"name": "h", "verification": {"type": "md5", "secret": "x"}, "action": {"type": "publishEvent"}},
         "/verification/type"),
        ({"name": "h", "verification": {"type": "token", "token": "short"},
          "action": {"type": "publishEvent", "eventType": "a"}}, "/verification/token"),
        ({"name": "h", "verification": {"type": "github", "secret": "s"},
          "action": {"type": "startProcess", "processId": "p", "variables": {"a": "1 +"}}}, "/action/variables/a"),
        ({"name": "h", "verification": {"type": "github", "secret": "s"}, "action": {"type": "startProcess"}},
         "/action/processId"),
    ]
    for body, pointer in hooks_bad:
        r = srv.req("POST", 9015, "/webhooks", body=body, headers=h)
        assert_problem(r, 422)
        ptrs = [e.get("pointer") for e in r.json.get("errors", [])]
        assert pointer in ptrs, "%r: %r" % (body, r.json)
    assert assert_json(srv.get(9015, "/integrations", headers=h))["total"] == 0
    assert assert_json(srv.get(9015, "/webhooks", headers=h))["total"] == 0
    assert_problem(srv.req("POST", 9015, "/integrations", body=b"{not json",
                           headers=dict(h, **{"Content-Type": "application/json"})), 400)


def test_private_targets_refused_for_other_tenants(srv):
    rv = recv()
    h = srv.tenant_headers("acme")
    c = create(srv, conn(), headers=h)
    before = len(rv.requests)
    r = execute(srv, c["id"], {"path": "/echo"}, headers=h)
    assert_problem(r, 502)
    assert "loopback, private or link-local" in r.json["detail"], r.json
    assert len(rv.requests) == before, "the private target was reached"
    # the operator's tenant may (loopback tests run there); so may others when allowed
    assert assert_json(execute(srv, create(srv, conn())["id"], {"path": "/echo"}))["status"] == 200


def test_private_targets_allowed_by_config():
    with Server(env={"FLOWMASTER_INTEGRATIONS_ALLOW_PRIVATE": "true"}) as s:
        h = s.tenant_headers("acme")
        c = create(s, conn(), headers=h)
        assert assert_json(execute(s, c["id"], {"path": "/echo"}, headers=h))["status"] == 200


def test_tenant_isolation(srv):
    mine = create(srv, conn())
    hook = assert_json(srv.req("POST", 9015, "/webhooks", body={
        "name": unique_name("hook"), "verification": {"type": "github", "secret": SECRET_HOOK},
        "action": {"type": "publishEvent", "eventType": "test.hook"}}), 201)
    other = srv.tenant_headers("other")
    for path in ("/integrations/" + mine["id"], "/integrations/%s/calls" % mine["id"],
                 "/webhooks/" + hook["id"], "/webhooks/%s/deliveries" % hook["id"]):
        assert_problem(srv.get(9015, path, headers=other), 404)
    assert_problem(execute(srv, mine["id"], {}, headers=other), 404)
    assert_problem(srv.req("DELETE", 9015, "/integrations/" + mine["id"], headers=other), 404)
    ids = [i["id"] for i in assert_json(srv.get(9015, "/integrations?limit=500", headers=other))["items"]]
    assert mine["id"] not in ids
    # the same name is free in another tenant
    create(srv, conn(mine["name"]), headers=other)


def test_secrets_not_in_clear_in_database_or_log(srv):
    rv = recv()
    c = create(srv, conn(auth={"type": "oauth2", "tokenUrl": rv.url + "/oauth/token", "clientId": "app",
                               "clientSecret": SECRET_CLIENT}))
    assert_json(execute(srv, c["id"], {"path": "/oauth/api"}))
    for a in ({"type": "basic", "username": "u", "password": SECRET_PASSWORD},
              {"type": "bearer", "token": SECRET_BEARER},
              {"type": "apiKey", "in": "query", "name": "k", "value": SECRET_KEY}):
        x = create(srv, conn(auth=a))
        assert_json(execute(srv, x["id"], {"path": "/echo"}))
    assert_json(srv.req("POST", 9015, "/webhooks", body={
        "name": unique_name("hook"), "verification": {"type": "token", "token": SECRET_TOKEN},
        "action": {"type": "publishEvent", "eventType": "t.x"}}), 201)
    assert_json(srv.req("POST", 9015, "/webhooks", body={
        "name": unique_name("hook"), "verification": {"type": "github", "secret": SECRET_HOOK},
        "action": {"type": "publishEvent", "eventType": "t.x"}}), 201)
    files = glob.glob(os.path.join(srv.data_dir, "integrations.db*"))
    assert files, os.listdir(srv.data_dir)
    blob = b"".join(open(f, "rb").read() for f in files)
    for s in ALL_SECRETS:
        assert s.encode() not in blob, "%s in the database file in clear" % s
    log = srv.stderr()
    for s in ALL_SECRETS:
        assert s not in log, "%s in the log" % s
    assert "integrations.key" in log, "the generated key is not announced"
    key = os.path.join(srv.data_dir, "integrations.key")
    assert os.stat(key).st_mode & 0o777 == 0o600, oct(os.stat(key).st_mode)


def test_key_from_environment_and_wrong_key_refused():
    key = "ab" * 32
    with Server(env={"FLOWMASTER_INTEGRATIONS_KEY": key}) as s:
        c = create(s, conn(auth={"type": "bearer", "token": SECRET_BEARER}))
        assert not os.path.exists(os.path.join(s.data_dir, "integrations.key"))
        assert key not in s.stderr()
        data = s.data_dir
        s.stop()
        # the same data with the same key: the secret opens
        with Server(env={"FLOWMASTER_INTEGRATIONS_KEY": key}, data_dir=data) as s2:
            j = assert_json(execute(s2, c["id"], {"path": "/echo"}))
            assert j["body"]["headers"]["authorization"] == "Bearer " + SECRET_BEARER


# ---- inbound webhooks ----

def _process(srv, pid):
    xml = bpmn(pid, '<bpmn:startEvent id="s"/><bpmn:userTask id="t"/><bpmn:endEvent id="e"/>' + chain("s", "t", "e"))
    return deploy(srv, xml)


def _hook(srv, verification, action, headers=None, **kw):
    body = {"name": unique_name("hook"), "verification": verification, "action": action}
    body.update(kw)
    return assert_json(srv.req("POST", 9015, "/webhooks", body=body, headers=headers), 201)


def _post_hook(srv, hid, raw, headers):
    h = {"Content-Type": "application/json"}
    h.update(headers)
    return srv.req("POST", 9015, "/hooks/" + hid, body=raw, headers=h, auth=False)


def _executions(srv, pid):
    return assert_json(srv.get(9005, "/executions?limit=500"))["items"]


def test_github_webhook_starts_process_with_mapped_variables(srv):
    pid = unique_name("gh")
    _process(srv, pid)
    hook = _hook(srv, {"type": "github", "secret": SECRET_HOOK},
                 {"type": "startProcess", "processId": pid,
                  "variables": {"repo": "request.repository.full_name", "action": "request.action",
                                "event": "headers.\"x-github-event\""}})
    assert hook["hookPath"] == "/hooks/" + hook["id"] and SECRET_HOOK not in json.dumps(hook), hook
    raw = json.dumps({"action": "opened", "repository": {"full_name": "acme/site"}}).encode()
    sig = "sha256=" + hmac.new(SECRET_HOOK.encode(), raw, hashlib.sha256).hexdigest()
    hdr = {"X-Hub-Signature-256": sig, "X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "d-1"}
    r = _post_hook(srv, hook["id"], raw, hdr)
    j = assert_json(r, 202)
    assert j["outcome"] == "started" and j["started"]["executionId"].startswith("exe_"), j
    inst = get(srv, j["started"]["executionId"])
    assert inst["variables"] == {"repo": "acme/site", "action": "opened", "event": "pull_request"}, inst
    n = len(_executions(srv, pid))
    # a bad signature: 401, nothing started
    bad = dict(hdr, **{"X-Hub-Signature-256": "sha256=" + "0" * 64, "X-GitHub-Delivery": "d-2"})
    assert_problem(_post_hook(srv, hook["id"], raw, bad), 401)
    assert_problem(_post_hook(srv, hook["id"], raw + b" ", dict(hdr, **{"X-GitHub-Delivery": "d-3"})), 401)
    nosig = {k: v for k, v in hdr.items() if k != "X-Hub-Signature-256"}
    assert_problem(_post_hook(srv, hook["id"], raw, nosig), 401)
    # the same delivery again: 409, nothing started
    assert_problem(_post_hook(srv, hook["id"], raw, hdr), 409)
    assert len(_executions(srv, pid)) == n
    d = assert_json(srv.get(9015, "/webhooks/%s/deliveries" % hook["id"]))
    outcomes = [i["outcome"] for i in d["items"]]
    assert outcomes == ["replay", "unauthorized", "unauthorized", "unauthorized", "started"], outcomes
    started = d["items"][-1]
    assert started["started"]["executionId"] == j["started"]["executionId"], started
    assert started["headers"]["x-github-event"] == "pull_request", started
    assert SECRET_HOOK not in json.dumps(d)
    assert_problem(_post_hook(srv, "hook_missing", raw, hdr), 404)


def _stripe_sig(raw, t, secret=SECRET_HOOK):
    mac = hmac.new(secret.encode(), ("%d." % t).encode() + raw, hashlib.sha256).hexdigest()
    return "t=%d,v1=%s" % (t, mac)


def test_stripe_webhook_window_and_replay(srv):
    pid = unique_name("stripe")
    _process(srv, pid)
    hook = _hook(srv, {"type": "stripe", "secret": SECRET_HOOK, "toleranceSeconds": 300},
                 {"type": "startProcess", "processId": pid, "businessKey": "request.id",
                  "variables": {"amount": "request.data.object.amount / 100", "kind": "request.type"}})
    raw = json.dumps({"id": "evt_1", "type": "charge.succeeded", "data": {"object": {"amount": 1250}}}).encode()
    now = int(time.time())
    j = assert_json(_post_hook(srv, hook["id"], raw, {"Stripe-Signature": _stripe_sig(raw, now)}), 202)
    inst = get(srv, j["started"]["executionId"])
    assert inst["variables"] == {"amount": 12.5, "kind": "charge.succeeded"}, inst
    assert inst.get("businessKey") == "evt_1", inst
    n = len(_executions(srv, pid))
    # replayed signature: 409; correctly signed but outside the window: 409; wrong: 401
    assert_problem(_post_hook(srv, hook["id"], raw, {"Stripe-Signature": _stripe_sig(raw, now)}), 409)
    assert_problem(_post_hook(srv, hook["id"], raw, {"Stripe-Signature": _stripe_sig(raw, now - 1000)}), 409)
    assert_problem(_post_hook(srv, hook["id"], raw,
                              {"Stripe-Signature": _stripe_sig(raw, now, "whsec_other")}), 401)
    assert len(_executions(srv, pid)) == n


def test_token_webhook_correlates_and_publishes(srv):
    pid = unique_name("msg")
    xml = bpmn(pid, '<bpmn:startEvent id="s"/><bpmn:receiveTask id="w" messageRef="m"/><bpmn:endEvent id="e"/>'
               + chain("s", "w", "e"),
               defs_extra='<bpmn:message id="m" name="paid"><bpmn:extensionElements>'
                          '<zeebe:subscription correlationKey="=orderId"/></bpmn:extensionElements></bpmn:message>')
    deploy(srv, xml)
    inst = assert_json(srv.req("POST", 9005, "/executions", body={"processId": pid, "variables": {"orderId": "o-9"}}),
                       201)
    hook = _hook(srv, {"type": "token", "token": SECRET_TOKEN, "header": "X-Hook-Token"},
                 {"type": "correlateMessage", "messageName": "paid", "correlationKey": "request.order",
                  "variables": {"paidAt": "request.at"}}, deliveryIdHeader="X-Delivery")
    raw = json.dumps({"order": "o-9", "at": "2026-01-01"}).encode()
    assert_problem(_post_hook(srv, hook["id"], raw, {"X-Hook-Token": "wrong-token-0123456789"}), 401)
    j = assert_json(_post_hook(srv, hook["id"], raw, {"X-Hook-Token": SECRET_TOKEN, "X-Delivery": "1"}), 202)
    assert j["outcome"] == "correlated", j
    done = wait_state(srv, inst["id"], "completed")
    assert done["variables"]["paidAt"] == "2026-01-01", done
    assert_problem(_post_hook(srv, hook["id"], raw, {"X-Hook-Token": SECRET_TOKEN, "X-Delivery": "1"}), 409)
    ev = _hook(srv, {"type": "hmac", "secret": SECRET_HOOK, "header": "X-Sig"},
               {"type": "publishEvent", "eventType": "shop.order.paid"})
    sig = hmac.new(SECRET_HOOK.encode(), raw, hashlib.sha256).hexdigest()
    j = assert_json(_post_hook(srv, ev["id"], raw, {"X-Sig": sig}), 202)
    assert j["outcome"] == "published" and j["started"] == {"eventType": "shop.order.paid"}, j
    d = assert_json(srv.get(9015, "/webhooks/%s/deliveries" % hook["id"]))
    assert SECRET_TOKEN not in json.dumps(d) and d["items"][0]["headers"].get("x-hook-token") in (None, "***"), d
