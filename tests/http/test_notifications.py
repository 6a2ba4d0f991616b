"""Notification Service (9009, issue 15; docs/notifications.md) against real receivers
the test starts on 127.0.0.1: an SMTP server (Debian python3-aiosmtpd, run with
/usr/bin/python3 by smtp_sink.py) receives the rendered mail — headers, the
multipart/alternative bodies, an RFC 2047 subject — and a server refusing the first
RCPT gets a retry; a provider webhook failing twice then succeeding (SMS), a signed
webhook channel, idempotency keys giving one message, quiet hours holding a message
until they end, templates with versions and locales, and bad input as problem+json
storing nothing."""

import email
import email.policy
import glob
import hashlib
import hmac
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time

from harness import Server, Skip, assert_json, assert_problem, wait_until
from exec_support import bpmn, chain, deploy, get, start, wait_for, wait_state, waiting

SYSTEM_PYTHON = "/usr/bin/python3"
SINK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "smtp_sink.py")
SECRET = "whsec-test-0123456789"


class Smtp:
    """smtp_sink.py in a subprocess; .port, .messages()."""

    def __init__(self, refuse=0, count_only=False):
        if subprocess.run([SYSTEM_PYTHON, "-c", "import aiosmtpd"], capture_output=True).returncode:
            raise Skip("python3-aiosmtpd is not installed (scripts/deps.sh test)")
        self.dir = tempfile.mkdtemp(prefix="fm-smtp-")
        args = [SYSTEM_PYTHON, SINK, self.dir] + (["--refuse", str(refuse)] if refuse else []) + \
            (["--count-only"] if count_only else [])
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("PORT "), line
        self.port = int(line.split()[1])

    def messages(self):
        out = []
        for p in sorted(glob.glob(os.path.join(self.dir, "*.json"))):
            with open(p) as f:
                out.append(json.load(f))
        return out

    def close(self):
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


class Receiver:
    """A provider/webhook receiver: answers `plan` statuses in turn (then the last one),
    with a JSON body carrying a message id; records every request."""

    def __init__(self, plan=(200,)):
        self.plan, self.got = list(plan), []
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n).decode()
                outer.got.append({"headers": dict(self.headers), "body": body, "path": self.path})
                status = outer.plan[min(len(outer.got) - 1, len(outer.plan) - 1)]
                ans = json.dumps({"sid": "SM%04d" % len(outer.got)} if status < 300 else {"error": "busy"})
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(ans)))
                self.end_headers()
                self.wfile.write(ans.encode())

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path="/hook"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def env_for(smtp_port, sms_url="", push_url=""):
    return {
        "FLOWMASTER_GATEWAY_RATE_PER_IP": "0", "FLOWMASTER_GATEWAY_RATE_PER_TENANT": "0",
        "FLOWMASTER_NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
        "FLOWMASTER_NOTIFICATIONS_SMTP_PORT": str(smtp_port),
        "FLOWMASTER_NOTIFICATIONS_FROM": "Flow Master <noreply@flow.test>",
        "FLOWMASTER_NOTIFICATIONS_ENVELOPE_FROM": "bounces@flow.test",
        "FLOWMASTER_NOTIFICATIONS_BACKOFF_MS": "100",
        "FLOWMASTER_NOTIFICATIONS_BACKOFF_MAX_MS": "400",
        "FLOWMASTER_NOTIFICATIONS_MAX_ATTEMPTS": "4",
        "FLOWMASTER_NOTIFICATIONS_TIMEOUT_MS": "5000",
        "FLOWMASTER_NOTIFICATIONS_SMS_URL": sms_url,
        "FLOWMASTER_NOTIFICATIONS_PUSH_URL": push_url,
        "FLOWMASTER_NOTIFICATIONS_WEBHOOK_SECRET": SECRET,
    }


