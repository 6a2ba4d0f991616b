"""WebSocket Gateway (9010, docs/websocket.md): real clients — the npm `ws` package for the
JSON protocol and a stock `socket.io-client` for Socket.IO v4 — driven by
tests/ws_node/client.mjs (pinned in tests/ws_node/package-lock.json, installed by `npm ci`
into the gitignored tests/ws_node/node_modules on first use). Node is for tests only.

Covers: refusal before the upgrade (no token, bad token, no realtime:connect), the port's
plain HTTP through the core router, engine and task events of a real instance arriving
with their real types, tenant isolation, the publish permission, presence join/leave,
a client that stops reading closed with 1013 while another receives everything, a
Socket.IO client receiving an event, and bad frames answered with error messages."""

import json
import os
import shutil
import subprocess

from harness import Server, assert_problem, http_request, wait_until
import exec_support as ex

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_DIR = os.path.join(os.path.dirname(HERE), "ws_node")
FIXTURES = {}


def npm_ci():
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "node and npm are needed for this test (scripts/deps.sh test installs them)"
    with open(os.path.join(NODE_DIR, "package-lock.json")) as f:
        lock = json.load(f)["packages"]
    ok = True
    for pkg in ("ws", "socket.io-client"):
        try:
            with open(os.path.join(NODE_DIR, "node_modules", pkg, "package.json")) as f:
                ok = ok and json.load(f)["version"] == lock["node_modules/" + pkg]["version"]
        except (OSError, ValueError, KeyError):
            ok = False
    if not ok:
        r = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                           cwd=NODE_DIR, capture_output=True, text=True, timeout=180)
        assert r.returncode == 0, "npm ci failed: %s" % (r.stderr or r.stdout)[-800:]
    return node


