"""CLI contract (docs/core.md, "CLI"): exit codes, help, routes, config errors,
start-up failures, migrate and smoke."""

import json
import os
import re
import socket
import tempfile
import shutil

from harness import (PORTS, HOST, MODULES, free_offset, run_cli, Server)


def _tmpdir():
    d = tempfile.mkdtemp(prefix="fm-cli-")
    return d


def _serve_expect_fail(args, timeout=8, env=None):
    """Run `serve` that is expected to exit on its own; returns CompletedProcess.
    returncode None means it kept running (and was killed)."""
    return run_cli(["serve"] + args, timeout=timeout, env=env)


def test_version():
    r = run_cli(["version"])
    assert r.returncode == 0, "exit %s, stderr %r" % (r.returncode, r.stderr)
    assert re.search(r"^flowmaster \d+\.\d+\.\d+", r.stdout, re.M), \
        "stdout lacks 'flowmaster X.Y.Z': %r" % r.stdout
    low = r.stdout.lower()
    for lib in ("civetweb", "sqlite", "libuv", "cjson"):
        assert lib in low, "version output does not name linked library %s: %r" % (lib, r.stdout)


def test_help():
    for args in (["--help"], ["help"], ["serve", "--help"], ["migrate", "--help"],
                 ["routes", "--help"], ["smoke", "--help"], ["version", "--help"]):
        r = run_cli(args, timeout=5)
        assert r.returncode == 0, "%s: exit %s, stderr %r" % (args, r.returncode, r.stderr)
        out = r.stdout + r.stderr
        assert out.strip(), "%s printed nothing" % args
    # the top-level help names every command
    r = run_cli(["--help"], timeout=5)
    out = r.stdout + r.stderr
    for cmd in ("serve", "migrate", "routes", "smoke", "version"):
        assert cmd in out, "--help does not mention %r" % cmd
    r = run_cli(["serve", "--help"], timeout=5)
    out = r.stdout + r.stderr
    for flag in ("--config", "--data-dir", "--listen", "--port-offset", "--modules"):
        assert flag in out, "serve --help does not mention %s" % flag


def test_unknown_command_and_flag():
    r = run_cli(["frobnicate"], timeout=5)
    assert r.returncode == 2, "unknown command: exit %s" % r.returncode
    assert len(r.stderr.strip().splitlines()) == 1, \
        "unknown command: expected one line on stderr, got %r" % r.stderr
    for args in (["routes", "--bogus-flag"], ["version", "--bogus-flag"],
                 ["migrate", "--bogus-flag", "--data-dir", "/nonexistent-fm"]):
        r = run_cli(args, timeout=5)
        assert r.returncode == 2, "%s: exit %s" % (args, r.returncode)
        assert len(r.stderr.strip().splitlines()) == 1, \
            "%s: expected one line on stderr, got %r" % (args, r.stderr)
    d = _tmpdir()
    try:
        n = free_offset()
        r = _serve_expect_fail(["--bogus-flag", "--data-dir", d, "--port-offset", str(n)])
        assert r.returncode == 2, "serve --bogus-flag: exit %s (None = kept running)" % r.returncode
        assert r.stderr.strip(), "serve --bogus-flag: nothing on stderr"
        # a flag missing its value
        r = _serve_expect_fail(["--port-offset", str(n), "--data-dir"])
        assert r.returncode == 2, "serve --data-dir (no value): exit %s" % r.returncode
        assert r.stderr.strip(), "missing value: nothing on stderr"
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _routes_rows(text):
    rows = []
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 5 and f[0].isdigit():
            rows.append(f)
    return rows


