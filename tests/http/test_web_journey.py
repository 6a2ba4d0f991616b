"""The three web apps together in a real browser (issue 18): tests/browser/
cross_app_journey.mjs draws a process in the Designer (3002) — start, a user task made
with the replace menu, named and offered to a group in the properties panel, end — and
publishes it; starts it from the admin console (3000); claims and completes the task in
Engage (3001), where its diagram shows it highlighted; and sees the instance completed
with its history in the admin console. The API confirms each step. Screenshots as in
test_web_engage."""

from harness import ADMIN_EMAIL, ADMIN_PASSWORD, Server, Skip, assert_json
from test_web_admin import run_journey
from test_web_engage import artifacts_dir, chromium_ok

FIXTURES = {"web": lambda: Server()}
TEST_TIMEOUT = 180


def test_design_start_answer_complete_across_apps(web):
    if not chromium_ok():
        raise Skip("Debian's chromium is not installed (scripts/deps.sh test installs it); "
                   "the browser journey needs it")
    cfg = {"designer": "http://127.0.0.1:%d/" % web.port(3002), "admin": "http://127.0.0.1:%d/" % web.port(3000),
           "engage": "http://127.0.0.1:%d/" % web.port(3001), "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD,
           "tenant": "default", "artifacts": artifacts_dir(), "name": "First day order",
           "task": "Check the order", "group": "admin"}
    out = run_journey(web, "cross_app_journey.mjs", cfg, TEST_TIMEOUT)
    started = [s for s in out["steps"] if s.startswith("started ")]
    assert started and "completed-in-admin" in out["steps"], out
    eid = started[0].split(" ", 1)[1]
    inst = assert_json(web.get(9005, "/executions/" + eid))
    assert inst["state"] == "completed" and inst["businessKey"] == "JOURNEY-1", inst
    procs = assert_json(web.get(9003, "/processes?q=First%20day%20order"))["items"]
    assert len(procs) == 1 and procs[0]["status"] == "published", procs
    xml = web.get(9003, "/processes/%s/bpmn?version=1" % procs[0]["id"]).text
    assert "userTask" in xml and 'candidateGroups="admin"' in xml and "Check the order" in xml, xml
    assert "endEvent" in xml, xml
    tasks = assert_json(web.get(9006, "/tasks?status=completed"))["items"]
    assert [t["name"] for t in tasks if t.get("processInstanceId") == eid] == ["Check the order"], tasks