class Env:
    """The default fixture: one SMTP sink, one SMS provider failing twice, one server."""

    def __init__(self):
        self.smtp = Smtp()
        self.sms = Receiver(plan=(500, 503, 200))
        self.srv = Server(modules="auth,eventbus,notifications,design,execution",
                          env=env_for(self.smtp.port, self.sms.url("/sms"), "http://127.0.0.1:9/push"))

    def close(self):
        self.srv.close()
        self.smtp.close()
        self.sms.close()


FIXTURES = {"env": Env}


def send(srv, status=202, headers=None, **body):
    r = srv.req("POST", 9009, "/notifications/send", body, headers=headers)
    return assert_json(r, status) if status else r


def wait_status(srv, nid, want, timeout=10):
    def done():
        n = assert_json(srv.get(9009, "/notifications/" + nid))
        return n if n["status"] == want else None
    return wait_until(done, timeout=timeout, what="notification %s %s" % (nid, want))


def mail_for(smtp, rcpt, timeout=10):
    def find():
        return [m for m in smtp.messages() if ("<%s>" % rcpt) in m["rcpt_tos"] or rcpt in m["rcpt_tos"]]
    return wait_until(find, timeout=timeout, what="mail to " + rcpt)


def parse(m):
    return email.message_from_string(m["data"], policy=email.policy.default)


def test_template_email_multipart_headers_and_utf8_subject(env):
    srv, smtp = env.srv, env.smtp
    t = assert_json(srv.req("POST", 9009, "/notifications/templates", {
        "id": "welcome", "name": "Welcome", "channel": "email", "strict": True, "defaultLocale": "en",
        "partials": {"sig": "-- {{team}}"},
        "locales": {
            "en": {"subject": "Welcome, {{name}}", "text": "Hi {{name}}\n{{>sig}}",
                   "html": "<p>Hi {{name}}</p>"},
            "de": {"subject": "Grüße, {{name}} ✓",
                   "text": "Hallo {{name}}, {{#items}}{{.}};{{/items}}\n{{>sig}}",
                   "html": "<p>Hallo {{name}}</p><ul>{{#items}}<li>{{.}}</li>{{/items}}</ul>"}}}), 201)
    assert t["version"] == 1 and t["defaultLocale"] == "en", t
    data = {"name": "Ada <b>&", "items": ["x<y", "z"], "team": "Ops"}
    n = send(srv, channel="email", to="ada@example.test", templateId="welcome", locale="de-AT", data=data)
    assert n["status"] in ("queued", "sending", "sent") and n["locale"] == "de" and n["templateVersion"] == 1, n
    done = wait_status(srv, n["id"], "sent")
    assert len(done["attempts"]) == 1 and done["attempts"][0]["ok"] is True, done
    assert done["attempts"][0]["providerStatus"] == 250 and done["sentAt"], done
    [m] = mail_for(smtp, "ada@example.test")
    assert m["mail_from"] == "bounces@flow.test", m
    msg = parse(m)
    assert msg["Subject"] == "Grüße, Ada <b>& ✓", msg["Subject"]
    raw_subject = [ln for ln in m["data"].split("\r\n") if ln.startswith("Subject:")][0]
    assert "=?UTF-8?B?" in raw_subject, raw_subject          # RFC 2047 on the wire
    assert msg["From"] == "Flow Master <noreply@flow.test>" and msg["To"] == "ada@example.test", msg
    assert msg["Message-ID"] == done["messageId"] and msg["Message-ID"].endswith("@flow.test>"), msg
    assert email.utils.parsedate_to_datetime(msg["Date"]).tzinfo is not None, msg["Date"]
    assert msg.get_content_type() == "multipart/alternative", msg.get_content_type()
    parts = {p.get_content_type(): p.get_content() for p in msg.iter_parts()}
    assert parts["text/plain"] == "Hallo Ada <b>&, x<y;z;\n-- Ops", parts        # text: not escaped
    assert parts["text/html"] == ("<p>Hallo Ada &lt;b&gt;&amp;</p><ul><li>x&lt;y</li><li>z</li></ul>"), parts
    # the default locale when none fits
    n2 = send(srv, channel="email", to="bob@example.test", templateId="welcome", locale="fr",
              data={"name": "Bob", "team": "Ops"})
    assert n2["locale"] == "en", n2
    msg2 = parse(mail_for(smtp, "bob@example.test")[0])
    assert msg2["Subject"] == "Welcome, Bob" and "=?" not in msg2["Subject"], msg2["Subject"]
    # notification.sent on the bus (the Event Bus log)
    ev = wait_until(lambda: [e for e in assert_json(srv.get(9013, "/events/replay?types=notification.sent"))["items"]
                             if e["subject"] == n["id"]], what="notification.sent")
    assert ev[0]["data"]["status"] == "sent" and ev[0]["data"]["channel"] == "email", ev


