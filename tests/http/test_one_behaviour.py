"""One HTTP behaviour on every route (issue 12 item 4, docs/core.md "Request bodies",
"ETags and If-Match"): malformed JSON answers with line, column and offset also where a
module parses its body itself; routes taking XML or JSON read the body's first character
under a missing or curl -d Content-Type and refuse any other type with a 415 naming the
accepted ones; If-Match takes only strong ETags; creates and changes answer with their
ETag; redirects carry a real reason phrase."""

import json
import urllib.parse

from harness import assert_problem, assert_json, http_request

BPMN = ('<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d1">'
        '<process id="p_one" isExecutable="true"><startEvent id="s"/></process></definitions>')
DMN = ('<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="dm1" name="one" '
       'namespace="http://example.com/one"><decision id="d_one" name="One">'
       '<literalExpression><text>1 + 1</text></literalExpression></decision></definitions>')
BAD = '{"name": "x",\n "model": oops}'      # the fault: line 2, column 11, byte 24


def _bad_json_answer(r):
    p = assert_problem(r, 400, "Malformed JSON")
    assert (p.get("line"), p.get("column"), p.get("offset")) == (2, 11, 24), p
    return p


def test_malformed_json_has_line_column_offset_everywhere(srv):
    pid = assert_json(srv.req("POST", 9003, "/processes", body=BPMN.encode()), 201)["id"]
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for port, method, path in ((9003, "POST", "/processes"), (9003, "PUT", "/processes/" + pid),
                               (9003, "POST", "/processes/%s/publish" % pid),
                               (8018, "POST", "/rules"),
                               (8020, "PUT", "/versions/%s/branches/b1" % pid),
                               (9006, "POST", "/tasks"), (9005, "POST", "/executions")):
        for h in ({}, form, {"Content-Type": "application/json"}):
            _bad_json_answer(srv.req(method, port, path, body=BAD.encode(), headers=h))
    # a rule set's PUT too
    rid = assert_json(srv.req("POST", 8018, "/rules", body=DMN.encode()), 201)["id"]
    _bad_json_answer(srv.req("PUT", 8018, "/rules/" + rid, body=BAD.encode(),
                             headers={"If-Match": '"%s.v1"' % rid}))


def test_xml_or_json_routes_one_content_type_rule(srv):
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    # missing, curl -d's type, or a JSON/XML type: the body decides, on every such route
    for h in ({}, form, {"Content-Type": "application/json"}, {"Content-Type": "text/xml"}):
        assert_json(srv.req("POST", 9003, "/processes", body=BPMN.encode(), headers=h), 201)
        assert_json(srv.req("POST", 9003, "/processes", headers=h,
                            body=json.dumps({"name": "j", "xml": BPMN}).encode()), 201)
        assert_json(srv.req("POST", 8018, "/rules", body=DMN.encode(), headers=h), 201)
        assert_json(srv.req("POST", 8018, "/rules", headers=h, body=json.dumps(
            {"name": "j", "model": {"decisions": [{"name": "a", "literal": "1"}]}}).encode()), 201)
    pid = assert_json(srv.req("POST", 9003, "/processes", body=BPMN.encode()), 201)["id"]
    assert srv.req("POST", 9003, "/processes/%s/publish" % pid).status == 201
    assert_json(srv.req("POST", 8020, "/versions/%s/branches" % pid,
                        body={"name": "b1", "fromVersion": 1}), 201)
    for h in ({}, form):
        assert_json(srv.req("PUT", 8020, "/versions/%s/branches/b1" % pid, body=BPMN.encode(),
                            headers=h))
    # any other type: 415 naming what is accepted, the same on each route
    for port, method, path in ((9003, "POST", "/processes"), (8018, "POST", "/rules"),
                               (8020, "PUT", "/versions/%s/branches/b1" % pid)):
        for ct in ("text/plain", "multipart/form-data; boundary=x"):
            p = assert_problem(srv.req(method, port, path, body=BPMN.encode(),
                                       headers={"Content-Type": ct}), 415)
            assert "application/json" in p["detail"] and "application/xml" in p["detail"], p
            assert "application/x-www-form-urlencoded" in p["accepted"], p


def test_if_match_strong_etags_only(srv):
    pid = assert_json(srv.req("POST", 9003, "/processes", body=BPMN.encode()), 201)["id"]
    rid = assert_json(srv.req("POST", 8018, "/rules", body=DMN.encode()), 201)["id"]
    t = srv.req("POST", 9006, "/tasks", body={"name": "etag"})
    tid = assert_json(t, 201)["id"]
    cases = ((9003, "/processes/" + pid, "r1", BPMN.encode()),
             (8018, "/rules/" + rid, rid + ".v1", DMN.encode()),
             (9006, "/tasks/%s/cancel" % tid, "1", None))
    for port, path, tag, body in cases:
        for bad, word in (('W/"%s"' % tag, "weak"), (tag, "quoted")):
            p = assert_problem(srv.req("PUT", port, path, body=body, headers={"If-Match": bad}), 412)
            assert word in p["detail"] and p["ifMatch"] == bad, p
        # the strong one works
        r = srv.req("PUT", port, path, body=body, headers={"If-Match": '"%s"' % tag})
        assert r.status == 200 and r.headers.get("etag"), r


def test_every_create_and_change_has_an_etag(srv):
    r = srv.req("POST", 9006, "/tasks", body={"name": "with etag"})
    t = assert_json(r, 201)
    assert r.headers.get("etag") == '"%d"' % t["version"], r.headers
    r2 = srv.req("PUT", 9006, "/tasks/%s/claim" % t["id"])
    assert r2.status == 200 and r2.headers.get("etag") == '"%d"' % r2.json["version"], r2
    r = srv.req("POST", 9003, "/processes", body=BPMN.encode())
    assert r.status == 201 and r.headers.get("etag") == '"r1"', r.headers
    r = srv.req("POST", 8018, "/rules", body=DMN.encode())
    assert r.status == 201 and r.headers.get("etag") == '"%s.v1"' % r.json["id"], r.headers


def test_redirect_has_a_reason_phrase(srv):
    import socket
    from test_sso import open_form, pkce, CB
    c = assert_json(srv.req("POST", 8002, "/sso/clients", body={
        "name": "reason", "redirectUris": [CB], "confidential": False}), 201)
    _, challenge = pkce()
    form, cookie, _ = open_form(srv, c["clientId"], challenge)
    fields = form.hidden()
    fields.update(email="admin@localhost", password="test-admin-password-1", tenant="default")
    body = urllib.parse.urlencode(fields)
    s = socket.create_connection(("127.0.0.1", srv.port(8002)), timeout=10)
    try:
        s.sendall(("POST /sso/authorize HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: %s\r\n"
                   "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n"
                   "Connection: close\r\n\r\n%s" % (cookie, len(body), body)).encode())
        status_line = s.makefile("rb").readline().decode().strip()
    finally:
        s.close()
    assert status_line == "HTTP/1.1 302 Found", status_line
