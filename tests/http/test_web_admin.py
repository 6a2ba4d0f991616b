"""Admin console (3000) in a real browser (issue 18): tests/browser/admin_journey.mjs drives
Debian's Chromium with playwright-core against a server this test starts — sign in through
the real OIDC page; a user refused with the server's 422 shown at the email field, then
added; a group with that user as member; a custom role; a service account whose API key
is shown once; a tenant with its own admin; the registry's services with their health;
a draft process published and started from its page with variables; an instance stopped
by an incident, its variables fixed and the incident retried until it completes; a rule
set evaluated; a process archived; axe-core on every section (no serious or critical
violation). Then the new tenant's admin signs in and sees none of the first tenant's
processes, instances, incidents, rules or users. The API is asked afterwards what the
browser did. Screenshots as in test_web_engage."""

import json
import os
import subprocess
import sys

from exec_support import bpmn, flows, start, wait_state
from harness import ADMIN_EMAIL, ADMIN_PASSWORD, Server, Skip, assert_json
from test_web_engage import BROWSER_DIR, artifacts_dir, chromium_ok, npm_ci
from test_rules import dmn

FIXTURES = {"web": lambda: Server()}
TEST_TIMEOUT = 240   # the journey signs in twice and visits every section

# no default flow and no condition true while `amount` is unset: an incident on Split
SPLIT = bpmn("Process_split", """
    <bpmn:startEvent id="Start"/>
    <bpmn:exclusiveGateway id="Split"/>
    <bpmn:endEvent id="Big"/>
    <bpmn:endEvent id="Small"/>
""" + flows(("F1", "Start", "Split"), ("F_big", "Split", "Big", "= amount &gt; 100"),
            ("F_small", "Split", "Small", "= amount &lt;= 100")), name="Split on amount")

DRAFT = bpmn("Process_draft", """
    <bpmn:startEvent id="S"/>
    <bpmn:endEvent id="E"/>
""" + flows(("F", "S", "E")), name="Admin draft")


def run_journey(web, name, cfg):
    node = npm_ci()
    r = subprocess.run([node, os.path.join(BROWSER_DIR, name), json.dumps(cfg)],
                       cwd=BROWSER_DIR, capture_output=True, text=True, timeout=TEST_TIMEOUT - 20)
    sys.stderr.write("%s screenshots: %s\n" % (name, cfg["artifacts"]))
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    out = json.loads(lines[-1]) if lines else {}
    assert r.returncode == 0 and out.get("ok"), "browser journey failed (screenshots in %s): %r\n%s" % (
        cfg["artifacts"], out, r.stderr[-1500:])
    assert out["blocked"] == [], out
    return out


def test_admin_console_journey_in_chromium(web):
    if not chromium_ok():
        raise Skip("Debian's chromium is not installed (scripts/deps.sh test installs it); "
                   "the browser journey needs it")
    xml = {"Content-Type": "application/xml"}
    split = assert_json(web.req("POST", 9003, "/processes", body=SPLIT, headers=xml), 201)
    assert web.req("POST", 9003, "/processes/%s/publish" % split["id"], body={}).status == 201
    stuck = start(web, split["id"], {"customer": "ACME"})
    assert stuck["state"] == "active" and stuck["incidents"] == 1, stuck
    draft = assert_json(web.req("POST", 9003, "/processes", body=DRAFT, headers=xml), 201)
    rule = assert_json(web.req("POST", 8018, "/rules", body=dmn("Loan approval").encode(), headers=xml), 201)

    cfg = {"admin": "http://127.0.0.1:%d/" % web.port(3000), "engage": "http://127.0.0.1:%d/" % web.port(3001),
           "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "tenant": "default", "artifacts": artifacts_dir(),
           "draft": {"id": draft["id"], "name": "Admin draft"}, "stuck": stuck["id"],
           "rule": {"id": rule["id"], "name": "Loan approval"}}
    out = run_journey(web, "admin_journey.mjs", cfg)
    assert any(s.startswith("field-error: ") for s in out["steps"]), out
    assert "wrong-tenant-sees-nothing" in out["steps"], out

    # what the browser did, through the API
    users = assert_json(web.get(8002, "/auth/users"))["items"]
    clerk = [u for u in users if u["email"] == "clerk@example.org"]
    assert clerk and clerk[0]["roles"] == ["participant"], users
    members = assert_json(web.get(8002, "/auth/groups/clerks/members"))["items"]
    assert [m["email"] for m in members] == ["clerk@example.org"], members
    role = assert_json(web.get(8002, "/auth/roles/auditor"))
    assert role["grants"] == ["process:read", "execution:read"], role
    assert [a["name"] for a in assert_json(web.get(8002, "/auth/service-accounts"))["items"]] == ["ci-bot"]
    assert [t["id"] for t in assert_json(web.get(8002, "/auth/tenants"))["items"]] == ["acme", "default"]
    done = wait_state(web, stuck["id"], "completed")
    assert done["variables"]["amount"] == 500, done
    incs = assert_json(web.get(9005, "/incidents?executionId=" + stuck["id"]))["items"]
    assert [i["state"] for i in incs] == ["resolved"], incs
    p = assert_json(web.get(9003, "/processes/%s?model=false" % draft["id"]))
    assert p["status"] == "archived" and p.get("latestVersion") == 1, p
    started = assert_json(web.get(9005, "/executions?processId=" + draft["id"]))["items"]
    assert len(started) == 1 and started[0]["businessKey"] == "BK-7" and started[0]["state"] == "completed", started
    full = assert_json(web.get(9005, "/executions/" + started[0]["id"]))
    assert full["variables"] == {"region": "north"}, full