def test_inline_text_only_and_list_filters(env):
    srv, smtp = env.srv, env.smtp
    n = send(srv, channel="email", to="list@example.test", subject="Plain", body="only text {{x}}", data={"x": 1})
    wait_status(srv, n["id"], "sent")
    msg = parse(mail_for(smtp, "list@example.test")[0])
    assert msg.get_content_type() == "text/plain" and msg.get_content() == "only text 1", msg
    lst = assert_json(srv.get(9009, "/notifications?to=list@example.test&status=sent&channel=email"))
    assert lst["total"] == 1 and lst["items"][0]["id"] == n["id"], lst
    assert assert_json(srv.get(9009, "/notifications?to=list@example.test&status=failed"))["total"] == 0
    page = assert_json(srv.get(9009, "/notifications?limit=1"))
    assert len(page["items"]) == 1 and page["nextCursor"], page
    other = srv.tenant_headers("ntf-other")
    assert_problem(srv.req("GET", 9009, "/notifications/" + n["id"], headers=other), 404)
    assert assert_json(srv.req("GET", 9009, "/notifications", headers=other))["total"] == 0


def test_smtp_refusing_first_attempt_is_retried(env):
    smtp = Smtp(refuse=1)
    try:
        with Server(modules="auth,notifications", env=env_for(smtp.port)) as srv:
            n = send(srv, channel="email", to="retry@example.test", subject="R", body="again")
            done = wait_status(srv, n["id"], "sent")
            a = done["attempts"]
            assert len(a) == 2 and a[0]["ok"] is False and a[1]["ok"] is True, a
            assert "451" in (a[0]["error"] or "") + str(a[0]["providerStatus"]), a[0]
            assert len(mail_for(smtp, "retry@example.test")) == 1
    finally:
        smtp.close()


def test_sms_provider_failing_twice_then_accepting(env):
    srv = env.srv
    n = send(srv, channel="sms", to="+4915112345678", body="Code {{code}}", data={"code": "123456"})
    done = wait_status(srv, n["id"], "sent")
    a = done["attempts"]
    assert [x["providerStatus"] for x in a] == [500, 503, 200] and [x["ok"] for x in a] == [False, False, True], a
    assert done["providerMessageId"] == "SM0003" and '"sid"' in a[2]["providerAnswer"], done
    got = [json.loads(g["body"]) for g in env.sms.got]
    assert len(got) == 3 and got[2] == {"id": n["id"], "channel": "sms", "tenant": "default",
                                        "to": "+4915112345678", "text": "Code 123456"}, got


def test_push_without_reachable_provider_fails_after_max_attempts(env):
    srv = env.srv
    n = send(srv, channel="push", to="device-token-1", subject="T", body="B")
    done = wait_status(srv, n["id"], "failed", timeout=15)
    assert done["attemptCount"] == 4 and len(done["attempts"]) == 4 and done["error"], done
    ev = wait_until(lambda: [e for e in assert_json(srv.get(9013, "/events/replay?types=notification.failed"))[
        "items"] if e["subject"] == n["id"]], what="notification.failed")
    assert ev[0]["data"]["attempts"] == 4, ev


