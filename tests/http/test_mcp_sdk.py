"""The MCP server with an unchanged official client: tests/mcp_node/flow.mjs runs the
`@modelcontextprotocol/sdk` TypeScript client (pinned in tests/mcp_node/package-lock.json,
installed by `npm ci` into the gitignored tests/mcp_node/node_modules on first use) over
Streamable HTTP against 9000 /mcp: tools/list, create + publish a process, start it, find
its user task in the inbox, claim and complete it, see the instance completed, read the
process as a resource, end the session (docs/mcp.md)."""

import json
import os
import shutil
import subprocess
import tempfile

from exec_support import bpmn, chain

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


def test_sdk_client_runs_a_process_to_completion(srv):
    node = npm_ci()
    xml = bpmn("sdk_flow", '<bpmn:startEvent id="s"/><bpmn:userTask id="approve" name="Approve"/>'
               '<bpmn:endEvent id="e"/>' + chain("s", "approve", "e"))
    with tempfile.NamedTemporaryFile(suffix=".bpmn") as f:
        f.write(xml)
        f.flush()
        url = "http://127.0.0.1:%d/mcp" % srv.port(9000)
        r = subprocess.run([node, os.path.join(NODE_DIR, "flow.mjs"), url, srv.admin_token(), f.name],
                           capture_output=True, text=True, timeout=60)
    lines = r.stdout.strip().splitlines()
    out = json.loads(lines[-1]) if lines else {}
    assert r.returncode == 0 and out.get("ok"), "node: rc=%s out=%r stderr=%s" % (r.returncode, out, r.stderr[-800:])
    assert out["version"] == "2025-11-25" and out["state"] == "completed", out
