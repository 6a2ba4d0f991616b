"""The official MCP conformance suite (`@modelcontextprotocol/conformance` 0.1.13, pinned
in tests/mcp_node/package-lock.json; later versions need Node 22) in server mode against
9000 /mcp. The suite sends no token, so its server runs with the documented loopback-only
option mcp.anonymous_tenant / mcp.anonymous_role (docs/mcp.md). Every scenario must pass
except those in tests/mcp_node/conformance-baseline.yml (the suite's fixture tools,
prompts and resources, and what is not built yet, each with its reason); the suite itself
fails the run on a failure outside the baseline and on a baseline entry that passes.
Skipped with a clear message only when Node is absent."""

import os
import shutil
import subprocess
import tempfile

from harness import Server, Skip, binary, free_offset
from test_mcp_sdk import NODE_DIR, npm_ci

ANON = {"FLOWMASTER_MCP_ANONYMOUS_TENANT": "default", "FLOWMASTER_MCP_ANONYMOUS_ROLE": "operator"}
FIXTURES = {"anon": lambda: Server(env=ANON)}


def test_conformance_suite_passes_outside_the_baseline(anon):
    if not shutil.which("node"):
        raise Skip("node is not installed: the MCP conformance suite (npm) cannot run")
    node = npm_ci()
    suite = os.path.join(NODE_DIR, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js")
    url = "http://127.0.0.1:%d/mcp" % anon.port(9000)
    with tempfile.TemporaryDirectory() as out:
        r = subprocess.run([node, suite, "server", "--url", url, "--expected-failures",
                            os.path.join(NODE_DIR, "conformance-baseline.yml"), "-o", out],
                           capture_output=True, text=True, timeout=240)
    text = r.stdout + r.stderr
    summary = text[text.find("=== SUMMARY"):] if "=== SUMMARY" in text else text[-3000:]
    assert r.returncode == 0, "conformance suite failed (rc=%d):\n%s" % (r.returncode, summary[-4000:])
    for must in ("server-initialize", "ping", "tools-list", "resources-list", "prompts-list",
                 "logging-set-level", "completion-complete", "server-sse-multiple-streams",
                 "resources-subscribe", "resources-unsubscribe",
                 "dns-rebinding-protection"):
        assert "✓ %s:" % must in summary, "%s did not pass:\n%s" % (must, summary)


def test_anonymous_mode_needs_loopback_and_a_builtin_role():
    for extra, why in (({"FLOWMASTER_SERVER_LISTEN": "0.0.0.0"}, "loopback"),
                       ({"FLOWMASTER_MCP_ANONYMOUS_ROLE": "no-such-role"}, "built-in role")):
        env = dict(os.environ, **ANON)
        env.update(extra)
        env.setdefault("FLOWMASTER_AUTH_ADMIN_PASSWORD", "admin-pass-0123456789")
        with tempfile.TemporaryDirectory() as d:
            r = subprocess.run([binary(), "serve", "--data-dir", d, "--port-offset", str(free_offset())],
                               env=env, capture_output=True, text=True, timeout=30)
        assert r.returncode != 0 and why in r.stderr, "rc=%d stderr=%s" % (r.returncode, r.stderr[-800:])


def test_without_the_option_no_token_is_401(srv):
    r = srv.req("POST", 9000, "/mcp", body={"jsonrpc": "2.0", "id": 1, "method": "initialize",
                                             "params": {"protocolVersion": "2025-11-25"}}, auth=False)
    assert r.status == 401, r