def test_webhook_channel_is_signed(env):
    srv = env.srv
    rec = Receiver()
    try:
        n = send(srv, channel="webhook", to=rec.url("/in"), subject="S", body="hello {{who}}", data={"who": "you"})
        wait_status(srv, n["id"], "sent")
        [g] = rec.got
        body = json.loads(g["body"])
        assert body["text"] == "hello you" and body["id"] == n["id"], body
        sig = g["headers"]["X-FlowMaster-Signature"]
        t, v1 = [p.split("=", 1)[1] for p in sig.split(",")]
        want = hmac.new(SECRET.encode(), (t + "." + g["body"]).encode(), hashlib.sha256).hexdigest()
        assert v1 == want and abs(int(t) - time.time()) < 60, (sig, want)
    finally:
        rec.close()


def test_idempotency_key_gives_one_message(env):
    srv, smtp = env.srv, env.smtp
    a = send(srv, channel="email", to="idem@example.test", subject="I", body="once", idempotencyKey="order-42")
    b = send(srv, channel="email", to="idem@example.test", subject="I", body="once", idempotencyKey="order-42")
    assert a["id"] == b["id"], (a, b)
    wait_status(srv, a["id"], "sent")
    time.sleep(0.3)
    assert len(mail_for(smtp, "idem@example.test")) == 1
    assert assert_json(srv.get(9009, "/notifications?to=idem@example.test"))["total"] == 1


def test_quiet_hours_hold_until_they_end(env):
    srv, smtp = env.srv, env.smtp
    now = time.time()
    start = time.strftime("%H:%M:%S", time.gmtime(now - 60))
    end = time.strftime("%H:%M:%S", time.gmtime(now + 3))
    p = assert_json(srv.req("PUT", 9009, "/notifications/preferences/u-quiet", {
        "channels": ["email", "sms"], "quietHours": {"start": start, "end": end, "timezone": "UTC"}}))
    assert p["quietHours"]["timezone"] == "UTC" and p["revision"] == 1, p
    assert assert_json(srv.get(9009, "/notifications/preferences/u-quiet"))["channels"] == ["email", "sms"]
    n = send(srv, channel="email", to="quiet@example.test", userId="u-quiet", subject="Q", body="later")
    assert n["status"] == "held" and n["heldUntil"], n
    u = send(srv, channel="email", to="urgent@example.test", userId="u-quiet", subject="U", body="now",
             urgent=True)
    wait_status(srv, u["id"], "sent", timeout=3)
    time.sleep(1)
    assert assert_json(srv.get(9009, "/notifications/" + n["id"]))["status"] == "held"
    assert not [m for m in smtp.messages() if "<quiet@example.test>" in m["rcpt_tos"]]
    wait_status(srv, n["id"], "sent", timeout=10)
    # a channel the user turned off is refused, and nothing is stored
    assert_problem(send(srv, None, channel="push", to="tok", userId="u-quiet", body="x"), 409)
    assert assert_json(srv.get(9009, "/notifications?to=tok"))["total"] == 0
    assert_problem(srv.req("PUT", 9009, "/notifications/preferences/u-x",
                           {"quietHours": {"start": "22:00", "end": "7", "timezone": "UTC"}}), 422)
    assert_problem(srv.req("PUT", 9009, "/notifications/preferences/u-x",
                           {"quietHours": {"start": "22:00", "end": "07:00", "timezone": "Mars/Base"}}), 422)