def test_routes_table():
    r = run_cli(["routes"])
    assert r.returncode == 0, "exit %s: %r" % (r.returncode, r.stderr)
    rows = _routes_rows(r.stdout)
    assert rows, "no rows in: %r" % r.stdout[:500]
    ports = {int(f[0]) for f in rows}
    assert ports == set(PORTS), "ports: missing %s, extra %s" % (
        sorted(set(PORTS) - ports), sorted(ports - set(PORTS)))
    assert len(ports) == 27
    triples = {(int(f[0]), f[1], f[2], f[3]) for f in rows}
    assert (9007, "POST", "/agents/{id}/invoke", "orchestration") in triples, \
        "no row '9007 POST /agents/{id}/invoke orchestration'"
    assert (9016, "POST", "/agents/{id}/learn", "agents") in triples, \
        "no row '9016 POST /agents/{id}/learn agents'"
    assert (9003, "POST", "/processes", "design") in triples, "no row '9003 POST /processes design'"
    assert (8001, "GET", "/services", "registry") in triples, "no row '8001 GET /services registry'"
    # AUTH column: public or a permission like registry:read
    auth = {(int(f[0]), f[1], f[2]): f[4] for f in rows}
    assert auth.get((8001, "GET", "/services")) == "registry:read", \
        "AUTH of GET /services is %r" % auth.get((8001, "GET", "/services"))
    modules = {f[3] for f in rows}
    missing = set(MODULES) - modules
    assert not missing, "modules without routes: %s" % sorted(missing)


def test_routes_json():
    r = run_cli(["routes", "--json"])
    assert r.returncode == 0, "exit %s: %r" % (r.returncode, r.stderr)
    data = json.loads(r.stdout)
    assert isinstance(data, list) and data, "not a non-empty array"
    for e in data:
        assert set(e) >= {"port", "method", "pattern", "module", "auth", "implemented"}, \
            "entry lacks keys: %r" % e
        assert isinstance(e["port"], int) and isinstance(e["implemented"], bool), e
    assert {e["port"] for e in data} == set(PORTS), "ports differ from the 27 canonical ones"
    inv = [e for e in data if e["method"] == "POST" and e["pattern"] == "/agents/{id}/invoke"
           and e["port"] == 9007]
    assert inv and inv[0]["module"] == "orchestration" and inv[0]["implemented"] is True, inv
    learn = [e for e in data if e["method"] == "POST" and e["pattern"] == "/agents/{id}/learn"
             and e["port"] == 9016]
    assert learn and learn[0]["module"] == "agents", learn
    svc = [e for e in data if e["method"] == "POST" and e["pattern"] == "/services"
           and e["port"] == 8001]
    assert svc and svc[0]["implemented"] is True and svc[0]["module"] == "registry", svc
    # the table and the JSON agree
    rows = _routes_rows(run_cli(["routes"]).stdout)
    assert len(rows) == len(data), "routes prints %d rows, --json %d" % (len(rows), len(data))


def test_routes_modules_filter():
    r = run_cli(["routes", "--json", "--modules", "registry"])
    assert r.returncode == 0, "exit %s: %r" % (r.returncode, r.stderr)
    data = json.loads(r.stdout)
    # /health and /ready may be listed under a pseudo-module (the binary says "core")
    mods = {e["module"] for e in data if e["port"] == 8001
            and e["pattern"] not in ("/health", "/ready")}
    assert mods == {"registry"}, mods
    assert not [e for e in data if e["module"] == "design"], "design routes listed with --modules registry"


def _bad_config(content, line, key):
    d = _tmpdir()
    try:
        path = os.path.join(d, "fm.conf")
        with open(path, "w") as f:
            f.write(content)
        n = free_offset()
        r = _serve_expect_fail(["--config", path, "--data-dir", os.path.join(d, "data"),
                                "--port-offset", str(n)])
        assert r.returncode == 2, "exit %s for config %r (None = kept running); stderr %r" % (
            r.returncode, content, r.stderr)
        assert "%s:%d" % (path, line) in r.stderr, \
            "stderr does not say %s:%d: %r" % (path, line, r.stderr)
        assert key in r.stderr, "stderr does not name key %r: %r" % (key, r.stderr)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_config_unknown_key():
    _bad_config("# FlowMaster\n\n[server]\nthreads = 8\nno_such_key = 1\n", 5, "no_such_key")


def test_config_bad_value():
    _bad_config("[storage]\ncache_kib = 1024\n\n[server]\nthreads = lots\n", 5, "threads")
    _bad_config("[server]\nport_offset = banana\n", 2, "port_offset")


def test_config_line_without_equals():
    _bad_config("[log]\nlevel = info\nrequests\n", 3, "requests")


