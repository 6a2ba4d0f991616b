"""A newcomer's first start (issue 12 item 3, docs/core.md "Starting"): the start-up
summary on stdout (URLs with the offset, the admin, the generated password only on the
start that made it, a sign-in command that works as printed), the first administrator
made only once every port is bound, and one clear line for a taken port."""

import os
import sqlite3
import subprocess
import tempfile

from harness import Server, run_cli, wait_until, HOST, ADMIN_EMAIL, PORTS


def _stdout(s, after=0):
    """stdout of s from byte `after`, once its start-up summary is complete (it follows
    the moment the ports accept)."""
    def read():
        with open(s.stdout_path, encoding="utf-8", errors="replace") as f:
            text = f.read()[after:]
        return text if text.count("-" * 72) >= 2 else None
    return wait_until(read, timeout=10, what="the start-up summary")


def _summary_line(text, label):
    for line in text.splitlines():
        if line.strip().startswith(label):
            return line.strip()
    raise AssertionError("no %r line in the start-up summary:\n%s" % (label, text))


def test_startup_summary_and_generated_password():
    # no FLOWMASTER_AUTH_ADMIN_PASSWORD: the first start generates one
    s = Server(env={"FLOWMASTER_AUTH_ADMIN_PASSWORD": ""})
    try:
        out = _stdout(s)
        assert "FlowMaster is serving" in out, out
        for label, port in (("API", 9000), ("Frontend", 3000), ("Engage", 3001),
                            ("Designer", 3002), ("Manager", 3005)):
            line = _summary_line(out, label)
            assert line.endswith("http://%s:%d/" % (HOST, port + s.offset)), line
        assert _summary_line(out, "Admin").endswith(ADMIN_EMAIL)
        password = _summary_line(out, "Password").split()[1]
        assert len(password) >= 20, password
        # the sign-in command runs as printed and prints a token the API accepts
        cmd = [l.strip() for l in out.splitlines() if l.strip().startswith("curl ")]
        assert len(cmd) == 1, out
        assert password in cmd[0] and ":%d/auth/login" % (8002 + s.offset) in cmd[0], cmd
        r = subprocess.run(["sh", "-c", cmd[0]], capture_output=True, text=True, timeout=20)
        token = r.stdout.strip()
        assert r.returncode == 0 and token.count(".") == 2, r
        h = {"Authorization": "Bearer " + token, "X-Tenant-Id": "default"}
        assert s.req("GET", 8001, "/services?limit=1", headers=h).status == 200
        assert s.stop() == 0
        # the next start shows the admin but no password (it exists only as a hash now)
        s.start()
        out2 = _stdout(s, len(out))
        assert "FlowMaster is serving" in out2 and ADMIN_EMAIL in out2, out2
        assert password not in out2 and "Password" not in out2, out2
        assert '"password":"PASSWORD"' in out2, out2
    finally:
        s.stop()


def test_busy_port_one_line_and_no_bootstrap():
    first = Server()
    second_dir = tempfile.mkdtemp(prefix="fm-busy-")
    r = run_cli(["serve", "--data-dir", second_dir, "--port-offset", str(first.offset)],
                env={"FLOWMASTER_AUTH_ADMIN_PASSWORD": ""}, timeout=20)
    first_alive = first.proc.poll() is None
    first.stop()
    assert first_alive
    assert r.returncode not in (0, None), r
    err_lines = [l for l in r.stderr.splitlines() if l.strip()]
    # one log line and the same words on the last line, not one per port
    assert len(err_lines) <= 3, r.stderr
    last = err_lines[-1]
    assert last.startswith("flowmaster: port ") and "already in use" in last, last
    busy = int(last.split()[2])
    assert busy - first.offset in PORTS, last
    assert "by pid %d (flowmaster)" % first.proc.pid in last, last
    assert "--port-offset" in last and "ephemeral" in last, last
    # nothing of the first start happened in the second data dir, no password shown
    assert "password" not in r.stderr.lower() and "Password" not in r.stdout, (r.stdout, r.stderr)
    db = os.path.join(second_dir, "auth.db")
    if os.path.exists(db):
        c = sqlite3.connect(db)
        try:
            assert c.execute("SELECT count(*) FROM users").fetchone()[0] == 0
            assert c.execute("SELECT count(*) FROM tenants").fetchone()[0] == 0
        finally:
            c.close()