def test_template_versions_locales_and_preview(env):
    srv = env.srv
    body = {"id": "bill", "name": "Bill", "locales": {"en": {"subject": "Bill {{n}}", "text": "v1 {{n}}"}}}
    t = srv.req("POST", 9009, "/notifications/templates", body)
    assert assert_json(t, 201)["version"] == 1 and t.headers["etag"] == '"v1"', t
    assert_problem(srv.req("POST", 9009, "/notifications/templates", body), 409)
    body["locales"]["en"]["text"] = "v2 {{n}}"
    body["locales"]["nl"] = {"text": "nl {{n}}"}
    assert_problem(srv.req("PUT", 9009, "/notifications/templates/bill", body, headers={"If-Match": '"v9"'}), 412)
    v2 = assert_json(srv.req("PUT", 9009, "/notifications/templates/bill", body, headers={"If-Match": '"v1"'}))
    assert v2["version"] == 2 and sorted(v2["locales"]) == ["en", "nl"], v2
    assert assert_json(srv.get(9009, "/notifications/templates/bill?version=1"))["locales"]["en"]["text"] == "v1 {{n}}"
    pv = assert_json(srv.req("POST", 9009, "/notifications/templates/bill/preview", {"data": {"n": 7}, "locale": "nl"}))
    assert pv == {"subject": None, "text": "nl 7", "html": None, "locale": "nl", "version": 2}, pv
    old = assert_json(srv.req("POST", 9009, "/notifications/templates/bill/preview", {"data": {"n": 7}, "version": 1}))
    assert old["text"] == "v1 7" and old["subject"] == "Bill 7", old
    ids = [i["id"] for i in assert_json(srv.get(9009, "/notifications/templates"))["items"]]
    assert "bill" in ids and ids.count("bill") == 1, ids
    assert_problem(srv.get(9009, "/notifications/templates/nope"), 404)


def test_bad_input_is_problem_json_and_stores_nothing(env):
    srv = env.srv
    before = assert_json(srv.get(9009, "/notifications"))["total"]
    r = srv.req("POST", 9009, "/notifications/templates", {
        "id": "broken", "name": "B", "locales": {"en": {"subject": "ok", "html": "<p>\n  {{#rows}}{{x}}\n</p>"}}})
    p = assert_problem(r, 422)
    [e] = p["errors"]
    assert e["pointer"] == "/locales/en/html" and e["line"] == 2 and e["column"] == 3, p
    assert "rows" in e["detail"] and "line 2, column 3" in p["detail"], p
    assert_problem(srv.get(9009, "/notifications/templates/broken"), 404)
    e = assert_problem(send(srv, None, channel="email", to="x@example.test", body="a {{#b}}"), 422)["errors"][0]
    assert e["pointer"] == "/body" and e["line"] == 1 and e["column"] == 3, e
    p = assert_problem(send(srv, None, channel="pigeon", to="x", body="hi"), 422)
    assert p["errors"][0]["pointer"] == "/channel", p
    assert_problem(send(srv, None, channel="email", to="not-an-address", body="hi"), 422)
    assert_problem(send(srv, None, channel="sms", to="12345", body="hi"), 422)
    assert_problem(send(srv, None, channel="email", to="x@example.test"), 422)
    assert_problem(send(srv, None, channel="email", to="x@example.test", body="x" * (300 * 1024)), 413)
    assert_problem(send(srv, None, channel="email", to="x@example.test", subject="s" * 1200, body="x"), 413)
    assert_problem(send(srv, None, channel="email", to="x@example.test", body="x",
                        data={"k": "v" * (70 * 1024)}), 413)
    p = assert_problem(send(srv, None, channel="email", to="x@example.test", subject="Hi {{user.name}}",
                            body="b", strict=True, data={"user": {}}), 422)
    assert p["missingVariable"] == "user.name" and p["errors"][0]["pointer"] == "/subject", p
    assert_problem(send(srv, None, channel="email", to="x@example.test", templateId="nope"), 422)
    assert_problem(srv.req("POST", 9009, "/notifications/send", b"{bad json",
                           headers={"Content-Type": "application/json"}), 400)
    assert assert_json(srv.get(9009, "/notifications"))["total"] == before
    assert_problem(srv.req("POST", 9009, "/notifications/send", {"channel": "email"}, auth=False), 401)