def test_config_good_file_and_env_override():
    """A valid file is accepted; env overrides the file (body_limit 1 MiB in file,
    1024 in env: a 2000-byte body gets 413)."""
    d = _tmpdir()
    try:
        path = os.path.join(d, "fm.conf")
        with open(path, "w") as f:
            f.write("# comment\n[server]\nbody_limit = 1048576\n"
                    "threads = 16\n\n[log]\nlevel = info\n")
        with Server(args=["--config", path], env={"FLOWMASTER_SERVER_BODY_LIMIT": "1024"},
                    wait_ports=[8001]) as s:
            r = s.req("POST", 8001, "/services", body='{"name":"%s"}' % ("x" * 2000))
            assert r.status == 413, "env did not override file body_limit: %r" % (r,)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_unwritable_data_dir():
    d = _tmpdir()
    try:
        afile = os.path.join(d, "afile")
        with open(afile, "w") as f:
            f.write("not a dir")
        bad = os.path.join(afile, "data")
        r = _serve_expect_fail(["--data-dir", bad, "--port-offset", str(free_offset())])
        assert r.returncode == 1, "exit %s (None = kept running); stderr %r" % (r.returncode, r.stderr)
        assert afile in r.stderr, "stderr does not name the path %s: %r" % (bad, r.stderr)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_busy_port():
    d = _tmpdir()
    n = free_offset()
    busy = 9003 + n
    s = socket.socket()
    try:
        s.bind((HOST, busy))
        s.listen(1)
        r = _serve_expect_fail(["--data-dir", os.path.join(d, "data"), "--port-offset", str(n)])
        assert r.returncode == 1, "exit %s (None = kept running); stderr %r" % (r.returncode, r.stderr)
        assert str(busy) in r.stderr, "stderr does not name port %d: %r" % (busy, r.stderr)
    finally:
        s.close()
        shutil.rmtree(d, ignore_errors=True)
    # nothing left listening on the other ports
    assert socket.socket().connect_ex((HOST, 8001 + n)) != 0, "port 8001+offset still open"


STATUS_ROW = re.compile(r"^(\S+)\s+(\d+)\s+(\S+)\s+(applied \d{4}-\d\d-\d\dT\S+|pending)\s*$")


def _status_rows(text):
    return [STATUS_ROW.match(l).groups() for l in text.splitlines() if STATUS_ROW.match(l)]


def test_migrate_and_status():
    d = _tmpdir()
    try:
        fresh = os.path.join(d, "fresh")
        os.mkdir(fresh)
        r = run_cli(["migrate", "--status", "--data-dir", fresh])
        assert r.returncode == 0, "status on fresh dir: exit %s %r" % (r.returncode, r.stderr)
        rows = _status_rows(r.stdout)
        assert rows, "no 'MODULE VERSION NAME STATUS' rows: %r" % r.stdout[:500]
        assert all(x[3] == "pending" for x in rows), "fresh dir has non-pending rows: %r" % rows
        assert any(x[0] == "registry" for x in rows), "no registry migration listed"

        data = os.path.join(d, "data")
        r = run_cli(["migrate", "--data-dir", data])
        assert r.returncode == 0, "migrate: exit %s %r" % (r.returncode, r.stderr)
        r = run_cli(["migrate", "--status", "--data-dir", data])
        assert r.returncode == 0, "status: exit %s %r" % (r.returncode, r.stderr)
        rows2 = _status_rows(r.stdout)
        assert rows2 and all(x[3].startswith("applied ") for x in rows2), \
            "after migrate not all applied: %r" % r.stdout[:800]
        assert len(rows2) == len(rows), "row count differs: %d vs %d" % (len(rows2), len(rows))
        assert os.path.exists(os.path.join(data, "registry.db")), "no registry.db in data dir"
        # idempotent
        r = run_cli(["migrate", "--data-dir", data])
        assert r.returncode == 0, "second migrate: exit %s %r" % (r.returncode, r.stderr)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_smoke_against_running_server(srv):
    r = run_cli(["smoke", "--port-offset", str(srv.offset)], timeout=30)
    assert r.returncode == 0, "exit %s; stdout %r stderr %r" % (r.returncode, r.stdout[-800:], r.stderr[-400:])
    tokens = set(r.stdout.split())
    missing = [p for p in PORTS if str(p) not in tokens and str(p + srv.offset) not in tokens]
    assert not missing, "smoke output lacks ports %s" % missing


def test_smoke_against_nothing():
    n = free_offset()
    r = run_cli(["smoke", "--port-offset", str(n)], timeout=30)
    assert r.returncode not in (0, None), "smoke with nothing running: exit %s" % r.returncode
