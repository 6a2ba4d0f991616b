"""Engage (3001) in a real browser (issue 18): tests/browser/engage_journey.mjs drives
Debian's Chromium with playwright-core against a server this test starts — sign in
through the real OIDC page (8002), reach the task a started process made and claim it
with the keyboard alone (its process diagram shows it highlighted), axe-core on the inbox
and the task (no serious violation), submit its
form-js form with an invalid value (form-js's error) and a valid one, refresh the tokens, answer a JSON
Schema task the server refuses with a 422 shown beside the field, comment, sign out (the refresh token is refused after).
The instance is then checked completed through the API. Screenshots are kept in a
temp dir (FM_WEB_ARTIFACTS, or /tmp/fm-web-engage-*), named in the test's output.

Node and Chromium are test tools (scripts/deps.sh test installs them); `npm ci` runs once
into tests/browser/node_modules (gitignored) while the installed playwright-core
differs from the lock file."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from xml.sax.saxutils import escape

from exec_support import deploy, start, wait_state, wait_task
from harness import ADMIN_EMAIL, ADMIN_PASSWORD, REPO, Server, Skip, assert_json

BROWSER_DIR = os.path.join(REPO, "tests", "browser")
CHROMIUM = "/usr/bin/chromium"

FIXTURES = {"web": lambda: Server()}

FORM = {
    "components": [
        {"label": "Amount approved", "type": "number", "id": "Field_amount", "key": "approvedAmount",
         "validate": {"required": True, "min": 0, "max": 5000}},
        {"label": "Comment", "type": "textfield", "id": "Field_comment", "key": "comment",
         "validate": {"required": True}},
        {"action": "submit", "label": "Submit", "type": "button", "id": "Field_submit"},
    ],
    "type": "default", "id": "engage-approval", "schemaVersion": 16,
}

PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="Defs_engage" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="Process_engage" name="Engage journey" isExecutable="true">
    <bpmn:extensionElements><zeebe:userTaskForm id="Form_1">%s</zeebe:userTaskForm></bpmn:extensionElements>
    <bpmn:startEvent id="Start"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Approve" name="Approve the engage invoice">
      <bpmn:extensionElements>
        <zeebe:formDefinition formKey="camunda-forms:bpmn:Form_1"/>
        <zeebe:assignmentDefinition candidateGroups="admin"/>
      </bpmn:extensionElements>
      <bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="End"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Start" targetRef="Approve"/>
    <bpmn:sequenceFlow id="F2" sourceRef="Approve" targetRef="End"/>
  </bpmn:process>
</bpmn:definitions>""" % escape(json.dumps(FORM), {'"': "&quot;"})

SCHEMA_TASK = {
    "name": "Enter the budget figure",
    "candidateGroups": ["admin"],
    "form": {"type": "object", "required": ["amount"],
             "properties": {"amount": {"type": "number", "maximum": 5000}}},
}


def chromium_ok():
    if not os.path.exists(CHROMIUM):
        return False
    r = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--version"], capture_output=True, text=True,
                       timeout=60)
    return r.returncode == 0


def npm_ci():
    """npm ci into tests/browser/node_modules unless every locked package is installed at
    its locked version; returns the path of node."""
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "node and npm are needed for this test (scripts/deps.sh test installs them)"
    with open(os.path.join(BROWSER_DIR, "package-lock.json")) as f:
        want = {k: v["version"] for k, v in json.load(f)["packages"].items() if k.startswith("node_modules/")}
    stale = False
    for key, version in want.items():
        try:
            with open(os.path.join(BROWSER_DIR, key, "package.json")) as f:
                stale = stale or json.load(f)["version"] != version
        except (OSError, ValueError, KeyError):
            stale = True
    if stale:
        r = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                           cwd=BROWSER_DIR, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, "npm ci failed: %s" % (r.stderr or r.stdout)[-800:]
    return node


def artifacts_dir():
    d = os.environ.get("FM_WEB_ARTIFACTS")
    if d:
        os.makedirs(d, exist_ok=True)
        return d
    return tempfile.mkdtemp(prefix="fm-web-engage-")


def test_engage_inbox_journey_in_chromium(web):
    if not chromium_ok():
        raise Skip("Debian's chromium is not installed (scripts/deps.sh test installs it); "
                   "the browser journey needs it")
    node = npm_ci()
    p = deploy(web, PROCESS.encode())
    inst = start(web, p["id"], {"invoiceId": "INV-42"})
    wait_task(web, inst["id"], "Approve")
    assert_json(web.req("POST", 9006, "/tasks", body=SCHEMA_TASK), 201)

    shots = artifacts_dir()
    cfg = {"engage": "http://127.0.0.1:%d/" % web.port(3001), "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD,
           "tenant": "default", "artifacts": shots, "processTask": "Approve the engage invoice",
           "schemaTask": SCHEMA_TASK["name"]}
    r = subprocess.run([node, os.path.join(BROWSER_DIR, "engage_journey.mjs"), json.dumps(cfg)],
                       cwd=BROWSER_DIR, capture_output=True, text=True, timeout=240)
    sys.stderr.write("engage screenshots: %s\n" % shots)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    out = json.loads(lines[-1]) if lines else {}
    assert r.returncode == 0 and out.get("ok"), "browser journey failed (screenshots in %s): %r\n%s" % (
        shots, out, r.stderr[-1500:])
    assert out["blocked"] == [], out
    assert any(s.startswith("server-422: ") and "5000" in s for s in out["steps"]), out
    assert "refreshed" in out["steps"] and "signed-out-revoked" in out["steps"], out

    done = wait_state(web, inst["id"], "completed")
    assert done["variables"]["approvedAmount"] == 1200 and done["variables"]["comment"] == "looks fine", done
    tasks = assert_json(web.get(9006, "/tasks?status=completed"))["items"]
    schema_task = [t for t in tasks if t["name"] == SCHEMA_TASK["name"]]
    assert schema_task and schema_task[0]["response"] == {"amount": 4000}, tasks