class Client:
    """One Node client process (client.mjs) with its spec."""

    def __init__(self, srv, token=None, path="/connect", proto="ws", **spec):
        self.node = npm_ci()
        scheme = "http" if proto == "sio" else "ws"
        url = "%s://127.0.0.1:%d%s" % (scheme, 9010 + srv.offset, "" if proto == "sio" else path)
        if token and proto == "ws" and not spec.pop("header_token", False):
            url += ("&" if "?" in url else "?") + "access_token=" + token
        spec.update(url=url, proto=proto, token=token)
        spec.setdefault("timeout_ms", 10000)
        self.proc = subprocess.Popen([self.node, os.path.join(NODE_DIR, "client.mjs"), json.dumps(spec)],
                                     cwd=NODE_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.done = None

    def ready(self):
        """Waits for the ready line (every sent message answered); False if it ended first."""
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError("client ended early: %s" % self.proc.stderr.read()[-1500:])
            msg = json.loads(line)
            if msg.get("ready"):
                return True
            if msg.get("done"):
                self.done = msg
                return False

    def resume(self):
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def result(self):
        if self.done is None:
            for line in self.proc.stdout:
                msg = json.loads(line)
                if msg.get("done"):
                    self.done = msg
                    break
            self.proc.wait(timeout=30)
        assert self.done is not None, "client printed no result: %s" % self.proc.stderr.read()[-1500:]
        return self.done


def kinds(res, kind):
    return [r["payload"] for r in res["received"] if r["kind"] == kind]


def token(h):
    return h["Authorization"][7:]


UPGRADE = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
           "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}


def test_refused_before_upgrade(srv):
    r = http_request(9010 + srv.offset, "GET", "/connect", headers=UPGRADE)
    assert_problem(r, 401)
    r = http_request(9010 + srv.offset, "GET", "/connect?access_token=not.a.jwt", headers=UPGRADE)
    assert_problem(r, 401)
    # a viewer holds *:read but not realtime:connect
    viewer = srv.tenant_headers("default", roles=("viewer",), email="viewer@ws.test")
    r = http_request(9010 + srv.offset, "GET", "/connect?access_token=" + token(viewer), headers=UPGRADE)
    assert_problem(r, 403)
    # the Node client sees the same refusal
    res = Client(srv, token="bad").result()
    assert res["http"] == 401 and json.loads(res["httpBody"])["status"] == 401, res
    # a bad channel name is refused before the upgrade too
    r = http_request(9010 + srv.offset, "GET", "/channels/%24bad/subscribe?access_token=" + srv.admin_token(),
                     headers=UPGRADE)
    assert_problem(r, 422)


def test_port_plain_http_goes_through_the_router(srv):
    r = srv.req("GET", 9010, "/health")
    assert r.status == 200 and r.json["module"] == "websocket", r
    r = srv.req("GET", 9010, "/connect")        # no Upgrade: said so, with the router's auth
    assert_problem(r, 426)
    assert r.headers.get("upgrade") == "websocket"
    assert_problem(http_request(9010 + srv.offset, "GET", "/connect"), 401)
    assert_problem(srv.req("GET", 9010, "/nothing/here"), 404)


def test_engine_events_arrive_with_their_types(srv):
    c = Client(srv, token=srv.admin_token(), until=["task.created", "execution.instance.completed"],
               send=[{"type": "subscribe", "events": "execution.instance.*", "id": 1},
                     {"type": "subscribe", "events": "task.>", "id": "two"}])
    assert c.ready()
    pid = "ws_review"
    body = ('<bpmn:startEvent id="s"/><bpmn:userTask id="review" name="Review"/><bpmn:endEvent id="e"/>'
            + ex.chain("s", "review", "e"))
    ex.deploy(srv, ex.bpmn(pid, body))
    inst = ex.start(srv, pid)
    tid = ex.wait_task(srv, inst["id"], "review")
    r = ex.respond(srv, tid, {"ok": True})
    assert r.status == 200, r
    res = c.result()
    acks = kinds(res, "ack")
    assert [a["id"] for a in acks] == [1, "two"] and all(a["ok"] for a in acks), acks
    types = [e["type"] for e in kinds(res, "event")]
    assert "task.created" in types and "execution.instance.completed" in types, types
    done = [e for e in kinds(res, "event") if e["type"] == "execution.instance.completed"][0]
    assert done["tenantid"] == "default" and done["specversion"] == "1.0", done
    assert inst["id"] in json.dumps(done), done
    assert not [t for t in types if t.startswith("execution.element.")], types


def test_tenants_are_isolated(srv):
    other = srv.tenant_headers("wsother")
    a = Client(srv, token=srv.admin_token(), until=["message"],
               send=[{"type": "subscribe", "events": ">", "id": 1}, {"type": "subscribe", "channel": "shared", "id": 2}])
    b = Client(srv, token=token(other), timeout_ms=2500,
               send=[{"type": "subscribe", "events": ">", "id": 1}, {"type": "subscribe", "channel": "shared", "id": 2}])
    assert a.ready() and b.ready()
    p = Client(srv, token=srv.admin_token(), timeout_ms=1500,
               send=[{"type": "publish", "channel": "shared", "data": {"secret": "tenant-a"}, "id": 1}])
    assert p.ready()
    ex.deploy(srv, ex.bpmn("ws_iso", '<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>' + ex.chain("s", "e")))
    ex.start(srv, "ws_iso")
    ra, rb = a.result(), b.result()
    assert kinds(ra, "message") and kinds(ra, "message")[0]["data"] == {"secret": "tenant-a"}, ra
    assert "tenant-a" not in json.dumps(rb["received"]) and not kinds(rb, "event") and not kinds(rb, "message"), rb
    # presence does not cross tenants either: each is alone in its "shared"
    assert not kinds(ra, "presence") and not kinds(rb, "presence"), (ra, rb)
    p.result()


def test_publish_needs_permission(srv):
    operator = srv.tenant_headers("default", roles=("operator",), email="operator@ws.test")
    c = Client(srv, token=token(operator), timeout_ms=2000,
               send=[{"type": "publish", "channel": "ops", "data": 1, "id": "p1"}])
    assert c.ready()
    res = c.result()
    errs = kinds(res, "error")
    assert errs and errs[0]["id"] == "p1" and errs[0]["code"] == "forbidden", res
    assert "realtime:publish" in errs[0]["message"]


def test_presence_join_leave_and_list(srv):
    a = Client(srv, token=srv.admin_token(), path="/channels/room1/subscribe",
               until=["presence:join", "presence:leave"], timeout_ms=8000, send=[])
    assert a.ready()
    participant = srv.tenant_headers("default", roles=("participant",), email="part@ws.test")
    b = Client(srv, token=token(participant), timeout_ms=1200,
               send=[{"type": "subscribe", "channel": "room1", "id": 1},
                     {"type": "presence", "channel": "room1", "id": 2}])
    assert b.ready()
    rb = b.result()          # b leaves when its timeout ends
    ra = a.result()
    members = [x for x in kinds(rb, "ack") if x["id"] == 2][0]["members"]
    assert len(members) == 2 and len({m["user"] for m in members}) == 2, members
    pres = kinds(ra, "presence")
    assert [p["event"] for p in pres] == ["join", "leave"], pres
    assert pres[0]["channel"] == "room1" and pres[0]["user"] == pres[1]["user"] != "", pres


def test_slow_client_closed_others_keep_receiving(srv):
    n = 400     # 24 MB: more than the kernel's socket buffers and the 4 MiB queue hold
    fast = Client(srv, token=srv.admin_token(), until=["message"], count=n, timeout_ms=60000,
                  send=[{"type": "subscribe", "channel": "flood", "id": 1}])
    slow = Client(srv, token=srv.admin_token(), pause=True, timeout_ms=60000,
                  send=[{"type": "subscribe", "channel": "flood", "id": 1}])
    assert fast.ready() and slow.ready()
    pub = Client(srv, token=srv.admin_token(), timeout_ms=60000, exit_when_ready=True,
                 flood={"channel": "flood", "n": n, "size": 60000})
    assert pub.ready()
    rp = pub.result()
    ok = [a for a in kinds(rp, "ack") if a["ok"]]
    assert len(ok) == n, "publishes not acknowledged: %r" % rp["received"][:3]
    rf = fast.result()
    slow.resume()       # it reads again: what the kernel held, then the close frame
    rs = slow.result()
    got = [m["data"]["i"] for m in kinds(rf, "message")]
    assert got == list(range(n)), "fast client got %d of %d" % (len(got), n)
    assert rs["close"] and rs["close"].get("code") == 1013, rs["close"]
    assert len(kinds(rs, "message")) < n
    assert srv.req("GET", 9010, "/health").status == 200


def test_socketio_client_receives_events(srv):
    c = Client(srv, token=srv.admin_token(), proto="sio", until=["execution.instance.completed", "message"],
               send=[["subscribe", {"events": "execution.instance.>"}], ["subscribe", {"channel": "sio"}],
                     ["publish", {"channel": "sio", "data": {"hello": "socket.io"}}],
                     ["presence", {"channel": "sio"}], ["subscribe", {"events": "bad..pattern"}]])
    assert c.ready()
    ex.deploy(srv, ex.bpmn("ws_sio", '<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>' + ex.chain("s", "e")))
    inst = ex.start(srv, "ws_sio")
    res = c.result()
    acks = kinds(res, "ack")
    assert [a["ok"] for a in acks] == [True, True, True, True, False], acks
    assert acks[3]["members"][0]["user"] and acks[4]["code"] == "invalid-pattern", acks
    evs = [e for e in kinds(res, "event") if e["type"] == "execution.instance.completed"]
    assert evs and evs[0]["subject"] and inst["id"] in json.dumps(evs[0]), res
    assert kinds(res, "message")[0]["data"] == {"hello": "socket.io"}
    # refused without a token, before the upgrade
    bad = Client(srv, token=None, proto="sio", timeout_ms=3000).result()
    assert bad["http"] and not kinds(bad, "event"), bad


def test_bad_frames_get_error_messages(srv):
    deep = "[" * 40 + "]" * 40
    c = Client(srv, token=srv.admin_token(), timeout_ms=2500, binary=True,
               raw=["not json", "[1,2]", deep, '{"type": "subscribe", "events": "a..b"}',
                    '{"type": "nope"}', '{"type": "subscribe"}', '{"type": "publish", "channel": "x y"}',
                    '{"type": "ping", "id": {"no": 1}}', '{"a": 1} trailing'],
               send=[{"type": "ping", "id": "alive"}])
    assert c.ready()
    res = c.result()
    errs = kinds(res, "error")
    codes = [e["code"] for e in errs]
    for want in ("invalid-json", "invalid-message", "invalid-pattern", "unknown-type", "invalid-channel"):
        assert want in codes, (want, codes)
    assert any(p["id"] == "alive" for p in kinds(res, "pong")), res
    assert srv.req("GET", 9010, "/health").status == 200
    # a message over 64 KiB closes with 1009; the server goes on
    big = Client(srv, token=srv.admin_token(), timeout_ms=3000,
                 raw=[json.dumps({"type": "publish", "channel": "big", "data": "y" * 70000})]).result()
    assert big["close"] and big["close"]["code"] == 1009, big
    assert srv.req("GET", 9010, "/health").status == 200
