"""The MCP server with an unchanged official client: tests/mcp_node/flow.mjs runs the
`@modelcontextprotocol/sdk` TypeScript client (pinned in tests/mcp_node/package-lock.json,
installed by `npm ci` into the gitignored tests/mcp_node/node_modules on first use) over
Streamable HTTP against 9000 /mcp: tools/list, create + publish a process, start it, find
its user task in the inbox, claim and complete it, see the instance completed, read the
process as a resource, end the session (docs/mcp.md). The same flow runs over stdio through
`flowmaster mcp --url …` (the SDK's StdioClientTransport launching the binary)."""

import json
import os
import shutil
import subprocess
import tempfile

from exec_support import bpmn, chain
from harness import ADMIN_EMAIL, ADMIN_PASSWORD, binary

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NODE_DIR = os.path.join(REPO, "tests", "mcp_node")
SDK = "@modelcontextprotocol/sdk"


def npm_ci():
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "node and npm are needed for this test (scripts/deps.sh test installs them)"
    with open(os.path.join(NODE_DIR, "package-lock.json")) as f:
        want = json.load(f)["packages"]["node_modules/" + SDK]["version"]
    have = None
    try:
        with open(os.path.join(NODE_DIR, "node_modules", SDK, "package.json")) as f:
            have = json.load(f)["version"]
    except (OSError, ValueError):
        pass
    if have != want:
        r = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                           cwd=NODE_DIR, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, "npm ci failed: %s" % (r.stderr or r.stdout)[-800:]
    return node


def run_flow(srv, stdio):
    node = npm_ci()
    xml = bpmn("sdk_flow", '<bpmn:startEvent id="s"/><bpmn:userTask id="approve" name="Approve"/>'
               '<bpmn:endEvent id="e"/>' + chain("s", "approve", "e"))
    with tempfile.NamedTemporaryFile(suffix=".bpmn") as f:
        f.write(xml)
        f.flush()
        url = "http://127.0.0.1:%d/mcp" % srv.port(9000)
        r = subprocess.run([node, os.path.join(NODE_DIR, "flow.mjs"), url, srv.admin_token(), f.name]
                           + ([os.path.abspath(binary())] if stdio else []),
                           capture_output=True, text=True, timeout=60)
    lines = r.stdout.strip().splitlines()
    out = json.loads(lines[-1]) if lines else {}
    assert r.returncode == 0 and out.get("ok"), "node: rc=%s out=%r stderr=%s" % (r.returncode, out, r.stderr[-800:])
    assert out["state"] == "completed", out
    return out


def test_sdk_client_runs_a_process_to_completion(srv):
    assert run_flow(srv, False)["version"] == "2025-11-25"


def test_sdk_client_over_stdio(srv):
    assert run_flow(srv, True)["version"] == "stdio"


def test_stdio_writes_only_json_rpc(srv):
    """flowmaster mcp: one answer line per request (also when the server streams it as
    SSE), nothing for notifications, the
    server's refusal (no token) as a JSON-RPC error of that id, logs on stderr."""
    url = "http://127.0.0.1:%d" % srv.port(9000)
    lines = [{"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}},
             {"jsonrpc": "2.0", "method": "notifications/initialized"},
             {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "evaluate_feel",
                                                                        "arguments": {"expression": "2 * 21"}}},
             # a progress token: the server answers an SSE stream, stdout still gets one line
             {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
                 "name": "evaluate_feel", "arguments": {"expression": "1 + 1"}, "_meta": {"progressToken": "p"}}}]
    text = "\n".join(json.dumps(m) for m in lines) + "\n\n"
    env = dict(os.environ, FLOWMASTER_MCP_TOKEN=srv.admin_token())
    r = subprocess.run([binary(), "mcp", "--url", url, "--tenant", "default"], input=text, env=env,
                       capture_output=True, text=True, timeout=30)
    out = [json.loads(x) for x in r.stdout.splitlines()]
    assert r.returncode == 0 and [m["id"] for m in out] == [1, 2, 3], (r.returncode, r.stdout, r.stderr)
    assert out[2]["result"]["structuredContent"]["result"] == 2, out[2]
    assert out[0]["result"]["protocolVersion"] == "2025-06-18"
    assert out[1]["result"]["structuredContent"]["result"] == 42, out[1]
    assert "forwarding" in r.stderr
    env.pop("FLOWMASTER_MCP_TOKEN")
    r = subprocess.run([binary(), "mcp", "--url", url], input=json.dumps(lines[0]) + "\n", env=env,
                       capture_output=True, text=True, timeout=30)
    out = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(out) == 1 and out[0]["id"] == 1 and "HTTP 401" in out[0]["error"]["message"], r.stdout


def test_oauth_flow_of_an_mcp_client(srv):
    """The SDK's own OAuth client: 401 → RFC 9728 → RFC 8414 → RFC 7591 registration →
    code + PKCE with resource=<our /mcp> (sign-in page driven by oauth.mjs) → token whose
    audience names the MCP resource → tools/list."""
    node = npm_ci()
    url = "http://127.0.0.1:%d/mcp" % srv.port(9000)
    r = subprocess.run([node, os.path.join(NODE_DIR, "oauth.mjs"), url, ADMIN_EMAIL, ADMIN_PASSWORD, "default"],
                       capture_output=True, text=True, timeout=60)
    lines = r.stdout.strip().splitlines()
    out = json.loads(lines[-1]) if lines else {}
    assert r.returncode == 0 and out.get("ok"), "node: rc=%s out=%r stderr=%s" % (r.returncode, out, r.stderr[-800:])
    assert out["seen"][:3] == ["registered", "authorize", "token"], out["seen"]
    assert out["resource"] == url and out["aud"] == ["flowmaster", url], out
    assert out["tools"] >= 20 and out["clientId"].startswith("cli_"), out


def test_stdio_finds_the_server_of_its_data_dir(srv):
    """flowmaster mcp --data-dir: the server serving that directory (its serve.json), and a
    token it signs itself (service account mcp-stdio) when none is given."""
    with open(os.path.join(srv.data_dir, "serve.json")) as f:
        run = json.load(f)
    assert run["portOffset"] == srv.offset and run["pid"] == srv.proc.pid, run
    lines = [{"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}},
             {"jsonrpc": "2.0", "method": "notifications/initialized"},
             {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
              "params": {"name": "list_processes", "arguments": {"limit": 1}}}]
    env = {k: v for k, v in os.environ.items() if k != "FLOWMASTER_MCP_TOKEN"}
    r = subprocess.run([binary(), "mcp", "--data-dir", srv.data_dir], input="\n".join(json.dumps(m) for m in lines),
                       env=env, capture_output=True, text=True, timeout=30)
    out = [json.loads(x) for x in r.stdout.splitlines()]
    assert r.returncode == 0 and [m["id"] for m in out] == [1, 2], (r.stdout, r.stderr)
    assert "items" in out[1]["result"]["structuredContent"], out[1]
    assert "127.0.0.1:%d/mcp" % srv.port(9000) in r.stderr
    # a directory nobody serves: exit 1, the reason on stderr, nothing on stdout
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run([binary(), "mcp", "--data-dir", d], input=json.dumps(lines[0]) + "\n", env=env,
                           capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and not r.stdout and "no server is serving" in r.stderr, (r.returncode, r.stderr)