def note_task(tid, headers, kind="sendTask", retries=2, inputs=()):
    hs = "".join('<zeebe:header key="%s" value="%s" />' % kv for kv in headers)
    io = ("<zeebe:ioMapping>%s</zeebe:ioMapping>" % "".join(
        '<zeebe:input source="%s" target="%s" />' % kv for kv in inputs)) if inputs else ""
    inner = ('<bpmn:extensionElements><zeebe:taskDefinition type="notification" retries="%d" />%s'
             '<zeebe:taskHeaders>%s</zeebe:taskHeaders></bpmn:extensionElements>' % (retries, io, hs))
    if kind == "throw":
        return ('<bpmn:intermediateThrowEvent id="%s">%s<bpmn:messageEventDefinition id="%s_m"/>'
                '</bpmn:intermediateThrowEvent>' % (tid, inner, tid))
    return '<bpmn:%s id="%s">%s</bpmn:%s>' % (kind, tid, inner, kind)


def test_bpmn_notification_tasks_end_to_end(env):
    srv, smtp = env.srv, env.smtp
    assert_json(srv.req("POST", 9009, "/notifications/templates", {
        "id": "shipped", "name": "Shipped", "strict": True,
        "locales": {"en": {"subject": "Order {{orderId}} shipped", "text": "Hi {{customer.name}}, {{orderId}}."}}}),
        201)
    body = ('<bpmn:startEvent id="s"/>'
            + note_task("mail", [("channel", "email"), ("to", "=customer.email"), ("template", "shipped"),
                                 ("resultVariable", "mail")])
            + note_task("sms", [("channel", "sms"), ("body", "Order {{orderId}} is on its way")], kind="throw",
                        inputs=[("=customer.phone", "to")])
            + '<bpmn:endEvent id="e"/>' + chain("s", "mail", "sms", "e"))
    deploy(srv, bpmn("ntf_flow", body))
    inst = start(srv, "ntf_flow", {"orderId": "A-17", "customer": {"name": "Ada", "email": "ada.bpmn@example.test",
                                                                   "phone": "+4915100000001"}})
    wait_state(srv, inst["id"], "completed")
    v = get(srv, inst["id"])["variables"]
    assert v["mail"]["id"].startswith("ntf") and v["mail"]["status"] in ("queued", "sending", "sent"), v
    msg = parse(mail_for(smtp, "ada.bpmn@example.test")[0])
    assert msg["Subject"] == "Order A-17 shipped" and msg.get_content() == "Hi Ada, A-17.", msg
    sms = wait_until(lambda: [n for n in assert_json(srv.get(9009, "/notifications?channel=sms&to=%2B4915100000001"))[
        "items"]], what="the sms")
    assert sms[0]["text"] == "Order A-17 is on its way" and sms[0]["idempotencyKey"].startswith("job-"), sms
    # a refusal (strict template, variable missing) is an incident at once, nothing sent
    deploy(srv, bpmn("ntf_bad", '<bpmn:startEvent id="s"/>' + note_task(
        "mail", [("channel", "email"), ("to", "=customer.email"), ("template", "shipped")], kind="serviceTask")
        + '<bpmn:endEvent id="e"/>' + chain("s", "mail", "e")))
    bad = start(srv, "ntf_bad", {"customer": {"name": "Bo", "email": "bo@example.test"}})
    wait_for(srv, bad["id"], lambda i: waiting(i, "mail", "incident"), what="an incident at mail")
    incs = assert_json(srv.get(9005, "/incidents?executionId=%s" % bad["id"]))["items"]
    assert "422" in incs[0]["message"] and "orderId" in incs[0]["message"], incs
    assert assert_json(srv.get(9009, "/notifications?to=bo@example.test"))["total"] == 0
