"""Process lifecycle: graceful SIGTERM, persistence across restarts, request logs,
--modules subsets."""

import json
import signal
import os
import shutil
import socket
import tempfile
import time

from harness import (Server, PORTS, HOST, assert_json, parse_time, run_cli, unique_name, wait_until)


def test_sigterm_restart_keeps_data():
    root = tempfile.mkdtemp(prefix="fm-life-")
    data = os.path.join(root, "data")
    try:
        s1 = Server(data_dir=data)
        name = unique_name("persist")
        r = s1.req("POST", 8001, "/services",
                   body={"name": name, "url": "http://127.0.0.1:7000", "ttlSeconds": 3600,
                         "metadata": {"k": "v"}})
        it = assert_json(r, 201)
        rid = "lifecycle-rid-42"
        assert s1.get(8001, "/services/" + it["id"], headers={"X-Request-Id": rid}).status == 200

        t0 = time.monotonic()
        rc = s1.stop(timeout=15)
        took = time.monotonic() - t0
        assert rc == 0, "exit code after SIGTERM %r; stderr %s" % (rc, s1.stderr_tail())
        assert took < 15, "shutdown took %.1fs" % took
        off = s1.offset
        assert socket.socket().connect_ex((HOST, 8001 + off)) != 0, "port still open after exit"

        # logs: one JSON object per line, a request line with our id
        lines = [l for l in s1.stderr().splitlines() if l.strip()]
        assert lines, "nothing logged on stderr"
        objs = []
        for l in lines:
            try:
                o = json.loads(l)
            except ValueError:
                raise AssertionError("stderr line is not JSON: %r" % l[:200])
            assert isinstance(o, dict), "log line is not an object: %r" % l[:200]
            objs.append(o)
        mine = [o for o in objs if o.get("msg") == "request" and o.get("rid") == rid]
        assert len(mine) == 1, "request log lines with rid %s: %d" % (rid, len(mine))
        o = mine[0]
        for k in ("ts", "level", "method", "path", "port", "module", "route", "status", "ms"):
            assert k in o, "request log line lacks %r: %r" % (k, o)
        assert o["method"] == "GET" and o["status"] == 200 and o["module"] == "registry", o
        assert o["path"] == "/services/" + it["id"], o
        assert o["level"] == "info", o
        assert isinstance(o["ms"], (int, float)), o
        reqs = [o for o in objs if o.get("msg") == "request"]
        assert all(o.get("rid") for o in reqs), "request line without rid"
        s1.close()

        # serve applied the migrations at start
        st = run_cli(["migrate", "--status", "--data-dir", data])
        assert st.returncode == 0, "migrate --status: exit %s %r" % (st.returncode, st.stderr)
        rows = [l.split() for l in st.stdout.splitlines() if l.split()[-1:] == ["pending"]
                or "applied" in l.split()]
        assert rows and all("applied" in r for r in rows), \
            "after serve, migrations not all applied: %r" % st.stdout

        s2 = Server(data_dir=data)
        try:
            got = assert_json(s2.get(8001, "/services/" + it["id"]))
            assert got["name"] == name and got["metadata"] == {"k": "v"}, got
            assert got["ttlSeconds"] == 3600, got
            d = abs((parse_time(got["expiresAt"]) - parse_time(it["expiresAt"])).total_seconds())
            assert d < 1.0, "expiresAt changed across restart: %s -> %s" % (
                it["expiresAt"], got["expiresAt"])
            got = assert_json(s2.get(8001, "/services/" + name))
            assert got["id"] == it["id"]
            ready = assert_json(s2.get(8001, "/ready"))
            assert ready["status"] == "ready", ready
        finally:
            s2.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _external_ip():
    """A non-loopback address of this host, or None."""
    for target in ("10.255.255.255", "192.0.2.1", "8.8.8.8"):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.connect((target, 9))  # UDP: nothing is sent
            ip = u.getsockname()[0]
            if not ip.startswith("127.") and ip != "0.0.0.0":
                return ip
        except OSError:
            pass
        finally:
            u.close()
    return None


def test_modules_subset():
    # auth comes along: without it nobody can get a token for the registry's routes
    with Server(modules="registry,auth") as s:
        h = assert_json(s.get(8001, "/health"))
        assert h["modules"] == ["registry"], h
        assert assert_json(s.get(8001, "/ready"))["status"] == "ready"
        open_ports = []
        for p in PORTS:
            if p in (8001, 8002):
                continue
            c = socket.socket()
            c.settimeout(1)
            if c.connect_ex((HOST, p + s.offset)) == 0:
                open_ports.append(p)
            c.close()
        assert not open_ports, "ports listening with --modules registry,auth: %s" % open_ports
        # the default listen address is loopback only
        ip = _external_ip()
        if ip:
            c = socket.socket()
            c.settimeout(1)
            assert c.connect_ex((ip, 8001 + s.offset)) != 0, \
                "default listen address accepts on %s (expected 127.0.0.1 only)" % ip
            c.close()
        j = assert_json(s.get(8001, "/services"))
        mods = sorted(i["name"] for i in j["items"] if i["kind"] == "module")
        assert mods == ["auth", "registry"], "modules listed: %r" % mods
        # smoke with the same subset passes
        sm = run_cli(["smoke", "--port-offset", str(s.offset), "--modules", "registry,auth"], timeout=20)
        assert sm.returncode == 0, "smoke --modules registry,auth: exit %s %r" % (sm.returncode, sm.stdout)
        # the registry works
        r = s.req("POST", 8001, "/services", body={"name": unique_name(), "url": "http://127.0.0.1:1"})
        assert r.status == 201, r


def test_modules_env_config():
    """[modules] enabled via the environment selects the same subset."""
    with Server(env={"FLOWMASTER_MODULES_ENABLED": "registry,design"},
                wait_ports=[8001, 9003]) as s:
        assert assert_json(s.get(9003, "/health"))["modules"] == ["design"]
        c = socket.socket()
        c.settimeout(1)
        assert c.connect_ex((HOST, 9007 + s.offset)) != 0, "9007 listening"
        c.close()


def test_sigint_exits_zero():
    s = Server(modules="registry")
    try:
        wait_until(lambda: s.get(8001, "/ready").status == 200, timeout=5, what="/ready 200")
        s.proc.send_signal(signal.SIGINT)
        rc = s.proc.wait(15)
        assert rc == 0, "exit code after SIGINT %r" % rc
    finally:
        s.close()



def test_listen_address():
    """--listen binds the given address only; smoke --host reaches it."""
    with Server(modules="registry", args=["--listen", "127.0.0.2"], host="127.0.0.2") as s:
        h = assert_json(s.get(8001, "/health"))
        assert h["port"] == 8001
        c = socket.socket()
        c.settimeout(1)
        assert c.connect_ex(("127.0.0.1", 8001 + s.offset)) != 0, \
            "--listen 127.0.0.2 also accepts on 127.0.0.1"
        c.close()
        sm = run_cli(["smoke", "--host", "127.0.0.2", "--port-offset", str(s.offset),
                      "--modules", "registry"], timeout=20)
        assert sm.returncode == 0, "smoke --host 127.0.0.2: exit %s %r" % (sm.returncode, sm.stdout)
